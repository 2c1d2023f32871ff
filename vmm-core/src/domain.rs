//! A domain: one guest machine, its memory, its devices and its statistics.

use crate::cpu_policy::CpuPolicy;
use crate::exit_stats::ExitStats;
use crate::guest_boot::media::BiosMedia;
use crate::guest_config::GuestConfig;
use crate::guest_memory::GuestMemory;
use crate::heartbeat::HeartbeatClock;
use crate::pc_board::{DeviceSet, PcBoard};
use crate::reset::history::ResetHistory;
use crate::second_level::{GuestPhysicalMap, MapError, SecondLevelTables};
use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::Cell;
use device_model::bus::PortIoBus;
use device_model::debug_exit::{DebugExit, ExitRequest};
use device_model::mmio_bus::MmioBus;
use device_model::rate_limit::RateLimit;
use device_model::{ByteSink, Clock};

/// Log lines a guest can cause, each rate-limited on its own.
pub struct GuestLogLimits {
    pub injected_exception: RateLimit,
    pub unhandled_msr: RateLimit,
    pub unsupported_mmio_instruction: RateLimit,
    /// "BIOS: booting ..." (a boot sector looping on INT 19h boots again and again).
    pub bios_boot: RateLimit,
}

impl Default for GuestLogLimits {
    fn default() -> Self {
        Self {
            injected_exception: RateLimit::new(20, 10_000),
            unhandled_msr: RateLimit::new(20, 10_000),
            unsupported_mmio_instruction: RateLimit::new(20, 10_000),
            bios_boot: RateLimit::new(20, 10_000),
        }
    }
}

/// One guest machine.
pub struct Domain {
    pub id: u32,
    pub config: GuestConfig,
    pub memory: GuestMemory,
    /// Guest-physical to host-physical translation (NPT or EPT), owned here
    /// so it can change while the guest runs.
    pub second_level: GuestPhysicalMap,
    pub io: PortIoBus,
    /// The board: its emulated devices and their interrupt routing.
    pub board: PcBoard,
    /// Memory-mapped devices: guest-physical addresses no RAM backs.
    pub mmio: MmioBus,
    /// The emulated BIOS, when the guest boots through it.
    pub bios: Option<firmware::bios::Bios>,
    /// The firmware image at the reset vector (the BIOS's or a test ROM),
    /// which a reset loads again; empty until the boot path records it.
    pub rom_image: Vec<u8>,
    /// The media in the drives, which a reset puts back.
    pub media: BiosMedia,
    /// The resets the guest has asked for.
    pub resets: ResetHistory,
    /// The text-screen mirror, for guests that use the screen.
    pub screen: Option<crate::screen_mirror::ScreenMirror>,
    pub stats: ExitStats,
    /// Host time of the next statistics snapshot (with `stats_every_ms`).
    pub next_stats_ns: u64,
    /// When the next heartbeat is due (with `heartbeat_ms`).
    pub heartbeat: HeartbeatClock,
    /// Set when the guest writes the test-exit port.
    pub exit_request: ExitRequest,
    pub log_limits: GuestLogLimits,
    /// Physical-address width the guest sees (CPUID 8000_0008h), for page walks.
    pub max_phys_bits: u8,
    /// The processor the domain's vCPUs present (CPUID and MSR policy).
    pub cpu: CpuPolicy,
    /// The Xen platform (hypercalls, event channels, XenStore, PV console),
    /// when the domain has one ([`crate::xen::attach`]).
    pub xen: Option<crate::xen::XenPlatform>,
    /// The TSC's frequency (the guest reads the host's TSC): what converts
    /// an IA32_TSC_DEADLINE value to time. The hypervisor sets the measured
    /// one; 1 GHz until then (host tests).
    pub tsc_hz: u64,
}

/// Why a domain could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomainError {
    /// Two devices want the same ports (a hypervisor bug).
    PortConflict(u16),
    /// The domain's memory could not be mapped in its second-level tables.
    SecondLevel(MapError),
}

