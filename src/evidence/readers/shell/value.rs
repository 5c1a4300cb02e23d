//! Outcome sets (`St`: a command may succeed, fail, or both) and shell values whose parts may be
//! unknown: the abstract domain the interpreter computes in.

/// The set of outcomes a command may have on the paths the reader follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct St {
    pub(crate) ok: bool,
    pub(crate) fail: bool,
}

pub(crate) const OK: St = St {
    ok: true,
    fail: false,
};
pub(crate) const FAIL: St = St {
    ok: false,
    fail: true,
};
pub(crate) const ANY: St = St {
    ok: true,
    fail: true,
};
pub(crate) const NONE: St = St {
    ok: false,
    fail: false,
};

impl St {
    pub(crate) fn union(self, o: St) -> St {
        St {
            ok: self.ok || o.ok,
            fail: self.fail || o.fail,
        }
    }
    pub(crate) fn not(self) -> St {
        St {
            ok: self.fail,
            fail: self.ok,
        }
    }
    pub(crate) fn from_bool(b: bool) -> St {
        if b {
            OK
        } else {
            FAIL
        }
    }
    /// `$?` as text when it is known.
    pub(crate) fn code(self) -> Option<&'static str> {
        match (self.ok, self.fail) {
            (true, false) => Some("0"),
            (false, true) => Some("1"),
            _ => None,
        }
    }
}

/// A piece of a shell value: known text, or a variable whose value the reader does not know.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Piece {
    Lit(String),
    Var(String),
}

/// A shell value. `tainted` marks text that came from a request's status (to explain tests).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Val {
    pub(crate) pieces: Vec<Piece>,
    pub(crate) tainted: bool,
}

impl Val {
    pub(crate) fn lit(s: &str) -> Val {
        Val {
            pieces: vec![Piece::Lit(s.to_string())],
            tainted: false,
        }
    }
    pub(crate) fn unknown(name: &str) -> Val {
        Val {
            pieces: vec![Piece::Var(name.to_string())],
            tainted: false,
        }
    }
    pub(crate) fn concrete(&self) -> Option<String> {
        let mut s = String::new();
        for p in &self.pieces {
            match p {
                Piece::Lit(t) => s.push_str(t),
                Piece::Var(_) => return None,
            }
        }
        Some(s)
    }
    pub(crate) fn render(&self) -> String {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Lit(t) => t.clone(),
                Piece::Var(v) => format!("${v}"),
            })
            .collect()
    }
    pub(crate) fn has_literal(&self) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::Lit(t) if !t.is_empty()))
    }
    pub(crate) fn append(&mut self, other: Val) {
        self.tainted |= other.tainted;
        for p in other.pieces {
            match (self.pieces.last_mut(), p) {
                (Some(Piece::Lit(a)), Piece::Lit(b)) => a.push_str(&b),
                (_, p) => self.pieces.push(p),
            }
        }
    }
}
