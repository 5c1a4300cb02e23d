//! The output directory, written atomically: a build renders into a temporary sibling
//! directory and swaps it into place, so a reader never sees a half-written site. An output that
//! the previous build wrote, with its [`manifest`], is instead updated in place: only files whose
//! bytes changed are replaced (each through a temporary file and a rename), and files no page
//! makes any more are removed. Before
//! touching anything it refuses any directory it might destroy: `/`, the home directory, the
//! site root or one of its ancestors, and any non-empty directory that no earlier build made.
//! The staging directory's name holds the build's pid; a build removes the staging directories
//! of processes that no longer run (a build killed with `kill -9` cannot clean up after itself).

pub(crate) mod manifest;

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use tempfile::TempDir;

use crate::diagnostics::Diagnostic;
use crate::load::layers::LayerFile;
use manifest::{FileEntry, Manifest};

/// Where a site's files go: the build's [`Output`], or (for `clinic cohort`) a buffer that
/// places one student's site under `students/<slug>/` once it is complete.
pub trait Sink: Sync {
    /// Writes one file at a `/`-separated path inside the site.
    fn write(&self, rel: &str, bytes: &[u8]) -> Result<(), OutputError>;

    /// Keeps the file an earlier build wrote at `rel` instead of writing it again; `false` when
    /// this sink has no such file (the caller must write it).
    fn keep(&self, _rel: &str) -> bool {
        false
    }

    /// Writes one file as `contents` produces it, for a file too large to hold whole (the
    /// search index of a large site). By default it is held, then written.
    fn write_with(
        &self,
        rel: &str,
        contents: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), OutputError> {
        let mut bytes = Vec::new();
        contents(&mut bytes).map_err(io_error(Path::new(rel)))?;
        self.write(rel, &bytes)
    }
}

impl Sink for Output {
    fn write(&self, rel: &str, bytes: &[u8]) -> Result<(), OutputError> {
        Output::write(self, rel, bytes)
    }

    fn keep(&self, rel: &str) -> bool {
        Output::keep(self, rel)
    }

    fn write_with(
        &self,
        rel: &str,
        contents: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), OutputError> {
        Output::write_with(self, rel, contents)
    }
}

/// Copies files as they are (the theme's static files, the content's assets) into the site, one
/// at a time. A file that cannot be read is an error naming it; the others are still copied.
pub(crate) fn copy_files<'a>(
    files: impl Iterator<Item = (&'a LayerFile, &'static str)>,
    sink: &dyn Sink,
) -> Result<Vec<Diagnostic>, OutputError> {
    let mut diagnostics = Vec::new();
    for (file, layer) in files {
        match file.read() {
            Ok(bytes) => sink.write(&file.rel, &bytes)?,
            Err(e) => diagnostics.push(
                Diagnostic::error(format!("cannot read: {e}"))
                    .in_file(format!("{layer}/{}", file.rel)),
            ),
        }
    }
    Ok(diagnostics)
}

/// The file that marks a directory as written by `clinic build`.
pub(crate) const MARKER: &str = ".clinic-build";
const MARKER_TEXT: &str = "This directory is written by `clinic build` and replaced on every build.\nDo not keep anything here: only .git and CNAME survive a rebuild.\n";
/// What an earlier output keeps across builds (branch deploys push `public/` as a repository).
const KEPT: &[&str] = &[".git", "CNAME"];

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("refusing to build into {path}: {why}")]
    Refused {
        path: PathBuf,
        why: String,
        hint: String,
    },
    #[error("cannot write the output {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("refusing to write {rel:?}: the path would land outside the output")]
    Escapes { rel: String },
}

impl OutputError {
    pub fn hint(&self) -> Option<&str> {
        match self {
            OutputError::Refused { hint, .. } => Some(hint),
            _ => None,
        }
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A build in progress: a new output is staged beside its target and swapped in by `commit`;
/// an output that an earlier build wrote (and nobody added files to) is updated in place, file by
/// file, where the bytes changed.
pub(crate) struct Output {
    target: PathBuf,
    mode: Mode,
    /// What this build wrote or kept, for the next one.
    written: Mutex<Manifest>,
    /// How many files were written (the rest of `written` were kept as they were).
    changed: AtomicUsize,
}

/// What a finished build did to its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Update {
    /// `whole`: a new output was staged and swapped in; `in-place`: the earlier one was updated.
    pub mode: Writing,
    /// Files written (all of them for a whole output).
    pub written: usize,
    /// Files left as the previous build wrote them.
    pub unchanged: usize,
    /// Files of the previous build removed because nothing makes them any more.
    pub removed: usize,
}

enum Mode {
    /// Files go to the staging directory; `commit` swaps it with the target.
    Staged(TempDir),
    /// Files go to the target, each through a temporary file renamed over the old one.
    InPlace {
        /// The files of the previous build that are still as it wrote them.
        intact: Manifest,
        /// Every file the previous build wrote (removed at `commit` unless written again).
        previous: Manifest,
    },
}

/// How a build writes its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Writing {
    /// A new output is staged and swapped in whole.
    Whole,
    /// The earlier output is updated in place.
    InPlace,
}

