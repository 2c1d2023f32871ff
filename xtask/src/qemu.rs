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
