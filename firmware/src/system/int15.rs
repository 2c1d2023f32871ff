//! INT 15h, system services.
//!
//! - AX=E820h, the system address map: ACPI Specification 6.5, section 15.1
//!   "INT 15H, E820H - Query System Address Map" (the register interface, the
//!   20-byte Address Range Descriptor, types 1 AddressRangeMemory and 2
//!   AddressRangeReserved) and 15.2 "E820 Assumptions and Limitations".
//! - AX=E801h (memory sizes for more than 64 MiB), AH=88h (extended memory
//!   size), AX=2400h-2403h (A20 gate), AX=EC00h (the "target operating mode"
//!   hint Linux gives): Ralf Brown's Interrupt List. For AH=88h it notes that
//!   "the standard BIOS only returns memory between 1MB and 16MB" and that
//!   Windows 3.0 fails when more than 15 MB is reported; the AT's 24-bit bus
//!   never had more. So AH=88h reports at most 15 MiB (3C00h), the same as
//!   E801h's AX; larger machines are described by E801h and E820h.
//! - AH=C0h (system configuration parameters), AH=C1h (EBDA segment), AH=4Fh
//!   (keyboard intercept), AH=86h (wait), AH=90h/91h (device busy/interrupt
//!   complete): the IBM PS/2 and PC BIOS Interface Technical Reference, and
//!   the AT listing's `CASSETTE_IO`.
//!
//! Choices:
//! - AH=86h (wait) is served by [`super::TimedWait`], which keeps state
//!   between the stub's calls; [`int15`] never sees it.
//! - AH=87h (block move to extended memory) and AH=89h (switch to protected
//!   mode) are not provided: they answer AH=86h "unsupported" with CF set.
//!   Both need the BIOS to run guest code in protected mode; every operating
//!   system this hypervisor boots uses its own mode switch.
//! - A20: the emulated chipset ORs the 8042 output-port gate with port 92h
//!   bit 1 (see `device_model::i8042`), so disabling has to close both. The
//!   functions drive both gates together (port 92h, and the 8042's one-byte
//!   commands DDh/DFh, which put nothing in its output buffer) and report the
//!   state from port 92h; [`post_a20`] opens both at POST so they agree from
//!   the start.
//! - The configuration table says "second 8259, RTC, EBDA"; it does *not*
//!   claim that INT 09h calls INT 15h/4Fh, since this BIOS's keyboard
//!   interrupt runs in the hypervisor and does not.

use crate::bda;
use crate::regs::linear;
use crate::{BiosPlatform, Next, RealMemory, Regs};
use device_model::i8042::{COMMAND_PORT as KBC_COMMAND_PORT, SYSTEM_CONTROL_PORT_A};

/// Status: function not supported (AH on a CF-set return).
const STATUS_UNSUPPORTED: u8 = 0x86;

// ---- E820h ----

/// 'SMAP', the signature in EDX on entry and EAX on return.
pub const SMAP: u32 = 0x534D_4150;
/// Bytes of an Address Range Descriptor (base, length, type), the minimum
/// buffer the caller must offer and what this BIOS returns.
pub const E820_ENTRY_SIZE: u32 = 20;
/// Address range type 1: AddressRangeMemory, available to the OS.
pub const E820_TYPE_RAM: u32 = 1;
/// Address range type 2: AddressRangeReserved, not to be used by the OS.
pub const E820_TYPE_RESERVED: u32 = 2;
/// End of usable conventional memory: the EBDA starts here.
pub const LOW_RAM_LIMIT: u64 = bda::EBDA_BASE as u64;
/// End of the EBDA and start of the VGA window.
const EBDA_END: u64 = 0xA_0000;
/// The BIOS ROM area, reserved up to 1 MiB.
pub const ROM_AREA_BASE: u64 = 0xE_0000;
/// Extended memory starts at 1 MiB.
pub const HIGH_RAM_BASE: u64 = 0x10_0000;
/// RAM below 4 GiB ends here at most; the rest is placed from 4 GiB, as the
/// CMOS memory bytes describe it (`device_model::cmos_rtc`).
pub const RAM_BELOW_4G_LIMIT: u64 = device_model::cmos_rtc::RAM_BELOW_4G_LIMIT;
/// Where RAM above [`RAM_BELOW_4G_LIMIT`] continues.
const FOUR_GIB: u64 = 1 << 32;
/// The most ranges the map has.
pub const E820_MAX_ENTRIES: usize = 5;

