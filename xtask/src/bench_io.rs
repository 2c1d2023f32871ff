//! `cargo xtask bench io`: issue 14's emulated-versus-paravirtual I/O
//! benchmark. It is `bench disk` (same guest, image, workloads, exit
//! snapshots; [`crate::bench_disk`]) run over every path, `pv` among them
//! (the hypervisor with the Xen platform on, the disk as `/dev/xvda` through
//! the stock kernel's xen-blkfront and the hypervisor's blkback), with its
//! own report: one table with the PV ratios side by side, issue 14's
//! targets as met or missed, what the counters say each path spends its
//! exits on, `target/bench/io.json` and the plot `target/bench/io.svg`.

pub mod no_linux;
pub mod plot;

use crate::bench_disk::results::{find, ratio, Record, WORKLOADS};

/// The paths the ratios are taken against, as issue 14 names them.
const PV: &str = "pv";
const BASES: [(&str, &str); 3] = [
    ("ide-dma", "pv/ide-dma"),
    ("ide-pio", "pv/ide-pio"),
    ("qemu-virtio", "pv/qemu-virtio"),
];

/// One of issue 14's targets, as measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub what: String,
    /// The measured ratio (None: a path it needs did not run).
    pub value: Option<f64>,
    pub met: Option<bool>,
}

fn target(what: String, value: Option<f64>, ok: impl Fn(f64) -> bool) -> Target {
    Target {
        what,
        met: value.map(&ok),
        value,
    }
}

/// PV's exits per MiB over another path's, for one workload.
pub fn exits_ratio(records: &[Record], other: &str, workload: &str) -> Option<f64> {
    let pv = find(records, PV, workload)?.exits_per_mib?;
    let o = find(records, other, workload)?.exits_per_mib?;
    (o > 0.0).then(|| pv.max(0.0) / o)
}

/// The same of the exits beyond the idle guest's (the timer's) per MiB.
pub fn exits_above_idle_ratio(records: &[Record], other: &str, workload: &str) -> Option<f64> {
    let pv = find(records, PV, workload)?.exits_above_idle_per_mib?;
    let o = find(records, other, workload)?.exits_above_idle_per_mib?;
    (o > 0.0).then(|| pv / o)
}

/// Issue 14's targets: PV ≥ 20× IDE-PIO and ≥ 3× IDE-DMA on 4 KiB random
/// reads at QD32, ≥ 1.5× IDE-DMA on sequential 1 MiB, exits per MiB ≤ 5%
/// of IDE-DMA's, within 0.7× of plain QEMU's virtio-blk.
pub fn targets(records: &[Record]) -> Vec<Target> {
    let qd32 = "rand-read-qd32";
    let mut out = vec![
        target(
            format!("{qd32}: pv >= 20x ide-pio"),
            ratio(records, PV, "ide-pio", qd32),
            |r| r >= 20.0,
        ),
        target(
            format!("{qd32}: pv >= 3x ide-dma"),
            ratio(records, PV, "ide-dma", qd32),
            |r| r >= 3.0,
        ),
    ];
    for w in ["seq-read", "seq-write"] {
        out.push(target(
            format!("{w}: pv >= 1.5x ide-dma"),
            ratio(records, PV, "ide-dma", w),
            |r| r >= 1.5,
        ));
    }
    for w in WORKLOADS {
        out.push(target(
            format!("{w}: pv exits/MiB <= 5% of ide-dma's"),
            exits_ratio(records, "ide-dma", w),
            |r| r <= 0.05,
        ));
    }
    for w in WORKLOADS {
        out.push(target(
            format!("{w}: pv >= 0.7x qemu-virtio"),
            ratio(records, PV, "qemu-virtio", w),
            |r| r >= 0.7,
        ));
    }
    out
}

fn cell(v: Option<f64>, decimals: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.decimals$}"))
}

