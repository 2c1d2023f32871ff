//! `cargo xtask bench boot` end to end: both guests boot both ways, the
//! Linux kernel also PVH beside QEMU's direct kernel boot, and the nested
//! boots report exit counts as of their prompt.

use xtask::bench_boot::{parse_stats, run_bench};

#[test]
fn boot_benchmark_measures_both_ways_and_reports_exit_counts() {
    let results = run_bench(Some(&tests::nested_target_dir())).expect("the boot benchmark runs");
    assert!(results.iter().any(|r| r.name == "linux"));
    // The same kernel PVH, beside QEMU's direct kernel boot of it.
    assert!(results.iter().any(|r| r.name == "linux-pvh"));
    for r in &results {
        assert!(!r.direct.is_zero() && !r.nested.is_zero(), "{}", r.name);
        let block = r
            .stats
            .as_deref()
            .unwrap_or_else(|| panic!("{}: no statistics snapshot before the prompt", r.name));
        let (rows, total, guest) = parse_stats(block);
        assert!(
            rows.iter().any(|row| row.reason == "io" && row.count > 0),
            "{}: {block}",
            r.name
        );
        assert!(total > 0 && guest > 0, "{}: {block}", r.name);
    }
}
