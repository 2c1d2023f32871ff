//! The QEMU command line that boots the hypervisor with its modules.

use std::path::{Path, PathBuf};
use std::process::Command;

/// How QEMU executes the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Accel {
    /// KVM where the host offers nested SVM or VMX, else TCG.
    Auto,
    /// Hardware acceleration with nested virtualization (`-cpu host`).
    Kvm,
    /// Software emulation with SVM, NPT and VGIF.
    Tcg,
}

/// The CPU model QEMU's TCG needs for this hypervisor (shared/notes/qemu-tcg-svm.md).
pub const TCG_CPU: &str = "qemu64,+svm,+npt,+vgif";

/// Port of the `isa-debug-exit` device the hypervisor writes its outcome to.
pub const DEBUG_EXIT_IOBASE: u16 = 0xF4;

/// True when /dev/kvm is usable and the host CPU can offer nested SVM or VMX.
pub fn kvm_can_nest() -> bool {
    let kvm_ok = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok();
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let flags = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .unwrap_or("");
    let has = |f: &str| flags.split_whitespace().any(|x| x == f);
    let nested = |module: &str| {
        std::fs::read_to_string(format!("/sys/module/{module}/parameters/nested"))
            .map(|s| matches!(s.trim(), "Y" | "1"))
            .unwrap_or(false)
    };
    kvm_ok && ((has("svm") && nested("kvm_amd")) || (has("vmx") && nested("kvm_intel")))
}

/// Resolves `auto`.
pub fn resolve(accel: Accel) -> Accel {
    match accel {
        Accel::Auto if kvm_can_nest() => Accel::Kvm,
        Accel::Auto => Accel::Tcg,
        other => other,
    }
}

/// A boot module: a file and the name the hypervisor looks it up by.
pub struct BootModule {
    pub path: PathBuf,
    pub name: String,
}

/// A guest's image attached to QEMU as a virtio-blk PCI device (virtio 1.x
/// modern only) at a fixed slot of bus 0, which the hypervisor's own
/// virtio-blk driver finds there (the configuration names the slot) and
/// serves to the guest's IDE/ATAPI devices and INT 13h.
///
/// The cache mode is `cache=writeback` (QEMU's default, spelt out): writes
/// go through the host page cache and the device offers the guest a
/// volatile write cache (`VIRTIO_BLK_F_FLUSH`, `write-cache=on`), and a
/// `VIRTIO_BLK_T_FLUSH` becomes an fdatasync of the image file, so what
/// the guest flushed survives QEMU being killed or the host crashing.
/// Not `cache=unsafe` (flushes ignored), not `writethrough` (every write
/// synchronous: slow, and the flush then proves nothing more), not `none`
/// (O_DIRECT, which tmpfs and some file systems refuse; flushes are
/// honoured either way). `aio=threads` works on every host file system.
/// `werror=report,rerror=report`: a host I/O error reaches the guest as a
/// failed request (`VIRTIO_BLK_S_IOERR`), instead of QEMU pausing the VM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QemuDrive {
    /// QEMU's id of the drive, also the device's name in the run's files.
    pub id: String,
    pub path: PathBuf,
    /// PCI device number on bus 0 (function 0).
    pub slot: u8,
    /// `readonly=on`: the device offers `VIRTIO_BLK_F_RO` and QEMU opens the
    /// file read-only.
    pub read_only: bool,
    /// `snapshot=on`: writes go to a temporary overlay, the file is unchanged.
    pub snapshot: bool,
    /// A `blkdebug` rules file between the device and the image (QEMU's
    /// error injection, `file=blkdebug:RULES:IMAGE`), for fault tests.
    pub faults: Option<PathBuf>,
}

impl QemuDrive {
    /// The `-drive` and `-device` arguments.
    pub fn args(&self) -> [String; 4] {
        let file = match &self.faults {
            Some(rules) => format!(
                "blkdebug:{}:{}",
                escape_commas(rules),
                escape_commas(&self.path)
            ),
            None => escape_commas(&self.path),
        };
        // QEMU names its own default drives `floppy0`, `ide0-cd0`, ...: ours
        // get a prefix so they never collide ("Device with id 'floppy0'
        // already exists").
        let id = format!("vmm-{}", self.id);
        let mut drive = format!(
            "if=none,id={id},file={file},format=raw,cache=writeback,aio=threads,werror=report,rerror=report",
        );
        if self.read_only {
            drive.push_str(",readonly=on");
        }
        if self.snapshot {
            drive.push_str(",snapshot=on");
        }
        let device = format!(
            "virtio-blk-pci,drive={id},disable-legacy=on,disable-modern=off,write-cache=on,addr={:#04x}.0",
            self.slot
        );
        ["-drive".into(), drive, "-device".into(), device]
    }
}

/// How QEMU loads the hypervisor.
pub enum QemuBoot<'a> {
    /// `-kernel` (Multiboot 1) with the modules as `-initrd`.
    Multiboot {
        hypervisor: &'a Path,
        modules: &'a [BootModule],
    },
    /// A GRUB ISO on the CD-ROM (Multiboot2).
    Cdrom(&'a Path),
}

