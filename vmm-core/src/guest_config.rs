//! The guest configuration the runner hands us as the boot module named
//! `config`: `key = value` lines, `#` comments.
//!
//! Keys: `mem_mib` (guest RAM in MiB), `rom` (name of the module holding the
//! ROM image mapped below 1 MiB and at the reset vector), `stats` (print exit
//! statistics when the guest stops), `log` (error|warn|info|debug|trace),
//! `firmware` (`bios`: the emulated BIOS boots the guest from its media;
//! `rom`: the module named by `rom` is the whole firmware, as test guests
//! are; `pvh`: no firmware, a Xen PVH start of the kernel in the boot
//! modules [`crate::guest_boot::pvh`] names), `boot` (order of boot devices: `cd`, `disk`, `floppy`, comma
//! separated), `floppy` (the floppy image, drive A:), `disk` (a hard
//! disk's image, `SOURCE` or `SOURCE,ro` for a read-only disk; repeated for
//! each further disk, at most [`MAX_DISKS`], placed in order on the IDE
//! positions of `pc_layout::ide_drives::DISKS` and offered in order as the
//! PV disks xvda, xvdb, ...), `cdrom` (the ISO in the ATAPI drive on the
//! secondary master): each source a [`MediumSource`], a boot module's name or
//! `virtio-blk@BB:DD.F`, the host virtio-blk device at that PCI address
//! (hexadecimal bus, device, function) holding the image; `console_input`
//! (`serial`: host terminal input goes to COM1, and a BIOS guest's keyboard
//! too; `keyboard`: to the PS/2 keyboard as scan codes; `hvc0`: to the Xen PV
//! console), `xen` (`on`, the default: the board has the Xen platform PCI
//! device and its unplug ports, and the BIOS reserves the Xen special pages
//! in its E820 map, as `xl` gives HVM guests `xen_platform_pci=1`; `off`: a
//! plain PC), `acpi` (`on`, the default: the modern PC of issue 15 — a
//! local APIC per vCPU, an I/O APIC, the ACPI power-management registers and
//! the ACPI tables the BIOS hands the guest, as QEMU's `pc` machine and
//! `xl`'s `acpi=1 apic=1` give; `off`: the PC/AT with its 8259 pair only, as
//! `-no-acpi` and `acpi=0 apic=0` do), `selftest` (`exception`: raise an exception inside the hypervisor before the
//! guest starts, to prove the fault report works), `no_reboot` (`true`: a
//! reset the guest requests stops it, as QEMU's `-no-reboot` does, instead of
//! rebooting it; a triple fault stops the guest either way), `stats_every_ms`
//! (log an exit statistics block this often), `heartbeat_ms` (log a
//! [`crate::heartbeat`] line this often: where the guest is, its PIC and its
//! recent exits), `halt_watchdog_ms`.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// Smallest guest RAM we accept: the ROM lives at 960 KiB.
pub const MIN_MEM_MIB: u64 = 1;
/// Largest guest RAM we accept (see [`pc_layout::memory::MAX_RAM_MIB`]).
pub const MAX_MEM_MIB: u64 = pc_layout::memory::MAX_RAM_MIB;

/// The default halt watchdog: long enough for any wait a guest means.
pub const DEFAULT_HALT_WATCHDOG_MS: u64 = 10_000;

/// Prefix of a medium held by a host virtio-blk device.
pub const VIRTIO_BLK_PREFIX: &str = "virtio-blk@";

/// How many `disk` lines a configuration may have: the IDE positions
/// besides the CD-ROM's.
pub const MAX_DISKS: usize = pc_layout::ide_drives::DISKS.len();

/// One `disk` line: where the image is, and whether the guest may write it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskConfig {
    /// A [`MediumSource`], as written.
    pub source: String,
    /// `,ro`: the IDE disk aborts writes and the PV disk is read-only
    /// (a host virtio-blk device offering `VIRTIO_BLK_F_RO` is read-only
    /// whatever the line says).
    pub read_only: bool,
}

