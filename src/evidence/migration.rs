//! Expand-contract migrations: `library/raw/migrations/<id>.md`, and the classification of every
//! migration file the repository holds.
//!
//! SQL is judged as it shipped: an `up` file at the first release that contains the commit that
//! added it (at HEAD while no release does). Every `up` file the expand commit added must be
//! additive, named in the record or not, and a release must have shipped the expand alone, tagged
//! before the contract was committed.

use crate::evidence::catalogue::{common, migration as rule};
use std::collections::BTreeMap;

use serde::Serialize;

use super::facts::{Facts, MigrationFacts, ReleaseBetween};
use super::records::{Artifact, Migration, Records};
use super::{CommitRef, Context, Item, Kind, Problem, Verdict};
use crate::evidence::readers::sql::{self, AddedColumns, Safety, Statement};
use crate::history::History;
use crate::time;

const SAME_CHANGE: &str = "a rename and its contract shipped in one change";

/// Why the badge is missing: no record at all.
pub fn missing() -> Problem {
    let dir = Kind::Migration.folder();
    Problem::new(
        rule::MISSING,
        format!("no expand-contract migration yet ({dir}/ is empty)"),
        format!("ship a schema change in two releases and describe it in {dir}/<id>.md"),
    )
}

/// A migration file with each statement classified.
#[derive(Debug, Clone, Serialize)]
pub struct ClassifiedFile {
    pub path: String,
    pub additive: bool,
    pub statements: Vec<Statement>,
}

/// A SQL file's text as the rules judge it, and where it came from.
struct Shipped {
    text: String,
    /// The release it shipped in, when one did.
    release: Option<String>,
    /// HEAD holds different text: the file was edited after it shipped.
    edited_after: bool,
}

/// The SQL of a file as it shipped: at the first release containing the commit that added it,
/// else at HEAD, else at that commit (a file deleted since, e.g. squashed into a baseline), else
/// from the working tree (not committed yet).
fn shipped(records: &Records, h: Option<&History>, path: &str) -> Option<Shipped> {
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    if let Some(h) = h {
        let at_head = h.head_index().and_then(|head| h.file_at(head, path));
        if let Some(added) = h.first_added(path) {
            let release = h.releases.iter().find_map(|r| {
                let tag = h.index_of(r.commit)?;
                h.is_ancestor(added, tag).then_some((r, tag))
            });
            if let Some((bytes, _)) = release.and_then(|(_, tag)| h.file_at(tag, path)) {
                return Some(Shipped {
                    edited_after: at_head.as_ref().is_some_and(|(head, _)| *head != bytes),
                    text: text(bytes),
                    release: release.map(|(r, _)| r.name.clone()),
                });
            }
            if let Some((bytes, _)) = at_head.or_else(|| h.file_at(added, path)) {
                return Some(Shipped {
                    text: text(bytes),
                    release: None,
                    edited_after: false,
                });
            }
        } else if let Some((bytes, _)) = at_head {
            return Some(Shipped {
                text: text(bytes),
                release: None,
                edited_after: false,
            });
        }
    }
    records.named_files.get(path).map(|text| Shipped {
        text: text.clone(),
        release: None,
        edited_after: false,
    })
}

/// The record's fields, each checked for presence.
struct Named {
    expand_up: Option<String>,
    expand_down: Option<String>,
    contract_up: Option<String>,
}

fn named(a: &Artifact<Migration>, problems: &mut Verdict) -> Named {
    let m = &a.data;
    problems.ran(rule::FIELDS);
    let mut require = |value: &Option<String>, half: &str, key: &str| -> Option<String> {
        let found = value.as_deref().map(str::trim).filter(|v| !v.is_empty());
        if found.is_none() {
            problems.push(
                Problem::new(
                    rule::FIELDS,
                    format!("`{half}.{key}` is missing"),
                    format!("name the {half} {key} SQL file, relative to the repository root"),
                )
                .at(&a.path, a.line_of(half).or(Some(1))),
            );
        }
        found.map(str::to_string)
    };
    Named {
        expand_up: require(&m.expand.up, "expand", "up"),
        expand_down: require(&m.expand.down, "expand", "down"),
        contract_up: require(&m.contract.up, "contract", "up"),
    }
}

