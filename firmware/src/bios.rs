//! The BIOS as a whole: POST, the bootstrap loader (INT 19h), and the routing
//! of every trapped vector to its service.
//!
//! The platform is documented as a single-CPU PC/AT with two 8259s and no
//! APIC or ACPI/MP tables: Linux runs it with `noapic nolapic acpi=off`.

use crate::bios_platform::{BiosPlatform, Next, DRIVE_CDROM, DRIVE_FLOPPY, DRIVE_HARD_DISK};
use crate::eltorito::{find_boot_image, load_no_emulation, BootImage, BootMedia, CdWindow};
use crate::int13_disk::{Drive, DriveKind, Drives, EmulationInfo, Geometry};
use crate::memory::RealMemory;
use crate::regs::Regs;
use crate::rom::{self, Service};
use crate::{int10_video, int13_disk, keyboard, system};
use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use block_backend::{BlockBackend, SharedBlock};
use core::cell::RefCell;
use device_model::cmos_rtc::RTC_REGISTER_C;
use device_model::rate_limit::RateLimit;
use pc_layout::{irqs, ports};

/// Where boot sectors are loaded (0000:7C00).
pub const BOOT_ADDRESS: u16 = 0x7C00;
/// BDA: number of hard disks (0040:0075).
const BDA_HARD_DISKS: u32 = 0x475;
/// The 8259A pair's command (ICW1, OCW2) and data (ICW2-4, OCW1) ports.
const PIC1_COMMAND: u16 = ports::PIC_MASTER;
const PIC1_DATA: u16 = ports::PIC_MASTER + 1;
const PIC2_COMMAND: u16 = ports::PIC_SLAVE;
const PIC2_DATA: u16 = ports::PIC_SLAVE + 1;
/// The 8254's counter 0 and control word ports.
const PIT_CHANNEL0: u16 = ports::PIT;
const PIT_COMMAND: u16 = ports::PIT + 3;
/// Non-specific end of interrupt (OCW2).
const EOI: u8 = 0x20;
/// The first ISA line on the slave 8259 (its input 0).
const SLAVE_FIRST_IRQ: u8 = 8;
/// Interrupt vectors the POST gives the master's and the slave's inputs 0.
const MASTER_VECTOR_BASE: u8 = 0x08;
const SLAVE_VECTOR_BASE: u8 = 0x70;
/// The RTC's vector (70h).
const RTC_VECTOR: u8 = SLAVE_VECTOR_BASE + (irqs::RTC - SLAVE_FIRST_IRQ);

/// A boot device, in the order `--boot` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootDevice {
    Cdrom,
    Disk,
    Floppy,
}

/// What went wrong reading boot media, for the one line the user sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BootProblem(pub String);

/// Most problems one bootstrap attempt keeps (the most recent ones); the
/// rest are counted in [`Bios::problems_dropped`]. One attempt meets at most
/// one per boot device, so this is reached only by a very long boot order.
pub const MAX_PROBLEMS: usize = 16;
/// Longest problem line kept, in bytes; longer ones are cut (at a character
/// boundary). Every message this BIOS writes today is well under it.
pub const MAX_PROBLEM_LEN: usize = 160;

/// The El Torito emulation the last boot set up, which the next bootstrap
/// undoes before it starts.
enum Emulated {
    /// The image is drive 00h; `displaced` is the real diskette drive it
    /// took the number of, if there was one.
    Floppy { displaced: Option<Drive> },
    /// The image is drive 80h; the real hard disks moved up by one.
    HardDisk,
}

