//! Functions this BIOS does not serve, VBE among them: registers unchanged.

use super::*;

#[test]
fn vbe_calls_report_not_supported() {
    let mut m = Machine::new();
    for ax in [0x4F00u16, 0x4F01, 0x4F02, 0x4F03, 0x4F15] {
        let r = m.call(ax, 0x4105, 0x0101, 0);
        assert_eq!((r.ax(), r.bx(), r.cx()), (ax, 0x4105, 0x0101));
        assert_ne!(r.al(), 0x4F);
    }
}

#[test]
fn unknown_functions_leave_registers_unchanged() {
    let mut m = Machine::new();
    for ax in [
        0x0400u16, 0x0C00, 0x1B00, 0x1C00, 0x1A02, 0x1100, 0x1201, 0xFE00, 0xFFFF,
    ] {
        let mut regs = Regs {
            eax: 0xDEAD_0000 | u32::from(ax),
            ebx: 0x1234_5678,
            ecx: 0x9ABC_DEF0,
            edx: 0x0F0F_0F0F,
            ebp: 0x1111_2222,
            es: 0x3333,
            flags: 0x0203,
            ..Default::default()
        };
        let before = regs;
        m.int10(&mut regs);
        assert_eq!(regs, before, "AX={ax:04X}");
    }
}