pub fn check(a: &Artifact<Migration>, records: &Records, cx: Context<'_>) -> Item {
    let m = &a.data;
    let mut problems = Verdict::default();
    let mut notes = Vec::new();
    let title = m.change.clone().unwrap_or_else(|| a.path.clone());
    let mut facts = MigrationFacts {
        change: m.change.clone(),
        ..MigrationFacts::default()
    };
    let mut judged = BTreeMap::new();
    let n = named(a, &mut problems);
    let h = cx.usable_history().ok();

    for down in [&n.expand_down, &m.contract.down].into_iter().flatten() {
        if let Some(s) = shipped(records, h, down.trim()) {
            judged.insert(down.trim().to_string(), s.text);
        }
    }
    if let Some(up) = &n.expand_up {
        if let Some(statements) = judge_expand(a, records, h, up, &mut problems, &mut notes) {
            facts.expand.up = Some(up.clone());
            facts.expand.statements = Some(statements.1);
            judged.insert(up.clone(), statements.0);
        }
    }
    if let Some(up) = &n.contract_up {
        if let Some(s) = read_or_report(a, records, h, "contract", up, &mut problems, &mut notes) {
            let statements = sql::classify(&s.text);
            problems.ran(rule::CONTRACT_ADDITIVE);
            if sql::is_additive(&statements) {
                problems.push(
                    Problem::new(rule::CONTRACT_ADDITIVE, "the contract half holds no non-additive statement, so nothing needed expand-contract", "the contract is where the old column or table is dropped, renamed or tightened")
                        .at(up, None),
                );
            }
            facts.contract.up = Some(up.clone());
            facts.contract.statements = Some(statements);
            judged.insert(up.clone(), s.text);
        }
    }
    facts.expand.down = n.expand_down.clone();
    facts.contract.down = m.contract.down.clone();
    problems.ran(rule::PARAGRAPH);
    if !a.has_paragraph() {
        problems.push(
            Problem::new(
                rule::PARAGRAPH,
                "the write-up has no paragraph on what the overlap window protects",
                "add a paragraph below the front matter",
            )
            .at(&a.path, None),
        );
    }

    match cx.usable_history() {
        Ok(h) => {
            if let (Some(up), Some(down), Some(contract)) =
                (&n.expand_up, &n.expand_down, &n.contract_up)
            {
                check_history(a, h, cx, [up, down, contract], &mut problems, &mut facts);
            }
        }
        Err(problem) => problems.push(problem),
    }
    let mut item = Item::judged(&a.path, title, problems, Facts::Migration(facts));
    item.notes = notes;
    item.judged.files = judged;
    item
}

/// Reads an `up` file as shipped, or reports why it cannot be read; notes an edit after shipping.
fn read_or_report(
    a: &Artifact<Migration>,
    records: &Records,
    h: Option<&History>,
    half: &str,
    path: &str,
    problems: &mut Verdict,
    notes: &mut Vec<String>,
) -> Option<Shipped> {
    problems.ran(rule::FILE);
    let Some(s) = shipped(records, h, path) else {
        problems.push(
            Problem::new(
                rule::FILE,
                match records.refused_paths.get(path) {
                    Some(why) => format!("the {half} up file `{path}` {why}, so it was not read"),
                    None => format!("the {half} up file `{path}` does not exist"),
                },
                "commit the SQL file, or fix the path (relative to the repository root)",
            )
            .at(&a.path, a.line_containing(path)),
        );
        return None;
    };
    if s.edited_after {
        notes.push(format!(
            "`{path}` was edited after it shipped in {}: it is judged as it shipped, and the page shows that text",
            s.release.as_deref().unwrap_or("a release")
        ));
    }
    Some(s)
}

