//! `[ ]`, `test`, `[[ ]]` and glob patterns, evaluated on known values (unknown operands give
//! both outcomes).

use brush_parser::ast;

use super::run::Run;
use super::value::{St, Val, ANY, FAIL};

/// Marks an operand whose value is unknown.
const UNKNOWN: &str = "\u{0}";

fn tri_and(a: St, b: St) -> St {
    St {
        ok: a.ok && b.ok,
        fail: a.fail || b.fail,
    }
}

fn tri_or(a: St, b: St) -> St {
    St {
        ok: a.ok || b.ok,
        fail: a.fail && b.fail,
    }
}

impl<'a> Run<'a> {
    pub(crate) fn bracket_test(&self, operands: &[Val]) -> (St, bool) {
        let tainted = operands.iter().any(|v| v.tainted);
        let words: Vec<String> = operands
            .iter()
            .map(|v| v.concrete().unwrap_or_else(|| UNKNOWN.to_string()))
            .collect();
        let st = match brush_parser::test_command::parse(&words) {
            Ok(expr) => eval_test(&expr, 0),
            Err(_) => FAIL,
        };
        (st, tainted)
    }

    pub(crate) fn extended_test(&mut self, expr: &ast::ExtendedTestExpr) -> (St, bool) {
        use ast::ExtendedTestExpr as E;
        match expr {
            E::And(a, b) => {
                let ((x, t1), (y, t2)) = (self.extended_test(a), self.extended_test(b));
                (tri_and(x, y), t1 || t2)
            }
            E::Or(a, b) => {
                let ((x, t1), (y, t2)) = (self.extended_test(a), self.extended_test(b));
                (tri_or(x, y), t1 || t2)
            }
            E::Not(a) => {
                let (x, t) = self.extended_test(a);
                (x.not(), t)
            }
            E::Parenthesized(a) => self.extended_test(a),
            E::UnaryTest(pred, w) => {
                let v = self.expand_one(w);
                let s = v.concrete().unwrap_or_else(|| UNKNOWN.into());
                (
                    eval_test(&ast::TestExpr::UnaryTest(pred.clone(), s), 0),
                    v.tainted,
                )
            }
            E::BinaryTest(pred, l, r) => {
                let (l, r) = (self.expand_one(l), self.expand_one(r));
                let tainted = l.tainted || r.tainted;
                let (ls, rs) = (l.concrete(), r.concrete());
                let st = match (pred, ls, rs) {
                    (ast::BinaryPredicate::StringExactlyMatchesPattern, Some(a), Some(p)) => {
                        St::from_bool(glob_match(&p, &a))
                    }
                    (ast::BinaryPredicate::StringDoesNotExactlyMatchPattern, Some(a), Some(p)) => {
                        St::from_bool(!glob_match(&p, &a))
                    }
                    (ast::BinaryPredicate::StringMatchesRegex, _, _) => ANY,
                    (p, a, b) => eval_test(
                        &ast::TestExpr::BinaryTest(
                            p.clone(),
                            a.unwrap_or_else(|| UNKNOWN.into()),
                            b.unwrap_or_else(|| UNKNOWN.into()),
                        ),
                        0,
                    ),
                };
                (st, tainted)
            }
        }
    }
}

fn eval_test(expr: &ast::TestExpr, depth: usize) -> St {
    use ast::BinaryPredicate as B;
    use ast::TestExpr as T;
    if depth > 64 {
        return ANY;
    }
    let unknown = |s: &str| s.contains(UNKNOWN);
    match expr {
        T::False => FAIL,
        T::Literal(s) if unknown(s) => ANY,
        T::Literal(s) => St::from_bool(!s.is_empty()),
        T::And(a, b) => tri_and(eval_test(a, depth + 1), eval_test(b, depth + 1)),
        T::Or(a, b) => tri_or(eval_test(a, depth + 1), eval_test(b, depth + 1)),
        T::Not(a) => eval_test(a, depth + 1).not(),
        T::Parenthesized(a) => eval_test(a, depth + 1),
        T::UnaryTest(_, s) if unknown(s) => ANY,
        T::UnaryTest(ast::UnaryPredicate::StringHasZeroLength, s) => St::from_bool(s.is_empty()),
        T::UnaryTest(ast::UnaryPredicate::StringHasNonZeroLength, s) => {
            St::from_bool(!s.is_empty())
        }
        T::UnaryTest(..) => ANY,
        T::BinaryTest(_, a, b) if unknown(a) || unknown(b) => ANY,
        T::BinaryTest(pred, a, b) => match pred {
            B::StringExactlyMatchesString | B::StringExactlyMatchesPattern => St::from_bool(a == b),
            B::StringDoesNotExactlyMatchString | B::StringDoesNotExactlyMatchPattern => {
                St::from_bool(a != b)
            }
            B::ArithmeticEqualTo
            | B::ArithmeticNotEqualTo
            | B::ArithmeticLessThan
            | B::ArithmeticLessThanOrEqualTo
            | B::ArithmeticGreaterThan
            | B::ArithmeticGreaterThanOrEqualTo => {
                let (Ok(x), Ok(y)) = (a.trim().parse::<i64>(), b.trim().parse::<i64>()) else {
                    return FAIL; // `[` reports an error (status 2) on a non-integer.
                };
                St::from_bool(match pred {
                    B::ArithmeticEqualTo => x == y,
                    B::ArithmeticNotEqualTo => x != y,
                    B::ArithmeticLessThan => x < y,
                    B::ArithmeticLessThanOrEqualTo => x <= y,
                    B::ArithmeticGreaterThan => x > y,
                    _ => x >= y,
                })
            }
            _ => ANY,
        },
    }
}

/// Bash glob: `*`, `?`, `[...]` (with `!`/`^` and ranges); `|` alternatives are split by the parser.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matcher with backtracking on the last `*` (linear-ish, no recursion).
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = class_match(&p, pi, t[ti]) {
                        if matched {
                            pi = next;
                            ti += 1;
                            continue;
                        }
                    } else if t[ti] == '[' {
                        pi += 1;
                        ti += 1;
                        continue;
                    }
                }
                c if c == t[ti] => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Matches `c` against the bracket class starting at `p[start] == '['`: (matched, index after).
fn class_match(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() && (p[i] != ']' || first) {
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            matched |= p[i] <= c && c <= p[i + 2];
            i += 3;
        } else {
            matched |= p[i] == c;
            i += 1;
        }
    }
    (i < p.len()).then_some((matched != negate, i + 1))
}
