//! Students given as git URLs (`repo: https://github.com/ada/orders-api`, `git@host:ada/x`,
//! `ssh://`, `git://`, `file://`): clinic keeps a bare mirror of each in a cache folder and
//! brings it up to date on every run, then builds the student from a throw-away clone of the
//! mirror's default branch.
//!
//! Decisions:
//! - **The system `git` does the network**, as cargo's `git-fetch-with-cli` does: it already
//!   has the instructor's credentials, proxies and SSH keys (git2 is built without network
//!   support on purpose).
//! - **Nothing ever waits for a person.** `GIT_TERMINAL_PROMPT=0`, an SSH in batch mode, stdin
//!   closed: a private repository without credentials is an error cell, not a hung dashboard.
//!   Only the http(s), ssh, git and file transports are allowed (`GIT_ALLOW_PROTOCOL`: never
//!   `ext::`, which runs commands), and the URL is passed after `--`.
//! - **Every git run has a deadline** (`--git-timeout`); past it, git and whatever it started
//!   (its own process group) are killed and the student is an error cell.
//! - **A mirror is created atomically**: cloned into a temporary folder in the cache, renamed
//!   into place when complete, so a killed run never leaves half a mirror to be trusted.
//! - **The mirror's name comes from its URL** (readable part plus a hash of the whole URL), so a
//!   renamed student keeps their mirror, and two students with one URL share it.
//! - **The badges are computed from the default branch** as the server names it when the mirror
//!   is made (the mirror's `HEAD`), with every tag: a local clone of the mirror gives the build
//!   a normal work tree. The clone shares the mirror's objects and is deleted after the build.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The default limit for one clone or fetch.
pub(crate) const DEFAULT_GIT_TIMEOUT: Duration = Duration::from_secs(300);
/// The transports git may use for a roster URL.
const ALLOWED_PROTOCOLS: &str = "https:http:ssh:git:file";
/// Most bytes of git's error output kept for a message.
const MAX_STDERR: u64 = 64 * 1024;

/// Whether a roster `repo:` value is a git URL rather than a local folder: a URL scheme git
/// fetches from, or the scp-like `user@host:path` form.
pub(crate) fn is_git_url(repo: &str) -> bool {
    const SCHEMES: [&str; 5] = ["https://", "http://", "ssh://", "git://", "file://"];
    if SCHEMES.iter().any(|s| repo.starts_with(s)) {
        return true;
    }
    // `git@github.com:ada/orders-api.git`: git's own rule is a colon before the first slash.
    match (repo.find('@'), repo.find(':'), repo.find('/')) {
        (Some(at), Some(colon), slash) => at < colon && slash.is_none_or(|s| colon < s) && at > 0,
        _ => false,
    }
}

/// `url` without the user and password of an `https://user:token@host/...` URL: what clinic
/// shows, writes and names folders after (a roster may carry a token; the dashboard must not).
pub(crate) fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// The cache of mirrors, and how long a git run may take.
pub(crate) struct Mirrors {
    cache: PathBuf,
    timeout: Duration,
}

impl Mirrors {
    pub(crate) fn new(cache: PathBuf, timeout: Duration) -> Mirrors {
        Mirrors { cache, timeout }
    }

    /// Creates or updates the mirror of every URL, `jobs` at a time; per URL, the mirror's
    /// folder or why it could not be brought up to date.
    pub(crate) fn sync_all(
        &self,
        urls: &[&str],
        jobs: usize,
    ) -> BTreeMap<String, Result<PathBuf, String>> {
        use rayon::prelude::*;
        self.remove_abandoned_clones();
        let mut unique: Vec<&str> = urls.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let sync = || {
            unique
                .par_iter()
                .map(|url| (url.to_string(), self.sync(url)))
                .collect()
        };
        match rayon::ThreadPoolBuilder::new().num_threads(jobs).build() {
            Ok(pool) => pool.install(sync),
            Err(_) => sync(),
        }
    }

