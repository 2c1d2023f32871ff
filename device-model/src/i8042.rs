//! Intel 8042 keyboard controller with a PS/2 keyboard behind it, and the
//! PS/2 System Control Port A (port 0x92).
//!
//! Implemented from the IBM Personal Computer AT Technical Reference,
//! "Keyboard Controller" (status register, command byte, commands, input and
//! output ports), and the IBM PS/2 Hardware Interface Technical Reference,
//! "Keyboard/Auxiliary Device Controller" (the auxiliary-device extensions:
//! status bit 5, command byte bits 1 and 5, commands A7-A9 and D2-D4) and
//! "System Support", "System Control Port A (Hex 0092)". Keyboard commands are
//! in the `keyboard` submodule, terminal decoding and scan code tables in
//! `keymap`.
//!
//! Model decisions:
//! - The controller works instantly: IBF never reads set, and a command's
//!   answer is ready as soon as the write returns.
//! - Bytes reach the output buffer one at a time and only while it is empty,
//!   in this order: controller answers, keyboard replies, host keystrokes.
//!   Reading port 0x60 empties the buffer but does *not* load the next byte,
//!   so IRQ1 falls between two bytes and the edge-triggered PIC sees a new
//!   edge for each. Answers and replies move in on the next status read or
//!   port write; keystrokes only in [`I8042::service`], at most one per
//!   [`KEYBOARD_BYTE_TIME_NS`] of host time, as a real keyboard's cable
//!   paces them.
//! - Translation (command byte bit 6, on by default): the keyboard's wire
//!   protocol is set 2, but the host keystroke queue is kept in set 1 — what
//!   the guest reads with translation on. With translation off the queue is
//!   converted to set 2 (or passed through if the guest selected set 1).
//!   Keyboard replies (IDs, the scan code set number) are translated as the
//!   8042 table would, so READ ID answers FA AB 41 with translation on and
//!   FA AB 83 with it off.
//! - No mouse is attached: the auxiliary port exists (loopback via D3 and the
//!   interface test work, as Linux's probe expects), but a byte sent to the
//!   device with D4 is answered by 0xFE from the auxiliary side with the
//!   time-out status bit set, as a controller reports a device that does not
//!   clock.
//! - Writing a keyboard command to port 0x60 re-enables the keyboard
//!   interface (clears command byte bit 4), as PS/2 controllers do.
//! - The host keystroke queue models the terminal's buffer rather than the
//!   keyboard's own, so keyboard commands do not discard typed input; it is
//!   held back while scanning or the keyboard interface is disabled.
//! - A20 is the OR of output port bit 1 and port 0x92 bit 1, as chipsets
//!   combine the two gates. Power-on: output port A20 set (the state a BIOS
//!   leaves), port 0x92 clear.
//! - CPU reset: output port bit 0 written 0 (D1), a pulse command F0-FF with
//!   bit 0 clear (FE), or port 0x92 bit 0 going from 0 to 1. The hypervisor
//!   performs the reset when [`I8042::take_reset_request`] returns true; that
//!   reset clears port 0x92, as a system reset does. The 8042 itself keeps
//!   running across a CPU reset, so it keeps its state.

mod keyboard;
mod keymap;

use crate::bus::PortIoDevice;
use alloc::collections::VecDeque;
use alloc::rc::Rc;
use core::cell::RefCell;
use keyboard::Keyboard;

pub use keyboard::TYPED_QUEUE_DEPTH;

/// Data port: output buffer (read), input buffer as data (write).
pub const DATA_PORT: u16 = 0x60;
/// Status register (read), input buffer as command (write).
pub const COMMAND_PORT: u16 = 0x64;
/// PS/2 System Control Port A: fast A20 and fast reset.
pub const SYSTEM_CONTROL_PORT_A: u16 = 0x92;
/// ISA IRQ of keyboard data in the output buffer.
pub const KEYBOARD_IRQ: u8 = 1;
/// ISA IRQ of auxiliary-device data in the output buffer.
pub const AUX_IRQ: u8 = 12;

// Status register (port 0x64 read).
/// Output Buffer Full: a byte waits at port 0x60.
const STATUS_OBF: u8 = 1 << 0;
/// Input Buffer Full: the controller has not taken the last write (never here).
const STATUS_IBF: u8 = 1 << 1;
/// System Flag: mirrors command byte bit 2 (0 after power-on reset).
const STATUS_SYS: u8 = 1 << 2;
/// Command/Data (A2): the last write went to port 0x64.
const STATUS_A2: u8 = 1 << 3;
/// Inhibit Switch: 1 = keyboard not inhibited by the keylock.
const STATUS_INH: u8 = 1 << 4;
/// Auxiliary Output Buffer Full: the output buffer byte is from the aux device.
const STATUS_AUXB: u8 = 1 << 5;
/// General Time-Out: the last transmission to a device got no answer.
const STATUS_TIMEOUT: u8 = 1 << 6;
/// Parity Error on the last byte received (never here).
const STATUS_PARITY: u8 = 1 << 7;

// Controller command byte (internal RAM byte 0).
/// Enable Keyboard Interrupt: IRQ1 while keyboard data is in the output buffer.
const CTR_INT: u8 = 1 << 0;
/// Enable Auxiliary Interrupt: IRQ12 while aux data is in the output buffer.
const CTR_INT2: u8 = 1 << 1;
/// System Flag: copied to status bit 2.
const CTR_SYS: u8 = 1 << 2;
/// Disable Keyboard: the keyboard interface is held inactive.
const CTR_DISABLE_KBD: u8 = 1 << 4;
/// Disable Auxiliary Device: the aux interface is held inactive.
const CTR_DISABLE_AUX: u8 = 1 << 5;
/// IBM Keyboard Translate Mode: keyboard set-2 codes reach the host as set 1.
const CTR_XLATE: u8 = 1 << 6;
/// Command byte after POST: translate, system flag, keyboard interrupt.
pub const POWER_ON_COMMAND_BYTE: u8 = CTR_XLATE | CTR_SYS | CTR_INT;

