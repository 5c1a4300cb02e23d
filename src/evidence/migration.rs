//! Expand-contract migrations: `library/raw/migrations/<id>.md`, and the classification of every
//! migration file the repository holds.

use serde::Serialize;

use super::facts::{Facts, MigrationFacts, ReleaseBetween};
use super::records::{Artifact, Migration, Records};
use super::{CommitRef, Context, Item, Kind, Problem};
use crate::evidence::readers::sql::{self, Safety, Statement};
use crate::history::History;
use crate::load::config::Config;
use crate::time;

const SAME_CHANGE: &str = "a rename and its contract shipped in one change";

/// Why the badge is missing: no record at all.
pub fn missing() -> Problem {
    let dir = Kind::Migration.folder();
    Problem::new(
        "migration.missing",
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

/// The SQL of a migration file: at HEAD when committed, else from the working tree.
fn read_sql(records: &Records, history: Option<&History>, path: &str) -> Option<String> {
    let committed = history.and_then(|h| h.head_index().and_then(|head| h.file_at(head, path)));
    match committed {
        Some((bytes, _)) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        None => records.named_files.get(path).cloned(),
    }
}

pub fn check(a: &Artifact<Migration>, records: &Records, cx: Context<'_>) -> Item {
    let (m, config, history) = (&a.data, cx.config, cx.history);
    let mut problems = Vec::new();
    let title = m.change.clone().unwrap_or_else(|| a.path.clone());
    let mut facts = MigrationFacts {
        change: m.change.clone(),
        ..MigrationFacts::default()
    };
    let mut judged = std::collections::BTreeMap::new();
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
    for down in [&expand_down, &m.contract.down].into_iter().flatten() {
        if let Some(text) = read_sql(records, h, down.trim()) {
            judged.insert(down.trim().to_string(), text);
        }
    }
    for (half, path, must_be_additive) in [
        ("expand", &expand_up, true),
        ("contract", &contract_up, false),
    ] {
        let Some(path) = path else { continue };
        let Some(text) = read_sql(records, h, path) else {
            problems.push(
                Problem::new(
                    "migration.file",
                    match records.refused_paths.get(path.as_str()) {
                        Some(why) => {
                            format!("the {half} up file `{path}` {why}, so it was not read")
                        }
                        None => format!("the {half} up file `{path}` does not exist"),
                    },
                    "commit the SQL file, or fix the path (relative to the repository root)",
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
        let half = if half == "expand" {
            &mut facts.expand
        } else {
            &mut facts.contract
        };
        half.up = Some(path.clone());
        half.statements = Some(statements);
        judged.insert(path.clone(), text);
    }
    facts.expand.down = expand_down.clone();
    facts.contract.down = m.contract.down.clone();
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

    match cx.usable_history() {
        Ok(h) => {
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
        Err(problem) => problems.push(problem),
    }
    let mut item = Item::new(&a.path, title, problems, Facts::Migration(facts));
    item.judged.files = judged;
    item
}

fn check_history(
    a: &Artifact<Migration>,
    h: &History,
    config: &Config,
    [expand_up, expand_down, contract_up]: [&String; 3],
    problems: &mut Vec<Problem>,
    facts: &mut MigrationFacts,
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
    facts.expand.commit = Some(CommitRef::of(h, expand));
    facts.contract.commit = Some(CommitRef::of(h, contract));
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
            facts.release_between = Some(ReleaseBetween {
                name: release.name.clone(),
                commit: release.commit.to_string(),
                time: release.time,
                date: time::date(release.time),
                url: h.release_url(&release.name),
            });
            facts.overlap_days = Some((overlap_seconds as f64 / 86_400.0 * 10.0).round() / 10.0);
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
