//! GitHub Actions workflows as GitHub runs them, and the smoke-gate wiring rules (spec
//! Revision 2, R4).
//!
//! * [`load`] reads one workflow file into a small typed model ([`Workflow`]) with the file
//!   line of every job, step, `if:` and `run:` block (serde_yaml values carry no positions,
//!   so [`lines`] recovers them with a light scan of the block structure).
//! * [`expr`] parses `${{ }}` expressions and answers "can this `if:` be true (false)?" over
//!   every value of the contexts it cannot know.
//! * [`judge`] applies R4 to all workflow files of a repository. The analysis of a step's
//!   `run:` script as bash is not done here: the caller passes it in (`step_runs`).
//!
//! No YAML call is made outside [`parse_yaml`], so that it can move into the project's YAML
//! module unchanged.

pub mod expr;
pub mod lines;

use crate::load::yaml::{self, Value};
use expr::Assumptions;

const SCRIPT: &str = "scripts/smoke.sh";
const WORKFLOWS: &str = ".github/workflows/";
/// Larger workflow files are refused before parsing.
const MAX_WORKFLOW_BYTES: usize = 512 * 1024;
/// GitHub allows four levels of reusable workflows.
const MAX_CALL_DEPTH: usize = 4;

// =============================================================================================
// Public types

/// A problem with the wiring, in the student's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub file: String,
    pub line: Option<usize>,
    pub rule: &'static str,
    pub message: String,
    pub fix: String,
}

pub use super::shell::{ShellOptions, StepRun};

/// The caller's bash reader: `(run script, shell options, working directory) -> StepRun`.
pub type StepRunReader<'a> = &'a dyn Fn(&str, &ShellOptions, Option<&str>) -> StepRun;

/// A step that runs the smoke script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmokeStep {
    pub file: String,
    /// File line of the invocation (of the step when the reader gave no better line).
    pub line: usize,
    pub job: String,
    pub step: String,
    /// Whether it can block a promotion (runs the script, failure not ignored, cannot be
    /// skipped or continued past).
    pub gates: bool,
}

/// A job (or a step) that promotes, and whether a smoke run gates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    pub file: String,
    pub line: usize,
    pub job: String,
    /// The promoting step, when the promotion was recognised by a step's name.
    pub step: Option<String>,
    /// What gates it: "job `smoke`" or "step `Smoke` (file:line)"; `None` when nothing does.
    pub gated_by: Option<String>,
    /// False for a step that looks like a release but is not clearly a production promotion
    /// (`Build release`): it counts as wiring when gated and is no problem when not.
    pub required: bool,
}

/// The result of [`judge`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wiring {
    pub smoke_steps: Vec<SmokeStep>,
    pub promotions: Vec<Promotion>,
    pub problems: Vec<Finding>,
}

impl Wiring {
    /// The wiring rules hold: a gating smoke step exists, something promotes after it, and
    /// nothing promotes without it.
    pub fn holds(&self) -> bool {
        self.problems.is_empty()
    }
}

// =============================================================================================
// The model

/// `defaults.run` at workflow or job level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunDefaults {
    pub shell: Option<String>,
    pub working_directory: Option<String>,
}

/// An `if:` value: `text` is the expression with a `${{ }}` that wraps the whole value
/// removed (a YAML boolean becomes `true`/`false`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cond {
    pub text: String,
    pub line: usize,
}

/// A `continue-on-error:` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContinueOnError {
    /// Literal `false` (or absent: then the field is `None`).
    False,
    /// Literal `true`.
    True,
    /// An expression (`${{ ... }}`): the rules count it as true.
    Expr(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub script: String,
    /// File line of the `run:` key.
    pub line: usize,
    /// A literal block (`run: |`) whose script line `n` is file line `line + n`; otherwise
    /// every script line is reported at `line`.
    pub literal_block: bool,
}

