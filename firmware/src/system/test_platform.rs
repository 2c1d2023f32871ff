//! A BIOS platform for the system-service tests: the real CMOS RTC at ports
//! 70h/71h on a clock the test sets, the real 8042 at 60h/64h and port 92h,
//! and a RAM size. Other ports read FFh and ignore writes.

use crate::{BiosPlatform, Regs};
use device_model::cmos_rtc::CmosRtc;
use device_model::i8042::I8042;
use pc_layout::ports::{CMOS_DATA, CMOS_INDEX, I8042_COMMAND, I8042_DATA, SYSTEM_CONTROL_A};

/// Host time the fake clock starts at (anything not at a second boundary).
pub const START_NS: u64 = 5_000_000_000;

pub struct FakePlatform {
    pub rtc: CmosRtc,
    pub kbc: I8042,
    pub now_ns: u64,
    pub ram: u64,
    /// Port accesses made, for bounding loops in tests.
    pub port_accesses: u64,
}

impl FakePlatform {
    /// `ram` bytes of RAM; the RTC reads 2024-02-29 13:45:30.
    pub fn new(ram: u64) -> Self {
        Self::with_time(ram, 1_709_214_330)
    }

    /// `ram` bytes of RAM and the RTC at `unix_seconds`.
    pub fn with_time(ram: u64, unix_seconds: u64) -> Self {
        Self {
            rtc: CmosRtc::new(unix_seconds, START_NS),
            kbc: I8042::new(),
            now_ns: START_NS,
            ram,
            port_accesses: 0,
        }
    }

    pub fn a20_enabled(&self) -> bool {
        self.kbc.a20_enabled()
    }

    pub fn reset_requested(&mut self) -> bool {
        self.kbc.take_reset_request()
    }

    /// Selects CMOS register `index` and writes it, as a guest would.
    pub fn cmos_write(&mut self, index: u8, value: u8) {
        self.port_out(CMOS_INDEX, index);
        self.port_out(CMOS_DATA, value);
    }

    pub fn cmos_read(&mut self, index: u8) -> u8 {
        self.port_out(CMOS_INDEX, index);
        self.port_in(CMOS_DATA)
    }
}

impl BiosPlatform for FakePlatform {
    fn port_in(&mut self, port: u16) -> u8 {
        self.port_accesses += 1;
        match port {
            CMOS_INDEX | CMOS_DATA => self.rtc.read(port, self.now_ns),
            I8042_DATA | I8042_COMMAND | SYSTEM_CONTROL_A => self.kbc.read(port),
            _ => 0xFF,
        }
    }

    fn port_out(&mut self, port: u16, value: u8) {
        self.port_accesses += 1;
        match port {
            CMOS_INDEX | CMOS_DATA => self.rtc.write(port, value, self.now_ns),
            I8042_DATA | I8042_COMMAND | SYSTEM_CONTROL_A => self.kbc.write(port, value),
            _ => {}
        }
    }

    fn ram_size(&self) -> u64 {
        self.ram
    }

    fn now_ns(&self) -> u64 {
        self.now_ns
    }
}

/// Registers as an INT leaves them: IF set, reserved bit 1 set.
pub fn regs_with_flags() -> Regs {
    Regs {
        flags: 0x0202,
        ..Default::default()
    }
}

/// The small xorshift generator of the stress tests.
pub use test_rng::XorShift;
