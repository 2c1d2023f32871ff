//! Seed inputs: one or a few well-formed inputs per target (a DMA read, a
//! bootable CD, a BIOS boot followed by disk calls), from which the fuzzer
//! reaches the deep paths in seconds instead of first having to discover
//! the formats. `cargo xtask fuzz` has each target write its seeds into its
//! corpus folder before fuzzing (the `VMM_FUZZ_SEEDS` variable names it).

use firmware::eltorito::catalog::{
    BOOTABLE, HEADER_ID_VALIDATION, KEY_55, KEY_AA, MEDIA_FLOPPY_1M44, MEDIA_HARD_DISK,
    MEDIA_NO_EMULATION, PLATFORM_X86,
};
use firmware::eltorito::descriptor::{
    BOOT_CATALOG_POINTER, BOOT_SYSTEM_IDENTIFIER, EL_TORITO_IDENTIFIER, STANDARD_IDENTIFIER,
    VD_TYPE_BOOT_RECORD, VD_TYPE_TERMINATOR,
};
use std::path::Path;

/// The environment variable naming the folder seeds are written to.
pub const SEED_DIR_VAR: &str = "VMM_FUZZ_SEEDS";

const SECTOR: usize = 2048;

/// Writes `target`'s seeds as `seed-N` files into the folder
/// [`SEED_DIR_VAR`] names, if it is set; called once before fuzzing starts.
pub fn write_from_env(target: &str) {
    let Some(dir) = std::env::var_os(SEED_DIR_VAR) else {
        return;
    };
    let dir = Path::new(&dir);
    for (i, seed) in seeds(target).iter().enumerate() {
        let path = dir.join(format!("seed-{i}"));
        if let Err(e) = std::fs::write(&path, seed) {
            eprintln!("cannot write the seed {}: {e}", path.display());
        }
    }
}

/// The seeds of `target`.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    match target {
        "emulator" => emulator(),
        "ide_dma" => ide_dma(),
        "eltorito" => eltorito(),
        "bios_handle" => bios_handle(),
        "bios_trap" => bios_trap(),
        "xenstore_ring" => xenstore_ring(),
        "hypercall" => hypercall(),
        "blkif_ring" => blkif_ring(),
        "apic_pm" => apic_pm(),
        "pvh_start" => pvh_start(),
        _ => Vec::new(),
    }
}

/// An MMIO-style store and a string move in each mode, flat and through RAM.
fn emulator() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (mode, insn) in [
        (0u8, &[0x88u8, 0x07][..]),       // mov [bx], al
        (1, &[0x89, 0x03]),               // mov [ebx], eax
        (2, &[0x48, 0x89, 0x18]),         // mov [rax], rbx
        (0, &[0xF3, 0xA4]),               // rep movsb
        (4, &[0x8B, 0x07]),               // mov ax, [bx], through guest RAM
        (2 | 4, &[0x48, 0x8B, 0x00]),     // mov rax, [rax], through paging
        (1 | 4 | 8, &[0x0F, 0xB1, 0x0B]), // cmpxchg [ebx], ecx, 32-bit paging
    ] {
        let mut s = vec![mode];
        let mut bytes = [0x90u8; 15];
        bytes[..insn.len()].copy_from_slice(insn);
        s.extend_from_slice(&bytes);
        // rflags, cr3 (and its PCD/PWT byte), six segments, RIP, registers.
        s.extend_from_slice(&[0x02, 0x00]);
        s.extend_from_slice(&[0x00, 0x10, 0x00, 0x00, 0x00]);
        for _ in 0..6 {
            s.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0]);
        }
        s.extend_from_slice(&[0x00, 0x01]);
        for r in 0..16u8 {
            s.extend_from_slice(&[2, 0x00, 0x20 + r]);
        }
        out.push(s);
    }
    out
}