impl Output {
    /// Checks `target` against everything it must never be, then creates the staging
    /// directory beside it. Nothing existing is modified.
    pub(crate) fn prepare(target: &Path, site_root: &Path) -> Result<Output, OutputError> {
        Output::prepare_with(target, site_root, None)
    }

    /// Checks `target` as [`Output::prepare`] does, without creating anything: what a build
    /// runs before it writes its cache beside the sources.
    pub(crate) fn check(target: &Path, site_root: &Path) -> Result<(), OutputError> {
        let target = absolute(target).map_err(io_error(target))?;
        check_target(&target, site_root)
    }

    /// Like [`Output::prepare`], but with the manifest of the build that wrote `target` the
    /// output is updated in place, unless it holds a file that build did not write (a clean
    /// build would not have it: the whole output is then replaced, as by `prepare`).
    pub(crate) fn prepare_with(
        target: &Path,
        site_root: &Path,
        previous: Option<Manifest>,
    ) -> Result<Output, OutputError> {
        let target = absolute(target).map_err(io_error(target))?;
        check_target(&target, site_root)?;
        let marked = target
            .join(MARKER)
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_file());
        let in_place = previous.filter(|_| marked).and_then(|previous| {
            let scan = manifest::scan(&target, &previous, KEPT, MARKER);
            scan.unknown.is_none().then_some((scan, previous))
        });
        if let Some((scan, _)) = &in_place {
            // Folders a whole build would have made world-readable.
            for dir in &scan.loose_folders {
                make_readable_folder(dir)?;
            }
        }
        let in_place = in_place.map(|(scan, previous)| (scan.intact, previous));
        let mode = match in_place {
            Some((intact, previous)) => Mode::InPlace { intact, previous },
            None => Mode::Staged(stage(&target)?),
        };
        Ok(Output {
            target,
            mode,
            written: Mutex::new(Manifest::new()),
            changed: AtomicUsize::new(0),
        })
    }

    /// The final location of the site.
    pub(crate) fn target(&self) -> &Path {
        &self.target
    }

    /// Writes one file at a `/`-separated path inside the output.
    pub(crate) fn write(&self, rel: &str, bytes: &[u8]) -> Result<(), OutputError> {
        let hash = manifest::digest(bytes);
        let entry = match &self.mode {
            Mode::Staged(staging) => {
                let path = path_in(staging.path(), rel)?;
                create_parent(&path)?;
                std::fs::write(&path, bytes).map_err(io_error(&path))?;
                // Stamped once the site is in place (`commit`).
                FileEntry { hash, stamp: None }
            }
            Mode::InPlace { intact, previous } => {
                // A path written twice in one build (a content file where clinic writes one of
                // its own) holds the last bytes, as in a whole build: only the first write may
                // find the file as it is.
                let first = !lock(&self.written).contains_key(rel);
                if let Some(same) = intact.get(rel).filter(|e| first && e.hash == hash) {
                    lock(&self.written).insert(rel.to_string(), same.clone());
                    return Ok(());
                }
                let path = path_in(&self.target, rel)?;
                self.clear_way(rel, previous)?;
                replace_file(&self.target, &path, bytes)?;
                FileEntry {
                    hash,
                    stamp: manifest::Stamp::read(&path),
                }
            }
        };
        self.record(rel, entry);
        Ok(())
    }

    /// Writes one file as `contents` produces it, never holding it whole: into a temporary file
    /// beside its place, hashed on the way, then placed as [`Output::write`] places a file (in
    /// place, left alone when its bytes did not change).
    pub(crate) fn write_with(
        &self,
        rel: &str,
        contents: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), OutputError> {
        let root = match &self.mode {
            Mode::Staged(staging) => staging.path(),
            Mode::InPlace { .. } => &self.target,
        };
        // Checked before anything is cleared out of its way.
        let path = path_in(root, rel)?;
        if let Mode::InPlace { previous, .. } = &self.mode {
            self.clear_way(rel, previous)?;
        }
        let (temp, hash) = streamed(root, &path, contents)?;
        if let Mode::InPlace { intact, .. } = &self.mode {
            let first = !lock(&self.written).contains_key(rel);
            if let Some(same) = intact.get(rel).filter(|e| first && e.hash == hash) {
                lock(&self.written).insert(rel.to_string(), same.clone());
                return Ok(()); // the temporary file is deleted as it drops
            }
        }
        temp.persist(&path).map_err(|e| io_error(&path)(e.error))?;
        let stamp = match self.mode {
            Mode::Staged(_) => None,
            Mode::InPlace { .. } => manifest::Stamp::read(&path),
        };
        self.record(rel, FileEntry { hash, stamp });
        Ok(())
    }

    /// Records a file this build wrote (once, however many times it was written).
    fn record(&self, rel: &str, entry: FileEntry) {
        if lock(&self.written).insert(rel.to_string(), entry).is_none() {
            self.changed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Removes what the previous build left in the way of `rel`: a file of its where one of
    /// `rel`'s folders goes, or a folder of its files where `rel` goes. Refused (an error) when
    /// this build wrote the obstacle itself: a clean build would fail on it too. Nothing in the
    /// way (the usual case) costs a look at each folder of `rel`.
    fn clear_way(&self, rel: &str, previous: &Manifest) -> Result<(), OutputError> {
        let written = lock(&self.written);
        let conflict = || OutputError::Io {
            path: self.target.join(rel),
            source: io::Error::other("a file and a folder of this build have the same path"),
        };
        let parts: Vec<&str> = rel.split('/').collect();
        for end in 1..parts.len() {
            let ancestor = parts[..end].join("/");
            let path = self.target.join(&ancestor);
            let is_folder = path.symlink_metadata().map(|m| m.is_dir());
            if let Ok(false) = is_folder {
                if !previous.contains_key(&ancestor) || written.contains_key(&ancestor) {
                    return Err(conflict());
                }
                std::fs::remove_file(&path).map_err(io_error(&path))?;
            }
        }
        let path = self.target.join(rel);
        if path.symlink_metadata().is_ok_and(|m| m.is_dir()) {
            let inside = format!("{rel}/");
            // Only a folder of the previous build's files goes (never what survives builds,
            // such as `.git`, which the scan does not look into).
            let previous_folder = previous
                .range(inside.clone()..)
                .next()
                .is_some_and(|(k, _)| k.starts_with(&inside));
            let kept = KEPT
                .iter()
                .any(|k| rel == *k || rel.starts_with(&format!("{k}/")));
            if !previous_folder || kept || written.keys().any(|k| k.starts_with(&inside)) {
                return Err(conflict());
            }
            std::fs::remove_dir_all(&path).map_err(io_error(&path))?;
        }
        Ok(())
    }

    /// Keeps the file the previous build wrote at `rel`, as it is: `false` (and nothing kept)
    /// when there is none, or it was changed since; the caller then writes it.
    pub(crate) fn keep(&self, rel: &str) -> bool {
        let Mode::InPlace { intact, .. } = &self.mode else {
            return false;
        };
        let mut written = lock(&self.written);
        match intact.get(rel).filter(|_| !written.contains_key(rel)) {
            Some(entry) => {
                written.insert(rel.to_string(), entry.clone());
                true
            }
            None => false,
        }
    }

    /// Finishes the output and returns what is in it. A staged site is made world-readable,
    /// given the previous output's `.git` and `CNAME`, and swapped into place (the previous
    /// output is removed only after the swap). An output updated in place loses the files this
    /// build did not write.
    pub(crate) fn commit(self) -> Result<(PathBuf, Manifest, Update), OutputError> {
        let mut written = self.written.into_inner().unwrap_or_else(|p| p.into_inner());
        let changed = self.changed.into_inner();
        let mut update = Update {
            mode: Writing::Whole,
            written: changed,
            unchanged: written.len() - changed,
            removed: 0,
        };
        match self.mode {
            Mode::Staged(staging) => {
                let staging = staging.keep();
                let result = publish(&staging, &self.target);
                if result.is_err() {
                    let _ = std::fs::remove_dir_all(&staging);
                }
                result?;
                for (rel, entry) in written.iter_mut() {
                    entry.stamp = manifest::Stamp::read(&self.target.join(rel));
                }
            }
            Mode::InPlace { previous, .. } => {
                update.mode = Writing::InPlace;
                for rel in previous.keys().filter(|rel| !written.contains_key(*rel)) {
                    remove_with_empty_parents(&self.target, rel)?;
                    update.removed += 1;
                }
                let marker = self.target.join(MARKER);
                if std::fs::read(&marker).ok().as_deref() != Some(MARKER_TEXT.as_bytes()) {
                    replace_file(&self.target, &marker, MARKER_TEXT.as_bytes())?;
                }
            }
        }
        Ok((self.target, written, update))
    }
}

/// Creates the staging directory beside `target`, after removing those that dead builds left.
fn stage(target: &Path) -> Result<TempDir, OutputError> {
    let parent = target
        .parent()
        .ok_or_else(|| refused(target, "it has no parent directory"))?;
    std::fs::create_dir_all(parent).map_err(io_error(parent))?;
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let prefix = staging_prefix(&name);
    remove_stale_staging(parent, &prefix);
    let staging = tempfile::Builder::new()
        .prefix(&format!("{prefix}{}-", std::process::id()))
        .tempdir_in(parent)
        .map_err(io_error(parent))?;
    std::fs::write(staging.path().join(MARKER), MARKER_TEXT).map_err(io_error(staging.path()))?;
    Ok(staging)
}

/// Where `rel` lands under `dir`, refusing anything that climbs out.
fn path_in(dir: &Path, rel: &str) -> Result<PathBuf, OutputError> {
    let escapes = || OutputError::Escapes {
        rel: rel.to_string(),
    };
    let relative = Path::new(rel);
    if rel.is_empty() || rel.contains('\\') || rel.contains('\0') {
        return Err(escapes());
    }
    if !relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return Err(escapes());
    }
    Ok(dir.join(relative))
}

