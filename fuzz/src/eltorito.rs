//! `eltorito`: the El Torito parser on an arbitrary CD image. The input's
//! first byte picks the image's least size (so floppy- and hard-disk-
//! emulation images, which must lie inside the CD, can be reached); the
//! rest is the image from sector 16 on (the volume descriptor set), the
//! system area before it being zeros.
//!
//! Beyond not panicking, what the parser accepts must hold up: an image it
//! returns loads, and the drive it emulates reads back inside the CD.

use crate::input::Input;
use crate::media::{cd_image, CD_SIZES};
use block_backend::BlockBackend;
use firmware::eltorito::{
    catalog, descriptor, find_boot_image, hard_disk, load_no_emulation, CdWindow,
    CONVENTIONAL_MEMORY_END,
};
use std::cell::RefCell;
use std::rc::Rc;

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let min_len = input.choose(&CD_SIZES);
    let rest = input.rest();
    // The parts on their own, on the raw bytes.
    let _ = catalog::select_entry(rest);
    if let Some(mbr) = rest.first_chunk::<{ hard_disk::MBR_SIZE }>() {
        let _ = hard_disk::geometry(mbr);
    }
    let cd: Rc<RefCell<dyn BlockBackend>> = Rc::new(RefCell::new(cd_image(min_len, rest)));
    let medium = cd.borrow();
    let _ = descriptor::find_boot_catalog(&*medium);
    let Ok(image) = find_boot_image(&*medium) else {
        return;
    };
    let bytes = load_no_emulation(&*medium, &image).expect("an accepted image loads");
    assert_eq!(bytes.len() as u64, image.load_len());
    assert!(
        u64::from(image.load_address()) + image.load_len() <= u64::from(CONVENTIONAL_MEMORY_END)
    );
    let _ = (
        image.boot_drive(),
        image.media.media_type(),
        image.media.geometry(),
    );
    drop(medium);
    if let Some(window) = CdWindow::for_image(cd.clone(), &image) {
        let len = window.len();
        let mut sector = [0u8; 512];
        for offset in [0, len.saturating_sub(512), len / 2] {
            if offset + 512 <= len {
                window
                    .read_at(offset, &mut sector)
                    .expect("the emulated drive lies inside the CD");
            }
        }
        assert!(window.read_at(len, &mut sector).is_err());
        assert!(window.read_at(u64::MAX, &mut sector).is_err());
    }
}
