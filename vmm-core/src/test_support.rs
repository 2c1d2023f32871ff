//! A scriptable vCPU and host for exit-handling tests.

use crate::cpu_policy::CpuidResult;
use crate::host_env::HostEnv;
use crate::vcpu::{
    ControlRegs, DescriptorTable, Exception, Gprs, SegReg, Segment, SystemSegReg, Vcpu, VmExit,
};
use alloc::vec::Vec;
use core::cell::Cell;
use core::fmt;

/// A vCPU in real mode whose exits come from a script.
pub struct FakeVcpu {
    pub exits: Vec<VmExit>,
    pub gprs: Gprs,
    pub rip: u64,
    pub rflags: u64,
    pub cr: ControlRegs,
    pub segments: [Segment; 6],
    pub gdtr: DescriptorTable,
    pub idtr: DescriptorTable,
    pub ldtr: Segment,
    pub tr: Segment,
    /// The PAE PDPTEs last loaded through [`Vcpu::set_pae_pdptes`].
    pub pdptes: Option<[u64; 4]>,
    pub injected: Vec<Exception>,
    pub interrupts: Vec<u8>,
    pub window_exiting: bool,
    pub interruptible: bool,
    pub xmm: [u128; 16],
    /// Second-level translation flushes asked for.
    pub flushes: u32,
    /// Times [`Vcpu::reset`] was called.
    pub resets: u32,
    /// Every [`Vcpu::set_exit_deadline`], in order.
    pub exit_deadlines: Vec<Option<u64>>,
}

impl Default for FakeVcpu {
    fn default() -> Self {
        let data = Segment {
            selector: 0,
            attrs: 0x93,
            limit: 0xFFFF,
            base: 0,
        };
        Self {
            exits: Vec::new(),
            gprs: [0; 16],
            rip: 0,
            rflags: 2,
            cr: ControlRegs {
                cr0: 0x10,
                ..Default::default()
            },
            segments: [data; 6],
            gdtr: DescriptorTable::default(),
            idtr: DescriptorTable {
                base: 0,
                limit: 0x3FF,
            },
            // The reset state (SDM vol. 3A, 10.1.1, table 10-1): an LDT and
            // a busy 32-bit TSS at base 0.
            ldtr: Segment {
                selector: 0,
                attrs: 0x82,
                limit: 0xFFFF,
                base: 0,
            },
            tr: Segment {
                selector: 0,
                attrs: 0x8B,
                limit: 0xFFFF,
                base: 0,
            },
            pdptes: None,
            injected: Vec::new(),
            interrupts: Vec::new(),
            window_exiting: false,
            interruptible: true,
            xmm: [0; 16],
            flushes: 0,
            resets: 0,
            exit_deadlines: Vec::new(),
        }
    }
}

fn index(seg: SegReg) -> usize {
    seg as usize
}

impl FakeVcpu {
    /// Real-mode CS:IP at `cs_base + ip`.
    pub fn at(cs_base: u64, ip: u64) -> Self {
        let mut v = Self::default();
        v.segments[index(SegReg::Cs)] = Segment {
            selector: (cs_base >> 4) as u16,
            attrs: 0x9B,
            limit: 0xFFFF,
            base: cs_base,
        };
        v.rip = ip;
        v
    }

    /// Sets a segment's base (and a matching real-mode selector).
    pub fn set_segment(&mut self, seg: SegReg, base: u64) {
        self.segments[index(seg)].base = base;
        self.segments[index(seg)].selector = (base >> 4) as u16;
    }
}

