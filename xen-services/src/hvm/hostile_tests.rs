//! A hostile guest against [`XenDomain::hypercall`]: the wrong privilege
//! or mode, numbers and sub-ops that do not exist, pointers into a hole in
//! its address space (`EFAULT`, and nothing changes), out-of-range vCPUs,
//! ports, params and domains, and thousands of random calls over random
//! memory (no panic; a pending bit is only ever set for a bound port).

use super::domain::InfoAt;
use super::fake_guest::*;
use super::*;
use alloc::vec::Vec;
use test_rng::XorShift;
use xen_abi::errno::Errno;
use xen_abi::event_channel::VIRQ_TIMER;
use xen_abi::grant_table::GNTST_BAD_DOMAIN;
use xen_abi::hvm::*;
use xen_abi::hypercall::*;
use xen_abi::memory::{E820Entry, DOMID_SELF, E820_RAM, XENMAPSPACE_SHARED_INFO};

use crate::event_channel::is_pending;

/// A booted domain whose guest has a hole at [`HOLE`] (one page).
const HOLE: u64 = 0x8000;

fn holed() -> (XenDomain, FakeGuest) {
    let map = alloc::vec![E820Entry {
        addr: 0,
        size: 0x10_0000,
        kind: E820_RAM
    }];
    let mut d = XenDomain::new(XenConfig {
        memory_map: map,
        ..config()
    });
    let mut g = FakeGuest::new(1 << 20);
    g.tsc = config().tsc_at_start + config().tsc_hz;
    g.hole = HOLE..HOLE + 0x1000;
    map_rings(&mut d, &mut g);
    (d, g)
}

/// Every call that takes a pointer, as (number, arguments) with `P` where
/// the pointer goes.
const P: u64 = u64::MAX - 0x5A5A;

fn pointer_calls() -> Vec<(u32, Vec<u64>)> {
    let mut calls = Vec::new();
    let mut add = |nr: u32, args: &[u64]| calls.push((nr, args.to_vec()));
    add(HYPERVISOR_MEMORY_OP, &[XENMEM_ADD_TO_PHYSMAP.into(), P]);
    add(HYPERVISOR_MEMORY_OP, &[XENMEM_MEMORY_MAP.into(), P]);
    for sub in [
        XENVER_EXTRAVERSION,
        XENVER_COMPILE_INFO,
        XENVER_CAPABILITIES,
        XENVER_CHANGESET,
        XENVER_PLATFORM_PARAMETERS,
        XENVER_GET_FEATURES,
        XENVER_GUEST_HANDLE,
        XENVER_COMMANDLINE,
    ] {
        add(HYPERVISOR_XEN_VERSION, &[sub.into(), P]);
    }
    add(HYPERVISOR_CONSOLE_IO, &[CONSOLEIO_WRITE.into(), 16, P]);
    for sub in [
        GNTTABOP_QUERY_SIZE,
        GNTTABOP_SETUP_TABLE,
        GNTTABOP_SET_VERSION,
        GNTTABOP_GET_VERSION,
    ] {
        add(HYPERVISOR_GRANT_TABLE_OP, &[sub.into(), P, 1]);
    }
    for sub in [
        VCPUOP_REGISTER_VCPU_INFO,
        VCPUOP_REGISTER_RUNSTATE_MEMORY_AREA,
        VCPUOP_SET_SINGLESHOT_TIMER,
    ] {
        add(HYPERVISOR_VCPU_OP, &[sub.into(), 0, P]);
    }
    for sub in [SCHEDOP_SHUTDOWN, SCHEDOP_POLL, SCHEDOP_SHUTDOWN_CODE] {
        add(HYPERVISOR_SCHED_OP, &[sub.into(), P]);
    }
    for sub in [
        EVTCHNOP_BIND_INTERDOMAIN,
        EVTCHNOP_BIND_VIRQ,
        EVTCHNOP_CLOSE,
        EVTCHNOP_SEND,
        EVTCHNOP_STATUS,
        EVTCHNOP_ALLOC_UNBOUND,
        EVTCHNOP_BIND_IPI,
        EVTCHNOP_BIND_VCPU,
        EVTCHNOP_UNMASK,
    ] {
        add(HYPERVISOR_EVENT_CHANNEL_OP, &[sub.into(), P]);
    }
    for sub in [HVMOP_SET_PARAM, HVMOP_GET_PARAM, HVMOP_GET_TIME] {
        add(HYPERVISOR_HVM_OP, &[sub.into(), P]);
    }
    calls
}

