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

use std::fmt;

/// Deepest nesting of parentheses, operators and calls the parser accepts.
pub const MAX_DEPTH: usize = 100;
/// Longest expression text the parser accepts.
pub const MAX_LEN: usize = 8 * 1024;
/// Largest set of concrete values kept before collapsing to "anything".
const MAX_SET: usize = 16;

const CONTEXTS: &[&str] = &[
    "github", "env", "vars", "job", "jobs", "steps", "runner", "secrets", "strategy", "matrix",
    "needs", "inputs",
];
const STATUS_FUNCTIONS: &[&str] = &["success", "failure", "always", "cancelled"];

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
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
pub enum Piece {
    Text(String),
    Expr(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// What the caller knows about the run in which an `if:` is evaluated.
#[derive(Debug, Clone, Default)]
pub struct Assumptions {
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
    pub fn normal() -> Self {
        Assumptions {
            success: true,
            failure: false,
            cancelled: false,
            ..Default::default()
        }
    }

    /// The smoke job (or step) failed: `success()` false, `failure()` true,
    /// `needs.<smoke_job>.result == 'failure'`.
    pub fn smoke_failed(smoke_job: &str) -> Self {
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

// ---------------------------------------------------------------------------------------------
// `${{ }}` handling

/// Finds the end of the expression starting at byte `from` (just after `${{`): the index of
/// the closing `}}`, skipping string literals.
fn find_close(text: &str, from: usize) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = from;
    let mut in_str = false;
    while i < b.len() {
        if in_str {
            if b[i] == b'\'' {
                if b.get(i + 1) == Some(&b'\'') {
                    i += 2;
                    continue;
                }
                in_str = false;
            }
        } else if b[i] == b'\'' {
            in_str = true;
        } else if b[i] == b'}' && b.get(i + 1) == Some(&b'}') {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Parses an `if:` value as GitHub reads it: `${{ x }}` wrapping the whole value is stripped,
/// a bare value is an expression, and text around `${{ }}` makes a string template.
pub fn parse_condition(text: &str) -> Result<Expr, String> {
    let t = text.trim();
    if !t.contains("${{") {
        return parse(t);
    }
    let mut pieces = Vec::new();
    let mut rest = 0;
    while let Some(open) = t[rest..].find("${{").map(|o| o + rest) {
        if open > rest {
            pieces.push(Piece::Text(t[rest..open].to_string()));
        }
        let close = find_close(t, open + 3).ok_or("a `${{` is never closed by `}}`")?;
        pieces.push(Piece::Expr(parse(&t[open + 3..close])?));
        rest = close + 2;
    }
    if rest < t.len() {
        pieces.push(Piece::Text(t[rest..].to_string()));
    }
    if pieces.len() == 1 {
        if let Some(Piece::Expr(e)) = pieces.pop() {
            return Ok(e);
        }
        return Err("internal: lost the expression".into());
    }
    Ok(Expr::Template(pieces))
}

/// The expression text of an `if:` value with a `${{ }}` that wraps the whole value removed.
pub fn strip_wrapper(text: &str) -> String {
    let t = text.trim();
    if let (Some(inner), Some(close)) = (t.strip_prefix("${{"), find_close(t, 3)) {
        if close + 2 == t.len() {
            return inner[..close - 3].trim().to_string();
        }
    }
    t.to_string()
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Lit(Lit),
    Ident(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Dot,
    Comma,
    Star,
    Not,
    And,
    Or,
    Cmp(CmpOp),
}

fn lex(src: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let next = chars.get(i + 1).copied();
        let two = |a: char, b: char| c == a && next == Some(b);
        let tok = if two('&', '&') {
            i += 2;
            Tok::And
        } else if two('|', '|') {
            i += 2;
            Tok::Or
        } else if two('=', '=') {
            i += 2;
            Tok::Cmp(CmpOp::Eq)
        } else if two('!', '=') {
            i += 2;
            Tok::Cmp(CmpOp::Ne)
        } else if two('<', '=') {
            i += 2;
            Tok::Cmp(CmpOp::Le)
        } else if two('>', '=') {
            i += 2;
            Tok::Cmp(CmpOp::Ge)
        } else {
            match c {
                '<' => {
                    i += 1;
                    Tok::Cmp(CmpOp::Lt)
                }
                '>' => {
                    i += 1;
                    Tok::Cmp(CmpOp::Gt)
                }
                '!' => {
                    i += 1;
                    Tok::Not
                }
                '(' => {
                    i += 1;
                    Tok::LParen
                }
                ')' => {
                    i += 1;
                    Tok::RParen
                }
                '[' => {
                    i += 1;
                    Tok::LBracket
                }
                ']' => {
                    i += 1;
                    Tok::RBracket
                }
                '.' if !next.is_some_and(|n| n.is_ascii_digit())
                    || matches!(
                        toks.last(),
                        Some(Tok::Ident(_) | Tok::RParen | Tok::RBracket)
                    ) =>
                {
                    i += 1;
                    Tok::Dot
                }
                ',' => {
                    i += 1;
                    Tok::Comma
                }
                '*' => {
                    i += 1;
                    Tok::Star
                }
                '\'' => {
                    let mut s = String::new();
                    i += 1;
                    loop {
                        match chars.get(i) {
                            None => return Err("a string literal is never closed".into()),
                            Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                                s.push('\'');
                                i += 2;
                            }
                            Some('\'') => {
                                i += 1;
                                break;
                            }
                            Some(&ch) => {
                                s.push(ch);
                                i += 1;
                            }
                        }
                    }
                    Tok::Lit(Lit::Str(s))
                }
                c if c.is_ascii_digit()
                    || ((c == '-' || c == '+' || c == '.')
                        && next.is_some_and(|n| n.is_ascii_digit() || n == '.')) =>
                {
                    let start = i;
                    i += 1;
                    while i < chars.len()
                        && (chars[i].is_ascii_alphanumeric()
                            || chars[i] == '.'
                            || ((chars[i] == '-' || chars[i] == '+')
                                && matches!(chars[i - 1], 'e' | 'E')))
                    {
                        i += 1;
                    }
                    let text: String = chars[start..i].iter().collect();
                    let n =
                        parse_number(&text).ok_or_else(|| format!("`{text}` is not a number"))?;
                    Tok::Lit(Lit::Num(n))
                }
                c if c.is_alphabetic() || c == '_' => {
                    let start = i;
                    while i < chars.len()
                        && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '-')
                    {
                        i += 1;
                    }
                    let word: String = chars[start..i].iter().collect();
                    match word.as_str() {
                        "null" => Tok::Lit(Lit::Null),
                        "true" => Tok::Lit(Lit::Bool(true)),
                        "false" => Tok::Lit(Lit::Bool(false)),
                        "NaN" => Tok::Lit(Lit::Num(f64::NAN)),
                        "Infinity" => Tok::Lit(Lit::Num(f64::INFINITY)),
                        _ => Tok::Ident(word),
                    }
                }
                other => return Err(format!("unexpected character `{other}`")),
            }
        };
        toks.push(tok);
    }
    Ok(toks)
}

/// Number syntax of expression literals and of string-to-number coercion: decimal with an
/// optional exponent, or `0x` hex. `None` for anything else (`inf`, `nan`, text).
fn parse_number(text: &str) -> Option<f64> {
    let t = text.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let v = if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i64::from_str_radix(hex, 16).ok()? as f64
    } else {
        if !body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
            || !body.chars().any(|c| c.is_ascii_digit())
        {
            return None;
        }
        body.parse::<f64>().ok()?
    };
    Some(if neg { -v } else { v })
}

// ---------------------------------------------------------------------------------------------
// Parser

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

/// Parses one expression (the text between `${{` and `}}`, or a bare `if:` value).
pub fn parse(src: &str) -> Result<Expr, String> {
    if src.len() > MAX_LEN {
        return Err(format!(
            "the expression is longer than {MAX_LEN} characters"
        ));
    }
    let toks = lex(src)?;
    if toks.is_empty() {
        return Err("the expression is empty".into());
    }
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let e = p.or()?;
    if p.pos != p.toks.len() {
        return Err(format!(
            "unexpected `{}` after a complete expression",
            p.describe()
        ));
    }
    Ok(e)
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn describe(&self) -> String {
        match self.peek() {
            None => "end of expression".into(),
            Some(Tok::Lit(l)) => Expr::Lit(l.clone()).to_string(),
            Some(Tok::Ident(s)) => s.clone(),
            Some(t) => format!("{t:?}").to_lowercase(),
        }
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            Err(format!(
                "the expression nests deeper than {MAX_DEPTH} levels"
            ))
        } else {
            Ok(())
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        self.enter()?;
        let entered = self.depth;
        let mut e = self.and()?;
        while self.eat(&Tok::Or) {
            self.enter()?;
            let r = self.and()?;
            e = Expr::Or(Box::new(e), Box::new(r));
        }
        self.depth = entered - 1;
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let entered = self.depth;
        let mut e = self.equality()?;
        while self.eat(&Tok::And) {
            self.enter()?;
            let r = self.equality()?;
            e = Expr::And(Box::new(e), Box::new(r));
        }
        self.depth = entered;
        Ok(e)
    }

    fn equality(&mut self) -> Result<Expr, String> {
        let entered = self.depth;
        let mut e = self.comparison()?;
        while let Some(Tok::Cmp(op @ (CmpOp::Eq | CmpOp::Ne))) = self.peek().cloned() {
            self.pos += 1;
            self.enter()?;
            let r = self.comparison()?;
            e = Expr::Cmp(op, Box::new(e), Box::new(r));
        }
        self.depth = entered;
        Ok(e)
    }

    fn comparison(&mut self) -> Result<Expr, String> {
        let entered = self.depth;
        let mut e = self.unary()?;
        while let Some(Tok::Cmp(op @ (CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge))) =
            self.peek().cloned()
        {
            self.pos += 1;
            self.enter()?;
            let r = self.unary()?;
            e = Expr::Cmp(op, Box::new(e), Box::new(r));
        }
        self.depth = entered;
        Ok(e)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat(&Tok::Not) {
            self.enter()?;
            let e = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Expr, String> {
        let mut e = self.primary()?;
        loop {
            if self.eat(&Tok::Dot) {
                match self.peek().cloned() {
                    Some(Tok::Ident(name)) => {
                        self.pos += 1;
                        e = Expr::Prop(Box::new(e), name.to_lowercase());
                    }
                    // `a.true` / `a.null`: keywords are fine as property names
                    Some(Tok::Lit(Lit::Bool(b))) => {
                        self.pos += 1;
                        e = Expr::Prop(Box::new(e), b.to_string());
                    }
                    Some(Tok::Lit(Lit::Null)) => {
                        self.pos += 1;
                        e = Expr::Prop(Box::new(e), "null".into());
                    }
                    Some(Tok::Star) => {
                        self.pos += 1;
                        e = Expr::Star(Box::new(e));
                    }
                    _ => {
                        return Err(format!(
                            "expected a property name after `.`, found `{}`",
                            self.describe()
                        ));
                    }
                }
            } else if self.eat(&Tok::LBracket) {
                if self.eat(&Tok::Star) {
                    e = Expr::Star(Box::new(e));
                } else {
                    let idx = self.or()?;
                    e = match idx {
                        Expr::Lit(Lit::Str(s)) => Expr::Prop(Box::new(e), s.to_lowercase()),
                        other => Expr::Index(Box::new(e), Box::new(other)),
                    };
                }
                if !self.eat(&Tok::RBracket) {
                    return Err(format!("expected `]`, found `{}`", self.describe()));
                }
            } else {
                return Ok(e);
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, String> {
        match self.peek().cloned() {
            Some(Tok::Lit(l)) => {
                self.pos += 1;
                Ok(Expr::Lit(l))
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                let e = self.or()?;
                if !self.eat(&Tok::RParen) {
                    return Err(format!("expected `)`, found `{}`", self.describe()));
                }
                Ok(e)
            }
            Some(Tok::Ident(name)) => {
                self.pos += 1;
                let lower = name.to_lowercase();
                if self.eat(&Tok::LParen) {
                    let mut args = Vec::new();
                    if !self.eat(&Tok::RParen) {
                        loop {
                            args.push(self.or()?);
                            if self.eat(&Tok::RParen) {
                                break;
                            }
                            if !self.eat(&Tok::Comma) {
                                return Err(format!(
                                    "expected `,` or `)` in the call to `{name}`, found `{}`",
                                    self.describe()
                                ));
                            }
                        }
                    }
                    check_call(&name, &lower, args.len())?;
                    Ok(Expr::Call(lower, args))
                } else if CONTEXTS.contains(&lower.as_str()) {
                    Ok(Expr::Context(lower))
                } else {
                    Err(format!("`{name}` is not a context GitHub knows"))
                }
            }
            _ => Err(format!("expected a value, found `{}`", self.describe())),
        }
    }
}

fn check_call(name: &str, lower: &str, n: usize) -> Result<(), String> {
    let ok = match lower {
        "success" | "failure" | "always" | "cancelled" => n == 0,
        "contains" | "startswith" | "endswith" => n == 2,
        "format" | "hashfiles" => n >= 1,
        "join" => (1..=2).contains(&n),
        "tojson" | "fromjson" => n == 1,
        "case" => n >= 3 && n % 2 == 1,
        _ => return Err(format!("`{name}()` is not a function GitHub knows")),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("`{name}()` takes a different number of arguments"))
    }
}

/// Whether the expression calls `success()`, `failure()`, `always()` or `cancelled()`
/// anywhere; without one GitHub evaluates `success() && (expr)`.
pub fn has_status_function(e: &Expr) -> bool {
    match e {
        Expr::Call(name, args) => {
            STATUS_FUNCTIONS.contains(&name.as_str()) || args.iter().any(has_status_function)
        }
        Expr::Lit(_) | Expr::Context(_) => false,
        Expr::Prop(a, _) | Expr::Star(a) | Expr::Not(a) => has_status_function(a),
        Expr::Index(a, b) | Expr::And(a, b) | Expr::Or(a, b) | Expr::Cmp(_, a, b) => {
            has_status_function(a) || has_status_function(b)
        }
        Expr::Template(pieces) => pieces.iter().any(|p| match p {
            Piece::Expr(e) => has_status_function(e),
            Piece::Text(_) => false,
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Abstract values

/// One possible value of an expression.
#[derive(Debug, Clone, PartialEq)]
enum V {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    /// An object or array (always truthy; equal only to itself).
    Complex,
    /// Some unknown truthy value.
    AnyTruthy,
    /// Some unknown falsy value (`null`, `false`, `0`, `''`, `NaN`).
    AnyFalsy,
}

/// The set of values an expression can take (never empty).
#[derive(Debug, Clone, PartialEq)]
struct Set(Vec<V>);

impl Set {
    fn one(v: V) -> Self {
        Set(vec![v])
    }
    fn any() -> Self {
        Set(vec![V::AnyTruthy, V::AnyFalsy])
    }
    fn bools() -> Self {
        Set(vec![V::Bool(true), V::Bool(false)])
    }
    fn is_concrete(&self) -> bool {
        self.0
            .iter()
            .all(|v| !matches!(v, V::AnyTruthy | V::AnyFalsy))
    }
    fn push(&mut self, v: V) {
        if !self.0.iter().any(|x| same(x, &v)) {
            self.0.push(v);
        }
        if self.0.len() > MAX_SET {
            *self = Set::any();
        }
    }
    fn union(mut self, other: Set) -> Set {
        for v in other.0 {
            self.push(v);
        }
        self
    }
    fn can_be_truthy(&self) -> bool {
        self.0.iter().any(|v| truthy(v) != Some(false))
    }
    fn can_be_falsy(&self) -> bool {
        self.0.iter().any(|v| truthy(v) != Some(true))
    }
}

fn same(a: &V, b: &V) -> bool {
    match (a, b) {
        (V::Num(x), V::Num(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

fn truthy(v: &V) -> Option<bool> {
    Some(match v {
        V::Null => false,
        V::Bool(b) => *b,
        V::Num(n) => *n != 0.0 && !n.is_nan(),
        V::Str(s) => !s.is_empty(),
        V::Complex | V::AnyTruthy => true,
        V::AnyFalsy => false,
    })
}

fn to_num(v: &V) -> f64 {
    match v {
        V::Null => 0.0,
        V::Bool(b) => f64::from(u8::from(*b)),
        V::Num(n) => *n,
        V::Str(s) if s.trim().is_empty() => 0.0,
        V::Str(s) => parse_number(s).unwrap_or(f64::NAN),
        _ => f64::NAN,
    }
}

fn to_str(v: &V) -> Option<String> {
    Some(match v {
        V::Null => String::new(),
        V::Bool(b) => b.to_string(),
        V::Num(n) if n.is_nan() => "NaN".into(),
        V::Num(n) if n.is_infinite() => if *n > 0.0 { "Infinity" } else { "-Infinity" }.into(),
        V::Num(n) => n.to_string(),
        V::Str(s) => s.clone(),
        _ => return None,
    })
}

/// GitHub's loose comparison of two concrete values; `None` when it depends on what an
/// unknown or complex value is.
fn compare(op: CmpOp, a: &V, b: &V) -> Option<bool> {
    if matches!(a, V::AnyTruthy | V::AnyFalsy | V::Complex)
        || matches!(b, V::AnyTruthy | V::AnyFalsy | V::Complex)
    {
        return None;
    }
    let ord = match (a, b) {
        (V::Str(x), V::Str(y)) => Some(x.to_lowercase().cmp(&y.to_lowercase())),
        (V::Null, V::Null) => Some(std::cmp::Ordering::Equal),
        (V::Bool(x), V::Bool(y)) => Some(x.cmp(y)),
        _ => to_num(a).partial_cmp(&to_num(b)),
    };
    Some(match op {
        CmpOp::Eq => ord == Some(std::cmp::Ordering::Equal),
        CmpOp::Ne => ord != Some(std::cmp::Ordering::Equal),
        CmpOp::Lt => ord == Some(std::cmp::Ordering::Less),
        CmpOp::Le => matches!(
            ord,
            Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
        ),
        CmpOp::Gt => ord == Some(std::cmp::Ordering::Greater),
        CmpOp::Ge => {
            matches!(
                ord,
                Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)
            )
        }
    })
}

/// A context path (`needs.smoke.result`) when `e` is one, lower-cased.
fn path_of(e: &Expr) -> Option<Vec<String>> {
    match e {
        Expr::Context(c) => Some(vec![c.clone()]),
        Expr::Prop(inner, p) => {
            let mut path = path_of(inner)?;
            path.push(p.clone());
            Some(path)
        }
        _ => None,
    }
}

struct Eval<'a> {
    env: &'a Assumptions,
}

impl Eval<'_> {
    fn lookup(&self, path: &[String]) -> Set {
        let find = |list: &[(String, String)], key: &str| {
            list.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.clone())
        };
        match path {
            [ctx, job, field] if ctx == "needs" && field == "result" => {
                find(&self.env.needs, job).map_or_else(Set::any, |r| Set::one(V::Str(r)))
            }
            [ctx, step, field]
                if ctx == "steps" && (field == "outcome" || field == "conclusion") =>
            {
                find(&self.env.steps, step).map_or_else(Set::any, |r| Set::one(V::Str(r)))
            }
            _ => Set::any(),
        }
    }

    fn eval(&self, e: &Expr) -> Set {
        match e {
            Expr::Lit(l) => Set::one(match l {
                Lit::Null => V::Null,
                Lit::Bool(b) => V::Bool(*b),
                Lit::Num(n) => V::Num(*n),
                Lit::Str(s) => V::Str(s.clone()),
            }),
            Expr::Context(_) | Expr::Prop(..) => match path_of(e) {
                Some(path) => self.lookup(&path),
                None => {
                    // a property of a computed value: null when the value is a scalar
                    let Expr::Prop(inner, _) = e else {
                        return Set::any();
                    };
                    let base = self.eval(inner);
                    if base.is_concrete() && base.0.iter().all(|v| !matches!(v, V::Complex)) {
                        Set::one(V::Null)
                    } else {
                        Set::any()
                    }
                }
            },
            Expr::Index(..) | Expr::Star(_) => Set::any(),
            Expr::Not(a) => {
                let s = self.eval(a);
                let mut out = Set(Vec::new());
                if s.can_be_falsy() {
                    out.push(V::Bool(true));
                }
                if s.can_be_truthy() {
                    out.push(V::Bool(false));
                }
                out
            }
            Expr::And(a, b) => {
                let left = self.eval(a);
                let mut out = Set(Vec::new());
                let mut need_right = false;
                for v in left.0 {
                    match truthy(&v) {
                        Some(false) => out.push(v),
                        _ => need_right = true,
                    }
                }
                if need_right {
                    out.union(self.eval(b))
                } else {
                    out
                }
            }
            Expr::Or(a, b) => {
                let left = self.eval(a);
                let mut out = Set(Vec::new());
                let mut need_right = false;
                for v in left.0 {
                    match truthy(&v) {
                        Some(true) => out.push(v),
                        _ => need_right = true,
                    }
                }
                if need_right {
                    out.union(self.eval(b))
                } else {
                    out
                }
            }
            Expr::Cmp(op, a, b) => {
                let (l, r) = (self.eval(a), self.eval(b));
                let mut out = Set(Vec::new());
                for x in &l.0 {
                    for y in &r.0 {
                        match compare(*op, x, y) {
                            Some(b) => out.push(V::Bool(b)),
                            None => {
                                out.push(V::Bool(true));
                                out.push(V::Bool(false));
                            }
                        }
                    }
                }
                out
            }
            Expr::Call(name, args) => self.call(name, args),
            Expr::Template(pieces) => {
                let literal: usize = pieces
                    .iter()
                    .map(|p| if let Piece::Text(t) = p { t.len() } else { 0 })
                    .sum();
                if literal > 0 {
                    return Set::one(V::AnyTruthy); // a non-empty string
                }
                let mut parts = Vec::new();
                for p in pieces {
                    if let Piece::Expr(e) = p {
                        let s = self.eval(e);
                        match (s.0.as_slice(), s.is_concrete()) {
                            ([v], true) => match to_str(v) {
                                Some(t) => parts.push(t),
                                None => return Set::any(),
                            },
                            _ => return Set::any(),
                        }
                    }
                }
                Set::one(V::Str(parts.concat()))
            }
        }
    }

    fn call(&self, name: &str, args: &[Expr]) -> Set {
        let status = |b: bool| Set::one(V::Bool(b));
        match name {
            "success" => return status(self.env.success),
            "failure" => return status(self.env.failure),
            "always" => return status(true),
            "cancelled" => return status(self.env.cancelled),
            _ => {}
        }
        let vals: Vec<Set> = args.iter().map(|a| self.eval(a)).collect();
        if name == "case" {
            // case(pred1, value1, ..., default): one of the values
            let mut out = Set(Vec::new());
            for (i, v) in vals.into_iter().enumerate() {
                if i % 2 == 1 || i == args.len() - 1 {
                    out = out.union(v);
                }
            }
            return out;
        }
        // A single concrete value per argument: compute exactly.
        let single: Option<Vec<&V>> = vals
            .iter()
            .map(|s| match s.0.as_slice() {
                [v] if s.is_concrete() => Some(v),
                _ => None,
            })
            .collect();
        let boolean = matches!(name, "contains" | "startswith" | "endswith");
        let Some(args) = single else {
            return if boolean { Set::bools() } else { Set::any() };
        };
        let strs = |i: usize| {
            args.get(i)
                .and_then(|v| to_str(v))
                .map(|s| s.to_lowercase())
        };
        match name {
            "contains" | "startswith" | "endswith" => {
                if name == "contains" && matches!(args[0], V::Complex) {
                    return Set::bools();
                }
                match (strs(0), strs(1)) {
                    (Some(a), Some(b)) => Set::one(V::Bool(match name {
                        "contains" => a.contains(&b),
                        "startswith" => a.starts_with(&b),
                        _ => a.ends_with(&b),
                    })),
                    _ => Set::bools(),
                }
            }
            "format" => match format_known(&args) {
                Some(s) => Set::one(V::Str(s)),
                None => Set::any(),
            },
            "fromjson" => match args[0] {
                V::Str(s) => from_json_scalar(s).map_or_else(Set::any, Set::one),
                _ => Set::any(),
            },
            "tojson" => Set::one(V::AnyTruthy), // always a non-empty string
            _ => Set::any(),
        }
    }
}

fn format_known(args: &[&V]) -> Option<String> {
    let V::Str(fmt) = args.first()? else {
        return None;
    };
    let values: Vec<String> = args[1..].iter().map(|v| to_str(v)).collect::<Option<_>>()?;
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '{' if chars.get(i + 1) == Some(&'{') => {
                out.push('{');
                i += 2;
            }
            '}' if chars.get(i + 1) == Some(&'}') => {
                out.push('}');
                i += 2;
            }
            '{' => {
                let close = chars[i..].iter().position(|&c| c == '}')? + i;
                let n: usize = chars[i + 1..close]
                    .iter()
                    .collect::<String>()
                    .parse()
                    .ok()?;
                out.push_str(values.get(n)?);
                i = close + 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(out)
}

fn from_json_scalar(s: &str) -> Option<V> {
    let t = s.trim();
    match t {
        "null" => Some(V::Null),
        "true" => Some(V::Bool(true)),
        "false" => Some(V::Bool(false)),
        _ if t.starts_with('{') || t.starts_with('[') => Some(V::Complex),
        _ if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') && !t.contains('\\') => {
            Some(V::Str(t[1..t.len() - 1].to_string()))
        }
        _ => t.parse::<f64>().ok().filter(|n| n.is_finite()).map(V::Num),
    }
}

// ---------------------------------------------------------------------------------------------
// Public questions

/// Parses an `if:` value and adds GitHub's implicit `success() &&` when it calls no status
/// function.
pub fn condition(text: &str) -> Result<Expr, String> {
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
pub fn can_be_true(expr: &str, env: &Assumptions) -> Result<bool, String> {
    let e = condition(expr)?;
    Ok(Eval { env }.eval(&e).can_be_truthy())
}

/// Whether some value of the unknown contexts makes the `if:` text false under `env`.
pub fn can_be_false(expr: &str, env: &Assumptions) -> Result<bool, String> {
    let e = condition(expr)?;
    Ok(Eval { env }.eval(&e).can_be_falsy())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed() -> Assumptions {
        Assumptions::smoke_failed("smoke")
    }

    fn bypass(e: &str) -> bool {
        can_be_true(e, &failed()).unwrap()
    }

    #[test]
    fn status_functions_under_a_failed_smoke() {
        assert!(bypass("${{ success() || !success() }}"));
        assert!(bypass("always()"));
        assert!(bypass("${{ always() }}"));
        assert!(bypass("failure()"));
        assert!(bypass("!cancelled()"));
        assert!(bypass(
            "${{ !cancelled() && github.ref == 'refs/heads/main' }}"
        ));
        assert!(bypass("always() && needs.build.result == 'success'"));
        assert!(!bypass("needs.smoke.result == 'success'"));
        assert!(!bypass(
            "${{ always() && needs.smoke.result == 'success' }}"
        ));
        assert!(!bypass(
            "${{ always() && needs.smoke.result != 'failure' }}"
        ));
        assert!(!bypass(
            "${{ always() && needs.SMOKE.result == 'SUCCESS' }}"
        ));
        assert!(!bypass("github.ref == 'refs/heads/main'"));
        assert!(!bypass("${{ true }}"));
        assert!(!bypass("true"));
        assert!(!bypass("success()"));
        assert!(!bypass("cancelled()"));
        assert!(!bypass("always() && !failure()"));
        assert!(bypass(
            "always() && (needs.smoke.result == 'failure' || true)"
        ));
        assert!(!bypass(
            "always() && contains('success,skipped', needs.smoke.result)"
        ));
        assert!(bypass("always() && contains(needs.*.result, 'success')"));
        assert!(bypass("always() && format('{0}', github.ref)"));
        assert!(!bypass(
            "always() && format('{0}', needs.smoke.result) == 'success'"
        ));
        // github.ref is truthy: the result is success() == false; falsy: github.ref itself
        assert!(!bypass("github.ref && success()"));
    }

    #[test]
    fn can_be_false_on_a_deploy() {
        let n = Assumptions::normal();
        assert!(can_be_false("false", &n).unwrap());
        assert!(can_be_false("${{ false }}", &n).unwrap());
        assert!(can_be_false("github.ref == 'refs/heads/main'", &n).unwrap());
        assert!(can_be_false("failure()", &n).unwrap());
        assert!(!can_be_false("true", &n).unwrap());
        assert!(!can_be_false("always()", &n).unwrap());
        assert!(!can_be_false("success()", &n).unwrap());
        assert!(!can_be_false("${{ github.ref == 'x' || true }}", &n).unwrap());
    }

    #[test]
    fn templates_are_strings() {
        // `if: ${{ false }} == true` is the string "false == true": truthy
        let n = Assumptions::normal();
        assert!(!can_be_false("${{ false }} == true", &n).unwrap());
        assert!(can_be_true("${{ false }} == true", &n).unwrap());
        // ...but still behind the implicit success()
        assert!(!bypass("${{ false }} == true"));
        assert_eq!(strip_wrapper("${{ a == '}}' }}"), "a == '}}'");
        assert_eq!(
            strip_wrapper("${{ a }} && ${{ b }}"),
            "${{ a }} && ${{ b }}"
        );
    }

    #[test]
    fn loose_equality() {
        let n = Assumptions::normal();
        for (e, want) in [
            ("1 == '1'", true),
            ("'abc' == 'ABC'", true),
            ("null == 0", true),
            ("true == 1", true),
            ("'' == 0", true),
            ("'x' == 0", false),
            ("NaN == NaN", false),
            ("0x10 == 16", true),
            ("-1.5e1 < 0", true),
            ("'a' < 'B'", true),
            ("fromJSON('true')", true),
            ("fromJSON('0')", false),
            ("startsWith('refs/heads/main', 'refs/HEADS')", true),
            ("format('{0}-{{x}}', 'a') == 'a-{x}'", true),
        ] {
            assert_eq!(can_be_true(e, &n).unwrap(), want, "{e}");
            assert_eq!(can_be_false(e, &n).unwrap(), !want, "{e}");
        }
    }

    #[test]
    fn unreadable_expressions_are_errors() {
        for e in [
            "",
            "success(",
            "foo.bar",
            "nosuch()",
            "a == ",
            "'unterminated",
            "success() success()",
            "contains('a')",
            "${{ a",
            "needs.",
            "1 +",
        ] {
            assert!(can_be_true(e, &failed()).is_err(), "{e}");
        }
        let deep = format!("{}true{}", "(".repeat(200), ")".repeat(200));
        assert!(parse(&deep).unwrap_err().contains("deeper"));
        let nots = format!("{}true", "!".repeat(500));
        assert!(parse(&nots).is_err());
        assert!(parse(&format!("{}true", "!".repeat(10))).is_ok());
    }

    #[test]
    fn garbage_never_panics() {
        // a small deterministic fuzz: random token soup and random bytes
        let atoms = [
            "(", ")", "[", "]", ".", ",", "*", "!", "&&", "||", "==", "!=", "<", "<=", ">", ">=",
            "'s'", "'", "1", "-2.5e3", "0x1f", "null", "true", "github", "needs", "smoke",
            "result", "success", "always", "format", "contains", "fromJSON", "${{", "}}", " ", "é",
            "\u{0}", "-", "{0}", "case",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let n = (next() % 24) as usize;
            let mut s = String::new();
            for _ in 0..n {
                s.push_str(atoms[(next() % atoms.len() as u64) as usize]);
            }
            let _ = can_be_true(&s, &failed());
            let _ = can_be_false(&s, &Assumptions::normal());
            let bytes: Vec<u8> = (0..n).map(|_| (next() % 128) as u8).collect();
            let _ = can_be_true(&String::from_utf8_lossy(&bytes), &failed());
        }
    }
}
