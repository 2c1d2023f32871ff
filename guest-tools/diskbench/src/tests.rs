use super::*;
use std::path::{Path, PathBuf};

fn args(text: &str) -> Vec<String> {
    text.split_whitespace().map(String::from).collect()
}

#[test]
fn arguments_parse_with_their_defaults() {
    let cfg = Config::parse(&args("/dev/sda seq-read")).unwrap();
    assert_eq!(
        cfg,
        Config {
            path: PathBuf::from("/dev/sda"),
            workload: Workload::SeqRead,
            mib: 64,
            limit: Limit::Secs(3.0),
            seed: 1,
            direct: true,
        }
    );
    let cfg = Config::parse(&args(
        "--seed 9 /dev/vda rand-read-qd32 --ops 500 --buffered",
    ))
    .unwrap();
    assert_eq!(cfg.workload, Workload::RandRead { qd: 32 });
    assert_eq!(
        (cfg.limit, cfg.seed, cfg.direct),
        (Limit::Ops(500), 9, false)
    );
    let cfg = Config::parse(&args("/d seq-write --mib 8")).unwrap();
    assert_eq!((cfg.workload, cfg.mib), (Workload::SeqWrite, 8));
    let cfg = Config::parse(&args("/d rand-read-qd1 --secs 0.5")).unwrap();
    assert_eq!(cfg.limit, Limit::Secs(0.5));
    for w in ["seq-read", "seq-write", "rand-read-qd1", "rand-read-qd32"] {
        assert_eq!(Workload::parse(w).unwrap().name(), w);
    }
}

#[test]
fn bad_arguments_are_refused_in_one_line() {
    for bad in [
        "",
        "/dev/sda",
        "/dev/sda seq-read extra",
        "/dev/sda rand-write",
        "/dev/sda rand-read-qd0",
        "/dev/sda rand-read-qd2000",
        "/dev/sda rand-read-qdx",
        "/dev/sda seq-read --mib",
        "/dev/sda seq-read --mib 0",
        "/dev/sda seq-read --mib lots",
        "/dev/sda rand-read-qd1 --secs 1 --ops 5",
        "/dev/sda rand-read-qd1 --secs -1",
        "/dev/sda rand-read-qd1 --secs NaN",
        "/dev/sda rand-read-qd1 --ops 0",
        "/dev/sda seq-read --fast",
    ] {
        let e = Config::parse(&args(bad)).unwrap_err();
        assert!(!e.is_empty() && !e.contains('\n'), "{bad}: {e}");
    }
}

