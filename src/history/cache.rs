//! The on-disk history cache in the git directory (`.git/clinic/history.bin`): the walked index,
//! keyed by the commit ids it was walked from, so an unchanged repository is not walked again and
//! a new commit walks only what is new. It lives where no commit can carry it: a cache in the
//! work tree (even one committed with `git add -f`) is never read, so nobody can hand clinic a
//! doctored index. Written atomically (temp file + rename); a cache that cannot be read, or was
//! walked from commits the repository no longer holds, is rebuilt, never trusted or an error.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::walk::Walked;
use super::Id;

/// Bump when the stored shape or the walk's meaning changes.
const VERSION: u32 = 8;
/// Inside the git directory.
const CACHE_DIR: &str = "clinic";
const FILE: &str = "history.bin";

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Cached {
    pub version: u32,
    /// The commits the walk started from (HEAD and release tags).
    pub tips: Vec<Id>,
    /// The keys whose lines were collected.
    pub keys: Vec<String>,
    /// Whether the repository was a shallow clone: after `git fetch --unshallow` the refs may
    /// be the same, but the history behind them is not.
    pub shallow: bool,
    pub walked: Walked,
}

fn path(git_dir: &Path) -> PathBuf {
    git_dir.join(CACHE_DIR).join(FILE)
}

pub(crate) fn load(git_dir: &Path) -> Option<Cached> {
    let bytes = std::fs::read(path(git_dir)).ok()?;
    let cached: Cached = postcard::from_bytes(&bytes).ok()?;
    (cached.version == VERSION).then_some(cached)
}

pub(crate) fn store(
    git_dir: &Path,
    tips: Vec<Id>,
    keys: Vec<String>,
    shallow: bool,
    walked: Walked,
) -> Walked {
    let cached = Cached {
        version: VERSION,
        tips,
        keys,
        shallow,
        walked,
    };
    // The cache is an optimisation: failing to write it (read-only checkout) changes nothing.
    let _ = write(git_dir, &cached);
    cached.walked
}

fn write(git_dir: &Path, cached: &Cached) -> std::io::Result<()> {
    let bytes = postcard::to_stdvec(cached).map_err(std::io::Error::other)?;
    let dir = git_dir.join(CACHE_DIR);
    std::fs::create_dir_all(&dir)?;
    let mut temp = tempfile::NamedTempFile::new_in(&dir)?;
    std::io::Write::write_all(&mut temp, &bytes)?;
    temp.persist(path(git_dir)).map_err(|e| e.error)?;
    Ok(())
}
