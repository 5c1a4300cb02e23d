//! One pass over the commit graph: every commit reachable from HEAD and the release tags, each
//! diffed against its first parent with a tree merge-join that skips equal subtrees (libgit2's
//! own diff visits every file of both trees and is several times slower). Blobs are read only to
//! look for flag keys, and only blobs that contain a key are diffed line by line.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use git2::{Oid, Repository, Sort};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::raw;
use super::references;
use super::{is_documentation, Id, IdMap};

/// A commit as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitInfo {
    pub id: Id,
    pub parents: Vec<Id>,
    /// Committer time, seconds since the epoch: when the change landed.
    pub time: i64,
    /// The committer's UTC offset in minutes, for display.
    pub offset_minutes: i32,
    pub author: String,
    pub summary: String,
}

/// One file that differs between a commit and its first parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub path: u32,
    pub old: Option<BlobRef>,
    pub new: Option<BlobRef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobRef {
    pub id: Id,
    pub mode: u32,
}

/// Reference lines of a flag key (the key as a whole identifier, on a line that is not entirely a
/// comment) that one commit added and removed in one file (against its first parent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyLines {
    pub commit: u32,
    pub path: u32,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// What one walk produced, in topological order (parents before children).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Walked {
    pub commits: Vec<CommitInfo>,
    pub changes: Vec<Vec<Change>>,
    pub paths: Vec<String>,
    /// Per flag key, the commits whose diffs touch a line containing it.
    pub key_lines: BTreeMap<String, Vec<KeyLines>>,
}

/// A change before path interning (each worker thread has its own strings).
struct RawChange {
    path: String,
    old: Option<BlobRef>,
    new: Option<BlobRef>,
}

struct RawCommit {
    info: CommitInfo,
    changes: Vec<RawChange>,
    /// (key, path, added, removed)
    key_lines: Vec<(String, String, Vec<String>, Vec<String>)>,
}

/// Walks the commits reachable from `tips` but not from `known` and appends them to `walked`.
pub fn walk(
    repo_path: &Path,
    tips: &[Oid],
    known: &[Oid],
    keys: &[String],
    walked: &mut Walked,
) -> Result<(), git2::Error> {
    super::repo::configure_libgit2();
    let repo = Repository::open(repo_path)?;
    let mut revwalk = repo.revwalk()?;
    revwalk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)?;
    for tip in tips {
        revwalk.push(*tip)?;
    }
    for old in known {
        // A commit the cache knows may be gone from a rewritten history; that is the caller's
        // concern (it checks ancestry first), so a failure to hide is not an error here.
        let _ = revwalk.hide(*old);
    }
    let oids: Vec<Oid> = revwalk.collect::<Result<_, _>>()?;
    let chunk = chunk_len(oids.len(), rayon::current_num_threads());
    walk_oids(repo, &oids, keys, walked, chunk)
}

/// Commits per unit of work: a few units per thread, so that when one core is busy with
/// something else the other thread takes over the rest (with one unit per thread, the walk
/// waits for the slower half), yet long enough that the trees and blob scans a unit remembers
/// across its commits are reused (each unit starts with an empty memo).
fn chunk_len(commits: usize, threads: usize) -> usize {
    commits.div_ceil(threads.max(1) * 4).max(256)
}

/// Walks `oids` (in the order given) in chunks of `chunk` commits on the rayon pool; the result
/// does not depend on `chunk`.
fn walk_oids(
    repo: Repository,
    oids: &[Oid],
    keys: &[String],
    walked: &mut Walked,
    chunk: usize,
) -> Result<(), git2::Error> {
    let mut commits = read_commits(&repo, oids)?;
    // Each commit's tree, for the commits that name it as their first parent.
    let trees: IdMap<Oid, Oid> = oids
        .iter()
        .zip(&commits)
        .filter_map(|(&oid, commit)| Some((oid, commit.as_ref()?.tree)))
        .collect();
    // Closed before the threads open their own: its object cache (every commit, from the
    // revwalk) and its map of the pack would otherwise stay resident beside theirs.
    let repo_path = repo.path().to_path_buf();
    drop(repo);
    let repo_path = repo_path.as_path();
    let chunks: Vec<Vec<RawCommit>> = oids
        .par_chunks(chunk.max(1))
        .zip(commits.par_chunks_mut(chunk.max(1)))
        .map(|(oids, commits)| walk_chunk(repo_path, oids, commits, &trees, keys))
        .collect::<Result<_, git2::Error>>()?;
    append(walked, chunks.into_iter().flatten());
    Ok(())
}

