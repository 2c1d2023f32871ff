//! `apic_pm`: the interrupt fabric and the ACPI power-management block
//! driven as a hostile guest drives them, on a small board wired as the
//! modern PC's (vmm-core's `pc_board::apic`): two local APICs sharing one
//! clock, an I/O APIC whose pin 9 is the SCI of the ACPI PM block, and a
//! router between them. The input is a script of:
//!
//! - local APIC accesses (`device_model::lapic`; Intel SDM vol. 3A chapter
//!   "Advanced Programmable Interrupt Controller", chapter 11 in the 2023
//!   editions, 12 from 2024): xAPIC MMIO reads and writes at any offset and
//!   width (11.4.1), IA32_APIC_BASE and x2APIC MSRs 800h-8FFh (11.4.4,
//!   11.12), IA32_TSC_DEADLINE (11.5.4.1), IPIs through the ICR (11.6),
//!   interrupts delivered, acknowledged and EOI'd (11.8), LINT1, NMIs, INIT
//!   and reset;
//! - I/O APIC accesses (`device_model::ioapic`; Intel 82093AA I/O APIC
//!   datasheet, 3.1 IOREGSEL/IOWIN and 3.2 the registers, plus the ICH's EOI
//!   register): any offset and width, redirection entries programmed through
//!   the index/data window, pin levels, EOIs;
//! - ACPI PM port accesses (`device_model::acpi_pm`; ACPI 6.5, 4.8.3 "Fixed
//!   Hardware Registers": PM1 event and control, PM_TMR): any offset and
//!   width, the power button, sleep requests;
//! - time advancing, after which each device is polled when its deadline is
//!   due, as the run loop does.
//!
//! After every step the board moves messages as the hypervisor does: the
//! I/O APIC's to the local APICs, the local APICs' IPIs to their targets,
//! their level-triggered EOIs back to the I/O APIC. Besides never
//! panicking, the step checks what the modules document: reads stay within
//! their width, a globally disabled APIC raises nothing, IA32_APIC_BASE only
//! makes legal transitions, queued IPIs and I/O APIC messages are well
//! formed and bounded, I/O APIC entries keep only their fields, the PM
//! registers keep only their bits, the PM timer is the closed-form 24-bit
//! count, and the SCI line follows the registers and is driven on changes
//! only.

use crate::input::Input;
use device_model::acpi_pm::{
    AcpiPm, SleepRequest, GBL_EN, PM1_CNT, PM1_EN, PM1_STS, PM_TIMER_HZ, PM_TMR, PWRBTN_EN,
    PWRBTN_STS, RTC_EN, SCI_EN, SLP_TYP_MASK, TMR_EN, TMR_STS, WAK_STS,
};
use device_model::bus::PortIoDevice;
use device_model::ioapic::registers::{
    DELIVERY_STATUS, REMOTE_IRR, RESERVED, TRIGGER_LEVEL, VERSION_VALUE,
};
use device_model::ioapic::{IoApic, IoApicDeliveryMode, IOAPIC_EOI, IOAPIC_PINS, IOREGSEL, IOWIN};
use device_model::lapic::{
    DeliveryMode, LocalApic, Shorthand, APIC_BASE_BSP, APIC_BASE_EN, APIC_BASE_EXTD,
    APIC_DEFAULT_BASE, APIC_EOI, APIC_ICR_HIGH, APIC_ICR_LOW, APIC_LVT_TIMER, IA32_APIC_BASE,
    ICR_LOW_WRITABLE, LVT_TIMER_MODE, LVT_TIMER_MODE_SHIFT, MAX_QUEUED_IPIS,
    TIMER_MODE_TSC_DEADLINE, X2APIC_MSR_FIRST, X2APIC_MSR_LAST,
};
use device_model::mmio_bus::MmioDevice;
use device_model::{Clock, IrqLine};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// Most operations one input runs.
const MAX_OPS: usize = 2048;
/// The local APICs on the board.
const CPUS: usize = 2;
/// IA32_TSC_DEADLINE (SDM vol. 4, MSR 6E0h).
const MSR_TSC_DEADLINE: u32 = 0x6E0;
/// The x2APIC MSRs of the ICR and EOI registers (800h + offset / 10h).
const MSR_ICR: u32 = X2APIC_MSR_FIRST + (APIC_ICR_LOW >> 4);
const MSR_EOI: u32 = X2APIC_MSR_FIRST + (APIC_EOI >> 4);
const MSR_LVT_TIMER: u32 = X2APIC_MSR_FIRST + (APIC_LVT_TIMER >> 4);
/// The I/O APIC pin the SCI drives (the MADT's GSI 9).
const SCI_PIN: u8 = 9;
/// Clock values above this may saturate the devices' arithmetic, where
/// "the next deadline is after now" can no longer hold.
const SANE_NOW: u64 = u64::MAX / 2;
/// Guest TSC frequencies the board may have, extremes included.
const TSC_HZ: [u64; 4] = [3_000_000_000, 1_000_000_000, 0, u64::MAX];
/// Access widths, the usual first (others are not promised anything but
/// not panicking).
const SIZES: [u8; 6] = [4, 1, 2, 8, 3, 0];
/// I/O APIC offsets: the three registers, their neighbours, the page end.
const IOAPIC_OFFSETS: [u64; 8] = [IOREGSEL, IOWIN, IOAPIC_EOI, 0x04, 0x14, 0x20, 0xFFF, 0x1000];

