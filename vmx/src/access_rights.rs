//! Segment access rights in the VMCS format (Intel SDM vol. 3C, 25.4.1
//! "Guest Register State", table 25-2) and their conversion to the packed
//! form the AMD VMCB and vmm-core's neutral segment use.

/// Access rights (SDM 25.4.1, table 25-2): bits 7:0 type, S, DPL, P; bits
/// 15:12 AVL, L, D/B, G; bit 16 unusable.
const AR_UNUSABLE: u32 = 1 << 16;
/// Access-rights bit 7: present.
const AR_PRESENT: u32 = 1 << 7;

/// Access rights in the packed 12-bit form the AMD VMCB (and vmm-core's
/// neutral segment) uses: bits 7:0 as they are, bits 15:12 moved to 11:8. An
/// unusable segment reads as not present.
pub fn ar_to_packed(ar: u32) -> u16 {
    let ar = if ar & AR_UNUSABLE != 0 {
        ar & !AR_PRESENT
    } else {
        ar
    };
    ((ar & 0xFF) | ((ar >> 4) & 0xF00)) as u16
}

/// The inverse of [`ar_to_packed`]: a segment that is not present is unusable.
pub fn packed_to_ar(packed: u16) -> u32 {
    let p = u32::from(packed);
    let ar = (p & 0xFF) | ((p & 0xF00) << 4);
    if ar & AR_PRESENT == 0 {
        ar | AR_UNUSABLE
    } else {
        ar
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_attributes_round_trip() {
        for ar in [0xA09Bu32, 0xC093, 0x93, 0x8B] {
            assert_eq!(packed_to_ar(ar_to_packed(ar)), ar);
        }
        assert_ne!(packed_to_ar(0x0000) & AR_UNUSABLE, 0);
    }

    #[test]
    fn access_rights_pack_like_the_vmcb() {
        // 64-bit code: P, S, type Bh, L, G
        assert_eq!(ar_to_packed(0xA09B), 0xA9B);
        // 32-bit flat data: P, S, type 3, D/B, G
        assert_eq!(ar_to_packed(0xC093), 0xC93);
        assert_eq!(ar_to_packed(AR_UNUSABLE | 0x93) & 0x80, 0);
    }
}
