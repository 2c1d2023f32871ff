//! The hypercalls a Linux 6.1 HVM guest makes while it boots
//! (`/work/shared/notes/xen-abi.md` §4, in kernel order), end to end
//! through [`XenDomain::hypercall`] over a [`FakeGuest`], and what each
//! leaves where the guest looks; then the grant table, the memory map and
//! the smaller paths on their own.

use super::fake_guest::*;
use super::pvclock::TscScale;
use super::*;
use alloc::vec::Vec;
use core::mem::offset_of;
use xen_abi::console::XenconsInterface;
use xen_abi::cpuid::XEN_MSR_HYPERCALL_PAGE;
use xen_abi::errno::Errno;
use xen_abi::event_channel::{VIRQ_DEBUG, VIRQ_TIMER};
use xen_abi::hvm::*;
use xen_abi::hypercall::*;
use xen_abi::memory::{E820Entry, DOMID_SELF, E820_RAM, E820_RESERVED};
use xen_abi::sched::SHUTDOWN_POWEROFF;
use xen_abi::shared_info::{SharedInfo, VcpuInfo, VcpuTimeInfo};
use xen_abi::version::*;
use xen_abi::xenstore::{XenstoreDomainInterface, XS_READ};

use crate::event_channel::{is_pending, vcpu_pending};

/// `-ETIME`.
const ETIME: Errno = Errno(62);

fn ok(o: Outcome) {
    assert_eq!(
        o,
        Outcome {
            ret: 0,
            action: Action::None
        }
    );
}

/// The guest's `vcpu_time_info` at `at`: (version, tsc, system_time, mul, shift).
fn time_at(g: &FakeGuest, at: u64) -> (u32, u64, u64, u32, i8) {
    let f = |o: usize| at + o as u64;
    (
        g.peek_u32(f(offset_of!(VcpuTimeInfo, version))),
        g.peek_u64(f(offset_of!(VcpuTimeInfo, tsc_timestamp))),
        g.peek_u64(f(offset_of!(VcpuTimeInfo, system_time))),
        g.peek_u32(f(offset_of!(VcpuTimeInfo, tsc_to_system_mul))),
        g.peek(f(offset_of!(VcpuTimeInfo, tsc_shift)), 1)[0] as i8,
    )
}

