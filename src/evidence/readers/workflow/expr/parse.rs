//! Reading expression text: `${{ }}` wrappers and templates, the lexer, and a recursive-descent
//! parser with length and depth limits (fails rather than guesses).

use super::{CmpOp, Expr, Lit, Piece, MAX_DEPTH, MAX_LEN};

const CONTEXTS: &[&str] = &[
    "github", "env", "vars", "job", "jobs", "steps", "runner", "secrets", "strategy", "matrix",
    "needs", "inputs",
];

const STATUS_FUNCTIONS: &[&str] = &["success", "failure", "always", "cancelled"];

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
pub(crate) fn parse_condition(text: &str) -> Result<Expr, String> {
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
pub(crate) fn strip_wrapper(text: &str) -> String {
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
pub(crate) fn parse_number(text: &str) -> Option<f64> {
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
pub(crate) fn parse(src: &str) -> Result<Expr, String> {
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

    pub(crate) fn or(&mut self) -> Result<Expr, String> {
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
pub(crate) fn has_status_function(e: &Expr) -> bool {
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
