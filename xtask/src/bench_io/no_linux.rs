//! `bench io`'s "no Linux overhead" line: our own Rust PVH guest
//! (`guest-tools/pv-demo`, on the `pv-drivers` frontends) reads 8 MiB of
//! the same image sequentially through the same PV block backend, timed by
//! its pvclock, and the line sets it beside the Linux guest's `pv`
//! sequential read. What is left between the two is Linux's own cost (its
//! block layer, page cache bypass, interrupts) on top of the protocol.

use crate::qemu::Accel;
use crate::runner::{self, DiskImage, Outcome, PvhBoot, RunOptions, BIOS_GUEST};
use regex::Regex;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The guest's timing line.
const READ_LINE: &str = r"pv-demo: read (\d+) bytes in (\d+) ns";

/// What the demo measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DemoRead {
    pub bytes: u64,
    pub ns: u64,
}

impl DemoRead {
    pub fn mib_per_s(&self) -> f64 {
        (self.bytes as f64 / f64::from(1u32 << 20)) / (self.ns.max(1) as f64 / 1e9)
    }
}

/// The timing line in `console`, if the guest printed one.
pub fn parse(console: &str) -> Option<DemoRead> {
    let caps = Regex::new(READ_LINE).ok()?.captures(console)?;
    Some(DemoRead {
        bytes: caps[1].parse().ok()?,
        ns: caps[2].parse().ok()?,
    })
}

/// Boots pv-demo on the hypervisor nested in QEMU TCG with `image` as
/// xvda and returns its read; the image is left as it was except for the
/// demo's one pattern sector.
pub fn measure(image: &Path, target_dir: Option<&PathBuf>) -> Result<DemoRead, String> {
    let elf = match target_dir {
        Some(dir) => crate::pv_demo::build_into(dir)?,
        None => crate::pv_demo::build()?,
    };
    let opts = RunOptions {
        pvh: Some(PvhBoot {
            kernel: elf,
            initrd: None,
            cmdline: String::new(),
        }),
        guest: BIOS_GUEST.into(),
        mem_mib: 64,
        accel: Accel::Tcg,
        timeout: Duration::from_secs(180),
        expect: vec![Regex::new(READ_LINE).expect("a valid regex")],
        log_level: "info".into(),
        target_dir: target_dir.cloned(),
        ..RunOptions::default()
    }
    .with_disks(vec![DiskImage {
        path: image.to_path_buf(),
        read_only: false,
    }]);
    let report = runner::run(&opts)?;
    match (&report.outcome, parse(&report.console)) {
        (Outcome::ExpectationsMet, Some(r)) => Ok(r),
        (other, _) => Err(format!(
            "pv-demo printed no read timing: {other:?}; last output:\n{}",
            report.console_tail(10)
        )),
    }
}

/// The report's line: the demo's rate beside the Linux guest's `pv`
/// sequential read (`linux_mib_per_s`, when that path ran).
pub fn line(demo: &DemoRead, linux_mib_per_s: Option<f64>) -> String {
    let beside = linux_mib_per_s.map_or(String::new(), |l| {
        format!(
            "; the Linux guest's pv seq-read: {l:.2} MiB/s, so {:.2}x without Linux",
            demo.mib_per_s() / l.max(1e-9)
        )
    });
    format!(
        "no Linux overhead: pv-demo (our Rust PVH guest on pv-drivers) read {} MiB of xvda \
         sequentially at {:.2} MiB/s (one request in flight, 32-segment indirect requests){beside}\n",
        demo.bytes >> 20,
        demo.mib_per_s()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timing_line_is_read_and_set_beside_linux() {
        let r = parse("x\npv-demo: read 8388608 bytes in 500000000 ns\n").unwrap();
        assert_eq!(r.bytes, 8 << 20);
        assert!((r.mib_per_s() - 16.0).abs() < 1e-9);
        let l = line(&r, Some(8.0));
        assert!(l.contains("16.00 MiB/s"), "{l}");
        assert!(l.contains("2.00x without Linux"), "{l}");
        assert!(parse("pv-demo: done\n").is_none());
    }
}