#[test]
fn linux_hvm_boot_sequence() {
    let (mut d, mut g) = boot();
    let cfg = config();

    // init_hvm_pv_info: the version, then the features (submap 0).
    let o = call(
        &mut d,
        &mut g,
        hc(HYPERVISOR_XEN_VERSION, &[XENVER_VERSION.into(), 0]),
    );
    assert_eq!(o.ret, 0x0004_0011);
    ok(with_arg(
        &mut d,
        &mut g,
        HYPERVISOR_XEN_VERSION,
        &[XENVER_GET_FEATURES.into()],
        &[0; 8],
    ));
    let features = g.peek_u32(ARG + 4);
    for bit in [
        XENFEAT_AUTO_TRANSLATED_PHYSMAP,
        XENFEAT_HVM_CALLBACK_VECTOR,
        XENFEAT_HVM_SAFE_PVCLOCK,
    ] {
        assert_ne!(features & 1 << bit, 0, "feature {bit} offered");
    }
    for bit in [XENFEAT_HVM_PIRQS, XENFEAT_DOM0] {
        assert_eq!(features & 1 << bit, 0, "feature {bit} not offered");
    }

    // Shared info at a RAM frame: pvclock valid at once, wallclock set.
    let arg = physmap(xen_abi::memory::XENMAPSPACE_SHARED_INFO, 0, SHARED_GFN);
    ok(memop(&mut d, &mut g, XENMEM_ADD_TO_PHYSMAP, &arg));
    let [MapCall::Map { gfn, host }] = g.map_calls[2..] else {
        panic!("one mapping after the rings: {:?}", g.map_calls);
    };
    assert_eq!(gfn, SHARED_GFN);
    assert_eq!(host % 4096, 0);
    let si = SHARED_GFN << 12;
    assert_eq!(
        g.peek(si, 4096),
        d.shared_info_bytes(),
        "the guest sees the page"
    );
    let time0 = si + offset_of!(SharedInfo, vcpu_info) as u64 + offset_of!(VcpuInfo, time) as u64;
    let (version, tsc, system_time, mul, shift) = time_at(&g, time0);
    assert!(version != 0 && version % 2 == 0, "version {version}");
    let scale = TscScale::for_frequency(cfg.tsc_hz);
    assert_eq!((mul, shift), (scale.mul, scale.shift));
    assert_ne!(mul, 0);
    assert_eq!(tsc, g.tsc);
    assert!(system_time.abs_diff(1_000_000_000) < 10, "{system_time}");
    let wc_version = g.peek_u32(si + offset_of!(SharedInfo, wc_version) as u64);
    assert!(wc_version != 0 && wc_version % 2 == 0);
    let wc_sec = g.peek_u32(si + offset_of!(SharedInfo, wc_sec) as u64);
    let wc_nsec = g.peek_u32(si + offset_of!(SharedInfo, wc_nsec) as u64);
    assert_eq!((wc_sec, wc_nsec), (1_700_000_000, 123_456_789));

    // smp_prepare_boot_cpu: vcpu_info moves to per-CPU RAM.
    let info = 0x9_0040u64;
    let reg = cat(&[&u64b(info >> 12), &u32b((info & 0xFFF) as u32), &u32b(0)]);
    g.tsc += cfg.tsc_hz / 2;
    ok(vcpuop(&mut d, &mut g, VCPUOP_REGISTER_VCPU_INFO, &reg));
    assert_eq!(g.peek(info, 1)[0], 1, "upcall pending after the move");
    assert_eq!(g.peek_u64(info + 8), u64::MAX, "pending_sel all ones");
    let (v2, tsc2, st2, mul2, _) = time_at(&g, info + 32);
    assert!(v2 > version && v2 % 2 == 0);
    assert_eq!((tsc2, mul2), (g.tsc, scale.mul));
    assert!(st2.abs_diff(1_500_000_000) < 10);
    assert!(d.upcall_pending(&mut g, 0));
    let o = vcpuop(&mut d, &mut g, VCPUOP_REGISTER_VCPU_INFO, &reg);
    assert_eq!(o.ret, err(Errno::EINVAL), "only once");
    // The guest clears the flags when it takes the upcall.
    g.poke(info, &[0; 16]);

    // xen_init_IRQ: no FIFO; the callback vector.
    let o = call(
        &mut d,
        &mut g,
        hc(
            HYPERVISOR_EVENT_CHANNEL_OP,
            &[EVTCHNOP_INIT_CONTROL.into(), ARG],
        ),
    );
    assert_eq!(o.ret, err(Errno::ENOSYS));
    let o = call(
        &mut d,
        &mut g,
        hc(HYPERVISOR_HVM_OP, &[HVMOP_PAGETABLE_DYING.into(), ARG]),
    );
    assert_eq!(o.ret, err(Errno::ENOSYS));
    assert_eq!(d.upcall(), Upcall::None);
    let set = param(DOMID_SELF, HVM_PARAM_CALLBACK_IRQ, 0x0200_0000_0000_00F3);
    ok(hvmop(&mut d, &mut g, HVMOP_SET_PARAM, &set));
    assert_eq!(d.upcall(), Upcall::Vector(0xF3));

    // xen_time_init and per-CPU bring-up.
    ok(call(
        &mut d,
        &mut g,
        hc(
            HYPERVISOR_VCPU_OP,
            &[VCPUOP_STOP_PERIODIC_TIMER.into(), 0, 0],
        ),
    ));
    g.poke(BUF, &[0xAA; 48]);
    ok(vcpuop(
        &mut d,
        &mut g,
        VCPUOP_REGISTER_RUNSTATE_MEMORY_AREA,
        &u64b(BUF),
    ));
    assert_eq!(g.peek_u32(BUF), 0, "running");
    let (r, timer) = bind_virq(&mut d, &mut g, VIRQ_TIMER, 0);
    assert_eq!(r, 0);
    assert_ne!(timer, 0);
    assert_eq!(
        bind_virq(&mut d, &mut g, VIRQ_TIMER, 0).0,
        err(Errno::EEXIST)
    );
    let (r, debug) = bind_virq(&mut d, &mut g, VIRQ_DEBUG, 0);
    assert_eq!(r, 0);
    ok(call(
        &mut d,
        &mut g,
        hc(
            HYPERVISOR_VM_ASSIST,
            &[
                VMASST_CMD_ENABLE.into(),
                VMASST_TYPE_RUNSTATE_UPDATE_FLAG.into(),
            ],
        ),
    ));
    let mut ipis = Vec::new();
    for _ in 0..3 {
        ok(evtchn(&mut d, &mut g, EVTCHNOP_BIND_IPI, &[0; 8]));
        ipis.push(g.peek_u32(ARG + 4));
    }
    let mut all = [timer, debug, ipis[0], ipis[1], ipis[2]];
    all.sort_unstable();
    assert!(
        all.windows(2).all(|w| w[0] != w[1]) && all[0] != 0,
        "{all:?}"
    );

    // xenbus_init and hvc0: the params the toolstack set.
    let store_port = d.params[HVM_PARAM_STORE_EVTCHN as usize];
    let console_port = d.params[HVM_PARAM_CONSOLE_EVTCHN as usize];
    for (index, want) in [
        (HVM_PARAM_STORE_PFN, cfg.store_gfn),
        (HVM_PARAM_STORE_EVTCHN, store_port),
        (HVM_PARAM_CONSOLE_PFN, cfg.console_gfn),
        (HVM_PARAM_CONSOLE_EVTCHN, console_port),
    ] {
        assert_eq!(get_param(&mut d, &mut g, index), (0, want), "param {index}");
        assert_ne!(want, 0);
    }
    assert!(!all.contains(&(store_port as u32)) && store_port != console_port);

    // A XenStore request through the ring, kicked by the store port.
    let ring = cfg.store_gfn << 12;
    let payload = b"domid\0";
    let mut msg = cat(&[
        &u32b(XS_READ),
        &u32b(7),
        &u32b(0),
        &u32b(payload.len() as u32),
    ]);
    msg.extend_from_slice(payload);
    g.poke(ring, &msg);
    g.poke(
        ring + offset_of!(XenstoreDomainInterface, req_prod) as u64,
        &u32b(msg.len() as u32),
    );
    assert_eq!(send(&mut d, &mut g, store_port as u32), 0);
    let rsp_prod = g.peek_u32(ring + offset_of!(XenstoreDomainInterface, rsp_prod) as u64);
    assert_eq!(rsp_prod, 16 + 1);
    let rsp = ring + offset_of!(XenstoreDomainInterface, rsp) as u64;
    assert_eq!(
        g.peek(rsp, 17),
        cat(&[&u32b(XS_READ), &u32b(7), &u32b(0), &u32b(1), b"1"])
    );
    let req_cons = g.peek_u32(ring + offset_of!(XenstoreDomainInterface, req_cons) as u64);
    assert_eq!(req_cons, msg.len() as u32);
    assert!(
        is_pending(&g.peek(si, 4096), store_port as u32),
        "the reply is signalled"
    );
    assert!(d.upcall_pending(&mut g, 0));
    assert_eq!(g.peek(info, 1)[0], 1, "in the registered vcpu_info");

    // hvc0 output through the console ring.
    let cons = cfg.console_gfn << 12;
    let out = cons + offset_of!(XenconsInterface, out) as u64;
    g.poke(out, b"hello, hvc0\n");
    g.poke(
        cons + offset_of!(XenconsInterface, out_prod) as u64,
        &u32b(12),
    );
    assert_eq!(send(&mut d, &mut g, console_port as u32), 0);
    assert_eq!(g.console, b"hello, hvc0\n");
    assert_eq!(
        g.peek_u32(cons + offset_of!(XenconsInterface, out_cons) as u64),
        12
    );
    assert!(g.log.is_empty());

    // The guest handles the upcall: flags and the pending words cleared.
    g.poke(info, &[0; 16]);
    g.poke(
        si + offset_of!(SharedInfo, evtchn_pending) as u64,
        &[0; 512],
    );
    // The one-shot timer: a past deadline fires at the next poll.
    assert!(!is_pending(d.shared_info_bytes(), timer));
    let shot = cat(&[&u64b(1), &u32b(0), &u32b(0)]);
    ok(vcpuop(&mut d, &mut g, VCPUOP_SET_SINGLESHOT_TIMER, &shot));
    assert!(poll(&mut d, &mut g));
    assert!(is_pending(&g.peek(si, 4096), timer));
    assert!(!poll(&mut d, &mut g), "one shot only");
    let future = cat(&[
        &u64b(1),
        &u32b(xen_abi::vcpu::VCPU_SSHOTTMR_FUTURE),
        &u32b(0),
    ]);
    let o = vcpuop(&mut d, &mut g, VCPUOP_SET_SINGLESHOT_TIMER, &future);
    assert_eq!(o.ret, err(ETIME));
    assert_eq!(d.next_timer_tsc(), None, "a refused deadline arms nothing");

    // poweroff.
    let o = sched(&mut d, &mut g, SCHEDOP_SHUTDOWN, &u32b(SHUTDOWN_POWEROFF));
    assert_eq!(
        o,
        Outcome {
            ret: 0,
            action: Action::Shutdown(0)
        }
    );
    assert!(d.stats.total_calls() > 20);
}