fn at(nr: u32, args: &[u64], pointer: u64) -> HypercallArgs {
    let mut a = hc(nr, &[]);
    for (slot, &v) in a.args.iter_mut().zip(args) {
        *slot = if v == P { pointer } else { v };
    }
    a
}

#[test]
fn privilege_and_mode_are_checked_first() {
    let (mut d, mut g) = boot();
    let before = snapshot(&mut d, &g);
    for (nr, args) in pointer_calls() {
        for cpl in 1..=3 {
            let a = HypercallArgs {
                cpl,
                ..at(nr, &args, ARG)
            };
            assert_eq!(
                call(&mut d, &mut g, a).ret,
                err(Errno::EPERM),
                "{nr} cpl {cpl}"
            );
        }
        let a = HypercallArgs {
            long_mode: false,
            ..at(nr, &args, ARG)
        };
        assert_eq!(
            call(&mut d, &mut g, a).ret,
            err(Errno::ENOSYS),
            "{nr} 32-bit"
        );
    }
    let shutdown = HypercallArgs {
        cpl: 3,
        ..hc(HYPERVISOR_SCHED_OP, &[SCHEDOP_SHUTDOWN.into(), ARG])
    };
    assert_eq!(call(&mut d, &mut g, shutdown).action, Action::None);
    assert_eq!(snapshot(&mut d, &g), before);
}

#[test]
fn unknown_numbers_and_sub_ops_are_enosys() {
    let (mut d, mut g) = boot();
    let before = snapshot(&mut d, &g);
    let served = [12u32, 15, 17, 18, 20, 21, 24, 29, 32, 34];
    let mut numbers: Vec<u64> = (0..64u64)
        .filter(|n| !served.contains(&(*n as u32)))
        .collect();
    numbers.extend([1000, u64::from(u32::MAX), 1 << 32, (1 << 32) | 17, u64::MAX]);
    for nr in numbers {
        let a = HypercallArgs {
            nr,
            ..hc(0, &[0, ARG, 1])
        };
        assert_eq!(
            call(&mut d, &mut g, a).ret,
            err(Errno::ENOSYS),
            "hypercall {nr:#x}"
        );
    }
    let subs: [(u32, &[u32]); 8] = [
        (
            HYPERVISOR_MEMORY_OP,
            &[0, 1, 2, 3, 4, 6, 10, 11, 14, 15, 23, 0x3F],
        ),
        (HYPERVISOR_XEN_VERSION, &[10, 11, 99, u32::MAX]),
        (HYPERVISOR_CONSOLE_IO, &[2, 99, u32::MAX]),
        (
            HYPERVISOR_GRANT_TABLE_OP,
            &[0, 1, 3, 4, 5, 7, 9, 11, 12, 99],
        ),
        (HYPERVISOR_VCPU_OP, &[0, 1, 2, 4, 11, 12, 13, 14, 15, 99]),
        (HYPERVISOR_SCHED_OP, &[4, 6, 7, 99, u32::MAX]),
        (HYPERVISOR_EVENT_CHANNEL_OP, &[2, 10, 11, 12, 13, 99]),
        (HYPERVISOR_HVM_OP, &[2, 5, 9, 15, 23, 24, 25, 99]),
    ];
    for (nr, ops) in subs {
        for &sub in ops {
            let a = hc(nr, &[sub.into(), 0, ARG]);
            let a = if nr == HYPERVISOR_GRANT_TABLE_OP {
                hc(nr, &[sub.into(), ARG, 1])
            } else if nr == HYPERVISOR_VCPU_OP {
                a
            } else {
                hc(nr, &[sub.into(), ARG])
            };
            assert_eq!(
                call(&mut d, &mut g, a).ret,
                err(Errno::ENOSYS),
                "{nr}/{sub}"
            );
        }
    }
    // vm_assist refuses what it does not know with EINVAL, as Xen does.
    let a = hc(HYPERVISOR_VM_ASSIST, &[VMASST_CMD_ENABLE.into(), 0]);
    assert_eq!(call(&mut d, &mut g, a).ret, err(Errno::EINVAL));
    assert_eq!(snapshot(&mut d, &g), before);
}

