//! VMCB state save area (AMD APM vol. 2, appendix B, table B-2 "VMCB Layout,
//! State Save Area"). Offsets in comments are relative to the save area (add
//! 400h for the VMCB offset).

use core::mem::{offset_of, size_of};

/// A segment register in the VMCB: selector, packed attributes, limit, base.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VmcbSegment {
    pub selector: u16,
    /// Bits 0-3 type, 4 S, 5-6 DPL, 7 P, 8 AVL, 9 L, 10 D/B, 11 G.
    pub attrib: u16,
    pub limit: u32,
    pub base: u64,
}

const _: () = assert!(size_of::<VmcbSegment>() == 16);

/// The guest state VMRUN loads and #VMEXIT saves.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SaveArea {
    pub es: VmcbSegment,   // 000h
    pub cs: VmcbSegment,   // 010h
    pub ss: VmcbSegment,   // 020h
    pub ds: VmcbSegment,   // 030h
    pub fs: VmcbSegment,   // 040h
    pub gs: VmcbSegment,   // 050h
    pub gdtr: VmcbSegment, // 060h (selector and attributes unused)
    pub ldtr: VmcbSegment, // 070h
    pub idtr: VmcbSegment, // 080h (selector and attributes unused)
    pub tr: VmcbSegment,   // 090h
    _reserved_0a0: [u8; 0xCA - 0xA0],
    pub vmpl: u8, // 0CAh
    pub cpl: u8,  // 0CBh
    _reserved_0cc: u32,
    pub efer: u64, // 0D0h
    _reserved_0d8: [u8; 0x148 - 0xD8],
    pub cr4: u64,    // 148h
    pub cr3: u64,    // 150h
    pub cr0: u64,    // 158h
    pub dr7: u64,    // 160h
    pub dr6: u64,    // 168h
    pub rflags: u64, // 170h
    pub rip: u64,    // 178h
    _reserved_180: [u8; 0x1D8 - 0x180],
    pub rsp: u64,            // 1D8h
    pub s_cet: u64,          // 1E0h
    pub ssp: u64,            // 1E8h
    pub isst_addr: u64,      // 1F0h
    pub rax: u64,            // 1F8h
    pub star: u64,           // 200h
    pub lstar: u64,          // 208h
    pub cstar: u64,          // 210h
    pub sfmask: u64,         // 218h
    pub kernel_gs_base: u64, // 220h
    pub sysenter_cs: u64,    // 228h
    pub sysenter_esp: u64,   // 230h
    pub sysenter_eip: u64,   // 238h
    pub cr2: u64,            // 240h
    _reserved_248: [u8; 0x268 - 0x248],
    pub g_pat: u64,          // 268h
    pub dbgctl: u64,         // 270h
    pub br_from: u64,        // 278h
    pub br_to: u64,          // 280h
    pub last_excp_from: u64, // 288h
    pub last_excp_to: u64,   // 290h
}

impl Default for SaveArea {
    fn default() -> Self {
        let z = VmcbSegment::default();
        Self {
            es: z,
            cs: z,
            ss: z,
            ds: z,
            fs: z,
            gs: z,
            gdtr: z,
            ldtr: z,
            idtr: z,
            tr: z,
            _reserved_0a0: [0; 0xCA - 0xA0],
            vmpl: 0,
            cpl: 0,
            _reserved_0cc: 0,
            efer: 0,
            _reserved_0d8: [0; 0x148 - 0xD8],
            cr4: 0,
            cr3: 0,
            cr0: 0,
            dr7: 0,
            dr6: 0,
            rflags: 0,
            rip: 0,
            _reserved_180: [0; 0x1D8 - 0x180],
            rsp: 0,
            s_cet: 0,
            ssp: 0,
            isst_addr: 0,
            rax: 0,
            star: 0,
            lstar: 0,
            cstar: 0,
            sfmask: 0,
            kernel_gs_base: 0,
            sysenter_cs: 0,
            sysenter_esp: 0,
            sysenter_eip: 0,
            cr2: 0,
            _reserved_248: [0; 0x268 - 0x248],
            g_pat: 0,
            dbgctl: 0,
            br_from: 0,
            br_to: 0,
            last_excp_from: 0,
            last_excp_to: 0,
        }
    }
}

const _: () = assert!(offset_of!(SaveArea, tr) == 0x90);
const _: () = assert!(offset_of!(SaveArea, cpl) == 0xCB);
const _: () = assert!(offset_of!(SaveArea, efer) == 0xD0);
const _: () = assert!(offset_of!(SaveArea, cr4) == 0x148);
const _: () = assert!(offset_of!(SaveArea, rip) == 0x178);
const _: () = assert!(offset_of!(SaveArea, rsp) == 0x1D8);
const _: () = assert!(offset_of!(SaveArea, rax) == 0x1F8);
const _: () = assert!(offset_of!(SaveArea, cr2) == 0x240);
const _: () = assert!(offset_of!(SaveArea, g_pat) == 0x268);
const _: () = assert!(size_of::<SaveArea>() == 0x298);
