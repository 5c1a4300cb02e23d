//! The history index: one walk over the repository with git2 that serves all four badges.
//! It holds every commit reachable from HEAD and the release tags (parents, times, author,
//! summary, whether it is on the first-parent main line and which merge brought it in), the
//! release tags, for every path the commit that first added it and the commits that changed it,
//! and the lines containing each flag key that each commit added or removed.

pub(crate) mod cache;
pub mod forge;
mod raw;
pub(crate) mod references;
pub(crate) mod repo;
pub mod walk;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use git2::{ObjectType, Oid, Repository};
use serde::{Deserialize, Serialize};

pub use repo::RepoError;
use walk::{Change, CommitInfo, KeyLines, Walked};

/// A commit id, stored compactly (the cache holds tens of thousands).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Id(pub [u8; 20]);

/// Maps keyed by object ids, hashed by the ids' own bytes: ids are SHA-1 output, already
/// uniform, and SipHash cost 4% of a cold walk (`cargo bench --bench history`, perf). A
/// repository cannot pick its ids without SHA-1 work per object, and a cohort student's build
/// has a deadline.
pub(crate) type IdMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<IdHasher>>;

/// See [`IdMap`]: folds the bytes written, eight at a time.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(23) ^ u64::from_le_bytes(word);
        }
    }
}

impl From<Oid> for Id {
    fn from(oid: Oid) -> Self {
        let mut bytes = [0; 20];
        bytes.copy_from_slice(oid.as_bytes());
        Id(bytes)
    }
}

impl From<Id> for Oid {
    fn from(id: Id) -> Self {
        Oid::from_bytes(&id.0).expect("20 bytes make an oid")
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", &self.to_string()[..10])
    }
}

impl Id {
    pub fn short(&self) -> String {
        self.to_string()[..7].to_string()
    }
}

/// Paths that document work rather than do it: files under `library/`, `docs/` or `content/`,
/// and Markdown at the repository's top level (`README.md`, `CHANGELOG.md`). Flag references
/// there do not keep a flag alive, and a smoke drill's break must touch something else. A
/// Markdown file anywhere else (`app/templates/checkout.md`) is code: the service ships it.
pub fn is_documentation(path: &str) -> bool {
    let path = path.trim_start_matches("./");
    let lower = path.to_ascii_lowercase();
    ["library/", "docs/", "content/"]
        .iter()
        .any(|dir| path.starts_with(dir))
        || (!path.contains('/') && (lower.ends_with(".md") || lower.ends_with(".markdown")))
}

/// A release: a tag matching the configured pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Release {
    pub name: String,
    pub commit: Id,
    /// Tagger time for annotated tags, the commit's effective time for lightweight ones.
    pub time: i64,
    #[serde(skip)]
    pub annotated: bool,
}

/// How the index was obtained, for progress messages and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheUse {
    Cold,
    Hit,
    Incremental { new_commits: usize },
}

#[derive(Debug, Clone)]
pub struct HistoryOptions {
    pub release_tag_pattern: String,
    pub flag_keys: Vec<String>,
    /// Read the on-disk cache in `.git/clinic/` (off: walk everything).
    pub use_cache: bool,
    /// Write the cache back. Off for repositories clinic must not write to (a cohort's
    /// student clones).
    pub write_cache: bool,
}

/// The repository and its index. Holds the open repository for ancestry questions and file
/// reads, which libgit2 answers from the commit-graph without another walk.
pub struct History {
    repo: Repository,
    root: PathBuf,
    walked: Walked,
    by_id: IdMap<Id, usize>,
    path_ids: HashMap<String, u32>,
    first_added: HashMap<u32, usize>,
    on_main_line: Vec<bool>,
    merged_by: Vec<Option<usize>>,
    pub releases: Vec<Release>,
    pub head: Id,
    pub head_is_detached: bool,
    pub shallow: bool,
    pub cache_use: CacheUse,
    /// The repository's web page, from the `origin` remote (config may override it, for links).
    pub web: Option<crate::history::forge::WebHost>,
    /// The web host `origin` names, whatever the config says: rules judge against it.
    pub origin_web: Option<crate::history::forge::WebHost>,
    /// Per commit: the latest committer time among it and its ancestors.
    effective: Vec<i64>,
    /// Per commit: the commit (itself or an ancestor) whose committer time that is.
    latest_source: Vec<usize>,
}