/// The commits parsed from their raw bytes, where that gives what libgit2 would (`None`
/// elsewhere: the walk then asks libgit2). The revwalk has just read every one of them into
/// this repository's object cache, so this inflates nothing; the walk's threads, each with its
/// own repository, would read and inflate each commit a second time.
fn read_commits(repo: &Repository, oids: &[Oid]) -> Result<Vec<Option<raw::Parsed>>, git2::Error> {
    // libgit2 rewrites the parents of a shallow clone's boundary commits and of grafted ones.
    if repo.is_shallow() || has_grafts(repo) {
        return Ok(vec![None; oids.len()]);
    }
    let odb = repo.odb()?;
    oids.iter()
        .map(|&oid| Ok(raw::parse(odb.read(oid)?.data())))
        .collect()
}

/// Scans already-walked commits for keys that were not looked for when they were walked.
pub fn scan_keys(
    repo_path: &Path,
    keys: &[String],
    walked: &mut Walked,
) -> Result<(), git2::Error> {
    let repo = Repository::open(repo_path)?;
    let mut scanner = KeyScanner::new(&repo, keys);
    for (index, changes) in walked.changes.iter().enumerate() {
        for change in changes {
            let path = &walked.paths[change.path as usize];
            for (key, added, removed) in scanner.scan(path, change.old, change.new)? {
                walked.key_lines.entry(key).or_default().push(KeyLines {
                    commit: index as u32,
                    path: change.path,
                    added,
                    removed,
                });
            }
        }
    }
    for key in keys {
        walked.key_lines.entry(key.clone()).or_default();
    }
    Ok(())
}

fn append(walked: &mut Walked, commits: impl Iterator<Item = RawCommit>) {
    let mut path_ids: HashMap<String, u32> = walked
        .paths
        .iter()
        .enumerate()
        .map(|(i, p)| (p.clone(), i as u32))
        .collect();
    let mut intern = |path: String, paths: &mut Vec<String>| -> u32 {
        *path_ids.entry(path).or_insert_with_key(|path| {
            paths.push(path.clone());
            (paths.len() - 1) as u32
        })
    };
    for raw in commits {
        let index = walked.commits.len() as u32;
        let changes = raw
            .changes
            .into_iter()
            .map(|c| Change {
                path: intern(c.path, &mut walked.paths),
                old: c.old,
                new: c.new,
            })
            .collect();
        for (key, path, added, removed) in raw.key_lines {
            let path = intern(path, &mut walked.paths);
            walked.key_lines.entry(key).or_default().push(KeyLines {
                commit: index,
                path,
                added,
                removed,
            });
        }
        walked.commits.push(raw.info);
        walked.changes.push(changes);
    }
}

fn walk_chunk(
    repo_path: &Path,
    oids: &[Oid],
    commits: &mut [Option<raw::Parsed>],
    trees: &IdMap<Oid, Oid>,
    keys: &[String],
) -> Result<Vec<RawCommit>, git2::Error> {
    let repo = Repository::open(repo_path)?;
    let odb = repo.odb()?;
    let mut reader = TreeReader::new(&odb);
    let mut scanner = KeyScanner::new(&repo, keys);
    let mut out = Vec::with_capacity(oids.len());
    for (&oid, parsed) in oids.iter().zip(commits) {
        let (info, tree_id, parent_tree_id) = match parsed.take() {
            Some(commit) => {
                let parent_tree = commit
                    .parents
                    .first()
                    .and_then(|&parent| tree_of(&odb, trees, parent.into()));
                let info = CommitInfo {
                    id: Id::from(oid),
                    parents: commit.parents,
                    time: commit.time,
                    offset_minutes: commit.offset_minutes,
                    author: commit.author,
                    summary: commit.summary,
                };
                (info, commit.tree, parent_tree)
            }
            None => {
                let commit = repo.find_commit(oid)?;
                // A shallow clone's boundary commit has no parent object: diff it against
                // nothing.
                let parent_tree = commit.parent(0).ok().map(|parent| parent.tree_id());
                let committer = commit.committer();
                let info = CommitInfo {
                    id: Id::from(oid),
                    parents: commit.parent_ids().map(Id::from).collect(),
                    time: committer.when().seconds(),
                    offset_minutes: committer.when().offset_minutes(),
                    author: commit.author().name().unwrap_or("").to_string(),
                    summary: commit.summary().unwrap_or("").to_string(),
                };
                (info, commit.tree_id(), parent_tree)
            }
        };
        let parent_tree = match parent_tree_id {
            Some(id) => Some(reader.read_oid(id)?),
            None => None,
        };
        reader.next_commit();
        let tree = reader.read_oid(tree_id)?;
        let mut changes = Vec::new();
        diff_trees(
            &mut reader,
            parent_tree.as_ref().map(|t| t.data()),
            Some(tree.data()),
            "",
            &mut changes,
        )?;
        let mut key_lines = Vec::new();
        if !keys.is_empty() {
            for change in &changes {
                for (key, added, removed) in scanner.scan(&change.path, change.old, change.new)? {
                    key_lines.push((key, change.path.clone(), added, removed));
                }
            }
        }
        out.push(RawCommit {
            info,
            changes,
            key_lines,
        });
    }
    Ok(out)
}