fn create_parent(path: &Path) -> Result<(), OutputError> {
    match path.parent() {
        Some(parent) => std::fs::create_dir_all(parent).map_err(io_error(parent)),
        None => Ok(()),
    }
}

/// Creates the folders of `path` below `target` that are missing, world-readable as a whole
/// build makes them (whatever the umask).
fn create_folders(target: &Path, path: &Path) -> Result<(), OutputError> {
    let Some(parent) = path.parent() else {
        return Ok(());
    };
    if parent.is_dir() {
        return Ok(());
    }
    let missing: Vec<&Path> = parent
        .ancestors()
        .take_while(|dir| *dir != target && !dir.is_dir())
        .collect();
    for dir in missing.into_iter().rev() {
        std::fs::create_dir(dir).map_err(io_error(dir))?;
        make_readable_folder(dir)?;
    }
    Ok(())
}

/// `contents` written into a world-readable temporary file beside `path` (inside `root`), and
/// the digest of what it wrote.
fn streamed(
    root: &Path,
    path: &Path,
    contents: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
) -> Result<(tempfile::NamedTempFile, u128), OutputError> {
    create_folders(root, path)?;
    let dir = path.parent().unwrap_or(root);
    let temp = tempfile::Builder::new()
        .prefix(".clinic-")
        .tempfile_in(dir)
        .map_err(io_error(dir))?;
    // Hashed behind the buffer: the index is written a few bytes at a time, and the hash is
    // fastest over whole blocks.
    let mut out = io::BufWriter::with_capacity(1 << 16, manifest::Hashing::new(temp));
    contents(&mut out)
        .and_then(|()| out.flush())
        .map_err(io_error(path))?;
    let hashing = out
        .into_inner()
        .map_err(|e| io_error(path)(e.into_error()))?;
    let (temp, hash) = hashing.finish();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let readable = std::fs::Permissions::from_mode(0o644);
        std::fs::set_permissions(temp.path(), readable).map_err(io_error(temp.path()))?;
    }
    Ok((temp, hash))
}