impl DiskConfig {
    /// `SOURCE`, `SOURCE,ro` or `SOURCE,rw` (spaces around the comma allowed).
    pub fn parse(value: &str) -> Result<Self, String> {
        let mut parts = value.split(',').map(str::trim);
        let source = parts.next().unwrap_or("");
        let mut read_only = false;
        for option in parts {
            match option {
                "ro" => read_only = true,
                "rw" => read_only = false,
                _ => {
                    return Err(alloc::format!(
                        "unknown disk option `{option}` (SOURCE[,ro|,rw])"
                    ))
                }
            }
        }
        MediumSource::parse(source)?;
        Ok(Self {
            source: source.to_string(),
            read_only,
        })
    }
}

/// A host PCI function: bus, device (0..32), function (0..8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PciAddress {
    pub bus: u8,
    pub device: u8,
    pub function: u8,
}

/// Where a guest medium's bytes are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediumSource {
    /// A boot module of this name, copied into host memory: the guest's
    /// writes last only for the run (Bochs, which has no virtio).
    Module(String),
    /// The host virtio-blk device at this PCI address: the runner attached
    /// the image file to QEMU there, so the guest's writes reach the file.
    HostVirtio(PciAddress),
}

impl MediumSource {
    /// `virtio-blk@BB:DD.F` (hexadecimal) or a module name.
    pub fn parse(value: &str) -> Result<Self, String> {
        let Some(addr) = value.strip_prefix(VIRTIO_BLK_PREFIX) else {
            if value.is_empty() {
                return Err("empty medium name".into());
            }
            return Ok(Self::Module(value.to_string()));
        };
        let bad = || alloc::format!("`{value}`: expected {VIRTIO_BLK_PREFIX}BB:DD.F (hex)");
        let (bus, rest) = addr.split_once(':').ok_or_else(bad)?;
        let (device, function) = rest.split_once('.').ok_or_else(bad)?;
        let hex = |s: &str, limit: u16| {
            u16::from_str_radix(s, 16)
                .ok()
                .filter(|v| *v < limit && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_hexdigit()))
                .map(|v| v as u8)
        };
        Ok(Self::HostVirtio(PciAddress {
            bus: hex(bus, 256).ok_or_else(bad)?,
            device: hex(device, 32).ok_or_else(bad)?,
            function: hex(function, 8).ok_or_else(bad)?,
        }))
    }
}

/// What the configuration says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestConfig {
    pub mem_mib: u64,
    pub rom: String,
    pub stats: bool,
    /// Log a statistics snapshot this often while the guest runs (0: never),
    /// so a benchmark can read the counts at the moment the guest reached a
    /// point.
    pub stats_every_ms: u64,
    /// Log a heartbeat line (the guest's RIP, IF, halt, PIC and top exits)
    /// this often while the guest runs (0: never), for the report of a run
    /// that times out.
    pub heartbeat_ms: u64,
    /// How long a guest may sit halted with every interrupt line masked
    /// before it is stopped and reported (0: forever, as hardware would).
    pub halt_watchdog_ms: u64,
    pub log: String,
    /// A hypervisor self-test to run instead of the guest.
    pub selftest: Option<SelfTest>,
    /// The hard disks, first to last (BIOS drive 80h, IDE primary master,
    /// PV xvda first).
    pub disks: Vec<DiskConfig>,
    /// The ISO in the CD-ROM on the secondary master (a [`MediumSource`]).
    pub cdrom: Option<String>,
    /// Where host terminal input goes.
    pub console_input: ConsoleInputConfig,
    /// The board has the Xen PV-on-HVM interface: the Xen platform PCI
    /// device, its unplug ports, and the special pages E820-reserved.
    pub xen: bool,
    /// The board is the modern PC: local APIC, I/O APIC, ACPI PM registers
    /// and ACPI tables (on by default; off leaves the PC/AT's 8259 pair as
    /// the only interrupt controller and no ACPI).
    pub acpi: bool,
    /// The emulated BIOS is the firmware (instead of a ROM module).
    pub bios: bool,
    /// No firmware: a Xen PVH start of the kernel in the boot modules
    /// `crate::guest_boot::pvh` names (`firmware = pvh`), on a board with
    /// no emulated devices but the local APIC and the ACPI PM registers.
    pub pvh: bool,
    /// Boot order for the BIOS.
    pub boot_order: Vec<firmware::bios::BootDevice>,
    /// The floppy image, drive A: (a [`MediumSource`]).
    pub floppy: Option<String>,
    /// A reset the guest requests stops it instead of rebooting it.
    pub no_reboot: bool,
}

