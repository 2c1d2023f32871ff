//! `cargo xtask test` and `cargo xtask audit-unsafe`: every check a change
//! must pass, with the test count the CI summary reports.

use crate::fail;
use std::process::Command;
use xtask::build::{build_hypervisor, HV_ELF_ENV};
use xtask::packages::ALL_NEEDS;
use xtask::provision::{provision, Toolchain};
use xtask::workspace_root;

pub(crate) fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(workspace_root());
    c
}

pub(crate) fn step(name: &str, cmd: &mut Command) -> bool {
    eprintln!("xtask: {name}");
    cmd.status().map(|s| s.success()).unwrap_or(false)
}

/// The unsafe audit of the checkout at `root`: a summary line, or one line
/// per offending file and a failure.
pub(crate) fn audit_unsafe(root: &std::path::Path) -> i32 {
    match xtask::unsafe_audit::check(root) {
        Ok(summary) => {
            eprintln!("xtask: {summary}");
            0
        }
        Err(problems) => {
            for line in problems.lines() {
                eprintln!("xtask: {line}");
            }
            fail("the unsafe audit failed")
        }
    }
}

pub(crate) fn test_command(no_lint: bool) -> i32 {
    // Everything the suite uses, once and serially, before any lint, build or
    // test: tests themselves never install anything.
    if let Err(e) = provision(Toolchain::TargetAndLinters, &ALL_NEEDS) {
        return fail(&e);
    }
    eprintln!("xtask: the Linux test ISO");
    if let Err(e) = xtask::linux_iso::make_linux_iso(false) {
        return fail(&format!("cannot build the Linux test ISO: {e}"));
    }
    eprintln!("xtask: the iPXE test ISO");
    if let Err(e) = xtask::ipxe::ipxe_iso() {
        return fail(&format!("cannot fetch the iPXE test ISO: {e}"));
    }
    if !no_lint {
        if !step(
            "cargo fmt --check",
            cargo().args(["fmt", "--all", "--", "--check"]),
        ) {
            return fail("formatting differs: run `cargo fmt --all`");
        }
        eprintln!("xtask: unsafe audit");
        if audit_unsafe(&workspace_root()) != 0 {
            return 3;
        }
        if !step(
            "clippy (host)",
            cargo().args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]),
        ) {
            return fail("clippy found problems in the host build");
        }
        if !step(
            "clippy (bare metal)",
            cargo().args([
                "clippy",
                "-p",
                "vmm-core",
                "--bin",
                "vmm",
                "--target",
                "x86_64-unknown-none",
                "--",
                "-D",
                "warnings",
            ]),
        ) {
            return fail("clippy found problems in the bare-metal build");
        }
    }
    let hv = match build_hypervisor(true, None) {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    eprintln!("xtask: cargo test --workspace");
    let mut cmd = cargo();
    cmd.args(["test", "--workspace"]).env(HV_ELF_ENV, &hv);
    let (ok, passed, failed) = match run_counting_tests(&mut cmd) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    // One closing line over every test binary, so the total is not lost among
    // the per-binary summaries (the last of which is often an empty doc-test run).
    println!("tests: {passed} passed, {failed} failed");
    if !ok || failed > 0 {
        return fail("tests failed");
    }
    eprintln!("xtask: fuzz smoke");
    if let Err(e) = xtask::fuzz::smoke() {
        return fail(&e);
    }
    0
}

/// Runs a `cargo test` command, passing its output through, and adds up the
/// "test result" lines: (success, passed, failed).
fn run_counting_tests(cmd: &mut Command) -> Result<(bool, u64, u64), String> {
    use std::io::{BufRead, BufReader};
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run cargo test: {e}"))?;
    let (mut passed, mut failed) = (0, 0);
    let stdout = child.stdout.take().expect("stdout is piped");
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| format!("reading cargo test output: {e}"))?;
        println!("{line}");
        if let Some(rest) = line.strip_prefix("test result: ") {
            passed += count_before(rest, "passed");
            failed += count_before(rest, "failed");
        }
    }
    let ok = child.wait().map(|s| s.success()).unwrap_or(false);
    Ok((ok, passed, failed))
}

/// In "ok. 5 passed; 0 failed; ...", the number before `word`.
fn count_before(summary: &str, word: &str) -> u64 {
    summary
        .split(';')
        .find_map(|part| {
            let mut words = part.split_whitespace().rev();
            (words.next() == Some(word)).then(|| words.next()?.parse().ok())?
        })
        .unwrap_or(0)
}