/// READ DMA of one sector from the primary master, and an ATAPI READ(10)
/// of one block by DMA from the secondary master.
fn ide_dma() -> Vec<Vec<u8>> {
    let prd = |table: u16, address: u16, count: u16| {
        let mut s = vec![5];
        s.extend_from_slice(&table.to_le_bytes());
        s.extend_from_slice(&[0, 0]); // one entry, EOT
        s.extend_from_slice(&(address / 2).to_le_bytes());
        s.extend_from_slice(&count.to_le_bytes());
        s
    };
    let start = |channel: u8, table: u32| {
        let mut s = vec![11, channel];
        s.extend_from_slice(&table.to_le_bytes());
        s.push(0x08);
        s
    };
    let mut disk = prd(0x1000, 0x2000, 512);
    disk.extend_from_slice(&[9, 0]); // ATA command, primary master
    disk.extend_from_slice(&0u64.to_le_bytes()); // LBA 0
    disk.extend_from_slice(&1u16.to_le_bytes()); // one sector
    disk.extend_from_slice(&[0, 0]); // READ DMA, features 0
    disk.extend(start(0, 0x1000));
    disk.extend_from_slice(&[1, 7, 0]); // read Status
    let mut cd = prd(0x1100, 0x4000, 2048);
    // TEST UNIT READY collects the new disc's unit attention first.
    cd.extend_from_slice(&[10, 0, 0, 0]);
    cd.extend_from_slice(&[4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    cd.extend_from_slice(&[1, 16, 0]); // read Status
    cd.extend_from_slice(&[10, 1, 0x00, 0x08]); // PACKET with DMA, byte count 800h
    cd.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 0, 1, 0, 0, 0]); // READ(10) LBA 2, 1 block
    cd.extend(start(1, 0x1100));
    vec![disk, cd]
}

/// An ISO from sector 16: primary volume descriptor, El Torito boot record,
/// terminator, the catalog at 19 and a boot image at 20.
fn iso(media_type: u8, sector_count: u16) -> Vec<u8> {
    let mut iso = vec![0u8; 8 * SECTOR];
    let descriptor = |iso: &mut Vec<u8>, index: usize, vd_type: u8| {
        let d = &mut iso[index * SECTOR..];
        d[0] = vd_type;
        d[1..6].copy_from_slice(STANDARD_IDENTIFIER);
        d[6] = 1;
    };
    descriptor(&mut iso, 0, 1);
    descriptor(&mut iso, 1, VD_TYPE_BOOT_RECORD);
    let boot_record = &mut iso[SECTOR..2 * SECTOR];
    boot_record[BOOT_SYSTEM_IDENTIFIER..BOOT_SYSTEM_IDENTIFIER + 32]
        .copy_from_slice(EL_TORITO_IDENTIFIER);
    boot_record[BOOT_CATALOG_POINTER..BOOT_CATALOG_POINTER + 4]
        .copy_from_slice(&19u32.to_le_bytes());
    descriptor(&mut iso, 2, VD_TYPE_TERMINATOR);
    // The catalog: validation entry (checksummed), then the default entry.
    let catalog = &mut iso[3 * SECTOR..4 * SECTOR];
    catalog[0] = HEADER_ID_VALIDATION;
    catalog[1] = PLATFORM_X86;
    catalog[4..8].copy_from_slice(b"fuzz");
    catalog[0x1E] = KEY_55;
    catalog[0x1F] = KEY_AA;
    let sum = catalog[..32].chunks_exact(2).fold(0u16, |s, w| {
        s.wrapping_add(u16::from_le_bytes([w[0], w[1]]))
    });
    catalog[0x1C..0x1E].copy_from_slice(&0u16.wrapping_sub(sum).to_le_bytes());
    let default = &mut catalog[32..64];
    default[0] = BOOTABLE;
    default[1] = media_type;
    default[6..8].copy_from_slice(&sector_count.to_le_bytes());
    default[8..12].copy_from_slice(&20u32.to_le_bytes());
    // The boot image: a boot sector, with a partition table for a hard disk
    // (one partition ending at cylinder 19, head 15, sector 63: 10 MB).
    let image = &mut iso[4 * SECTOR..];
    image[..3].copy_from_slice(&[0xEB, 0xFE, 0x90]);
    if media_type == MEDIA_HARD_DISK {
        image[0x1BE..0x1CE].copy_from_slice(&[
            0x80, 1, 1, 0, 0x06, 15, 63, 19, 63, 0, 0, 0, 0x01, 0x4E, 0, 0,
        ]);
    }
    image[510] = 0x55;
    image[511] = 0xAA;
    iso
}

