//! The smoke gate: `scripts/smoke.sh`, the workflow that runs it before promotion, and drill
//! records in `library/raw/smoke-drills/NNN.md` proving the gate once blocked a promotion.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::facts::{Facts, GateFacts, SmokeFacts};
use super::records::{Artifact, Drill, Records, SMOKE_SCRIPT as SCRIPT};
use super::{Badge, CommitRef, Context, Item, Kind, Problem};
use crate::history::{is_documentation, History};
use crate::load::yaml;

const WORKFLOWS: &str = ".github/workflows/";
const HEALTH: &[&str] = &[
    "/healthz", "/health", "/ping", "/livez", "/readyz", "/ready", "/status",
];
const MODE_EXECUTABLE: u32 = 0o100755;

/// One `check_<name>` function of the script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: String,
    pub line: usize,
    pub called: bool,
    /// URLs or paths the check requests.
    pub targets: Vec<String>,
    pub health_only: bool,
    pub fails_on_status: bool,
}

/// A workflow line that runs the script or promotes after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkflowLine {
    pub file: String,
    pub line: Option<usize>,
    pub job: String,
    pub step: String,
    pub role: &'static str,
}

/// The smoke badge: the script and its wiring at HEAD, and each drill record.
pub fn badge(records: &Records, cx: Context<'_>) -> Badge {
    let dir = Kind::Smoke.folder();
    let missing = Problem::new(
        "smoke.missing",
        format!("no smoke suite yet (neither {SCRIPT} nor a drill record in {dir}/)"),
        format!("write {SCRIPT} with three check_ functions and wire it into your deploy workflow"),
    );
    let head_report = cx
        .usable_history()
        .ok()
        .and_then(|h| h.head_index().map(|head| gate_at(h, head)));
    let mut head_problems: Vec<Problem> = match &head_report {
        Some(report) => report.problems.clone(),
        None => cx.usable_history().err().into_iter().collect(),
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
            "smoke.no-drill",
            "no drill record yet: nothing shows the gate ever blocked a promotion",
            format!("break an endpoint on purpose, watch the gate stop the promotion, fix it, and record it in {dir}/001.md"),
        ));
    }
    let extra = if records.drills.is_empty() {
        head_problems
    } else {
        Vec::new()
    };
    Badge::from_items(items, missing, extra)
}

fn check_drill(
    a: &Artifact<Drill>,
    cx: Context<'_>,
    head_problems: &[Problem],
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
    let mut problems: Vec<Problem> = head_problems.to_vec();
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
                    "smoke.drill-fields",
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
        check_drill_history(a, h, &mut problems, &mut facts);
    }
    Item::new(&a.path, title, problems, Facts::Smoke(facts))
}

