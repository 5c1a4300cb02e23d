//! The gate itself at one commit: `scripts/smoke.sh` judged on a parse of it as bash (called
//! checks, a request each, a bad status fails the check, a failed check fails the script, not
//! health-only) and the workflows judged as GitHub Actions runs them (the smoke step runs the
//! script, it cannot be skipped, every promoting job is gated). The readers build the models;
//! these rules only ask them questions and say the answer in the student's words.

use crate::evidence::catalogue::smoke as rule;
use std::cell::Cell;
use std::collections::BTreeMap;

use serde::Serialize;

use super::super::facts::GateFacts;
use super::super::records::SMOKE_SCRIPT as SCRIPT;
use super::super::{Problem, Verdict};
use crate::evidence::readers::shell::{self, ShellOptions, SmokeScript, StepRun};
use crate::evidence::readers::workflow;
use crate::history::History;

const WORKFLOWS: &str = ".github/workflows/";
const MODE_EXECUTABLE: u32 = 0o100755;
/// A smoke suite needs at least this many working checks.
const MIN_CHECKS: usize = 3;

/// One `check_<name>` function of the script, as the gate judged it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub called: bool,
    /// Every request the check makes fails on a bad HTTP status (true when it makes none).
    pub fails_on_status: bool,
    pub health_only: bool,
    pub line: usize,
    pub name: String,
    /// The URLs the check requests, resolved through the script's assignments (`?` when not).
    pub targets: Vec<String>,
}

/// A workflow line that runs the script or promotes after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkflowLine {
    pub file: String,
    pub job: String,
    pub line: Option<usize>,
    pub role: &'static str,
    pub step: String,
}

/// The script and its wiring at one commit.
pub(super) struct GateReport {
    pub(super) script_committed: bool,
    pub(super) checks: Vec<Check>,
    pub(super) lines: Vec<WorkflowLine>,
    /// The failures, and the rules judged at this commit.
    pub(super) verdict: Verdict,
    /// The script and workflow texts judged, by path.
    pub(super) files: BTreeMap<String, String>,
}

impl GateReport {
    pub(super) fn facts(&self) -> GateFacts {
        GateFacts {
            script: Some(SCRIPT),
            checks: Some(self.checks.clone()),
            workflow: Some(self.lines.clone()),
        }
    }
}

/// Judges the script and the workflows as they stood at commit `index`.
pub(super) fn gate_at(h: &History, index: usize) -> GateReport {
    let mut problems = Verdict::default();
    let mut files = BTreeMap::new();
    let script = h.file_at(index, SCRIPT);
    problems.ran(rule::SCRIPT);
    let checks = match &script {
        None => {
            problems.push(
                Problem::new(
                    rule::SCRIPT,
                    format!("{SCRIPT} is not committed"),
                    "commit the smoke script",
                )
                .at(SCRIPT, None),
            );
            Vec::new()
        }
        Some((bytes, mode)) => {
            problems.ran(rule::EXECUTABLE);
            if *mode != MODE_EXECUTABLE {
                problems.push(
                    Problem::new(
                        rule::EXECUTABLE,
                        format!("{SCRIPT} is committed without its executable bit"),
                        format!("run `git update-index --chmod=+x {SCRIPT}` and commit"),
                    )
                    .at(SCRIPT, None),
                );
            }
            let text = String::from_utf8_lossy(bytes).into_owned();
            let (checks, script_verdict) = script_verdict(&text);
            problems.absorb(script_verdict);
            files.insert(SCRIPT.to_string(), text);
            checks
        }
    };
    let workflows: Vec<(String, String)> = h
        .files_under(index, WORKFLOWS)
        .into_iter()
        .filter(|p| workflow::is_workflow_path(p))
        .filter_map(|p| {
            h.file_at(index, &p)
                .map(|(bytes, _)| (p, String::from_utf8_lossy(&bytes).into_owned()))
        })
        .collect();
    let (lines, wiring_problems) = judge_wiring(&workflows, files.get(SCRIPT).map(String::as_str));
    // The workflow reader judges the wiring as a whole and names only what fails; after one
    // failure it may not have got to the other rules, so they count as held only when none
    // failed.
    if wiring_problems.is_empty() {
        for &wiring_rule in rule::WIRING {
            problems.ran(wiring_rule);
        }
    }
    problems.extend(wiring_problems);
    files.extend(workflows);
    GateReport {
        script_committed: script.is_some(),
        checks,
        lines,
        verdict: problems,
        files,
    }
}

/// The script rules on the script's text: the checks as pages show them, and every rule that fails.
pub fn judge_script(text: &str) -> (Vec<Check>, Vec<Problem>) {
    let (checks, verdict) = script_verdict(text);
    (checks, verdict.into_problems())
}

