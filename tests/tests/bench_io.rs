//! `cargo xtask bench io` end to end in its smallest form: the `pv` path
//! (the hypervisor with the Xen platform on, the disk as `/dev/xvda`
//! through the stock kernel's xen-blkfront and the in-hypervisor blkback)
//! at tiny sizes; every workload's record is parsed and positive, carries
//! its exits, hypercalls and event counts, and `io` JSON and the SVG plot
//! are written. (About a minute on 2 cores; the IDE and plain-QEMU paths
//! are `bench_disk.rs`'s.) Targets are measured by the full run, never
//! asserted here.

use xtask::bench_disk::{run_bench, BenchOptions, Report, Sizes, WORKLOADS};

#[test]
fn io_benchmark_measures_the_pv_path_and_writes_json_and_plot() {
    let opts = BenchOptions {
        report: Report::Io,
        sizes: Sizes {
            image_mib: 16,
            seq_mib: 2,
            slow_seq_mib: 1,
            rand_secs: 0.3,
        },
        paths: vec!["pv".into()],
        name: format!("io-smoke-{}", std::process::id()),
        target_dir: Some(tests::nested_target_dir()),
        repeat: 1,
    };
    let records = run_bench(&opts).expect("the I/O benchmark runs");
    assert_eq!(records.len(), WORKLOADS.len(), "{records:#?}");
    for (r, w) in records.iter().zip(WORKLOADS) {
        assert_eq!((r.path.as_str(), r.workload.as_str()), ("pv", w), "{r:?}");
        assert!(
            r.mib_per_s > 0.0 && r.iops > 0.0 && r.ops > 0 && r.secs > 0.0 && r.direct,
            "{r:?}"
        );
        assert!(
            r.exits_per_mib.is_some() && r.exits_by_reason.is_some(),
            "{r:?}"
        );
        assert!(
            r.hypercalls_per_mib.is_some() && r.vbd_events_per_mib.is_some(),
            "{r:?}"
        );
        // blkfront kicks the backend through EVTCHNOP_send.
        let calls = r.hypercalls_by_call.as_ref().expect("Xen counters");
        assert!(
            calls.get("event_channel_op/4").is_some_and(|n| *n > 0),
            "{r:?}"
        );
    }
    let dir = xtask::workspace_root().join("target/bench");
    let json = dir.join(format!("{}.json", opts.name));
    let svg = dir.join(format!("{}.svg", opts.name));
    let text = std::fs::read_to_string(&json).expect("the JSON was written");
    let plot = std::fs::read_to_string(&svg).expect("the plot was written");
    let _ = std::fs::remove_file(&json);
    let _ = std::fs::remove_file(&svg);
    assert_eq!(text.matches("\"path\": \"pv\"").count(), records.len());
    assert!(text.contains("\"vbd_events_per_mib\": "), "{text}");
    assert!(plot.starts_with("<svg") && plot.contains("rand-read-qd32"));
}
