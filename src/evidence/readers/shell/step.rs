//! Step mode: invocations of the smoke script from a workflow step's `run:`, and the
//! driver that asks whether the script's failure fails the step.

use std::rc::Rc;

use super::messages::describe;
use super::model::Model;
use super::parse::parse;
use super::paths::{normalise, WORKSPACE};
use super::run::{Caches, Fault, Mode, Run};
use super::value::{Val, ANY, FAIL, OK};
use super::{Finding, ShellOptions, StepRun};

const SHELLS: [&str; 5] = ["bash", "sh", "dash", "zsh", "ksh"];

impl<'a> Run<'a> {
    /// Handles commands that may run the smoke script; false when `name` is something else.
    pub(crate) fn step_command(
        &mut self,
        name: &str,
        rest: &[Val],
        line: usize,
        text: &str,
    ) -> bool {
        if name.contains('/') && self.is_script(name, line) {
            self.invocation(line, false);
            return true;
        }
        if (name == "source" || name == ".")
            && rest
                .first()
                .and_then(Val::concrete)
                .is_some_and(|p| self.is_script(&p, line))
        {
            self.invocation(line, false);
            return true;
        }
        if !SHELLS.contains(&name) {
            return false;
        }
        let mut errexit = false;
        let mut i = 0;
        while i < rest.len() {
            let Some(arg) = rest[i].concrete() else {
                return false;
            };
            if arg == "-c" {
                let Some(script) = rest.get(i + 1).and_then(Val::concrete) else {
                    self.unseen(
                        line,
                        format!(
                            "`{text}` at line {line} runs a command string the reader cannot see"
                        ),
                        "write the command out",
                    );
                    self.state.last = ANY;
                    return true;
                };
                self.nested_shell(&script, errexit, line);
                return true;
            }
            // `-o pipefail`, also at the end of combined flags (`-euo pipefail`, `+o ...`):
            // the option name is not the script.
            let takes_option_name = (arg.starts_with('-') || arg.starts_with('+'))
                && !arg.starts_with("--")
                && arg.ends_with('o');
            if takes_option_name {
                errexit |= arg.starts_with('-') && arg.contains('e');
                i += 2;
                continue;
            }
            if arg.starts_with('-') || arg.starts_with('+') {
                errexit |= arg.starts_with('-') && !arg.starts_with("--") && arg.contains('e');
                i += 1;
                continue;
            }
            if self.is_script(&arg, line) {
                self.invocation(line, true);
                return true;
            }
            return false;
        }
        false
    }

    /// `sh -c '...'`: a new shell (its own options) running the string.
    fn nested_shell(&mut self, script: &str, errexit: bool, line: usize) {
        let Ok(program) = parse(script) else {
            self.unseen(
                line,
                format!("the command string at line {line} cannot be parsed"),
                "fix its syntax",
            );
            self.state.last = ANY;
            return;
        };
        let saved_base = self.base;
        self.base = (
            line.saturating_sub(1),
            saved_base.1.wrapping_mul(31).wrapping_add(line * 7919),
        );
        let st = self.subshell(|run| {
            run.state.errexit = errexit;
            run.state.pipefail = false;
            run.state.errexit_origin = "the `-c` shell runs without `-e`".into();
            run.state.functions = Rc::default();
            run.program(&program);
        });
        self.base = saved_base;
        self.state.last = st;
    }

    fn invocation(&mut self, line: usize, through_interpreter: bool) {
        if self.observe && self.invoked.is_none() {
            self.invoked = Some((line, through_interpreter));
        }
        self.state.last = if self.fault == Fault::Script {
            FAIL
        } else {
            OK
        };
    }

    fn is_script(&mut self, path: &str, line: usize) -> bool {
        let resolved = if let Some(rest) = path.strip_prefix(WORKSPACE) {
            normalise("", rest.trim_start_matches('/'))
        } else if path.starts_with('/') {
            None
        } else {
            match &self.state.cwd {
                Some(cwd) => normalise(cwd, path),
                None => {
                    if path.ends_with(self.script.rsplit('/').next().unwrap_or("")) {
                        self.unseen(line, format!("line {line} runs `{path}` from a working directory the reader cannot tell"), "`cd` to a literal directory");
                    }
                    None
                }
            }
        };
        resolved.is_some_and(|r| r == self.script)
    }
}

/// GitHub substitutes `${{ ... }}` before bash runs; `github.workspace` is the workspace root.
pub(crate) fn substitute_expressions(run: &str) -> String {
    let mut out = String::with_capacity(run.len());
    let mut rest = run;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let expr = rest[start + 3..start + end].trim();
        out.push_str(if expr == "github.workspace" {
            WORKSPACE
        } else {
            "GITHUB_EXPRESSION"
        });
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

pub(crate) fn step(text: &str, shell: ShellOptions, wd: Option<&str>, script: &str) -> StepRun {
    let program = match parse(text) {
        Ok(p) => p,
        Err(f) => {
            return StepRun::Unseen {
                line: f.line.unwrap_or(1),
                why: f.message,
            }
        }
    };
    let model = Model::build(&program);
    let caches = Caches::default();
    let origin = if shell.errexit {
        "the step's shell runs with `-e`"
    } else {
        "the step's shell runs without `-e`, so only the last command's status counts"
    };
    let start = |fault: Fault| {
        let mut r = Run::new(&model, &caches, Mode::Step, shell, origin);
        r.script = normalise("", script).unwrap_or_default();
        r.state.cwd = match wd {
            None => Some(String::new()),
            Some(w) => match w.strip_prefix(WORKSPACE) {
                Some(rest) => normalise("", rest.trim_start_matches('/')),
                None if w.starts_with('/') => None,
                None => normalise("", w),
            },
        };
        r.state
            .vars
            .insert("GITHUB_WORKSPACE".into(), Val::lit(WORKSPACE));
        r.fault = fault;
        r.observe = true;
        r.program(&program);
        r
    };
    let base = start(Fault::None);
    let Some((line, through_interpreter)) = base.invoked else {
        return match base.unseen.first() {
            Some(f) => StepRun::Unseen {
                line: f.line.unwrap_or(1),
                why: f.message.clone(),
            },
            None => StepRun::NotRun,
        };
    };
    if let Some(f) = base
        .unseen
        .iter()
        .find(|f| f.line.is_some_and(|l| l <= line))
    {
        return StepRun::Unseen {
            line: f.line.unwrap_or(line),
            why: f.message.clone(),
        };
    }
    let faulted = start(Fault::Script);
    if faulted.outcome() == FAIL {
        return StepRun::Runs {
            line,
            through_interpreter,
        };
    }
    if let Some(f) = faulted
        .unseen
        .iter()
        .find(|f| f.line.is_some_and(|l| l > line))
    {
        return StepRun::Unseen {
            line: f.line.unwrap_or(line),
            why: f.message.clone(),
        };
    }
    let findings: Vec<Finding> = faulted
        .events
        .iter()
        .filter_map(|e| describe(e, "scripts/smoke.sh"))
        .collect();
    match findings.first() {
        Some(f) => StepRun::FailureIgnored {
            line: f.line.unwrap_or(line),
            why: findings
                .iter()
                .map(|f| f.message.clone())
                .collect::<Vec<_>>()
                .join("; "),
        },
        None => StepRun::FailureIgnored {
            line,
            why: "when the smoke script fails, the step can still succeed".into(),
        },
    }
}
