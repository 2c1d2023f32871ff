//! Device 01 of bus 0: the Intel 82371SB PIIX3, with IDs and register
//! defaults from the Intel 82371FB (PIIX) and 82371SB (PIIX3) PCI ISA IDE
//! Xcelerator datasheet. Function 0 is the PCI-to-ISA bridge (8086:7000) with
//! PIRQRCA-PIRQRCD; function 1 is the IDE controller (8086:7010) with BMIBA as
//! I/O BAR 4 and IDETIM/SIDETIM. The bus's accessors for those registers are
//! in `piix3_access`.
//!
//! BMIBA decodes all 32 address bits, a deviation from the datasheet that
//! the parent module's documentation explains. PIIX3's RC Reset Control
//! register at I/O 0CF9h sits among the configuration ports, so `bus`
//! decodes it.

use super::config_space::{
    Bar, ConfigSpace, COMMAND, COMMAND_BUS_MASTER, COMMAND_IO_SPACE, COMMAND_MEMORY_SPACE,
    COMMAND_SERR_ENABLE, COMMAND_SPECIAL_CYCLES, LATENCY_TIMER, STATUS, STATUS_DEVSEL_MEDIUM,
    STATUS_FAST_BACK_TO_BACK, STATUS_W1C,
};
use super::i440fx::VENDOR_INTEL;

/// Device number of the PIIX3 on bus 0.
pub const PIIX3_DEVICE: u8 = 1;
/// PIIX3 function number of the PCI-to-ISA bridge.
pub const PIIX3_ISA_FUNCTION: u8 = 0;
/// PIIX3 function number of the IDE controller.
pub const PIIX3_IDE_FUNCTION: u8 = 1;

// ---------------------------------------------------------------------------
// 82371SB PIIX3 function 0: PCI-to-ISA bridge, 01.0
// ---------------------------------------------------------------------------

/// 82371SB PIIX3 PCI-to-ISA bridge device ID.
pub const DEVICE_ID_PIIX3_ISA: u16 = 0x7000;
/// Class code 06/01/00: bridge, PCI-to-ISA bridge.
pub const CLASS_ISA_BRIDGE: u32 = 0x06_01_00;

/// PIIX3 IORT (4Ch): ISA I/O Recovery Timer.
pub const PIIX3_IORT: u8 = 0x4C;
/// PIIX3 XBCS (4Eh-4Fh): X-Bus Chip Select.
pub const PIIX3_XBCS: u8 = 0x4E;
/// PIIX3 PIRQRCA (60h): PIRQA# route control; PIRQRCB-D follow at 61h-63h.
pub const PIIX3_PIRQRC: u8 = 0x60;
/// Number of PIRQ route control registers (PIRQA#-PIRQD#).
pub const PIIX3_PIRQ_COUNT: usize = 4;
/// PIRQRC bit 7: IRQROUTEN, 1 = routing disabled (the default 80h).
pub const PIRQRC_IRQROUTEN_DISABLE: u8 = 1 << 7;
/// PIRQRC bits 3:0: IRQ0-IRQ15 the PIRQ# is routed to.
pub const PIRQRC_IRQ_MASK: u8 = 0x0F;
/// PIRQRC bits 6:4 are reserved: the writable bits are 7 and 3:0.
const PIRQRC_WRITABLE: u8 = PIRQRC_IRQROUTEN_DISABLE | PIRQRC_IRQ_MASK;
/// PIIX3 TOM (69h): Top of Memory.
pub const PIIX3_TOM: u8 = 0x69;
/// PIIX3 MSTAT (6Ah-6Bh): Miscellaneous Status.
pub const PIIX3_MSTAT: u8 = 0x6A;
/// PIIX3 MBIRQ0 (70h): motherboard device IRQ route control 0; MBIRQ1 at 71h.
pub const PIIX3_MBIRQ0: u8 = 0x70;
/// PIIX3 MBDMA0 (76h): motherboard device DMA control 0; MBDMA1 at 77h.
pub const PIIX3_MBDMA0: u8 = 0x76;
/// PIIX3 PCSC (78h-79h): Programmable Chip Select Control.
pub const PIIX3_PCSC: u8 = 0x78;
/// PIIX3 APICBASE (80h): APIC base address relocation.
pub const PIIX3_APICBASE: u8 = 0x80;
/// PIIX3 DLC (82h): Deterministic Latency Control.
pub const PIIX3_DLC: u8 = 0x82;
/// PIIX3 SMICNTL (A0h): SMI Control.
pub const PIIX3_SMICNTL: u8 = 0xA0;
/// PIIX3 SMIEN (A2h-A3h): SMI Enable.
pub const PIIX3_SMIEN: u8 = 0xA2;
/// PIIX3 SEE (A4h-A7h): System Event Enable.
pub const PIIX3_SEE: u8 = 0xA4;
/// PIIX3 FTMR (A8h): Fast Off Timer.
pub const PIIX3_FTMR: u8 = 0xA8;
/// PIIX3 SMIREQ (AAh-ABh): SMI Request.
pub const PIIX3_SMIREQ: u8 = 0xAA;
/// PIIX3 CTLTMR (ACh): Clock Scale STPCLK# Low Timer.
pub const PIIX3_CTLTMR: u8 = 0xAC;
/// PIIX3 CTHTMR (AEh): Clock Scale STPCLK# High Timer.
pub const PIIX3_CTHTMR: u8 = 0xAE;

