//! From the boot loader's hand-off to a running guest.

extern crate alloc;

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use block_backend::{BlockBackend, MemoryBlock, SharedBlock};
use core::panic::PanicInfo;
use log::LevelFilter;
use svm::npt::NestedPageTable;
use vmm_core::arch::host_cpu::HostCpu;
use vmm_core::arch::phys::{claim, image_range, BootMemory, IDENTITY_MAPPED_END};
use vmm_core::arch::power::{power_off, RunOutcome};
use vmm_core::arch::serial::{HostConsole, HostScreenChannel};
use vmm_core::arch::tsc::TscClock;
use vmm_core::arch::{debugcon, exceptions, gdt, heap, host_rtc, host_timer, serial, tsc};
use vmm_core::backend::svm::SvmBackend;
use vmm_core::backend::vmx::VmxBackend;
use vmm_core::boot_info::{self, BootInfo, FixedList, Module};
use vmm_core::domain::Domain;
use vmm_core::exits::StopReason;
use vmm_core::guest_boot::{self, bios::BiosMedia};
use vmm_core::guest_config::{ConsoleInputConfig, GuestConfig, MediumSource, SelfTest};
use vmm_core::guest_memory::GuestMemory;
use vmm_core::memory::{PhysAllocator, LARGE_PAGE_SIZE, PAGE_SIZE};
use vmm_core::pc_board::ConsoleInput;
use vmm_core::run_loop::run_vcpu;
use vmm_core::second_level::SecondLevelTables;
use vmm_core::vcpu::{dump_state, Vcpu};
use vmx::ept::ExtendedPageTable;

/// Size of the hypervisor heap.
const HEAP_SIZE: u64 = 32 * 1024 * 1024;

#[no_mangle]
extern "C" fn vmm_entry(magic: u32, info_addr: u64) -> ! {
    serial::init();
    debugcon::init(LevelFilter::Info);
    gdt::init();
    exceptions::init();
    vmm_core::arch::cpu::enable_sse_instructions();
    log::info!("vmm {}: started", env!("CARGO_PKG_VERSION"));

    let boot = match boot_info::parse(magic, info_addr, &BootMemory) {
        Ok(b) => b,
        Err(e) => {
            log::error!("vmm: cannot read the boot information: {e:?}");
            power_off(RunOutcome::HypervisorFailed)
        }
    };
    let tsc_hz = tsc::init();
    log::info!("vmm: TSC runs at {} MHz", tsc_hz / 1_000_000);
    let mut phys = physical_allocator(&boot);
    let Some(heap_start) = phys.alloc(HEAP_SIZE, PAGE_SIZE) else {
        log::error!("vmm: not enough memory for a {} MiB heap", HEAP_SIZE >> 20);
        power_off(RunOutcome::HypervisorFailed)
    };
    // SAFETY: the allocator handed out this range once; it is identity-mapped RAM.
    unsafe { heap::init(heap_start, HEAP_SIZE) };

    match run_guest(&boot, &mut phys) {
        Ok(reason) if reason.is_clean() => power_off(RunOutcome::GuestFinished),
        Ok(_) => power_off(RunOutcome::GuestFailed),
        Err(message) => {
            log::error!("vmm: {message}");
            power_off(RunOutcome::HypervisorFailed)
        }
    }
}

/// Free memory: the loader's usable RAM minus our image, the modules and the
/// boot information, and minus what the boot page tables do not map.
fn physical_allocator(boot: &BootInfo) -> PhysAllocator {
    let mut reserved: FixedList<(u64, u64), 24> = FixedList::default();
    reserved.push(image_range());
    reserved.push(boot.info_range);
    reserved.push((IDENTITY_MAPPED_END, u64::MAX));
    for m in boot.modules.iter() {
        reserved.push((m.start, m.end));
    }
    let mut list = [(0u64, 0u64); 24];
    let mut n = 0;
    for r in reserved.iter() {
        list[n] = *r;
        n += 1;
    }
    let phys = PhysAllocator::new(boot.memory.iter(), &list[..n]);
    log::info!(
        "vmm: {} MiB of host memory free, {} boot modules",
        phys.free_bytes() >> 20,
        boot.modules.len()
    );
    phys
}

fn module<'a>(boot: &'a BootInfo, name: &str) -> Option<&'a Module> {
    boot.modules.iter().find(|m| m.name() == name)
}

/// The bytes of a boot module.
fn module_bytes(m: &Module) -> &'static [u8] {
    // SAFETY: the loader placed the module in RAM below 4 GiB and the physical
    // allocator never hands its range out; nothing writes to it.
    unsafe { claim(m.start, m.len()) }
}

