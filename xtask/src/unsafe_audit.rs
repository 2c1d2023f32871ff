//! The unsafe audit: `unsafe` may appear only in the files of
//! [`ALLOWED_UNSAFE_FILES`], the modules that touch the machine itself
//! (assembly, MSRs, the VMCB and VMCS, page tables, port I/O, guest memory,
//! the boot path) and the host test executors that run instructions natively.
//!
//! Every `*.rs` file of the workspace is scanned except those of `target/`,
//! of hidden folders, and of the two host-tool crates `xtask` (this runner)
//! and `tests` (the QEMU integration tests): they run on the development
//! machine, never in the hypervisor, and hold no `unsafe` today.
//!
//! The scanner reads Rust's tokens just far enough to find the `unsafe`
//! keyword in code: comments (doc comments too, nested block comments
//! included), string, byte-string, C-string and raw-string literals, and
//! character literals are skipped, and identifiers are read whole, so lint
//! names such as `unsafe_code` or `unsafe_op_in_unsafe_fn` and the raw
//! identifier `r#unsafe` are not the keyword.
//!
//! The audit fails on `unsafe` in a file not on the list, and on a listed
//! file that no longer holds any (or no longer exists), so the list stays
//! the true list.

use std::path::Path;

/// The files (workspace-relative, `/`-separated) allowed to use `unsafe`,
/// each with the reason it needs to.
pub const ALLOWED_UNSAFE_FILES: &[(&str, &str)] = &[
    (
        "guest-tools/pv-demo/src/arch.rs",
        "a PVH guest kernel's entry stub, its heap, CPUID, the hypercall entry and its 1:1 direct map",
    ),
    (
        "pv-drivers/src/arch.rs",
        "a guest's VMCALL/VMMCALL hypercall entry, CPUID and RDTSC",
    ),
    (
        "pv-drivers/src/raw.rs",
        "a guest's own frames (shared info, rings, grant table) through raw pointers, \
         with the volatile and atomic accesses the Xen ABI needs",
    ),
    (
        "pv-drivers/tests/common/mod.rs",
        "the host test harness reaching the hypervisor's pages through the host \
         addresses its dispatcher maps for the guest",
    ),
    (
        "svm/src/host.rs",
        "the EFER.SVME and VM_HSAVE_PA MSR accesses that turn SVM on",
    ),
    ("svm/src/instructions.rs", "RDMSR and WRMSR"),
    (
        "svm/src/vcpu.rs",
        "the VMLOAD/VMRUN/VMSAVE world switch through its assembly stub",
    ),
    (
        "vmm-core/src/arch/cpu.rs",
        "RDTSC, and the CR0/CR4 writes that allow SSE instructions",
    ),
    (
        "vmm-core/src/arch/exceptions.rs",
        "the IDT: its assembly stubs, LIDT, and UD2 after a fatal exception",
    ),
    (
        "vmm-core/src/arch/gdt.rs",
        "reloading the segment registers and the task register",
    ),
    (
        "vmm-core/src/arch/heap.rs",
        "handing a physical memory range to the allocator",
    ),
    (
        "vmm-core/src/arch/phys.rs",
        "host physical memory through the identity map",
    ),
    ("vmm-core/src/arch/port.rs", "host port I/O"),
    (
        "vmm-core/src/arch/virtio_hal.rs",
        "the virtio-drivers Hal (DMA memory from the heap, identity-mapped addresses) and PCI configuration access",
    ),
    (
        "vmm-core/src/backend/xmm.rs",
        "MOVDQU to and from the guest's XMM registers",
    ),
    (
        "vmm-core/src/emulator/native.rs",
        "test-only: ALU instructions run natively as the differential tests' oracle",
    ),
    (
        "vmm-core/src/emulator/native_exec.rs",
        "test-only: instruction bytes run natively in mmap'd pages",
    ),
    (
        "vmm-core/src/start.rs",
        "boot: the heap and guest RAM claimed from the boot loader's memory map",
    ),
    (
        "vmx/src/host.rs",
        "IA32_FEATURE_CONTROL, the CR0/CR4 fixed bits and VMXON",
    ),
    (
        "vmx/src/instructions.rs",
        "one wrapper per VMX instruction, plus the MSR and control-register accesses",
    ),
    (
        "vmx/src/vcpu.rs",
        "VMREAD/VMWRITE, VMCLEAR/VMPTRLD, INVEPT/INVVPID, the VMLAUNCH/VMRESUME world switch",
    ),
];

