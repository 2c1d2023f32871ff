//! Guest-side paravirtual frontends (to come): hypercalls, event channels, grant
//! tables, a XenStore client, and console and block frontends over the
//! Xen-compatible guest ABI, as `no_std` code a guest kernel can link.
#![no_std]
