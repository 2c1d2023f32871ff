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

/// How many `--disk`s a run takes: the IDE places besides the CD-ROM's
/// (primary master and slave, secondary slave; `pc_layout::ide_drives`).
pub const MAX_DISKS: usize = pc_layout::ide_drives::DISKS.len();

/// One disk image of a run, as `--disk FILE[,ro|,rw]` gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskImage {
    pub path: PathBuf,
    /// Attached read-only: QEMU's `readonly=on` (its virtio-blk device then
    /// offers `VIRTIO_BLK_F_RO`), the IDE disk aborts writes, the PV disk
    /// is `VDISK_READONLY` and refuses them.
    pub read_only: bool,
}

impl DiskImage {
    /// `FILE`, `FILE,ro` or `FILE,rw`; a comma inside the file name is
    /// written twice (`a,,b.img`), as in QEMU's option values.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut parts = vec![String::new()];
        let mut chars = spec.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                ',' if chars.peek() == Some(&',') => {
                    chars.next();
                    parts.last_mut().unwrap().push(',');
                }
                ',' => parts.push(String::new()),
                c => parts.last_mut().unwrap().push(c),
            }
        }
        let path = parts.remove(0);
        if path.is_empty() {
            return Err(format!("--disk {spec}: no file name (FILE[,ro|,rw])"));
        }
        let mut read_only = None;
        for option in &parts {
            let ro = match option.as_str() {
                "ro" => true,
                "rw" => false,
                _ => {
                    return Err(format!(
                        "--disk {spec}: unknown option `{option}` (FILE[,ro|,rw]; a comma \
                         in the file name is written twice)"
                    ))
                }
            };
            if read_only.is_some_and(|r| r != ro) {
                return Err(format!("--disk {spec}: ro and rw contradict each other"));
            }
            read_only = Some(ro);
        }
        Ok(Self {
            path: path.into(),
            read_only: read_only.unwrap_or(false),
        })
    }

    /// Every `--disk` of a command line, in order; more than [`MAX_DISKS`]
    /// is refused in one line.
    pub fn parse_all(specs: &[String]) -> Result<Vec<Self>, String> {
        if specs.len() > MAX_DISKS {
            return Err(format!(
                "--disk given {} times: the IDE board takes at most {MAX_DISKS} disks \
                 (primary master and slave, secondary slave; the CD-ROM is the secondary master)",
                specs.len()
            ));
        }
        specs.iter().map(|s| Self::parse(s)).collect()
    }
}

/// A Xen PVH start of a Linux kernel: no firmware, no emulated devices
/// (`--kernel`, `--initrd`, `--cmdline`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PvhBoot {
    /// A bzImage (`vmlinuz`) or an ELF `vmlinux` with the PVH entry note.
    pub kernel: PathBuf,
    /// The initrd, handed over as the first module (the guest's initramfs).
    pub initrd: Option<PathBuf>,
    /// The kernel command line.
    pub cmdline: String,
}

/// The command line a PVH kernel gets when none is given: its console on
/// the Xen PV console, the only one a PVH domain has.
pub const DEFAULT_PVH_CMDLINE: &str = "console=hvc0";

/// What to run and how.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Boot this kernel PVH instead of `guest` (which must then be the
    /// default, `bios`, with no ISO or floppy).
    pub pvh: Option<PvhBoot>,
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
    /// A disk image for the IDE primary master (BIOS drive 80h, `xvda`).
    pub disk: Option<PathBuf>,
    /// `disk` is attached read-only (`--disk FILE,ro`).
    pub disk_read_only: bool,
    /// Further disks (`--disk` again), in order on the IDE primary slave
    /// and secondary slave (`sdb`, `sdc`; `xvdb`, `xvdc`): at most
    /// [`MAX_DISKS`] in all with `disk`.
    pub more_disks: Vec<DiskImage>,
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
    /// The guest's board is the modern PC (local and I/O APIC, ACPI tables
    /// and power management); off, the PC/AT with its 8259 pair only.
    pub acpi: bool,
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
            pvh: None,
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
            disk_read_only: false,
            more_disks: Vec::new(),
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
            acpi: true,
            until_stopped: false,
            no_reboot: false,
            shutdown_after: None,
            shutdown_grace: super::control::DEFAULT_SHUTDOWN_GRACE,
            kill_after: None,
        }
    }
}

impl RunOptions {
    /// These options with `disks` attached: the first as `disk`, the rest
    /// as `more_disks`.
    pub fn with_disks(mut self, disks: Vec<DiskImage>) -> Self {
        let mut disks = disks.into_iter();
        if let Some(first) = disks.next() {
            self.disk = Some(first.path);
            self.disk_read_only = first.read_only;
        }
        self.more_disks = disks.collect();
        self
    }

    /// Every disk of the run, first to last.
    pub fn disks(&self) -> Vec<DiskImage> {
        let first = self.disk.clone().map(|path| DiskImage {
            path,
            read_only: self.disk_read_only,
        });
        first.into_iter().chain(self.more_disks.clone()).collect()
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

    #[test]
    fn disks_parse_with_ro_and_rw_and_bad_ones_say_so_in_one_line() {
        let d = |p: &str, ro| DiskImage {
            path: p.into(),
            read_only: ro,
        };
        assert_eq!(DiskImage::parse("a.img"), Ok(d("a.img", false)));
        assert_eq!(DiskImage::parse("a.img,ro"), Ok(d("a.img", true)));
        assert_eq!(DiskImage::parse("a.img,rw"), Ok(d("a.img", false)));
        assert_eq!(DiskImage::parse("a.img,ro,ro"), Ok(d("a.img", true)));
        assert_eq!(DiskImage::parse("a,,b.img,ro"), Ok(d("a,b.img", true)));
        assert_eq!(DiskImage::parse("/x/y z.img"), Ok(d("/x/y z.img", false)));
        let e = DiskImage::parse("x,rw,foo").unwrap_err();
        assert!(
            e.starts_with("--disk x,rw,foo: unknown option `foo`"),
            "{e}"
        );
        for bad in [
            "",
            ",ro",
            "a.img,",
            "a.img,RO",
            "a.img,ro,rw",
            "a.img,readonly",
        ] {
            let e = DiskImage::parse(bad).unwrap_err();
            assert!(e.starts_with("--disk ") && !e.contains('\n'), "{bad}: {e}");
        }
        let specs = |n: usize| (0..n).map(|i| format!("d{i}.img")).collect::<Vec<_>>();
        assert_eq!(DiskImage::parse_all(&specs(3)).unwrap().len(), 3);
        let e = DiskImage::parse_all(&specs(4)).unwrap_err();
        assert!(e.contains("at most 3 disks") && !e.contains('\n'), "{e}");
        assert!(DiskImage::parse_all(&["a,x".into()]).is_err());
    }

    #[test]
    fn the_first_disk_is_disk_and_the_rest_more_disks() {
        let disks = vec![
            DiskImage::parse("a.img").unwrap(),
            DiskImage::parse("b.img,ro").unwrap(),
        ];
        let o = RunOptions::default().with_disks(disks.clone());
        assert_eq!(o.disk.as_deref(), Some(std::path::Path::new("a.img")));
        assert!(!o.disk_read_only);
        assert_eq!(o.more_disks, disks[1..]);
        assert_eq!(o.disks(), disks);
        let ro = RunOptions::default().with_disks(vec![DiskImage::parse("c,ro").unwrap()]);
        assert!(ro.disk_read_only && ro.more_disks.is_empty());
        assert!(RunOptions::default()
            .with_disks(Vec::new())
            .disks()
            .is_empty());
    }
}
