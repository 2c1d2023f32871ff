//! The ACPI fixed-hardware power-management registers of a PIIX4-style PC:
//! the PM1a event block (PM1_STS, PM1_EN), the PM1a control block (PM1_CNT)
//! and the power management timer (PM_TMR), with the SCI they drive.
//!
//! References:
//! - ACPI Specification 6.5: 4.8.3 "Fixed Hardware Registers" — 4.8.3.1
//!   "PM1 Event Grouping" (the PM1 status and enable bits), 4.8.3.2 "PM1
//!   Control Grouping" (SCI_EN, SLP_TYP, SLP_EN), 4.8.3.3 "Power
//!   Management Timer (PM_TMR)" (24 bits at 3.579545 MHz; TMR_STS "set any
//!   time the most significant bit of a 24/32-bit counter changes from clear
//!   to set or set to clear"); the fixed "Power Button" feature
//!   (PWRBTN_STS, PWRBTN_EN); 5.2.9 "Fixed ACPI Description Table" (SMI_CMD,
//!   SCI_INT); 7.4.2 "\_Sx (System States)" (the SLP_TYP values the DSDT
//!   gives and the guest writes with SLP_EN).
//! - Intel 82371AB PCI-to-ISA/IDE Xcelerator (PIIX4) datasheet,
//!   "Power Management Registers": PMSTS, PMEN, PMCNTRL, PMTMR — the layout
//!   QEMU's PIIX4 power management function keeps at port 600h.
//!
//! Layout, as offsets from [`ACPI_PM_BASE`] (0x600):
//! - 0 PM1_STS (16 bits, write 1 to clear): TMR_STS (bit 0), PWRBTN_STS
//!   (bit 8), WAK_STS (bit 15); every other bit reads 0.
//! - 2 PM1_EN (16 bits): TMR_EN (bit 0), PWRBTN_EN (bit 8), and GBL_EN
//!   (bit 5) and RTC_EN (bit 10), which keep what the guest writes but
//!   enable events that never come (the firmware never takes the global
//!   lock, the RTC alarm does not wake the machine). The OS checks they read
//!   back (Linux's ACPICA enables both at start and reports "Could not
//!   enable ... event" otherwise; PIIX4 has them). Every other bit reads 0:
//!   no fixed sleep button (the FADT sets SLP_BUTTON).
//! - 4 PM1_CNT (16 bits): SCI_EN (bit 0), SLP_TYP (bits 12:10), SLP_EN
//!   (bit 13, write-only, reads 0); other bits read 0.
//! - 8 PM_TMR (32 bits, read-only): the 24-bit counter, bits 31:24 read 0.
//! - 6-7 and C-F decode nothing: they read FFh and drop writes, as ports
//!   nobody claims do.
//!
//! Any 1, 2 or 4-byte access at any offset is taken byte by byte (an
//! access straddling two registers reaches both; bytes beyond the range read
//! FFh), but each access samples the time once, so a 4-byte timer read is
//! one consistent value.
//!
//! Choices:
//! - SCI_EN reads 1 from reset. The FADT has no SMI_CMD port (5.2.9: zero
//!   on a system without System Management mode), so the OS has no way to
//!   ask firmware for ACPI mode and takes the machine as always in it
//!   (ACPICA does exactly that when SMI_CMD is zero); SCI_EN set says so.
//!   The bit stays writable, as PIIX4's is; an OS that clears it gets no SCI.
//! - The timer runs from the device's creation and is not restarted by
//!   reset; TMR_STS is computed lazily from the clock whenever the guest
//!   touches the registers or the board calls [`AcpiPm::poll`], which it
//!   should do at [`AcpiPm::next_deadline_ns`].
//! - The SCI is asserted (driven high: level, active high to the board,
//!   which routes it to the 8259's IRQ 9 and the I/O APIC) while SCI_EN is
//!   set and a TMR or PWRBTN status bit is set with its enable bit; the line
//!   is driven only when that changes.
//! - SLP_EN with SLP_TYP = [`pc_layout::acpi::S5_SLP_TYP`] asks for soft off
//!   ([`SleepRequest::SoftOff`]); the board ends the run. Any other SLP_TYP
//!   is [`SleepRequest::Unsupported`]: the DSDT offers only `\_S5`, so only
//!   a confused or hostile guest writes another, and the board logs it and
//!   carries on (no other state is worth a stopped machine). So that an OS which did try (ACPICA's
//!   `acpi_hw_legacy_sleep` spins on WAK_STS after SLP_EN) goes on running
//!   rather than hanging, such a request also sets WAK_STS, as if the
//!   machine had slept and woken at once.

