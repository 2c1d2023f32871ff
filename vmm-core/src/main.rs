//! The hypervisor binary. On `x86_64-unknown-none` this is the bare-metal
//! image QEMU, GRUB or Bochs boots; on the host it is a stub that says so,
//! so `cargo build --workspace` and `cargo test --workspace` keep working.
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "vmm is a bare-metal image: build it with `cargo xtask build` (target x86_64-unknown-none)"
    );
    std::process::exit(2);
}

#[cfg(target_os = "none")]
mod start;
