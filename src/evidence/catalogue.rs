//! The catalogue of rules: every rule a judge evaluates, with its stable id (a failure's `rule`
//! in `evidence.json`) and what holds when it passes, in one line a student reads.
//!
//! It is the only list. A failure is made from a [`Rule`] ([`super::Problem::new`] takes one),
//! and a judge records each rule it evaluated in its [`Verdict`], so a record's "checks that
//! passed" are the rules its judge evaluated that no failure names: a rule the judge skipped
//! (because an earlier one failed, or the history could not be read) is never listed as passed.

use serde::Serialize;

use super::Problem;

/// One rule of the artifact contract, as a judge evaluates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Stable: tools match on it (`rehearsal.rollforward`).
    #[serde(rename = "rule")]
    pub id: &'static str,
    /// What is proven when it holds, as one sentence without its full stop.
    pub holds: &'static str,
}

/// A rule is shown by its id, as in `evidence.json`.
impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id)
    }
}

/// Rules as their ids, for `evidence.json`.
pub(crate) fn serialize_ids<S: serde::Serializer>(
    rules: &[Rule],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(rules.iter().map(|r| r.id))
}

/// Readers' tests compare a finding's rule with its id.
impl PartialEq<&str> for Rule {
    fn eq(&self, other: &&str) -> bool {
        self.id == *other
    }
}

/// Declares a group's rules and its `ALL` (in the order pages list them) from one list, so the
/// constants and the list cannot drift apart.
macro_rules! rules {
    ($($name:ident = $id:literal, $holds:literal;)*) => {
        $(pub const $name: Rule = Rule { id: $id, holds: $holds };)*
        /// Every rule of the group, in the order pages list them.
        pub const ALL: &[Rule] = &[$($name),*];
    };
}

/// Rules every kind shares (dates) and the reasons nothing could be judged (the history, an
/// unreadable record). The latter are failures only: no judge records them as evaluated.
pub mod common {
    use super::Rule;
    rules! {
        FUTURE = "evidence.future", "no commit, tag or time it relies on is dated in the future";
        DATES_BACKWARDS = "evidence.dates-backwards", "no commit of the span is dated backwards";
        HISTORY_UNAVAILABLE = "history.unavailable", "the git history could be read";
        HISTORY_SHALLOW = "history.shallow", "the git history is complete (not a shallow clone)";
        HISTORY_INCOMPLETE = "history.incomplete", "every file version that names the flag was small enough to read line by line";
        UNREADABLE = "artifact.unreadable", "the record can be read";
        ENCODING = "artifact.encoding", "the record is UTF-8";
        FRONT_MATTER = "artifact.front-matter", "the record's front matter is valid YAML";
    }
}

/// Rollback rehearsals (`src/evidence/rehearsal.rs`).
pub mod rehearsal {
    use super::Rule;
    rules! {
        MISSING = "rehearsal.missing", "a rehearsal record exists";
        TRIGGER = "rehearsal.trigger", "`trigger` names the signal acted on";
        COMMAND = "rehearsal.command", "`restore_command` says how service was restored";
        MIGRATION_DOWN = "rehearsal.migration-down", "the restore command is not a schema migration's down step";
        TIME = "rehearsal.time", "every timeline entry has a valid time";
        TIMELINE = "rehearsal.timeline", "the timeline has a `deployed` and a `restored` entry";
        ORDER = "rehearsal.order", "the timeline never goes backwards";
        TIMER = "rehearsal.timer", "the timer (restored minus deployed) is positive and under 24 hours";
        RELEASE = "rehearsal.release", "the bad and the restored release resolve to commits";
        ROLLFORWARD = "rehearsal.rollforward", "the restored release is an older ancestor of the bad release (a rollback, not a roll-forward)";
        DEPLOYED_BEFORE_COMMIT = "rehearsal.deployed-before-commit", "the `deployed` time is not before the bad release's commit";
        UNCOMMITTED = "rehearsal.uncommitted", "the write-up is committed";
        PREDATES = "rehearsal.predates", "the write-up was first committed after the `restored` time";
    }
}

