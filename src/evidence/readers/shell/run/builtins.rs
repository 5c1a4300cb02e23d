//! Builtins that change what the reader follows: `exit`/`return`, `set`, `local`, `cd`, `trap`,
//! output for `$(...)`; anything else succeeds and prints unknown text.

use std::rc::Rc;

use super::super::event::Event;
use super::super::paths::{normalise, WORKSPACE};
use super::super::value::{Piece, St, Val, ANY, FAIL, OK};
use super::{Fault, Run};

impl<'a> Run<'a> {
    pub(crate) fn builtin(&mut self, name: &str, args: &[Val], line: usize, text: &str) {
        let words: Vec<Option<String>> = args.iter().map(Val::concrete).collect();
        let arg = |i: usize| words.get(i).cloned().flatten();
        self.state.last = OK;
        match name {
            "true" | ":" => {}
            "false" => self.state.last = FAIL,
            "exit" => self.exit(arg(0), args.first(), line, text, false),
            "return" => {
                if self.frames.is_empty() {
                    self.exit(arg(0), args.first(), line, text, false);
                } else {
                    self.exit(arg(0), args.first(), line, text, true);
                }
            }
            "set" => self.set_builtin(&words, line),
            "echo" => {
                let skip = words
                    .iter()
                    .take_while(|w| {
                        w.as_deref().is_some_and(|w| {
                            w.starts_with('-')
                                && w.len() > 1
                                && w[1..].chars().all(|c| "neE".contains(c))
                        })
                    })
                    .count();
                let newline = !words[..skip]
                    .iter()
                    .any(|w| w.as_deref().is_some_and(|w| w.contains('n')));
                let out: Option<Vec<String>> = words[skip..].iter().cloned().collect();
                self.write(out.map(|o| o.join(" ") + if newline { "\n" } else { "" }));
            }
            "printf" => {
                let out = match (arg(0), words.len()) {
                    (Some(f), 1) if !f.contains('%') => Some(f.replace("\\n", "\n")),
                    (Some(f), 2) if f == "%s" || f == "%s\\n" => {
                        arg(1).map(|a| if f == "%s" { a } else { a + "\n" })
                    }
                    _ => None,
                };
                self.write(out);
            }
            "[" | "test" => {
                let operands = if name == "[" {
                    if words.last().is_some_and(|w| w.as_deref() == Some("]")) {
                        &args[..args.len() - 1]
                    } else {
                        args
                    }
                } else {
                    args
                };
                let (st, tainted) = self.bracket_test(operands);
                self.tested(st, tainted, line, text);
            }
            "eval" => {
                self.unseen(
                    line,
                    format!("`eval` at line {line} runs code the reader cannot see"),
                    "write the commands out instead of using `eval`",
                );
                self.state.last = ANY;
            }
            "source" | "." => {
                let file =
                    arg(0).unwrap_or_else(|| args.first().map(Val::render).unwrap_or_default());
                self.unseen(
                    line,
                    format!("line {line} sources `{file}`, whose commands the reader cannot see"),
                    "keep the smoke checks in scripts/smoke.sh itself",
                );
                self.state.last = ANY;
            }
            "local" | "export" | "declare" | "typeset" | "readonly" => self.declare(name, args),
            "unset" => {
                for w in words.iter().flatten() {
                    self.state.vars.remove(w);
                    if self.state.functions.contains_key(w) {
                        Rc::make_mut(&mut self.state.functions).remove(w);
                    }
                }
            }
            "shift" => {
                let n = arg(0).and_then(|n| n.parse().ok()).unwrap_or(1usize);
                if let Some(frame) = self.frames.last_mut() {
                    frame.args.drain(..n.min(frame.args.len()));
                }
            }
            "cd" | "pushd" => self.cd(args.first()),
            "break" | "continue" => {
                if let Some(l) = self.loops.last_mut() {
                    *l = name == "break" || *l;
                    self.state.alive = false;
                }
            }
            "compgen" => {
                let function = words
                    .windows(2)
                    .any(|w| w[0].as_deref() == Some("-A") && w[1].as_deref() == Some("function"));
                let prefix = words
                    .last()
                    .cloned()
                    .flatten()
                    .filter(|p| !p.starts_with('-') && p != "function")
                    .unwrap_or_default();
                self.write(function.then(|| self.function_names(&prefix)));
            }
            "read" | "mapfile" | "readarray" => {
                for w in words.iter().flatten().filter(|w| !w.starts_with('-')) {
                    self.set_var(w, Val::unknown(w));
                }
                self.state.last = ANY;
            }
            "trap" => self.trap(&words, line, text),
            _ => self.write(None),
        }
    }

    pub(crate) fn tested(&mut self, st: St, tainted: bool, line: usize, text: &str) {
        if tainted {
            if st == ANY {
                self.event(Event::TestUnknown {
                    line,
                    test: text.to_string(),
                });
            } else if st.ok {
                let code = self.fault_code().map(|c| c.to_string()).unwrap_or_default();
                self.event(Event::TestPasses {
                    line,
                    test: text.to_string(),
                    code,
                });
            }
        }
        self.state.last = st;
    }

