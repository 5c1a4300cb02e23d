//! Helpers for tests that judge badges: the demo repository, its evidence, and assertions that
//! print the whole badge (state, reasons, each item's problems and notes) when they fail.

use std::path::Path;

use clinic::evidence::{Badge, Evidence, Problem, State};
use serde_json::Value;
use tempfile::TempDir;

use super::git::{temp_dir, RepoBuilder};

pub const BADGES: [&str; 4] = ["rehearsal", "migration", "smoke", "flag"];

/// The demo repository in `<tmp>/repo`.
pub fn demo() -> (TempDir, RepoBuilder) {
    let tmp = temp_dir();
    let repo = RepoBuilder::demo(&tmp.path().join("repo"));
    (tmp, repo)
}

/// `clinic::check` without the history cache.
pub fn evidence(root: &Path) -> Evidence {
    let (evidence, _diagnostics) = clinic::check(root, true)
        .unwrap_or_else(|e| panic!("clinic::check {}: {e}", root.display()));
    evidence
}

pub fn facts_json(item: &clinic::evidence::Item) -> Value {
    serde_json::to_value(&item.facts).expect("facts serialise")
}

pub fn badge<'a>(evidence: &'a Evidence, name: &str) -> &'a Badge {
    evidence
        .badges
        .iter()
        .find(|(kind, _)| kind.key() == name)
        .map(|(_, b)| b)
        .unwrap_or_else(|| panic!("no badge {name}"))
}

pub fn describe(badge: &Badge) -> String {
    let problems: Vec<String> = badge
        .items
        .iter()
        .flat_map(|i| {
            i.problems
                .iter()
                .map(move |p| format!("  {} [{}] {}", i.artifact, p.rule, p.sentence()))
        })
        .collect();
    let notes: Vec<String> = badge
        .items
        .iter()
        .flat_map(|i| {
            i.notes
                .iter()
                .map(move |n| format!("  {}: {n}", i.artifact))
        })
        .collect();
    format!(
        "state {:?}\nreasons:\n  {}\nitem problems:\n{}\nnotes:\n{}",
        badge.state,
        badge.reasons.join("\n  "),
        problems.join("\n"),
        notes.join("\n")
    )
}

#[track_caller]
pub fn expect_state<'a>(evidence: &'a Evidence, name: &str, state: State) -> &'a Badge {
    let b = badge(evidence, name);
    assert_eq!(b.state, state, "the {name} badge:\n{}", describe(b));
    b
}

/// The first problem with `rule` in any of the badge's artifacts.
#[track_caller]
pub fn expect_problem<'a>(badge: &'a Badge, rule: &str) -> &'a Problem {
    badge
        .items
        .iter()
        .flat_map(|i| i.problems.iter())
        .find(|p| p.rule == rule)
        .unwrap_or_else(|| panic!("no `{rule}` problem:\n{}", describe(badge)))
}

/// Every problem with `rule`.
pub fn problems<'a>(badge: &'a Badge, rule: &str) -> Vec<&'a Problem> {
    badge
        .items
        .iter()
        .flat_map(|i| i.problems.iter())
        .filter(|p| p.rule == rule)
        .collect()
}

/// A problem with `rule` whose message contains `needle`.
#[track_caller]
pub fn expect_problem_with<'a>(badge: &'a Badge, rule: &str, needle: &str) -> &'a Problem {
    problems(badge, rule)
        .into_iter()
        .find(|p| p.message.contains(needle))
        .unwrap_or_else(|| {
            panic!(
                "no `{rule}` problem mentioning {needle:?}:\n{}",
                describe(badge)
            )
        })
}

/// The first reason containing every one of `needles`.
#[track_caller]
pub fn expect_reason<'a>(badge: &'a Badge, needles: &[&str]) -> &'a str {
    badge
        .reasons
        .iter()
        .find(|r| needles.iter().all(|n| r.contains(n)))
        .unwrap_or_else(|| panic!("no reason containing {needles:?}:\n{}", describe(badge)))
}

/// Every badge but `broken` verified: the trick did not leak.
#[track_caller]
pub fn expect_others_verified(evidence: &Evidence, broken: &str) {
    for name in BADGES.iter().filter(|n| **n != broken) {
        expect_state(evidence, name, State::Verified);
    }
}

#[track_caller]
pub fn expect_all_verified(evidence: &Evidence) {
    for name in BADGES {
        let b = expect_state(evidence, name, State::Verified);
        assert!(b.reasons.is_empty(), "{name}: {:?}", b.reasons);
    }
}
