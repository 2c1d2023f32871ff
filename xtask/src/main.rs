//! `cargo xtask`: build, run and test the hypervisor.

mod run_cli;
mod test_cli;

use run_cli::{apply_config, run_command, RunArgs};
use test_cli::{audit_unsafe, cargo, step, test_command};

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use xtask::build::build_hypervisor;
use xtask::guests;
use xtask::packages::Need;
use xtask::provision::{provision, Toolchain};
use xtask::workspace_root;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Build, boot and test the hypervisor")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build the bare-metal hypervisor image.
    Build {
        /// Build with optimizations.
        #[arg(long)]
        release: bool,
    },
    /// Boot the hypervisor in QEMU with a guest.
    Run(Box<RunArgs>),
    /// Run every check: formatting, unsafe audit, clippy, unit tests, QEMU integration tests.
    Test {
        /// Skip formatting, the unsafe audit and clippy (tests only).
        #[arg(long)]
        no_lint: bool,
    },
    /// List the built-in guests.
    Guests,
    /// Build target/guests/linux.iso: Debian's stock kernel, busybox and ISOLINUX on a bootable CD.
    MakeLinuxIso {
        /// Rebuild the ISO even when it is up to date (downloaded packages are kept).
        #[arg(long)]
        force: bool,
    },
    /// Check that `unsafe` appears only in the files xtask/src/unsafe_audit.rs allows.
    AuditUnsafe {
        /// The checkout to audit [default: the workspace xtask is built from].
        #[arg(long, value_name = "DIR")]
        root: Option<std::path::PathBuf>,
    },
    /// Run a benchmark and print its ratios.
    Bench {
        #[arg(value_enum)]
        what: BenchKind,
        /// `disk`, `io`: tiny sizes (a 32 MiB image, 4 MiB sequential, 0.5 s random), to see it work.
        #[arg(long)]
        quick: bool,
        /// `disk`, `io`: only these paths, comma-separated (ide-pio, ide-dma, ide-dma-mem, pv, qemu-virtio, qemu-ide).
        #[arg(long, value_delimiter = ',', value_name = "PATHS")]
        paths: Vec<String>,
        /// `disk`, `io`: measure every path this many times (rounds
        /// interleaved) and keep each path's median run, with the spread.
        #[arg(long, value_name = "N", default_value_t = 1)]
        repeat: u32,
    },
    /// Coverage-guided fuzzing (libFuzzer) of a target, or `all` in turn; `--list` lists them.
    Fuzz(xtask::fuzz::FuzzArgs),
    /// Soak tests: `disks` kills QEMU at random moments while a guest streams
    /// flushed writes to its disk, and checks every flushed sector survived.
    Soak(xtask::soak_disks::SoakArgs),
}

/// The benchmarks.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum BenchKind {
    /// Instruction emulator: decode+execute cost beside the decode alone.
    Emulate,
    /// Boot time of FreeDOS and Linux nested on the hypervisor beside QEMU alone.
    Boot,
    /// Linux guest disk I/O through emulated IDE (PIO, DMA, in-memory) beside plain QEMU's virtio-blk and IDE.
    Disk,
    /// Linux guest disk I/O through the PV block device beside emulated IDE and plain QEMU, with issue 14's ratios, targets and plot.
    Io,
}

fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    // Where each --send stands among the --expects decides when it is typed.
    let send_after: Vec<usize> = matches
        .subcommand_matches("run")
        .map(|m| {
            let expects: Vec<usize> = m
                .indices_of("expect")
                .map(Iterator::collect)
                .unwrap_or_default();
            m.indices_of("send")
                .map(|sends| {
                    sends
                        .map(|s| expects.iter().filter(|e| **e < s).count())
                        .collect()
                })
                .unwrap_or_default()
        })
        .unwrap_or_default();
    let code = match cli.command {
        Cmd::Build { release } => {
            match provision(Toolchain::Target, &[]).and_then(|()| build_hypervisor(release, None)) {
                Ok(p) => {
                    println!("{}", p.display());
                    0
                }
                Err(e) => fail(&e),
            }
        }
        Cmd::Run(mut args) => {
            let given = |id: &str| {
                matches
                    .subcommand_matches("run")
                    .and_then(|m| m.value_source(id))
                    == Some(clap::parser::ValueSource::CommandLine)
            };
            match apply_config(&mut args, given("xen"), given("acpi")) {
                Ok(()) => run_command(*args, &send_after),
                Err(e) => fail(&e),
            }
        }
        Cmd::Test { no_lint } => test_command(no_lint),
        Cmd::Bench {
            what: BenchKind::Emulate,
            ..
        } => {
            if step(
                "cargo bench -p vmm-core --bench emulate",
                cargo().args(["bench", "-q", "-p", "vmm-core", "--bench", "emulate"]),
            ) {
                0
            } else {
                fail("the emulator benchmark failed")
            }
        }
        Cmd::Bench {
            what: BenchKind::Boot,
            ..
        } => match provision(Toolchain::Target, &[Need::Qemu, Need::GuestMedia])
            .and_then(|()| xtask::bench_boot::run_bench(None))
        {
            Ok(_) => 0,
            Err(e) => fail(&e),
        },
        Cmd::Bench {
            what: BenchKind::Disk,
            quick,
            paths,
            repeat,
        } => {
            match xtask::bench_disk::command(xtask::bench_disk::Report::Disk, quick, paths, repeat)
            {
                Ok(()) => 0,
                Err(e) => fail(&e),
            }
        }
        Cmd::Bench {
            what: BenchKind::Io,
            quick,
            paths,
            repeat,
        } => {
            match xtask::bench_disk::command(xtask::bench_disk::Report::Io, quick, paths, repeat) {
                Ok(()) => 0,
                Err(e) => fail(&e),
            }
        }
        Cmd::MakeLinuxIso { force } => match provision(Toolchain::Target, &[Need::GuestMedia])
            .and_then(|()| xtask::linux_iso::make_linux_iso(force))
        {
            Ok(p) => {
                println!("{}", p.display());
                0
            }
            Err(e) => fail(&e),
        },
        Cmd::AuditUnsafe { root } => audit_unsafe(&root.unwrap_or_else(workspace_root)),
        Cmd::Fuzz(args) => xtask::fuzz::command(&args),
        Cmd::Soak(args) => xtask::soak_disks::soak_command(&args),
        Cmd::Guests => {
            for g in guests::BUILTIN_GUESTS {
                println!("{:<14} {}", g.name, g.about);
            }
            println!(
                "{:<14} our own Rust PVH guest on the pv-drivers frontends: console, XenStore, \
                 grants, blkfront on xvda (give --disk), SCHEDOP_shutdown",
                xtask::pv_demo::PACKAGE
            );
            0
        }
    };
    ExitCode::from(code as u8)
}

fn fail(message: &str) -> i32 {
    eprintln!("xtask: {message}");
    3
}

#[cfg(test)]
mod cli_tests {
    use super::{Cli, Cmd};
    use clap::{CommandFactory, Parser};

    #[test]
    fn help_says_where_disk_writes_go_and_snapshot_keeps_the_files() {
        let cli = Cli::try_parse_from(["cargo xtask", "run", "--disk", "d.img", "--snapshot"])
            .expect("--snapshot parses");
        let Cmd::Run(args) = cli.command else {
            panic!("not a run")
        };
        assert!(args.snapshot);
        let cli = Cli::try_parse_from(["x", "run", "--disk", "a.img", "--disk", "b.img,ro"])
            .expect("--disk repeats");
        let Cmd::Run(args) = cli.command else {
            panic!("not a run")
        };
        assert_eq!(args.disk, ["a.img", "b.img,ro"]);
        let mut command = Cli::command();
        let help = command
            .find_subcommand_mut("run")
            .expect("the run subcommand")
            .render_long_help()
            .to_string();
        assert!(help.contains("virtio-blk"), "{help}");
        assert!(help.contains("Bochs"), "{help}");
        assert!(help.contains("writes are discarded"), "{help}");
        assert!(help.contains("snapshot=on"), "{help}");
        assert!(
            help.contains("FILE[,ro]") && help.contains("up to 3 disks"),
            "{help}"
        );
    }

    #[test]
    fn no_reboot_is_a_run_option_whose_help_says_a_triple_fault_still_stops() {
        let cli = Cli::try_parse_from(["cargo xtask", "run", "--guest", "reset", "--no-reboot"])
            .expect("--no-reboot parses");
        let Cmd::Run(args) = cli.command else {
            panic!("not a run")
        };
        assert!(args.no_reboot);
        let mut command = Cli::command();
        let help = command
            .find_subcommand_mut("run")
            .expect("the run subcommand")
            .render_long_help()
            .to_string();
        assert!(help.contains("--no-reboot"), "{help}");
        assert!(help.contains("triple fault"), "{help}");
    }

    #[test]
    fn xen_and_console_are_run_options_with_their_defaults_in_the_help() {
        let cli = Cli::try_parse_from(["cargo xtask", "run"]).expect("a bare run parses");
        let Cmd::Run(args) = cli.command else {
            panic!("not a run")
        };
        assert_eq!((args.xen.as_str(), args.console.as_str()), ("on", "ttyS0"));
        let cli = Cli::try_parse_from(["cargo xtask", "run", "--xen", "off", "--console", "hvc0"])
            .expect("--xen and --console parse");
        let Cmd::Run(args) = cli.command else {
            panic!("not a run")
        };
        assert_eq!((args.xen.as_str(), args.console.as_str()), ("off", "hvc0"));
        let mut command = Cli::command();
        let help = command
            .find_subcommand_mut("run")
            .expect("the run subcommand")
            .render_long_help()
            .to_string();
        for needle in [
            "--xen <on|off>",
            "--console <ttyS0|hvc0>",
            "[default: on]",
            "[default: ttyS0]",
        ] {
            assert!(help.contains(needle), "{needle}: {help}");
        }
    }
}
