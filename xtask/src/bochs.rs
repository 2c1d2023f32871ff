//! Running the hypervisor under Debian's Bochs, which emulates VT-x (with EPT
//! and unrestricted guest) and a second SVM implementation (with NRIP-save):
//! shared/notes/bochs-vmx.md. Bochs boots the GRUB ISO; the hypervisor's port
//! E9h log arrives on Bochs' stdout among Bochs' own lines, COM1 is a TCP
//! connection Bochs opens to the runner (both directions of the guest
//! console), and Bochs always exits with status 1, so the outcome is read from
//! the hypervisor's log.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

/// Which CPU Bochs emulates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BochsCpu {
    /// `corei7_skylake_x`: VMX with EPT, unrestricted guest, VPID.
    Intel,
    /// `ryzen`: SVM with NPT and NRIP-save.
    Amd,
}

impl BochsCpu {
    fn model(self) -> &'static str {
        match self {
            BochsCpu::Intel => "corei7_skylake_x",
            BochsCpu::Amd => "ryzen",
        }
    }
}

/// A headless bochsrc for Debian's 2.7 build (see the note for each line's
/// reason). COM1 connects to `com1` (see `Com1Listener`); COM2, the text
/// screen mirror, goes to the file `com2`.
pub fn bochsrc(cpu: BochsCpu, megs: u64, iso: &Path, com1: SocketAddr, com2: &Path) -> String {
    format!(
        "megs: {megs}\n\
         cpu: model={model}, count=1, ips=100000000, reset_on_triple_fault=0\n\
         romimage: file=/usr/share/bochs/BIOS-bochs-latest\n\
         vgaromimage: file=/usr/share/vgabios/vgabios.bin\n\
         pci: enabled=1, chipset=i440fx\n\
         ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14\n\
         ata0-master: type=cdrom, path={iso}, status=inserted\n\
         boot: cdrom\n\
         display_library: rfb, options=\"timeout=0\"\n\
         speaker: enabled=0\n\
         sound: driver=dummy\n\
         log: bochs.log\n\
         port_e9_hack: enabled=1\n\
         com1: enabled=1, mode=socket-client, dev={com1}\n\
         com2: enabled=1, mode=file, dev={com2}\n\
         panic: action=fatal\n\
         error: action=report\n\
         info: action=report\n\
         debug: action=ignore\n",
        model = cpu.model(),
        iso = iso.display(),
        com2 = com2.display(),
    )
}

/// The runner's end of Bochs' COM1: a listening socket on a free loopback
/// port, opened before Bochs starts. Bochs' `socket-client` mode connects once,
/// while it initialises its devices, and treats the port as unplugged if
/// nothing listens then, so the port must be open first; the OS picks it
/// (port 0), so runs side by side never collide.
pub struct Com1Listener {
    listener: TcpListener,
}

impl Com1Listener {
    /// Listens on 127.0.0.1 at a port the OS picks.
    pub fn open() -> Result<Self, String> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|e| format!("cannot listen on 127.0.0.1 for Bochs' COM1: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("cannot listen on 127.0.0.1 for Bochs' COM1: {e}"))?;
        Ok(Self { listener })
    }

