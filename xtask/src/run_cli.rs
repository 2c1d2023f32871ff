//! `cargo xtask run`: its options, a `--config` file merged into them, and
//! the run itself with its report.

use crate::fail;
use regex::Regex;
use std::time::Duration;
use xtask::packages::Need;
use xtask::provision::{provision, Toolchain};
use xtask::qemu::Accel;
use xtask::runner::{
    catch_ctrl_c, parse_on_off, run, Console, DiskImage, Emulator, Loader, Outcome, RunOptions,
    BIOS_GUEST, DEFAULT_SHUTDOWN_GRACE,
};

#[derive(clap::Args)]
pub(crate) struct RunArgs {
    /// A domain described the way `xl create` takes it (xl.cfg: type =
    /// "hvm" or "pvh" with kernel, ramdisk, cmdline; name, memory, vcpus, disk = [ ... ], boot, acpi,
    /// xen_platform_pci, on_poweroff/on_reboot/on_crash); keys without
    /// effect here are named. Options given here win over the file's;
    /// relative paths are from the file's folder. See examples/.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<std::path::PathBuf>,
    /// Built-in test guest to boot (see `cargo xtask guests`); `bios` boots
    /// --iso/--disk/--floppy through the emulated BIOS, which is the default
    /// when any of those is given; `pv-demo` is our own Rust PVH guest on
    /// the pv-drivers frontends (give it a --disk: it reads, writes and
    /// times xvda).
    #[arg(long)]
    pub(crate) guest: Option<String>,
    /// Guest RAM in MiB, 1 to 3072 [default: 256 for BIOS guests, 16 for built-in guests].
    #[arg(long)]
    pub(crate) mem: Option<u64>,
    /// QEMU acceleration: auto uses KVM only where it offers nested SVM or VMX.
    #[arg(long, value_enum, default_value = "auto")]
    pub(crate) accel: Accel,
    /// How QEMU loads the hypervisor: `kernel` (-kernel, Multiboot) or `grub` (a GRUB ISO, Multiboot2).
    #[arg(long, value_enum, default_value = "kernel")]
    pub(crate) loader: Loader,
    /// The emulator: QEMU, or Bochs (VT-x and a second SVM; boots the GRUB ISO).
    #[arg(long, value_enum, default_value = "qemu")]
    pub(crate) emulator: Emulator,
    /// The CPU Bochs emulates: intel (VT-x with EPT) or amd (SVM with NRIP-save).
    #[arg(long, value_enum, default_value = "intel")]
    pub(crate) cpu: xtask::bochs::BochsCpu,
    /// Give up after this many seconds [default: 60, or no limit for an
    /// interactive BIOS guest run without --expect].
    #[arg(long)]
    pub(crate) timeout: Option<u64>,
    /// Regular expression the guest console (serial or mirrored screen) must
    /// match; repeat for several, matched in order.
    #[arg(long)]
    pub(crate) expect: Vec<String>,
    /// Text to type once the `--expect`s before it on the command line have
    /// matched; `\r` is Enter (also `\n`, `\t`, `\\`, `\xNN`).
    #[arg(long)]
    pub(crate) send: Vec<String>,
    /// Disk image, FILE or FILE,ro (read-only); repeat for up to 3 disks, on
    /// the IDE primary master (BIOS drive 80h), primary slave (81h) and
    /// secondary slave (82h): sda, sdb, sdc, or xvda, xvdb, xvdc through the
    /// Xen PV disk. Under QEMU the hypervisor drives each as a host
    /// virtio-blk device: what the guest writes reaches the file (flushed to
    /// the host's disk when the guest flushes). Under Bochs (no virtio) it
    /// is copied into memory and writes are discarded.
    #[arg(long, value_name = "FILE[,ro]")]
    pub(crate) disk: Vec<String>,
    /// The disks a `--config` file gave, used when no `--disk` was.
    #[arg(skip)]
    pub(crate) config_disks: Vec<DiskImage>,
    /// Boot this Linux kernel as a Xen PVH guest: a bzImage (`vmlinuz`) or
    /// an ELF `vmlinux` with the PVH entry note, started at that entry with
    /// no BIOS and no emulated devices; its console is hvc0, its disks
    /// (--disk) are xvda, xvdb, ... through the PV block backend.
    #[arg(long, value_name = "FILE")]
    pub(crate) kernel: Option<std::path::PathBuf>,
    /// Boot as a Xen PVH guest; without --kernel, the default Linux ISO's
    /// own kernel and initrd (--kernel alone says PVH too).
    #[arg(long)]
    pub(crate) pvh: bool,
    /// The PVH kernel's initrd (its initramfs).
    #[arg(long, value_name = "FILE")]
    pub(crate) initrd: Option<std::path::PathBuf>,
    /// The PVH kernel's command line [default: console=hvc0].
    #[arg(long, value_name = "TEXT")]
    pub(crate) cmdline: Option<String>,
    /// ISO image for the ATAPI CD-ROM (IDE secondary master), read-only.
    #[arg(long, value_name = "FILE")]
    pub(crate) iso: Option<std::path::PathBuf>,
    /// Floppy image (drive A: through INT 13h), attached read-only.
    #[arg(long, value_name = "FILE")]
    pub(crate) floppy: Option<std::path::PathBuf>,
    /// Keep the image files unchanged: the guest's writes go to a temporary
    /// overlay (QEMU's snapshot=on on each drive) and are gone at the end.
    #[arg(long)]
    pub(crate) snapshot: bool,
    /// BIOS boot order: a comma-separated list of cd, disk, floppy.
    #[arg(long, value_name = "ORDER")]
    pub(crate) boot: Option<String>,
    /// Terminal input goes to the guest's PS/2 keyboard instead of its COM1.
    #[arg(long)]
    pub(crate) keyboard: bool,
    /// The guest console terminal input goes to: ttyS0 (COM1) or hvc0 (the
    /// Xen PV console, which needs --xen on; the Linux ISO starts a shell on
    /// it). Output of both appears here either way.
    #[arg(long, value_name = "ttyS0|hvc0", default_value = "ttyS0")]
    pub(crate) console: String,
    /// Offer the guest the Xen HVM interface (Xen CPUID leaves, hypercalls,
    /// XenStore, the PV console hvc0): on or off; off gives a plain PC.
    #[arg(long, value_name = "on|off", default_value = "on")]
    pub(crate) xen: String,
    /// The board: on, the modern PC (local APIC, I/O APIC, ACPI tables and
    /// power management; `poweroff` ends the run through ACPI S5); off, the
    /// PC/AT with its 8259 pair only, like QEMU's -no-acpi.
    #[arg(long, value_name = "on|off", default_value = "on")]
    pub(crate) acpi: String,
    /// A reset the guest requests (8042 pulse, port 92h, CF9h) ends the run
    /// with exit code 0 instead of rebooting the guest, like QEMU's
    /// -no-reboot. A triple fault stops and reports the guest either way.
    #[arg(long)]
    pub(crate) no_reboot: bool,
    /// Ctrl-C asks the guest to shut down (control/shutdown = poweroff, as
    /// `xl shutdown` does); a second Ctrl-C, or this many seconds without
    /// the guest stopping, stops it (exit status 130). QEMU only.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_SHUTDOWN_GRACE.as_secs())]
    pub(crate) shutdown_grace: u64,
    /// Print exit statistics (count and handling cycles per exit reason) when the guest stops.
    #[arg(long)]
    pub(crate) stats: bool,
    /// Show the hypervisor's log after the run.
    #[arg(long)]
    pub(crate) log: bool,
    /// Hypervisor log level.
    #[arg(long, default_value = "info", value_parser = ["error", "warn", "info", "debug", "trace"])]
    pub(crate) log_level: String,
}