#[test]
fn every_pointer_into_the_hole_is_efault_and_changes_nothing() {
    let (mut d, mut g) = holed();
    let before = snapshot(&mut d, &g);
    let past_ram = g.ram.len() as u64;
    for pointer in [
        HOLE,
        HOLE + 0x800,
        HOLE - 2,
        past_ram - 2,
        past_ram,
        u64::MAX - 2,
    ] {
        for (nr, args) in pointer_calls() {
            let o = call(&mut d, &mut g, at(nr, &args, pointer));
            assert_eq!(o, failed(Errno::EFAULT), "{nr}/{} at {pointer:#x}", args[0]);
        }
        assert_eq!(snapshot(&mut d, &g), before, "at {pointer:#x}");
    }
    let msr = xen_abi::cpuid::XEN_MSR_HYPERCALL_PAGE;
    for page in [HOLE, past_ram, !0xFFF] {
        assert!(d.write_hypercall_msr(&mut g, msr, page).is_err());
    }
    assert_eq!(snapshot(&mut d, &g), before);
    // Pointers inside a good argument: the memory map's buffer, the vCPU
    // info frame (guest-physical), the console text.
    let o = memop(
        &mut d,
        &mut g,
        XENMEM_MEMORY_MAP,
        &cat(&[&u32b(8), &[0; 4], &u64b(HOLE)]),
    );
    assert_eq!(o.ret, err(Errno::EFAULT));
    let reg = cat(&[&u64b(HOLE >> 12), &[0; 8]]);
    let o = vcpuop(&mut d, &mut g, VCPUOP_REGISTER_VCPU_INFO, &reg);
    assert_eq!(o.ret, err(Errno::EFAULT));
    assert_eq!(d.vcpus[0].info, InfoAt::Shared);
    let o = call(
        &mut d,
        &mut g,
        hc(
            HYPERVISOR_CONSOLE_IO,
            &[CONSOLEIO_WRITE.into(), 4, HOLE - 2],
        ),
    );
    assert_eq!(o.ret, err(Errno::EFAULT));
    let mut after = snapshot(&mut d, &g);
    after.guest.ram = before.guest.ram.clone(); // the arguments written
    assert_eq!(after, before);
    // The runstate area is best effort: a bad one is accepted, not written.
    let o = vcpuop(
        &mut d,
        &mut g,
        VCPUOP_REGISTER_RUNSTATE_MEMORY_AREA,
        &u64b(HOLE),
    );
    assert_eq!(o.ret, 0);
}