// Controller commands (port 0x64 write).
/// 20-3F: Read internal RAM byte (20 = command byte).
const CMD_READ_RAM: u8 = 0x20;
/// Last Read RAM command.
const CMD_READ_RAM_LAST: u8 = 0x3F;
/// 60-7F: Write internal RAM byte (60 = command byte), data follows.
const CMD_WRITE_RAM: u8 = 0x60;
/// Last Write RAM command.
const CMD_WRITE_RAM_LAST: u8 = 0x7F;
/// Test Password Installed: F1 = none, FA = installed.
const CMD_PASSWORD_INSTALLED: u8 = 0xA4;
/// Disable Auxiliary Device interface (sets command byte bit 5).
const CMD_DISABLE_AUX: u8 = 0xA7;
/// Enable Auxiliary Device interface (clears command byte bit 5).
const CMD_ENABLE_AUX: u8 = 0xA8;
/// Auxiliary Interface Test: 00 = no error.
const CMD_AUX_TEST: u8 = 0xA9;
/// Self-Test: 55 = passed.
const CMD_SELF_TEST: u8 = 0xAA;
/// Keyboard Interface Test: 00 = no error.
const CMD_KBD_TEST: u8 = 0xAB;
/// Disable Keyboard interface (sets command byte bit 4).
const CMD_DISABLE_KBD: u8 = 0xAD;
/// Enable Keyboard interface (clears command byte bit 4).
const CMD_ENABLE_KBD: u8 = 0xAE;
/// Read Input Port.
const CMD_READ_INPUT_PORT: u8 = 0xC0;
/// Read Output Port.
const CMD_READ_OUTPUT_PORT: u8 = 0xD0;
/// Write Output Port, data follows.
const CMD_WRITE_OUTPUT_PORT: u8 = 0xD1;
/// Write Keyboard Output Buffer, data follows (appears as keyboard data).
const CMD_WRITE_KBD_BUFFER: u8 = 0xD2;
/// Write Auxiliary Output Buffer, data follows (appears as aux data).
const CMD_WRITE_AUX_BUFFER: u8 = 0xD3;
/// Write to Auxiliary Device, data follows.
const CMD_WRITE_AUX_DEVICE: u8 = 0xD4;
/// Disable A20 gate (output port bit 1).
const CMD_A20_OFF: u8 = 0xDD;
/// Enable A20 gate (output port bit 1).
const CMD_A20_ON: u8 = 0xDF;
/// F0-FF: Pulse Output Port bits 0-3 where the command's bit is 0.
const CMD_PULSE_OUTPUT_PORT: u8 = 0xF0;

/// Self-test answer: controller OK.
const SELF_TEST_PASSED: u8 = 0x55;
/// Interface test answer: no error.
const INTERFACE_TEST_OK: u8 = 0x00;
/// Password test answer: no password installed.
const PASSWORD_NOT_INSTALLED: u8 = 0xF1;
/// What a missing aux device's silence is reported as.
const AUX_NO_DEVICE: u8 = 0xFE;

// Input port (read by C0).
/// Manufacturing Jumper: 1 = not installed.
const INPUT_PORT_NO_MFG_JUMPER: u8 = 1 << 5;
/// RAM on system board: 1 = second 256K installed.
const INPUT_PORT_SECOND_256K: u8 = 1 << 4;
/// Keyboard Inhibit Switch: 1 = keyboard not inhibited.
const INPUT_PORT_KBD_NOT_INHIBITED: u8 = 1 << 7;
/// Input port value: colour display (bit 6 = 0), no jumper, 640K, unlocked.
const INPUT_PORT: u8 =
    INPUT_PORT_KBD_NOT_INHIBITED | INPUT_PORT_NO_MFG_JUMPER | INPUT_PORT_SECOND_256K;

// Output port (read by D0, written by D1).
/// System Reset: 0 holds the CPU in reset.
const OUTPUT_PORT_SYS_RESET: u8 = 1 << 0;
/// Gate A20: 1 = address line 20 passes through.
const OUTPUT_PORT_GATE_A20: u8 = 1 << 1;
/// Auxiliary Data line (released high).
const OUTPUT_PORT_AUX_DATA: u8 = 1 << 2;
/// Auxiliary Clock line (released high).
const OUTPUT_PORT_AUX_CLOCK: u8 = 1 << 3;
/// Output Buffer Full: keyboard data waiting (drives IRQ1).
const OUTPUT_PORT_IRQ1: u8 = 1 << 4;
/// Auxiliary Output Buffer Full: aux data waiting (drives IRQ12).
const OUTPUT_PORT_IRQ12: u8 = 1 << 5;
/// Keyboard Clock line (released high).
const OUTPUT_PORT_KBD_CLOCK: u8 = 1 << 6;
/// Keyboard Data line (released high).
const OUTPUT_PORT_KBD_DATA: u8 = 1 << 7;
/// Output port at power-on: out of reset, A20 on, all lines released.
const OUTPUT_PORT_POWER_ON: u8 = OUTPUT_PORT_SYS_RESET
    | OUTPUT_PORT_GATE_A20
    | OUTPUT_PORT_AUX_DATA
    | OUTPUT_PORT_AUX_CLOCK
    | OUTPUT_PORT_KBD_CLOCK
    | OUTPUT_PORT_KBD_DATA;

// System Control Port A (0x92).
/// Alternate Hot Reset: a 0-to-1 transition resets the CPU.
const PORT_A_ALT_HOT_RESET: u8 = 1 << 0;
/// Alternate Gate A20: 1 = address line 20 passes through.
const PORT_A_ALT_GATE_A20: u8 = 1 << 1;
/// Port A bits implemented; the rest read 0.
const PORT_A_MASK: u8 = PORT_A_ALT_HOT_RESET | PORT_A_ALT_GATE_A20;

/// Size of the controller's internal RAM (byte 0 is the command byte).
const RAM_SIZE: usize = 32;
/// Mask selecting the RAM address from a 20-3F / 60-7F command.
const RAM_ADDRESS_MASK: u8 = 0x1F;
/// Controller answers waiting for the output buffer.
const CONTROLLER_QUEUE_DEPTH: usize = 16;

