//! What a build wrote into its output: each file's content hash and the file-system stamp it had
//! when written. The next build into the same output compares against it to leave unchanged
//! files alone, and to find the files it must remove because no page makes them any more.
//!
//! The stamp (size, modification and change times, inode) is how git and make tell an untouched
//! file from an edited one without reading it: any write to the file, a `touch -d` that puts
//! the old modification time back included, moves its change time. A file whose stamp differs
//! is rewritten, whatever its hash says.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use siphasher::sip128::{Hasher128, SipHasher13};

/// Every file a build wrote, by its `/`-separated path inside the output.
pub(crate) type Manifest = BTreeMap<String, FileEntry>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileEntry {
    /// [`digest`] of the bytes written.
    pub(crate) hash: u128,
    /// The file as it was after the build placed it; `None` when it could not be read back
    /// (the file is then rewritten by the next build).
    pub(crate) stamp: Option<Stamp>,
}

/// What the file system says about a file, enough to see that nobody changed it since.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Stamp {
    len: u64,
    modified_ns: i128,
    changed_ns: i128,
    inode: u64,
}

impl Stamp {
    pub(crate) fn of(metadata: &std::fs::Metadata) -> Option<Stamp> {
        if !metadata.file_type().is_file() {
            return None;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
            Some(Stamp {
                len: metadata.len(),
                modified_ns: ns(metadata.mtime(), metadata.mtime_nsec()),
                changed_ns: ns(metadata.ctime(), metadata.ctime_nsec()),
                inode: metadata.ino(),
            })
        }
        #[cfg(not(unix))]
        {
            let modified = metadata.modified().ok()?;
            let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
            Some(Stamp {
                len: metadata.len(),
                modified_ns: i128::try_from(since.as_nanos()).ok()?,
                changed_ns: 0,
                inode: 0,
            })
        }
    }

    /// The stamp of the file at `path` now (not following a symbolic link).
    pub(crate) fn read(path: &Path) -> Option<Stamp> {
        Stamp::of(&path.symlink_metadata().ok()?)
    }
}

/// A 128-bit hash of `bytes` (SipHash-1-3 with fixed keys: a content fingerprint that two
/// different outputs share by accident with negligible odds, not a defence against forgery).
pub(crate) fn digest(bytes: &[u8]) -> u128 {
    let mut hasher = SipHasher13::new();
    std::hash::Hasher::write(&mut hasher, bytes);
    hasher.finish128().as_u128()
}

/// A writer that computes the [`digest`] of what passes through it.
pub(crate) struct Hashing<W> {
    inner: W,
    hasher: SipHasher13,
}

impl<W: std::io::Write> Hashing<W> {
    pub(crate) fn new(inner: W) -> Self {
        Hashing {
            inner,
            hasher: SipHasher13::new(),
        }
    }

    /// The writer, and the digest of everything written.
    pub(crate) fn finish(self) -> (W, u128) {
        (self.inner, self.hasher.finish128().as_u128())
    }
}