use crate::bus::PortIoDevice;
use crate::{Clock, IrqLine};
use alloc::boxed::Box;
use alloc::rc::Rc;

mod timer;

#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod tests;

pub use timer::PM_TIMER_HZ;

/// Where the board puts the registers.
pub const ACPI_PM_BASE: u16 = pc_layout::ports::ACPI_PM;
/// Ports the device decodes from [`ACPI_PM_BASE`].
pub const ACPI_PM_LEN: u16 = pc_layout::ports::ACPI_PM_COUNT;

/// Offset of PM1_STS.
pub const PM1_STS: u16 = pc_layout::ports::ACPI_PM1A_EVT - ACPI_PM_BASE;
/// Offset of PM1_EN: the second half of the event block.
pub const PM1_EN: u16 = PM1_STS + pc_layout::ports::ACPI_PM1A_EVT_LEN / 2;
/// Offset of PM1_CNT.
pub const PM1_CNT: u16 = pc_layout::ports::ACPI_PM1A_CNT - ACPI_PM_BASE;
/// Offset of PM_TMR.
pub const PM_TMR: u16 = pc_layout::ports::ACPI_PM_TIMER - ACPI_PM_BASE;

/// PM1_STS bit 0: the timer's top bit changed.
pub const TMR_STS: u16 = 1 << 0;
/// PM1_STS bit 8: the power button was pressed.
pub const PWRBTN_STS: u16 = 1 << 8;
/// PM1_STS bit 15: the machine woke from a sleep state.
pub const WAK_STS: u16 = 1 << 15;
/// PM1_EN bit 0: TMR_STS raises the SCI.
pub const TMR_EN: u16 = 1 << 0;
/// PM1_EN bit 8: PWRBTN_STS raises the SCI.
pub const PWRBTN_EN: u16 = 1 << 8;
/// PM1_EN bit 5: the firmware's release of the global lock raises the SCI.
pub const GBL_EN: u16 = 1 << 5;
/// PM1_EN bit 10: the RTC alarm raises the SCI.
pub const RTC_EN: u16 = 1 << 10;
/// PM1_CNT bit 0: power management events raise the SCI (not an SMI).
pub const SCI_EN: u16 = 1 << 0;
/// PM1_CNT bits 12:10: the sleep type SLP_EN enters.
pub const SLP_TYP_SHIFT: u32 = 10;
pub const SLP_TYP_MASK: u16 = 0x7 << SLP_TYP_SHIFT;
/// PM1_CNT bit 13: enter the sleep state SLP_TYP names (write-only).
pub const SLP_EN: u16 = 1 << 13;

/// The PM1_STS bits this device has.
const STS_BITS: u16 = TMR_STS | PWRBTN_STS | WAK_STS;
/// The PM1_EN bits this device has.
const EN_BITS: u16 = TMR_EN | PWRBTN_EN | GBL_EN | RTC_EN;
/// The status bits that raise the SCI when enabled (WAK_STS has no enable).
const SCI_EVENTS: u16 = TMR_STS | PWRBTN_STS;
/// The PM1_CNT bits that keep what the guest writes.
const CNT_BITS: u16 = SCI_EN | SLP_TYP_MASK;

