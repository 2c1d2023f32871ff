//! `diskbench`: the guest-side program of `cargo xtask bench disk`, put in
//! the Linux test ISO's initramfs as `/bin/diskbench` (statically linked).
//!
//! One workload per run, one machine-readable line on stdout:
//!
//! ```text
//! diskbench path=/dev/sda workload=seq-read bytes=67108864 secs=0.512000 mib_per_s=125.000 iops=125.0 ops=64 qd=1 direct=1
//! ```
//!
//! Workloads, all with `O_DIRECT` (the guest's page cache bypassed) unless
//! `--buffered` is given:
//!
//! - `seq-read`, `seq-write`: `--mib N` requests of 1 MiB from offset 0 on
//!   (wrapping at the device's end); the write ends with `fdatasync`, which
//!   is timed too (a write is done when the device has it).
//! - `rand-read-qdN` (`rand-read-qd1`, `rand-read-qd32`, any N up to 1024):
//!   4 KiB reads at random 4 KiB-aligned offsets over the whole device,
//!   queue depth N as fio's psync engine with `numjobs=N` makes it: N
//!   threads each keeping one `pread` in flight; each thread's offsets come
//!   from its own PRNG (SplitMix64) seeded from `--seed` and its index; for
//!   `--secs S` (default 3) or `--ops N` reads in all.
//!
//! Buffers are aligned to 4096 bytes (what `O_DIRECT` asks of them) by
//! slicing an over-allocated `Vec` where its address is aligned.
#![forbid(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// `O_DIRECT` on x86-64 Linux (asm-generic/fcntl.h: 00040000).
pub const O_DIRECT: i32 = 0o40000;
/// One sequential request.
pub const SEQ_REQUEST: usize = 1 << 20;
/// One random read.
pub const RAND_REQUEST: usize = 4096;
/// What `O_DIRECT` wants buffers, offsets and lengths aligned to.
pub const ALIGN: usize = 4096;
/// The largest queue depth (threads) taken.
pub const MAX_QD: usize = 1024;

pub const USAGE: &str = "usage: diskbench PATH WORKLOAD [--mib N] [--secs S | --ops N] [--seed N] [--buffered]
  WORKLOAD: seq-read | seq-write | rand-read-qdN (e.g. rand-read-qd1, rand-read-qd32)
  --mib N     MiB moved by seq-read/seq-write (default 64)
  --secs S    how long rand-read-qdN runs (default 3)
  --ops N     run rand-read-qdN for N reads in all instead
  --seed N    PRNG seed of the random offsets and the written data (default 1)
  --buffered  without O_DIRECT (for file systems without it, such as tmpfs)
prints one line: diskbench path=.. workload=.. bytes=.. secs=.. mib_per_s=.. iops=.. ops=.. qd=.. direct=..";

/// What to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    SeqRead,
    SeqWrite,
    /// 4 KiB random reads, `qd` threads.
    RandRead {
        qd: usize,
    },
}

impl Workload {
    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "seq-read" => Ok(Self::SeqRead),
            "seq-write" => Ok(Self::SeqWrite),
            _ => {
                let qd = name
                    .strip_prefix("rand-read-qd")
                    .and_then(|n| n.parse::<usize>().ok())
                    .filter(|qd| (1..=MAX_QD).contains(qd))
                    .ok_or_else(|| {
                        format!(
                            "unknown workload `{name}`: seq-read, seq-write or rand-read-qdN (N 1 to {MAX_QD})"
                        )
                    })?;
                Ok(Self::RandRead { qd })
            }
        }
    }

    pub fn name(self) -> String {
        match self {
            Self::SeqRead => "seq-read".into(),
            Self::SeqWrite => "seq-write".into(),
            Self::RandRead { qd } => format!("rand-read-qd{qd}"),
        }
    }
}

/// When a random-read workload stops.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Limit {
    Secs(f64),
    Ops(u64),
}

/// A parsed command line.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub path: PathBuf,
    pub workload: Workload,
    pub mib: u64,
    pub limit: Limit,
    pub seed: u64,
    pub direct: bool,
}

fn number<T: std::str::FromStr>(flag: &str, value: Option<&String>) -> Result<T, String> {
    let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
    value
        .parse()
        .map_err(|_| format!("{flag} {value}: not a valid number"))
}

