//! Hostile input that used to cost the build its memory or its life: nested YAML aliases,
//! named pipes (FIFOs) where files are expected, a student whose build never ends, and
//! duplicate YAML keys reported at the wrong line. Every build runs as a child process with a
//! time limit (a hang fails the test instead of hanging it) and with its peak memory measured.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::git::{temp_dir, RepoBuilder};

/// Any build here that runs longer than this is taken to hang, and killed.
const HANG: Duration = Duration::from_secs(20);

/// What a bounded run of the binary did.
#[derive(Debug)]
struct Bounded {
    /// The exit code; `None` when killed (hung, or over the memory ceiling) or signalled.
    code: Option<i32>,
    #[allow(dead_code)]
    stdout: String,
    stderr: String,
    /// Peak resident set size of the child, in KiB (`ru_maxrss`, or the last `VmHWM` seen).
    peak_kib: u64,
    elapsed: Duration,
    /// Killed for running longer than [`HANG`].
    hung: bool,
    /// Killed for going over the memory ceiling.
    over_memory: bool,
}

impl Bounded {
    #[track_caller]
    fn finished(&self) -> &Self {
        assert!(
            !self.hung,
            "the build hung (killed after {:?})\n--- stderr\n{}",
            HANG, self.stderr
        );
        assert!(
            !self.over_memory,
            "the build went over the memory ceiling (peak {} MiB)\n--- stderr\n{}",
            self.peak_kib / 1024,
            tail(&self.stderr)
        );
        assert!(
            self.code.is_some(),
            "the build died of a signal (peak {} MiB)\n--- stderr\n{}",
            self.peak_kib / 1024,
            tail(&self.stderr)
        );
        self
    }

    #[track_caller]
    fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "standard error lacks {needle:?}:\n{}",
            tail(&self.stderr)
        );
        self
    }
}