/// The guest's configuration; a problem that would make it a different
/// machine than the one asked for (its RAM size) is an error.
fn read_config(boot: &BootInfo) -> Result<GuestConfig, String> {
    let Some(m) = module(boot, "config") else {
        log::warn!("vmm: no `config` module, using defaults");
        return Ok(GuestConfig::default());
    };
    let text = core::str::from_utf8(module_bytes(m)).unwrap_or("");
    let (config, problems) = GuestConfig::parse(text);
    for p in &problems {
        log::warn!("vmm: config line {}: {}", p.line, p.message);
    }
    match problems.iter().find(|p| p.fatal) {
        Some(p) => Err(alloc::format!("config line {}: {}", p.line, p.message)),
        None => Ok(config),
    }
}

fn run_guest(boot: &BootInfo, phys: &mut PhysAllocator) -> Result<StopReason, String> {
    let config = read_config(boot)?;
    log::set_max_level(config.log_level());
    if config.selftest == Some(SelfTest::Exception) {
        exceptions::self_test_invalid_opcode();
    }

    let host = enable_virtualization()?;
    let mem_size = config.mem_mib << 20;
    let ram_start = phys.alloc(mem_size, LARGE_PAGE_SIZE).ok_or_else(|| {
        alloc::format!(
            "not enough host memory for {} MiB of guest RAM",
            config.mem_mib
        )
    })?;
    // SAFETY: a fresh range from the allocator, identity-mapped RAM used by nothing else.
    let ram = unsafe { claim(ram_start, mem_size) };
    ram.fill(0);
    let mut memory = GuestMemory::new(ram);
    let rom_image = if config.bios {
        guest_boot::bios::load_bios(&mut memory)?
    } else if config.pvh {
        // No firmware: the kernel is loaded once the domain exists.
        Vec::new()
    } else {
        load_rom(boot, &config, &mut memory)?
    };

    let stats = config.stats;
    // The domain owns its second-level tables, in the backend's format.
    let second_level: Box<dyn SecondLevelTables> = match &host {
        Host::Svm(_) => Box::new(NestedPageTable::new()),
        Host::Vmx(_) => Box::new(ExtendedPageTable::new()),
    };
    let mut dom = Domain::new(
        1,
        config,
        memory,
        second_level,
        Box::new(HostConsole),
        Rc::new(TscClock),
        host_rtc::unix_time(),
    )
    .map_err(|e| alloc::format!("cannot build the domain: {e:?}"))?;
    // A reset loads the image again.
    dom.rom_image = rom_image;
    dom.tsc_hz = tsc::hz();
    dom.cpu.tsc_khz = u32::try_from(dom.tsc_hz / 1000).unwrap_or(0);
    attach_media(boot, &mut dom)?;
    // `serial` keeps the board's choice: COM1, and a BIOS guest's keyboard.
    match dom.config.console_input {
        ConsoleInputConfig::Serial => {}
        ConsoleInputConfig::Keyboard => dom.board.console_input = ConsoleInput::Keyboard,
        ConsoleInputConfig::Hvc0 => dom.board.console_input = ConsoleInput::Hvc0,
    }
    if dom.config.xen {
        attach_xen(&mut dom, &host)?;
    }
    let pvh_entry = if dom.config.pvh {
        if dom.xen.is_none() {
            return Err("a PVH guest needs the Xen platform (`xen = on`)".into());
        }
        Some(load_pvh(boot, &mut dom)?)
    } else {
        None
    };
    let ext = core::arch::x86_64::__cpuid(0x8000_0000).eax;
    if ext >= 0x8000_0008 {
        dom.max_phys_bits = core::arch::x86_64::__cpuid(0x8000_0008).eax as u8;
    }
    let root = dom.second_level.root();
    match &host {
        Host::Svm(h) => {
            let mut vcpu = SvmBackend::new(h, 1, root);
            if let Some(state) = &pvh_entry {
                vcpu.load_initial_state(state);
            }
            Ok(run_and_report(&mut vcpu, &mut dom, stats))
        }
        Host::Vmx(h) => {
            let mut vcpu = VmxBackend::new(h, 1, root).map_err(|e| alloc::format!("{e}"))?;
            if let Some(state) = &pvh_entry {
                vcpu.load_initial_state(state);
            }
            Ok(run_and_report(&mut vcpu, &mut dom, stats))
        }
    }
}

