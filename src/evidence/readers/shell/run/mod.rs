//! The abstract interpreter: one `Run` follows every path of a script with its shell state
//! (variables, functions, errexit/pipefail, working directory) and records what the drivers ask.
//! The walk itself is split by concern into the submodules.

mod builtins;
mod calls;
mod compound;
mod flow;
mod simple;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use brush_parser::ast;

use super::event::Event;
use super::model::Model;
use super::parse::FUEL;
use super::value::{St, Val, NONE, OK};
use super::{Finding, ShellOptions};

/// The mutable shell state of one path.
#[derive(Clone, Debug)]
pub(crate) struct State {
    pub(crate) vars: HashMap<String, Val>,
    pub(crate) arrays: HashMap<String, Vec<Val>>,
    /// Shared until written: cloning a state (every subshell) must stay cheap.
    pub(crate) functions: Rc<HashMap<String, usize>>,
    pub(crate) errexit: bool,
    pub(crate) pipefail: bool,
    /// Where errexit last changed, in student words ("`set +e` at line 4").
    pub(crate) errexit_origin: String,
    /// Working directory relative to the workspace root; `None` once unknown.
    pub(crate) cwd: Option<String>,
    pub(crate) last: St,
    pub(crate) alive: bool,
}

/// What a run injects: which request or check fails.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Fault {
    None,
    /// The request with this id answers `code` when it runs inside `check`.
    Request {
        id: RequestId,
        check: String,
        code: u16,
    },
    /// Every call of this function returns failure without running.
    Check(String),
    /// (step mode) the smoke script fails.
    Script,
}

type RequestId = (usize, usize, usize);

/// A request as the baseline run saw it.
#[derive(Clone, Debug)]
pub(crate) struct SeenRequest {
    pub(crate) id: RequestId,
    pub(crate) line: usize,
    pub(crate) tool: String,
    pub(crate) url: Option<String>,
    pub(crate) lookalike: Option<String>,
    /// The status code reaches stdout (`-w '%{http_code}'`): then 503 is tried as well as 500.
    pub(crate) status_in_output: bool,
}

/// A function call frame.
pub(crate) struct Frame {
    pub(crate) name: String,
    pub(crate) args: Vec<Val>,
    pub(crate) returns: St,
    pub(crate) returned: bool,
}

/// A snapshot taken when a check is first called, to replay that call with a fault.
#[derive(Clone)]
pub(crate) struct CallSnapshot {
    pub(crate) state: State,
    pub(crate) args: Vec<Val>,
    pub(crate) ignore: Vec<(usize, usize)>,
    pub(crate) outer: Vec<String>,
    pub(crate) line: usize,
    /// Statuses of paths that had already exited, and whether the call runs in a subshell.
    pub(crate) exits_before: St,
    pub(crate) in_subshell: bool,
}

/// How a call ended: its return statuses, and statuses of exits taken inside it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CallOutcome {
    pub(crate) returns: St,
    pub(crate) exits: St,
}

impl CallOutcome {
    pub(crate) fn always_fails(self) -> bool {
        !self.returns.ok && !self.exits.ok && (self.returns.fail || self.exits.fail)
    }
    pub(crate) fn can_pass(self) -> bool {
        self.returns.ok
    }
}

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Mode {
    Smoke,
    Step,
}

/// Shared across runs: caches of parsed words and command substitutions.
#[derive(Default)]
pub(crate) struct Caches {
    pub(crate) words: RefCell<HashMap<String, Rc<Vec<brush_parser::word::WordPieceWithSource>>>>,
    pub(crate) programs: RefCell<HashMap<String, Option<Rc<ast::Program>>>>,
}

