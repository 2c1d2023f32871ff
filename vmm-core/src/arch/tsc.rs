//! The host time base: the TSC, calibrated once against the host's 8254 PIT
//! channel 2 (Intel 8254 datasheet, mode 0; IBM PC/AT system control port B
//! at 61h gates channel 2 and shows its output in bit 5).

use super::cpu::rdtsc;
use super::port::{inb, outb};
use spin::Once;

const PIT_CHANNEL2: u16 = pc_layout::ports::PIT + 2;
const PIT_COMMAND: u16 = pc_layout::ports::PIT + 3;
const PORT_B: u16 = pc_layout::ports::PORT_B;
/// Port B bit 0: channel 2 gate; bit 1: speaker enable; bit 5: channel 2 output.
const PORT_B_GATE2: u8 = 1 << 0;
const PORT_B_SPEAKER: u8 = 1 << 1;
const PORT_B_OUT2: u8 = 1 << 5;
/// PIT input clock.
const PIT_HZ: u64 = 1_193_182;
/// Calibration interval: 50 ms worth of PIT ticks.
const CALIBRATION_TICKS: u64 = PIT_HZ / 20;
/// Used when no PIT answers (bounded wait ran out).
const FALLBACK_HZ: u64 = 1_000_000_000;

static TSC_HZ: Once<u64> = Once::new();
static START: Once<u64> = Once::new();

/// Measures the TSC frequency (once) and starts the nanosecond clock.
pub fn init() -> u64 {
    START.call_once(rdtsc);
    *TSC_HZ.call_once(calibrate)
}

fn calibrate() -> u64 {
    let b = inb(PORT_B);
    outb(PORT_B, (b & !PORT_B_SPEAKER) & !PORT_B_GATE2);
    // Channel 2, lobyte/hibyte, mode 0 (interrupt on terminal count), binary.
    outb(PIT_COMMAND, 0b1011_0000);
    outb(PIT_CHANNEL2, CALIBRATION_TICKS as u8);
    outb(PIT_CHANNEL2, (CALIBRATION_TICKS >> 8) as u8);
    // Raising the gate starts the count; OUT2 goes high at terminal count.
    outb(PORT_B, (b & !PORT_B_SPEAKER) | PORT_B_GATE2);
    let start = rdtsc();
    let mut spins: u64 = 0;
    while inb(PORT_B) & PORT_B_OUT2 == 0 {
        spins += 1;
        if spins > 50_000_000 {
            log::warn!("vmm: the PIT never finished counting; assuming a 1 GHz TSC");
            return FALLBACK_HZ;
        }
    }
    let cycles = rdtsc().wrapping_sub(start);
    outb(PORT_B, b);
    (cycles * 20).max(1)
}

/// Nanoseconds since [`init`].
pub fn now_ns() -> u64 {
    let hz = *TSC_HZ.get().unwrap_or(&FALLBACK_HZ);
    let elapsed = rdtsc().wrapping_sub(*START.get().unwrap_or(&0));
    ((u128::from(elapsed) * 1_000_000_000) / u128::from(hz)) as u64
}

/// The measured TSC frequency in Hz.
pub fn hz() -> u64 {
    *TSC_HZ.get().unwrap_or(&FALLBACK_HZ)
}

/// The TSC nanosecond clock, for devices.
pub struct TscClock;

impl device_model::Clock for TscClock {
    fn now_ns(&self) -> u64 {
        now_ns()
    }
}