/// The tree of a commit: known when this walk parsed it, else read from its raw bytes.
/// `None` when the commit cannot be read (a parent missing from a broken clone is diffed
/// against nothing, as libgit2's `parent(0)` failing is).
fn tree_of(odb: &git2::Odb<'_>, trees: &IdMap<Oid, Oid>, commit: Oid) -> Option<Oid> {
    if let Some(&tree) = trees.get(&commit) {
        return Some(tree);
    }
    raw::tree_of(odb.read(commit).ok()?.data())
}

/// `info/grafts` in the common git directory, which libgit2 applies to every commit it parses.
fn has_grafts(repo: &Repository) -> bool {
    repo.commondir().join("info").join("grafts").exists()
}

const MODE_TREE: u32 = 0o040000;

/// One entry of a raw tree object: `<octal mode> <name>\0<20-byte id>`.
#[derive(Clone, Copy)]
struct Entry<'a> {
    mode: u32,
    name: &'a [u8],
    id: &'a [u8],
}

impl Entry<'_> {
    fn is_tree(&self) -> bool {
        self.mode == MODE_TREE
    }

    fn blob(&self) -> Option<BlobRef> {
        let mut id = [0; 20];
        id.copy_from_slice(self.id);
        (!self.is_tree()).then_some(BlobRef {
            id: Id(id),
            mode: self.mode,
        })
    }
}

/// Parses a raw tree in place: no allocation per entry, which is most of the cost of a walk
/// (libgit2's own tree parsing builds a vector of owned entries for every tree it loads).
struct Entries<'a> {
    data: &'a [u8],
}

impl<'a> Iterator for Entries<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        let space = memchr::memchr(b' ', self.data)?;
        let nul = space + 1 + memchr::memchr(0, &self.data[space + 1..])?;
        let id_end = nul + 21;
        if id_end > self.data.len() {
            self.data = &[];
            return None;
        }
        let mode = self.data[..space]
            .iter()
            .fold(0u32, |m, d| m * 8 + u32::from(d.wrapping_sub(b'0') & 7));
        let entry = Entry {
            mode,
            name: &self.data[space + 1..nul],
            id: &self.data[nul + 1..id_end],
        };
        self.data = &self.data[id_end..];
        Some(entry)
    }
}

/// Git sorts tree entries by name, comparing a subtree's name as if it ended in `/`.
fn git_order(a: &Entry<'_>, b: &Entry<'_>) -> Ordering {
    let n = a.name.len().min(b.name.len());
    match a.name[..n].cmp(&b.name[..n]) {
        Ordering::Equal => {}
        other => return other,
    }
    let next = |e: &Entry<'_>| match e.name.get(n) {
        Some(&byte) => byte,
        None if e.is_tree() => b'/',
        None => 0,
    };
    next(a).cmp(&next(b))
}

/// A raw tree object, shared between the commits that hold it (not copied out of libgit2).
type Tree<'r> = Rc<git2::OdbObject<'r>>;

