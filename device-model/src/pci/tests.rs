//! Tests of `pci`.

use super::*;
use crate::bus::{all_ones, PortIoBus};
use crate::PciFunction;
use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;
use std::vec;
use test_rng::XorShift32;

/// CONFIG_ADDRESS for bus 0 `device`.`function`, register `reg`, enabled.
fn addr(device: u8, function: u8, reg: u8) -> u32 {
    CONFIG_ADDRESS_ENABLE
        | (u32::from(device) << 11)
        | (u32::from(function) << 8)
        | u32::from(reg & 0xFC)
}

fn cfg_read(bus: &mut PciBus, device: u8, function: u8, reg: u8, size: u8) -> u32 {
    bus.write(CONFIG_ADDRESS_PORT, 4, addr(device, function, reg));
    bus.read(CONFIG_DATA_PORT + u16::from(reg & 3), size)
}

fn cfg_write(bus: &mut PciBus, device: u8, function: u8, reg: u8, size: u8, value: u32) {
    bus.write(CONFIG_ADDRESS_PORT, 4, addr(device, function, reg));
    bus.write(CONFIG_DATA_PORT + u16::from(reg & 3), size, value);
}

/// Scans bus 0 as an OS does: function 0 of each device, functions 1-7
/// only of multi-function devices.
fn scan(bus: &mut PciBus) -> Vec<(u8, u8, u32, u32, u8)> {
    let mut found = Vec::new();
    for device in 0..32 {
        for function in 0..8 {
            let id = cfg_read(bus, device, function, VENDOR_ID, 4);
            if id & 0xFFFF == 0xFFFF {
                if function == 0 {
                    break;
                }
                continue;
            }
            let class = cfg_read(bus, device, function, REVISION_ID, 4) >> 8;
            let header = cfg_read(bus, device, function, HEADER_TYPE, 1) as u8;
            found.push((device, function, id, class, header));
            if function == 0 && header & HEADER_TYPE_MULTI_FUNCTION == 0 {
                break;
            }
        }
    }
    found
}

#[test]
fn scanning_bus_zero_finds_host_bridge_isa_bridge_and_ide() {
    let mut bus = PciBus::new_pc();
    assert_eq!(
        scan(&mut bus),
        vec![
            (0, 0, 0x1237_8086, 0x06_00_00, 0x00),
            (1, 0, 0x7000_8086, 0x06_01_00, 0x80),
            (1, 1, 0x7010_8086, 0x01_01_80, 0x00),
        ]
    );
    // A brute-force scan of every function agrees.
    let mut present = 0;
    for device in 0..32 {
        for function in 0..8 {
            if cfg_read(&mut bus, device, function, 0, 4) != 0xFFFF_FFFF {
                present += 1;
            }
        }
    }
    assert_eq!(present, 3);
}

#[test]
fn absent_devices_and_other_buses_read_all_ones_and_drop_writes() {
    let mut bus = PciBus::new_pc();
    assert_eq!(cfg_read(&mut bus, 2, 0, 0, 4), 0xFFFF_FFFF);
    assert_eq!(cfg_read(&mut bus, 0, 1, 0, 2), 0xFFFF);
    assert_eq!(cfg_read(&mut bus, 31, 7, 0x3C, 1), 0xFF);
    // Bus 1, device 0 function 0: nothing answers.
    bus.write(CONFIG_ADDRESS_PORT, 4, addr(0, 0, 0) | (1 << 16));
    assert_eq!(bus.read(CONFIG_DATA_PORT, 4), 0xFFFF_FFFF);
    bus.write(CONFIG_DATA_PORT, 4, 0);
    assert_eq!(cfg_read(&mut bus, 0, 0, 0, 4), 0x1237_8086);
    cfg_write(&mut bus, 5, 0, 0x3C, 1, 0x0B);
    assert_eq!(cfg_read(&mut bus, 5, 0, 0x3C, 1), 0xFF);
}