/// Top-level folders not scanned: build output and the host-tool crates.
const SKIPPED_DIRS: &[&str] = &["target", "xtask", "tests"];

/// How many of a file's `unsafe` lines a problem line shows.
const SHOWN_LINES: usize = 5;
/// What to do about `unsafe` outside the list.
const FIX_UNLISTED: &str = "move it into one of the allowed modules or add the file to \
     ALLOWED_UNSAFE_FILES in xtask/src/unsafe_audit.rs with a reason";
/// What to do about a listed file without `unsafe`.
const FIX_STALE: &str = "remove it from ALLOWED_UNSAFE_FILES in xtask/src/unsafe_audit.rs";

/// A file that uses `unsafe`, and the lines it does so on.
#[derive(Debug, PartialEq, Eq)]
pub struct UnsafeFile {
    /// Workspace-relative, `/`-separated.
    pub path: String,
    /// 1-based, ascending; a line appears once per `unsafe` on it.
    pub lines: Vec<usize>,
}

/// The outcome of an audit.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Audit {
    /// How many `*.rs` files were scanned.
    pub scanned: usize,
    /// Every scanned file that uses `unsafe`, by path.
    pub unsafe_files: Vec<UnsafeFile>,
    /// Files using `unsafe` that are not on the list.
    pub unlisted: Vec<UnsafeFile>,
    /// Listed files with no `unsafe` (or not there at all).
    pub stale: Vec<String>,
}

impl Audit {
    pub fn passed(&self) -> bool {
        self.unlisted.is_empty() && self.stale.is_empty()
    }

    /// One line per offending file, with its first line and the fix.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for f in &self.unlisted {
            let first = f.lines[0];
            let uses = match f.lines.len() {
                1 => String::new(),
                n => {
                    let shown: Vec<String> = f
                        .lines
                        .iter()
                        .take(SHOWN_LINES)
                        .map(usize::to_string)
                        .collect();
                    let more = if n > SHOWN_LINES { ", ..." } else { "" };
                    format!(" ({n} uses, lines {}{more})", shown.join(", "))
                }
            };
            out.push(format!(
                "{}:{first}: `unsafe` outside the allow-list{uses}: {FIX_UNLISTED}",
                f.path
            ));
        }
        for path in &self.stale {
            out.push(format!(
                "{path}: listed in ALLOWED_UNSAFE_FILES but holds no `unsafe`: {FIX_STALE}"
            ));
        }
        out
    }
}

/// Audits the workspace at `root` against [`ALLOWED_UNSAFE_FILES`].
pub fn audit(root: &Path) -> Result<Audit, String> {
    audit_against(root, ALLOWED_UNSAFE_FILES)
}

/// Audits the workspace at `root` against `allowed` (path, reason) pairs.
pub fn audit_against(root: &Path, allowed: &[(&str, &str)]) -> Result<Audit, String> {
    let mut files = Vec::new();
    rust_files(root, "", &mut files)?;
    let mut result = Audit {
        scanned: files.len(),
        ..Audit::default()
    };
    for path in files {
        let text = std::fs::read_to_string(root.join(&path))
            .map_err(|e| format!("cannot read {path}: {e}"))?;
        let lines = unsafe_lines(&text);
        if !lines.is_empty() {
            result.unsafe_files.push(UnsafeFile { path, lines });
        }
    }
    let is_allowed = |path: &str| allowed.iter().any(|(p, _)| *p == path);
    let uses_unsafe = |path: &str| result.unsafe_files.iter().any(|f| f.path == path);
    result.stale = allowed
        .iter()
        .map(|(p, _)| p.to_string())
        .filter(|p| !uses_unsafe(p))
        .collect();
    result.unlisted = result
        .unsafe_files
        .iter()
        .filter(|f| !is_allowed(&f.path))
        .map(|f| UnsafeFile {
            path: f.path.clone(),
            lines: f.lines.clone(),
        })
        .collect();
    Ok(result)
}