/// Host time the test moves; never goes backwards.
struct FuzzClock(Cell<u64>);

impl Clock for FuzzClock {
    fn now_ns(&self) -> u64 {
        self.0.get()
    }
}

/// The SCI as the board wires it to the I/O APIC pin, remembering the
/// level last driven and whether it was ever driven without a change.
struct SciLine {
    ioapic: Rc<RefCell<IoApic>>,
    level: Rc<Cell<bool>>,
    repeated: Rc<Cell<bool>>,
}

impl IrqLine for SciLine {
    fn set_level(&self, high: bool) {
        if self.level.get() == high {
            self.repeated.set(true);
        }
        self.level.set(high);
        self.ioapic.borrow_mut().set_irq(SCI_PIN, high);
    }
}

struct Board {
    clock: Rc<FuzzClock>,
    start_ns: u64,
    apics: Vec<LocalApic>,
    ioapic: Rc<RefCell<IoApic>>,
    pm: AcpiPm,
    sci_level: Rc<Cell<bool>>,
    sci_repeated: Rc<Cell<bool>>,
    tsc_hz: u64,
    /// The guest TSC at `start_ns` (the guest may write it).
    tsc_base: u64,
}

impl Board {
    fn now(&self) -> u64 {
        self.clock.0.get()
    }