#[test]
fn the_hypercall_page_msr_writes_128_stubs() {
    for (insn, bytes) in [
        (HypercallInsn::Vmcall, VMCALL),
        (HypercallInsn::Vmmcall, VMMCALL),
    ] {
        let mut d = XenDomain::new(XenConfig { insn, ..config() });
        let mut g = FakeGuest::new(1 << 20);
        assert_eq!(
            d.write_hypercall_msr(&mut g, XEN_MSR_HYPERCALL_PAGE, 0x5000),
            Ok(())
        );
        let page = g.peek(0x5000, 4096);
        for nr in 0..128u32 {
            let at = nr as usize * 32;
            if nr == HYPERVISOR_IRET {
                assert_eq!(&page[at..at + 2], &UD2);
                continue;
            }
            assert_eq!(&page[at..at + 32], &hypercall_stub(nr, bytes), "stub {nr}");
        }
        assert_eq!(d.hypercall_page_gpa, Some(0x5000));
        // #GP: another MSR, a page index, a page outside RAM.
        for (msr, value) in [
            (XEN_MSR_HYPERCALL_PAGE + 1, 0x6000),
            (XEN_MSR_HYPERCALL_PAGE, 0x6001),
            (XEN_MSR_HYPERCALL_PAGE, 1 << 40),
        ] {
            assert!(d.write_hypercall_msr(&mut g, msr, value).is_err());
        }
        assert_eq!(d.hypercall_page_gpa, Some(0x5000));
    }
}

