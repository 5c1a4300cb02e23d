//! Simple commands: word expansion, assignments, and dispatch to a function, a request or a
//! builtin.

use brush_parser::ast;

use super::super::event::Event;
use super::super::value::{Val, ANY, OK};
use super::super::words::SubstStatus;
use super::{Mode, Run};

impl<'a> Run<'a> {
    pub(crate) fn simple(&mut self, simple: &ast::SimpleCommand, line: usize) {
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

    pub(crate) fn set_var(&mut self, name: &str, v: Val) {
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
}

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
pub(crate) fn redirects_stdout(r: &ast::IoRedirect) -> bool {
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
