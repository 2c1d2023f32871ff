//! `--repeat N`: every path is measured N times (the rounds interleaved, so
//! a slow spell of the host falls on every path alike) and each path and
//! workload keeps the record of its median run by MiB/s — one whole run's
//! numbers, so its exits and counters still belong to the rate shown. The
//! spread (slowest and fastest run) is printed beside it: on a shared
//! machine single runs of the same path differ by up to 2x from boot to
//! boot, and a ratio of two single runs says little.

use super::results::Record;

/// The median run's record of each path and workload of `runs` (every
/// round's records), in the order they first appear, with the slowest and
/// fastest MiB/s of the runs.
pub fn medians(runs: &[Record]) -> Vec<(Record, f64, f64)> {
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for r in runs {
        let key = (r.path.as_str(), r.workload.as_str());
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.into_iter()
        .map(|(path, workload)| {
            let mut same: Vec<&Record> = runs
                .iter()
                .filter(|r| r.path == path && r.workload == workload)
                .collect();
            same.sort_by(|a, b| a.mib_per_s.total_cmp(&b.mib_per_s));
            // The lower median of an even count: a real run, not an average.
            let median = same[(same.len() - 1) / 2].clone();
            let slowest = same[0].mib_per_s;
            let fastest = same[same.len() - 1].mib_per_s;
            (median, slowest, fastest)
        })
        .collect()
}

/// The spread table: per path and workload, the slowest, median and fastest
/// MiB/s of the `n` runs.
pub fn spread_table(medians: &[(Record, f64, f64)], n: u32) -> String {
    let mut out =
        format!("\nMiB/s over {n} runs (the median run's record is the one shown above):\n");
    out.push_str(&format!(
        "{:<12} {:<16} {:>10} {:>10} {:>10}\n",
        "path", "workload", "slowest", "median", "fastest"
    ));
    for (r, lo, hi) in medians {
        out.push_str(&format!(
            "{:<12} {:<16} {:>10.2} {:>10.2} {:>10.2}\n",
            r.path, r.workload, lo, r.mib_per_s, hi
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(path: &str, workload: &str, mib_per_s: f64, ops: u64) -> Record {
        Record {
            path: path.into(),
            workload: workload.into(),
            mib_per_s,
            iops: mib_per_s,
            ops,
            ..Record::default()
        }
    }

    #[test]
    fn each_path_and_workload_keeps_its_median_run_whole() {
        let runs = [
            rec("ide-dma", "seq-read", 60.0, 1),
            rec("ide-dma-mem", "seq-read", 140.0, 1),
            rec("ide-dma", "seq-read", 80.0, 2),
            rec("ide-dma-mem", "seq-read", 70.0, 2),
            rec("ide-dma", "seq-read", 70.0, 3),
            rec("ide-dma-mem", "seq-read", 90.0, 3),
            rec("ide-dma", "seq-write", 50.0, 4),
        ];
        let m = medians(&runs);
        let got: Vec<(&str, &str, f64, u64, f64, f64)> = m
            .iter()
            .map(|(r, lo, hi)| {
                (
                    r.path.as_str(),
                    r.workload.as_str(),
                    r.mib_per_s,
                    r.ops,
                    *lo,
                    *hi,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("ide-dma", "seq-read", 70.0, 3, 60.0, 80.0),
                ("ide-dma-mem", "seq-read", 90.0, 3, 70.0, 140.0),
                ("ide-dma", "seq-write", 50.0, 4, 50.0, 50.0),
            ]
        );
        // An even count takes the lower middle run.
        let two = medians(&[rec("a", "w", 2.0, 1), rec("a", "w", 1.0, 2)]);
        assert_eq!(two[0].0.ops, 2);
        let table = spread_table(&m, 3);
        assert!(table.contains("over 3 runs"), "{table}");
        assert!(
            table.contains("ide-dma-mem  seq-read              70.00      90.00     140.00"),
            "{table}"
        );
    }
}
