//! `bios_handle`: `firmware::bios::Bios::handle`, the emulated BIOS's
//! services, called as a hostile guest calls them: any service (POST, the
//! IRQ handlers, INT 10h-1Ah, vectors no stub traps for) with any registers,
//! against real-mode memory the guest filled, a platform with the real CMOS
//! RTC and 8042, and a floppy, a disk and a CD of many sizes whose contents
//! come from the input. One input is a sequence of calls, so a boot can be
//! followed by INT 13h reads of what it set up.

use crate::input::Input;
use crate::media::BiosMedia;
use device_model::cmos_rtc::CmosRtc;
use device_model::i8042::I8042;
use firmware::rom::Service;
use firmware::{BiosPlatform, Next, RealMemory, Regs};
use pc_layout::ports::{CMOS_DATA, CMOS_INDEX, I8042_COMMAND, I8042_DATA, SYSTEM_CONTROL_A};

/// Most service calls one input makes.
const MAX_CALLS: usize = 64;
/// Most operations one input runs.
const MAX_OPS: usize = 512;
/// Host time the platform starts at (not on a second boundary).
const START_NS: u64 = 5_000_000_123;

/// The vectors whose ROM stubs trap, first the ones with the most behind them.
pub const SERVICED: [u8; 27] = [
    0x13, 0x10, 0x15, 0x16, 0x1A, 0x19, 0x11, 0x12, 0x14, 0x17, 0x18, 0x08, 0x09, 0x0A, 0x0B, 0x0C,
    0x0D, 0x0E, 0x0F, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77,
];

/// Real-mode memory: a byte vector from linear address 0, refusing the rest.
pub struct Memory(pub Vec<u8>);

impl RealMemory for Memory {
    fn read(&self, addr: u32, buf: &mut [u8]) -> bool {
        let a = addr as usize;
        match a.checked_add(buf.len()).and_then(|end| self.0.get(a..end)) {
            Some(s) => {
                buf.copy_from_slice(s);
                true
            }
            None => false,
        }
    }

    fn write(&mut self, addr: u32, data: &[u8]) -> bool {
        let a = addr as usize;
        match a
            .checked_add(data.len())
            .and_then(|end| self.0.get_mut(a..end))
        {
            Some(s) => {
                s.copy_from_slice(data);
                true
            }
            None => false,
        }
    }
}

/// The real CMOS RTC at 70h/71h, the real 8042 at 60h/64h and port 92h;
/// other ports read FFh and ignore writes, as nothing answers them.
struct Platform {
    rtc: CmosRtc,
    kbc: I8042,
    ram: u64,
    now_ns: u64,
}

impl BiosPlatform for Platform {
    fn port_in(&mut self, port: u16) -> u8 {
        match port {
            CMOS_INDEX | CMOS_DATA => self.rtc.read(port, self.now_ns),
            I8042_DATA | I8042_COMMAND | SYSTEM_CONTROL_A => self.kbc.read(port),
            _ => 0xFF,
        }
    }

    fn port_out(&mut self, port: u16, value: u8) {
        match port {
            CMOS_INDEX | CMOS_DATA => self.rtc.write(port, value, self.now_ns),
            I8042_DATA | I8042_COMMAND | SYSTEM_CONTROL_A => self.kbc.write(port, value),
            _ => {}
        }
    }

    fn ram_size(&self) -> u64 {
        self.ram
    }

    fn now_ns(&self) -> u64 {
        self.now_ns
    }
}

/// The service a trap asks for: mostly a serviced vector, sometimes POST or
/// any vector at all.
pub fn service(input: &mut Input) -> Service {
    let select = input.u8();
    match select % 16 {
        15 => Service::Post,
        14 => Service::Interrupt(input.u8()),
        _ => Service::Interrupt(SERVICED[usize::from(select >> 3) % SERVICED.len()]),
    }
}

/// The registers a guest calls with.
pub fn regs(input: &mut Input) -> Regs {
    Regs {
        eax: input.u32(),
        ebx: input.u32(),
        ecx: input.u32(),
        edx: input.u32(),
        esi: input.u32(),
        edi: input.u32(),
        ebp: input.u32(),
        ds: input.u16(),
        es: input.u16(),
        flags: input.u16(),
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    // RAM as the hypervisor offers it: 1 MiB to 3 GiB in whole MiB.
    let ram = (u64::from(input.u16()) % pc_layout::memory::MAX_RAM_MIB + 1) << 20;
    // What real-mode addresses reach: all of the first MiB and the HMA, or less.
    let memory_size = input.choose(&[0x11_0000, 0x10_0000, 0x10_FFF0, 0xA_0000]);
    let mut mem = Memory(vec![0u8; memory_size]);
    let media = BiosMedia::from_input(&mut input);
    let mut bios = media.bios();
    let mut pf = Platform {
        rtc: CmosRtc::new(u64::from(input.u32()), START_NS),
        kbc: I8042::new(),
        ram,
        now_ns: START_NS,
    };
    let mut calls = 0;
    for _ in 0..MAX_OPS {
        if input.is_empty() || calls == MAX_CALLS {
            break;
        }
        match input.u8() % 8 {
            0..=2 => {
                calls += 1;
                let service = service(&mut input);
                let mut r = regs(&mut input);
                if bios.handle(service, &mut r, &mut mem, &mut pf) == Next::WaitAndRetry {
                    // The guest halts until the next interrupt: time passes.
                    pf.now_ns += 1_000_000;
                }
            }
            3 => {
                let at = input.u32() as usize % memory_size;
                let len = usize::from(input.u16() % 1024);
                let bytes = input.bytes(len);
                let end = (at + bytes.len()).min(memory_size);
                mem.0[at..end].copy_from_slice(&bytes[..end - at]);
            }
            4 => media.patch(&mut input),
            5 => pf.now_ns += u64::from(input.u32()) * 1000,
            6 => {
                let len = usize::from(input.u8() % 16);
                pf.kbc.type_bytes(input.bytes(len));
                pf.kbc.input_idle();
                pf.kbc.service(pf.now_ns);
            }
            _ => {
                // The guest programs the devices itself between calls.
                let port = input.choose(&[CMOS_INDEX, CMOS_DATA, I8042_DATA, I8042_COMMAND]);
                let value = input.u8();
                pf.port_out(port, value);
            }
        }
    }
}
