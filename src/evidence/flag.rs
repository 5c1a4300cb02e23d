//! Feature-flag lifecycles: `library/raw/flags/<name>.md` names a key; everything else comes
//! from the history of files outside `library/` and docs: introduced off, flipped on, retired
//! in one change, within two sprints.

use crate::evidence::catalogue::{common, flag as rule};
use std::collections::{BTreeMap, BTreeSet};

use super::facts::{DeployedOff, Facts, FlagFacts};
use super::records::{Artifact, Flag};
use super::{CommitRef, Context, Item, Kind, Problem, Verdict};
use crate::history::references::value_of;
use crate::history::walk::KeyLines;
use crate::history::History;

const KINDS: &[&str] = &["release", "ops", "experiment", "permission"];
const SPRINTS: i64 = 2;
const CONFIG_EXTENSIONS: &[&str] = &[
    ".yaml",
    ".yml",
    ".toml",
    ".json",
    ".env",
    ".ini",
    ".properties",
    ".conf",
    ".cfg",
];

/// A key short enough or odd enough would match everywhere; it must look like a flag name.
pub(crate) fn is_scannable_key(key: &str) -> bool {
    key.len() >= 3
        && key.len() <= 128
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b'/'))
}

/// Why the badge is missing: no record at all.
pub(crate) fn missing() -> Problem {
    let dir = Kind::Flag.folder();
    Problem::new(
        rule::MISSING,
        format!("no feature flag yet ({dir}/ is empty)"),
        format!("introduce a flag off, flip it on, retire it, and describe it in {dir}/<name>.md"),
    )
}

pub(crate) fn check(a: &Artifact<Flag>, cx: Context<'_>) -> Item {
    let (f, config) = (&a.data, cx.config);
    let mut problems = Verdict::default();
    problems.ran(rule::KEY);
    problems.ran(rule::KIND);
    let key = f.flag.as_deref().map(str::trim).unwrap_or("");
    let title = if key.is_empty() {
        a.path.clone()
    } else {
        key.to_string()
    };
    let kind = f.kind.as_deref().map(str::trim).unwrap_or("");
    if key.is_empty() {
        problems.push(
            Problem::new(
                rule::KEY,
                "`flag` is missing",
                "write the key exactly as it appears in code and config",
            )
            .at(&a.path, a.line_of("flag").or(Some(1))),
        );
    } else if !is_scannable_key(key) {
        problems.push(Problem::new(rule::KEY, format!("`{key}` does not look like a flag key"), "use the key as written in code: letters, digits, `_`, `-` or `.`, at least 3 characters").at(&a.path, a.line_of("flag")));
    }
    if !KINDS.contains(&kind) {
        problems.push(
            Problem::new(
                rule::KIND,
                format!("`kind: {kind}` is not one of release, ops, experiment, permission"),
                "pick the flag's kind",
            )
            .at(&a.path, a.line_of("kind").or(Some(1))),
        );
    }
    let limit_days = SPRINTS * i64::from(config.sprint_length_days);
    let mut facts = FlagFacts {
        key: key.to_string(),
        kind: kind.to_string(),
        limit_days,
        ..FlagFacts::default()
    };
    match cx.usable_history() {
        Ok(h) if problems.is_empty() => {
            Lifecycle::new(h, cx, key, kind, limit_days, a).check(&mut problems, &mut facts)
        }
        Ok(_) => {}
        Err(problem) => problems.push(problem),
    }
    Item::judged(&a.path, title, problems, Facts::Flag(facts))
}

struct Lifecycle<'a> {
    h: &'a History,
    cx: Context<'a>,
    key: &'a str,
    kind: &'a str,
    limit_days: i64,
    artifact: &'a Artifact<Flag>,
    /// Events of commits that HEAD reaches, not merges (a merge repeats its pull request).
    own: Vec<&'a KeyLines>,
}

impl<'a> Lifecycle<'a> {
    fn new(
        h: &'a History,
        cx: Context<'a>,
        key: &'a str,
        kind: &'a str,
        limit_days: i64,
        artifact: &'a Artifact<Flag>,
    ) -> Self {
        let own = h
            .key_lines(key)
            .iter()
            .filter(|e| h.counts_for_flags(e.commit as usize))
            .collect();
        Lifecycle {
            h,
            cx,
            key,
            kind,
            limit_days,
            artifact,
            own,
        }
    }

