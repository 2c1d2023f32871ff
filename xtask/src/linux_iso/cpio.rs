//! The initramfs archive: cpio "newc" as the kernel's unpacker reads it
//! (buffer-format.rst): per entry a 110-byte ASCII header, the NUL-terminated
//! name padded to 4 bytes, the data padded to 4 bytes; "TRAILER!!!" ends it.

use std::collections::BTreeSet;

const MAGIC: &str = "070701";
const S_IFDIR: u32 = 0o040_000;
const S_IFREG: u32 = 0o100_000;
const S_IFLNK: u32 = 0o120_000;
const S_IFCHR: u32 = 0o020_000;
const TRAILER: &str = "TRAILER!!!";

/// An archive being written. Parents are added before their children
/// (the kernel does not create missing directories); every entry is
/// owned by root with mtime 0, so the same input gives the same bytes.
#[derive(Default)]
pub(super) struct Archive {
    out: Vec<u8>,
    inodes: u32,
    dirs: BTreeSet<String>,
}

impl Archive {
    pub(super) fn new() -> Self {
        Self::default()
    }

    pub(super) fn dir(&mut self, path: &str) {
        let path = path.trim_matches('/');
        if path.is_empty() || self.dirs.contains(path) {
            return;
        }
        self.parents(path);
        self.dirs.insert(path.to_string());
        self.entry(path, S_IFDIR | 0o755, 2, (0, 0), b"");
    }

    pub(super) fn file(&mut self, path: &str, perm: u32, data: &[u8]) {
        self.parents(path);
        self.entry(path, S_IFREG | perm, 1, (0, 0), data);
    }

    pub(super) fn symlink(&mut self, path: &str, target: &str) {
        self.parents(path);
        self.entry(path, S_IFLNK | 0o777, 1, (0, 0), target.as_bytes());
    }

    pub(super) fn char_device(&mut self, path: &str, perm: u32, major: u32, minor: u32) {
        self.parents(path);
        self.entry(path, S_IFCHR | perm, 1, (major, minor), b"");
    }

    /// The archive with its trailer.
    pub(super) fn finish(mut self) -> Vec<u8> {
        self.inodes = 0;
        self.header(TRAILER, 0, 1, (0, 0), 0);
        self.out
    }

    fn parents(&mut self, path: &str) {
        let path = path.trim_matches('/');
        if let Some((parent, _)) = path.rsplit_once('/') {
            self.dir(parent);
        }
    }

    fn entry(&mut self, path: &str, mode: u32, nlink: u32, rdev: (u32, u32), data: &[u8]) {
        self.inodes += 1;
        let size = u32::try_from(data.len()).expect("an initramfs file under 4 GiB");
        self.header(path.trim_matches('/'), mode, nlink, rdev, size);
        self.out.extend_from_slice(data);
        self.pad();
    }

    fn header(&mut self, name: &str, mode: u32, nlink: u32, rdev: (u32, u32), size: u32) {
        let namesize = name.len() as u32 + 1;
        let fields = [
            self.inodes, // c_ino
            mode,        // c_mode
            0,           // c_uid
            0,           // c_gid
            nlink,       // c_nlink
            0,           // c_mtime
            size,        // c_filesize
            0,           // c_maj (device holding the file)
            0,           // c_min
            rdev.0,      // c_rmaj (a device node's own number)
            rdev.1,      // c_rmin
            namesize,    // c_namesize, with the NUL
            0,           // c_chksum (0 in "newc")
        ];
        self.out.extend_from_slice(MAGIC.as_bytes());
        for f in fields {
            self.out.extend_from_slice(format!("{f:08X}").as_bytes());
        }
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(0);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.out.len().is_multiple_of(4) {
            self.out.push(0);
        }
    }
}
