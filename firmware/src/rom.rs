//! The BIOS ROM image: 64 KiB at F000:0000 (physical F0000h-FFFFFh, also seen
//! at the reset vector below 4 GiB), generated at VM creation.
//!
//! Layout (all offsets in segment F000h):
//! - C000h + 8 * vector: one stub per interrupt vector. A serviced vector's
//!   stub is `out 0EAh, al` + `iret`: the hypervisor sees the port write,
//!   tells the service from the address of the OUT (see [`service_at`]), and
//!   runs it in Rust. Unserviced vectors get a bare `iret`.
//! - E05Bh: the POST entry the reset vector jumps to (IBM's address).
//! - E6F5h: the system configuration table INT 15h AH=C0h returns (IBM's address).
//! - EFC7h: the diskette parameter table INT 1Eh points to (IBM's address).
//! - FFF0h: the reset vector, `jmp far F000:E05B`; FFF5h the BIOS date;
//!   FFFEh the model byte (FCh, PC/AT).
//!
//! The stubs are hand-encoded (a few bytes each, with their disassembly
//! beside them) rather than assembled, so this crate stays `no_std` without an
//! assembler.

use alloc::vec;
use alloc::vec::Vec;
use pc_layout::memory::HIGH_MEMORY;

/// The guest port the stubs write to trap into the hypervisor (the board's
/// [`pc_layout::ports::BIOS_TRAP`]).
pub use pc_layout::ports::BIOS_TRAP as TRAP_PORT;

/// Size of the ROM.
pub const ROM_SIZE: usize = 0x1_0000;
/// Segment of the ROM: the image ends at 1 MiB, where the hypervisor loads
/// it (F000h for 64 KiB).
pub const ROM_SEGMENT: u16 = ((HIGH_MEMORY - ROM_SIZE as u64) >> 4) as u16;
/// Offset of the stub table.
pub const STUB_BASE: u16 = 0xC000;
/// Bytes per stub.
pub const STUB_SIZE: u16 = 8;
/// Offset of the POST entry.
pub const POST_ENTRY: u16 = 0xE05B;
/// Offset of the diskette parameter table.
pub const DPT_OFFSET: u16 = 0xEFC7;
/// Offset of the reset vector.
pub const RESET_VECTOR: u16 = 0xFFF0;

/// `out 0EAh, al` (an 8-bit port number in the instruction).
const OUT_TRAP: [u8; 2] = [0xE6, TRAP_PORT as u8];
const _: () = assert!(TRAP_PORT <= 0xFF);
/// `iret`
const IRET: u8 = 0xCF;
/// `int 1Ch`
const INT_1C: [u8; 2] = [0xCD, 0x1C];
/// `sti`
const STI: u8 = 0xFB;
/// `hlt`
const HLT: u8 = 0xF4;
/// `nop`
const NOP: u8 = 0x90;

/// The diskette parameter table for a 1.44 MB drive (IBM PC/AT Technical
/// Reference, "Diskette Parameter Table"): step rate/head unload, head load/DMA,
/// motor-off delay, 512-byte sectors, 18 sectors per track, gap length, data
/// length, format gap, format fill byte, head settle time, motor start time.
pub const DISKETTE_PARAMETERS: [u8; 11] = [
    0xDF, 0x02, 0x25, 0x02, 0x12, 0x1B, 0xFF, 0x6C, 0xF6, 0x0F, 0x08,
];

/// A service the ROM traps into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// Power-on self test, then bootstrap.
    Post,
    /// The handler of interrupt vector `n`.
    Interrupt(u8),
}

/// True for the vectors whose stub traps: the hardware IRQs of both 8259s and
/// the BIOS software interrupts 10h-1Ah.
pub fn is_serviced(vector: u8) -> bool {
    matches!(vector, 0x08..=0x0F | 0x10..=0x1A | 0x70..=0x77)
}

/// Offset of the stub of `vector` (what its IVT entry points at).
pub fn stub_entry(vector: u8) -> u16 {
    STUB_BASE + u16::from(vector) * STUB_SIZE
}

/// True for the vectors whose services may have to wait for an interrupt
/// (INT 15h AH=86h, INT 16h reads): their stubs can halt and call again.
pub fn can_wait(vector: u8) -> bool {
    matches!(vector, 0x15 | 0x16)
}

/// Offset of the OUT instruction in a serviced vector's stub.
fn trap_offset(vector: u8) -> u16 {
    // A waiting stub starts with STI so the wait has interrupts enabled.
    stub_entry(vector) + u16::from(can_wait(vector))
}

/// Where a waiting service's stub halts: `hlt`, then back to the trap.
pub fn wait_offset(vector: u8) -> u16 {
    stub_entry(vector) + 4
}

/// The stub bytes of `vector`.
fn stub(vector: u8) -> [u8; STUB_SIZE as usize] {
    let [o0, o1] = OUT_TRAP;
    match vector {
        // out 0EAh, al ; int 1Ch ; iret
        0x08 => [o0, o1, INT_1C[0], INT_1C[1], IRET, NOP, NOP, NOP],
        // sti ; out 0EAh, al ; iret ; hlt ; jmp short (back to the out) ; nop
        v if can_wait(v) => [STI, o0, o1, IRET, HLT, 0xEB, 0xFA, NOP],
        // out 0EAh, al ; iret
        v if is_serviced(v) => [o0, o1, IRET, NOP, NOP, NOP, NOP, NOP],
        // iret
        _ => [IRET, NOP, NOP, NOP, NOP, NOP, NOP, NOP],
    }
}

