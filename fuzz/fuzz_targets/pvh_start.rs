//! libFuzzer's entry point for the `pvh_start` target (see `vmm_fuzz::pvh_start`).
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: vmm_fuzz::seeds::write_from_env("pvh_start"),
    |data: &[u8]| vmm_fuzz::pvh_start::run(data)
);
