//! The hypervisor's log channel: the debug console at port E9h (QEMU's
//! `-debugcon`, Bochs' `port_e9_hack`), kept apart from the guest's console.

use super::port::outb;
use crate::log_lock::{with_lock_or_anyway, LOCK_ATTEMPTS};
use core::fmt::{self, Write};
use log::{LevelFilter, Log, Metadata, Record};
use spin::Mutex;

/// The debug console port.
pub const DEBUGCON_PORT: u16 = 0xE9;

/// Writes text to the debug console.
pub struct DebugCon;

impl Write for DebugCon {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for b in s.bytes() {
            outb(DEBUGCON_PORT, b);
        }
        Ok(())
    }
}

/// Serializes whole lines.
static LOCK: Mutex<()> = Mutex::new(());

struct Logger;

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if self.enabled(record.metadata()) {
            with_lock_or_anyway(&LOCK, LOCK_ATTEMPTS, || {
                let _ = writeln!(DebugCon, "[{:<5}] {}", record.level(), record.args());
            });
        }
    }

    fn flush(&self) {}
}

static LOGGER: Logger = Logger;

/// Installs the logger at `level`.
pub fn init(level: LevelFilter) {
    // A second call (there is none) would only keep the first logger.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}

/// Writes raw text (a report block) to the log channel, unprefixed.
pub fn write_raw(args: fmt::Arguments) {
    with_lock_or_anyway(&LOCK, LOCK_ATTEMPTS, || {
        let _ = DebugCon.write_fmt(args);
    });
}