#[test]
fn disabled_config_address_reads_all_ones_and_drops_writes() {
    let mut bus = PciBus::new_pc();
    bus.write(
        CONFIG_ADDRESS_PORT,
        4,
        addr(1, 1, INTERRUPT_LINE) & !CONFIG_ADDRESS_ENABLE,
    );
    for port in CONFIG_DATA_PORT..=0xCFF {
        assert_eq!(bus.read(port, 1), 0xFF);
    }
    assert_eq!(bus.read(CONFIG_DATA_PORT, 2), 0xFFFF);
    assert_eq!(bus.read(CONFIG_DATA_PORT, 4), 0xFFFF_FFFF);
    bus.write(CONFIG_DATA_PORT, 1, 0x0E);
    assert_eq!(cfg_read(&mut bus, 1, 1, INTERRUPT_LINE, 1), 0);
}

#[test]
fn config_address_reads_back_with_reserved_bits_zero() {
    let mut bus = PciBus::new();
    bus.write(CONFIG_ADDRESS_PORT, 4, 0xFFFF_FFFF);
    assert_eq!(bus.read(CONFIG_ADDRESS_PORT, 4), 0x80FF_FFFC);
    bus.write(CONFIG_ADDRESS_PORT, 4, 0x8000_0804);
    assert_eq!(bus.config_address(), 0x8000_0804);
}

#[test]
fn narrow_accesses_to_cf8_leave_config_address_alone() {
    let mut bus = PciBus::new_pc();
    bus.write(CONFIG_ADDRESS_PORT, 4, 0x8000_0800);
    bus.write(0xCF8, 1, 0x00);
    bus.write(0xCF8, 2, 0x0000);
    bus.write(0xCFA, 2, 0x1234);
    bus.write(0xCFB, 1, 0x01);
    bus.write(0xCF9, 4, 0); // unaligned dword: not CONFIG_ADDRESS
    assert_eq!(bus.read(CONFIG_ADDRESS_PORT, 4), 0x8000_0800);
    assert_eq!(bus.read(0xCF8, 1), 0xFF);
    assert_eq!(bus.read(0xCF8, 2), 0xFFFF);
    assert_eq!(bus.read(0xCFA, 1), 0xFF);
    assert_eq!(bus.read(0xCFB, 1), 0xFF);
    assert_eq!(bus.take_reset_request(), None);
}

#[test]
fn byte_and_word_reads_at_every_offset_match_the_dword() {
    let mut bus = PciBus::new_pc();
    bus.set_ide_bmide_base(0xC000);
    for (device, function) in [(0, 0), (1, 0), (1, 1)] {
        for reg in (0..=0xFCu8).step_by(4) {
            let dword = cfg_read(&mut bus, device, function, reg, 4);
            for lane in 0..4u8 {
                let byte = cfg_read(&mut bus, device, function, reg + lane, 1);
                assert_eq!(
                    byte,
                    (dword >> (8 * lane)) & 0xFF,
                    "{device}.{function} {reg:#x}+{lane}"
                );
            }
            for lane in [0u8, 1, 2] {
                let word = cfg_read(&mut bus, device, function, reg + lane, 2);
                assert_eq!(word, (dword >> (8 * lane)) & 0xFFFF);
            }
        }
    }
}

#[test]
fn accesses_spilling_past_cfff_read_ones_for_the_missing_lanes() {
    let mut bus = PciBus::new_pc();
    bus.write(CONFIG_ADDRESS_PORT, 4, addr(0, 0, 0));
    assert_eq!(bus.read(0xCFF, 2), 0xFF12);
    assert_eq!(bus.read(0xCFE, 4), 0xFFFF_1237);
    assert_eq!(bus.read(0xCFD, 4), 0xFF12_3780);
    bus.write(0xCFF, 4, 0xFFFF_FFFF); // device ID byte: read-only anyway
    assert_eq!(bus.read(CONFIG_DATA_PORT, 4), 0x1237_8086);
    assert_eq!(bus.read(0xD00, 4), 0xFFFF_FFFF);
    assert_eq!(bus.read(0xCF7, 1), 0xFF);
}

