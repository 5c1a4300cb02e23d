//! Real git repositories for the evidence tests, built with git2 in temporary directories.
//!
//! [`RepoBuilder`] writes files into a work tree and commits all of it with deterministic
//! signatures: every commit and tag carries a date like `"2026-09-01 10:00"` at the fixed offset
//! [`OFFSET_MINUTES`] (+01:00, the demo's `time_zone`). It can branch and merge (a merge commit
//! with two parents), tag releases (annotated, dated), detach HEAD, and start from
//! `clinic::commands::demo::write`, whose four badges all verify, so that a test breaks exactly one thing.
//!
//! The history cache (`.clinic/`) and the site output (`public/`) are never committed, whatever
//! `.gitignore` says.

use std::path::{Path, PathBuf};
use std::process::Command;

use git2::build::CheckoutBuilder;
use git2::{IndexAddOption, ObjectType, Oid, Repository, RepositoryInitOptions, Signature, Time};

pub const AUTHOR: &str = "Grace Hopper";
pub const EMAIL: &str = "grace@example.org";
/// The offset of every signature: +01:00 (CET), as in the demo's `clinic.yaml`.
pub const OFFSET_MINUTES: i32 = 60;

/// A repository being built, with its work tree at `root`.
pub struct RepoBuilder {
    root: PathBuf,
    repo: Repository,
}

impl RepoBuilder {
    /// `git init` with `main` as the initial branch; no commits yet.
    pub fn init(root: &Path) -> RepoBuilder {
        std::fs::create_dir_all(root).unwrap();
        let repo = Repository::init_opts(root, RepositoryInitOptions::new().initial_head("main"))
            .unwrap_or_else(|e| panic!("git init {}: {e}", root.display()));
        RepoBuilder {
            root: root.to_path_buf(),
            repo,
        }
    }

    /// The demo repository of `clinic demo`, written into `root` (which must not exist yet or
    /// be empty): releases v1.0.0..v1.7.0, all four badges verified.
    pub fn demo(root: &Path) -> RepoBuilder {
        clinic::commands::demo::write(root)
            .unwrap_or_else(|e| panic!("clinic demo {}: {e}", root.display()));
        RepoBuilder::open(root)
    }

    /// An existing repository.
    pub fn open(root: &Path) -> RepoBuilder {
        let repo = Repository::open(root)
            .unwrap_or_else(|e| panic!("open the repository {}: {e}", root.display()));
        RepoBuilder {
            root: root.to_path_buf(),
            repo,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn repo(&self) -> &Repository {
        &self.repo
    }

    /// Writes a file (creating its folders). A new file is not executable; an existing file
    /// keeps its mode, as an editor would.
    pub fn write(&self, path: &str, content: &str) -> &Self {
        let full = self.root.join(path);
        let existing = std::fs::metadata(&full).ok().map(|m| is_executable(&m));
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, content).unwrap_or_else(|e| panic!("write {}: {e}", full.display()));
        self.set_executable(path, existing.unwrap_or(false))
    }

    /// Writes a file with its executable bit set (`0755`).
    pub fn write_executable(&self, path: &str, content: &str) -> &Self {
        self.write(path, content).set_executable(path, true)
    }

    /// `chmod 0755` or `chmod 0644`.
    pub fn set_executable(&self, path: &str, executable: bool) -> &Self {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = if executable { 0o755 } else { 0o644 };
            std::fs::set_permissions(self.root.join(path), std::fs::Permissions::from_mode(mode))
                .unwrap_or_else(|e| panic!("chmod {path}: {e}"));
        }
        #[cfg(not(unix))]
        let _ = (path, executable);
        self
    }

    /// The text of a work-tree file.
    #[track_caller]
    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.root.join(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
    }

    /// Replaces every `from` by `to` in a work-tree file; `from` must be there, so that a
    /// change to the demo cannot silently turn a test into a no-op.
    #[track_caller]
    pub fn replace(&self, path: &str, from: &str, to: &str) -> &Self {
        let text = self.read(path);
        assert!(
            text.contains(from),
            "{path} does not contain {from:?}:\n{text}"
        );
        self.write(path, &text.replace(from, to))
    }

    /// Deletes a work-tree file (the next commit removes it).
    #[track_caller]
    pub fn remove(&self, path: &str) -> &Self {
        std::fs::remove_file(self.root.join(path)).unwrap_or_else(|e| panic!("remove {path}: {e}"));
        self
    }

    /// Commits the whole work tree on the current branch (or detached HEAD) at `at`
    /// (`YYYY-MM-DD HH:MM`, at [`OFFSET_MINUTES`]), author and committer alike.
    pub fn commit(&self, at: &str, message: &str) -> Oid {
        let tree = self.repo.find_tree(self.stage()).unwrap();
        let parent = self.repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        let sig = signature(at);
        self.repo
            .commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
            .unwrap_or_else(|e| panic!("commit {message:?}: {e}"))
    }

    /// Stages every work-tree change (additions, edits, mode changes, deletions).
    fn stage(&self) -> Oid {
        let mut index = self.repo.index().unwrap();
        let mut skip_generated = |path: &Path, _: &[u8]| -> i32 {
            i32::from(path.starts_with(".clinic") || path.starts_with("public"))
        };
        index
            .add_all(["*"], IndexAddOption::DEFAULT, Some(&mut skip_generated))
            .unwrap();
        index.update_all(["*"], None).unwrap();
        index.write().unwrap();
        index.write_tree().unwrap()
    }