/// Expand-contract migrations (`src/evidence/migration.rs`).
pub mod migration {
    use super::Rule;
    rules! {
        MISSING = "migration.missing", "a migration record exists";
        FIELDS = "migration.fields", "the record names `expand.up`, `expand.down` and `contract.up`";
        FILE = "migration.file", "the named `up` files exist";
        EXPAND_NOT_ADDITIVE = "migration.expand-not-additive", "every statement of the expand `up` file is additive";
        EXPAND_HIDDEN = "migration.expand-hidden", "every other `up` file the expand commit added is additive";
        CONTRACT_ADDITIVE = "migration.contract-additive", "the contract `up` file holds the non-additive part";
        PARAGRAPH = "migration.paragraph", "the write-up has a paragraph on the overlap window";
        UNCOMMITTED = "migration.uncommitted", "the migration files are committed on the history HEAD reaches";
        EXPAND_PAIR = "migration.expand-pair", "the expand `up` and `down` files were added in one commit";
        SAME_COMMIT = "migration.same-commit", "the expand and the contract were added in different commits";
        SAME_CHANGE = "migration.same-change", "the expand and the contract arrived in different merges";
        ORDER = "migration.order", "the expand commit is an ancestor of the contract commit";
        NO_RELEASE = "migration.no-release", "a release shipped the expand without the contract, before the contract was committed";
    }
}

/// The smoke gate (`src/evidence/smoke/`, and the workflow reader for the wiring).
pub mod smoke {
    use super::Rule;
    rules! {
        MISSING = "smoke.missing", "a smoke script or a drill record exists";
        NO_DRILL = "smoke.no-drill", "a drill record exists";
        SCRIPT = "smoke.script", "`scripts/smoke.sh` is committed";
        EXECUTABLE = "smoke.executable", "`scripts/smoke.sh` is committed executable";
        UNSEEN = "smoke.unseen", "clinic could read everything the gate runs (no `eval`, sourced file or remote workflow in the way)";
        THREE_CHECKS = "smoke.three-checks", "at least three called `check_` functions each make an HTTP request";
        CANNOT_FAIL = "smoke.cannot-fail", "every request of a called check fails on a bad HTTP status";
        HEALTH_ONLY = "smoke.health-only", "a check probes a business endpoint, not only health";
        FAILURE_IGNORED = "smoke.failure-ignored", "a failed check fails the script";
        WORKFLOW_UNREADABLE = "smoke.workflow-unreadable", "every workflow file can be read";
        NOT_WIRED = "smoke.not-wired", "a workflow step runs the script, and its failure fails the step";
        GATE_SKIPPABLE = "smoke.gate-skippable", "the smoke step cannot be skipped on a deploy";
        GATE_CANCELLED = "smoke.gate-cancelled", "nothing lets a failed smoke step pass (`continue-on-error`)";
        NO_PROMOTION = "smoke.no-promotion", "a job or step promotes after the smoke step";
        UNGATED = "smoke.ungated", "every promoting job runs after the smoke step or needs its job";
        GATE_BYPASSED = "smoke.gate-bypassed", "no promoting job can run when the smoke job failed";
        DRILL_FIELDS = "smoke.drill-fields", "`ci_run` and `observed` are written down";
        DRILL_COMMIT = "smoke.drill-commit", "`break_commit` and `fix_commit` are commits HEAD reaches";
        DRILL_CI_RUN = "smoke.drill-ci-run", "`ci_run` is a CI run of this repository";
        DRILL_DOCS_ONLY = "smoke.drill-docs-only", "the break commit changes code, not only documentation";
        DRILL_OBSERVED = "smoke.drill-observed", "`observed` names a check the script had at the break commit";
        DRILL_ORDER = "smoke.drill-order", "the fix commit descends from the break commit";
        DRILL_FIX = "smoke.drill-fix", "the fix commit changes a file the break commit changed";
    }

    /// The wiring rules, which the workflow reader judges together (see `smoke::gate`).
    pub const WIRING: &[Rule] = &[
        WORKFLOW_UNREADABLE,
        NOT_WIRED,
        GATE_SKIPPABLE,
        GATE_CANCELLED,
        NO_PROMOTION,
        UNGATED,
        GATE_BYPASSED,
    ];
}

/// Feature-flag lifecycles (`src/evidence/flag.rs`).
pub mod flag {
    use super::Rule;
    rules! {
        MISSING = "flag.missing", "a flag record exists";
        KEY = "flag.key", "`flag` names a key that can be searched for";
        KIND = "flag.kind", "`kind` is release, ops, experiment or permission";
        NEVER_INTRODUCED = "flag.never-introduced", "a commit introduced the key in code or config";
        INTRODUCED_ON = "flag.introduced-on", "the introducing commit did not set the flag on";
        NO_OFF_VALUE = "flag.no-off-value", "the introducing commit set the flag off";
        NEVER_FLIPPED = "flag.never-flipped", "a later commit flipped the flag from off to on";
        NOT_RETIRED = "flag.not-retired", "no reference to the key is left at HEAD";
        ORDER = "flag.order", "the flag was introduced, flipped and retired in that order";
        SPLIT_REMOVAL = "flag.split-removal", "the references were removed in one change";
        BRANCHES = "flag.branches", "the retiring change deleted both the on value and the toggle point";
        RETIRED_LATE = "flag.retired-late", "introduction to retirement took at most two sprints";
        STALE = "flag.stale", "the flag is not a stale release flag";
    }
}

