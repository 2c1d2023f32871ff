//! The backends the hypervisor serves as domain 0: the XenStore ring and
//! the PV console ring, both on pages the hypervisor owns and the guest
//! finds through `HVM_PARAM_STORE_PFN`/`CONSOLE_PFN`. A kick (the guest's
//! `EVTCHNOP_send` on the channel) serves the ring at once, and the answer
//! is raised back on the guest's port.

use super::domain::XenDomain;
use super::guest::GuestAccess;
use crate::console;
use xen_abi::event_channel::EvtchnPort;

/// Console output taken per kick at most (the ring's size).
const CONSOLE_CHUNK: usize = 2048;

impl XenDomain {
    /// Signals the guest's end of the channel whose backend end is
    /// `backend_port`, as the backend's own `EVTCHNOP_send` would: nothing
    /// if the guest closed its end (the port number in the HVM param may
    /// since name another channel, or the guest bound the backend again at
    /// another port).
    pub(super) fn notify_guest(
        &mut self,
        g: &mut dyn GuestAccess,
        backend_port: EvtchnPort,
    ) -> bool {
        match self.backend_ports.send(Some(&self.ports), backend_port) {
            Ok(Some(notify)) => self.raise(g, notify),
            _ => false,
        }
    }

    /// Drains the store's request ring, answers every request, and raises
    /// the guest's store port if anything moved.
    pub(super) fn serve_store(&mut self, g: &mut dyn GuestAccess) {
        let outcome = self
            .store_connection
            .service(&mut self.store_page.0, &mut self.store);
        self.stats.xenstore_requests += outcome.requests as u64;
        if let Some(e) = outcome.error {
            self.stats.xenstore_ring_errors += 1;
            // Once: a broken ring stays broken, and every kick would say so.
            if self.stats.xenstore_ring_errors == 1 {
                log::warn!("dom{}: XenStore ring unusable: {e:?}", self.config.domid);
            }
        }
        // Single-guest store: events for other domains have nobody to go to.
        if outcome.notify {
            self.notify_guest(g, self.store_backend_port);
        }
        // The guest's requests are the only way a frontend's state moves.
        if outcome.requests > 0 {
            self.follow_vbds(g);
        }
    }

    /// Queues the watch events of domain 0's own writes for the guest and
    /// signals it.
    pub(super) fn deliver_store_events(
        &mut self,
        g: &mut dyn GuestAccess,
        events: alloc::vec::Vec<crate::xenstore::Response>,
    ) {
        let domid = self.config.domid;
        self.store_connection
            .queue(events.into_iter().filter(|r| r.domid == domid));
        if self.store_connection.flush(&mut self.store_page.0) {
            self.notify_guest(g, self.store_backend_port);
        }
    }

    /// Takes the guest's console output to the terminal and raises the
    /// console port so a writer waiting for room goes on.
    pub(super) fn serve_console(&mut self, g: &mut dyn GuestAccess) {
        let mut out = alloc::vec::Vec::with_capacity(64);
        let n = console::drain_output(&mut self.console_page.0, &mut |b| out.push(b));
        if !out.is_empty() {
            g.console_output(&out);
        }
        if n > 0 || n == CONSOLE_CHUNK {
            self.notify_guest(g, self.console_backend_port);
        }
        // Input the ring could not take before may fit now.
        self.push_console_input(g);
    }

    /// Terminal input for the guest's console (hvc0): queued, and written
    /// into the ring as room allows.
    pub fn console_input(&mut self, bytes: &[u8]) {
        // Bounded: a guest that never reads its console loses old input.
        const MAX_QUEUED: usize = 64 * 1024;
        self.console_input.extend_from_slice(bytes);
        if self.console_input.len() > MAX_QUEUED {
            let drop = self.console_input.len() - MAX_QUEUED;
            self.console_input.drain(..drop);
        }
    }

    /// Moves queued console input into the ring; raises the port if any
    /// went in.
    pub(super) fn push_console_input(&mut self, g: &mut dyn GuestAccess) -> bool {
        if self.console_input.is_empty() {
            return false;
        }
        let n = console::push_input(&mut self.console_page.0, &self.console_input);
        if n == 0 {
            return false;
        }
        self.console_input.drain(..n);
        self.notify_guest(g, self.console_backend_port)
    }

    /// Output the guest left in its console ring without kicking (early
    /// output before its event channel is bound): drained between entries.
    pub fn poll_console(&mut self, g: &mut dyn GuestAccess) {
        let mut out = alloc::vec::Vec::new();
        console::drain_output(&mut self.console_page.0, &mut |b| out.push(b));
        if !out.is_empty() {
            g.console_output(&out);
        }
    }

    /// Asks the guest to shut down as `xl shutdown` does: writes
    /// `control/shutdown` (`poweroff` or `reboot`) as domain 0, which fires
    /// the guest's watch.
    pub fn request_shutdown(&mut self, g: &mut dyn GuestAccess, how: &str) {
        let path = alloc::format!("/local/domain/{}/control/shutdown", self.config.domid);
        let mut payload = alloc::vec::Vec::from(path.as_bytes());
        payload.push(0);
        payload.extend_from_slice(how.as_bytes());
        let responses = self.store.request(
            crate::xenstore::DOM0,
            xen_abi::xenstore::XS_WRITE,
            0,
            0,
            &payload,
        );
        self.deliver_store_events(g, responses);
    }
}
