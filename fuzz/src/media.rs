//! Storage for the targets: a medium of any size whose bytes are zero except
//! where the input (or a guest's write) put some, so a 1.44 MB floppy or an
//! 8 MB CD costs only the sectors that hold data.

use crate::input::Input;
use block_backend::{BlockBackend, BlockError, SharedBlock};
use firmware::bios::{Bios, BootDevice};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

const SECTOR: u64 = 512;

pub struct SparseMedium {
    len: u64,
    read_only: bool,
    sectors: BTreeMap<u64, [u8; SECTOR as usize]>,
}

impl SparseMedium {
    /// `len` bytes of zeros.
    pub fn new(len: u64, read_only: bool) -> Self {
        Self {
            len,
            read_only,
            sectors: BTreeMap::new(),
        }
    }

    /// `len` bytes, zero but for `data` at `offset` (clipped to the medium).
    pub fn with_data(len: u64, read_only: bool, offset: u64, data: &[u8]) -> Self {
        let mut m = Self::new(len, read_only);
        m.put(offset, data);
        m
    }

    /// Stores `data` at `offset`, whatever `read_only` says (the medium's
    /// contents, not a guest write); bytes past the end are dropped.
    pub fn put(&mut self, offset: u64, data: &[u8]) {
        let room = self.len.saturating_sub(offset);
        let mut data = &data[..data.len().min(usize::try_from(room).unwrap_or(usize::MAX))];
        let mut at = offset;
        while !data.is_empty() {
            let within = (at % SECTOR) as usize;
            let n = data.len().min(SECTOR as usize - within);
            let sector = self
                .sectors
                .entry(at / SECTOR)
                .or_insert([0; SECTOR as usize]);
            sector[within..within + n].copy_from_slice(&data[..n]);
            data = &data[n..];
            at += n as u64;
        }
    }

    fn check(&self, offset: u64, len: usize) -> Result<(), BlockError> {
        match offset.checked_add(len as u64) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(BlockError::OutOfRange),
        }
    }
}

impl BlockBackend for SparseMedium {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        self.check(offset, buf.len())?;
        buf.fill(0);
        let end = offset + buf.len() as u64;
        for (&sector, bytes) in self.sectors.range(offset / SECTOR..end.div_ceil(SECTOR)) {
            // The overlap of this sector with [offset, end).
            let start = (sector * SECTOR).max(offset);
            let stop = ((sector + 1) * SECTOR).min(end);
            let from = (start - sector * SECTOR) as usize;
            buf[(start - offset) as usize..(stop - offset) as usize]
                .copy_from_slice(&bytes[from..from + (stop - start) as usize]);
        }
        Ok(())
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), BlockError> {
        if self.read_only {
            return Err(BlockError::ReadOnly);
        }
        self.check(offset, data.len())?;
        self.put(offset, data);
        Ok(())
    }
}

/// CD sizes worth reaching: small, just big enough for each El Torito
/// emulation (1.2, 1.44, 2.88 MB floppies, a hard disk) and a few more.
pub const CD_SIZES: [u64; 8] = [
    0,
    1_228_800 + 0x10_0000,
    1_474_560 + 0x10_0000,
    2_949_120 + 0x10_0000,
    4 << 20,
    8 << 20,
    64 << 20,
    700 << 20,
];

/// A CD image: the volume descriptor set from sector 16 is `data`, the
/// system area before it zeros; at least `min_len` bytes long.
pub fn cd_image(min_len: u64, data: &[u8]) -> SparseMedium {
    let at = 16 * 2048;
    let len = (at + data.len() as u64).max(min_len);
    SparseMedium::with_data(len, true, at, data)
}

/// Floppy image sizes: the five standard formats, and a few no drive has.
pub const FLOPPY_SIZES: [u64; 8] = [
    368_640, 737_280, 1_228_800, 1_474_560, 2_949_120, 512, 0, 1_474_561,
];

/// Hard disk sizes: empty, one sector, odd, small, past the CHS limits, huge.
pub const DISK_SIZES: [u64; 8] = [
    0,
    512,
    1000,
    1 << 20,
    10 << 20,
    528_482_304,
    8 << 30,
    2 << 40,
];

/// A medium two parties hold: the input patches it through `medium`, the
/// BIOS (and the IDE controller) read it through [`Shared::block`].
pub type Shared = Rc<RefCell<SparseMedium>>;

/// The media of a BIOS machine, each optional, and the boot order.
pub struct BiosMedia {
    pub floppy: Option<Shared>,
    pub disk: Option<Shared>,
    pub cd: Option<Shared>,
    pub boot_order: Vec<BootDevice>,
}

/// The shared block device over `medium`.
pub fn block(medium: &Shared) -> SharedBlock {
    SharedBlock(medium.clone())
}

impl BiosMedia {
    /// Which media are present, their sizes, their first bytes (a boot
    /// sector, or a CD's volume descriptors) and the boot order.
    pub fn from_input(input: &mut Input) -> Self {
        let present = input.u8();
        let mut boot_order = Vec::new();
        let order = input.u8();
        for i in 0..usize::from(order >> 6) + 1 {
            boot_order.push(match (order >> (2 * i)) & 3 {
                0 => BootDevice::Cdrom,
                1 => BootDevice::Disk,
                _ => BootDevice::Floppy,
            });
        }
        let mut medium = |bit: u8, sizes: &[u64], offset: u64, cd: bool| {
            let size = input.choose(sizes);
            let first = input.u16() % 0x8000;
            let data = input.bytes(usize::from(first));
            // A CD grows to hold its data; a disk or floppy keeps its size.
            let len = if cd {
                size.max(offset + data.len() as u64)
            } else {
                size
            };
            (present & bit != 0)
                .then(|| Rc::new(RefCell::new(SparseMedium::with_data(len, cd, offset, data))))
        };
        let floppy = medium(1, &FLOPPY_SIZES, 0, false);
        let disk = medium(2, &DISK_SIZES, 0, false);
        let cd = medium(4, &CD_SIZES, 16 * 2048, true);
        Self {
            floppy,
            disk,
            cd,
            boot_order,
        }
    }

    /// Writes bytes from the input into one medium (a new boot sector, a
    /// catalog, a partition table), whatever its write protection.
    pub fn patch(&self, input: &mut Input) {
        let which = input.u8();
        let offset = u64::from(input.u16()) * 512 + u64::from(input.u16() % 2048);
        let len = usize::from(input.u16() % 2048);
        let data = input.bytes(len);
        let target = match which % 3 {
            0 => &self.floppy,
            1 => &self.disk,
            _ => &self.cd,
        };
        if let Some(m) = target {
            m.borrow_mut().put(offset, data);
        }
    }

    /// The BIOS over these media.
    pub fn bios(&self) -> Bios {
        Bios::new(
            self.floppy
                .as_ref()
                .map(|f| Box::new(block(f)) as Box<dyn BlockBackend>),
            self.disk
                .as_ref()
                .map(|d| Box::new(block(d)) as Box<dyn BlockBackend>),
            self.cd.as_ref().map(block),
            self.boot_order.clone(),
        )
    }
}
