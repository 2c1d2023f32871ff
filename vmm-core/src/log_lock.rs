//! The log's line lock, which must never deadlock the hypervisor.
//!
//! One CPU logs; the only way it can find the lock held is a fault or a
//! panic raised while a line was being written, whose handler then logs the
//! report and powers off. Spinning on the lock there would hang the machine
//! with the report unwritten, so after a bounded number of attempts the
//! line is written without it (at worst interleaved with the cut-off one).

use spin::Mutex;

/// Attempts at the lock before writing without it.
pub const LOCK_ATTEMPTS: u32 = 1 << 20;

/// Runs `write` holding `lock`, or without it once `attempts` tries found
/// it taken.
pub fn with_lock_or_anyway(lock: &Mutex<()>, attempts: u32, write: impl FnOnce()) {
    for _ in 0..attempts {
        if let Some(_guard) = lock.try_lock() {
            write();
            return;
        }
        core::hint::spin_loop();
    }
    write();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_written_even_while_its_own_interrupted_writer_holds_the_lock() {
        let lock = Mutex::new(());
        let held = lock.lock();
        let mut written = false;
        with_lock_or_anyway(&lock, 1000, || written = true);
        assert!(written);
        drop(held);
        let mut again = false;
        with_lock_or_anyway(&lock, 1000, || again = true);
        assert!(again && lock.try_lock().is_some(), "released after use");
    }
}