/// The ISOs of [`iso`] behind the size class that lets each boot.
fn eltorito() -> Vec<Vec<u8>> {
    [
        (0u8, MEDIA_NO_EMULATION, 4u16),
        (2, MEDIA_FLOPPY_1M44, 1),
        (6, MEDIA_HARD_DISK, 1),
    ]
    .into_iter()
    .map(|(class, media, count)| {
        let mut s = vec![class];
        s.extend(iso(media, count));
        s
    })
    .collect()
}

/// The media header of [`crate::media::BiosMedia::from_input`]: a disk with
/// a boot sector and a no-emulation CD, booted CD first.
fn media_header() -> Vec<u8> {
    let mut s = vec![0b110, 0b0100_0100]; // disk and CD; order: CD, disk
    s.extend_from_slice(&[3, 0, 0]); // floppy: 1.44 MB, no data
    let mut boot = vec![0u8; 512];
    boot[..2].copy_from_slice(&[0xEB, 0xFE]);
    boot[510..].copy_from_slice(&[0x55, 0xAA]);
    s.push(4); // disk: 10 MB
    s.extend_from_slice(&512u16.to_le_bytes());
    s.extend(boot);
    let cd = iso(MEDIA_NO_EMULATION, 4);
    s.push(1); // CD: 2.2 MB
    s.extend_from_slice(&(cd.len() as u16).to_le_bytes());
    s.extend(cd);
    s
}

/// A call: service selector, then EAX..EBP, DS, ES, FLAGS.
fn call(select: u8, eax: u32, ebx: u32, ecx: u32, edx: u32, es: u16, edi: u32) -> Vec<u8> {
    let mut s = vec![0, select];
    for r in [eax, ebx, ecx, edx, 0, edi, 0] {
        s.extend_from_slice(&r.to_le_bytes());
    }
    s.extend_from_slice(&0u16.to_le_bytes());
    s.extend_from_slice(&es.to_le_bytes());
    s.extend_from_slice(&0x0202u16.to_le_bytes());
    s
}

/// POST (which boots the CD), then INT 13h reads from the disk and the CD,
/// E820, the time of day and teletype output.
fn bios_handle() -> Vec<Vec<u8>> {
    let mut s = Vec::new();
    s.extend_from_slice(&255u16.to_le_bytes()); // 256 MiB
    s.push(0); // the first MiB and the HMA
    s.extend(media_header());
    s.extend_from_slice(&1_709_214_330u32.to_le_bytes());
    // Selectors: (index of the vector in SERVICED) << 3.
    s.extend(call(15, 0, 0, 0, 0, 0, 0)); // POST
    s.extend(call(0, 0x0201, 0x7E00, 0x0001, 0x0080, 0, 0)); // INT 13h AH=02h
    s.extend(call(0, 0x0800, 0, 0, 0x0080, 0, 0)); // INT 13h AH=08h
    s.extend(call(0, 0x4B01, 0, 0, 0x00E0, 0, 0x500)); // INT 13h AX=4B01h
    s.extend(call(2 << 3, 0xE820, 0, 20, 0x534D_4150, 0, 0x600)); // INT 15h E820
    s.extend(call(4 << 3, 0x0200, 0, 0, 0, 0, 0)); // INT 1Ah AH=02h
    s.extend(call(1 << 3, 0x0E41, 0, 0, 0, 0, 0)); // INT 10h AH=0Eh
    vec![s]
}