/// Runs the audit of `root`: Ok with a one-line summary, or Err with one
/// line per problem.
pub fn check(root: &Path) -> Result<String, String> {
    let result = audit(root)?;
    if result.passed() {
        Ok(format!(
            "unsafe audit: {} files scanned, `unsafe` only in the {} allowed ones",
            result.scanned,
            result.unsafe_files.len()
        ))
    } else {
        Err(result.problems().join("\n"))
    }
}

/// Appends the `*.rs` files under `root/rel` (workspace-relative paths,
/// sorted), leaving out [`SKIPPED_DIRS`] at the top and hidden folders.
fn rust_files(root: &Path, rel: &str, out: &mut Vec<String>) -> Result<(), String> {
    let dir = root.join(rel);
    let entries =
        std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let is_dir = entry
            .file_type()
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .is_dir();
        names.push((entry.file_name().to_string_lossy().into_owned(), is_dir));
    }
    names.sort();
    for (name, is_dir) in names {
        let path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if is_dir {
            let skipped =
                name.starts_with('.') || (rel.is_empty() && SKIPPED_DIRS.contains(&&*name));
            if !skipped {
                rust_files(root, &path, out)?;
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// The 1-based line of every `unsafe` keyword in the code of Rust source
/// `text` (not in comments, literals or longer identifiers).
pub fn unsafe_lines(text: &str) -> Vec<usize> {
    let mut scanner = Scanner {
        chars: text.chars().collect(),
        at: 0,
        line: 1,
    };
    let mut found = Vec::new();
    while let Some(c) = scanner.peek(0) {
        match c {
            '/' if scanner.peek(1) == Some('/') => scanner.line_comment(),
            '/' if scanner.peek(1) == Some('*') => scanner.block_comment(),
            '"' => {
                scanner.bump();
                scanner.string();
            }
            '\'' => scanner.char_or_lifetime(),
            c if c == '_' || c.is_alphanumeric() => {
                let word = scanner.word();
                match (word.as_str(), scanner.peek(0)) {
                    ("unsafe", _) => found.push(scanner.line),
                    ("r" | "br" | "cr", Some('"' | '#')) => scanner.raw_string_or_ident(),
                    ("b" | "c", Some('"')) => {
                        scanner.bump();
                        scanner.string();
                    }
                    // `b'x'` is left to the `'` arm.
                    _ => {}
                }
            }
            _ => scanner.bump(),
        }
    }
    found
}

/// A position in source text being scanned.
struct Scanner {
    chars: Vec<char>,
    at: usize,
    /// The 1-based line of `at`.
    line: usize,
}

impl Scanner {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    /// Moves past one character, counting lines.
    fn bump(&mut self) {
        if self.peek(0) == Some('\n') {
            self.line += 1;
        }
        self.at += 1;
    }

    /// An identifier, keyword or number, read whole.
    fn word(&mut self) -> String {
        let start = self.at;
        while self
            .peek(0)
            .is_some_and(|c| c == '_' || c.is_alphanumeric())
        {
            self.at += 1;
        }
        self.chars[start..self.at].iter().collect()
    }

    /// `//` to the end of the line (the newline itself is left).
    fn line_comment(&mut self) {
        while self.peek(0).is_some_and(|c| c != '\n') {
            self.at += 1;
        }
    }

    /// `/* ... */`, nested ones included.
    fn block_comment(&mut self) {
        self.at += 2;
        let mut depth = 1;
        while depth > 0 {
            match (self.peek(0), self.peek(1)) {
                (None, _) => return,
                (Some('/'), Some('*')) => {
                    depth += 1;
                    self.at += 2;
                }
                (Some('*'), Some('/')) => {
                    depth -= 1;
                    self.at += 2;
                }
                _ => self.bump(),
            }
        }
    }

    /// The rest of a `"` literal, after its opening quote.
    fn string(&mut self) {
        while let Some(c) = self.peek(0) {
            match c {
                '\\' => {
                    self.bump();
                    self.bump();
                }
                '"' => {
                    self.bump();
                    return;
                }
                _ => self.bump(),
            }
        }
    }

    /// After an `r`, `br` or `cr` prefix: a raw string (`r"..."`,
    /// `r#"..."#`), or the raw identifier `r#name`, which is no keyword.
    fn raw_string_or_ident(&mut self) {
        let mut hashes = 0;
        while self.peek(0) == Some('#') {
            hashes += 1;
            self.at += 1;
        }
        if self.peek(0) != Some('"') {
            // A raw identifier: its name is not the keyword.
            self.word();
            return;
        }
        self.bump();
        while let Some(c) = self.peek(0) {
            self.bump();
            if c == '"' && (0..hashes).all(|i| self.peek(i) == Some('#')) {
                self.at += hashes;
                return;
            }
        }
    }

    /// A character literal (`'x'`, `'"'`, `'\''`, `'\u{1F600}'`) or a
    /// lifetime or label (`'a`), whose name the caller then reads.
    fn char_or_lifetime(&mut self) {
        if self.peek(1) == Some('\\') {
            self.at += 3;
            while self.peek(0).is_some_and(|c| c != '\'' && c != '\n') {
                self.at += 1;
            }
            self.at += 1;
        } else if self.peek(2) == Some('\'') {
            self.at += 3;
        } else {
            self.at += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_unsafe_blocks_fns_impls_and_traits() {
        let src = "fn a() {\n    unsafe { core::arch::asm!(\"nop\") }\n}\n\
                   unsafe fn b() {}\n\
                   unsafe impl Send for X {}\n\
                   pub unsafe trait T {}\n\
                   let f: unsafe extern \"C\" fn();\n\
                   x = unsafe{y};\n";
        assert_eq!(unsafe_lines(src), [2, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn two_on_a_line_count_twice() {
        assert_eq!(unsafe_lines("unsafe fn f() { unsafe { g() } }"), [1, 1]);
    }

    #[test]
    fn comments_are_not_code() {
        let src = "// unsafe here\n\
                   /// Doc: call only in unsafe code.\n\
                   //! unsafe module docs\n\
                   /* unsafe { */ let x = 1; /* outer /* nested unsafe */ still unsafe */\n\
                   /** unsafe\n  over lines unsafe */\n\
                   let y = 2; // SAFETY: not unsafe\n";
        assert!(unsafe_lines(src).is_empty());
        // Lines are still counted through comments.
        assert_eq!(unsafe_lines("/* a\nb\nc */\n// d\nunsafe {}"), [5]);
    }

    #[test]
    fn strings_are_not_code() {
        let src = r#"let a = "unsafe";
let b = "escaped \" unsafe \\";
let c = b"unsafe";
let d = c"unsafe";
let e = "over
lines unsafe";
let f = '"'; let g = '\''; let h = b'"';
"#;
        assert!(unsafe_lines(src).is_empty());
        assert_eq!(unsafe_lines("let s = \"a\nb\"; unsafe {}"), [2]);
        // A `"` character literal must not open a string.
        assert_eq!(unsafe_lines("let q = '\"'; unsafe {}"), [1]);
    }

    #[test]
    fn raw_strings_are_not_code() {
        let src = "let a = r\"unsafe \\\";\n\
                   let b = r#\"unsafe \" still \"#;\n\
                   let c = br##\"unsafe \"# still\n unsafe\"##;\n\
                   let d = cr\"unsafe\";\n";
        assert!(unsafe_lines(src).is_empty());
        assert_eq!(unsafe_lines("r#\"x\"# unsafe"), [1]);
    }

    #[test]
    fn lint_names_and_longer_identifiers_are_not_the_keyword() {
        let src = "#![forbid(unsafe_code)]\n\
                   #![deny(unsafe_op_in_unsafe_fn)]\n\
                   #[allow(clippy::undocumented_unsafe_blocks)]\n\
                   let not_unsafe = unsafe_cell; let r#unsafe = 1;\n\
                   fn unsafely() {}\n";
        assert!(unsafe_lines(src).is_empty());
    }

    #[test]
    fn lifetimes_and_labels_do_not_hide_code() {
        let src = "fn f<'a>(x: &'a u8) { 'outer: loop { unsafe { g() } } }";
        assert_eq!(unsafe_lines(src), [1]);
        assert_eq!(unsafe_lines("let c = '\\u{1F600}'; unsafe {}"), [1]);
    }

    /// A workspace under the system's temporary folder, removed on drop.
    struct TempTree(std::path::PathBuf);

    impl TempTree {
        fn new(name: &str, files: &[(&str, &str)]) -> Self {
            let root = std::env::temp_dir()
                .join(format!("xtask-unsafe-audit-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&root);
            for (path, text) in files {
                let path = root.join(path);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, text).unwrap();
            }
            Self(root)
        }
    }

    impl Drop for TempTree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn audit_reports_unlisted_and_stale_files_and_skips_host_tools() {
        let tree = TempTree::new(
            "report",
            &[
                ("core/src/arch.rs", "unsafe fn msr() {}\n"),
                (
                    "core/src/lib.rs",
                    "fn f() {\n    unsafe { g() }\n    unsafe { h() }\n}\n",
                ),
                ("core/src/safe.rs", "#![forbid(unsafe_code)]\n"),
                ("core/src/was_unsafe.rs", "fn f() {}\n"),
                ("core/notes.txt", "unsafe\n"),
                ("target/debug/build/x.rs", "unsafe {}\n"),
                ("xtask/src/main.rs", "unsafe {}\n"),
                ("tests/src/lib.rs", "unsafe {}\n"),
                (".git/x.rs", "unsafe {}\n"),
            ],
        );
        let allowed = [
            ("core/src/arch.rs", "MSRs"),
            ("core/src/was_unsafe.rs", "was"),
            ("core/src/gone.rs", "gone"),
        ];
        let result = audit_against(&tree.0, &allowed).unwrap();
        assert_eq!(result.scanned, 4);
        assert!(!result.passed());
        assert_eq!(
            result.unlisted,
            [UnsafeFile {
                path: "core/src/lib.rs".into(),
                lines: vec![2, 3]
            }]
        );
        assert_eq!(result.stale, ["core/src/was_unsafe.rs", "core/src/gone.rs"]);
        let problems = result.problems();
        assert_eq!(problems.len(), 3);
        assert_eq!(
            problems[0],
            "core/src/lib.rs:2: `unsafe` outside the allow-list (2 uses, lines 2, 3): \
             move it into one of the allowed modules or add the file to \
             ALLOWED_UNSAFE_FILES in xtask/src/unsafe_audit.rs with a reason"
        );
        assert_eq!(
            problems[1],
            "core/src/was_unsafe.rs: listed in ALLOWED_UNSAFE_FILES but holds no `unsafe`: \
             remove it from ALLOWED_UNSAFE_FILES in xtask/src/unsafe_audit.rs"
        );

        let ok = audit_against(
            &tree.0,
            &[("core/src/arch.rs", ""), ("core/src/lib.rs", "")],
        )
        .unwrap();
        assert!(ok.passed(), "{:?}", ok.problems());
    }

    #[test]
    fn a_problem_line_shows_the_first_lines_of_many() {
        let result = Audit {
            unlisted: vec![UnsafeFile {
                path: "a.rs".into(),
                lines: vec![3, 5, 8, 13, 21, 34, 55],
            }],
            ..Audit::default()
        };
        let problems = result.problems();
        assert!(
            problems[0].starts_with(
                "a.rs:3: `unsafe` outside the allow-list (7 uses, lines 3, 5, 8, 13, 21, ...): "
            ),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn allow_list_is_sorted_unique_and_gives_reasons() {
        for pair in ALLOWED_UNSAFE_FILES.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} before {}", pair[0].0, pair[1].0);
        }
        for (path, reason) in ALLOWED_UNSAFE_FILES {
            assert!(path.ends_with(".rs") && !path.contains('\\'), "{path}");
            assert!(!reason.trim().is_empty(), "{path} needs a reason");
        }
    }
}
