//! Running the hypervisor under Debian's Bochs, which emulates VT-x (with EPT
//! and unrestricted guest) and a second SVM implementation (with NRIP-save):
//! shared/notes/bochs-vmx.md. Bochs boots the GRUB ISO; the hypervisor's port
//! E9h log arrives on Bochs' stdout among Bochs' own lines, COM1 goes to a
//! file, and Bochs always exits with status 1, so the outcome is read from the
//! hypervisor's log.

use std::path::Path;

/// Which CPU Bochs emulates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BochsCpu {
    /// `corei7_skylake_x`: VMX with EPT, unrestricted guest, VPID.
    Intel,
    /// `ryzen`: SVM with NPT and NRIP-save.
    Amd,
}

impl BochsCpu {
    fn model(self) -> &'static str {
        match self {
            BochsCpu::Intel => "corei7_skylake_x",
            BochsCpu::Amd => "ryzen",
        }
    }
}

/// A headless bochsrc for Debian's 2.7 build (see the note for each line's reason).
pub fn bochsrc(cpu: BochsCpu, megs: u64, iso: &Path, com1: &Path, com2: &Path) -> String {
    format!(
        "megs: {megs}\n\
         cpu: model={model}, count=1, ips=100000000, reset_on_triple_fault=0\n\
         romimage: file=/usr/share/bochs/BIOS-bochs-latest\n\
         vgaromimage: file=/usr/share/vgabios/vgabios.bin\n\
         pci: enabled=1, chipset=i440fx\n\
         ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14\n\
         ata0-master: type=cdrom, path={iso}, status=inserted\n\
         boot: cdrom\n\
         display_library: rfb, options=\"timeout=0\"\n\
         speaker: enabled=0\n\
         sound: driver=dummy\n\
         log: bochs.log\n\
         port_e9_hack: enabled=1\n\
         com1: enabled=1, mode=file, dev={com1}\n\
         com2: enabled=1, mode=file, dev={com2}\n\
         panic: action=fatal\n\
         error: action=report\n\
         info: action=report\n\
         debug: action=ignore\n",
        model = cpu.model(),
        iso = iso.display(),
        com1 = com1.display(),
        com2 = com2.display(),
    )
}

/// True for a line of Bochs' own on its stdout (banner, log lines, the
/// debugger's), false for the hypervisor's port E9h output.
pub fn is_bochs_line(line: &str) -> bool {
    let bochs_log = line.len() > 12
        && line.as_bytes()[..11].iter().all(u8::is_ascii_digit)
        && line[11..].starts_with(|c: char| c.is_ascii_lowercase());
    line.starts_with("=====")
        || line.starts_with("  ")
        || line.starts_with("Next at t=")
        || line.starts_with("(0)")
        || line.starts_with("Bochs is exiting")
        || line.starts_with("[UNMAP ]")
        || line.starts_with("<bochs:")
        || bochs_log
}

/// The outcome the hypervisor logged, as the QEMU exit status it would have
/// given (1 finished, 3 guest failed, 5 hypervisor failed).
pub fn status_from_log(log: &str) -> Option<i32> {
    let line = log.lines().rev().find(|l| l.contains("run outcome: "))?;
    if line.contains("GuestFinished") {
        Some(1)
    } else if line.contains("GuestFailed") {
        Some(3)
    } else if line.contains("HypervisorFailed") {
        Some(5)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bochs_lines_are_told_from_the_hypervisor_log() {
        assert!(is_bochs_line(
            "00000000000i[      ] reading configuration from bochsrc"
        ));
        assert!(is_bochs_line(
            "========================================================================"
        ));
        assert!(is_bochs_line(
            "                        Bochs x86 Emulator 2.7"
        ));
        assert!(is_bochs_line(
            "(0) [0x0000fffffff0] f000:fff0 (unk. ctxt): jmpf 0xf000:e05b"
        ));
        assert!(!is_bochs_line("[INFO ] vmm 0.1.0: started"));
        assert!(!is_bochs_line("rax=0000000000000000 rcx=0000000000000000"));
        assert!(!is_bochs_line("--- exit statistics ---"));
    }

    #[test]
    fn outcome_comes_from_the_last_outcome_line() {
        assert_eq!(
            status_from_log("[INFO ] vmm: run outcome: GuestFinished\n"),
            Some(1)
        );
        assert_eq!(
            status_from_log("x\n[INFO ] vmm: run outcome: GuestFailed\n"),
            Some(3)
        );
        assert_eq!(
            status_from_log("[ERROR] vmm: no\n[INFO ] vmm: run outcome: HypervisorFailed"),
            Some(5)
        );
        assert_eq!(status_from_log("[INFO ] vmm 0.1.0: started\n"), None);
    }

    #[test]
    fn bochsrc_names_the_cpu_model_and_files() {
        let rc = bochsrc(
            BochsCpu::Intel,
            128,
            Path::new("/r/hv.iso"),
            Path::new("/r/com1.out"),
            Path::new("/r/screen.out"),
        );
        assert!(rc.contains("cpu: model=corei7_skylake_x,"));
        assert!(rc.contains("path=/r/hv.iso"));
        assert!(rc.contains("dev=/r/com1.out"));
        assert!(rc.contains("speaker: enabled=0") && rc.contains("sound: driver=dummy"));
    }
}
