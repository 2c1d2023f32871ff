//! libFuzzer's entry point for the `ide_dma` target (see `vmm_fuzz::ide_dma`).
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: vmm_fuzz::seeds::write_from_env("ide_dma"),
    |data: &[u8]| vmm_fuzz::ide_dma::run(data)
);
