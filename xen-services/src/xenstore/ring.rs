//! The XenStore shared ring (`xenstore_domain_interface`,
//! `xen/include/public/io/xs_wire.h`): requests in, replies and watch
//! events out.
