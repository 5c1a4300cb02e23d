//! How GitHub starts a step's script (`shell:`, `defaults.run.shell`, the runner's OS): the
//! bash options the reader must assume, or why the step cannot be checked.

use super::{Job, ShellOptions, Step, Workflow};

/// How GitHub runs a step's script: the options for a bash/sh step, or why it cannot be
/// checked.
pub(crate) fn step_shell(wf: &Workflow, job: &Job, step: &Step) -> Result<ShellOptions, String> {
    let shell = step
        .shell
        .clone()
        .or_else(|| job.defaults.shell.clone())
        .or_else(|| wf.defaults.shell.clone());
    let Some(shell) = shell else {
        // GitHub's default: `bash -e {0}` on Linux and macOS, pwsh on Windows runners
        if job
            .runs_on
            .as_deref()
            .is_some_and(|r| r.to_lowercase().contains("windows"))
        {
            return Err(
                "the step runs on Windows, where the default shell is `pwsh`, which \
                        cannot be checked; add `shell: bash` to the step"
                    .into(),
            );
        }
        return Ok(ShellOptions {
            errexit: true,
            pipefail: false,
        });
    };
    let words: Vec<&str> = shell.split_whitespace().collect();
    match words.as_slice() {
        ["bash"] => {
            return Ok(ShellOptions {
                errexit: true,
                pipefail: true,
            });
        }
        ["sh"] => {
            return Ok(ShellOptions {
                errexit: true,
                pipefail: false,
            });
        }
        [] => return Err("the step's `shell:` is empty".into()),
        _ => {}
    }
    let program = words[0].rsplit('/').next().unwrap_or(words[0]);
    let mut rest = &words[1..];
    if program == "env" {
        // `/usr/bin/env bash {0}`
        let Some((first, tail)) = rest.split_first() else {
            return Err(unseen_shell(&shell));
        };
        if *first != "bash" && *first != "sh" {
            return Err(unseen_shell(&shell));
        }
        rest = tail;
    } else if program != "bash" && program != "sh" {
        return Err(unseen_shell(&shell));
    }
    if !rest.contains(&"{0}") {
        return Err(format!(
            "the custom shell `{shell}` does not run the script file `{{0}}`"
        ));
    }
    let mut opts = ShellOptions {
        errexit: false,
        pipefail: false,
    };
    let mut i = 0;
    while i < rest.len() {
        let w = rest[i];
        match w {
            "{0}" => {}
            "--noprofile" | "--norc" | "--login" | "--posix" => {}
            "-o" | "+o" => {
                let on = w == "-o";
                match rest.get(i + 1).copied() {
                    Some("errexit") => opts.errexit = on,
                    Some("pipefail") => opts.pipefail = on,
                    Some("nounset" | "xtrace" | "verbose" | "noglob") => {}
                    _ => return Err(unseen_shell(&shell)),
                }
                i += 1;
            }
            _ if (w.starts_with('-') || w.starts_with('+')) && !w.starts_with("--") => {
                let on = w.starts_with('-');
                let flags: Vec<char> = w[1..].chars().collect();
                for (k, f) in flags.iter().enumerate() {
                    match f {
                        'e' => opts.errexit = on,
                        'u' | 'x' | 'v' | 'l' | 'f' => {}
                        'o' if k + 1 == flags.len() => {
                            match rest.get(i + 1).copied() {
                                Some("errexit") => opts.errexit = on,
                                Some("pipefail") => opts.pipefail = on,
                                Some("nounset" | "xtrace" | "verbose" | "noglob") => {}
                                _ => return Err(unseen_shell(&shell)),
                            }
                            i += 1;
                        }
                        _ => return Err(unseen_shell(&shell)),
                    }
                }
            }
            _ => return Err(unseen_shell(&shell)),
        }
        i += 1;
    }
    Ok(opts)
}

fn unseen_shell(shell: &str) -> String {
    format!("a `shell: {shell}` step cannot be checked; run the script in a bash step")
}
