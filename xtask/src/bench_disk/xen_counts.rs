//! The Xen platform's counters in an exit-statistics block (`--stats` and
//! the 100 ms snapshots): hypercalls by call and sub-op, event-channel
//! traffic, and each PV disk's line (xen-services' `XenStats::write`,
//! vmm-core's `xen::pv_disks::write_stats`).

use std::collections::BTreeMap;

/// What one block says about the Xen interface (absent with `--xen off`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct XenCounts {
    /// Hypercalls by `name/sub-op` as the block names them.
    pub calls: BTreeMap<String, u64>,
    /// `EVTCHNOP_send` calls (the guest's notifications, blkfront's kicks among them).
    pub sends: u64,
    /// Event-channel ports raised in the guest (backends, sends, timers).
    pub raised: u64,
    pub timer_fires: u64,
    /// Summed over the vbds: responses put on the rings, events sent to the
    /// guest for them, the backend's service passes.
    pub vbd_responses: u64,
    pub vbd_events: u64,
    pub vbd_passes: u64,
}

impl XenCounts {
    /// Hypercalls in all.
    pub fn total_calls(&self) -> u64 {
        self.calls.values().sum()
    }

    /// What happened from `earlier` to `self` (counters only grow).
    pub fn since(&self, earlier: &XenCounts) -> XenCounts {
        let d = |a: u64, b: u64| a.saturating_sub(b);
        XenCounts {
            calls: self
                .calls
                .iter()
                .map(|(k, n)| (k.clone(), d(*n, earlier.calls.get(k).copied().unwrap_or(0))))
                .filter(|(_, n)| *n > 0)
                .collect(),
            sends: d(self.sends, earlier.sends),
            raised: d(self.raised, earlier.raised),
            timer_fires: d(self.timer_fires, earlier.timer_fires),
            vbd_responses: d(self.vbd_responses, earlier.vbd_responses),
            vbd_events: d(self.vbd_events, earlier.vbd_events),
            vbd_passes: d(self.vbd_passes, earlier.vbd_passes),
        }
    }
}

/// The number before `what` in `text` (`12 sends` → 12 for `" sends"`).
fn number_before(text: &str, what: &str) -> Option<u64> {
    let head = &text[..text.find(what)?];
    head.rsplit(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// The Xen counters of one statistics block; None when it has none.
pub fn parse_xen(block: &str) -> Option<XenCounts> {
    let mut x = XenCounts::default();
    let mut seen = false;
    let mut in_calls = false;
    for line in block.lines() {
        // A log prefix may precede the block's first line, never these.
        if line.starts_with("xen hypercalls:") {
            seen = true;
            in_calls = true;
            continue;
        }
        if in_calls && line.starts_with(char::is_whitespace) {
            if let Some((name, n)) = line.trim().rsplit_once(char::is_whitespace) {
                if let Ok(n) = n.parse::<u64>() {
                    *x.calls.entry(name.trim().to_string()).or_default() += n;
                }
            }
            continue;
        }
        in_calls = false;
        if let Some(rest) = line.strip_prefix("xen events:") {
            seen = true;
            x.sends = number_before(rest, " sends").unwrap_or(0);
            x.raised = number_before(rest, " raised").unwrap_or(0);
            x.timer_fires = number_before(rest, " timer fires").unwrap_or(0);
        } else if line.starts_with("xen vbd ") {
            seen = true;
            x.vbd_responses += number_before(line, " responses").unwrap_or(0);
            x.vbd_events += number_before(line, " events to the guest").unwrap_or(0);
            x.vbd_passes += number_before(line, " passes").unwrap_or(0);
        }
    }
    seen.then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const BLOCK: &str = "exit count cycles cycles/exit\n\
        io 10 100 10\n\
        xen hypercalls: 7\n\
        \x20 event_channel_op/4                   5\n\
        \x20 hypercall 99/0                       1\n\
        \x20 set_timer_op                         1\n\
        xen events: 5 sends, 9 raised, 1 timer fires; xenstore: 3 requests, 0 ring errors\n\
        xen vbd xvda: 1 connection(s), 4 reads (16 KiB), 0 writes (0 KiB), 0 flushes, 0 errors; \
        4 responses, 2 events to the guest, 3 passes, 4 most in flight\n";

    #[test]
    fn the_xen_lines_of_a_block_parse_and_subtract() {
        let x = parse_xen(BLOCK).unwrap();
        assert_eq!(x.total_calls(), 7);
        assert_eq!(x.calls["event_channel_op/4"], 5);
        assert_eq!(x.calls["hypercall 99/0"], 1);
        assert_eq!((x.sends, x.raised, x.timer_fires), (5, 9, 1));
        assert_eq!((x.vbd_responses, x.vbd_events, x.vbd_passes), (4, 2, 3));
        let mut later = x.clone();
        later.sends = 8;
        *later.calls.get_mut("event_channel_op/4").unwrap() = 8;
        let d = later.since(&x);
        assert_eq!(d.sends, 3);
        assert_eq!(d.total_calls(), 3);
        assert_eq!(d.vbd_events, 0);
        assert_eq!(parse_xen("exit count\nio 1 2 3\n"), None);
    }
}