/// The same story through the hypervisor's trap path: POST from the ROM,
/// then INT 13h and INT 10h calls from their stubs.
fn bios_trap() -> Vec<Vec<u8>> {
    let mut s = media_header();
    s.push(0); // no RAM patches
    s.extend_from_slice(&1_709_214_330u32.to_le_bytes());
    // trap: op 0, how (low bits: 0 POST, 3 a serviced vector by index), index,
    // registers (mostly-small encoding: 2 = a 16-bit value), flags, DS, ES, SS, size.
    let trap = |how: u8, index: Option<u8>, ax: u16, bx: u16, cx: u16, dx: u16| {
        let mut t = vec![0, how];
        t.extend(index);
        for r in [ax, cx, dx, bx, 0x7000, 0, 0, 0] {
            t.push(2);
            t.extend_from_slice(&r.to_le_bytes());
        }
        for _ in 8..16 {
            t.extend_from_slice(&[2, 0, 0]);
        }
        t.extend_from_slice(&0x0202u16.to_le_bytes());
        t.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        t.push(0);
        t
    };
    s.extend(trap(0, None, 0, 0, 0, 0));
    s.extend(trap(3, Some(0), 0x0201, 0x7E00, 0x0001, 0x0080));
    s.extend(trap(3, Some(0), 0x4200, 0, 0, 0x00E0));
    s.extend(trap(3, Some(1), 0x0E41, 0, 0, 0));
    s.extend_from_slice(&[6, 0x40, 0x42, 0x0F, 0]); // time passes, board serviced
    vec![s]
}

/// Linux's xenbus probe over the first guest's ring (READ of the
/// reset-watches feature, RESET_WATCHES, DIRECTORY and WATCH of `device`),
/// one request split across two kicks, a backend's write under `device/`,
/// and the guest reading its replies in between.
fn xenstore_ring() -> Vec<Vec<u8>> {
    let msg = |kind: u32, req_id: u32, payload: &[u8]| {
        let mut m = Vec::new();
        for f in [kind, req_id, 0, payload.len() as u32] {
            m.extend_from_slice(&f.to_le_bytes());
        }
        m.extend_from_slice(payload);
        m
    };
    // Op byte: bit 0 the guest, bits 1-3 the action (see the target).
    let raw = |guest: u8, bytes: &[u8]| {
        let mut s = vec![guest, 0];
        s.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
        s.extend_from_slice(bytes);
        s
    };
    let kick = |guest: u8| guest | 7 << 1;
    let consume = |guest: u8| vec![guest | 4 << 1, 0xFF, 0xFF];
    let mut s = vec![0, 0]; // no initial page contents
    s.extend(raw(
        0,
        &msg(2, 1, b"control/platform-feature-xs_reset_watches\0"),
    ));
    s.extend(raw(0, &msg(21, 2, b"\0")));
    s.extend(raw(0, &msg(1, 3, b"device\0")));
    s.push(kick(0));
    s.extend(consume(0));
    let watch = msg(4, 4, b"device\0ffff8880deadbeef\0");
    s.extend(raw(0, &watch[..10]));
    s.push(kick(0));
    s.extend(raw(0, &watch[10..]));
    s.push(kick(0));
    // Domain 0 writes device/vbd/51712/state (path 3) = "1".
    s.extend_from_slice(&[6 << 1, 3, 1, b'1']);
    s.push(5 << 1); // flush
    s.extend(consume(0));
    // The second guest writes and reads its own data.
    s.extend(raw(1, &msg(11, 5, b"data/a\0value")));
    s.extend(raw(1, &msg(2, 6, b"data/a\0")));
    s.push(kick(1));
    s.extend(consume(1));
    vec![s]
}

