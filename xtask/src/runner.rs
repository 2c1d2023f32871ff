//! One run: build what is needed, boot it under QEMU, follow the guest console
//! until the expectations match, the machine stops or time runs out.

use crate::bochs;
use crate::build::hypervisor_elf;
use crate::expect::Expectations;
use crate::grub;
use crate::guests;
use crate::qemu::{Accel, BootModule, QemuBoot, QemuMachine};
use crate::tools;
use crate::workspace_root;
use regex::Regex;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Markers around the statistics block in the hypervisor log.
pub const STATS_BEGIN: &str = "--- exit statistics ---";
pub const STATS_END: &str = "--- end of exit statistics ---";

/// Memory the hypervisor needs beyond the guest's RAM and the modules: its
/// image, heap and page tables, with room to spare.
const HYPERVISOR_OVERHEAD_MIB: u64 = 96;

/// The guest name that means "the emulated BIOS boots the media given".
pub const BIOS_GUEST: &str = "bios";

/// How the hypervisor is loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Loader {
    /// QEMU's `-kernel` (Multiboot 1).
    Kernel,
    /// A GRUB ISO (Multiboot2), as on Bochs and real hardware.
    Grub,
}

/// The emulator the hypervisor runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Emulator {
    Qemu,
    /// Debian's Bochs: VT-x with EPT (`--cpu intel`) or SVM with NRIP-save (`--cpu amd`).
    Bochs,
}

/// What to run and how.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Name of a built-in guest.
    pub guest: String,
    /// Guest RAM in MiB.
    pub mem_mib: u64,
    pub accel: Accel,
    pub loader: Loader,
    pub emulator: Emulator,
    /// The CPU Bochs emulates.
    pub bochs_cpu: crate::bochs::BochsCpu,
    pub timeout: Duration,
    /// Regular expressions the guest console must match, in order.
    pub expect: Vec<Regex>,
    /// Ask the hypervisor for exit statistics.
    pub stats: bool,
    /// Ask the hypervisor for a statistics snapshot this often while the
    /// guest runs.
    pub stats_every_ms: Option<u64>,
    /// Hypervisor log level (error|warn|info|debug|trace).
    pub log_level: String,
    /// Copy the guest console to our stdout as it arrives.
    pub echo: bool,
    /// Cargo target dir for building the hypervisor (None: the workspace's).
    pub target_dir: Option<PathBuf>,
    /// A disk image for the IDE primary master.
    pub disk: Option<PathBuf>,
    /// An ISO image for the ATAPI CD-ROM on the IDE secondary master.
    pub iso: Option<PathBuf>,
    /// A floppy image (drive A: of the BIOS).
    pub floppy: Option<PathBuf>,
    /// BIOS boot order, e.g. "cd,disk,floppy".
    pub boot: Option<String>,
    /// Bytes typed on the guest console at start-up.
    pub input: Vec<u8>,
    /// Bytes typed once a number of expectations have matched: `(n, bytes)`
    /// is sent after the n-th `expect` matched (0: at start-up).
    pub send: Vec<(usize, Vec<u8>)>,
    /// Terminal input goes to the PS/2 keyboard instead of COM1.
    pub keyboard: bool,
    /// QEMU CPU model instead of the one `accel` implies (tests of CPU detection).
    pub qemu_cpu: Option<String>,
    /// A hypervisor self-test to run instead of the guest (`exception`).
    pub selftest: Option<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            guest: "hello".into(),
            mem_mib: 16,
            accel: Accel::Auto,
            loader: Loader::Kernel,
            emulator: Emulator::Qemu,
            bochs_cpu: crate::bochs::BochsCpu::Intel,
            timeout: Duration::from_secs(60),
            expect: Vec::new(),
            stats: false,
            stats_every_ms: None,
            log_level: "info".into(),
            echo: false,
            target_dir: None,
            qemu_cpu: None,
            selftest: None,
            disk: None,
            iso: None,
            floppy: None,
            boot: None,
            input: Vec::new(),
            send: Vec::new(),
            keyboard: false,
        }
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every expectation matched.
    ExpectationsMet,
    /// No expectations were given and the guest ended cleanly.
    GuestFinished,
    /// The machine stopped before the expectation `pending` matched.
    ExpectationsUnmet {
        pending: String,
        guest_finished: bool,
    },
    /// The guest broke down (triple fault, invalid state, unhandled exit).
    GuestFailed,
    /// The hypervisor failed (panic, exception, missing hardware support).
    HypervisorFailed,
    /// QEMU itself failed or exited unexpectedly.
    EmulatorFailed { status: Option<i32>, stderr: String },
    /// Time ran out.
    Timeout,
}

