//! Loading one workflow file into the typed model (jobs, steps, `if:`, `run:` with their file
//! lines); the YAML values come from `parse_yaml` only.

use crate::evidence::catalogue::smoke as rule;
use crate::load::yaml::Value;

use super::{
    expr, lines, parse_yaml, Cond, ContinueOnError, Finding, Job, Run, RunDefaults, Step, Workflow,
};

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
pub(crate) fn load(path: &str, text: &str) -> Result<Workflow, Finding> {
    let bad = |line: Option<usize>, what: String| Finding {
        file: path.to_string(),
        line,
        rule: rule::WORKFLOW_UNREADABLE,
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