/// Linux 6.1's HVM boot through the hypercall target's script: the
/// hypercall page, the features, shared info, vcpu_info, the callback
/// vector, VIRQ and IPI binds, the store params and kicks, the one-shot
/// timer, console input, the probes that must fail, the grant table, the
/// memory map and poweroff; once plainly, once on AMD with a memory map
/// and a hole under the argument page.
fn hypercall() -> Vec<Vec<u8>> {
    // A 64-bit operand in the "mostly small" encoding (selector 0: all 8 bytes).
    let word = |v: u64| {
        let mut b = vec![0];
        b.extend_from_slice(&v.to_le_bytes());
        b
    };
    // Step 4: the guest writes `bytes` at `at`.
    let poke = |at: u64, bytes: &[u8]| {
        let mut s = vec![4];
        s.extend(word(at));
        s.push(bytes.len() as u8);
        s.extend_from_slice(bytes);
        s
    };
    // Steps 0-3: hypercall NUMBERS[index] from CPL 0, 64-bit, vCPU 0.
    let call = |index: u8, args: &[u64]| {
        let mut s = vec![0, index, 0];
        for i in 0..5 {
            s.extend(word(args.get(i).copied().unwrap_or(0)));
        }
        s
    };
    let fields = |parts: &[&[u8]]| parts.concat();
    const ARG: u64 = 0x1000;
    let (memory, hypercall, version, gnttab, vcpu, sched, evtchn, hvm) = (0, 1, 2, 4, 6, 7, 8, 9);
    let param = |index: u32, value: u64| {
        fields(&[
            &0x7FF0u16.to_le_bytes(),
            &[0, 0],
            &index.to_le_bytes(),
            &value.to_le_bytes(),
        ])
    };
    let mut boot = Vec::new();
    boot.extend_from_slice(&[14, 0]); // the hypercall-page MSR, at 0x5000
    boot.extend(word(0x5000));
    boot.extend(poke(ARG, &[0; 8]));
    boot.extend(call(version, &[6, ARG]));
    let physmap = |space: u32, idx: u64, gpfn: u64| {
        fields(&[
            &0x7FF0u16.to_le_bytes(),
            &[0, 0],
            &space.to_le_bytes(),
            &idx.to_le_bytes(),
            &gpfn.to_le_bytes(),
        ])
    };
    boot.extend(poke(ARG, &physmap(0, 0, 8)));
    boot.extend(call(memory, &[7, ARG]));
    boot.extend(poke(ARG, &fields(&[&9u64.to_le_bytes(), &[0; 8]])));
    boot.extend(call(vcpu, &[10, 0, ARG]));
    boot.extend(call(evtchn, &[11, ARG])); // init_control: ENOSYS
    boot.extend(call(hvm, &[9, ARG])); // pagetable_dying: ENOSYS
    boot.extend(poke(ARG, &param(0, 0x0200_0000_0000_00F3)));
    boot.extend(call(hvm, &[0, ARG]));
    boot.extend(call(vcpu, &[7, 0, 0])); // stop_periodic_timer
    boot.extend(poke(ARG, &0x3000u64.to_le_bytes()));
    boot.extend(call(vcpu, &[5, 0, ARG])); // runstate area
    boot.extend(poke(ARG, &[0; 12]));
    boot.extend(call(evtchn, &[1, ARG])); // bind_virq TIMER
    boot.extend(poke(ARG, &[0; 8]));
    boot.extend(call(evtchn, &[7, ARG])); // bind_ipi
    boot.extend(poke(ARG, &param(2, 0)));
    boot.extend(call(hvm, &[1, ARG])); // get_param STORE_EVTCHN
    for port in [1u32, 2] {
        boot.extend(poke(ARG, &port.to_le_bytes()));
        boot.extend(call(evtchn, &[4, ARG])); // send: store, console
    }
    boot.extend(poke(ARG, &fields(&[&1u64.to_le_bytes(), &[0; 8]])));
    boot.extend(call(vcpu, &[8, 0, ARG])); // a one-shot timer already due
    boot.extend_from_slice(&[5, 0xE8, 0x03, 0, 0]); // time passes: it fires
    boot.extend_from_slice(&[6, 3, b'l', b's', b'\n', 5, 0, 0, 0, 0]); // typed input
    boot.extend(poke(ARG, &fields(&[&0x7FF0u16.to_le_bytes(), &[0; 14]])));
    boot.extend(call(gnttab, &[6, ARG, 1])); // query_size
    boot.extend(poke(ARG, &physmap(1, 0, 0xF_0000)));
    boot.extend(call(memory, &[7, ARG])); // grant frame 0
    boot.extend(poke(
        ARG,
        &fields(&[&8u32.to_le_bytes(), &[0; 4], &0x2000u64.to_le_bytes()]),
    ));
    boot.extend(call(memory, &[9, ARG])); // memory_map
    boot.extend(call(hypercall, &[5_000_000_000])); // set_timer_op
    boot.extend_from_slice(&[7]); // the host asks for poweroff
    boot.extend(poke(ARG, &0u32.to_le_bytes()));
    boot.extend(call(sched, &[2, ARG])); // SCHEDOP_shutdown
                                         // Header: 1 vCPU, 3 GHz, flags, TSC at start, Unix time, hole, read-only.
    let header = |flags: u8, hole: u8| {
        let mut h = vec![1, 0, flags];
        h.extend_from_slice(&1_000_000u32.to_le_bytes());
        h.extend_from_slice(&1_700_000_000_000_000_000u64.to_le_bytes());
        h.extend_from_slice(&[hole, 0]);
        h
    };
    let plain = [header(0, 0), boot.clone()].concat();
    // The second: AMD, a memory map, a hole over 0x0800-0x1800 (the
    // arguments fault).
    let hostile = [header(3, 0xA1), boot].concat();
    vec![plain, hostile]
}