    /// Half-made clones of runs that were killed: older than any run's clone could be.
    fn remove_abandoned_clones(&self) {
        let Ok(entries) = std::fs::read_dir(&self.cache) else {
            return;
        };
        let limit = self.timeout + Duration::from_secs(600);
        for entry in entries.flatten() {
            let name = entry.file_name();
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > limit);
            if name.to_string_lossy().starts_with(".clone-") && old {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }

    /// The mirror of `url`, cloned if new, fetched (with pruning) otherwise.
    pub(crate) fn sync(&self, url: &str) -> Result<PathBuf, String> {
        let shown = redacted(url);
        std::fs::create_dir_all(&self.cache).map_err(|e| {
            format!(
                "cannot create the repository cache {}: {e}",
                self.cache.display()
            )
        })?;
        let mirror = self.cache.join(mirror_name(&shown));
        if mirror.join("HEAD").is_file() {
            let mut fetch = git(self.timeout);
            fetch.arg("--git-dir").arg(&mirror).args([
                "fetch",
                "--prune",
                "--prune-tags",
                "--force",
                "--quiet",
                "origin",
            ]);
            run(fetch, self.timeout).map_err(|e| format!("cannot fetch {shown}: {e}"))?;
            self.follow_default_branch(&mirror);
            return default_branch_present(&mirror, &shown).map(|()| mirror);
        }
        let partial = tempfile::Builder::new()
            .prefix(".clone-")
            .tempdir_in(&self.cache)
            .map_err(|e| format!("cannot write in the repository cache: {e}"))?;
        let into = partial.path().join("mirror.git");
        let mut clone = git(self.timeout);
        clone
            .args(["clone", "--mirror", "--quiet", "--"])
            .arg(url)
            .arg(&into);
        run(clone, self.timeout).map_err(|e| format!("cannot clone {shown}: {e}"))?;
        if let Err(e) = std::fs::rename(&into, &mirror) {
            // Another clinic cloned the same URL into the same cache meanwhile: use theirs.
            if !mirror.join("HEAD").is_file() {
                return Err(format!(
                    "cannot move the new mirror of {shown} into the cache: {e}"
                ));
            }
        }
        Ok(mirror)
    }

    /// Points the mirror's `HEAD` at the server's default branch again: a mirror keeps the one
    /// it was cloned with, and a student who renamed `master` to `main` would otherwise look
    /// empty once `master` is pruned. A server that does not say is left as it was.
    fn follow_default_branch(&self, mirror: &Path) {
        let mut ask = git(self.timeout);
        ask.arg("--git-dir")
            .arg(mirror)
            .args(["ls-remote", "--symref", "origin", "HEAD"]);
        let Ok(listing) = output(ask, self.timeout) else {
            return;
        };
        let branch = listing
            .lines()
            .find_map(|l| l.strip_prefix("ref: ")?.strip_suffix("\tHEAD"))
            .filter(|b| b.starts_with("refs/heads/") && !b.contains(char::is_whitespace));
        if let Some(branch) = branch {
            let mut set = git(self.timeout);
            set.arg("--git-dir")
                .arg(mirror)
                .args(["symbolic-ref", "HEAD", branch]);
            let _ = run(set, self.timeout);
        }
    }

    /// A work tree of the mirror's default branch, in a new temporary folder (deleted when the
    /// returned guard is dropped); the clone is the `repo/` folder inside it. Its `origin` is
    /// `url` again, so that the student's pages link commits to their forge.
    pub(crate) fn work_tree(&self, mirror: &Path, url: &str) -> Result<tempfile::TempDir, String> {
        let dir = tempfile::Builder::new()
            .prefix("clinic-student-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary folder: {e}"))?;
        let mut clone = git(self.timeout);
        clone
            .args(["clone", "--shared", "--quiet", "--"])
            .arg(mirror)
            .arg(dir.path().join("repo"));
        run(clone, self.timeout).map_err(|e| format!("cannot check out the mirror: {e}"))?;
        git2::Repository::open(dir.path().join("repo"))
            .and_then(|repo| repo.remote_set_url("origin", &redacted(url)))
            .map_err(|e| format!("cannot set the clone's origin: {}", e.message()))?;
        Ok(dir)
    }
}

/// Whether the mirror's `HEAD` names a branch that exists (the default branch was not deleted).
fn default_branch_present(mirror: &Path, shown: &str) -> Result<(), String> {
    let repo = git2::Repository::open_bare(mirror)
        .map_err(|e| format!("cannot read the mirror of {shown}: {}", e.message()))?;
    if repo.is_empty().unwrap_or(false) {
        return Ok(());
    }
    let present = repo.head().is_ok();
    if present {
        return Ok(());
    }
    Err(format!(
        "{shown} has no default branch any more (the server does not say which branch replaced it)"
    ))
}

/// `github.com-ada-orders-api-<hash>.git`: readable, and unique per URL.
fn mirror_name(url: &str) -> String {
    let readable: String = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let readable: String = readable
        .split('-')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let readable: String = readable.chars().take(60).collect();
    // Stable across runs and builds of clinic, and collision-resistant: the SHA-1 git itself
    // would give the URL's text as a blob (libgit2 computes it; nothing is written).
    let id = git2::Oid::hash_object(git2::ObjectType::Blob, url.as_bytes())
        .map(|oid| oid.to_string())
        .unwrap_or_default();
    format!("{readable}-{}.git", &id[..id.len().min(20)])
}

