//! pv-demo: a small Rust PVH guest kernel that runs the `pv-drivers`
//! frontends in a real guest of the hypervisor (`cargo xtask run --kernel`
//! or `xtask::pv_demo::build`, target `x86_64-unknown-none`): the console
//! ring, shared info and the pvclock, XenStore with a watch, grant tables
//! and blkfront on xvda; [`demo`] lists the steps and [`arch`] the entry.
//!
//! On the host this is a stub that says how to build it, so `cargo build
//! --workspace` and `cargo test --workspace` keep working.
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
extern crate alloc;

#[cfg(target_os = "none")]
mod arch;
#[cfg(any(target_os = "none", test))]
mod checksum;
#[cfg(target_os = "none")]
mod demo;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "pv-demo is a PVH guest kernel: build it for x86_64-unknown-none \
         (xtask::pv_demo::build) and boot it with `cargo xtask run --kernel FILE`"
    );
    std::process::exit(2);
}
