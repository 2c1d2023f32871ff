//! The XenBus device states a frontend and its backend publish in their
//! `state` nodes, as decimal strings (`enum xenbus_state`,
//! `xen/include/public/io/xenbus.h`), and the virtual device numbers of
//! Xen's disks (`docs/misc/vbd-interface.txt` in the Xen tree).

/// A device's state (`enum xenbus_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum XenbusState {
    /// No state (a missing or unreadable node).
    Unknown = 0,
    /// Starting up (a new frontend's state).
    Initialising = 1,
    /// Finished early initialisation, waiting for the other side's
    /// details (the backend's state while it waits for the frontend).
    InitWait = 2,
    /// Details published, waiting for the other side to connect.
    Initialised = 3,
    /// Both sides connected: I/O flows.
    Connected = 4,
    /// The device is being closed: in-flight work drains.
    Closing = 5,
    /// Closed; a frontend may start again from `Initialising`.
    Closed = 6,
    /// Being reconfigured (network devices).
    Reconfiguring = 7,
    /// Reconfigured.
    Reconfigured = 8,
}

impl XenbusState {
    /// The state a node's value names: a decimal number 0..=8 (an empty,
    /// missing or unknown value is `Unknown`, as Linux's
    /// `xenbus_read_driver_state` reads it).
    pub fn parse(value: &[u8]) -> Self {
        let text = core::str::from_utf8(value).unwrap_or("").trim_matches('\0');
        match text.trim().parse::<u8>().unwrap_or(0) {
            1 => Self::Initialising,
            2 => Self::InitWait,
            3 => Self::Initialised,
            4 => Self::Connected,
            5 => Self::Closing,
            6 => Self::Closed,
            7 => Self::Reconfiguring,
            8 => Self::Reconfigured,
            _ => Self::Unknown,
        }
    }

    /// The node value for this state.
    pub const fn value(self) -> u8 {
        self as u8
    }
}

/// The Xen disk number of `xvd<letter>` for disks 0..=15 (`xvda` is
/// 51712, 202 << 8): major 202, 16 minors per disk.
pub const fn xvd_vdev(disk: u16) -> u16 {
    (202 << 8) | (disk << 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_parse_as_linux_reads_them() {
        assert_eq!(XenbusState::parse(b"1"), XenbusState::Initialising);
        assert_eq!(XenbusState::parse(b"4"), XenbusState::Connected);
        assert_eq!(XenbusState::parse(b"6\0"), XenbusState::Closed);
        for junk in [&b""[..], b"9", b"x", b"-1", b"\xff", b"300"] {
            assert_eq!(XenbusState::parse(junk), XenbusState::Unknown);
        }
        assert_eq!(XenbusState::Closing.value(), 5);
    }

    #[test]
    fn disk_numbers() {
        assert_eq!(xvd_vdev(0), 51712);
        assert_eq!(xvd_vdev(1), 51728);
    }
}