/// blkfront's first reads as the PV block backend sees them: data pages
/// granted, a one-segment and an eleven-segment read, a write, a flush,
/// each kicked, then the disk completing newest first; and the same on a
/// disk with room for one request at a time.
fn blkif_ring() -> Vec<Vec<u8>> {
    let grant = |gref: u32, gfn: u32| {
        let mut s = vec![3u8];
        s.extend_from_slice(&(gref - 8).to_le_bytes()); // gref % 64, from 8
        s.extend_from_slice(&1u16.to_le_bytes()); // GTF_permit_access
        s.push(0); // domain 0
        s.extend_from_slice(&gfn.to_le_bytes());
        s
    };
    let request = |op_index: u8, nr: u8, id: u64, sector: u64| {
        let mut s = vec![1u8, op_index, nr];
        s.extend_from_slice(&id.to_le_bytes());
        s.extend_from_slice(&sector.to_le_bytes());
        for i in 0..11u32 {
            s.extend_from_slice(&i.to_le_bytes()); // gref 8 + i
            s.extend_from_slice(&[0, 7]);
        }
        s
    };
    let service = 7u8;
    let finish = [5u8, 0xFF, 1, 0];
    let mut out = Vec::new();
    for depth in [31u8, 0] {
        // Order 0, not read-only, flush, no barrier or discard, 32
        // indirect segments, the disk's depth.
        let mut s = vec![0, 0, 1, 0, 0, 32, depth];
        for i in 0..11 {
            s.extend(grant(8 + i, 4 + i));
        }
        s.extend(request(0, 1, 1, 0));
        s.push(service);
        s.extend(request(0, 11, 2, 64));
        s.extend(request(1, 2, 3, 128));
        s.extend(request(3, 0, 4, 0));
        s.push(service);
        s.extend_from_slice(&finish);
        s.push(service);
        s.extend_from_slice(&finish);
        s.push(service);
        s.extend_from_slice(&finish);
        s.push(service);
        out.push(s);
    }
    out
}