impl History {
    /// Opens the repository at `root` and builds (or loads) the index.
    pub fn load(root: &Path, options: &HistoryOptions) -> Result<History, RepoError> {
        let repo = repo::open(root)?;
        let other = |e: git2::Error| RepoError::Other {
            message: e.message().to_string(),
        };
        let head = repo
            .head()
            .and_then(|h| h.peel_to_commit())
            .map_err(other)?
            .id();
        let tags = read_release_tags(&repo, &options.release_tag_pattern).map_err(other)?;
        // Every branch and remote-tracking branch is walked too: a known-bad build usually
        // lives on a branch that was never merged, and a rehearsal may name it.
        let mut tips: Vec<Id> = std::iter::once(Id::from(head))
            .chain(tags.iter().map(|t| t.commit))
            .chain(ref_tips(&repo))
            .collect();
        tips.sort();
        tips.dedup();
        let mut keys = options.flag_keys.clone();
        keys.sort();
        keys.dedup();
        let (walked, cache_use) = walk_or_reuse(&repo, &tips, &keys, options).map_err(other)?;
        let web = repo
            .find_remote("origin")
            .ok()
            .and_then(|r| r.url().and_then(crate::history::forge::WebHost::parse));
        let mut history = History {
            origin_web: web.clone(),
            web,
            head_is_detached: repo.head_detached().unwrap_or(false),
            shallow: repo.is_shallow(),
            repo,
            root: root.to_path_buf(),
            by_id: IdMap::default(),
            path_ids: HashMap::new(),
            first_added: HashMap::new(),
            on_main_line: Vec::new(),
            merged_by: Vec::new(),
            walked,
            releases: Vec::new(),
            head: Id::from(head),
            cache_use,
            effective: Vec::new(),
            latest_source: Vec::new(),
        };
        history.index();
        history.releases = history.releases_of(tags);
        Ok(history)
    }

    /// Release tags that are releases: reachable from HEAD and not a pre-release
    /// (`v1.3.0-rc1`); an annotated tag is released at its tagger time, a lightweight one at its
    /// commit's effective time (a tag cannot be back-dated past the commit it names).
    fn releases_of(&self, tags: Vec<Release>) -> Vec<Release> {
        let mut releases: Vec<Release> = tags
            .into_iter()
            .filter(|t| !is_prerelease(&t.name))
            .filter_map(|mut t| {
                let index = self.index_of(t.commit)?;
                if !self.reachable_from_head(index) {
                    return None;
                }
                // A tag is no older than the commit it names: a back-dated tagger date
                // cannot move a release before its own commit.
                t.time = if t.annotated {
                    t.time.max(self.effective_time(index))
                } else {
                    self.effective_time(index)
                };
                Some(t)
            })
            .collect();
        releases.sort_by(|a, b| (a.time, &a.name).cmp(&(b.time, &b.name)));
        releases
    }