/// Every rule, for looking one up by id and for tests.
pub fn all() -> impl Iterator<Item = Rule> {
    [
        common::ALL,
        rehearsal::ALL,
        migration::ALL,
        smoke::ALL,
        flag::ALL,
    ]
    .into_iter()
    .flatten()
    .copied()
}

/// The rules a kind's checklist lists: its group, then the shared date rules its judge uses;
/// not the badge-level ones (no record at all, no drill), which no record's judge evaluates.
/// `tests/passed_checks.rs` checks that a verified demo record passed exactly these.
pub fn of_kind(kind: super::Kind) -> Vec<Rule> {
    use super::Kind;
    let (group, shared): (&[Rule], &[Rule]) = match kind {
        Kind::Rehearsal => (rehearsal::ALL, &[common::FUTURE]),
        Kind::Migration => (migration::ALL, &[common::FUTURE, common::DATES_BACKWARDS]),
        Kind::Smoke => (smoke::ALL, &[]),
        Kind::Flag => (flag::ALL, &[common::FUTURE, common::DATES_BACKWARDS]),
    };
    group
        .iter()
        .chain(shared)
        .copied()
        .filter(|r| !r.id.ends_with(".missing") && *r != smoke::NO_DRILL)
        .collect()
}

/// What a judge found about one record: its failures, and every rule it evaluated (held or
/// not). It derefs to the failures, so a judge pushes problems as before.
#[derive(Debug, Default, Clone)]
pub struct Verdict {
    problems: Vec<Problem>,
    evaluated: Vec<Rule>,
}

impl Verdict {
    /// Records that the judge evaluated `rule` here: it passed unless a problem names it.
    pub fn ran(&mut self, rule: Rule) {
        if !self.evaluated.contains(&rule) {
            self.evaluated.push(rule);
        }
    }

    /// Takes in another verdict's findings (the gate's, inside a drill's).
    pub fn absorb(&mut self, other: Verdict) {
        self.problems.extend(other.problems);
        for rule in other.evaluated {
            self.ran(rule);
        }
    }

    /// The rules evaluated that no problem names, in the order they were first evaluated.
    pub fn passed(&self) -> Vec<Rule> {
        self.evaluated
            .iter()
            .filter(|r| !self.problems.iter().any(|p| p.rule == r.id))
            .copied()
            .collect()
    }

    /// Every rule evaluated, held or not.
    pub fn evaluated(&self) -> Vec<Rule> {
        self.evaluated.clone()
    }

    pub fn into_problems(self) -> Vec<Problem> {
        self.problems
    }
}

impl From<Vec<Problem>> for Verdict {
    fn from(problems: Vec<Problem>) -> Verdict {
        Verdict {
            problems,
            evaluated: Vec::new(),
        }
    }
}

impl std::ops::Deref for Verdict {
    type Target = Vec<Problem>;
    fn deref(&self) -> &Vec<Problem> {
        &self.problems
    }
}

impl std::ops::DerefMut for Verdict {
    fn deref_mut(&mut self) -> &mut Vec<Problem> {
        &mut self.problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_name_their_group() {
        let ids: std::collections::BTreeSet<&str> = all().map(|r| r.id).collect();
        assert_eq!(ids.len(), all().count(), "a rule id is declared twice");
        for kind in super::super::Kind::ALL {
            for rule in of_kind(kind) {
                let group = rule.id.split('.').next().unwrap();
                assert!(group == kind.key() || group == "evidence", "{}", rule.id);
            }
        }
    }

    #[test]
    fn a_rule_passes_only_when_evaluated_and_no_problem_names_it() {
        let mut v = Verdict::default();
        v.ran(rehearsal::TRIGGER);
        v.ran(rehearsal::RELEASE);
        v.push(Problem::new(rehearsal::RELEASE, "x", "y"));
        // Failed without being recorded: still not passed.
        v.push(Problem::new(rehearsal::ORDER, "x", "y"));
        assert_eq!(v.passed(), vec![rehearsal::TRIGGER]);
        assert_eq!(v.len(), 2);
    }
}
