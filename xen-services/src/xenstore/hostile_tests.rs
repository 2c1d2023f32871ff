//! A randomised hostile client: any message type, transaction id and
//! payload from several guests at once. The server must answer every
//! message, never panic, and stay inside its quotas.

use alloc::vec::Vec;

use test_rng::XorShift;
use xen_abi::xenstore::XENSTORE_PAYLOAD_MAX;

use super::XenStore;

#[test]
fn hostile_messages_never_panic_and_memory_stays_bounded() {
    let mut rng = XorShift::per_run("xenstore_hostile", 12);
    let mut xs = XenStore::new();
    for d in 1..=3 {
        xs.introduce_domain(d);
    }
    let words: [&[u8]; 12] = [
        b"data",
        b"/local/domain/1/data",
        b"/local/domain/2",
        b"device",
        b"..",
        b"//",
        b"@releaseDomain",
        b"x",
        b"/",
        b"T",
        b"F",
        b"n1",
    ];
    for _ in 0..20_000 {
        let dom = 1 + rng.below(3) as u16;
        let kind = if rng.below(8) == 0 {
            rng.next() as u32
        } else {
            rng.below(27) as u32
        };
        let tx = match rng.below(4) {
            0 => rng.next() as u32,
            1 => rng.below(40) as u32,
            _ => 0,
        };
        let mut payload = Vec::new();
        for _ in 0..rng.below(5) {
            match rng.below(4) {
                0 => payload.push(0),
                1 => payload.push(rng.byte()),
                _ => {
                    payload.extend_from_slice(words[rng.below(words.len() as u64) as usize]);
                    for _ in 0..rng.below(3) {
                        payload.push(b'/');
                        payload.push(b'a' + rng.below(26) as u8);
                    }
                    payload.push(0);
                }
            }
        }
        if rng.below(50) == 0 {
            payload.resize(rng.below(5000) as usize, b'a');
        }
        let out = xs.request(dom, kind, tx, 5, &payload);
        assert!(!out.is_empty() && out.len() <= 1 + 3 * 129);
        for r in &out {
            assert!(r.payload.len() <= XENSTORE_PAYLOAD_MAX);
        }
        assert!(xs.tree().len() <= 100 + 3 * 1000);
        assert!(xs.open_transactions() <= 30);
        for d in 1..=3 {
            assert!(xs.watches().count(d) <= 128);
        }
    }
}