impl Domain {
    /// A domain with `memory` mapped through `second_level` (the backend's
    /// empty tables), the PC board (COM1 writing to `console`, the RTC
    /// starting at `unix_seconds`; with the Xen platform device when
    /// `config.xen` is on) and the test-exit port.
    pub fn new(
        id: u32,
        config: GuestConfig,
        memory: GuestMemory,
        second_level: Box<dyn SecondLevelTables>,
        console: Box<dyn ByteSink>,
        clock: Rc<dyn Clock>,
        unix_seconds: u64,
    ) -> Result<Self, DomainError> {
        let second_level = GuestPhysicalMap::new(second_level, &memory.mappings())
            .map_err(DomainError::SecondLevel)?;
        let exit_request: ExitRequest = Rc::new(Cell::new(None));
        let mut io = PortIoBus::default();
        let devices = if config.pvh {
            // A PVH guest has no emulated devices (notes/xen-abi.md §11).
            DeviceSet::None
        } else if config.xen {
            DeviceSet::LegacyPcWithXen
        } else {
            DeviceSet::LegacyPc
        };
        let mut board = PcBoard::new(
            devices,
            &mut io,
            clock,
            console,
            unix_seconds,
            memory.ram_size(),
        )
        .map_err(|c| DomainError::PortConflict(c.base))?;
        register_test_exit(&mut io, &exit_request)?;
        let mut mmio = MmioBus::default();
        let mut cpu = CpuPolicy::default();
        // PVH needs the local APIC whatever `acpi` says: without one Linux
        // never starts the Xen timer (notes/xen-abi.md §11).
        if config.acpi || config.pvh {
            add_modern_pc(&mut board, &mut io, &mut mmio)?;
        }
        // CPUID offers a local APIC exactly when the board has one.
        cpu.local_apic = board.apic.is_some();
        Ok(Self {
            id,
            config,
            memory,
            second_level,
            io,
            board,
            mmio,
            bios: None,
            rom_image: Vec::new(),
            media: BiosMedia::default(),
            resets: ResetHistory::default(),
            screen: None,
            stats: ExitStats::default(),
            next_stats_ns: 0,
            heartbeat: HeartbeatClock::default(),
            exit_request,
            log_limits: GuestLogLimits::default(),
            max_phys_bits: crate::guest_paging::DEFAULT_MAX_PHYS_BITS,
            cpu,
            xen: None,
            tsc_hz: 1_000_000_000,
        })
    }

    /// A system reset of the board: its devices back in their reset state on
    /// a fresh port bus, with the test-exit port ([`PcBoard::reset`]; the
    /// drives are empty until the media go back in). Memory, the
    /// second-level map, the MMIO bus and the statistics stay.
    pub fn reset_board(&mut self) -> Result<(), DomainError> {
        let mut io = PortIoBus::default();
        self.board
            .reset(&mut io)
            .map_err(|c| DomainError::PortConflict(c.base))?;
        self.exit_request.set(None);
        register_test_exit(&mut io, &self.exit_request)?;
        self.io = io;
        Ok(())
    }
}

/// Gives `board` the modern PC's devices (issue 15), with the local APIC's
/// and the I/O APIC's pages on `mmio` at their default addresses (Intel SDM
/// vol. 3A, 12.4.1; 82093AA); a board without the PC/AT's devices (PVH)
/// gets no I/O APIC page, as Xen's PVH guests have none. The MMIO bus keeps
/// them across resets: the board resets the same devices.
fn add_modern_pc(
    board: &mut PcBoard,
    io: &mut PortIoBus,
    mmio: &mut MmioBus,
) -> Result<(), DomainError> {
    board
        .add_apic(io)
        .map_err(|c| DomainError::PortConflict(c.base))?;
    if let Some(apic) = board.apic.as_ref() {
        // The two pages cannot overlap anything: the bus is empty.
        let _ = mmio.register(
            pc_layout::memory::LOCAL_APIC,
            device_model::lapic::APIC_PAGE_SIZE,
            apic.lapic_mmio(),
        );
        if board.legacy.is_some() {
            let _ = mmio.register(
                pc_layout::memory::IO_APIC,
                device_model::ioapic::IOAPIC_MMIO_SIZE,
                apic.ioapic_mmio(),
            );
        }
    }
    Ok(())
}

/// Places the test-exit port on `io`, writing to `exit_request`.
fn register_test_exit(io: &mut PortIoBus, exit_request: &ExitRequest) -> Result<(), DomainError> {
    io.register(
        pc_layout::ports::TEST_EXIT,
        1,
        Box::new(DebugExit::new(exit_request.clone())),
    )
    .map_err(|c| DomainError::PortConflict(c.base))
}
