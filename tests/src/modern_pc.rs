//! What the stock Linux kernel sees of the modern PC (issue 15) when it
//! boots with its own command line: the ACPI tables, the I/O APIC and the
//! local APIC timer, and the clocksource it settles on; and how the run
//! ends when it powers off through ACPI.

use crate::linux_shell::Step;
use crate::literal;
use regex::Regex;

/// The steps checking the modern PC at the Linux ISO's shell; `clocksource`
/// is the one Linux must have chosen (`xen` with the Xen platform, else
/// `acpi_pm` or `tsc`), a regular expression (`tsc|acpi_pm` takes either).
pub fn steps(clocksource: &str) -> Vec<Step> {
    // The tick: the local APIC timer (Linux's LOC count) on the plain PC;
    // with Xen, the VIRQ_TIMER clockevent takes the local APIC timer's
    // place, as on Xen itself (`xen_time_init` replaces the APIC clock
    // set-up), and its line counts.
    let tick = if clocksource == "xen" {
        Step::new(
            "grep -e '-virq *timer0' /proc/interrupts",
            vec![Regex::new(r"\d+: +[1-9]\d* +xen-percpu +-virq +timer0").unwrap()],
        )
    } else {
        Step::new(
            "grep LOC: /proc/interrupts",
            vec![Regex::new(r"LOC: +[1-9]\d* +Local timer interrupts").unwrap()],
        )
    };
    vec![
        // The firmware's tables, as the kernel lists them.
        Step::new(
            "echo acpi-tables=$(ls /sys/firmware/acpi/tables | tr '\\n' ' ')",
            vec![literal("acpi-tables=APIC DSDT FACP FACS ")],
        ),
        // Device interrupts come through the I/O APIC, the 8259 is unused.
        Step::new(
            "echo ioapic-lines=$(grep -c IO-APIC /proc/interrupts) xt-pic-lines=$(grep -c XT-PIC /proc/interrupts)",
            vec![Regex::new(r"ioapic-lines=[1-9]\d* xt-pic-lines=0").unwrap()],
        ),
        tick,
        Step::new(
            "echo \"clocksource=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)\"",
            vec![Regex::new(&format!(r"clocksource=(?:{clocksource})\r?\n")).unwrap()],
        ),
        // No ACPI interpreter or APIC complaints.
        Step::value(
            "acpi-apic-trouble",
            "dmesg | grep -c -e 'ACPI Error' -e 'ACPI Warning' -e 'MP-BIOS bug' \
             -e 'unchecked MSR access' \
             -e 'Unable to init MCE'",
            "0",
        ),
    ]
}

/// Fails unless the hypervisor's log says the guest powered off through
/// ACPI S5 (the PM1a control register), the way `poweroff` ends a run on
/// the modern PC.
pub fn assert_acpi_poweroff(hv_log: &str) {
    assert!(
        hv_log.contains("guest stopped: powered off through ACPI (S5)"),
        "the run did not end through ACPI S5:\n{hv_log}"
    );
}
