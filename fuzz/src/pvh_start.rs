//! `pvh_start`: what a PVH start builds from the runner's boot modules,
//! on any input: the kernel module (`xen_services::pvh_start::kernel_module`)
//! decoded, the plan of where everything goes in a guest of some RAM size
//! (`pvh_start::plan`) with any command line, initrd and ACPI size, and the
//! boot-information block. The modules come from the user's runner, not the
//! guest, but a damaged one must still be an error, never a panic or a
//! write outside the guest.
//!
//! Beyond not panicking, an accepted plan must hold up: every kernel segment
//! inside RAM above 1 MiB, the initrd page aligned, below 4 GiB, above the
//! kernel and inside RAM, the boot block and ACPI window below 1 MiB, and
//! the boot block exactly `BOOT_INFO_LEN` bytes.

use crate::input::Input;
use xen_services::pvh_start::{self, kernel_module, PvhImage};

const RAM_SIZES: [u64; 5] = [1 << 20, 2 << 20, 16 << 20, 256 << 20, 5 << 30];

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let ram = input
        .choose(&RAM_SIZES)
        .saturating_add(input.mostly_small_u64().saturating_mul(4096));
    let initrd_len = input.mostly_small_u64() << input.u8().min(20);
    let acpi_len = input.mostly_small_u64();
    let cmdline_len = usize::from(input.u16() % 2500);
    let cmdline = input.bytes(cmdline_len);
    let module = input.rest();
    let Ok(kernel) = kernel_module::decode(module) else {
        return;
    };
    for s in &kernel.segments {
        assert!(s.data.len() as u64 <= s.mem_size);
    }
    let segments: Vec<(u64, u64)> = kernel
        .segments
        .iter()
        .map(|s| (s.paddr, s.mem_size))
        .collect();
    let image = PvhImage {
        segments: &segments,
        initrd_len,
        cmdline,
        acpi_len,
    };
    let Ok(plan) = pvh_start::plan(ram, &image) else {
        return;
    };
    let mut kernel_end = 1 << 20;
    for &(paddr, size) in &segments {
        let end = paddr.checked_add(size).expect("an accepted segment ends");
        assert!(
            paddr >= 1 << 20 && end <= ram,
            "{paddr:#x}+{size:#x} in {ram:#x}"
        );
        kernel_end = kernel_end.max(end);
    }
    if let Some(at) = plan.initrd {
        assert!(initrd_len > 0);
        assert_eq!(at % 4096, 0);
        assert!(at >= kernel_end);
        let end = at.checked_add(initrd_len).expect("an accepted initrd ends");
        assert!(end <= ram.min(1 << 32));
    } else {
        assert_eq!(initrd_len, 0);
    }
    assert!(plan.start_info < pvh_start::BOOT_INFO_BASE + pvh_start::BOOT_INFO_LEN);
    assert!(plan.rsdp >= pvh_start::ACPI_BASE && plan.rsdp < pvh_start::ACPI_END);
    let block = plan.boot_info(initrd_len, cmdline);
    assert_eq!(block.len() as u64, pvh_start::BOOT_INFO_LEN);
    // A module written back from what was read decodes the same.
    let again = kernel_module::encode(kernel.entry, &kernel.segments);
    assert_eq!(kernel_module::decode(&again), Ok(kernel));
}
