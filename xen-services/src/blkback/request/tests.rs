//! Decoding requests as `xen-blkfront` sends them, and as a hostile
//! frontend might.

use super::*;
use alloc::vec;
use xen_abi::blkif::BLKIF_RSP_OKAY;

const LIMITS: DiskLimits = DiskLimits {
    sectors: 1 << 20,
    read_only: false,
    flush: true,
    barrier: false,
    discard: false,
    max_indirect_segments: 256,
};

/// A direct request: operation, id, sector and (gref, first, last)
/// segments.
fn slot(op: u8, id: u64, sector: u64, segs: &[(u32, u8, u8)]) -> [u8; SLOT_BYTES] {
    let mut s = [0u8; SLOT_BYTES];
    s[0] = op;
    s[1] = segs.len() as u8;
    s[2..4].copy_from_slice(&0xCA00u16.to_le_bytes());
    s[8..16].copy_from_slice(&id.to_le_bytes());
    s[16..24].copy_from_slice(&sector.to_le_bytes());
    for (i, (g, f, l)) in segs.iter().enumerate() {
        let at = 24 + 8 * i;
        s[at..at + 4].copy_from_slice(&g.to_le_bytes());
        s[at + 4] = *f;
        s[at + 5] = *l;
    }
    s
}

fn indirect(op: u8, id: u64, sector: u64, count: u16, pages: &[u32]) -> [u8; SLOT_BYTES] {
    let mut s = [0u8; SLOT_BYTES];
    s[0] = BLKIF_OP_INDIRECT;
    s[1] = op;
    s[2..4].copy_from_slice(&count.to_le_bytes());
    s[8..16].copy_from_slice(&id.to_le_bytes());
    s[16..24].copy_from_slice(&sector.to_le_bytes());
    for (i, g) in pages.iter().enumerate() {
        s[28 + 4 * i..32 + 4 * i].copy_from_slice(&g.to_le_bytes());
    }
    s
}

fn status(d: &Decoded) -> i16 {
    d.work.as_ref().map_or_else(|e| *e, |_| BLKIF_RSP_OKAY)
}

#[test]
fn reads_and_writes_as_blkfront_sends_them() {
    let d = decode(
        &slot(BLKIF_OP_READ, 9, 2048, &[(8, 0, 7), (9, 0, 3)]),
        &LIMITS,
    );
    assert_eq!((d.id, d.operation), (9, BLKIF_OP_READ));
    let Ok(Work::Read {
        sector: 2048,
        segments: Segments::Direct(segs),
    }) = d.work
    else {
        panic!("{d:?}")
    };
    assert_eq!(segs.len(), 2);
    assert_eq!(segs[0].sectors() + segs[1].sectors(), 12);
    assert_eq!(segs[1].page_bytes(), 0..2048);
    let d = decode(&slot(BLKIF_OP_WRITE, 10, 0, &[(8, 2, 5)]), &LIMITS);
    assert!(matches!(d.work, Ok(Work::Write { flush: false, .. })));
}

#[test]
fn a_flush_without_data_is_a_flush_and_with_data_a_durable_write() {
    let d = decode(&slot(BLKIF_OP_FLUSH_DISKCACHE, 1, 0, &[]), &LIMITS);
    assert_eq!(
        (d.operation, d.work),
        (BLKIF_OP_FLUSH_DISKCACHE, Ok(Work::Flush))
    );
    let d = decode(&slot(BLKIF_OP_FLUSH_DISKCACHE, 1, 8, &[(8, 0, 7)]), &LIMITS);
    assert!(matches!(d.work, Ok(Work::Write { flush: true, .. })));
}

#[test]
fn operations_not_offered_are_not_supported_and_echo_the_operation() {
    let no_flush = DiskLimits {
        flush: false,
        max_indirect_segments: 0,
        ..LIMITS
    };
    for op in [
        BLKIF_OP_WRITE_BARRIER,
        BLKIF_OP_FLUSH_DISKCACHE,
        BLKIF_OP_DISCARD,
        BLKIF_OP_INDIRECT,
        4,
        7,
        0xFF,
    ] {
        let d = decode(&slot(op, 77, 0, &[(8, 0, 7)]), &no_flush);
        assert_eq!(d.id, 77);
        assert_eq!(d.operation, op);
        assert_eq!(status(&d), BLKIF_RSP_EOPNOTSUPP, "op {op}");
    }
}

#[test]
fn bad_segments_and_counts_are_errors() {
    for segs in [
        &[][..],
        &[(8, 4, 3)][..],
        &[(8, 0, 8)][..],
        &[(8, 0, 7), (9, 7, 255)][..],
    ] {
        let d = decode(&slot(BLKIF_OP_READ, 1, 0, segs), &LIMITS);
        assert_eq!(status(&d), BLKIF_RSP_ERROR, "{segs:?}");
    }
    // nr_segments past 11, whatever follows.
    for nr in [12u8, 100, 255] {
        let mut s = slot(BLKIF_OP_WRITE, 1, 0, &[(8, 0, 7)]);
        s[1] = nr;
        assert_eq!(status(&decode(&s, &LIMITS)), BLKIF_RSP_ERROR);
    }
    // Eleven is the most.
    let eleven = [(8u32, 0u8, 7u8); 11];
    assert_eq!(
        status(&decode(&slot(BLKIF_OP_READ, 1, 0, &eleven), &LIMITS)),
        BLKIF_RSP_OKAY
    );
}

