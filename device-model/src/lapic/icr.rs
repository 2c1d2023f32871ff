//! Interprocessor interrupts (SDM 11.6.1 "Interrupt Command Register", 11.6.2
//! "Determining IPI Destination", 11.12.9 "ICR Operation in x2APIC Mode",
//! 11.12.10 "Determining IPI Destination in x2APIC Mode", 11.12.11 "SELF IPI
//! Register").
//!
//! Writing the ICR's low dword (xAPIC) or the ICR MSR (x2APIC) sends at once,
//! so the delivery status bit always reads 0 (idle). What this APIC can
//! deliver itself (shorthand "self": fixed, and NMI) it does; everything else
//! is queued as an [`Ipi`] for the board's router, which delivers it to every
//! APIC [`Ipi::is_target`] names (the sender included where the shorthand or
//! destination says so).

use super::registers::*;
use super::LocalApic;

/// The most IPIs held for [`LocalApic::take_ipi`]; more are dropped (and
/// counted). The board takes them after every exit, so this is never reached
/// by a guest that is not flooding.
pub const MAX_QUEUED_IPIS: usize = 64;

/// An interrupt's delivery mode (ICR bits 10:8, LVT bits 10:8, I/O APIC
/// redirection entry bits 10:8, MSI data bits 10:8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryMode {
    /// 000b: the vector, to every target.
    Fixed = 0,
    /// 001b: the vector, to the target with the lowest priority.
    LowestPriority = 1,
    /// 010b: a system management interrupt.
    Smi = 2,
    /// 100b: a non-maskable interrupt.
    Nmi = 4,
    /// 101b: INIT (assert).
    Init = 5,
    /// 110b: start-up IPI; the vector is the real-mode page of the entry.
    StartUp = 6,
    /// 111b: external interrupt, the vector comes from the 8259.
    ExtInt = 7,
}

impl DeliveryMode {
    /// The mode a 3-bit delivery mode field names; 011b is reserved.
    pub fn from_bits(bits: u32) -> Option<Self> {
        Some(match bits & 0x7 {
            0 => Self::Fixed,
            1 => Self::LowestPriority,
            2 => Self::Smi,
            4 => Self::Nmi,
            5 => Self::Init,
            6 => Self::StartUp,
            7 => Self::ExtInt,
            _ => return None,
        })
    }
}

/// The ICR destination shorthand (bits 19:18).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shorthand {
    /// 00b: no shorthand; the destination field and mode select the targets.
    Destination = 0,
    /// 01b: the sender only (handled inside the sender; never queued).
    SelfOnly = 1,
    /// 10b: every APIC, the sender included.
    AllIncludingSelf = 2,
    /// 11b: every APIC but the sender.
    AllExcludingSelf = 3,
}

impl Shorthand {
    fn from_bits(bits: u32) -> Self {
        match bits & 0x3 {
            0 => Self::Destination,
            1 => Self::SelfOnly,
            2 => Self::AllIncludingSelf,
            _ => Self::AllExcludingSelf,
        }
    }
}

/// An IPI sent by a local APIC, for the board to deliver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipi {
    /// The destination field: the 8-bit xAPIC destination (ICR bits 63:56)
    /// or the 32-bit x2APIC one. Meaningful with [`Shorthand::Destination`].
    pub destination: u32,
    /// Logical destination mode (ICR bit 11); else physical.
    pub logical: bool,
    pub shorthand: Shorthand,
    /// Never [`DeliveryMode::ExtInt`] (not an IPI mode; such writes send
    /// nothing).
    pub mode: DeliveryMode,
    /// The vector (fixed, lowest priority) or the start-up page (SIPI);
    /// meaningless for SMI, NMI and INIT.
    pub vector: u8,
    /// Level-triggered. Always false: Pentium 4 and later treat IPIs as
    /// edge-triggered (11.6.1); the field is there for the router, which
    /// passes it to [`LocalApic::deliver`].
    pub level: bool,
}

impl Ipi {
    /// `apic` is one of this IPI's targets; `is_sender` says it is the APIC
    /// that sent it. A globally disabled APIC is nobody's target. For
    /// [`DeliveryMode::LowestPriority`] the router picks one of the targets
    /// (for instance the one with the lowest [`LocalApic::tpr`]).
    pub fn is_target(&self, apic: &LocalApic, is_sender: bool) -> bool {
        if !apic.is_enabled() {
            return false;
        }
        match self.shorthand {
            Shorthand::Destination => apic.matches(self.destination, self.logical),
            Shorthand::SelfOnly => is_sender,
            Shorthand::AllIncludingSelf => true,
            Shorthand::AllExcludingSelf => !is_sender,
        }
    }
}

