//! What a run is asked to do: the guest, the loader, the emulator and the
//! options a run takes, with their defaults.

use crate::qemu::Accel;
use regex::Regex;
use std::path::PathBuf;
use std::time::Duration;

/// The guest name that means "the emulated BIOS boots the media given".
pub const BIOS_GUEST: &str = "bios";

/// How the hypervisor is loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Loader {
    /// QEMU's `-kernel` (Multiboot 1).
    Kernel,
    /// A GRUB ISO (Multiboot2), as on Bochs and real hardware.
    Grub,
}

/// The emulator the hypervisor runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Emulator {
    Qemu,
    /// Debian's Bochs: VT-x with EPT (`--cpu intel`) or SVM with NRIP-save (`--cpu amd`).
    Bochs,
}

/// The guest console the host terminal's typed input goes to (unless
/// `keyboard` sends it to the PS/2 keyboard).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Console {
    /// The guest's COM1 (Linux's `ttyS0`).
    #[default]
    Ttys0,
    /// The Xen PV console ring (Linux's `hvc0`): needs `xen`.
    Hvc0,
}

impl Console {
    /// The names `--console` takes.
    pub const NAMES: &'static str = "ttyS0 or hvc0";

    /// `ttyS0` or `hvc0` (as Linux names them; `ttys0` is taken too).
    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "ttyS0" | "ttys0" => Ok(Console::Ttys0),
            "hvc0" => Ok(Console::Hvc0),
            _ => Err(format!(
                "--console {name}: the console must be {}",
                Self::NAMES
            )),
        }
    }
}

/// `on` or `off`, as `--xen` takes it.
pub fn parse_on_off(flag: &str, value: &str) -> Result<bool, String> {
    match value {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("{flag} {value}: must be on or off")),
    }
}