    fn problem(&self, rule: super::Rule, message: String, fix: &str) -> Problem {
        Problem::new(rule, message, fix).at(&self.artifact.path, self.artifact.line_of("flag"))
    }

    /// Seconds between two commits' effective times: back-dating a commit never shortens it.
    fn seconds(&self, from: usize, to: usize) -> i64 {
        self.h.effective_time(to) - self.h.effective_time(from)
    }

    /// The same, in days rounded to a tenth, for display only.
    fn days(&self, from: usize, to: usize) -> f64 {
        (self.seconds(from, to) as f64 / 86_400.0 * 10.0).round() / 10.0
    }

    fn limit_seconds(&self) -> i64 {
        self.limit_days * 86_400
    }

    fn check(&self, problems: &mut Verdict, facts: &mut FlagFacts) {
        let (h, key) = (self.h, self.key);
        problems.ran(rule::NEVER_INTRODUCED);
        let Some(introduced) = self.own.iter().find(|e| !e.added.is_empty()) else {
            problems.push(self.problem(rule::NEVER_INTRODUCED, format!("the key `{key}` never appears in the code or config (outside library/ and docs)"), "write the key exactly as the code spells it"));
            return;
        };
        let intro = introduced.commit as usize;
        facts.introduced = Some(CommitRef::of(h, intro));
        // The introducing commit may add the key in several files (config and code).
        let values: Vec<Option<bool>> = self
            .own
            .iter()
            .filter(|e| e.commit == introduced.commit)
            .flat_map(|e| e.added.iter().map(|l| value_of(l, key)))
            .collect();
        problems.ran(rule::INTRODUCED_ON);
        // Whether it was set off is asked only of a flag not set on.
        if !values.contains(&Some(true)) {
            problems.ran(rule::NO_OFF_VALUE);
        }
        if values.contains(&Some(true)) {
            problems.push(self.problem(
                rule::INTRODUCED_ON,
                format!(
                    "the commit that introduced `{key}` ({}) set it on; a new flag ships off",
                    h.commit(intro).id.short()
                ),
                "introduce the flag with its value off, and flip it in a later commit",
            ));
        } else if !values.contains(&Some(false)) {
            problems.push(self.problem(rule::NO_OFF_VALUE, format!("the commit that introduced `{key}` ({}) gives it no off value (`false`, `off`, `0`, `disabled`)", h.commit(intro).id.short()), "set the flag's value to off in the same commit that introduces it"));
        } else {
            let release = h.releases.iter().find(|r| {
                h.index_of(r.commit)
                    .is_some_and(|t| h.is_ancestor(intro, t))
            });
            facts.deployed_off = Some(DeployedOff {
                commit: CommitRef::of(h, intro),
                release: release.map(|r| r.name.clone()),
                release_time: release.map(|r| r.time),
                release_url: release.and_then(|r| h.release_url(&r.name)),
            });
        }
        let flip = self.own.iter().find(|e| {
            e.commit > introduced.commit
                && e.removed.iter().any(|l| value_of(l, key) == Some(false))
                && e.added.iter().any(|l| value_of(l, key) == Some(true))
        });
        problems.ran(rule::NEVER_FLIPPED);
        let Some(flip) = flip.map(|e| e.commit as usize) else {
            problems.push(self.problem(
                rule::NEVER_FLIPPED,
                format!("no commit changes `{key}` from off to on"),
                "flip the flag on in its own commit once the off release is deployed",
            ));
            self.stale(intro, problems, facts);
            return;
        };
        facts.flipped = Some(CommitRef::of(h, flip));
        facts.days_to_flip = Some(self.days(intro, flip));
        self.check_retirement(intro, flip, problems, facts);
    }

    /// References left at HEAD: the running count of key lines along the main line.
    fn count_at_head(&self) -> (i64, Option<usize>) {
        let mut count = 0i64;
        let mut zeroed_at = None;
        for e in self
            .h
            .key_lines(self.key)
            .iter()
            .filter(|e| self.h.is_on_main_line(e.commit as usize))
        {
            count += e.added.len() as i64 - e.removed.len() as i64;
            if count <= 0 && !e.removed.is_empty() {
                zeroed_at = Some(e.commit as usize);
            } else if count > 0 {
                zeroed_at = None;
            }
        }
        (count, zeroed_at)
    }

