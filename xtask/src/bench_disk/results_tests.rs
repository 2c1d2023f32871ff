use super::*;

const LINE: &str = "diskbench path=/dev/sda workload=seq-read bytes=67108864 secs=0.500000 \
                    mib_per_s=128.000 iops=128.0 ops=64 qd=1 direct=1";

#[test]
fn diskbench_lines_parse_and_others_do_not() {
    let l = parse_line(LINE).unwrap();
    assert_eq!(
        l,
        Line {
            workload: "seq-read".into(),
            bytes: 64 << 20,
            secs: 0.5,
            mib_per_s: 128.0,
            iops: 128.0,
            ops: 64,
            qd: 1,
            direct: true,
        }
    );
    for bad in [
        "diskbench /dev/sda seq-read --mib 64",
        "diskbench: cannot open /dev/sda: No such file",
        "diskbench path=/dev/sda workload=seq-read bytes=x secs=1 mib_per_s=1 iops=1 ops=1 qd=1 direct=1",
        "diskbench path=/dev/sda workload=seq-read secs=1 mib_per_s=1 iops=1 ops=1 qd=1 direct=1",
        "vmm-linux: shell ready",
    ] {
        assert_eq!(parse_line(bad), None, "{bad}");
    }
    let console =
        format!("/ # w diskbench /dev/sda seq-read\r\n{LINE}\r\ndbm=42\r\ndiskbench: oops\n");
    assert_eq!(parse_console(&console).len(), 1);
    assert_eq!(console_errors(&console), ["diskbench: oops"]);
}

fn block(at: u64, io: u64, npf: u64, cycles: u64) -> String {
    format!(
        "{STATS_BEGIN}\ndomain 1 backend svm at_ms {at}\n\
         exit               count           cycles  cycles/exit\n\
         io            {io}         100         1\n\
         npf           {npf}         100         1\n\
         total         {}         {cycles}\n\
         in-guest                        300000000\n{STATS_END}\n",
        io + npf
    )
}

#[test]
fn counts_come_from_the_last_complete_block_and_subtract() {
    let log = format!(
        "[INFO ] boot\n{}{}{}",
        block(100, 10, 5, 1000),
        block(200, 30, 6, 5000),
        &block(300, 99, 99, 9999)[..60]
    );
    let c = last_complete_counts(&log).unwrap();
    assert_eq!(c.total(), 36);
    assert_eq!(c.cycles, 5000);
    assert_eq!(c.at_ms, 200);
    assert_eq!(c.guest_cycles, 300_000_000);
    let first = last_complete_counts(&log[..log.find("at_ms 200").unwrap()]).unwrap();
    assert_eq!(first.total(), 15);
    let d = c.since(&first);
    assert_eq!(d.by_reason.get("io"), Some(&20));
    assert_eq!(d.by_reason.get("npf"), Some(&1));
    assert_eq!((d.total(), d.cycles), (21, 4000));
    assert_eq!(last_complete_counts("[INFO ] no stats"), None);
}

