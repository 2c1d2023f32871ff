//! The seeds run through every target as plain calls, as do a few thousand
//! inputs of a fixed pseudo-random stream: a quick check that the targets
//! and their seeds work without libFuzzer (`cargo test` in this folder).

/// A target's name and its entry point.
type Target = (&'static str, fn(&[u8]));

const TARGETS: [Target; 10] = [
    ("emulator", vmm_fuzz::emulator::run),
    ("ide_dma", vmm_fuzz::ide_dma::run),
    ("bios_handle", vmm_fuzz::bios_handle::run),
    ("eltorito", vmm_fuzz::eltorito::run),
    ("bios_trap", vmm_fuzz::bios_trap::run),
    ("xenstore_ring", vmm_fuzz::xenstore_ring::run),
    ("hypercall", vmm_fuzz::hypercall::run),
    ("blkif_ring", vmm_fuzz::blkif_ring::run),
    ("apic_pm", vmm_fuzz::apic_pm::run),
    ("pvh_start", vmm_fuzz::pvh_start::run),
];

#[test]
fn every_target_has_seeds_that_run() {
    for (name, run) in TARGETS {
        let seeds = vmm_fuzz::seeds::seeds(name);
        assert!(!seeds.is_empty(), "{name} has no seeds");
        for seed in seeds {
            run(&seed);
        }
    }
}

#[test]
fn empty_and_pseudo_random_inputs_run() {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for (_, run) in TARGETS {
        run(&[]);
        for len in 0..300usize {
            let input: Vec<u8> = (0..len * 7)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            run(&input);
        }
    }
}

#[test]
fn the_el_torito_seeds_boot() {
    use firmware::eltorito::{find_boot_image, BootMedia};
    use vmm_fuzz::media::{cd_image, CD_SIZES};
    let seeds = vmm_fuzz::seeds::seeds("eltorito");
    let media: Vec<BootMedia> = seeds
        .iter()
        .map(|s| {
            let cd = cd_image(CD_SIZES[usize::from(s[0]) % CD_SIZES.len()], &s[1..]);
            find_boot_image(&cd).expect("a seed boots").media
        })
        .collect();
    assert!(matches!(
        media[..],
        [
            BootMedia::NoEmulation,
            BootMedia::Floppy { .. },
            BootMedia::HardDisk { .. }
        ]
    ));
}
