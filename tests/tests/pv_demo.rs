//! `guest-tools/pv-demo`, our own Rust PVH guest kernel, running the
//! `pv-drivers` frontends in a real guest on the SVM backend (QEMU) and on
//! the VT-x backend (Bochs, `--cpu intel`): the console ring, shared info
//! and the pvclock, XenStore (its tree and a watch on `control/shutdown`),
//! grant tables and blkfront on xvda, then `SCHEDOP_shutdown(poweroff)`.
//!
//! The guest prints the FNV-1a 64 checksum of the disk's first 8 MiB,
//! computed here the same way from the disk's bytes; it writes a pattern
//! sector (and flushes it where the disk has a cache, QEMU's host
//! virtio-blk disk) and reads it back. Under QEMU the write reaches the
//! image file; under Bochs the disk lives in the hypervisor's memory and
//! writes last for the run only.

use regex::Regex;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;
use tests::literal;
use xtask::bochs::BochsCpu;
use xtask::runner::{DiskImage, Emulator, Outcome, PvhBoot, RunOptions, BIOS_GUEST};

/// How much of the disk the guest checksums (all of [`tests::pv_disk::DISK_BYTES`]).
const SUM_BYTES: usize = 8 << 20;
/// Where the guest writes its pattern, and what.
const PATTERN_SECTOR: usize = 2048;
const PATTERN: &[u8] = b"pv-demo-pattern";

/// The demo kernel, built once per test process.
fn demo_elf() -> PathBuf {
    static ELF: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    ELF.get_or_init(|| xtask::pv_demo::build_into(&tests::nested_target_dir()))
        .clone()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// FNV-1a 64 (offset basis 0xcbf29ce484222325, prime 0x100000001b3), as
/// the guest's `checksum.rs`.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[test]
fn fnv1a64_matches_the_reference_values() {
    assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
    assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
    assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
}

#[test]
fn the_demo_is_a_pvh_elf_the_loader_accepts() {
    let k = xtask::pvh_kernel::load(&demo_elf()).expect("the PVH loader takes pv-demo");
    assert!(!k.segments.is_empty());
    for s in &k.segments {
        assert!(s.paddr >= 1 << 20, "segment at {:#x} below 1 MiB", s.paddr);
        assert!(s.mem_size >= s.data.len() as u64);
    }
    let entry = u64::from(k.entry);
    assert!(
        k.segments
            .iter()
            .any(|s| entry >= s.paddr && entry < s.paddr + s.data.len() as u64),
        "the entry {entry:#x} is not in the loaded file data"
    );
    // Everything fits below the 64 MiB the runs give the guest.
    let end = k
        .segments
        .iter()
        .map(|s| s.paddr + s.mem_size)
        .max()
        .unwrap();
    assert!(end < 64 << 20, "the image ends at {end:#x}");
}

/// The lines the demo prints, in order, on a run with `sum` the disk's
/// checksum; `svm` picks the hypercall instruction and the flush line.
fn expected(sum: u64, svm: bool) -> Vec<Regex> {
    let insn = if svm { "Vmmcall" } else { "Vmcall" };
    let flush = if svm { "flushed" } else { "no cache to flush" };
    vec![
        Regex::new(&format!(
            r"pv-demo: hello from a Rust PVH guest: Xen CPUID base 0x40000000?, version \d+\.\d+, insn {insn}"
        ))
        .unwrap(),
        Regex::new(r"pv-demo: start info at 0x[0-9a-f]+, magic ok").unwrap(),
        Regex::new(r"pv-demo: shared info at frame 0x[0-9a-f]+, pvclock [1-9]\d* ns, tsc [1-9]\d* kHz")
            .unwrap(),
        Regex::new(r"pv-demo: domid [1-9]\d*").unwrap(),
        literal("pv-demo: device/vbd: 51712"),
        literal("pv-demo: watch event control/shutdown token pv-demo"),
        Regex::new(r"pv-demo: grant table: 2 frames mapped \(had \d+, max \d+\), \d+ free entries")
            .unwrap(),
        literal(&format!(
            "pv-demo: xvda connected: {} sectors",
            tests::pv_disk::DISK_BYTES / 512
        )),
        literal(&format!("pv-demo: xvda sum {sum:016x} over {SUM_BYTES} bytes")),
        literal(&format!(
            "pv-demo: pattern written at sector {PATTERN_SECTOR}, {flush}"
        )),
        literal("pv-demo: readback ok"),
        Regex::new(&format!(r"pv-demo: read {SUM_BYTES} bytes in [1-9]\d* ns")).unwrap(),
        literal("pv-demo: done"),
    ]
}

fn demo_on(svm: bool) {
    let elf = demo_elf();
    let (disk, bytes) =
        tests::pv_disk::random_disk(&format!("pv-demo-{}", if svm { "svm" } else { "vmx" }));
    assert_eq!(bytes.len(), SUM_BYTES);
    let base = RunOptions {
        pvh: Some(PvhBoot {
            kernel: elf,
            initrd: None,
            cmdline: String::new(),
        }),
        guest: BIOS_GUEST.into(),
        mem_mib: 64,
        expect: expected(fnv1a64(&bytes), svm),
        until_stopped: true,
        ..tests::options(BIOS_GUEST)
    };
    let opts = if svm {
        RunOptions {
            timeout: Duration::from_secs(120),
            ..base
        }
    } else {
        RunOptions {
            emulator: Emulator::Bochs,
            bochs_cpu: BochsCpu::Intel,
            timeout: Duration::from_secs(600),
            ..base
        }
    }
    .with_disks(vec![DiskImage {
        path: disk.clone(),
        read_only: false,
    }]);
    let report = tests::run_ok(&opts);
    let after = std::fs::read(&disk).unwrap();
    let _ = std::fs::remove_file(&disk);
    let context = format!(
        "--- console ---\n{}\n--- hypervisor log ---\n{}",
        report.console, report.hv_log
    );
    assert_eq!(report.outcome, Outcome::ExpectationsMet, "{context}");
    assert!(!report.console.contains("pv-demo: error"), "{context}");
    for needle in [
        "starting at the PVH kernel's entry",
        "vbd 51712 connected",
        "guest stopped: shut down through SCHEDOP_shutdown: poweroff",
    ] {
        assert!(
            report.hv_log.contains(needle),
            "the log lacks {needle:?}\n{context}"
        );
    }
    if let Some(line) = report
        .console
        .lines()
        .find(|l| l.starts_with("pv-demo: read "))
    {
        eprintln!("{}: {}", if svm { "svm" } else { "vmx" }, line.trim_end());
    }
    let at = PATTERN_SECTOR * 512;
    if svm {
        // QEMU's disk is the host file: the write reached it.
        let mut sector = vec![0u8; 512];
        sector[..PATTERN.len()].copy_from_slice(PATTERN);
        assert_eq!(&after[at..at + 512], &sector[..], "the pattern sector");
        assert_eq!(&after[..at], &bytes[..at], "the rest is untouched");
        assert_eq!(
            &after[at + 512..],
            &bytes[at + 512..],
            "the rest is untouched"
        );
    } else {
        // Bochs' disk is in the hypervisor's memory: the file is unchanged.
        assert_eq!(after, bytes);
    }
}

#[test]
fn pv_demo_runs_the_pv_drivers_on_svm_and_powers_off() {
    demo_on(true);
}

#[test]
fn pv_demo_runs_the_pv_drivers_on_vmx_under_bochs_and_powers_off() {
    demo_on(false);
}