/// One Address Range Descriptor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct E820Entry {
    pub base: u64,
    pub length: u64,
    pub kind: u32,
}

impl E820Entry {
    /// The descriptor as the caller's buffer receives it: BaseAddrLow/High,
    /// LengthLow/High, Type, little-endian.
    pub fn to_bytes(&self) -> [u8; E820_ENTRY_SIZE as usize] {
        let mut b = [0u8; E820_ENTRY_SIZE as usize];
        b[0..8].copy_from_slice(&self.base.to_le_bytes());
        b[8..16].copy_from_slice(&self.length.to_le_bytes());
        b[16..20].copy_from_slice(&self.kind.to_le_bytes());
        b
    }
}

/// The machine's address map, in ascending address order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct E820Map {
    entries: [E820Entry; E820_MAX_ENTRIES],
    len: usize,
}

impl E820Map {
    pub fn as_slice(&self) -> &[E820Entry] {
        &self.entries[..self.len]
    }

    fn push(&mut self, base: u64, end: u64, kind: u32) {
        if end > base && self.len < E820_MAX_ENTRIES {
            self.entries[self.len] = E820Entry {
                base,
                length: end - base,
                kind,
            };
            self.len += 1;
        }
    }
}

/// The address map for `ram_size` bytes of RAM from address 0: conventional
/// memory below the EBDA, the EBDA and the BIOS ROM area reserved, extended
/// memory from 1 MiB up to at most [`RAM_BELOW_4G_LIMIT`], and the rest from
/// 4 GiB. The VGA window (A0000h-BFFFFh) and the option ROM space
/// (C0000h-DFFFFh) are left out, as are the APIC and ACPI tables this
/// platform does not have.
pub fn e820_map(ram_size: u64) -> E820Map {
    let mut map = E820Map {
        entries: [E820Entry::default(); E820_MAX_ENTRIES],
        len: 0,
    };
    let below_4g = ram_size.min(RAM_BELOW_4G_LIMIT);
    map.push(0, below_4g.min(LOW_RAM_LIMIT), E820_TYPE_RAM);
    map.push(LOW_RAM_LIMIT, EBDA_END, E820_TYPE_RESERVED);
    map.push(ROM_AREA_BASE, HIGH_RAM_BASE, E820_TYPE_RESERVED);
    map.push(HIGH_RAM_BASE, below_4g, E820_TYPE_RAM);
    let above_4g = ram_size - below_4g;
    map.push(FOUR_GIB, FOUR_GIB.saturating_add(above_4g), E820_TYPE_RAM);
    map
}

/// AX=E820h: EBX the index of the descriptor to return (0 first), ECX the
/// buffer size, EDX 'SMAP', ES:DI the buffer. Returns the descriptor, EAX
/// 'SMAP', ECX 20, and EBX the next index, or 0 after the last one.
fn e820(regs: &mut Regs, mem: &mut dyn RealMemory, pf: &mut dyn BiosPlatform) {
    if regs.edx != SMAP || regs.ecx < E820_ENTRY_SIZE {
        return regs.fail(STATUS_UNSUPPORTED);
    }
    let map = e820_map(pf.ram_size());
    let entries = map.as_slice();
    let Some(entry) = usize::try_from(regs.ebx).ok().and_then(|i| entries.get(i)) else {
        return regs.fail(STATUS_UNSUPPORTED);
    };
    if !mem.write(linear(regs.es, regs.di()), &entry.to_bytes()) {
        return regs.fail(STATUS_UNSUPPORTED);
    }
    let next = regs.ebx + 1;
    regs.ebx = if (next as usize) < entries.len() {
        next
    } else {
        0
    };
    regs.eax = SMAP;
    regs.ecx = E820_ENTRY_SIZE;
    regs.set_cf(false);
}

