//! Built-in test guests: tiny real-mode programs assembled here with iced-x86
//! into 64 KiB ROM images that the hypervisor maps at F0000h and at the reset
//! vector.

pub mod bios_probe;
pub mod devtest;
pub mod hello;
pub mod hostile;
pub mod keyboard;
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
