//! The hypervisor's core: boot information, host memory, the backend-neutral
//! vCPU, exit dispatch and domains. Everything outside `arch` is plain logic
//! that runs under `cargo test` on the host; `arch` is the bare-metal platform
//! (entry, descriptor tables, port I/O, logging) and builds only for
//! `x86_64-unknown-none`.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

#[cfg(target_os = "none")]
pub mod arch;
pub mod backend;
pub mod boot_info;
pub mod control;
pub mod cpu_policy;
pub mod cpuid_policy;
pub mod domain;
pub mod emulator;
pub mod exit_stats;
pub mod exits;
pub mod guest_boot;
pub mod guest_config;
pub mod guest_memory;
pub mod guest_paging;
pub mod heartbeat;
pub mod host_disk;
pub mod host_env;
pub mod interrupts;
pub mod log_lock;
pub mod memory;
pub mod msr_policy;
pub mod page_walk;
pub mod pc_board;
pub mod reset;
pub mod run_loop;
pub mod screen_mirror;
pub mod second_level;
pub mod task_switch;
pub mod vcpu;
pub mod xen;

/// The exit tests' fakes (a scriptable vCPU, host, clock and second-level
/// tables); public with the `fuzzing` feature, for the targets in `fuzz/`.
#[cfg(any(test, feature = "fuzzing"))]
pub mod test_support;
