//! Grants checked by the hypervisor's grant table: what the frontend
//! grants the backend can map, and a revoke is refused while it does.

mod common;
use common::*;
use pv_drivers::grant_table::GrantTable;
use pv_drivers::hypercall::grant_query_size;
use pv_drivers::Error;
use xen_services::event_channel::DOM0;

#[test]
fn a_grant_is_usable_by_the_backend_until_revoked() {
    let mut g = guest();
    let (frames, max) = grant_query_size(&mut g.xen).unwrap();
    assert!(
        frames >= GRANT_GFNS.len() as u32 && max >= frames,
        "{frames} {max}"
    );
    let r = g
        .grants
        .grant_access(&mut g.mem, DOM0, 0x222, false)
        .unwrap();
    let m = g
        .xen
        .dom
        .grants
        .map(DOM0, r, true)
        .expect("the backend maps it");
    assert_eq!(u64::from(m.gfn()), 0x222);
    assert!(g.grants.backend_using(&mut g.mem, r).unwrap());
    assert_eq!(g.grants.end_access(&mut g.mem, r), Err(Error::GrantInUse));
    g.xen.dom.grants.unmap(m).unwrap();
    g.grants.end_access(&mut g.mem, r).unwrap();
    assert!(g.xen.dom.grants.map(DOM0, r, false).is_err(), "revoked");
}

#[test]
fn read_only_and_foreign_grants_are_enforced_by_the_backend() {
    let mut g = guest();
    let ro = g
        .grants
        .grant_access(&mut g.mem, DOM0, 0x223, true)
        .unwrap();
    assert!(
        g.xen.dom.grants.map(DOM0, ro, true).is_err(),
        "not writable"
    );
    let m = g.xen.dom.grants.map(DOM0, ro, false).unwrap();
    g.xen.dom.grants.unmap(m).unwrap();
    // A grant to another domain is not domain 0's to map.
    let other = g.grants.grant_access(&mut g.mem, 7, 0x224, false).unwrap();
    assert!(g.xen.dom.grants.map(DOM0, other, false).is_err());
    // References beyond the second frame exist once both are mapped.
    let mut t = GrantTable::setup(&mut g.xen, &GRANT_GFNS).unwrap();
    let mut last = 0;
    for _ in 0..600 {
        last = t.grant_access(&mut g.mem, DOM0, 0x225, true).unwrap();
    }
    assert!(last >= 512);
    let m = g.xen.dom.grants.map(DOM0, last, false).unwrap();
    assert_eq!(u64::from(m.gfn()), 0x225);
}
