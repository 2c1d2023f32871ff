//! One run: build what is needed, boot it under QEMU, follow the guest console
//! until the expectations match, the machine stops or time runs out.
//!
//! The pieces, each importing only the ones listed before it: `control`
//! (Ctrl-C and the shutdown request to the hypervisor), `terminal` (an
//! interactive run's terminal), `options` (what to run), `report` (what a
//! run produced), `media` (the run folder and the images), `streams` (an
//! emulator's output), `bochs_run` (starting Bochs) and `follow` (following
//! the consoles to an outcome). `run` puts them together.

mod bochs_run;
mod control;
mod follow;
mod media;
mod options;
mod pvh;
mod report;
mod streams;
mod terminal;

pub use control::{catch_ctrl_c, DEFAULT_SHUTDOWN_GRACE, INTERRUPTED_EXIT_CODE};
pub use options::{
    parse_on_off, Console, DiskImage, Emulator, Loader, PvhBoot, RunOptions, BIOS_GUEST,
    DEFAULT_PVH_CMDLINE, MAX_DISKS,
};
pub use report::{
    last_heartbeat, last_stats_block, Outcome, RunReport, HEARTBEAT, HEARTBEAT_MS, STATS_BEGIN,
    STATS_END,
};
pub use streams::stream_stdout;

use bochs_run::spawn_bochs;
use follow::follow;
use media::{
    check_image, check_iso9660, fresh_run_dir, medium_config, on_virtio, qemu_drives, CDROM,
    FLOPPY, SCREEN_FILE,
};
use streams::stream_output;

use crate::build::hypervisor_elf;
use crate::grub;
use crate::guests;
use crate::qemu::{BootModule, QemuBoot, QemuMachine};
use crate::tools;
use std::io::IsTerminal;
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use terminal::{forward_stdin, RawTerminal};

/// Memory the hypervisor needs beyond the guest's RAM and the modules: its
/// image, heap and page tables, with room to spare.
const HYPERVISOR_OVERHEAD_MIB: u64 = 96;