impl Run {
    /// The workflow file line of line `n` (1-based) of the script.
    pub fn file_line(&self, n: usize) -> usize {
        if self.literal_block {
            self.line + n.max(1)
        } else {
            self.line
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// 0-based position in the job.
    pub index: usize,
    pub line: usize,
    pub name: Option<String>,
    pub id: Option<String>,
    pub if_: Option<Cond>,
    pub run: Option<Run>,
    pub uses: Option<String>,
    pub shell: Option<String>,
    pub working_directory: Option<String>,
    pub continue_on_error: Option<(ContinueOnError, usize)>,
}

impl Step {
    /// How the student refers to the step: its name, its id, or "step N".
    pub fn label(&self) -> String {
        self.name
            .clone()
            .or_else(|| self.id.clone())
            .unwrap_or_else(|| format!("step {}", self.index + 1))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: String,
    pub name: Option<String>,
    pub line: usize,
    pub needs: Vec<String>,
    pub if_: Option<Cond>,
    /// The environment name (`environment: production` or `environment: {name: ...}`).
    pub environment: Option<String>,
    pub continue_on_error: Option<(ContinueOnError, usize)>,
    /// A reusable workflow this job calls.
    pub uses: Option<String>,
    /// `runs-on` when it is a plain string.
    pub runs_on: Option<String>,
    pub defaults: RunDefaults,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workflow {
    pub path: String,
    pub name: Option<String>,
    /// `on:` lists only `workflow_call`: the workflow runs only when another one calls it.
    pub call_only: bool,
    pub defaults: RunDefaults,
    pub jobs: Vec<Job>,
}

impl Workflow {
    pub fn job(&self, id: &str) -> Option<usize> {
        self.jobs.iter().position(|j| j.id == id)
    }
}

/// Whether GitHub runs `path` (repository-relative) as a workflow: a `.yml`/`.yaml` file
/// directly in `.github/workflows/`.
pub fn is_workflow_path(path: &str) -> bool {
    let p = path.replace('\\', "/");
    let p = p.trim_start_matches("./");
    let Some(name) = p.strip_prefix(WORKFLOWS) else {
        return false;
    };
    !name.is_empty() && !name.contains('/') && (name.ends_with(".yml") || name.ends_with(".yaml"))
}

/// Parses a workflow file with anchors, aliases and merge keys resolved; the error carries the
/// 1-based line where the parser knows it.
pub fn parse_yaml(text: &str) -> Result<Value, (Option<usize>, String)> {
    if text.len() > MAX_WORKFLOW_BYTES {
        return Err((
            None,
            format!("the file is over {} KiB", MAX_WORKFLOW_BYTES / 1024),
        ));
    }
    yaml::value_with_merges(text).map_err(|e| (e.line, e.message))
}

fn scalar(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Tagged(t) => scalar(Some(&t.value)),
        _ => None,
    }
}

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Mapping(m) => m.get(key),
        Value::Tagged(t) => get(&t.value, key),
        _ => None,
    }
}

fn run_defaults(v: Option<&Value>) -> RunDefaults {
    let run = v.and_then(|d| get(d, "run"));
    RunDefaults {
        shell: scalar(run.and_then(|r| get(r, "shell"))),
        working_directory: scalar(run.and_then(|r| get(r, "working-directory"))),
    }
}

fn continue_on_error(v: Option<&Value>, line: usize) -> Option<(ContinueOnError, usize)> {
    let value = match v? {
        Value::Bool(false) => ContinueOnError::False,
        Value::Bool(true) => ContinueOnError::True,
        Value::Null => return None,
        other => match scalar(Some(other)) {
            Some(s) if s.trim() == "false" => ContinueOnError::False,
            Some(s) if s.trim() == "true" => ContinueOnError::True,
            Some(s) => ContinueOnError::Expr(s),
            None => ContinueOnError::Expr("(a non-scalar value)".into()),
        },
    };
    Some((value, line))
}

/// Reads one workflow file. `path` is repository-relative. Fails (with the file's line where
/// known) when the text is not YAML or has no `jobs:` mapping.
pub fn load(path: &str, text: &str) -> Result<Workflow, Finding> {
    let bad = |line: Option<usize>, what: String| Finding {
        file: path.to_string(),
        line,
        rule: "smoke.workflow-unreadable",
        message: format!("{path} cannot be read as a workflow: {what}"),
        fix: "fix the file so that GitHub can run it (check it with `actionlint`)".into(),
    };
    let doc = parse_yaml(text).map_err(|(line, msg)| bad(line, msg))?;
    let index = lines::LineIndex::new(text);
    let jobs_value = get(&doc, "jobs").ok_or_else(|| bad(None, "it has no `jobs:`".into()))?;
    let Value::Mapping(jobs_map) = jobs_value else {
        return Err(bad(
            index.line(&["jobs"]),
            "`jobs:` is not a mapping".into(),
        ));
    };
    let on = get(&doc, "on");
    let call_only = match on {
        Some(Value::String(s)) => s == "workflow_call",
        Some(Value::Sequence(s)) => {
            !s.is_empty() && s.iter().all(|v| v.as_str() == Some("workflow_call"))
        }
        Some(Value::Mapping(m)) => {
            !m.is_empty() && m.keys().all(|k| k.as_str() == Some("workflow_call"))
        }
        _ => false,
    };
    let mut jobs = Vec::new();
    for (key, job) in jobs_map {
        let Some(id) = scalar(Some(key)) else {
            continue;
        };
        let jl = |rest: &[&str]| {
            let mut p = vec!["jobs", id.as_str()];
            p.extend_from_slice(rest);
            index.line(&p)
        };
        let job_line = jl(&[]).unwrap_or(1);
        let at = |rest: &[&str]| jl(rest).unwrap_or(job_line);
        let needs = match get(job, "needs") {
            Some(Value::Sequence(items)) => items.iter().filter_map(|v| scalar(Some(v))).collect(),
            other => scalar(other).into_iter().collect(),
        };
        let env = get(job, "environment");
        let environment = scalar(env).or_else(|| scalar(env.and_then(|e| get(e, "name"))));
        let mut steps = Vec::new();
        if let Some(Value::Sequence(items)) = get(job, "steps") {
            for (i, step) in items.iter().enumerate() {
                let n = i.to_string();
                let sl = |key: &str| {
                    let mut p = vec!["jobs", id.as_str(), "steps", n.as_str()];
                    if !key.is_empty() {
                        p.push(key);
                    }
                    index.line(&p)
                };
                let step_line = sl("").unwrap_or(job_line);
                let run = scalar(get(step, "run")).map(|script| {
                    let (line, literal_block) =
                        match index.entry_of(&["jobs", id.as_str(), "steps", n.as_str(), "run"]) {
                            Some(e) => (e.line, e.literal_block),
                            None => (step_line, false),
                        };
                    Run {
                        script,
                        line,
                        literal_block,
                    }
                });
                steps.push(Step {
                    index: i,
                    line: step_line,
                    name: scalar(get(step, "name")),
                    id: scalar(get(step, "id")),
                    if_: scalar(get(step, "if")).map(|t| Cond {
                        text: expr::strip_wrapper(&t),
                        line: sl("if").unwrap_or(step_line),
                    }),
                    run,
                    uses: scalar(get(step, "uses")),
                    shell: scalar(get(step, "shell")),
                    working_directory: scalar(get(step, "working-directory")),
                    continue_on_error: continue_on_error(
                        get(step, "continue-on-error"),
                        sl("continue-on-error").unwrap_or(step_line),
                    ),
                });
            }
        }
        jobs.push(Job {
            name: scalar(get(job, "name")),
            line: job_line,
            needs,
            if_: scalar(get(job, "if")).map(|t| Cond {
                text: expr::strip_wrapper(&t),
                line: at(&["if"]),
            }),
            environment,
            continue_on_error: continue_on_error(
                get(job, "continue-on-error"),
                at(&["continue-on-error"]),
            ),
            uses: scalar(get(job, "uses")),
            runs_on: scalar(get(job, "runs-on")),
            defaults: run_defaults(get(job, "defaults")),
            steps,
            id,
        });
    }
    Ok(Workflow {
        path: path.to_string(),
        name: scalar(get(&doc, "name")),
        call_only,
        defaults: run_defaults(get(&doc, "defaults")),
        jobs,
    })
}

// =============================================================================================
// Shells

/// How GitHub runs a step's script: the options for a bash/sh step, or why it cannot be
/// checked.
pub fn step_shell(wf: &Workflow, job: &Job, step: &Step) -> Result<ShellOptions, String> {
    let shell = step
        .shell
        .clone()
        .or_else(|| job.defaults.shell.clone())
        .or_else(|| wf.defaults.shell.clone());
    let Some(shell) = shell else {
        // GitHub's default: `bash -e {0}` on Linux and macOS, pwsh on Windows runners
        if job
            .runs_on
            .as_deref()
            .is_some_and(|r| r.to_lowercase().contains("windows"))
        {
            return Err(
                "the step runs on Windows, where the default shell is `pwsh`, which \
                        cannot be checked; add `shell: bash` to the step"
                    .into(),
            );
        }
        return Ok(ShellOptions {
            errexit: true,
            pipefail: false,
        });
    };
    let words: Vec<&str> = shell.split_whitespace().collect();
    match words.as_slice() {
        ["bash"] => {
            return Ok(ShellOptions {
                errexit: true,
                pipefail: true,
            });
        }
        ["sh"] => {
            return Ok(ShellOptions {
                errexit: true,
                pipefail: false,
            });
        }
        [] => return Err("the step's `shell:` is empty".into()),
        _ => {}
    }
    let program = words[0].rsplit('/').next().unwrap_or(words[0]);
    let mut rest = &words[1..];
    if program == "env" {
        // `/usr/bin/env bash {0}`
        let Some((first, tail)) = rest.split_first() else {
            return Err(unseen_shell(&shell));
        };
        if *first != "bash" && *first != "sh" {
            return Err(unseen_shell(&shell));
        }
        rest = tail;
    } else if program != "bash" && program != "sh" {
        return Err(unseen_shell(&shell));
    }
    if !rest.contains(&"{0}") {
        return Err(format!(
            "the custom shell `{shell}` does not run the script file `{{0}}`"
        ));
    }
    let mut opts = ShellOptions {
        errexit: false,
        pipefail: false,
    };
    let mut i = 0;
    while i < rest.len() {
        let w = rest[i];
        match w {
            "{0}" => {}
            "--noprofile" | "--norc" | "--login" | "--posix" => {}
            "-o" | "+o" => {
                let on = w == "-o";
                match rest.get(i + 1).copied() {
                    Some("errexit") => opts.errexit = on,
                    Some("pipefail") => opts.pipefail = on,
                    Some("nounset" | "xtrace" | "verbose" | "noglob") => {}
                    _ => return Err(unseen_shell(&shell)),
                }
                i += 1;
            }
            _ if (w.starts_with('-') || w.starts_with('+')) && !w.starts_with("--") => {
                let on = w.starts_with('-');
                let flags: Vec<char> = w[1..].chars().collect();
                for (k, f) in flags.iter().enumerate() {
                    match f {
                        'e' => opts.errexit = on,
                        'u' | 'x' | 'v' | 'l' | 'f' => {}
                        'o' if k + 1 == flags.len() => {
                            match rest.get(i + 1).copied() {
                                Some("errexit") => opts.errexit = on,
                                Some("pipefail") => opts.pipefail = on,
                                Some("nounset" | "xtrace" | "verbose" | "noglob") => {}
                                _ => return Err(unseen_shell(&shell)),
                            }
                            i += 1;
                        }
                        _ => return Err(unseen_shell(&shell)),
                    }
                }
            }
            _ => return Err(unseen_shell(&shell)),
        }
        i += 1;
    }
    Ok(opts)
}

fn unseen_shell(shell: &str) -> String {
    format!("a `shell: {shell}` step cannot be checked; run the script in a bash step")
}

// =============================================================================================
// Judging

/// What a candidate smoke step is worth.
#[derive(Debug, Clone)]
struct SmokeCandidate {
    job: usize,
    step: usize,
    /// File line of the invocation.
    line: usize,
    /// Why it cannot gate anything (empty: it gates).
    defects: Vec<Finding>,
}

/// A workflow with what judging found in it.
struct Wf {
    w: Workflow,
    smoke: Vec<SmokeCandidate>,
    /// `run:` steps that mention the script but do not run it.
    near_misses: Vec<(usize, usize)>,
}

/// Whether job `j` fails when the smoke script fails, and if not, why.
#[derive(Debug, Clone)]
enum SmokeJob {
    /// Not a smoke job at all.
    No,
    /// It fails when the script fails.
    Gates,
    /// It runs (or calls) the script but cannot block: the reasons.
    Broken(Vec<Finding>),
}

struct Judge<'a> {
    wfs: Vec<Wf>,
    step_runs: StepRunReader<'a>,
}