    fn index(&mut self) {
        let walked = &self.walked;
        self.by_id = walked
            .commits
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id, i))
            .collect();
        self.path_ids = walked
            .paths
            .iter()
            .enumerate()
            .map(|(i, p)| (p.clone(), i as u32))
            .collect();
        self.on_main_line = vec![false; walked.commits.len()];
        let mut main_line = Vec::new();
        let mut cursor = self.by_id.get(&self.head).copied();
        while let Some(index) = cursor {
            self.on_main_line[index] = true;
            main_line.push(index);
            cursor = walked.commits[index]
                .parents
                .first()
                .and_then(|p| self.by_id.get(p))
                .copied();
        }
        self.merged_by = vec![None; walked.commits.len()];
        for &merge in main_line.iter().rev() {
            self.merged_by[merge] = Some(merge);
            let mut stack: Vec<usize> = walked.commits[merge]
                .parents
                .iter()
                .skip(1)
                .filter_map(|p| self.by_id.get(p).copied())
                .collect();
            while let Some(index) = stack.pop() {
                if self.on_main_line[index] || self.merged_by[index].is_some() {
                    continue;
                }
                self.merged_by[index] = Some(merge);
                stack.extend(
                    walked.commits[index]
                        .parents
                        .iter()
                        .filter_map(|p| self.by_id.get(p).copied()),
                );
            }
        }
        // Commits only other branches reach do not count as adding a file.
        for (index, changes) in walked.changes.iter().enumerate() {
            if self.merged_by[index].is_none() {
                continue;
            }
            for change in changes {
                if change.old.is_none() {
                    self.first_added.entry(change.path).or_insert(index);
                }
            }
        }
        self.index_times();
    }

    /// Effective times in one pass: the walk stores parents before children.
    fn index_times(&mut self) {
        let commits = &self.walked.commits;
        self.effective = Vec::with_capacity(commits.len());
        self.latest_source = Vec::with_capacity(commits.len());
        for (index, commit) in commits.iter().enumerate() {
            let (mut time, mut source) = (commit.time, index);
            for parent in commit.parents.iter().filter_map(|p| self.by_id.get(p)) {
                // A parent outside the walk (a shallow boundary) has no entry yet.
                if let (Some(&t), Some(&s)) =
                    (self.effective.get(*parent), self.latest_source.get(*parent))
                {
                    if t > time {
                        (time, source) = (t, s);
                    }
                }
            }
            self.effective.push(time);
            self.latest_source.push(source);
        }
    }

    /// The latest committer time among the commit and all its ancestors: rules compare these,
    /// so back-dating a commit never makes it look earlier than what it was built on.
    pub fn effective_time(&self, index: usize) -> i64 {
        self.effective[index]
    }

    /// A commit in the span from `start` to `end` (reachable from `end`, not from `start`'s
    /// parents, both ends included) whose committer time is more than an hour earlier than one
    /// of its ancestors': dates that go backwards, the trace of a forward- or back-dated commit.
    /// Returns (that commit, the later ancestor).
    pub fn dates_go_backwards(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        const SLACK: i64 = 3600;
        // One walk from `end` with `start`'s parents hidden: linear in the span, whatever its
        // length (an ancestry test per commit would be quadratic on a long-lived flag).
        let mut walk = self.repo.revwalk().ok()?;
        walk.push(self.walked.commits[end].id.into()).ok()?;
        for parent in &self.walked.commits[start].parents {
            let _ = walk.hide((*parent).into());
        }
        for oid in walk.flatten() {
            let Some(index) = self.index_of(Id::from(oid)) else {
                continue;
            };
            let commit = &self.walked.commits[index];
            for parent in commit.parents.iter().filter_map(|p| self.by_id.get(p)) {
                if self.effective[*parent] - commit.time > SLACK {
                    return Some((index, self.latest_source[*parent]));
                }
            }
        }
        None
    }

    pub fn repo(&self) -> &Repository {
        &self.repo
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn commit_count(&self) -> usize {
        self.walked.commits.len()
    }

    pub fn commit(&self, index: usize) -> &CommitInfo {
        &self.walked.commits[index]
    }

    pub fn index_of(&self, id: Id) -> Option<usize> {
        self.by_id.get(&id).copied()
    }

    /// Resolves a student's commit reference (SHA, tag or branch) to an indexed commit.
    pub fn resolve(&self, reference: &str) -> Option<usize> {
        repo::resolve_commit(&self.repo, reference).and_then(|oid| self.index_of(Id::from(oid)))
    }

    pub fn is_merge(&self, index: usize) -> bool {
        self.walked.commits[index].parents.len() > 1
    }

    pub fn is_on_main_line(&self, index: usize) -> bool {
        self.on_main_line[index]
    }

    /// The first-parent commit on the main line that brought `index` into HEAD: itself for a
    /// commit made on the main line, the merge for a pull request's commits; `None` when HEAD
    /// cannot reach it.
    pub fn merged_by(&self, index: usize) -> Option<usize> {
        self.merged_by[index]
    }

    pub fn reachable_from_head(&self, index: usize) -> bool {
        self.merged_by[index].is_some()
    }

    /// A commit whose own changes count for a flag's lifecycle: HEAD reaches it and it is not a
    /// merge (a merge repeats its pull request's changes).
    pub fn counts_for_flags(&self, index: usize) -> bool {
        self.reachable_from_head(index) && !self.is_merge(index)
    }

    /// True when `ancestor` is `descendant` or one of its ancestors.
    pub fn is_ancestor(&self, ancestor: usize, descendant: usize) -> bool {
        let (a, d) = (
            self.walked.commits[ancestor].id,
            self.walked.commits[descendant].id,
        );
        a == d
            || self
                .repo
                .graph_descendant_of(d.into(), a.into())
                .unwrap_or(false)
    }

    /// The first commit reachable from HEAD that added `path` (in topological order).
    pub fn first_added(&self, path: &str) -> Option<usize> {
        self.path_ids
            .get(path)
            .and_then(|id| self.first_added.get(id))
            .copied()
    }

    pub fn changes(&self, index: usize) -> &[Change] {
        &self.walked.changes[index]
    }

    pub fn path(&self, id: u32) -> &str {
        &self.walked.paths[id as usize]
    }

    /// Every path the history ever held.
    pub fn paths(&self) -> &[String] {
        &self.walked.paths
    }

    pub fn key_lines(&self, key: &str) -> &[KeyLines] {
        self.walked.key_lines.get(key).map_or(&[], Vec::as_slice)
    }

    /// A file's bytes and mode at a commit.
    pub fn file_at(&self, index: usize, path: &str) -> Option<(Vec<u8>, u32)> {
        let commit = self
            .repo
            .find_commit(self.walked.commits[index].id.into())
            .ok()?;
        let entry = commit.tree().ok()?.get_path(Path::new(path)).ok()?;
        let blob = entry.to_object(&self.repo).ok()?.into_blob().ok()?;
        Some((blob.content().to_vec(), entry.filemode() as u32))
    }

    /// A blob's text (lossy UTF-8), for rules that read what a commit changed.
    pub fn blob_text(&self, id: Id) -> Option<String> {
        let blob = self.repo.find_blob(id.into()).ok()?;
        Some(String::from_utf8_lossy(blob.content()).into_owned())
    }

    /// Paths of the files under `dir` (e.g. `.github/workflows/`) at a commit.
    pub fn files_under(&self, index: usize, dir: &str) -> Vec<String> {
        let Ok(commit) = self.repo.find_commit(self.walked.commits[index].id.into()) else {
            return Vec::new();
        };
        let Ok(tree) = commit.tree() else {
            return Vec::new();
        };
        let mut paths = Vec::new();
        let _ = tree.walk(git2::TreeWalkMode::PreOrder, |parent, entry| {
            if entry.kind() == Some(ObjectType::Blob) {
                let path = format!("{parent}{}", entry.name().unwrap_or(""));
                if path.starts_with(dir) {
                    paths.push(path);
                }
            }
            git2::TreeWalkResult::Ok
        });
        paths
    }

    pub fn commit_url(&self, id: Id) -> Option<String> {
        self.web.as_ref().map(|w| w.commit_url(&id.to_string()))
    }

    pub fn release_url(&self, name: &str) -> Option<String> {
        self.web.as_ref().map(|w| w.release_url(name))
    }

    pub fn head_index(&self) -> Option<usize> {
        self.index_of(self.head)
    }
}