/// [`judge_script`], with the rules it evaluated.
fn script_verdict(text: &str) -> (Vec<Check>, Verdict) {
    let model = shell::analyse_smoke_script(text);
    let checks: Vec<Check> = model.checks.iter().map(check_facts).collect();
    (checks, script_problems(&model))
}

fn check_facts(c: &shell::Check) -> Check {
    let targets: Vec<String> = c
        .requests
        .iter()
        .map(|r| r.url.clone().unwrap_or_else(|| "?".into()))
        .collect();
    Check {
        called: c.called.is_some(),
        fails_on_status: c.requests.iter().all(|r| r.fails_on_status),
        health_only: !c.requests.is_empty()
            && c.requests
                .iter()
                .all(|r| r.url.as_deref().is_some_and(shell::is_health_url)),
        line: c.line,
        name: c.name.clone(),
        targets,
    }
}

fn script_problems(model: &SmokeScript) -> Verdict {
    let at = |line: Option<usize>| (SCRIPT, line);
    let mut problems = Verdict::from(
        model
            .unseen
            .iter()
            .map(|f| Problem::new(rule::UNSEEN, &f.message, &f.fix).at(at(f.line).0, f.line))
            .collect::<Vec<_>>(),
    );
    for evaluated in [rule::UNSEEN, rule::THREE_CHECKS, rule::FAILURE_IGNORED] {
        problems.ran(evaluated);
    }
    // Checks that count: called, making at least one request, every request failing on a bad
    // status. A request that does not fail is named even when three others work: it is a check
    // that can never catch what it was written for.
    let called: Vec<&shell::Check> = model.checks.iter().filter(|c| c.called.is_some()).collect();
    if called.iter().any(|c| !c.requests.is_empty()) {
        problems.ran(rule::CANNOT_FAIL);
    }
    for check in &called {
        for request in check.requests.iter().filter(|r| !r.fails_on_status) {
            let why = request
                .why_not
                .clone()
                .unwrap_or_else(|| "nothing fails the check when it answers 500".into());
            problems.push(
                Problem::new(
                    rule::CANNOT_FAIL,
                    format!(
                        "`{}`: the {} request at line {} does not fail on a bad HTTP status: {why}",
                        check.name, request.tool, request.line
                    ),
                    "use `curl --fail` (or `-f`), or capture the status and test it (`[ \"$code\" -eq 200 ] || return 1`)",
                )
                .at(SCRIPT, Some(request.line)),
            );
        }
    }
    let working: Vec<&&shell::Check> = called
        .iter()
        .filter(|c| !c.requests.is_empty() && c.requests.iter().all(|r| r.fails_on_status))
        .collect();
    if working.len() < MIN_CHECKS {
        problems.push(too_few_checks(model, &called, working.len()));
    }
    let business = working.iter().any(|c| {
        c.requests
            .iter()
            .any(|r| r.url.as_deref().is_some_and(|u| !shell::is_health_url(u)))
    });
    if !working.is_empty() {
        problems.ran(rule::HEALTH_ONLY);
        if !business {
            problems.push(health_only(&working));
        }
    }
    problems.extend(model.propagation.iter().map(|f| {
        Problem::new(
            rule::FAILURE_IGNORED,
            format!("a failing check would not fail the script: {}", f.message),
            &f.fix,
        )
        .at(SCRIPT, f.line)
    }));
    problems
}

fn too_few_checks(model: &SmokeScript, called: &[&shell::Check], working: usize) -> Problem {
    let mut why: Vec<String> = model
        .checks
        .iter()
        .filter_map(|c| c.not_called.as_ref().map(|f| f.message.clone()))
        .collect();
    why.extend(
        called
            .iter()
            .filter(|c| c.requests.is_empty())
            .map(|c| format!("`{}` makes no HTTP request", c.name)),
    );
    // A few reasons say what to fix; a hundred would bury the rule.
    const SHOWN: usize = 5;
    let more = why.len().saturating_sub(SHOWN);
    why.truncate(SHOWN);
    if more > 0 {
        why.push(format!("{more} more like these"));
    }
    let detail = if why.is_empty() {
        String::new()
    } else {
        format!(" ({})", why.join("; "))
    };
    Problem::new(
        rule::THREE_CHECKS,
        format!(
            "the script has {working} working `check_<name>` functions (called, making an HTTP request that fails on a bad status); the gate needs at least {MIN_CHECKS}{detail}"
        ),
        "write three checks of real behaviour as functions named check_<name>, each requesting an endpoint with `curl --fail`, and call each from the script's top level",
    )
    .at(SCRIPT, None)
}

