//! Watching the sources with notify, filtering editor noise, and debouncing into batches.
//!
//! What is watched, and why each:
//! - the site root, *not* recursively: `clinic.yaml`, and the top-level folders below appearing
//!   or being replaced. Watching a folder instead of a file keeps a save-by-rename (vim,
//!   JetBrains: the file is replaced by another inode) working on every later save, since the
//!   event is about a name in the folder;
//! - recursively: `content/`, `theme/`, `library/`, `scripts/` (the smoke script),
//!   `.github/` (only `workflows/` counts), and the migration folders `db/`, `migrations/`,
//!   `migrate/`;
//! - the repository's refs: the git directory (only `HEAD` and `packed-refs` count) and
//!   `refs/` recursively, so a commit, a checkout or a new tag refreshes the evidence.
//!
//! Never watched: the output (`.clinic/serve/`, `public/`), the history cache, and anything
//! else at the root, so a build can never trigger itself. Editors' temporary and swap files
//! (`layers::is_ignored_name`, plus JetBrains' `___jb_old___` and Kate's `.kate-swp`) and
//! access events are dropped before they reach the debounce, so they neither trigger a rebuild
//! nor delay one.
//!
//! Debounce: a batch starts with the first event and ends after `debounce` without another
//! (50 ms by default), or after [`MAX_WAIT`] of continuous events, so a `git checkout` touching
//! a thousand files is one batch, and events that arrive during a build make the next one.
//!
//! `--poll` uses notify's `PollWatcher` (for WSL, Docker and network file systems, where
//! inotify sees nothing). Reaching the inotify limit, at start or later, prints how to raise it
//! and falls back to polling, after which everything is rebuilt (events may have been lost).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use notify::{EventKind, RecursiveMode, Watcher};

use crate::load::layers::is_ignored_name;

/// Top-level folders whose changes matter.
const TOP_DIRS: &[&str] = &[
    "content",
    "theme",
    "library",
    "scripts",
    ".github",
    "db",
    "migrations",
    "migrate",
];
/// Top-level files whose changes matter.
const TOP_FILES: &[&str] = &["clinic.yaml"];
/// How often `--poll` looks. Each look reads and hashes every watched file (see
/// [`make_watcher`]): a few milliseconds for a 1,000-page site on a local disk.
pub(super) const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// The longest a batch waits for the events to stop.
pub(super) const MAX_WAIT: Duration = Duration::from_secs(2);

/// What the watcher thread tells the rebuild loop.
#[derive(Debug)]
pub(super) enum Signal {
    Changed(Change),
    /// The watch limit was reached: the text says how to raise it.
    Limit(String),
    /// Another watcher error, to show as a warning.
    Problem(String),
}

/// One event, filtered.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Change {
    /// Root-relative, `/`-separated.
    pub paths: Vec<String>,
    pub refs: bool,
    /// The watcher lost events (queue overflow): rebuild everything.
    pub rescan: bool,
}

/// The changes of one debounce window.
#[derive(Debug, Default)]
pub(super) struct Batch {
    pub paths: BTreeSet<String>,
    pub refs: bool,
    pub rescan: bool,
    /// The watcher hit its limit during the batch.
    pub limit: Option<String>,
    pub problems: Vec<String>,
}

impl Batch {
    fn add(&mut self, signal: Signal) {
        match signal {
            Signal::Changed(change) => {
                self.paths.extend(change.paths);
                self.refs |= change.refs;
                self.rescan |= change.rescan;
            }
            Signal::Limit(text) => self.limit = Some(text),
            Signal::Problem(text) => self.problems.push(text),
        }
    }

    /// Only Markdown files under `content/` changed: a partial re-render may do.
    pub(super) fn pages_only(&self) -> bool {
        !self.refs
            && !self.rescan
            && self.limit.is_none()
            && !self.paths.is_empty()
            && self
                .paths
                .iter()
                .all(|p| p.starts_with("content/") && p.ends_with(".md"))
    }

    /// What changed, for the log: `content/a.md`, `content/a.md and 2 other files`, `the
    /// git history` (a commit, tag or checkout).
    pub(super) fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(first) = self.paths.iter().next() {
            parts.push(match self.paths.len() {
                1 => first.clone(),
                2 => format!("{first} and 1 other file"),
                n => format!("{first} and {} other files", n - 1),
            });
        }
        if self.refs {
            parts.push("the git history".to_string());
        }
        if parts.is_empty() {
            parts.push("files the watcher lost track of".to_string());
        }
        parts.join(" and ")
    }

    /// Anything to rebuild for.
    pub(super) fn has_changes(&self) -> bool {
        self.refs || self.rescan || self.limit.is_some() || !self.paths.is_empty()
    }
}