    /// The address for the bochsrc's `com1:` line.
    pub fn addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Waits for Bochs to connect, giving up after `timeout` or as soon as
    /// `gone` says Bochs has exited. The connection blocks on reads.
    pub fn accept(
        self,
        timeout: Duration,
        mut gone: impl FnMut() -> bool,
    ) -> Result<TcpStream, String> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    stream
                        .set_nonblocking(false)
                        .map_err(|e| format!("Bochs' COM1 connection: {e}"))?;
                    let _ = stream.set_nodelay(true);
                    return Ok(stream);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("Bochs' COM1 connection: {e}")),
            }
            if gone() {
                return Err(format!(
                    "bochs exited before connecting its COM1 to {}",
                    self.addr()
                ));
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "bochs did not connect its COM1 to {} within {}s",
                    self.addr(),
                    timeout.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// True for a line of Bochs' own on its stdout (banner, log lines, the
/// debugger's), false for the hypervisor's port E9h output.
pub fn is_bochs_line(line: &str) -> bool {
    let bochs_log = line.len() > 12
        && line.as_bytes()[..11].iter().all(u8::is_ascii_digit)
        && line[11..].starts_with(|c: char| c.is_ascii_lowercase());
    line.starts_with("=====")
        || line.starts_with("  ")
        || line.starts_with("Next at t=")
        || line.starts_with("(0)")
        || line.starts_with("Bochs is exiting")
        || line.starts_with("[UNMAP ]")
        || line.starts_with("<bochs:")
        || bochs_log
}

/// The outcome the hypervisor logged, as the QEMU exit status it would have
/// given (1 finished, 3 guest failed, 5 hypervisor failed).
pub fn status_from_log(log: &str) -> Option<i32> {
    let line = log.lines().rev().find(|l| l.contains("run outcome: "))?;
    if line.contains("GuestFinished") {
        Some(1)
    } else if line.contains("GuestFailed") {
        Some(3)
    } else if line.contains("HypervisorFailed") {
        Some(5)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bochs_lines_are_told_from_the_hypervisor_log() {
        assert!(is_bochs_line(
            "00000000000i[      ] reading configuration from bochsrc"
        ));
        assert!(is_bochs_line(
            "========================================================================"
        ));
        assert!(is_bochs_line(
            "                        Bochs x86 Emulator 2.7"
        ));
        assert!(is_bochs_line(
            "(0) [0x0000fffffff0] f000:fff0 (unk. ctxt): jmpf 0xf000:e05b"
        ));
        assert!(!is_bochs_line("[INFO ] vmm 0.1.0: started"));
        assert!(!is_bochs_line("rax=0000000000000000 rcx=0000000000000000"));
        assert!(!is_bochs_line("--- exit statistics ---"));
    }

    #[test]
    fn outcome_comes_from_the_last_outcome_line() {
        assert_eq!(
            status_from_log("[INFO ] vmm: run outcome: GuestFinished\n"),
            Some(1)
        );
        assert_eq!(
            status_from_log("x\n[INFO ] vmm: run outcome: GuestFailed\n"),
            Some(3)
        );
        assert_eq!(
            status_from_log("[ERROR] vmm: no\n[INFO ] vmm: run outcome: HypervisorFailed"),
            Some(5)
        );
        assert_eq!(status_from_log("[INFO ] vmm 0.1.0: started\n"), None);
    }

    #[test]
    fn bochsrc_names_the_cpu_model_and_files() {
        let rc = bochsrc(
            BochsCpu::Intel,
            128,
            Path::new("/r/hv.iso"),
            SocketAddr::from((Ipv4Addr::LOCALHOST, 40123)),
            Path::new("/r/screen.out"),
        );
        assert!(rc.contains("cpu: model=corei7_skylake_x,"));
        assert!(rc.contains("path=/r/hv.iso"));
        // COM1 is the runner's socket; COM2, the screen mirror, stays a file.
        assert!(rc.contains("\ncom1: enabled=1, mode=socket-client, dev=127.0.0.1:40123\n"));
        assert!(rc.contains("\ncom2: enabled=1, mode=file, dev=/r/screen.out\n"));
        assert!(rc.contains("speaker: enabled=0") && rc.contains("sound: driver=dummy"));
    }

    #[test]
    fn com1_listens_on_a_free_loopback_port_and_takes_one_connection() {
        let a = Com1Listener::open().unwrap();
        let b = Com1Listener::open().unwrap();
        let addr = a.addr();
        assert_eq!(addr.ip(), std::net::IpAddr::from(Ipv4Addr::LOCALHOST));
        assert_ne!(addr.port(), 0);
        assert_ne!(addr.port(), b.addr().port());
        let rc = bochsrc(
            BochsCpu::Amd,
            64,
            Path::new("x.iso"),
            addr,
            Path::new("s.out"),
        );
        assert!(rc.contains(&format!(
            "mode=socket-client, dev=127.0.0.1:{}\n",
            addr.port()
        )));
        // What Bochs does: connect, then talk both ways.
        let client = std::thread::spawn(move || {
            use std::io::{Read, Write};
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"out").unwrap();
            let mut typed = [0u8; 2];
            s.read_exact(&mut typed).unwrap();
            typed
        });
        let mut conn = a.accept(Duration::from_secs(10), || false).unwrap();
        use std::io::{Read, Write};
        let mut out = [0u8; 3];
        conn.read_exact(&mut out).unwrap();
        assert_eq!(&out, b"out");
        conn.write_all(b"in").unwrap();
        assert_eq!(&client.join().unwrap(), b"in");
    }

    #[test]
    fn com1_gives_up_when_bochs_exits_or_never_connects() {
        let l = Com1Listener::open().unwrap();
        let e = l.accept(Duration::from_secs(10), || true).unwrap_err();
        assert!(e.contains("exited before connecting"), "{e}");
        let l = Com1Listener::open().unwrap();
        let e = l.accept(Duration::from_millis(50), || false).unwrap_err();
        assert!(e.contains("did not connect"), "{e}");
    }
}
