//! Expand-contract migrations: `library/raw/migrations/<id>.md`, and the classification of every
//! migration file the repository holds.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::records::{self, Artifact};
use super::{history_problem, Badge, CommitRef, Item, Problem};
use crate::evidence::readers::sql::{self, Safety, Statement};
use crate::history::{History, RepoError};
use crate::load::config::Config;
use crate::time;

pub const DIR: &str = "library/raw/migrations";
const KNOWN: &[&str] = &["change", "expand", "contract"];
const SAME_CHANGE: &str = "a rename and its contract shipped in one change";

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Migration {
    pub change: Option<String>,
    pub expand: Half,
    pub contract: Half,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Half {
    pub up: Option<String>,
    pub down: Option<String>,
}

/// A migration file with each statement classified.
#[derive(Debug, Clone, Serialize)]
pub struct ClassifiedFile {
    pub path: String,
    pub additive: bool,
    pub statements: Vec<Statement>,
}

pub fn badge(
    root: &Path,
    config: &Config,
    history: Result<&History, &RepoError>,
    warnings: &mut Vec<String>,
) -> Badge {
    let items = records::check_all::<Migration>(root, DIR, KNOWN, warnings, |artifact| {
        check(root, artifact, config, history)
    });
    let missing = Problem::new(
        "migration.missing",
        format!("no expand-contract migration yet ({DIR}/ is empty)"),
        format!("ship a schema change in two releases and describe it in {DIR}/<id>.md"),
    );
    Badge::from_items(items, missing, Vec::new())
}

/// The SQL of a migration file: at HEAD when committed, else from the working tree.
fn read_sql(root: &Path, history: Option<&History>, path: &str) -> Option<String> {
    let committed = history.and_then(|h| h.head_index().and_then(|head| h.file_at(head, path)));
    match committed {
        Some((bytes, _)) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        None => records::read_repo_file(root, path),
    }
}

fn check(
    root: &Path,
    a: &Artifact<Migration>,
    config: &Config,
    history: Result<&History, &RepoError>,
) -> Item {
    let m = &a.data;
    let mut problems = Vec::new();
    let title = m.change.clone().unwrap_or_else(|| a.path.clone());
    let mut facts = json!({"change": m.change});
    let require = |value: &Option<String>,
                   half: &str,
                   key: &str,
                   problems: &mut Vec<Problem>|
     -> Option<String> {
        match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => Some(v.to_string()),
            None => {
                problems.push(
                    Problem::new(
                        "migration.fields",
                        format!("`{half}.{key}` is missing"),
                        format!("name the {half} {key} SQL file, relative to the repository root"),
                    )
                    .at(&a.path, a.line_of(half).or(Some(1))),
                );
                None
            }
        }
    };
    let expand_up = require(&m.expand.up, "expand", "up", &mut problems);
    let expand_down = require(&m.expand.down, "expand", "down", &mut problems);
    let contract_up = require(&m.contract.up, "contract", "up", &mut problems);

    // What the SQL does.
    let h = history.ok();
    for (half, path, must_be_additive) in [
        ("expand", &expand_up, true),
        ("contract", &contract_up, false),
    ] {
        let Some(path) = path else { continue };
        let Some(text) = read_sql(root, h, path) else {
            problems.push(
                Problem::new(
                    "migration.file",
                    format!("the {half} up file `{path}` does not exist"),
                    "commit the SQL file, or fix the path",
                )
                .at(&a.path, a.line_containing(path)),
            );
            continue;
        };
        let statements = sql::classify(&text);
        if must_be_additive {
            for s in statements
                .iter()
                .filter(|s| s.safety == Safety::NeedsExpandContract)
            {
                problems.push(
                    Problem::new(
                        "migration.expand-not-additive",
                        format!("the expand half is not additive: {} ({})", s.reason, s.rule),
                        "move this statement to the contract half; the expand half may only add",
                    )
                    .at(path, Some(s.line)),
                );
            }
        } else if sql::is_additive(&statements) {
            problems.push(
                Problem::new("migration.contract-additive", "the contract half holds no non-additive statement, so nothing needed expand-contract", "the contract is where the old column or table is dropped, renamed or tightened")
                    .at(path, None),
            );
        }
        facts[half] = json!({"up": path, "statements": statements});
    }
    facts["expand"]["down"] = json!(expand_down);
    facts["contract"]["down"] = json!(m.contract.down);
    if !a.has_paragraph() {
        problems.push(
            Problem::new(
                "migration.paragraph",
                "the write-up has no paragraph on what the overlap window protects",
                "add a paragraph below the front matter",
            )
            .at(&a.path, None),
        );
    }

    match history {
        Ok(h) if history_problem(history).is_none() => {
            if let (Some(up), Some(down), Some(contract)) = (&expand_up, &expand_down, &contract_up)
            {
                check_history(
                    a,
                    h,
                    config,
                    [up, down, contract],
                    &mut problems,
                    &mut facts,
                );
            }
        }
        _ => problems.extend(history_problem(history)),
    }
    Item::new(&a.path, title, problems, facts)
}