#[test]
fn records_take_the_calibration_off_and_plain_paths_have_null_exits() {
    let line = parse_line(LINE).unwrap();
    let window = Counts {
        by_reason: [("io".to_string(), 6500u64)].into_iter().collect(),
        cycles: 64_000_100,
        xen: None,
        at_ms: 2000,
        guest_cycles: 192_000_300,
    };
    let idle = Counts {
        by_reason: [("io".to_string(), 100u64)].into_iter().collect(),
        cycles: 100,
        xen: None,
        at_ms: 1000,
        guest_cycles: 0,
    };
    let r = record("ide-dma", &line, Some(&window), Some(&idle), Some("MWDMA2"));
    assert_eq!(r.exits_per_mib, Some(100.0));
    assert_eq!(r.handling_cycles_per_mib, Some(1_000_000.0));
    assert_eq!(r.idle_exits, Some(100));
    assert_eq!(r.hypercalls_per_mib, None);
    // 100 exits in the idle second, and the window lasted a second longer.
    assert_eq!(r.exits_above_idle_per_mib, Some(6300.0 / 64.0));
    assert_eq!(r.handling_share, Some(0.25));
    let plain = record("qemu-virtio", &line, None, None, None);
    assert_eq!(plain.exits_per_mib, None);
    let json = to_json(&[r, plain]);
    assert!(json.starts_with("[\n  {\"path\": \"ide-dma\", \"workload\": \"seq-read\", \"mib_per_s\": 128.000, \"iops\": 128.000, \"exits_per_mib\": 100.000,"), "{json}");
    assert!(
        json.contains("\"exits_by_reason\": {\"io\": 6500}"),
        "{json}"
    );
    assert!(json.contains("\"xfer_mode\": \"MWDMA2\""), "{json}");
    assert!(json.contains("\"path\": \"qemu-virtio\", \"workload\": \"seq-read\", \"mib_per_s\": 128.000, \"iops\": 128.000, \"exits_per_mib\": null,"), "{json}");
    assert!(
        json.trim_end()
            .ends_with("\"hypercalls_by_call\": null}\n]"),
        "{json}"
    );
    assert_eq!(json_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
}

#[test]
fn the_table_shows_every_record_and_the_ratios_of_paths_that_ran() {
    let line = parse_line(LINE).unwrap();
    let mut slow = line.clone();
    slow.mib_per_s = 32.0;
    let records = [
        record("ide-dma", &line, None, None, Some("MWDMA2")),
        record("qemu-ide", &slow, None, None, Some("MWDMA2")),
    ];
    assert_eq!(
        ratio(&records, "ide-dma", "qemu-ide", "seq-read"),
        Some(4.0)
    );
    assert_eq!(ratio(&records, "ide-dma", "ide-pio", "seq-read"), None);
    let t = table(&records);
    assert!(
        t.contains("ide-dma      seq-read            128.00      128.0        null  MWDMA2"),
        "{t}"
    );
    let row = t.lines().find(|l| l.starts_with("seq-read ")).unwrap();
    assert!(row.contains("4.00x") && row.contains('-'), "{t}");
    assert!(
        !t.contains("of this run"),
        "no ide-dma-mem, no verdict: {t}"
    );
    let mem = record("ide-dma-mem", &slow, None, None, Some("MWDMA2"));
    let within = table(&[records[0].clone(), mem]);
    assert!(within.contains("seq-read: ide-dma is 4.00x the in-memory ide-dma-mem of this run, within issue 13's target of 1/1.5"), "{within}");
    let outside = table(&[
        record("ide-dma", &slow, None, None, None),
        record("ide-dma-mem", &line, None, None, None),
    ]);
    assert!(
        outside
            .contains("seq-read: ide-dma is 0.25x the in-memory ide-dma-mem of this run, OUTSIDE"),
        "{outside}"
    );
    // 128 MiB/s is 134.2 MB/s against 245 MB/s.
    assert!(
        t.contains("seq-read           134.2 MB/s vs 245 MB/s: 0.55x (OUTSIDE the 1.5x target)"),
        "{t}"
    );
}

#[test]
fn xen_counters_per_mib_take_the_calibration_off() {
    let line = parse_line(LINE).unwrap();
    let xen = |sends, events| XenCounts {
        calls: [("event_channel_op/4".to_string(), sends)]
            .into_iter()
            .collect(),
        sends,
        vbd_events: events,
        ..XenCounts::default()
    };
    let window = Counts {
        xen: Some(xen(650, 128)),
        ..Counts::default()
    };
    let idle = Counts {
        xen: Some(xen(10, 0)),
        ..Counts::default()
    };
    let r = record("pv", &line, Some(&window), Some(&idle), None);
    assert_eq!(r.hypercalls_per_mib, Some(10.0));
    assert_eq!(r.event_sends_per_mib, Some(10.0));
    assert_eq!(r.vbd_events_per_mib, Some(2.0));
    assert_eq!(r.events_raised_per_mib, Some(0.0));
    let json = to_json(&[r]);
    assert!(json.contains("\"hypercalls_per_mib\": 10.000"), "{json}");
    assert!(
        json.contains("\"hypercalls_by_call\": {\"event_channel_op/4\": 650}"),
        "{json}"
    );
}