impl<W: std::io::Write> std::io::Write for Hashing<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(bytes)?;
        std::hash::Hasher::write(&mut self.hasher, &bytes[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A digest of several values in order, each delimited (so `("ab", "c")` and `("a", "bc")`
/// differ): the build cache's keys.
pub(crate) struct Fingerprint(SipHasher13);

impl Default for Fingerprint {
    fn default() -> Self {
        // `new()`, not the derived `Default`, which leaves the state unkeyed.
        Fingerprint(SipHasher13::new())
    }
}

impl Fingerprint {
    pub(crate) fn add(&mut self, value: impl std::hash::Hash) -> &mut Self {
        value.hash(&mut self.0);
        self
    }

    pub(crate) fn finish(&self) -> u128 {
        self.0.finish128().as_u128()
    }
}

/// How an existing output compares with the manifest of the build that wrote it.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// The entries whose file is there, untouched.
    pub(crate) intact: Manifest,
    /// A file, link or empty folder the manifest does not know, if any: the output then cannot
    /// be updated in place, since a clean build would not have it.
    pub(crate) unknown: Option<String>,
    /// Folders that are not world-readable (a whole build makes every folder so).
    pub(crate) loose_folders: Vec<std::path::PathBuf>,
}

/// Compares the output at `target` with `manifest`. `.git`, `CNAME` (which survive every build)
/// and the marker file are not part of any manifest.
pub(crate) fn scan(target: &Path, manifest: &Manifest, kept: &[&str], marker: &str) -> Scan {
    let mut scan = Scan::default();
    // Every folder the manifest's files are in: any other one is an empty folder a clean build
    // would not have.
    let mut folders: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for rel in manifest.keys() {
        let mut rest = rel.as_str();
        while let Some(slash) = rest.rfind('/') {
            rest = &rest[..slash];
            if !folders.insert(rest) {
                break;
            }
        }
    }
    let walker = walkdir::WalkDir::new(target)
        .min_depth(1)
        .into_iter()
        .filter_entry(|e| e.depth() > 1 || !kept.iter().any(|k| e.file_name() == *k));
    for entry in walker {
        let Ok(entry) = entry else {
            scan.unknown = Some("a folder that cannot be read".to_string());
            return scan;
        };
        let Some(rel) = relative(target, entry.path()) else {
            scan.unknown = Some(entry.path().display().to_string());
            return scan;
        };
        if entry.file_type().is_dir() {
            if !folders.contains(rel.as_str()) {
                scan.unknown = Some(format!("{rel}/"));
                return scan;
            }
            if !is_world_readable(&entry) {
                scan.loose_folders.push(entry.path().to_path_buf());
            }
            continue;
        }
        if entry.depth() == 1 && rel == marker {
            continue;
        }
        let Some(known) = manifest.get(&rel).filter(|_| entry.file_type().is_file()) else {
            scan.unknown = Some(rel);
            return scan;
        };
        let now = entry.metadata().ok().and_then(|m| Stamp::of(&m));
        if known.stamp.is_some() && now == known.stamp {
            scan.intact.insert(rel, known.clone());
        }
    }
    scan
}

/// Whether a folder is `rwxr-xr-x`, as a whole build leaves every folder.
fn is_world_readable(entry: &walkdir::DirEntry) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        entry
            .metadata()
            .is_ok_and(|m| m.permissions().mode() & 0o777 == 0o755)
    }
    #[cfg(not(unix))]
    {
        let _ = entry;
        true
    }
}

/// `dir/a/b.html` -> `a/b.html`, `/`-separated; `None` for a name that is not UTF-8.
fn relative(target: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(target).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    Some(parts?.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest_of(dir: &Path, files: &[&str]) -> Manifest {
        files
            .iter()
            .map(|rel| {
                let path = dir.join(rel);
                let bytes = std::fs::read(&path).unwrap();
                let entry = FileEntry {
                    hash: digest(&bytes),
                    stamp: Stamp::read(&path),
                };
                (rel.to_string(), entry)
            })
            .collect()
    }

    #[test]
    fn a_rewritten_file_is_not_intact_even_with_its_old_time_and_size() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("a")).unwrap();
        for rel in ["index.html", "a/index.html"] {
            std::fs::write(dir.path().join(rel), "same size").unwrap();
        }
        let manifest = manifest_of(dir.path(), &["index.html", "a/index.html"]);
        let path = dir.path().join("a/index.html");
        let modified = path.metadata().unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, "SAME SIZE").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(modified)
            .unwrap();
        let scan = scan(dir.path(), &manifest, &[".git"], ".marker");
        assert_eq!(scan.unknown, None);
        assert_eq!(
            scan.intact.keys().collect::<Vec<_>>(),
            vec!["index.html"],
            "the rewritten file is not intact"
        );
    }

    #[test]
    fn files_the_manifest_does_not_know_are_named_but_kept_folders_are_not_looked_into() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "x").unwrap();
        std::fs::write(dir.path().join(".marker"), "m").unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        std::fs::write(dir.path().join(".git/HEAD"), "ref").unwrap();
        let manifest = manifest_of(dir.path(), &["index.html"]);
        assert_eq!(
            scan(dir.path(), &manifest, &[".git"], ".marker").unknown,
            None
        );
        std::fs::create_dir(dir.path().join("notes")).unwrap();
        std::fs::write(dir.path().join("notes/mine.txt"), "mine").unwrap();
        // The folder itself is unknown first (walked before what it holds).
        assert_eq!(
            scan(dir.path(), &manifest, &[".git"], ".marker")
                .unknown
                .as_deref(),
            Some("notes/")
        );
    }

    #[test]
    fn a_streamed_digest_is_the_digest_of_the_whole() {
        use std::io::Write;
        let bytes: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut out = Hashing::new(Vec::new());
        for chunk in bytes.chunks(333) {
            out.write_all(chunk).unwrap();
        }
        let (written, hash) = out.finish();
        assert_eq!(written, bytes);
        assert_eq!(hash, digest(&bytes));
    }

    #[test]
    fn digests_tell_contents_apart() {
        assert_eq!(digest(b"abc"), digest(b"abc"));
        assert_ne!(digest(b"abc"), digest(b"abd"));
        assert_ne!(digest(b""), digest(b"\0"));
    }
}
