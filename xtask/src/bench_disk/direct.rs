//! The plain-QEMU paths of `bench disk`: the Linux ISO booted by QEMU TCG
//! with its own SeaBIOS (as `bench boot`'s direct boots), the scratch image
//! as QEMU's own virtio-blk or IDE disk, and the session typed on its
//! serial console, each line once the expectations before it matched.

use crate::bench_boot::MEM_MIB;
use crate::expect::Expectations;
use crate::runner;
use regex::Regex;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The disk controller QEMU gives the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QemuDisk {
    /// `virtio-blk-pci` (the guest's `/dev/vda`).
    Virtio,
    /// The `pc` machine's PIIX3 IDE, primary master (`/dev/sda`).
    Ide,
}

/// QEMU's arguments attaching `image` as `disk`, with the host-side cache
/// options the hypervisor's own host disk has (runner's `QemuDrive`):
/// writeback cache, thread-pool AIO.
pub fn drive_args(disk: QemuDisk, image: &Path) -> Vec<String> {
    let file = image.display().to_string().replace(',', ",,");
    let common = format!("file={file},format=raw,cache=writeback,aio=threads");
    match disk {
        QemuDisk::Virtio => vec![
            "-drive".into(),
            format!("if=none,id=bench0,{common}"),
            "-device".into(),
            "virtio-blk-pci,drive=bench0".into(),
        ],
        QemuDisk::Ide => vec![
            "-drive".into(),
            format!("if=ide,index=0,media=disk,{common}"),
        ],
    }
}

/// Boots `iso` on plain QEMU TCG with `image` as `disk`, types each
/// `(after, text)` of `send` once `after` expectations matched, and returns
/// the console once every expectation matched.
pub fn session(
    iso: &Path,
    disk: QemuDisk,
    image: &Path,
    expect: Vec<Regex>,
    send: &[(usize, String)],
    timeout: Duration,
) -> Result<String, String> {
    let mut child = Command::new("qemu-system-x86_64")
        .args(["-accel", "tcg", "-cpu", "qemu64", "-machine", "pc", "-m"])
        .arg(MEM_MIB.to_string())
        .arg("-cdrom")
        .arg(iso)
        .args(drive_args(disk, image))
        .args(["-boot", "d", "-display", "none", "-vga", "std"])
        .args(["-monitor", "none", "-parallel", "none", "-net", "none"])
        .args(["-serial", "stdio", "-no-reboot"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start qemu-system-x86_64: {e}"))?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let stderr_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    let rx = runner::stream_stdout(&mut child);
    let started = Instant::now();
    let mut expectations = Expectations::new(expect);
    let mut console = Vec::new();
    let mut sent = 0;
    let result = loop {
        while let Some((after, text)) = send.get(sent) {
            if expectations.matched() < *after {
                break;
            }
            // QEMU may have stopped: the read below then says so.
            let _ = stdin.write_all(text.as_bytes());
            let _ = stdin.flush();
            sent += 1;
        }
        if expectations.all_met() {
            break Ok(());
        }
        let left = timeout.saturating_sub(started.elapsed());
        match rx.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok(chunk) => {
                console.extend_from_slice(&chunk);
                expectations.advance(&String::from_utf8_lossy(&console));
            }
            Err(mpsc::RecvTimeoutError::Timeout) if left.is_zero() => {
                break Err(format!("timed out after {} s", timeout.as_secs()))
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break Err("QEMU stopped".into()),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    let console = String::from_utf8_lossy(&console).into_owned();
    match result {
        Ok(()) => Ok(console),
        Err(why) => {
            let tail: Vec<&str> = console.lines().rev().take(15).collect();
            let stderr = stderr_thread.join().unwrap_or_default();
            Err(format!(
                "plain QEMU: {why} waiting for /{}/; {}last console lines:\n{}",
                expectations.pending().unwrap_or("?"),
                if stderr.trim().is_empty() {
                    String::new()
                } else {
                    format!("QEMU said: {}; ", stderr.trim())
                },
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drives_have_the_hypervisor_paths_cache_options() {
        let v = drive_args(QemuDisk::Virtio, Path::new("/t/a,b.img"));
        assert_eq!(
            v,
            [
                "-drive",
                "if=none,id=bench0,file=/t/a,,b.img,format=raw,cache=writeback,aio=threads",
                "-device",
                "virtio-blk-pci,drive=bench0"
            ]
        );
        let i = drive_args(QemuDisk::Ide, Path::new("/t/d.img"));
        assert_eq!(
            i[1],
            "if=ide,index=0,media=disk,file=/t/d.img,format=raw,cache=writeback,aio=threads"
        );
    }
}