/// The BIOS of one domain.
pub struct Bios {
    pub drives: Drives,
    pub boot_order: Vec<BootDevice>,
    cd: Option<SharedBlock>,
    /// Problems met while trying boot devices in the latest bootstrap attempt
    /// (reported by the hypervisor when nothing boots): at most
    /// [`MAX_PROBLEMS`] lines of at most [`MAX_PROBLEM_LEN`] bytes, cleared
    /// when the next attempt (POST or INT 19h) starts.
    pub problems: Vec<BootProblem>,
    /// Problems of the latest attempt left out of `problems` (the oldest).
    pub problems_dropped: u32,
    /// The emulated drive the last El Torito boot added, if any.
    emulated: Option<Emulated>,
    /// Log lines a guest causes by bootstrapping again and again.
    restart_log: RateLimit,
    /// A running INT 15h AH=86h wait.
    wait: system::TimedWait,
    /// What the board keeps out of the guest's RAM: the Xen special pages
    /// (a board with the Xen platform device) and the ACPI tables (the
    /// modern PC), which the E820h map lists and E801h/88h leave out.
    board: system::BoardReservations,
}

impl Bios {
    /// A BIOS with these media: a floppy image (drive 00h), a hard disk (80h)
    /// and a CD (shared with the IDE controller; bootable through El Torito).
    pub fn new(
        floppy: Option<Box<dyn BlockBackend>>,
        disk: Option<Box<dyn BlockBackend>>,
        cd: Option<SharedBlock>,
        boot_order: Vec<BootDevice>,
    ) -> Self {
        let mut drives = Drives::default();
        if let Some(medium) = floppy {
            let geometry = Geometry::floppy(medium.len()).unwrap_or(Geometry {
                cylinders: 80,
                heads: 2,
                sectors: 18,
            });
            drives.list.push(Drive {
                number: DRIVE_FLOPPY,
                kind: DriveKind::Floppy,
                medium,
                geometry,
            });
        }
        if let Some(medium) = disk {
            let geometry = Geometry::hard_disk(medium.len());
            drives.list.push(Drive {
                number: DRIVE_HARD_DISK,
                kind: DriveKind::HardDisk,
                medium,
                geometry,
            });
        }
        Self {
            drives,
            boot_order,
            cd,
            problems: Vec::new(),
            problems_dropped: 0,
            emulated: None,
            restart_log: RateLimit::new(4, 1000),
            wait: system::TimedWait::default(),
            board: system::BoardReservations::xen_platform(false),
        }
    }

    /// Adds one more hard disk as the next drive number (81h after 80h,
    /// then 82h), as a PC BIOS numbers its fixed disks in the order it
    /// finds them (the BDA's count at 0040:0075 follows at POST); returns
    /// the number. Boots from disk stay with drive 80h.
    pub fn add_hard_disk(&mut self, medium: Box<dyn BlockBackend>) -> u8 {
        let number = DRIVE_HARD_DISK + self.drives.count(DriveKind::HardDisk);
        let geometry = Geometry::hard_disk(medium.len());
        self.drives.list.push(Drive {
            number,
            kind: DriveKind::HardDisk,
            medium,
            geometry,
        });
        number
    }

    /// The same BIOS on a board with (`on`) or without the Xen platform
    /// device, whose special pages its E820h map then reserves (without, the
    /// default, they are not mentioned).
    pub fn with_xen_platform(mut self, on: bool) -> Self {
        self.board.xen_special_pages = on;
        self
    }

    /// The same BIOS on a board whose `size` bytes of ACPI tables sit at the
    /// top of RAM below 4 GiB ([`system::acpi_tables_region`]): its E820h
    /// map gives them as ACPI memory (type 3, ACPI 6.5, 15.3 "E820 Address
    /// Range Types") and its memory sizes leave them out. 0, the default,
    /// for a board without tables.
    pub fn with_acpi_tables(mut self, size: u64) -> Self {
        self.board.acpi_tables = size;
        self
    }

