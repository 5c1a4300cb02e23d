//! The smoke gate: `scripts/smoke.sh`, the workflow that runs it before promotion ([`gate`]), and
//! drill records in `library/raw/smoke-drills/NNN.md` proving the gate once blocked a promotion.

mod gate;

pub use gate::{judge_script, judge_wiring, Check, WorkflowLine};

use super::facts::{Facts, GateFacts, SmokeFacts};
use super::records::{Artifact, Drill, Records, SMOKE_SCRIPT as SCRIPT};
use super::{Badge, CommitRef, Context, Item, Kind, Problem, Verdict};
use crate::evidence::catalogue::smoke as rule;
use crate::history::forge;
use crate::history::references::{is_comment_line, mentions};
use crate::history::{is_documentation, History};
use gate::{gate_at, GateReport};

/// The smoke badge: the script and its wiring at HEAD, and each drill record.
pub fn badge(records: &Records, cx: Context<'_>) -> Badge {
    let dir = Kind::Smoke.folder();
    let missing = Problem::new(
        rule::MISSING,
        format!("no smoke suite yet (neither {SCRIPT} nor a drill record in {dir}/)"),
        format!("write {SCRIPT} with three check_ functions and wire it into your deploy workflow"),
    );
    let head_report = cx
        .usable_history()
        .ok()
        .and_then(|h| h.head_index().map(|head| gate_at(h, head)));
    let mut head_problems: Verdict = match &head_report {
        Some(report) => report.verdict.clone(),
        None => Verdict::from(cx.usable_history().err().into_iter().collect::<Vec<_>>()),
    };
    if records.drills.is_empty()
        && !records.smoke_script_on_disk
        && head_report.as_ref().is_none_or(|r| !r.script_committed)
    {
        return Badge::from_items(Vec::new(), missing, Vec::new());
    }
    let head_facts = head_report
        .as_ref()
        .map(GateReport::facts)
        .unwrap_or_default();
    let head_files = head_report.map(|r| r.files).unwrap_or_default();
    let items: Vec<Item> = records
        .drills
        .iter()
        .map(|record| match record {
            Ok(drill) => {
                let mut item = check_drill(drill, cx, &head_problems, &head_facts);
                item.judged.files = head_files.clone();
                item.with_write_up(drill)
            }
            Err(unread) => Item::unread(unread),
        })
        .collect();
    if items.is_empty() {
        head_problems.push(Problem::new(
            rule::NO_DRILL,
            "no drill record yet: nothing shows the gate ever blocked a promotion",
            format!("break an endpoint on purpose, watch the gate stop the promotion, fix it, and record it in {dir}/001.md"),
        ));
    }
    let extra = if records.drills.is_empty() {
        head_problems.into_problems()
    } else {
        Vec::new()
    };
    Badge::from_items(items, missing, extra)
}

fn check_drill(
    a: &Artifact<Drill>,
    cx: Context<'_>,
    head_problems: &Verdict,
    head_facts: &GateFacts,
) -> Item {
    let d = &a.data;
    let stem = a
        .path
        .rsplit('/')
        .next()
        .unwrap_or(&a.path)
        .trim_end_matches(".md");
    let title = d
        .title
        .clone()
        .unwrap_or_else(|| format!("Smoke drill {stem}"));
    // The gate's failures at HEAD are the drill's; its rules count as passed only once they
    // also held at the break commit (below).
    let mut problems = Verdict::from(head_problems.to_vec());
    problems.ran(rule::DRILL_FIELDS);
    for (key, value, fix) in [
        (
            "ci_run",
            &d.ci_run,
            "link the CI run in which the gate stopped the promotion",
        ),
        (
            "observed",
            &d.observed,
            "say what you saw, e.g. `check_orders failed with 500; promote job skipped`",
        ),
    ] {
        if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
            problems.push(
                Problem::new(
                    rule::DRILL_FIELDS,
                    format!("`{key}` is missing or empty"),
                    fix,
                )
                .at(&a.path, a.line_of(key).or(Some(1))),
            );
        }
    }
    let mut facts = SmokeFacts {
        gate: head_facts.clone(),
        ci_run: d.ci_run.clone(),
        observed: d.observed.clone(),
        ..SmokeFacts::default()
    };
    if let Ok(h) = cx.usable_history() {
        check_drill_history(a, h, &head_problems.evaluated(), &mut problems, &mut facts);
    }
    Item::judged(&a.path, title, problems, Facts::Smoke(facts))
}

