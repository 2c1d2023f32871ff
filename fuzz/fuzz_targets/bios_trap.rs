//! libFuzzer's entry point for the `bios_trap` target (see `vmm_fuzz::bios_trap`).
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: vmm_fuzz::seeds::write_from_env("bios_trap"),
    |data: &[u8]| vmm_fuzz::bios_trap::run(data)
);