    /// The guest TSC now: its base plus the time since the start at
    /// `tsc_hz` (wrapping, as a TSC does).
    fn tsc_now(&self) -> u64 {
        let elapsed = u128::from(self.now() - self.start_ns);
        let ticks = elapsed * u128::from(self.tsc_hz) / 1_000_000_000;
        self.tsc_base.wrapping_add(ticks as u64)
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let mut board = board(&mut input);
    for _ in 0..MAX_OPS {
        if input.is_empty() {
            break;
        }
        let cpu = usize::from(input.u8()) % CPUS;
        let xapic_before: Vec<bool> = board
            .apics
            .iter()
            .map(|a| a.is_enabled() && !a.is_x2apic())
            .collect();
        step(&mut input, &mut board, cpu);
        route(&mut board, &xapic_before);
        check(&mut board);
    }
}

/// The header: clock start, the second APIC's ID, the I/O APIC's ID, board
/// options.
fn board(input: &mut Input) -> Board {
    let start_ns = match input.u8() % 4 {
        0 => 0,
        1 => u64::from(input.u32()),
        2 => input.u64() >> 2,
        _ => u64::MAX - u64::from(input.u32()),
    };
    let ap_id = match input.u8() % 3 {
        0 => 1,
        1 => u32::from(input.u8()),
        _ => input.u32(),
    };
    let ioapic_id = input.u8();
    let options = input.u8();
    let clock = Rc::new(FuzzClock(Cell::new(start_ns)));
    let shared: Rc<dyn Clock> = clock.clone();
    let mut apics = vec![
        LocalApic::new(0, true, shared.clone()),
        LocalApic::new(ap_id, false, shared.clone()),
    ];
    for apic in &mut apics {
        apic.set_eoi_broadcast_suppression_supported(options & 1 != 0);
    }
    if options & 2 != 0 {
        // What the BIOS leaves on the boot processor.
        apics[0].program_virtual_wire();
    }
    let ioapic = Rc::new(RefCell::new(IoApic::new(ioapic_id)));
    let sci_level = Rc::new(Cell::new(false));
    let sci_repeated = Rc::new(Cell::new(false));
    let sci = SciLine {
        ioapic: ioapic.clone(),
        level: sci_level.clone(),
        repeated: sci_repeated.clone(),
    };
    let pm = AcpiPm::new(shared, Box::new(sci));
    Board {
        clock,
        start_ns,
        apics,
        ioapic,
        pm,
        sci_level,
        sci_repeated,
        tsc_hz: TSC_HZ[usize::from(options >> 2) % TSC_HZ.len()],
        tsc_base: 0,
    }
}

/// An offset into the APIC page: mostly a register, sometimes inside one,
/// sometimes anywhere (the page's end and beyond).
fn apic_offset(input: &mut Input) -> u64 {
    let sel = input.u8();
    let register = u64::from(input.u8()) << 4;
    match sel & 3 {
        0 | 1 => register,
        2 => register | u64::from(sel >> 4),
        _ => u64::from(input.u16()) << (sel >> 6),
    }
}

/// An MSR: the x2APIC range and its edges, IA32_APIC_BASE, TSC deadline.
fn msr(input: &mut Input) -> u32 {
    let sel = input.u8();
    match sel % 8 {
        0 => IA32_APIC_BASE,
        1 => MSR_TSC_DEADLINE,
        2 if sel & 8 != 0 => X2APIC_MSR_LAST + 1,
        2 => X2APIC_MSR_FIRST - 1,
        3 => input.u32(),
        _ => X2APIC_MSR_FIRST + u32::from(input.u8()),
    }
}

/// A value for an MSR write: narrow ones get past the reserved-bit checks,
/// APIC-base-like ones make mode transitions.
fn msr_value(input: &mut Input) -> u64 {
    match input.u8() % 5 {
        0 => input.u64(),
        1 => u64::from(input.u32()),
        2 => u64::from(input.u8()),
        3 => u64::from(input.u32() & ICR_LOW_WRITABLE) | (u64::from(input.u32()) << 32),
        _ => {
            let bits = input.u8();
            let base = if bits & 4 != 0 {
                u64::from(input.u32()) << 12
            } else {
                APIC_DEFAULT_BASE
            };
            base | (u64::from(bits & 3) << 10) | (u64::from((bits >> 3) & 1) << 8)
        }
    }
}

/// A time step: up to 65 µs (within an APIC timer period), up to 4.3 s
/// (the PM timer's top bit changes every 2.3 s), up to 18 minutes, or
/// anything (saturating at the clock's end).
fn time_step(input: &mut Input) -> u64 {
    match input.u8() % 4 {
        0 => u64::from(input.u16()),
        1 => u64::from(input.u32()),
        2 => u64::from(input.u32()) << 8,
        _ => input.u64(),
    }
}

fn step(input: &mut Input, b: &mut Board, cpu: usize) {
    match input.u8() % 20 {
        0 => {
            let offset = apic_offset(input);
            let size = input.choose(&SIZES);
            b.apics[cpu].mmio_write(offset, size, u64::from(input.u32()));
        }
        1 => {
            let offset = apic_offset(input);
            let size = input.choose(&SIZES);
            let apic = &mut b.apics[cpu];
            let decoded = apic.is_enabled() && !apic.is_x2apic();
            let value = MmioDevice::read(apic, offset, size);
            if matches!(size, 1 | 2 | 4) {
                assert_eq!(value >> (8 * size), 0, "APIC read {offset:#x}/{size}");
            }
            if !decoded {
                // The page is not decoded while disabled or in x2APIC mode.
                assert_eq!(value, device_model::mmio_bus::all_ones(size));
            }
        }
        2 => {
            let msr = msr(input);
            let value = msr_value(input);
            write_msr(b, cpu, msr, value);
        }
        3 => {
            let msr = msr(input);
            read_msr(b, cpu, msr);
        }
        4 => {
            // An IPI through the ICR, in whichever mode the APIC is.
            let low = input.u32() & ICR_LOW_WRITABLE;
            let destination = input.u32();
            let apic = &mut b.apics[cpu];
            if apic.is_x2apic() {
                let icr = (u64::from(destination) << 32) | u64::from(low);
                assert!(apic.write_msr(MSR_ICR, icr).is_ok());
            } else {
                apic.mmio_write(u64::from(APIC_ICR_HIGH), 4, u64::from(destination << 24));
                apic.mmio_write(u64::from(APIC_ICR_LOW), 4, u64::from(low));
            }
        }
        5 => {
            // An MSI or a device's message straight to this APIC.
            let vector = input.u8();
            b.apics[cpu].deliver(vector, input.bool());
        }
        6 => {
            take_interrupt(b, cpu);
            if input.bool() {
                eoi(b, cpu);
            }
        }
        7 => eoi(b, cpu),
        8 => {
            let now = b.now().saturating_add(time_step(input));
            b.clock.0.set(now);
            run_loop(b);
        }
        9 => {
            let now = b.now();
            b.apics[cpu].poll();
            apic_deadline_ahead(&b.apics[cpu], now);
            b.pm.poll();
            pm_deadline_ahead(b);
        }
        10 => {
            let offset = ioapic_offset(input);
            let size = input.choose(&SIZES);
            b.ioapic
                .borrow_mut()
                .write(offset, size, u64::from(input.u32()));
        }
        11 => {
            let offset = ioapic_offset(input);
            let size = input.choose(&SIZES);
            let value = b.ioapic.borrow_mut().read(offset, size);
            match (offset, size) {
                (IOREGSEL, _) => assert!(value <= 0xFF),
                (IOWIN, 4) => assert!(value <= 0xFFFF_FFFF),
                // "Any other offset or size reads 0."
                _ => assert_eq!(value, 0, "I/O APIC read {offset:#x}/{size}"),
            }
        }
        12 => {
            // A redirection entry through the window: high dword, then low.
            let pin = input.u8() % (IOAPIC_PINS + 2);
            let low = input.u32();
            let destination = input.u8();
            let mut io = b.ioapic.borrow_mut();
            let index = 0x10 + 2 * u64::from(pin);
            io.write(IOREGSEL, 4, index + 1);
            io.write(IOWIN, 4, u64::from(destination) << 24);
            io.write(IOREGSEL, 4, index);
            io.write(IOWIN, 4, u64::from(low));
        }
        13 => {
            let pin = input.u8() % (IOAPIC_PINS + 2);
            b.ioapic.borrow_mut().set_irq(pin, input.bool());
        }
        14 => {
            let vector = input.u8();
            b.ioapic.borrow_mut().end_of_interrupt(vector);
        }
        15 => {
            let offset = pm_offset(input);
            let size = input.choose(&SIZES);
            b.pm.write(offset, size, input.u32());
            take_sleep_request(b);
            check_pm_registers(b);
        }
        16 => {
            let offset = pm_offset(input);
            let size = input.choose(&SIZES);
            let value = b.pm.read(offset, size);
            if matches!(size, 1 | 2 | 4) {
                assert_eq!(
                    u64::from(value) >> (8 * size),
                    0,
                    "PM read {offset:#x}/{size}"
                );
            }
            for i in 0..u32::from(size.min(4)) {
                let at = u32::from(offset) + i;
                // 6-7 and C-F decode nothing, nor does anything past them.
                if at == 6 || at == 7 || at >= 0xC {
                    assert_eq!((value >> (8 * i)) & 0xFF, 0xFF, "PM byte {at:#x}");
                }
            }
            check_pm_registers(b);
        }
        17 => {
            b.pm.power_button();
            check_pm_registers(b);
        }
        18 => misc(input, b, cpu),
        _ => match input.u8() % 4 {
            0 => b.apics[cpu].init(),
            1 => b.apics[cpu].reset(),
            2 => b.ioapic.borrow_mut().reset(),
            _ => {
                b.pm.reset();
                check_pm_registers(b);
            }
        },
    }
}

fn ioapic_offset(input: &mut Input) -> u64 {
    let sel = input.u8();
    if sel & 0x80 != 0 {
        u64::from(input.u16())
    } else {
        IOAPIC_OFFSETS[usize::from(sel) % IOAPIC_OFFSETS.len()]
    }
}

fn pm_offset(input: &mut Input) -> u16 {
    let sel = input.u8();
    if sel & 0x80 != 0 {
        input.u16()
    } else {
        u16::from(sel) % 0x14
    }
}

/// LINT1, NMIs, CR8, the BIOS's set-up, the board's EOI register option and
/// the guest's TSC.
fn misc(input: &mut Input, b: &mut Board, cpu: usize) {
    let apic = &mut b.apics[cpu];
    match input.u8() % 8 {
        0 => apic.set_lint1(true),
        1 => apic.set_lint1(false),
        2 => apic.deliver_nmi(),
        3 => {
            let _ = apic.take_nmi();
        }
        4 => apic.set_tpr(input.u8()),
        5 => apic.program_virtual_wire(),
        6 => apic.set_eoi_broadcast_suppression_supported(input.bool()),
        _ => b.tsc_base = input.u64(),
    }
}

fn write_msr(b: &mut Board, cpu: usize, msr: u32, value: u64) {
    let tsc_now = b.tsc_now();
    let tsc_hz = b.tsc_hz;
    let apic = &mut b.apics[cpu];
    if msr == MSR_TSC_DEADLINE {
        apic.set_tsc_deadline(value, tsc_now, tsc_hz);
        return;
    }
    let before = apic.apic_base();
    let result = apic.write_msr(msr, value);
    let after = apic.apic_base();
    if msr != IA32_APIC_BASE {
        assert_eq!(after, before, "MSR {msr:#x} changed IA32_APIC_BASE");
        if !(X2APIC_MSR_FIRST..=X2APIC_MSR_LAST).contains(&msr) {
            assert!(result.is_err(), "MSR {msr:#x} is not the APIC's");
        }
        return;
    }
    // 11.4.4, 11.12.5: the legal transitions only; a fault changes nothing.
    let en = |v: u64| v & APIC_BASE_EN != 0;
    let extd = |v: u64| v & APIC_BASE_EXTD != 0;
    if result.is_ok() {
        assert!(en(after) || !extd(after), "EXTD without EN: {after:#x}");
        assert!(
            !(extd(before) && en(after) && !extd(after)),
            "x2APIC → xAPIC"
        );
        assert!(en(before) || !extd(after), "disabled → x2APIC");
    } else {
        assert_eq!(after, before, "a faulting IA32_APIC_BASE write");
    }
    // The BSP flag is read-only.
    assert_eq!(after & APIC_BASE_BSP, before & APIC_BASE_BSP);
}

fn read_msr(b: &mut Board, cpu: usize, msr: u32) {
    let apic = &mut b.apics[cpu];
    if msr == MSR_TSC_DEADLINE {
        check_tsc_deadline(apic);
        return;
    }
    let result = apic.read_msr(msr);
    let x2apic_range = (X2APIC_MSR_FIRST..=X2APIC_MSR_LAST).contains(&msr);
    if msr == IA32_APIC_BASE {
        assert_eq!(result, Ok(apic.apic_base()));
    } else if !x2apic_range || !apic.is_x2apic() {
        assert!(result.is_err(), "MSR {msr:#x} read outside x2APIC mode");
    } else if msr != MSR_ICR {
        // Every x2APIC register but the ICR is 32 bits wide.
        assert!(result.map_or(true, |v| v >> 32 == 0), "MSR {msr:#x}");
    }
}

/// The LVT timer's mode, read as the guest would, if the APIC is enabled.
fn lvt_timer_mode(apic: &mut LocalApic) -> Option<u32> {
    let entry = if apic.is_x2apic() {
        apic.read_msr(MSR_LVT_TIMER).ok()? as u32
    } else if apic.is_enabled() {
        apic.mmio_read(u64::from(APIC_LVT_TIMER), 4) as u32
    } else {
        return None;
    };
    Some((entry & LVT_TIMER_MODE) >> LVT_TIMER_MODE_SHIFT)
}

/// IA32_TSC_DEADLINE reads 0 unless the timer is in TSC-deadline mode.
fn check_tsc_deadline(apic: &mut LocalApic) {
    let deadline = apic.tsc_deadline();
    if lvt_timer_mode(apic).is_some_and(|m| m != TIMER_MODE_TSC_DEADLINE) {
        assert_eq!(deadline, 0, "IA32_TSC_DEADLINE outside TSC-deadline mode");
    }
}

/// The CPU takes an interrupt if the APIC asks for one (INTA).
fn take_interrupt(b: &mut Board, cpu: usize) {
    let apic = &mut b.apics[cpu];
    let asked = apic.has_interrupt();
    let taken = apic.acknowledge();
    assert_eq!(asked, taken.is_some());
    if let Some(vector) = taken {
        // Vectors 0-15 are never accepted (11.5.2).
        assert!(vector >= 16, "acknowledged vector {vector}");
        assert!(!apic.is_requested(vector));
    }
}

/// The guest's EOI write, in whichever mode the APIC is.
fn eoi(b: &mut Board, cpu: usize) {
    let apic = &mut b.apics[cpu];
    if apic.is_x2apic() {
        assert!(apic.write_msr(MSR_EOI, 0).is_ok());
    } else {
        apic.mmio_write(u64::from(APIC_EOI), 4, 0);
    }
}

/// The run loop once time has moved: each device whose deadline has come
/// is polled.
fn run_loop(b: &mut Board) {
    let now = b.now();
    for apic in &mut b.apics {
        if apic.next_deadline_ns().is_some_and(|d| d <= now) {
            apic.poll();
        }
        apic_deadline_ahead(apic, now);
    }
    if b.pm.next_deadline_ns().is_some_and(|d| d <= now) {
        b.pm.poll();
    }
    pm_deadline_ahead(b);
}

/// A polled APIC timer is not due: a periodic one re-armed for its first
/// expiry after now, a one-shot or TSC-deadline one disarmed (so the run
/// loop never spins on it).
fn apic_deadline_ahead(apic: &LocalApic, now: u64) {
    if let Some(d) = apic.next_deadline_ns() {
        if now <= SANE_NOW {
            assert!(
                d > now,
                "an APIC timer due at {d} left after a poll at {now}"
            );
        }
    }
}

/// After a poll the PM timer's next deadline (the next change of its top
/// bit) is after now; the registers are then checked.
fn pm_deadline_ahead(b: &mut Board) {
    let now = b.now();
    if let Some(d) = b.pm.next_deadline_ns() {
        if now <= SANE_NOW {
            assert!(
                d > now,
                "a PM timer deadline {d} left after a poll at {now}"
            );
        }
    }
    check_pm_registers(b);
}

fn take_sleep_request(b: &mut Board) {
    if let Some(SleepRequest::Unsupported(typ)) = b.pm.take_sleep_request() {
        assert!(
            typ < 8 && typ != pc_layout::acpi::S5_SLP_TYP,
            "SLP_TYP {typ}"
        );
    }
}

/// The PM registers keep only their bits, the timer is the 24-bit count of
/// the time since the device started, and the SCI line is what the
/// registers call for, driven on changes only.
fn check_pm_registers(b: &mut Board) {
    let sts = b.pm.read(PM1_STS, 2) as u16;
    let en = b.pm.read(PM1_EN, 2) as u16;
    let cnt = b.pm.read(PM1_CNT, 2) as u16;
    let tmr = b.pm.read(PM_TMR, 4);
    assert_eq!(
        sts & !(TMR_STS | PWRBTN_STS | WAK_STS),
        0,
        "PM1_STS {sts:#x}"
    );
    assert_eq!(
        en & !(TMR_EN | PWRBTN_EN | GBL_EN | RTC_EN),
        0,
        "PM1_EN {en:#x}"
    );
    assert_eq!(cnt & !(SCI_EN | SLP_TYP_MASK), 0, "PM1_CNT {cnt:#x}");
    let elapsed = u128::from(b.now() - b.start_ns);
    let ticks = elapsed * u128::from(PM_TIMER_HZ) / 1_000_000_000;
    assert_eq!(u128::from(tmr), ticks & 0xFF_FFFF, "PM_TMR");
    assert_eq!(b.pm.timer_count(), tmr);
    let sci = cnt & SCI_EN != 0 && sts & en & (TMR_STS | PWRBTN_STS) != 0;
    assert_eq!(
        b.pm.sci_asserted(),
        sci,
        "SCI for {sts:#x} {en:#x} {cnt:#x}"
    );
    assert_eq!(b.sci_level.get(), sci, "the SCI line");
    assert!(!b.sci_repeated.get(), "the SCI was driven without a change");
    if en & TMR_EN == 0 {
        assert_eq!(b.pm.next_deadline_ns(), None);
    }
}

/// Moves messages as the board does: EOI broadcasts to the I/O APIC, its
/// messages to the local APICs, IPIs to their targets. `xapic_before` says
/// which APICs were in xAPIC mode before the step (their IPIs carry 8-bit
/// destinations).
fn route(b: &mut Board, xapic_before: &[bool]) {
    for apic in &mut b.apics {
        let mut last = None;
        while let Some(vector) = apic.take_eoi_broadcast() {
            // Each vector once, highest first.
            assert!(last.is_none_or(|l| vector < l), "EOI broadcast order");
            assert!(vector >= 16);
            last = Some(vector);
            b.ioapic.borrow_mut().end_of_interrupt(vector);
        }
    }
    let mut pins = 0u32;
    loop {
        let message = b.ioapic.borrow_mut().take_message();
        let Some(m) = message else { break };
        assert!(m.pin < IOAPIC_PINS, "message from pin {}", m.pin);
        assert_eq!(pins & 1 << m.pin, 0, "two messages from pin {}", m.pin);
        pins |= 1 << m.pin;
        if m.level_triggered {
            assert!(matches!(
                m.mode,
                IoApicDeliveryMode::Fixed | IoApicDeliveryMode::LowestPriority
            ));
        }
        let targets: Vec<usize> = (0..CPUS)
            .filter(|&i| {
                let apic = &b.apics[i];
                // An xAPIC broadcast is FFFF_FFFFh to an APIC in x2APIC mode.
                let destination = if apic.is_x2apic() && m.destination == 0xFF {
                    u32::MAX
                } else {
                    u32::from(m.destination)
                };
                apic.matches(destination, m.logical)
            })
            .collect();
        match m.mode {
            IoApicDeliveryMode::Fixed => {
                for &i in &targets {
                    b.apics[i].deliver(m.vector, m.level_triggered);
                }
            }
            IoApicDeliveryMode::LowestPriority => {
                if let Some(i) = lowest_priority(b, &targets) {
                    b.apics[i].deliver(m.vector, m.level_triggered);
                }
            }
            IoApicDeliveryMode::Nmi => targets.iter().for_each(|&i| b.apics[i].deliver_nmi()),
            IoApicDeliveryMode::Init => targets.iter().for_each(|&i| b.apics[i].init()),
            // SMI: no SMM here; ExtINT: the 8259's, not connected.
            IoApicDeliveryMode::Smi | IoApicDeliveryMode::ExtInt => {}
        }
    }
    for (sender, &was_xapic) in xapic_before.iter().enumerate() {
        let mut sent = 0;
        while let Some(ipi) = b.apics[sender].take_ipi() {
            sent += 1;
            assert!(sent <= MAX_QUEUED_IPIS);
            assert_ne!(ipi.shorthand, Shorthand::SelfOnly, "a self IPI was queued");
            assert_ne!(ipi.mode, DeliveryMode::ExtInt);
            assert!(!ipi.level, "IPIs are edge-triggered");
            if matches!(ipi.mode, DeliveryMode::Fixed | DeliveryMode::LowestPriority) {
                assert!(ipi.vector >= 16, "IPI vector {}", ipi.vector);
            }
            if was_xapic {
                assert!(ipi.destination <= 0xFF, "xAPIC destinations are 8 bits");
            }
            let targets: Vec<usize> = (0..CPUS)
                .filter(|&i| ipi.is_target(&b.apics[i], i == sender))
                .collect();
            match ipi.mode {
                DeliveryMode::Fixed => {
                    for &i in &targets {
                        b.apics[i].deliver(ipi.vector, ipi.level);
                    }
                }
                DeliveryMode::LowestPriority => {
                    if let Some(i) = lowest_priority(b, &targets) {
                        b.apics[i].deliver(ipi.vector, ipi.level);
                    }
                }
                DeliveryMode::Nmi => targets.iter().for_each(|&i| b.apics[i].deliver_nmi()),
                DeliveryMode::Init => targets.iter().for_each(|&i| b.apics[i].init()),
                // A start-up IPI starts a vCPU (nothing for the APIC); SMI:
                // no SMM.
                DeliveryMode::StartUp | DeliveryMode::Smi | DeliveryMode::ExtInt => {}
            }
        }
        // Drained after every step, the queue never fills.
        assert_eq!(b.apics[sender].ipis_dropped(), 0);
    }
}

/// The target with the lowest task priority (the first of equals).
fn lowest_priority(b: &Board, targets: &[usize]) -> Option<usize> {
    targets.iter().copied().min_by_key(|&i| b.apics[i].tpr())
}

/// What holds after every step.
fn check(b: &mut Board) {
    for apic in &mut b.apics {
        if !apic.is_enabled() {
            // A globally disabled APIC raises nothing and lets the 8259 by.
            assert!(!apic.has_interrupt());
            assert!(apic.pic_interrupts_pass());
            assert!(!apic.matches(u32::MAX, false));
        }
        check_tsc_deadline(apic);
    }
    let io = b.ioapic.borrow();
    for pin in 0..IOAPIC_PINS {
        let entry = io.redirection_entry(pin).expect("a wired pin");
        assert_eq!(entry & RESERVED, 0, "reserved bits of pin {pin}");
        assert_eq!(entry & DELIVERY_STATUS, 0, "delivery status of pin {pin}");
        if entry & TRIGGER_LEVEL == 0 {
            assert_eq!(entry & REMOTE_IRR, 0, "remote IRR of edge pin {pin}");
        }
    }
    assert_eq!(io.redirection_entry(IOAPIC_PINS), None);
    assert_eq!(io.read_register(1), VERSION_VALUE);
    assert_eq!(io.read_register(0) & !0x0F00_0000, 0, "the ID register");
    assert_eq!(io.read_register(2), io.read_register(0), "arbitration ID");
}