/// Host time one keystroke byte takes on the keyboard cable: an 11-bit frame
/// at a 10-16.7 kHz clock is about a millisecond. Pacing keystrokes at this
/// rate keeps a backlog from flooding a driver that empties the controller
/// at probe time (Linux gives up after 16 bytes).
pub const KEYBOARD_BYTE_TIME_NS: u64 = 1_000_000;

/// A byte in (or on its way to) the output buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct OutByte {
    value: u8,
    /// From the auxiliary side (status bit 5, IRQ12).
    aux: bool,
    /// Reported with the general time-out bit.
    timeout: bool,
}

impl OutByte {
    fn keyboard(value: u8) -> Self {
        Self {
            value,
            aux: false,
            timeout: false,
        }
    }

    fn aux(value: u8) -> Self {
        Self {
            value,
            aux: true,
            timeout: false,
        }
    }
}

/// The keyboard controller, its keyboard, and System Control Port A.
#[derive(Clone, Debug)]
pub struct I8042 {
    /// Internal RAM; byte 0 is the command byte.
    ram: [u8; RAM_SIZE],
    /// The output buffer.
    output: Option<OutByte>,
    /// Last byte read from port 0x60 (what a read of an empty buffer sees).
    last_output: u8,
    /// Controller answers waiting for the output buffer.
    answers: VecDeque<OutByte>,
    /// Controller command waiting for its data byte on port 0x60.
    pending: Option<u8>,
    /// The last write went to port 0x64 (status A2).
    last_write_command: bool,
    /// Output port, without the computed bits 4 and 5.
    output_port: u8,
    /// System Control Port A.
    port_a: u8,
    reset_requested: bool,
    /// Host time the last keystroke byte entered the output buffer.
    last_scan_ns: Option<u64>,
    keyboard: Keyboard,
}

impl Default for I8042 {
    fn default() -> Self {
        Self::new()
    }
}

impl I8042 {
    /// The controller as POST leaves it: self-test passed, command byte
    /// [`POWER_ON_COMMAND_BYTE`] (0x45), A20 enabled through the output port,
    /// keyboard reset and scanning, output buffer empty.
    pub fn new() -> Self {
        let mut ram = [0; RAM_SIZE];
        ram[0] = POWER_ON_COMMAND_BYTE;
        Self {
            ram,
            output: None,
            last_output: 0,
            answers: VecDeque::new(),
            pending: None,
            last_write_command: false,
            output_port: OUTPUT_PORT_POWER_ON,
            port_a: 0,
            reset_requested: false,
            last_scan_ns: None,
            keyboard: Keyboard::default(),
        }
    }

    fn command_byte(&self) -> u8 {
        self.ram[0]
    }

    fn set_command_byte(&mut self, value: u8) {
        self.ram[0] = value;
    }

    /// A guest read of `port` (0x60, 0x64 or 0x92); other ports read 0xFF.
    pub fn read(&mut self, port: u16) -> u8 {
        match port {
            DATA_PORT => {
                if let Some(b) = self.output.take() {
                    self.last_output = b.value;
                }
                self.last_output
            }
            COMMAND_PORT => {
                self.refill(None);
                self.status()
            }
            SYSTEM_CONTROL_PORT_A => self.port_a,
            _ => 0xFF,
        }
    }

    /// A guest write of `value` to `port` (0x60, 0x64 or 0x92); others are
    /// ignored.
    pub fn write(&mut self, port: u16, value: u8) {
        match port {
            DATA_PORT => {
                self.last_write_command = false;
                match self.pending.take() {
                    Some(cmd) => self.command_data(cmd, value),
                    None => {
                        let ctr = self.command_byte();
                        self.set_command_byte(ctr & !CTR_DISABLE_KBD);
                        self.keyboard.write(value);
                    }
                }
            }
            COMMAND_PORT => {
                self.last_write_command = true;
                self.pending = None;
                self.command(value);
            }
            SYSTEM_CONTROL_PORT_A => {
                let old = self.port_a;
                self.port_a = value & PORT_A_MASK;
                if value & PORT_A_ALT_HOT_RESET != 0 && old & PORT_A_ALT_HOT_RESET == 0 {
                    self.reset_requested = true;
                }
            }
            _ => {}
        }
        self.refill(None);
    }

    /// True while the keyboard interrupt (IRQ1) is asserted: keyboard-side
    /// data in the output buffer and command byte bit 0 set.
    pub fn irq1_level(&self) -> bool {
        self.command_byte() & CTR_INT != 0 && self.output.is_some_and(|b| !b.aux)
    }

    /// True while the auxiliary interrupt (IRQ12) is asserted: aux data in
    /// the output buffer and command byte bit 1 set.
    pub fn irq12_level(&self) -> bool {
        self.command_byte() & CTR_INT2 != 0 && self.output.is_some_and(|b| b.aux)
    }

    /// Queues host terminal input as set-1 keystrokes:
    /// printable ASCII on a US layout, Enter, Backspace, Tab, Escape,
    /// Ctrl+letter, and the ANSI/VT sequences of the arrow, editing and
    /// function keys. Unknown bytes are dropped; a keystroke that does not
    /// fit whole in the [`TYPED_QUEUE_DEPTH`]-byte queue is dropped. An ESC
    /// at the end of `bytes` waits for the rest of a possible sequence: call
    /// [`I8042::input_idle`] when the host input has gone quiet. The bytes
    /// reach the guest through [`I8042::service`].
    pub fn type_bytes(&mut self, bytes: &[u8]) {
        self.keyboard.type_bytes(bytes);
    }

    /// The host terminal has sent nothing for a while (some tens of
    /// milliseconds): an ESC still waiting for a sequence is the Escape key.
    pub fn input_idle(&mut self) {
        self.keyboard.input_idle();
    }

    /// Moves the next waiting byte into the output buffer if it is empty,
    /// keystroke bytes at most one per [`KEYBOARD_BYTE_TIME_NS`] of host
    /// time `now_ns`. This is the only way keystrokes reach the guest: call
    /// it periodically (every exit or timer tick, and after
    /// [`I8042::type_bytes`]), then sample the IRQ levels.
    pub fn service(&mut self, now_ns: u64) {
        self.refill(Some(now_ns));
    }

