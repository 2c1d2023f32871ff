//! [`xen_services::hvm::GuestAccess`] over a vCPU and its domain: linear
//! addresses through the guest's page tables (the page walker), physical
//! ones in guest RAM, page mappings in the domain's second-level tables.

use crate::domain::Domain;
use crate::guest_memory::GuestMemory;
use crate::guest_paging::{data_access, translate};
use crate::second_level::GuestPhysicalMap;
use crate::vcpu::Vcpu;
use device_model::rate_limit::RateLimit;
use device_model::ByteSink;
use xen_abi::errno::Errno;
use xen_services::hvm::{GuestAccess, XenDomain};

const PAGE: u64 = 4096;

/// The guest as the Xen services see it during one exit.
pub struct VcpuGuest<'a> {
    /// The calling vCPU (for linear addresses); `None` between exits,
    /// when nothing linear is touched.
    pub vcpu: Option<&'a dyn Vcpu>,
    pub memory: &'a mut GuestMemory,
    pub second_level: &'a mut GuestPhysicalMap,
    pub max_phys_bits: u8,
    pub console: &'a mut dyn ByteSink,
    /// `CONSOLEIO_write` lines in the hypervisor log (a guest may write
    /// as many as it likes).
    pub log_limit: &'a mut RateLimit,
    pub tsc: u64,
}

/// The domain's Xen state and the guest as it sees it, borrowed side by
/// side from `dom` (`None` without the Xen platform); `vcpu` is the
/// calling vCPU when linear addresses may be used.
pub fn split<'a>(
    dom: &'a mut Domain,
    vcpu: Option<&'a dyn Vcpu>,
    tsc: u64,
) -> Option<(&'a mut XenDomain, VcpuGuest<'a>)> {
    let xen = dom.xen.as_mut()?;
    Some((
        &mut xen.domain,
        VcpuGuest {
            vcpu,
            memory: &mut dom.memory,
            second_level: &mut dom.second_level,
            max_phys_bits: dom.max_phys_bits,
            console: &mut *xen.console,
            log_limit: &mut xen.log_limit,
            tsc,
        },
    ))
}

impl VcpuGuest<'_> {
    /// Walks `[addr, addr+len)` page by page: `f(gpa, offset, len)`.
    fn each_page(
        &mut self,
        addr: u64,
        len: usize,
        write: bool,
        mut f: impl FnMut(&mut GuestMemory, u64, usize, usize) -> Result<(), Errno>,
    ) -> Result<(), Errno> {
        let vcpu = self.vcpu.ok_or(Errno::EFAULT)?;
        let mut done = 0usize;
        while done < len {
            let linear = addr.checked_add(done as u64).ok_or(Errno::EFAULT)?;
            let chunk = ((PAGE - linear % PAGE) as usize).min(len - done);
            let gpa = translate(
                vcpu,
                self.memory,
                self.max_phys_bits,
                linear,
                data_access(vcpu, write),
            )
            .map_err(|_| Errno::EFAULT)?;
            f(self.memory, gpa, done, chunk)?;
            done += chunk;
        }
        Ok(())
    }
}

impl GuestAccess for VcpuGuest<'_> {
    fn read_linear(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), Errno> {
        let len = buf.len();
        self.each_page(addr, len, false, |mem, gpa, at, n| {
            mem.read(gpa, &mut buf[at..at + n])
                .map_err(|_| Errno::EFAULT)
        })
    }

    fn write_linear(&mut self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        self.each_page(addr, data.len(), true, |mem, gpa, at, n| {
            mem.write(gpa, &data[at..at + n]).map_err(|_| Errno::EFAULT)
        })
    }

    fn read_phys(&mut self, gpa: u64, buf: &mut [u8]) -> Result<(), Errno> {
        self.memory.read(gpa, buf).map_err(|_| Errno::EFAULT)
    }

    fn write_phys(&mut self, gpa: u64, data: &[u8]) -> Result<(), Errno> {
        self.memory.write(gpa, data).map_err(|_| Errno::EFAULT)
    }

    fn map_page(&mut self, gfn: u64, host_page: u64) -> Result<(), Errno> {
        let gpa = gfn.checked_mul(PAGE).ok_or(Errno::EINVAL)?;
        // Only the guest's own physical space: never over the ROM alias
        // below 4 GiB, nor past the physical-address width it was given
        // (CPUID 8000_0008h). Above 4 GiB is allowed: Linux's PVH grant
        // frames come from unpopulated address space there
        // (`xen_alloc_unpopulated_pages`), Xen's `guest_physmap_add_page`
        // takes any GFN.
        let rom_alias = pc_layout::memory::FOUR_GIB - pc_layout::memory::MAX_ROM_SIZE
            ..pc_layout::memory::FOUR_GIB;
        let limit = 1u64 << self.max_phys_bits.clamp(32, 52);
        if rom_alias.contains(&gpa) || gpa >= limit {
            return Err(Errno::EINVAL);
        }
        // Replacing what was there (RAM, or nothing): unmap first, since the
        // tables refuse to map over a mapping.
        if self.second_level.translate(gpa).is_some() {
            self.second_level
                .unmap(gpa, PAGE)
                .map_err(|_| Errno::EINVAL)?;
        }
        self.second_level
            .map(gpa, host_page, PAGE, true)
            .map_err(|_| Errno::EINVAL)
    }

    fn unmap_page(&mut self, gfn: u64) {
        let gpa = gfn.saturating_mul(PAGE);
        let _ = self.second_level.unmap(gpa, PAGE);
        let _ = match self.memory.host_address(gpa) {
            Some(hpa) => self.second_level.map(gpa, hpa, PAGE, true),
            None => Ok(()),
        };
    }

    fn guest_tsc(&self) -> u64 {
        self.tsc
    }

    fn console_output(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.console.write_byte(b);
        }
    }

    fn log_output(&mut self, bytes: &[u8]) {
        if !self.log_limit.allow() {
            return;
        }
        let text = core::str::from_utf8(bytes).unwrap_or("(not UTF-8)");
        log::info!("xen console_io: {}", text.trim_end());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guest_config::GuestConfig;
    use crate::test_support::test_domain;

    fn domain() -> Domain {
        let mut dom = test_domain(GuestConfig::default(), 0x20_0000, true);
        dom.max_phys_bits = 40;
        dom
    }

    #[test]
    fn a_page_may_be_placed_above_4_gib_within_the_address_width_only() {
        let mut dom = domain();
        let (_, mut g) = split(&mut dom, None, 0).unwrap();
        // Where Linux's PVH grant frames go: above RAM, above 4 GiB.
        assert_eq!(g.map_page(0x10_7FFF, 0x1234_5000), Ok(()));
        assert_eq!(
            g.second_level.translate(0x1_07FF_F000),
            Some((0x1234_5000, true))
        );
        // Over RAM: the RAM page is replaced (and comes back on unmap).
        assert_eq!(g.map_page(0x10, 0x5555_5000), Ok(()));
        assert_eq!(
            g.second_level.translate(0x1_0000),
            Some((0x5555_5000, true))
        );
        // Hostile: the ROM alias below 4 GiB, past the 40-bit width, a GFN
        // whose address overflows.
        for gfn in [0xF_FFFF, (1 << 28), u64::MAX] {
            assert_eq!(g.map_page(gfn, 0x6666_6000), Err(Errno::EINVAL), "{gfn:#x}");
        }
    }
}