/// Runs a guest.
pub fn run(opts: &RunOptions) -> Result<RunReport, String> {
    check_mem(opts.mem_mib)?;
    // The `bios` guest is the emulated BIOS booting the given media; any other
    // name is a built-in test ROM.
    let bios = opts.guest == BIOS_GUEST;
    let guest = if bios {
        None
    } else {
        Some(guests::find(&opts.guest).ok_or_else(|| {
            format!(
                "no built-in guest `{}` (there are: {}, and {BIOS_GUEST} to boot --iso/--disk/--floppy)",
                opts.guest,
                guests::names()
            )
        })?)
    };
    if opts.pvh.is_some() && !bios {
        return Err(format!(
            "--kernel boots a PVH guest: it cannot be combined with --guest {}",
            opts.guest
        ));
    }
    if bios
        && opts.pvh.is_none()
        && opts.iso.is_none()
        && opts.disk.is_none()
        && opts.floppy.is_none()
    {
        return Err("nothing to boot: give --iso, --disk or --floppy".into());
    }
    tools::require("qemu-system-x86_64")?;
    let hv = hypervisor_elf(opts.target_dir.as_ref())?;

    let dir = fresh_run_dir(guest.map_or(BIOS_GUEST, |g| g.name))?;
    let rom = dir.join("rom.bin");
    let config = dir.join("guest.cfg");
    let hv_log_path = dir.join("hv.log");
    if let Some(g) = guest {
        std::fs::write(&rom, (g.build)())
            .map_err(|e| format!("cannot write {}: {e}", rom.display()))?;
    }
    let mut config_text = format!(
        "# written by cargo xtask run\nmem_mib = {}\nstats = {}\nlog = {}\n",
        opts.mem_mib, opts.stats, opts.log_level
    );
    let mut pvh_modules = Vec::new();
    if let Some(pvh) = &opts.pvh {
        let (lines, modules) = pvh::prepare(pvh, opts, &dir)?;
        config_text.push_str(&lines);
        pvh_modules = modules;
    } else if bios {
        config_text.push_str("firmware = bios\n");
        if let Some(order) = &opts.boot {
            config_text.push_str(&format!("boot = {order}\n"));
        }
    } else {
        config_text.push_str("rom = rom\n");
    }
    if let Some(floppy) = &opts.floppy {
        check_image(floppy, "floppy")?;
        config_text.push_str(&medium_config(FLOPPY, on_virtio(FLOPPY, opts)));
    }
    // Where the guest is, every few seconds: what a timeout reports.
    config_text.push_str(&format!("heartbeat_ms = {HEARTBEAT_MS}\n"));
    if let Some(ms) = opts.stats_every_ms {
        config_text.push_str(&format!("stats_every_ms = {ms}\n"));
    }
    if let Some(t) = &opts.selftest {
        config_text.push_str(&format!("selftest = {t}\n"));
    }
    config_text.push_str(&console_and_xen_config(opts)?);
    if opts.pvh.is_some() {
        // Said again after the console lines: the PV console is a PVH
        // guest's only one.
        config_text.push_str("console_input = hvc0\n");
    }
    if opts.no_reboot {
        config_text.push_str("no_reboot = true\n");
    }
    // The disks in order: the hypervisor puts them on the IDE positions
    // and offers them as PV disks in this order.
    if opts.disks().len() > MAX_DISKS {
        return Err(format!(
            "at most {MAX_DISKS} disks, not {}",
            opts.disks().len()
        ));
    }
    for (m, path) in media::disks(opts) {
        check_image(&path, "disk")?;
        config_text.push_str(&medium_config(m, on_virtio(m, opts)));
    }
    if let Some(iso) = &opts.iso {
        check_image(iso, "ISO")?;
        check_iso9660(iso)?;
        config_text.push_str(&medium_config(CDROM, on_virtio(CDROM, opts)));
    }
    std::fs::write(&config, config_text)
        .map_err(|e| format!("cannot write {}: {e}", config.display()))?;
    let _ = std::fs::remove_file(&hv_log_path);

    let mut modules = vec![BootModule {
        path: config,
        name: "config".into(),
    }];
    if guest.is_some() {
        modules.push(BootModule {
            path: rom,
            name: "rom".into(),
        });
    }
    modules.append(&mut pvh_modules);
    // Under QEMU the images are virtio-blk devices the hypervisor drives
    // (the guest's writes reach the files); Bochs has no virtio, so there
    // they are boot modules, held in memory, writes discarded (and so is
    // the disk with `disk_in_memory`).
    for (m, path) in media::media(opts) {
        if !on_virtio(m, opts) {
            modules.push(BootModule {
                path,
                name: m.module.into(),
            });
        }
    }
    let drives = qemu_drives(opts);
    let module_mib: u64 = modules
        .iter()
        .map(|m| std::fs::metadata(&m.path).map(|x| x.len()).unwrap_or(0))
        .sum::<u64>()
        >> 20;
    let iso = dir.join("vmm-grub.iso");
    let host_mem_mib = opts.mem_mib + module_mib + HYPERVISOR_OVERHEAD_MIB;
    if opts.emulator == Emulator::Bochs {
        let (mut child, rx, stderr_thread) =
            spawn_bochs(opts, &hv, &modules, &dir, &iso, host_mem_mib, &hv_log_path)?;
        let followed = follow(
            &mut child,
            opts,
            &hv_log_path,
            Emulator::Bochs,
            rx,
            stderr_thread,
            None,
        )?;
        let hv_log = std::fs::read_to_string(&hv_log_path).unwrap_or_default();
        return Ok(followed.report(hv_log, hv_log_path));
    }
    let boot = match opts.loader {
        Loader::Kernel => QemuBoot::Multiboot {
            hypervisor: &hv,
            modules: &modules,
        },
        Loader::Grub => QemuBoot::Cdrom(&grub::make_iso(&hv, &modules, &dir, &iso)?),
    };
    // The control channel: the host COM3 on two FIFOs (runner::control).
    let control_base = control::make_fifos(&dir)?;
    let channel = control::open_channel(&control_base)?;
    let machine = QemuMachine {
        boot,
        host_mem_mib,
        accel: opts.accel,
        cpu: opts.qemu_cpu.as_deref(),
        drives: &drives,
        debugcon_log: &hv_log_path,
        screen_log: &dir.join(SCREEN_FILE),
        control: Some(&control_base),
    };
    let scripted = !opts.input.is_empty() || !opts.send.is_empty();
    // An interactive run at a terminal: the runner holds the terminal in
    // raw mode and passes typed bytes on to QEMU, whose `-serial stdio`
    // gives them to the host COM1, where the hypervisor reads them (see
    // runner::terminal); restored when this is dropped.
    let terminal = if opts.echo && !scripted {
        RawTerminal::enter()
    } else {
        None
    };
    let mut child = machine
        .command()
        .stdin(if scripted || terminal.is_some() {
            Stdio::piped()
        } else if opts.echo && !std::io::stdin().is_terminal() {
            // Input from a file or pipe: QEMU may read it from any group.
            Stdio::inherit()
        } else {
            // Not a terminal QEMU could read from its own group.
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group: the terminal's Ctrl-C (SIGINT to the
        // foreground group) reaches the runner only, which asks the guest
        // to shut down instead of QEMU dying at once.
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start qemu-system-x86_64: {e}"))?;
    if terminal.is_some() {
        if let Some(pipe) = child.stdin.take() {
            forward_stdin(pipe);
        }
    }
    let (rx, stderr_thread) = stream_output(&mut child);
    let followed = follow(
        &mut child,
        opts,
        &hv_log_path,
        Emulator::Qemu,
        rx,
        stderr_thread,
        Some(channel),
    );
    drop(terminal);
    let followed = followed?;
    let hv_log = std::fs::read_to_string(&hv_log_path).unwrap_or_default();
    Ok(followed.report(hv_log, hv_log_path))
}

/// The configuration lines for where typed input goes (`console_input`,
/// left out for the default, COM1) and for a guest that must not see Xen
/// (`xen = off`; on is the hypervisor's default), and for a PC/AT without
/// APICs and ACPI (`acpi = off`). Input for the PV console
/// needs Xen, and can go to one place only.
pub fn console_and_xen_config(opts: &RunOptions) -> Result<String, String> {
    let mut text = String::new();
    match (opts.keyboard, opts.console) {
        (true, Console::Hvc0) => {
            return Err(
                "--keyboard and --console hvc0 both say where typed input goes: give one".into(),
            )
        }
        (true, Console::Ttys0) => text.push_str("console_input = keyboard\n"),
        (false, Console::Hvc0) if !opts.xen => {
            return Err("--console hvc0 needs --xen on: hvc0 is the Xen PV console".into())
        }
        (false, Console::Hvc0) => text.push_str("console_input = hvc0\n"),
        (false, Console::Ttys0) => {}
    }
    if !opts.xen {
        text.push_str("xen = off\n");
    }
    if !opts.acpi {
        text.push_str("acpi = off\n");
    }
    Ok(text)
}

/// Guest RAM the board can lay out: refused in one line before any emulator
/// starts (Bochs, asked for more than it can give, would panic).
pub fn check_mem(mem_mib: u64) -> Result<(), String> {
    use pc_layout::memory::MAX_RAM_MIB;
    if (1..=MAX_RAM_MIB).contains(&mem_mib) {
        Ok(())
    } else {
        Err(format!(
            "--mem {mem_mib}: guest RAM must be 1 to {MAX_RAM_MIB} MiB (one block below the 32-bit PCI hole; RAM above 4 GiB is not offered)"
        ))
    }
}

#[cfg(test)]
mod config_tests {
    use super::{console_and_xen_config, Console, RunOptions};

    fn config(keyboard: bool, console: Console, xen: bool) -> Result<String, String> {
        console_and_xen_config(&RunOptions {
            keyboard,
            console,
            xen,
            ..RunOptions::default()
        })
    }

    #[test]
    fn defaults_write_nothing_and_each_choice_writes_its_line() {
        assert_eq!(config(false, Console::Ttys0, true).unwrap(), "");
        assert_eq!(
            config(true, Console::Ttys0, true).unwrap(),
            "console_input = keyboard\n"
        );
        assert_eq!(
            config(false, Console::Hvc0, true).unwrap(),
            "console_input = hvc0\n"
        );
        assert_eq!(config(false, Console::Ttys0, false).unwrap(), "xen = off\n");
        assert_eq!(
            config(true, Console::Ttys0, false).unwrap(),
            "console_input = keyboard\nxen = off\n"
        );
        let pc_at = RunOptions {
            acpi: false,
            ..RunOptions::default()
        };
        assert_eq!(console_and_xen_config(&pc_at).unwrap(), "acpi = off\n");
    }

    #[test]
    fn hvc0_input_without_xen_or_with_the_keyboard_is_refused_in_one_line() {
        for e in [
            config(false, Console::Hvc0, false).unwrap_err(),
            config(true, Console::Hvc0, true).unwrap_err(),
        ] {
            assert!(e.contains("--console hvc0") && !e.contains('\n'), "{e}");
        }
    }
}

#[cfg(test)]
mod mem_tests {
    use super::check_mem;

    #[test]
    fn ram_sizes_the_board_cannot_lay_out_are_refused_in_one_line() {
        assert!(check_mem(16).is_ok() && check_mem(3072).is_ok());
        for bad in [0, 3073, 4096] {
            let e = check_mem(bad).unwrap_err();
            assert!(
                e.starts_with(&format!("--mem {bad}:")) && !e.contains('\n'),
                "{e}"
            );
        }
    }
}