    /// True if A20 is enabled: output port bit 1 OR port 0x92 bit 1.
    pub fn a20_enabled(&self) -> bool {
        self.output_port & OUTPUT_PORT_GATE_A20 != 0 || self.port_a & PORT_A_ALT_GATE_A20 != 0
    }

    /// True once after the guest asked for a CPU reset (8042 output port or
    /// port 0x92). The caller resets the CPU; as that system reset does,
    /// port 0x92 is cleared here.
    pub fn take_reset_request(&mut self) -> bool {
        let requested = core::mem::take(&mut self.reset_requested);
        if requested {
            self.port_a = 0;
        }
        requested
    }

    /// Lock LEDs the guest last set (bit 0 Scroll, 1 Num, 2 Caps Lock).
    pub fn keyboard_leds(&self) -> u8 {
        self.keyboard.leds()
    }

    fn status(&self) -> u8 {
        let mut s = STATUS_INH;
        if self.command_byte() & CTR_SYS != 0 {
            s |= STATUS_SYS;
        }
        if self.last_write_command {
            s |= STATUS_A2;
        }
        if let Some(b) = self.output {
            s |= STATUS_OBF;
            if b.aux {
                s |= STATUS_AUXB;
            }
            if b.timeout {
                s |= STATUS_TIMEOUT;
            }
        }
        // IBF and parity error never read set: writes are taken at once and
        // nothing travels over a wire that could garble it.
        s & !(STATUS_IBF | STATUS_PARITY)
    }

    fn output_port_value(&self) -> u8 {
        let mut v = self.output_port & !(OUTPUT_PORT_IRQ1 | OUTPUT_PORT_IRQ12);
        match self.output {
            Some(b) if b.aux => v |= OUTPUT_PORT_IRQ12,
            Some(_) => v |= OUTPUT_PORT_IRQ1,
            None => {}
        }
        v
    }

    fn answer(&mut self, b: OutByte) {
        if self.answers.len() < CONTROLLER_QUEUE_DEPTH {
            self.answers.push_back(b);
        }
    }

    /// A controller command written to port 0x64.
    fn command(&mut self, cmd: u8) {
        let ctr = self.command_byte();
        match cmd {
            CMD_READ_RAM..=CMD_READ_RAM_LAST => {
                let v = self
                    .ram
                    .get(usize::from(cmd & RAM_ADDRESS_MASK))
                    .copied()
                    .unwrap_or(0);
                self.answer(OutByte::keyboard(v));
            }
            CMD_WRITE_RAM..=CMD_WRITE_RAM_LAST
            | CMD_WRITE_OUTPUT_PORT
            | CMD_WRITE_KBD_BUFFER
            | CMD_WRITE_AUX_BUFFER
            | CMD_WRITE_AUX_DEVICE => self.pending = Some(cmd),
            CMD_PASSWORD_INSTALLED => self.answer(OutByte::keyboard(PASSWORD_NOT_INSTALLED)),
            CMD_DISABLE_AUX => self.set_command_byte(ctr | CTR_DISABLE_AUX),
            CMD_ENABLE_AUX => self.set_command_byte(ctr & !CTR_DISABLE_AUX),
            CMD_AUX_TEST | CMD_KBD_TEST => self.answer(OutByte::keyboard(INTERFACE_TEST_OK)),
            CMD_SELF_TEST => {
                self.set_command_byte(ctr | CTR_SYS);
                self.answer(OutByte::keyboard(SELF_TEST_PASSED));
            }
            CMD_DISABLE_KBD => self.set_command_byte(ctr | CTR_DISABLE_KBD),
            CMD_ENABLE_KBD => self.set_command_byte(ctr & !CTR_DISABLE_KBD),
            CMD_READ_INPUT_PORT => self.answer(OutByte::keyboard(INPUT_PORT)),
            CMD_READ_OUTPUT_PORT => {
                let v = self.output_port_value();
                self.answer(OutByte::keyboard(v));
            }
            CMD_A20_OFF => self.output_port &= !OUTPUT_PORT_GATE_A20,
            CMD_A20_ON => self.output_port |= OUTPUT_PORT_GATE_A20,
            // F0-FF: a 0 in bits 0-3 pulses that output port line low for
            // 6 us; only the reset line's pulse has a lasting effect.
            CMD_PULSE_OUTPUT_PORT..=0xFF if cmd & OUTPUT_PORT_SYS_RESET == 0 => {
                self.reset_requested = true;
            }
            // Other pulses and commands (vendor extensions) are ignored, as an
            // 8042 does.
            _ => {}
        }
    }

    /// The data byte of a controller command, written to port 0x60.
    fn command_data(&mut self, cmd: u8, value: u8) {
        match cmd {
            CMD_WRITE_RAM..=CMD_WRITE_RAM_LAST => {
                if let Some(slot) = self.ram.get_mut(usize::from(cmd & RAM_ADDRESS_MASK)) {
                    *slot = value;
                }
            }
            CMD_WRITE_OUTPUT_PORT => {
                if value & OUTPUT_PORT_SYS_RESET == 0 {
                    self.reset_requested = true;
                }
                // The reset line is released again once the CPU has reset.
                self.output_port =
                    (value | OUTPUT_PORT_SYS_RESET) & !(OUTPUT_PORT_IRQ1 | OUTPUT_PORT_IRQ12);
            }
            CMD_WRITE_KBD_BUFFER => self.answer(OutByte::keyboard(value)),
            CMD_WRITE_AUX_BUFFER => self.answer(OutByte::aux(value)),
            CMD_WRITE_AUX_DEVICE => self.answer(OutByte {
                value: AUX_NO_DEVICE,
                aux: true,
                timeout: true,
            }),
            _ => {}
        }
    }

