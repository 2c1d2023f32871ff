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
//!   performs the reset when [`I8042::take_reset_source`] names one of them
//!   (see [`crate::reset`] for the references); taking it clears port 0x92,
//!   as a system reset does. The 8042 itself keeps its state: a hypervisor
//!   that resets the whole board, as QEMU does, builds a fresh one.

mod keyboard;
mod keymap;

use crate::bus::PortIoDevice;
use crate::reset::ResetSource;
use alloc::collections::VecDeque;
use alloc::rc::Rc;
use core::cell::RefCell;
use keyboard::Keyboard;

pub use keyboard::TYPED_QUEUE_DEPTH;

/// Data port: output buffer (read), input buffer as data (write).
pub const DATA_PORT: u16 = pc_layout::ports::I8042_DATA;
/// Status register (read), input buffer as command (write).
pub const COMMAND_PORT: u16 = pc_layout::ports::I8042_COMMAND;
/// PS/2 System Control Port A: fast A20 and fast reset.
pub const SYSTEM_CONTROL_PORT_A: u16 = pc_layout::ports::SYSTEM_CONTROL_A;
/// ISA IRQ of keyboard data in the output buffer.
pub const KEYBOARD_IRQ: u8 = pc_layout::irqs::KEYBOARD;
/// ISA IRQ of auxiliary-device data in the output buffer.
pub const AUX_IRQ: u8 = pc_layout::irqs::MOUSE;

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
    /// The reset the guest asked for and the hypervisor has not taken yet.
    reset_request: Option<ResetSource>,
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
            reset_request: None,
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
                    self.reset_request = Some(ResetSource::FastReset);
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

    /// Once after the guest asked for a CPU reset, how it asked: a pulse
    /// command (FE), the output port written through D1, or port 0x92 (the
    /// latest if several). The caller resets the CPU; as that system reset
    /// does, port 0x92 is cleared here.
    pub fn take_reset_source(&mut self) -> Option<ResetSource> {
        let request = self.reset_request.take();
        if request.is_some() {
            self.port_a = 0;
        }
        request
    }

    /// True once after the guest asked for a CPU reset, however it asked:
    /// [`I8042::take_reset_source`] without the source.
    pub fn take_reset_request(&mut self) -> bool {
        self.take_reset_source().is_some()
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
                self.reset_request = Some(ResetSource::I8042Pulse);
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
                    self.reset_request = Some(ResetSource::I8042OutputPort);
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
mod tests;