#[test]
fn results_the_guest_cannot_receive_undo_the_operation() {
    let (mut d, mut g) = boot();
    g.read_only = ARG..ARG + 0x1000;
    let before = snapshot(&mut d, &g);
    // Out-fields in read-only memory: the port is taken back.
    for (sub, arg) in [
        (EVTCHNOP_BIND_VIRQ, cat(&[&u32b(VIRQ_TIMER), &[0; 8]])),
        (EVTCHNOP_BIND_IPI, alloc::vec![0; 8]),
        (EVTCHNOP_ALLOC_UNBOUND, cat(&[&u16b(DOMID_SELF), &[0; 6]])),
    ] {
        g.ram[ARG as usize..ARG as usize + arg.len()].copy_from_slice(&arg);
        let o = call(
            &mut d,
            &mut g,
            hc(HYPERVISOR_EVENT_CHANNEL_OP, &[sub.into(), ARG]),
        );
        assert_eq!(o.ret, err(Errno::EFAULT), "{sub}");
        g.ram[ARG as usize..ARG as usize + arg.len()].fill(0);
        assert_eq!(snapshot(&mut d, &g).domain, before.domain, "{sub}");
    }
    assert_eq!(d.ports.virq_port(0, VIRQ_TIMER), None);
    g.read_only = 0..0;
    assert_eq!(bind_virq(&mut d, &mut g, VIRQ_TIMER, 0).0, 0);
    // Reconnecting the console: the guest closes its end, then binds to
    // the backend's again, with local_port read-only. The new port was
    // raised (sends while unbound were dropped) and then closed: no
    // pending bit may be left for it.
    let console = d.params[HVM_PARAM_CONSOLE_EVTCHN as usize] as u32;
    let o = evtchn(&mut d, &mut g, EVTCHNOP_CLOSE, &u32b(console));
    assert_eq!(o.ret, 0);
    let bind = cat(&[&u16b(0), &[0; 2], &u32b(d.console_backend_port), &[0; 4]]);
    g.poke(ARG, &bind);
    g.read_only = ARG..ARG + 0x1000;
    let before = snapshot(&mut d, &g);
    let o = call(
        &mut d,
        &mut g,
        hc(
            HYPERVISOR_EVENT_CHANNEL_OP,
            &[EVTCHNOP_BIND_INTERDOMAIN.into(), ARG],
        ),
    );
    assert_eq!(o.ret, err(Errno::EFAULT));
    check_pending_only_for_bound_ports(&d);
    assert_eq!(snapshot(&mut d, &g), before, "an EFAULT changes nothing");
    g.read_only = 0..0;
    let o = call(
        &mut d,
        &mut g,
        hc(
            HYPERVISOR_EVENT_CHANNEL_OP,
            &[EVTCHNOP_BIND_INTERDOMAIN.into(), ARG],
        ),
    );
    assert_eq!(o.ret, 0);
    let port = g.peek_u32(ARG + 8);
    assert!(
        is_pending(d.shared_info_bytes(), port),
        "raised once on binding"
    );
}

