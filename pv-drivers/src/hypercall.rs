//! The hypercall entry and the typed hypercalls the frontends make.
//!
//! The 64-bit calling convention (`xen/include/public/arch-x86/xen-x86_64.h`):
//! the number in RAX, up to five arguments in RDI, RSI, RDX, R10 and R8,
//! the result (a C `long`) in RAX; a negative result is an errno
//! (`xen/include/public/errno.h`). Pointer arguments are guest-linear
//! addresses (`xen/include/public/xen.h`).

use crate::bytes::{get_u16, get_u32, put_u16, put_u32, put_u64};
use crate::error::Error;
use core::mem::{offset_of, size_of};
use xen_abi::errno::Errno;
use xen_abi::grant_table::{GnttabQuerySize, GNTST_OKAY};
use xen_abi::hvm::XenHvmParam;
use xen_abi::hypercall::{
    GNTTABOP_QUERY_SIZE, HVMOP_GET_PARAM, HYPERVISOR_EVENT_CHANNEL_OP, HYPERVISOR_GRANT_TABLE_OP,
    HYPERVISOR_HVM_OP, HYPERVISOR_MEMORY_OP, HYPERVISOR_SCHED_OP, HYPERVISOR_XEN_VERSION,
    SCHEDOP_YIELD, XENMEM_ADD_TO_PHYSMAP, XENVER_GET_FEATURES, XENVER_VERSION,
};
use xen_abi::memory::{XenAddToPhysmap, DOMID_SELF};
use xen_abi::version::XenFeatureInfo;

/// The way into the hypervisor. Everything in this crate reaches it only
/// through this trait, so a test can answer with the hypervisor's own
/// dispatcher in the same process.
pub trait Hypercall {
    /// Hypercall `op` with arguments RDI, RSI, RDX, R10, R8; the value
    /// of RAX afterwards.
    fn hypercall(&mut self, op: u64, args: [u64; 5]) -> i64;

    /// Hypercall `op` with `args`, except that argument `at` (0-4) points
    /// at the argument structure `arg`, which the hypervisor may read and
    /// write.
    ///
    /// The default passes `arg`'s address, which is its guest-linear
    /// address when the code runs in the guest. An implementation that is
    /// not the guest's own address space (a test calling a dispatcher that
    /// reads a simulated guest) overrides it to place the bytes where its
    /// hypervisor looks and copy them back.
    fn hypercall_with_arg(
        &mut self,
        op: u64,
        mut args: [u64; 5],
        at: usize,
        arg: &mut [u8],
    ) -> i64 {
        if let Some(slot) = args.get_mut(at) {
            *slot = arg.as_mut_ptr() as usize as u64;
        }
        self.hypercall(op, args)
    }
}

/// A hypercall's result: the non-negative value, or the errno.
pub fn check(ret: i64) -> Result<u64, Error> {
    if ret >= 0 {
        return Ok(ret as u64);
    }
    match Errno::from_return_value(ret as u64) {
        Some(e) => Err(Error::Hypercall(e)),
        None => Err(Error::Protocol(
            "hypercall returned an unknown negative value",
        )),
    }
}

/// `op(cmd, &arg)`: the usual shape of a multiplexed hypercall.
pub fn with_arg(hc: &mut dyn Hypercall, op: u32, cmd: u32, arg: &mut [u8]) -> Result<u64, Error> {
    check(hc.hypercall_with_arg(u64::from(op), [u64::from(cmd), 0, 0, 0, 0], 1, arg))
}

/// `event_channel_op(cmd, &arg)` (`xen/include/public/event_channel.h`).
pub fn event_channel_op(hc: &mut dyn Hypercall, cmd: u32, arg: &mut [u8]) -> Result<u64, Error> {
    with_arg(hc, HYPERVISOR_EVENT_CHANNEL_OP, cmd, arg)
}

