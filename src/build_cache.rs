//! The build cache: what the last `clinic build` into an output wrote there (each file's hash and
//! stamp: [`crate::output::manifest`]) and rendered (each content page's key, warnings and
//! search text: [`crate::render::cache`]), so that the next build into the same output renders
//! and writes only what changed, and its result is the same, byte for byte, as a clean build's.
//!
//! **Where.** In the git directory (`.git/clinic/build/`), beside the history cache, where no
//! commit can carry one; for a site root that is not a git repository, in `.clinic/cache/`. One
//! file per output folder, named by a digest of the output's absolute path.
//!
//! **Never trusted blindly.** A cache written by another clinic binary (another version, or the
//! same version rebuilt), for another output, or that cannot be read, is ignored: the build is
//! then a whole one (staged and swapped in). Every key is a digest of the inputs themselves, not
//! of file times; every output file is checked against the stamp it had when written.
//!
//! **One build at a time.** The cache's lock file is held from before the output is looked at
//! until the cache is written, so two builds into one output do not interleave their writes.

use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::output::manifest::{Fingerprint, Manifest};
use crate::render::search::{self, StoredDoc};
use crate::render::{RenderCache, Searched};

/// Bump when the stored shape changes.
const VERSION: u32 = 2;

/// The cache as read back.
#[derive(Debug, Default, Deserialize)]
struct Stored {
    version: u32,
    binary: String,
    target: PathBuf,
    files: Manifest,
    render: RenderCache,
}

/// The cache as written: [`Stored`]'s fields, borrowed (the same encoding), so that what the
/// build holds is not copied to be written.
#[derive(Serialize)]
struct Storing<'a> {
    version: u32,
    binary: String,
    target: &'a Path,
    files: &'a Manifest,
    render: &'a RenderCache,
}

/// The cache of one output folder, locked while a build writes it.
pub(crate) struct BuildCache {
    file: Option<PathBuf>,
    target: PathBuf,
    /// Held until the cache is stored (or the build ends): the lock.
    _lock: Option<File>,
    previous: Option<Stored>,
}

impl BuildCache {
    /// Locks the cache of the output `target` (an absolute path) of the site at `root`, and
    /// reads it unless `clean`. Without a place to keep it (a read-only checkout), builds are
    /// whole ones, as before there was a cache.
    pub(crate) fn open(root: &Path, target: &Path, clean: bool) -> BuildCache {
        let file = cache_dir(root).map(|dir| dir.join(file_name(target)));
        let lock = file.as_deref().and_then(lock);
        let previous = match (&file, &lock, clean) {
            (Some(file), Some(_), false) => read(file, target),
            _ => None,
        };
        BuildCache {
            file: file.filter(|_| lock.is_some()),
            target: target.to_path_buf(),
            _lock: lock,
            previous,
        }
    }

    /// What the previous build wrote into the output, to update it in place.
    pub(crate) fn previous_files(&mut self) -> Option<Manifest> {
        self.previous.as_mut().map(|p| std::mem::take(&mut p.files))
    }

    /// What the previous build rendered (nothing for a first or clean build).
    pub(crate) fn previous_render(&mut self) -> RenderCache {
        self.previous
            .as_mut()
            .map(|p| std::mem::take(&mut p.render))
            .unwrap_or_default()
    }

    /// The content pages' search documents the previous build stored (empty when there are
    /// none: the pages whose documents are missing are then rendered again for them).
    pub(crate) fn stored_docs(&self, visit: &mut dyn FnMut(&[String], StoredDoc)) {
        let Some(file) = &self.file else {
            return;
        };
        let bytes = std::fs::read(docs_file(file)).unwrap_or_default();
        search::read_store(&bytes, visit);
    }

    /// Records what this build wrote and rendered, and, when the search index was written
    /// again, the content pages' documents it was made from. Failing to (a full disk) only
    /// costs the next build its speed: the stale cache is removed so it cannot describe the new
    /// output.
    pub(crate) fn store(self, files: &Manifest, render: &RenderCache, searched: &Searched) {
        let Some(file) = &self.file else {
            return;
        };
        if render.docs_changed && write_docs(&docs_file(file), searched).is_err() {
            // Every document is then checked and found missing: those pages render again.
            let _ = std::fs::remove_file(docs_file(file));
        }
        let Some(binary) = binary_identity() else {
            return;
        };
        let stored = Storing {
            version: VERSION,
            binary,
            target: &self.target,
            files,
            render,
        };
        if write(file, &stored).is_err() {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// `.git/clinic/build/` (the common git directory, shared by worktrees), or `.clinic/cache/`
/// when `root` is not a repository; `None` when neither can be made.
fn cache_dir(root: &Path) -> Option<PathBuf> {
    let dir = if root.join(".git").exists() {
        let repo = git2::Repository::open_ext(
            root,
            git2::RepositoryOpenFlags::NO_SEARCH,
            std::iter::empty::<&str>(),
        )
        .ok()?;
        repo.commondir().join("clinic").join("build")
    } else {
        root.join(".clinic").join("cache")
    };
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir)
}

fn file_name(target: &Path) -> String {
    let digest = Fingerprint::default()
        .add(target.as_os_str().as_encoded_bytes())
        .finish();
    format!("output-{digest:032x}.bin")
}

/// Takes the cache's lock (waiting for another build into the same output to finish).
fn lock(file: &Path) -> Option<File> {
    let mut name = file.as_os_str().to_owned();
    name.push(".lock");
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(PathBuf::from(name))
        .ok()?;
    lock.lock().ok()?;
    Some(lock)
}

fn read(file: &Path, target: &Path) -> Option<Stored> {
    let bytes = std::fs::read(file).ok()?;
    let stored: Stored = postcard::from_bytes(&bytes).ok()?;
    let usable = stored.version == VERSION
        && Some(&stored.binary) == binary_identity().as_ref()
        && stored.target == target;
    usable.then_some(stored)
}

/// Encoded straight into the file (a large site's cache is megabytes: never held twice).
fn write(file: &Path, stored: &Storing) -> std::io::Result<()> {
    write_atomically(file, |out| {
        postcard::to_io(stored, out)
            .map(drop)
            .map_err(std::io::Error::other)
    })
}

/// The documents one after the other, each encoded on its own: never all of them in memory.
fn write_docs(file: &Path, searched: &Searched) -> std::io::Result<()> {
    write_atomically(file, |out| searched.write_store(out))
}

/// Writes `file` whole or not at all: into a temporary file beside it, renamed over it.
fn write_atomically(
    file: &Path,
    contents: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    let mut out = std::io::BufWriter::new(tempfile::NamedTempFile::new_in(dir)?);
    contents(&mut out)?;
    let temp = out.into_inner().map_err(|e| e.into_error())?;
    temp.persist(file).map_err(|e| e.error)?;
    Ok(())
}

/// Beside the cache: the search documents, read only when the index is written again. Each
/// one is checked against the digest the cache holds for its page before it is used.
fn docs_file(file: &Path) -> PathBuf {
    file.with_extension("search.bin")
}

/// clinic's version and the stamp of its executable: a rebuilt binary of the same version may
/// render differently, so it starts from scratch. `None` when the executable cannot be seen.
fn binary_identity() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let stamp = crate::output::manifest::Stamp::read(&exe.canonicalize().ok()?)?;
    Some(format!("{} {stamp:?}", env!("CARGO_PKG_VERSION")))
}
