//! PCI bus 0 of an i440FX/PIIX3 PC, reached through configuration mechanism #1.
//!
//! Implements, from the PCI Local Bus Specification, Revision 3.0:
//! - §3.2.2.3.2 "Software Generation of Configuration Transactions": the
//!   32-bit CONFIG_ADDRESS register at 0xCF8 and the CONFIG_DATA window at
//!   0xCFC-0xCFF. Only a dword access to 0xCF8 reaches CONFIG_ADDRESS; bits
//!   30:24 and 1:0 read as 0. With the enable bit clear, or for a bus other
//!   than 0 (there are no PCI-to-PCI bridges), or for an absent device, a
//!   CONFIG_DATA read returns all ones and a write is dropped (master abort).
//! - §6.1 "Configuration Space Organization" and §6.2 "Configuration Space
//!   Functions": the type-0 header, as [`ConfigSpace`] with per-byte writable
//!   and write-1-to-clear masks.
//! - §6.2.5 "Base Addresses" and §6.2.5.1 "Address Maps": BAR sizing. Writing
//!   all ones reads back the size mask with the read-only type bits; sizes
//!   are powers of two (I/O at most 256 bytes); low address bits are
//!   hardwired to 0, so unaligned bases are masked.
//!
//! And the functions of a PC's bus 0, with IDs and register defaults from:
//! - Intel 82441FX PCI and Memory Controller (PMC) datasheet: device 00.0,
//!   8086:1237, host bridge; PCICMD, PCISTS, PAM0-PAM6, SMRAM.
//! - Intel 82371FB (PIIX) and 82371SB (PIIX3) PCI ISA IDE Xcelerator
//!   datasheet: function 0 (PCI-to-ISA bridge, 8086:7000) configuration
//!   registers including PIRQRCA-PIRQRCD; function 1 (IDE, 8086:7010) with BMIBA
//!   and IDETIM/SIDETIM; and the RC Reset Control register at I/O 0CF9h.
//! - On a board with the Xen PV-on-HVM interface, the Xen platform device
//!   (5853:0001) at 03.0, which `xen_platform` describes.
//!
//! Deviation: the PIIX3 datasheet reserves BMIBA bits 31:16 (reading 0); here
//! every I/O BAR decodes 32 address bits, as §6.2.5.1 permits, so sizing the
//! bus-master BAR reads 0xFFFF_FFF1. Bases above 0xFFFF never decode on x86
//! port space, so [`PciBus::ide_bmide_base`] reports them as `None`.
//!
//! Other port behaviour in 0xCF8-0xCFF: a byte access to 0xCF9 is PIIX3's
//! RC register; every other byte or word access to 0xCF8-0xCFB is claimed by
//! nobody (reads all ones, writes dropped), which is what Linux's probe for
//! configuration mechanism #2 needs to see to reject it.
//!
//! The code is split by concept, and every public item of the submodules is
//! re-exported here: `config_space` (the type-0 header, its registers and
//! BARs), `i440fx` (the 82441FX host bridge), `piix3` (the PIIX3 ISA bridge
//! and IDE functions), `bus` (the mechanism #1 ports, the slots and the RC
//! register), `piix3_access` (the bus's accessors for PIIX3 registers) and
//! `xen_platform` (the Xen platform device and its accessors).

mod bus;
mod config_space;
mod i440fx;
mod piix3;
mod piix3_access;
mod xen_platform;

pub use bus::*;
pub use config_space::*;
pub use i440fx::*;
pub use piix3::*;
pub use xen_platform::*;

#[cfg(test)]
mod tests;