/// The `console_input` key: where host terminal input goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConsoleInputConfig {
    /// COM1's receiver; a BIOS guest's PS/2 keyboard as well (the board's
    /// default).
    #[default]
    Serial,
    /// The PS/2 keyboard only, as scan codes.
    Keyboard,
    /// The Xen PV console (hvc0) only.
    Hvc0,
}

/// Self-tests of the hypervisor's own failure paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelfTest {
    /// Execute an invalid opcode inside the hypervisor.
    Exception,
}

impl Default for GuestConfig {
    fn default() -> Self {
        Self {
            mem_mib: 16,
            rom: "rom".to_string(),
            stats: false,
            stats_every_ms: 0,
            heartbeat_ms: 0,
            halt_watchdog_ms: DEFAULT_HALT_WATCHDOG_MS,
            log: "info".to_string(),
            selftest: None,
            disks: Vec::new(),
            cdrom: None,
            console_input: ConsoleInputConfig::Serial,
            xen: true,
            acpi: true,
            bios: false,
            pvh: false,
            boot_order: alloc::vec![
                firmware::bios::BootDevice::Cdrom,
                firmware::bios::BootDevice::Disk,
                firmware::bios::BootDevice::Floppy
            ],
            floppy: None,
            no_reboot: false,
        }
    }
}

/// A line of the configuration that could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    pub line: usize,
    pub message: String,
    /// The guest cannot run as configured (a default would be a different
    /// machine than the one asked for, e.g. its RAM size).
    pub fatal: bool,
}

