//! Unit tests of the capability decoding and control computation, over the
//! recorded MSR fixtures.

use super::fixtures::{
    MsrDump, BOCHS_SKYLAKE_X, CORE_I7_5600U_BROADWELL, CORE_I7_6700K_SKYLAKE, XEON_X5482_PENRYN,
};
use super::*;
use std::string::ToString;

/// The set the hypervisor asks for (the vCPU set-up will own the real one).
struct Wanted;

impl Wanted {
    const PIN: PinBasedControls =
        PinBasedControls::EXTERNAL_INTERRUPT_EXITING.union(PinBasedControls::NMI_EXITING);
    const PIN_OPTIONAL: PinBasedControls = PinBasedControls::VIRTUAL_NMIS;
    const PRIMARY: PrimaryControls = PrimaryControls::HLT_EXITING
        .union(PrimaryControls::USE_IO_BITMAPS)
        .union(PrimaryControls::USE_MSR_BITMAPS)
        .union(PrimaryControls::ACTIVATE_SECONDARY_CONTROLS);
    const SECONDARY: SecondaryControls =
        SecondaryControls::ENABLE_EPT.union(SecondaryControls::UNRESTRICTED_GUEST);
    const SECONDARY_OPTIONAL: SecondaryControls = SecondaryControls::ENABLE_VPID;
    const EXIT: ExitControls = ExitControls::HOST_ADDRESS_SPACE_SIZE
        .union(ExitControls::ACKNOWLEDGE_INTERRUPT_ON_EXIT)
        .union(ExitControls::SAVE_EFER)
        .union(ExitControls::LOAD_EFER)
        .union(ExitControls::SAVE_PAT)
        .union(ExitControls::LOAD_PAT);
    const ENTRY: EntryControls = EntryControls::LOAD_EFER.union(EntryControls::LOAD_PAT);
    const ENTRY_OPTIONAL: EntryControls = EntryControls::IA32E_MODE_GUEST;
}

/// The five control values for [`Wanted`], or the first field that lacks bits.
fn wanted_controls(c: &VmxCapabilities) -> Result<(u32, u32, u32, u32, u32), MissingControls> {
    Ok((
        c.pin_based_controls(Wanted::PIN, Wanted::PIN_OPTIONAL)?
            .bits(),
        c.primary_controls(Wanted::PRIMARY, PrimaryControls::empty())?
            .bits(),
        c.secondary_controls(Wanted::SECONDARY, Wanted::SECONDARY_OPTIONAL)?
            .bits(),
        c.exit_controls(Wanted::EXIT, ExitControls::empty())?.bits(),
        c.entry_controls(Wanted::ENTRY, Wanted::ENTRY_OPTIONAL)?
            .bits(),
    ))
}

fn caps(dump: &MsrDump) -> VmxCapabilities {
    VmxCapabilities::from_msrs(|m| dump.read(m)).unwrap()
}

#[test]
fn bochs_skylake_x_basic_and_ept_match_the_notes() {
    let c = caps(&BOCHS_SKYLAKE_X);
    assert_eq!(c.basic.revision_id, 0x2B);
    assert!(c.basic.true_controls);
    assert_eq!(c.basic.region_size, 4096);
    assert_eq!(c.basic.memory_type, crate::ept::MEMORY_TYPE_WB);
    assert_eq!(c.cr0_fixed0, 0x8000_0021);
    assert!(c.ept_vpid.contains(
        EptVpidCap::PAGE_WALK_4
            | EptVpidCap::MEMORY_TYPE_WB
            | EptVpidCap::PAGES_2M
            | EptVpidCap::PAGES_1G
            | EptVpidCap::INVEPT
            | EptVpidCap::ACCESSED_DIRTY
            | EptVpidCap::INVEPT_SINGLE_CONTEXT
            | EptVpidCap::INVEPT_ALL_CONTEXT
            | EptVpidCap::INVVPID
            | EptVpidCap::INVVPID_INDIVIDUAL_ADDRESS
            | EptVpidCap::INVVPID_SINGLE_CONTEXT
            | EptVpidCap::INVVPID_ALL_CONTEXT
            | EptVpidCap::INVVPID_SINGLE_CONTEXT_RETAINING_GLOBALS
    ));
    assert!(!c.ept_vpid.contains(EptVpidCap::PAGE_WALK_5));
    assert!(c.supports_unrestricted_guest_with_ept());
    let fc =
        FeatureControl::from_bits_retain(BOCHS_SKYLAKE_X.read(msr::IA32_FEATURE_CONTROL).unwrap());
    assert_eq!(fc, FeatureControl::LOCK | FeatureControl::VMX_OUTSIDE_SMX);
}