    /// The files that still hold references at HEAD (by the same count, file by file), so that
    /// the student is told where to look: a generated bundle is easy to forget.
    fn files_at_head(&self) -> String {
        let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
        for e in self.h.key_lines(self.key) {
            if self.h.is_on_main_line(e.commit as usize) {
                *counts.entry(self.h.path(e.path)).or_default() +=
                    e.added.len() as i64 - e.removed.len() as i64;
            }
        }
        let files: Vec<String> = counts
            .into_iter()
            .filter(|&(_, n)| n > 0)
            .map(|(path, _)| format!("`{path}`"))
            .collect();
        match files.len() {
            0..=3 => files.join(", "),
            n => format!("{} and {} more", files[..3].join(", "), n - 3),
        }
    }

    fn check_retirement(
        &self,
        intro: usize,
        flip: usize,
        problems: &mut Verdict,
        facts: &mut FlagFacts,
    ) {
        let (h, key) = (self.h, self.key);
        let (count, retired) = self.count_at_head();
        problems.ran(rule::NOT_RETIRED);
        let Some(retired) = retired.filter(|_| count <= 0) else {
            problems.push(
                self.problem(rule::NOT_RETIRED, format!("`{key}` is still referenced at HEAD ({count} lines outside library/ and docs: {})", self.files_at_head()), "retire it: delete the toggle point, the off branch and the flag's config in one change")
                    .mistake("a flag left in place"),
            );
            self.stale(intro, problems, facts);
            return;
        };
        facts.retired = Some(CommitRef::of(h, retired));
        facts.days_to_retire = Some(self.days(flip, retired));
        let lifetime = self.days(intro, retired);
        facts.lifetime_days = Some(lifetime);
        for evaluated in [
            // Retired, so not a stale release flag.
            rule::STALE,
            common::FUTURE,
            common::DATES_BACKWARDS,
            rule::ORDER,
            rule::SPLIT_REMOVAL,
            rule::RETIRED_LATE,
        ] {
            problems.ran(evaluated);
        }
        for (what, commit) in [
            ("introduced", intro),
            ("flipped", flip),
            ("retired", retired),
        ] {
            if let Some(p) = self.cx.in_the_future(
                h.commit(commit).time,
                &format!("the commit that {what} `{key}`"),
            ) {
                problems.push(p.at(&self.artifact.path, self.artifact.line_of("flag")));
            }
        }
        if let Some((commit, ancestor)) = h.dates_go_backwards(intro, retired) {
            problems.push(
                super::migration::dates_backwards(h, commit, ancestor)
                    .at(&self.artifact.path, self.artifact.line_of("flag")),
            );
        }
        if !(intro < flip && h.is_ancestor(flip, retired)) {
            problems.push(self.problem(
                rule::ORDER,
                "the flag was retired before it was flipped on".into(),
                "introduce off, flip on, then retire",
            ));
        }
        // A removal commit leaves fewer reference lines than its parent had (summed over its
        // files: moving a line between files is no removal); all must belong to one change.
        let removal_commits = self.removal_commits(flip);
        let removals: Vec<&KeyLines> = self
            .own
            .iter()
            .copied()
            .filter(|e| removal_commits.contains(&(e.commit as usize)))
            .collect();
        let changes: BTreeSet<usize> = removal_commits.iter().map(|&c| self.change_of(c)).collect();
        if changes.len() > 1 {
            let list: Vec<String> = changes
                .iter()
                .map(|&c| format!("{} {}", h.commit(c).id.short(), h.commit(c).summary))
                .collect();
            problems.push(
                self.problem(rule::SPLIT_REMOVAL, format!("references to `{key}` were removed in {} separate changes ({})", changes.len(), list.join("; ")), "retire a flag in one change: one commit or one merged pull request that deletes both branches")
                    .mistake("a flag retired piecemeal"),
            );
        } else {
            problems.ran(rule::BRANCHES);
            let removed: Vec<&String> = removals.iter().flat_map(|e| e.removed.iter()).collect();
            let on_value = removed.iter().any(|l| value_of(l, key) == Some(true));
            // Any reference removed from code is the toggle point, with or without a default
            // (`flags.get("new_checkout", False)` reads as off but is still the branch point).
            let toggle_point = removals
                .iter()
                .any(|e| !is_config(h.path(e.path)) && !e.removed.is_empty());
            if !(on_value && toggle_point) {
                let missing = if on_value {
                    "the toggle point in code (the off branch)"
                } else {
                    "the flag's on value in config (the on branch)"
                };
                problems.push(self.problem(rule::BRANCHES, format!("the retiring change does not delete {missing}"), "delete the flag's value and its toggle point together, keeping only the on behaviour"));
            }
            facts.removal_commits = Some(
                removal_commits
                    .iter()
                    .map(|&c| CommitRef::of(h, c))
                    .collect(),
            );
        }
        // Compared in seconds: 28 days and an hour is over four weeks, whatever it rounds to.
        if self.seconds(intro, retired) > self.limit_seconds() {
            problems.push(
                self.problem(rule::RETIRED_LATE, format!("`{key}` lived {lifetime} days from introduction to retirement, more than two sprints ({} days)", self.limit_days), "retire release flags within two sprints; plan the retirement when you introduce the flag")
                    .mistake("a flag left in place too long"),
            );
        }
    }