/// Judges the expand half: every `up` file the expand commit added, as shipped, must be
/// additive; an `UPDATE` may only fill columns that commit added. Returns the named file's text
/// and statements.
fn judge_expand(
    a: &Artifact<Migration>,
    records: &Records,
    h: Option<&History>,
    up: &str,
    problems: &mut Verdict,
    notes: &mut Vec<String>,
) -> Option<(String, Vec<Statement>)> {
    let named = read_or_report(a, records, h, "expand", up, problems, notes)?;
    problems.ran(rule::EXPAND_NOT_ADDITIVE);
    let mut files = vec![(up.to_string(), named)];
    if let Some((h, commit)) = h.and_then(|h| Some((h, h.first_added(up)?))) {
        problems.ran(rule::EXPAND_HIDDEN);
        let added: Vec<&str> = h
            .changes(commit)
            .iter()
            .filter(|c| c.old.is_none())
            .map(|c| h.path(c.path))
            .collect();
        for &path in &added {
            if path != up && is_migration_file(path) && !is_down_half(path, &added) {
                if let Some(s) =
                    read_or_report(a, records, Some(h), "expand", path, problems, notes)
                {
                    files.push((path.to_string(), s));
                }
            }
        }
    }
    let mut added = AddedColumns::default();
    for (_, s) in &files {
        added.union_with(&sql::added_columns(&s.text));
    }
    let mut named_statements = Vec::new();
    for (i, (path, s)) in files.iter().enumerate() {
        let statements = sql::classify_with(&s.text, &added);
        for st in statements
            .iter()
            .filter(|st| st.safety == Safety::NeedsExpandContract)
        {
            let problem = if i == 0 {
                Problem::new(
                    rule::EXPAND_NOT_ADDITIVE,
                    format!(
                        "the expand half is not additive: {} ({})",
                        st.reason, st.rule
                    ),
                    "move this statement to the contract half; the expand half may only add",
                )
            } else {
                Problem::new(
                    rule::EXPAND_HIDDEN,
                    format!(
                        "`{path}`, added in the same commit as the expand, is not additive: {} ({})",
                        st.reason, st.rule
                    ),
                    "ship it in a later release, as the contract: everything the expand commit adds ships with the expand",
                )
                .mistake(SAME_CHANGE)
            };
            problems.push(problem.at(path, Some(st.line)));
        }
        if i == 0 {
            named_statements = statements;
        }
    }
    let (_, first) = files.swap_remove(0);
    Some((first.text, named_statements))
}

