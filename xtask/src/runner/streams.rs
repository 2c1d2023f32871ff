//! An emulator's output streams: the guest console in chunks as it arrives,
//! and stderr collected whole.

use std::io::Read;
use std::process::Child;
use std::sync::mpsc;

/// Streams a child's piped stdout in chunks as they arrive.
pub fn stream_stdout(child: &mut Child) -> mpsc::Receiver<Vec<u8>> {
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    rx
}

/// QEMU's stdout is the guest console: stream it in chunks; collect stderr.
pub(super) fn stream_output(
    child: &mut Child,
) -> (mpsc::Receiver<Vec<u8>>, std::thread::JoinHandle<String>) {
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let rx = stream_stdout(child);
    let stderr_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    (rx, stderr_thread)
}

/// A started emulator: the process, its guest-console stream, its stderr.
pub(super) type SpawnedEmulator = (
    Child,
    mpsc::Receiver<Vec<u8>>,
    std::thread::JoinHandle<String>,
);
