//! GitHub Actions workflows as GitHub runs them, and the smoke-gate wiring rules: the
//! smoke step runs the script, cannot be skipped, and gates every promoting job.
//!
//! * [`load`] reads one workflow file into a small typed model ([`Workflow`]) with the file
//!   line of every job, step, `if:` and `run:` block (serde_yaml values carry no positions,
//!   so [`lines`] recovers them with a light scan of the block structure).
//! * [`expr`] parses `${{ }}` expressions and answers "can this `if:` be true (false)?" over
//!   every value of the contexts it cannot know.
//! * [`judge`] applies the wiring rules to all workflow files of a repository. The analysis of a step's
//!   `run:` script as bash is not done here: the caller passes it in (`step_runs`).
//!
//! No YAML call is made outside [`parse_yaml`], so that it can move into the project's YAML
//! module unchanged.
//!
//! Layout: `lib.rs` holds the public types and entry points; `model` loads a file, `shells`
//! decides how a step's script runs, and the wiring rules are in `judge` (the verdict), `smoke`
//! (which steps and jobs gate), `needs` (the job graph) and `promote` (what promotes).

pub(crate) mod expr;
mod judge;
pub(crate) mod lines;
mod model;
mod needs;
mod promote;
mod shells;
mod smoke;

#[cfg(test)]
mod tests;

use crate::load::yaml::{self, Value};

use self::judge::{Judge, Wf};

pub(crate) use self::model::load;

pub(crate) const SCRIPT: &str = "scripts/smoke.sh";
pub(crate) const WORKFLOWS: &str = ".github/workflows/";

/// Larger workflow files are refused before parsing.
const MAX_WORKFLOW_BYTES: usize = 512 * 1024;

/// A problem with the wiring, in the student's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub file: String,
    pub line: Option<usize>,
    pub rule: crate::evidence::Rule,
    pub message: String,
    pub fix: String,
}

pub(crate) use super::shell::{ShellOptions, StepRun};

/// The caller's bash reader: `(run script, shell options, working directory) -> StepRun`.
pub(crate) type StepRunReader<'a> = &'a dyn Fn(&str, &ShellOptions, Option<&str>) -> StepRun;

/// A step that runs the smoke script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SmokeStep {
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
pub(crate) struct Promotion {
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
pub(crate) struct Wiring {
    pub smoke_steps: Vec<SmokeStep>,
    pub promotions: Vec<Promotion>,
    pub problems: Vec<Finding>,
}

impl Wiring {}

/// `defaults.run` at workflow or job level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RunDefaults {
    pub shell: Option<String>,
    pub working_directory: Option<String>,
}

/// An `if:` value: `text` is the expression with a `${{ }}` that wraps the whole value
/// removed (a YAML boolean becomes `true`/`false`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cond {
    pub text: String,
    pub line: usize,
}

/// A `continue-on-error:` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ContinueOnError {
    /// Literal `false` (or absent: then the field is `None`).
    False,
    /// Literal `true`.
    True,
    /// An expression (`${{ ... }}`): the rules count it as true.
    Expr(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Run {
    pub script: String,
    /// File line of the `run:` key.
    pub line: usize,
    /// A literal block (`run: |`) whose script line `n` is file line `line + n`; otherwise
    /// every script line is reported at `line`.
    pub literal_block: bool,
}

impl Run {
    /// The workflow file line of line `n` (1-based) of the script.
    pub(crate) fn file_line(&self, n: usize) -> usize {
        if self.literal_block {
            self.line + n.max(1)
        } else {
            self.line
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Step {
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
    pub(crate) fn label(&self) -> String {
        self.name
            .clone()
            .or_else(|| self.id.clone())
            .unwrap_or_else(|| format!("step {}", self.index + 1))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Job {
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
pub(crate) struct Workflow {
    pub path: String,
    pub name: Option<String>,
    /// `on:` lists only `workflow_call`: the workflow runs only when another one calls it.
    pub call_only: bool,
    pub defaults: RunDefaults,
    pub jobs: Vec<Job>,
}

impl Workflow {
    pub(crate) fn job(&self, id: &str) -> Option<usize> {
        self.jobs.iter().position(|j| j.id == id)
    }
}

/// Whether GitHub runs `path` (repository-relative) as a workflow: a `.yml`/`.yaml` file
/// directly in `.github/workflows/`.
pub(crate) fn is_workflow_path(path: &str) -> bool {
    let p = path.replace('\\', "/");
    let p = p.trim_start_matches("./");
    let Some(name) = p.strip_prefix(WORKFLOWS) else {
        return false;
    };
    !name.is_empty() && !name.contains('/') && (name.ends_with(".yml") || name.ends_with(".yaml"))
}

/// Parses a workflow file with anchors, aliases and merge keys (`<<: *defaults`) resolved, through
/// the project's one YAML module; the error carries the 1-based line where the parser knows it.
pub(crate) fn parse_yaml(text: &str) -> Result<Value, (Option<usize>, String)> {
    if text.len() > MAX_WORKFLOW_BYTES {
        return Err((
            None,
            format!("the file is over {} KiB", MAX_WORKFLOW_BYTES / 1024),
        ));
    }
    yaml::value_with_merges(text).map_err(|e| (e.line, e.message))
}

/// Applies the wiring rules to the repository's workflow files (repository-relative
/// paths and texts; files not directly in `.github/workflows/` are ignored, and named when
/// they are the only place the script is wired). `step_runs` is the bash reader.
pub(crate) fn judge(workflows: &[(String, String)], step_runs: StepRunReader<'_>) -> Wiring {
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