    /// Records a problem of the current bootstrap attempt: the line is cut to
    /// [`MAX_PROBLEM_LEN`] bytes and, past [`MAX_PROBLEMS`] lines, the oldest
    /// is dropped and counted, so a guest that bootstraps in a loop cannot
    /// grow what the BIOS holds.
    fn note_problem(&mut self, mut line: String) {
        if line.len() > MAX_PROBLEM_LEN {
            line.truncate(line.floor_char_boundary(MAX_PROBLEM_LEN));
            line.shrink_to_fit();
        }
        if self.problems.len() >= MAX_PROBLEMS {
            self.problems.remove(0);
            self.problems_dropped = self.problems_dropped.saturating_add(1);
        }
        self.problems.push(BootProblem(line));
    }

    /// The start of a bootstrap attempt (POST's, or any INT 19h): the
    /// previous attempt's problems are forgotten and its El Torito
    /// emulation, if any, is ended, so the drives are the machine's own again
    /// and the attempt sets up at most one emulated drive of its own.
    ///
    /// The IBM PC/AT Technical Reference's BOOT_STRAP (INT 19h) starts the
    /// boot over from the first device; an emulation ends as INT 13h
    /// AX=4B00h ("terminate disk emulation", El Torito 1.0 section 5) ends
    /// it, with the drive numbers the emulation shifted given back (3.0:
    /// the emulated drive takes 00h or 80h and the real ones move up).
    fn start_bootstrap(&mut self, mem: &mut dyn RealMemory) {
        self.problems.clear();
        self.problems_dropped = 0;
        self.drives.emulation = None;
        let Some(emulated) = self.emulated.take() else {
            return;
        };
        if self.restart_log.allow() {
            log::info!(
                "BIOS: bootstrap again: El Torito emulation ended ({} times so far)",
                self.restart_log.seen()
            );
        }
        match emulated {
            Emulated::Floppy { displaced } => {
                self.drives.list.retain(|d| d.number != DRIVE_FLOPPY);
                self.drives.list.extend(displaced);
            }
            Emulated::HardDisk => {
                self.drives
                    .list
                    .retain(|d| !(d.kind == DriveKind::HardDisk && d.number == DRIVE_HARD_DISK));
                for d in self.drives.list.iter_mut() {
                    if d.kind == DriveKind::HardDisk && d.number > DRIVE_HARD_DISK {
                        d.number -= 1;
                    }
                }
                mem.write_u8(BDA_HARD_DISKS, self.drives.count(DriveKind::HardDisk));
            }
        }
    }

    /// Runs the service `service` asked for.
    pub fn handle(
        &mut self,
        service: Service,
        regs: &mut Regs,
        mem: &mut dyn RealMemory,
        pf: &mut dyn BiosPlatform,
    ) -> Next {
        let vector = match service {
            Service::Post => return self.post(mem, pf),
            Service::Interrupt(v) => v,
        };
        match vector {
            0x08 => {
                system::irq0_tick(mem);
                pf.port_out(PIC1_COMMAND, EOI);
                Next::Return
            }
            0x09 => keyboard::int09(mem, pf),
            0x0A..=0x0F => {
                pf.port_out(PIC1_COMMAND, EOI);
                Next::Return
            }
            0x70..=0x77 => {
                if vector == RTC_VECTOR {
                    // Reading RTC register C acknowledges its interrupt.
                    pf.port_out(ports::CMOS_INDEX, RTC_REGISTER_C);
                    pf.port_in(ports::CMOS_DATA);
                }
                pf.port_out(PIC2_COMMAND, EOI);
                pf.port_out(PIC1_COMMAND, EOI);
                Next::Return
            }
            0x10 => int10_video::int10(regs, mem, pf),
            0x11 => system::int11(regs, mem),
            0x12 => system::int12(regs, mem),
            0x13 => int13_disk::int13(regs, mem, &mut self.drives),
            0x14 => serial(regs, pf),
            0x15 if regs.ah() == 0x86 => self.wait.int15_86(regs, pf),
            0x15 => system::int15_on(regs, mem, pf, self.board),
            0x16 => keyboard::int16(regs, mem),
            0x17 => {
                // No printer: time-out and I/O error.
                regs.set_ah(0x09);
                Next::Return
            }
            0x18 => {
                int10_video::write_teletype_str(mem, pf, b"No bootable device.\r\n");
                Next::Halt
            }
            0x19 => self.bootstrap(mem, pf),
            0x1A => system::int1a(regs, mem, pf),
            _ => Next::Return,
        }
    }