impl GuestConfig {
    /// Parses `text`. Problems are returned beside the configuration (which keeps
    /// its defaults for the bad lines) so the hypervisor can report them all.
    pub fn parse(text: &str) -> (Self, Vec<ConfigProblem>) {
        let mut cfg = Self::default();
        let mut problems = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut report = |m: String, fatal: bool| {
                problems.push(ConfigProblem {
                    line: i + 1,
                    message: m,
                    fatal,
                })
            };
            let mut problem = |m: String| report(m, false);
            let Some((key, value)) = line.split_once('=') else {
                problem(alloc::format!("expected `key = value`, got `{line}`"));
                continue;
            };
            let (key, value) = (key.trim(), value.trim());
            match key {
                "mem_mib" => match value.parse::<u64>() {
                    Ok(v) if (MIN_MEM_MIB..=MAX_MEM_MIB).contains(&v) => cfg.mem_mib = v,
                    _ => report(
                        alloc::format!(
                            "mem_mib must be {MIN_MEM_MIB}..={MAX_MEM_MIB}, got `{value}`"
                        ),
                        true,
                    ),
                },
                "rom" => cfg.rom = value.to_string(),
                "disk" => match DiskConfig::parse(value) {
                    Ok(_) if cfg.disks.len() == MAX_DISKS => report(
                        alloc::format!("more than {MAX_DISKS} disks: the IDE board has no room"),
                        true,
                    ),
                    Ok(d) => cfg.disks.push(d),
                    Err(e) => report(alloc::format!("disk: {e}"), true),
                },
                "cdrom" | "floppy" => {
                    if let Err(e) = MediumSource::parse(value) {
                        report(alloc::format!("{key}: {e}"), true);
                        continue;
                    }
                    let slot = match key {
                        "cdrom" => &mut cfg.cdrom,
                        _ => &mut cfg.floppy,
                    };
                    *slot = Some(value.to_string());
                }
                "firmware" => match value {
                    "bios" => (cfg.bios, cfg.pvh) = (true, false),
                    "rom" => (cfg.bios, cfg.pvh) = (false, false),
                    "pvh" => (cfg.bios, cfg.pvh) = (false, true),
                    _ => problem(alloc::format!(
                        "firmware must be bios, rom or pvh, got `{value}`"
                    )),
                },
                "boot" => {
                    let mut order = Vec::new();
                    for item in value.split(',').map(str::trim) {
                        match item {
                            "cd" => order.push(firmware::bios::BootDevice::Cdrom),
                            "disk" => order.push(firmware::bios::BootDevice::Disk),
                            "floppy" => order.push(firmware::bios::BootDevice::Floppy),
                            _ => problem(alloc::format!(
                                "unknown boot device `{item}` (cd, disk, floppy)"
                            )),
                        }
                    }
                    if !order.is_empty() {
                        cfg.boot_order = order;
                    }
                }
                "console_input" => match value {
                    "serial" => cfg.console_input = ConsoleInputConfig::Serial,
                    "keyboard" => cfg.console_input = ConsoleInputConfig::Keyboard,
                    "hvc0" => cfg.console_input = ConsoleInputConfig::Hvc0,
                    _ => problem(alloc::format!(
                        "console_input must be serial, keyboard or hvc0, got `{value}`"
                    )),
                },
                "xen" => match value {
                    "on" | "1" | "true" | "yes" => cfg.xen = true,
                    "off" | "0" | "false" | "no" => cfg.xen = false,
                    _ => problem(alloc::format!("xen must be on or off, got `{value}`")),
                },
                "acpi" => match value {
                    "on" | "1" | "true" | "yes" => cfg.acpi = true,
                    "off" | "0" | "false" | "no" => cfg.acpi = false,
                    _ => problem(alloc::format!("acpi must be on or off, got `{value}`")),
                },
                "stats" => match value {
                    "1" | "true" | "yes" => cfg.stats = true,
                    "0" | "false" | "no" => cfg.stats = false,
                    _ => problem(alloc::format!("stats must be true or false, got `{value}`")),
                },
                "no_reboot" => match value {
                    "1" | "true" | "yes" => cfg.no_reboot = true,
                    "0" | "false" | "no" => cfg.no_reboot = false,
                    _ => problem(alloc::format!(
                        "no_reboot must be true or false, got `{value}`"
                    )),
                },
                "stats_every_ms" => match value.parse::<u64>() {
                    Ok(v) => cfg.stats_every_ms = v,
                    _ => problem(alloc::format!(
                        "stats_every_ms must be a number of milliseconds, got `{value}`"
                    )),
                },
                "heartbeat_ms" => match value.parse::<u64>() {
                    Ok(v) => cfg.heartbeat_ms = v,
                    _ => problem(alloc::format!(
                        "heartbeat_ms must be a number of milliseconds, got `{value}`"
                    )),
                },
                "halt_watchdog_ms" => match value.parse::<u64>() {
                    Ok(v) => cfg.halt_watchdog_ms = v,
                    _ => problem(alloc::format!(
                        "halt_watchdog_ms must be a number of milliseconds, got `{value}`"
                    )),
                },
                "log" => match value {
                    "error" | "warn" | "info" | "debug" | "trace" => cfg.log = value.to_string(),
                    _ => problem(alloc::format!("unknown log level `{value}`")),
                },
                "selftest" => match value {
                    "exception" => cfg.selftest = Some(SelfTest::Exception),
                    "none" => cfg.selftest = None,
                    _ => problem(alloc::format!("unknown selftest `{value}`")),
                },
                _ => problem(alloc::format!("unknown key `{key}`")),
            }
        }
        (cfg, problems)
    }

    /// The log level filter named by `log`.
    pub fn log_level(&self) -> log::LevelFilter {
        match self.log.as_str() {
            "error" => log::LevelFilter::Error,
            "warn" => log::LevelFilter::Warn,
            "debug" => log::LevelFilter::Debug,
            "trace" => log::LevelFilter::Trace,
            _ => log::LevelFilter::Info,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_and_ignores_comments() {
        let (c, p) = GuestConfig::parse(
            "# guest\nmem_mib = 32\nrom=hello # test rom\nstats = true\nlog = debug\n",
        );
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(
            c,
            GuestConfig {
                mem_mib: 32,
                rom: "hello".into(),
                stats: true,
                log: "debug".into(),
                selftest: None,
                disks: Vec::new(),
                cdrom: None,
                console_input: ConsoleInputConfig::Serial,
                xen: true,
                ..GuestConfig::default()
            }
        );
        assert_eq!(c.log_level(), log::LevelFilter::Debug);
    }

    #[test]
    fn media_are_modules_or_host_virtio_devices_by_pci_address() {
        let (c, p) = GuestConfig::parse(
            "disk = virtio-blk@00:10.0\ncdrom = virtio-blk@00:1f.7\nfloppy = floppy0\n",
        );
        assert!(p.is_empty(), "{p:?}");
        let addr = |bus, device, function| {
            Ok(MediumSource::HostVirtio(PciAddress {
                bus,
                device,
                function,
            }))
        };
        assert_eq!(MediumSource::parse(&c.disks[0].source), addr(0, 0x10, 0));
        assert_eq!(
            MediumSource::parse(c.cdrom.as_deref().unwrap()),
            addr(0, 0x1F, 7)
        );
        assert_eq!(
            MediumSource::parse(c.floppy.as_deref().unwrap()),
            Ok(MediumSource::Module("floppy0".into()))
        );
        assert_eq!(MediumSource::parse("virtio-blk@ff:00.0"), addr(0xFF, 0, 0));
        for bad in [
            "virtio-blk@",
            "virtio-blk@00:20.0",
            "virtio-blk@00:10.8",
            "virtio-blk@100:10.0",
            "virtio-blk@00:10",
            "virtio-blk@0010.0",
            "virtio-blk@:10.0",
            "virtio-blk@00:+1.0",
            "virtio-blk@000:01.0",
        ] {
            assert!(MediumSource::parse(bad).is_err(), "{bad}");
            let (c, p) = GuestConfig::parse(&alloc::format!("disk = {bad}"));
            assert!(p.iter().any(|p| p.fatal), "{bad}: {p:?}");
            assert!(c.disks.is_empty());
        }
    }

    #[test]
    fn disks_are_listed_in_order_with_ro_and_a_fourth_is_fatal() {
        let (c, p) = GuestConfig::parse(
            "disk = virtio-blk@00:10.0\ndisk = virtio-blk@00:13.0,ro\ndisk = disk2 , rw\n",
        );
        assert!(p.is_empty(), "{p:?}");
        let d = |source: &str, read_only| DiskConfig {
            source: source.into(),
            read_only,
        };
        assert_eq!(
            c.disks,
            [
                d("virtio-blk@00:10.0", false),
                d("virtio-blk@00:13.0", true),
                d("disk2", false)
            ]
        );
        let (c, p) = GuestConfig::parse("disk = a\ndisk = b\ndisk = c\ndisk = d\n");
        assert_eq!(c.disks.len(), MAX_DISKS);
        assert_eq!(p.len(), 1);
        assert!(p[0].fatal && p[0].line == 4, "{p:?}");
        for bad in ["a,rx", "a,ro,", ",ro", "virtio-blk@00:40.0,ro"] {
            let (c, p) = GuestConfig::parse(&alloc::format!("disk = {bad}"));
            assert!(c.disks.is_empty(), "{bad}");
            assert!(p.len() == 1 && p[0].fatal, "{bad}: {p:?}");
        }
    }

    #[test]
    fn heartbeat_is_off_unless_asked_for() {
        assert_eq!(GuestConfig::parse("").0.heartbeat_ms, 0);
        assert_eq!(
            GuestConfig::parse("heartbeat_ms = 5000").0.heartbeat_ms,
            5000
        );
        assert_eq!(GuestConfig::parse("heartbeat_ms = soon").1.len(), 1);
    }

    #[test]
    fn no_reboot_is_off_unless_asked_for() {
        assert!(!GuestConfig::parse("").0.no_reboot);
        assert!(GuestConfig::parse("no_reboot = true").0.no_reboot);
        assert!(!GuestConfig::parse("no_reboot = no").0.no_reboot);
        let (c, p) = GuestConfig::parse("no_reboot = maybe");
        assert!(!c.no_reboot);
        assert_eq!(p.len(), 1);
        assert!(p[0].message.contains("no_reboot"), "{p:?}");
    }

    #[test]
    fn selftest_is_off_unless_asked_for() {
        assert_eq!(GuestConfig::parse("").0.selftest, None);
        assert_eq!(
            GuestConfig::parse("selftest = exception").0.selftest,
            Some(SelfTest::Exception)
        );
        assert_eq!(GuestConfig::parse("selftest = melt").1.len(), 1);
    }

    #[test]
    fn console_input_goes_to_serial_unless_keyboard_or_hvc0_is_asked_for() {
        assert_eq!(
            GuestConfig::parse("").0.console_input,
            ConsoleInputConfig::Serial
        );
        for (text, want) in [
            ("console_input = serial", ConsoleInputConfig::Serial),
            ("console_input = keyboard", ConsoleInputConfig::Keyboard),
            ("console_input = hvc0", ConsoleInputConfig::Hvc0),
        ] {
            let (c, p) = GuestConfig::parse(text);
            assert!(p.is_empty(), "{p:?}");
            assert_eq!(c.console_input, want, "{text}");
        }
        let (c, p) = GuestConfig::parse("console_input = mouse");
        assert_eq!(c.console_input, ConsoleInputConfig::Serial);
        assert_eq!(p.len(), 1);
        assert!(p[0].message.contains("hvc0"), "{p:?}");
    }

    #[test]
    fn xen_is_on_unless_turned_off() {
        assert!(GuestConfig::parse("").0.xen);
        assert!(GuestConfig::parse("xen = on").0.xen);
        assert!(!GuestConfig::parse("xen = off").0.xen);
        let (c, p) = GuestConfig::parse("xen = maybe");
        assert!(c.xen, "a bad value keeps the default");
        assert_eq!(p.len(), 1);
        assert!(!p[0].fatal);
        assert!(p[0].message.contains("xen"), "{p:?}");
        assert!(
            GuestConfig::parse("").0.acpi,
            "the modern PC is the default"
        );
        assert!(!GuestConfig::parse("acpi = off").0.acpi);
        let (c, p) = GuestConfig::parse("acpi = sometimes");
        assert!(c.acpi && p[0].message.contains("acpi"), "{p:?}");
    }

    #[test]
    fn bad_lines_are_reported_with_their_numbers_and_defaults_kept() {
        let (c, p) = GuestConfig::parse("mem_mib = 0\nnonsense\ncolour = blue\nmem_mib = 99999\n");
        assert_eq!(c.mem_mib, GuestConfig::default().mem_mib);
        assert_eq!(p.iter().map(|x| x.line).collect::<Vec<_>>(), [1, 2, 3, 4]);
    }

    #[test]
    fn a_ram_size_the_board_cannot_lay_out_is_fatal_other_problems_are_not() {
        let (_, p) = GuestConfig::parse(
            "mem_mib = 4096
colour = blue
",
        );
        assert_eq!(p.iter().map(|x| x.fatal).collect::<Vec<_>>(), [true, false]);
        let (c, p) = GuestConfig::parse(
            "mem_mib = 3072
",
        );
        assert!(p.is_empty());
        assert_eq!(c.mem_mib, 3072);
    }
}