/// The PIIX3 PCI-to-ISA bridge's configuration space (function 01.0):
/// multi-function, PCICMD 0007h with I/O, memory and bus master hardwired on
/// (Special Cycles and SERR# Enable writable), PCISTS 0200h, PIRQRCA-PIRQRCD
/// 80h (disabled) with bits 7 and 3:0 writable, and the other registers at
/// their datasheet defaults, writable as whole bytes (their reserved bits
/// are not modelled).
pub fn piix3_isa_config() -> ConfigSpace {
    let mut cs = ConfigSpace::new(VENDOR_INTEL, DEVICE_ID_PIIX3_ISA, 0, CLASS_ISA_BRIDGE);
    cs.set_multi_function(true);
    cs.define_register(
        COMMAND,
        2,
        u32::from(COMMAND_IO_SPACE | COMMAND_MEMORY_SPACE | COMMAND_BUS_MASTER),
        u32::from(COMMAND_SPECIAL_CYCLES | COMMAND_SERR_ENABLE),
    );
    cs.define_register(STATUS, 2, u32::from(STATUS_DEVSEL_MEDIUM), 0);
    cs.define_w1c(STATUS, 2, u32::from(STATUS_W1C));
    // (offset, size, datasheet default)
    let defaults: [(u8, u8, u32); 18] = [
        (PIIX3_IORT, 1, 0x4D),
        (PIIX3_XBCS, 2, 0x0003),
        (PIIX3_TOM, 1, 0x02),
        (PIIX3_MSTAT, 2, 0x0000),
        (PIIX3_MBIRQ0, 1, 0x80),
        (PIIX3_MBIRQ0 + 1, 1, 0x80),
        (PIIX3_MBDMA0, 1, 0x0C),
        (PIIX3_MBDMA0 + 1, 1, 0x0C),
        (PIIX3_PCSC, 2, 0x0002),
        (PIIX3_APICBASE, 1, 0x00),
        (PIIX3_DLC, 1, 0x00),
        (PIIX3_SMICNTL, 1, 0x08),
        (PIIX3_SMIEN, 2, 0x0000),
        (PIIX3_SEE, 4, 0x0000_0000),
        (PIIX3_FTMR, 1, 0x0F),
        (PIIX3_SMIREQ, 2, 0x0000),
        (PIIX3_CTLTMR, 1, 0x00),
        (PIIX3_CTHTMR, 1, 0x00),
    ];
    for (offset, size, default) in defaults {
        cs.define_register(offset, size, default, u32::MAX);
    }
    for i in 0..PIIX3_PIRQ_COUNT as u8 {
        cs.define_register(
            PIIX3_PIRQRC + i,
            1,
            u32::from(PIRQRC_IRQROUTEN_DISABLE),
            u32::from(PIRQRC_WRITABLE),
        );
    }
    cs
}

// ---------------------------------------------------------------------------
// 82371SB PIIX3 function 1: IDE, 01.1
// ---------------------------------------------------------------------------

/// 82371SB PIIX3 IDE device ID.
pub const DEVICE_ID_PIIX3_IDE: u16 = 0x7010;
/// Class code 01/01/80: mass storage, IDE, bus-master capable with both
/// channels fixed in compatibility mode (0x1F0/0x3F6 IRQ 14, 0x170/0x376 IRQ 15).
pub const CLASS_IDE_COMPAT_BUS_MASTER: u32 = 0x01_01_80;
/// BMIBA (20h) is BAR 4: the 16-byte bus-master IDE I/O block.
pub const PIIX3_BMIBA_BAR: usize = 4;
/// Size of the bus-master IDE I/O block.
pub const BMIDE_PORT_COUNT: u16 = 16;
/// PIIX3 IDE MLT (0Dh) bits 7:4: the writable Master Latency Timer count.
const MLT_WRITABLE: u8 = 0xF0;
/// PIIX3 IDETIM primary channel (40h-41h); the secondary channel's is at 42h.
pub const PIIX3_IDETIM: u8 = 0x40;
/// PIIX3 SIDETIM (44h): Slave IDE Timing.
pub const PIIX3_SIDETIM: u8 = 0x44;
/// IDETIM bit 15: IDE Decode Enable for the channel's compatibility ports.
pub const IDETIM_IDE: u16 = 1 << 15;
/// IDETIM bits 11:10 are reserved; all others are read/write.
const IDETIM_WRITABLE: u16 = !(0x3 << 10);

/// The PIIX3 IDE function's configuration space (01.1): class 01/01/80,
/// PCICMD 0000h with I/O Space and Bus Master writable (memory space is not
/// supported), PCISTS 0280h, MLT bits 7:4 writable, BMIBA as a 16-byte I/O
/// BAR 4, IDETIM 0000h for both channels and SIDETIM 00h, interrupt pin 0.
pub fn piix3_ide_config() -> ConfigSpace {
    let mut cs = ConfigSpace::new(
        VENDOR_INTEL,
        DEVICE_ID_PIIX3_IDE,
        0,
        CLASS_IDE_COMPAT_BUS_MASTER,
    );
    cs.define_register(
        COMMAND,
        2,
        0,
        u32::from(COMMAND_IO_SPACE | COMMAND_BUS_MASTER),
    );
    cs.define_register(
        STATUS,
        2,
        u32::from(STATUS_DEVSEL_MEDIUM | STATUS_FAST_BACK_TO_BACK),
        0,
    );
    cs.define_w1c(STATUS, 2, u32::from(STATUS_W1C));
    cs.define_register(LATENCY_TIMER, 1, 0, u32::from(MLT_WRITABLE));
    cs.set_bar(
        PIIX3_BMIBA_BAR,
        Bar::Io {
            size: u32::from(BMIDE_PORT_COUNT),
        },
    );
    cs.define_register(PIIX3_IDETIM, 2, 0, u32::from(IDETIM_WRITABLE));
    cs.define_register(PIIX3_IDETIM + 2, 2, 0, u32::from(IDETIM_WRITABLE));
    cs.define_register(PIIX3_SIDETIM, 1, 0, 0xFF);
    cs.set_interrupt_pin(0);
    cs
}