#[test]
fn grant_table_size_version_and_frames() {
    let (mut d, mut g) = boot();
    let q = cat(&[&u16b(DOMID_SELF), &[0; 14]]);
    let o = with_arg(
        &mut d,
        &mut g,
        HYPERVISOR_GRANT_TABLE_OP,
        &[GNTTABOP_QUERY_SIZE.into()],
        &q,
    );
    assert_eq!(o.ret, err(Errno::EINVAL), "a count of 0");
    ok(gnttab(&mut d, &mut g, GNTTABOP_QUERY_SIZE));
    assert_eq!(g.peek_u32(ARG + 4), 1, "nr_frames");
    assert_eq!(g.peek_u32(ARG + 8), d.grants.max_frames());
    assert_eq!(g.peek(ARG + 12, 2), [0, 0], "GNTST_okay");
    // set_version: v1 only, and the version in effect is written back.
    g.poke(ARG, &u32b(1));
    ok(gnttab(&mut d, &mut g, GNTTABOP_SET_VERSION));
    assert_eq!(g.peek_u32(ARG), 1);
    g.poke(ARG, &u32b(2));
    let o = gnttab(&mut d, &mut g, GNTTABOP_SET_VERSION);
    assert_eq!((o.ret, g.peek_u32(ARG)), (err(Errno::EINVAL), 1));
    // Frames 0 and 3 in the platform device's BAR1, outside RAM.
    let bar1 = 0xF_0000u64;
    for idx in [0u64, 3] {
        let arg = physmap(xen_abi::memory::XENMAPSPACE_GRANT_TABLE, idx, bar1 + idx);
        ok(memop(&mut d, &mut g, XENMEM_ADD_TO_PHYSMAP, &arg));
        let Some(&MapCall::Map { gfn, host }) = g.map_calls.last() else {
            panic!("{:?}", g.map_calls);
        };
        assert_eq!(gfn, bar1 + idx);
        assert_eq!(host % 4096, 0, "a 4 KiB-aligned host page");
        assert_eq!(Some(host), d.grants.frame_address(idx as u32));
    }
    assert_eq!(d.grants.nr_frames(), 4);
    // The guest writes an entry through its mapping; the table sees it.
    g.poke(
        (bar1 << 12) + 64,
        &cat(&[&u16b(1), &u16b(0), &u32b(0x1234)]),
    );
    g.sync(&mut d);
    assert_eq!(
        &d.grants.frame(0).unwrap()[64..72],
        &[1, 0, 0, 0, 0x34, 0x12, 0, 0]
    );
    // Frame 0 placed again elsewhere moves: the old GFN is given back.
    let arg = physmap(xen_abi::memory::XENMAPSPACE_GRANT_TABLE, 0, bar1 + 8);
    ok(memop(&mut d, &mut g, XENMEM_ADD_TO_PHYSMAP, &arg));
    let mapped = g.mapped();
    assert_eq!(mapped.get(&(bar1 + 8)), d.grants.frame_address(0).as_ref());
    assert!(!mapped.contains_key(&bar1), "{mapped:?}");
    // Past the limit.
    let arg = physmap(xen_abi::memory::XENMAPSPACE_GRANT_TABLE, 32, bar1 + 32);
    let o = memop(&mut d, &mut g, XENMEM_ADD_TO_PHYSMAP, &arg);
    assert_eq!(o.ret, err(Errno::EINVAL));
}

