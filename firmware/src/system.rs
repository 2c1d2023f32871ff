//! BIOS system services: INT 11h (equipment), INT 12h (memory size), INT 15h
//! (system services, in [`int15`]), INT 1Ah (time of day, in [`int1a`]), the
//! BIOS part of the timer interrupt (INT 08h), and the POST's filling of the
//! BIOS data area.
//!
//! Sources: the IBM Personal Computer AT Technical Reference (March 1986),
//! BIOS listing: `EQUIPMENT` (INT 11h), `MEMORY_SIZE_DET` (INT 12h),
//! `CASSETTE_IO` (INT 15h), `TIME_OF_DAY` (INT 1Ah), `TIMER_INT` (INT 08h) and
//! the POST's data-area set-up; the IBM PS/2 and PC BIOS Interface Technical
//! Reference for the PS/2 additions (INT 15h AH=C0h/C1h, the EBDA, INT 1Ah
//! AH=0Ah/0Bh); the ACPI Specification 6.5, section 15.1 "INT 15H, E820H -
//! Query System Address Map" for E820h. Ralf Brown's Interrupt List was the
//! secondary source for functions IBM never documented (E801h, 2400h-2403h,
//! EC00h).
//!
//! Every service takes the guest's registers as hostile: no input panics, no
//! loop runs unbounded, and the only memory written is the BDA, the EBDA and
//! the caller's buffer (20 bytes at ES:DI for E820h).

mod int15;
mod int1a;
#[cfg(test)]
pub(crate) mod test_platform;
mod wait;

pub use int15::{
    acpi_tables_region, e820_map, int15, int15_on, post_a20, BoardReservations, E820Entry, E820Map,
    A20_SUPPORT_KBC, A20_SUPPORT_PORT_92, E820_ENTRY_SIZE, E820_MAX_ENTRIES, E820_TYPE_ACPI,
    E820_TYPE_RAM, E820_TYPE_RESERVED, HIGH_RAM_BASE, LOW_RAM_LIMIT, RAM_BELOW_4G_LIMIT,
    ROM_AREA_BASE, SMAP, SYSTEM_CONFIG_ADDR, SYSTEM_CONFIG_OFFSET, SYSTEM_CONFIG_SEGMENT,
    SYSTEM_CONFIG_TABLE, XEN_SPECIAL_PAGES, XEN_SPECIAL_PAGES_SIZE,
};
pub use int1a::int1a;
pub use wait::TimedWait;

use crate::bda;
use crate::{Next, RealMemory, Regs};

/// What the POST found, for the equipment word and the COM port table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Equipment {
    /// Diskette drives, 0-4 (more are counted as 4).
    pub floppies: u8,
    /// Serial ports at the standard addresses, 0-4 (more are counted as 4).
    pub serial_ports: u8,
}

/// Most diskette drives the equipment word can count.
const MAX_FLOPPIES: u8 = 4;

impl Equipment {
    /// The equipment word (INT 11h): diskettes, x87, 80x25 colour video,
    /// serial ports; no printers, mouse or game port.
    pub fn word(&self) -> u16 {
        let floppies = self.floppies.min(MAX_FLOPPIES);
        let serial = self.serial_ports.min(bda::COM_PORT_SLOTS as u8);
        let mut w = bda::EQUIP_X87 | bda::EQUIP_VIDEO_80X25_COLOR;
        if floppies > 0 {
            w |= bda::EQUIP_FLOPPY;
            w |= (u16::from(floppies - 1) & bda::EQUIP_FLOPPY_COUNT_MASK)
                << bda::EQUIP_FLOPPY_COUNT_SHIFT;
        }
        w | (u16::from(serial) & bda::EQUIP_SERIAL_COUNT_MASK) << bda::EQUIP_SERIAL_COUNT_SHIFT
    }
}

/// Conventional memory the BIOS reports: 640 KiB less the EBDA.
pub const BASE_MEMORY_KIB: u16 = 640 - bda::EBDA_SIZE_KIB as u16;

/// INT 11h: AX = the equipment word from the BDA.
pub fn int11(regs: &mut Regs, mem: &mut dyn RealMemory) -> Next {
    regs.set_ax(mem.read_u16(bda::EQUIPMENT));
    Next::Return
}