/// A sleep state the guest asked for by setting SLP_EN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SleepRequest {
    /// S5: turn the machine off.
    SoftOff,
    /// A SLP_TYP the board has no state for (the value, 0-7).
    Unsupported(u8),
}

/// The PM1a event and control blocks and the PM timer.
pub struct AcpiPm {
    clock: Rc<dyn Clock>,
    sci: Box<dyn IrqLine>,
    /// When the timer read 0.
    start_ns: u64,
    sts: u16,
    en: u16,
    /// SCI_EN and SLP_TYP.
    cnt: u16,
    /// Changes of the timer's top bit already reflected in TMR_STS.
    toggles_seen: u64,
    /// The level the SCI line was last driven to.
    sci_level: bool,
    sleep: Option<SleepRequest>,
}

impl AcpiPm {
    /// The registers at reset, the timer starting from 0 now, the SCI
    /// deasserted (the line is not driven until it changes).
    pub fn new(clock: Rc<dyn Clock>, sci: Box<dyn IrqLine>) -> Self {
        let start_ns = clock.now_ns();
        Self {
            clock,
            sci,
            start_ns,
            sts: 0,
            en: 0,
            cnt: SCI_EN,
            toggles_seen: 0,
            sci_level: false,
            sleep: None,
        }
    }

    /// Hardware reset: status, enables and SLP_TYP cleared, SCI_EN set, no
    /// sleep request pending, the SCI deasserted. The timer keeps counting.
    pub fn reset(&mut self) {
        self.toggles_seen = timer::status_toggles(self.ticks(self.clock.now_ns()));
        self.sts = 0;
        self.en = 0;
        self.cnt = SCI_EN;
        self.sleep = None;
        self.update_sci();
    }

    /// Brings TMR_STS up to date with the clock and drives the SCI
    /// accordingly. The board calls it at [`AcpiPm::next_deadline_ns`].
    pub fn poll(&mut self) {
        let now = self.clock.now_ns();
        self.advance(now);
        self.update_sci();
    }

    /// When (in the clock's nanoseconds) the timer's top bit next changes
    /// after the last change TMR_STS took into account, if TMR_EN is set;
    /// possibly in the past, meaning [`AcpiPm::poll`] is due. `None` while
    /// the timer cannot raise the SCI.
    pub fn next_deadline_ns(&self) -> Option<u64> {
        if self.en & TMR_EN == 0 {
            return None;
        }
        let tick = self.toggles_seen.saturating_add(1) << timer::PM_TIMER_STATUS_SHIFT;
        Some(self.start_ns.saturating_add(timer::ns_of_tick(tick)))
    }

    /// The power button was pressed (the runner asks an ACPI guest to shut
    /// down this way): sets PWRBTN_STS, which raises the SCI if enabled.
    pub fn power_button(&mut self) {
        self.sts |= PWRBTN_STS;
        self.poll();
    }

    /// The sleep state the guest last asked for, if any; soft off, once
    /// asked for, is kept over any later request until taken.
    pub fn take_sleep_request(&mut self) -> Option<SleepRequest> {
        self.sleep.take()
    }

    /// Whether the SCI is asserted.
    pub fn sci_asserted(&self) -> bool {
        self.sci_level
    }

    /// The timer's 24-bit count now, as the guest would read it.
    pub fn timer_count(&self) -> u32 {
        timer::counter(self.ticks(self.clock.now_ns()))
    }

    /// Timer ticks since the device started, at `now`.
    fn ticks(&self, now: u64) -> u64 {
        timer::ticks(now.saturating_sub(self.start_ns))
    }

    /// Sets TMR_STS if the timer's top bit changed since last seen; returns
    /// the tick count at `now`.
    fn advance(&mut self, now: u64) -> u64 {
        let ticks = self.ticks(now);
        let toggles = timer::status_toggles(ticks);
        if toggles != self.toggles_seen {
            self.toggles_seen = toggles;
            self.sts |= TMR_STS;
        }
        ticks
    }