#[test]
fn true_control_fixtures_give_the_hypervisor_set_without_cr3_exiting() {
    // Skylake, Broadwell and Bochs report the same TRUE allowed-0 settings:
    // pin 0x16, primary 0x04006172, exit 0x00036DFB, entry 0x000011FB.
    for dump in [
        &BOCHS_SKYLAKE_X,
        &CORE_I7_6700K_SKYLAKE,
        &CORE_I7_5600U_BROADWELL,
    ] {
        let c = caps(dump);
        let (pin, primary, secondary, exit, entry) = wanted_controls(&c).unwrap();
        assert_eq!(pin, 0x16 | 0x09 | 0x20, "{}", dump.name);
        assert_eq!(primary, 0x9600_61F2, "{}", dump.name);
        assert_eq!(secondary, 0xA2, "{}", dump.name);
        assert_eq!(exit, 0x003F_EFFB, "{}", dump.name);
        assert_eq!(entry, 0xD3FB, "{}", dump.name);
        let primary = PrimaryControls::from_bits_retain(primary);
        assert!(!primary
            .intersects(PrimaryControls::CR3_LOAD_EXITING | PrimaryControls::CR3_STORE_EXITING));
    }
}

#[test]
fn bits_forced_by_allowed_0_are_set() {
    // The original IA32_VMX_PROCBASED_CTLS of every fixture forces bits 1,
    // 4-6, 8, 13-16 and 26, CR3-load/store exiting among them.
    let forced = 0x0401_E172;
    for dump in [&CORE_I7_6700K_SKYLAKE, &XEON_X5482_PENRYN] {
        let raw = dump.read(msr::IA32_VMX_PROCBASED_CTLS).unwrap();
        let v = adjust_controls(
            ControlRegister::Primary,
            raw,
            PrimaryControls::HLT_EXITING.bits(),
        )
        .unwrap();
        assert_eq!(v, forced | 0x80, "{}", dump.name);
    }
    // Penryn has no TRUE MSRs, so the capabilities use the original one.
    let c = caps(&XEON_X5482_PENRYN);
    assert!(!c.basic.true_controls);
    let p = c
        .primary_controls(Wanted::PRIMARY, PrimaryControls::empty())
        .unwrap();
    assert!(p.contains(PrimaryControls::CR3_LOAD_EXITING | PrimaryControls::CR3_STORE_EXITING));
    assert_eq!(p.bits(), 0x9601_E1F2);
}

#[test]
fn penryn_without_ept_names_the_missing_secondary_controls() {
    let c = caps(&XEON_X5482_PENRYN);
    assert!(c.ept_vpid.is_empty());
    assert!(!c.supports_unrestricted_guest_with_ept());
    let e = c
        .secondary_controls(Wanted::SECONDARY, Wanted::SECONDARY_OPTIONAL)
        .unwrap_err();
    assert_eq!(
        e,
        MissingControls {
            register: ControlRegister::Secondary,
            missing: 0x82
        }
    );
    assert_eq!(
        e.to_string(),
        "secondary processor-based controls lack bits 0x00000082 (enable EPT, unrestricted guest)"
    );
}

#[test]
fn penryn_lacks_pat_and_efer_switching_on_exit() {
    let c = caps(&XEON_X5482_PENRYN);
    let e = c
        .exit_controls(Wanted::EXIT, ExitControls::empty())
        .unwrap_err();
    assert_eq!(
        c.entry_controls(Wanted::ENTRY, Wanted::ENTRY_OPTIONAL)
            .unwrap_err()
            .to_string(),
        "VM-entry controls lack bits 0x0000c000 (load IA32_PAT, load IA32_EFER)"
    );
    assert_eq!(
        e.to_string(),
        "VM-exit controls lack bits 0x003c0000 (save IA32_PAT, load IA32_PAT, save IA32_EFER, load IA32_EFER)"
    );
}

#[test]
fn optional_bits_are_dropped_where_not_allowed() {
    // Penryn's IA32_VMX_PINBASED_CTLS allows bits 0-5 only: no preemption timer.
    let raw = XEON_X5482_PENRYN.read(msr::IA32_VMX_PINBASED_CTLS).unwrap();
    let v = adjust_controls_with_optional(
        ControlRegister::Pin,
        raw,
        PinBasedControls::EXTERNAL_INTERRUPT_EXITING.bits(),
        (PinBasedControls::VIRTUAL_NMIS | PinBasedControls::ACTIVATE_PREEMPTION_TIMER).bits(),
    )
    .unwrap();
    assert_eq!(v, 0x16 | 0x01 | 0x20);
}

