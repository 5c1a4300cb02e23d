//! The script driver: a baseline run, then replays of each check with a request or the check
//! forced to fail.

use std::rc::Rc;

use brush_parser::ast;

use super::messages::{describe, explain_request};
use super::model::Model;
use super::parse::{parse, shebang_options};
use super::run::{Caches, CallOutcome, CallSnapshot, Fault, Frame, Mode, Run, SeenRequest};
use super::value::{ANY, FAIL, NONE, OK};
use super::{Check, Finding, Request, ShellOptions, SmokeScript};

pub(crate) fn analyse_smoke(text: &str) -> SmokeScript {
    let program = match parse(text) {
        Ok(p) => p,
        Err(f) => {
            return SmokeScript {
                unseen: vec![f],
                ..SmokeScript::default()
            }
        }
    };
    let model = Model::build(&program);
    let caches = Caches::default();
    let options = shebang_options(text);
    let origin = if options.errexit {
        "the `-e` in the `#!` line"
    } else {
        "the script never runs `set -e`"
    };
    let mut base = Run::new(&model, &caches, Mode::Smoke, options, origin);
    base.observe = true;
    base.program(&program);
    let mut out = SmokeScript {
        unseen: base.unseen.clone(),
        ..SmokeScript::default()
    };
    for (name, line) in model.checks() {
        let called = base.first_call.get(&name).map(|s| s.line);
        let snapshot = base
            .first_call
            .get(&name)
            .cloned()
            .unwrap_or_else(|| synthetic_snapshot(&base, &model, line));
        let (requests, unseen) = check_requests(&model, &caches, &snapshot, &name);
        for f in unseen {
            if !out.unseen.contains(&f) {
                out.unseen.push(f);
            }
        }
        let not_called = called
            .is_none()
            .then(|| not_called(&model, &base, &name, line));
        // Fast path: a failing call under `set -e`, outside any condition or subshell, with no path
        // exited before it, ends the script with failure at once; the rest cannot matter.
        let immediate = base.first_call.get(&name).is_some_and(|s| {
            s.state.errexit && s.ignore.is_empty() && !s.in_subshell && !s.exits_before.ok
        });
        if called.is_some() && !immediate {
            for f in propagation(&model, &caches, &program, options, origin, &name) {
                if !out.propagation.contains(&f) {
                    out.propagation.push(f);
                }
            }
        }
        out.checks.push(Check {
            name,
            line,
            called,
            not_called,
            requests,
        });
    }
    out
}

/// A check that is never called is still read, as if called at the end with no arguments.
fn synthetic_snapshot(base: &Run, model: &Model, line: usize) -> CallSnapshot {
    let mut state = base.state.clone();
    state.alive = true;
    state.last = OK;
    for (i, (name, _, _)) in model.functions.iter().enumerate() {
        Rc::make_mut(&mut state.functions)
            .entry(name.clone())
            .or_insert(i);
    }
    CallSnapshot {
        state,
        args: Vec::new(),
        ignore: Vec::new(),
        outer: Vec::new(),
        line,
        exits_before: ANY,
        in_subshell: true,
    }
}

/// Replays the first call of `check` from its snapshot with `fault`.
fn replay<'a>(
    model: &'a Model,
    caches: &'a Caches,
    snapshot: &CallSnapshot,
    check: &str,
    fault: Fault,
    observe: bool,
) -> (CallOutcome, Run<'a>) {
    let mut run = Run::new(model, caches, Mode::Smoke, ShellOptions::default(), "");
    run.state = snapshot.state.clone();
    run.ignore = snapshot.ignore.clone();
    run.frames = snapshot
        .outer
        .iter()
        .map(|n| Frame {
            name: n.clone(),
            args: Vec::new(),
            returns: NONE,
            returned: false,
        })
        .collect();
    run.fault = fault;
    run.observe = observe;
    let index = run
        .state
        .functions
        .get(check)
        .copied()
        .or_else(|| model.functions.iter().position(|(n, _, _)| n == check));
    let outcome = match index {
        Some(i) => run.invoke(check, i, snapshot.args.clone()),
        None => CallOutcome {
            returns: OK,
            exits: NONE,
        },
    };
    (outcome, run)
}