// ---- E801h and 88h ----

const KIB: u64 = 1024;
const SIXTEEN_MIB: u64 = 16 << 20;
const BLOCK_64K: u64 = 64 * KIB;

/// KiB of RAM between 1 MiB and 16 MiB (at most 3C00h).
fn kib_1m_to_16m(ram_size: u64) -> u16 {
    let kib = (ram_size.min(SIXTEEN_MIB).saturating_sub(HIGH_RAM_BASE)) / KIB;
    kib as u16 // at most 15360
}

/// AX=E801h: AX = CX = KiB between 1 MiB and 16 MiB, BX = DX = 64 KiB blocks
/// from 16 MiB to the end of RAM below 4 GiB.
fn e801(regs: &mut Regs, ram_size: u64) {
    let below_4g = ram_size.min(RAM_BELOW_4G_LIMIT);
    let low = kib_1m_to_16m(below_4g);
    let blocks = (below_4g.saturating_sub(SIXTEEN_MIB) / BLOCK_64K).min(0xFFFF) as u16;
    regs.set_ax(low);
    regs.set_cx(low);
    regs.set_bx(blocks);
    regs.set_dx(blocks);
    regs.set_cf(false);
}

// ---- A20 ----

/// Port 92h bit 0: alternate hot reset (a 0-to-1 edge resets the CPU).
const PORT_A_ALT_HOT_RESET: u8 = 1 << 0;
/// Port 92h bit 1: alternate gate A20.
const PORT_A_ALT_GATE_A20: u8 = 1 << 1;
/// 8042 command: clear output port bit 1 (gate A20 off).
const KBC_CMD_A20_OFF: u8 = 0xDD;
/// 8042 command: set output port bit 1 (gate A20 on).
const KBC_CMD_A20_ON: u8 = 0xDF;
/// AX=2403h BX bit 0: A20 through the keyboard controller.
pub const A20_SUPPORT_KBC: u16 = 1 << 0;
/// AX=2403h BX bit 1: A20 through port 92h.
pub const A20_SUPPORT_PORT_92: u16 = 1 << 1;

fn set_a20(pf: &mut dyn BiosPlatform, on: bool) {
    // Bit 0 is written 0 so the write can never be a reset edge.
    let port_a = pf.port_in(SYSTEM_CONTROL_PORT_A) & !PORT_A_ALT_HOT_RESET;
    let (port_a, cmd) = if on {
        (port_a | PORT_A_ALT_GATE_A20, KBC_CMD_A20_ON)
    } else {
        (port_a & !PORT_A_ALT_GATE_A20, KBC_CMD_A20_OFF)
    };
    pf.port_out(SYSTEM_CONTROL_PORT_A, port_a);
    pf.port_out(KBC_COMMAND_PORT, cmd);
}

/// POST: opens A20 through both gates, so that port 92h, which AX=2402h
/// reads, agrees with the 8042 (whose gate is open from power-on).
pub fn post_a20(pf: &mut dyn BiosPlatform) {
    set_a20(pf, true);
}

/// AX=2400h-2403h.
fn a20(regs: &mut Regs, pf: &mut dyn BiosPlatform) {
    match regs.al() {
        0x00 => set_a20(pf, false),
        0x01 => set_a20(pf, true),
        0x02 => {
            let on = pf.port_in(SYSTEM_CONTROL_PORT_A) & PORT_A_ALT_GATE_A20 != 0;
            regs.set_al(u8::from(on));
        }
        0x03 => regs.set_bx(A20_SUPPORT_KBC | A20_SUPPORT_PORT_92),
        _ => return regs.fail(STATUS_UNSUPPORTED),
    }
    regs.succeed();
}

// ---- C0h: system configuration parameters ----

