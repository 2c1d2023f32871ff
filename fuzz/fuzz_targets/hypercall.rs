//! libFuzzer's entry point for the `hypercall` target (see `vmm_fuzz::hypercall`).
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: vmm_fuzz::seeds::write_from_env("hypercall"),
    |data: &[u8]| vmm_fuzz::hypercall::run(data)
);