/// Gives the domain the Xen platform (`xen = on`, the default), with the
/// hypercall instruction of this processor's vendor (Linux picks VMMCALL on
/// AMD, VMCALL elsewhere; the hypercall page does the same).
fn attach_xen(dom: &mut Domain, host: &Host) -> Result<(), String> {
    let insn = match host {
        Host::Svm(_) => xen_services::hvm::HypercallInsn::Vmmcall,
        Host::Vmx(_) => xen_services::hvm::HypercallInsn::Vmcall,
    };
    let platform = vmm_core::xen::XenPlatform::new(
        insn,
        dom.cpu.vcpus,
        tsc::hz(),
        vmm_core::arch::cpu::rdtsc(),
        host_rtc::unix_time().saturating_mul(1_000_000_000),
        Box::new(HostConsole),
    );
    let mut platform = platform;
    // Each disk is also offered as a PV disk, in order xvda, xvdb, ...
    // (`xl`'s HVM default: both, until the guest unplugs the emulated
    // ones). CD-ROMs stay emulated, as on Xen.
    for disk in dom.media.disks.clone() {
        vmm_core::xen::pv_disks::offer(&mut platform, disk);
    }
    vmm_core::xen::attach(dom, platform)
        .map_err(|e| alloc::format!("cannot map the Xen rings: {e:?}"))
}

/// The virtualization extension this processor offers, enabled.
enum Host {
    Svm(svm::host::SvmHost),
    Vmx(vmx::host::VmxHost),
}

/// Picks the backend by CPUID: SVM with nested paging, else VT-x with EPT and
/// unrestricted guest; neither gives one line naming what would work.
fn enable_virtualization() -> Result<Host, String> {
    match svm::host::enable() {
        Ok(h) => {
            log::info!("vmm: backend svm, features {:?}", h.capabilities.features);
            return Ok(Host::Svm(h));
        }
        Err(svm::host::EnableError::NotSupported) => {}
        Err(e) => return Err(no_virtualization(&alloc::format!("{e:?}"))),
    }
    if !vmx::host::vmx_supported() {
        return Err(no_virtualization("neither SVM nor VMX"));
    }
    match vmx::host::enable() {
        Ok(h) => {
            log::info!(
                "vmm: backend vmx, VMCS revision {:#x}",
                h.caps.basic.revision_id
            );
            Ok(Host::Vmx(h))
        }
        Err(e) => Err(alloc::format!("VT-x cannot be used: {e}")),
    }
}

fn no_virtualization(why: &str) -> String {
    alloc::format!(
        "no usable hardware virtualization ({why}): this hypervisor needs AMD SVM with nested paging \
         or Intel VT-x with EPT; under QEMU use `-accel tcg -cpu qemu64,+svm,+npt,+vgif`, or \
         `-accel kvm -cpu host` on a host with nested virtualization"
    )
}

/// Starts the host tick, runs the vCPU until the guest stops, reports.
fn run_and_report<V: Vcpu>(vcpu: &mut V, dom: &mut Domain, stats: bool) -> StopReason {
    // Before the line the runner waits for: a request it sends after that
    // line is not lost to the FIFO reset of the UART's set-up.
    if serial::init_control() {
        log::info!(
            "vmm: control channel on COM3 ({:#x}): the runner can ask for a shutdown",
            pc_layout::host_control::PORT
        );
    }
    log::info!(
        "dom{}: starting {}, {} MiB RAM",
        dom.id,
        if dom.config.pvh {
            "at the PVH kernel's entry"
        } else {
            "at the reset vector"
        },
        dom.memory.ram_size() >> 20
    );
    host_timer::init();
    host_timer::enable_interrupts();
    let reason = run_vcpu(vcpu, dom, &HostCpu);
    x86_64::instructions::interrupts::disable();
    report(vcpu, dom, reason, stats);
    reason
}

/// Puts the configured media in place. A medium on a host virtio-blk
/// device is the user's image file: the guest's writes reach it. A boot
/// module's memory becomes the medium: writes stay for the run, across
/// resets too, and are discarded at its end (said once per run).
fn attach_media(boot: &BootInfo, dom: &mut Domain) -> Result<(), String> {
    let id = dom.id;
    let mut discarded: Vec<&str> = Vec::new();
    let mut open = |kind: &'static str, value: &str, read_only: bool| {
        match MediumSource::parse(value)? {
            MediumSource::HostVirtio(addr) => {
                let disk = vmm_core::arch::host_virtio::open(addr, read_only)?;
                log::info!(
                    "dom{id}: {kind} on host virtio-blk {:02x}:{:02x}.{}, {} KiB{}{}",
                    addr.bus,
                    addr.device,
                    addr.function,
                    disk.len() >> 10,
                    if disk.read_only() { ", read-only" } else { "" },
                    if disk.has_write_cache() {
                        ", write cache flushed on request"
                    } else {
                        ""
                    },
                );
                Ok(SharedBlock::new(disk))
            }
            MediumSource::Module(name) => {
                let m = module(boot, &name)
                    .ok_or_else(|| alloc::format!("no {kind} module named `{name}`"))?;
                log::info!(
                    "dom{id}: {kind} `{name}`, {} KiB{}",
                    m.len() >> 10,
                    if read_only { ", read-only" } else { "" }
                );
                if !read_only && !discarded.contains(&kind) {
                    discarded.push(kind);
                }
                // SAFETY: the module's range is RAM the allocator never hands
                // out, and only this medium uses it from here on.
                let bytes = unsafe { claim(m.start, m.len()) };
                Ok::<_, String>(SharedBlock::new(MemoryBlock::new(bytes, read_only)))
            }
        }
    };
    let mut found = BiosMedia::default();
    for disk in dom.config.disks.clone() {
        found
            .disks
            .push(open("disk", &disk.source, disk.read_only)?);
    }
    if let Some(value) = dom.config.cdrom.clone() {
        found.cdrom = Some(open("ISO", &value, true)?);
    }
    if let Some(value) = dom.config.floppy.clone() {
        found.floppy = Some(open("floppy", &value, false)?);
    }
    if !discarded.is_empty() {
        log::warn!(
            "dom{id}: the {} held in memory (boot modules, no host virtio-blk): the guest's \
             writes are discarded when the run ends",
            discarded.join(" and ")
        );
    }
    if dom.config.bios {
        serial::init_com2();
        guest_boot::bios::attach_bios(dom, found, Box::new(HostScreenChannel));
    } else {
        // A ROM guest drives the IDE controller itself; it has no BIOS.
        dom.media = found;
        guest_boot::bios::insert_media(dom);
    }
    Ok(())
}

