//! A bash-semantics reader for the smoke gate (contract: artifacts.md, Revision 2, R3 and the
//! first bullet of R4).
//!
//! Why an interpreter and not line matching: the gate is about what bash *does* when an endpoint
//! answers 500, so the script is parsed with `brush-parser` (the brush shell's parser) and then
//! run abstractly. Every command gets a set of possible outcomes ({ok}, {fail} or both), unknown
//! conditions run both branches and merge, and the question "does a 500 fail the script?" is
//! answered by running the script with that request (or that check) forced to fail. What the
//! reader cannot see (`eval`, `source`, dynamic command names, a parse error) is reported as
//! `unseen`: the caller fails the rule closed.
//!
//! Layout: public API; parsing; `Model` (functions, checks, call sites); values and outcome sets;
//! the interpreter `Run` (state, control flow, commands, requests, tests); the drivers
//! `analyse_smoke_script` and `step_runs_script`; student-words messages; tests.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use brush_parser::ast;
use brush_parser::word::{Parameter, ParameterExpr, SpecialParameter, WordPiece};

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/// Initial shell options. A workflow step with no `shell:` runs as `bash -e {0}` (errexit, no
/// pipefail); `shell: bash` runs as `bash --noprofile --norc -eo pipefail {0}`; a custom shell
/// (`bash {0}`, `sh {0}`) runs with neither.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShellOptions {
    /// `-e`: a failing command ends the shell.
    pub errexit: bool,
    /// `-o pipefail`: a pipeline fails when any of its commands fails.
    pub pipefail: bool,
}

/// Something the student should read: what is wrong (`message`) and what to change (`fix`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// 1-based line in the analysed text, when there is one.
    pub line: Option<usize>,
    pub message: String,
    pub fix: String,
}

/// Analysis of `scripts/smoke.sh` (R3).
#[derive(Clone, Debug, Default)]
pub struct SmokeScript {
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
pub struct Check {
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
pub struct Request {
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

/// R4: how a workflow step's `run:` script treats `scripts/smoke.sh`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepRun {
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

/// R3's health endpoint: a path segment `healthz|health|livez|readyz|ready|alive|ping`, or a path
/// of at most two segments ending in `status` (`/status`, `/api/status`; `/api/orders/42/status`
/// is a business endpoint). Accepts full URLs, `$BASE_URL/path` and bare paths.
pub fn is_health_url(url: &str) -> bool {
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

// ---------------------------------------------------------------------------------------------
// Limits: the reader must stay fast and never overflow its stack on hostile input.
// ---------------------------------------------------------------------------------------------

/// Deepest function-call chain followed (recursion and call cycles stop here).
const MAX_CALL_DEPTH: usize = 24;
/// Deepest syntactic nesting walked.
const MAX_NESTING: usize = 150;
/// Commands evaluated per run before giving up.
const FUEL: usize = 200_000;
/// Loop iterations followed one by one; beyond, the body runs once with unknown values.
const MAX_ITERATIONS: usize = 64;
/// Bracket nesting in the raw text above which the parser is not called at all.
const MAX_TEXT_NESTING: usize = 400;
/// The parser and the walker run on a thread with this stack (deep but bounded nesting).
const STACK_BYTES: usize = 64 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

fn parser_options() -> brush_parser::ParserOptions {
    brush_parser::ParserOptions::default()
}

/// Parses a script; a failure becomes a student-words finding with the line.
fn parse(text: &str) -> Result<ast::Program, Finding> {
    if let Some(line) = too_deep(text) {
        return Err(Finding {
            line: Some(line),
            message: format!("brackets nest more than {MAX_TEXT_NESTING} deep here; the reader does not follow the script"),
            fix: "flatten the nesting".into(),
        });
    }
    let parsed = std::panic::catch_unwind(|| {
        let mut parser =
            brush_parser::Parser::new(std::io::Cursor::new(text.as_bytes()), &parser_options());
        parser.parse_program()
    });
    match parsed {
        Ok(Ok(program)) => Ok(program),
        Ok(Err(error)) => {
            let line = match &error {
                brush_parser::ParseError::ParsingNear(p) => Some(p.line),
                brush_parser::ParseError::Tokenizing { position, .. } => {
                    position.as_ref().map(|p| p.line)
                }
                brush_parser::ParseError::ParsingAtEndOfInput => Some(text.lines().count().max(1)),
            };
            Err(Finding {
                line,
                message: format!(
                    "bash cannot parse the script ({error}), so the reader cannot see what it does"
                ),
                fix: "fix the syntax error (`bash -n scripts/smoke.sh` shows it)".into(),
            })
        }
        Err(_) => Err(Finding {
            line: None,
            message:
                "the shell parser gave up on this script, so the reader cannot see what it does"
                    .into(),
            fix: "check it with `bash -n` and simplify the construct".into(),
        }),
    }
}

/// First line where bracket nesting exceeds the limit (a cheap guard before the recursive parser).
fn too_deep(text: &str) -> Option<usize> {
    let (mut depth, mut line) = (0usize, 1usize);
    for c in text.chars() {
        match c {
            '(' | '{' | '[' => depth += 1,
            ')' | '}' | ']' => depth = depth.saturating_sub(1),
            '\n' => line += 1,
            _ => {}
        }
        if depth > MAX_TEXT_NESTING {
            return Some(line);
        }
    }
    None
}

/// Runs `f` on a thread with a large stack and turns a panic into `None`.
fn guarded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    std::thread::Builder::new()
        .stack_size(STACK_BYTES)
        .spawn(f)
        .ok()?
        .join()
        .ok()
}

/// Options a `#!` line sets (`#!/bin/bash -e`, `#!/usr/bin/env bash -eu`).
fn shebang_options(text: &str) -> ShellOptions {
    let mut options = ShellOptions::default();
    let Some(first) = text.lines().next().and_then(|l| l.strip_prefix("#!")) else {
        return options;
    };
    let words: Vec<&str> = first.split_whitespace().collect();
    for (i, w) in words.iter().enumerate().skip(1) {
        if let Some(flags) = w.strip_prefix('-').filter(|f| !f.starts_with('-')) {
            options.errexit |= flags.contains('e');
            if flags.ends_with('o') && words.get(i + 1) == Some(&"pipefail") {
                options.pipefail = true;
            }
        }
    }
    options
}

// ---------------------------------------------------------------------------------------------
// Model: functions, checks and the places they are called from (syntax only)
// ---------------------------------------------------------------------------------------------

/// A call site found in the text (used to explain why a check is not reached).
#[derive(Clone, Debug)]
struct CallSite {
    line: usize,
    /// The function whose body holds the call (`None` at top level).
    inside: Option<String>,
}

/// Every function definition of the script, and where each check is called syntactically.
#[derive(Default)]
struct Model {
    /// Definitions in source order: (name, line, body).
    functions: Vec<(String, usize, Rc<ast::FunctionBody>)>,
    call_sites: HashMap<String, Vec<CallSite>>,
}

impl Model {
    fn build(program: &ast::Program) -> Model {
        let mut model = Model::default();
        for list in &program.complete_commands {
            model.list(list, None, 0);
        }
        model
    }

    fn checks(&self) -> Vec<(String, usize)> {
        let mut seen = HashSet::new();
        self.functions
            .iter()
            .filter(|(name, _, _)| name.starts_with("check_") && seen.insert(name.clone()))
            .map(|(name, line, _)| (name.clone(), *line))
            .collect()
    }

    fn list(&mut self, list: &ast::CompoundList, inside: Option<&str>, depth: usize) {
        for item in &list.0 {
            for pipeline in
                std::iter::once(&item.0.first).chain(item.0.additional.iter().map(and_or_pipeline))
            {
                for command in &pipeline.seq {
                    self.command(command, inside, depth + 1);
                }
            }
        }
    }

    fn command(&mut self, command: &ast::Command, inside: Option<&str>, depth: usize) {
        if depth > MAX_NESTING {
            return;
        }
        match command {
            ast::Command::Simple(simple) => {
                if let Some(word) = &simple.word_or_name {
                    if word.value.starts_with("check_") {
                        let site = CallSite {
                            line: word_line(word),
                            inside: inside.map(str::to_string),
                        };
                        self.call_sites
                            .entry(word.value.clone())
                            .or_default()
                            .push(site);
                    }
                }
            }
            ast::Command::Function(def) => {
                let body = Rc::new(def.body.clone());
                self.functions
                    .push((def.fname.value.clone(), word_line(&def.fname), body));
                self.compound(&def.body.0, Some(&def.fname.value.clone()), depth + 1);
            }
            ast::Command::Compound(compound, _) => self.compound(compound, inside, depth + 1),
            ast::Command::ExtendedTest(..) => {}
        }
    }