/// Where the configuration table lives: F000:E6F5, IBM's address. The ROM
/// image must hold [`SYSTEM_CONFIG_TABLE`] there.
pub const SYSTEM_CONFIG_SEGMENT: u16 = 0xF000;
/// Offset of the configuration table in the ROM segment.
pub const SYSTEM_CONFIG_OFFSET: u16 = 0xE6F5;
/// Linear address of the configuration table.
pub const SYSTEM_CONFIG_ADDR: u32 = 0xF_E6F5;
const _: () = assert!(
    SYSTEM_CONFIG_ADDR == ((SYSTEM_CONFIG_SEGMENT as u32) << 4) + SYSTEM_CONFIG_OFFSET as u32
);

/// Model byte FCh: PC/AT (as at F000:FFFE).
const MODEL_AT: u8 = 0xFC;
/// Submodel 01h: the AT's later BIOS.
const SUBMODEL: u8 = 0x01;
/// BIOS revision level.
const BIOS_REVISION: u8 = 0x00;
/// Feature byte 1 bit 2: an extended BIOS data area is allocated (AH=C1h).
const FEATURE1_EBDA: u8 = 1 << 2;
/// Feature byte 1 bit 4: INT 09h calls INT 15h/4Fh (not set here).
#[allow(dead_code)]
const FEATURE1_KBD_INTERCEPT: u8 = 1 << 4;
/// Feature byte 1 bit 5: real-time clock installed.
const FEATURE1_RTC: u8 = 1 << 5;
/// Feature byte 1 bit 6: second 8259 installed.
const FEATURE1_SECOND_PIC: u8 = 1 << 6;
/// Bytes of the table after its length word.
const SYSTEM_CONFIG_LEN: u8 = 8;

/// The table AH=C0h points at: length word (8), model, submodel, BIOS
/// revision, feature bytes 1-5.
pub const SYSTEM_CONFIG_TABLE: [u8; 2 + SYSTEM_CONFIG_LEN as usize] = [
    SYSTEM_CONFIG_LEN,
    0,
    MODEL_AT,
    SUBMODEL,
    BIOS_REVISION,
    FEATURE1_SECOND_PIC | FEATURE1_RTC | FEATURE1_EBDA,
    0,
    0,
    0,
    0,
];

// ---- dispatch ----

/// INT 15h.
pub fn int15(regs: &mut Regs, mem: &mut dyn RealMemory, pf: &mut dyn BiosPlatform) -> Next {
    match regs.ax() {
        0xE820 => e820(regs, mem, pf),
        0xE801 => e801(regs, pf.ram_size()),
        0xEC00 => regs.succeed(),
        0x2400..=0x24FF => a20(regs, pf),
        _ => match regs.ah() {
            // Keyboard intercept: CF set means "process the key in AL".
            0x4F => regs.set_cf(true),
            0x88 => {
                regs.set_ax(kib_1m_to_16m(pf.ram_size()));
                regs.set_cf(false);
            }
            // Device busy / interrupt complete: nothing to wait for.
            0x90 | 0x91 => regs.succeed(),
            0xC0 => {
                regs.es = SYSTEM_CONFIG_SEGMENT;
                regs.set_bx(SYSTEM_CONFIG_OFFSET);
                regs.succeed();
            }
            0xC1 => {
                regs.es = mem.read_u16(bda::EBDA_SEGMENT_PTR);
                regs.succeed();
            }
            // 53h APM (86h: "APM not present"), 87h block move, 89h protected
            // mode, and everything else.
            _ => regs.fail(STATUS_UNSUPPORTED),
        },
    }
    Next::Return
}

#[cfg(test)]
mod tests {
    use super::super::test_platform::{regs_with_flags, FakePlatform};
    use super::*;
    use crate::memory::VecMemory;
    use alloc::vec;
    use alloc::vec::Vec;

    const MIB: u64 = 1 << 20;

    fn mem() -> VecMemory {
        VecMemory(vec![0; 0x10_0000])
    }

