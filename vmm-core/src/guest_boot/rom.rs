//! ROM guests: a firmware image at the top of the real-mode space, where the
//! x86 reset vector finds it.

use crate::guest_memory::{Alias, GuestMemory};
use alloc::string::String;
use pc_layout::memory::{FOUR_GIB, HIGH_MEMORY, MAX_ROM_SIZE};

/// Size of a page: ROM images are whole pages (they are mapped, not copied, by
/// the alias).
const PAGE_SIZE: u64 = 4096;

/// Copies a ROM image so it ends at 1 MiB, read-only to the guest from then
/// on (a shadow ROM), and aliases it below 4 GiB so the
/// reset vector (FFFF_FFF0h, Intel SDM vol. 3A, 10.1.4 "First Instruction
/// Executed") lands in it, as the PC chipset does.
pub fn load_rom_image(memory: &mut GuestMemory, image: &[u8], name: &str) -> Result<(), String> {
    let len = image.len() as u64;
    if len == 0 || len > MAX_ROM_SIZE || !len.is_multiple_of(PAGE_SIZE) {
        return Err(alloc::format!(
            "ROM `{name}` is {len} bytes: it must be whole pages, at most {} KiB",
            MAX_ROM_SIZE >> 10
        ));
    }
    if memory.ram_size() < HIGH_MEMORY {
        return Err("guest RAM must be at least 1 MiB".into());
    }
    memory
        .write(HIGH_MEMORY - len, image)
        .map_err(|e| alloc::format!("cannot load the ROM: {e:?}"))?;
    // From now on the image is a shadow ROM: the guest cannot overwrite it
    // by stores, BIOS services or DMA.
    memory.set_shadow_rom(HIGH_MEMORY - len, len);
    memory.add_alias(Alias {
        gpa: FOUR_GIB - len,
        len,
        target: HIGH_MEMORY - len,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guest_memory::test_memory;

    #[test]
    fn the_image_ends_at_one_mib_and_the_reset_vector_reads_it() {
        let mut memory = test_memory(0x20_0000);
        let mut image = alloc::vec![0u8; 0x2000];
        image[0x1FF0] = 0xEA;
        load_rom_image(&mut memory, &image, "test").unwrap();
        let mut byte = [0u8];
        memory.read(HIGH_MEMORY - 0x10, &mut byte).unwrap();
        assert_eq!(byte[0], 0xEA);
        memory.read(0xFFFF_FFF0, &mut byte).unwrap();
        assert_eq!(byte[0], 0xEA, "the alias below 4 GiB");
    }

    #[test]
    fn bad_images_and_small_ram_are_refused_with_a_reason() {
        let mut memory = test_memory(0x20_0000);
        assert!(load_rom_image(&mut memory, &[], "empty").is_err());
        assert!(load_rom_image(&mut memory, &[0; 100], "odd").is_err());
        let huge = alloc::vec![0u8; (MAX_ROM_SIZE + PAGE_SIZE) as usize];
        assert!(load_rom_image(&mut memory, &huge, "huge").is_err());
        let mut small = test_memory(0x8_0000);
        let err = load_rom_image(&mut small, &[0; 4096], "rom").unwrap_err();
        assert!(err.contains("1 MiB"), "{err}");
    }

    #[test]
    fn the_guest_cannot_overwrite_the_loaded_image() {
        let mut memory = test_memory(0x20_0000);
        load_rom_image(&mut memory, &[0x90; 0x1000], "test").unwrap();
        assert!(memory.write(HIGH_MEMORY - 0x10, &[0xCC]).is_err());
        let mut byte = [0u8];
        memory.read(HIGH_MEMORY - 0x10, &mut byte).unwrap();
        assert_eq!(byte[0], 0x90);
        let rom = memory
            .mappings()
            .into_iter()
            .find(|m| m.gpa == HIGH_MEMORY - 0x1000)
            .expect("the image has a mapping of its own");
        assert!(!rom.writable);
    }
}