#[test]
fn sub_dword_writes_reach_only_their_byte_lanes() {
    let mut bus = PciBus::new_pc();
    // PIRQRCB (61h) by byte, PIRQRCC/D (62h-63h) by word at 0xCFE.
    cfg_write(&mut bus, 1, 0, 0x61, 1, 0x0B);
    cfg_write(&mut bus, 1, 0, 0x62, 2, 0x0A09);
    assert_eq!(cfg_read(&mut bus, 1, 0, 0x60, 4), 0x0A09_0B80);
    assert_eq!(bus.pirq_route(0), None);
    assert_eq!(bus.pirq_route(1), Some(11));
    assert_eq!(bus.pirq_route(2), Some(9));
    assert_eq!(bus.pirq_route(3), Some(10));
    assert_eq!(bus.pirq_route(4), None);
}

#[test]
fn pirq_route_registers_default_disabled_and_keep_reserved_bits_zero() {
    let mut bus = PciBus::new_pc();
    assert_eq!(cfg_read(&mut bus, 1, 0, 0x60, 4), 0x8080_8080);
    cfg_write(&mut bus, 1, 0, 0x60, 4, 0xFFFF_FFFF);
    assert_eq!(cfg_read(&mut bus, 1, 0, 0x60, 4), 0x8F8F_8F8F);
    cfg_write(&mut bus, 1, 0, 0x60, 1, 0x08); // IRQ 8 is reserved
    cfg_write(&mut bus, 1, 0, 0x61, 1, 0x0D); // IRQ 13 is reserved
    assert_eq!(bus.pirq_route(0), None);
    assert_eq!(bus.pirq_route(1), None);
}

#[test]
fn isa_bridge_reads_datasheet_defaults() {
    let mut bus = PciBus::new_pc();
    assert_eq!(cfg_read(&mut bus, 1, 0, COMMAND, 2), 0x0007);
    assert_eq!(cfg_read(&mut bus, 1, 0, STATUS, 2), 0x0200);
    assert_eq!(cfg_read(&mut bus, 1, 0, PIIX3_IORT, 1), 0x4D);
    assert_eq!(cfg_read(&mut bus, 1, 0, PIIX3_XBCS, 2), 0x0003);
    assert_eq!(cfg_read(&mut bus, 1, 0, PIIX3_TOM, 1), 0x02);
    assert_eq!(cfg_read(&mut bus, 1, 0, PIIX3_MBIRQ0, 2), 0x8080);
    assert_eq!(cfg_read(&mut bus, 1, 0, PIIX3_MBDMA0, 2), 0x0C0C);
    assert_eq!(cfg_read(&mut bus, 1, 0, PIIX3_PCSC, 2), 0x0002);
    assert_eq!(cfg_read(&mut bus, 1, 0, PIIX3_SMICNTL, 1), 0x08);
    assert_eq!(cfg_read(&mut bus, 1, 0, PIIX3_FTMR, 1), 0x0F);
    // Hardwired command bits stay set.
    cfg_write(&mut bus, 1, 0, COMMAND, 2, 0);
    assert_eq!(cfg_read(&mut bus, 1, 0, COMMAND, 2), 0x0007);
}

#[test]
fn host_bridge_pam_and_smram_keep_only_their_defined_bits() {
    let mut bus = PciBus::new_pc();
    assert_eq!(cfg_read(&mut bus, 0, 0, COMMAND, 4), 0x0280_0006);
    assert_eq!(cfg_read(&mut bus, 0, 0, PMC_SMRAM, 1), 0x02);
    cfg_write(&mut bus, 0, 0, 0x58, 4, 0xFFFF_FFFF);
    assert_eq!(cfg_read(&mut bus, 0, 0, 0x58, 4), 0x3333_3000);
    cfg_write(&mut bus, 0, 0, PMC_SMRAM, 1, 0xFF);
    assert_eq!(cfg_read(&mut bus, 0, 0, PMC_SMRAM, 1), 0x7A);
}