    /// Walks E820 as Linux's `detect_memory_e820` does: EBX from 0 until it
    /// comes back 0, a 20-byte buffer at ES:DI each time.
    fn walk(ram: u64) -> Vec<(u64, u64, u32)> {
        let mut m = mem();
        let mut pf = FakePlatform::new(ram);
        let mut out = Vec::new();
        let mut ebx = 0;
        for _ in 0..16 {
            let mut r = Regs {
                eax: 0xE820,
                ebx,
                ecx: 24,
                edx: SMAP,
                es: 0x0800,
                edi: 0x0010,
                ..regs_with_flags()
            };
            assert_eq!(int15(&mut r, &mut m, &mut pf), Next::Return);
            assert!(!r.cf());
            assert_eq!((r.eax, r.ecx), (SMAP, 20));
            let b = &m.0[0x8010..0x8010 + 20];
            out.push((
                u64::from_le_bytes(b[0..8].try_into().unwrap()),
                u64::from_le_bytes(b[8..16].try_into().unwrap()),
                u32::from_le_bytes(b[16..20].try_into().unwrap()),
            ));
            ebx = r.ebx;
            if ebx == 0 {
                return out;
            }
        }
        panic!("E820 never ended");
    }

    #[test]
    fn e820_walk_with_ebx_continuation_lists_the_map() {
        assert_eq!(
            walk(512 * MIB),
            vec![
                (0, 0x9_FC00, 1),
                (0x9_FC00, 0x400, 2),
                (0xE_0000, 0x2_0000, 2),
                (0x10_0000, 511 * MIB, 1),
            ]
        );
    }

    #[test]
    fn e820_puts_ram_past_3_5_gib_above_4_gib() {
        let map = walk(4096 * MIB);
        assert_eq!(map[3], (0x10_0000, 0xE000_0000 - 0x10_0000, 1));
        assert_eq!(map[4], (0x1_0000_0000, 0x2000_0000, 1));
        assert_eq!(map.len(), 5);
    }

    #[test]
    fn e820_with_one_mib_has_no_extended_range() {
        assert_eq!(walk(MIB).len(), 3);
    }

    #[test]
    fn e820_rejects_bad_signature_small_buffer_and_bad_continuation() {
        let mut pf = FakePlatform::new(64 * MIB);
        let good = Regs {
            eax: 0xE820,
            ecx: 20,
            edx: SMAP,
            es: 0x0800,
            ..regs_with_flags()
        };
        for bad in [
            Regs {
                edx: 0x5041_4D53, // 'SMAP' byte-swapped
                ..good
            },
            Regs { ecx: 19, ..good },
            Regs { ebx: 4, ..good },
            Regs {
                ebx: 0xFFFF_FFFF,
                ..good
            },
        ] {
            let mut m = mem();
            let mut r = bad;
            int15(&mut r, &mut m, &mut pf);
            assert!(r.cf(), "{bad:?}");
            assert_eq!(r.ah(), 0x86);
            assert!(m.0.iter().all(|b| *b == 0), "nothing written");
        }
    }

    #[test]
    fn e820_into_a_buffer_outside_memory_fails() {
        let mut m = VecMemory(vec![0; 0x8000]);
        let mut pf = FakePlatform::new(64 * MIB);
        let mut r = Regs {
            eax: 0xE820,
            ecx: 20,
            edx: SMAP,
            es: 0x0800,
            ..regs_with_flags()
        };
        int15(&mut r, &mut m, &mut pf);
        assert!(r.cf());
    }

    fn call(ax: u16, ram: u64) -> Regs {
        let mut r = Regs {
            eax: u32::from(ax),
            ..regs_with_flags()
        };
        int15(&mut r, &mut mem(), &mut FakePlatform::new(ram));
        r
    }

    #[test]
    fn e801_and_88h_with_16_mib() {
        let r = call(0xE801, 16 * MIB);
        assert!(!r.cf());
        assert_eq!(
            (r.ax(), r.bx(), r.cx(), r.dx()),
            (15 * 1024, 0, 15 * 1024, 0)
        );
        let r = call(0x8800, 16 * MIB);
        assert!(!r.cf());
        assert_eq!(r.ax(), 0x3C00);
    }

