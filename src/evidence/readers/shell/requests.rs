//! HTTP requests (`curl`, `wget`, HTTPie/`xh`): which options make a bad status fail the command
//! and what reaches stdout, so a faulted request can be followed through the script.

use super::run::{Fault, Run, SeenRequest};
use super::value::{St, Val};

impl<'a> Run<'a> {
    pub(crate) fn request(&mut self, tool: &str, args: &[Val], line: usize, text: &str) {
        let parsed = parse_request(tool, args);
        let id = (line, self.base.1, self.column);
        let lookalike = if parsed.fails_on_error {
            None
        } else {
            self.pipe_peers.iter().find(|p| has_f_flag(p)).cloned()
        };
        let _ = text;
        let check = self
            .frames
            .iter()
            .rev()
            .find(|f| f.name.starts_with("check_"))
            .map(|f| f.name.clone());
        let code = match &self.fault {
            Fault::Request {
                id: fid,
                check: c,
                code,
            } if *fid == id && check.as_deref() == Some(c) => *code,
            _ => 200,
        };
        if self.observe {
            if let Some(check) = check {
                let seen = SeenRequest {
                    id,
                    line,
                    tool: tool.to_string(),
                    url: parsed.url.clone(),
                    lookalike,
                    status_in_output: parsed.write_out.is_some(),
                };
                if !self.requests.iter().any(|(c, r)| *c == check && r.id == id) {
                    self.requests.push((check, seen));
                }
            }
        }
        let bad = code >= 400;
        self.state.last = St::from_bool(!(bad && parsed.fails_on_error));
        let output = parsed.write_out.map(|w| {
            w.replace("%{http_code}", &code.to_string())
                .replace("%{response_code}", &code.to_string())
                .replace("\\n", "\n")
        });
        let output = output.filter(|o| !o.contains("%{"));
        self.write(output);
        if bad {
            if let Some(top) = self.capture_taint.last_mut() {
                *top = true;
            }
        }
    }
}

/// What the reader needs from a request's arguments.
struct ParsedRequest {
    pub(crate) url: Option<String>,
    fails_on_error: bool,
    /// curl's `-w` format when the body goes elsewhere (`-o file`), i.e. what stdout gets.
    write_out: Option<String>,
}

/// A word like `-f1` or `-sf` in another command of a pipeline (looks like curl's `-f`).
fn has_f_flag(command: &str) -> bool {
    command
        .split_whitespace()
        .skip(1)
        .any(|w| w.starts_with('-') && !w.starts_with("--") && w.contains('f'))
}

/// curl's short options that take an argument (the rest of a combined group is that argument).
const CURL_SHORT_WITH_ARG: &str = "ABCDEHKPQTUXYbcdeEFhmoOrtuwxyz";
/// curl's long options that take an argument.
const CURL_LONG_WITH_ARG: [&str; 24] = [
    "--output",
    "--write-out",
    "--header",
    "--data",
    "--data-raw",
    "--data-binary",
    "--data-urlencode",
    "--request",
    "--user",
    "--user-agent",
    "--max-time",
    "--connect-timeout",
    "--retry",
    "--retry-delay",
    "--retry-max-time",
    "--cookie",
    "--cookie-jar",
    "--form",
    "--upload-file",
    "--cacert",
    "--cert",
    "--key",
    "--resolve",
    "--json",
];

fn parse_request(tool: &str, args: &[Val]) -> ParsedRequest {
    match tool {
        "curl" => parse_curl(args),
        "wget" => {
            let url = first_operand(
                args,
                &[
                    "-O",
                    "-o",
                    "-t",
                    "-T",
                    "--header",
                    "--timeout",
                    "--tries",
                    "-U",
                    "--user-agent",
                ],
            );
            ParsedRequest {
                url,
                fails_on_error: true,
                write_out: None,
            }
        }
        _ => {
            // HTTPie / xh: exit 0 on 4xx/5xx unless `--check-status`.
            let check = args
                .iter()
                .any(|a| a.concrete().as_deref() == Some("--check-status"));
            let operands: Vec<&Val> = args
                .iter()
                .filter(|a| !a.concrete().is_some_and(|c| c.starts_with('-')))
                .collect();
            let url = operands
                .iter()
                .find(|a| {
                    !a.concrete()
                        .is_some_and(|c| c.chars().all(|c| c.is_ascii_uppercase()))
                })
                .map(|v| (*v).clone());
            ParsedRequest {
                url: url.filter(Val::has_literal).map(|v| v.render()),
                fails_on_error: check,
                write_out: None,
            }
        }
    }
}

fn parse_curl(args: &[Val]) -> ParsedRequest {
    let mut fail = false;
    let mut write_out: Option<String> = None;
    let mut output = false;
    let mut url = None;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].concrete();
        let next = args.get(i + 1);
        match a.as_deref() {
            // The last of `--fail` and `--no-fail` wins, as in curl.
            Some("--fail" | "--fail-with-body") => fail = true,
            Some("--no-fail" | "--no-fail-with-body") => fail = false,
            Some("--url") => {
                url = next.cloned();
                i += 1;
            }
            Some(long) if long.starts_with("--") => {
                let name = long.split('=').next().unwrap_or(long);
                if CURL_LONG_WITH_ARG.contains(&name) && !long.contains('=') {
                    if name == "--write-out" {
                        write_out = next.and_then(Val::concrete);
                    }
                    output |= name == "--output";
                    i += 1;
                } else if let Some(v) = long.strip_prefix("--write-out=") {
                    write_out = Some(v.to_string());
                }
                output |= name == "--output";
            }
            Some(short) if short.starts_with('-') && short.len() > 1 => {
                for (k, c) in short[1..].char_indices() {
                    if c == 'f' {
                        fail = true;
                    }
                    if CURL_SHORT_WITH_ARG.contains(c) {
                        let inline = &short[1 + k + c.len_utf8()..];
                        let value = if inline.is_empty() {
                            i += 1;
                            next.and_then(Val::concrete)
                        } else {
                            Some(inline.to_string())
                        };
                        match c {
                            'w' => write_out = value,
                            'o' => output = true,
                            _ => {}
                        }
                        break;
                    }
                }
            }
            _ => {
                if url.is_none() {
                    url = Some(args[i].clone());
                }
            }
        }
        i += 1;
    }
    ParsedRequest {
        url: url.filter(Val::has_literal).map(|v| v.render()),
        fails_on_error: fail,
        write_out: write_out.filter(|_| output),
    }
}

/// The first argument that is not an option (nor an option's argument).
fn first_operand(args: &[Val], with_arg: &[&str]) -> Option<String> {
    let mut i = 0;
    while i < args.len() {
        match args[i].concrete() {
            Some(a) if with_arg.contains(&a.as_str()) => i += 2,
            Some(a) if a.starts_with('-') => i += 1,
            _ => {
                return Some(args[i].clone())
                    .filter(Val::has_literal)
                    .map(|v| v.render())
            }
        }
    }
    None
}