impl Config {
    /// Parses the arguments after the program name.
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut positional = Vec::new();
        let (mut mib, mut secs, mut ops, mut seed, mut direct) = (64u64, None, None, 1u64, true);
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            match arg.as_str() {
                "--mib" => mib = number("--mib", it.next())?,
                "--secs" => secs = Some(number::<f64>("--secs", it.next())?),
                "--ops" => ops = Some(number::<u64>("--ops", it.next())?),
                "--seed" => seed = number("--seed", it.next())?,
                "--buffered" => direct = false,
                flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
                _ => positional.push(arg.clone()),
            }
        }
        let [path, workload] = positional.as_slice() else {
            return Err(format!(
                "expected PATH and WORKLOAD, got {} argument(s); --help shows the usage",
                positional.len()
            ));
        };
        let workload = Workload::parse(workload)?;
        if mib == 0 {
            return Err("--mib must be at least 1".into());
        }
        let limit = match (secs, ops) {
            (Some(_), Some(_)) => return Err("give --secs or --ops, not both".into()),
            (Some(s), None) if !(s > 0.0 && s.is_finite()) => {
                return Err(format!("--secs {s}: must be a positive number of seconds"))
            }
            (Some(s), None) => Limit::Secs(s),
            (None, Some(0)) => return Err("--ops must be at least 1".into()),
            (None, Some(n)) => Limit::Ops(n),
            (None, None) => Limit::Secs(3.0),
        };
        Ok(Self {
            path: PathBuf::from(path),
            workload,
            mib,
            limit,
            seed,
            direct,
        })
    }
}

/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
/// generators", OOPSLA 2014): small, and good enough for offsets.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A `block`-aligned offset at which `block` bytes fit within `size`;
    /// None when not one block fits.
    pub fn offset(&mut self, size: u64, block: u64) -> Option<u64> {
        let blocks = size / block;
        (blocks > 0).then(|| (self.next_u64() % blocks) * block)
    }
}

/// The seed of random-read thread `index`.
pub fn thread_seed(seed: u64, index: usize) -> u64 {
    Rng::new(seed ^ (index as u64).wrapping_mul(0xA24B_AED4_963E_E407)).next_u64()
}

/// A buffer of `len` bytes at an `ALIGN`-aligned address: the backing
/// vector and where the aligned part starts.
pub struct AlignedBuf {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedBuf {
    pub fn new(len: usize) -> Self {
        let storage = vec![0u8; len + ALIGN];
        let start = storage.as_ptr().align_offset(ALIGN);
        assert!(
            start + len <= storage.len(),
            "the Vec has ALIGN bytes to spare"
        );
        Self {
            storage,
            start,
            len,
        }
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.storage[self.start..self.start + self.len]
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + self.len]
    }
}

/// What one workload did.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub path: String,
    pub workload: String,
    pub bytes: u64,
    pub ops: u64,
    pub elapsed: Duration,
    pub qd: usize,
    pub direct: bool,
}

impl Report {
    pub fn mib_per_s(&self) -> f64 {
        self.bytes as f64 / (1u64 << 20) as f64 / self.secs()
    }

    pub fn iops(&self) -> f64 {
        self.ops as f64 / self.secs()
    }