#[test]
fn ide_bar4_sizing_reads_the_size_mask_then_takes_a_base() {
    let mut bus = PciBus::new_pc();
    let bar4 = BAR0 + 16;
    assert_eq!(cfg_read(&mut bus, 1, 1, bar4, 4), 0x0000_0001);
    cfg_write(&mut bus, 1, 1, bar4, 4, 0xFFFF_FFFF);
    assert_eq!(cfg_read(&mut bus, 1, 1, bar4, 4), 0xFFFF_FFF1);
    cfg_write(&mut bus, 1, 1, bar4, 4, 0xC001);
    assert_eq!(cfg_read(&mut bus, 1, 1, bar4, 4), 0xC001);
    // Unaligned bases lose their low bits; the I/O indicator stays.
    cfg_write(&mut bus, 1, 1, bar4, 4, 0xC00E);
    assert_eq!(cfg_read(&mut bus, 1, 1, bar4, 4), 0xC001);
    // BARs 0-3 and 5 are absent in compatibility mode.
    for bar in [0u8, 1, 2, 3, 5] {
        cfg_write(&mut bus, 1, 1, BAR0 + 4 * bar, 4, 0xFFFF_FFFF);
        assert_eq!(cfg_read(&mut bus, 1, 1, BAR0 + 4 * bar, 4), 0);
    }
}

#[test]
fn bmide_base_follows_the_guest_only_while_io_decoding_is_on() {
    let mut bus = PciBus::new_pc();
    cfg_write(&mut bus, 1, 1, BAR0 + 16, 4, 0xD000);
    assert_eq!(bus.ide_bmide_base(), None, "I/O Space still off");
    cfg_write(&mut bus, 1, 1, COMMAND, 2, u32::from(COMMAND_IO_SPACE));
    assert_eq!(bus.ide_bmide_base(), Some(0xD000));
    cfg_write(&mut bus, 1, 1, BAR0 + 16, 4, 0xE041);
    assert_eq!(bus.ide_bmide_base(), Some(0xE040));
    // Mid-sizing, the BAR points above the port space: nothing decodes.
    cfg_write(&mut bus, 1, 1, BAR0 + 16, 4, 0xFFFF_FFFF);
    assert_eq!(bus.ide_bmide_base(), None);
    cfg_write(&mut bus, 1, 1, BAR0 + 16, 4, 0);
    assert_eq!(bus.ide_bmide_base(), None, "base 0 is unassigned");
    cfg_write(&mut bus, 1, 1, BAR0 + 16, 4, 0xE040);
    cfg_write(&mut bus, 1, 1, COMMAND, 2, 0);
    assert_eq!(bus.ide_bmide_base(), None);
}

#[test]
fn firmware_sets_bmide_base_with_io_and_bus_master_enabled() {
    let mut bus = PciBus::new_pc();
    bus.set_ide_bmide_base(0xC00F);
    assert_eq!(bus.ide_bmide_base(), Some(0xC000));
    assert_eq!(cfg_read(&mut bus, 1, 1, BAR0 + 16, 4), 0xC001);
    assert_eq!(
        cfg_read(&mut bus, 1, 1, COMMAND, 2) as u16,
        COMMAND_IO_SPACE | COMMAND_BUS_MASTER
    );
    let ide = bus.config(1, 1).unwrap();
    assert_eq!(ide.bar_address(PIIX3_BMIBA_BAR), Some(0xC000));
    assert_eq!(ide.bar_address(0), None);
    assert_eq!(ide.bar_address(6), None);
    assert_eq!(ide.bar(usize::MAX), Bar::None);
}

