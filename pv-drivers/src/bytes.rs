//! Little-endian fields of argument structures built as bytes: the frontends
//! encode `xen-abi`'s `#[repr(C)]` layouts through `offset_of!` rather than
//! by reinterpreting memory, which keeps the frontends free of `unsafe`.

/// Writes `v` little-endian at `at` (ignored past the end: the offsets
/// come from `offset_of!` on the structure the buffer was sized for).
pub fn put_u16(b: &mut [u8], at: usize, v: u16) {
    put(b, at, &v.to_le_bytes());
}

/// As [`put_u16`], 32 bits.
pub fn put_u32(b: &mut [u8], at: usize, v: u32) {
    put(b, at, &v.to_le_bytes());
}

/// As [`put_u16`], 64 bits.
pub fn put_u64(b: &mut [u8], at: usize, v: u64) {
    put(b, at, &v.to_le_bytes());
}

fn put(b: &mut [u8], at: usize, v: &[u8]) {
    if let Some(s) = b.get_mut(at..at + v.len()) {
        s.copy_from_slice(v);
    }
}

/// Reads a little-endian `u16` at `at` (0 past the end).
pub fn get_u16(b: &[u8], at: usize) -> u16 {
    let mut a = [0u8; 2];
    get(b, at, &mut a);
    u16::from_le_bytes(a)
}

/// As [`get_u16`], 32 bits.
pub fn get_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    get(b, at, &mut a);
    u32::from_le_bytes(a)
}

/// As [`get_u16`], 64 bits.
pub fn get_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    get(b, at, &mut a);
    u64::from_le_bytes(a)
}

fn get(b: &[u8], at: usize, out: &mut [u8]) {
    if let Some(s) = b.get(at..at + out.len()) {
        out.copy_from_slice(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_and_out_of_range_is_harmless() {
        let mut b = [0u8; 8];
        put_u16(&mut b, 0, 0xBEEF);
        put_u32(&mut b, 4, 0x1234_5678);
        assert_eq!(get_u16(&b, 0), 0xBEEF);
        assert_eq!(get_u32(&b, 4), 0x1234_5678);
        put_u64(&mut b, 4, 1);
        assert_eq!(get_u64(&b, 4), 0);
        assert_eq!(get_u32(&b, 4), 0x1234_5678);
    }
}