    fn secs(&self) -> f64 {
        self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The machine-readable line: space-separated `key=value` pairs after
    /// the word `diskbench` (the path must not contain spaces).
    pub fn line(&self) -> String {
        format!(
            "diskbench path={} workload={} bytes={} secs={:.6} mib_per_s={:.3} iops={:.1} ops={} qd={} direct={}",
            self.path,
            self.workload,
            self.bytes,
            self.elapsed.as_secs_f64(),
            self.mib_per_s(),
            self.iops(),
            self.ops,
            self.qd,
            u8::from(self.direct)
        )
    }
}

fn open(cfg: &Config, write: bool) -> Result<File, String> {
    let mut opts = OpenOptions::new();
    opts.read(true).write(write);
    if cfg.direct {
        opts.custom_flags(O_DIRECT);
    }
    opts.open(&cfg.path).map_err(|e| {
        let hint = if cfg.direct && e.raw_os_error() == Some(22) {
            " (no O_DIRECT on this file system, as on tmpfs? --buffered runs without it)"
        } else {
            ""
        };
        format!("cannot open {}: {e}{hint}", cfg.path.display())
    })
}

/// The size of a file or block device (a block device's metadata says 0).
fn size_of(file: &mut File, cfg: &Config) -> Result<u64, String> {
    file.seek(SeekFrom::End(0))
        .map_err(|e| format!("cannot find the size of {}: {e}", cfg.path.display()))
}

/// Runs the workload and reports it.
pub fn run(cfg: &Config) -> Result<Report, String> {
    let write = cfg.workload == Workload::SeqWrite;
    let mut file = open(cfg, write)?;
    let size = size_of(&mut file, cfg)?;
    let (bytes, ops, elapsed, qd) = match cfg.workload {
        Workload::SeqRead | Workload::SeqWrite => {
            let (bytes, ops, elapsed) = sequential(&file, size, cfg, write)?;
            (bytes, ops, elapsed, 1)
        }
        Workload::RandRead { qd } => {
            let (ops, elapsed) = random_reads(&file, size, cfg, qd)?;
            (ops * RAND_REQUEST as u64, ops, elapsed, qd)
        }
    };
    Ok(Report {
        path: cfg.path.display().to_string(),
        workload: cfg.workload.name(),
        bytes,
        ops,
        elapsed,
        qd,
        direct: cfg.direct,
    })
}

/// The offset of sequential request `i` on a device of `size` bytes:
/// 1 MiB steps from 0, wrapping before the device's end.
pub fn seq_offset(i: u64, size: u64) -> Option<u64> {
    let requests = size / SEQ_REQUEST as u64;
    (requests > 0).then(|| (i % requests) * SEQ_REQUEST as u64)
}

fn sequential(
    file: &File,
    size: u64,
    cfg: &Config,
    write: bool,
) -> Result<(u64, u64, Duration), String> {
    let mut buf = AlignedBuf::new(SEQ_REQUEST);
    if write {
        let mut rng = Rng::new(cfg.seed);
        for chunk in buf.as_mut_slice().chunks_mut(8) {
            chunk.copy_from_slice(&rng.next_u64().to_le_bytes()[..chunk.len()]);
        }
    }
    let what = |e: std::io::Error, at: u64| {
        let verb = if write { "write" } else { "read" };
        format!("cannot {verb} {} at {at}: {e}", cfg.path.display())
    };
    let started = Instant::now();
    for i in 0..cfg.mib {
        let at = seq_offset(i, size).ok_or_else(|| {
            format!(
                "{} holds {size} bytes, less than one 1 MiB request",
                cfg.path.display()
            )
        })?;
        if write {
            file.write_all_at(buf.as_slice(), at)
                .map_err(|e| what(e, at))?;
        } else {
            file.read_exact_at(buf.as_mut_slice(), at)
                .map_err(|e| what(e, at))?;
        }
    }
    if write {
        file.sync_data()
            .map_err(|e| format!("cannot fdatasync {}: {e}", cfg.path.display()))?;
    }
    Ok((cfg.mib * SEQ_REQUEST as u64, cfg.mib, started.elapsed()))
}

fn random_reads(
    file: &File,
    size: u64,
    cfg: &Config,
    qd: usize,
) -> Result<(u64, Duration), String> {
    if size < RAND_REQUEST as u64 {
        return Err(format!(
            "{} holds {size} bytes, less than one 4 KiB read",
            cfg.path.display()
        ));
    }
    let remaining = AtomicU64::new(match cfg.limit {
        Limit::Ops(n) => n,
        Limit::Secs(_) => u64::MAX,
    });
    let deadline = match cfg.limit {
        Limit::Secs(s) => Some(Duration::from_secs_f64(s)),
        Limit::Ops(_) => None,
    };
    let started = Instant::now();
    let results: Vec<Result<u64, String>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..qd)
            .map(|index| {
                let remaining = &remaining;
                s.spawn(move || {
                    let mut rng = Rng::new(thread_seed(cfg.seed, index));
                    let mut buf = AlignedBuf::new(RAND_REQUEST);
                    let mut done = 0u64;
                    loop {
                        if deadline.is_some_and(|d| started.elapsed() >= d) {
                            break;
                        }
                        // Take one read from the shared budget (Ops limit).
                        if remaining
                            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                                n.checked_sub(1)
                            })
                            .is_err()
                        {
                            break;
                        }
                        let at = rng
                            .offset(size, RAND_REQUEST as u64)
                            .expect("size holds one read");
                        file.read_exact_at(buf.as_mut_slice(), at).map_err(|e| {
                            format!("cannot read {} at {at}: {e}", cfg.path.display())
                        })?;
                        done += 1;
                    }
                    Ok(done)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err("a reader thread panicked".into()))
            })
            .collect()
    });
    let elapsed = started.elapsed();
    let mut ops = 0;
    for r in results {
        ops += r?;
    }
    Ok((ops, elapsed))
}

#[cfg(test)]
mod tests;