/// The window's busiest exit reasons, per MiB: `io 1234, npf 56`.
fn top_exits(r: &Record, n: usize) -> String {
    let Some(by) = &r.exits_by_reason else {
        return "-".into();
    };
    let mib = (r.bytes as f64 / f64::from(1u32 << 20)).max(1e-9);
    let mut v: Vec<(&String, &u64)> = by.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    v.iter()
        .take(n)
        .map(|(k, c)| format!("{k} {:.0}", **c as f64 / mib))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The table: a row per path × workload with the counters, then the
/// ratios side by side, then the targets as met or missed.
pub fn table(records: &[Record]) -> String {
    let mut out = format!(
        "{:<12} {:<15} {:>9} {:>9} {:>10} {:>9} {:>10} {:>9} {:>9} {:>5}  {}\n",
        "path",
        "workload",
        "MiB/s",
        "IOPS",
        "exits/MiB",
        ">idle",
        "hcalls/MiB",
        "kicks/MiB",
        "irqs/MiB",
        "hv%",
        "top exits per MiB (workload window)"
    );
    for r in records {
        out.push_str(&format!(
            "{:<12} {:<15} {:>9.2} {:>9.1} {:>10} {:>9} {:>10} {:>9} {:>9} {:>5}  {}\n",
            r.path,
            r.workload,
            r.mib_per_s,
            r.iops,
            cell(r.exits_per_mib, 0),
            cell(r.exits_above_idle_per_mib, 0),
            cell(r.hypercalls_per_mib, 1),
            cell(r.event_sends_per_mib, 1),
            cell(r.vbd_events_per_mib, 1),
            cell(r.handling_share.map(|s| s * 100.0), 0),
            top_exits(r, 3),
        ));
    }
    out.push_str(
        "(per MiB with the calibration window taken off; >idle: exits beyond the idle guest's \
         rate over the same time, i.e. without the timer's; kicks: the guest's event-channel \
         sends; irqs: the vbd's events to the guest; hv%: exit handling's share of the \
         window's handling plus in-guest cycles; device service between entries and halts \
         count in neither)\n",
    );
    out.push_str("\nratios from this run, MiB/s (equally IOPS), and exits per MiB:\n");
    out.push_str(&format!("{:<15}", "workload"));
    for (_, title) in BASES {
        out.push_str(&format!(" {title:>15}"));
    }
    out.push_str(&format!(
        " {:>21} {:>16}\n",
        "exits/MiB pv/ide-dma", ">idle pv/ide-dma"
    ));
    for w in WORKLOADS {
        out.push_str(&format!("{w:<15}"));
        for (base, _) in BASES {
            let c = ratio(records, PV, base, w).map_or("-".into(), |r| format!("{r:.2}x"));
            out.push_str(&format!(" {c:>15}"));
        }
        let e = exits_ratio(records, "ide-dma", w).map_or("-".into(), |r| format!("{r:.4}x"));
        let a = exits_above_idle_ratio(records, "ide-dma", w)
            .map_or("-".into(), |r| format!("{r:.4}x"));
        out.push_str(&format!(" {e:>21} {a:>16}\n"));
    }
    out.push_str("\nissue 14's targets:\n");
    for t in targets(records) {
        let verdict = match t.met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "not measured",
        };
        let value = t
            .value
            .map_or(String::new(), |v| format!(" (measured {v:.3}x)"));
        out.push_str(&format!("  {:<45} {verdict}{value}\n", t.what));
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::BTreeMap;

    pub fn rec(path: &str, workload: &str, mib_per_s: f64, exits: Option<f64>) -> Record {
        Record {
            path: path.into(),
            workload: workload.into(),
            mib_per_s,
            iops: mib_per_s * 256.0,
            exits_per_mib: exits,
            exits_above_idle_per_mib: exits.map(|e| e / 2.0),
            handling_share: exits.map(|_| 0.25),
            bytes: 4 << 20,
            secs: 1.0,
            ops: 1024,
            qd: 1,
            direct: true,
            exits_by_reason: exits
                .map(|_| BTreeMap::from([("io".to_string(), 400u64), ("npf".to_string(), 8)])),
            idle_exits: None,
            handling_cycles_per_mib: None,
            xfer_mode: None,
            hypercalls_per_mib: None,
            event_sends_per_mib: None,
            events_raised_per_mib: None,
            vbd_events_per_mib: None,
            hypercalls_by_call: None,
        }
    }

    pub fn sample() -> Vec<Record> {
        let mut v = Vec::new();
        for w in WORKLOADS {
            v.push(rec("ide-pio", w, 0.2, Some(30000.0)));
            v.push(rec("ide-dma", w, 50.0, Some(100.0)));
            v.push(rec("pv", w, 100.0, Some(4.0)));
            v.push(rec("qemu-virtio", w, 1000.0, None));
        }
        v
    }

    #[test]
    fn targets_are_judged_from_the_ratios_of_one_run() {
        let t = targets(&sample());
        assert_eq!(t.len(), 4 + 2 * WORKLOADS.len());
        let get = |s: &str| t.iter().find(|t| t.what.starts_with(s)).unwrap();
        assert_eq!(get("rand-read-qd32: pv >= 20x ide-pio").met, Some(true));
        assert_eq!(get("rand-read-qd32: pv >= 3x ide-dma").met, Some(false));
        assert_eq!(get("seq-read: pv >= 1.5x").met, Some(true));
        assert_eq!(get("seq-read: pv exits").value, Some(0.04));
        assert_eq!(get("seq-read: pv exits").met, Some(true));
        assert_eq!(get("seq-write: pv >= 0.7x").met, Some(false));
        let only_pv: Vec<Record> = sample().into_iter().filter(|r| r.path == "pv").collect();
        assert!(targets(&only_pv).iter().all(|t| t.met.is_none()));
    }

    #[test]
    fn the_table_shows_ratios_and_verdicts() {
        let t = table(&sample());
        assert!(t.contains("2.00x"), "{t}");
        assert!(t.contains("500.00x"), "{t}");
        assert!(t.contains("0.0400x"), "{t}");
        assert!(t.contains("MISSED (measured 2.000x)"), "{t}");
        assert!(t.contains("io 100, npf 2"), "{t}");
    }
}
