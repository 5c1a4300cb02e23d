//! The syntax-only model: every function definition, and where each check is called from (used
//! to explain why a check is never reached).

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use brush_parser::ast;

use super::parse::MAX_NESTING;

/// A call site found in the text (used to explain why a check is not reached).
#[derive(Clone, Debug)]
pub(crate) struct CallSite {
    pub(crate) line: usize,
    /// The function whose body holds the call (`None` at top level).
    pub(crate) inside: Option<String>,
}

/// Every function definition of the script, and where each check is called syntactically.
#[derive(Default)]
pub(crate) struct Model {
    /// Definitions in source order: (name, line, body).
    pub(crate) functions: Vec<(String, usize, Rc<ast::FunctionBody>)>,
    pub(crate) call_sites: HashMap<String, Vec<CallSite>>,
}

impl Model {
    pub(crate) fn build(program: &ast::Program) -> Model {
        let mut model = Model::default();
        for list in &program.complete_commands {
            model.list(list, None, 0);
        }
        model
    }

    pub(crate) fn checks(&self) -> Vec<(String, usize)> {
        let mut seen = HashSet::new();
        self.functions
            .iter()
            .filter(|(name, _, _)| name.starts_with("check_") && seen.insert(name.clone()))
            .map(|(name, line, _)| (name.clone(), *line))
            .collect()
    }

    pub(crate) fn list(&mut self, list: &ast::CompoundList, inside: Option<&str>, depth: usize) {
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

    pub(crate) fn command(&mut self, command: &ast::Command, inside: Option<&str>, depth: usize) {
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

    pub(crate) fn compound(
        &mut self,
        compound: &ast::CompoundCommand,
        inside: Option<&str>,
        depth: usize,
    ) {
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

pub(crate) fn word_line(word: &ast::Word) -> usize {
    word.loc.as_ref().map_or(0, |l| l.start.line)
}