#[test]
fn out_of_range_vcpus_ports_params_and_domains() {
    let (mut d, mut g) = boot();
    let before = snapshot(&mut d, &g);
    let vcpus = config().vcpus.into();
    for vcpu in [vcpus, vcpus + 1, 1 << 32, u64::MAX] {
        for sub in [
            VCPUOP_REGISTER_VCPU_INFO,
            VCPUOP_SET_SINGLESHOT_TIMER,
            VCPUOP_STOP_SINGLESHOT_TIMER,
            VCPUOP_IS_UP,
            99,
        ] {
            let a = hc(HYPERVISOR_VCPU_OP, &[sub.into(), vcpu, ARG]);
            let o = call(&mut d, &mut g, a);
            assert_eq!(o.ret, err(Errno::ENOENT), "vcpu_op {sub} on {vcpu}");
        }
        let v = u32::try_from(vcpu).unwrap_or(u32::MAX);
        assert_eq!(
            bind_virq(&mut d, &mut g, VIRQ_TIMER, v).0,
            err(Errno::ENOENT)
        );
        let o = evtchn(
            &mut d,
            &mut g,
            EVTCHNOP_BIND_IPI,
            &cat(&[&u32b(v), &[0; 4]]),
        );
        assert_eq!(o.ret, err(Errno::ENOENT));
        let timer = HypercallArgs {
            vcpu: v,
            ..hc(HYPERVISOR_SET_TIMER_OP, &[1])
        };
        assert_eq!(call(&mut d, &mut g, timer).ret, err(Errno::EINVAL));
    }
    for port in [0u32, 3, 4095, 4096, u32::MAX] {
        // Port 0 is valid (reserved): unmasking it does nothing, as in Xen.
        let subs: &[u32] = if port == 0 {
            &[EVTCHNOP_SEND, EVTCHNOP_CLOSE]
        } else {
            &[EVTCHNOP_SEND, EVTCHNOP_CLOSE, EVTCHNOP_UNMASK]
        };
        for &sub in subs {
            let o = evtchn(&mut d, &mut g, sub, &u32b(port));
            assert_eq!(o.ret, err(Errno::EINVAL), "{sub} on {port}");
        }
        let o = evtchn(
            &mut d,
            &mut g,
            EVTCHNOP_BIND_VCPU,
            &cat(&[&u32b(port), &[0; 4]]),
        );
        assert_eq!(o.ret, err(Errno::EINVAL));
    }
    for index in [HVM_NR_PARAMS, HVM_NR_PARAMS + 1, u32::MAX] {
        assert_eq!(get_param(&mut d, &mut g, index).0, err(Errno::EINVAL));
    }
    // Only the callback is the guest's to set.
    for index in [
        HVM_PARAM_STORE_PFN,
        HVM_PARAM_STORE_EVTCHN,
        HVM_PARAM_CONSOLE_PFN,
        HVM_PARAM_CONSOLE_EVTCHN,
        38,
    ] {
        let o = hvmop(
            &mut d,
            &mut g,
            HVMOP_SET_PARAM,
            &param(DOMID_SELF, index, 5),
        );
        assert_eq!(o.ret, err(Errno::EPERM), "set param {index}");
    }
    // Another domain: EPERM (grant query: GNTST_bad_domain).
    for dom in [0u16, 2, 0x7FF1, 0x7FF2, u16::MAX] {
        for op in [HVMOP_GET_PARAM, HVMOP_SET_PARAM] {
            let o = hvmop(
                &mut d,
                &mut g,
                op,
                &param(dom, HVM_PARAM_CALLBACK_IRQ, 0xF3),
            );
            assert_eq!(o.ret, err(Errno::EPERM), "hvm_op {op} dom {dom}");
        }
        let mut arg = physmap(XENMAPSPACE_SHARED_INFO, 0, 0x80);
        arg[..2].copy_from_slice(&u16b(dom));
        let o = memop(&mut d, &mut g, XENMEM_ADD_TO_PHYSMAP, &arg);
        assert_eq!(o.ret, err(Errno::EPERM));
        let o = evtchn(
            &mut d,
            &mut g,
            EVTCHNOP_ALLOC_UNBOUND,
            &cat(&[&u16b(dom), &[0; 6]]),
        );
        assert_eq!(o.ret, err(Errno::EPERM));
        let o = evtchn(
            &mut d,
            &mut g,
            EVTCHNOP_STATUS,
            &cat(&[&u16b(dom), &[0; 2], &u32b(1), &[0; 16]]),
        );
        assert_eq!(o.ret, err(Errno::EPERM));
        g.poke(ARG, &cat(&[&u16b(dom), &[0; 14]]));
        let o = gnttab(&mut d, &mut g, GNTTABOP_GET_VERSION);
        assert_eq!(o.ret, err(Errno::EPERM));
        let o = gnttab(&mut d, &mut g, GNTTABOP_QUERY_SIZE);
        assert_eq!(
            (o.ret, g.peek(ARG + 12, 2)),
            (0, GNTST_BAD_DOMAIN.to_le_bytes().to_vec())
        );
    }
    let o = sched(&mut d, &mut g, SCHEDOP_SHUTDOWN, &u32b(6));
    assert_eq!(o, failed(Errno::EINVAL));
    let mut after = snapshot(&mut d, &g);
    after.guest.ram = before.guest.ram.clone();
    assert_eq!(after, before);
}