fn make_readable_folder(dir: &Path) -> Result<(), OutputError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
            .map_err(io_error(dir))?;
    }
    Ok(())
}

/// Replaces the file at `path` (inside the output `target`) whole: the bytes go to a hidden
/// temporary file in the same folder, made world-readable, then renamed over the old file, so a
/// reader (a web server serving the output) sees the old file or the new one, never half of one.
fn replace_file(target: &Path, path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    create_folders(target, path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::Builder::new()
        .prefix(".clinic-")
        .tempfile_in(dir)
        .map_err(io_error(dir))?;
    std::io::Write::write_all(&mut temp, bytes).map_err(io_error(temp.path()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let readable = std::fs::Permissions::from_mode(0o644);
        std::fs::set_permissions(temp.path(), readable).map_err(io_error(temp.path()))?;
    }
    temp.persist(path).map_err(|e| io_error(path)(e.error))?;
    Ok(())
}

/// Removes the file at `rel` and then each parent folder it leaves empty (up to the output).
fn remove_with_empty_parents(target: &Path, rel: &str) -> Result<(), OutputError> {
    let path = path_in(target, rel)?;
    if path.symlink_metadata().is_ok_and(|m| m.is_dir()) {
        // A folder of this build's files took its place.
        return Ok(());
    }
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        // Gone, or a file of this build took the place of its folder.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) => {}
        Err(e) => return Err(io_error(&path)(e)),
    }
    let mut dir = path.parent();
    while let Some(d) = dir.filter(|d| *d != target) {
        if std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
    Ok(())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Staging directories are `.<out>.clinic-new-<pid>-<random>`, beside the output: the pid of
/// the build that made them, so that what a killed build (`kill -9`, a crash, a power cut) left
/// behind can be told from what a running one is writing.
fn staging_prefix(output_name: &str) -> String {
    format!(".{output_name}.clinic-new-")
}

/// Removes the staging directories of this output whose process no longer runs. Only entries
/// named exactly `<prefix><pid>-<random>` (pid in decimal, not 0; random letters and digits)
/// that are real directories (not links) are candidates, and only when no process `pid` exists:
/// anything else beside the output, older names without a pid included, is left alone. A
/// failure to remove one is not an error of this build.
fn remove_stale_staging(parent: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| staging_pid(n, prefix)) else {
            continue;
        };
        let is_dir = entry
            .path()
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_dir());
        if is_dir && pid != std::process::id() && !process_exists(pid) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The pid in a staging directory's name, `None` when the name is not one of ours.
fn staging_pid(name: &str, prefix: &str) -> Option<u32> {
    let rest = name.strip_prefix(prefix)?;
    let (pid, random) = rest.split_once('-')?;
    let well_formed = !pid.is_empty()
        && pid.bytes().all(|b| b.is_ascii_digit())
        && !random.is_empty()
        && random.bytes().all(|b| b.is_ascii_alphanumeric());
    if !well_formed {
        return None;
    }
    pid.parse::<u32>().ok().filter(|&pid| pid != 0)
}

/// Whether a process `pid` exists (in this pid namespace). When in doubt, it does.
#[cfg(unix)]
fn process_exists(pid: u32) -> bool {
    // Never 0 or a negative number: kill() would address a process group.
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    if pid <= 0 {
        return true;
    }
    // SAFETY: signal 0 sends nothing; it only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(not(unix))]
fn process_exists(_pid: u32) -> bool {
    true
}

fn publish(staging: &Path, target: &Path) -> Result<(), OutputError> {
    make_world_readable(staging)?;
    if !target.exists() {
        return std::fs::rename(staging, target).map_err(io_error(target));
    }
    for kept in KEPT {
        let old = target.join(kept);
        if old.symlink_metadata().is_ok() {
            std::fs::rename(&old, staging.join(kept)).map_err(io_error(&old))?;
        }
    }
    swap(staging, target)?;
    // `staging` now holds the previous site.
    std::fs::remove_dir_all(staging).map_err(io_error(staging))
}

/// Exchanges two directories: atomically on Linux, by two renames elsewhere.
fn swap(a: &Path, b: &Path) -> Result<(), OutputError> {
    #[cfg(target_os = "linux")]
    if exchange(a, b).is_ok() {
        return Ok(());
    }
    let mut aside = OsString::from(b.as_os_str());
    aside.push(".clinic-old");
    let aside = PathBuf::from(aside);
    std::fs::rename(b, &aside).map_err(io_error(b))?;
    if let Err(e) = std::fs::rename(a, b) {
        let _ = std::fs::rename(&aside, b);
        return Err(io_error(b)(e));
    }
    std::fs::rename(&aside, a).map_err(io_error(a))
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let a = CString::new(a.as_os_str().as_bytes())?;
    let b = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both are valid NUL-terminated paths that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// GitHub Pages refuses files that are not world-readable; a strict umask would make them so.
fn make_world_readable(dir: &Path) -> Result<(), OutputError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for entry in walkdir::WalkDir::new(dir) {
            let entry = entry.map_err(|e| io_error(dir)(e.into()))?;
            let mode = if entry.file_type().is_dir() {
                0o755
            } else {
                0o644
            };
            std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode))
                .map_err(io_error(entry.path()))?;
        }
    }
    Ok(())
}

