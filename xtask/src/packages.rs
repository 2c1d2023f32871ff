//! The one list of Debian packages the project uses, and what each is for.
//! [`crate::provision`] installs from it; [`crate::tools::require`] names
//! the package behind a missing program.

/// What a command is about to use; each Debian package serves one or more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// QEMU, which runs the hypervisor (SVM under TCG, or KVM).
    Qemu,
    /// A GRUB ISO of the hypervisor (`--loader grub`, and every Bochs run).
    GrubIso,
    /// Bochs and its BIOSes (`--emulator bochs`).
    Bochs,
    /// Making ISO and floppy images of test guests, and the Linux test ISO.
    GuestMedia,
    /// The fuzz targets (`cargo xtask fuzz`): libFuzzer is C++, built from
    /// the `libfuzzer-sys` crate's sources.
    Fuzz,
    /// The ACPI tables' unit tests (`pc-acpi`): `iasl -d` must disassemble
    /// every table without an error.
    AcpiTables,
}

/// Every need: what `cargo xtask test` provisions.
pub const ALL_NEEDS: [Need; 6] = [
    Need::Qemu,
    Need::GrubIso,
    Need::Bochs,
    Need::GuestMedia,
    Need::Fuzz,
    Need::AcpiTables,
];

/// A Debian package, the file that shows it is installed (a program found on
/// PATH, or an absolute path for packages without one), and what needs it.
#[derive(Debug)]
pub struct Package {
    pub name: &'static str,
    pub provides: &'static str,
    /// Other programs of the package that the project runs.
    pub also: &'static [&'static str],
    pub needed_for: &'static [Need],
}

/// The one list of Debian packages anything in the project uses.
pub const PACKAGES: &[Package] = &[
    Package {
        name: "qemu-system-x86",
        provides: "qemu-system-x86_64",
        also: &[],
        needed_for: &[Need::Qemu],
    },
    Package {
        name: "grub-common",
        provides: "grub-mkrescue",
        also: &[],
        needed_for: &[Need::GrubIso],
    },
    Package {
        name: "grub-pc-bin",
        provides: "/usr/lib/grub/i386-pc",
        also: &[],
        needed_for: &[Need::GrubIso],
    },
    Package {
        name: "xorriso",
        provides: "xorriso",
        also: &[],
        needed_for: &[Need::GrubIso, Need::GuestMedia],
    },
    Package {
        name: "mtools",
        provides: "mformat",
        also: &["mtype", "mcopy"],
        needed_for: &[Need::GrubIso, Need::GuestMedia],
    },
    Package {
        name: "bochs",
        provides: "bochs",
        also: &[],
        needed_for: &[Need::Bochs],
    },
    Package {
        name: "bochsbios",
        provides: "/usr/share/bochs/BIOS-bochs-latest",
        also: &[],
        needed_for: &[Need::Bochs],
    },
    Package {
        name: "vgabios",
        provides: "/usr/share/vgabios/vgabios.bin",
        also: &[],
        needed_for: &[Need::Bochs],
    },
    // The Linux ISO's kernel modules come compressed in one of these.
    Package {
        name: "gzip",
        provides: "gzip",
        also: &[],
        needed_for: &[Need::GuestMedia],
    },
    Package {
        name: "xz-utils",
        provides: "xz",
        also: &[],
        needed_for: &[Need::GuestMedia],
    },
    Package {
        name: "zstd",
        provides: "zstd",
        also: &[],
        needed_for: &[Need::GuestMedia],
    },
    // glibc's static `libc.a`, for the static link (`+crt-static`) of the
    // Linux ISO's `/bin/diskbench`; gcc only recommends it, so a machine
    // set up with --no-install-recommends may lack it.
    Package {
        name: "libc6-dev",
        provides: "/usr/lib/x86_64-linux-gnu/libc.a",
        also: &[],
        needed_for: &[Need::GuestMedia],
    },
    // The C++ compiler libfuzzer-sys builds libFuzzer with (as `c++`).
    Package {
        name: "g++",
        provides: "g++",
        also: &["c++"],
        needed_for: &[Need::Fuzz],
    },
    // ACPICA's compiler/disassembler, which checks the ACPI tables.
    Package {
        name: "acpica-tools",
        provides: "iasl",
        also: &[],
        needed_for: &[Need::AcpiTables],
    },
];

/// The package that provides `program_or_path`, if it is on the list.
pub fn package_providing(program_or_path: &str) -> Option<&'static Package> {
    PACKAGES
        .iter()
        .find(|p| p.provides == program_or_path || p.also.contains(&program_or_path))
}

/// The exact install command for `packages`, as a user would type it.
pub fn apt_command(packages: &[&str], as_root: bool) -> String {
    let sudo = if as_root { "" } else { "sudo " };
    format!(
        "{sudo}apt-get install -y --no-install-recommends {}",
        packages.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_need_has_a_package_and_names_are_unique() {
        for need in ALL_NEEDS {
            assert!(PACKAGES.iter().any(|p| p.needed_for.contains(&need)));
        }
        for (i, a) in PACKAGES.iter().enumerate() {
            for b in &PACKAGES[i + 1..] {
                assert_ne!(a.name, b.name);
                assert_ne!(a.provides, b.provides);
            }
        }
    }

    #[test]
    fn install_command_names_every_package() {
        assert_eq!(
            apt_command(&["bochs", "vgabios"], false),
            "sudo apt-get install -y --no-install-recommends bochs vgabios"
        );
        assert!(!apt_command(&["bochs"], true).starts_with("sudo"));
    }

    #[test]
    fn programs_map_to_their_packages() {
        assert_eq!(
            package_providing("qemu-system-x86_64").map(|p| p.name),
            Some("qemu-system-x86")
        );
        assert_eq!(
            package_providing("iasl").map(|p| p.name),
            Some("acpica-tools")
        );
        assert!(package_providing("no-such-program").is_none());
    }
}