#[test]
fn vcpu_info_must_fit_in_its_page() {
    for offset in [4096 - 63u32, 4096 - 32, 4096 - 8, 4096, 8192, u32::MAX, 4] {
        let (mut d, mut g) = boot();
        let reg = cat(&[&u64b(0x90), &u32b(offset), &[0; 4]]);
        let o = vcpuop(&mut d, &mut g, VCPUOP_REGISTER_VCPU_INFO, &reg);
        assert_eq!(o.ret, err(Errno::EINVAL), "offset {offset}");
        assert_eq!(d.vcpus[0].info, InfoAt::Shared);
    }
    for mfn in [u64::MAX, u64::MAX >> 11, 1 << 52] {
        let (mut d, mut g) = boot();
        let reg = cat(&[&u64b(mfn), &[0; 8]]);
        let o = vcpuop(&mut d, &mut g, VCPUOP_REGISTER_VCPU_INFO, &reg);
        assert!(
            o.ret == err(Errno::EINVAL) || o.ret == err(Errno::EFAULT),
            "mfn {mfn:#x}"
        );
        assert_eq!(d.vcpus[0].info, InfoAt::Shared);
    }
    let (mut d, mut g) = boot();
    let reg = cat(&[&u64b(0x90), &u32b(4096 - 64), &[0; 4]]);
    let o = vcpuop(&mut d, &mut g, VCPUOP_REGISTER_VCPU_INFO, &reg);
    assert_eq!(o.ret, 0, "the last slot of the page");
}

#[test]
fn the_statistics_stay_bounded_whatever_the_guest_calls() {
    let (mut d, mut g) = boot();
    let mut rng = XorShift::new(0x5747_5354);
    for _ in 0..20_000 {
        let a = HypercallArgs {
            nr: rng.next(),
            ..hc(0, &[rng.next()])
        };
        call(&mut d, &mut g, a);
        let a = hc(HYPERVISOR_HVM_OP, &[rng.next(), ARG]);
        call(&mut d, &mut g, a);
    }
    assert_eq!(d.stats.total_calls(), 40_000);
    assert!(
        d.stats.calls.len() <= super::stats::MAX_CALL_KEYS + 1,
        "{} keys",
        d.stats.calls.len()
    );
    assert!(d.stats.calls[&super::stats::OTHER_CALLS] > 30_000);
}

/// The hypercalls served (and a few that are not), for the random test.
const NUMBERS: [u32; 13] = [12, 15, 17, 18, 20, 21, 24, 29, 32, 34, 33, 7, 23];

/// An argument word: a pointer into RAM, the hole, a ring, or past RAM; a
/// small number; or anything.
fn any_arg(rng: &mut XorShift, ram: u64) -> u64 {
    match rng.below(8) {
        0 | 1 => rng.below(ram),
        2 => HOLE + rng.below(0x1000),
        3 => (config().store_gfn << 12) + rng.below(0x1000),
        4 => ram - rng.below(32),
        5 => rng.next(),
        _ => rng.below(40),
    }
}

/// A 32-byte argument structure: small numbers, domids and frames mostly.
fn any_struct(rng: &mut XorShift) -> [u8; 32] {
    let mut b = [0u8; 32];
    for word in b.chunks_exact_mut(4) {
        let v: u32 = match rng.below(6) {
            0 => rng.below(8) as u32,
            1 => u32::from(DOMID_SELF) | (rng.below(4) as u32) << 16,
            2 => rng.below(4096) as u32,
            3 => rng.next() as u32,
            _ => rng.below(64) as u32,
        };
        word.copy_from_slice(&u32b(v));
    }
    b
}