    #[test]
    fn e801_and_88h_with_512_mib() {
        let r = call(0xE801, 512 * MIB);
        assert!(!r.cf());
        let blocks = (512 - 16) * 16;
        assert_eq!(
            (r.ax(), r.bx(), r.cx(), r.dx()),
            (0x3C00, blocks, 0x3C00, blocks)
        );
        // 88h stops at 15 MiB, as the standard BIOS does.
        assert_eq!(call(0x8800, 512 * MIB).ax(), 0x3C00);
        assert_eq!(call(0x8800, 4 * MIB).ax(), 3 * 1024);
    }

    #[test]
    fn e801_counts_only_ram_below_4_gib() {
        let r = call(0xE801, 3072 * MIB + 2048 * MIB);
        assert_eq!(r.bx(), ((0xE000_0000 - SIXTEEN_MIB) / BLOCK_64K) as u16);
    }

    #[test]
    fn a20_functions_drive_port_92_and_the_8042() {
        let mut m = mem();
        let mut pf = FakePlatform::new(16 * MIB);
        post_a20(&mut pf);
        assert!(pf.a20_enabled());
        let mut run = |ax: u16, pf: &mut FakePlatform| {
            let mut r = Regs {
                eax: u32::from(ax),
                ..regs_with_flags()
            };
            int15(&mut r, &mut m, pf);
            assert!(!r.cf(), "{ax:#x}");
            assert_eq!(r.ah(), 0);
            r
        };
        assert_eq!(run(0x2402, &mut pf).al(), 1);
        run(0x2400, &mut pf);
        assert!(!pf.a20_enabled(), "both gates closed");
        assert_eq!(pf.port_in(0x92) & 0x02, 0);
        assert_eq!(run(0x2402, &mut pf).al(), 0);
        run(0x2401, &mut pf);
        assert!(pf.a20_enabled());
        assert_eq!(pf.port_in(0x92) & 0x02, 0x02);
        assert_eq!(run(0x2402, &mut pf).al(), 1);
        assert_eq!(run(0x2403, &mut pf).bx(), 3);
        assert!(!pf.reset_requested(), "no reset edge on port 92h");
        let mut r = Regs {
            eax: 0x2404,
            ..regs_with_flags()
        };
        int15(&mut r, &mut m, &mut pf);
        assert!(r.cf());
    }

    #[test]
    fn c0h_points_at_the_configuration_table() {
        let r = call(0xC000, 16 * MIB);
        assert!(!r.cf());
        assert_eq!((r.es, r.bx(), r.ah()), (0xF000, 0xE6F5, 0));
        assert_eq!(
            SYSTEM_CONFIG_TABLE,
            [0x08, 0x00, 0xFC, 0x01, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00]
        );
        // Second 8259, RTC, EBDA; not "INT 09h calls INT 15h/4Fh".
        assert_eq!(SYSTEM_CONFIG_TABLE[5] & FEATURE1_KBD_INTERCEPT, 0);
    }

    #[test]
    fn c1h_returns_the_ebda_segment() {
        let mut m = mem();
        m.write_u16(0x40E, 0x9FC0);
        let mut r = Regs {
            eax: 0xC100,
            ..regs_with_flags()
        };
        int15(&mut r, &mut m, &mut FakePlatform::new(16 * MIB));
        assert_eq!((r.es, r.cf()), (0x9FC0, false));
    }

    #[test]
    fn hints_and_intercepts_answer_as_documented() {
        let r = call(0xEC00, 16 * MIB);
        assert!(!r.cf());
        let r = call(0x4F1E, 16 * MIB);
        assert!(r.cf(), "process the key");
        assert_eq!(r.ax(), 0x4F1E, "AL unchanged");
        for ax in [0x5300, 0x8700, 0x8900, 0xC200, 0x0000, 0xE881] {
            let r = call(ax, 16 * MIB);
            assert!(r.cf(), "{ax:#x}");
            assert_eq!(r.ah(), 0x86, "{ax:#x}");
        }
    }
}
