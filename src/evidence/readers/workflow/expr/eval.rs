//! The sound evaluator: every sub-expression becomes the set of values it can take, with unknown
//! contexts standing for both a truthy and a falsy value.

use super::parse::parse_number;
use super::{Assumptions, CmpOp, Expr, Lit, Piece};

/// Largest set of concrete values kept before collapsing to "anything".
const MAX_SET: usize = 16;

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
pub(crate) struct Set(Vec<V>);

impl Set {
    fn one(v: V) -> Self {
        Set(vec![v])
    }
    pub(crate) fn any() -> Self {
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
    pub(crate) fn can_be_truthy(&self) -> bool {
        self.0.iter().any(|v| truthy(v) != Some(false))
    }
    pub(crate) fn can_be_falsy(&self) -> bool {
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

pub(crate) struct Eval<'a> {
    pub(crate) env: &'a Assumptions,
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

    pub(crate) fn eval(&self, e: &Expr) -> Set {
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