    /// POST: the interrupt vectors, the BIOS data area, the interrupt
    /// controllers and timer as a BIOS leaves them, the screen; then boot.
    fn post(&mut self, mem: &mut dyn RealMemory, pf: &mut dyn BiosPlatform) -> Next {
        // A guest may run POST again (a jump to the reset vector): the drive
        // counts below are the machine's own, not an earlier boot's.
        self.start_bootstrap(mem);
        for (v, (seg, off)) in rom::ivt().iter().enumerate() {
            let at = (v * 4) as u32;
            mem.write_u16(at, *off);
            mem.write_u16(at + 2, *seg);
        }
        let floppies = self
            .drives
            .count(DriveKind::Floppy)
            .max(u8::from(self.cd_has_floppy_emulation()));
        system::post_bda(
            mem,
            pf.ram_size(),
            system::Equipment {
                floppies,
                serial_ports: ports::COM.len() as u8,
            },
        );
        mem.write_u8(BDA_HARD_DISKS, self.drives.count(DriveKind::HardDisk));
        // 8259A pair: edge-triggered, cascaded, master at 08h, slave at 70h;
        // IRQ0 (timer), IRQ1 (keyboard) and IRQ2 (cascade) unmasked.
        let master_unmasked: u8 = 1 << irqs::PIT | 1 << irqs::KEYBOARD | 1 << irqs::CASCADE;
        for (port, value) in [
            (PIC1_COMMAND, 0x11),
            (PIC2_COMMAND, 0x11),
            (PIC1_DATA, MASTER_VECTOR_BASE),
            (PIC2_DATA, SLAVE_VECTOR_BASE),
            (PIC1_DATA, 1 << irqs::CASCADE),
            (PIC2_DATA, irqs::CASCADE),
            (PIC1_DATA, 0x01),
            (PIC2_DATA, 0x01),
            (PIC1_DATA, !master_unmasked),
            (PIC2_DATA, 0xFF),
        ] {
            pf.port_out(port, value);
        }
        // 8254 channel 0: mode 3, divisor 65536 (18.2 Hz).
        pf.port_out(PIT_COMMAND, 0x36);
        pf.port_out(PIT_CHANNEL0, 0);
        pf.port_out(PIT_CHANNEL0, 0);
        system::post_a20(pf);
        int10_video::init_video(mem, pf);
        self.bootstrap(mem, pf)
    }

    fn cd_has_floppy_emulation(&self) -> bool {
        self.cd.as_ref().is_some_and(|cd| {
            matches!(
                find_boot_image(cd).map(|b| b.media),
                Ok(BootMedia::Floppy { .. })
            )
        })
    }

    /// INT 19h: try each boot device in order; the first with a valid boot
    /// sector or El Torito image starts.
    fn bootstrap(&mut self, mem: &mut dyn RealMemory, pf: &mut dyn BiosPlatform) -> Next {
        self.start_bootstrap(mem);
        for device in self.boot_order.clone() {
            let next = match device {
                BootDevice::Cdrom => self.boot_cd(mem),
                BootDevice::Disk => self.boot_sector(mem, DRIVE_HARD_DISK, true),
                BootDevice::Floppy => self.boot_sector(mem, DRIVE_FLOPPY, false),
            };
            if let Some(next) = next {
                return next;
            }
        }
        int10_video::write_teletype_str(mem, pf, b"No bootable device.\r\n");
        Next::Halt
    }