    fn fault_code(&self) -> Option<u16> {
        match &self.fault {
            Fault::Request { code, .. } => Some(*code),
            _ => None,
        }
    }

    fn exit(
        &mut self,
        code: Option<String>,
        raw: Option<&Val>,
        line: usize,
        text: &str,
        is_return: bool,
    ) {
        let st = match (code, raw) {
            (Some(c), _) => match c.trim().parse::<i64>() {
                Ok(n) => St::from_bool(n % 256 == 0),
                Err(_) => FAIL,
            },
            (None, Some(_)) => ANY,
            (None, None) => self.state.last,
        };
        if st.ok {
            self.event(Event::SuccessExit {
                line,
                text: text.to_string(),
            });
        }
        if is_return {
            if let Some(frame) = self.frames.last_mut() {
                frame.returns = frame.returns.union(st);
                frame.returned = true;
            }
            self.state.alive = false;
        } else {
            self.exits = self.exits.union(st);
            self.kill(line, text);
        }
    }

    fn set_builtin(&mut self, words: &[Option<String>], line: usize) {
        let mut i = 0;
        while i < words.len() {
            let Some(w) = words[i].as_deref() else {
                i += 1;
                continue;
            };
            let on = w.starts_with('-');
            if (w.starts_with('-') || w.starts_with('+')) && w.len() > 1 && !w.starts_with("--") {
                let flags = &w[1..];
                for c in flags.chars() {
                    match c {
                        'e' => self.set_errexit(on, line, w),
                        'o' => {
                            let option = words.get(i + 1).cloned().flatten().unwrap_or_default();
                            self.set_option(&option, on, line, w);
                            i += 1;
                        }
                        _ => {}
                    }
                }
            }
            i += 1;
        }
    }

    fn set_option(&mut self, option: &str, on: bool, line: usize, flag: &str) {
        match option {
            "errexit" => self.set_errexit(on, line, &format!("{flag} errexit")),
            "pipefail" => self.state.pipefail = on,
            _ => {}
        }
    }

    fn set_errexit(&mut self, on: bool, line: usize, how: &str) {
        self.state.errexit = on;
        self.state.errexit_origin = if on {
            format!("`set {how}` at line {line}")
        } else {
            format!("`set {how}` at line {line} switches `set -e` off")
        };
    }

    fn declare(&mut self, name: &str, args: &[Val]) {
        let flags: String = args
            .iter()
            .filter_map(Val::concrete)
            .filter(|a| a.starts_with('-'))
            .collect();
        if (name == "declare" || name == "typeset") && (flags.contains('F') || flags.contains('f'))
        {
            let listing = self
                .function_names("")
                .lines()
                .map(|n| format!("declare -f {n}\n"))
                .collect();
            self.write(Some(listing));
            return;
        }
        // Assignments inside `local x=...` arrive as words `x=value` after expansion.
        for a in args {
            let Some(text) = a.concrete().or_else(|| match a.pieces.first() {
                Some(Piece::Lit(t)) if t.contains('=') => Some(t.clone()),
                _ => None,
            }) else {
                continue;
            };
            if text.starts_with('-') {
                continue;
            }
            if let Some((var, _)) = text.split_once('=') {
                let mut value = a.clone();
                if let Some(Piece::Lit(t)) = value.pieces.first_mut() {
                    *t = t[var.len() + 1..].to_string();
                }
                self.set_var(var, value);
            } else if !self.state.vars.contains_key(&text) {
                self.set_var(&text, Val::lit(""));
            }
        }
    }

    fn cd(&mut self, dir: Option<&Val>) {
        let target = match dir {
            None => Some(String::new()),
            Some(v) => v.concrete(),
        };
        self.state.cwd = match (target, self.state.cwd.take()) {
            (Some(t), _) if t.starts_with('/') => normalise("", &t)
                .filter(|_| t.starts_with(WORKSPACE))
                .map(|p| p[WORKSPACE.len()..].trim_start_matches('/').to_string()),
            (Some(t), Some(cwd)) => normalise(&cwd, &t),
            _ => None,
        };
    }

    fn trap(&mut self, words: &[Option<String>], line: usize, text: &str) {
        let handler = words.first().cloned().flatten().unwrap_or_default();
        let on_exit = words
            .iter()
            .skip(1)
            .any(|w| matches!(w.as_deref(), Some("EXIT" | "0" | "SIGEXIT")));
        if on_exit && (handler.contains("exit") || words.first().is_some_and(|w| w.is_none())) {
            self.event(Event::Trap {
                line,
                text: text.to_string(),
            });
            self.unseen(
                line,
                format!(
                    "the EXIT trap at line {line} (`{text}`) may replace the script's exit status"
                ),
                "do not call `exit` in an EXIT trap",
            );
        }
    }

    pub(crate) fn write(&mut self, out: Option<String>) {
        if let Some(top) = self.captures.last_mut() {
            match (top.as_mut(), out) {
                (Some(buf), Some(o)) => buf.push_str(&o),
                _ => *top = None,
            }
        }
    }
}
