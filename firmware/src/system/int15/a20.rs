//! The A20 gate (AX=2400h-2403h, and POST's opening of it). The emulated
//! chipset ORs two gates, the 8042's output port and port 92h bit 1, so the
//! BIOS drives both together and reads the state back from port 92h.

use super::STATUS_UNSUPPORTED;
use crate::{BiosPlatform, Regs};
use pc_layout::ports::{I8042_COMMAND, SYSTEM_CONTROL_A};

/// Port 92h bit 0: alternate hot reset (a 0-to-1 edge resets the CPU).
const PORT_A_ALT_HOT_RESET: u8 = 1 << 0;
/// Port 92h bit 1: alternate gate A20.
const PORT_A_ALT_GATE_A20: u8 = 1 << 1;
/// 8042 command: clear output port bit 1 (gate A20 off).
const KBC_CMD_A20_OFF: u8 = 0xDD;
/// 8042 command: set output port bit 1 (gate A20 on).
const KBC_CMD_A20_ON: u8 = 0xDF;
/// AX=2403h BX bit 0: A20 through the keyboard controller.
pub const A20_SUPPORT_KBC: u16 = 1 << 0;
/// AX=2403h BX bit 1: A20 through port 92h.
pub const A20_SUPPORT_PORT_92: u16 = 1 << 1;

fn set_a20(pf: &mut dyn BiosPlatform, on: bool) {
    // Bit 0 is written 0 so the write can never be a reset edge.
    let port_a = pf.port_in(SYSTEM_CONTROL_A) & !PORT_A_ALT_HOT_RESET;
    let (port_a, cmd) = if on {
        (port_a | PORT_A_ALT_GATE_A20, KBC_CMD_A20_ON)
    } else {
        (port_a & !PORT_A_ALT_GATE_A20, KBC_CMD_A20_OFF)
    };
    pf.port_out(SYSTEM_CONTROL_A, port_a);
    pf.port_out(I8042_COMMAND, cmd);
}

/// POST: opens A20 through both gates, so that port 92h, which AX=2402h
/// reads, agrees with the 8042 (whose gate is open from power-on).
pub fn post_a20(pf: &mut dyn BiosPlatform) {
    set_a20(pf, true);
}

/// AX=2400h-2403h.
pub(super) fn a20(regs: &mut Regs, pf: &mut dyn BiosPlatform) {
    match regs.al() {
        0x00 => set_a20(pf, false),
        0x01 => set_a20(pf, true),
        0x02 => {
            let on = pf.port_in(SYSTEM_CONTROL_A) & PORT_A_ALT_GATE_A20 != 0;
            regs.set_al(u8::from(on));
        }
        0x03 => regs.set_bx(A20_SUPPORT_KBC | A20_SUPPORT_PORT_92),
        _ => return regs.fail(STATUS_UNSUPPORTED),
    }
    regs.succeed();
}