/// INT 12h: AX = conventional memory in KiB from the BDA.
pub fn int12(regs: &mut Regs, mem: &mut dyn RealMemory) -> Next {
    regs.set_ax(mem.read_u16(bda::MEMORY_SIZE_KIB));
    Next::Return
}

/// The BIOS work of the timer interrupt (INT 08h, IRQ0 at 18.2 Hz), besides
/// the INT 1Ch call and the end of interrupt, which the ROM stub and the
/// hypervisor do: count the tick, wrap the count at midnight setting the
/// rollover flag, and count down the diskette motor time-out, clearing the
/// motor-on bits when it expires (the AT also writes 0Ch to the diskette
/// controller's port 3F2h then; no diskette controller is emulated here).
pub fn irq0_tick(mem: &mut dyn RealMemory) {
    let ticks = mem.read_u32(bda::TIMER_COUNT).wrapping_add(1);
    if ticks >= bda::TICKS_PER_DAY {
        // A guest-set count at or past a day also wraps (the AT compares for
        // equality and would count on for two years).
        mem.write_u32(bda::TIMER_COUNT, 0);
        mem.write_u8(bda::TIMER_OFL, 1);
    } else {
        mem.write_u32(bda::TIMER_COUNT, ticks);
    }
    let motor = mem.read_u8(bda::MOTOR_COUNT);
    if motor > 0 {
        mem.write_u8(bda::MOTOR_COUNT, motor - 1);
        if motor == 1 {
            let status = mem.read_u8(bda::MOTOR_STATUS);
            mem.write_u8(bda::MOTOR_STATUS, status & !bda::MOTOR_STATUS_ON_MASK);
        }
    }
}

/// Fills the BIOS data area and the EBDA header at POST, as the AT POST
/// leaves them: the BDA (40:00h-40:FFh) and the EBDA are zeroed first, then
/// COM port addresses for `equipment.serial_ports` ports, no LPT ports, the
/// EBDA segment, the equipment word, 639 KiB of conventional memory, the
/// default empty keyboard buffer, the 101/102-key keyboard flag, port
/// time-outs and a tick count of 0. The number of fixed disks
/// ([`bda::HF_NUM`]) is left 0 for the disk BIOS's set-up to store, and the
/// video fields for the video BIOS's, which must run after this.
///
/// `ram_size` must be at least 1 MiB, as the hypervisor requires; the layout
/// below 1 MiB does not depend on it.
pub fn post_bda(mem: &mut dyn RealMemory, ram_size: u64, equipment: Equipment) {
    let _ = ram_size;
    mem.write(bda::BDA_BASE, &[0; bda::BDA_SIZE as usize]);
    mem.write(bda::EBDA_BASE, &[0; bda::EBDA_SIZE as usize]);
    let serial = usize::from(equipment.serial_ports).min(bda::COM_PORT_SLOTS);
    for (i, port) in bda::COM_PORT_BASES.iter().take(serial).enumerate() {
        mem.write_u16(bda::COM_PORTS + 2 * i as u32, *port);
        mem.write_u8(bda::RS232_TIM_OUT + i as u32, bda::RS232_TIM_OUT_DEFAULT);
    }
    for i in 0..bda::LPT_PORT_SLOTS as u32 {
        mem.write_u8(bda::PRINT_TIM_OUT + i, bda::PRINT_TIM_OUT_DEFAULT);
    }
    mem.write_u16(bda::EBDA_SEGMENT_PTR, bda::EBDA_SEGMENT);
    mem.write_u16(bda::EQUIPMENT, equipment.word());
    mem.write_u16(bda::MEMORY_SIZE_KIB, BASE_MEMORY_KIB);
    bda::kbd_reset(mem);
    mem.write_u8(bda::KB_FLAG_3, bda::KB_FLAG_3_ENHANCED);
    mem.write_u32(bda::TIMER_COUNT, 0);
    mem.write_u16(
        bda::EBDA_BASE + bda::EBDA_LENGTH,
        u16::from(bda::EBDA_SIZE_KIB),
    );
}

#[cfg(test)]
mod tests {
    use super::test_platform::{FakePlatform, XorShift};
    use super::*;
    use crate::memory::VecMemory;
    use crate::regs::linear;
    use alloc::vec;

    fn mem() -> VecMemory {
        VecMemory(vec![0; 0x10_0000])
    }