    /// Loads the output buffer if it is empty and a byte is waiting:
    /// controller answers, then keyboard replies, then — only when the host
    /// time `now_ns` is given and a keyboard byte time has passed since the
    /// last one — a keystroke byte.
    fn refill(&mut self, now_ns: Option<u64>) {
        if self.output.is_some() {
            return;
        }
        if let Some(b) = self.answers.pop_front() {
            self.output = Some(b);
            return;
        }
        let ctr = self.command_byte();
        if ctr & CTR_DISABLE_KBD != 0 {
            return;
        }
        let translate = ctr & CTR_XLATE != 0;
        if let Some(b) = self.keyboard.next_reply(translate) {
            self.output = Some(OutByte::keyboard(b));
            return;
        }
        let Some(now) = now_ns else { return };
        let due = match self.last_scan_ns {
            // A clock that went backwards counts as due rather than stalling.
            Some(last) => now < last || now - last >= KEYBOARD_BYTE_TIME_NS,
            None => true,
        };
        if due {
            if let Some(b) = self.keyboard.next_scan_code(translate) {
                self.output = Some(OutByte::keyboard(b));
                self.last_scan_ns = Some(now);
            }
        }
    }
}

/// [`I8042`] on the port bus: register one instance each at 0x60, 0x64 and
/// 0x92 (length 1), all sharing the device.
pub struct I8042Ports {
    base: u16,
    dev: Rc<RefCell<I8042>>,
}

impl I8042Ports {
    /// The adapter for the one-port range starting at `base`.
    pub fn new(base: u16, dev: Rc<RefCell<I8042>>) -> Self {
        Self { base, dev }
    }
}

impl PortIoDevice for I8042Ports {
    /// Only the addressed byte is ours: the bytes above it of a wider access
    /// belong to the next ports and float high.
    fn read(&mut self, offset: u16, _size: u8) -> u32 {
        let port = self.base.wrapping_add(offset);
        match self.dev.try_borrow_mut() {
            Ok(mut dev) => 0xFFFF_FF00 | u32::from(dev.read(port)),
            Err(_) => 0xFFFF_FFFF,
        }
    }

    fn write(&mut self, offset: u16, _size: u8, value: u32) {
        let port = self.base.wrapping_add(offset);
        if let Ok(mut dev) = self.dev.try_borrow_mut() {
            dev.write(port, value as u8);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::PortIoBus;
    use alloc::boxed::Box;
    use alloc::vec::Vec;

    /// Reads the output buffer the way a driver does: status first, then data
    /// if OBF is set.
    fn poll(d: &mut I8042) -> Option<u8> {
        (d.read(COMMAND_PORT) & STATUS_OBF != 0).then(|| d.read(DATA_PORT))
    }

    /// Host time a keyboard byte later than the device last saw.
    fn later(d: &I8042) -> u64 {
        d.last_scan_ns.unwrap_or(0) + KEYBOARD_BYTE_TIME_NS
    }

    /// Everything the guest can read, servicing the device as time passes.
    fn drain(d: &mut I8042) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let b = poll(d).or_else(|| {
                d.service(later(d));
                poll(d)
            });
            let Some(b) = b else { return out };
            out.push(b);
            assert!(out.len() <= 4096, "output never ends");
        }
    }

    /// A controller command and its answer, if any.
    fn command(d: &mut I8042, cmd: u8) -> Option<u8> {
        d.write(COMMAND_PORT, cmd);
        poll(d)
    }

    fn command_with_data(d: &mut I8042, cmd: u8, data: u8) -> Option<u8> {
        d.write(COMMAND_PORT, cmd);
        d.write(DATA_PORT, data);
        poll(d)
    }

    #[test]
    fn power_on_state_is_post_complete_and_empty() {
        let mut d = I8042::new();
        let s = d.read(COMMAND_PORT);
        assert_eq!(s, STATUS_SYS | STATUS_INH);
        assert_eq!(command(&mut d, 0x20), Some(POWER_ON_COMMAND_BYTE));
        assert!(d.a20_enabled());
        assert!(!d.take_reset_request());
        assert_eq!(d.read(SYSTEM_CONTROL_PORT_A), 0);
    }

    #[test]
    fn self_test_answers_55_and_sets_system_flag() {
        let mut d = I8042::new();
        command_with_data(&mut d, 0x60, 0x00);
        assert_eq!(d.read(COMMAND_PORT) & STATUS_SYS, 0);
        assert_eq!(command(&mut d, 0xAA), Some(0x55));
        assert_ne!(d.read(COMMAND_PORT) & STATUS_SYS, 0);
        assert_eq!(command(&mut d, 0xAB), Some(0x00));
        assert_eq!(command(&mut d, 0xA9), Some(0x00));
        assert_eq!(command(&mut d, 0xA4), Some(0xF1));
    }

    #[test]
    fn command_byte_reads_back_what_was_written_and_a2_tracks_the_port() {
        let mut d = I8042::new();
        d.write(COMMAND_PORT, 0x60);
        assert_ne!(d.read(COMMAND_PORT) & STATUS_A2, 0);
        d.write(DATA_PORT, 0x30);
        assert_eq!(d.read(COMMAND_PORT) & STATUS_A2, 0);
        assert_eq!(command(&mut d, 0x20), Some(0x30));
        // Other RAM bytes are plain storage.
        command_with_data(&mut d, 0x7F, 0x99);
        assert_eq!(command(&mut d, 0x3F), Some(0x99));
        assert_eq!(command(&mut d, 0x20), Some(0x30));
    }

    #[test]
    fn enable_disable_commands_flip_command_byte_bits() {
        let mut d = I8042::new();
        command(&mut d, 0xAD);
        command(&mut d, 0xA7);
        let ctr = command(&mut d, 0x20).unwrap();
        assert_eq!(
            ctr & (CTR_DISABLE_KBD | CTR_DISABLE_AUX),
            CTR_DISABLE_KBD | CTR_DISABLE_AUX
        );
        command(&mut d, 0xAE);
        command(&mut d, 0xA8);
        let ctr = command(&mut d, 0x20).unwrap();
        assert_eq!(ctr & (CTR_DISABLE_KBD | CTR_DISABLE_AUX), 0);
    }

    #[test]
    fn keyboard_reset_and_identify_sequences() {
        let mut d = I8042::new();
        d.write(DATA_PORT, 0xFF);
        assert_eq!(drain(&mut d), [0xFA, 0xAA]);
        // Translation on (the default): the second ID byte is translated.
        d.write(DATA_PORT, 0xF2);
        assert_eq!(drain(&mut d), [0xFA, 0xAB, 0x41]);
        command_with_data(&mut d, 0x60, POWER_ON_COMMAND_BYTE & !CTR_XLATE);
        d.write(DATA_PORT, 0xF2);
        assert_eq!(drain(&mut d), [0xFA, 0xAB, 0x83]);
        d.write(DATA_PORT, 0xEE);
        assert_eq!(drain(&mut d), [0xEE]);
        d.write(DATA_PORT, 0x42);
        assert_eq!(drain(&mut d), [0xFE]);
    }