fn check_history(
    a: &Artifact<Migration>,
    h: &History,
    cx: Context<'_>,
    [expand_up, expand_down, contract_up]: [&String; 3],
    problems: &mut Verdict,
    facts: &mut MigrationFacts,
) {
    problems.ran(rule::UNCOMMITTED);
    let added = |path: &str, problems: &mut Vec<Problem>| {
        let found = h.first_added(path);
        if found.is_none() {
            problems.push(
                Problem::new(
                    rule::UNCOMMITTED,
                    format!("`{path}` was never committed on the history HEAD reaches"),
                    "commit the migration file (and merge it into your main branch)",
                )
                .at(&a.path, a.line_containing(path)),
            );
        }
        found
    };
    let (Some(expand), down, Some(contract)) = (
        added(expand_up, problems),
        added(expand_down, problems),
        added(contract_up, problems),
    ) else {
        return;
    };
    facts.expand.commit = Some(CommitRef::of(h, expand));
    facts.contract.commit = Some(CommitRef::of(h, contract));
    // The commits' dates; the release's is checked once it is found.
    problems.ran(common::FUTURE);
    for (half, commit) in [("expand", expand), ("contract", contract)] {
        if let Some(p) = cx.in_the_future(h.commit(commit).time, &format!("the {half} commit")) {
            problems.push(p.at(&a.path, a.line_of(half)));
        }
    }
    if down.is_some() {
        problems.ran(rule::EXPAND_PAIR);
    }
    problems.ran(rule::SAME_COMMIT);
    if down.is_some_and(|d| d != expand) {
        problems.push(
            Problem::new(
                rule::EXPAND_PAIR,
                "the expand `up` and `down` files were added in different commits",
                "add both halves of a migration in one commit",
            )
            .at(&a.path, a.line_of("expand")),
        );
    }
    if expand == contract {
        problems.push(
            Problem::new(rule::SAME_COMMIT, "the expand and the contract were added in the same commit, so no release ran with only the expand", "ship the expand in one release and the contract in a later one")
                .at(&a.path, a.line_of("contract"))
                .mistake(SAME_CHANGE),
        );
        return;
    }
    problems.ran(rule::SAME_CHANGE);
    problems.ran(rule::ORDER);
    if h.merged_by(expand).is_some() && h.merged_by(expand) == h.merged_by(contract) {
        let merge = CommitRef::of(h, h.merged_by(expand).unwrap_or(expand));
        problems.push(
            Problem::new(rule::SAME_CHANGE, format!("the expand and the contract arrived on the main line in the same merge ({} {})", merge.short, merge.summary), "merge the expand, release it, and only then merge the contract")
                .at(&a.path, a.line_of("contract"))
                .mistake(SAME_CHANGE),
        );
    }
    if !h.is_ancestor(expand, contract) {
        problems.push(
            Problem::new(
                rule::ORDER,
                "the expand commit is not an ancestor of the contract commit",
                "the contract must come after the expand in the history",
            )
            .at(&a.path, a.line_of("contract")),
        );
        return;
    }
    problems.ran(common::DATES_BACKWARDS);
    if let Some((commit, ancestor)) = h.dates_go_backwards(expand, contract) {
        problems.push(dates_backwards(h, commit, ancestor).at(&a.path, a.line_of("contract")));
    }
    check_release_between(a, h, cx, expand, contract, problems, facts);
}

/// The problem of a span whose commit dates go backwards.
pub(super) fn dates_backwards(h: &History, commit: usize, ancestor: usize) -> Problem {
    let (c, later) = (CommitRef::of(h, commit), CommitRef::of(h, ancestor));
    Problem::new(
        common::DATES_BACKWARDS,
        format!(
            "commit {} ({}) is dated {}, more than an hour before its ancestor {} ({}, {}): dates that go backwards show a commit was back- or forward-dated, so the time between the commits cannot be trusted",
            c.short, c.summary, c.when, later.short, later.summary, later.when
        ),
        "commit with the real date (do not set GIT_COMMITTER_DATE or --date)",
    )
}

fn check_release_between(
    a: &Artifact<Migration>,
    h: &History,
    cx: Context<'_>,
    expand: usize,
    contract: usize,
    problems: &mut Verdict,
    facts: &mut MigrationFacts,
) {
    problems.ran(rule::NO_RELEASE);
    let contract_time = h.effective_time(contract);
    let splits = |r: &&crate::history::Release| {
        h.index_of(r.commit)
            .is_some_and(|tag| h.is_ancestor(expand, tag) && !h.is_ancestor(contract, tag))
    };
    let between = h
        .releases
        .iter()
        .filter(splits)
        .find(|r| r.time < contract_time);
    let Some(release) = between else {
        let late = h.releases.iter().find(splits);
        let message = match late {
            Some(r) => format!(
                "`{}` holds the expand without the contract, but it was released ({}) after the contract was committed ({}): a tag added after the fact does not show the halves shipped apart",
                r.name,
                time::format(r.time, 0),
                time::format(contract_time, 0)
            ),
            None => format!(
                "no release tag (matching `{}`, reachable from HEAD, not a pre-release) contains the expand without the contract, so both halves shipped in the same release",
                cx.config.release_tag_pattern
            ),
        };
        problems.push(
            Problem::new(
                rule::NO_RELEASE,
                message,
                "release (tag) the expand before committing the contract",
            )
            .at(&a.path, a.line_of("contract"))
            .mistake(SAME_CHANGE),
        );
        return;
    };
    if let Some(p) = cx.in_the_future(release.time, &format!("release `{}`", release.name)) {
        problems.push(p.at(&a.path, a.line_of("contract")));
    }
    let overlap_seconds = contract_time - release.time;
    facts.release_between = Some(ReleaseBetween {
        name: release.name.clone(),
        commit: release.commit.to_string(),
        time: release.time,
        date: time::date(release.time),
        url: h.release_url(&release.name),
    });
    facts.overlap_days = Some((overlap_seconds as f64 / 86_400.0 * 10.0).round() / 10.0);
}

