//! Shared info and pvclock against the hypervisor's own page.

mod common;
use common::*;
use pv_drivers::shared_info::{tsc_khz, SharedInfoPage};

#[test]
fn pvclock_and_wallclock_read_from_the_hypervisors_page() {
    let (mut xen, mut mem) = boot();
    let shared = SharedInfoPage::map(&mut xen, SHARED_GFN).unwrap();
    assert!(mem.is_mapped(SHARED_GFN));
    let t = shared.time_info(&mut mem, 0).unwrap();
    assert_eq!(t.version % 2, 0);
    assert_eq!(t.tsc_timestamp, TSC_AT_START + TSC_HZ);
    let khz = tsc_khz(&t).unwrap();
    assert!(khz.abs_diff(TSC_HZ / 1000) <= 1, "{khz}");
    // One second after the domain started, then 2.5 s (each scaling
    // truncates, so a nanosecond or two may be lost, as in any guest).
    let tsc = mem.tsc();
    let ns = shared.system_time(&mut mem, 0, tsc).unwrap();
    assert!(ns.abs_diff(1_000_000_000) <= 3, "{ns}");
    let later = TSC_AT_START + TSC_HZ * 5 / 2;
    mem.set_tsc(later);
    let ns = shared.system_time(&mut mem, 0, later).unwrap();
    assert!(ns.abs_diff(xen.dom.system_time(&mem)) <= 3, "{ns}");
    assert!(ns.abs_diff(2_500_000_000) <= 3, "{ns}");
    let base = shared.wallclock_base(&mut mem).unwrap();
    assert!(base.as_nanos().abs_diff(UNIX_NS_AT_START) <= 3);
    let now = shared.wallclock(&mut mem, 0, later).unwrap();
    assert!(now.as_nanos().abs_diff(UNIX_NS_AT_START + 2_500_000_000) <= 3);
}

#[test]
fn version_and_features_come_from_the_dispatcher() {
    let (mut xen, _mem) = boot();
    let v = pv_drivers::hypercall::xen_version(&mut xen).unwrap();
    assert!(v >> 16 >= 4, "{v:#x}");
    let f = pv_drivers::hypercall::xen_features(&mut xen, 0).unwrap();
    assert_ne!(
        f & 1 << xen_abi::version::XENFEAT_AUTO_TRANSLATED_PHYSMAP,
        0
    );
    assert_eq!(
        pv_drivers::hypercall::xen_features(&mut xen, 7),
        Err(pv_drivers::Error::Hypercall(xen_abi::errno::Errno::EINVAL))
    );
}
