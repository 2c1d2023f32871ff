//! The PV console backend (hvc0): the `xencons_interface` ring of
//! `xen/include/public/io/console.h`, both directions.
