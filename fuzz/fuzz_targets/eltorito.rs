//! libFuzzer's entry point for the `eltorito` target (see `vmm_fuzz::eltorito`).
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: vmm_fuzz::seeds::write_from_env("eltorito"),
    |data: &[u8]| vmm_fuzz::eltorito::run(data)
);
