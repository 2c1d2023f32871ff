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
    /// BIOS boot order, e.g. "cd,disk,floppy".
    pub boot: Option<String>,
    /// Bytes typed on the guest console at start-up.
    pub input: Vec<u8>,
    /// Bytes typed once a number of expectations have matched: `(n, bytes)`
    /// is sent after the n-th `expect` matched (0: at start-up).
    pub send: Vec<(usize, Vec<u8>)>,
    /// Terminal input goes to the PS/2 keyboard instead of COM1.
    pub keyboard: bool,
    /// QEMU CPU model instead of the one `accel` implies (tests of CPU detection).
    pub qemu_cpu: Option<String>,
    /// A hypervisor self-test to run instead of the guest (`exception`).
    pub selftest: Option<String>,
    /// A reset the guest requests stops it (cleanly) instead of rebooting
    /// it, as QEMU's `-no-reboot` does.
    pub no_reboot: bool,
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
            boot: None,
            input: Vec::new(),
            send: Vec::new(),
            keyboard: false,
            no_reboot: false,
        }
    }
}
