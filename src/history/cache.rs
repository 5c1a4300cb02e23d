//! The on-disk history cache in `<root>/.clinic/cache/`: the walked index, keyed by the commit
//! ids it was walked from, so an unchanged repository is not walked again and a new commit walks
//! only what is new. Written atomically (temp file + rename); a cache that cannot be read is
//! ignored and rewritten, never an error.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::walk::Walked;
use super::Id;

/// Bump when the stored shape or the walk's meaning changes.
const VERSION: u32 = 2;
pub(crate) const CACHE_DIR: &str = ".clinic/cache";
const FILE: &str = "history.bin";

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Cached {
    pub version: u32,
    /// The commits the walk started from (HEAD and release tags).
    pub tips: Vec<Id>,
    /// The keys whose lines were collected.
    pub keys: Vec<String>,
    pub walked: Walked,
}

fn path(root: &Path) -> PathBuf {
    root.join(CACHE_DIR).join(FILE)
}

pub(crate) fn load(root: &Path) -> Option<Cached> {
    let bytes = std::fs::read(path(root)).ok()?;
    let cached: Cached = postcard::from_bytes(&bytes).ok()?;
    (cached.version == VERSION).then_some(cached)
}

pub(crate) fn store(root: &Path, tips: Vec<Id>, keys: Vec<String>, walked: Walked) -> Walked {
    let cached = Cached {
        version: VERSION,
        tips,
        keys,
        walked,
    };
    // The cache is an optimisation: failing to write it (read-only checkout) changes nothing.
    let _ = write(root, &cached);
    cached.walked
}

fn write(root: &Path, cached: &Cached) -> std::io::Result<()> {
    let bytes = postcard::to_stdvec(cached).map_err(std::io::Error::other)?;
    let dir = root.join(CACHE_DIR);
    std::fs::create_dir_all(&dir)?;
    let mut temp = tempfile::NamedTempFile::new_in(&dir)?;
    std::io::Write::write_all(&mut temp, &bytes)?;
    temp.persist(path(root)).map_err(|e| e.error)?;
    Ok(())
}
