//! Control flow: lists, and-or lists, pipelines, errexit, subshells and the merging of paths.

use std::rc::Rc;

use brush_parser::ast;

use super::super::event::Event;
use super::super::value::{St, Val, ANY, FAIL, NONE, OK};
use super::{Frame, Run, State};

impl<'a> Run<'a> {
    pub(crate) fn program(&mut self, program: &ast::Program) {
        for list in &program.complete_commands {
            self.list(list);
        }
    }

    pub(crate) fn list(&mut self, list: &ast::CompoundList) {
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
            let returned_before = self.frames.last().is_some_and(|f| f.returned);
            self.pipeline_checked(pipeline, is_last);
            // The handler swallows the failure when it carries on with success, exits the
            // script with success, or returns success from the function (`|| return 0`).
            let returned_ok = !returned_before
                && self
                    .frames
                    .last()
                    .is_some_and(|f| f.returned && f.returns.ok);
            if runs_on_fail
                && (self.state.alive && self.state.last.ok
                    || self.exits.ok && !exits_before.ok
                    || returned_ok)
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
    pub(crate) fn errexit(&mut self, line: usize, command: &str) {
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

    pub(crate) fn kill(&mut self, line: usize, text: &str) {
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

    pub(crate) fn function_names(&self, prefix: &str) -> String {
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
    pub(crate) fn subshell(&mut self, f: impl FnOnce(&mut Self)) -> St {
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
    pub(crate) fn merge(&mut self, other: State) {
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
    pub(crate) fn branch(
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

    pub(crate) fn spend(&mut self, line: usize) -> bool {
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
}