/// Loads the PVH kernel, initrd and command line modules
/// ([`guest_boot::pvh`]); returns the vCPU's state at the kernel's entry.
fn load_pvh(boot: &BootInfo, dom: &mut Domain) -> Result<vmm_core::vcpu::InitialState, String> {
    use guest_boot::pvh::{PvhBoot, CMDLINE_MODULE, INITRD_MODULE, KERNEL_MODULE};
    let kernel = module(boot, KERNEL_MODULE)
        .ok_or_else(|| alloc::format!("PVH: no `{KERNEL_MODULE}` module"))?;
    let pvh = PvhBoot {
        kernel: module_bytes(kernel),
        initrd: module(boot, INITRD_MODULE).map(module_bytes),
        cmdline: module(boot, CMDLINE_MODULE).map_or(&[], module_bytes),
    };
    guest_boot::pvh::load_pvh(dom, &pvh)
}

/// Loads the ROM module the configuration names; returns its image, for the
/// domain to load again at a reset.
fn load_rom(
    boot: &BootInfo,
    config: &GuestConfig,
    memory: &mut GuestMemory,
) -> Result<Vec<u8>, String> {
    let m = module(boot, &config.rom)
        .ok_or_else(|| alloc::format!("no ROM module named `{}`", config.rom))?;
    guest_boot::rom::load_rom_image(memory, module_bytes(m), &config.rom)?;
    Ok(module_bytes(m).to_vec())
}

/// Logs why the guest stopped, its registers when it did not end cleanly, and
/// the exit statistics when asked for.
fn report(vcpu: &dyn Vcpu, dom: &Domain, reason: StopReason, stats: bool) {
    if reason.is_clean() {
        log::info!("dom{}: guest stopped: {reason}", dom.id);
    } else {
        log::error!("dom{}: guest stopped: {reason}", dom.id);
        if reason.shows_guest_state() {
            let mut text = String::new();
            let _ = dump_state(vcpu, &mut text);
            debugcon::write_raw(format_args!("{text}"));
        }
    }
    if stats {
        let mut text = String::new();
        let _ = dom.stats.write_block(
            &mut text,
            dom.id,
            vcpu.backend_name(),
            device_model::Clock::now_ns(&TscClock),
            &|out| {
                vmm_core::xen::write_stats(dom, out)?;
                write_queue_stats(dom, out)
            },
        );
        debugcon::write_raw(format_args!("{text}"));
    }
}

/// What the host disks' queues did (`block_backend::QueueStats`): polls of
/// the device against the completions it reported, and the deepest its
/// queue got.
fn write_queue_stats(dom: &Domain, out: &mut dyn core::fmt::Write) -> core::fmt::Result {
    let disks = dom.media.disks.iter().enumerate().map(|(i, d)| {
        // The first disk keeps its name of old: `host-disk`.
        let name = if i == 0 {
            String::from("disk")
        } else {
            alloc::format!("disk{i}")
        };
        (name, Some(d))
    });
    let cdrom = (String::from("cdrom"), dom.media.cdrom.as_ref());
    for (kind, m) in disks.chain([cdrom]) {
        if let Some(q) = m.and_then(|m| m.queue_stats()) {
            writeln!(
                out,
                "host-{kind} requests {} device-requests {} polls {} completions {} \
                 peak-in-flight {} flushes {}",
                q.requests, q.device_requests, q.polls, q.completions, q.peak_in_flight, q.flushes
            )?;
        }
    }
    Ok(())
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    log::error!("vmm: hypervisor panic: {info}");
    power_off(RunOutcome::HypervisorFailed)
}