/// Reads raw tree objects straight from the object database, remembering the trees of the
/// previous commit: in a mostly linear history a commit's parent trees are exactly those, so
/// each tree is inflated once instead of twice.
struct TreeReader<'r> {
    odb: &'r git2::Odb<'r>,
    current: IdMap<Oid, Tree<'r>>,
    previous: IdMap<Oid, Tree<'r>>,
}

impl<'r> TreeReader<'r> {
    fn new(odb: &'r git2::Odb<'r>) -> Self {
        TreeReader {
            odb,
            current: IdMap::default(),
            previous: IdMap::default(),
        }
    }

    fn read(&mut self, id: Option<&[u8]>) -> Result<Option<Tree<'r>>, git2::Error> {
        let Some(id) = id else { return Ok(None) };
        self.read_oid(Oid::from_bytes(id)?).map(Some)
    }

    fn read_oid(&mut self, oid: Oid) -> Result<Tree<'r>, git2::Error> {
        let data = match self.current.get(&oid).or_else(|| self.previous.get(&oid)) {
            Some(data) => data.clone(),
            None => Rc::new(self.odb.read(oid)?),
        };
        self.current.insert(oid, data.clone());
        Ok(data)
    }

    /// Called between commits: what this commit read is what the next one's parent holds.
    fn next_commit(&mut self) {
        self.previous = std::mem::take(&mut self.current);
    }
}

/// Merge-joins two sorted trees, recursing only into subtrees whose ids differ.
fn diff_trees(
    reader: &mut TreeReader<'_>,
    old: Option<&[u8]>,
    new: Option<&[u8]>,
    prefix: &str,
    out: &mut Vec<RawChange>,
) -> Result<(), git2::Error> {
    let mut old = Entries {
        data: old.unwrap_or(&[]),
    }
    .peekable();
    let mut new = Entries {
        data: new.unwrap_or(&[]),
    }
    .peekable();
    loop {
        let order = match (old.peek(), new.peek()) {
            (Some(a), Some(b)) => git_order(a, b),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => return Ok(()),
        };
        match order {
            Ordering::Less => entry_changed(reader, old.next(), None, prefix, out)?,
            Ordering::Greater => entry_changed(reader, None, new.next(), prefix, out)?,
            Ordering::Equal => {
                let (a, b) = (old.next(), new.next());
                if let (Some(x), Some(y)) = (a, b) {
                    if x.id != y.id || x.mode != y.mode {
                        entry_changed(reader, a, b, prefix, out)?;
                    }
                }
            }
        }
    }
}

fn entry_changed(
    reader: &mut TreeReader<'_>,
    old: Option<Entry<'_>>,
    new: Option<Entry<'_>>,
    prefix: &str,
    out: &mut Vec<RawChange>,
) -> Result<(), git2::Error> {
    let name = old
        .or(new)
        .map(|e| String::from_utf8_lossy(e.name).into_owned())
        .unwrap_or_default();
    let path = format!("{prefix}{name}");
    let old_tree = reader.read(old.filter(|e| e.is_tree()).map(|e| e.id))?;
    let new_tree = reader.read(new.filter(|e| e.is_tree()).map(|e| e.id))?;
    if old_tree.is_some() || new_tree.is_some() {
        let sub = format!("{path}/");
        let (old_tree, new_tree) = (
            old_tree.as_ref().map(|t| t.data()),
            new_tree.as_ref().map(|t| t.data()),
        );
        diff_trees(reader, old_tree, new_tree, &sub, out)?;
    }
    let (old_blob, new_blob) = (old.and_then(|e| e.blob()), new.and_then(|e| e.blob()));
    if old_blob.is_some() || new_blob.is_some() {
        out.push(RawChange {
            path,
            old: old_blob,
            new: new_blob,
        });
    }
    Ok(())
}

const MODE_SUBMODULE: u32 = 0o160000;

/// Finds flag keys in blobs, remembering per blob which keys it holds so that a file edited in
/// every commit is read once per version.
struct KeyScanner<'r> {
    /// Blobs are read from the object database directly: each is read once here (see
    /// `holds`), so libgit2's object cache would only cost a copy.
    odb: Option<git2::Odb<'r>>,
    keys: &'r [String],
    holds: IdMap<Id, Held>,
}