impl LocalApic {
    /// Sends the IPI the ICR low dword `low` describes, to `destination`
    /// (already the 8-bit xAPIC or 32-bit x2APIC field).
    pub(super) fn send_ipi(&mut self, low: u32, destination: u32) {
        let vector = (low & ICR_VECTOR) as u8;
        let level_assert = low & ICR_LEVEL_ASSERT != 0;
        let level_triggered = low & ICR_TRIGGER_LEVEL != 0;
        let shorthand = Shorthand::from_bits(low >> ICR_SHORTHAND_SHIFT);
        let Some(mode) = DeliveryMode::from_bits(low >> ICR_DELIVERY_MODE_SHIFT) else {
            return;
        };
        match mode {
            // Not an IPI delivery mode.
            DeliveryMode::ExtInt => return,
            // INIT level de-assert: not supported on Pentium 4 and later.
            DeliveryMode::Init if level_triggered && !level_assert => return,
            DeliveryMode::Fixed | DeliveryMode::LowestPriority
                if vector < super::priority::FIRST_LEGAL_VECTOR =>
            {
                self.report_error(ESR_SEND_ILLEGAL_VECTOR);
                return;
            }
            _ => {}
        }
        if shorthand == Shorthand::SelfOnly {
            self.send_to_self(mode, vector);
            return;
        }
        let ipi = Ipi {
            destination,
            logical: low & ICR_DESTINATION_LOGICAL != 0,
            shorthand,
            mode,
            vector,
            level: false,
        };
        if self.ipis.len() >= MAX_QUEUED_IPIS {
            self.ipis_dropped = self.ipis_dropped.saturating_add(1);
        } else {
            self.ipis.push_back(ipi);
        }
    }

    /// Shorthand "self": fixed (lowest priority taken as fixed) raises the
    /// vector here, NMI makes an NMI; SMI, INIT and SIPI to self are invalid
    /// (11.6.1, table of valid combinations) and dropped.
    fn send_to_self(&mut self, mode: DeliveryMode, vector: u8) {
        match mode {
            DeliveryMode::Fixed | DeliveryMode::LowestPriority => self.accept(vector, false),
            DeliveryMode::Nmi => self.nmi_pending = true,
            _ => {}
        }
    }

    /// The x2APIC SELF IPI register (11.12.11): a fixed, edge-triggered IPI
    /// of `vector` to this APIC.
    pub(super) fn self_ipi(&mut self, vector: u8) {
        self.send_ipi(
            u32::from(vector) | ((Shorthand::SelfOnly as u32) << ICR_SHORTHAND_SHIFT),
            0,
        );
    }

    /// The x2APIC logical ID (11.12.10.2): cluster (ID bits 31:4) in bits
    /// 31:16, and bit (ID bits 3:0) set in bits 15:0.
    pub(super) fn x2apic_ldr(&self) -> u32 {
        ((self.apic_id >> 4) << 16) | (1 << (self.apic_id & 0xF))
    }

    /// This APIC is a destination of a message with destination field
    /// `destination` in physical (`logical` false) or logical mode (11.6.2,
    /// 11.12.10), as its current mode reads it. False while globally
    /// disabled.
    ///
    /// - x2APIC mode: physical matches the x2APIC ID or the broadcast
    ///   FFFF_FFFFh; logical is the cluster model on the derived LDR
    ///   (cluster in bits 31:16 equal, and a common bit in 15:0), FFFF_FFFFh
    ///   broadcast.
    /// - xAPIC mode: the 8-bit field; physical matches the xAPIC ID or
    ///   broadcast FFh; logical compares with LDR bits 31:24 in the DFR's
    ///   flat model (any common bit) or cluster model (bits 7:4 the cluster,
    ///   0Fh meaning all, and a common bit in 3:0); FFh is broadcast.
    ///   FFFF_FFFFh is taken as broadcast too.
    ///
    /// An xAPIC-format message (the I/O APIC's or an MSI's 8-bit destination)
    /// that broadcasts with FFh must be passed as FFFF_FFFFh for APICs in
    /// x2APIC mode (what KVM does).
    pub fn matches(&self, destination: u32, logical: bool) -> bool {
        if !self.is_enabled() {
            return false;
        }
        if destination == u32::MAX {
            return true;
        }
        if self.is_x2apic() {
            if !logical {
                return destination == self.apic_id;
            }
            let ldr = self.x2apic_ldr();
            return destination >> 16 == ldr >> 16 && destination & ldr & 0xFFFF != 0;
        }
        let Ok(mda) = u8::try_from(destination) else {
            return false;
        };
        if mda == 0xFF {
            return true;
        }
        if !logical {
            return u32::from(mda) == self.apic_id & 0xFF;
        }
        let ldr = (self.ldr >> LDR_XAPIC_ID_SHIFT) as u8;
        match self.dfr >> DFR_MODEL_SHIFT {
            DFR_MODEL_FLAT => mda & ldr != 0,
            DFR_MODEL_CLUSTER => {
                let cluster_ok = mda >> 4 == 0xF || mda >> 4 == ldr >> 4;
                cluster_ok && mda & ldr & 0xF != 0
            }
            _ => false,
        }
    }
}