#[test]
fn memory_map_is_enosys_when_empty_and_the_entries_otherwise() {
    let (mut d, mut g) = boot();
    let arg = cat(&[&u32b(8), &u32b(0), &u64b(BUF)]);
    let o = memop(&mut d, &mut g, XENMEM_MEMORY_MAP, &arg);
    assert_eq!(o.ret, err(Errno::ENOSYS));
    let map = [
        E820Entry {
            addr: 0,
            size: 0x9_FC00,
            kind: E820_RAM,
        },
        E820Entry {
            addr: 0x9_FC00,
            size: 0x400,
            kind: E820_RESERVED,
        },
        E820Entry {
            addr: 0x10_0000,
            size: 0x3FF0_0000,
            kind: E820_RAM,
        },
    ];
    let mut d = XenDomain::new(XenConfig {
        memory_map: map.to_vec(),
        ..config()
    });
    let want: Vec<u8> = map
        .iter()
        .flat_map(|e| {
            let (a, s, k) = (e.addr, e.size, e.kind);
            cat(&[&u64b(a), &u64b(s), &u32b(k)])
        })
        .collect();
    for (capacity, n) in [(8u32, 3usize), (2, 2), (0, 0)] {
        g.poke(BUF, &[0xEE; 64]);
        let arg = cat(&[&u32b(capacity), &u32b(0), &u64b(BUF)]);
        ok(memop(&mut d, &mut g, XENMEM_MEMORY_MAP, &arg));
        assert_eq!(g.peek_u32(ARG), n as u32);
        assert_eq!(g.peek(BUF, n * 20), want[..n * 20]);
        assert_eq!(
            g.peek(BUF + n as u64 * 20, 1),
            [0xEE],
            "nothing past the count"
        );
    }
}

#[test]
fn shared_info_moves_and_the_old_frame_gets_its_ram_back() {
    let (mut d, mut g) = boot();
    g.poke(0x7_0000, b"ram below");
    for gfn in [SHARED_GFN, 0x70, 0x70] {
        let arg = physmap(xen_abi::memory::XENMAPSPACE_SHARED_INFO, 0, gfn);
        ok(memop(&mut d, &mut g, XENMEM_ADD_TO_PHYSMAP, &arg));
    }
    let host = xen_abi::XEN_PAGE_SIZE as u64; // any: compared below by value
    let calls: Vec<_> = g.map_calls[2..]
        .iter()
        .map(|c| match *c {
            MapCall::Map { gfn, .. } => MapCall::Map { gfn, host },
            u => u,
        })
        .collect();
    assert_eq!(
        calls,
        [
            MapCall::Map {
                gfn: SHARED_GFN,
                host
            },
            MapCall::Map { gfn: 0x70, host },
            MapCall::Unmap { gfn: SHARED_GFN },
            MapCall::Map { gfn: 0x70, host },
        ]
    );
    assert_eq!(d.shared_info_gfn, Some(0x70));
    assert_eq!(g.peek(0x7_0000, 4096), d.shared_info_bytes());
    assert_eq!(g.peek(SHARED_GFN << 12, 4), [0; 4], "RAM again");
    // idx must be 0.
    let arg = physmap(xen_abi::memory::XENMAPSPACE_SHARED_INFO, 1, 0x71);
    let o = memop(&mut d, &mut g, XENMEM_ADD_TO_PHYSMAP, &arg);
    assert_eq!(o.ret, err(Errno::EINVAL));
}

