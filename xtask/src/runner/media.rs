//! The run folder and the media a run boots: checking disk, floppy and ISO
//! images, and handing them to the hypervisor: under QEMU as virtio-blk
//! devices it drives (the guest's writes reach the file), under Bochs,
//! which has no virtio, as boot modules (held in memory, writes discarded).

use super::options::{Emulator, RunOptions, MAX_DISKS};
use crate::qemu::QemuDrive;
use crate::workspace_root;
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// A new folder for one run's files, `target/runs/<guest>-<pid>-<n>`.
pub(super) fn fresh_run_dir(guest: &str) -> Result<PathBuf, String> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = workspace_root()
        .join("target")
        .join("runs")
        .join(format!("{guest}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// A readable, non-empty image file, or the one line saying what is wrong.
pub(super) fn check_image(path: &std::path::Path, what: &str) -> Result<(), String> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() && m.len() > 0 => Ok(()),
        Ok(_) => Err(format!(
            "{what} image {} is empty or not a file",
            path.display()
        )),
        Err(e) => Err(format!("cannot read {what} image {}: {e}", path.display())),
    }
}

/// Byte offset of the ISO 9660 standard identifier "CD001" in the first
/// volume descriptor (ECMA-119, 8.1: descriptors start at sector 16).
const ISO9660_ID_OFFSET: u64 = 16 * 2048 + 1;

/// Checks for the ISO 9660 volume descriptor signature.
pub(super) fn check_iso9660(path: &std::path::Path) -> Result<(), String> {
    use std::io::{Seek, SeekFrom};
    let mut id = [0u8; 5];
    let ok = std::fs::File::open(path)
        .and_then(|mut f| {
            f.seek(SeekFrom::Start(ISO9660_ID_OFFSET))?;
            f.read_exact(&mut id)
        })
        .is_ok();
    if ok && &id == b"CD001" {
        Ok(())
    } else {
        Err(format!(
            "{} is not an ISO 9660 image (no CD001 volume descriptor at sector 16)",
            path.display()
        ))
    }
}

/// File the guest's COM2 (the screen mirror's frames) is written to.
pub(super) const SCREEN_FILE: &str = "screen.out";

/// One guest medium and how the hypervisor is told where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Medium {
    /// The hypervisor's configuration key (`vmm_core::guest_config`).
    pub key: &'static str,
    /// The boot module's name, and QEMU's drive id.
    pub module: &'static str,
    /// The host PCI device number of its virtio-blk device on bus 0, clear
    /// of the `pc` machine's own devices (00h-03h).
    pub slot: u8,
    /// Attached read-only (`readonly=on`): the CD and the floppy.
    pub read_only: bool,
}

/// The first disk (`--disk`): the IDE primary master.
pub(super) const DISK: Medium = Medium {
    key: "disk",
    module: "disk0",
    slot: 0x10,
    read_only: false,
};
/// The further disks (`--disk` again), after the floppy's slot: the IDE
/// primary slave and secondary slave (`pc_layout::ide_drives::DISKS`).
const MORE_DISKS: [Medium; MAX_DISKS - 1] = [
    Medium {
        module: "disk1",
        slot: 0x13,
        ..DISK
    },
    Medium {
        module: "disk2",
        slot: 0x14,
        ..DISK
    },
];
/// The ATAPI CD-ROM's ISO (`--iso`).
pub(super) const CDROM: Medium = Medium {
    key: "cdrom",
    module: "cdrom0",
    slot: 0x11,
    read_only: true,
};
/// The floppy, drive A: (`--floppy`).
pub(super) const FLOPPY: Medium = Medium {
    key: "floppy",
    module: "floppy0",
    slot: 0x12,
    read_only: true,
};

/// The run's disks, first to last, each read-only as asked.
pub(super) fn disks(opts: &RunOptions) -> Vec<(Medium, PathBuf)> {
    let media = core::iter::once(DISK).chain(MORE_DISKS);
    media
        .zip(opts.disks())
        .map(|(m, d)| {
            let m = Medium {
                read_only: d.read_only,
                ..m
            };
            (m, d.path)
        })
        .collect()
}

/// The media a run has, with their image files: the disks first.
pub(super) fn media(opts: &RunOptions) -> Vec<(Medium, PathBuf)> {
    let others = [(CDROM, &opts.iso), (FLOPPY, &opts.floppy)]
        .into_iter()
        .filter_map(|(m, path)| path.clone().map(|p| (m, p)));
    disks(opts).into_iter().chain(others).collect()
}

/// True when the emulator gives the hypervisor virtio-blk devices.
pub(super) fn has_virtio(emulator: Emulator) -> bool {
    emulator == Emulator::Qemu
}