/// Whether a tag name carries a semantic-version pre-release part: `v1.3.0-rc1`,
/// `2.0.0-beta.2` (a `+build` suffix is not one).
pub fn is_prerelease(name: &str) -> bool {
    let version = name.trim_start_matches(|c: char| !c.is_ascii_digit());
    let core = version.split('+').next().unwrap_or(version);
    let Some((numbers, pre)) = core.split_once('-') else {
        return false;
    };
    let parts: Vec<&str> = numbers.split('.').collect();
    (2..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && !pre.is_empty()
}

/// The commit of every ref (branches, remote-tracking branches, every tag, `refs/pull/*`): a
/// record may name any of them. Notes and stashes are not history a student names.
fn ref_tips(repo: &Repository) -> Vec<Id> {
    let Ok(references) = repo.references() else {
        return Vec::new();
    };
    references
        .flatten()
        .filter(|r| {
            r.name()
                .is_some_and(|n| !n.starts_with("refs/notes/") && n != "refs/stash")
        })
        .filter_map(|r| r.peel_to_commit().ok())
        .map(|commit| Id::from(commit.id()))
        .collect()
}

fn read_release_tags(repo: &Repository, pattern: &str) -> Result<Vec<Release>, git2::Error> {
    let mut releases = Vec::new();
    for name in repo.tag_names(Some(pattern))?.iter().flatten() {
        let Ok(reference) = repo.find_reference(&format!("refs/tags/{name}")) else {
            continue;
        };
        let Ok(commit) = reference.peel_to_commit() else {
            continue;
        };
        let tagger_time = reference
            .peel(ObjectType::Tag)
            .ok()
            .and_then(|o| o.into_tag().ok())
            .and_then(|tag| tag.tagger().map(|t| t.when().seconds()));
        releases.push(Release {
            name: name.to_string(),
            commit: Id::from(commit.id()),
            time: tagger_time.unwrap_or_else(|| commit.committer().when().seconds()),
            annotated: tagger_time.is_some(),
        });
    }
    Ok(releases)
}

/// Reuses the cache when its tips are still in the history, walking only what is new.
fn walk_or_reuse(
    repo: &Repository,
    tips: &[Id],
    keys: &[String],
    options: &HistoryOptions,
) -> Result<(Walked, CacheUse), git2::Error> {
    // The common directory: a linked worktree shares its repository's cache.
    let git_dir = repo.commondir();
    let store = |tips: Vec<Id>, keys: Vec<String>, walked: Walked| {
        if options.write_cache {
            cache::store(git_dir, tips, keys, repo.is_shallow(), walked)
        } else {
            walked
        }
    };
    let repo_path = repo.path();
    let tip_oids: Vec<Oid> = tips.iter().map(|&t| t.into()).collect();
    let cached = if options.use_cache {
        cache::load(git_dir)
    } else {
        None
    };
    let usable =
        |c: &cache::Cached| c.shallow == repo.is_shallow() && still_reachable(repo, &c.tips, tips);
    if let Some(cached) = cached.filter(usable) {
        let mut walked = cached.walked;
        let missing: Vec<String> = keys
            .iter()
            .filter(|k| !cached.keys.contains(k))
            .cloned()
            .collect();
        if cached.tips == tips && missing.is_empty() {
            return Ok((walked, CacheUse::Hit));
        }
        if !missing.is_empty() {
            walk::scan_keys(repo_path, &missing, &mut walked)?;
        }
        let mut all_keys: Vec<String> = cached.keys.into_iter().chain(missing).collect();
        all_keys.sort();
        all_keys.dedup();
        let before = walked.commits.len();
        let known: Vec<Oid> = cached.tips.iter().map(|&t| t.into()).collect();
        // New commits are scanned for every key the cache will claim to hold, not only today's:
        // a key whose artifact is away now must still be complete when the artifact comes back.
        walk::walk(repo_path, &tip_oids, &known, &all_keys, &mut walked)?;
        let new_commits = walked.commits.len() - before;
        let walked = store(tips.to_vec(), all_keys, walked);
        return Ok((walked, CacheUse::Incremental { new_commits }));
    }
    let mut walked = Walked::default();
    walk::walk(repo_path, &tip_oids, &[], keys, &mut walked)?;
    for key in keys {
        walked.key_lines.entry(key.clone()).or_default();
    }
    // `--no-cache` ignores the old cache but still rewrites it for the next build.
    let walked = store(tips.to_vec(), keys.to_vec(), walked);
    Ok((walked, CacheUse::Cold))
}

/// A cache is usable when each tip it was walked from is still an ancestor of a current tip;
/// an amended or rebased history starts over.
fn still_reachable(repo: &Repository, old: &[Id], new: &[Id]) -> bool {
    let new: HashSet<Id> = new.iter().copied().collect();
    old.iter().all(|&o| {
        new.contains(&o)
            || new.iter().any(|&n| {
                repo.graph_descendant_of(n.into(), o.into())
                    .unwrap_or(false)
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documentation_paths() {
        let table: &[(&str, bool)] = &[
            ("library/raw/flags/new_checkout.md", true),
            ("library/data.json", true),
            ("docs/flags.yml", true),
            ("content/posts/launch.md", true),
            ("README.md", true),
            ("CHANGELOG.md", true),
            ("NOTES.markdown", true),
            ("Readme.MD", true),
            ("./README.md", true),
            ("app/templates/checkout.md", false),
            ("src/docs/flags.rs", false),
            ("app/content/x.txt", false),
            ("documentation/x.md", false),
            ("libraryfile.rs", false),
            ("docs.rs", false),
            ("config/flags.yml", false),
            ("README.txt", false),
            ("src/main.rs", false),
        ];
        for (path, expected) in table {
            assert_eq!(is_documentation(path), *expected, "{path}");
        }
    }
}