/// A git command that never asks anyone anything.
fn git(timeout: Duration) -> Command {
    let mut command = Command::new("git");
    let seconds = timeout.as_secs().max(1);
    command
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "")
        .env("SSH_ASKPASS", "")
        // Large files stay pointers: their server is not one the roster named.
        .env("GIT_LFS_SKIP_SMUDGE", "1")
        .env("GIT_ALLOW_PROTOCOL", ALLOWED_PROTOCOLS)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SSH without questions, unless the user chose their own SSH command (a deploy key, plink).
    if std::env::var_os("GIT_SSH_COMMAND").is_none() && std::env::var_os("GIT_SSH").is_none() {
        command.env(
            "GIT_SSH_COMMAND",
            format!("ssh -o BatchMode=yes -o ConnectTimeout={seconds}"),
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Its own process group, so that a timeout kills git and the helpers it started.
        command.process_group(0);
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl is async-signal-safe. git dies with clinic (Ctrl-C reaches only clinic,
        // git being in its own process group) instead of running on with no deadline.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
    }
    command
}

/// Runs `command` like [`run`] and returns its standard output (at most 64 KiB).
fn output(mut command: Command, timeout: Duration) -> Result<String, String> {
    let file = tempfile::tempfile().map_err(|e| format!("cannot create a temporary file: {e}"))?;
    let reader = file.try_clone().map_err(|e| e.to_string())?;
    command.stdout(file);
    run(command, timeout)?;
    let mut text = String::new();
    let mut reader = reader;
    use std::io::Seek;
    reader.rewind().map_err(|e| e.to_string())?;
    let _ = reader.take(MAX_STDERR).read_to_string(&mut text);
    Ok(text)
}

/// Runs `command` to completion or until `timeout`; the last line git printed on failure.
fn run(mut command: Command, timeout: Duration) -> Result<(), String> {
    let mut child = command.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            "git is not installed (clinic runs the system `git` to fetch repo: URLs)".to_string()
        }
        _ => format!("cannot run git: {e}"),
    })?;
    // Read the error output on its own thread: a full pipe would block git forever.
    let stderr = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut stderr) = stderr {
            let _ = (&mut stderr).take(MAX_STDERR).read_to_string(&mut text);
            // The rest is read and dropped: a closed pipe would kill git with SIGPIPE.
            let _ = std::io::copy(&mut stderr, &mut std::io::sink());
        }
        text
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() >= timeout => break None,
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("cannot wait for git: {e}")),
        }
    };
    let Some(status) = status else {
        kill_group(&mut child);
        return Err(format!(
            "git took longer than {} s and was stopped (raise --git-timeout for large repositories)",
            timeout.as_secs()
        ));
    };
    let text = reader.join().unwrap_or_default();
    if status.success() {
        return Ok(());
    }
    let last = text
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("git failed without a message");
    Err(last.chars().take(300).collect())
}

/// Kills git's whole process group (a transport helper or ssh would hold on otherwise).
fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: signals the process group this module created for the child.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_urls_and_local_folders() {
        for url in [
            "https://github.com/ada/orders-api",
            "http://127.0.0.1:8080/ada.git",
            "ssh://git@example.org/ada/x.git",
            "git://127.0.0.1:9418/ada",
            "file:///srv/git/ada.git",
            "git@github.com:ada/orders-api.git",
        ] {
            assert!(is_git_url(url), "{url}");
        }
        for path in [
            "students/ada",
            "/home/me/ada",
            "./ada@work",
            "ada@work/x:y",
            "C:/students/ada",
            "@host:x",
        ] {
            assert!(!is_git_url(path), "{path}");
        }
    }

    #[test]
    fn credentials_never_leave_the_url() {
        assert_eq!(
            redacted("https://ada:ghp_SECRET@github.com/ada/x.git"),
            "https://github.com/ada/x.git"
        );
        assert_eq!(
            redacted("https://ghp_SECRET@github.com/ada/x"),
            "https://github.com/ada/x"
        );
        assert_eq!(
            redacted("https://github.com/a@b/x"),
            "https://github.com/a@b/x"
        );
        assert_eq!(
            redacted("git@github.com:ada/x.git"),
            "git@github.com:ada/x.git"
        );
        assert_eq!(redacted("file:///srv/x"), "file:///srv/x");
    }

    #[test]
    fn mirror_names_are_readable_stable_and_distinct() {
        let a = mirror_name("https://github.com/Ada/orders-api.git");
        assert!(a.starts_with("github-com-ada-orders-api-git-"), "{a}");
        assert!(a.ends_with(".git"));
        assert_eq!(a, mirror_name("https://github.com/Ada/orders-api.git"));
        assert_ne!(a, mirror_name("https://github.com/ada/orders-api.git"));
        assert!(mirror_name("git@github.com:ada/x").starts_with("git-github-com-ada-x-"));
    }
}