    #[test]
    fn post_fills_the_bda_as_dos_expects() {
        let mut m = mem();
        // Leftovers from before the reset are cleared.
        m.write(0x400, &[0xAA; 0x100]);
        post_bda(
            &mut m,
            64 << 20,
            Equipment {
                floppies: 1,
                serial_ports: 2,
            },
        );
        assert_eq!(m.read_u16(0x400), 0x3F8);
        assert_eq!(m.read_u16(0x402), 0x2F8);
        assert_eq!(m.read_u16(0x404), 0, "absent COM3");
        assert_eq!(m.read_u16(0x406), 0, "absent COM4");
        assert_eq!(
            [m.read_u16(0x408), m.read_u16(0x40A), m.read_u16(0x40C)],
            [0; 3]
        );
        assert_eq!(m.read_u16(0x40E), 0x9FC0);
        // Floppy present, x87, 80x25 colour, one drive, two serial ports.
        assert_eq!(m.read_u16(0x410), 0b0000_0100_0010_0011);
        assert_eq!(m.read_u16(0x413), 639);
        assert_eq!(m.read_u16(0x417), 0, "keyboard flags");
        assert_eq!(m.read_u16(0x41A), 0x1E);
        assert_eq!(m.read_u16(0x41C), 0x1E);
        assert_eq!(m.read_u16(0x480), 0x1E);
        assert_eq!(m.read_u16(0x482), 0x3E);
        assert!(m.0[0x41E..0x43E].iter().all(|b| *b == 0));
        assert_eq!(m.read_u32(0x46C), 0);
        assert_eq!(m.read_u8(0x470), 0);
        assert_eq!(m.read_u8(0x475), 0, "the disk BIOS stores the count");
        assert_eq!(m.read_u8(0x496), 0x10, "enhanced keyboard");
        assert_eq!(m.read_u16(0x9FC00), 1, "EBDA size in KiB");
    }

    #[test]
    fn equipment_word_counts_drives_and_ports() {
        let w = |floppies, serial_ports| {
            Equipment {
                floppies,
                serial_ports,
            }
            .word()
        };
        assert_eq!(w(0, 0), 0x0022);
        assert_eq!(w(2, 4), 0x0022 | 0x01 | (1 << 6) | (4 << 9));
        assert_eq!(w(200, 200), w(4, 4), "counts saturate");
    }

    #[test]
    fn int11_and_int12_return_the_bda_words() {
        let mut m = mem();
        post_bda(&mut m, 16 << 20, Equipment::default());
        let mut r = Regs {
            eax: 0xDEAD_0000,
            ..Default::default()
        };
        assert_eq!(int11(&mut r, &mut m), Next::Return);
        assert_eq!(r.eax, 0xDEAD_0022);
        assert_eq!(int12(&mut r, &mut m), Next::Return);
        assert_eq!(r.ax(), 639);
    }

    #[test]
    fn timer_tick_counts_and_rolls_over_at_midnight() {
        let mut m = mem();
        irq0_tick(&mut m);
        assert_eq!(m.read_u32(0x46C), 1);
        m.write_u32(0x46C, 0x18_00AF);
        irq0_tick(&mut m);
        assert_eq!(m.read_u32(0x46C), 0);
        assert_eq!(m.read_u8(0x470), 1);
        // A hostile count past a day wraps too.
        m.write_u32(0x46C, 0xFFFF_FFFF);
        irq0_tick(&mut m);
        assert_eq!(m.read_u32(0x46C), 0);
    }

