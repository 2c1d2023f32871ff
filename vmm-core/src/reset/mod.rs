//! A system reset the guest asks for through the board (the 8042's pulse or
//! output port, port 92h, the PIIX3's RC register at CF9h; see
//! [`device_model::reset`] for the references): the machine reboots as
//! QEMU's does. The vCPU goes back to the power-on state at the reset
//! vector, the board's devices to their reset state, the firmware image is
//! loaded again and a BIOS guest gets a fresh BIOS for the same media, so
//! POST runs from the start and boots them again. Guest RAM is not cleared,
//! as on a warm reset.
//!
//! With `no_reboot` the request stops the guest instead, as QEMU's
//! `-no-reboot` does; more than [`RESET_LOOP_LIMIT`] resets within 10 s of
//! host time stop it as a reboot loop. A triple fault is no reset request:
//! it stops the guest whatever `no_reboot` says.

pub mod history;
#[cfg(test)]
mod tests;

use crate::domain::{Domain, DomainError};
use crate::exits::{Flow, StopReason};
use crate::guest_boot;
use crate::guest_memory::GuestMemory;
use crate::vcpu::Vcpu;
use device_model::reset::ResetSource;
use history::{RESET_LOOP_LIMIT, RESET_LOOP_WINDOW_NS};
use pc_layout::memory::HIGH_MEMORY;

/// Acts on a reset the guest asked for at host time `now_ns`: reboots it, or
/// stops it (`no_reboot`, a reboot loop, a board that cannot be rebuilt).
pub fn handle_reset_request(
    vcpu: &mut dyn Vcpu,
    dom: &mut Domain,
    source: ResetSource,
    now_ns: u64,
) -> Flow {
    if dom.config.no_reboot {
        return Flow::Stop(StopReason::ResetRequested { source });
    }
    if !dom.resets.record(now_ns) {
        return Flow::Stop(StopReason::ResetLoop {
            resets: RESET_LOOP_LIMIT,
            window_secs: (RESET_LOOP_WINDOW_NS / 1_000_000_000) as u32,
        });
    }
    if dom.resets.log.allow() {
        log::info!(
            "dom{}: guest requested a reset ({source}); rebooting (reset {})",
            dom.id,
            dom.resets.count()
        );
    }
    match reset_domain(vcpu, dom) {
        Ok(()) => Flow::Continue,
        Err(e) => Flow::Stop(StopReason::ResetFailed(e)),
    }
}

/// Reboots the domain: the board rebuilt on a fresh port bus, the firmware
/// image loaded again, the same media back in the drives (and a fresh BIOS
/// for them), the vCPU at the reset vector.
pub fn reset_domain(vcpu: &mut dyn Vcpu, dom: &mut Domain) -> Result<(), DomainError> {
    dom.reset_board()?;
    reload_firmware(&mut dom.memory, &dom.rom_image);
    guest_boot::bios::insert_media(dom);
    vcpu.reset();
    Ok(())
}

/// Writes the firmware image back where the boot path loaded it (ending at
/// 1 MiB, where the reset-vector alias shows it), as the ROM it is: through
/// the hypervisor's view of RAM, which a shadow ROM does not refuse.
fn reload_firmware(memory: &mut GuestMemory, image: &[u8]) {
    let (end, len) = (HIGH_MEMORY as usize, image.len());
    if let Some(rom) = end
        .checked_sub(len)
        .and_then(|start| memory.ram_mut().get_mut(start..end))
    {
        rom.copy_from_slice(image);
    }
}
