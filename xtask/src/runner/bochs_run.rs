//! Starting a run under Bochs: the GRUB ISO, the bochsrc, and the threads
//! that split Bochs' output into the hypervisor's log and the guest console.

use super::media::SCREEN_FILE;
use super::options::RunOptions;
use super::streams::SpawnedEmulator;
use crate::bochs;
use crate::grub;
use crate::qemu::BootModule;
use crate::tools;
use std::io::{Read, Write};
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Duration;

/// Starts Bochs on a GRUB ISO. Its stdout (Bochs' own lines and the
/// hypervisor's port E9h log) is split: the hypervisor's lines go to the log
/// file; COM1 goes to a file that is tailed into the console channel until
/// Bochs exits.
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
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    if !opts.input.is_empty() {
        return Err("typed input is not supported under Bochs (its COM1 is a file)".into());
    }
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
    let rc = dir.join("bochsrc");
    std::fs::write(
        &rc,
        bochs::bochsrc(
            opts.bochs_cpu,
            megs.max(64),
            iso,
            &com1,
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
    let exited = Arc::new(AtomicBool::new(false));
    let log_path = hv_log_path.to_path_buf();
    let done = exited.clone();
    std::thread::spawn(move || {
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
        done.store(true, Ordering::SeqCst);
    });
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut offset = 0usize;
        loop {
            let finished = exited.load(Ordering::SeqCst);
            if let Ok(all) = std::fs::read(&com1) {
                if all.len() > offset {
                    if tx.send(all[offset..].to_vec()).is_err() {
                        return;
                    }
                    offset = all.len();
                }
            }
            if finished {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let stderr_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    Ok((child, rx, stderr_thread))
}