    /// Loads the first sector of `drive` at 0000:7C00; a hard disk's must end
    /// in 55h AAh (a floppy's need not, as on PCs).
    fn boot_sector(
        &mut self,
        mem: &mut dyn RealMemory,
        drive: u8,
        require_signature: bool,
    ) -> Option<Next> {
        let d = self.drives.get(drive)?;
        let mut sector = [0u8; 512];
        if d.medium.read_at(0, &mut sector).is_err() {
            self.note_problem(alloc::format!(
                "drive {drive:#04x}: cannot read its first sector"
            ));
            return None;
        }
        if require_signature && sector[510..512] != [0x55, 0xAA] {
            self.note_problem(alloc::format!("drive {drive:#04x}: no boot signature"));
            return None;
        }
        if sector.iter().all(|b| *b == 0) {
            self.note_problem(alloc::format!("drive {drive:#04x}: empty boot sector"));
            return None;
        }
        mem.write(u32::from(BOOT_ADDRESS), &sector);
        Some(Next::Boot {
            cs: 0,
            ip: BOOT_ADDRESS,
            dl: drive,
        })
    }

    /// El Torito: no-emulation images load as they are and see the CD as
    /// drive E0h; floppy- and hard-disk-emulation images become drive 00h
    /// or 80h.
    fn boot_cd(&mut self, mem: &mut dyn RealMemory) -> Option<Next> {
        let cd = self.cd.clone()?;
        let image = match find_boot_image(&cd) {
            Ok(i) => i,
            Err(e) => {
                self.note_problem(alloc::format!("CD: {e}"));
                return None;
            }
        };
        if !self.drives.list.iter().any(|d| d.number == DRIVE_CDROM) {
            self.drives.list.push(Drive {
                number: DRIVE_CDROM,
                kind: DriveKind::Cdrom,
                medium: Box::new(cd.clone()),
                geometry: Geometry {
                    cylinders: 0,
                    heads: 0,
                    sectors: 0,
                },
            });
        }
        let segment = if image.load_segment == 0 {
            0x7C0
        } else {
            image.load_segment
        };
        match image.media {
            BootMedia::NoEmulation => {
                let code = match load_no_emulation(&cd, &image) {
                    Ok(c) => c,
                    Err(e) => {
                        self.note_problem(alloc::format!("CD: {e}"));
                        return None;
                    }
                };
                mem.write(u32::from(segment) << 4, &code);
                self.drives.emulation = Some(EmulationInfo {
                    media_type: 0,
                    drive: DRIVE_CDROM,
                    image_lba: image.load_rba,
                    load_segment: segment,
                    sector_count: image.sector_count,
                    geometry: None,
                });
                Some(Next::Boot {
                    cs: segment,
                    ip: 0,
                    dl: DRIVE_CDROM,
                })
            }
            BootMedia::Floppy { .. } | BootMedia::HardDisk { .. } => {
                self.boot_emulated(mem, cd, &image, segment)
            }
        }
    }