    #[test]
    fn keyboard_parameter_commands_take_their_parameter_from_port_60() {
        let mut d = I8042::new();
        d.write(DATA_PORT, 0xED);
        d.write(DATA_PORT, 0x07);
        d.write(DATA_PORT, 0xF3);
        d.write(DATA_PORT, 0x00);
        d.write(DATA_PORT, 0xF0);
        d.write(DATA_PORT, 0x00);
        assert_eq!(drain(&mut d), [0xFA, 0xFA, 0xFA, 0xFA, 0xFA, 0xFA, 0x41]);
        assert_eq!(d.keyboard_leds(), 0x07);
    }

    #[test]
    fn typing_hi_enter_gives_set_1_codes_one_byte_at_a_time() {
        let mut d = I8042::new();
        d.type_bytes(b"Hi\r");
        assert_eq!(
            drain(&mut d),
            [0x2A, 0x23, 0xAA, 0xA3, 0x17, 0x97, 0x1C, 0x9C]
        );
    }

    #[test]
    fn the_next_byte_waits_until_the_buffer_is_read_and_then_until_serviced() {
        let mut d = I8042::new();
        d.type_bytes(b"ab");
        assert!(!d.irq1_level(), "keystrokes move only when serviced");
        d.service(0);
        assert!(d.irq1_level());
        assert_eq!(d.read(DATA_PORT), 0x1E);
        // The buffer stays empty (IRQ1 low) until service moves a byte in.
        assert!(!d.irq1_level());
        assert_eq!(d.read(COMMAND_PORT) & STATUS_OBF, 0);
        assert_eq!(
            d.read(DATA_PORT),
            0x1E,
            "an empty buffer reads the last byte"
        );
        // ... and not before a keyboard byte time has passed.
        d.service(KEYBOARD_BYTE_TIME_NS - 1);
        assert!(!d.irq1_level());
        d.service(KEYBOARD_BYTE_TIME_NS);
        assert!(d.irq1_level());
        assert_eq!(d.read(DATA_PORT), 0x9E);
        assert_eq!(drain(&mut d), [0x30, 0xB0]);
    }

    #[test]
    fn arrow_and_editing_keys_are_e0_prefixed() {
        let mut d = I8042::new();
        d.type_bytes(b"\x1b[A\x1b[B\x1b[C\x1b[D");
        assert_eq!(
            drain(&mut d),
            [
                0xE0, 0x48, 0xE0, 0xC8, 0xE0, 0x50, 0xE0, 0xD0, //
                0xE0, 0x4D, 0xE0, 0xCD, 0xE0, 0x4B, 0xE0, 0xCB,
            ]
        );
        d.type_bytes(b"\x1b[2~\x1b[4~");
        assert_eq!(
            drain(&mut d),
            [0xE0, 0x52, 0xE0, 0xD2, 0xE0, 0x4F, 0xE0, 0xCF]
        );
    }

    #[test]
    fn a_trailing_escape_waits_for_idle() {
        let mut d = I8042::new();
        d.type_bytes(&[0x1B]);
        assert_eq!(drain(&mut d), []);
        d.input_idle();
        assert_eq!(drain(&mut d), [0x01, 0x81]);
    }

    #[test]
    fn irq1_follows_output_buffer_and_command_byte_bit_0() {
        let mut d = I8042::new();
        assert!(!d.irq1_level());
        d.type_bytes(b"x");
        d.service(0);
        assert!(d.irq1_level());
        assert!(!d.irq12_level());
        d.write(COMMAND_PORT, 0x60);
        d.write(DATA_PORT, POWER_ON_COMMAND_BYTE & !CTR_INT);
        // The keystroke is still waiting, but the interrupt is masked.
        assert_ne!(d.read(COMMAND_PORT) & STATUS_OBF, 0);
        assert!(!d.irq1_level());
        d.write(COMMAND_PORT, 0x60);
        d.write(DATA_PORT, POWER_ON_COMMAND_BYTE);
        assert!(d.irq1_level());
        d.read(DATA_PORT);
        assert!(!d.irq1_level());
    }

    #[test]
    fn disabled_keyboard_interface_holds_keystrokes_back() {
        let mut d = I8042::new();
        command(&mut d, 0xAD);
        d.type_bytes(b"q");
        assert_eq!(drain(&mut d), []);
        // Controller answers still arrive.
        assert_eq!(command(&mut d, 0xAA), Some(0x55));
        d.write(COMMAND_PORT, 0xAE);
        assert_eq!(drain(&mut d), [0x10, 0x90]);
    }

    #[test]
    fn keyboard_commands_reenable_the_keyboard_interface() {
        let mut d = I8042::new();
        command(&mut d, 0xAD);
        d.write(DATA_PORT, 0xF4);
        assert_eq!(drain(&mut d), [0xFA]);
        assert_eq!(command(&mut d, 0x20).unwrap() & CTR_DISABLE_KBD, 0);
    }

    #[test]
    fn aux_buffer_write_raises_irq12_and_aux_status() {
        let mut d = I8042::new();
        command_with_data(&mut d, 0x60, POWER_ON_COMMAND_BYTE | CTR_INT2);
        d.write(COMMAND_PORT, 0xD3);
        d.write(DATA_PORT, 0x5A);
        let s = d.read(COMMAND_PORT);
        assert_eq!(s & (STATUS_OBF | STATUS_AUXB), STATUS_OBF | STATUS_AUXB);
        assert!(d.irq12_level());
        assert!(!d.irq1_level());
        assert_eq!(d.read(DATA_PORT), 0x5A);
        assert!(!d.irq12_level());
        // D2 makes the byte look like keyboard data.
        d.write(COMMAND_PORT, 0xD2);
        d.write(DATA_PORT, 0x33);
        assert!(d.irq1_level());
        assert_eq!(d.read(COMMAND_PORT) & STATUS_AUXB, 0);
        assert_eq!(d.read(DATA_PORT), 0x33);
    }

