//! libFuzzer's entry point for the `xenstore_ring` target (see `vmm_fuzz::xenstore_ring`).
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: vmm_fuzz::seeds::write_from_env("xenstore_ring"),
    |data: &[u8]| vmm_fuzz::xenstore_ring::run(data)
);
