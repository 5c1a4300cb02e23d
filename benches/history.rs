//! History index benchmark: building the index from cold against
//! `git log --name-status` over the same repository, measured in one run, and the cached
//! index's update after one new commit.
//!
//!     cargo bench --bench history
//!
//! The repository comes from `../shared/bench/make-history.sh 20000 DIR` (made on first use;
//! set CLINIC_BENCH_HISTORY=DIR to reuse one). It is copied before commits are added, so the
//! generated repository stays pristine.
//!
//! `CLINIC_BENCH_HISTORY_ONCE=key` (or `=nokey`) builds the index once, cold, over the source
//! repository without writing its cache, and exits: for `/usr/bin/time -v` (peak RSS) and
//! `perf record` on the bench binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use clinic::history::{CacheUse, History, HistoryOptions};

const RUNS: usize = 5;

fn main() {
    let source = PathBuf::from(
        std::env::var("CLINIC_BENCH_HISTORY").unwrap_or_else(|_| "/tmp/bench-history".into()),
    );
    if !source.join(".git").is_dir() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/make-history.sh");
        eprintln!("making {} with {}", source.display(), script.display());
        let ok = Command::new("bash")
            .arg(&script)
            .arg("20000")
            .arg(&source)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "make-history.sh failed; is ../shared/bench/ there?");
    }
    if let Ok(mode) = std::env::var("CLINIC_BENCH_HISTORY_ONCE") {
        let options = HistoryOptions {
            release_tag_pattern: "v*".into(),
            flag_keys: match mode.as_str() {
                "nokey" => Vec::new(),
                _ => vec!["new_checkout".into()],
            },
            use_cache: false,
            write_cache: false,
        };
        let start = Instant::now();
        let h = History::load(&source, &options).expect("history");
        println!(
            "history index over {} commits, cold, {mode}: {:.1} ms",
            h.commit_count(),
            ms(start.elapsed())
        );
        return;
    }
    let work = tempfile::tempdir().expect("temp dir");
    let repo_dir = work.path().join("repo");
    let copied = Command::new("cp")
        .arg("-a")
        .arg(&source)
        .arg(&repo_dir)
        .status()
        .expect("cp");
    assert!(copied.success());

    let options = |use_cache| HistoryOptions {
        release_tag_pattern: "v*".into(),
        flag_keys: vec!["new_checkout".into()],
        use_cache,
        write_cache: true,
    };
    let options_no_keys = HistoryOptions {
        flag_keys: Vec::new(),
        ..options(false)
    };

    let mut cold = Vec::new();
    let mut cold_no_keys = Vec::new();
    let mut git_log = Vec::new();
    // CPU seconds too (user + system, all threads): on a busy machine they move far less than
    // wall time, so they compare variants where wall time cannot.
    let (mut cpu_log, mut cpu_cold, mut cpu_cold_no_keys) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let before = cpu(libc::RUSAGE_CHILDREN);
        git_log.push(time(|| {
            let out = Command::new("git")
                .args(["log", "--name-status", "--format=%H%x09%at%x09%s"])
                .current_dir(&repo_dir)
                .output()
                .expect("git log");
            assert!(out.status.success());
        }));
        cpu_log.push(cpu(libc::RUSAGE_CHILDREN) - before);
        let before = cpu(libc::RUSAGE_SELF);
        cold_no_keys.push(time(|| {
            let h = History::load(&repo_dir, &options_no_keys).expect("history");
            assert_eq!(h.cache_use, CacheUse::Cold);
        }));
        cpu_cold_no_keys.push(cpu(libc::RUSAGE_SELF) - before);
        let before = cpu(libc::RUSAGE_SELF);
        cold.push(time(|| {
            let h = History::load(&repo_dir, &options(false)).expect("history");
            assert_eq!(h.cache_use, CacheUse::Cold);
        }));
        cpu_cold.push(cpu(libc::RUSAGE_SELF) - before);
    }
    let commits = History::load(&repo_dir, &options(true))
        .expect("history")
        .commit_count();

    let mut incremental = Vec::new();
    let mut hit = Vec::new();
    for i in 0..RUNS {
        commit_one(&repo_dir, i);
        incremental.push(time(|| {
            let h = History::load(&repo_dir, &options(true)).expect("history");
            assert_eq!(h.cache_use, CacheUse::Incremental { new_commits: 1 });
        }));
        hit.push(time(|| {
            let h = History::load(&repo_dir, &options(true)).expect("history");
            assert_eq!(h.cache_use, CacheUse::Hit);
        }));
    }

    let (log, c, cn) = (median(&git_log), median(&cold), median(&cold_no_keys));
    println!("history index over {commits} commits, medians of {RUNS} interleaved runs");
    println!("  git log --name-status           {:>8.1} ms", ms(log));
    println!(
        "  clinic index, cold, no flag key {:>8.1} ms  ({:.2}x git log)",
        ms(cn),
        ms(cn) / ms(log)
    );
    println!(
        "  clinic index, cold, one flag key{:>8.1} ms  ({:.2}x git log)",
        ms(c),
        ms(c) / ms(log)
    );
    println!(
        "  clinic index, one new commit    {:>8.1} ms",
        ms(median(&incremental))
    );
    println!(
        "  clinic index, unchanged (hit)   {:>8.1} ms",
        ms(median(&hit))
    );
    let (cl, cc, ccn) = (
        median(&cpu_log),
        median(&cpu_cold),
        median(&cpu_cold_no_keys),
    );
    println!("CPU time (user + system, all threads), medians");
    println!("  git log --name-status           {:>8.1} ms", ms(cl));
    println!(
        "  clinic index, cold, no flag key {:>8.1} ms  ({:.2}x git log)",
        ms(ccn),
        ms(ccn) / ms(cl)
    );
    println!(
        "  clinic index, cold, one flag key{:>8.1} ms  ({:.2}x git log)",
        ms(cc),
        ms(cc) / ms(cl)
    );
}

fn commit_one(repo_dir: &Path, i: usize) {
    let repo = git2::Repository::open(repo_dir).expect("open");
    std::fs::write(repo_dir.join("README.md"), format!("bench commit {i}\n")).expect("write");
    let mut index = repo.index().expect("index");
    index.add_path(Path::new("README.md")).expect("add");
    index.write().expect("index write");
    let tree = repo
        .find_tree(index.write_tree().expect("tree"))
        .expect("tree");
    let parent = repo.head().and_then(|h| h.peel_to_commit()).expect("head");
    let sig = git2::Signature::now("bench", "bench@example.org").expect("sig");
    repo.commit(
        Some("HEAD"),
        &sig,
        &sig,
        &format!("bench {i}"),
        &tree,
        &[&parent],
    )
    .expect("commit");
}

fn time(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

/// User plus system CPU time of this process (`RUSAGE_SELF`) or of its finished children.
fn cpu(who: libc::c_int) -> Duration {
    // SAFETY: getrusage fills the zeroed struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