    #[test]
    fn bytes_for_the_missing_mouse_time_out_with_fe() {
        let mut d = I8042::new();
        d.write(COMMAND_PORT, 0xD4);
        d.write(DATA_PORT, 0xFF);
        let s = d.read(COMMAND_PORT);
        assert_eq!(
            s & (STATUS_OBF | STATUS_AUXB | STATUS_TIMEOUT),
            STATUS_OBF | STATUS_AUXB | STATUS_TIMEOUT
        );
        assert_eq!(d.read(DATA_PORT), 0xFE);
        assert_eq!(d.read(COMMAND_PORT) & STATUS_TIMEOUT, 0);
        // The keyboard did not see the byte.
        assert_eq!(drain(&mut d), []);
    }

    #[test]
    fn input_and_output_ports_read_back() {
        let mut d = I8042::new();
        assert_eq!(command(&mut d, 0xC0), Some(INPUT_PORT));
        assert_eq!(command(&mut d, 0xD0), Some(OUTPUT_PORT_POWER_ON));
        // With keyboard data waiting, bit 4 reports it.
        d.write(COMMAND_PORT, 0xD2);
        d.write(DATA_PORT, 0x11);
        d.write(COMMAND_PORT, 0xD0);
        assert_eq!(d.read(DATA_PORT), 0x11);
        assert_eq!(poll(&mut d), Some(OUTPUT_PORT_POWER_ON | OUTPUT_PORT_IRQ1));
    }

    #[test]
    fn a20_through_the_output_port_and_dd_df() {
        let mut d = I8042::new();
        command_with_data(&mut d, 0xD1, OUTPUT_PORT_SYS_RESET);
        assert!(!d.a20_enabled());
        assert_eq!(command(&mut d, 0xD0).unwrap() & OUTPUT_PORT_GATE_A20, 0);
        command_with_data(&mut d, 0xD1, OUTPUT_PORT_SYS_RESET | OUTPUT_PORT_GATE_A20);
        assert!(d.a20_enabled());
        command(&mut d, 0xDD);
        assert!(!d.a20_enabled());
        command(&mut d, 0xDF);
        assert!(d.a20_enabled());
        assert!(!d.take_reset_request(), "bit 0 stayed 1: no reset");
    }

    #[test]
    fn a20_through_port_92_ors_with_the_output_port() {
        let mut d = I8042::new();
        command(&mut d, 0xDD);
        assert!(!d.a20_enabled());
        d.write(SYSTEM_CONTROL_PORT_A, PORT_A_ALT_GATE_A20);
        assert!(d.a20_enabled());
        assert_eq!(d.read(SYSTEM_CONTROL_PORT_A), PORT_A_ALT_GATE_A20);
        d.write(SYSTEM_CONTROL_PORT_A, 0xFC);
        assert!(!d.a20_enabled());
        assert_eq!(
            d.read(SYSTEM_CONTROL_PORT_A),
            0,
            "unimplemented bits read 0"
        );
        assert!(!d.take_reset_request());
    }

    #[test]
    fn reset_through_pulse_command_fe_and_output_port_bit_0() {
        let mut d = I8042::new();
        command(&mut d, 0xFF);
        assert!(!d.take_reset_request(), "FF pulses nothing");
        command(&mut d, 0xFE);
        assert!(d.take_reset_request());
        assert!(!d.take_reset_request(), "reported once");
        command(&mut d, 0xF0);
        assert!(d.take_reset_request());
        command_with_data(&mut d, 0xD1, 0xDE);
        assert!(d.take_reset_request());
        assert_ne!(command(&mut d, 0xD0).unwrap() & OUTPUT_PORT_SYS_RESET, 0);
    }

    #[test]
    fn reset_through_port_92_bit_0_on_a_rising_edge() {
        let mut d = I8042::new();
        d.write(
            SYSTEM_CONTROL_PORT_A,
            PORT_A_ALT_HOT_RESET | PORT_A_ALT_GATE_A20,
        );
        d.write(
            SYSTEM_CONTROL_PORT_A,
            PORT_A_ALT_HOT_RESET | PORT_A_ALT_GATE_A20,
        );
        assert!(d.take_reset_request());
        assert!(!d.take_reset_request());
        // The system reset cleared port A, so the next 0-to-1 resets again.
        assert_eq!(d.read(SYSTEM_CONTROL_PORT_A), 0);
        d.write(SYSTEM_CONTROL_PORT_A, PORT_A_ALT_HOT_RESET);
        assert!(d.take_reset_request());
    }

    #[test]
    fn output_queue_is_bounded() {
        let mut d = I8042::new();
        let text = [b'a'; 1000];
        d.type_bytes(&text);
        assert_eq!(drain(&mut d).len(), TYPED_QUEUE_DEPTH);
        // Unanswered controller commands do not pile up either.
        command(&mut d, 0xAD);
        for _ in 0..1000 {
            d.write(COMMAND_PORT, 0xAA);
        }
        assert_eq!(drain(&mut d).len(), CONTROLLER_QUEUE_DEPTH + 1);
    }

    #[test]
    fn other_ports_read_ff_and_ignore_writes() {
        let mut d = I8042::new();
        d.write(0x61, 0x00);
        d.write(0x65, 0xFE);
        assert_eq!(d.read(0x61), 0xFF);
        assert!(!d.take_reset_request());
    }