fn loc(file: &str, line: usize) -> String {
    format!("{file}:{line}")
}

fn finding(file: &str, line: usize, rule: &'static str, message: String, fix: &str) -> Finding {
    Finding {
        file: file.to_string(),
        line: Some(line),
        rule,
        message,
        fix: fix.to_string(),
    }
}

fn lower_names(id: &str, name: Option<&str>) -> String {
    format!("{} {}", id, name.unwrap_or("")).to_lowercase()
}

/// `Some(true)`: a production environment; `None`: an expression that could be one.
fn production(env: Option<&str>) -> Option<bool> {
    let e = env?.trim().to_lowercase();
    if e.contains("${{") {
        return None;
    }
    Some(e.starts_with("prod"))
}

fn job_promotes(job: &Job) -> bool {
    let text = lower_names(&job.id, job.name.as_deref());
    let prod = production(job.environment.as_deref()) != Some(false) && job.environment.is_some();
    text.contains("promote")
        || text.contains("release")
        || prod
        || (text.contains("deploy") && text.contains("prod"))
}

/// (required, optional) promotion by a step's name or id.
fn step_promotes(job: &Job, step: &Step) -> (bool, bool) {
    let text = lower_names(step.id.as_deref().unwrap_or(""), step.name.as_deref());
    let prod = text.contains("prod")
        || (job.environment.is_some() && production(job.environment.as_deref()) != Some(false));
    let required =
        text.contains("promote") || ((text.contains("deploy") || text.contains("release")) && prod);
    let optional = required || text.contains("release");
    (required, optional)
}

