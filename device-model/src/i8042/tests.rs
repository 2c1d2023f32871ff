//! Tests of `i8042`.

use super::*;
use crate::bus::PortIoBus;
use alloc::boxed::Box;
use alloc::vec::Vec;
use test_rng::XorShift;

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
    assert_eq!(d.take_reset_source(), None, "FF pulses nothing");
    command(&mut d, 0xFE);
    assert_eq!(d.take_reset_source(), Some(ResetSource::I8042Pulse));
    assert_eq!(d.take_reset_source(), None, "reported once");
    command(&mut d, 0xF0);
    assert!(d.take_reset_request());
    command_with_data(&mut d, 0xD1, 0xDE);
    assert_eq!(d.take_reset_source(), Some(ResetSource::I8042OutputPort));
    assert_ne!(command(&mut d, 0xD0).unwrap() & OUTPUT_PORT_SYS_RESET, 0);
}

#[test]
fn the_pulse_through_the_port_bus_is_reported_as_the_i8042_pulse() {
    let dev = Rc::new(RefCell::new(I8042::new()));
    let mut bus = PortIoBus::default();
    bus.register(
        COMMAND_PORT,
        1,
        Box::new(I8042Ports::new(COMMAND_PORT, dev.clone())),
    )
    .unwrap();
    bus.write(0x64, 1, 0xFE);
    assert_eq!(
        dev.borrow_mut().take_reset_source(),
        Some(ResetSource::I8042Pulse)
    );
    // The other pulses (bits 1-3 low, bit 0 high) do not reset.
    for cmd in [0xF1, 0xF3, 0xF7, 0xFD] {
        bus.write(0x64, 1, cmd);
        assert_eq!(dev.borrow_mut().take_reset_source(), None, "{cmd:#x}");
    }
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
    assert_eq!(d.take_reset_source(), Some(ResetSource::FastReset));
    assert_eq!(d.take_reset_source(), None);
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
    assert_eq!(
        dev.borrow_mut().take_reset_source(),
        Some(ResetSource::FastReset)
    );
    assert_eq!(bus.read(0x92, 1), 0);
}

#[test]
fn random_register_accesses_never_panic_and_keep_invariants() {
    let mut rng = XorShift::per_run(
        "random_register_accesses_never_panic_and_keep_invariants",
        0x8042_0060_0064_0092,
    );
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