    #[test]
    fn linux_i8042_probe_sequence() {
        let mut d = I8042::new();
        // A backlog typed before the driver loads, serviced every 10 us.
        d.type_bytes(b"Typed Ahead Of The Probe");
        let mut now = 0;
        let mut tick = |d: &mut I8042, us: u64| {
            for _ in 0..us / 10 {
                now += 10_000;
                d.service(now);
            }
        };
        tick(&mut d, 100);
        // i8042_controller_check: flush, failing after 16 bytes, 50 us apart.
        let mut flushed = 0;
        while d.read(COMMAND_PORT) & STATUS_OBF != 0 {
            flushed += 1;
            assert!(flushed <= 16, "controller would be declared missing");
            tick(&mut d, 50);
            d.read(DATA_PORT);
        }
        // i8042_controller_selftest.
        assert_eq!(command(&mut d, 0xAA), Some(0x55));
        // i8042_controller_init: read the CTR twice, disable both ports and
        // their interrupts, write it back.
        let ctr = command(&mut d, 0x20).unwrap();
        assert_eq!(command(&mut d, 0x20), Some(ctr));
        assert_ne!(ctr & CTR_XLATE, 0);
        let ctr = (ctr | CTR_DISABLE_KBD | CTR_DISABLE_AUX) & !(CTR_INT | CTR_INT2);
        assert_eq!(command_with_data(&mut d, 0x60, ctr), None);
        tick(&mut d, 1000);
        assert_eq!(poll(&mut d), None, "the disabled port holds keystrokes");
        // i8042_check_aux: loopback, then disable/enable checked via the CTR.
        d.write(COMMAND_PORT, 0xD3);
        d.write(DATA_PORT, 0x5A);
        let s = d.read(COMMAND_PORT);
        assert_ne!(s & STATUS_AUXB, 0);
        assert_eq!(d.read(DATA_PORT), 0x5A);
        command(&mut d, 0xA7);
        assert_ne!(command(&mut d, 0x20).unwrap() & CTR_DISABLE_AUX, 0);
        command(&mut d, 0xA8);
        assert_eq!(command(&mut d, 0x20).unwrap() & CTR_DISABLE_AUX, 0);
        // AUX IRQ test: loopback with the aux interrupt enabled.
        command_with_data(&mut d, 0x60, (ctr & !CTR_DISABLE_AUX) | CTR_INT2);
        d.write(COMMAND_PORT, 0xD3);
        d.write(DATA_PORT, 0xA5);
        assert!(d.irq12_level());
        assert_eq!(d.read(DATA_PORT), 0xA5);
        // i8042_check_mux: an echoing loopback means no active multiplexer.
        for (byte, echo) in [(0xF0, 0xF0), (0x56, 0x56), (0xA4, 0xA4)] {
            assert_eq!(command_with_data(&mut d, 0xD3, byte), Some(echo));
        }
        // Keyboard port test, then enable the keyboard port with interrupts.
        assert_eq!(command(&mut d, 0xAB), Some(0x00));
        let ctr = command(&mut d, 0x20).unwrap();
        command_with_data(&mut d, 0x60, (ctr & !CTR_DISABLE_KBD) | CTR_INT);
        // atkbd: deactivate (its ACK may trail keystrokes already on their
        // way, which atkbd skips), get ID, set LEDs, enable.
        d.write(DATA_PORT, 0xF5);
        let mut before_ack = drain(&mut d);
        assert_eq!(before_ack.pop(), Some(0xFA));
        d.write(DATA_PORT, 0xF2);
        assert_eq!(drain(&mut d), [0xFA, 0xAB, 0x41]);
        d.write(DATA_PORT, 0xED);
        assert_eq!(drain(&mut d), [0xFA]);
        d.write(DATA_PORT, 0x00);
        assert_eq!(drain(&mut d), [0xFA]);
        d.write(DATA_PORT, 0xF4);
        assert_eq!(d.read(COMMAND_PORT) & STATUS_OBF, STATUS_OBF);
        assert!(d.irq1_level());
        assert_eq!(d.read(DATA_PORT), 0xFA);
        // Scanning again: the rest of the backlog follows, then new keys.
        d.type_bytes(b"z");
        let rest = drain(&mut d);
        assert_eq!(rest[rest.len() - 2..], [0x2C, 0xAC]);
        assert_eq!(before_ack.len() + rest.len() + flushed, 2 * 19 + 4 * 5 + 2);
    }

    #[test]
    fn port_adapter_serves_the_three_ranges_on_the_bus() {
        let dev = Rc::new(RefCell::new(I8042::new()));
        let mut bus = PortIoBus::default();
        for port in [DATA_PORT, COMMAND_PORT, SYSTEM_CONTROL_PORT_A] {
            bus.register(port, 1, Box::new(I8042Ports::new(port, dev.clone())))
                .unwrap();
        }
        bus.write(0x64, 1, 0xAA);
        assert_eq!(bus.read(0x64, 1) & u32::from(STATUS_OBF), 1);
        assert_eq!(bus.read(0x60, 2), 0xFF55);
        bus.write(0x92, 1, 0x03);
        assert!(dev.borrow_mut().take_reset_request());
        assert_eq!(bus.read(0x92, 1), 0);
    }

    /// xorshift64: a fixed, dependency-free pseudo-random sequence.
    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn random_register_accesses_never_panic_and_keep_invariants() {
        let mut rng = XorShift(0x8042_0060_0064_0092);
        let mut d = I8042::new();
        let mut now = 0u64;
        let ports = [DATA_PORT, COMMAND_PORT, SYSTEM_CONTROL_PORT_A, 0x61];
        for _ in 0..200_000 {
            let r = rng.next();
            let port = ports[(r % 4) as usize];
            let value = (r >> 8) as u8;
            match (r >> 16) % 16 {
                0..=6 => d.write(port, value),
                7..=12 => {
                    d.read(port);
                }
                13 => d.type_bytes(&(r >> 24).to_le_bytes()),
                14 => {
                    now += (r >> 40) % 2_000_000;
                    d.service(now);
                }
                _ => {
                    d.input_idle();
                    d.take_reset_request();
                }
            }
            let s = d.read(COMMAND_PORT);
            assert_eq!(s & (STATUS_IBF | STATUS_PARITY), 0);
            assert_ne!(s & STATUS_INH, 0);
            if s & (STATUS_AUXB | STATUS_TIMEOUT) != 0 {
                assert_ne!(s & STATUS_OBF, 0);
            }
            assert!(!(d.irq1_level() && d.irq12_level()));
            if d.irq1_level() || d.irq12_level() {
                assert_ne!(s & STATUS_OBF, 0);
            }
            assert!(d.answers.len() <= CONTROLLER_QUEUE_DEPTH);
            assert!(d.keyboard.typed_len() <= TYPED_QUEUE_DEPTH);
            assert_eq!(d.port_a & !PORT_A_MASK, 0);
        }
    }
}
