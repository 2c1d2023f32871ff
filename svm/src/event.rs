//! Event injection (EVENTINJ) and the event-in-delivery record (EXITINTINFO),
//! which share one format (AMD APM vol. 2, 15.20 "Event Injection", figure
//! 15-11 "EVENTINJ Field"; 15.7.2 "Intercepts During IDT Interrupt Delivery").

/// Bits 10:8, TYPE of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum EventType {
    /// External or virtual interrupt (INTR).
    Interrupt = 0,
    /// Non-maskable interrupt.
    Nmi = 2,
    /// Exception (fault or trap).
    Exception = 3,
    /// Software interrupt (INTn).
    SoftwareInterrupt = 4,
}

/// Bit 11: the error code in bits 63:32 is valid.
const EV: u64 = 1 << 11;
/// Bit 31: the event is valid.
const VALID: u64 = 1 << 31;

/// An event to inject, or one that was being delivered when an exit happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    pub vector: u8,
    pub kind: EventType,
    pub error_code: Option<u32>,
}

impl Event {
    /// An exception with an optional error code.
    pub fn exception(vector: u8, error_code: Option<u32>) -> Self {
        Self {
            vector,
            kind: EventType::Exception,
            error_code,
        }
    }

    /// Encodes for EVENTINJ.
    pub fn encode(self) -> u64 {
        let mut v = u64::from(self.vector) | ((self.kind as u64) << 8) | VALID;
        if let Some(code) = self.error_code {
            v |= EV | (u64::from(code) << 32);
        }
        v
    }

    /// Decodes EXITINTINFO or EVENTINJ; None when its valid bit is clear.
    ///
    /// QEMU's TCG can report an external interrupt that was being delivered as an
    /// exception (shared/notes/qemu-tcg-svm.md, bug 3), and re-injecting an
    /// "exception" with a vector of 32 or more fails VMRUN; vectors 32-255 are
    /// therefore always taken as interrupts, as only they can be.
    pub fn decode(raw: u64) -> Option<Self> {
        if raw & VALID == 0 {
            return None;
        }
        let vector = raw as u8;
        let kind = match (raw >> 8) & 7 {
            2 => EventType::Nmi,
            3 if vector < 32 => EventType::Exception,
            4 => EventType::SoftwareInterrupt,
            _ => EventType::Interrupt,
        };
        let error_code = (raw & EV != 0).then_some((raw >> 32) as u32);
        Some(Self {
            vector,
            kind,
            error_code,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gp_with_error_code_encodes_per_apm() {
        let v = Event::exception(13, Some(0x18)).encode();
        assert_eq!(v, 13 | (3 << 8) | (1 << 11) | (1 << 31) | (0x18 << 32));
    }

    #[test]
    fn ud_without_error_code() {
        assert_eq!(Event::exception(6, None).encode(), 6 | (3 << 8) | (1 << 31));
    }

    #[test]
    fn round_trips() {
        for e in [
            Event::exception(14, Some(2)),
            Event {
                vector: 0x30,
                kind: EventType::Interrupt,
                error_code: None,
            },
            Event {
                vector: 2,
                kind: EventType::Nmi,
                error_code: None,
            },
        ] {
            assert_eq!(Event::decode(e.encode()), Some(e));
        }
    }

    #[test]
    fn invalid_record_decodes_to_none() {
        assert_eq!(Event::decode(0x30 | (3 << 8)), None);
    }

    #[test]
    fn interrupt_mistyped_as_exception_is_repaired() {
        let raw = 0x20 | (3 << 8) | (1 << 31);
        assert_eq!(Event::decode(raw).unwrap().kind, EventType::Interrupt);
    }
}