#[test]
fn random_offsets_are_aligned_in_range_and_seeded() {
    for size in [4096u64, 4096 * 3 + 100, 256 << 20, (1 << 40) + 12345] {
        let mut rng = Rng::new(thread_seed(7, 3));
        for _ in 0..10_000 {
            let at = rng.offset(size, 4096).unwrap();
            assert_eq!(at % 4096, 0);
            assert!(at + 4096 <= size, "{at} in {size}");
        }
    }
    assert_eq!(Rng::new(1).offset(4095, 4096), None);
    // The same seed gives the same offsets; threads and seeds differ.
    let seq = |seed, index| {
        let mut r = Rng::new(thread_seed(seed, index));
        (0..8)
            .map(|_| r.offset(1 << 30, 4096).unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(seq(1, 0), seq(1, 0));
    assert_ne!(seq(1, 0), seq(1, 1));
    assert_ne!(seq(1, 0), seq(2, 0));
    // Spread over the device: both halves are hit.
    let mut r = Rng::new(5);
    let low = (0..1000)
        .filter(|_| r.offset(1 << 30, 4096).unwrap() < 1 << 29)
        .count();
    assert!((400..600).contains(&low), "{low}");
}

#[test]
fn sequential_offsets_step_by_a_mib_and_wrap() {
    let size = (3 << 20) + 4096;
    let offsets: Vec<u64> = (0..5).map(|i| seq_offset(i, size).unwrap()).collect();
    assert_eq!(offsets, [0, 1 << 20, 2 << 20, 0, 1 << 20]);
    assert_eq!(seq_offset(0, (1 << 20) - 1), None);
}

#[test]
fn buffers_are_aligned() {
    for len in [4096, 1 << 20] {
        let mut b = AlignedBuf::new(len);
        assert_eq!(b.as_slice().len(), len);
        assert_eq!(b.as_mut_slice().as_ptr() as usize % ALIGN, 0);
    }
}

#[test]
fn the_output_line_has_every_key_in_order() {
    let r = Report {
        path: "/dev/sda".into(),
        workload: "seq-read".into(),
        bytes: 64 << 20,
        ops: 64,
        elapsed: Duration::from_millis(500),
        qd: 1,
        direct: true,
    };
    assert_eq!(
        r.line(),
        "diskbench path=/dev/sda workload=seq-read bytes=67108864 secs=0.500000 \
         mib_per_s=128.000 iops=128.0 ops=64 qd=1 direct=1"
    );
}

/// A scratch file of `mib` MiB on a disk-backed file system when there is one
/// (the workspace's target folder), else the temp folder.
fn scratch_file(name: &str, mib: usize) -> PathBuf {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/tmp");
    let dir = if std::fs::create_dir_all(&target).is_ok() {
        target
    } else {
        std::env::temp_dir()
    };
    let path = dir.join(format!("diskbench-{name}-{}.img", std::process::id()));
    let mut rng = Rng::new(42);
    let data: Vec<u8> = (0..mib << 17)
        .flat_map(|_| rng.next_u64().to_le_bytes())
        .collect();
    std::fs::write(&path, data).unwrap();
    path
}

/// Runs `workload` on `path` with O_DIRECT, or buffered where the file
/// system refuses O_DIRECT (tmpfs), saying so.
fn run_on(path: &Path, workload: &str, extra: &str) -> Report {
    let mut cfg = Config::parse(&args(&format!("{} {workload} {extra}", path.display()))).unwrap();
    match run(&cfg) {
        Ok(r) => r,
        Err(e) if e.contains("O_DIRECT") => {
            eprintln!("note: {e}; running {workload} buffered instead");
            cfg.direct = false;
            run(&cfg).unwrap()
        }
        Err(e) => panic!("{workload}: {e}"),
    }
}

#[test]
fn every_workload_runs_on_a_regular_file() {
    let path = scratch_file("workloads", 4);
    let before = std::fs::read(&path).unwrap();
    let r = run_on(&path, "seq-read", "--mib 6");
    assert_eq!((r.bytes, r.ops, r.qd), (6 << 20, 6, 1));
    assert!(r.mib_per_s() > 0.0 && r.iops() > 0.0);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "reads change nothing"
    );
    let r = run_on(&path, "seq-write", "--mib 2 --seed 3");
    assert_eq!(r.bytes, 2 << 20);
    let after = std::fs::read(&path).unwrap();
    assert_eq!(after.len(), before.len(), "writes stay inside the file");
    assert_ne!(after[..1 << 20], before[..1 << 20]);
    assert_eq!(after[2 << 20..], before[2 << 20..]);
    assert_eq!(after[..1 << 20], after[1 << 20..2 << 20], "one pattern");
    let r = run_on(&path, "rand-read-qd1", "--ops 200");
    assert_eq!((r.ops, r.bytes, r.qd), (200, 200 * 4096, 1));
    let r = run_on(&path, "rand-read-qd32", "--ops 1000");
    assert_eq!((r.ops, r.qd), (1000, 32));
    let r = run_on(&path, "rand-read-qd4", "--secs 0.2");
    assert!(r.ops > 0 && r.elapsed >= Duration::from_millis(200));
    assert!(r.line().starts_with(&format!(
        "diskbench path={} workload=rand-read-qd4 ",
        path.display()
    )));
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_missing_or_tiny_device_is_one_line() {
    let cfg = Config::parse(&args("/nonexistent/disk seq-read")).unwrap();
    let e = run(&cfg).unwrap_err();
    assert!(e.starts_with("cannot open /nonexistent/disk") && !e.contains('\n'));
    let path = scratch_file("tiny", 0);
    std::fs::write(&path, [1u8; 100]).unwrap();
    for w in ["seq-read", "rand-read-qd1"] {
        let cfg = Config::parse(&args(&format!("{} {w} --buffered", path.display()))).unwrap();
        let e = run(&cfg).unwrap_err();
        assert!(e.contains("holds 100 bytes"), "{e}");
    }
    let _ = std::fs::remove_file(&path);
}