/// What a blob holds: per key, `None` when its bytes do not name the key, else its lines that
/// refer to it (see [`references::reference_lines`]).
#[derive(Clone)]
struct Held {
    lines: Vec<Option<Arc<[String]>>>,
}

/// (key, added lines, removed lines) of one file's change.
type Scan = Vec<(String, Vec<String>, Vec<String>)>;

impl<'r> KeyScanner<'r> {
    fn new(repo: &'r Repository, keys: &'r [String]) -> Self {
        KeyScanner {
            // Without keys nothing is read; an odb that cannot open fails at the first read.
            odb: repo.odb().ok(),
            keys,
            holds: IdMap::default(),
        }
    }

    /// For each key in either version of the file: the lines referring to it that were added
    /// and removed (a multiset difference, which is all the rules need).
    fn scan(
        &mut self,
        path: &str,
        old: Option<BlobRef>,
        new: Option<BlobRef>,
    ) -> Result<Scan, git2::Error> {
        let mut scan = Scan::default();
        if self.keys.is_empty() || is_documentation(path) {
            return Ok(scan);
        }
        let old_held = self.keys_in(old)?;
        let new_held = self.keys_in(new)?;
        let lines = |held: &Option<Held>, k: usize| held.as_ref().and_then(|h| h.lines[k].clone());
        for (k, key) in self.keys.iter().enumerate() {
            let (old_lines, new_lines) = (lines(&old_held, k), lines(&new_held, k));
            if old_lines.is_none() && new_lines.is_none() {
                continue;
            }
            let (added, removed) = multiset_diff(
                old_lines.as_deref().unwrap_or_default(),
                new_lines.as_deref().unwrap_or_default(),
            );
            if !added.is_empty() || !removed.is_empty() {
                scan.push((key.clone(), added, removed));
            }
        }
        Ok(scan)
    }

    /// Each blob is read once, whatever its size: the lines that refer to a key are found from
    /// where the key is in its bytes, so a large generated file costs one byte search per key.
    fn keys_in(&mut self, blob: Option<BlobRef>) -> Result<Option<Held>, git2::Error> {
        let Some(blob) = blob.filter(|b| b.mode != MODE_SUBMODULE) else {
            return Ok(None);
        };
        if let Some(held) = self.holds.get(&blob.id) {
            return Ok(Some(held.clone()));
        }
        let held = {
            let content = self.read(blob)?;
            let bytes = content.data();
            Held {
                lines: self
                    .keys
                    .iter()
                    .map(|k| references::reference_lines(bytes, k).map(Arc::from))
                    .collect(),
            }
        };
        self.holds.insert(blob.id, held.clone());
        Ok(Some(held))
    }

    fn read(&self, blob: BlobRef) -> Result<git2::OdbObject<'_>, git2::Error> {
        match &self.odb {
            Some(odb) => odb.read(blob.id.into()),
            None => Err(git2::Error::from_str("cannot open the object database")),
        }
    }
}