fn tail(text: &str) -> &str {
    let start = text.len().saturating_sub(4000);
    let start = (start..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    &text[start..]
}

/// Runs `command`, killing it after [`HANG`] or when its peak memory passes `ceiling_kib`, and
/// measures its peak resident set size with `wait4`'s resource usage.
#[allow(clippy::zombie_processes)] // reaped by `wait4`, which also gives the peak memory
fn run_bounded(mut command: Command, ceiling_kib: u64) -> Bounded {
    command
        .env_remove("CLICOLOR_FORCE")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().expect("run the clinic binary");
    let pid = child.id() as libc::pid_t;
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let (mut hung, mut over_memory, mut seen_hwm) = (false, false, 0u64);
    let (status, rusage) = loop {
        let mut status = 0;
        // SAFETY: plain syscall on our own child; both out-pointers are valid.
        let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
        let done = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut rusage) };
        if done == pid {
            break (status, rusage);
        }
        assert_eq!(done, 0, "wait4 failed: {}", std::io::Error::last_os_error());
        seen_hwm = seen_hwm.max(vm_hwm_kib(pid).unwrap_or(0));
        if !hung && !over_memory {
            if seen_hwm > ceiling_kib {
                over_memory = true;
                // SAFETY: the child has not been reaped, so `pid` is still ours.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            } else if started.elapsed() > HANG {
                hung = true;
                // SAFETY: as above.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed();
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Bounded {
        code,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
        // Linux reports ru_maxrss in KiB.
        peak_kib: (rusage.ru_maxrss as u64).max(seen_hwm),
        elapsed,
        hung,
        over_memory,
    }
}

fn vm_hwm_kib(pid: libc::pid_t) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `clinic build --root <root>`, bounded.
fn build(root: &Path, ceiling_kib: u64) -> Bounded {
    let mut command = Command::new(env!("CARGO_BIN_EXE_clinic"));
    command.arg("build").arg("--root").arg(root);
    run_bounded(command, ceiling_kib)
}

/// A generous ceiling for the tests that are about time, not memory.
const NO_CEILING: u64 = 4 * 1024 * 1024;

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn mkfifo(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o644) };
    assert_eq!(
        rc,
        0,
        "mkfifo {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
}

/// An empty site root with one good page, `content/fine.md`.
fn site_with_a_fine_page() -> (tempfile::TempDir, PathBuf) {
    let tmp = temp_dir();
    let root = tmp.path().join("site");
    write(
        &root,
        "content/fine.md",
        "---\ntitle: Fine\n---\nA fine page.\n",
    );
    (tmp, root)
}

#[track_caller]
fn assert_fine_page_built(root: &Path) {
    let page = root.join("public/fine/index.html");
    assert!(page.is_file(), "{} was not built", page.display());
}

/// The number after `prefix` in `text` (`error: content/a.md:12: ...` -> 12).
#[track_caller]
fn line_after(text: &str, prefix: &str) -> usize {
    let at = text
        .find(prefix)
        .unwrap_or_else(|| panic!("{prefix:?} not in:\n{}", tail(text)));
    let digits: String = text[at + prefix.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no line number after {prefix:?} in:\n{}", tail(text)))
}

// ---- 1. Nested aliases ----------------------------------------------------------------------

/// Front matter of about 58 KB (under the 64 KiB cap, and under the old alias budget of
/// alias uses x size): a padding list that raises serde_yaml's own jump limit, a 30 KB anchored
/// string, then `levels` levels that each alias the previous one twice, 30 KB x 2^levels.
fn nested_alias_front_matter(levels: usize) -> String {
    let mut text = String::from("---\ntitle: Nested\npad: [");
    text.push_str(&["0"; 13_000].join(","));
    text.push_str("]\ns: &s \"");
    text.push_str(&"x".repeat(30_000));
    text.push_str("\"\n");
    let mut previous = "s".to_string();
    for level in 1..=levels {
        text.push_str(&format!("l{level}: &l{level} [*{previous}, *{previous}]\n"));
        previous = format!("l{level}");
    }
    text.push_str("---\nbody\n");
    text
}

#[test]
fn nested_aliases_fail_fast_at_their_line_with_bounded_memory_and_the_rest_builds() {
    let (_tmp, root) = site_with_a_fine_page();
    let front_matter = nested_alias_front_matter(17);
    assert!(front_matter.len() < 64 * 1024 && front_matter.len() > 50_000);
    write(&root, "content/nested.md", &front_matter);

    // Killed at 1 GiB: the old code takes gigabytes (and aborts at 17 levels).
    let run = build(&root, 1024 * 1024);
    eprintln!(
        "nested aliases: peak {} MiB in {:?}",
        run.peak_kib / 1024,
        run.elapsed
    );
    run.finished()
        .stderr_has("error: content/nested.md:")
        .stderr_has("aliases");
    assert!(
        run.peak_kib < 200 * 1024,
        "peak RSS {} MiB, over 200 MiB",
        run.peak_kib / 1024
    );
    assert!(
        run.elapsed < Duration::from_secs(10),
        "took {:?}",
        run.elapsed
    );
    // The line is a front-matter line that uses or defines an alias.
    let line = line_after(&run.stderr, "error: content/nested.md:");
    let text = front_matter.lines().nth(line - 1).unwrap_or("");
    assert!(
        line > 1 && (text.contains('*') || text.contains('&')),
        "line {line} is {:?}",
        &text[..text.len().min(80)]
    );
    assert_fine_page_built(&root);
    assert!(!root.join("public/nested").exists());
}

#[test]
fn a_billion_laughs_artifact_is_rejected_with_a_clear_error() {
    let tmp = temp_dir();
    let root = tmp.path().join("site");
    let mut bomb = String::from("---\nflag: checkout-v2\nkind: release\na: &a [");
    bomb.push_str(&["\"lol\""; 9].join(","));
    bomb.push_str("]\n");
    let mut previous = 'a';
    for name in 'b'..='i' {
        bomb.push_str(&format!(
            "{name}: &{name} [{}]\n",
            vec![format!("*{previous}"); 9].join(",")
        ));
        previous = name;
    }
    bomb.push_str("---\nThe flag record.\n");
    write(&root, "library/raw/flags/x.md", &bomb);

    let run = build(&root, 1024 * 1024);
    run.finished();
    assert!(
        run.peak_kib < 200 * 1024,
        "peak {} MiB",
        run.peak_kib / 1024
    );
    let evidence: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("public/evidence.json")).unwrap())
            .unwrap();
    let problems = &evidence["badges"]["flag"]["items"][0]["problems"];
    let problem = problems
        .as_array()
        .and_then(|p| p.first())
        .unwrap_or_else(|| panic!("no problem for the bomb: {}", evidence["badges"]["flag"]));
    assert_eq!(problem["file"], "library/raw/flags/x.md", "{problem}");
    assert_eq!(problem["rule"], "artifact.front-matter", "{problem}");
    let message = problem["message"].as_str().unwrap();
    assert!(message.contains("aliases"), "{problem}");
    let line = problem["line"].as_u64().unwrap_or(0) as usize;
    assert!(
        (3..=11).contains(&line),
        "the line should be a front-matter line with aliases: {problem}"
    );
}

// ---- 2. Named pipes and slow students --------------------------------------------------------

#[test]
fn a_named_pipe_as_clinic_yaml_is_an_error_and_the_site_builds() {
    let (_tmp, root) = site_with_a_fine_page();
    mkfifo(&root.join("clinic.yaml"));
    let run = build(&root, NO_CEILING);
    run.finished()
        .stderr_has("clinic.yaml")
        .stderr_has("named pipe");
    assert_fine_page_built(&root);
}

#[test]
fn a_named_pipe_as_a_content_page_is_a_warning_and_the_rest_builds() {
    let (_tmp, root) = site_with_a_fine_page();
    mkfifo(&root.join("content/x.md"));
    let run = build(&root, NO_CEILING);
    run.finished()
        .stderr_has("warning: content/x.md")
        .stderr_has("named pipe");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_fine_page_built(&root);
}