fn check_drill_history(
    a: &Artifact<Drill>,
    h: &History,
    problems: &mut Vec<Problem>,
    facts: &mut SmokeFacts,
) {
    let d = &a.data;
    let mut resolve = |key: &str, value: &Option<String>| {
        let found = value
            .as_deref()
            .and_then(|v| h.resolve(v))
            .filter(|&i| h.reachable_from_head(i));
        if found.is_none() {
            problems.push(
                Problem::new(
                    "smoke.drill-commit",
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
    if let Some(broke) = broke {
        facts.break_commit = Some(CommitRef::of(h, broke));
        let touches_code = h
            .changes(broke)
            .iter()
            .any(|c| !is_documentation(h.path(c.path)));
        if !touches_code {
            problems.push(
                Problem::new("smoke.drill-docs-only", "the break commit changes only documentation, so it cannot have broken an endpoint", "name the commit that broke the service on purpose")
                    .at(&a.path, a.line_of("break_commit")),
            );
        }
        let at_break = gate_at(h, broke);
        for p in at_break.problems {
            problems.push(Problem {
                message: format!("at the break commit: {}", p.message),
                ..p
            });
        }
    }
    if let Some(fixed) = fixed {
        facts.fix_commit = Some(CommitRef::of(h, fixed));
        if let Some(broke) = broke {
            if fixed == broke || !h.is_ancestor(broke, fixed) {
                problems.push(
                    Problem::new(
                        "smoke.drill-order",
                        "the fix commit does not come after the break commit",
                        "name the commit that repaired the endpoint, a descendant of the break",
                    )
                    .at(&a.path, a.line_of("fix_commit")),
                );
            }
        }
    }
}

/// The script and its wiring at one commit.
struct GateReport {
    script_committed: bool,
    checks: Vec<Check>,
    lines: Vec<WorkflowLine>,
    problems: Vec<Problem>,
    /// The script and workflow texts judged, by path.
    files: BTreeMap<String, String>,
}

impl GateReport {
    fn facts(&self) -> GateFacts {
        GateFacts {
            script: Some(SCRIPT),
            checks: Some(self.checks.clone()),
            workflow: Some(self.lines.clone()),
        }
    }
}

fn gate_at(h: &History, index: usize) -> GateReport {
    let mut problems = Vec::new();
    let mut files = BTreeMap::new();
    let (checks, script_committed) = match h.file_at(index, SCRIPT) {
        None => {
            problems.push(
                Problem::new(
                    "smoke.script",
                    format!("{SCRIPT} is not committed"),
                    "commit the smoke script",
                )
                .at(SCRIPT, None),
            );
            (Vec::new(), false)
        }
        Some((bytes, mode)) => {
            if mode != MODE_EXECUTABLE {
                problems.push(
                    Problem::new(
                        "smoke.executable",
                        format!("{SCRIPT} is committed without its executable bit"),
                        format!("run `git update-index --chmod=+x {SCRIPT}` and commit"),
                    )
                    .at(SCRIPT, None),
                );
            }
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let (checks, script_problems) = analyse_script(&text);
            problems.extend(script_problems);
            files.insert(SCRIPT.to_string(), text);
            (checks, true)
        }
    };
    let workflows: Vec<(String, String)> = h
        .files_under(index, WORKFLOWS)
        .into_iter()
        .filter(|p| p.ends_with(".yml") || p.ends_with(".yaml"))
        .filter_map(|p| {
            h.file_at(index, &p)
                .map(|(bytes, _)| (p, String::from_utf8_lossy(&bytes).into_owned()))
        })
        .collect();
    let (lines, wiring_problems) = analyse_workflows(&workflows);
    problems.extend(wiring_problems);
    files.extend(workflows);
    GateReport {
        script_committed,
        checks,
        lines,
        problems,
        files,
    }
}

/// Finds the `check_` functions, what they request, and whether each can fail.
pub fn analyse_script(text: &str) -> (Vec<Check>, Vec<Problem>) {
    let lines: Vec<&str> = text.lines().collect();
    let mut checks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(name) = function_name(lines[i]) else {
            i += 1;
            continue;
        };
        let end = body_end(&lines, i);
        let body = lines[i..=end].join("\n");
        let targets = request_targets(&body);
        let requests = !targets.is_empty() || body.contains("curl") || body.contains("wget");
        checks.push(Check {
            called: false,
            health_only: requests && !targets.is_empty() && targets.iter().all(|t| is_health(t)),
            fails_on_status: !requests || fails_on_status(&body),
            targets,
            line: i + 1,
            name,
        });
        i = end + 1;
    }
    for check in &mut checks {
        let definition = check.line - 1;
        check.called = lines.iter().enumerate().any(|(n, line)| {
            n != definition
                && !line.trim_start().starts_with('#')
                && contains_word(line, &check.name)
                && function_name(line).is_none()
        });
    }
    let mut problems = Vec::new();
    let called: Vec<&Check> = checks.iter().filter(|c| c.called).collect();
    if called.len() < 3 {
        problems.push(
            Problem::new("smoke.three-checks", format!("the script defines and calls {} `check_<name>` functions; the gate needs at least three", called.len()), "write three checks of real behaviour as functions named check_<name>, and call each")
                .at(SCRIPT, None),
        );
    }
    if !called.is_empty() && called.iter().all(|c| c.health_only) {
        problems.push(
            Problem::new("smoke.health-only", "every check only probes a health endpoint, which proves the process runs, not that the release works", "check real behaviour: a read through the database, a key page, the deployed version")
                .at(SCRIPT, None)
                .mistake("a smoke test that only calls /healthz"),
        );
    }
    for c in checks.iter().filter(|c| !c.fails_on_status) {
        problems.push(
            Problem::new(
                "smoke.cannot-fail",
                format!("`{}` does not fail on a bad HTTP status", c.name),
                "use `curl --fail` (or `-f`), or test the status code explicitly",
            )
            .at(SCRIPT, Some(c.line)),
        );
    }
    (checks, problems)
}

fn function_name(line: &str) -> Option<String> {
    let line = line.trim_start();
    let line = line
        .strip_prefix("function ")
        .map(str::trim_start)
        .unwrap_or(line);
    let rest = line.strip_prefix("check_")?;
    let len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let after = rest[len..].trim_start();
    (len > 0 && (after.starts_with("()") || after.starts_with('{')))
        .then(|| format!("check_{}", &rest[..len]))
}

/// The line that closes the function opened at `start` (brace counting, good enough for shell).
fn body_end(lines: &[&str], start: usize) -> usize {
    let mut depth = 0i32;
    for (offset, line) in lines[start..].iter().enumerate() {
        let code = line.split(" #").next().unwrap_or(line);
        depth += code.matches('{').count() as i32 - code.matches('}').count() as i32;
        if depth <= 0 && (offset > 0 || code.contains('}')) {
            return start + offset;
        }
    }
    lines.len() - 1
}

fn contains_word(line: &str, word: &str) -> bool {
    line.match_indices(word).any(|(i, _)| {
        let before = line[..i].chars().next_back();
        let after = line[i + word.len()..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
        boundary(before) && boundary(after)
    })
}

/// URL paths requested by curl or wget in a body: `http(s)://host/path` or `$BASE/path`.
fn request_targets(body: &str) -> Vec<String> {
    let mut targets = Vec::new();
    for line in body
        .lines()
        .filter(|l| l.contains("curl") || l.contains("wget"))
    {
        for word in line.split_whitespace() {
            // Shell punctuation after a URL (`"$BASE/healthz";`, `...)`, `...|grep`) is not part of it.
            let word = word
                .trim_end_matches([';', ')', '&', '|'])
                .trim_matches(|c| c == '"' || c == '\'');
            if let Some(i) = word.find("://") {
                let rest = &word[i + 3..];
                targets.push(
                    rest.find('/')
                        .map_or("/".to_string(), |j| rest[j..].to_string()),
                );
            } else if word.starts_with('$') && word.contains('/') {
                targets.push(word[word.find('/').unwrap_or(0)..].to_string());
            }
        }
    }
    targets
}

fn is_health(target: &str) -> bool {
    let path = target
        .split(['?', '#'])
        .next()
        .unwrap_or(target)
        .trim_end_matches('/');
    HEALTH.iter().any(|h| path == *h || path.ends_with(h))
}

fn fails_on_status(body: &str) -> bool {
    let curl_fails = body.lines().filter(|l| l.contains("curl")).all(|line| {
        line.split_whitespace().any(|w| {
            w == "--fail"
                || w == "--fail-with-body"
                || (w.starts_with('-') && !w.starts_with("--") && w.contains('f'))
        })
    });
    let status_tested = body.contains("http_code")
        && ["-eq", "-ne", "==", "!=", "= "]
            .iter()
            .any(|op| body.contains(op));
    curl_fails || status_tested
}

/// Finds the step that runs the script and the step or job that promotes after it.
pub fn analyse_workflows(files: &[(String, String)]) -> (Vec<WorkflowLine>, Vec<Problem>) {
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    let mut gated = false;
    let mut runs_anywhere = false;
    for (file, text) in files {
        let Ok(doc) = yaml::from_str::<Value>(text) else {
            problems.push(
                Problem::new(
                    "smoke.workflow-yaml",
                    format!("{file} is not valid YAML"),
                    "fix the workflow file",
                )
                .at(file, None),
            );
            continue;
        };
        let Some(jobs) = doc.get("jobs").and_then(Value::as_object) else {
            continue;
        };
        let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).map(|i| i + 1);
        for (job_id, job) in jobs {
            let steps = job
                .get("steps")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let Some(smoke_at) = steps.iter().position(runs_script) else {
                continue;
            };
            runs_anywhere = true;
            let step = &steps[smoke_at];
            lines.push(WorkflowLine {
                file: file.clone(),
                line: line_of(SCRIPT),
                job: job_id.clone(),
                step: label(step, smoke_at),
                role: "runs the smoke suite",
            });
            let run = step.get("run").and_then(Value::as_str).unwrap_or("");
            let cancelled = run.lines().filter(|l| l.contains(SCRIPT)).any(|l| {
                ["|| true", "|| :", "|| exit 0"]
                    .iter()
                    .any(|p| l.contains(p))
            });
            if cancelled {
                problems.push(gate_cancelled(
                    file,
                    line_of("|| "),
                    "the smoke step ends in `|| true`, so its failure is ignored",
                ));
                continue;
            }
            if is_true(step.get("continue-on-error")) || is_true(job.get("continue-on-error")) {
                problems.push(gate_cancelled(
                    file,
                    line_of("continue-on-error"),
                    "the smoke step carries `continue-on-error: true`, so its failure is ignored",
                ));
                continue;
            }
            // A promoting step later in the same job...
            for (i, later) in steps.iter().enumerate().skip(smoke_at + 1) {
                if promotes(later, job) {
                    if runs_anyway(later) {
                        problems.push(gate_cancelled(
                            file,
                            line_of("always()"),
                            "the promoting step runs even when the smoke step failed",
                        ));
                    } else {
                        gated = true;
                        lines.push(WorkflowLine {
                            file: file.clone(),
                            line: line_of(&label(later, i)),
                            job: job_id.clone(),
                            step: label(later, i),
                            role: "promotes after it",
                        });
                    }
                }
            }
            // ...or a promoting job that needs this one.
            for (other_id, other) in jobs {
                if other_id != job_id && needs(jobs, other, job_id) && job_promotes(other_id, other)
                {
                    if runs_anyway(other) {
                        problems.push(gate_cancelled(file, line_of("always()"), &format!("job `{other_id}` runs even when the smoke job failed (`if: always()`)")));
                    } else {
                        gated = true;
                        lines.push(WorkflowLine {
                            file: file.clone(),
                            line: line_of(&format!("{other_id}:")),
                            job: other_id.clone(),
                            step: String::new(),
                            role: "promotes after it (needs the smoke job)",
                        });
                    }
                }
            }
        }
    }
    if !runs_anywhere {
        problems.push(
            Problem::new(
                "smoke.not-wired",
                format!("no workflow under {WORKFLOWS} runs {SCRIPT}"),
                format!("add a step `run: {SCRIPT}` to your deploy workflow, before the promotion"),
            )
            .at(WORKFLOWS.trim_end_matches('/'), None),
        );
    } else if !gated && problems.is_empty() {
        problems.push(
            Problem::new("smoke.no-promotion", "nothing promotes after the smoke step, so it gates nothing", "run the promote/release/production-deploy step after it in the same job, or give that job `needs:` the smoke job")
                .at(WORKFLOWS.trim_end_matches('/'), None),
        );
    }
    (lines, problems)
}

fn gate_cancelled(file: &str, line: Option<usize>, message: &str) -> Problem {
    Problem::new(
        "smoke.gate-cancelled",
        format!("a gate that cannot fail is no gate: {message}"),
        "remove `|| true`, `continue-on-error` and `if: always()` from the gate",
    )
    .at(file, line)
}

fn runs_script(step: &Value) -> bool {
    step.get("run")
        .and_then(Value::as_str)
        .is_some_and(|run| run.contains(SCRIPT))
}

fn label(step: &Value, index: usize) -> String {
    step.get("name")
        .or_else(|| step.get("id"))
        .and_then(Value::as_str)
        .map_or_else(|| format!("step {}", index + 1), str::to_string)
}

fn is_true(value: Option<&Value>) -> bool {
    matches!(value, Some(Value::Bool(true)))
        || value
            .and_then(Value::as_str)
            .is_some_and(|s| s.trim() == "true")
}

fn runs_anyway(node: &Value) -> bool {
    node.get("if").and_then(Value::as_str).is_some_and(|c| {
        c.contains("always()") || c.contains("!cancelled()") || c.contains("failure()")
    })
}

fn names(node: &Value, id: &str) -> String {
    format!(
        "{} {}",
        id,
        node.get("name").and_then(Value::as_str).unwrap_or("")
    )
    .to_ascii_lowercase()
}

fn is_production(job: &Value) -> bool {
    let env = job.get("environment");
    let name = env
        .and_then(Value::as_str)
        .or_else(|| env.and_then(|e| e.get("name")).and_then(Value::as_str));
    name.is_some_and(|n| n.to_ascii_lowercase().starts_with("prod"))
}

fn promotes(step: &Value, job: &Value) -> bool {
    let text = names(step, step.get("id").and_then(Value::as_str).unwrap_or(""));
    text.contains("promote")
        || text.contains("release")
        || (text.contains("deploy") && (is_production(job) || text.contains("prod")))
}

fn job_promotes(id: &str, job: &Value) -> bool {
    let text = names(job, id);
    text.contains("promote")
        || text.contains("release")
        || (text.contains("deploy") && (is_production(job) || text.contains("prod")))
}

/// Whether `job` needs `target`, directly or through other jobs.
fn needs(jobs: &serde_json::Map<String, Value>, job: &Value, target: &str) -> bool {
    let mut stack = vec![job];
    let mut seen = 0;
    while let Some(current) = stack.pop() {
        seen += 1;
        if seen > jobs.len() + 1 {
            return false; // a cycle; GitHub rejects those anyway
        }
        let listed: Vec<&str> = match current.get("needs") {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if listed.contains(&target) {
            return true;
        }
        stack.extend(listed.iter().filter_map(|id| jobs.get(*id)));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"#!/usr/bin/env bash
set -euo pipefail
BASE="${BASE_URL:?}"
check_version() {
  curl --fail -s "$BASE/version" | grep -q "$GIT_SHA"
}
check_orders() {
  curl -fsS "$BASE/api/orders/seed-1" | grep -q '"id"'
}
function check_home {
  code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/")
  [ "$code" -eq 200 ]
}
check_version
check_orders
check_home
"#;

    #[test]
    fn a_real_suite_passes() {
        let (checks, problems) = analyse_script(GOOD);
        assert_eq!(checks.len(), 3);
        assert!(
            checks
                .iter()
                .all(|c| c.called && c.fails_on_status && !c.health_only),
            "{checks:?}"
        );
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn health_only_suite_is_the_named_mistake() {
        let script = "check_a() { curl -f $B/healthz; }\ncheck_b() { curl -f $B/ping; }\ncheck_c() { curl -f http://x/livez; }\ncheck_a\ncheck_b\ncheck_c\n";
        let (_, problems) = analyse_script(script);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].rule, "smoke.health-only");
        assert!(problems[0].mistake.is_some());
    }

    #[test]
    fn curl_without_fail_cannot_fail() {
        let script = GOOD.replace("curl --fail -s", "curl -s");
        let (_, problems) = analyse_script(&script);
        assert_eq!(
            problems.iter().map(|p| p.rule).collect::<Vec<_>>(),
            vec!["smoke.cannot-fail"]
        );
        assert_eq!(problems[0].line, Some(4));
    }

    #[test]
    fn uncalled_checks_do_not_count() {
        let script = GOOD.replace("check_home\n", "");
        let (_, problems) = analyse_script(&script);
        assert_eq!(problems[0].rule, "smoke.three-checks");
    }

    const WORKFLOW: &str = "on: push\njobs:\n  smoke:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - name: Smoke\n        run: scripts/smoke.sh\n  promote:\n    needs: smoke\n    runs-on: ubuntu-latest\n    steps:\n      - run: ./promote.sh\n";

    fn wiring(text: &str) -> Vec<&'static str> {
        analyse_workflows(&[(".github/workflows/deploy.yml".into(), text.into())])
            .1
            .iter()
            .map(|p| p.rule)
            .collect()
    }

    #[test]
    fn needs_gates_promotion() {
        assert!(wiring(WORKFLOW).is_empty());
        let same_job = "jobs:\n  deploy:\n    steps:\n      - run: scripts/smoke.sh\n      - name: Release to production\n        run: ./release.sh\n";
        assert!(wiring(same_job).is_empty());
    }

    #[test]
    fn cancelled_gates_fail() {
        assert_eq!(
            wiring(&WORKFLOW.replace("run: scripts/smoke.sh", "run: scripts/smoke.sh || true")),
            vec!["smoke.gate-cancelled"]
        );
        assert_eq!(
            wiring(&WORKFLOW.replace(
                "        run: scripts/smoke.sh",
                "        run: scripts/smoke.sh\n        continue-on-error: true"
            )),
            vec!["smoke.gate-cancelled"]
        );
        assert_eq!(
            wiring(&WORKFLOW.replace("    needs: smoke", "    needs: smoke\n    if: always()")),
            vec!["smoke.gate-cancelled"]
        );
    }

    #[test]
    fn unwired_and_ungated() {
        assert_eq!(
            wiring("jobs:\n  build:\n    steps:\n      - run: make\n"),
            vec!["smoke.not-wired"]
        );
        assert_eq!(
            wiring("jobs:\n  build:\n    steps:\n      - run: scripts/smoke.sh\n"),
            vec!["smoke.no-promotion"]
        );
    }
}