/// Three boots through the apic_pm target's script (each step: the vCPU,
/// the operation, its operands): an xAPIC boot processor with a periodic
/// timer, the SCI through I/O APIC pin 9 acknowledged and EOI'd until the
/// power button's status is cleared, and INIT, SIPI and a fixed IPI to the
/// second processor; both processors in x2APIC mode with a TSC-deadline
/// timer, self and logical IPIs and an I/O APIC broadcast, then back to
/// xAPIC through disabled; the PM timer's SCI and soft off.
fn apic_pm() -> Vec<Vec<u8>> {
    // Header: clock from 0, second APIC ID 1, I/O APIC ID 0, options.
    let header = |options: u8| vec![0, 0, 0, options];
    let mmio_write = |cpu: u8, offset: u16, value: u32| {
        let mut s = vec![cpu, 0, 0, (offset >> 4) as u8, 0];
        s.extend_from_slice(&value.to_le_bytes());
        s
    };
    let mmio_read = |cpu: u8, offset: u16| vec![cpu, 1, 0, (offset >> 4) as u8, 0];
    // An MSR by its selector: 0 IA32_APIC_BASE, 1 TSC deadline, 4 x2APIC.
    let msr = |msr: u32| match msr {
        0x1B => vec![0],
        0x6E0 => vec![1],
        m => vec![4, (m - 0x800) as u8],
    };
    let msr_write = |cpu: u8, m: u32, value: u64| {
        let mut s = vec![cpu, 2];
        s.extend(msr(m));
        s.push(0); // a full 64-bit value
        s.extend_from_slice(&value.to_le_bytes());
        s
    };
    let msr_read = |cpu: u8, m: u32| [vec![cpu, 3], msr(m)].concat();
    let icr = |cpu: u8, low: u32, destination: u32| {
        let mut s = vec![cpu, 4];
        s.extend_from_slice(&low.to_le_bytes());
        s.extend_from_slice(&destination.to_le_bytes());
        s
    };
    let take_and_eoi = |cpu: u8| vec![cpu, 6, 1];
    let time = |ns: u64| {
        let mut s = vec![0, 8, 3];
        s.extend_from_slice(&ns.to_le_bytes());
        s
    };
    let entry = |pin: u8, low: u32, destination: u8| {
        let mut s = vec![0, 12, pin];
        s.extend_from_slice(&low.to_le_bytes());
        s.push(destination);
        s
    };
    let pin = |pin: u8, level: u8| vec![0, 13, pin, level];
    // Port writes and reads of 2 bytes (size index 2), 4 for PM_TMR (0).
    let pm_write = |offset: u8, value: u32| {
        let mut s = vec![0, 15, offset, 2];
        s.extend_from_slice(&value.to_le_bytes());
        s
    };
    let pm_read = |offset: u8, size_index: u8| vec![0, 16, offset, size_index];
    let power_button = vec![0, 17];
    let ioapic_read = |register: u8| {
        let mut s = vec![0, 10, 0, 0];
        s.extend_from_slice(&u32::from(register).to_le_bytes());
        s.extend_from_slice(&[0, 11, 1, 0]);
        s
    };

    let mut xapic = header(2); // the BIOS's virtual wire on the BSP
    xapic.extend(mmio_write(0, 0xF0, 0x1FF)); // SVR: software-enabled
    xapic.extend(mmio_write(0, 0x320, 0x2_00EF)); // LVT timer: periodic, EFh
    xapic.extend(mmio_write(0, 0x3E0, 0xB)); // divide by 1
    xapic.extend(mmio_write(0, 0x380, 1_000_000)); // 1 ms
    xapic.extend(time(1_500_000));
    xapic.extend(take_and_eoi(0));
    xapic.extend(mmio_read(0, 0x390)); // current count
    xapic.extend(entry(9, 0x8039, 0)); // SCI: level, fixed 39h, to APIC 0
    xapic.extend(pm_write(2, 0x0100)); // PWRBTN_EN
    xapic.extend(power_button.clone());
    xapic.extend(mmio_read(0, 0x210)); // IRR 32-63
    xapic.extend(take_and_eoi(0)); // EOI broadcast: the pin sends again
    xapic.extend(pm_read(0, 2));
    xapic.extend(pm_write(0, 0x0100)); // PWRBTN_STS cleared: SCI low
    xapic.extend(take_and_eoi(0));
    xapic.extend(mmio_read(0, 0x0A0)); // PPR
    xapic.extend(icr(0, 0x4500, 1)); // INIT to APIC 1
    xapic.extend(icr(0, 0x4608, 1)); // SIPI, page 8
    xapic.extend(mmio_write(1, 0xF0, 0x1FF));
    xapic.extend(icr(0, 0x0040, 1)); // fixed 40h
    xapic.extend(take_and_eoi(1));
    xapic.extend(icr(0, 0xC_0400, 0)); // NMI to all but self
    xapic.extend(ioapic_read(0x01));

    let mut x2apic = header(1); // the I/O APIC has an EOI register
    x2apic.extend(msr_write(0, 0x1B, 0xFEE0_0D00)); // EN | EXTD | BSP
    x2apic.extend(msr_write(0, 0x80F, 0x1FF));
    x2apic.extend(msr_write(0, 0x832, 0x4_00EC)); // TSC-deadline, ECh
    x2apic.extend(msr_write(0, 0x6E0, 3_000_000)); // 1 ms at 3 GHz
    x2apic.extend(msr_read(0, 0x6E0));
    x2apic.extend(time(2_000_000));
    x2apic.extend(take_and_eoi(0));
    x2apic.extend(msr_write(0, 0x83F, 0x50)); // SELF IPI
    x2apic.extend(take_and_eoi(0));
    x2apic.extend(msr_read(0, 0x802));
    x2apic.extend(msr_read(0, 0x830));
    x2apic.extend(msr_write(1, 0x1B, 0xFEE0_0C00));
    x2apic.extend(msr_write(1, 0x80F, 0x1FF));
    x2apic.extend(icr(0, 0x0860, 2)); // logical: cluster 0, ID 1's bit
    x2apic.extend(take_and_eoi(1));
    x2apic.extend(entry(4, 0x0034, 0xFF)); // edge, fixed 34h, broadcast
    x2apic.extend(pin(4, 1));
    x2apic.extend(take_and_eoi(0));
    x2apic.extend(take_and_eoi(1));
    x2apic.extend(msr_write(0, 0x80F, 0x11FF)); // suppress EOI broadcast
    x2apic.extend(entry(10, 0x8045, 0)); // level, fixed 45h
    x2apic.extend(pin(10, 1));
    x2apic.extend(take_and_eoi(0));
    x2apic.extend(msr_write(0, 0x1B, 0xFEE0_0000)); // disabled
    x2apic.extend(msr_write(0, 0x1B, 0xFEE0_0800)); // xAPIC again
    x2apic.extend(mmio_read(0, 0x030));

    let mut pm = header(0);
    pm.extend(mmio_write(0, 0xF0, 0x1FF));
    pm.extend(entry(9, 0x8039, 0));
    pm.extend(pm_write(2, 0x0001)); // TMR_EN
    pm.extend(time(2_400_000_000)); // past the counter's top-bit change
    pm.extend(pm_read(0, 2));
    pm.extend([0, 6, 0]); // the vCPU takes the SCI's vector
    pm.extend(pm_write(0, 0x0001)); // TMR_STS cleared, then EOI
    pm.extend([0, 7]);
    pm.extend(pm_read(8, 0)); // PM_TMR
    pm.extend(pm_read(6, 2)); // nothing there
    pm.extend(pm_write(4, 0x2401)); // SLP_TYP 1 with SLP_EN: no such state
    pm.extend(pm_write(4, 0x2001)); // SLP_TYP 0 (S5): soft off
    vec![xapic, x2apic, pm]
}

/// A Linux-like kernel (one segment at 16 MiB with .bss) in 256 MiB with an
/// initrd and a command line, and one whose initrd does not fit.
fn pvh_start() -> Vec<Vec<u8>> {
    use xen_services::pvh_start::kernel_module::{encode, KernelSegment};
    let module = encode(
        0x100_0850,
        &[KernelSegment {
            paddr: 0x100_0000,
            mem_size: 0x20_0000,
            data: &[0x90; 64],
        }],
    );
    let mut out = Vec::new();
    for (ram_choice, initrd_shift) in [(3u8, 12u8), (2, 20)] {
        // RAM choice; extra RAM (u16 0); initrd 8 << shift; ACPI 4 KiB;
        // the command line's length and bytes; the module.
        let mut seed = vec![
            ram_choice,
            2,
            0,
            0,
            2,
            8,
            0,
            initrd_shift,
            2,
            0,
            0x10,
            12,
            0,
        ];
        seed.extend_from_slice(b"console=hvc0");
        seed.extend_from_slice(&module);
        out.push(seed);
    }
    out
}
