//! GitHub Actions expressions (`${{ ... }}`): a parser and a *sound* evaluator over sets of
//! possible values.
//!
//! The wiring rules ask existence questions: "is there a value of the unknown contexts that
//! makes this `if:` true (or false)?". Every sub-expression therefore evaluates to the set of
//! values it can take. A context the caller does not pin down (`github.ref`, `inputs.x`) can be
//! anything: it is the pair {some truthy value, some falsy value}. Functions of unknowns are
//! unknown. Each step over-approximates, so "cannot be true" is a proof and "can be true" may be
//! a false alarm only in contrived expressions.
//!
//! Anything the evaluator cannot read (a syntax error, an unknown function or context, nesting
//! deeper than [`MAX_DEPTH`]) is an error, which callers treat as "can be true" and "can be
//! false" (fail closed).
//!
//! Layout: this file holds the types and the public questions; `parse` reads the text (lexer,
//! parser, `${{ }}` wrappers) and `eval` computes the sets of values.

mod eval;
mod parse;

#[cfg(test)]
mod tests;

use std::fmt;

use self::eval::Eval;

pub(crate) use self::parse::{has_status_function, parse_condition, strip_wrapper};

/// Deepest nesting of parentheses, operators and calls the parser accepts.
pub(crate) const MAX_DEPTH: usize = 100;
/// Longest expression text the parser accepts.
pub(crate) const MAX_LEN: usize = 8 * 1024;

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Lit(Lit),
    /// A context name (`github`, `needs`, ...), lower-cased.
    Context(String),
    /// `a.b` (also `a['b']` with a literal string); the name is lower-cased.
    Prop(Box<Expr>, String),
    /// `a[expr]` with a computed index.
    Index(Box<Expr>, Box<Expr>),
    /// `a.*` or `a[*]`.
    Star(Box<Expr>),
    /// A function call; the name is lower-cased.
    Call(String, Vec<Expr>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    /// A value with text around `${{ }}` (`if: deploy-${{ x }}`): GitHub evaluates it as
    /// `format(...)`, a string.
    Template(Vec<Piece>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Piece {
    Text(String),
    Expr(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lit {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// What the caller knows about the run in which an `if:` is evaluated.
#[derive(Debug, Clone, Default)]
pub(crate) struct Assumptions {
    /// Value of `success()`.
    pub success: bool,
    /// Value of `failure()`.
    pub failure: bool,
    /// Value of `cancelled()` (`always()` is always true).
    pub cancelled: bool,
    /// Known `needs.<job>.result` values (job id, result); other jobs are unknown.
    pub needs: Vec<(String, String)>,
    /// Known `steps.<id>.outcome` / `.conclusion` values (step id, value).
    pub steps: Vec<(String, String)>,
}

impl Assumptions {
    /// A normal run: everything before succeeded.
    pub(crate) fn normal() -> Self {
        Assumptions {
            success: true,
            failure: false,
            cancelled: false,
            ..Default::default()
        }
    }

    /// The smoke job (or step) failed: `success()` false, `failure()` true,
    /// `needs.<smoke_job>.result == 'failure'`.
    #[cfg(test)]
    pub(crate) fn smoke_failed(smoke_job: &str) -> Self {
        Assumptions {
            success: false,
            failure: true,
            cancelled: false,
            needs: vec![(smoke_job.to_string(), "failure".to_string())],
            steps: Vec::new(),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Lit(Lit::Null) => f.write_str("null"),
            Expr::Lit(Lit::Bool(b)) => write!(f, "{b}"),
            Expr::Lit(Lit::Num(n)) => write!(f, "{n}"),
            Expr::Lit(Lit::Str(s)) => write!(f, "'{}'", s.replace('\'', "''")),
            Expr::Context(c) => f.write_str(c),
            Expr::Prop(e, p) => write!(f, "{e}.{p}"),
            Expr::Index(e, i) => write!(f, "{e}[{i}]"),
            Expr::Star(e) => write!(f, "{e}.*"),
            Expr::Call(n, args) => {
                write!(f, "{n}(")?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")
            }
            Expr::Not(e) => write!(f, "!{e}"),
            Expr::And(a, b) => write!(f, "({a} && {b})"),
            Expr::Or(a, b) => write!(f, "({a} || {b})"),
            Expr::Cmp(op, a, b) => {
                let o = match op {
                    CmpOp::Eq => "==",
                    CmpOp::Ne => "!=",
                    CmpOp::Lt => "<",
                    CmpOp::Le => "<=",
                    CmpOp::Gt => ">",
                    CmpOp::Ge => ">=",
                };
                write!(f, "({a} {o} {b})")
            }
            Expr::Template(pieces) => {
                for p in pieces {
                    match p {
                        Piece::Text(t) => f.write_str(t)?,
                        Piece::Expr(e) => write!(f, "${{{{ {e} }}}}")?,
                    }
                }
                Ok(())
            }
        }
    }
}

/// Parses an `if:` value and adds GitHub's implicit `success() &&` when it calls no status
/// function.
pub(crate) fn condition(text: &str) -> Result<Expr, String> {
    let e = parse_condition(text)?;
    Ok(if has_status_function(&e) {
        e
    } else {
        Expr::And(
            Box::new(Expr::Call("success".into(), Vec::new())),
            Box::new(e),
        )
    })
}

/// Whether some value of the unknown contexts makes the `if:` text true under `env`.
/// `Err` when the text cannot be read (callers fail closed).
pub(crate) fn can_be_true(expr: &str, env: &Assumptions) -> Result<bool, String> {
    let e = condition(expr)?;
    Ok(Eval { env }.eval(&e).can_be_truthy())
}

/// Whether some value of the unknown contexts makes the `if:` text false under `env`.
pub(crate) fn can_be_false(expr: &str, env: &Assumptions) -> Result<bool, String> {
    let e = condition(expr)?;
    Ok(Eval { env }.eval(&e).can_be_falsy())
}