/// True when `m` reaches the hypervisor as a host virtio-blk device, false
/// when as a boot module (Bochs; the disks with `disk_in_memory`).
pub(super) fn on_virtio(m: Medium, opts: &RunOptions) -> bool {
    has_virtio(opts.emulator) && !(m.key == DISK.key && opts.disk_in_memory)
}

/// The configuration line naming where `m` is: its host virtio-blk device
/// by PCI address (`virtio-blk@00:10.0`) when `virtio`, else its boot
/// module; a read-only disk's ends in `,ro` (`vmm_core::guest_config`).
pub(super) fn medium_config(m: Medium, virtio: bool) -> String {
    let ro = if m.key == DISK.key && m.read_only {
        ",ro"
    } else {
        ""
    };
    if virtio {
        format!("{} = virtio-blk@00:{:02x}.0{ro}\n", m.key, m.slot)
    } else {
        format!("{} = {}{ro}\n", m.key, m.module)
    }
}

/// QEMU's virtio-blk devices for the run's media (none under Bochs).
pub(super) fn qemu_drives(opts: &RunOptions) -> Vec<QemuDrive> {
    media(opts)
        .into_iter()
        .filter(|(m, _)| on_virtio(*m, opts))
        .map(|(m, path)| QemuDrive {
            id: m.module.into(),
            path,
            slot: m.slot,
            read_only: m.read_only,
            snapshot: opts.snapshot,
            faults: if m.module == DISK.module {
                opts.disk_faults.clone()
            } else {
                None
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_media_are_virtio_devices_named_by_slot_and_bochs_media_modules() {
        let opts = RunOptions {
            disk: Some("/d.img".into()),
            iso: Some("/c.iso".into()),
            snapshot: true,
            ..RunOptions::default()
        };
        assert_eq!(medium_config(DISK, true), "disk = virtio-blk@00:10.0\n");
        assert_eq!(medium_config(CDROM, false), "cdrom = cdrom0\n");
        let drives = qemu_drives(&opts);
        assert_eq!(drives.len(), 2);
        assert_eq!((drives[0].slot, drives[0].read_only), (0x10, false));
        assert_eq!((drives[1].slot, drives[1].read_only), (0x11, true));
        assert!(drives.iter().all(|d| d.snapshot));
        // The disk in memory: a module; the ISO stays a device.
        let in_memory = RunOptions {
            disk_in_memory: true,
            ..opts.clone()
        };
        assert!(!on_virtio(DISK, &in_memory) && on_virtio(CDROM, &in_memory));
        let drives = qemu_drives(&in_memory);
        assert_eq!(drives.len(), 1);
        assert_eq!(drives[0].slot, 0x11);
        let bochs = RunOptions {
            emulator: Emulator::Bochs,
            ..opts
        };
        assert!(qemu_drives(&bochs).is_empty());
        // Every slot and module distinct, no slot the `pc` machine's.
        let all = [DISK, MORE_DISKS[0], MORE_DISKS[1], CDROM, FLOPPY];
        for (i, a) in all.iter().enumerate() {
            assert!(a.slot > 3 && a.slot < 32);
            for b in &all[i + 1..] {
                assert!(a.slot != b.slot && a.module != b.module, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn each_disk_is_one_more_device_or_module_in_order_and_ro_reaches_both() {
        use super::super::options::DiskImage;
        let images = ["/a.img", "/b.img,ro", "/c.img"]
            .map(|s| DiskImage::parse(s).unwrap())
            .to_vec();
        let opts = RunOptions {
            iso: Some("/c.iso".into()),
            ..RunOptions::default()
        }
        .with_disks(images);
        let configs: Vec<String> = media(&opts)
            .into_iter()
            .map(|(m, _)| medium_config(m, on_virtio(m, &opts)))
            .collect();
        assert_eq!(
            configs.concat(),
            "disk = virtio-blk@00:10.0\ndisk = virtio-blk@00:13.0,ro\n\
             disk = virtio-blk@00:14.0\ncdrom = virtio-blk@00:11.0\n"
        );
        let drives = qemu_drives(&opts);
        let got: Vec<_> = drives
            .iter()
            .map(|d| (d.id.as_str(), d.slot, d.read_only, d.path.to_str().unwrap()))
            .collect();
        assert_eq!(
            got,
            [
                ("disk0", 0x10, false, "/a.img"),
                ("disk1", 0x13, true, "/b.img"),
                ("disk2", 0x14, false, "/c.img"),
                ("cdrom0", 0x11, true, "/c.iso"),
            ]
        );
        // Bochs: modules, the read-only one said so in its line.
        let bochs = RunOptions {
            emulator: Emulator::Bochs,
            ..opts
        };
        let lines: Vec<String> = disks(&bochs)
            .into_iter()
            .map(|(m, _)| medium_config(m, on_virtio(m, &bochs)))
            .collect();
        assert_eq!(
            lines,
            ["disk = disk0\n", "disk = disk1,ro\n", "disk = disk2\n"]
        );
    }
}
