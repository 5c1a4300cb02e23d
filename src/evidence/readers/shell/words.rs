//! Word expansion: parameters, positional arguments, `$(...)` (run in a subshell) and field
//! splitting, with unknown parts kept as variables.

use std::rc::Rc;

use brush_parser::ast;
use brush_parser::word::{Parameter, ParameterExpr, SpecialParameter, WordPiece};

use super::parse::{parse, parser_options};
use super::run::Run;
use super::value::{Piece, St, Val, ANY};

/// The status of the command substitutions run while expanding one command.
#[derive(Default)]
pub(crate) struct SubstStatus {
    pub(crate) status: Option<St>,
}

/// Fields being built while expanding one word.
#[derive(Default)]
struct Fields {
    current: Val,
    started: bool,
    done: Vec<Val>,
}

impl Fields {
    pub(crate) fn push(&mut self, v: Val) {
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
    pub(crate) fn expand_word(
        &mut self,
        word: &ast::Word,
        subst: &mut SubstStatus,
    ) -> Option<Vec<Val>> {
        let pieces = self.word_pieces(&word.value)?;
        let line = self.line_of(word.loc.clone());
        let mut fields = Fields::default();
        self.expand_pieces(&pieces, false, &mut fields, subst, (line, &word.value));
        Some(fields.finish())
    }

    pub(crate) fn expand_fields(&mut self, words: &[ast::Word]) -> Option<Vec<Val>> {
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
    pub(crate) fn expand_joined(&mut self, word: &ast::Word, subst: &mut SubstStatus) -> Val {
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

    pub(crate) fn expand_one(&mut self, word: &ast::Word) -> Val {
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