fn check_history(
    a: &Artifact<Migration>,
    h: &History,
    config: &Config,
    [expand_up, expand_down, contract_up]: [&String; 3],
    problems: &mut Vec<Problem>,
    facts: &mut serde_json::Value,
) {
    let added = |path: &str, problems: &mut Vec<Problem>| {
        let found = h.first_added(path).filter(|&i| h.reachable_from_head(i));
        if found.is_none() {
            problems.push(
                Problem::new(
                    "migration.uncommitted",
                    format!("`{path}` was never committed"),
                    "commit the migration file",
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
    facts["expand"]["commit"] = json!(CommitRef::of(h, expand));
    facts["contract"]["commit"] = json!(CommitRef::of(h, contract));
    if down.is_some_and(|d| d != expand) {
        problems.push(
            Problem::new(
                "migration.expand-pair",
                "the expand `up` and `down` files were added in different commits",
                "add both halves of a migration in one commit",
            )
            .at(&a.path, a.line_of("expand")),
        );
    }
    if expand == contract {
        problems.push(
            Problem::new("migration.same-commit", "the expand and the contract were added in the same commit, so no release ran with only the expand", "ship the expand in one release and the contract in a later one")
                .at(&a.path, a.line_of("contract"))
                .mistake(SAME_CHANGE),
        );
        return;
    }
    if h.merged_by(expand).is_some() && h.merged_by(expand) == h.merged_by(contract) {
        let merge = CommitRef::of(h, h.merged_by(expand).unwrap_or(expand));
        problems.push(
            Problem::new("migration.same-change", format!("the expand and the contract arrived on the main line in the same merge ({} {})", merge.short, merge.summary), "merge the expand, release it, and only then merge the contract")
                .at(&a.path, a.line_of("contract"))
                .mistake(SAME_CHANGE),
        );
    }
    if !h.is_ancestor(expand, contract) {
        problems.push(
            Problem::new(
                "migration.order",
                "the expand commit is not an ancestor of the contract commit",
                "the contract must come after the expand in the history",
            )
            .at(&a.path, a.line_of("contract")),
        );
        return;
    }
    let between = h.releases.iter().find(|r| {
        h.index_of(r.commit)
            .is_some_and(|tag| h.is_ancestor(expand, tag) && !h.is_ancestor(contract, tag))
    });
    match between {
        None => problems.push(
            Problem::new(
                "migration.no-release",
                format!("no release tag (pattern `{}`) contains the expand without the contract, so both halves shipped in the same release", config.release_tag_pattern),
                "tag a release after the expand commit and before the contract commit",
            )
            .at(&a.path, a.line_of("contract"))
            .mistake(SAME_CHANGE),
        ),
        Some(release) => {
            let overlap_seconds = h.commit(contract).time - release.time;
            facts["release_between"] = json!({"name": release.name, "commit": release.commit.to_string(), "time": release.time, "date": time::date(release.time), "url": h.release_url(&release.name)});
            facts["overlap_days"] = json!((overlap_seconds as f64 / 86_400.0 * 10.0).round() / 10.0);
        }
    }
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
