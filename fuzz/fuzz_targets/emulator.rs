//! libFuzzer's entry point for the `emulator` target (see `vmm_fuzz::emulator`).
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: vmm_fuzz::seeds::write_from_env("emulator"),
    |data: &[u8]| vmm_fuzz::emulator::run(data)
);
