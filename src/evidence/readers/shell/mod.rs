//! A bash-semantics reader for the smoke gate (the script rules of the artifact
//! contract, and whether a workflow step runs the script).
//!
//! Why an interpreter and not line matching: the gate is about what bash *does* when an endpoint
//! answers 500, so the script is parsed with `brush-parser` (the brush shell's parser) and then
//! run abstractly. Every command gets a set of possible outcomes ({ok}, {fail} or both), unknown
//! conditions run both branches and merge, and the question "does a 500 fail the script?" is
//! answered by running the script with that request (or that check) forced to fail. What the
//! reader cannot see (`eval`, `source`, dynamic command names, a parse error) is reported as
//! `unseen`: the caller fails the rule closed.
//!
//! Layout: `lib.rs` is the public API. `parse` (parsing, limits, guards), `model` (functions and
//! call sites), `value` (outcome sets and values), `event` (what happened to a failure), `run`
//! (the interpreter: state, control flow, commands, builtins, calls), `words` (expansion),
//! `test_expr` (`[ ]`/`[[ ]]`), `requests` (curl/wget/HTTPie), `paths`, the drivers `smoke`
//! (the script rules) and `step` (the workflow step), and `messages` (student words).

mod event;
mod messages;
mod model;
mod parse;
mod paths;
mod requests;
mod run;
mod smoke;
mod step;
mod test_expr;
mod value;
mod words;

#[cfg(test)]
mod tests;

use self::parse::guarded;
use self::smoke::analyse_smoke;
use self::step::{step, substitute_expressions};

/// Initial shell options. A workflow step with no `shell:` runs as `bash -e {0}` (errexit, no
/// pipefail); `shell: bash` runs as `bash --noprofile --norc -eo pipefail {0}`; a custom shell
/// (`bash {0}`, `sh {0}`) runs with neither.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ShellOptions {
    /// `-e`: a failing command ends the shell.
    pub errexit: bool,
    /// `-o pipefail`: a pipeline fails when any of its commands fails.
    pub pipefail: bool,
}

/// Something the student should read: what is wrong (`message`) and what to change (`fix`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Finding {
    /// 1-based line in the analysed text, when there is one.
    pub line: Option<usize>,
    pub message: String,
    pub fix: String,
}

/// Analysis of `scripts/smoke.sh`.
#[derive(Clone, Debug, Default)]
pub(crate) struct SmokeScript {
    /// Every `check_<name>` function defined, in source order.
    pub checks: Vec<Check>,
    /// What the reader could not see (eval, source, dynamic command names, parse errors, limits).
    /// Any entry means the rules that depend on it must fail closed.
    pub unseen: Vec<Finding>,
    /// Reasons a failing check would not fail the script, each with its line.
    pub propagation: Vec<Finding>,
}

/// One `check_<name>` function.
#[derive(Clone, Debug)]
pub(crate) struct Check {
    pub name: String,
    /// Line of the definition.
    pub line: usize,
    /// Line of the first call reachable from the script's top level.
    pub called: Option<usize>,
    /// Why it is not called (set exactly when `called` is `None`).
    pub not_called: Option<Finding>,
    /// HTTP requests the check makes, directly or through helpers, in the order they run.
    pub requests: Vec<Request>,
}

/// One HTTP request made by a check.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    pub line: usize,
    /// `curl`, `wget`, `http`, `https` or `xh`.
    pub tool: String,
    /// The URL resolved through the script's own assignments (unknown variables stay as
    /// `$NAME`); `None` when nothing of it is known.
    pub url: Option<String>,
    /// A 500 or 503 answer makes the check fail (and a 200 lets it pass).
    pub fails_on_status: bool,
    /// Student-words reason when `fails_on_status` is false.
    pub why_not: Option<String>,
}

/// How a workflow step's `run:` script treats `scripts/smoke.sh`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum StepRun {
    /// The script runs and its failure fails the step. `through_interpreter` is true when it
    /// runs as `bash scripts/smoke.sh` (or `sh ...`): the script's shebang options then do not
    /// apply, which the caller may want to combine with the script's own analysis.
    Runs {
        line: usize,
        through_interpreter: bool,
    },
    /// No invocation of the script is reachable.
    NotRun,
    /// The script runs, but its failure does not fail the step.
    FailureIgnored { line: usize, why: String },
    /// The reader could not see whether or how the script runs.
    Unseen { line: usize, why: String },
}

/// A health endpoint: a path segment `healthz|health|livez|readyz|ready|alive|ping`, or a path
/// of at most two segments ending in `status` (`/status`, `/api/status`; `/api/orders/42/status`
/// is a business endpoint). Accepts full URLs, `$BASE_URL/path` and bare paths.
pub(crate) fn is_health_url(url: &str) -> bool {
    let segments = url_path_segments(url);
    const HEALTH: [&str; 7] = [
        "healthz", "health", "livez", "readyz", "ready", "alive", "ping",
    ];
    if segments
        .iter()
        .any(|s| HEALTH.contains(&s.to_ascii_lowercase().as_str()))
    {
        return true;
    }
    segments.len() <= 2
        && segments
            .last()
            .is_some_and(|s| s.eq_ignore_ascii_case("status"))
}

/// The path segments of a URL-ish string, without scheme, host, query or fragment.
fn url_path_segments(url: &str) -> Vec<&str> {
    let url = url.split(['?', '#']).next().unwrap_or("");
    let rest = if let Some(i) = url.find("://") {
        let after = &url[i + 3..];
        after.find('/').map_or("", |j| &after[j..])
    } else if url.starts_with('$') {
        // `$BASE_URL/api` or `${BASE_URL}/api`: the variable stands for scheme and host.
        url.find('/').map_or("", |j| &url[j..])
    } else if url.starts_with('/') {
        url
    } else {
        // `localhost:8080/x` (HTTPie style) or `:8080/x`.
        url.find('/').map_or("", |j| &url[j..])
    };
    rest.split('/').filter(|s| !s.is_empty()).collect()
}

/// Analysis of a smoke script. Never panics; a parse error is an `unseen` finding.
pub(crate) fn analyse_smoke_script(text: &str) -> SmokeScript {
    let owned = text.to_string();
    guarded(move || analyse_smoke(&owned)).unwrap_or_else(|| SmokeScript {
        unseen: vec![Finding {
            line: None,
            message: "the reader failed on this script, so it cannot see what it does".into(),
            fix: "simplify the script".into(),
        }],
        ..SmokeScript::default()
    })
}

/// Does this `run:` script invoke `script` so that its failure fails the step?
pub(crate) fn step_runs_script(
    run: &str,
    shell: &ShellOptions,
    working_directory: Option<&str>,
    script: &str,
) -> StepRun {
    let (text, shell, wd, script) = (
        substitute_expressions(run),
        *shell,
        working_directory.map(str::to_string),
        script.to_string(),
    );
    guarded(move || step(&text, shell, wd.as_deref(), &script)).unwrap_or(StepRun::Unseen {
        line: 1,
        why: "the reader failed on this step's script".into(),
    })
}