/// Classifies every migration file at HEAD: `.sql` files under a folder named `migrations`,
/// `migrate` or `db` (the generator shows students which of their changes needed the pattern).
pub fn classify_all(h: &History) -> Vec<ClassifiedFile> {
    let Some(head) = h.head_index() else {
        return Vec::new();
    };
    let mut files: Vec<ClassifiedFile> = h
        .paths()
        .iter()
        .filter(|p| is_migration_file(p))
        .filter_map(|p| {
            let (bytes, _) = h.file_at(head, p)?;
            let statements = sql::classify(&String::from_utf8_lossy(&bytes));
            Some(ClassifiedFile {
                path: p.clone(),
                additive: sql::is_additive(&statements),
                statements,
            })
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

fn is_migration_file(path: &str) -> bool {
    path.ends_with(".sql")
        && !path.starts_with("library/")
        && path
            .split('/')
            .rev()
            .skip(1)
            .any(|dir| matches!(dir, "migrations" | "migrate" | "db"))
}

/// A migration's `down` half: `0007_x.down.sql` and `0007/down.sql` always; `0007_x_down.sql`
/// or `0007_x-down.sql` only beside its `_up`/`-up` twin in the same commit, since a tool such as
/// Flyway runs `V8__cleanup_down.sql` forward.
fn is_down_half(path: &str, added: &[&str]) -> bool {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    let lower = name.to_ascii_lowercase();
    let Some(stem) = lower.strip_suffix(".sql") else {
        return false;
    };
    if stem == "down" || stem.ends_with(".down") {
        return true;
    }
    ["_down", "-down"].iter().any(|suffix| {
        stem.strip_suffix(suffix).is_some_and(|base| {
            let twin = format!("{base}{}up.sql", &suffix[..1]);
            added.iter().any(|a| {
                let (d, n) = a.rsplit_once('/').unwrap_or(("", a));
                d == dir && n.eq_ignore_ascii_case(&twin)
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_files_are_told_apart_from_up_files() {
        let added = [
            "db/migrations/0007_add_up.sql",
            "db/migrations/0007_add_down.sql",
            "migrations/20261001-add-up.sql",
            "migrations/20261001-add-down.sql",
        ];
        for down in [
            "db/migrations/0007_add.down.sql",
            "db/migrations/0007_add_down.sql",
            "db/migrations/0007/down.sql",
            "migrations/20261001-add-down.sql",
        ] {
            assert!(is_down_half(down, &added), "{down}");
        }
        for up in [
            "db/migrations/0007_add.up.sql",
            "db/migrations/0007/up.sql",
            "db/migrations/0008_slowdown_index.up.sql",
            "db/migrations/0002b_drop.sql",
            // Flyway runs this forward: no `_up` twin.
            "db/migration/V8__cleanup_down.sql",
        ] {
            assert!(!is_down_half(up, &added), "{up}");
        }
    }
}
