//! libFuzzer's entry point for the `apic_pm` target (see `vmm_fuzz::apic_pm`).
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: vmm_fuzz::seeds::write_from_env("apic_pm"),
    |data: &[u8]| vmm_fuzz::apic_pm::run(data)
);