impl Vcpu for FakeVcpu {
    fn backend_name(&self) -> &'static str {
        "fake"
    }
    fn run(&mut self) -> VmExit {
        if self.exits.is_empty() {
            VmExit::Shutdown
        } else {
            self.exits.remove(0)
        }
    }
    fn gprs(&self) -> &Gprs {
        &self.gprs
    }
    fn gprs_mut(&mut self) -> &mut Gprs {
        &mut self.gprs
    }
    fn rip(&self) -> u64 {
        self.rip
    }
    fn set_rip(&mut self, rip: u64) {
        self.rip = rip;
    }
    fn rflags(&self) -> u64 {
        self.rflags
    }
    fn set_rflags(&mut self, rflags: u64) {
        self.rflags = rflags;
    }
    fn control_regs(&self) -> ControlRegs {
        self.cr
    }
    fn set_efer(&mut self, efer: u64) {
        self.cr.efer = efer;
    }
    fn set_cr2(&mut self, cr2: u64) {
        self.cr.cr2 = cr2;
    }
    fn segment(&self, seg: SegReg) -> Segment {
        self.segments[index(seg)]
    }
    fn set_segment(&mut self, seg: SegReg, value: Segment) {
        self.segments[index(seg)] = value;
    }
    fn gdtr(&self) -> DescriptorTable {
        self.gdtr
    }
    fn idtr(&self) -> DescriptorTable {
        self.idtr
    }
    fn system_segment(&self, seg: SystemSegReg) -> Segment {
        match seg {
            SystemSegReg::Ldtr => self.ldtr,
            SystemSegReg::Tr => self.tr,
        }
    }
    fn set_system_segment(&mut self, seg: SystemSegReg, value: Segment) {
        match seg {
            SystemSegReg::Ldtr => self.ldtr = value,
            SystemSegReg::Tr => self.tr = value,
        }
    }
    fn set_pae_pdptes(&mut self, pdptes: [u64; 4]) {
        self.pdptes = Some(pdptes);
    }
    fn set_control_regs(&mut self, control: ControlRegs) {
        self.cr = control;
    }
    fn flush_guest_physical_translations(&mut self) {
        self.flushes += 1;
    }
    fn set_descriptor_tables(&mut self, gdtr: DescriptorTable, idtr: DescriptorTable) {
        self.gdtr = gdtr;
        self.idtr = idtr;
    }
    fn reset(&mut self) {
        let data = Segment {
            selector: 0,
            attrs: 0x93,
            limit: 0xFFFF,
            base: 0,
        };
        self.segments = [data; 6];
        self.segments[index(SegReg::Cs)] = Segment {
            selector: 0xF000,
            attrs: 0x9B,
            limit: 0xFFFF,
            base: 0xFFFF_0000,
        };
        self.rip = 0xFFF0;
        self.rflags = 2;
        self.cr = ControlRegs {
            cr0: 0x6000_0010,
            ..Default::default()
        };
        let table = DescriptorTable {
            base: 0,
            limit: 0xFFFF,
        };
        self.gdtr = table;
        self.idtr = table;
        self.gprs = [0; 16];
        self.xmm = [0; 16];
        self.window_exiting = false;
        self.flushes += 1;
        self.resets += 1;
    }
    fn cpl(&self) -> u8 {
        0
    }
    fn inject_exception(&mut self, exception: Exception) {
        self.injected.push(exception);
    }
    fn interrupt_window_open(&self) -> bool {
        self.interruptible && self.rflags & crate::vcpu::RFLAGS_IF != 0
    }
    fn inject_interrupt(&mut self, vector: u8) {
        self.interrupts.push(vector);
    }
    fn set_interrupt_window_exiting(&mut self, on: bool) {
        self.window_exiting = on;
    }
    fn set_exit_deadline(&mut self, deadline_tsc: Option<u64>) {
        self.exit_deadlines.push(deadline_tsc);
    }
    fn xmm(&self, index: u8) -> u128 {
        self.xmm[usize::from(index & 15)]
    }
    fn set_xmm(&mut self, index: u8, value: u128) {
        self.xmm[usize::from(index & 15)] = value;
    }
    fn dump_backend_state(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        writeln!(out, "fake")
    }
}

/// A host with a fixed CPUID and a clock (in ns, also its TSC) that advances
/// 100 per TSC read, `now_step` per time read (0 unless a test sets it, for
/// a hypervisor that spins on the clock) and 100 us per wait.
#[derive(Default)]
pub struct FakeHost {
    pub tsc: alloc::rc::Rc<Cell<u64>>,
    /// How far each [`HostEnv::now_ns`] moves the clock.
    pub now_step: Cell<u64>,
    /// Calls of [`HostEnv::wait_for_event`] (sleeps until the host's tick).
    pub waits: Cell<u32>,
    /// Bytes waiting on the control channel.
    pub control: core::cell::RefCell<alloc::collections::VecDeque<u8>>,
}