    fn compound(&mut self, compound: &ast::CompoundCommand, inside: Option<&str>, depth: usize) {
        for list in compound_lists(compound) {
            self.list(list, inside, depth + 1);
        }
    }
}

fn and_or_pipeline(and_or: &ast::AndOr) -> &ast::Pipeline {
    match and_or {
        ast::AndOr::And(p) | ast::AndOr::Or(p) => p,
    }
}

/// The command lists directly inside a compound command.
fn compound_lists(compound: &ast::CompoundCommand) -> Vec<&ast::CompoundList> {
    use ast::CompoundCommand as C;
    match compound {
        C::BraceGroup(g) => vec![&g.list],
        C::Subshell(s) => vec![&s.list],
        C::ForClause(f) => vec![&f.body.list],
        C::ArithmeticForClause(f) => vec![&f.body.list],
        C::WhileClause(w) | C::UntilClause(w) => vec![&w.0, &w.1.list],
        C::CaseClause(c) => c.cases.iter().filter_map(|i| i.cmd.as_ref()).collect(),
        C::IfClause(i) => {
            let mut lists = vec![&i.condition, &i.then];
            for e in i.elses.iter().flatten() {
                lists.extend(e.condition.iter());
                lists.push(&e.body);
            }
            lists
        }
        C::Arithmetic(_) | C::Coprocess(_) => vec![],
    }
}

fn word_line(word: &ast::Word) -> usize {
    word.loc.as_ref().map_or(0, |l| l.start.line)
}

// ---------------------------------------------------------------------------------------------
// Outcomes and values
// ---------------------------------------------------------------------------------------------

/// The set of outcomes a command may have on the paths the reader follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct St {
    ok: bool,
    fail: bool,
}

const OK: St = St {
    ok: true,
    fail: false,
};
const FAIL: St = St {
    ok: false,
    fail: true,
};
const ANY: St = St {
    ok: true,
    fail: true,
};
const NONE: St = St {
    ok: false,
    fail: false,
};

impl St {
    fn union(self, o: St) -> St {
        St {
            ok: self.ok || o.ok,
            fail: self.fail || o.fail,
        }
    }
    fn not(self) -> St {
        St {
            ok: self.fail,
            fail: self.ok,
        }
    }
    fn from_bool(b: bool) -> St {
        if b {
            OK
        } else {
            FAIL
        }
    }
    /// `$?` as text when it is known.
    fn code(self) -> Option<&'static str> {
        match (self.ok, self.fail) {
            (true, false) => Some("0"),
            (false, true) => Some("1"),
            _ => None,
        }
    }
}

/// A piece of a shell value: known text, or a variable whose value the reader does not know.
#[derive(Clone, Debug, PartialEq)]
enum Piece {
    Lit(String),
    Var(String),
}

/// A shell value. `tainted` marks text that came from a request's status (to explain tests).
#[derive(Clone, Debug, Default, PartialEq)]
struct Val {
    pieces: Vec<Piece>,
    tainted: bool,
}

impl Val {
    fn lit(s: &str) -> Val {
        Val {
            pieces: vec![Piece::Lit(s.to_string())],
            tainted: false,
        }
    }
    fn unknown(name: &str) -> Val {
        Val {
            pieces: vec![Piece::Var(name.to_string())],
            tainted: false,
        }
    }
    fn concrete(&self) -> Option<String> {
        let mut s = String::new();
        for p in &self.pieces {
            match p {
                Piece::Lit(t) => s.push_str(t),
                Piece::Var(_) => return None,
            }
        }
        Some(s)
    }
    fn render(&self) -> String {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Lit(t) => t.clone(),
                Piece::Var(v) => format!("${v}"),
            })
            .collect()
    }
    fn has_literal(&self) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::Lit(t) if !t.is_empty()))
    }
    fn append(&mut self, other: Val) {
        self.tainted |= other.tainted;
        for p in other.pieces {
            match (self.pieces.last_mut(), p) {
                (Some(Piece::Lit(a)), Piece::Lit(b)) => a.push_str(&b),
                (_, p) => self.pieces.push(p),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Events: what happened to a failure on its way up (turned into student words later)
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Event {
    /// A failing command before `|` lost its status (no pipefail).
    Pipe {
        line: usize,
        hidden: String,
        pipeline: String,
    },
    /// `|| handler` turned a failure into success.
    OrSwallow {
        line: usize,
        handler: String,
    },
    /// A failure was passed over because errexit was off.
    NoErrexit {
        line: usize,
        command: String,
        origin: String,
    },
    /// errexit was ignored because of a condition context.
    Ignored {
        line: usize,
        command: String,
        context_line: usize,
    },
    /// A status test passed with a bad status, or could not be evaluated.
    TestPasses {
        line: usize,
        test: String,
        code: String,
    },
    TestUnknown {
        line: usize,
        test: String,
    },
    /// `local x=$(...)`: the builtin's own status hides the substitution's.
    Masked {
        line: usize,
        builtin: String,
    },
    /// `$(...)` inside a command's arguments: the command's status hides it.
    SubstLost {
        line: usize,
        command: String,
    },
    /// A background job (`&`) loses its status.
    Background {
        line: usize,
        command: String,
    },
    /// `exit`/`return` with success reached.
    SuccessExit {
        line: usize,
        text: String,
    },
    /// Script invoked through an EXIT trap that runs `exit`.
    Trap {
        line: usize,
        text: String,
    },
}

// ---------------------------------------------------------------------------------------------
// The interpreter
// ---------------------------------------------------------------------------------------------

/// The mutable shell state of one path.
#[derive(Clone, Debug)]
struct State {
    vars: HashMap<String, Val>,
    arrays: HashMap<String, Vec<Val>>,
    /// Shared until written: cloning a state (every subshell) must stay cheap.
    functions: Rc<HashMap<String, usize>>,
    errexit: bool,
    pipefail: bool,
    /// Where errexit last changed, in student words ("`set +e` at line 4").
    errexit_origin: String,
    /// Working directory relative to the workspace root; `None` once unknown.
    cwd: Option<String>,
    last: St,
    alive: bool,
}

/// What a run injects: which request or check fails.
#[derive(Clone, Debug, PartialEq)]
enum Fault {
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
struct SeenRequest {
    id: RequestId,
    line: usize,
    tool: String,
    url: Option<String>,
    lookalike: Option<String>,
    /// The status code reaches stdout (`-w '%{http_code}'`): then 503 is tried as well as 500.
    status_in_output: bool,
}

/// A function call frame.
struct Frame {
    name: String,
    args: Vec<Val>,
    returns: St,
    returned: bool,
}

/// A snapshot taken when a check is first called, to replay that call with a fault.
#[derive(Clone)]
struct CallSnapshot {
    state: State,
    args: Vec<Val>,
    ignore: Vec<(usize, usize)>,
    outer: Vec<String>,
    line: usize,
    /// Statuses of paths that had already exited, and whether the call runs in a subshell.
    exits_before: St,
    in_subshell: bool,
}

/// How a call ended: its return statuses, and statuses of exits taken inside it.
#[derive(Clone, Copy, Debug, Default)]
struct CallOutcome {
    returns: St,
    exits: St,
}

impl CallOutcome {
    fn always_fails(self) -> bool {
        !self.returns.ok && !self.exits.ok && (self.returns.fail || self.exits.fail)
    }
    fn can_pass(self) -> bool {
        self.returns.ok
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Smoke,
    Step,
}

/// Shared across runs: caches of parsed words and command substitutions.
#[derive(Default)]
struct Caches {
    words: RefCell<HashMap<String, Rc<Vec<brush_parser::word::WordPieceWithSource>>>>,
    programs: RefCell<HashMap<String, Option<Rc<ast::Program>>>>,
}

/// One abstract run of a script.
struct Run<'a> {
    model: &'a Model,
    caches: &'a Caches,
    mode: Mode,
    /// (step mode) the script path, normalised, from the workspace root.
    script: String,
    fault: Fault,
    state: State,
    /// Statuses of paths that exited the shell.
    exits: St,
    frames: Vec<Frame>,
    /// Enclosing condition contexts (errexit ignored while non-empty): (line, call depth).
    ignore: Vec<(usize, usize)>,
    loops: Vec<bool>,
    /// Stdout capture stack for `$(...)`: `None` = unknown output.
    captures: Vec<Option<String>>,
    /// Parallel to `captures`: the captured text holds a faulted request's status.
    capture_taint: Vec<bool>,
    /// Other commands of the pipeline being run (to explain `| cut -f1`).
    pipe_peers: Vec<String>,
    /// Column of the simple command being run (part of a request's identity).
    column: usize,
    /// Subshells entered (a failure there does not end the script by itself).
    subshells: usize,
    /// Exits recorded by callers while a function runs (its own `exits` starts empty).
    outer_exits: St,
    /// Line offset and id salt of the text being walked (nested `$(...)` parses).
    base: (usize, usize),
    depth: usize,
    fuel: usize,
    events: Vec<Event>,
    unseen: Vec<Finding>,
    // Observations (used by the drivers).
    first_call: HashMap<String, CallSnapshot>,
    called_functions: HashSet<String>,
    requests: Vec<(String, SeenRequest)>,
    first_exit: Option<(usize, String)>,
    outcome_of_first: HashMap<String, CallOutcome>,
    invoked: Option<(usize, bool)>,
    observe: bool,
}

impl<'a> Run<'a> {
    fn new(
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
    fn outcome(&self) -> St {
        let end = if self.state.alive {
            self.state.last
        } else {
            NONE
        };
        self.exits.union(end)
    }

    fn unseen(&mut self, line: usize, message: String, fix: &str) {
        if self.observe && !self.unseen.iter().any(|f| f.message == message) {
            self.unseen.push(Finding {
                line: Some(line),
                message,
                fix: fix.to_string(),
            });
        }
    }

    fn event(&mut self, event: Event) {
        if !self.events.contains(&event) {
            self.events.push(event);
        }
    }

    fn line_of(&self, loc: Option<brush_parser::SourceSpan>) -> usize {
        loc.map_or(self.base.0.max(1), |l| l.start.line + self.base.0)
    }

    // --- control flow ------------------------------------------------------------------------

    fn program(&mut self, program: &ast::Program) {
        for list in &program.complete_commands {
            self.list(list);
        }
    }

    fn list(&mut self, list: &ast::CompoundList) {
        for item in &list.0 {
            if !self.state.alive {
                return;
            }
            if matches!(item.1, ast::SeparatorOperator::Async) {
                self.background(&item.0);
            } else {
                self.and_or(&item.0);
            }
        }
    }

    /// `cmd &`: runs in a subshell whose status nobody sees.
    fn background(&mut self, list: &ast::AndOrList) {
        let st = self.subshell(|run| run.and_or(list));
        if st.fail {
            let line = self.line_of(ast::SourceLocation::location(list));
            self.event(Event::Background {
                line,
                command: list.to_string(),
            });
        }
        self.state.last = OK;
    }

    fn and_or(&mut self, list: &ast::AndOrList) {
        let n = list.additional.len();
        self.pipeline_checked(&list.first, n == 0);
        for (i, next) in list.additional.iter().enumerate() {
            if !self.state.alive {
                return;
            }
            let is_last = i + 1 == n;
            let (pipeline, runs_on_fail) = match next {
                ast::AndOr::And(p) => (p, false),
                ast::AndOr::Or(p) => (p, true),
            };
            let before = self.state.last;
            let (run_st, skip_st) = if runs_on_fail { (FAIL, OK) } else { (OK, FAIL) };
            let runs = if runs_on_fail { before.fail } else { before.ok };
            let skips = if runs_on_fail { before.ok } else { before.fail };
            if !runs {
                continue;
            }
            let skipped = skips.then(|| {
                let mut s = self.state.clone();
                s.last = skip_st;
                s
            });
            self.state.last = run_st;
            let exits_before = self.exits;
            self.pipeline_checked(pipeline, is_last);
            if runs_on_fail
                && (self.state.alive && self.state.last.ok || self.exits.ok && !exits_before.ok)
            {
                let line = self.line_of(ast::SourceLocation::location(pipeline));
                self.event(Event::OrSwallow {
                    line,
                    handler: pipeline.to_string(),
                });
            }
            if let Some(skipped) = skipped {
                self.merge(skipped);
            }
        }
    }

    /// Runs a pipeline; when it is the last of its and-or list, applies errexit to it.
    fn pipeline_checked(&mut self, pipeline: &ast::Pipeline, last_of_list: bool) {
        let line = self.line_of(ast::SourceLocation::location(pipeline));
        let conditional = !last_of_list || pipeline.bang;
        if conditional {
            self.ignore.push((line, self.frames.len()));
        }
        self.pipeline(pipeline);
        if conditional {
            self.ignore.pop();
        }
        if pipeline.bang {
            self.state.last = self.state.last.not();
        }
        if last_of_list && !pipeline.bang && self.state.alive {
            self.errexit(line, &pipeline.to_string());
        }
    }

    /// errexit: a failing command ends the shell, unless a condition context suspends it.
    fn errexit(&mut self, line: usize, command: &str) {
        if !self.state.last.fail {
            return;
        }
        if let Some(&(context_line, depth)) = self.ignore.last() {
            // Worth saying only when a function called from the condition loses its errexit.
            if self.state.errexit && self.frames.len() > depth {
                self.event(Event::Ignored {
                    line,
                    command: command.to_string(),
                    context_line,
                });
            }
            return;
        }
        if !self.state.errexit {
            let origin = self.state.errexit_origin.clone();
            self.event(Event::NoErrexit {
                line,
                command: command.to_string(),
                origin,
            });
            return;
        }
        self.exits = self.exits.union(FAIL);
        if self.state.last.ok {
            self.state.last = OK;
        } else {
            self.kill(line, "a failing command under `set -e`");
        }
    }

    fn kill(&mut self, line: usize, text: &str) {
        self.state.alive = false;
        if self.observe && self.frames.is_empty() && self.first_exit.is_none() {
            self.first_exit = Some((line, text.to_string()));
        }
    }

    fn pipeline(&mut self, pipeline: &ast::Pipeline) {
        if pipeline.seq.len() == 1 {
            self.command(&pipeline.seq[0]);
            return;
        }
        let line = self.line_of(ast::SourceLocation::location(pipeline));
        if let Some(names) = self.function_listing(pipeline) {
            self.write(Some(names));
            self.state.last = OK;
            return;
        }
        let peers: Vec<String> = pipeline.seq.iter().map(|c| c.to_string()).collect();
        let saved_peers = std::mem::replace(&mut self.pipe_peers, peers);
        let mut any_fail = NONE;
        let mut all_ok = true;
        let n = pipeline.seq.len();
        let mut last = OK;
        for (i, command) in pipeline.seq.iter().enumerate() {
            if i + 1 < n {
                self.captures.push(Some(String::new()));
            }
            let st = self.subshell(|run| run.command(command));
            if i + 1 < n {
                self.captures.pop();
                if st.fail && !self.state.pipefail {
                    let hidden = command.to_string();
                    self.event(Event::Pipe {
                        line,
                        hidden,
                        pipeline: pipeline.to_string(),
                    });
                }
            }
            any_fail = any_fail.union(St {
                ok: false,
                fail: st.fail,
            });
            all_ok &= st.ok;
            last = st;
        }
        self.pipe_peers = saved_peers;
        self.state.last = if self.state.pipefail {
            St {
                ok: all_ok,
                fail: any_fail.fail,
            }
        } else {
            last
        };
    }

    /// `declare -F | awk ... | grep ^check_` and `compgen -A function check_`: the documented
    /// idiom for running every check. Returns the names it lists.
    fn function_listing(&self, pipeline: &ast::Pipeline) -> Option<String> {
        let text = pipeline.to_string();
        let first = pipeline.seq.first()?.to_string();
        let first = first.trim_start();
        let lists = first.starts_with("declare -F")
            || first.starts_with("typeset -F")
            || first.starts_with("compgen -A function");
        if !lists {
            return None;
        }
        let prefix = if text.contains("check_") {
            "check_"
        } else {
            ""
        };
        Some(self.function_names(prefix))
    }

    fn function_names(&self, prefix: &str) -> String {
        let mut names: Vec<&String> = self
            .state
            .functions
            .keys()
            .filter(|n| n.starts_with(prefix))
            .collect();
        names.sort();
        names.iter().map(|n| format!("{n}\n")).collect()
    }

    /// Runs `f` as a subshell: exits inside end only the subshell; returns its status.
    fn subshell(&mut self, f: impl FnOnce(&mut Self)) -> St {
        let saved_state = self.state.clone();
        let saved_exits = std::mem::replace(&mut self.exits, NONE);
        let saved_first_exit = self.first_exit.clone();
        let frames = std::mem::take(&mut self.frames);
        let observe_frames: Vec<String> = frames.iter().map(|f| f.name.clone()).collect();
        // Keep the frame names visible for request attribution, without return semantics.
        self.frames = observe_frames
            .into_iter()
            .zip(frames.iter())
            .map(|(name, f)| Frame {
                name,
                args: f.args.clone(),
                returns: NONE,
                returned: false,
            })
            .collect();
        self.subshells += 1;
        f(self);
        self.subshells -= 1;
        let st = self.outcome();
        self.frames = frames;
        self.exits = saved_exits;
        self.state = saved_state;
        self.first_exit = saved_first_exit;
        st
    }

    /// Joins another path into the current one.
    fn merge(&mut self, other: State) {
        if !other.alive {
            return;
        }
        if !self.state.alive {
            self.state = other;
            return;
        }
        let s = &mut self.state;
        s.last = s.last.union(other.last);
        let keys: Vec<String> = s.vars.keys().chain(other.vars.keys()).cloned().collect();
        for k in keys {
            let a = s.vars.get(&k);
            let b = other.vars.get(&k);
            if a != b {
                let tainted = a.is_some_and(|v| v.tainted) || b.is_some_and(|v| v.tainted);
                let mut v = Val::unknown(&k);
                v.tainted = tainted;
                s.vars.insert(k, v);
            }
        }
        if !Rc::ptr_eq(&s.functions, &other.functions) {
            let merged = Rc::make_mut(&mut s.functions);
            for (k, v) in other.functions.iter() {
                merged.entry(k.clone()).or_insert(*v);
            }
        }
        if s.errexit != other.errexit {
            s.errexit = false;
            s.errexit_origin = "`set -e` is switched off on some paths".into();
        }
        s.pipefail &= other.pipefail;
        if s.cwd != other.cwd {
            s.cwd = None;
        }
    }

    /// Runs `then` when `cond` may be ok and `otherwise` when it may fail, merging the paths.
    fn branch(
        &mut self,
        cond: St,
        then: impl FnOnce(&mut Self),
        otherwise: impl FnOnce(&mut Self),
    ) {
        match (cond.ok, cond.fail) {
            (true, false) => then(self),
            (false, true) => otherwise(self),
            (false, false) => {}
            (true, true) => {
                let before = self.state.clone();
                then(self);
                let after_then = std::mem::replace(&mut self.state, before);
                otherwise(self);
                self.merge(after_then);
            }
        }
    }

    fn spend(&mut self, line: usize) -> bool {
        if self.fuel == 0 {
            return false;
        }
        self.fuel -= 1;
        if self.fuel == 0 {
            self.unseen(
                line,
                "the script is too long or loops too much for the reader to follow".into(),
                "shorten the script",
            );
            self.state.last = ANY;
            return false;
        }
        true
    }

    fn command(&mut self, command: &ast::Command) {
        let line = self.line_of(ast::SourceLocation::location(command));
        if !self.spend(line) {
            return;
        }
        if self.depth > MAX_NESTING {
            self.unseen(
                line,
                "the script nests too deep for the reader to follow".into(),
                "flatten the nesting",
            );
            self.state.last = ANY;
            return;
        }
        self.depth += 1;
        match command {
            ast::Command::Simple(simple) => self.simple(simple, line),
            ast::Command::Compound(compound, redirects) => {
                let discard = redirects
                    .as_ref()
                    .is_some_and(|r| r.0.iter().any(redirects_stdout));
                self.with_output_discarded(discard, |run| run.compound(compound, line));
            }
            ast::Command::Function(def) => {
                if let Some(index) = self
                    .model
                    .functions
                    .iter()
                    .position(|(n, l, _)| *n == def.fname.value && *l == word_line(&def.fname))
                {
                    Rc::make_mut(&mut self.state.functions).insert(def.fname.value.clone(), index);
                }
                self.state.last = OK;
            }
            ast::Command::ExtendedTest(test, _) => {
                let text = format!("[[ {} ]]", test.expr);
                let (st, tainted) = self.extended_test(&test.expr);
                self.tested(st, tainted, line, &text);
            }
        }
        self.depth -= 1;
    }

    fn with_output_discarded(&mut self, discard: bool, f: impl FnOnce(&mut Self)) {
        if discard {
            self.captures.push(Some(String::new()));
        }
        f(self);
        if discard {
            self.captures.pop();
        }
    }

    fn compound(&mut self, compound: &ast::CompoundCommand, line: usize) {
        use ast::CompoundCommand as C;
        match compound {
            C::BraceGroup(g) => self.list(&g.list),
            C::Subshell(s) => {
                let st = self.subshell(|run| run.list(&s.list));
                self.state.last = st;
            }
            C::IfClause(i) => self.if_clause(i),
            C::CaseClause(c) => self.case_clause(c, line),
            C::ForClause(f) => self.for_clause(f),
            C::WhileClause(w) => self.while_clause(w, false),
            C::UntilClause(w) => self.while_clause(w, true),
            C::ArithmeticForClause(f) => self.maybe_loop(|run| run.list(&f.body.list)),
            C::Arithmetic(a) => self.state.last = self.arithmetic(&a.expr.value),
            C::Coprocess(_) => self.state.last = OK,
        }
    }

    fn condition(&mut self, list: &ast::CompoundList) -> St {
        let line = self.line_of(ast::SourceLocation::location(list));
        self.ignore.push((line, self.frames.len()));
        self.list(list);
        self.ignore.pop();
        self.state.last
    }

    fn if_clause(&mut self, clause: &ast::IfClauseCommand) {
        let cond = self.condition(&clause.condition);
        if !self.state.alive {
            return;
        }
        let elses: Vec<&ast::ElseClause> = clause.elses.iter().flatten().collect();
        self.branch(
            cond,
            |run| run.list(&clause.then),
            |run| run.else_chain(&elses),
        );
    }

    fn else_chain(&mut self, elses: &[&ast::ElseClause]) {
        let Some((first, rest)) = elses.split_first() else {
            self.state.last = OK;
            return;
        };
        match &first.condition {
            None => self.list(&first.body),
            Some(cond) => {
                let st = self.condition(cond);
                if self.state.alive {
                    self.branch(st, |run| run.list(&first.body), |run| run.else_chain(rest));
                }
            }
        }
    }

    fn case_clause(&mut self, clause: &ast::CaseClauseCommand, line: usize) {
        let value = self.expand_one(&clause.value);
        let text = value.concrete();
        let items: Vec<&ast::CaseItem> = clause.cases.iter().collect();
        self.case_from(&items, &value, text.as_deref(), line);
    }

    /// Matches `value` against the items from the first one on (unknown values try every item).
    fn case_from(
        &mut self,
        items: &[&ast::CaseItem],
        value: &Val,
        text: Option<&str>,
        line: usize,
    ) {
        let Some((item, rest)) = items.split_first() else {
            if value.tainted {
                self.event(Event::TestPasses {
                    line,
                    test: "`case`".into(),
                    code: text.unwrap_or("?").into(),
                });
            }
            self.state.last = OK;
            return;
        };
        let mut matches = NONE;
        for pattern in &item.patterns {
            let p = self.expand_one(pattern);
            matches = matches.union(match (text, p.concrete()) {
                (Some(t), Some(p)) => St::from_bool(glob_match(&p, t)),
                _ => ANY,
            });
        }
        let body = |run: &mut Self| {
            if let Some(cmd) = &item.cmd {
                run.list(cmd);
            } else {
                run.state.last = OK;
            }
            match item.post_action {
                ast::CaseItemPostAction::ExitCase => {}
                ast::CaseItemPostAction::UnconditionallyExecuteNextCaseItem => {
                    if let Some(next) = rest.first().and_then(|n| n.cmd.as_ref()) {
                        run.list(next);
                    }
                }
                ast::CaseItemPostAction::ContinueEvaluatingCases => {
                    run.case_from(rest, value, text, line)
                }
            }
        };
        self.branch(matches, body, |run| run.case_from(rest, value, text, line));
    }

    fn for_clause(&mut self, clause: &ast::ForClauseCommand) {
        let values = match &clause.values {
            Some(words) => self.expand_fields(words),
            None => self
                .frames
                .last()
                .map(|f| Some(f.args.clone()))
                .unwrap_or(None),
        };
        let name = clause.variable_name.clone();
        match values {
            Some(values) if values.len() <= MAX_ITERATIONS => {
                self.loops.push(false);
                for v in values {
                    if !self.state.alive {
                        break;
                    }
                    self.state.vars.insert(name.clone(), v);
                    self.list(&clause.body.list);
                    if self.loops.last() == Some(&true) {
                        self.state.alive = true;
                        break;
                    }
                }
                self.loops.pop();
            }
            _ => {
                self.state.vars.insert(name.clone(), Val::unknown(&name));
                self.maybe_loop(|run| run.list(&clause.body.list));
            }
        }
        if self.state.alive {
            self.state.last = OK;
        }
    }

    /// A loop whose iterations are unknown: zero runs merged with one run of the body.
    fn maybe_loop(&mut self, body: impl FnOnce(&mut Self)) {
        let before = self.state.clone();
        self.loops.push(false);
        body(self);
        if self.loops.pop() == Some(true) {
            self.state.alive = true;
        }
        let mut zero = before;
        zero.last = OK;
        self.merge(zero);
        if self.state.alive {
            self.state.last = OK;
        }
    }

    fn while_clause(&mut self, clause: &ast::WhileOrUntilClauseCommand, until: bool) {
        let st = self.condition(&clause.0);
        let st = if until { st.not() } else { st };
        if !self.state.alive || !st.ok {
            self.state.last = OK;
            return;
        }
        self.maybe_loop(|run| run.list(&clause.1.list));
    }

    /// `(( expr ))`: evaluated when every variable is known, otherwise unknown.
    fn arithmetic(&mut self, expr: &str) -> St {
        match brush_parser::arithmetic::parse(expr) {
            Ok(parsed) => match self.arith_eval(&parsed, 0) {
                Some(v) => St::from_bool(v != 0),
                None => ANY,
            },
            Err(_) => ANY,
        }
    }

    fn arith_eval(&self, expr: &ast::ArithmeticExpr, depth: usize) -> Option<i64> {
        use ast::ArithmeticExpr as A;
        use ast::BinaryOperator as B;
        if depth > 64 {
            return None;
        }
        match expr {
            A::Literal(n) => Some(*n),
            A::Reference(ast::ArithmeticTarget::Variable(name)) => {
                let v = self.state.vars.get(name)?.concrete()?;
                if v.trim().is_empty() {
                    Some(0)
                } else {
                    v.trim().parse().ok()
                }
            }
            A::BinaryOp(op, a, b) => {
                let (a, b) = (
                    self.arith_eval(a, depth + 1)?,
                    self.arith_eval(b, depth + 1)?,
                );
                Some(match op {
                    B::LessThan => (a < b) as i64,
                    B::LessThanOrEqualTo => (a <= b) as i64,
                    B::GreaterThan => (a > b) as i64,
                    B::GreaterThanOrEqualTo => (a >= b) as i64,
                    B::Equals => (a == b) as i64,
                    B::NotEquals => (a != b) as i64,
                    B::LogicalAnd => (a != 0 && b != 0) as i64,
                    B::LogicalOr => (a != 0 || b != 0) as i64,
                    B::Add => a.checked_add(b)?,
                    B::Subtract => a.checked_sub(b)?,
                    B::Multiply => a.checked_mul(b)?,
                    B::Divide => a.checked_div(b)?,
                    B::Modulo => a.checked_rem(b)?,
                    _ => return None,
                })
            }
            A::UnaryOp(ast::UnaryOperator::LogicalNot, a) => {
                Some((self.arith_eval(a, depth + 1)? == 0) as i64)
            }
            _ => None,
        }
    }

    // --- simple commands ---------------------------------------------------------------------

    fn simple(&mut self, simple: &ast::SimpleCommand, line: usize) {
        self.column = ast::SourceLocation::location(simple).map_or(0, |l| l.start.column);
        let mut subst = SubstStatus::default();
        let mut assignments = Vec::new();
        let mut words: Vec<&ast::Word> = Vec::new();
        let mut discard = false;
        for item in simple.prefix.iter().flat_map(|p| p.0.iter()) {
            match item {
                ast::CommandPrefixOrSuffixItem::AssignmentWord(a, _) => assignments.push(a),
                ast::CommandPrefixOrSuffixItem::IoRedirect(r) => discard |= redirects_stdout(r),
                _ => {}
            }
        }
        words.extend(simple.word_or_name.iter());
        for item in simple.suffix.iter().flat_map(|s| s.0.iter()) {
            match item {
                ast::CommandPrefixOrSuffixItem::Word(w) => words.push(w),
                ast::CommandPrefixOrSuffixItem::AssignmentWord(_, w) => words.push(w),
                ast::CommandPrefixOrSuffixItem::IoRedirect(r) => discard |= redirects_stdout(r),
                ast::CommandPrefixOrSuffixItem::ProcessSubstitution(..) => {}
            }
        }
        if words.is_empty() {
            for a in assignments {
                self.assign(a, &mut subst);
            }
            self.state.last = subst.status.unwrap_or(OK);
            return;
        }
        let mut args = Vec::new();
        for w in &words {
            match self.expand_word(w, &mut subst) {
                Some(fields) => args.extend(fields),
                None => args.push(Val::unknown("?")),
            }
        }
        // Prefix assignments apply to the command's environment; keep them visible (approximation).
        for a in assignments {
            self.assign(a, &mut subst);
        }
        if !self.state.alive {
            return;
        }
        let text = simple.to_string();
        if args.is_empty() {
            self.state.last = subst.status.unwrap_or(OK);
            return;
        }
        self.with_output_discarded(discard, |run| run.dispatch(args, line, &text));
        if subst.status.is_some_and(|s| s.fail) && self.state.alive {
            let name = simple
                .word_or_name
                .as_ref()
                .map(|w| w.value.clone())
                .unwrap_or_default();
            if matches!(
                name.as_str(),
                "local" | "export" | "declare" | "typeset" | "readonly"
            ) {
                self.event(Event::Masked {
                    line,
                    builtin: name,
                });
            } else {
                self.event(Event::SubstLost {
                    line,
                    command: text,
                });
            }
        }
    }

    fn assign(&mut self, a: &ast::Assignment, subst: &mut SubstStatus) {
        let name = match &a.name {
            ast::AssignmentName::VariableName(n) | ast::AssignmentName::ArrayElementName(n, _) => {
                n.clone()
            }
        };
        match &a.value {
            ast::AssignmentValue::Scalar(w) => {
                let mut v = self.expand_joined(w, subst);
                if a.append {
                    let mut old = self.state.vars.get(&name).cloned().unwrap_or_default();
                    old.append(v);
                    v = old;
                }
                if let ast::AssignmentName::ArrayElementName(..) = a.name {
                    self.state.arrays.remove(&name);
                    return;
                }
                self.set_var(&name, v);
            }
            ast::AssignmentValue::Array(items) => {
                let mut values = Vec::new();
                for (_, w) in items {
                    values.extend(
                        self.expand_word(w, subst)
                            .unwrap_or_else(|| vec![Val::unknown(&name)]),
                    );
                }
                self.state.arrays.insert(name, values);
            }
        }
    }

    fn set_var(&mut self, name: &str, v: Val) {
        self.state.vars.insert(name.to_string(), v);
    }

    /// Runs a command whose words are expanded.
    fn dispatch(&mut self, mut args: Vec<Val>, line: usize, text: &str) {
        strip_wrappers(&mut args);
        let Some(first) = args.first() else {
            self.state.last = OK;
            return;
        };
        let Some(name) = first.concrete() else {
            self.dynamic_name(first.clone(), line);
            return;
        };
        let rest: Vec<Val> = args[1..].to_vec();
        if let Some(&index) = self.state.functions.get(&name) {
            self.call(&name, index, rest, line);
            return;
        }
        if self.mode == Mode::Step && self.step_command(&name, &rest, line, text) {
            return;
        }
        if matches!(name.as_str(), "curl" | "wget" | "http" | "https" | "xh") {
            self.request(&name, &rest, line, text);
            return;
        }
        self.builtin(&name, &rest, line, text);
    }

    fn dynamic_name(&mut self, name: Val, line: usize) {
        let shown = name.render();
        self.unseen(
            line,
            format!("line {line} runs a command whose name is computed (`{shown}`), so the reader cannot see which function or program runs"),
            "call the functions by name, or loop over `compgen -A function check_`",
        );
        self.state.last = ANY;
    }

    fn builtin(&mut self, name: &str, args: &[Val], line: usize, text: &str) {
        let words: Vec<Option<String>> = args.iter().map(Val::concrete).collect();
        let arg = |i: usize| words.get(i).cloned().flatten();
        self.state.last = OK;
        match name {
            "true" | ":" => {}
            "false" => self.state.last = FAIL,
            "exit" => self.exit(arg(0), args.first(), line, text, false),
            "return" => {
                if self.frames.is_empty() {
                    self.exit(arg(0), args.first(), line, text, false);
                } else {
                    self.exit(arg(0), args.first(), line, text, true);
                }
            }
            "set" => self.set_builtin(&words, line),
            "echo" => {
                let skip = words
                    .iter()
                    .take_while(|w| {
                        w.as_deref().is_some_and(|w| {
                            w.starts_with('-')
                                && w.len() > 1
                                && w[1..].chars().all(|c| "neE".contains(c))
                        })
                    })
                    .count();
                let newline = !words[..skip]
                    .iter()
                    .any(|w| w.as_deref().is_some_and(|w| w.contains('n')));
                let out: Option<Vec<String>> = words[skip..].iter().cloned().collect();
                self.write(out.map(|o| o.join(" ") + if newline { "\n" } else { "" }));
            }
            "printf" => {
                let out = match (arg(0), words.len()) {
                    (Some(f), 1) if !f.contains('%') => Some(f.replace("\\n", "\n")),
                    (Some(f), 2) if f == "%s" || f == "%s\\n" => {
                        arg(1).map(|a| if f == "%s" { a } else { a + "\n" })
                    }
                    _ => None,
                };
                self.write(out);
            }
            "[" | "test" => {
                let operands = if name == "[" {
                    if words.last().is_some_and(|w| w.as_deref() == Some("]")) {
                        &args[..args.len() - 1]
                    } else {
                        args
                    }
                } else {
                    args
                };
                let (st, tainted) = self.bracket_test(operands);
                self.tested(st, tainted, line, text);
            }
            "eval" => {
                self.unseen(
                    line,
                    format!("`eval` at line {line} runs code the reader cannot see"),
                    "write the commands out instead of using `eval`",
                );
                self.state.last = ANY;
            }
            "source" | "." => {
                let file =
                    arg(0).unwrap_or_else(|| args.first().map(Val::render).unwrap_or_default());
                self.unseen(
                    line,
                    format!("line {line} sources `{file}`, whose commands the reader cannot see"),
                    "keep the smoke checks in scripts/smoke.sh itself",
                );
                self.state.last = ANY;
            }
            "local" | "export" | "declare" | "typeset" | "readonly" => self.declare(name, args),
            "unset" => {
                for w in words.iter().flatten() {
                    self.state.vars.remove(w);
                    if self.state.functions.contains_key(w) {
                        Rc::make_mut(&mut self.state.functions).remove(w);
                    }
                }
            }
            "shift" => {
                let n = arg(0).and_then(|n| n.parse().ok()).unwrap_or(1usize);
                if let Some(frame) = self.frames.last_mut() {
                    frame.args.drain(..n.min(frame.args.len()));
                }
            }
            "cd" | "pushd" => self.cd(args.first()),
            "break" | "continue" => {
                if let Some(l) = self.loops.last_mut() {
                    *l = name == "break" || *l;
                    self.state.alive = false;
                }
            }
            "compgen" => {
                let function = words
                    .windows(2)
                    .any(|w| w[0].as_deref() == Some("-A") && w[1].as_deref() == Some("function"));
                let prefix = words
                    .last()
                    .cloned()
                    .flatten()
                    .filter(|p| !p.starts_with('-') && p != "function")
                    .unwrap_or_default();
                self.write(function.then(|| self.function_names(&prefix)));
            }
            "read" | "mapfile" | "readarray" => {
                for w in words.iter().flatten().filter(|w| !w.starts_with('-')) {
                    self.set_var(w, Val::unknown(w));
                }
                self.state.last = ANY;
            }
            "trap" => self.trap(&words, line, text),
            _ => self.write(None),
        }
    }

    fn tested(&mut self, st: St, tainted: bool, line: usize, text: &str) {
        if tainted {
            if st == ANY {
                self.event(Event::TestUnknown {
                    line,
                    test: text.to_string(),
                });
            } else if st.ok {
                let code = self.fault_code().map(|c| c.to_string()).unwrap_or_default();
                self.event(Event::TestPasses {
                    line,
                    test: text.to_string(),
                    code,
                });
            }
        }
        self.state.last = st;
    }

    fn fault_code(&self) -> Option<u16> {
        match &self.fault {
            Fault::Request { code, .. } => Some(*code),
            _ => None,
        }
    }

    fn exit(
        &mut self,
        code: Option<String>,
        raw: Option<&Val>,
        line: usize,
        text: &str,
        is_return: bool,
    ) {
        let st = match (code, raw) {
            (Some(c), _) => match c.trim().parse::<i64>() {
                Ok(n) => St::from_bool(n % 256 == 0),
                Err(_) => FAIL,
            },
            (None, Some(_)) => ANY,
            (None, None) => self.state.last,
        };
        if st.ok {
            self.event(Event::SuccessExit {
                line,
                text: text.to_string(),
            });
        }
        if is_return {
            if let Some(frame) = self.frames.last_mut() {
                frame.returns = frame.returns.union(st);
                frame.returned = true;
            }
            self.state.alive = false;
        } else {
            self.exits = self.exits.union(st);
            self.kill(line, text);
        }
    }

    fn set_builtin(&mut self, words: &[Option<String>], line: usize) {
        let mut i = 0;
        while i < words.len() {
            let Some(w) = words[i].as_deref() else {
                i += 1;
                continue;
            };
            let on = w.starts_with('-');
            if (w.starts_with('-') || w.starts_with('+')) && w.len() > 1 && !w.starts_with("--") {
                let flags = &w[1..];
                for c in flags.chars() {
                    match c {
                        'e' => self.set_errexit(on, line, w),
                        'o' => {
                            let option = words.get(i + 1).cloned().flatten().unwrap_or_default();
                            self.set_option(&option, on, line, w);
                            i += 1;
                        }
                        _ => {}
                    }
                }
            }
            i += 1;
        }
    }

    fn set_option(&mut self, option: &str, on: bool, line: usize, flag: &str) {
        match option {
            "errexit" => self.set_errexit(on, line, &format!("{flag} errexit")),
            "pipefail" => self.state.pipefail = on,
            _ => {}
        }
    }

    fn set_errexit(&mut self, on: bool, line: usize, how: &str) {
        self.state.errexit = on;
        self.state.errexit_origin = if on {
            format!("`set {how}` at line {line}")
        } else {
            format!("`set {how}` at line {line} switches `set -e` off")
        };
    }

    fn declare(&mut self, name: &str, args: &[Val]) {
        let flags: String = args
            .iter()
            .filter_map(Val::concrete)
            .filter(|a| a.starts_with('-'))
            .collect();
        if (name == "declare" || name == "typeset") && (flags.contains('F') || flags.contains('f'))
        {
            let listing = self
                .function_names("")
                .lines()
                .map(|n| format!("declare -f {n}\n"))
                .collect();
            self.write(Some(listing));
            return;
        }
        // Assignments inside `local x=...` arrive as words `x=value` after expansion.
        for a in args {
            let Some(text) = a.concrete().or_else(|| match a.pieces.first() {
                Some(Piece::Lit(t)) if t.contains('=') => Some(t.clone()),
                _ => None,
            }) else {
                continue;
            };
            if text.starts_with('-') {
                continue;
            }
            if let Some((var, _)) = text.split_once('=') {
                let mut value = a.clone();
                if let Some(Piece::Lit(t)) = value.pieces.first_mut() {
                    *t = t[var.len() + 1..].to_string();
                }
                self.set_var(var, value);
            } else if !self.state.vars.contains_key(&text) {
                self.set_var(&text, Val::lit(""));
            }
        }
    }

    fn cd(&mut self, dir: Option<&Val>) {
        let target = match dir {
            None => Some(String::new()),
            Some(v) => v.concrete(),
        };
        self.state.cwd = match (target, self.state.cwd.take()) {
            (Some(t), _) if t.starts_with('/') => normalise("", &t)
                .filter(|_| t.starts_with(WORKSPACE))
                .map(|p| p[WORKSPACE.len()..].trim_start_matches('/').to_string()),
            (Some(t), Some(cwd)) => normalise(&cwd, &t),
            _ => None,
        };
    }

    fn trap(&mut self, words: &[Option<String>], line: usize, text: &str) {
        let handler = words.first().cloned().flatten().unwrap_or_default();
        let on_exit = words
            .iter()
            .skip(1)
            .any(|w| matches!(w.as_deref(), Some("EXIT" | "0" | "SIGEXIT")));
        if on_exit && (handler.contains("exit") || words.first().is_some_and(|w| w.is_none())) {
            self.event(Event::Trap {
                line,
                text: text.to_string(),
            });
            self.unseen(
                line,
                format!(
                    "the EXIT trap at line {line} (`{text}`) may replace the script's exit status"
                ),
                "do not call `exit` in an EXIT trap",
            );
        }
    }

    fn write(&mut self, out: Option<String>) {
        if let Some(top) = self.captures.last_mut() {
            match (top.as_mut(), out) {
                (Some(buf), Some(o)) => buf.push_str(&o),
                _ => *top = None,
            }
        }
    }

    // --- functions -----------------------------------------------------------------------------

    fn call(&mut self, name: &str, index: usize, args: Vec<Val>, line: usize) {
        if self.observe {
            self.called_functions.insert(name.to_string());
            if name.starts_with("check_") && !self.first_call.contains_key(name) {
                let snapshot = CallSnapshot {
                    state: self.state.clone(),
                    args: args.clone(),
                    ignore: self.ignore.clone(),
                    outer: self.frames.iter().map(|f| f.name.clone()).collect(),
                    line,
                    exits_before: self.exits.union(self.outer_exits),
                    in_subshell: self.subshells > 0,
                };
                self.first_call.insert(name.to_string(), snapshot);
            }
        }
        if self.fault == Fault::Check(name.to_string()) {
            self.state.last = FAIL;
            return;
        }
        if self.frames.len() >= MAX_CALL_DEPTH {
            self.unseen(line, format!("functions call each other more than {MAX_CALL_DEPTH} deep at line {line} (a cycle?)"), "remove the recursion");
            self.state.last = ANY;
            return;
        }
        let first =
            self.observe && name.starts_with("check_") && !self.outcome_of_first.contains_key(name);
        let outcome = self.invoke(name, index, args);
        if first {
            self.outcome_of_first.insert(name.to_string(), outcome);
        }
    }

    /// Runs a function body; returns how it ended.
    fn invoke(&mut self, name: &str, index: usize, args: Vec<Val>) -> CallOutcome {
        let body = Rc::clone(&self.model.functions[index].2);
        self.frames.push(Frame {
            name: name.to_string(),
            args,
            returns: NONE,
            returned: false,
        });
        let saved_exits = std::mem::replace(&mut self.exits, NONE);
        let saved_outer = self.outer_exits;
        self.outer_exits = saved_outer.union(saved_exits);
        let line = self.model.functions[index].1;
        self.compound(&body.0, line);
        let frame = self.frames.pop().expect("frame pushed above");
        let end = if self.state.alive {
            self.state.last
        } else {
            NONE
        };
        let returns = frame.returns.union(end);
        let outcome = CallOutcome {
            returns,
            exits: self.exits,
        };
        self.outer_exits = saved_outer;
        self.exits = saved_exits.union(self.exits);
        self.state.alive = self.state.alive || frame.returned;
        self.state.last = returns;
        outcome
    }

    // --- HTTP requests ----------------------------------------------------------------------------

    fn request(&mut self, tool: &str, args: &[Val], line: usize, text: &str) {
        let parsed = parse_request(tool, args);
        let id = (line, self.base.1, self.column);
        let lookalike = if parsed.fails_on_error {
            None
        } else {
            self.pipe_peers.iter().find(|p| has_f_flag(p)).cloned()
        };
        let _ = text;
        let check = self
            .frames
            .iter()
            .rev()
            .find(|f| f.name.starts_with("check_"))
            .map(|f| f.name.clone());
        let code = match &self.fault {
            Fault::Request {
                id: fid,
                check: c,
                code,
            } if *fid == id && check.as_deref() == Some(c) => *code,
            _ => 200,
        };
        if self.observe {
            if let Some(check) = check {
                let seen = SeenRequest {
                    id,
                    line,
                    tool: tool.to_string(),
                    url: parsed.url.clone(),
                    lookalike,
                    status_in_output: parsed.write_out.is_some(),
                };
                if !self.requests.iter().any(|(c, r)| *c == check && r.id == id) {
                    self.requests.push((check, seen));
                }
            }
        }
        let bad = code >= 400;
        self.state.last = St::from_bool(!(bad && parsed.fails_on_error));
        let output = parsed.write_out.map(|w| {
            w.replace("%{http_code}", &code.to_string())
                .replace("%{response_code}", &code.to_string())
                .replace("\\n", "\n")
        });
        let output = output.filter(|o| !o.contains("%{"));
        self.write(output);
        if bad {
            if let Some(top) = self.capture_taint.last_mut() {
                *top = true;
            }
        }
    }
}

/// The status of the command substitutions run while expanding one command.
#[derive(Default)]
struct SubstStatus {
    status: Option<St>,
}

/// What the reader needs from a request's arguments.
struct ParsedRequest {
    url: Option<String>,
    fails_on_error: bool,
    /// curl's `-w` format when the body goes elsewhere (`-o file`), i.e. what stdout gets.
    write_out: Option<String>,
}

const WORKSPACE: &str = "/github/workspace";

// ---------------------------------------------------------------------------------------------
// Word expansion
// ---------------------------------------------------------------------------------------------

/// Fields being built while expanding one word.
#[derive(Default)]
struct Fields {
    current: Val,
    started: bool,
    done: Vec<Val>,
}

impl Fields {
    fn push(&mut self, v: Val) {
        self.current.append(v);
        self.started = true;
    }
    /// Unquoted expansion: known text is split on whitespace.
    fn push_split(&mut self, v: Val) {
        let Some(text) = v.concrete() else {
            return self.push(v);
        };
        let parts: Vec<&str> = text.split_whitespace().collect();
        if parts.is_empty() {
            return;
        }
        let leading = text.starts_with(char::is_whitespace);
        let trailing = text.ends_with(char::is_whitespace);
        for (i, part) in parts.iter().enumerate() {
            if (i > 0 || leading) && self.started {
                self.done.push(std::mem::take(&mut self.current));
            }
            self.push(Val {
                pieces: vec![Piece::Lit(part.to_string())],
                tainted: v.tainted,
            });
        }
        if trailing {
            self.done.push(std::mem::take(&mut self.current));
            self.started = false;
        }
    }
    fn many(&mut self, values: Vec<Val>) {
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.done.push(std::mem::take(&mut self.current));
            }
            self.push(v);
        }
    }
    fn finish(mut self) -> Vec<Val> {
        if self.started {
            self.done.push(self.current);
        }
        self.done
    }
}

/// A parameter's value: one value, or a list (`"$@"`, `"${arr[@]}"`).
enum ParamValue {
    One(Val),
    Many(Vec<Val>),
}

impl<'a> Run<'a> {
    fn word_pieces(
        &mut self,
        word: &str,
    ) -> Option<Rc<Vec<brush_parser::word::WordPieceWithSource>>> {
        if let Some(p) = self.caches.words.borrow().get(word) {
            return Some(Rc::clone(p));
        }
        let parsed =
            std::panic::catch_unwind(|| brush_parser::word::parse(word, &parser_options()))
                .ok()?
                .ok()?;
        let parsed = Rc::new(parsed);
        self.caches
            .words
            .borrow_mut()
            .insert(word.to_string(), Rc::clone(&parsed));
        Some(parsed)
    }

    /// Expands a word into fields (`None` when the word cannot be parsed).
    fn expand_word(&mut self, word: &ast::Word, subst: &mut SubstStatus) -> Option<Vec<Val>> {
        let pieces = self.word_pieces(&word.value)?;
        let line = self.line_of(word.loc.clone());
        let mut fields = Fields::default();
        self.expand_pieces(&pieces, false, &mut fields, subst, (line, &word.value));
        Some(fields.finish())
    }

    fn expand_fields(&mut self, words: &[ast::Word]) -> Option<Vec<Val>> {
        let mut subst = SubstStatus::default();
        let mut out = Vec::new();
        for w in words {
            out.extend(self.expand_word(w, &mut subst)?);
        }
        if out.iter().any(|v| v.concrete().is_none()) {
            return None;
        }
        Some(out)
    }

    /// Expands a word without field splitting (assignments, `case`, `[[`).
    fn expand_joined(&mut self, word: &ast::Word, subst: &mut SubstStatus) -> Val {
        let Some(pieces) = self.word_pieces(&word.value) else {
            return Val::unknown("?");
        };
        let line = self.line_of(word.loc.clone());
        let mut fields = Fields::default();
        self.expand_pieces(&pieces, true, &mut fields, subst, (line, &word.value));
        let mut all = fields.finish().into_iter();
        let mut v = all.next().unwrap_or_default();
        for rest in all {
            v.append(Val::lit(" "));
            v.append(rest);
        }
        v
    }

    fn expand_one(&mut self, word: &ast::Word) -> Val {
        let mut subst = SubstStatus::default();
        self.expand_joined(word, &mut subst)
    }

    fn expand_pieces(
        &mut self,
        pieces: &[brush_parser::word::WordPieceWithSource],
        quoted: bool,
        fields: &mut Fields,
        subst: &mut SubstStatus,
        at: (usize, &str),
    ) {
        for piece in pieces {
            match &piece.piece {
                WordPiece::Text(t)
                | WordPiece::SingleQuotedText(t)
                | WordPiece::AnsiCQuotedText(t) => fields.push(Val::lit(t)),
                WordPiece::EscapeSequence(e) => {
                    fields.push(Val::lit(e.strip_prefix('\\').unwrap_or(e)))
                }
                WordPiece::DoubleQuotedSequence(inner)
                | WordPiece::GettextDoubleQuotedSequence(inner) => {
                    fields.push(Val::lit(""));
                    self.expand_pieces(inner, true, fields, subst, at);
                }
                WordPiece::TildeExpansion(_) => fields.push(Val::unknown("HOME")),
                WordPiece::ParameterExpansion(expr) => match self.parameter(expr) {
                    ParamValue::One(v) if quoted => fields.push(v),
                    ParamValue::One(v) => fields.push_split(v),
                    ParamValue::Many(vs) => fields.many(vs),
                },
                WordPiece::CommandSubstitution(src)
                | WordPiece::BackquotedCommandSubstitution(src) => {
                    let offset =
                        at.1.chars()
                            .take(piece.start_index)
                            .filter(|c| *c == '\n')
                            .count();
                    let v = self.substitution(src, at.0 + offset, piece.start_index, subst);
                    if quoted {
                        fields.push(v)
                    } else {
                        fields.push_split(v)
                    }
                }
                WordPiece::ArithmeticExpression(e) => {
                    fields.push(Val::unknown(&format!("(({}))", e.value)))
                }
            }
        }
    }

    fn parameter(&mut self, expr: &ParameterExpr) -> ParamValue {
        match expr {
            ParameterExpr::Parameter {
                parameter,
                indirect: false,
            } => self.lookup(parameter),
            ParameterExpr::UseDefaultValues { parameter, .. }
            | ParameterExpr::AssignDefaultValues { parameter, .. } => {
                match self.lookup(parameter) {
                    ParamValue::One(v) if v.concrete().is_some_and(|c| !c.is_empty()) => {
                        ParamValue::One(v)
                    }
                    _ => ParamValue::One(Val::unknown(&param_name(parameter))),
                }
            }
            other => ParamValue::One(Val::unknown(&format!("{{{}}}", param_name_of(other)))),
        }
    }

    fn lookup(&self, parameter: &Parameter) -> ParamValue {
        let frame = self.frames.last();
        match parameter {
            Parameter::Positional(0) => ParamValue::One(Val::lit("smoke.sh")),
            Parameter::Positional(n) => match frame {
                Some(f) => ParamValue::One(
                    f.args
                        .get(*n as usize - 1)
                        .cloned()
                        .unwrap_or_else(|| Val::lit("")),
                ),
                None => ParamValue::One(Val::unknown(&n.to_string())),
            },
            Parameter::Special(SpecialParameter::LastExitStatus) => ParamValue::One(
                self.state
                    .last
                    .code()
                    .map_or_else(|| Val::unknown("?"), Val::lit),
            ),
            Parameter::Special(SpecialParameter::AllPositionalParameters { .. }) => match frame {
                Some(f) => ParamValue::Many(f.args.clone()),
                None => ParamValue::One(Val::unknown("@")),
            },
            Parameter::Special(SpecialParameter::PositionalParameterCount) => match frame {
                Some(f) => ParamValue::One(Val::lit(&f.args.len().to_string())),
                None => ParamValue::One(Val::unknown("#")),
            },
            Parameter::Named(name) => ParamValue::One(
                self.state
                    .vars
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| Val::unknown(name)),
            ),
            Parameter::NamedWithAllIndices { name, .. } => match self.state.arrays.get(name) {
                Some(vs) => ParamValue::Many(vs.clone()),
                None => ParamValue::One(Val::unknown(name)),
            },
            other => ParamValue::One(Val::unknown(&param_name(other))),
        }
    }

    /// Runs `$(...)` in a subshell and returns what it printed.
    fn substitution(
        &mut self,
        src: &str,
        line: usize,
        start: usize,
        subst: &mut SubstStatus,
    ) -> Val {
        let cached = self.caches.programs.borrow().get(src).cloned();
        let program = match cached {
            Some(p) => p,
            None => {
                let p = parse(src).ok().map(Rc::new);
                self.caches
                    .programs
                    .borrow_mut()
                    .insert(src.to_string(), p.clone());
                p
            }
        };
        let Some(program) = program else {
            self.unseen(
                line,
                format!("the command substitution at line {line} cannot be parsed"),
                "fix its syntax",
            );
            subst.status = Some(ANY);
            return Val::unknown("(...)");
        };
        let saved_base = self.base;
        self.base = (
            line.saturating_sub(1),
            saved_base
                .1
                .wrapping_mul(31)
                .wrapping_add(line * 1009 + start + 1),
        );
        self.captures.push(Some(String::new()));
        self.capture_taint.push(false);
        let st = self.subshell(|run| {
            // bash does not apply `set -e` inside `$(...)` unless `shopt -s inherit_errexit`.
            if run.state.errexit && !run.state.vars.contains_key("\u{0}inherit_errexit") {
                run.state.errexit = false;
                run.state.errexit_origin = "bash does not apply `set -e` inside `$(...)`".into();
            }
            run.program(&program);
        });
        let text = self.captures.pop().flatten();
        let tainted = self.capture_taint.pop().unwrap_or(false);
        self.base = saved_base;
        subst.status = Some(st);
        let mut v = match text {
            Some(t) => Val::lit(t.trim_end_matches('\n')),
            None => Val::unknown("(...)"),
        };
        v.tainted = tainted;
        v
    }
}

fn param_name(p: &Parameter) -> String {
    match p {
        Parameter::Positional(n) => n.to_string(),
        Parameter::Special(_) => "?".into(),
        Parameter::Named(n)
        | Parameter::NamedWithIndex { name: n, .. }
        | Parameter::NamedWithAllIndices { name: n, .. } => n.clone(),
    }
}

fn param_name_of(expr: &ParameterExpr) -> String {
    let text = format!("{expr:?}");
    text.split('"').nth(1).unwrap_or("?").to_string()
}

// ---------------------------------------------------------------------------------------------
// Tests: `[ ]`, `test`, `[[ ]]` and glob patterns, evaluated on known values
// ---------------------------------------------------------------------------------------------

/// Marks an operand whose value is unknown.
const UNKNOWN: &str = "\u{0}";

fn tri_and(a: St, b: St) -> St {
    St {
        ok: a.ok && b.ok,
        fail: a.fail || b.fail,
    }
}

fn tri_or(a: St, b: St) -> St {
    St {
        ok: a.ok || b.ok,
        fail: a.fail && b.fail,
    }
}

impl<'a> Run<'a> {
    fn bracket_test(&self, operands: &[Val]) -> (St, bool) {
        let tainted = operands.iter().any(|v| v.tainted);
        let words: Vec<String> = operands
            .iter()
            .map(|v| v.concrete().unwrap_or_else(|| UNKNOWN.to_string()))
            .collect();
        let st = match brush_parser::test_command::parse(&words) {
            Ok(expr) => eval_test(&expr, 0),
            Err(_) => FAIL,
        };
        (st, tainted)
    }

    fn extended_test(&mut self, expr: &ast::ExtendedTestExpr) -> (St, bool) {
        use ast::ExtendedTestExpr as E;
        match expr {
            E::And(a, b) => {
                let ((x, t1), (y, t2)) = (self.extended_test(a), self.extended_test(b));
                (tri_and(x, y), t1 || t2)
            }
            E::Or(a, b) => {
                let ((x, t1), (y, t2)) = (self.extended_test(a), self.extended_test(b));
                (tri_or(x, y), t1 || t2)
            }
            E::Not(a) => {
                let (x, t) = self.extended_test(a);
                (x.not(), t)
            }
            E::Parenthesized(a) => self.extended_test(a),
            E::UnaryTest(pred, w) => {
                let v = self.expand_one(w);
                let s = v.concrete().unwrap_or_else(|| UNKNOWN.into());
                (
                    eval_test(&ast::TestExpr::UnaryTest(pred.clone(), s), 0),
                    v.tainted,
                )
            }
            E::BinaryTest(pred, l, r) => {
                let (l, r) = (self.expand_one(l), self.expand_one(r));
                let tainted = l.tainted || r.tainted;
                let (ls, rs) = (l.concrete(), r.concrete());
                let st = match (pred, ls, rs) {
                    (ast::BinaryPredicate::StringExactlyMatchesPattern, Some(a), Some(p)) => {
                        St::from_bool(glob_match(&p, &a))
                    }
                    (ast::BinaryPredicate::StringDoesNotExactlyMatchPattern, Some(a), Some(p)) => {
                        St::from_bool(!glob_match(&p, &a))
                    }
                    (ast::BinaryPredicate::StringMatchesRegex, _, _) => ANY,
                    (p, a, b) => eval_test(
                        &ast::TestExpr::BinaryTest(
                            p.clone(),
                            a.unwrap_or_else(|| UNKNOWN.into()),
                            b.unwrap_or_else(|| UNKNOWN.into()),
                        ),
                        0,
                    ),
                };
                (st, tainted)
            }
        }
    }
}

fn eval_test(expr: &ast::TestExpr, depth: usize) -> St {
    use ast::BinaryPredicate as B;
    use ast::TestExpr as T;
    if depth > 64 {
        return ANY;
    }
    let unknown = |s: &str| s.contains(UNKNOWN);
    match expr {
        T::False => FAIL,
        T::Literal(s) if unknown(s) => ANY,
        T::Literal(s) => St::from_bool(!s.is_empty()),
        T::And(a, b) => tri_and(eval_test(a, depth + 1), eval_test(b, depth + 1)),
        T::Or(a, b) => tri_or(eval_test(a, depth + 1), eval_test(b, depth + 1)),
        T::Not(a) => eval_test(a, depth + 1).not(),
        T::Parenthesized(a) => eval_test(a, depth + 1),
        T::UnaryTest(_, s) if unknown(s) => ANY,
        T::UnaryTest(ast::UnaryPredicate::StringHasZeroLength, s) => St::from_bool(s.is_empty()),
        T::UnaryTest(ast::UnaryPredicate::StringHasNonZeroLength, s) => {
            St::from_bool(!s.is_empty())
        }
        T::UnaryTest(..) => ANY,
        T::BinaryTest(_, a, b) if unknown(a) || unknown(b) => ANY,
        T::BinaryTest(pred, a, b) => match pred {
            B::StringExactlyMatchesString | B::StringExactlyMatchesPattern => St::from_bool(a == b),
            B::StringDoesNotExactlyMatchString | B::StringDoesNotExactlyMatchPattern => {
                St::from_bool(a != b)
            }
            B::ArithmeticEqualTo
            | B::ArithmeticNotEqualTo
            | B::ArithmeticLessThan
            | B::ArithmeticLessThanOrEqualTo
            | B::ArithmeticGreaterThan
            | B::ArithmeticGreaterThanOrEqualTo => {
                let (Ok(x), Ok(y)) = (a.trim().parse::<i64>(), b.trim().parse::<i64>()) else {
                    return FAIL; // `[` reports an error (status 2) on a non-integer.
                };
                St::from_bool(match pred {
                    B::ArithmeticEqualTo => x == y,
                    B::ArithmeticNotEqualTo => x != y,
                    B::ArithmeticLessThan => x < y,
                    B::ArithmeticLessThanOrEqualTo => x <= y,
                    B::ArithmeticGreaterThan => x > y,
                    _ => x >= y,
                })
            }
            _ => ANY,
        },
    }
}

/// Bash glob: `*`, `?`, `[...]` (with `!`/`^` and ranges); `|` alternatives are split by the parser.
fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matcher with backtracking on the last `*` (linear-ish, no recursion).
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = class_match(&p, pi, t[ti]) {
                        if matched {
                            pi = next;
                            ti += 1;
                            continue;
                        }
                    } else if t[ti] == '[' {
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
                c if c == t[ti] => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Matches `c` against the bracket class starting at `p[start] == '['`: (matched, index after).
fn class_match(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() && (p[i] != ']' || first) {
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            matched |= p[i] <= c && c <= p[i + 2];
            i += 3;
        } else {
            matched |= p[i] == c;
            i += 1;
        }
    }
    (i < p.len()).then_some((matched != negate, i + 1))
}

// ---------------------------------------------------------------------------------------------
// Command helpers
// ---------------------------------------------------------------------------------------------

/// Drops wrappers that run their arguments as a command (`command curl`, `timeout 5 curl`).
fn strip_wrappers(args: &mut Vec<Val>) {
    for _ in 0..8 {
        let Some(first) = args.first().and_then(Val::concrete) else {
            return;
        };
        let skip = match first.as_str() {
            "command" | "builtin" | "exec" | "nohup" | "time" | "sudo" | "nice" => {
                1 + args[1..]
                    .iter()
                    .take_while(|a| a.concrete().is_some_and(|a| a.starts_with('-')))
                    .count()
            }
            "env" => {
                1 + args[1..]
                    .iter()
                    .take_while(|a| {
                        a.concrete()
                            .is_some_and(|a| a.starts_with('-') || a.contains('='))
                    })
                    .count()
            }
            "timeout" => {
                let opts = args[1..]
                    .iter()
                    .take_while(|a| a.concrete().is_some_and(|a| a.starts_with('-')))
                    .count();
                2 + opts
            }
            _ => return,
        };
        if skip >= args.len() {
            args.clear();
            return;
        }
        args.drain(..skip);
    }
}

/// `> file`, `>/dev/null`, `>> log`: stdout does not reach a capture.
fn redirects_stdout(r: &ast::IoRedirect) -> bool {
    match r {
        ast::IoRedirect::File(fd, kind, _) => {
            matches!(
                kind,
                ast::IoFileRedirectKind::Write
                    | ast::IoFileRedirectKind::Append
                    | ast::IoFileRedirectKind::Clobber
            ) && fd.is_none_or(|fd| fd == 1)
        }
        ast::IoRedirect::OutputAndError(..) => true,
        _ => false,
    }
}

/// A word like `-f1` or `-sf` in another command of a pipeline (looks like curl's `-f`).
fn has_f_flag(command: &str) -> bool {
    command
        .split_whitespace()
        .skip(1)
        .any(|w| w.starts_with('-') && !w.starts_with("--") && w.contains('f'))
}

/// Joins and normalises a path (`.`/`..`); `None` when it climbs above the root.
fn normalise(cwd: &str, path: &str) -> Option<String> {
    let mut parts: Vec<&str> = if path.starts_with('/') {
        vec![]
    } else {
        cwd.split('/').filter(|s| !s.is_empty()).collect()
    };
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(if path.starts_with('/') {
        format!("/{}", parts.join("/"))
    } else {
        parts.join("/")
    })
}

/// curl's short options that take an argument (the rest of a combined group is that argument).
const CURL_SHORT_WITH_ARG: &str = "ABCDEHKPQTUXYbcdeEFhmoOrtuwxyz";
/// curl's long options that take an argument.
const CURL_LONG_WITH_ARG: [&str; 24] = [
    "--output",
    "--write-out",
    "--header",
    "--data",
    "--data-raw",
    "--data-binary",
    "--data-urlencode",
    "--request",
    "--user",
    "--user-agent",
    "--max-time",
    "--connect-timeout",
    "--retry",
    "--retry-delay",
    "--retry-max-time",
    "--cookie",
    "--cookie-jar",
    "--form",
    "--upload-file",
    "--cacert",
    "--cert",
    "--key",
    "--resolve",
    "--json",
];

fn parse_request(tool: &str, args: &[Val]) -> ParsedRequest {
    match tool {
        "curl" => parse_curl(args),
        "wget" => {
            let url = first_operand(
                args,
                &[
                    "-O",
                    "-o",
                    "-t",
                    "-T",
                    "--header",
                    "--timeout",
                    "--tries",
                    "-U",
                    "--user-agent",
                ],
            );
            ParsedRequest {
                url,
                fails_on_error: true,
                write_out: None,
            }
        }
        _ => {
            // HTTPie / xh: exit 0 on 4xx/5xx unless `--check-status`.
            let check = args
                .iter()
                .any(|a| a.concrete().as_deref() == Some("--check-status"));
            let operands: Vec<&Val> = args
                .iter()
                .filter(|a| !a.concrete().is_some_and(|c| c.starts_with('-')))
                .collect();
            let url = operands
                .iter()
                .find(|a| {
                    !a.concrete()
                        .is_some_and(|c| c.chars().all(|c| c.is_ascii_uppercase()))
                })
                .map(|v| (*v).clone());
            ParsedRequest {
                url: url.filter(Val::has_literal).map(|v| v.render()),
                fails_on_error: check,
                write_out: None,
            }
        }
    }
}

fn parse_curl(args: &[Val]) -> ParsedRequest {
    let mut fail = false;
    let mut write_out: Option<String> = None;
    let mut output = false;
    let mut url = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].concrete();
        let next = args.get(i + 1);
        match a.as_deref() {
            Some("--fail" | "--fail-with-body") => fail = true,
            Some("--url") => {
                url = next.cloned();
                i += 1;
            }
            Some(long) if long.starts_with("--") => {
                let name = long.split('=').next().unwrap_or(long);
                if CURL_LONG_WITH_ARG.contains(&name) && !long.contains('=') {
                    if name == "--write-out" {
                        write_out = next.and_then(Val::concrete);
                    }
                    output |= name == "--output";
                    i += 1;
                } else if let Some(v) = long.strip_prefix("--write-out=") {
                    write_out = Some(v.to_string());
                }
                output |= name == "--output";
            }
            Some(short) if short.starts_with('-') && short.len() > 1 => {
                for (k, c) in short[1..].char_indices() {
                    if c == 'f' {
                        fail = true;
                    }
                    if CURL_SHORT_WITH_ARG.contains(c) {
                        let inline = &short[1 + k + c.len_utf8()..];
                        let value = if inline.is_empty() {
                            i += 1;
                            next.and_then(Val::concrete)
                        } else {
                            Some(inline.to_string())
                        };
                        match c {
                            'w' => write_out = value,
                            'o' => output = true,
                            _ => {}
                        }
                        break;
                    }
                }
            }
            _ => {
                if url.is_none() {
                    url = Some(args[i].clone());
                }
            }
        }
        i += 1;
    }
    ParsedRequest {
        url: url.filter(Val::has_literal).map(|v| v.render()),
        fails_on_error: fail,
        write_out: write_out.filter(|_| output),
    }
}