/// `HVMOP_get_param` for this domain (`xen/include/public/hvm/hvm_op.h`,
/// indices in `hvm/params.h`).
pub fn hvm_get_param(hc: &mut dyn Hypercall, index: u32) -> Result<u64, Error> {
    let mut b = [0u8; size_of::<XenHvmParam>()];
    put_u16(&mut b, offset_of!(XenHvmParam, domid), DOMID_SELF);
    put_u32(&mut b, offset_of!(XenHvmParam, index), index);
    with_arg(hc, HYPERVISOR_HVM_OP, HVMOP_GET_PARAM, &mut b)?;
    Ok(crate::bytes::get_u64(&b, offset_of!(XenHvmParam, value)))
}

/// `XENMEM_add_to_physmap` for this domain: puts the hypervisor page
/// `idx` of `space` (`XENMAPSPACE_*`) at guest frame `gpfn`
/// (`xen/include/public/memory.h`).
pub fn add_to_physmap(
    hc: &mut dyn Hypercall,
    space: u32,
    idx: u64,
    gpfn: u64,
) -> Result<(), Error> {
    let mut b = [0u8; size_of::<XenAddToPhysmap>()];
    put_u16(&mut b, offset_of!(XenAddToPhysmap, domid), DOMID_SELF);
    put_u32(&mut b, offset_of!(XenAddToPhysmap, space), space);
    put_u64(&mut b, offset_of!(XenAddToPhysmap, idx), idx);
    put_u64(&mut b, offset_of!(XenAddToPhysmap, gpfn), gpfn);
    with_arg(hc, HYPERVISOR_MEMORY_OP, XENMEM_ADD_TO_PHYSMAP, &mut b)?;
    Ok(())
}

/// `XENVER_version`: `major << 16 | minor` (`xen/include/public/version.h`).
pub fn xen_version(hc: &mut dyn Hypercall) -> Result<u32, Error> {
    let v = check(hc.hypercall(
        u64::from(HYPERVISOR_XEN_VERSION),
        [u64::from(XENVER_VERSION), 0, 0, 0, 0],
    ))?;
    u32::try_from(v).map_err(|_| Error::Protocol("version above 32 bits"))
}

/// `XENVER_get_features` submap `idx` (`xen/include/public/version.h`,
/// bits in `features.h`).
pub fn xen_features(hc: &mut dyn Hypercall, idx: u32) -> Result<u32, Error> {
    let mut b = [0u8; size_of::<XenFeatureInfo>()];
    put_u32(&mut b, offset_of!(XenFeatureInfo, submap_idx), idx);
    with_arg(hc, HYPERVISOR_XEN_VERSION, XENVER_GET_FEATURES, &mut b)?;
    Ok(get_u32(&b, offset_of!(XenFeatureInfo, submap)))
}

/// `GNTTABOP_query_size` for this domain: `(nr_frames, max_nr_frames)`
/// (`xen/include/public/grant_table.h`).
pub fn grant_query_size(hc: &mut dyn Hypercall) -> Result<(u32, u32), Error> {
    let mut b = [0u8; size_of::<GnttabQuerySize>()];
    put_u16(&mut b, offset_of!(GnttabQuerySize, dom), DOMID_SELF);
    // grant_table_op(cmd, uop, count): one operation.
    check(hc.hypercall_with_arg(
        u64::from(HYPERVISOR_GRANT_TABLE_OP),
        [u64::from(GNTTABOP_QUERY_SIZE), 0, 1, 0, 0],
        1,
        &mut b,
    ))?;
    let status = get_u16(&b, offset_of!(GnttabQuerySize, status)) as i16;
    if status != GNTST_OKAY {
        return Err(Error::Protocol("GNTTABOP_query_size status"));
    }
    Ok((
        get_u32(&b, offset_of!(GnttabQuerySize, nr_frames)),
        get_u32(&b, offset_of!(GnttabQuerySize, max_nr_frames)),
    ))
}

/// `SCHEDOP_yield` (`xen/include/public/sched.h`): lets the hypervisor run
/// its backends while a frontend waits for an answer.
pub fn sched_yield(hc: &mut dyn Hypercall) -> Result<(), Error> {
    check(hc.hypercall(
        u64::from(HYPERVISOR_SCHED_OP),
        [u64::from(SCHEDOP_YIELD), 0, 0, 0, 0],
    ))
    .map(|_| ())
}