/// The job a local `uses:` refers to: `./.github/workflows/x.yml`.
fn local_target(uses: &str) -> Option<String> {
    let p = uses.trim().strip_prefix("./")?;
    is_workflow_path(p).then(|| p.to_string())
}

impl Judge<'_> {
    fn find_wf(&self, path: &str) -> Option<usize> {
        let want = path.trim_start_matches("./");
        self.wfs
            .iter()
            .position(|w| w.w.path.trim_start_matches("./") == want)
    }

    /// Runs the bash reader over every `run:` step that mentions the script.
    fn read_steps(&mut self) {
        for wi in 0..self.wfs.len() {
            let mut smoke = Vec::new();
            let mut near = Vec::new();
            let w = &self.wfs[wi].w;
            for (ji, job) in w.jobs.iter().enumerate() {
                for (si, step) in job.steps.iter().enumerate() {
                    let Some(run) = &step.run else { continue };
                    if !run.script.contains("smoke") {
                        continue;
                    }
                    let wd = step
                        .working_directory
                        .as_deref()
                        .or(job.defaults.working_directory.as_deref())
                        .or(w.defaults.working_directory.as_deref());
                    let verdict = match step_shell(w, job, step) {
                        Ok(opts) => (self.step_runs)(&run.script, &opts, wd),
                        Err(why) => StepRun::Unseen { line: 1, why },
                    };
                    let here = |l: usize| run.file_line(l);
                    let label = step.label();
                    let mut defects = Vec::new();
                    let line = match &verdict {
                        StepRun::NotRun => {
                            near.push((ji, si));
                            continue;
                        }
                        StepRun::Runs { line, .. } => here(*line),
                        StepRun::FailureIgnored { line, why } => {
                            defects.push(finding(
                                &w.path,
                                here(*line),
                                "smoke.gate-cancelled",
                                format!(
                                    "step `{label}` of job `{}` ({}) runs {SCRIPT}, but its \
                                     failure does not fail the step: {why}",
                                    job.id,
                                    loc(&w.path, here(*line))
                                ),
                                "let the script's exit status end the step: remove `|| true`, \
                                 `set +e`, `; exit 0` and similar, or add `set -o pipefail` \
                                 before a pipe",
                            ));
                            here(*line)
                        }
                        StepRun::Unseen { line, why } => {
                            defects.push(finding(
                                &w.path,
                                here(*line),
                                "smoke.unseen",
                                format!(
                                    "step `{label}` of job `{}` ({}) cannot be checked: {why}",
                                    job.id,
                                    loc(&w.path, here(*line))
                                ),
                                "run the script directly in a bash step: `run: scripts/smoke.sh`",
                            ));
                            here(*line)
                        }
                    };
                    if let Some((cl, what)) = step
                        .continue_on_error
                        .as_ref()
                        .and_then(|(coe, cl)| coe_text(coe).map(|what| (cl, what)))
                    {
                        defects.push(finding(
                            &w.path,
                            *cl,
                            "smoke.gate-cancelled",
                            format!(
                                "the smoke step `{label}` ({}) carries {what}, so the job goes \
                                 on when the smoke suite fails",
                                loc(&w.path, *cl)
                            ),
                            "remove `continue-on-error` from the smoke step",
                        ));
                    }
                    if let Some(cond) = &step.if_ {
                        let env = Assumptions::normal();
                        let skippable = expr::can_be_false(&cond.text, &env);
                        let why = match skippable {
                            Ok(false) => None,
                            Ok(true) if cond.text == "false" => {
                                Some("`if: false` is never true".to_string())
                            }
                            Ok(true) => Some(format!("`if: {}` can be false", cond.text)),
                            Err(e) => Some(format!("the `if:` expression could not be read ({e})")),
                        };
                        if let Some(why) = why {
                            defects.push(finding(
                                &w.path,
                                cond.line,
                                "smoke.gate-skippable",
                                format!(
                                    "the smoke step `{label}` ({}) can be skipped on a deploy: \
                                     {why}, and a skipped step lets the job succeed",
                                    loc(&w.path, cond.line)
                                ),
                                "remove the `if:` from the smoke step; to run the gate only on \
                                 some branches, put the condition on the jobs instead",
                            ));
                        }
                    }
                    smoke.push(SmokeCandidate {
                        job: ji,
                        step: si,
                        line,
                        defects,
                    });
                }
            }
            self.wfs[wi].smoke = smoke;
            self.wfs[wi].near_misses = near;
        }
    }

    /// Whether job `ji` of workflow `wi` fails when the smoke suite fails.
    fn smoke_job(&self, wi: usize, ji: usize, depth: usize) -> SmokeJob {
        let w = &self.wfs[wi].w;
        let job = &w.jobs[ji];
        let mut defects = Vec::new();
        let mut gates = false;
        if let Some(uses) = &job.uses {
            if depth >= MAX_CALL_DEPTH {
                return SmokeJob::No;
            }
            match local_target(uses).and_then(|p| self.find_wf(&p)) {
                Some(target) => {
                    let mut any = false;
                    for tj in 0..self.wfs[target].w.jobs.len() {
                        match self.smoke_job(target, tj, depth + 1) {
                            SmokeJob::No => {}
                            SmokeJob::Gates => {
                                // within the called workflow, its job must not be skippable
                                let tjob = &self.wfs[target].w.jobs[tj];
                                match tjob.if_.as_ref().map(|c| {
                                    (c, expr::can_be_false(&c.text, &Assumptions::normal()))
                                }) {
                                    None | Some((_, Ok(false))) => gates = true,
                                    Some((c, r)) => {
                                        any = true;
                                        let tpath = &self.wfs[target].w.path;
                                        defects.push(finding(
                                            tpath,
                                            c.line,
                                            "smoke.gate-skippable",
                                            format!(
                                                "job `{}` of the reusable workflow {tpath} ({}) \
                                                 runs the smoke suite but {}, and a skipped \
                                                 job lets the calling job `{}` succeed",
                                                tjob.id,
                                                loc(tpath, c.line),
                                                match r {
                                                    Err(e) => format!(
                                                        "its `if:` could not be read ({e})"
                                                    ),
                                                    _ => format!("`if: {}` can be false", c.text),
                                                },
                                                job.id
                                            ),
                                            "remove the `if:` from that job",
                                        ));
                                    }
                                }
                            }
                            SmokeJob::Broken(d) => {
                                any = true;
                                defects.extend(d);
                            }
                        }
                    }
                    if !gates && !any {
                        return SmokeJob::No;
                    }
                }
                None if local_target(uses).is_some() => {
                    defects.push(finding(
                        &w.path,
                        job.line,
                        "smoke.unseen",
                        format!(
                            "job `{}` ({}) calls `{uses}`, which is not among the repository's \
                             workflows",
                            job.id,
                            loc(&w.path, job.line)
                        ),
                        "point `uses:` at a workflow file directly in .github/workflows/",
                    ));
                }
                None => {
                    // a remote reusable workflow: its jobs cannot be seen
                    defects.push(finding(
                        &w.path,
                        job.line,
                        "smoke.unseen",
                        format!(
                            "job `{}` ({}) calls the reusable workflow `{uses}` from another \
                             repository, which the generator cannot read, so it cannot tell \
                             whether it runs {SCRIPT}",
                            job.id,
                            loc(&w.path, job.line)
                        ),
                        "run scripts/smoke.sh in a step of a workflow in this repository (a \
                         local `uses: ./.github/workflows/smoke.yml` is fine)",
                    ));
                }
            }
        } else {
            let cands: Vec<&SmokeCandidate> =
                self.wfs[wi].smoke.iter().filter(|c| c.job == ji).collect();
            if cands.is_empty() {
                return SmokeJob::No;
            }
            for c in cands {
                if c.defects.is_empty() {
                    gates = true;
                } else {
                    defects.extend(c.defects.iter().cloned());
                }
            }
        }
        if let Some((cl, what)) = job
            .continue_on_error
            .as_ref()
            .and_then(|(coe, cl)| coe_text(coe).map(|what| (cl, what)))
        {
            return SmokeJob::Broken(vec![finding(
                &w.path,
                *cl,
                "smoke.gate-cancelled",
                format!(
                    "the smoke job `{}` ({}) carries {what}, so jobs that \
                     need it run even when the smoke suite fails",
                    job.id,
                    loc(&w.path, *cl)
                ),
                "remove `continue-on-error` from the smoke job",
            )]);
        }
        if gates {
            SmokeJob::Gates
        } else {
            SmokeJob::Broken(defects)
        }
    }

    /// The jobs `ji` needs, directly or transitively (a cycle is cut).
    fn ancestors(w: &Workflow, ji: usize) -> Vec<usize> {
        let mut seen = vec![false; w.jobs.len()];
        let mut stack = vec![ji];
        let mut out = Vec::new();
        while let Some(j) = stack.pop() {
            for n in &w.jobs[j].needs {
                if let Some(k) = w.job(n).filter(|&k| !seen[k]) {
                    seen[k] = true;
                    if k != ji {
                        out.push(k);
                    }
                    stack.push(k);
                }
            }
        }
        out.sort_unstable();
        out
    }

    /// What job `ji` may assume when smoke job `s` failed (`failed`) or was skipped.
    fn env_after(w: &Workflow, ji: usize, s: usize, failed: bool, depth: usize) -> Assumptions {
        let mut env = Assumptions {
            success: false,
            failure: failed,
            cancelled: false,
            needs: Vec::new(),
            steps: Vec::new(),
        };
        for n in &w.jobs[ji].needs {
            let Some(k) = w.job(n) else { continue };
            if k == s {
                env.needs
                    .push((n.clone(), if failed { "failure" } else { "skipped" }.into()));
            } else if Self::ancestors(w, k).contains(&s)
                && !Self::can_run_after(w, k, s, failed, depth + 1)
            {
                env.needs.push((n.clone(), "skipped".into()));
            }
        }
        env
    }

    /// Whether job `ji`, which depends on smoke job `s`, can run when `s` failed / was
    /// skipped. Unreadable conditions can run (fail closed).
    fn can_run_after(w: &Workflow, ji: usize, s: usize, failed: bool, depth: usize) -> bool {
        if depth > w.jobs.len() + 1 {
            return true;
        }
        let text = w.jobs[ji]
            .if_
            .as_ref()
            .map_or("success()", |c| c.text.as_str());
        expr::can_be_true(text, &Self::env_after(w, ji, s, failed, depth)).unwrap_or(true)
    }

    /// Whether promoting job `p` is gated by smoke job `s` (an ancestor that gates); the
    /// finding says why not.
    fn gated_by_needs(&self, wi: usize, p: usize, s: usize) -> Result<(), Finding> {
        let w = &self.wfs[wi].w;
        let (pj, sj) = (&w.jobs[p], &w.jobs[s]);
        let pcond = pj.if_.as_ref();
        let ptext = pcond.map_or("success()", |c| c.text.as_str());
        let pline = pcond.map_or(pj.line, |c| c.line);
        let direct = pj.needs.iter().any(|n| n == &sj.id);
        let env = Self::env_after(w, p, s, true, 0);
        match expr::can_be_true(ptext, &env) {
            Ok(false) => {}
            r => {
                let why = match r {
                    Err(e) => format!("the `if:` expression could not be read ({e})"),
                    _ => format!(
                        "its `if: {ptext}` is true for some run in which `{}` failed{}",
                        sj.id,
                        if direct {
                            String::new()
                        } else {
                            format!(" (it needs `{}` through other jobs)", sj.id)
                        }
                    ),
                };
                return Err(finding(
                    &w.path,
                    pline,
                    "smoke.gate-bypassed",
                    format!(
                        "job `{}` ({}) can promote even when the smoke job failed: {why}",
                        pj.id,
                        loc(&w.path, pline)
                    ),
                    &format!(
                        "drop the `if:` (GitHub then runs the job only when `{0}` passed), or \
                         require it: `if: ${{{{ always() && needs.{0}.result == 'success' }}}}`",
                        sj.id
                    ),
                ));
            }
        }
        // The smoke job's own `if:`: when it can be false, the promoting job must not run
        // when the smoke job was skipped.
        if let Some(c) = &sj.if_ {
            let skippable = expr::can_be_false(&c.text, &Assumptions::normal()).unwrap_or(true);
            if skippable
                && (Self::can_run_after(w, p, s, false, 0)
                    || expr::can_be_true(ptext, &Self::env_after(w, p, s, false, 0))
                        .unwrap_or(true))
            {
                return Err(finding(
                    &w.path,
                    c.line,
                    "smoke.gate-skippable",
                    format!(
                        "the smoke job `{}` ({}) is skipped when `{}` is false, and job `{}` \
                         ({}) still promotes when it is skipped",
                        sj.id,
                        loc(&w.path, c.line),
                        c.text,
                        pj.id,
                        loc(&w.path, pline)
                    ),
                    &format!(
                        "remove the smoke job's `if:`, or give `{}` an `if:` that requires \
                         `needs.{}.result == 'success'`",
                        pj.id, sj.id
                    ),
                ));
            }
        }
        Ok(())
    }

    fn judge(&mut self) -> Wiring {
        self.read_steps();
        let mut wiring = Wiring::default();
        let mut smoke_state: Vec<Vec<SmokeJob>> = Vec::new();
        for wi in 0..self.wfs.len() {
            let states = (0..self.wfs[wi].w.jobs.len())
                .map(|j| self.smoke_job(wi, j, 0))
                .collect();
            smoke_state.push(states);
        }
        for wf in &self.wfs {
            for c in &wf.smoke {
                let job = &wf.w.jobs[c.job];
                wiring.smoke_steps.push(SmokeStep {
                    file: wf.w.path.clone(),
                    line: c.line,
                    job: job.id.clone(),
                    step: job.steps[c.step].label(),
                    gates: c.defects.is_empty(),
                });
            }
        }
        let mut problems: Vec<Finding> = Vec::new();
        let mut call_only_ungated: Vec<(usize, Vec<Finding>)> = Vec::new();
        for (wi, states) in smoke_state.iter().enumerate() {
            let mut wf_problems = Vec::new();
            let w = &self.wfs[wi].w;
            for ji in 0..w.jobs.len() {
                let (proms, findings) = self.judge_job(wi, ji, states);
                wiring.promotions.extend(proms);
                wf_problems.extend(findings);
            }
            if w.call_only && !wf_problems.is_empty() {
                call_only_ungated.push((wi, wf_problems));
            } else {
                problems.extend(wf_problems);
            }
        }
        // A workflow that runs only when called: its promotions are gated when every caller
        // job in this repository is.
        for (wi, inner) in call_only_ungated {
            let target = self.wfs[wi].w.path.clone();
            let mut callers = Vec::new();
            for (ci, wf) in self.wfs.iter().enumerate() {
                for (ji, job) in wf.w.jobs.iter().enumerate() {
                    if job.uses.as_deref().and_then(local_target).as_deref()
                        == Some(target.trim_start_matches("./"))
                    {
                        callers.push((ci, ji));
                    }
                }
            }
            if callers.is_empty() {
                problems.extend(inner.into_iter().map(|mut f| {
                    f.message.push_str(&format!(
                        " ({target} runs only when another workflow calls it, and no \
                         workflow here does)"
                    ));
                    f
                }));
                continue;
            }
            for (ci, ji) in callers {
                match self.gate_of_job(ci, ji, &smoke_state[ci]) {
                    Ok(by) => wiring.promotions.push(Promotion {
                        file: self.wfs[ci].w.path.clone(),
                        line: self.wfs[ci].w.jobs[ji].line,
                        job: self.wfs[ci].w.jobs[ji].id.clone(),
                        step: None,
                        gated_by: Some(by),
                        required: true,
                    }),
                    Err(mut f) => {
                        let cj = &self.wfs[ci].w.jobs[ji];
                        let head = finding(
                            &self.wfs[ci].w.path,
                            cj.line,
                            "smoke.ungated",
                            format!(
                                "job `{}` ({}) calls {target}, which promotes, but is not gated \
                                 by the smoke job",
                                cj.id,
                                loc(&self.wfs[ci].w.path, cj.line)
                            ),
                            "give the calling job `needs:` the job that runs scripts/smoke.sh",
                        );
                        problems.push(head);
                        problems.append(&mut f);
                    }
                }
            }
        }
        let any_gating = self
            .wfs
            .iter()
            .any(|w| w.smoke.iter().any(|c| c.defects.is_empty()))
            || smoke_state
                .iter()
                .flatten()
                .any(|s| matches!(s, SmokeJob::Gates));
        let any_smoke = !wiring.smoke_steps.is_empty()
            || smoke_state
                .iter()
                .flatten()
                .any(|s| !matches!(s, SmokeJob::No));
        if !any_smoke {
            problems.push(self.not_wired());
        } else if !any_gating {
            // every candidate is broken: say why, once each
            for s in smoke_state.iter().flatten() {
                if let SmokeJob::Broken(d) = s {
                    problems.extend(d.iter().cloned());
                }
            }
        } else if !wiring
            .promotions
            .iter()
            .any(|p| p.gated_by.is_some() || p.required)
        {
            let first = &wiring
                .smoke_steps
                .iter()
                .find(|s| s.gates)
                .or(wiring.smoke_steps.first());
            let (file, line) = first
                .map_or((WORKFLOWS.trim_end_matches('/').to_string(), None), |s| {
                    (s.file.clone(), Some(s.line))
                });
            problems.push(Finding {
                file,
                line,
                rule: "smoke.no-promotion",
                message: "nothing promotes after the smoke step, so it gates nothing: no job or \
                          step that promotes (its name or id contains `promote`, `release`, or \
                          `deploy` to production, or it has `environment: production`) runs \
                          after it"
                    .into(),
                fix: "run the promotion after the smoke step in the same job, or give the \
                      promoting job `needs:` the smoke job"
                    .into(),
            });
        }
        // de-duplicate (the same broken smoke step may explain several promotions)
        let mut seen = Vec::new();
        for p in problems {
            if !seen.contains(&p) {
                seen.push(p);
            }
        }
        wiring.problems = seen;
        wiring
    }

    /// How job `ji` is gated through `needs:` (a description), or the findings that explain
    /// why not.
    fn gate_of_job(
        &self,
        wi: usize,
        ji: usize,
        states: &[SmokeJob],
    ) -> Result<String, Vec<Finding>> {
        let w = &self.wfs[wi].w;
        let mut why = Vec::new();
        for s in Self::ancestors(w, ji) {
            match &states[s] {
                SmokeJob::No => {}
                SmokeJob::Broken(d) => why.extend(d.iter().cloned()),
                SmokeJob::Gates => match self.gated_by_needs(wi, ji, s) {
                    Ok(()) => return Ok(format!("job `{}`", w.jobs[s].id)),
                    Err(f) => why.push(f),
                },
            }
        }
        Err(why)
    }

    /// The promotions in job `ji` and the problems with them.
    fn judge_job(
        &self,
        wi: usize,
        ji: usize,
        states: &[SmokeJob],
    ) -> (Vec<Promotion>, Vec<Finding>) {
        let wf = &self.wfs[wi];
        let w = &wf.w;
        let job = &w.jobs[ji];
        let job_unit = job_promotes(job);
        let step_units: Vec<(usize, bool)> = job
            .steps
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let (req, opt) = step_promotes(job, s);
                opt.then_some((i, req))
            })
            .collect();
        // a job calling a local workflow that promotes is judged through the callee
        if !job_unit && step_units.is_empty() {
            return (Vec::new(), Vec::new());
        }
        let mut proms = Vec::new();
        let mut problems = Vec::new();
        let needs_gate = self.gate_of_job(wi, ji, states);
        if let Ok(by) = &needs_gate {
            if job_unit {
                proms.push(Promotion {
                    file: w.path.clone(),
                    line: job.line,
                    job: job.id.clone(),
                    step: None,
                    gated_by: Some(by.clone()),
                    required: true,
                });
            }
            for (i, req) in &step_units {
                proms.push(Promotion {
                    file: w.path.clone(),
                    line: job.steps[*i].line,
                    job: job.id.clone(),
                    step: Some(job.steps[*i].label()),
                    gated_by: Some(by.clone()),
                    required: *req,
                });
            }
            return (proms, problems);
        }
        let needs_why = needs_gate.err().unwrap_or_default();
        // Same job: the first smoke step that gates.
        let here: Vec<&SmokeCandidate> = wf.smoke.iter().filter(|c| c.job == ji).collect();
        let good = here.iter().find(|c| c.defects.is_empty());
        let mut step_why: Vec<Finding> = Vec::new();
        if good.is_none() {
            for c in &here {
                step_why.extend(c.defects.iter().cloned());
            }
        }
        let mut job_gated_here = None;
        if let Some(g) = good {
            let smoke_step = &job.steps[g.step];
            let by = format!("step `{}` ({})", smoke_step.label(), loc(&w.path, g.line));
            let mut all_ok = true;
            for (i, req) in &step_units {
                let st = &job.steps[*i];
                let verdict = if *i < g.step {
                    Err(finding(
                        &w.path,
                        st.line,
                        "smoke.ungated",
                        format!(
                            "step `{}` ({}) promotes before the smoke step `{}` ({}) has run",
                            st.label(),
                            loc(&w.path, st.line),
                            smoke_step.label(),
                            loc(&w.path, g.line)
                        ),
                        "move the smoke step before the promotion",
                    ))
                } else if *i == g.step {
                    Ok(())
                } else {
                    self.step_after_smoke(w, job, smoke_step, st)
                };
                match verdict {
                    Ok(()) => proms.push(Promotion {
                        file: w.path.clone(),
                        line: st.line,
                        job: job.id.clone(),
                        step: Some(st.label()),
                        gated_by: Some(by.clone()),
                        required: *req,
                    }),
                    Err(f) => {
                        proms.push(Promotion {
                            file: w.path.clone(),
                            line: st.line,
                            job: job.id.clone(),
                            step: Some(st.label()),
                            gated_by: None,
                            required: *req,
                        });
                        if *req || job_unit {
                            all_ok = false;
                            problems.push(f);
                        }
                    }
                }
            }
            if job_unit {
                if g.step + 1 >= job.steps.len() {
                    all_ok = false;
                    problems.push(finding(
                        &w.path,
                        g.line,
                        "smoke.ungated",
                        format!(
                            "the smoke step `{}` ({}) is the last step of job `{}`, which \
                             promotes, so the promotion happens before the suite runs",
                            smoke_step.label(),
                            loc(&w.path, g.line),
                            job.id
                        ),
                        "run the smoke suite before the promoting step",
                    ));
                }
                if all_ok {
                    job_gated_here = Some(by);
                }
            }
            if job_unit {
                proms.push(Promotion {
                    file: w.path.clone(),
                    line: job.line,
                    job: job.id.clone(),
                    step: None,
                    gated_by: job_gated_here,
                    required: true,
                });
            }
            return (proms, problems);
        }
        // Not gated at all.
        let mut why = needs_why;
        why.extend(step_why);
        let required = job_unit || step_units.iter().any(|(_, r)| *r);
        for (i, req) in &step_units {
            proms.push(Promotion {
                file: w.path.clone(),
                line: job.steps[*i].line,
                job: job.id.clone(),
                step: Some(job.steps[*i].label()),
                gated_by: None,
                required: *req,
            });
        }
        if job_unit {
            proms.push(Promotion {
                file: w.path.clone(),
                line: job.line,
                job: job.id.clone(),
                step: None,
                gated_by: None,
                required: true,
            });
        }
        if !required {
            return (proms, problems);
        }
        let what = if job_unit {
            format!("job `{}` ({}) promotes", job.id, loc(&w.path, job.line))
        } else {
            let (i, _) = step_units
                .iter()
                .find(|(_, r)| *r)
                .copied()
                .unwrap_or((0, true));
            let st = &job.steps[i];
            format!(
                "step `{}` of job `{}` ({}) promotes",
                st.label(),
                job.id,
                loc(&w.path, st.line)
            )
        };
        if why.is_empty() {
            let near: Vec<String> = wf
                .near_misses
                .iter()
                .filter(|(j, _)| *j == ji || Self::ancestors(w, ji).contains(j))
                .map(|(j, s)| {
                    let st = &w.jobs[*j].steps[*s];
                    format!(
                        "step `{}` ({}) mentions {SCRIPT} but never runs it",
                        st.label(),
                        loc(&w.path, st.run.as_ref().map_or(st.line, |r| r.line))
                    )
                })
                .collect();
            let detail = if !near.is_empty() {
                format!("; {}", near.join("; "))
            } else if job.needs.is_empty() {
                " and has no `needs:`, so it runs without waiting for any smoke job".to_string()
            } else {
                format!(
                    ", but neither it nor any job it needs ({}) runs {SCRIPT}",
                    job.needs.join(", ")
                )
            };
            problems.push(finding(
                &w.path,
                job.line,
                "smoke.ungated",
                format!("{what} without a smoke run before it{detail}"),
                "give the job `needs:` the job that runs scripts/smoke.sh (or run the suite \
                 in an earlier step of the same job)",
            ));
        } else {
            problems.push(finding(
                &w.path,
                job.line,
                "smoke.ungated",
                format!("{what} without a working smoke gate before it (see the smoke gate's own problems listed with this one)"),
                "fix the smoke gate's problems listed with this one",
            ));
            problems.extend(why);
        }
        (proms, problems)
    }

    /// A promoting step after a gating smoke step in the same job: runs only if the smoke
    /// step passed?
    fn step_after_smoke(
        &self,
        w: &Workflow,
        job: &Job,
        smoke: &Step,
        st: &Step,
    ) -> Result<(), Finding> {
        let Some(c) = &st.if_ else { return Ok(()) };
        let env = Assumptions {
            success: false,
            failure: true,
            cancelled: false,
            needs: Vec::new(),
            steps: smoke
                .id
                .iter()
                .map(|id| (id.clone(), "failure".to_string()))
                .collect(),
        };
        let why = match expr::can_be_true(&c.text, &env) {
            Ok(false) => return Ok(()),
            Ok(true) => format!(
                "its `if: {}` is true for some run in which the smoke step failed",
                c.text
            ),
            Err(e) => format!("the `if:` expression could not be read ({e})"),
        };
        Err(finding(
            &w.path,
            c.line,
            "smoke.gate-bypassed",
            format!(
                "step `{}` of job `{}` ({}) can promote even when the smoke step `{}` failed: {why}",
                st.label(),
                job.id,
                loc(&w.path, c.line),
                smoke.label()
            ),
            "drop the `if:` from the promoting step, or make it `success() && ...`",
        ))
    }

    fn not_wired(&self) -> Finding {
        let mut hints = Vec::new();
        for wf in &self.wfs {
            for (j, s) in &wf.near_misses {
                let st = &wf.w.jobs[*j].steps[*s];
                hints.push(format!(
                    "step `{}` ({}) mentions {SCRIPT} but never runs it",
                    st.label(),
                    loc(&wf.w.path, st.run.as_ref().map_or(st.line, |r| r.line))
                ));
            }
        }
        Finding {
            file: WORKFLOWS.trim_end_matches('/').to_string(),
            line: None,
            rule: "smoke.not-wired",
            message: if hints.is_empty() {
                format!("no workflow under {WORKFLOWS} runs {SCRIPT}")
            } else {
                format!(
                    "no workflow under {WORKFLOWS} runs {SCRIPT}: {}",
                    hints.join("; ")
                )
            },
            fix: format!(
                "add a step `run: {SCRIPT}` to your deploy workflow, before the promotion"
            ),
        }
    }
}

