//! Rollback rehearsals: `library/raw/rollback-rehearsals/NNN.md`.

use super::facts::{Facts, RehearsalFacts, ReleaseClaim, TimelineMark};
use super::records::{required, Artifact, Rehearsal};
use super::{CommitRef, Context, Item, Kind, Problem};
use crate::history::History;
use crate::load::config::Config;
use crate::time;

const DAY_MINUTES: i64 = 24 * 60;

/// Why the badge is missing: no record at all.
pub(crate) fn missing() -> Problem {
    let dir = Kind::Rehearsal.folder();
    Problem::new(
        "rehearsal.missing",
        format!("no rollback rehearsal yet ({dir}/ is empty)"),
        format!("rehearse a rollback and write it up as {dir}/001.md"),
    )
}

/// A parsed timeline entry.
struct Timed<'a> {
    time: i64,
    mark: &'a str,
    line: Option<usize>,
}

pub(crate) fn check(a: &Artifact<Rehearsal>, cx: Context<'_>) -> Item {
    let (r, config) = (&a.data, cx.config);
    let mut problems = Vec::new();
    let title = r.title.clone().unwrap_or_else(|| a.path.clone());

    // Fields the student writes.
    let trigger = required(
        a,
        &r.trigger,
        "trigger",
        "rehearsal.trigger",
        "name the signal you acted on, e.g. `error rate above 2% for 5 minutes`",
    );
    let command = required(
        a,
        &r.restore_command,
        "restore_command",
        "rehearsal.command",
        "write the exact command that restored service",
    );
    for result in [&trigger, &command] {
        if let Err(p) = result {
            problems.push(p.clone());
        }
    }
    if let Ok(command) = command {
        if let Some(step) = migration_down_step(command) {
            problems.push(
                Problem::new(
                    "rehearsal.migration-down",
                    format!("the restore command runs a schema migration's down step (`{step}`), which does not bring data back"),
                    "restore the previous release (e.g. `kubectl rollout undo`, redeploy the old image) and keep the schema compatible with both",
                )
                .at(&a.path, a.line_of("restore_command"))
                .mistake("a migration tool's rollback used as the restore"),
            );
        }
    }

    // The timeline.
    let timeline = parse_timeline(a, config, &mut problems);
    let entry = |mark: &str| timeline.iter().find(|t| t.mark.eq_ignore_ascii_case(mark));
    let find = |mark: &str| entry(mark).map(|t| t.time);
    let (deployed, detected, restored) = (find("deployed"), find("detected"), find("restored"));
    for (name, found) in [("deployed", deployed), ("restored", restored)] {
        if found.is_none() {
            problems.push(
                Problem::new(
                    "rehearsal.timeline",
                    format!("the timeline has no `{name}` entry"),
                    format!("add `- at: YYYY-MM-DD HH:MM` with `mark: {name}`"),
                )
                .at(&a.path, a.line_of("timeline").or(Some(1))),
            );
        }
    }
    for pair in timeline.windows(2) {
        if pair[1].time < pair[0].time {
            problems.push(
                Problem::new(
                    "rehearsal.order",
                    format!(
                        "the timeline goes backwards: `{}` is earlier than `{}` before it",
                        pair[1].mark, pair[0].mark
                    ),
                    "list the entries in the order they happened, with their real times",
                )
                .at(&a.path, pair[1].line),
            );
        }
    }
    let minutes =
        |from: Option<i64>, to: Option<i64>| from.zip(to).map(|(f, t)| (t - f).div_euclid(60));
    let timer = minutes(deployed, restored);
    if let Some(timer) = timer {
        if timer <= 0 || timer >= DAY_MINUTES {
            problems.push(
                Problem::new(
                    "rehearsal.timer",
                    format!("the timer (restored minus deployed) is {timer} minutes; it must be positive and under 24 hours"),
                    "check the `deployed` and `restored` times",
                )
                .at(&a.path, a.line_of("timeline")),
            );
        }
    }

    // The history.
    let mut facts = RehearsalFacts {
        environment: r.environment.clone(),
        trigger: r.trigger.clone(),
        restore_command: r.restore_command.clone(),
        timeline: timeline
            .iter()
            .map(|t| TimelineMark {
                mark: t.mark.to_string(),
                time: t.time,
                when: time::format(t.time, config.utc_offset_minutes),
            })
            .collect(),
        timer_minutes: timer,
        detect_minutes: minutes(deployed, detected),
        restore_minutes: minutes(detected, restored),
        self_attested: true,
        ..RehearsalFacts::default()
    };
    match cx.usable_history() {
        Ok(h) => check_history(
            a,
            h,
            entry("deployed"),
            entry("restored"),
            &mut problems,
            &mut facts,
        ),
        Err(problem) => problems.push(problem),
    }
    Item::new(&a.path, title, problems, Facts::Rehearsal(facts))
}

fn parse_timeline<'a>(
    a: &'a Artifact<Rehearsal>,
    config: &Config,
    problems: &mut Vec<Problem>,
) -> Vec<Timed<'a>> {
    let mut timeline = Vec::new();
    for (i, entry) in a.data.timeline.iter().enumerate() {
        let at = entry.at.as_deref().unwrap_or("");
        let line = if at.is_empty() {
            a.line_of("timeline")
        } else {
            a.line_containing(at)
        };
        let mark = entry.mark.as_deref().unwrap_or("").trim();
        match time::parse(at, config.utc_offset_minutes) {
            Ok(t) => timeline.push(Timed {
                time: t,
                mark,
                line,
            }),
            Err(why) => problems.push(
                Problem::new(
                    "rehearsal.time",
                    format!("timeline entry {} has no valid time: {why}", i + 1),
                    "write `at: YYYY-MM-DD HH:MM`",
                )
                .at(&a.path, line),
            ),
        }
    }
    timeline
}