fn refused(path: &Path, why: &str) -> OutputError {
    OutputError::Refused {
        path: path.to_path_buf(),
        why: why.to_string(),
        hint: "choose an empty or new directory with --out, such as <root>/public".to_string(),
    }
}

fn check_target(target: &Path, site_root: &Path) -> Result<(), OutputError> {
    let root = site_root.canonicalize().map_err(io_error(site_root))?;
    if target.parent().is_none() {
        return Err(refused(target, "it is the file-system root"));
    }
    if let Some(home) = std::env::var_os("HOME").and_then(|h| Path::new(&h).canonicalize().ok()) {
        if target == home {
            return Err(refused(target, "it is your home directory"));
        }
    }
    if target == root {
        return Err(refused(
            target,
            "it is the site root, which holds your sources",
        ));
    }
    if root.starts_with(target) {
        return Err(refused(
            target,
            "it contains the site root, which holds your sources",
        ));
    }
    let metadata = match target.symlink_metadata() {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error(target)(e)),
    };
    if metadata.file_type().is_symlink() {
        return Err(refused(target, "it is a symbolic link"));
    }
    if !metadata.is_dir() {
        return Err(refused(target, "it is a file, not a directory"));
    }
    let mut entries = std::fs::read_dir(target).map_err(io_error(target))?;
    let empty = entries.next().is_none();
    if !empty && !target.join(MARKER).is_file() {
        return Err(OutputError::Refused {
            path: target.to_path_buf(),
            why: format!("it is not empty and no earlier `clinic build` made it (no {MARKER} file)"),
            hint: "choose an empty or new directory with --out; clinic never deletes files it did not write".to_string(),
        });
    }
    Ok(())
}

