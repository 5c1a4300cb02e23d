//! Commands and compound commands: `if`, `case`, loops, `(( ))` and function definitions.

use std::rc::Rc;

use brush_parser::ast;

use super::super::event::Event;
use super::super::model::word_line;
use super::super::parse::{MAX_ITERATIONS, MAX_NESTING};
use super::super::test_expr::glob_match;
use super::super::value::{St, Val, ANY, NONE, OK};
use super::simple::redirects_stdout;
use super::Run;

impl<'a> Run<'a> {
    pub(crate) fn command(&mut self, command: &ast::Command) {
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

    pub(crate) fn with_output_discarded(&mut self, discard: bool, f: impl FnOnce(&mut Self)) {
        if discard {
            self.captures.push(Some(String::new()));
        }
        f(self);
        if discard {
            self.captures.pop();
        }
    }

    pub(crate) fn compound(&mut self, compound: &ast::CompoundCommand, line: usize) {
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

    pub(crate) fn condition(&mut self, list: &ast::CompoundList) -> St {
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
}