/// One abstract run of a script.
pub(crate) struct Run<'a> {
    pub(crate) model: &'a Model,
    pub(crate) caches: &'a Caches,
    pub(crate) mode: Mode,
    /// (step mode) the script path, normalised, from the workspace root.
    pub(crate) script: String,
    pub(crate) fault: Fault,
    pub(crate) state: State,
    /// Statuses of paths that exited the shell.
    pub(crate) exits: St,
    pub(crate) frames: Vec<Frame>,
    /// Enclosing condition contexts (errexit ignored while non-empty): (line, call depth).
    pub(crate) ignore: Vec<(usize, usize)>,
    pub(crate) loops: Vec<bool>,
    /// Stdout capture stack for `$(...)`: `None` = unknown output.
    pub(crate) captures: Vec<Option<String>>,
    /// Parallel to `captures`: the captured text holds a faulted request's status.
    pub(crate) capture_taint: Vec<bool>,
    /// Other commands of the pipeline being run (to explain `| cut -f1`).
    pub(crate) pipe_peers: Vec<String>,
    /// Column of the simple command being run (part of a request's identity).
    pub(crate) column: usize,
    /// Subshells entered (a failure there does not end the script by itself).
    pub(crate) subshells: usize,
    /// Exits recorded by callers while a function runs (its own `exits` starts empty).
    pub(crate) outer_exits: St,
    /// Line offset and id salt of the text being walked (nested `$(...)` parses).
    pub(crate) base: (usize, usize),
    pub(crate) depth: usize,
    pub(crate) fuel: usize,
    pub(crate) events: Vec<Event>,
    pub(crate) unseen: Vec<Finding>,
    // Observations (used by the drivers).
    pub(crate) first_call: HashMap<String, CallSnapshot>,
    pub(crate) called_functions: HashSet<String>,
    pub(crate) requests: Vec<(String, SeenRequest)>,
    pub(crate) first_exit: Option<(usize, String)>,
    pub(crate) outcome_of_first: HashMap<String, CallOutcome>,
    pub(crate) invoked: Option<(usize, bool)>,
    pub(crate) observe: bool,
}

impl<'a> Run<'a> {
    pub(crate) fn new(
        model: &'a Model,
        caches: &'a Caches,
        mode: Mode,
        options: ShellOptions,
        origin: &str,
    ) -> Run<'a> {
        let state = State {
            vars: HashMap::new(),
            arrays: HashMap::new(),
            functions: Rc::default(),
            errexit: options.errexit,
            pipefail: options.pipefail,
            errexit_origin: origin.to_string(),
            cwd: Some(String::new()),
            last: OK,
            alive: true,
        };
        Run {
            model,
            caches,
            mode,
            script: String::new(),
            fault: Fault::None,
            state,
            exits: NONE,
            frames: Vec::new(),
            ignore: Vec::new(),
            loops: Vec::new(),
            captures: Vec::new(),
            capture_taint: Vec::new(),
            pipe_peers: Vec::new(),
            column: 0,
            subshells: 0,
            outer_exits: NONE,
            base: (0, 0),
            depth: 0,
            fuel: FUEL,
            events: Vec::new(),
            unseen: Vec::new(),
            first_call: HashMap::new(),
            called_functions: HashSet::new(),
            requests: Vec::new(),
            first_exit: None,
            outcome_of_first: HashMap::new(),
            invoked: None,
            observe: false,
        }
    }

    /// The script's exit status over all paths.
    pub(crate) fn outcome(&self) -> St {
        let end = if self.state.alive {
            self.state.last
        } else {
            NONE
        };
        self.exits.union(end)
    }

    pub(crate) fn unseen(&mut self, line: usize, message: String, fix: &str) {
        if self.observe && !self.unseen.iter().any(|f| f.message == message) {
            self.unseen.push(Finding {
                line: Some(line),
                message,
                fix: fix.to_string(),
            });
        }
    }

    pub(crate) fn event(&mut self, event: Event) {
        if !self.events.contains(&event) {
            self.events.push(event);
        }
    }

    pub(crate) fn line_of(&self, loc: Option<brush_parser::SourceSpan>) -> usize {
        loc.map_or(self.base.0.max(1), |l| l.start.line + self.base.0)
    }
}