    /// Drives the SCI to the level the registers call for, if it changed.
    fn update_sci(&mut self) {
        let level = self.cnt & SCI_EN != 0 && self.sts & self.en & SCI_EVENTS != 0;
        if level != self.sci_level {
            self.sci_level = level;
            self.sci.set_level(level);
        }
    }

    /// The byte at `offset` with the timer at `count`.
    fn read_byte(&self, offset: u32, count: u32) -> u8 {
        let half = |word: u16| word.to_le_bytes()[(offset & 1) as usize];
        match offset {
            o if o == u32::from(PM1_STS) || o == u32::from(PM1_STS) + 1 => half(self.sts),
            o if o == u32::from(PM1_EN) || o == u32::from(PM1_EN) + 1 => half(self.en),
            o if o == u32::from(PM1_CNT) || o == u32::from(PM1_CNT) + 1 => half(self.cnt),
            o if (u32::from(PM_TMR)..u32::from(PM_TMR) + 4).contains(&o) => {
                count.to_le_bytes()[(o - u32::from(PM_TMR)) as usize]
            }
            _ => 0xFF,
        }
    }

    /// A guest write of the bytes of `value` selected by `mask` to PM1_STS.
    fn write_sts(&mut self, value: u16, mask: u16) {
        self.sts &= !(value & mask & STS_BITS);
    }

    fn write_en(&mut self, value: u16, mask: u16) {
        self.en = (self.en & !mask) | (value & mask & EN_BITS);
    }

    fn write_cnt(&mut self, value: u16, mask: u16) {
        self.cnt = (self.cnt & !mask) | (value & mask & CNT_BITS);
        if value & mask & SLP_EN == 0 {
            return;
        }
        let typ = ((self.cnt & SLP_TYP_MASK) >> SLP_TYP_SHIFT) as u8;
        let request = if typ == pc_layout::acpi::S5_SLP_TYP {
            SleepRequest::SoftOff
        } else {
            // No such state: "woken" at once, so the OS carries on.
            self.sts |= WAK_STS;
            SleepRequest::Unsupported(typ)
        };
        if self.sleep != Some(SleepRequest::SoftOff) {
            self.sleep = Some(request);
        }
    }
}

/// Accesses of any size are clamped to 4 bytes and taken byte by byte.
impl PortIoDevice for AcpiPm {
    fn read(&mut self, offset: u16, size: u8) -> u32 {
        let now = self.clock.now_ns();
        let count = timer::counter(self.advance(now));
        self.update_sci();
        let mut value = 0u32;
        for i in 0..u32::from(size.min(4)) {
            let byte = self.read_byte(u32::from(offset) + i, count);
            value |= u32::from(byte) << (8 * i);
        }
        value
    }

    fn write(&mut self, offset: u16, size: u8, value: u32) {
        let now = self.clock.now_ns();
        // A top-bit change before this write is seen before a TMR_STS clear.
        self.advance(now);
        // Per register (STS, EN, CNT): the value and the bytes written.
        let mut words = [(0u16, 0u16); 3];
        for i in 0..u32::from(size.min(4)) {
            let byte = u16::from(value.to_le_bytes()[i as usize]);
            let at = u32::from(offset) + i;
            for (slot, base) in [PM1_STS, PM1_EN, PM1_CNT].into_iter().enumerate() {
                let base = u32::from(base);
                if at == base || at == base + 1 {
                    let shift = 8 * (at - base);
                    words[slot].0 |= byte << shift;
                    words[slot].1 |= 0xFF << shift;
                }
            }
        }
        let [(sts, sts_mask), (en, en_mask), (cnt, cnt_mask)] = words;
        self.write_sts(sts, sts_mask);
        self.write_en(en, en_mask);
        self.write_cnt(cnt, cnt_mask);
        self.update_sci();
    }
}