fn check_requests(
    model: &Model,
    caches: &Caches,
    snapshot: &CallSnapshot,
    check: &str,
) -> (Vec<Request>, Vec<Finding>) {
    let (baseline, run) = replay(model, caches, snapshot, check, Fault::None, true);
    let seen: Vec<SeenRequest> = run
        .requests
        .iter()
        .filter(|(c, _)| c == check)
        .map(|(_, r)| r.clone())
        .collect();
    let unseen = run.unseen.clone();
    let requests = seen
        .into_iter()
        .map(|r| {
            let mut why_not = None;
            let codes: &[u16] = if r.status_in_output { &[500, 503] } else { &[500] };
            for &code in codes {
                let fault = Fault::Request { id: r.id, check: check.to_string(), code };
                let (outcome, faulted) = replay(model, caches, snapshot, check, fault, false);
                if !outcome.always_fails() {
                    why_not = Some(explain_request(&r, &faulted.events, code, check));
                    break;
                }
            }
            // A check that ends the whole script with success (`exit 0`) is not one that always
            // fails; what it hides is reported where the later calls go unreached.
            if why_not.is_none() && !baseline.can_pass() && !baseline.exits.ok {
                why_not = Some(format!("`{check}` fails even when every request answers 200, so it cannot tell a bad status from a good one"));
            }
            Request { line: r.line, tool: r.tool, url: r.url, fails_on_status: why_not.is_none(), why_not }
        })
        .collect();
    (requests, unseen)
}

/// Findings that explain why a failing `check` does not fail the script.
fn propagation(
    model: &Model,
    caches: &Caches,
    program: &ast::Program,
    options: ShellOptions,
    origin: &str,
    check: &str,
) -> Vec<Finding> {
    let mut run = Run::new(model, caches, Mode::Smoke, options, origin);
    run.fault = Fault::Check(check.to_string());
    run.program(program);
    if run.outcome() == FAIL {
        return Vec::new();
    }
    let mut findings: Vec<Finding> = run
        .events
        .iter()
        .filter_map(|e| describe(e, check))
        .collect();
    if findings.is_empty() {
        findings.push(Finding {
            line: None,
            message: format!("when `{check}` fails, the script can still exit 0"),
            fix: "start the script with `set -euo pipefail` and call each check plainly (or `check_x || exit 1`)".into(),
        });
    }
    findings
}

fn not_called(model: &Model, base: &Run, name: &str, def_line: usize) -> Finding {
    let sites = model.call_sites.get(name).cloned().unwrap_or_default();
    let Some(site) = sites.first() else {
        return Finding {
            line: Some(def_line),
            message: format!("`{name}` is defined at line {def_line} but never called"),
            fix: format!(
                "call `{name}` from the script's top level (or from `main`, and call `main`)"
            ),
        };
    };
    let at = site.line;
    if let Some(f) = site
        .inside
        .as_ref()
        .filter(|f| !base.called_functions.contains(*f))
    {
        return Finding {
            line: Some(at),
            message: format!("`{name}` is never called: its call at line {at} is inside `{f}`, which is never called"),
            fix: format!("call `{f}` at the end of the script (for example `{f} \"$@\"`)"),
        };
    }
    if let Some((exit_line, text)) = base
        .first_exit
        .as_ref()
        .filter(|(l, _)| *l < at && site.inside.is_none())
    {
        return Finding {
            line: Some(at),
            message: format!("`{name}` is never called: the call at line {at} comes after `{}` at line {exit_line}", text.trim()),
            fix: "move the calls above the exit".into(),
        };
    }
    if site.inside.is_none() && at < def_line {
        return Finding {
            line: Some(at),
            message: format!("`{name}` is never called: the call at line {at} runs before the function is defined at line {def_line}"),
            fix: "define the checks first and call them at the end".into(),
        };
    }
    Finding {
        line: Some(at),
        message: format!("`{name}` is never called: the call at line {at} is never reached"),
        fix: "call it unconditionally from the script's top level".into(),
    }
}
