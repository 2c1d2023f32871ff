//! `cargo xtask bench disk` end to end in its smallest form: one path on
//! the hypervisor (`ide-dma`) and one on plain QEMU (`qemu-virtio`), tiny
//! sizes; every workload's line is parsed and positive, and the hypervisor
//! path has its exits per MiB. (About a minute and a half on 2 cores.)

use xtask::bench_disk::{run_bench, BenchOptions, Report, Sizes, WORKLOADS};

#[test]
fn disk_benchmark_measures_a_hypervisor_path_and_a_plain_qemu_path() {
    let opts = BenchOptions {
        report: Report::Disk,
        sizes: Sizes {
            image_mib: 16,
            seq_mib: 2,
            slow_seq_mib: 1,
            rand_secs: 0.3,
        },
        paths: vec!["ide-dma".into(), "qemu-virtio".into()],
        name: format!("disk-smoke-{}", std::process::id()),
        target_dir: Some(tests::nested_target_dir()),
        repeat: 1,
    };
    let records = run_bench(&opts).expect("the disk benchmark runs");
    assert_eq!(records.len(), 2 * WORKLOADS.len(), "{records:#?}");
    for r in &records {
        assert!(
            r.mib_per_s > 0.0 && r.iops > 0.0 && r.ops > 0 && r.secs > 0.0 && r.direct,
            "{r:?}"
        );
        assert!(WORKLOADS.contains(&r.workload.as_str()), "{r:?}");
        match r.path.as_str() {
            "ide-dma" => {
                // Measured, not necessarily above zero: at these tiny sizes
                // a window's exits can be all the calibration's (the
                // timer's), which is taken off.
                assert!(r.exits_per_mib.is_some_and(|e| e >= 0.0), "{r:?}");
                assert!(
                    r.exits_by_reason.as_ref().is_some_and(|m| !m.is_empty()),
                    "{r:?}"
                );
                assert!(
                    r.xfer_mode.as_deref().is_some_and(|m| m.contains("DMA")),
                    "{r:?}"
                );
            }
            "qemu-virtio" => assert_eq!(r.exits_per_mib, None, "{r:?}"),
            other => panic!("unexpected path {other}"),
        }
    }
    let json = xtask::workspace_root()
        .join("target/bench")
        .join(format!("{}.json", opts.name));
    let text = std::fs::read_to_string(&json).expect("the JSON was written");
    assert_eq!(text.matches("\"path\": ").count(), records.len());
    let _ = std::fs::remove_file(&json);
}