#[test]
fn transfers_past_the_end_of_the_disk_are_errors() {
    let small = DiskLimits {
        sectors: 16,
        ..LIMITS
    };
    let ok = decode(&slot(BLKIF_OP_READ, 1, 8, &[(8, 0, 7)]), &small);
    assert_eq!(status(&ok), BLKIF_RSP_OKAY);
    for sector in [9, 16, u64::MAX - 3, u64::MAX] {
        let d = decode(&slot(BLKIF_OP_READ, 1, sector, &[(8, 0, 7)]), &small);
        assert_eq!(status(&d), BLKIF_RSP_ERROR, "sector {sector}");
    }
    let d = decode(
        &slot(BLKIF_OP_DISCARD, 1, 0, &[]),
        &DiskLimits {
            discard: true,
            ..small
        },
    );
    // A discard of 0 sectors at 0 is inside; one of u64::MAX is not.
    assert_eq!(status(&d), BLKIF_RSP_OKAY);
    let mut s = slot(BLKIF_OP_DISCARD, 1, 1, &[]);
    s[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
    let d = decode(
        &s,
        &DiskLimits {
            discard: true,
            ..small
        },
    );
    assert_eq!(status(&d), BLKIF_RSP_ERROR);
}

#[test]
fn read_only_disks_refuse_writes_but_serve_reads_and_flushes() {
    let ro = DiskLimits {
        read_only: true,
        discard: true,
        ..LIMITS
    };
    for s in [
        slot(BLKIF_OP_WRITE, 1, 0, &[(8, 0, 7)]),
        slot(BLKIF_OP_FLUSH_DISKCACHE, 1, 0, &[(8, 0, 7)]),
        slot(BLKIF_OP_DISCARD, 1, 0, &[]),
        indirect(BLKIF_OP_WRITE, 1, 0, 20, &[8]),
    ] {
        assert_eq!(status(&decode(&s, &ro)), BLKIF_RSP_ERROR);
    }
    assert_eq!(
        status(&decode(&slot(BLKIF_OP_READ, 1, 0, &[(8, 0, 7)]), &ro)),
        BLKIF_RSP_OKAY
    );
    assert_eq!(
        decode(&slot(BLKIF_OP_FLUSH_DISKCACHE, 1, 0, &[]), &ro).work,
        Ok(Work::Flush)
    );
}

#[test]
fn indirect_requests_echo_their_real_operation_and_check_their_segments() {
    let d = decode(&indirect(BLKIF_OP_READ, 5, 0, 600, &[20, 21]), &{
        DiskLimits {
            max_indirect_segments: 1024,
            ..LIMITS
        }
    });
    assert_eq!(d.operation, BLKIF_OP_READ);
    let Ok(Work::Read {
        segments: Segments::Indirect { count: 600, pages },
        ..
    }) = d.work
    else {
        panic!("{d:?}")
    };
    assert_eq!(pages, [20, 21]);
    // More segments than advertised, none, or an operation other than
    // read or write.
    assert_eq!(
        status(&decode(&indirect(BLKIF_OP_READ, 5, 0, 257, &[20]), &LIMITS)),
        BLKIF_RSP_ERROR
    );
    assert_eq!(
        status(&decode(&indirect(BLKIF_OP_READ, 5, 0, 0, &[20]), &LIMITS)),
        BLKIF_RSP_ERROR
    );
    let d = decode(&indirect(BLKIF_OP_DISCARD, 5, 0, 4, &[20]), &LIMITS);
    assert_eq!(
        (d.operation, status(&d)),
        (BLKIF_OP_DISCARD, BLKIF_RSP_EOPNOTSUPP)
    );
    // The segments in the pages: checked like direct ones.
    let mut page = [0u8; 4096];
    for i in 0..4 {
        page[8 * i..8 * i + 4].copy_from_slice(&(100 + i as u32).to_le_bytes());
        page[8 * i + 5] = 7;
    }
    let segs = indirect_segments(&[page], 4, 0, &LIMITS).unwrap();
    assert_eq!(segs.len(), 4);
    assert_eq!(segs[3].gref, 103);
    page[8 * 2 + 4] = 9;
    assert_eq!(indirect_segments(&[page], 4, 0, &LIMITS), None);
    // Fewer pages than the count needs, or a transfer past the end.
    assert_eq!(indirect_segments(&[], 4, 0, &LIMITS), None);
    page[8 * 2 + 4] = 0;
    assert_eq!(
        indirect_segments(&[page], 4, LIMITS.sectors - 31, &LIMITS),
        None
    );
    assert!(indirect_segments(&[page], 4, LIMITS.sectors - 32, &LIMITS).is_some());
}

#[test]
fn every_slot_decodes_without_panicking() {
    // A cheap sweep of hostile slots; the fuzz target goes further.
    let mut seed = 0x1234_5678_9abc_def0u64;
    let limits = [
        LIMITS,
        DiskLimits {
            sectors: 0,
            read_only: true,
            flush: false,
            barrier: true,
            discard: true,
            max_indirect_segments: u32::MAX,
        },
    ];
    for _ in 0..20_000 {
        let mut s = [0u8; SLOT_BYTES];
        for b in s.iter_mut() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            *b = seed as u8;
        }
        s[0] %= 8;
        for l in &limits {
            let d = decode(&s, l);
            assert_eq!(d.id, u64::from_le_bytes(s[8..16].try_into().unwrap()));
        }
    }
    let pages = vec![[0xFFu8; 4096]; 8];
    assert_eq!(
        indirect_segments(&pages, u16::MAX, 0, &LIMITS),
        None,
        "more segments than the pages hold"
    );
}