/// The service whose trap instruction is at offset `ip` of the ROM segment.
pub fn service_at(ip: u16) -> Option<Service> {
    if ip == POST_ENTRY {
        return Some(Service::Post);
    }
    let rel = ip.checked_sub(STUB_BASE)?;
    let vector = u8::try_from(rel / STUB_SIZE).ok()?;
    (is_serviced(vector) && trap_offset(vector) == ip).then_some(Service::Interrupt(vector))
}

/// The 64 KiB ROM image.
pub fn build() -> Vec<u8> {
    let mut rom = vec![0xFFu8; ROM_SIZE];
    for v in 0..=255u8 {
        let at = usize::from(stub_entry(v));
        rom[at..at + STUB_SIZE as usize].copy_from_slice(&stub(v));
    }
    // POST: out 0EAh, al (the hypervisor runs POST and starts the boot code);
    // should it ever return: hlt ; jmp short (back to the hlt).
    let post = usize::from(POST_ENTRY);
    rom[post..post + 5].copy_from_slice(&[OUT_TRAP[0], OUT_TRAP[1], HLT, 0xEB, 0xFD]);
    let table = usize::from(crate::system::SYSTEM_CONFIG_OFFSET);
    rom[table..table + crate::system::SYSTEM_CONFIG_TABLE.len()]
        .copy_from_slice(&crate::system::SYSTEM_CONFIG_TABLE);
    let dpt = usize::from(DPT_OFFSET);
    rom[dpt..dpt + DISKETTE_PARAMETERS.len()].copy_from_slice(&DISKETTE_PARAMETERS);
    // jmp far F000:E05B
    let reset = usize::from(RESET_VECTOR);
    rom[reset..reset + 5].copy_from_slice(&[0xEA, 0x5B, 0xE0, 0x00, 0xF0]);
    rom[0xFFF5..0xFFFD].copy_from_slice(b"11/21/26");
    rom[0xFFFE] = 0xFC;
    rom
}

/// The interrupt vector table the POST installs: every vector at its stub,
/// except the data pointers INT 1Dh-1Fh (video parameters, diskette
/// parameters, graphics font), of which only the diskette table exists.
pub fn ivt() -> [(u16, u16); 256] {
    let mut t = [(ROM_SEGMENT, 0); 256];
    for (v, entry) in t.iter_mut().enumerate() {
        *entry = (ROM_SEGMENT, stub_entry(v as u8));
    }
    t[0x1D] = (0, 0);
    t[0x1E] = (ROM_SEGMENT, DPT_OFFSET);
    t[0x1F] = (0, 0);
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_vector_jumps_to_post() {
        let rom = build();
        assert_eq!(&rom[0xFFF0..0xFFF5], &[0xEA, 0x5B, 0xE0, 0x00, 0xF0]);
        assert_eq!(
            &rom[usize::from(POST_ENTRY)..usize::from(POST_ENTRY) + 2],
            &OUT_TRAP
        );
        assert_eq!(service_at(POST_ENTRY), Some(Service::Post));
    }

    #[test]
    fn every_serviced_stub_traps_at_the_address_service_at_expects() {
        let rom = build();
        for v in 0..=255u8 {
            let entry = usize::from(stub_entry(v));
            if is_serviced(v) {
                let at = trap_offset(v);
                assert_eq!(
                    &rom[usize::from(at)..usize::from(at) + 2],
                    &OUT_TRAP,
                    "vector {v:#x}"
                );
                assert_eq!(service_at(at), Some(Service::Interrupt(v)));
            } else {
                assert_eq!(rom[entry], IRET, "vector {v:#x}");
                assert_eq!(service_at(entry as u16), None);
            }
        }
        assert_eq!(
            service_at(stub_entry(0x13) + 1),
            None,
            "only the OUT itself identifies a service"
        );
        assert_eq!(service_at(0x1234), None);
    }

    #[test]
    fn waiting_stubs_halt_and_jump_back_to_their_trap() {
        let rom = build();
        for vector in [0x15, 0x16] {
            let wait = usize::from(wait_offset(vector));
            assert_eq!(rom[wait], HLT);
            assert_eq!(rom[wait + 1], 0xEB);
            let target = (wait + 3) as i64 + i64::from(rom[wait + 2] as i8);
            assert_eq!(target as u16, trap_offset(vector));
            assert_eq!(rom[usize::from(stub_entry(vector))], STI);
            assert_eq!(
                service_at(trap_offset(vector)),
                Some(Service::Interrupt(vector))
            );
        }
    }

    #[test]
    fn irq0_stub_chains_int_1c() {
        let rom = build();
        let at = usize::from(stub_entry(8));
        assert_eq!(&rom[at..at + 5], &[0xE6, 0xEA, 0xCD, 0x1C, 0xCF]);
    }

    #[test]
    fn ivt_points_at_stubs_and_the_diskette_table() {
        let t = ivt();
        assert_eq!(t[0x13], (ROM_SEGMENT, stub_entry(0x13)));
        assert_eq!(t[0x1E], (ROM_SEGMENT, DPT_OFFSET));
        let rom = build();
        assert_eq!(
            &rom[usize::from(DPT_OFFSET)..usize::from(DPT_OFFSET) + 11],
            &DISKETTE_PARAMETERS
        );
    }
}