fn check_history(
    a: &Artifact<Rehearsal>,
    h: &History,
    deployed: Option<&Timed<'_>>,
    restored: Option<&Timed<'_>>,
    problems: &mut Vec<Problem>,
    facts: &mut RehearsalFacts,
) {
    let r = &a.data;
    let resolve = |key: &str,
                   value: &Option<String>,
                   problems: &mut Vec<Problem>|
     -> Option<usize> {
        let reference = value.as_deref().map(str::trim).filter(|v| !v.is_empty());
        let found = reference.and_then(|v| h.resolve(v));
        if found.is_none() {
            let message = match reference {
                Some(v) => format!("`{key}: {v}` does not resolve to a commit in this repository"),
                None => format!("`{key}` is missing"),
            };
            problems.push(
                Problem::new(
                    "rehearsal.release",
                    message,
                    "write the release's tag (e.g. v2.4.1) or its commit SHA",
                )
                .at(&a.path, a.line_of(key).or(Some(1))),
            );
        }
        found
    };
    let bad = resolve("bad_release", &r.bad_release, problems);
    let good = resolve("restored_release", &r.restored_release, problems);
    if let Some(bad) = bad {
        facts.bad_release = Some(ReleaseClaim {
            reference: r.bad_release.clone(),
            commit: CommitRef::of(h, bad),
        });
    }
    if let Some(good) = good {
        facts.restored_release = Some(ReleaseClaim {
            reference: r.restored_release.clone(),
            commit: CommitRef::of(h, good),
        });
    }
    if let (Some(bad), Some(good)) = (bad, good) {
        if bad == good || !h.is_ancestor(good, bad) {
            problems.push(
                Problem::new(
                    "rehearsal.rollforward",
                    "`restored_release` is not an older ancestor of `bad_release`: restoring it was a roll-forward, not a rollback",
                    "restore a release that came before the bad one (an ancestor of it in the history)",
                )
                .at(&a.path, a.line_of("restored_release")),
            );
        }
    }
    if let (Some(bad), Some(deployed)) = (bad, deployed) {
        let commit_time = h.commit(bad).time;
        if deployed.time < commit_time {
            problems.push(
                Problem::new(
                    "rehearsal.deployed-before-commit",
                    format!("the `deployed` time is before the bad release's commit ({})", time::format(commit_time, h.commit(bad).offset_minutes)),
                    "a release cannot be deployed before it was committed: check the time and its offset",
                )
                .at(&a.path, deployed.line),
            );
        }
    }
    match h.first_added(&a.path) {
        None => problems.push(
            Problem::new(
                "rehearsal.uncommitted",
                "the write-up is not committed yet",
                "commit it; its commit time shows it came after the event",
            )
            .at(&a.path, None),
        ),
        Some(first) => {
            facts.written = Some(CommitRef::of(h, first));
            if let Some(restored) = restored {
                if h.commit(first).time < restored.time {
                    problems.push(
                        Problem::new(
                            "rehearsal.predates",
                            format!("the write-up was first committed ({}) before the `restored` time: a write-up cannot predate the event", CommitRef::of(h, first).when),
                            "check the timeline's times and offsets; commit the write-up after the rehearsal",
                        )
                        .at(&a.path, restored.line),
                    );
                }
            }
        }
    }
}

/// The down step of a migration tool, if `command` runs one: restoring the schema does not
/// restore the data it held, so it is not a rollback of a release.
pub(crate) fn migration_down_step(command: &str) -> Option<String> {
    let lower = command.to_ascii_lowercase();
    let tokens: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || c == ';' || c == '&' || c == '|')
        .filter(|t| !t.is_empty())
        .collect();
    let has = |t: &str| tokens.contains(&t);
    let phrase = |a: &str, b: &str| {
        tokens
            .iter()
            .position(|t| t.contains(a))
            .is_some_and(|i| tokens[i + 1..].contains(&b))
    };
    const STEPS: &[&str] = &[
        "db:rollback",
        "migrate:rollback",
        "db:migrate:undo",
        "db:migrate:undo:all",
        "migrate:reset",
    ];
    if let Some(step) = tokens.iter().find(|t| STEPS.contains(t)) {
        return Some(step.to_string());
    }
    if let Some(flag) = tokens.iter().find(|t| t.starts_with("--rollback")) {
        return Some(flag.to_string());
    }
    if has("flyway") && has("undo") {
        return Some("flyway undo".into());
    }
    if has("alembic") && has("downgrade") {
        return Some("alembic downgrade".into());
    }
    if phrase("migrate", "down") || (has("goose") && has("down")) {
        return Some("migrate down".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_down_steps_are_recognised() {
        for cmd in [
            "bin/rails db:rollback STEP=1",
            "migrate -path db -database $DB down 1",
            "flyway undo",
            "liquibase update --rollback-on-error",
            "npx knex migrate:rollback",
            "alembic downgrade -1",
            "goose postgres $DSN down",
        ] {
            assert!(migration_down_step(cmd).is_some(), "{cmd}");
        }
        for cmd in [
            "kubectl rollout undo deployment/payments-api -n staging",
            "helm rollback payments 41",
            "git revert abc && ./deploy.sh",
        ] {
            assert!(migration_down_step(cmd).is_none(), "{cmd}");
        }
    }
}
