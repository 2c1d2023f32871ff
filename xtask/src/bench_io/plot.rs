//! `bench io`'s plot: MiB/s per workload, one bar per path, grouped by
//! workload, on a logarithmic axis (PIO and plain QEMU's virtio-blk lie
//! three to four orders of magnitude apart), written as SVG with
//! `plotters`.

use crate::bench_disk::results::{find, Record, WORKLOADS};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Bar colours, in path order (colour-blind-safe Okabe–Ito hues).
const COLOURS: [RGBColor; 8] = [
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 158, 115),
    RGBColor(213, 94, 0),
    RGBColor(0, 114, 178),
    RGBColor(204, 121, 167),
    RGBColor(240, 228, 66),
    RGBColor(0, 0, 0),
];

/// The paths of `records`, in the order they first appear.
fn paths(records: &[Record]) -> Vec<&str> {
    let mut v: Vec<&str> = Vec::new();
    for r in records {
        if !v.contains(&r.path.as_str()) {
            v.push(&r.path);
        }
    }
    v
}

/// The axis's range: decades around the smallest and largest positive value.
fn y_range(records: &[Record]) -> (f64, f64) {
    let values = records.iter().map(|r| r.mib_per_s).filter(|v| *v > 0.0);
    let lo = values.clone().fold(f64::INFINITY, f64::min);
    let hi = values.fold(0.0, f64::max);
    if !lo.is_finite() || hi <= 0.0 {
        return (0.01, 10.0);
    }
    (
        10f64.powf(lo.log10().floor()),
        10f64.powf(hi.log10().ceil().max(lo.log10().floor() + 1.0)),
    )
}

/// A value with the digits it needs: `1131`, `75.8`, `0.19`, `0.01`.
fn compact(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        let decimals = (1.0 - v.log10().floor()).clamp(1.0, 6.0) as usize;
        format!("{v:.decimals$}")
    }
}

/// Writes the plot of `records` to `out` (SVG).
pub fn write_svg(records: &[Record], out: &Path) -> Result<(), String> {
    draw(records, out).map_err(|e| format!("cannot draw {}: {e}", out.display()))
}

fn draw(records: &[Record], out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let paths = paths(records);
    let (lo, hi) = y_range(records);
    let root = SVGBackend::new(out, (960, 540)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Linux guest disk I/O by path (QEMU TCG; O_DIRECT, 1 MiB sequential, 4 KiB random)",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..WORKLOADS.len() as f64, (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("MiB/s (log scale; 4 KiB reads: IOPS = 256 x MiB/s)")
        .y_label_formatter(&|v| compact(*v))
        .draw()?;
    let n = paths.len().max(1) as f64;
    let width = 0.8 / n;
    for (i, path) in paths.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let bars = WORKLOADS.iter().enumerate().filter_map(|(w, workload)| {
            let r = find(records, path, workload)?;
            let x0 = w as f64 + 0.1 + i as f64 * width;
            (r.mib_per_s > 0.0).then(|| {
                Rectangle::new(
                    [(x0, lo), (x0 + width * 0.92, r.mib_per_s.min(hi))],
                    colour.filled(),
                )
            })
        });
        chart
            .draw_series(bars)?
            .label(*path)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    // Each bar's value above it.
    let small =
        TextStyle::from(("sans-serif", 10).into_font()).pos(Pos::new(HPos::Center, VPos::Bottom));
    for (i, path) in paths.iter().enumerate() {
        for (w, workload) in WORKLOADS.iter().enumerate() {
            let Some(r) = find(records, path, workload).filter(|r| r.mib_per_s > 0.0) else {
                continue;
            };
            let x = w as f64 + 0.1 + (i as f64 + 0.46) * width;
            let (px, py) = chart.backend_coord(&(x, r.mib_per_s.min(hi)));
            root.draw(&Text::new(
                compact(r.mib_per_s),
                (px, py - 2),
                small.clone(),
            ))?;
        }
    }
    // The workloads' names under their groups.
    let style =
        TextStyle::from(("sans-serif", 15).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    for (w, workload) in WORKLOADS.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(w as f64 + 0.5, lo));
        root.draw(&Text::new(workload.to_string(), (x, y + 8), style.clone()))?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench_io::tests::sample;

    #[test]
    fn values_are_shown_with_the_digits_they_need() {
        assert_eq!(compact(1131.4), "1131");
        assert_eq!(compact(75.83), "75.8");
        assert_eq!(compact(0.19), "0.19");
        assert_eq!(compact(0.01), "0.010");
        assert_eq!(compact(0.5), "0.50");
    }

    #[test]
    fn the_axis_spans_whole_decades_around_the_values() {
        assert_eq!(y_range(&sample()), (0.1, 1000.0));
        assert_eq!(y_range(&[]), (0.01, 10.0));
    }

    #[test]
    fn the_plot_has_a_bar_per_record_and_names_paths_and_workloads() {
        let dir = crate::workspace_root().join("target").join("tmp");
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join(format!("bench-io-plot-{}.svg", std::process::id()));
        let records = sample();
        write_svg(&records, &out).unwrap();
        let svg = std::fs::read_to_string(&out).unwrap();
        let _ = std::fs::remove_file(&out);
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        for name in [
            "ide-pio",
            "pv",
            "qemu-virtio",
            "rand-read-qd32",
            "seq-write",
        ] {
            assert!(svg.contains(name), "{name}");
        }
        assert!(svg.matches("<rect").count() >= records.len(), "{svg}");
    }
}
