//! libFuzzer's entry point for the `blkif_ring` target (see `vmm_fuzz::blkif_ring`).
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: vmm_fuzz::seeds::write_from_env("blkif_ring"),
    |data: &[u8]| vmm_fuzz::blkif_ring::run(data)
);