/// Everything that makes the QEMU command.
pub struct QemuMachine<'a> {
    pub boot: QemuBoot<'a>,
    pub host_mem_mib: u64,
    pub accel: Accel,
    /// CPU model overriding the accelerator's default.
    pub cpu: Option<&'a str>,
    /// The guest's images, as virtio-blk devices the hypervisor drives.
    pub drives: &'a [QemuDrive],
    pub debugcon_log: &'a Path,
    /// Where the guest's COM2 (the screen mirror's channel) is written.
    pub screen_log: &'a Path,
    /// The runner's control channel: the host COM3 on QEMU's `pipe:`
    /// backend at this base path (`<base>.in`, `<base>.out`; the protocol
    /// is `pc_layout::host_control`). None leaves COM3 out.
    pub control: Option<&'a Path>,
}

/// QEMU's `-initrd` separates modules with commas: a comma inside a path is doubled.
fn escape_commas(p: &Path) -> String {
    p.display().to_string().replace(',', ",,")
}

impl QemuMachine<'_> {
    /// The command, with the guest console on QEMU's stdout.
    pub fn command(&self) -> Command {
        let mut c = Command::new("qemu-system-x86_64");
        let (accel, default_cpu) = match resolve(self.accel) {
            Accel::Kvm => ("kvm", "host"),
            _ => ("tcg", TCG_CPU),
        };
        c.args(["-accel", accel, "-cpu", self.cpu.unwrap_or(default_cpu)]);
        c.args(["-machine", "pc", "-m"])
            .arg(self.host_mem_mib.to_string());
        match &self.boot {
            QemuBoot::Multiboot {
                hypervisor,
                modules,
            } => {
                let initrd: Vec<String> = modules
                    .iter()
                    .map(|m| format!("{} name={}", escape_commas(&m.path), m.name))
                    .collect();
                c.arg("-kernel")
                    .arg(hypervisor)
                    .arg("-initrd")
                    .arg(initrd.join(","));
            }
            QemuBoot::Cdrom(iso) => {
                c.arg("-cdrom").arg(iso).args(["-boot", "d"]);
            }
        }
        for d in self.drives {
            c.args(d.args());
        }
        c.args([
            "-display",
            "none",
            "-vga",
            "none",
            "-monitor",
            "none",
            "-parallel",
            "none",
            "-net",
            "none",
        ])
        .args(["-serial", "stdio", "-no-reboot"])
        .arg("-serial")
        .arg(format!("file:{}", self.screen_log.display()));
        if let Some(base) = self.control {
            c.arg("-serial").arg(format!("pipe:{}", base.display()));
        }
        c.arg("-debugcon")
            .arg(format!("file:{}", self.debugcon_log.display()))
            .arg("-device")
            .arg(format!(
                "isa-debug-exit,iobase={DEBUG_EXIT_IOBASE:#x},iosize=0x04"
            ));
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drives_are_modern_virtio_blk_devices_whose_flushes_reach_the_file() {
        let d = QemuDrive {
            id: "disk0".into(),
            path: "/tmp/a,b/disk.img".into(),
            slot: 0x10,
            read_only: false,
            snapshot: false,
            faults: None,
        };
        assert_eq!(
            d.args(),
            [
                "-drive",
                "if=none,id=vmm-disk0,file=/tmp/a,,b/disk.img,format=raw,cache=writeback,aio=threads,werror=report,rerror=report",
                "-device",
                "virtio-blk-pci,drive=vmm-disk0,disable-legacy=on,disable-modern=off,write-cache=on,addr=0x10.0",
            ]
        );
        let ro = QemuDrive {
            read_only: true,
            snapshot: true,
            ..d
        };
        assert!(ro.args()[1].ends_with(",readonly=on,snapshot=on"));
        let faulty = QemuDrive {
            faults: Some("/tmp/rules.conf".into()),
            ..ro
        };
        assert!(faulty.args()[1].contains(",file=blkdebug:/tmp/rules.conf:/tmp/a,,b/disk.img,"));
    }

    #[test]
    fn command_passes_modules_with_names_and_escaped_commas() {
        let modules = [
            BootModule {
                path: "/tmp/a,b/rom.bin".into(),
                name: "rom".into(),
            },
            BootModule {
                path: "/tmp/config".into(),
                name: "config".into(),
            },
        ];
        let m = QemuMachine {
            boot: QemuBoot::Multiboot {
                hypervisor: Path::new("/x/vmm"),
                modules: &modules,
            },
            host_mem_mib: 128,
            accel: Accel::Tcg,
            cpu: None,
            drives: &[],
            debugcon_log: Path::new("/tmp/hv.log"),
            screen_log: Path::new("/tmp/screen.out"),
            control: Some(Path::new("/tmp/run/control")),
        };
        let args: Vec<String> = m
            .command()
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let i = args.iter().position(|a| a == "-initrd").unwrap();
        assert_eq!(
            args[i + 1],
            "/tmp/a,,b/rom.bin name=rom,/tmp/config name=config"
        );
        assert!(args.windows(2).any(|w| w[0] == "-cpu" && w[1] == TCG_CPU));
        assert!(args
            .iter()
            .any(|a| a == "isa-debug-exit,iobase=0xf4,iosize=0x04"));
        // COM1 the console, COM2 the screen mirror, COM3 the control channel.
        let serials: Vec<&str> = args
            .windows(2)
            .filter(|w| w[0] == "-serial")
            .map(|w| w[1].as_str())
            .collect();
        assert_eq!(
            serials,
            ["stdio", "file:/tmp/screen.out", "pipe:/tmp/run/control"]
        );
    }
}