/// What to run and how.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Name of a built-in guest.
    pub guest: String,
    /// Guest RAM in MiB.
    pub mem_mib: u64,
    pub accel: Accel,
    pub loader: Loader,
    pub emulator: Emulator,
    /// The CPU Bochs emulates.
    pub bochs_cpu: crate::bochs::BochsCpu,
    pub timeout: Duration,
    /// Regular expressions the guest console must match, in order.
    pub expect: Vec<Regex>,
    /// Ask the hypervisor for exit statistics.
    pub stats: bool,
    /// Ask the hypervisor for a statistics snapshot this often while the
    /// guest runs.
    pub stats_every_ms: Option<u64>,
    /// Hypervisor log level (error|warn|info|debug|trace).
    pub log_level: String,
    /// Copy the guest console to our stdout as it arrives.
    pub echo: bool,
    /// Cargo target dir for building the hypervisor (None: the workspace's).
    pub target_dir: Option<PathBuf>,
    /// A disk image for the IDE primary master.
    pub disk: Option<PathBuf>,
    /// An ISO image for the ATAPI CD-ROM on the IDE secondary master.
    pub iso: Option<PathBuf>,
    /// A floppy image (drive A: of the BIOS).
    pub floppy: Option<PathBuf>,
    /// QEMU's `snapshot=on` on every image: the guest's writes go to a
    /// temporary overlay and the files stay unchanged.
    pub snapshot: bool,
    /// For fault-injection tests: a QEMU `blkdebug` rules file put between
    /// the disk's virtio-blk device and its image, so chosen host requests
    /// fail (QEMU only).
    pub disk_faults: Option<PathBuf>,
    /// The disk as a boot module in the hypervisor's memory even under QEMU
    /// (as under Bochs: writes last for the run and are discarded) instead
    /// of a host virtio-blk device: the old in-memory path, which `cargo
    /// xtask bench disk` measures beside the host-backed one.
    pub disk_in_memory: bool,
    /// BIOS boot order, e.g. "cd,disk,floppy".
    pub boot: Option<String>,
    /// Bytes typed on the guest console at start-up.
    pub input: Vec<u8>,
    /// Bytes typed once a number of expectations have matched: `(n, bytes)`
    /// is sent after the n-th `expect` matched (0: at start-up).
    pub send: Vec<(usize, Vec<u8>)>,
    /// Terminal input goes to the PS/2 keyboard instead of COM1.
    pub keyboard: bool,
    /// The console typed input goes to when `keyboard` is off.
    pub console: Console,
    /// The guest sees the Xen HVM interface (CPUID leaves, hypercalls,
    /// XenStore, the PV console); off, it sees a plain PC.
    pub xen: bool,
    /// Once every expectation matched, follow on until the machine stops by
    /// itself (or time runs out): the outcome is then how it stopped, so a
    /// run can check that the guest's own shutdown ends it cleanly.
    pub until_stopped: bool,
    /// QEMU CPU model instead of the one `accel` implies (tests of CPU detection).
    pub qemu_cpu: Option<String>,
    /// A hypervisor self-test to run instead of the guest (`exception`).
    pub selftest: Option<String>,
    /// A reset the guest requests stops it (cleanly) instead of rebooting
    /// it, as QEMU's `-no-reboot` does.
    pub no_reboot: bool,
    /// Ask the guest to shut down (`control/shutdown` = `poweroff`, as `xl
    /// shutdown` does) once this many expectations matched, as Ctrl-C
    /// does; with `until_stopped` the run then ends with the guest's own
    /// power-off. QEMU only (the control channel is its COM3).
    pub shutdown_after: Option<usize>,
    /// After a shutdown request (Ctrl-C or `shutdown_after`), how long the
    /// guest has to stop before it is stopped (`Outcome::Interrupted`).
    pub shutdown_grace: Duration,
    /// Once every expectation matched, follow on for this long, then stop
    /// the emulator with SIGKILL (`Child::kill`), as a power cut or a host
    /// crash of the emulator would: no shutdown request, no flush, no
    /// clean exit. The report's `console` holds what the runner saw up to
    /// the kill, and `killed_after` says when it came. For the durability
    /// tests (`soak_disks`); the machine stopping earlier by itself ends
    /// the run as usual.
    pub kill_after: Option<Duration>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            guest: "hello".into(),
            mem_mib: 16,
            accel: Accel::Auto,
            loader: Loader::Kernel,
            emulator: Emulator::Qemu,
            bochs_cpu: crate::bochs::BochsCpu::Intel,
            timeout: Duration::from_secs(60),
            expect: Vec::new(),
            stats: false,
            stats_every_ms: None,
            log_level: "info".into(),
            echo: false,
            target_dir: None,
            qemu_cpu: None,
            selftest: None,
            disk: None,
            iso: None,
            floppy: None,
            snapshot: false,
            disk_faults: None,
            disk_in_memory: false,
            boot: None,
            input: Vec::new(),
            send: Vec::new(),
            keyboard: false,
            console: Console::Ttys0,
            xen: true,
            until_stopped: false,
            no_reboot: false,
            shutdown_after: None,
            shutdown_grace: super::control::DEFAULT_SHUTDOWN_GRACE,
            kill_after: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_and_xen_values_parse_and_bad_ones_say_so_in_one_line() {
        assert_eq!(Console::parse("ttyS0"), Ok(Console::Ttys0));
        assert_eq!(Console::parse("hvc0"), Ok(Console::Hvc0));
        let e = Console::parse("hvc1").unwrap_err();
        assert_eq!(e, "--console hvc1: the console must be ttyS0 or hvc0");
        assert_eq!(parse_on_off("--xen", "on"), Ok(true));
        assert_eq!(parse_on_off("--xen", "off"), Ok(false));
        let e = parse_on_off("--xen", "yes").unwrap_err();
        assert_eq!(e, "--xen yes: must be on or off");
        let d = RunOptions::default();
        assert!(d.xen && d.console == Console::Ttys0 && !d.until_stopped);
    }
}