#[test]
fn ide_command_memory_space_is_hardwired_off() {
    let mut bus = PciBus::new_pc();
    cfg_write(&mut bus, 1, 1, COMMAND, 2, 0xFFFF);
    assert_eq!(cfg_read(&mut bus, 1, 1, COMMAND, 2), 0x0005);
}

#[test]
fn ide_timing_registers_are_writable_and_decode_enable_is_visible() {
    let mut bus = PciBus::new_pc();
    assert!(!bus.ide_decode_enabled(0));
    cfg_write(&mut bus, 1, 1, PIIX3_IDETIM, 4, 0xFFFF_FFFF);
    assert_eq!(cfg_read(&mut bus, 1, 1, PIIX3_IDETIM, 4), 0xF3FF_F3FF);
    assert!(bus.ide_decode_enabled(0) && bus.ide_decode_enabled(1));
    assert!(!bus.ide_decode_enabled(2));
    bus.set_ide_decode(false);
    assert_eq!(cfg_read(&mut bus, 1, 1, PIIX3_IDETIM, 4), 0x73FF_73FF);
    bus.set_ide_decode(true);
    assert_eq!(cfg_read(&mut bus, 1, 1, PIIX3_IDETIM, 4), 0xF3FF_F3FF);
    cfg_write(&mut bus, 1, 1, PIIX3_SIDETIM, 1, 0xA5);
    assert_eq!(cfg_read(&mut bus, 1, 1, PIIX3_SIDETIM, 1), 0xA5);
}

#[test]
fn read_only_fields_ignore_writes() {
    let mut bus = PciBus::new_pc();
    for (d, f) in [(0, 0), (1, 0), (1, 1)] {
        let before: Vec<u32> = [0x00u8, 0x08, 0x0C, 0x28, 0x2C, 0x30, 0x34]
            .iter()
            .map(|&r| cfg_read(&mut bus, d, f, r, 4))
            .collect();
        for r in [0x00u8, 0x08, 0x0C, 0x28, 0x2C, 0x30, 0x34] {
            cfg_write(&mut bus, d, f, r, 4, 0xFFFF_FFFF);
            cfg_write(&mut bus, d, f, r, 4, 0);
        }
        let after: Vec<u32> = [0x00u8, 0x08, 0x0C, 0x28, 0x2C, 0x30, 0x34]
            .iter()
            .map(|&r| cfg_read(&mut bus, d, f, r, 4))
            .collect();
        // Latency Timer bits 7:4 of the IDE function are writable (MLT).
        let mlt = if (d, f) == (1, 1) { 0 } else { 0xFFFF_FFFF };
        assert_eq!(before[0], after[0]);
        assert_eq!(before[1], after[1]);
        assert_eq!(before[2] & mlt, after[2] & mlt);
        assert_eq!(&before[3..], &after[3..]);
        assert_eq!(cfg_read(&mut bus, d, f, CAPABILITIES_POINTER, 1), 0);
        assert_eq!(
            cfg_read(&mut bus, d, f, STATUS, 2) as u16 & STATUS_CAPABILITIES_LIST,
            0
        );
    }
    // Interrupt Line is writable, Interrupt Pin (0 for IDE) is not.
    cfg_write(&mut bus, 1, 1, INTERRUPT_LINE, 2, 0xFF0E);
    assert_eq!(cfg_read(&mut bus, 1, 1, INTERRUPT_LINE, 2), 0x000E);
    assert_eq!(bus.config(1, 1).unwrap().interrupt_line(), 0x0E);
    cfg_write(&mut bus, 1, 1, LATENCY_TIMER, 1, 0xFF);
    assert_eq!(cfg_read(&mut bus, 1, 1, LATENCY_TIMER, 1), 0xF0);
}

