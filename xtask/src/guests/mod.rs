//! Built-in test guests: tiny real-mode programs assembled here with iced-x86
//! into 64 KiB ROM images that the hypervisor maps at F0000h and at the reset
//! vector.

pub mod bios_probe;
pub mod devtest;
pub mod disk_stream;
pub mod hello;
pub mod hostile;
pub mod keyboard;
pub mod mode_switch;
pub mod reset;
mod rom;
pub mod spin;
pub mod task_gate;
pub mod timer;
pub mod triple_fault;

pub use rom::{RomBuilder, ROM_SIZE};

/// A built-in guest.
pub struct BuiltinGuest {
    pub name: &'static str,
    pub about: &'static str,
    pub build: fn() -> Vec<u8>,
}

/// Every built-in guest.
pub const BUILTIN_GUESTS: &[BuiltinGuest] = &[
    BuiltinGuest {
        name: "hello",
        about: "prints a line and the CPU vendor through COM1 from real mode, then halts",
        build: hello::build,
    },
    BuiltinGuest {
        name: "devtest",
        about: "reads LBA 1 of the IDE disk and block 16 of the ATAPI CD by port I/O, prints their sums",
        build: devtest::build,
    },
    BuiltinGuest {
        name: "disk-stream",
        about: "writes numbered sectors to the whole IDE disk, FLUSH CACHE every 32 sectors, prints `flushed <count>` (run with a disk)",
        build: disk_stream::build,
    },
    BuiltinGuest {
        name: "disk-stream-dma",
        about: "disk-stream by WRITE DMA through the bus master (run with a disk)",
        build: disk_stream::build_dma,
    },
    BuiltinGuest {
        name: "keyboard",
        about: "prints the first 8 PS/2 scan codes it gets on IRQ1 (run with terminal input as keyboard)",
        build: keyboard::build,
    },
    BuiltinGuest {
        name: "timer",
        about: "programs the PIC and PIT like a BIOS, counts 10 IRQ0s in a real-mode handler",
        build: timer::build,
    },
    BuiltinGuest {
        name: "triple-fault",
        about: "prints a line, then triple-faults (an empty IDT and INT3)",
        build: triple_fault::build,
    },
    BuiltinGuest {
        name: "spin",
        about: "prints a line, then spins on `jmp $` with interrupts on and the PIC masked (until the timeout)",
        build: spin::build,
    },
    BuiltinGuest {
        name: "task-gate",
        about: "protected mode, #GP without a gate: #DF through a task gate, handled in its own task; exits 0",
        build: task_gate::build,
    },
    BuiltinGuest {
        name: "mode-switch",
        about: "real mode to protected mode and back with exits in between, unreal limits, RPL 1-3 real-mode CS; exits 0",
        build: mode_switch::build,
    },
    BuiltinGuest {
        name: "reset",
        about: "counts its boots in RAM, pulses the 8042 reset (64h <- FEh) on the first, exits 0 on the second",
        build: reset::build,
    },
    BuiltinGuest {
        name: "hostile-cpu",
        about: "hostile suite: INVD, INT with SP=0, VMCALL/VMMCALL/XSETBV/VMXON/VMRUN, INS/OUTS into ROM, MMIO and a missing page",
        build: hostile::cpu::build,
    },
    BuiltinGuest {
        name: "hostile-cr",
        about: "hostile suite: CR0/CR4/EFER writes a processor refuses with #GP",
        build: hostile::cr::build,
    },
    BuiltinGuest {
        name: "hostile-cr4",
        about: "hostile suite: CR4 writes a processor refuses with #GP (a reserved bit, VMXE)",
        build: hostile::cr::build_cr4,
    },
    BuiltinGuest {
        name: "hostile-npf-idt",
        about: "hostile suite: INT3 with the protected-mode IDT where nothing backs it (a triple fault)",
        build: hostile::stops::build_npf_idt,
    },
    BuiltinGuest {
        name: "hostile-npf-ivt",
        about: "hostile suite: INT3 with the real-mode IVT where nothing backs it (a triple fault)",
        build: hostile::stops::build_npf_ivt,
    },
    BuiltinGuest {
        name: "hostile-triple-fault",
        about: "hostile suite: UD2 with an empty IDT in protected mode",
        build: hostile::stops::build_triple_fault,
    },
    BuiltinGuest {
        name: "hostile-task-gate",
        about: "hostile suite: #GP without a gate, then #DF through a task gate to a double-fault task",
        build: hostile::stops::build_task_gate,
    },
    BuiltinGuest {
        name: "hostile-cr3-outside-ram",
        about: "hostile suite: paging turned on with CR3 outside RAM",
        build: hostile::stops::build_cr3_outside_ram,
    },
    BuiltinGuest {
        name: "hostile-pt-outside-ram",
        about: "hostile suite: an MMIO read through a page table outside RAM",
        build: hostile::stops::build_pt_outside_ram,
    },
    BuiltinGuest {
        name: "hostile-stack-in-rom",
        about: "hostile suite: a real-mode INT with its stack in the shadow ROM",
        build: hostile::stops::build_stack_in_rom,
    },
    BuiltinGuest {
        name: "hostile-masked-halt",
        about: "hostile suite: sti; hlt with every 8259 input masked",
        build: hostile::stops::build_masked_halt,
    },
    BuiltinGuest {
        name: "hostile-reset-loop",
        about: "hostile suite: asks for a reset on every boot (CF9h, 92h, 8042 output port, 8042 pulse in turn)",
        build: hostile::stops::build_reset_loop,
    },
    BuiltinGuest {
        name: "hostile-pit-rtc",
        about: "hostile suite: the PIT and the RTC at their fastest rates while the guest loops and halts",
        build: hostile::timers::build,
    },
    BuiltinGuest {
        name: "hostile-ide-dma",
        about: "hostile suite: READ DMA through hostile PRD tables (run with a disk)",
        build: hostile::dma::build,
    },
    BuiltinGuest {
        name: "hostile-long-mode",
        about: "hostile suite: INSB in 64-bit mode with an ES base, CR0/CR4/EFER writes refused in long mode",
        build: hostile::long_mode::build,
    },
];

/// The guest named `name`.
pub fn find(name: &str) -> Option<&'static BuiltinGuest> {
    BUILTIN_GUESTS.iter().find(|g| g.name == name)
}

/// The names, for error messages.
pub fn names() -> String {
    BUILTIN_GUESTS
        .iter()
        .map(|g| g.name)
        .collect::<Vec<_>>()
        .join(", ")
}