    /// El Torito 1.0, 3.0: a floppy or hard-disk image on the CD becomes
    /// drive 00h or 80h; a real hard disk already at 80h moves up to 81h
    /// (the emulated drive takes the first number of its kind).
    fn boot_emulated(
        &mut self,
        mem: &mut dyn RealMemory,
        cd: SharedBlock,
        image: &BootImage,
        segment: u16,
    ) -> Option<Next> {
        let (Some(size), Some(chs)) = (image.media.emulated_size(), image.media.geometry()) else {
            return None;
        };
        let drive = image.boot_drive();
        let kind = if drive == DRIVE_FLOPPY {
            DriveKind::Floppy
        } else {
            DriveKind::HardDisk
        };
        // The initial load is Sector Count 512-byte sectors at the load
        // segment, as for no emulation (El Torito 2.2). A hard-disk image's
        // MBR signature was checked when its geometry was read
        // (`find_boot_image`).
        let code = match load_no_emulation(&cd, image) {
            Ok(c) => c,
            Err(e) => {
                self.note_problem(alloc::format!("CD: {e}"));
                return None;
            }
        };
        let shared: Rc<RefCell<dyn BlockBackend>> = cd.0.clone();
        let window = CdWindow::new(shared, image.image_offset(), size);
        let geometry = Geometry {
            cylinders: u32::from(chs.cylinders),
            heads: u32::from(chs.heads),
            sectors: u32::from(chs.sectors),
        };
        // `start_bootstrap` ended any earlier emulation, so this is the only
        // emulated drive and the real drives have their own numbers.
        self.emulated = Some(match kind {
            DriveKind::Floppy => {
                let real = self
                    .drives
                    .list
                    .iter()
                    .position(|d| d.number == DRIVE_FLOPPY);
                Emulated::Floppy {
                    displaced: real.map(|i| self.drives.list.remove(i)),
                }
            }
            _ => {
                for d in self.drives.list.iter_mut() {
                    if d.kind == DriveKind::HardDisk && d.number >= DRIVE_HARD_DISK {
                        d.number = d.number.saturating_add(1);
                    }
                }
                Emulated::HardDisk
            }
        });
        self.drives.list.push(Drive {
            number: drive,
            kind,
            medium: Box::new(window),
            geometry,
        });
        self.drives.emulation = Some(EmulationInfo {
            media_type: image.media.media_type(),
            drive,
            image_lba: image.load_rba,
            load_segment: segment,
            sector_count: image.sector_count,
            geometry: Some(geometry),
        });
        mem.write_u8(BDA_HARD_DISKS, self.drives.count(DriveKind::HardDisk));
        let linear = u32::from(segment) << 4;
        mem.write(linear, &code);
        // 07C0:0000 is entered as 0000:7C00, the address boot sectors expect.
        let (cs, ip) = if segment == BOOT_ADDRESS >> 4 {
            (0, BOOT_ADDRESS)
        } else {
            (segment, 0)
        };
        Some(Next::Boot { cs, ip, dl: drive })
    }
}

/// INT 14h for COM1-COM4 (IBM PC/AT Technical Reference, "RS-232C" BIOS
/// interface): 00h initialize, 01h send, 02h receive, 03h status.
fn serial(regs: &mut Regs, pf: &mut dyn BiosPlatform) -> Next {
    let Some(&base) = ports::COM.get(usize::from(regs.dx())) else {
        regs.set_ah(0x80);
        return Next::Return;
    };
    let line_status = |pf: &mut dyn BiosPlatform| pf.port_in(base + 5);
    match regs.ah() {
        0x00 => {
            // AL bits 7-5: baud 110..9600; 4-3 parity; 2 stop bits; 1-0 word length.
            const DIVISORS: [u16; 8] = [1047, 768, 384, 192, 96, 48, 24, 12];
            let divisor = DIVISORS[usize::from(regs.al() >> 5)];
            pf.port_out(base + 3, 0x80);
            pf.port_out(base, divisor as u8);
            pf.port_out(base + 1, (divisor >> 8) as u8);
            pf.port_out(base + 3, regs.al() & 0x1F);
            let lsr = line_status(pf);
            regs.set_ah(lsr);
            regs.set_al(pf.port_in(base + 6));
        }
        0x01 => {
            pf.port_out(base, regs.al());
            let lsr = line_status(pf);
            regs.set_ah(lsr);
        }
        0x02 => {
            let lsr = line_status(pf);
            if lsr & 1 != 0 {
                regs.set_al(pf.port_in(base));
                regs.set_ah(lsr & 0x1E);
            } else {
                regs.set_ah(lsr | 0x80); // time-out
            }
        }
        0x03 => {
            let lsr = line_status(pf);
            regs.set_ah(lsr);
            regs.set_al(pf.port_in(base + 6));
        }
        _ => {}
    }
    Next::Return
}

#[cfg(test)]
mod tests;
