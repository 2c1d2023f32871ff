//! Requests from the runner's control channel (the protocol, one byte per
//! request on the host's COM3, is [`pc_layout::host_control`]) and what the
//! hypervisor does with them. The run loop reads the channel through
//! [`HostEnv::control_request`] between guest entries and while the guest
//! sleeps in HLT, at most once per [`POLL_EVERY_NS`].

use crate::domain::Domain;
use crate::host_env::HostEnv;
use crate::xen::guest_access::split;
use pc_layout::host_control;

/// What the runner can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlRequest {
    /// Shut the guest down gracefully, as `xl shutdown` does.
    Shutdown,
}

impl ControlRequest {
    /// The request a byte stands for; None for any other byte (noise on a
    /// real machine's port is ignored).
    pub fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            host_control::SHUTDOWN => Some(Self::Shutdown),
            _ => None,
        }
    }

    /// The first request among the bytes `read` yields (None once it yields
    /// nothing), skipping bytes that stand for none.
    pub fn next(mut read: impl FnMut() -> Option<u8>) -> Option<Self> {
        while let Some(byte) = read() {
            if let Some(request) = Self::from_byte(byte) {
                return Some(request);
            }
        }
        None
    }
}

/// How often the channel is read: a port read costs an exit of the
/// hypervisor itself under KVM (a few microseconds under TCG), too much to
/// pay on every guest entry; a request waiting 10 ms is not noticed.
pub const POLL_EVERY_NS: u64 = 10_000_000;

/// When the channel is next read.
#[derive(Debug, Default)]
pub struct ControlPoll {
    next_ns: u64,
}

impl ControlPoll {
    /// True (and the next time set) when the channel is due at `now_ns`.
    pub fn due(&mut self, now_ns: u64) -> bool {
        if now_ns < self.next_ns {
            return false;
        }
        self.next_ns = now_ns.saturating_add(POLL_EVERY_NS);
        true
    }
}

/// Reads the channel when due and acts on every request waiting.
pub fn poll(control: &mut ControlPoll, dom: &mut Domain, host: &dyn HostEnv) {
    if !control.due(host.now_ns()) {
        return;
    }
    while let Some(request) = host.control_request() {
        act(dom, request, host.tsc());
    }
}

/// What a request did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acted {
    /// `control/shutdown` was written; the guest's watch fires.
    AskedGuest,
    /// No Xen platform, but ACPI: the power button was pressed (an SCI).
    PressedPowerButton,
    /// The guest has neither a PV shutdown path nor ACPI: nothing was done.
    NoPvPath,
}

