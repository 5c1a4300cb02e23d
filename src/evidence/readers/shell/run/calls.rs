//! Function calls: frames, the call-depth limit, and the snapshot of each check's first call
//! (replayed later with a fault).

use std::rc::Rc;

use super::super::parse::MAX_CALL_DEPTH;
use super::super::value::{Val, ANY, FAIL, NONE};
use super::{CallOutcome, CallSnapshot, Fault, Frame, Run};

impl<'a> Run<'a> {
    pub(crate) fn call(&mut self, name: &str, index: usize, args: Vec<Val>, line: usize) {
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
    pub(crate) fn invoke(&mut self, name: &str, index: usize, args: Vec<Val>) -> CallOutcome {
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
}