/// A device clock reading a [`FakeHost`]'s time.
pub struct FakeClock(pub alloc::rc::Rc<Cell<u64>>);

impl device_model::Clock for FakeClock {
    fn now_ns(&self) -> u64 {
        self.0.get()
    }
}

impl HostEnv for FakeHost {
    fn cpuid(&self, leaf: u32, _subleaf: u32) -> CpuidResult {
        match leaf {
            0 => CpuidResult {
                eax: 0xD,
                ebx: 0x6874_7541,
                ecx: 0x444D_4163,
                edx: 0x6974_6E65,
            },
            _ => CpuidResult::default(),
        }
    }
    fn tsc(&self) -> u64 {
        self.tsc.set(self.tsc.get() + 100);
        self.tsc.get()
    }
    fn now_ns(&self) -> u64 {
        self.tsc.set(self.tsc.get() + self.now_step.get());
        self.tsc.get()
    }
    fn console_input(&self) -> Option<u8> {
        None
    }
    fn control_request(&self) -> Option<crate::control::ControlRequest> {
        let mut bytes = self.control.borrow_mut();
        crate::control::ControlRequest::next(|| bytes.pop_front())
    }
    fn wait_for_event(&self) {
        self.waits.set(self.waits.get() + 1);
        self.tsc.set(self.tsc.get() + 100_000);
    }
}

/// Second-level tables that only record what is mapped: the exit tests run
/// on heap memory that is not page-aligned, which real tables refuse.
#[derive(Default)]
pub struct FakeTables {
    /// (gpa, hpa, len, writable) of every live mapping.
    pub mappings: Vec<(u64, u64, u64, bool)>,
}

impl crate::second_level::SecondLevelTables for FakeTables {
    fn map(
        &mut self,
        gpa: u64,
        hpa: u64,
        len: u64,
        writable: bool,
    ) -> Result<(), crate::second_level::MapError> {
        self.mappings.push((gpa, hpa, len, writable));
        Ok(())
    }
    fn unmap(&mut self, gpa: u64, len: u64) -> Result<(), crate::second_level::MapError> {
        self.mappings
            .retain(|m| m.0 + m.2 <= gpa || m.0 >= gpa.saturating_add(len));
        Ok(())
    }
    fn protect(
        &mut self,
        gpa: u64,
        len: u64,
        writable: bool,
    ) -> Result<(), crate::second_level::MapError> {
        for m in &mut self.mappings {
            if m.0 >= gpa && m.0 + m.2 <= gpa.saturating_add(len) {
                m.3 = writable;
            }
        }
        Ok(())
    }
    fn root(&self) -> u64 {
        0
    }
    fn translate(&self, gpa: u64) -> Option<(u64, bool)> {
        self.mappings
            .iter()
            .find(|m| gpa >= m.0 && gpa - m.0 < m.2)
            .map(|m| (m.1 + (gpa - m.0), m.3))
    }
}

/// A console that drops what it is given.
pub struct Discard;

impl device_model::ByteSink for Discard {
    fn write_byte(&mut self, _: u8) {}
}

/// A domain with `config` and `ram_bytes` of RAM on [`FakeTables`], a clock
/// standing at 0 and a discarding console, and with `xen` the Xen platform
/// attached as the hypervisor attaches it (a 1 GHz TSC, VMMCALL).
#[cfg(test)]
pub fn test_domain(
    config: crate::guest_config::GuestConfig,
    ram_bytes: usize,
    xen: bool,
) -> crate::domain::Domain {
    use alloc::boxed::Box;
    use alloc::rc::Rc;
    let mut dom = crate::domain::Domain::new(
        1,
        config,
        crate::guest_memory::test_memory(ram_bytes),
        Box::new(FakeTables::default()),
        Box::new(Discard),
        Rc::new(FakeClock(Rc::new(Cell::new(0)))),
        0,
    )
    .expect("a test domain builds");
    if xen {
        let platform = crate::xen::XenPlatform::new(
            xen_services::hvm::HypercallInsn::Vmmcall,
            1,
            1_000_000_000,
            0,
            0,
            Box::new(Discard),
        );
        crate::xen::attach(&mut dom, platform).expect("the Xen rings map");
    }
    dom
}