/// `continue-on-error: X` as the student wrote it, with a note for expressions; `None` for
/// the literal `false`.
fn coe_text(c: &ContinueOnError) -> Option<String> {
    match c {
        ContinueOnError::False => None,
        ContinueOnError::True => Some("`continue-on-error: true`".into()),
        ContinueOnError::Expr(e) => Some(format!(
            "`continue-on-error: {e}` (an expression counts as true)"
        )),
    }
}

/// Applies the wiring rules (R4) to the repository's workflow files (repository-relative
/// paths and texts; files not directly in `.github/workflows/` are ignored, and named when
/// they are the only place the script is wired). `step_runs` is the bash reader.
pub fn judge(workflows: &[(String, String)], step_runs: StepRunReader<'_>) -> Wiring {
    let mut problems = Vec::new();
    let mut wfs = Vec::new();
    let mut ignored = Vec::new();
    for (path, text) in workflows {
        if !is_workflow_path(path) {
            if text.contains("smoke.sh") {
                ignored.push(path.clone());
            }
            continue;
        }
        match load(path, text) {
            Ok(w) => wfs.push(Wf {
                w,
                smoke: Vec::new(),
                near_misses: Vec::new(),
            }),
            Err(f) => problems.push(f),
        }
    }
    let mut judge = Judge { wfs, step_runs };
    let mut wiring = judge.judge();
    for f in &mut wiring.problems {
        if f.rule == "smoke.not-wired" && !ignored.is_empty() {
            f.message.push_str(&format!(
                "; {} {} not directly in {WORKFLOWS}, so GitHub never runs {}",
                ignored.join(", "),
                if ignored.len() == 1 { "is" } else { "are" },
                if ignored.len() == 1 { "it" } else { "them" }
            ));
            f.fix.push_str(&format!(
                " (move the workflow file directly into {WORKFLOWS})"
            ));
        }
    }
    problems.append(&mut wiring.problems);
    wiring.problems = problems;
    wiring
}

#[cfg(test)]
mod tests;