fn check_drill_history(
    a: &Artifact<Drill>,
    h: &History,
    head_evaluated: &[super::Rule],
    problems: &mut Verdict,
    facts: &mut SmokeFacts,
) {
    let d = &a.data;
    problems.ran(rule::DRILL_COMMIT);
    let mut resolve = |key: &str, value: &Option<String>| {
        let found = value
            .as_deref()
            .and_then(|v| h.resolve(v))
            .filter(|&i| h.reachable_from_head(i));
        if found.is_none() {
            problems.push(
                Problem::new(
                    rule::DRILL_COMMIT,
                    format!("`{key}` does not name a commit reachable from HEAD"),
                    "write the SHA of the commit (short or full)",
                )
                .at(&a.path, a.line_of(key).or(Some(1))),
            );
        }
        found
    };
    let (broke, fixed) = (
        resolve("break_commit", &d.break_commit),
        resolve("fix_commit", &d.fix_commit),
    );
    if let Some(url) = d.ci_run.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        check_ci_run(a, h, url, problems);
    }
    let Some(broke) = broke else {
        return;
    };
    facts.break_commit = Some(CommitRef::of(h, broke));
    let broken_files = code_lines_changed(h, broke);
    problems.ran(rule::DRILL_DOCS_ONLY);
    if broken_files.is_empty() {
        problems.push(
            Problem::new(rule::DRILL_DOCS_ONLY, "the break commit changes no line of code (only documentation, blank lines or comments), so it cannot have broken an endpoint", "name the commit that broke the service on purpose")
                .at(&a.path, a.line_of("break_commit")),
        );
    }
    let at_break = gate_at(h, broke);
    check_observed(a, &at_break, problems);
    // The gate's rules hold for the drill only if they held at HEAD and at the break commit.
    let mut then = Verdict::default();
    for evaluated in at_break.verdict.evaluated() {
        if head_evaluated.contains(&evaluated) {
            then.ran(evaluated);
        }
    }
    for p in at_break.verdict.into_problems() {
        then.push(Problem {
            message: format!("at the break commit: {}", p.message),
            ..p
        });
    }
    problems.absorb(then);
    let Some(fixed) = fixed else {
        return;
    };
    facts.fix_commit = Some(CommitRef::of(h, fixed));
    problems.ran(rule::DRILL_ORDER);
    if fixed == broke || !h.is_ancestor(broke, fixed) {
        problems.push(
            Problem::new(
                rule::DRILL_ORDER,
                "the fix commit does not come after the break commit",
                "name the commit that repaired the endpoint, a descendant of the break",
            )
            .at(&a.path, a.line_of("fix_commit")),
        );
    } else if !broken_files.is_empty() {
        problems.ran(rule::DRILL_FIX);
        let repairs = h
            .changes(fixed)
            .iter()
            .any(|c| broken_files.contains(&h.path(c.path)));
        if !repairs {
            problems.push(
                Problem::new(
                    rule::DRILL_FIX,
                    format!(
                        "the fix commit changes none of the files the break changed ({})",
                        broken_files.join(", ")
                    ),
                    "name the commit that repaired what the break commit broke",
                )
                .at(&a.path, a.line_of("fix_commit")),
            );
        }
    }
}

/// Files outside documentation in which commit `index` changed a line that is neither blank nor
/// a comment (compared with its first parent).
fn code_lines_changed(h: &History, index: usize) -> Vec<&str> {
    let text = |blob: Option<crate::history::walk::BlobRef>| {
        blob.and_then(|b| h.blob_text(b.id)).unwrap_or_default()
    };
    h.changes(index)
        .iter()
        .filter(|c| !is_documentation(h.path(c.path)))
        .filter(|c| {
            let (old, new) = (text(c.old), text(c.new));
            // Compared in order: moving a line (a `raise` above the `return`) is a change.
            let code = |l: &&str| !l.trim().is_empty() && !is_comment_line(l);
            let old_lines: Vec<&str> = old.lines().filter(code).collect();
            let new_lines: Vec<&str> = new.lines().filter(code).collect();
            old_lines != new_lines
        })
        .map(|c| h.path(c.path))
        .collect()
}

/// `ci_run` is a run of this repository's CI when its web host is known.
fn check_ci_run(a: &Artifact<Drill>, h: &History, url: &str, problems: &mut Verdict) {
    problems.ran(rule::DRILL_CI_RUN);
    // Judged against `origin`, not `repository_url` from clinic.yaml: the student writes that
    // file, and another repository's failing run proves nothing about this one.
    let fine = match &h.origin_web {
        Some(web) => web.is_ci_run(url),
        None => url.starts_with("https://"),
    };
    if !fine {
        let expected = match h.origin_web.as_ref().map(|w| (w.kind, &w.url)) {
            Some((forge::Kind::GitHub, repo)) => format!("{repo}/actions/runs/<run id>"),
            Some((forge::Kind::GitLab, repo)) => format!("{repo}/-/pipelines/<pipeline id>"),
            _ => "an https:// link to the CI run".to_string(),
        };
        problems.push(
            Problem::new(
                rule::DRILL_CI_RUN,
                format!("`ci_run` is not a CI run of this repository: expected {expected}"),
                "open the run in which the gate stopped the promotion and copy its address",
            )
            .at(&a.path, a.line_of("ci_run")),
        );
    }
}

/// `observed` names one of the checks the script had at the break commit.
fn check_observed(a: &Artifact<Drill>, at_break: &GateReport, problems: &mut Verdict) {
    let Some(observed) = a.data.observed.as_deref().filter(|o| !o.trim().is_empty()) else {
        return;
    };
    problems.ran(rule::DRILL_OBSERVED);
    let named = at_break.checks.iter().any(|c| mentions(observed, &c.name));
    if !named {
        let names: Vec<&str> = at_break.checks.iter().map(|c| c.name.as_str()).collect();
        let listed = if names.is_empty() {
            "the script had no checks then".to_string()
        } else {
            format!("the script's checks then: {}", names.join(", "))
        };
        problems.push(
            Problem::new(
                rule::DRILL_OBSERVED,
                format!("`observed` names none of the script's checks ({listed})"),
                "say which check failed, e.g. `check_orders failed with 500; promote job skipped`",
            )
            .at(&a.path, a.line_of("observed")),
        );
    }
}