#[test]
fn a_named_pipe_as_an_artifact_or_the_smoke_script_is_a_warning_and_the_rest_builds() {
    let (_tmp, root) = site_with_a_fine_page();
    write(
        &root,
        "library/raw/flags/good.md",
        "---\nflag: checkout-v2\nkind: release\n---\nThe flag record.\n",
    );
    mkfifo(&root.join("library/raw/flags/x.md"));
    mkfifo(&root.join("scripts/smoke.sh"));
    let run = build(&root, NO_CEILING);
    run.finished()
        .stderr_has("warning: library/raw/flags/x.md: is a named pipe")
        .stderr_has("warning: scripts/smoke.sh: is a named pipe");
    assert_fine_page_built(&root);
    let evidence = std::fs::read_to_string(root.join("public/evidence.json")).unwrap();
    assert!(evidence.contains("library/raw/flags/good.md"), "{evidence}");
}

/// A roster in `dir` with the given student entries (YAML after `- `).
fn write_roster(dir: &Path, entries: &[&str]) -> PathBuf {
    let mut text = String::from("title: Hardening\nstudents:\n");
    for entry in entries {
        text.push_str(&format!("  - {entry}\n"));
    }
    let roster = dir.join("roster.yaml");
    std::fs::write(&roster, text).unwrap();
    roster
}

fn cohort(roster: &Path, out: &Path, deadline_ms: Option<u64>) -> Bounded {
    let mut command = Command::new(env!("CARGO_BIN_EXE_clinic"));
    command.arg("cohort").arg(roster).arg("--out").arg(out);
    if let Some(ms) = deadline_ms {
        command.env("CLINIC_STUDENT_DEADLINE_MS", ms.to_string());
    }
    run_bounded(command, NO_CEILING)
}

fn cohort_students(out: &Path) -> serde_json::Value {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("cohort.json")).unwrap()).unwrap();
    json["students"].clone()
}

#[test]
fn a_named_pipe_as_a_roster_evidence_file_is_an_error_cell_and_the_dashboard_is_written() {
    let tmp = temp_dir();
    mkfifo(&tmp.path().join("pipe/evidence.json"));
    let roster = write_roster(
        tmp.path(),
        &[
            "name: Piped\n    evidence: pipe/evidence.json",
            "name: Missing\n    evidence: nowhere/evidence.json",
        ],
    );
    let out = tmp.path().join("out");
    let run = cohort(&roster, &out, None);
    run.finished();
    assert!(out.join("index.html").is_file(), "{}", run.stderr);
    let students = cohort_students(&out);
    let error = students[0]["error"].as_str().unwrap_or("");
    assert!(error.contains("named pipe"), "{}", students[0]);
    assert!(students[1]["error"].is_string(), "{}", students[1]);
}

#[test]
fn a_student_over_the_deadline_becomes_an_error_cell_and_the_dashboard_is_written() {
    let tmp = temp_dir();
    let repo = RepoBuilder::init(&tmp.path().join("students/slow"));
    repo.write("README.md", "slow\n");
    repo.commit("2025-01-06 10:00", "first");
    let roster = write_roster(
        tmp.path(),
        &[
            "name: Slow\n    repo: students/slow",
            "name: Missing\n    evidence: nowhere/evidence.json",
        ],
    );
    let out = tmp.path().join("out");
    // One millisecond: no real build finishes in time.
    let run = cohort(&roster, &out, Some(1));
    run.finished();
    assert!(out.join("index.html").is_file(), "{}", run.stderr);
    let students = cohort_students(&out);
    let error = students[0]["error"].as_str().unwrap_or("");
    assert!(
        error.contains("took longer than 0.001 s"),
        "{}",
        students[0]
    );
    assert!(
        !out.join("students/slow").exists(),
        "an abandoned student wrote into the output"
    );
    run.stderr_has("took longer than");
}

// ---- 3. Duplicate keys at their own line -------------------------------------------------------

#[test]
fn a_duplicate_front_matter_key_is_reported_at_the_duplicate_line() {
    let (_tmp, root) = site_with_a_fine_page();
    // line 1 `---`, title at 2, the duplicate title at 5
    write(
        &root,
        "content/dup.md",
        "---\ntitle: One\ndescription: d\nweight: 1\ntitle: Two\n---\nbody\n",
    );
    // a nested duplicate: `x` again at line 6
    write(
        &root,
        "content/nested.md",
        "---\ntitle: Nested\nextra:\n  x: 1\n  y: 2\n  x: 3\n---\nbody\n",
    );
    let run = build(&root, NO_CEILING);
    run.finished()
        .stderr_has("error: content/dup.md:5: front matter: duplicate key `title`")
        .stderr_has("error: content/nested.md:6: front matter:")
        .stderr_has("duplicate key `x`");
    assert_fine_page_built(&root);
}

#[test]
fn a_duplicate_clinic_yaml_key_is_reported_at_the_duplicate_line() {
    let (_tmp, root) = site_with_a_fine_page();
    write(
        &root,
        "clinic.yaml",
        "title: Mine\nbase_url: https://x.example/\n\ntitle: Again\n",
    );
    let run = build(&root, NO_CEILING);
    run.finished()
        .stderr_has("error: clinic.yaml:4: invalid configuration: duplicate key `title`");
    assert_fine_page_built(&root);
}
