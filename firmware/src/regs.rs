//! The guest's registers as a real-mode BIOS service sees them.

/// RFLAGS/FLAGS bit 0: carry (BIOS calls report failure with it).
pub const FLAG_CF: u16 = 1 << 0;
/// FLAGS bit 6: zero (INT 16h AH=01h reports "no key" with it).
pub const FLAG_ZF: u16 = 1 << 6;
/// FLAGS bit 9: interrupts enabled.
pub const FLAG_IF: u16 = 1 << 9;

/// General-purpose registers (32 bits: some services use EAX/EBX/ECX/EDX),
/// the data segment registers, and the FLAGS image the INT instruction pushed
/// (a service sets CF/ZF there; IRET restores it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Regs {
    pub eax: u32,
    pub ebx: u32,
    pub ecx: u32,
    pub edx: u32,
    pub esi: u32,
    pub edi: u32,
    pub ebp: u32,
    pub ds: u16,
    pub es: u16,
    pub flags: u16,
}

macro_rules! byte_regs {
    ($($get_h:ident $set_h:ident $get_l:ident $set_l:ident $get_x:ident $set_x:ident => $r:ident),*) => {
        impl Regs {
            $(
                pub fn $get_h(&self) -> u8 { (self.$r >> 8) as u8 }
                pub fn $set_h(&mut self, v: u8) { self.$r = (self.$r & !0xFF00) | (u32::from(v) << 8); }
                pub fn $get_l(&self) -> u8 { self.$r as u8 }
                pub fn $set_l(&mut self, v: u8) { self.$r = (self.$r & !0xFF) | u32::from(v); }
                pub fn $get_x(&self) -> u16 { self.$r as u16 }
                pub fn $set_x(&mut self, v: u16) { self.$r = (self.$r & !0xFFFF) | u32::from(v); }
            )*
        }
    };
}

byte_regs!(
    ah set_ah al set_al ax set_ax => eax,
    bh set_bh bl set_bl bx set_bx => ebx,
    ch set_ch cl set_cl cx set_cx => ecx,
    dh set_dh dl set_dl dx set_dx => edx
);

impl Regs {
    pub fn si(&self) -> u16 {
        self.esi as u16
    }
    pub fn di(&self) -> u16 {
        self.edi as u16
    }
    pub fn bp(&self) -> u16 {
        self.ebp as u16
    }
    pub fn set_si(&mut self, v: u16) {
        self.esi = (self.esi & !0xFFFF) | u32::from(v);
    }
    pub fn set_di(&mut self, v: u16) {
        self.edi = (self.edi & !0xFFFF) | u32::from(v);
    }

    /// Sets or clears CF in the returned FLAGS.
    pub fn set_cf(&mut self, on: bool) {
        self.set_flag(FLAG_CF, on);
    }

    /// Sets or clears ZF in the returned FLAGS.
    pub fn set_zf(&mut self, on: bool) {
        self.set_flag(FLAG_ZF, on);
    }

    pub fn cf(&self) -> bool {
        self.flags & FLAG_CF != 0
    }

    pub fn zf(&self) -> bool {
        self.flags & FLAG_ZF != 0
    }

    fn set_flag(&mut self, flag: u16, on: bool) {
        if on {
            self.flags |= flag;
        } else {
            self.flags &= !flag;
        }
    }

    /// The usual BIOS failure return: AH = `status`, CF set.
    pub fn fail(&mut self, status: u8) {
        self.set_ah(status);
        self.set_cf(true);
    }

    /// The usual BIOS success return: AH = 0, CF clear.
    pub fn succeed(&mut self) {
        self.set_ah(0);
        self.set_cf(false);
    }
}

/// Real-mode linear address of `segment:offset`.
pub fn linear(segment: u16, offset: u16) -> u32 {
    (u32::from(segment) << 4) + u32::from(offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_registers_alias_the_words() {
        let mut r = Regs {
            eax: 0x1234_5678,
            ..Default::default()
        };
        assert_eq!((r.ah(), r.al(), r.ax()), (0x56, 0x78, 0x5678));
        r.set_ah(0xAB);
        assert_eq!(r.eax, 0x1234_AB78);
        r.set_dx(0xBEEF);
        assert_eq!((r.dh(), r.dl()), (0xBE, 0xEF));
    }

    #[test]
    fn fail_and_succeed_set_ah_and_cf() {
        let mut r = Regs {
            flags: 0x0202,
            ..Default::default()
        };
        r.fail(0x01);
        assert_eq!((r.ah(), r.cf()), (0x01, true));
        r.succeed();
        assert_eq!((r.ah(), r.cf(), r.flags), (0, false, 0x0202));
        assert_eq!(linear(0xF000, 0xFFF0), 0xFFFF0);
    }
}