#[test]
fn status_error_bits_are_write_one_to_clear() {
    let mut bus = PciBus::new_pc();
    let errors = STATUS_RECEIVED_MASTER_ABORT | STATUS_RECEIVED_TARGET_ABORT;
    bus.config_mut(1, 1).unwrap().set_status_bits(errors);
    assert_eq!(cfg_read(&mut bus, 1, 1, STATUS, 2) as u16, 0x0280 | errors);
    // Writing 0s and read-only bits changes nothing.
    cfg_write(&mut bus, 1, 1, STATUS, 2, 0x06FF);
    assert_eq!(cfg_read(&mut bus, 1, 1, STATUS, 2) as u16, 0x0280 | errors);
    // Writing 1 clears only that bit.
    cfg_write(
        &mut bus,
        1,
        1,
        STATUS,
        2,
        u32::from(STATUS_RECEIVED_MASTER_ABORT),
    );
    assert_eq!(
        cfg_read(&mut bus, 1, 1, STATUS, 2) as u16,
        0x0280 | STATUS_RECEIVED_TARGET_ABORT
    );
    // A dword write to Command/Status clears status and sets command together.
    cfg_write(&mut bus, 1, 1, COMMAND, 4, 0xFFFF_0001);
    assert_eq!(cfg_read(&mut bus, 1, 1, COMMAND, 4), 0x0280_0001);
}

#[test]
fn memory_bars_size_with_their_type_bits_and_sizes_round_to_powers_of_two() {
    let mut cs = ConfigSpace::new(0x1234, 0x5678, 1, 0x02_00_00);
    cs.set_bar(
        0,
        Bar::Memory32 {
            size: 0x1000,
            prefetchable: true,
        },
    );
    cs.set_bar(
        1,
        Bar::Memory32 {
            size: 3000,
            prefetchable: false,
        },
    );
    cs.set_bar(2, Bar::Io { size: 1 });
    cs.set_bar(3, Bar::Io { size: 4096 });
    cs.set_bar(
        5,
        Bar::Memory32 {
            size: u32::MAX,
            prefetchable: false,
        },
    );
    cs.set_bar(6, Bar::Io { size: 16 }); // no such BAR: ignored
    for i in 0..6u8 {
        cs.config_write(BAR0 + 4 * i, 0xFFFF_FFFF, 0xF);
    }
    assert_eq!(cs.config_read(0x10), 0xFFFF_F008);
    assert_eq!(cs.config_read(0x14), 0xFFFF_F000);
    assert_eq!(cs.config_read(0x18), 0xFFFF_FFFD);
    assert_eq!(cs.config_read(0x1C), 0xFFFF_FF01);
    assert_eq!(cs.config_read(0x20), 0);
    assert_eq!(cs.config_read(0x24), 0x8000_0000);
    assert_eq!(
        cs.bar(1),
        Bar::Memory32 {
            size: 4096,
            prefetchable: false
        }
    );
    cs.config_write(0x10, 0xFEBF_1234, 0xF);
    assert_eq!(cs.bar_address(0), None, "Memory Space off");
    cs.config_write(COMMAND, u32::from(COMMAND_MEMORY_SPACE), 0x3);
    assert_eq!(cs.bar_address(0), Some(0xFEBF_1000));
    assert_eq!(cs.bar_address(2), None, "I/O Space off");
    // Byte-wise sizing writes work too (each byte masked on its own).
    cs.config_write(0x10, 0x0000_00FF, 0x1);
    assert_eq!(cs.config_read(0x10), 0xFEBF_1008);
}