#[test]
fn random_hypercalls_never_panic_and_raise_only_bound_ports() {
    let mut rng = XorShift::per_run(
        "random_hypercalls_never_panic_and_raise_only_bound_ports",
        0x4856_4D31,
    );
    let mut calls = 0u64;
    for _ in 0..12 {
        let mut cfg = config();
        cfg.vcpus = 1 + rng.below(3) as u32;
        cfg.tsc_hz = rng.below(5_000_000_000);
        if rng.below(2) == 0 {
            cfg.memory_map = alloc::vec![E820Entry {
                addr: 0,
                size: 0x1_0000,
                kind: E820_RAM
            }];
        }
        let mut d = XenDomain::new(cfg);
        let ram = 0x1_0000u64;
        let mut g = FakeGuest::new(ram as usize);
        g.ram.iter_mut().for_each(|b| *b = rng.byte());
        g.hole = HOLE..HOLE + 0x1000;
        let ro = rng.below(ram);
        g.read_only = ro..ro + rng.below(0x2000);
        g.map_limit_gfn = 0x10_0000;
        map_rings(&mut d, &mut g);
        for _ in 0..1500 {
            // The guest scribbles over its RAM (never over a mapped page:
            // the shared-info bits are then the guest's, not ours).
            for _ in 0..rng.below(3) {
                let at = rng.below(ram - 32);
                let mapped = g.mapped();
                if !mapped.contains_key(&(at >> 12))
                    && !mapped.contains_key(&((at + 31) >> 12))
                    && !g.hole.contains(&at)
                    && !g.hole.contains(&(at + 31))
                {
                    let s = any_struct(&mut rng);
                    g.ram[at as usize..at as usize + 32].copy_from_slice(&s);
                }
            }
            g.tsc = g.tsc.wrapping_add(rng.below(1 << 30));
            match rng.below(40) {
                0 => {
                    poll(&mut d, &mut g);
                }
                1 => d.console_input(b"typed"),
                2 | 3 => {
                    // A store or console ring kicked, over random bytes.
                    let (param, gfn) = [
                        (HVM_PARAM_STORE_EVTCHN, config().store_gfn),
                        (HVM_PARAM_CONSOLE_EVTCHN, config().console_gfn),
                    ][rng.below(2) as usize];
                    let port = d.params[param as usize] as u32;
                    let s = any_struct(&mut rng);
                    let at = (gfn << 12) + 1024 + rng.below(3072 - 32);
                    let _ = g.write_phys(at, &s);
                    if g.write_phys(ARG, &u32b(port)).is_ok() {
                        let a = hc(HYPERVISOR_EVENT_CHANNEL_OP, &[EVTCHNOP_SEND.into(), ARG]);
                        call(&mut d, &mut g, a);
                    }
                }
                _ => {
                    let nr = if rng.below(16) == 0 {
                        rng.next()
                    } else {
                        u64::from(NUMBERS[rng.below(13) as usize])
                    };
                    let mut args = [0u64; 5];
                    args[0] = if rng.below(8) == 0 {
                        rng.next()
                    } else {
                        rng.below(16)
                    };
                    for a in &mut args[1..] {
                        *a = any_arg(&mut rng, ram);
                    }
                    let a = HypercallArgs {
                        nr,
                        args,
                        cpl: if rng.below(32) == 0 { 3 } else { 0 },
                        long_mode: rng.below(32) != 0,
                        vcpu: rng.below(4) as u32,
                    };
                    let o = call(&mut d, &mut g, a);
                    calls += 1;
                    assert!(
                        o.ret < 1 << 32 || o.ret >= err(Errno(200)),
                        "{a:?}: {:#x}",
                        o.ret
                    );
                    if o.ret >= err(Errno(200)) {
                        assert_eq!(o.action, Action::None);
                    }
                }
            }
            // A vcpu_info the guest placed inside a page of ours writes its
            // bits there: the guest's doing.
            let mapped = g.mapped();
            let aliased = d
                .vcpus
                .iter()
                .any(|v| matches!(v.info, InfoAt::Guest(gpa) if mapped.contains_key(&(gpa >> 12))));
            if !aliased {
                check_pending_only_for_bound_ports(&d);
            }
        }
    }
    assert!(calls > 10_000);
}