    /// An annotated release tag on HEAD, tagged at `at`.
    pub fn tag(&self, name: &str, at: &str) -> Oid {
        self.tag_commit(name, self.head(), at)
    }

    /// An annotated tag on `commit`, tagged at `at`.
    pub fn tag_commit(&self, name: &str, commit: Oid, at: &str) -> Oid {
        let target = self
            .repo
            .find_object(commit, Some(ObjectType::Commit))
            .unwrap();
        self.repo
            .tag(
                name,
                &target,
                &signature(at),
                &format!("Release {name}"),
                false,
            )
            .unwrap_or_else(|e| panic!("tag {name}: {e}"))
    }

    /// The commit HEAD points at.
    pub fn head(&self) -> Oid {
        self.repo.head().unwrap().peel_to_commit().unwrap().id()
    }

    /// The name of the current branch (`main`), if HEAD is not detached.
    pub fn current_branch(&self) -> Option<String> {
        let head = self.repo.head().ok()?;
        head.is_branch()
            .then(|| head.shorthand().unwrap_or("").to_string())
    }

    /// Creates `name` at HEAD and switches to it (`git switch -c name`).
    pub fn branch(&self, name: &str) -> &Self {
        let head = self.repo.find_commit(self.head()).unwrap();
        self.repo
            .branch(name, &head, false)
            .unwrap_or_else(|e| panic!("branch {name}: {e}"));
        self.repo.set_head(&format!("refs/heads/{name}")).unwrap();
        self
    }

    /// Switches to an existing branch, updating the work tree (`git switch --force name`).
    pub fn switch(&self, name: &str) -> &Self {
        self.repo.set_head(&format!("refs/heads/{name}")).unwrap();
        self.checkout_head();
        self
    }

    /// Merges `branch` into the current branch with a merge commit (two parents: the current
    /// tip first, the branch tip second), as a merged pull request does. The tree is git's
    /// three-way merge of the two; a conflict fails the test.
    pub fn merge(&self, branch: &str, at: &str, message: &str) -> Oid {
        let ours = self.repo.find_commit(self.head()).unwrap();
        let theirs = self
            .repo
            .find_branch(branch, git2::BranchType::Local)
            .unwrap_or_else(|e| panic!("no branch {branch}: {e}"))
            .get()
            .peel_to_commit()
            .unwrap();
        let mut merged = self.repo.merge_commits(&ours, &theirs, None).unwrap();
        assert!(!merged.has_conflicts(), "merging {branch} conflicts");
        let tree = self
            .repo
            .find_tree(merged.write_tree_to(&self.repo).unwrap())
            .unwrap();
        let sig = signature(at);
        let id = self
            .repo
            .commit(Some("HEAD"), &sig, &sig, message, &tree, &[&ours, &theirs])
            .unwrap_or_else(|e| panic!("merge {branch}: {e}"));
        self.checkout_head();
        id
    }

    /// Detaches HEAD at its current commit (`git switch --detach`).
    pub fn detach(&self) -> &Self {
        self.repo.set_head_detached(self.head()).unwrap();
        self
    }

    fn checkout_head(&self) {
        self.repo
            .checkout_head(Some(CheckoutBuilder::new().force()))
            .unwrap_or_else(|e| panic!("checkout HEAD: {e}"));
    }
}

#[cfg(unix)]
fn is_executable(metadata: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &std::fs::Metadata) -> bool {
    false
}

/// A temporary directory for one test's repositories. On Linux it is made on tmpfs
/// (`/dev/shm`) unless `TMPDIR` names a place: building a repository is mostly small file-system
/// calls, and on a slow disk they dominate the run time.
pub fn temp_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if std::env::var_os("TMPDIR").is_none() && shm.is_dir() {
        if let Ok(dir) = tempfile::Builder::new()
            .prefix("clinic-test-")
            .tempdir_in(shm)
        {
            return dir;
        }
    }
    tempfile::tempdir().expect("create a temporary directory")
}

/// The signature of every commit and tag: [`AUTHOR`] at `at`, offset [`OFFSET_MINUTES`].
pub fn signature(at: &str) -> Signature<'static> {
    Signature::new(AUTHOR, EMAIL, &Time::new(seconds(at), OFFSET_MINUTES)).unwrap()
}

/// `YYYY-MM-DD HH:MM` at [`OFFSET_MINUTES`], as seconds since the Unix epoch. Written here
/// rather than borrowed from the crate, so the fixtures do not depend on the code under test.
#[track_caller]
pub fn seconds(at: &str) -> i64 {
    let bad = || panic!("{at:?} is not YYYY-MM-DD HH:MM");
    let number = |range: std::ops::Range<usize>| -> i64 {
        at.get(range)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(bad)
    };
    if at.len() != 16
        || &at[4..5] != "-"
        || &at[7..8] != "-"
        || &at[10..11] != " "
        || &at[13..14] != ":"
    {
        bad();
    }
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    let (hour, minute) = (number(11..13), number(14..16));
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + hour * 3600 + minute * 60 - i64::from(OFFSET_MINUTES) * 60
}

/// Runs the `git` binary in `dir` with a neutral environment (no system or user config) and
/// returns its standard output; a missing binary or a failure fails the test with a clear
/// message.
#[track_caller]
pub fn git_cli(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .unwrap_or_else(|e| {
            panic!("this test needs the `git` command-line tool to run `git {}`, and it could not be started: {e}", args.join(" "))
        });
    assert!(
        output.status.success(),
        "git {} failed ({}):\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