#[test]
fn console_input_reaches_the_ring_and_raises_the_port() {
    let (mut d, mut g) = boot();
    let port = d.params[HVM_PARAM_CONSOLE_EVTCHN as usize] as u32;
    d.console_input(b"ls\n");
    assert!(poll(&mut d, &mut g));
    let cons = config().console_gfn << 12;
    assert_eq!(g.peek(cons, 3), b"ls\n");
    assert_eq!(
        g.peek_u32(cons + offset_of!(XenconsInterface, in_prod) as u64),
        3
    );
    assert!(is_pending(d.shared_info_bytes(), port));
    assert_eq!(vcpu_pending(d.shared_info_bytes(), 0).1, 1);
    assert!(!poll(&mut d, &mut g), "nothing more to move");
}

#[test]
fn small_calls_answer_as_xen_does() {
    let (mut d, mut g) = boot();
    // console_io write goes to the log, not the console.
    g.poke(BUF, b"early printk");
    ok(call(
        &mut d,
        &mut g,
        hc(HYPERVISOR_CONSOLE_IO, &[CONSOLEIO_WRITE.into(), 12, BUF]),
    ));
    assert_eq!(g.log, b"early printk");
    assert!(g.console.is_empty());
    // HVMOP_get_time: system time now.
    ok(call(
        &mut d,
        &mut g,
        hc(HYPERVISOR_HVM_OP, &[HVMOP_GET_TIME.into(), BUF]),
    ));
    assert!(g.peek_u64(BUF).abs_diff(1_000_000_000) < 10);
    // An IPI sent raises its own port.
    ok(evtchn(&mut d, &mut g, EVTCHNOP_BIND_IPI, &[0; 8]));
    let ipi = g.peek_u32(ARG + 4);
    assert_eq!(send(&mut d, &mut g, ipi), 0);
    assert!(is_pending(d.shared_info_bytes(), ipi));
    // A GSI callback is a line.
    let set = param(1, HVM_PARAM_CALLBACK_IRQ, 11);
    ok(hvmop(&mut d, &mut g, HVMOP_SET_PARAM, &set));
    assert_eq!(d.upcall(), Upcall::Line);
    // yield, block, is_up.
    let o = call(
        &mut d,
        &mut g,
        hc(HYPERVISOR_SCHED_OP, &[SCHEDOP_YIELD.into(), 0]),
    );
    assert_eq!(o.action, Action::Yield);
    let o = call(
        &mut d,
        &mut g,
        hc(HYPERVISOR_SCHED_OP, &[SCHEDOP_BLOCK.into(), 0]),
    );
    assert_eq!(o.action, Action::Block);
    assert_eq!(
        call(
            &mut d,
            &mut g,
            hc(HYPERVISOR_VCPU_OP, &[VCPUOP_IS_UP.into(), 0, 0])
        )
        .ret,
        1
    );
    // set_timer_op arms and 0 cancels.
    ok(call(
        &mut d,
        &mut g,
        hc(HYPERVISOR_SET_TIMER_OP, &[5_000_000_000]),
    ));
    assert_eq!(d.next_timer_tsc(), Some(d.tsc_at(5_000_000_000)));
    ok(call(&mut d, &mut g, hc(HYPERVISOR_SET_TIMER_OP, &[0])));
    assert_eq!(d.next_timer_tsc(), None);
}

#[test]
fn the_backends_signal_through_their_channel_not_a_port_number() {
    let (mut d, mut g) = boot();
    let console = d.params[HVM_PARAM_CONSOLE_EVTCHN as usize] as u32;
    ok(evtchn(&mut d, &mut g, EVTCHNOP_CLOSE, &u32b(console)));
    // The port number goes to an IPI: console input is not an IPI.
    ok(evtchn(&mut d, &mut g, EVTCHNOP_BIND_IPI, &[0; 8]));
    let ipi = g.peek_u32(ARG + 4);
    assert_eq!(ipi, console);
    d.console_input(b"x");
    poll(&mut d, &mut g);
    assert!(
        !is_pending(d.shared_info_bytes(), ipi),
        "no event on the IPI"
    );
    // Bound again (to a new port), the console signals there.
    let bind = cat(&[&u16b(0), &u16b(0), &u32b(d.console_backend_port), &u32b(0)]);
    ok(evtchn(&mut d, &mut g, EVTCHNOP_BIND_INTERDOMAIN, &bind));
    let port = g.peek_u32(ARG + 8);
    assert_ne!(port, console);
    crate::event_channel::clear_pending(&mut d.shared_info.0, port).unwrap();
    d.console_input(b"y");
    poll(&mut d, &mut g);
    assert!(is_pending(d.shared_info_bytes(), port));
    assert!(!is_pending(d.shared_info_bytes(), ipi));
}
