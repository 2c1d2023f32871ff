//! Starting a run under Bochs: the GRUB ISO, the bochsrc, and the threads
//! that split Bochs' output into the hypervisor's log and the guest console.
//!
//! The guest console is Bochs' COM1 in `socket-client` mode, connected to a
//! port the runner listens on: what arrives is the console (also recorded in
//! `com1.out`), and what the runner writes is typed into COM1. That writing
//! end is handed over as the child's stdin, so `follow` types `input` and
//! `send` exactly as it does into QEMU's `-serial stdio`.

use super::media::SCREEN_FILE;
use super::options::RunOptions;
use super::streams::SpawnedEmulator;
use crate::bochs;
use crate::grub;
use crate::qemu::BootModule;
use crate::tools;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::OwnedFd;
use std::process::{ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long Bochs has to connect its COM1 after starting (it does so while
/// initialising its devices, well before the BIOS runs).
const COM1_CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

/// Starts Bochs on a GRUB ISO. Its stdout (Bochs' own lines and the
/// hypervisor's port E9h log) is split: the hypervisor's lines go to the log
/// file. COM1 is a TCP connection: what Bochs sends goes to `com1.out` and the
/// console channel until Bochs exits; the returned child's stdin writes to it.
pub(super) fn spawn_bochs(
    opts: &RunOptions,
    hv: &std::path::Path,
    modules: &[BootModule],
    dir: &std::path::Path,
    iso: &std::path::Path,
    megs: u64,
    hv_log_path: &std::path::Path,
) -> Result<SpawnedEmulator, String> {
    use std::io::BufRead;
    for package in crate::packages::PACKAGES
        .iter()
        .filter(|p| p.needed_for.contains(&crate::packages::Need::Bochs))
    {
        tools::require(package.provides)?;
    }
    grub::make_iso(hv, modules, dir, iso)?;
    let com1 = dir.join("com1.out");
    let _ = std::fs::remove_file(&com1);
    std::fs::write(&com1, b"").map_err(|e| format!("cannot create {}: {e}", com1.display()))?;
    let listener = bochs::Com1Listener::open()?;
    let rc = dir.join("bochsrc");
    std::fs::write(
        &rc,
        bochs::bochsrc(
            opts.bochs_cpu,
            megs.max(64),
            iso,
            listener.addr(),
            &dir.join(SCREEN_FILE),
        ),
    )
    .map_err(|e| format!("cannot write {}: {e}", rc.display()))?;
    // The built-in debugger is compiled into Debian's Bochs: tell it to continue.
    std::fs::write(dir.join("dbg.rc"), "c\n").map_err(|e| format!("cannot write dbg.rc: {e}"))?;
    let mut child = std::process::Command::new("bochs")
        .current_dir(dir)
        .args(["-q", "-f", "bochsrc", "-rc", "dbg.rc"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start bochs: {e}"))?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let log_path = hv_log_path.to_path_buf();
    let log_thread = std::thread::spawn(move || {
        let mut log = std::fs::File::create(&log_path).ok();
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if !bochs::is_bochs_line(&line) {
                if let Some(f) = log.as_mut() {
                    let _ = writeln!(f, "{line}");
                }
            }
        }
    });
    let stderr_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let conn = listener
        .accept(COM1_CONNECT_TIMEOUT, || {
            !matches!(child.try_wait(), Ok(None))
        })
        .and_then(|conn| {
            let typing = conn
                .try_clone()
                .map_err(|e| format!("Bochs' COM1 connection: {e}"))?;
            Ok((conn, typing))
        });
    let (conn, typing) = match conn {
        Ok(c) => c,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            let stderr_text = stderr_thread.join().unwrap_or_default();
            return Err(match stderr_text.trim_end() {
                "" => e,
                said => format!("{e}; bochs said:\n{said}"),
            });
        }
    };
    // Typed input (`follow` writes the child's stdin) goes into COM1.
    child.stdin = Some(ChildStdin::from(OwnedFd::from(typing)));
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        read_com1(conn, &com1, &tx);
        // The channel closes once the hypervisor's log is complete too, as
        // `follow` reads the outcome from it when Bochs has exited.
        let _ = log_thread.join();
    });
    Ok((child, rx, stderr_thread))
}

/// Passes what Bochs sends on COM1 to `com1.out` and the console channel until
/// Bochs closes the connection (it exits).
fn read_com1(mut conn: TcpStream, record: &std::path::Path, tx: &mpsc::Sender<Vec<u8>>) {
    let mut file = std::fs::OpenOptions::new().append(true).open(record).ok();
    let mut buf = [0u8; 4096];
    loop {
        let n = match conn.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        };
        if let Some(f) = file.as_mut() {
            let _ = f.write_all(&buf[..n]);
        }
        // Once `follow` is gone the run is over; keep recording until Bochs
        // closes the connection.
        let _ = tx.send(buf[..n].to_vec());
    }
}
