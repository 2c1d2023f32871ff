//! Durability of guest disks (issue 13): what a guest flushed is in the
//! image file even when QEMU is killed at a random moment.
//!
//! The `disk-stream` guest writes numbered sectors to its IDE disk, which
//! the hypervisor backs with a host virtio-blk device, and prints `flushed
//! <count>` after every FLUSH CACHE completed; the runner SIGKILLs QEMU a
//! random delay after the first flush, and the image must hold every
//! sector below the last count the runner saw, and zeros or a whole
//! pattern everywhere else (`xtask::soak_disks`). The delays come from a
//! seed printed at the start, new on every run; `VMM_TEST_SEED=0x...`
//! replays one (the delays, not the host's timing). `cargo xtask soak
//! disks` runs 100 kill runs.
//!
//! QEMU only: under Bochs, which has no virtio, images are boot modules
//! held in the hypervisor's memory and the guest's writes are discarded,
//! so there is nothing to check in the file.

use std::time::Instant;
use test_rng::XorShift;
use xtask::guests::disk_stream::SECTOR_BYTES;
use xtask::soak_disks::{soak, stream_run};

/// Kill runs per test run.
const KILL_RUNS: usize = 20;
/// The image of the run that streams to the end (8192 sectors, about 7 s
/// nested in TCG, beside the kill runs).
const WHOLE_RUN_BYTES: u64 = 4 << 20;

#[test]
fn what_the_guest_flushed_survives_qemu_being_killed_at_random_moments() {
    let seed = XorShift::per_run(
        "what_the_guest_flushed_survives_qemu_being_killed_at_random_moments",
        0xD15C,
    )
    .0;
    let started = Instant::now();
    let mut killed = 0;
    let tally = soak(&tests::options("disk-stream"), seed, KILL_RUNS, |line| {
        killed += usize::from(line.contains(": killed "));
        eprintln!("{line}");
    });
    eprintln!(
        "{KILL_RUNS} kill runs in {:.1} s ({} passed, {killed} killed mid-stream)",
        started.elapsed().as_secs_f64(),
        tally.passed
    );
    assert!(
        tally.failures.is_empty(),
        "{} of {KILL_RUNS} kill runs failed:\n{}",
        tally.failures.len(),
        tally.failures.join("\n")
    );
    // The kills came while the guest streamed, not after it finished.
    assert!(
        killed * 2 >= KILL_RUNS,
        "only {killed} of {KILL_RUNS} runs were killed before the guest finished"
    );
}

#[test]
fn a_stream_that_is_not_killed_ends_with_every_sector_holding_its_pattern() {
    let sectors = WHOLE_RUN_BYTES / SECTOR_BYTES as u64;
    let name = format!("whole-{}", std::process::id());
    let s = stream_run(&tests::options("disk-stream"), &name, WHOLE_RUN_BYTES, None)
        .unwrap_or_else(|e| panic!("the stream to the end of the disk failed: {e}"));
    eprintln!(
        "streamed {sectors} sectors and checked them in {:.1} s",
        s.elapsed.as_secs_f64()
    );
    assert!(s.done && !s.killed, "{s:?}");
    assert_eq!((s.durable, s.written), (sectors, sectors), "{s:?}");
}
