//! One HVM/PVH domain's Xen interface: the hypercall dispatcher and the
//! per-domain state it serves (shared info, vCPU info, pvclock, HVM params,
//! timers), over a [`hvm::GuestAccess`] the hypervisor implements.
