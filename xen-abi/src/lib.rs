//! The Xen guest ABI, as far as an HVM or PVH guest with PV drivers uses it:
//! the numbers a guest puts in its registers, the structures it exchanges
//! with the hypervisor through memory, and the shared pages and rings it
//! shares with backends.
//!
//! Two sides use this crate: the hypervisor's Xen services, which answer
//! hypercalls and play the backend ("domain 0"), and the guest-side
//! frontends in `pv-drivers`. It holds layouts and constants only; the
//! little code it has is `const` helpers (ring sizes, index masks, value
//! encodings) and field accessors.
//!
//! # Sources
//!
//! Every item names the Xen public header it comes from, relative to
//! `xen/include/public/` in the Xen tree (`xen-project/xen`): `xen.h`,
//! `vcpu.h`, `event_channel.h`, `grant_table.h`, `memory.h`, `errno.h`,
//! `sched.h`, `version.h`, `features.h`, `callback.h`, `hvm/hvm_op.h`,
//! `hvm/params.h`, `io/xs_wire.h`, `io/console.h`, `io/blkif.h`, `io/ring.h`,
//! `io/xenbus.h`,
//! `arch-x86/xen.h`, `arch-x86/xen-x86_64.h`, `arch-x86/cpuid.h` and
//! `arch-x86/hvm/start_info.h`. The layouts are those of an x86-64 guest
//! (`unsigned long` and guest handles are 8 bytes), little-endian, as the
//! project's `../shared/notes/xen-abi.md` lists them.
//!
//! # Layouts are checked at compile time
//!
//! Every `#[repr(C)]` structure here is followed by a `layout!` check that
//! asserts, in a `const` item, its size and the offset of every field
//! against the numbers of the ABI; a change that moves a byte does not
//! compile. Padding the C compiler would insert is spelled out as explicit
//! `pad*` fields (always written as zero), so every byte of a structure is a
//! field and a structure can be copied to or from guest memory byte for
//! byte.
//!
//! # Where the ABI demands ordering
//!
//! The hypervisor and the guest (or a frontend and a backend) update these
//! structures concurrently, without locks. The protocols rely on the order
//! in which the two sides' stores become visible; each place is documented
//! at the field it concerns:
//!
//! - pvclock and wallclock: the odd/even version protocol of
//!   [`shared_info::VcpuTimeInfo::version`] and
//!   [`shared_info::SharedInfo::wc_version`];
//! - the runstate area's update flag, [`shared_info::XEN_RUNSTATE_UPDATE`];
//! - event delivery: pending bit, then selector bit, then
//!   `evtchn_upcall_pending` ([`shared_info::VcpuInfo`],
//!   [`shared_info::SharedInfo::evtchn_pending`]);
//! - grant entries: `domid` and `frame` before `flags`
//!   ([`grant_table::GrantEntryV1`]);
//! - the XenStore and console rings: data before the producer index, the
//!   consumer index only after the data is read
//!   ([`xenstore::XenstoreDomainInterface`], [`console::XenconsInterface`]);
//! - the generic shared rings of `io/ring.h` (blkif): requests before
//!   `req_prod`, `req_prod` before reading `req_event`, and the final check
//!   after setting an event index ([`ring::SringHeader`]).
//!
//! On x86 a plain store is not reordered with earlier stores, but the
//! compiler may reorder it, and a store followed by a load of another
//! location needs a full fence; where a guest uses `LOCK`-prefixed
//! operations the hypervisor must use atomic operations too.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// Asserts at compile time that `$ty` is `$size` bytes and that each field
/// sits at the given offset.
macro_rules! layout {
    ($ty:ty, size $size:expr $(, $field:ident @ $off:expr)* $(,)?) => {
        const _: () = {
            assert!(
                core::mem::size_of::<$ty>() == $size,
                concat!("size of ", stringify!($ty), " differs from the Xen ABI")
            );
            $(
                assert!(
                    core::mem::offset_of!($ty, $field) == $off,
                    concat!(
                        "offset of ", stringify!($ty), "::", stringify!($field),
                        " differs from the Xen ABI"
                    )
                );
            )*
        };
    };
}

pub mod blkif;
pub mod console;
pub mod cpuid;
pub mod errno;
pub mod event_channel;
pub mod grant_table;
pub mod hvm;
pub mod hypercall;
pub mod memory;
pub mod ring;
pub mod sched;
pub mod shared_info;
pub mod vcpu;
pub mod version;
pub mod xenbus;
pub mod xenstore;

/// Size of a Xen page, the unit of every frame number in the ABI (4 KiB on
/// x86; `XEN_PAGE_SHIFT` in `io/ring.h`).
pub const XEN_PAGE_SIZE: usize = 1 << XEN_PAGE_SHIFT;
/// log2 of [`XEN_PAGE_SIZE`].
pub const XEN_PAGE_SHIFT: u32 = 12;