fn health_only(working: &[&&shell::Check]) -> Problem {
    let unresolved = working
        .iter()
        .flat_map(|c| c.requests.iter())
        .filter(|r| r.url.is_none())
        .map(|r| r.line.to_string())
        .collect::<Vec<_>>();
    let message = if unresolved.is_empty() {
        "every check only probes a health endpoint, which proves the process runs, not that the release works".to_string()
    } else {
        format!(
            "no check can be seen to probe a business endpoint: the others probe health endpoints, and the URL at line {} could not be resolved through the script's own assignments",
            unresolved.join(", ")
        )
    };
    Problem::new(
        rule::HEALTH_ONLY,
        message,
        "check real behaviour: a read through the database, a key page, the deployed version (write the URL as `\"$BASE_URL/api/orders\"`)",
    )
    .at(SCRIPT, None)
    .mistake("a smoke test that only calls /healthz")
}

/// Whether the script stops on a failed check only because of a `-e` in its `#!` line, which
/// `bash scripts/smoke.sh` ignores.
fn relies_on_shebang(text: &str) -> bool {
    let shebang_e = text.lines().next().is_some_and(|l| {
        l.starts_with("#!")
            && l.split_whitespace()
                .skip(1)
                .any(|w| w.starts_with('-') && !w.starts_with("--") && w.contains('e'))
    });
    if !shebang_e {
        return false;
    }
    let without: String = text.lines().skip(1).fold(String::from("\n"), |mut s, l| {
        s.push_str(l);
        s.push('\n');
        s
    });
    !shell::analyse_smoke_script(&without).propagation.is_empty()
}

/// The wiring rules over the workflows: the lines that run the suite and promote after it, and every problem.
/// `script` is the smoke script's text, when committed: a step that runs it through `bash`
/// ignores the `-e` of its `#!` line, which only then is worth a second look.
pub fn judge_wiring(
    workflows: &[(String, String)],
    script: Option<&str>,
) -> (Vec<WorkflowLine>, Vec<Problem>) {
    let through_interpreter = Cell::new(None);
    let step_runs = |run: &str, options: &ShellOptions, wd: Option<&str>| {
        let verdict = shell::step_runs_script(run, options, wd, SCRIPT);
        if let StepRun::Runs {
            line,
            through_interpreter: true,
        } = verdict
        {
            through_interpreter.set(Some(line));
        }
        verdict
    };
    let wiring = workflow::judge(workflows, &step_runs);
    let mut problems: Vec<Problem> = wiring
        .problems
        .iter()
        .map(|f| {
            // The reason starts with its own file:line; the same place again inside the
            // sentence only repeats it.
            let here = f
                .line
                .map(|l| format!(" ({}:{l})", f.file))
                .unwrap_or_default();
            let message = f.message.replacen(&here, "", 1);
            Problem::new(f.rule, message, &f.fix).at(&f.file, f.line)
        })
        .collect();
    if through_interpreter.get().is_some() && script.is_some_and(relies_on_shebang) {
        problems.push(
            Problem::new(
                rule::FAILURE_IGNORED,
                "the workflow runs the script through `bash` (or `sh`), which ignores the `-e` in its `#!` line, so a failing check does not fail the script",
                "put `set -euo pipefail` at the top of the script instead of relying on the `#!` line",
            )
            .at(SCRIPT, Some(1)),
        );
    }
    let mut lines: Vec<WorkflowLine> = wiring
        .smoke_steps
        .iter()
        .map(|s| WorkflowLine {
            file: s.file.clone(),
            job: s.job.clone(),
            line: Some(s.line),
            role: "runs the smoke suite",
            step: s.step.clone(),
        })
        .collect();
    // A job that promotes as a whole is shown once, not again for its promoting step.
    let gated_jobs: Vec<(&str, &str)> = wiring
        .promotions
        .iter()
        .filter(|p| p.gated_by.is_some() && p.step.is_none())
        .map(|p| (p.file.as_str(), p.job.as_str()))
        .collect();
    lines.extend(
        wiring
            .promotions
            .iter()
            .filter(|p| p.gated_by.is_some())
            .filter(|p| {
                p.step.is_none() || !gated_jobs.contains(&(p.file.as_str(), p.job.as_str()))
            })
            .map(|p| WorkflowLine {
                file: p.file.clone(),
                job: p.job.clone(),
                line: Some(p.line),
                role: if p.step.is_some() {
                    "promotes after it"
                } else {
                    "promotes after it (needs the smoke job)"
                },
                step: p.step.clone().unwrap_or_default(),
            }),
    );
    (lines, problems)
}