/// Lines in `new` but not `old`, and in `old` but not `new`, counting repeats.
fn multiset_diff(old: &[String], new: &[String]) -> (Vec<String>, Vec<String>) {
    let mut counts: HashMap<&str, i64> = HashMap::new();
    for line in old {
        *counts.entry(line).or_default() -= 1;
    }
    for line in new {
        *counts.entry(line).or_default() += 1;
    }
    let mut added = Vec::new();
    let mut removed = Vec::new();
    // Keep the file's own order so messages quote lines as the student wrote them.
    let mut seen: HashMap<&str, i64> = HashMap::new();
    for line in new {
        let left = counts[line.as_str()] - seen.get(line.as_str()).copied().unwrap_or(0);
        if left > 0 {
            added.push(line.clone());
            *seen.entry(line).or_default() += 1;
        }
    }
    seen.clear();
    for line in old {
        let left = -counts[line.as_str()] - seen.get(line.as_str()).copied().unwrap_or(0);
        if left > 0 {
            removed.push(line.clone());
            *seen.entry(line).or_default() += 1;
        }
    }
    (added, removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Commits `files` (path, new content or `None` to delete) on top of `parents`.
    fn commit(repo: &Repository, parents: &[Oid], files: &[(&str, Option<&str>)]) -> Oid {
        let root = repo.workdir().unwrap().to_path_buf();
        let mut index = repo.index().unwrap();
        if let Some(&first) = parents.first() {
            index
                .read_tree(&repo.find_commit(first).unwrap().tree().unwrap())
                .unwrap();
        }
        for (path, content) in files {
            let full = root.join(path);
            match content {
                Some(text) => {
                    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
                    std::fs::write(&full, text).unwrap();
                    index.add_path(Path::new(path)).unwrap();
                }
                None => index.remove_path(Path::new(path)).unwrap(),
            }
        }
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let parents: Vec<git2::Commit<'_>> = parents
            .iter()
            .map(|p| repo.find_commit(*p).unwrap())
            .collect();
        let parents: Vec<&git2::Commit<'_>> = parents.iter().collect();
        let sig =
            git2::Signature::new("T", "t@example.org", &git2::Time::new(1_700_000_000, 0)).unwrap();
        repo.commit(None, &sig, &sig, "change", &tree, &parents)
            .unwrap()
    }

    /// A small history with flag lines added, changed and removed, in code and in docs, with CR
    /// line ends, a deleted file, a side branch and its merge.
    fn sample_repository() -> (tempfile::TempDir, Vec<Oid>) {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let c1 = commit(
            &repo,
            &[],
            &[
                ("src/flags.py", Some("new_checkout = False\nother = 1\n")),
                ("docs/flags.md", Some("new_checkout: on\n")),
                ("README.md", Some("new_checkout\n")),
            ],
        );
        let c2 = commit(
            &repo,
            &[c1],
            &[
                ("src/flags.py", Some("new_checkout = True\rother = 1\r")),
                (
                    "src/app/main.py",
                    Some("if flags.new_checkout:\n    go()\n# new_checkout\n"),
                ),
            ],
        );
        let side = commit(
            &repo,
            &[c2],
            &[("lib/x.rs", Some("let a = new_checkout;\nlet b = go;\n"))],
        );
        let mut tip = commit(&repo, &[c2], &[("src/flags.py", None)]);
        tip = commit(&repo, &[tip, side], &[("lib/x.rs", Some("let b = go;\n"))]);
        for i in 0..12 {
            let text = if i % 3 == 0 {
                format!("v{i}\nnew_checkout_banner\n")
            } else {
                format!("v{i}\nuse(new_checkout); go\nnew_checkout\n")
            };
            tip = commit(&repo, &[tip], &[("src/app/loop.rs", Some(&text))]);
        }
        tip = commit(&repo, &[tip], &[("src/app/main.py", None)]);
        let mut revwalk = repo.revwalk().unwrap();
        revwalk
            .set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)
            .unwrap();
        revwalk.push(tip).unwrap();
        let oids = revwalk.collect::<Result<_, _>>().unwrap();
        (dir, oids)
    }

    /// The walk of `oids` in the repository at `path`, for `keys`, `chunk` commits a unit.
    fn walked(path: &Path, oids: &[Oid], keys: &[String], chunk: usize) -> Walked {
        let mut walked = Walked::default();
        walk_oids(
            Repository::open(path).unwrap(),
            oids,
            keys,
            &mut walked,
            chunk,
        )
        .unwrap();
        walked
    }

    #[test]
    fn chunking_does_not_change_the_walk() {
        let (dir, oids) = sample_repository();
        let repo = Repository::open(dir.path()).unwrap();
        let path = repo.path();
        let keys = vec!["go".to_string(), "new_checkout".to_string()];
        let whole = walked(repo.path(), &oids, &keys, oids.len());
        assert_eq!(whole.commits.len(), 18);
        let lines = &whole.key_lines["new_checkout"];
        // Docs do not count, comments do not count, a deleted file's lines are removed.
        assert!(lines
            .iter()
            .all(|l| !whole.paths[l.path as usize].ends_with(".md")));
        let flags = whole
            .paths
            .iter()
            .position(|p| p == "src/flags.py")
            .unwrap() as u32;
        let on_flags: Vec<(&[String], &[String])> = lines
            .iter()
            .filter(|l| l.path == flags)
            .map(|l| (l.added.as_slice(), l.removed.as_slice()))
            .collect();
        assert_eq!(
            on_flags,
            vec![
                (&["new_checkout = False".to_string()][..], &[][..]),
                (
                    &["new_checkout = True".to_string()][..],
                    &["new_checkout = False".to_string()][..]
                ),
                (&[][..], &["new_checkout = True".to_string()][..]),
            ]
        );
        for chunk in [1, 2, 3, 5, 8] {
            let chunked = walked(repo.path(), &oids, &keys, chunk);
            assert_eq!(chunked, whole, "chunks of {chunk}");
        }
        // The walk's own scan and a scan of an already-walked index agree.
        let mut later = walked(repo.path(), &oids, &[], 4);
        assert!(later.key_lines.is_empty());
        scan_keys(path, &keys, &mut later).unwrap();
        assert_eq!(later, whole);
        // With a grafts file (empty: it changes no parents) every commit is read through
        // libgit2 instead of parsed from its raw bytes, with the same result.
        std::fs::create_dir_all(path.join("info")).unwrap();
        std::fs::write(path.join("info").join("grafts"), "").unwrap();
        let repo = Repository::open(dir.path()).unwrap();
        assert!(read_commits(&repo, &oids)
            .unwrap()
            .iter()
            .all(Option::is_none));
        let via_libgit2 = walked(repo.path(), &oids, &keys, 3);
        assert_eq!(via_libgit2, whole);
    }

    /// A large file version (a generated bundle, a data dump) is read for its reference lines
    /// like any other, from where the key is in its bytes: a comment naming the key is not a
    /// reference, and a version that does not name it gives nothing; whether the walk or a later
    /// scan reads it.
    #[test]
    fn large_versions_are_read_for_their_reference_lines() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let filler = "x".repeat(20 << 20);
        let c1 = commit(
            &repo,
            &[],
            &[
                ("data/big.json", Some(&format!("{filler}\nbig_flag: on\n"))),
                ("data/quiet.json", Some(&format!("{filler}\n// big_flag\n"))),
                ("src/app.py", Some("if small_flag and big_flag:\n")),
            ],
        );
        let c2 = commit(
            &repo,
            &[c1],
            &[(
                "data/big.json",
                Some(&format!("{filler}\r big_flag: off \rtail")),
            )],
        );
        let oids = vec![c1, c2];
        let keys = vec!["big_flag".to_string(), "small_flag".to_string()];
        let whole = walked(repo.path(), &oids, &keys, 1);
        let path = |name: &str| whole.paths.iter().position(|p| p == name).unwrap() as u32;
        let lines = |key: &str, commit: u32, path: u32| {
            whole.key_lines[key]
                .iter()
                .find(|l| l.commit == commit && l.path == path)
                .map(|l| (l.added.clone(), l.removed.clone()))
        };
        let big = path("data/big.json");
        assert_eq!(
            lines("big_flag", 0, big),
            Some((vec!["big_flag: on".into()], vec![]))
        );
        assert_eq!(
            lines("big_flag", 1, big),
            Some((vec!["big_flag: off".into()], vec!["big_flag: on".into()]))
        );
        // A comment names the key: no reference.
        assert_eq!(lines("big_flag", 0, path("data/quiet.json")), None);
        assert_eq!(whole.key_lines["big_flag"].len(), 3);
        assert_eq!(whole.key_lines["small_flag"].len(), 1);
        let mut later = walked(repo.path(), &oids, &[], 1);
        scan_keys(repo.path(), &keys, &mut later).unwrap();
        assert_eq!(later, whole);
    }

    #[test]
    fn multiset_diff_counts_repeats() {
        let old = vec!["a".to_string(), "a".to_string(), "b".to_string()];
        let new = vec!["a".to_string(), "c".to_string()];
        let (added, removed) = multiset_diff(&old, &new);
        assert_eq!(added, vec!["c"]);
        assert_eq!(removed, vec!["a", "b"]);
    }

    #[test]
    fn subtree_sorts_as_if_slashed() {
        let e = |name: &'static str, mode| Entry {
            name: name.as_bytes(),
            id: &[0; 20],
            mode,
        };
        // "a.b" (file) sorts before "a" (tree, as "a/") since '.' < '/'.
        assert_eq!(
            git_order(&e("a.b", 0o100644), &e("a", MODE_TREE)),
            Ordering::Less
        );
        assert_eq!(
            git_order(&e("a", 0o100644), &e("a.b", 0o100644)),
            Ordering::Less
        );
    }
}