/// Waits for the rest of a batch that started with `first`: until `debounce` passes without
/// another event, or [`MAX_WAIT`] in all.
pub(super) fn debounce(first: Signal, rx: &Receiver<Signal>, debounce: Duration) -> Batch {
    let mut batch = Batch::default();
    batch.add(first);
    let started = Instant::now();
    loop {
        let wait = debounce.min(MAX_WAIT.saturating_sub(started.elapsed()));
        if wait.is_zero() {
            return batch;
        }
        match rx.recv_timeout(wait) {
            Ok(signal) => batch.add(signal),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return batch,
        }
    }
}

/// How an event's paths are read; shared with the watcher's callback, updated when the
/// repository appears.
#[derive(Debug, Clone)]
struct Filter {
    root: PathBuf,
    git_dirs: Vec<PathBuf>,
}

impl Filter {
    fn change(&self, event: &notify::Event) -> Option<Change> {
        if matches!(event.kind, EventKind::Access(_)) {
            return None;
        }
        if event.need_rescan() {
            return Some(Change {
                rescan: true,
                ..Change::default()
            });
        }
        let mut change = Change::default();
        for path in &event.paths {
            match self.classify(path) {
                Kind::Refs => change.refs = true,
                Kind::Source(rel) => change.paths.push(rel),
                Kind::Ignored => {}
            }
        }
        (change.refs || !change.paths.is_empty()).then_some(change)
    }

    fn classify(&self, path: &Path) -> Kind {
        for git_dir in &self.git_dirs {
            if let Ok(rel) = path.strip_prefix(git_dir) {
                return if is_ref(&slashed(rel)) {
                    Kind::Refs
                } else {
                    Kind::Ignored
                };
            }
        }
        let Ok(rel) = path.strip_prefix(&self.root) else {
            return Kind::Ignored;
        };
        let rel = slashed(rel);
        let (top, rest) = rel.split_once('/').unwrap_or((rel.as_str(), ""));
        if rest.is_empty() {
            return match top {
                _ if TOP_FILES.contains(&top) || TOP_DIRS.contains(&top) => {
                    Kind::Source(rel.clone())
                }
                // A repository appearing (`git init` while serving).
                ".git" => Kind::Refs,
                _ => Kind::Ignored,
            };
        }
        let outside_workflows =
            top == ".github" && rest != "workflows" && !rest.starts_with("workflows/");
        if !TOP_DIRS.contains(&top) || outside_workflows || is_editor_noise(rest) {
            return Kind::Ignored;
        }
        Kind::Source(rel)
    }
}

enum Kind {
    Source(String),
    Refs,
    Ignored,
}