/// Turns `\r`, `\n`, `\t`, `\\` and `\xNN` into the bytes they name.
fn unescape(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('r') => out.push(b'\r'),
            Some('n') => out.push(b'\n'),
            Some('t') => out.push(b'\t'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                out.push(u8::from_str_radix(&hex, 16).unwrap_or(b'?'));
            }
            Some(other) => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
            }
            None => out.push(b'\\'),
        }
    }
    out
}

/// Guest RAM for BIOS guests when `--mem` is not given: enough for the
/// Linux ISO's kernel and initramfs, and plenty for DOS.
const DEFAULT_BIOS_MEM_MIB: u64 = 256;
/// "No limit": a year.
const NO_TIMEOUT_SECS: u64 = 365 * 24 * 3600;

/// Fills what `--config` describes into the options the command line left
/// unset (the command line wins, as `xl create cfg KEY=VALUE`), and names
/// the settings without effect here on one line.
pub(crate) fn apply_config(
    args: &mut RunArgs,
    xen_given: bool,
    acpi_given: bool,
) -> Result<(), String> {
    let Some(path) = &args.config else {
        return Ok(());
    };
    let dom = xtask::xl_config::load(path)?;
    if let Some(name) = &dom.name {
        eprintln!("xtask: domain {name} from {}", path.display());
    }
    if !dom.ignored.is_empty() {
        eprintln!(
            "xtask: {}: without effect here: {}",
            path.display(),
            dom.ignored.join("; ")
        );
    }
    args.mem = args.mem.or(dom.mem_mib);
    args.config_disks = dom.disks;
    if args.iso.is_none() {
        args.iso = dom.iso;
    }
    if args.boot.is_none() {
        args.boot = dom.boot;
    }
    let on_off = |b: bool| if b { "on" } else { "off" }.to_string();
    if let (false, Some(x)) = (xen_given, dom.xen) {
        args.xen = on_off(x);
    }
    if let (false, Some(a)) = (acpi_given, dom.acpi) {
        args.acpi = on_off(a);
    }
    args.no_reboot |= dom.no_reboot;
    if dom.pvh {
        args.pvh = true;
        if args.kernel.is_none() {
            args.kernel = dom.kernel;
        }
        if args.initrd.is_none() {
            args.initrd = dom.ramdisk;
        }
        if args.cmdline.is_none() {
            args.cmdline = dom.cmdline;
        }
    }
    Ok(())
}