#[test]
fn reset_control_hard_reset_after_srst_then_rcpu() {
    let mut bus = PciBus::new_pc();
    assert_eq!(bus.read(RESET_CONTROL_PORT, 1), 0);
    bus.write(RESET_CONTROL_PORT, 1, u32::from(RC_SRST));
    assert_eq!(bus.take_reset_request(), None);
    assert_eq!(bus.read(RESET_CONTROL_PORT, 1), u32::from(RC_SRST));
    bus.write(RESET_CONTROL_PORT, 1, u32::from(RC_SRST | RC_RCPU));
    assert_eq!(bus.take_reset_request(), Some(ResetKind::Hard));
    assert_eq!(bus.take_reset_request(), None, "taking clears it");
    assert_eq!(bus.read(RESET_CONTROL_PORT, 1), u32::from(RC_SRST));
    bus.write(RESET_CONTROL_PORT, 1, 0x06);
    assert_eq!(bus.take_reset_request(), Some(ResetKind::Hard));
    bus.write(RESET_CONTROL_PORT, 1, u32::from(RC_RCPU));
    assert_eq!(bus.take_reset_request(), Some(ResetKind::Soft));
    // Only a byte access to 0xCF9 is RC.
    bus.write(0xCF8, 2, 0x0600);
    bus.write(0xCF9, 2, 0x0006);
    assert_eq!(bus.take_reset_request(), None);
    assert_eq!(bus.read(CONFIG_ADDRESS_PORT, 4), 0);
}

#[test]
fn reset_control_0e_is_a_hard_reset_as_06_is() {
    // Bit 3 is reserved on the PIIX3 (FULL_RST on later chipsets): Linux's
    // `reboot=pci` writes 0Eh for a cold reboot and 06h for a warm one.
    let mut bus = PciBus::new_pc();
    for value in [0x06, 0x0E] {
        bus.write(RESET_CONTROL_PORT, 1, 0x02);
        bus.write(RESET_CONTROL_PORT, 1, value);
        assert_eq!(
            bus.take_reset_request(),
            Some(ResetKind::Hard),
            "{value:#x}"
        );
        assert_eq!(bus.read(RESET_CONTROL_PORT, 1), u32::from(RC_SRST));
    }
    // Without RCPU nothing resets, whatever else is set.
    bus.write(RESET_CONTROL_PORT, 1, 0x0A);
    assert_eq!(bus.take_reset_request(), None);
}

#[test]
fn linux_pci_direct_probe_finds_type1_and_rejects_type2() {
    let mut bus = PciBus::new_pc();
    // pci_check_type1()
    bus.write(0xCFB, 1, 0x01);
    let saved = bus.read(0xCF8, 4);
    bus.write(0xCF8, 4, 0x8000_0000);
    assert_eq!(bus.read(0xCF8, 4), 0x8000_0000);
    // pci_sanity_check(): class word at 0Ah or vendor word at 00h of bus 0.
    bus.write(0xCF8, 4, addr(0, 0, 0x08));
    assert_eq!(bus.read(0xCFE, 2), 0x0600);
    bus.write(0xCF8, 4, addr(0, 0, 0x00));
    assert_eq!(bus.read(0xCFC, 2), 0x8086);
    bus.write(0xCF8, 4, saved);
    assert_eq!(bus.read(0xCF8, 4), saved);
    // pci_check_type2() must fail: CSE/forward registers do not stick.
    bus.write(0xCFB, 1, 0x00);
    bus.write(0xCF8, 1, 0x00);
    bus.write(0xCFA, 1, 0x00);
    assert!(bus.read(0xCF8, 1) != 0 || bus.read(0xCFA, 1) != 0);
    assert_eq!(bus.take_reset_request(), None);
}

#[test]
fn slots_reject_duplicates_and_out_of_range_numbers() {
    let mut bus = PciBus::new_pc();
    let cs = || Box::new(ConfigSpace::new(0x1AF4, 0x1000, 0, 0x02_00_00));
    assert_eq!(
        bus.add(1, 1, cs()),
        Err(PciSlotError::Taken {
            device: 1,
            function: 1
        })
    );
    assert_eq!(
        bus.add(32, 0, cs()),
        Err(PciSlotError::NoSuchSlot {
            device: 32,
            function: 0
        })
    );
    assert_eq!(
        bus.add(3, 8, cs()),
        Err(PciSlotError::NoSuchSlot {
            device: 3,
            function: 8
        })
    );
    assert_eq!(bus.add(3, 0, cs()), Ok(()));
    assert_eq!(cfg_read(&mut bus, 3, 0, 0, 4), 0x1000_1AF4);
    assert!(bus.config(3, 0).is_none(), "boxed functions stay opaque");
}

