//! Guest memory as BIOS services reach it: real-mode linear addresses.

/// Real-mode memory. Implementations check every access; a false return
/// means the range is not guest RAM, and the service answers with an error.
pub trait RealMemory {
    fn read(&self, addr: u32, buf: &mut [u8]) -> bool;
    fn write(&mut self, addr: u32, data: &[u8]) -> bool;

    fn read_u8(&self, addr: u32) -> u8 {
        let mut b = [0u8; 1];
        self.read(addr, &mut b);
        b[0]
    }
    fn read_u16(&self, addr: u32) -> u16 {
        let mut b = [0u8; 2];
        self.read(addr, &mut b);
        u16::from_le_bytes(b)
    }
    fn read_u32(&self, addr: u32) -> u32 {
        let mut b = [0u8; 4];
        self.read(addr, &mut b);
        u32::from_le_bytes(b)
    }
    fn write_u8(&mut self, addr: u32, v: u8) -> bool {
        self.write(addr, &[v])
    }
    fn write_u16(&mut self, addr: u32, v: u16) -> bool {
        self.write(addr, &v.to_le_bytes())
    }
    fn write_u32(&mut self, addr: u32, v: u32) -> bool {
        self.write(addr, &v.to_le_bytes())
    }
}

/// Memory for tests: a byte vector from address 0.
#[cfg(test)]
pub struct VecMemory(pub alloc::vec::Vec<u8>);

#[cfg(test)]
impl RealMemory for VecMemory {
    fn read(&self, addr: u32, buf: &mut [u8]) -> bool {
        let a = addr as usize;
        match self.0.get(a..a + buf.len()) {
            Some(s) => {
                buf.copy_from_slice(s);
                true
            }
            None => false,
        }
    }
    fn write(&mut self, addr: u32, data: &[u8]) -> bool {
        let a = addr as usize;
        match self.0.get_mut(a..a + data.len()) {
            Some(s) => {
                s.copy_from_slice(data);
                true
            }
            None => false,
        }
    }
}
