//! `cargo xtask bench emulate`: what the instruction emulator costs per
//! instruction, next to what iced-x86's decoding alone costs, measured side by
//! side in one run so the ratio holds whatever the machine.

use iced_x86::{Decoder, DecoderOptions};
use std::hint::black_box;
use std::time::Instant;
use vmm_core::emulator::{emulate, EmuError, EmuMemory};
use vmm_core::vcpu::{
    ControlRegs, DescriptorTable, Exception, Gprs, SegReg, Segment, SystemSegReg, Vcpu, VmExit,
};

/// A 64-bit vCPU with flat segments.
struct BenchVcpu {
    gprs: Gprs,
    rip: u64,
    rflags: u64,
}

impl Vcpu for BenchVcpu {
    fn backend_name(&self) -> &'static str {
        "bench"
    }
    fn run(&mut self) -> VmExit {
        VmExit::Hlt
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
        ControlRegs {
            cr0: 0x8000_0011,
            efer: 1 << 10,
            ..Default::default()
        }
    }
    fn set_efer(&mut self, _: u64) {}
    fn set_cr2(&mut self, _: u64) {}
    fn set_control_regs(&mut self, _: ControlRegs) {}
    fn flush_guest_physical_translations(&mut self) {}
    fn set_descriptor_tables(&mut self, _: DescriptorTable, _: DescriptorTable) {}
    fn reset(&mut self) {}
    fn segment(&self, seg: SegReg) -> Segment {
        let attrs = if seg == SegReg::Cs { 0x29B } else { 0x93 };
        Segment {
            selector: 0,
            attrs,
            limit: u32::MAX,
            base: 0,
        }
    }
    fn set_segment(&mut self, _: SegReg, _: Segment) {}
    fn system_segment(&self, _: SystemSegReg) -> Segment {
        Segment::default()
    }
    fn set_system_segment(&mut self, _: SystemSegReg, _: Segment) {}
    fn set_pae_pdptes(&mut self, _: [u64; 4]) {}
    fn gdtr(&self) -> DescriptorTable {
        DescriptorTable::default()
    }
    fn idtr(&self) -> DescriptorTable {
        DescriptorTable::default()
    }
    fn cpl(&self) -> u8 {
        0
    }
    fn inject_exception(&mut self, _: Exception) {}
    fn interrupt_window_open(&self) -> bool {
        true
    }
    fn inject_interrupt(&mut self, _: u8) {}
    fn set_interrupt_window_exiting(&mut self, _: bool) {}
    fn xmm(&self, _: u8) -> u128 {
        0
    }
    fn set_xmm(&mut self, _: u8, _: u128) {}
    fn dump_backend_state(&self, _: &mut dyn std::fmt::Write) -> std::fmt::Result {
        Ok(())
    }
}

/// Memory whose upper half acts as an MMIO register file (a latch), the
/// lower half as RAM.
struct BenchMemory {
    ram: Vec<u8>,
    register: u64,
}

impl EmuMemory for BenchMemory {
    fn read(&mut self, _: &dyn Vcpu, linear: u64, buf: &mut [u8]) -> Result<(), EmuError> {
        if linear >= 0x10_0000 {
            buf.copy_from_slice(&self.register.to_le_bytes()[..buf.len()]);
        } else {
            let a = linear as usize;
            buf.copy_from_slice(&self.ram[a..a + buf.len()]);
        }
        Ok(())
    }
    fn write(&mut self, _: &dyn Vcpu, linear: u64, data: &[u8]) -> Result<(), EmuError> {
        if linear >= 0x10_0000 {
            let mut b = [0u8; 8];
            b[..data.len()].copy_from_slice(data);
            self.register = u64::from_le_bytes(b);
        } else {
            let a = linear as usize;
            self.ram[a..a + data.len()].copy_from_slice(data);
        }
        Ok(())
    }
}

/// Nanoseconds per call of `f` over `iterations`.
fn time(iterations: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..iterations / 10 {
        f();
    }
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed().as_nanos() as f64 / f64::from(iterations)
}

fn bench(name: &str, bytes: &[u8], iterations: u32, setup: impl Fn(&mut BenchVcpu)) {
    let decode = time(iterations, || {
        black_box(Decoder::with_ip(64, black_box(bytes), 0, DecoderOptions::NONE).decode());
    });
    let mut vcpu = BenchVcpu {
        gprs: [0; 16],
        rip: 0,
        rflags: 2,
    };
    let mut mem = BenchMemory {
        ram: vec![0; 0x20_0000],
        register: 0,
    };
    let full = time(iterations, || {
        setup(&mut vcpu);
        vcpu.rip = 0;
        let insn = Decoder::with_ip(64, black_box(bytes), 0, DecoderOptions::NONE).decode();
        emulate(&mut vcpu, &mut mem, &insn).expect("bench instruction emulates");
    });
    println!(
        "{name:<34} {decode:>10.1} {full:>14.1} {:>8.1}x",
        full / decode
    );
}

fn main() {
    println!(
        "{:<34} {:>10} {:>14} {:>9}",
        "instruction", "decode ns", "decode+emu ns", "ratio"
    );
    // mov dword [rbx], eax -- store to an MMIO register
    bench("mov [mmio], eax", &[0x89, 0x03], 200_000, |v| {
        v.gprs[3] = 0x10_0000;
        v.gprs[0] = 0x1234_5678;
    });
    // mov eax, dword [rbx] -- load from an MMIO register
    bench("mov eax, [mmio]", &[0x8B, 0x03], 200_000, |v| {
        v.gprs[3] = 0x10_0000
    });
    // mov qword [rbx+rcx*8+0x10], 0x7f -- a complex address
    bench(
        "mov qword [rbx+rcx*8+0x10], imm",
        &[0x48, 0xC7, 0x44, 0xCB, 0x10, 0x7F, 0, 0, 0],
        200_000,
        |v| {
            v.gprs[3] = 0x10_0000;
            v.gprs[1] = 2;
        },
    );
    // rep movsb of 4 KiB from RAM
    bench(
        "rep movsb 4 KiB (per instruction)",
        &[0xF3, 0xA4],
        2_000,
        |v| {
            v.gprs[6] = 0x1000;
            v.gprs[7] = 0x8000;
            v.gprs[1] = 4096;
        },
    );
}