impl Outcome {
    /// The runner's exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::ExpectationsMet | Outcome::GuestFinished => 0,
            Outcome::ExpectationsUnmet { .. } | Outcome::GuestFailed => 1,
            Outcome::HypervisorFailed => 2,
            Outcome::EmulatorFailed { .. } => 3,
            Outcome::Timeout => 124,
        }
    }
}

/// What a run produced.
#[derive(Clone, Debug)]
pub struct RunReport {
    pub outcome: Outcome,
    /// Everything the guest wrote to its console.
    pub console: String,
    /// The hypervisor's log.
    pub hv_log: String,
    /// Where the log file is.
    pub hv_log_path: PathBuf,
    /// The guest's text screen at the end (empty for guests that do not use it).
    pub screen: String,
    /// How long after the emulator started the last expectation matched.
    pub matched_after: Option<Duration>,
    /// The hypervisor's log as it was when the last expectation matched.
    pub hv_log_at_match: Option<String>,
}

/// The last exit statistics block in `log`.
pub fn last_stats_block(log: &str) -> Option<String> {
    let start = log.rfind(STATS_BEGIN)? + STATS_BEGIN.len();
    let end = start + log[start..].find(STATS_END)?;
    Some(log[start..end].trim_matches('\n').to_string())
}

impl RunReport {
    /// The exit statistics block of the log (the last, when the hypervisor
    /// printed snapshots), if the hypervisor printed one.
    pub fn stats(&self) -> Option<String> {
        last_stats_block(&self.hv_log)
    }

    /// The last statistics snapshot logged before the last expectation matched.
    pub fn stats_at_match(&self) -> Option<String> {
        last_stats_block(self.hv_log_at_match.as_deref()?)
    }

