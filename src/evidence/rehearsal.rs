//! Rollback rehearsals: `library/raw/rollback-rehearsals/NNN.md`.

use super::facts::{Facts, RehearsalFacts, ReleaseClaim, TimelineMark};
use super::records::{required, Artifact, Rehearsal};
use super::{CommitRef, Context, Item, Kind, Problem, Verdict};
use crate::evidence::catalogue::{common, rehearsal as rule};
use crate::evidence::readers::down_step::migration_down_step;
use crate::history::History;
use crate::time;

const DAY_MINUTES: i64 = 24 * 60;

/// Why the badge is missing: no record at all.
pub(crate) fn missing() -> Problem {
    let dir = Kind::Rehearsal.folder();
    Problem::new(
        rule::MISSING,
        format!("no rollback rehearsal yet ({dir}/ is empty)"),
        format!("rehearse a rollback and write it up as {dir}/001.md"),
    )
}

/// A parsed timeline entry.
struct Timed<'a> {
    time: i64,
    mark: &'a str,
    note: Option<&'a str>,
    line: Option<usize>,
}

pub(crate) fn check(a: &Artifact<Rehearsal>, cx: Context<'_>) -> Item {
    let (r, config) = (&a.data, cx.config);
    let mut problems = Verdict::default();
    let title = r.title.clone().unwrap_or_else(|| a.path.clone());

    // Fields the student writes.
    let trigger = required(
        a,
        &r.trigger,
        "trigger",
        rule::TRIGGER,
        "name the signal you acted on, e.g. `error rate above 2% for 5 minutes`",
    );
    let command = required(
        a,
        &r.restore_command,
        "restore_command",
        rule::COMMAND,
        "write the exact command that restored service",
    );
    problems.ran(rule::TRIGGER);
    problems.ran(rule::COMMAND);
    for result in [&trigger, &command] {
        if let Err(p) = result {
            problems.push(p.clone());
        }
    }
    if let Ok(command) = command {
        problems.ran(rule::MIGRATION_DOWN);
        if let Some(reason) = migration_down_step(command) {
            problems.push(
                Problem::new(
                    rule::MIGRATION_DOWN,
                    format!("the restore command is not a rollback of the release: {reason}, which does not bring data back"),
                    "restore the previous release (e.g. `kubectl rollout undo`, redeploy the old image) and keep the schema compatible with both",
                )
                .at(&a.path, a.line_of("restore_command"))
                .mistake("a migration tool's rollback used as the restore"),
            );
        }
    }

    // The timeline.
    let timeline = parse_timeline(a, cx, &mut problems);
    problems.ran(rule::TIME);
    problems.ran(rule::TIMELINE);
    problems.ran(rule::ORDER);
    let entry = |mark: &str| timeline.iter().find(|t| t.mark.eq_ignore_ascii_case(mark));
    let find = |mark: &str| entry(mark).map(|t| t.time);
    let (deployed, detected, restored) = (find("deployed"), find("detected"), find("restored"));
    for (name, found) in [("deployed", deployed), ("restored", restored)] {
        if found.is_none() {
            problems.push(
                Problem::new(
                    rule::TIMELINE,
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
                    rule::ORDER,
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
        problems.ran(rule::TIMER);
        if timer <= 0 || timer >= DAY_MINUTES {
            problems.push(
                Problem::new(
                    rule::TIMER,
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
                note: t.note.map(str::to_string),
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
            cx,
            entry("deployed"),
            entry("restored"),
            &mut problems,
            &mut facts,
        ),
        Err(problem) => problems.push(problem),
    }
    Item::judged(&a.path, title, problems, Facts::Rehearsal(facts))
}

fn parse_timeline<'a>(
    a: &'a Artifact<Rehearsal>,
    cx: Context<'_>,
    problems: &mut Vec<Problem>,
) -> Vec<Timed<'a>> {
    let config = cx.config;
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
            Ok(t) => {
                if let Some(p) =
                    cx.in_the_future(t, &format!("timeline entry {} (`{mark}`)", i + 1))
                {
                    problems.push(p.at(&a.path, line));
                }
                timeline.push(Timed {
                    time: t,
                    mark,
                    note: entry
                        .note
                        .as_deref()
                        .map(str::trim)
                        .filter(|n| !n.is_empty()),
                    line,
                })
            }
            Err(why) => problems.push(
                Problem::new(
                    rule::TIME,
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
    cx: Context<'_>,
    deployed: Option<&Timed<'_>>,
    restored: Option<&Timed<'_>>,
    problems: &mut Verdict,
    facts: &mut RehearsalFacts,
) {
    let r = &a.data;
    // Every date the rules rely on (timeline entries, the releases' and the write-up's
    // commits) is checked for the future once the history is read.
    problems.ran(common::FUTURE);
    problems.ran(rule::RELEASE);
    problems.ran(rule::UNCOMMITTED);
    let resolve = |key: &str,
                   value: &Option<String>,
                   problems: &mut Vec<Problem>|
     -> Option<usize> {
        let reference = value.as_deref().map(str::trim).filter(|v| !v.is_empty());
        let found = reference.and_then(|v| h.resolve(v));
        if let Some(p) = found
            .and_then(|c| cx.in_the_future(h.commit(c).time, &format!("the commit `{key}` names")))
        {
            problems.push(p.at(&a.path, a.line_of(key)));
        }
        if found.is_none() {
            let message = match reference {
                Some(v) => format!("`{key}: {v}` does not resolve to a commit in this repository"),
                None => format!("`{key}` is missing"),
            };
            problems.push(
                Problem::new(
                    rule::RELEASE,
                    message,
                    "write the release's tag (e.g. v2.4.1), its branch, or its commit SHA",
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
        problems.ran(rule::ROLLFORWARD);
        if bad == good || !h.is_ancestor(good, bad) {
            problems.push(
                Problem::new(
                    rule::ROLLFORWARD,
                    "`restored_release` is not an older ancestor of `bad_release`: restoring it was a roll-forward, not a rollback",
                    "restore a release that came before the bad one (an ancestor of it in the history)",
                )
                .at(&a.path, a.line_of("restored_release")),
            );
        }
    }
    if let (Some(bad), Some(deployed)) = (bad, deployed) {
        problems.ran(rule::DEPLOYED_BEFORE_COMMIT);
        let commit_time = h.effective_time(bad);
        if deployed.time < commit_time {
            problems.push(
                Problem::new(
                    rule::DEPLOYED_BEFORE_COMMIT,
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
                rule::UNCOMMITTED,
                "the write-up is not committed yet",
                "commit it; its commit time shows it came after the event",
            )
            .at(&a.path, None),
        ),
        Some(first) => {
            facts.written = Some(CommitRef::of(h, first));
            if let Some(p) =
                cx.in_the_future(h.commit(first).time, "the commit that added the write-up")
            {
                problems.push(p.at(&a.path, None));
            }
            if let Some(restored) = restored {
                problems.ran(rule::PREDATES);
                if h.effective_time(first) < restored.time {
                    problems.push(
                        Problem::new(
                            rule::PREDATES,
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