    /// Commits after the flip whose reference lines, over all files, went down. Merges count
    /// too: a merge's diff against its first parent is what it brought to the main line, so a
    /// toggle point deleted while resolving an unrelated merge is a removal of its own.
    fn removal_commits(&self, flip: usize) -> BTreeSet<usize> {
        let mut net: std::collections::BTreeMap<usize, i64> = Default::default();
        // A merge off the main line (a branch brought up to date) only repeats other commits'
        // changes; one on the main line brings its own (a conflict resolution, say).
        let counts = |c: usize| !self.h.is_merge(c) || self.h.is_on_main_line(c);
        let events = self.h.key_lines(self.key).iter().filter(|e| {
            let c = e.commit as usize;
            c > flip && self.h.reachable_from_head(c) && counts(c)
        });
        for e in events {
            *net.entry(e.commit as usize).or_default() +=
                e.added.len() as i64 - e.removed.len() as i64;
        }
        net.into_iter()
            .filter(|&(commit, delta)| delta < 0 && self.h.is_ancestor(flip, commit))
            .map(|(commit, _)| commit)
            .collect()
    }

    /// The change a commit belongs to: the merge that brought it in, or itself.
    fn change_of(&self, commit: usize) -> usize {
        match self.h.merged_by(commit) {
            Some(merge) if self.h.is_merge(merge) && merge != commit => merge,
            _ => commit,
        }
    }

    /// A release flag alive past two sprints (at HEAD's time) is stale.
    fn stale(&self, intro: usize, problems: &mut Verdict, facts: &mut FlagFacts) {
        let Some(head) = self.h.head_index() else {
            return;
        };
        problems.ran(rule::STALE);
        let age = self.days(intro, head);
        facts.age_days = Some(age);
        let stale = self.kind == "release" && self.seconds(intro, head) > self.limit_seconds();
        facts.stale = Some(stale);
        if stale {
            problems.push(
                self.problem(
                    rule::STALE,
                    format!(
                        "release flag `{}` is stale: {age} days old, past two sprints ({} days)",
                        self.key, self.limit_days
                    ),
                    "flip and retire it now",
                )
                .mistake("a flag left in place"),
            );
        }
    }
}

fn is_config(path: &str) -> bool {
    CONFIG_EXTENSIONS.iter().any(|ext| path.ends_with(ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_read_after_the_key() {
        assert_eq!(value_of("new_checkout: false", "new_checkout"), Some(false));
        assert_eq!(
            value_of("\"new_checkout\" = true,", "new_checkout"),
            Some(true)
        );
        assert_eq!(value_of("NEW_CHECKOUT=0", "NEW_CHECKOUT"), Some(false));
        assert_eq!(
            value_of("if flags.enabled(\"new_checkout\"):", "new_checkout"),
            None
        );
        assert_eq!(
            value_of("new_checkout: disabled  # until launch", "new_checkout"),
            Some(false)
        );
    }
}