pub(crate) fn run_command(mut args: RunArgs, send_after: &[usize]) -> i32 {
    let mut expect = Vec::new();
    for e in &args.expect {
        match Regex::new(e) {
            Ok(r) => expect.push(r),
            Err(err) => {
                return fail(&format!(
                    "--expect {e:?} is not a valid regular expression: {err}"
                ))
            }
        }
    }
    let console = match Console::parse(&args.console) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let xen = match parse_on_off("--xen", &args.xen) {
        Ok(x) => x,
        Err(e) => return fail(&e),
    };
    let acpi = match parse_on_off("--acpi", &args.acpi) {
        Ok(x) => x,
        Err(e) => return fail(&e),
    };
    let disks = if args.disk.is_empty() {
        std::mem::take(&mut args.config_disks)
    } else {
        match DiskImage::parse_all(&args.disk) {
            Ok(d) => d,
            Err(e) => return fail(&e),
        }
    };
    // Our own Rust PVH guest (guest-tools/pv-demo) is booted as any PVH
    // kernel, built once the toolchain's target is provisioned.
    let demo = args.guest.as_deref() == Some(xtask::pv_demo::PACKAGE);
    if demo {
        args.guest = None;
        args.cmdline.get_or_insert_with(String::new);
    }
    // `--pvh` without `--kernel` boots the Linux ISO's own kernel and
    // initrd, made once the guest media are provisioned; a kernel given
    // that cannot be one is said before anything is provisioned.
    let given_kernel = args.kernel.take();
    let default_pvh = args.pvh && !demo && given_kernel.is_none();
    if let Some(k) = &given_kernel {
        if let Err(e) = xtask::pvh_kernel::sniff(k) {
            return fail(&e);
        }
    }
    let media = args.iso.is_some()
        || !disks.is_empty()
        || args.floppy.is_some()
        || args.pvh
        || demo
        || given_kernel.is_some();
    let mut needs = run_needs(&args, media);
    if default_pvh {
        needs.push(Need::GuestMedia);
    }
    if let Err(e) = provision(Toolchain::Target, &needs) {
        return fail(&e);
    }
    let kernel_and_initrd = match given_kernel {
        Some(kernel) => Some((kernel, None)),
        None if demo => match xtask::pv_demo::build() {
            Ok(elf) => Some((elf, None)),
            Err(e) => return fail(&e),
        },
        None if default_pvh => match xtask::linux_iso::linux_pvh_files() {
            Ok(f) => Some((f.kernel, Some(f.initrd))),
            Err(e) => return fail(&format!("cannot build the default Linux guest: {e}")),
        },
        None => None,
    };
    let pvh = kernel_and_initrd.map(|(kernel, default_initrd)| xtask::runner::PvhBoot {
        kernel,
        initrd: args.initrd.take().or(default_initrd),
        cmdline: args
            .cmdline
            .take()
            .unwrap_or_else(|| xtask::runner::DEFAULT_PVH_CMDLINE.into()),
    });
    let mut iso = args.iso;
    let guest = match args.guest {
        Some(g) => g,
        None if media => BIOS_GUEST.into(),
        // The default guest: the Linux ISO of `make-linux-iso`, built on first use.
        None => match xtask::linux_iso::make_linux_iso(false) {
            Ok(path) => {
                iso = Some(path);
                BIOS_GUEST.into()
            }
            Err(e) => return fail(&format!("cannot build the default Linux ISO: {e}")),
        },
    };
    let bios = guest == BIOS_GUEST;
    let mem_mib = args
        .mem
        .unwrap_or(if bios { DEFAULT_BIOS_MEM_MIB } else { 16 });
    let timeout = match args.timeout {
        Some(secs) => Duration::from_secs(secs),
        // An interactive session with a BIOS guest lasts until the user quits.
        None if bios && expect.is_empty() => Duration::from_secs(NO_TIMEOUT_SECS),
        None => Duration::from_secs(60),
    };
    let opts = RunOptions {
        pvh,
        guest,
        mem_mib,
        accel: args.accel,
        loader: args.loader,
        emulator: args.emulator,
        bochs_cpu: args.cpu,
        timeout,
        expect,
        stats: args.stats,
        stats_every_ms: None,
        log_level: args.log_level,
        echo: true,
        target_dir: None,
        qemu_cpu: None,
        selftest: None,
        disk: None,
        iso,
        floppy: args.floppy,
        snapshot: args.snapshot,
        disk_faults: None,
        disk_in_memory: false,
        boot: args.boot,
        input: Vec::new(),
        send: args
            .send
            .iter()
            .zip(send_after.iter().chain(std::iter::repeat(&0)))
            .map(|(t, n)| (*n, unescape(t)))
            .collect(),
        keyboard: args.keyboard,
        console,
        xen,
        acpi,
        until_stopped: false,
        no_reboot: args.no_reboot,
        shutdown_after: None,
        shutdown_grace: Duration::from_secs(args.shutdown_grace),
        kill_after: None,
        ..RunOptions::default()
    }
    .with_disks(disks);
    // From here Ctrl-C asks the guest to shut down (runner::control).
    if let Err(e) = catch_ctrl_c() {
        return fail(&e);
    }
    let report = match run(&opts) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    if args.log {
        eprintln!(
            "--- hypervisor log ({}) ---\n{}",
            report.hv_log_path.display(),
            report.hv_log.trim_end()
        );
    }
    if args.stats {
        match report.stats() {
            Some(s) => eprintln!("{s}"),
            None => eprintln!("xtask: the hypervisor printed no exit statistics (it did not reach the guest's end)"),
        }
    }
    let tail = || {
        eprintln!(
            "--- last 40 lines of guest output ---\n{}",
            report.console_tail(40)
        )
    };
    match &report.outcome {
        Outcome::ExpectationsMet => eprintln!("xtask: every expectation matched"),
        Outcome::GuestFinished => eprintln!("xtask: guest finished"),
        Outcome::ExpectationsUnmet { pending, .. } => {
            eprintln!(
                "xtask: the machine stopped before the guest printed a match for {pending:?}"
            );
            tail();
        }
        Outcome::GuestFailed => {
            eprintln!("xtask: the guest failed; the hypervisor's report:");
            print_errors(&report.hv_log);
        }
        Outcome::HypervisorFailed => {
            eprintln!("xtask: the hypervisor failed:");
            print_errors(&report.hv_log);
        }
        Outcome::EmulatorFailed { status, stderr } => {
            eprintln!(
                "xtask: QEMU exited with status {status:?}: {}",
                stderr.trim()
            );
        }
        Outcome::Timeout => {
            eprintln!("xtask: timed out after {} s", timeout.as_secs());
            eprintln!("{}", report.timeout_report().unwrap_or_default());
        }
        // The runner said why when it stopped the guest.
        Outcome::Interrupted { .. } => {}
    }
    report.outcome.exit_code()
}

/// What a run with these arguments uses from the host.
fn run_needs(args: &RunArgs, media: bool) -> Vec<Need> {
    let mut needs = Vec::new();
    match args.emulator {
        Emulator::Qemu => needs.push(Need::Qemu),
        Emulator::Bochs => needs.extend([Need::Bochs, Need::GrubIso]),
    }
    if args.loader == Loader::Grub {
        needs.push(Need::GrubIso);
    }
    // Without a guest or media the default Linux ISO is built.
    if args.guest.is_none() && !media {
        needs.push(Need::GuestMedia);
    }
    needs
}

/// Prints the error part of the hypervisor log: error lines and the register dump after them.
fn print_errors(log: &str) {
    let start = log
        .lines()
        .position(|l| l.starts_with("[ERROR]"))
        .unwrap_or(0);
    for line in log
        .lines()
        .skip(start)
        .filter(|l| !l.starts_with("[INFO ]"))
    {
        eprintln!("  {line}");
    }
}

#[cfg(test)]
mod unescape_tests {
    use super::unescape;

    #[test]
    fn escapes_become_bytes() {
        assert_eq!(unescape(r"dir\r"), b"dir\r");
        assert_eq!(unescape(r"a\tb\\c\x41"), b"a\tb\\cA");
    }
}