#[test]
fn unnamed_missing_bits_are_numbered() {
    let e = adjust_controls(ControlRegister::Exit, 0, 1 << 30 | 1 << 9).unwrap_err();
    assert_eq!(
        e.to_string(),
        "VM-exit controls lack bits 0x40000200 (host address-space size, bit 30)"
    );
}

#[test]
fn a_bit_both_forced_and_forbidden_is_reported_missing() {
    let msr = 0x0000_0001_0000_0003; // must be one: 0-1; may be one: 0
    assert_eq!(
        adjust_controls(ControlRegister::Pin, msr, 0),
        Err(MissingControls {
            register: ControlRegister::Pin,
            missing: 0x2
        })
    );
}

#[test]
fn cr0_fixed_bits_exempt_pe_and_pg_only_under_unrestricted_guest() {
    let c = caps(&BOCHS_SKYLAKE_X);
    const ET: u64 = 1 << 4;
    const NE: u64 = 1 << 5;
    assert_eq!(c.fixed_cr0(ET, true), ET | NE);
    assert_eq!(c.fixed_cr0(ET, false), CR0_PG | NE | ET | CR0_PE);
    // Bits 63:32 are outside CR0_FIXED1.
    assert_eq!(c.fixed_cr0(1 << 40 | NE, true), NE);
}

#[test]
fn cr4_fixed_bits_force_vmxe_and_clear_unsupported_bits() {
    let c = caps(&CORE_I7_6700K_SKYLAKE);
    const PAE: u64 = 1 << 5;
    const VMXE: u64 = 1 << 13;
    const UMIP: u64 = 1 << 11; // not in Skylake's CR4_FIXED1 (0x3727FF)
    assert_eq!(c.fixed_cr4(PAE | UMIP), PAE | VMXE);
    assert_eq!(c.fixed_cr4(0), VMXE);
}

#[test]
fn misc_decodes_timer_rate_activity_states_and_list_size() {
    let m = caps(&CORE_I7_6700K_SKYLAKE).misc;
    assert_eq!(m.preemption_timer_shift, 7);
    assert!(m.stores_lma && m.activity_hlt && m.activity_shutdown);
    assert!(m.activity_wait_for_sipi);
    assert_eq!(m.cr3_target_count, 4);
    assert_eq!(m.max_msr_list_entries, 512);
    assert!(m.vmwrite_any_field && m.zero_length_injection);
    let penryn = caps(&XEON_X5482_PENRYN).misc;
    assert_eq!(penryn.preemption_timer_shift, 0);
    assert!(!penryn.vmwrite_any_field);
}

#[test]
fn secondary_msr_is_not_read_without_activate_secondary() {
    // A processor whose primary controls cannot activate secondary controls:
    // PROCBASED2 and EPT_VPID_CAP fault, and must not be touched.
    let read = |m: u32| match m {
        msr::IA32_VMX_BASIC => Some(0x0000_1000_0000_0001),
        msr::IA32_VMX_PROCBASED_CTLS => Some(0x7FFF_FFFE_0401_E172),
        msr::IA32_VMX_PROCBASED_CTLS2 | msr::IA32_VMX_EPT_VPID_CAP => None,
        _ => Some(0),
    };
    let c = VmxCapabilities::from_msrs(read).unwrap();
    assert_eq!(c.secondary, AllowedSettings::NONE);
    assert!(c.ept_vpid.is_empty());
    assert_eq!(
        c.primary_controls(Wanted::PRIMARY, PrimaryControls::empty())
            .unwrap_err()
            .to_string(),
        "primary processor-based controls lack bits 0x80000000 (activate secondary controls)"
    );
}

#[test]
fn an_unreadable_msr_is_named() {
    let e = VmxCapabilities::from_msrs(|m| (m != msr::IA32_VMX_MISC).then_some(0)).unwrap_err();
    assert_eq!(e, CapabilityError::Unreadable { msr: 0x485 });
    assert_eq!(e.to_string(), "IA32_VMX_MISC (MSR 0x485) could not be read");
}

#[test]
fn true_msrs_are_read_only_when_basic_bit_55_is_set() {
    let read = |m: u32| match m {
        msr::IA32_VMX_TRUE_PINBASED_CTLS..=msr::IA32_VMX_TRUE_ENTRY_CTLS => None,
        _ => XEON_X5482_PENRYN.read(m),
    };
    assert!(VmxCapabilities::from_msrs(read).is_ok());
}