    /// The last `n` lines of the guest console.
    pub fn console_tail(&self, n: usize) -> String {
        let lines: Vec<&str> = self.console.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

/// QEMU exit status for each hypervisor outcome: `isa-debug-exit` exits with
/// (value << 1) | 1, and the hypervisor writes 0, 1 or 2.
const QEMU_GUEST_FINISHED: i32 = 1;
const QEMU_GUEST_FAILED: i32 = 3;
const QEMU_HYPERVISOR_FAILED: i32 = 5;

fn fresh_run_dir(guest: &str) -> Result<PathBuf, String> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = workspace_root()
        .join("target")
        .join("runs")
        .join(format!("{guest}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// A readable, non-empty image file, or the one line saying what is wrong.
fn check_image(path: &std::path::Path, what: &str) -> Result<(), String> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() && m.len() > 0 => Ok(()),
        Ok(_) => Err(format!(
            "{what} image {} is empty or not a file",
            path.display()
        )),
        Err(e) => Err(format!("cannot read {what} image {}: {e}", path.display())),
    }
}

/// Byte offset of the ISO 9660 standard identifier "CD001" in the first
/// volume descriptor (ECMA-119, 8.1: descriptors start at sector 16).
const ISO9660_ID_OFFSET: u64 = 16 * 2048 + 1;

/// Checks for the ISO 9660 volume descriptor signature.
fn check_iso9660(path: &std::path::Path) -> Result<(), String> {
    use std::io::{Seek, SeekFrom};
    let mut id = [0u8; 5];
    let ok = std::fs::File::open(path)
        .and_then(|mut f| {
            f.seek(SeekFrom::Start(ISO9660_ID_OFFSET))?;
            f.read_exact(&mut id)
        })
        .is_ok();
    if ok && &id == b"CD001" {
        Ok(())
    } else {
        Err(format!(
            "{} is not an ISO 9660 image (no CD001 volume descriptor at sector 16)",
            path.display()
        ))
    }
}

/// Runs a guest.
pub fn run(opts: &RunOptions) -> Result<RunReport, String> {
    // The `bios` guest is the emulated BIOS booting the given media; any other
    // name is a built-in test ROM.
    let bios = opts.guest == BIOS_GUEST;
    let guest = if bios {
        None
    } else {
        Some(guests::find(&opts.guest).ok_or_else(|| {
            format!(
                "no built-in guest `{}` (there are: {}, and {BIOS_GUEST} to boot --iso/--disk/--floppy)",
                opts.guest,
                guests::names()
            )
        })?)
    };
    if bios && opts.iso.is_none() && opts.disk.is_none() && opts.floppy.is_none() {
        return Err("nothing to boot: give --iso, --disk or --floppy".into());
    }
    tools::require("qemu-system-x86_64")?;
    let hv = hypervisor_elf(opts.target_dir.as_ref())?;

    let dir = fresh_run_dir(guest.map_or(BIOS_GUEST, |g| g.name))?;
    let rom = dir.join("rom.bin");
    let config = dir.join("guest.cfg");
    let hv_log_path = dir.join("hv.log");
    if let Some(g) = guest {
        std::fs::write(&rom, (g.build)())
            .map_err(|e| format!("cannot write {}: {e}", rom.display()))?;
    }
    let mut config_text = format!(
        "# written by cargo xtask run\nmem_mib = {}\nstats = {}\nlog = {}\n",
        opts.mem_mib, opts.stats, opts.log_level
    );
    if bios {
        config_text.push_str("firmware = bios\n");
        if let Some(order) = &opts.boot {
            config_text.push_str(&format!("boot = {order}\n"));
        }
    } else {
        config_text.push_str("rom = rom\n");
    }
    if let Some(floppy) = &opts.floppy {
        check_image(floppy, "floppy")?;
        config_text.push_str("floppy = floppy0\n");
    }
    if let Some(ms) = opts.stats_every_ms {
        config_text.push_str(&format!("stats_every_ms = {ms}\n"));
    }
    if let Some(t) = &opts.selftest {
        config_text.push_str(&format!("selftest = {t}\n"));
    }
    if opts.keyboard {
        config_text.push_str("console_input = keyboard\n");
    }
    if let Some(disk) = &opts.disk {
        check_image(disk, "disk")?;
        config_text.push_str("disk = disk0\n");
    }
    if let Some(iso) = &opts.iso {
        check_image(iso, "ISO")?;
        check_iso9660(iso)?;
        config_text.push_str("cdrom = cdrom0\n");
    }
    std::fs::write(&config, config_text)
        .map_err(|e| format!("cannot write {}: {e}", config.display()))?;
    let _ = std::fs::remove_file(&hv_log_path);

    let mut modules = vec![BootModule {
        path: config,
        name: "config".into(),
    }];
    if guest.is_some() {
        modules.push(BootModule {
            path: rom,
            name: "rom".into(),
        });
    }
    if let Some(floppy) = &opts.floppy {
        modules.push(BootModule {
            path: floppy.clone(),
            name: "floppy0".into(),
        });
    }
    if let Some(disk) = &opts.disk {
        modules.push(BootModule {
            path: disk.clone(),
            name: "disk0".into(),
        });
    }
    if let Some(iso) = &opts.iso {
        modules.push(BootModule {
            path: iso.clone(),
            name: "cdrom0".into(),
        });
    }
    let module_mib: u64 = modules
        .iter()
        .map(|m| std::fs::metadata(&m.path).map(|x| x.len()).unwrap_or(0))
        .sum::<u64>()
        >> 20;
    let iso = dir.join("vmm-grub.iso");
    let host_mem_mib = opts.mem_mib + module_mib + HYPERVISOR_OVERHEAD_MIB;
    if opts.emulator == Emulator::Bochs {
        let (mut child, rx, stderr_thread) =
            spawn_bochs(opts, &hv, &modules, &dir, &iso, host_mem_mib, &hv_log_path)?;
        let followed = follow(
            &mut child,
            opts,
            &hv_log_path,
            Emulator::Bochs,
            rx,
            stderr_thread,
        )?;
        let hv_log = std::fs::read_to_string(&hv_log_path).unwrap_or_default();
        return Ok(followed.report(hv_log, hv_log_path));
    }
    let boot = match opts.loader {
        Loader::Kernel => QemuBoot::Multiboot {
            hypervisor: &hv,
            modules: &modules,
        },
        Loader::Grub => QemuBoot::Cdrom(&grub::make_iso(&hv, &modules, &dir, &iso)?),
    };
    let machine = QemuMachine {
        boot,
        host_mem_mib,
        accel: opts.accel,
        cpu: opts.qemu_cpu.as_deref(),
        debugcon_log: &hv_log_path,
        screen_log: &dir.join(SCREEN_FILE),
    };
    let mut child = machine
        .command()
        // Scripted input is piped in; an interactive run hands the terminal to
        // QEMU, whose `-serial stdio` passes typed bytes to the host COM1,
        // where the hypervisor reads them.
        .stdin(if !opts.input.is_empty() || !opts.send.is_empty() {
            Stdio::piped()
        } else if opts.echo {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start qemu-system-x86_64: {e}"))?;
    let (rx, stderr_thread) = stream_output(&mut child);
    let followed = follow(
        &mut child,
        opts,
        &hv_log_path,
        Emulator::Qemu,
        rx,
        stderr_thread,
    )?;
    let hv_log = std::fs::read_to_string(&hv_log_path).unwrap_or_default();
    Ok(followed.report(hv_log, hv_log_path))
}

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
fn stream_output(child: &mut Child) -> (mpsc::Receiver<Vec<u8>>, std::thread::JoinHandle<String>) {
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
type SpawnedEmulator = (
    Child,
    mpsc::Receiver<Vec<u8>>,
    std::thread::JoinHandle<String>,
);

/// Starts Bochs on a GRUB ISO. Its stdout (Bochs' own lines and the
/// hypervisor's port E9h log) is split: the hypervisor's lines go to the log
/// file; COM1 goes to a file that is tailed into the console channel until
/// Bochs exits.
fn spawn_bochs(
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

/// The hypervisor's log line that says the guest is about to run.
const GUEST_STARTED: &str = "starting at the reset vector";

fn guest_started(hv_log: &std::path::Path) -> bool {
    std::fs::read_to_string(hv_log)
        .map(|s| s.contains(GUEST_STARTED))
        .unwrap_or(false)
}

fn follow(
    child: &mut Child,
    opts: &RunOptions,
    hv_log: &std::path::Path,
    emulator: Emulator,
    rx: mpsc::Receiver<Vec<u8>>,
    stderr_thread: std::thread::JoinHandle<String>,
) -> Result<Followed, String> {
    let spawned = Instant::now();
    let mut matched: Option<(Duration, String)> = None;
    let screen_path = hv_log.with_file_name(SCREEN_FILE);
    let mut screen = ScreenReader::default();
    let mut serial_seen = false;
    // Typed input waits until the hypervisor has started the guest (before
    // that, the host UART is not yet programmed and would drop it); the pipe
    // stays open for the whole run, since EOF would close QEMU's serial backend.
    let mut stdin = child.stdin.take();
    // Typed input waits until the guest has started (see `guest_started`).
    let typing = !opts.input.is_empty() || !opts.send.is_empty();
    let mut started = false;
    let mut sends_done = 0;

    let mut expectations = Expectations::new(opts.expect.clone());
    let mut bytes = Vec::new();
    let deadline = Instant::now() + opts.timeout;
    let mut met_at: Option<Instant> = None;
    let ended = loop {
        let now = Instant::now();
        if now >= deadline {
            break None;
        }
        // Once every expectation matched, give a run asked for statistics a
        // moment to stop on its own and print them.
        if let Some(t) = met_at {
            if !opts.stats || now.duration_since(t) > Duration::from_secs(5) {
                break None;
            }
        }
        if typing && !started && guest_started(hv_log) {
            if let Some(pipe) = stdin.as_mut() {
                let _ = pipe.write_all(&opts.input);
                let _ = pipe.flush();
            }
            started = true;
        }
        if started {
            while let Some((after, bytes)) = opts.send.get(sends_done) {
                if expectations.matched() < *after {
                    break;
                }
                if let Some(pipe) = stdin.as_mut() {
                    let _ = pipe.write_all(bytes);
                    let _ = pipe.flush();
                }
                sends_done += 1;
            }
        }
        if screen.poll(&screen_path) {
            // The screen is shown while the guest has said nothing on its serial
            // console (a DOS guest); after that, serial output has the terminal.
            if opts.echo && !serial_seen {
                let mut out = std::io::stdout().lock();
                let _ = write!(
                    out,
                    "\x1b[H\x1b[2J{}\r\n",
                    screen.text.replace('\n', "\r\n")
                );
                let _ = out.flush();
            }
            expectations.advance_with_screen(&String::from_utf8_lossy(&bytes), &screen.text);
            if expectations.all_met() && met_at.is_none() {
                met_at = Some(Instant::now());
                matched = Some(at_match(spawned, hv_log));
            }
        }
        match rx.recv_timeout(Duration::from_millis(100).min(deadline - now)) {
            Ok(chunk) => {
                if opts.echo {
                    let mut out = std::io::stdout().lock();
                    if !serial_seen && !screen.text.is_empty() {
                        let _ = out.write_all(b"\x1b[2J\x1b[H");
                    }
                    let _ = out.write_all(&chunk);
                    let _ = out.flush();
                }
                serial_seen = true;
                bytes.extend_from_slice(&chunk);
                expectations.advance_with_screen(&String::from_utf8_lossy(&bytes), &screen.text);
                if expectations.all_met() && met_at.is_none() {
                    met_at = Some(Instant::now());
                    matched = Some(at_match(spawned, hv_log));
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                break Some(
                    child
                        .wait()
                        .map_err(|e| format!("waiting for the emulator: {e}"))?,
                );
            }
        }
    };
    let status = match ended {
        Some(s) => match emulator {
            Emulator::Qemu => s.code(),
            // Bochs always exits with 1: the hypervisor's log says how it ended.
            Emulator::Bochs => {
                bochs::status_from_log(&std::fs::read_to_string(hv_log).unwrap_or_default())
            }
        },
        None => {
            let _ = child.kill();
            let _ = child.wait();
            None
        }
    };
    let stderr_text = stderr_thread.join().unwrap_or_default();
    let console = String::from_utf8_lossy(&bytes).into_owned();
    // The last screen frame may arrive as the machine stops.
    if screen.poll(&screen_path) {
        expectations.advance_with_screen(&console, &screen.text);
    }
    let outcome = if expectations.all_met() {
        Outcome::ExpectationsMet
    } else if ended.is_none() {
        Outcome::Timeout
    } else {
        match status {
            Some(QEMU_GUEST_FINISHED) if !expectations.any() => Outcome::GuestFinished,
            Some(QEMU_GUEST_FINISHED) => Outcome::ExpectationsUnmet {
                pending: expectations.pending().unwrap_or_default().to_string(),
                guest_finished: true,
            },
            Some(QEMU_GUEST_FAILED) => Outcome::GuestFailed,
            Some(QEMU_HYPERVISOR_FAILED) => Outcome::HypervisorFailed,
            other => Outcome::EmulatorFailed {
                status: other,
                stderr: stderr_text,
            },
        }
    };
    let (matched_after, hv_log_at_match) = matched.unzip();
    Ok(Followed {
        outcome,
        console,
        screen: screen.text,
        matched_after,
        hv_log_at_match,
    })
}

/// What `follow` saw.
struct Followed {
    outcome: Outcome,
    console: String,
    screen: String,
    matched_after: Option<Duration>,
    hv_log_at_match: Option<String>,
}

impl Followed {
    fn report(self, hv_log: String, hv_log_path: PathBuf) -> RunReport {
        RunReport {
            outcome: self.outcome,
            console: self.console,
            hv_log,
            hv_log_path,
            screen: self.screen,
            matched_after: self.matched_after,
            hv_log_at_match: self.hv_log_at_match,
        }
    }
}

/// The time since the emulator started and the hypervisor's log so far.
fn at_match(spawned: Instant, hv_log: &std::path::Path) -> (Duration, String) {
    (
        spawned.elapsed(),
        std::fs::read_to_string(hv_log).unwrap_or_default(),
    )
}

/// File the guest's COM2 (the screen mirror's frames) is written to.
const SCREEN_FILE: &str = "screen.out";

/// Follows the screen channel: STX, 25 lines, ETX per frame; keeps the latest.
#[derive(Default)]
struct ScreenReader {
    offset: usize,
    partial: Vec<u8>,
    /// The latest complete screen.
    text: String,
}

impl ScreenReader {
    /// Reads what arrived; true if a new frame completed.
    fn poll(&mut self, path: &std::path::Path) -> bool {
        let Ok(all) = std::fs::read(path) else {
            return false;
        };
        if all.len() <= self.offset {
            return false;
        }
        let mut updated = false;
        for &b in &all[self.offset..] {
            match b {
                0x02 => self.partial.clear(),
                0x03 => {
                    self.text = String::from_utf8_lossy(&self.partial).into_owned();
                    self.partial.clear();
                    updated = true;
                }
                _ => self.partial.push(b),
            }
        }
        self.offset = all.len();
        updated
    }
}