/// Carries out `request` for `dom`; `tsc` is the host TSC now.
pub fn act(dom: &mut Domain, request: ControlRequest, tsc: u64) -> Acted {
    let id = dom.id;
    match request {
        ControlRequest::Shutdown => match split(dom, None, tsc) {
            Some((xen, mut guest)) => {
                xen.request_shutdown(&mut guest, "poweroff");
                log::info!("dom{id}: asked the guest to power off (control/shutdown)");
                Acted::AskedGuest
            }
            None => match dom.board.apic.as_ref() {
                // A guest without the Xen platform but with ACPI: the power
                // button, as `xl shutdown -F` and QEMU's system_powerdown do.
                Some(apic) => {
                    apic.press_power_button();
                    log::info!("dom{id}: pressed the ACPI power button");
                    Acted::PressedPowerButton
                }
                None => {
                    log::warn!(
                        "dom{id}: asked to shut the guest down, but it has neither a PV shutdown \
                         path (xen = off) nor ACPI (acpi = off): the runner's grace period applies"
                    );
                    Acted::NoPvPath
                }
            },
        },
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::guest_config::GuestConfig;
    use crate::test_support::FakeHost;
    use alloc::vec::Vec;

    pub(crate) fn domain(xen: bool) -> Domain {
        domain_with(GuestConfig::default(), xen)
    }

    /// A 1 MiB domain with `config`, and the Xen platform when `xen`.
    fn domain_with(config: GuestConfig, xen: bool) -> Domain {
        crate::test_support::test_domain(config, 0x10_0000, xen)
    }

    pub(crate) fn shutdown_node(dom: &Domain) -> Option<Vec<u8>> {
        let xen = dom.xen.as_ref()?;
        xen.domain
            .store
            .tree()
            .get("/local/domain/1/control/shutdown")
            .map(|n| n.value.clone())
    }

    #[test]
    fn only_the_documented_byte_is_a_request_and_noise_is_skipped() {
        assert_eq!(
            ControlRequest::from_byte(b'S'),
            Some(ControlRequest::Shutdown)
        );
        for b in (0..=255u8).filter(|&b| b != b'S') {
            assert_eq!(ControlRequest::from_byte(b), None, "{b:#x}");
        }
        let mut bytes = [0xFFu8, b'\n', b's', b'S', b'S'].into_iter();
        assert_eq!(
            ControlRequest::next(|| bytes.next()),
            Some(ControlRequest::Shutdown)
        );
        assert_eq!(bytes.len(), 1, "one request taken, the next left");
        let mut noise = [0xFFu8; 4].into_iter();
        assert_eq!(ControlRequest::next(|| noise.next()), None);
        assert_eq!(noise.len(), 0);
    }

    #[test]
    fn the_channel_is_read_at_most_once_per_period() {
        let mut p = ControlPoll::default();
        assert!(p.due(0));
        assert!(!p.due(1) && !p.due(POLL_EVERY_NS - 1));
        assert!(p.due(POLL_EVERY_NS));
        assert!(!p.due(POLL_EVERY_NS + 5));
    }

    #[test]
    fn a_shutdown_request_writes_poweroff_to_control_shutdown_as_xl_does() {
        let mut dom = domain(true);
        // The toolstack's empty node is there from the start.
        assert_eq!(shutdown_node(&dom).as_deref(), Some(&b""[..]));
        assert_eq!(
            act(&mut dom, ControlRequest::Shutdown, 0),
            Acted::AskedGuest
        );
        assert_eq!(shutdown_node(&dom).as_deref(), Some(&b"poweroff"[..]));
    }

    #[test]
    fn without_the_xen_platform_a_shutdown_request_presses_the_acpi_power_button() {
        let mut dom = domain(false);
        assert_eq!(
            act(&mut dom, ControlRequest::Shutdown, 0),
            Acted::PressedPowerButton
        );
        // PM1_STS.PWRBTN_STS (bit 8) is set and the SCI raised.
        let status = dom.io.read(pc_layout::ports::ACPI_PM1A_EVT, 2);
        assert_ne!(status & 0x100, 0, "{status:#x}");
        assert!(dom.xen.is_none());
    }

    #[test]
    fn without_the_xen_platform_or_acpi_a_shutdown_request_changes_nothing() {
        let config = GuestConfig {
            acpi: false,
            ..GuestConfig::default()
        };
        let mut dom = domain_with(config, false);
        assert_eq!(act(&mut dom, ControlRequest::Shutdown, 0), Acted::NoPvPath);
    }

    #[test]
    fn poll_takes_every_waiting_request_but_only_when_due() {
        let mut dom = domain(true);
        let host = FakeHost::default();
        host.control.borrow_mut().extend([b'x', b'S']);
        let mut p = ControlPoll {
            next_ns: POLL_EVERY_NS,
        };
        poll(&mut p, &mut dom, &host);
        assert_eq!(shutdown_node(&dom).as_deref(), Some(&b""[..]), "not due");
        host.tsc.set(POLL_EVERY_NS);
        poll(&mut p, &mut dom, &host);
        assert_eq!(shutdown_node(&dom).as_deref(), Some(&b"poweroff"[..]));
        assert!(host.control.borrow().is_empty());
    }
}
