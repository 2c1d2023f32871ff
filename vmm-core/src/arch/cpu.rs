//! Host processor instructions: the TSC, and the SSE enable the emulator needs.

/// Reads the time stamp counter.
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC only reads a counter; CR4.TSD is clear at CPL 0 anyway.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Lets the hypervisor execute SSE moves (CR4.OSFXSR), which it needs only to
/// read and write the guest's XMM registers for the instruction emulator. The
/// hypervisor's own code never uses SSE, and the guest's CR4 is its own.
pub fn enable_sse_instructions() {
    use x86_64::registers::control::{Cr0, Cr0Flags, Cr4, Cr4Flags};
    // SAFETY: clearing EM and setting MP/OSFXSR/OSXMMEXCPT only allows SSE
    // instructions; no memory or mapping changes.
    unsafe {
        Cr0::update(|f| {
            f.remove(Cr0Flags::EMULATE_COPROCESSOR);
            f.insert(Cr0Flags::MONITOR_COPROCESSOR);
        });
        Cr4::update(|f| f.insert(Cr4Flags::OSFXSR | Cr4Flags::OSXMMEXCPT_ENABLE));
    }
}