#[test]
fn port_adapter_serves_cf8_to_cfff_through_the_port_bus() {
    let pci = Rc::new(RefCell::new(PciBus::new_pc()));
    let mut ports = PortIoBus::default();
    ports
        .register(
            CONFIG_ADDRESS_PORT,
            PCI_PORT_COUNT,
            Box::new(PciPorts::new(pci.clone())),
        )
        .unwrap();
    ports.write(0xCF8, 4, addr(1, 1, 0x08));
    assert_eq!(ports.read(0xCFC, 4), 0x0101_8000);
    ports.write(0xCF9, 1, 0x06);
    assert_eq!(pci.borrow_mut().take_reset_request(), Some(ResetKind::Hard));
    // While the hypervisor holds the bus, the adapter answers all ones.
    let held = pci.borrow_mut();
    assert_eq!(ports.read(0xCF8, 4), 0xFFFF_FFFF);
    ports.write(0xCF8, 4, 0);
    drop(held);
    assert_eq!(ports.read(0xCF8, 4), addr(1, 1, 0x08));
}

#[test]
fn random_register_traffic_never_panics_and_keeps_invariants() {
    let mut bus = PciBus::new_pc();
    let mut rng = XorShift32::per_run(
        "random_register_traffic_never_panics_and_keeps_invariants",
        0x1BAD_5EED,
    );
    let sizes = [0u8, 1, 2, 3, 4, 8, 255];
    for _ in 0..50_000 {
        let r = rng.next();
        let size = sizes[(r as usize >> 8) % sizes.len()];
        let value = rng.next();
        match r % 4 {
            // Aim CONFIG_ADDRESS at a present function most of the time.
            0 => {
                let (d, f) = [(0, 0), (1, 0), (1, 1), (2, 0), (0, 3)][(value % 5) as usize];
                let reg = (value >> 8) as u8;
                let mut a = addr(d, f, reg);
                if value & (1 << 31) != 0 {
                    a ^= rng.next(); // sometimes anything at all
                }
                bus.write(CONFIG_ADDRESS_PORT, 4, a);
            }
            1 => {
                let port = 0xCF0 + (value % 0x18) as u16;
                let got = bus.read(port, size);
                assert_eq!(got & !all_ones(size), 0, "read wider than its size");
            }
            _ => {
                let port = 0xCF0 + (value % 0x18) as u16;
                // Keep RC writes from requesting resets too often to notice.
                bus.write(port, size, rng.next());
                bus.take_reset_request();
            }
        }
        // Invariants: identity, header type, BAR type bit, reserved address bits.
        assert_eq!(bus.config_read(0, 0, 0), 0x1237_8086);
        assert_eq!(bus.config_read(1, 0, 0), 0x7000_8086);
        assert_eq!(bus.config_read(1, 1, 0), 0x7010_8086);
        assert_eq!(bus.config_read(1, 1, 0x08), 0x0101_8000);
        assert_eq!((bus.config_read(1, 0, 0x0C) >> 16) & 0xFF, 0x80);
        assert_eq!(bus.config_read(1, 1, 0x20) & 0xF, 0x1);
        assert_eq!((bus.config_read(1, 1, 0x3C) >> 8) & 0xFF, 0);
        assert_eq!(bus.config_address() & !CONFIG_ADDRESS_IMPLEMENTED, 0);
        assert_eq!(bus.config_read(1, 1, COMMAND) & 0x2, 0);
        assert_eq!(bus.read(RESET_CONTROL_PORT, 1) & !u32::from(RC_SRST), 0);
        if let Some(base) = bus.ide_bmide_base() {
            assert_eq!(base % 16, 0);
            assert_ne!(base, 0);
        }
    }
}