fn slashed(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// `HEAD`, `packed-refs` and `refs/...`, but not git's `.lock` files (the rename that follows
/// each is the change).
fn is_ref(rel: &str) -> bool {
    !rel.ends_with(".lock")
        && (rel == "HEAD" || rel == "packed-refs" || rel == "refs" || rel.starts_with("refs/"))
}

/// Temporary and swap files: the layers' list plus two safe-write leftovers it has no use for.
fn is_editor_noise(rel: &str) -> bool {
    is_ignored_name(rel) || rel.ends_with("___jb_old___") || rel.ends_with(".kate-swp")
}

/// The watcher and what it watches.
pub(super) struct Watch {
    watcher: Box<dyn Watcher + Send>,
    filter: Arc<RwLock<Filter>>,
    tx: Sender<Signal>,
    pub polling: bool,
    /// Watched paths with the identity (device, inode) they had, to notice a replaced folder.
    watched: HashMap<PathBuf, Option<(u64, u64)>>,
}

impl Watch {
    /// Starts watching `root` (canonical). Returns the watch and notes for the terminal (the
    /// fallback to polling, with how to avoid it).
    pub(super) fn start(
        root: &Path,
        poll: bool,
        tx: Sender<Signal>,
    ) -> Result<(Watch, Vec<String>), String> {
        let filter = Arc::new(RwLock::new(Filter {
            root: root.to_path_buf(),
            git_dirs: git_dirs(root),
        }));
        let mut notes = Vec::new();
        let watcher = make_watcher(poll, &filter, &tx)
            .map_err(|e| format!("cannot start watching files: {e}"))?;
        let mut watch = Watch {
            watcher,
            filter,
            tx,
            polling: poll,
            watched: HashMap::new(),
        };
        if let Err(advice) = watch.refresh() {
            notes.push(advice);
            watch
                .fall_back_to_polling()
                .map_err(|e| format!("cannot watch files even by polling: {e}"))?;
            notes.push("falling back to polling (--poll)".to_string());
        }
        Ok((watch, notes))
    }

    /// Watches every target that exists and is not watched yet, or that was replaced (deleted
    /// and created again). Returns the limit advice when the system's watch limit was hit.
    pub(super) fn refresh(&mut self) -> Result<(), String> {
        let root = self.filter().root.clone();
        let dirs = git_dirs(&root);
        if dirs != self.filter().git_dirs {
            self.filter
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .git_dirs = dirs;
        }
        for (path, mode) in targets(&root, &self.filter().git_dirs) {
            let identity = identity(&path);
            if identity.is_none() || self.watched.get(&path) == Some(&identity) {
                continue;
            }
            if self.watched.remove(&path).is_some() {
                let _ = self.watcher.unwatch(&path);
            }
            match self.watcher.watch(&path, mode) {
                Ok(()) => {
                    self.watched.insert(path, identity);
                }
                Err(e) if is_limit(&e) => return Err(limit_advice()),
                // A folder deleted in between: the root's watch sees it come back.
                Err(_) => {}
            }
        }
        Ok(())
    }

    /// Replaces the native watcher by polling (after the watch limit was hit).
    pub(super) fn fall_back_to_polling(&mut self) -> notify::Result<()> {
        self.watcher = make_watcher(true, &self.filter, &self.tx)?;
        self.polling = true;
        self.watched.clear();
        self.refresh()
            .map_err(|advice| notify::Error::generic(&advice))
    }

    fn filter(&self) -> Filter {
        self.filter
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

fn make_watcher(
    poll: bool,
    filter: &Arc<RwLock<Filter>>,
    tx: &Sender<Signal>,
) -> notify::Result<Box<dyn Watcher + Send>> {
    let (filter, tx) = (Arc::clone(filter), tx.clone());
    let handler = move |result: notify::Result<notify::Event>| {
        let signal = match result {
            Ok(event) => match filter
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .change(&event)
            {
                Some(change) => Signal::Changed(change),
                None => return,
            },
            Err(e) if is_limit(&e) => Signal::Limit(limit_advice()),
            Err(e) => Signal::Problem(format!("file watcher: {e}")),
        };
        let _ = tx.send(signal);
    };
    // Links are never followed: the layers skip them, and a link to `/` must not be walked.
    let config = notify::Config::default().with_follow_symlinks(false);
    Ok(if poll {
        // notify's poll watcher compares modification times in whole seconds: two saves within
        // one second would look like one. Comparing contents too catches the second.
        let config = config
            .with_poll_interval(POLL_INTERVAL)
            .with_compare_contents(true);
        Box::new(notify::PollWatcher::new(handler, config)?)
    } else {
        Box::new(notify::RecommendedWatcher::new(handler, config)?)
    })
}

/// Everything to watch, with how.
fn targets(root: &Path, git_dirs: &[PathBuf]) -> Vec<(PathBuf, RecursiveMode)> {
    let mut targets = vec![(root.to_path_buf(), RecursiveMode::NonRecursive)];
    for dir in TOP_DIRS {
        targets.push((root.join(dir), RecursiveMode::Recursive));
    }
    for git_dir in git_dirs {
        targets.push((git_dir.clone(), RecursiveMode::NonRecursive));
        targets.push((git_dir.join("refs"), RecursiveMode::Recursive));
    }
    targets
}

/// The git directory and, for a linked worktree, the common one (which holds the refs).
fn git_dirs(root: &Path) -> Vec<PathBuf> {
    let flags = git2::RepositoryOpenFlags::NO_SEARCH;
    let Ok(repo) = git2::Repository::open_ext(root, flags, std::iter::empty::<&str>()) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = [repo.path(), repo.commondir()]
        .iter()
        .filter_map(|p| p.canonicalize().ok())
        .collect();
    dirs.dedup();
    dirs
}

#[cfg(unix)]
fn identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    path.metadata().ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn identity(path: &Path) -> Option<(u64, u64)> {
    path.metadata().ok().map(|_| (0, 0))
}

/// inotify's `ENOSPC` (notify's `MaxFilesWatch`) and `EMFILE` (too many inotify instances).
fn is_limit(e: &notify::Error) -> bool {
    match &e.kind {
        notify::ErrorKind::MaxFilesWatch => true,
        notify::ErrorKind::Io(io) => {
            matches!(io.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EMFILE))
        }
        _ => false,
    }
}

pub(super) fn limit_advice() -> String {
    "the system's file-watch limit is reached (inotify). Raise it with\n  \
     sudo sysctl fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=1024\n\
     (add both to /etc/sysctl.conf to keep them), or run `clinic serve --poll`"
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter() -> Filter {
        Filter {
            root: PathBuf::from("/r"),
            git_dirs: vec![PathBuf::from("/r/.git")],
        }
    }

    fn kind(path: &str) -> String {
        match filter().classify(Path::new(path)) {
            Kind::Source(rel) => rel,
            Kind::Refs => "refs".to_string(),
            Kind::Ignored => "-".to_string(),
        }
    }

    #[test]
    fn sources_refs_and_noise() {
        assert_eq!(kind("/r/content/a.md"), "content/a.md");
        assert_eq!(kind("/r/clinic.yaml"), "clinic.yaml");
        assert_eq!(
            kind("/r/theme/templates/page.html"),
            "theme/templates/page.html"
        );
        assert_eq!(
            kind("/r/.github/workflows/deploy.yml"),
            ".github/workflows/deploy.yml"
        );
        assert_eq!(kind("/r/scripts/smoke.sh"), "scripts/smoke.sh");
        assert_eq!(kind("/r/content"), "content");
        assert_eq!(kind("/r/.git/HEAD"), "refs");
        assert_eq!(kind("/r/.git/packed-refs"), "refs");
        assert_eq!(kind("/r/.git/refs/tags/v2.0.0"), "refs");
        for noise in [
            "/r/.git/index",
            "/r/.git/HEAD.lock",
            "/r/.git/refs/heads/main.lock",
            "/r/.git/COMMIT_EDITMSG",
            "/r/content/.a.md.swp",
            "/r/content/a.md~",
            "/r/content/4913",
            "/r/content/a.md___jb_tmp___",
            "/r/content/a.md___jb_old___",
            "/r/content/#a.md#",
            "/r/content/a.md.tmp",
            "/r/.clinic/serve/1/b2/index.html",
            "/r/public/index.html",
            "/r/README.md",
            "/r/.github/dependabot.yml",
            "/elsewhere/x.md",
        ] {
            assert_eq!(kind(noise), "-", "{noise}");
        }
    }

    #[test]
    fn access_events_are_dropped_and_rescans_kept() {
        let f = filter();
        let access = notify::Event::new(EventKind::Access(notify::event::AccessKind::Any))
            .add_path("/r/content/a.md".into());
        assert!(f.change(&access).is_none());
        let rescan = notify::Event::new(EventKind::Other).set_flag(notify::event::Flag::Rescan);
        assert!(f.change(&rescan).unwrap().rescan);
    }

    #[test]
    fn batches_know_when_only_pages_changed() {
        let mut batch = Batch::default();
        batch.add(Signal::Changed(Change {
            paths: vec!["content/a.md".into()],
            ..Change::default()
        }));
        assert!(batch.pages_only());
        batch.add(Signal::Changed(Change {
            paths: vec!["content/img.png".into()],
            ..Change::default()
        }));
        assert!(!batch.pages_only());
        let refs = Batch {
            refs: true,
            ..Batch::default()
        };
        assert!(!refs.pages_only() && refs.has_changes());
    }

    #[test]
    fn the_watch_limit_is_recognised_and_explained() {
        assert!(is_limit(&notify::Error::new(
            notify::ErrorKind::MaxFilesWatch
        )));
        for errno in [libc::ENOSPC, libc::EMFILE] {
            let io = std::io::Error::from_raw_os_error(errno);
            assert!(is_limit(&notify::Error::io(io)), "{errno}");
        }
        assert!(!is_limit(&notify::Error::path_not_found()));
        let advice = limit_advice();
        assert!(advice.contains("fs.inotify.max_user_watches") && advice.contains("--poll"));
    }

    #[test]
    fn a_burst_is_one_batch() {
        let (tx, rx) = std::sync::mpsc::channel();
        for i in 0..500 {
            tx.send(Signal::Changed(Change {
                paths: vec![format!("content/p{i}.md")],
                ..Change::default()
            }))
            .unwrap();
        }
        let first = rx.recv().unwrap();
        let batch = debounce(first, &rx, Duration::from_millis(20));
        assert_eq!(batch.paths.len(), 500);
    }
}
