//! A cohort over several machines: `clinic cohort ROSTER --shard K/N --out part-K` builds one
//! slice of the roster (its students' folders and a `shard.json` with their rows), and
//! `clinic cohort merge part-* --out site` joins the slices into the dashboard a single run
//! would have written, byte for byte.
//!
//! Decisions:
//! - **Students are dealt round-robin** (the roster's student number modulo N): a class listed
//!   by section or by surname spreads its slow repositories over every shard.
//! - **A part carries the roster's text**, its path and folder as the shard saw them, the base
//!   URL and the clinic version. The merge re-reads the roster from that text, so it needs no
//!   checkout, and refuses parts that disagree on any of these (a roster edited between two
//!   shards, a different clinic), or that leave a shard out or repeat one: a dashboard missing a
//!   tenth of the class must not look complete.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::dashboard::{BadgeCell, LastCommit, Row, Trust};

/// The file every part holds at its root.
pub(crate) const SHARD_FILE: &str = "shard.json";
const FORMAT: u32 = 1;
/// A part's `shard.json` larger than this is refused (a row is a few KiB).
const MAX_SHARD_FILE: u64 = 256 * 1024 * 1024;

/// Slice `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let bad = || format!("{text:?} is not K/N with 1 <= K <= N <= 1000, e.g. 2/4");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count): (usize, usize) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || index > count || count > 1000 {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    /// Whether the student at `position` (0-based, in roster order) is in this slice.
    pub(crate) fn holds(&self, position: usize) -> bool {
        position % self.count == self.index - 1
    }
}

/// What a part records besides its students' folders.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ShardFile {
    format: u32,
    generator: String,
    pub shard: usize,
    pub of: usize,
    pub roster_file: PathBuf,
    pub roster_dir: PathBuf,
    pub roster_text: String,
    pub base_url: Option<String>,
    pub rows: Vec<ShardRow>,
}

/// One student's row, with its place in the roster.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ShardRow {
    pub position: usize,
    name: String,
    slug: String,
    line: usize,
    source_kind: String,
    source: String,
    badges: Option<Vec<ShardBadge>>,
    error: Option<String>,
    last_commit: Option<LastCommit>,
    releases: Option<usize>,
    portfolio: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ShardBadge {
    key: String,
    state: crate::evidence::State,
    reasons: Vec<String>,
    artifacts: Vec<String>,
}

impl ShardFile {
    pub(crate) fn new(
        shard: Shard,
        roster: (&Path, &Path, String),
        base_url: Option<String>,
        rows: Vec<ShardRow>,
    ) -> ShardFile {
        ShardFile {
            format: FORMAT,
            generator: generator(),
            shard: shard.index,
            of: shard.count,
            roster_file: roster.0.to_path_buf(),
            roster_dir: roster.1.to_path_buf(),
            roster_text: roster.2,
            base_url,
            rows,
        }
    }

    pub(crate) fn to_json(&self) -> String {
        let mut text = serde_json::to_string(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Reads `<part>/shard.json`; why not, for a message naming the part.
    pub(crate) fn read(part: &Path) -> Result<ShardFile, String> {
        let path = part.join(SHARD_FILE);
        let bytes = crate::load::frontmatter::read_regular_file(&path, MAX_SHARD_FILE)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let file: ShardFile = serde_json::from_slice(&bytes).map_err(|e| {
            format!(
                "{} is not a shard written by clinic cohort --shard ({e})",
                path.display()
            )
        })?;
        if file.of == 0 || file.shard == 0 || file.shard > file.of {
            return Err(format!(
                "{} names shard {}/{}, which clinic never writes",
                path.display(),
                file.shard,
                file.of
            ));
        }
        if file.format != FORMAT || file.generator != generator() {
            return Err(format!(
                "{} was written by {} (format {}); this is {}: build every shard with the same clinic",
                path.display(),
                file.generator,
                file.format,
                generator()
            ));
        }
        Ok(file)
    }
}

fn generator() -> String {
    format!("clinic {}", env!("CARGO_PKG_VERSION"))
}

impl ShardRow {
    pub(crate) fn new(position: usize, row: &Row) -> ShardRow {
        ShardRow {
            position,
            name: row.name.clone(),
            slug: row.slug.clone(),
            line: row.line,
            source_kind: row.source_kind.to_string(),
            source: row.source.clone(),
            badges: row.badges.as_ref().map(|cells| {
                cells
                    .iter()
                    .map(|c| ShardBadge {
                        key: c.key.to_string(),
                        state: c.state,
                        reasons: c.reasons.clone(),
                        artifacts: c.artifacts.clone(),
                    })
                    .collect()
            }),
            error: row.error.clone(),
            last_commit: row.last_commit.clone(),
            releases: row.releases,
            portfolio: row.portfolio.clone(),
        }
    }

    /// Whether the row is the roster's student at its position, as the roster says it: a part
    /// cannot rename, move or re-source a student.
    pub(crate) fn matches(&self, student: &super::roster::Student) -> bool {
        let (kind, source) = student.source.describe();
        self.name == student.name
            && self.slug == student.slug
            && self.line == student.line
            && self.source_kind == kind
            && self.source == source
    }

    /// The row again; `None` when the part was edited into something clinic never writes.
    pub(crate) fn into_row(self) -> Option<Row> {
        let source_kind = ["repo", "evidence", "invalid"]
            .into_iter()
            .find(|k| *k == self.source_kind)?;
        let badges = match self.badges {
            None => None,
            Some(cells) => Some(
                cells
                    .into_iter()
                    .map(|c| {
                        let key = super::dashboard::COLUMNS
                            .iter()
                            .map(|(key, _)| *key)
                            .find(|k| *k == c.key)?;
                        Some(BadgeCell {
                            key,
                            state: c.state,
                            reasons: c.reasons,
                            artifacts: c.artifacts,
                        })
                    })
                    .collect::<Option<Vec<_>>>()?,
            ),
        };
        Some(Row {
            name: self.name,
            slug: self.slug,
            line: self.line,
            source_kind,
            trust: Trust::of_source(source_kind),
            source: self.source,
            badges,
            error: self.error,
            last_commit: self.last_commit,
            releases: self.releases,
            portfolio: self.portfolio,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_deal_round_robin() {
        let shard: Shard = "2/4".parse().unwrap();
        assert_eq!(shard, Shard { index: 2, count: 4 });
        let held: Vec<usize> = (0..10).filter(|&p| shard.holds(p)).collect();
        assert_eq!(held, vec![1, 5, 9]);
        for bad in ["0/4", "5/4", "4", "a/b", "1/0", "1/1001", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        // Every student is in exactly one of N shards.
        for position in 0..50 {
            let owners = (1..=7)
                .filter(|&k| Shard { index: k, count: 7 }.holds(position))
                .count();
            assert_eq!(owners, 1);
        }
    }
}