/// The first argument that is not an option (nor an option's argument).
fn first_operand(args: &[Val], with_arg: &[&str]) -> Option<String> {
    let mut i = 0;
    while i < args.len() {
        match args[i].concrete() {
            Some(a) if with_arg.contains(&a.as_str()) => i += 2,
            Some(a) if a.starts_with('-') => i += 1,
            _ => {
                return Some(args[i].clone())
                    .filter(Val::has_literal)
                    .map(|v| v.render())
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Step mode (R4): invocations of the smoke script
// ---------------------------------------------------------------------------------------------

const SHELLS: [&str; 5] = ["bash", "sh", "dash", "zsh", "ksh"];

impl<'a> Run<'a> {
    /// Handles commands that may run the smoke script; false when `name` is something else.
    fn step_command(&mut self, name: &str, rest: &[Val], line: usize, text: &str) -> bool {
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
            if arg == "-o" {
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
fn substitute_expressions(run: &str) -> String {
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

// ---------------------------------------------------------------------------------------------
// Drivers
// ---------------------------------------------------------------------------------------------

/// Analysis of a smoke script (R3). Never panics; a parse error is an `unseen` finding.
pub fn analyse_smoke_script(text: &str) -> SmokeScript {
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

fn analyse_smoke(text: &str) -> SmokeScript {
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
            if why_not.is_none() && !baseline.can_pass() {
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

/// R4: does this `run:` script invoke `script` so that its failure fails the step?
pub fn step_runs_script(
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

fn step(text: &str, shell: ShellOptions, wd: Option<&str>, script: &str) -> StepRun {
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

// ---------------------------------------------------------------------------------------------
// Student words
// ---------------------------------------------------------------------------------------------

fn short(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 60 {
        one_line.chars().take(57).collect::<String>() + "..."
    } else {
        one_line
    }
}

/// Turns an event into a finding; `subject` names what failed (a check or the smoke script).
fn describe(event: &Event, subject: &str) -> Option<Finding> {
    let f = |line: usize, message: String, fix: &str| {
        Some(Finding {
            line: Some(line),
            message,
            fix: fix.to_string(),
        })
    };
    match event {
        Event::Pipe { line, hidden, pipeline } => f(
            *line,
            format!("the pipe at line {line} (`{}`) hides the exit status of `{}`: without `set -o pipefail` a pipeline's status is its last command's", short(pipeline), short(hidden)),
            "add `set -o pipefail` (for example `set -euo pipefail` at the top), or do not pipe it",
        ),
        Event::OrSwallow { line, handler } => f(
            *line,
            format!("`|| {}` at line {line} turns the failure of `{subject}` into success", short(handler)),
            "remove it, or write `|| exit 1` (in a function: `|| return 1`)",
        ),
        Event::NoErrexit { line, command, origin } => f(
            *line,
            format!("`{}` fails at line {line} but the script carries on: {origin}", short(command)),
            "put `set -euo pipefail` at the top (and no `set +e`), or add `|| exit 1` after it",
        ),
        Event::Ignored { line, command, context_line } => f(
            *line,
            format!(
                "`{}` fails at line {line} but `set -e` does not apply there: the code runs inside a condition (`if`, `||`, `&&` or `!`) at line {context_line}, where bash ignores `set -e`",
                short(command)
            ),
            "add `|| return 1` after the request inside the check",
        ),
        Event::TestPasses { line, test, code } => f(
            *line,
            format!("the status test `{}` at line {line} lets a {} pass", short(test), if code.is_empty() { "bad status" } else { code }),
            "test for success instead, for example `[ \"$code\" -eq 200 ]` or `[ \"$code\" -lt 400 ]`",
        ),
        Event::TestUnknown { line, test } => f(
            *line,
            format!("the reader cannot evaluate the status test `{}` at line {line}", short(test)),
            "write it as `[ \"$code\" -eq 200 ]`, `[ \"$code\" -lt 400 ]` or a `case` on `2??`",
        ),
        Event::Masked { line, builtin } => f(
            *line,
            format!("`{builtin} x=$(...)` at line {line} returns the status of `{builtin}` (0), so the failure inside `$(...)` is lost"),
            "declare first, then assign: `local out; out=$(curl ...)`",
        ),
        Event::SubstLost { line, command } => f(
            *line,
            format!("the failure inside `$(...)` at line {line} is lost: the status of `{}` is that of the command, not of the substitution", short(command)),
            "assign the output to a variable first (`out=$(curl ...)`), then use it",
        ),
        Event::Background { line, command } => f(
            *line,
            format!("`{}` runs in the background (`&`) at line {line}, so nobody sees its status", short(command)),
            "run it in the foreground (or `wait` for it and test the status)",
        ),
        Event::SuccessExit { line, text } => f(
            *line,
            format!("`{}` at line {line} can end with success even when `{subject}` fails", short(text)),
            "exit with a failure status when a check failed (remove the early success exit)",
        ),
        Event::Trap { line, text } => f(*line, format!("the EXIT trap at line {line} (`{}`) may replace the exit status", short(text)), "do not call `exit` in an EXIT trap"),
    }
}

/// Why a request's bad status does not fail its check, in the student's words.
fn explain_request(r: &SeenRequest, events: &[Event], code: u16, check: &str) -> String {
    let relevant = events
        .iter()
        .find(|e| !matches!(e, Event::SuccessExit { .. }));
    if let Some(e) = relevant {
        if let Some(f) = describe(e, check) {
            return f.message;
        }
    }
    if let Some(peer) = &r.lookalike {
        let flag = peer
            .split_whitespace()
            .skip(1)
            .find(|w| w.starts_with('-') && w.contains('f'))
            .unwrap_or("-f");
        return format!(
            "`{}` is not {}'s `-f`: `{flag}` belongs to `{}`, so {} exits 0 on a {code}",
            short(peer),
            r.tool,
            short(peer),
            r.tool
        );
    }
    match r.tool.as_str() {
        "curl" => format!(
            "`curl` without `--fail` (`-f`) exits 0 on a {code}, and nothing tests the status"
        ),
        "http" | "https" | "xh" => format!(
            "`{}` exits 0 on a {code} unless it has `--check-status`",
            r.tool
        ),
        _ => format!("a {code} answer does not make `{check}` fail"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str =
        "#!/usr/bin/env bash\nset -euo pipefail\nBASE_URL=${BASE_URL:-http://localhost:8080}\n";

    fn script(body: &str) -> SmokeScript {
        analyse_smoke_script(&format!("{HEAD}{body}"))
    }
    fn check<'a>(s: &'a SmokeScript, name: &str) -> &'a Check {
        s.checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no {name} in {s:#?}"))
    }
    /// Called, has a request, every request fails on status, and no propagation problem.
    fn gates(s: &SmokeScript, name: &str) -> bool {
        let c = check(s, name);
        c.called.is_some()
            && !c.requests.is_empty()
            && c.requests.iter().all(|r| r.fails_on_status)
            && s.propagation.is_empty()
            && s.unseen.is_empty()
    }
    fn request_fails(body: &str) -> (bool, Option<String>) {
        let s = script(&format!("check_a() {{\n{body}\n}}\ncheck_a\n"));
        let c = check(&s, "check_a");
        assert!(!c.requests.is_empty(), "no request in {s:#?}");
        (
            c.requests.iter().all(|r| r.fails_on_status),
            c.requests.iter().find_map(|r| r.why_not.clone()),
        )
    }

    #[test]
    fn honest_suite_gates() {
        let s = script("check_orders() { curl -fsS \"$BASE_URL/api/orders\" >/dev/null; }\ncheck_a() { curl --fail \"$BASE_URL/a\"; }\ncheck_orders\ncheck_a\n");
        assert!(gates(&s, "check_orders"), "{s:#?}");
        assert_eq!(
            check(&s, "check_orders").requests[0].url.as_deref(),
            Some("$BASE_URL/api/orders")
        );
        assert!(gates(&s, "check_a"));
    }

    #[test]
    fn check_without_request() {
        let s = script("check_x() { true; }\ncheck_x\n");
        assert!(check(&s, "check_x").requests.is_empty());
    }

    #[test]
    fn calls_after_exit_are_not_calls() {
        let s = script("check_a() { curl -f $BASE_URL/a; }\nexit 0\ncheck_a\n");
        let c = check(&s, "check_a");
        assert_eq!(c.called, None);
        let f = c.not_called.as_ref().unwrap();
        assert!(
            f.message.contains("comes after `exit 0` at line 5"),
            "{f:?}"
        );
    }

    #[test]
    fn main_never_called_and_helper_chain() {
        let s = script("check_a() { curl -f $BASE_URL/a; }\nmain() { check_a; }\n");
        assert!(check(&s, "check_a")
            .not_called
            .as_ref()
            .unwrap()
            .message
            .contains("inside `main`"));
        let s = script(
            "check_a() { curl -f $BASE_URL/a; }\nrun_all() { check_a; }\nouter() { run_all; }\n",
        );
        assert_eq!(check(&s, "check_a").called, None);
        let s = script("check_a() { curl -f $BASE_URL/a; }\ncheck_b() { curl -f $BASE_URL/b; }\nmain() { check_a; check_b; }\nmain \"$@\"\n");
        assert!(gates(&s, "check_a") && gates(&s, "check_b"), "{s:#?}");
    }

    #[test]
    fn no_errexit_bare_calls_do_not_propagate() {
        let s = analyse_smoke_script(
            "#!/bin/bash\ncheck_a() { curl -f http://x/a; }\ncheck_a\necho done\n",
        );
        assert!(!s.propagation.is_empty());
        assert!(
            s.propagation[0].message.contains("never runs `set -e`"),
            "{:?}",
            s.propagation
        );
        // Honest variants: explicit || exit 1, if !, shebang -e.
        let s = analyse_smoke_script(
            "#!/bin/bash\ncheck_a() { curl -f http://x/a; }\ncheck_a || exit 1\necho done\n",
        );
        assert!(s.propagation.is_empty(), "{:?}", s.propagation);
        let s = analyse_smoke_script("#!/bin/bash\ncheck_a() { curl -f http://x/a || return 1; }\nif ! check_a; then exit 1; fi\necho done\n");
        assert!(gates(&s, "check_a"), "{s:#?}");
        let s = analyse_smoke_script(
            "#!/bin/bash -e\ncheck_a() { curl -f http://x/a; }\ncheck_a\necho done\n",
        );
        assert!(gates(&s, "check_a"), "{s:#?}");
        let s = analyse_smoke_script(
            "#!/usr/bin/env bash -e\ncheck_a() { curl -f http://x/a; }\ncheck_a\necho done\n",
        );
        assert!(gates(&s, "check_a"));
        let s = analyse_smoke_script(
            "#!/bin/bash\nset -o errexit\ncheck_a() { curl -f http://x/a; }\ncheck_a\necho done\n",
        );
        assert!(gates(&s, "check_a"));
    }

    #[test]
    fn set_plus_e_and_or_true_break_propagation() {
        let s = script("check_a() { curl -f $BASE_URL/a; }\nset +e\ncheck_a\necho done\n");
        assert!(
            s.propagation
                .iter()
                .any(|f| f.message.contains("`set +e` at line 5")),
            "{:?}",
            s.propagation
        );
        for tail in ["|| true", "||true", "|| :", "|| echo skipped"] {
            let (fails, why) = request_fails(&format!("curl -f $BASE_URL/a {tail}"));
            assert!(!fails, "{tail}");
            assert!(why.unwrap().contains("turns the failure"), "{tail}");
        }
    }

    #[test]
    fn errexit_ignored_in_condition_context() {
        let s = script("check_a() { curl -f $BASE_URL/a; echo ok; }\ncheck_a || echo failed\n");
        let c = check(&s, "check_a");
        assert!(!c.requests[0].fails_on_status);
        assert!(!s.propagation.is_empty());
        let s =
            script("check_a() { curl -f $BASE_URL/a || return 1; echo ok; }\ncheck_a || exit 1\n");
        assert!(gates(&s, "check_a"), "{s:#?}");
    }

    #[test]
    fn cut_f1_is_not_curl_fail() {
        let s = analyse_smoke_script(
            "#!/bin/bash\nset -e\ncheck_a() { curl -s \"$U/a\" | cut -d, -f1; }\ncheck_a\n",
        );
        let r = &check(&s, "check_a").requests[0];
        assert!(!r.fails_on_status);
        assert!(
            r.why_not
                .as_ref()
                .unwrap()
                .contains("`-f1` belongs to `cut -d, -f1`"),
            "{r:?}"
        );
        // A failing curl piped into another command without pipefail loses its status.
        let s = analyse_smoke_script(
            "#!/bin/bash\nset -e\ncheck_a() { curl -fsS \"$U/a\" | jq .; }\ncheck_a\n",
        );
        let r = &check(&s, "check_a").requests[0];
        assert!(
            !r.fails_on_status && r.why_not.as_ref().unwrap().contains("pipefail"),
            "{r:?}"
        );
        let s = analyse_smoke_script(
            "#!/bin/bash\nset -eo pipefail\ncheck_a() { curl -fsS \"$U/a\" | jq .; }\ncheck_a\n",
        );
        assert!(check(&s, "check_a").requests[0].fails_on_status);
    }

    #[test]
    fn status_tests_that_let_500_pass() {
        let cap = "code=$(curl -s -o /dev/null -w '%{http_code}' \"$BASE_URL/api/orders\")\n";
        for bad in [
            "[ \"$code\" != \"000\" ]",
            "[ \"$code\" -ne 0 ]",
            "[ -n \"$code\" ]",
        ] {
            let (fails, why) = request_fails(&format!("{cap}{bad}"));
            assert!(!fails, "{bad}");
            assert!(why.unwrap().contains("lets a 500 pass"), "{bad}");
        }
    }

    #[test]
    fn status_tests_that_count() {
        let cap = "code=$(curl -s -o /dev/null -w '%{http_code}' \"$BASE_URL/api/orders\")\n";
        for good in [
            "[ \"$code\" -eq 200 ]",
            "[ \"$code\" = 200 ]",
            "[[ $code -lt 400 ]]",
            "[ \"$code\" -ge 200 ] && [ \"$code\" -lt 300 ]",
            "case $code in 2??) ;; *) exit 1;; esac",
            "test \"$code\" == \"200\" || return 1",
            "if [ \"$code\" != 200 ]; then return 1; fi",
            "(( code >= 200 && code < 300 ))",
        ] {
            let (fails, why) = request_fails(&format!("{cap}{good}"));
            assert!(fails, "{good}: {why:?}");
        }
    }

    #[test]
    fn urls_resolve_through_assignments() {
        let s = script(
            "HEALTH_URL=$BASE_URL/healthz\ncheck_a(){ curl -f \"$HEALTH_URL\"; }\ncheck_a\n",
        );
        let url = check(&s, "check_a").requests[0].url.clone().unwrap();
        assert_eq!(url, "$BASE_URL/healthz");
        assert!(is_health_url(&url));
    }

    #[test]
    fn comments_and_strings_are_not_requests() {
        let s = script("check_a() {\n  # curl --fail $BASE_URL/api/orders\n  echo \"curl -f $BASE_URL/api/orders\"\n}\ncheck_a\n");
        assert!(check(&s, "check_a").requests.is_empty());
    }

    #[test]
    fn honest_request_forms() {
        assert!(request_fails("curl -s \\\n  --fail \\\n  \"$BASE_URL/api/orders\"").0);
        assert!(request_fails("curl -sSf \"$BASE_URL/api/orders\"").0);
        assert!(request_fails("curl --fail-with-body \"$BASE_URL/api/orders\"").0);
        assert!(request_fails("wget -qO- \"$BASE_URL/api/orders\"").0);
        assert!(!request_fails("wget -qO- \"$BASE_URL/api/orders\" || true").0);
        assert!(!request_fails("curl -sS \"$BASE_URL/api/orders\"").0);
        assert!(request_fails("out=$(curl -fsS \"$BASE_URL/api/orders\")").0);
        assert!(!request_fails("local out=$(curl -fsS \"$BASE_URL/api/orders\")").0);
    }

    #[test]
    fn compgen_and_declare_loops_call_every_check() {
        let defs = "check_a() { curl -f $BASE_URL/a; }\ncheck_b() { curl -f $BASE_URL/b; }\n";
        let s = script(&format!(
            "{defs}for c in $(compgen -A function check_); do \"$c\"; done\n"
        ));
        assert!(gates(&s, "check_a") && gates(&s, "check_b"), "{s:#?}");
        assert_eq!(check(&s, "check_b").called, Some(6));
        let s = script(&format!(
            "{defs}for c in $(declare -F | awk '{{print $3}}' | grep ^check_); do $c; done\n"
        ));
        assert!(gates(&s, "check_a") && gates(&s, "check_b"), "{s:#?}");
        let s = script(&format!(
            "{defs}for n in a b; do check_$n; done\nf=$1\n$f\n"
        ));
        assert!(!s.unseen.is_empty());
    }

    #[test]
    fn helpers_carry_requests_and_urls() {
        let s = script("get() { curl -fsS \"$BASE_URL$1\"; }\ncheck_orders() { get /api/orders; }\ncheck_orders\n");
        let r = &check(&s, "check_orders").requests[0];
        assert_eq!(r.url.as_deref(), Some("$BASE_URL/api/orders"));
        assert!(r.fails_on_status && !is_health_url(r.url.as_ref().unwrap()));
    }

    #[test]
    fn health_definition() {
        assert!(!is_health_url("$BASE_URL/api/orders/42/status"));
        assert!(is_health_url("http://x:8080/status"));
        assert!(is_health_url("${BASE_URL}/api/status"));
        assert!(is_health_url("/internal/health/db"));
        assert!(is_health_url("$BASE_URL/healthz"));
        assert!(!is_health_url("$BASE_URL/api/orders"));
    }

    #[test]
    fn eval_source_and_parse_errors_are_unseen() {
        assert!(!script("eval \"$X\"\n").unseen.is_empty());
        assert!(!script("source ./lib.sh\n").unseen.is_empty());
        let s = analyse_smoke_script("check_a() {\n  curl -f x\nif then fi (\n");
        assert!(s.unseen[0].line.is_some(), "{s:#?}");
    }

    #[test]
    fn unknown_condition_exit_zero_breaks_propagation() {
        let s = script("check_a() { curl -f $BASE_URL/a; }\nif [ -n \"${SKIP:-}\" ]; then exit 0; fi\ncheck_a\n");
        assert_eq!(check(&s, "check_a").called, Some(6));
        // A skip switch that exits 0 lets the gate pass without checking: said, and only that.
        assert_eq!(s.propagation.len(), 1, "{:?}", s.propagation);
        assert!(s.propagation[0]
            .message
            .contains("`exit 0` at line 5 can end with success"));
        let s = script("check_a() { curl -f $BASE_URL/a; }\ncheck_a || { [ -n \"$CI\" ] && exit 0; exit 1; }\n");
        assert!(!s.propagation.is_empty());
    }

    #[test]
    fn recursion_and_deep_nesting_are_bounded() {
        let s = script("check_a() { check_a; }\ncheck_a\n");
        assert!(!s.unseen.is_empty());
        let deep = "{ ".repeat(2000) + "true" + &" }".repeat(2000);
        let s = analyse_smoke_script(&deep);
        assert!(!s.unseen.is_empty());
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let alphabet = b"ab$(){}[]|&;<>\"'`\\\n #=-fcurl_check 2*?!";
        for round in 0..300 {
            let len = (round * 7) % 200;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    if seed.is_multiple_of(5) {
                        (seed >> 8) as u8
                    } else {
                        alphabet[(seed as usize >> 3) % alphabet.len()]
                    }
                })
                .collect();
            let text = String::from_utf8_lossy(&bytes);
            let _ = analyse_smoke_script(&text);
            let _ = step_runs_script(&text, &ShellOptions::default(), None, "scripts/smoke.sh");
        }
    }

    const DEFAULT: ShellOptions = ShellOptions {
        errexit: true,
        pipefail: false,
    };
    const BASH: ShellOptions = ShellOptions {
        errexit: true,
        pipefail: true,
    };
    const CUSTOM: ShellOptions = ShellOptions {
        errexit: false,
        pipefail: false,
    };

    fn step(run: &str, shell: ShellOptions, wd: Option<&str>) -> StepRun {
        step_runs_script(run, &shell, wd, "scripts/smoke.sh")
    }
    fn runs(r: &StepRun) -> bool {
        matches!(r, StepRun::Runs { .. })
    }
    fn ignored(r: &StepRun) -> bool {
        matches!(r, StepRun::FailureIgnored { .. })
    }

    #[test]
    fn step_not_run() {
        assert_eq!(
            step("echo \"scripts/smoke.sh\"", DEFAULT, None),
            StepRun::NotRun
        );
        assert_eq!(
            step("exit 0\nscripts/smoke.sh", DEFAULT, None),
            StepRun::NotRun
        );
        assert_eq!(
            step("# scripts/smoke.sh\nmake smoke", DEFAULT, None),
            StepRun::NotRun
        );
    }

    #[test]
    fn step_failure_ignored() {
        assert!(ignored(&step(
            "set +e\nscripts/smoke.sh\necho $?",
            DEFAULT,
            None
        )));
        assert!(ignored(&step(
            "scripts/smoke.sh || echo skipped",
            DEFAULT,
            None
        )));
        assert!(ignored(&step("scripts/smoke.sh ||true", DEFAULT, None)));
        assert!(ignored(&step("scripts/smoke.sh; exit 0", CUSTOM, None)));
        let r = step("scripts/smoke.sh | tee log", DEFAULT, None);
        assert!(ignored(&r), "{r:?}");
        assert!(runs(&step("scripts/smoke.sh | tee log", BASH, None)));
        assert!(ignored(&step("scripts/smoke.sh\necho done", CUSTOM, None)));
        assert!(runs(&step("echo start\nscripts/smoke.sh", CUSTOM, None)));
    }

    #[test]
    fn step_runs_forms() {
        assert!(runs(&step("./smoke.sh", DEFAULT, Some("scripts"))));
        assert!(runs(&step("bash scripts/smoke.sh", DEFAULT, None)));
        assert_eq!(
            step("bash scripts/smoke.sh", DEFAULT, None),
            StepRun::Runs {
                line: 1,
                through_interpreter: true
            }
        );
        assert!(runs(&step("sh -c 'scripts/smoke.sh'", DEFAULT, None)));
        assert!(runs(&step("./scripts/smoke.sh", DEFAULT, None)));
        assert!(runs(&step("BASE_URL=x scripts/smoke.sh", DEFAULT, None)));
        assert!(runs(&step(
            "chmod +x scripts/smoke.sh\ncd scripts && ./smoke.sh",
            DEFAULT,
            None
        )));
        assert!(runs(&step(
            "${{ github.workspace }}/scripts/smoke.sh",
            DEFAULT,
            None
        )));
        assert_eq!(step("./smoke.sh", DEFAULT, None), StepRun::NotRun);
    }

    #[test]
    fn step_unseen() {
        assert!(matches!(
            step("eval \"$CMD\"", DEFAULT, None),
            StepRun::Unseen { .. }
        ));
        let r = step("source other.sh\nscripts/smoke.sh", DEFAULT, None);
        assert!(
            matches!(&r, StepRun::Unseen { why, .. } if why.contains("other.sh")),
            "{r:?}"
        );
    }

    /// Run manually: `cargo test --release perf -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn perf_thousand_lines() {
        let mut text = String::from(
            "#!/usr/bin/env bash\nset -euo pipefail\nBASE_URL=${BASE_URL:-http://localhost:8080}\n",
        );
        let mut n = 0;
        while text.lines().count() < 1000 {
            text.push_str(&format!(
                "check_{n}() {{\n  local code\n  code=$(curl -s -o /dev/null -w '%{{http_code}}' \"$BASE_URL/api/items/{n}\")\n  if [ \"$code\" -ne 200 ]; then\n    echo \"check_{n} failed: $code\" >&2\n    return 1\n  fi\n  curl -fsS \"$BASE_URL/api/other/{n}\" | jq . >/dev/null\n}}\n"
            ));
            n += 1;
        }
        for i in 0..n {
            text.push_str(&format!("check_{i}\n"));
        }
        let start = std::time::Instant::now();
        let _ = parse(&text);
        println!("parse: {:?}", start.elapsed());
        let start = std::time::Instant::now();
        let s = analyse_smoke_script(&text);
        let took = start.elapsed();
        println!(
            "{} lines, {} checks: {:?}",
            text.lines().count(),
            s.checks.len(),
            took
        );
        assert_eq!(s.checks.len(), n);
    }
}