    /// Registers with random contents, AH (or AX) often a real function so
    /// the services' own paths run, not just the "unsupported" answer.
    fn random_regs(rng: &mut XorShift) -> Regs {
        const AX: [u16; 10] = [
            0xE820, 0xE820, 0xE820, 0xE801, 0xEC00, 0x2400, 0x2401, 0x2402, 0x2403, 0x2404,
        ];
        const AH: [u8; 18] = [
            0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x0A, 0x0B, 0x4F, 0x53, 0x86, 0x87, 0x88, 0x89,
            0x90, 0xC0, 0xC1, 0xFF,
        ];
        let mut r = Regs {
            eax: rng.next() as u32,
            ebx: rng.next() as u32,
            ecx: rng.next() as u32,
            edx: rng.next() as u32,
            esi: rng.next() as u32,
            edi: rng.next() as u32,
            ebp: rng.next() as u32,
            ds: rng.next() as u16,
            es: rng.next() as u16,
            flags: rng.next() as u16,
        };
        match rng.next() % 4 {
            0 => r.set_ax(AX[rng.next() as usize % AX.len()]),
            1 => r.set_ah(AH[rng.next() as usize % AH.len()]),
            _ => {}
        }
        if r.ax() == 0xE820 && rng.next().is_multiple_of(2) {
            r.edx = SMAP;
            r.ebx %= 8;
            // A size a caller really passes, half the time, so the success
            // path runs often enough to be checked whatever the seed.
            if rng.next().is_multiple_of(2) {
                r.ecx = if rng.next().is_multiple_of(2) { 20 } else { 24 };
            }
        }
        r
    }

    #[test]
    fn random_registers_never_panic_or_write_outside_the_bda_ebda_or_buffer() {
        let mut rng = XorShift::per_run(
            "random_registers_never_panic_or_write_outside_the_bda_ebda_or_buffer",
            0x9E37_79B9_7F4A_7C15,
        );
        let mut m = mem();
        for b in m.0.iter_mut() {
            *b = rng.next() as u8;
        }
        let ram = [1u64 << 20, 16 << 20, 512 << 20, 3 << 30, 5 << 30, u64::MAX];
        post_bda(&mut m, 16 << 20, Equipment::default());
        let mut e820_written = 0;
        // 2000 calls, and on until the E820 success path has run often
        // enough to be checked, whatever the seed (bounded).
        for i in 0..20_000 {
            if i >= 2000 && e820_written > 10 {
                break;
            }
            let mut pf = FakePlatform::new(ram[i % ram.len()]);
            let before = m.0.clone();
            let regs = random_regs(&mut rng);
            let mut r = regs;
            if i % 50 == 0 {
                // Sometimes the guest has scribbled over the whole BDA.
                for a in 0x400..0x500 {
                    m.0[a] = rng.next() as u8;
                }
            }
            let buffer = linear(regs.es, regs.di()) as usize;
            let next = match rng.next() % 8 {
                0 => int11(&mut r, &mut m),
                1 => int12(&mut r, &mut m),
                2..=4 => {
                    // Every board: with and without the Xen pages and the
                    // ACPI tables.
                    let board = BoardReservations {
                        xen_special_pages: (i / ram.len()).is_multiple_of(2),
                        acpi_tables: if (i / ram.len()) % 4 < 2 { 0 } else { 64 << 10 },
                    };
                    int15_on(&mut r, &mut m, &mut pf, board)
                }
                5 | 6 => int1a(&mut r, &mut m, &mut pf),
                _ => {
                    irq0_tick(&mut m);
                    bda::kbd_push(&mut m, regs.bh(), regs.bl());
                    bda::kbd_peek(&m);
                    bda::kbd_pop(&mut m);
                    Next::Return
                }
            };
            assert_eq!(next, Next::Return);
            if regs.ax() == 0xE820 && !r.cf() && r.eax == SMAP {
                e820_written += 1;
            }
            for (a, (x, y)) in before.iter().zip(m.0.iter()).enumerate() {
                if x != y {
                    let allowed = (0x400..0x500).contains(&a)
                        || (0x9_FC00..0xA_0000).contains(&a)
                        || (buffer..buffer + 20).contains(&a);
                    assert!(allowed, "call {i} {regs:x?} wrote {a:#x}");
                }
            }
        }
        assert!(e820_written > 10, "the E820 path ran {e820_written} times");
    }

    #[test]
    fn diskette_motor_times_out_and_turns_off() {
        let mut m = mem();
        m.write_u8(0x43F, 0x81); // writing, drive 0 motor on
        m.write_u8(0x440, 2);
        irq0_tick(&mut m);
        assert_eq!((m.read_u8(0x440), m.read_u8(0x43F)), (1, 0x81));
        irq0_tick(&mut m);
        assert_eq!((m.read_u8(0x440), m.read_u8(0x43F)), (0, 0x80));
        irq0_tick(&mut m);
        assert_eq!((m.read_u8(0x440), m.read_u8(0x43F)), (0, 0x80));
    }
}
