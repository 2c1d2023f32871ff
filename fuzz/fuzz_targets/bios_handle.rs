//! libFuzzer's entry point for the `bios_handle` target (see `vmm_fuzz::bios_handle`).
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: vmm_fuzz::seeds::write_from_env("bios_handle"),
    |data: &[u8]| vmm_fuzz::bios_handle::run(data)
);