/// An absolute, lexically normalised path; symlinks in existing ancestors are resolved so that
/// `public -> /` style tricks are seen for what they are.
pub(crate) fn absolute(path: &Path) -> io::Result<PathBuf> {
    let path = std::path::absolute(path)?;
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                normal.pop();
            }
            Component::CurDir => {}
            other => normal.push(other),
        }
    }
    // Canonicalise the longest existing ancestor, keep the rest as written.
    let mut existing = normal.clone();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (
            existing.file_name().map(|n| n.to_os_string()),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let mut resolved = if existing
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
        && rest.is_empty()
    {
        // Keep a final symlink itself so check_target can refuse it.
        match existing.parent() {
            Some(parent) => parent
                .canonicalize()?
                .join(existing.file_name().unwrap_or_default()),
            None => existing,
        }
    } else {
        existing.canonicalize().unwrap_or(existing)
    };
    for name in rest.into_iter().rev() {
        resolved.push(name);
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_swaps_keeping_git_and_cname() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("public");
        let out = Output::prepare(&target, root.path()).unwrap();
        out.write("index.html", b"one").unwrap();
        out.commit().unwrap();
        std::fs::create_dir(target.join(".git")).unwrap();
        std::fs::write(target.join("CNAME"), "example.org").unwrap();
        std::fs::write(target.join("stale.html"), "old").unwrap();

        let out = Output::prepare(&target, root.path()).unwrap();
        out.write("index.html", b"two").unwrap();
        out.commit().unwrap();
        assert_eq!(
            std::fs::read_to_string(target.join("index.html")).unwrap(),
            "two"
        );
        assert!(target.join(".git").is_dir());
        assert_eq!(
            std::fs::read_to_string(target.join("CNAME")).unwrap(),
            "example.org"
        );
        assert!(!target.join("stale.html").exists());
        let leftovers: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, vec![OsString::from("public")]);
    }

    #[test]
    fn an_output_with_its_manifest_is_updated_in_place_only_where_bytes_changed() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("public");
        let out = Output::prepare(&target, root.path()).unwrap();
        for (rel, text) in [("a.html", "a"), ("b/c.html", "c"), ("d/e/f.html", "f")] {
            out.write(rel, text.as_bytes()).unwrap();
        }
        let (_, manifest, update) = out.commit().unwrap();
        assert_eq!(update.mode, Writing::Whole);
        assert!(manifest.values().all(|e| e.stamp.is_some()));
        let inode = |rel: &str| manifest::Stamp::read(&target.join(rel)).unwrap();
        let (a, c) = (inode("a.html"), inode("b/c.html"));

        let out = Output::prepare_with(&target, root.path(), Some(manifest)).unwrap();
        out.write("a.html", b"a").unwrap();
        out.write("b/c.html", b"c, changed").unwrap();
        let (_, manifest, update) = out.commit().unwrap();
        assert_eq!(
            update,
            Update {
                mode: Writing::InPlace,
                written: 1,
                unchanged: 1,
                removed: 1
            }
        );
        assert_eq!(inode("a.html"), a, "an unchanged file is not touched");
        assert_ne!(inode("b/c.html"), c);
        assert_eq!(
            std::fs::read(target.join("b/c.html")).unwrap(),
            b"c, changed"
        );
        assert!(
            !target.join("d").exists(),
            "emptied folders go with their files"
        );
        assert_eq!(
            manifest.keys().collect::<Vec<_>>(),
            vec!["a.html", "b/c.html"]
        );
        let names: Vec<_> = std::fs::read_dir(target.join("b"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![OsString::from("c.html")],
            "no temporary file is left"
        );
    }

    #[test]
    fn refuses_paths_that_escape() {
        let root = tempfile::tempdir().unwrap();
        let out = Output::prepare(&root.path().join("public"), root.path()).unwrap();
        for rel in ["../x", "/etc/x", "a/../../x", "a\\..\\x", ""] {
            assert!(
                matches!(out.write(rel, b"x"), Err(OutputError::Escapes { .. })),
                "{rel}"
            );
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn staging_folders_of_dead_processes_are_removed_and_nothing_else() {
        let root = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let live = std::process::id();
        let stale = root
            .path()
            .join(format!(".public.clinic-new-{dead}-AbC123"));
        let kept = [
            root.path()
                .join(format!(".public.clinic-new-{live}-AbC123")),
            root.path().join(".public.clinic-new-AbC123"),
            root.path().join(".public.clinic-new-0-AbC123"),
            root.path().join(format!(".public.clinic-new-{dead}-")),
            root.path()
                .join(format!(".public.clinic-new-{dead}x-AbC123")),
            root.path().join(format!(".site.clinic-new-{dead}-AbC123")),
        ];
        for dir in std::iter::once(&stale).chain(kept.iter()) {
            std::fs::create_dir(dir).unwrap();
            std::fs::write(dir.join("index.html"), "old").unwrap();
        }
        let out = Output::prepare(&root.path().join("public"), root.path()).unwrap();
        let Mode::Staged(staging) = &out.mode else {
            panic!("a new output is staged");
        };
        let staging = staging.path().file_name().unwrap().to_string_lossy();
        assert!(
            staging.starts_with(&format!(".public.clinic-new-{live}-")),
            "the staging folder names its process: {staging}"
        );
        assert!(!stale.exists());
        for dir in &kept {
            assert!(dir.join("index.html").is_file(), "{}", dir.display());
        }
    }

    #[test]
    fn staging_names_are_read_strictly() {
        let prefix = staging_prefix("public");
        assert_eq!(
            staging_pid(".public.clinic-new-42-AbC123", &prefix),
            Some(42)
        );
        for name in [
            ".public.clinic-new-AbC123",
            ".public.clinic-new-0-AbC123",
            ".public.clinic-new-42-",
            ".public.clinic-new--AbC123",
            ".public.clinic-new-42-a/b",
            ".public.clinic-new-42-a-b",
            ".public.clinic-new-+42-AbC",
            ".public.clinic-new-99999999999-AbC",
            ".docs.clinic-new-42-AbC123",
            "public.clinic-new-42-AbC123",
            ".public.clinic-old",
        ] {
            assert_eq!(staging_pid(name, &prefix), None, "{name}");
        }
    }

    #[test]
    fn dropping_an_uncommitted_build_leaves_nothing() {
        let root = tempfile::tempdir().unwrap();
        let out = Output::prepare(&root.path().join("public"), root.path()).unwrap();
        out.write("a.html", b"x").unwrap();
        drop(out);
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
    }
}
