use super::shells::step_shell;
use super::*;

/// Attempts to game the gate, kept apart so each file stays readable.
mod gaming;

/// The stand-in for the bash reader: a line that is exactly an invocation runs the script;
/// `... || true` ignores its failure; `pwsh-ish` text is unseen; anything else does not run it.
fn stub(script: &str, shell: &ShellOptions, _wd: Option<&str>) -> StepRun {
    for (i, l) in script.lines().enumerate() {
        let t = l.trim();
        if matches!(
            t,
            "scripts/smoke.sh" | "./scripts/smoke.sh" | "bash scripts/smoke.sh"
        ) {
            if !shell.errexit && script.lines().count() > 1 {
                return StepRun::FailureIgnored {
                    line: i + 1,
                    why: "the shell runs without `-e`, so a later command decides the exit status"
                        .into(),
                };
            }
            return StepRun::Runs {
                line: i + 1,
                through_interpreter: false,
            };
        }
        if t.starts_with("scripts/smoke.sh ||") {
            return StepRun::FailureIgnored {
                line: i + 1,
                why: "`|| true` ignores its exit status".into(),
            };
        }
    }
    StepRun::NotRun
}

const WF: &str = ".github/workflows/deploy.yml";

fn judge_files(files: &[(&str, &str)]) -> Wiring {
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect();
    judge(&files, &stub)
}

fn judge_one(text: &str) -> Wiring {
    judge_files(&[(WF, text)])
}

fn rules(w: &Wiring) -> Vec<&'static str> {
    w.problems.iter().map(|p| p.rule.id).collect()
}

fn assert_clean(text: &str) -> Wiring {
    let w = judge_one(text);
    assert!(
        w.problems.is_empty(),
        "unexpected problems: {:#?}\n{text}",
        w.problems
    );
    assert!(w.promotions.iter().any(|p| p.gated_by.is_some()), "{w:#?}");
    w
}

/// The problems must include `rule`, and some message must contain every one of `words`.
fn assert_problem(text: &str, rule: &str, words: &[&str]) -> Wiring {
    let w = judge_one(text);
    assert!(
        rules(&w).contains(&rule),
        "expected {rule}, got {:#?}",
        w.problems
    );
    if rule != "smoke.no-promotion" {
        assert!(
            !rules(&w).contains(&"smoke.no-promotion"),
            "{:#?}",
            w.problems
        );
    }
    assert!(
        w.problems
            .iter()
            .any(|p| words.iter().all(|word| p.message.contains(word))),
        "no message names {words:?}: {:#?}",
        w.problems
    );
    w
}

const CLASSIC: &str = "\
name: deploy
on:
  push:
    branches: [main]
jobs:
  smoke:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Smoke suite
        run: |
          echo \"against staging\"
          scripts/smoke.sh
  deploy-production:
    needs: smoke
    runs-on: ubuntu-latest
    environment: production
    steps:
      - run: ./deploy.sh production
";

// ---------------------------------------------------------------------------------------------
// The model

#[test]
fn workflow_paths() {
    assert!(is_workflow_path(".github/workflows/deploy.yml"));
    assert!(is_workflow_path("./.github/workflows/deploy.yaml"));
    assert!(!is_workflow_path(".github/workflows/archive/deploy.yml"));
    assert!(!is_workflow_path(".github/workflows/deploy.yml.bak"));
    assert!(!is_workflow_path("ci/.github/workflows/deploy.yml"));
    assert!(!is_workflow_path(".github/workflow/deploy.yml"));
    assert!(!is_workflow_path(".github/workflows/"));
}

#[test]
fn load_reads_jobs_steps_and_lines() {
    let text = "\
on: push
defaults:
  run:
    working-directory: app
jobs:
  build:
    name: Build it
    runs-on: ubuntu-latest
    steps:
      - run: make
  smoke:
    needs: [build]
    if: ${{ github.ref == 'refs/heads/main' }}
    continue-on-error: false
    defaults:
      run:
        shell: bash
    steps:
      - name: Smoke
        id: smoke
        if: true
        continue-on-error: ${{ matrix.experimental }}
        shell: sh
        run: |

          scripts/smoke.sh
  deploy:
    needs: smoke
    environment:
      name: production
      url: https://example.com
    steps:
      - run: ./deploy.sh
  call:
    uses: ./.github/workflows/smoke.yml
";
    let w = load(WF, text).unwrap();
    assert_eq!(w.defaults.working_directory.as_deref(), Some("app"));
    let ids: Vec<&str> = w.jobs.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(ids, ["build", "smoke", "deploy", "call"]);
    let build = &w.jobs[0];
    assert_eq!((build.line, build.name.as_deref()), (6, Some("Build it")));
    assert_eq!(build.steps[0].line, 10);
    let smoke = &w.jobs[1];
    assert_eq!(smoke.needs, ["build"]);
    assert_eq!(
        smoke.if_,
        Some(Cond {
            text: "github.ref == 'refs/heads/main'".into(),
            line: 13
        })
    );
    assert_eq!(smoke.continue_on_error, Some((ContinueOnError::False, 14)));
    assert_eq!(smoke.defaults.shell.as_deref(), Some("bash"));
    let step = &smoke.steps[0];
    assert_eq!((step.line, step.label()), (19, "Smoke".to_string()));
    assert_eq!(step.if_.as_ref().map(|c| c.text.as_str()), Some("true"));
    assert!(matches!(
        step.continue_on_error,
        Some((ContinueOnError::Expr(_), 22))
    ));
    assert_eq!(step.shell.as_deref(), Some("sh"));
    let run = step.run.as_ref().unwrap();
    assert_eq!((run.line, run.literal_block), (24, true));
    // the script keeps its leading blank line, so its line 2 is file line 26
    assert_eq!(run.script.lines().nth(1), Some("scripts/smoke.sh"));
    assert_eq!(run.file_line(2), 26);
    let deploy = &w.jobs[2];
    assert_eq!(deploy.environment.as_deref(), Some("production"));
    assert_eq!(deploy.needs, ["smoke"]);
    assert_eq!(
        w.jobs[3].uses.as_deref(),
        Some("./.github/workflows/smoke.yml")
    );
}

#[test]
fn load_resolves_anchors_and_merge_keys() {
    let text = "\
on: push
x-defaults: &job_defaults
  runs-on: ubuntu-latest
  continue-on-error: true
x-base: &base
  <<: *job_defaults
  timeout-minutes: 5
jobs:
  smoke:
    <<: *base
    continue-on-error: false
    steps: &steps
      - run: scripts/smoke.sh
  again:
    <<: *base
    steps: *steps
";
    let w = load(WF, text).unwrap();
    assert_eq!(
        w.jobs[0].continue_on_error,
        Some((ContinueOnError::False, 11))
    );
    assert_eq!(w.jobs[0].runs_on.as_deref(), Some("ubuntu-latest"));
    // merged from a merged mapping
    assert!(matches!(
        w.jobs[1].continue_on_error,
        Some((ContinueOnError::True, _))
    ));
    assert_eq!(w.jobs[1].runs_on.as_deref(), Some("ubuntu-latest"));
    // aliased steps: no lines of their own, so the job's line
    assert_eq!(
        w.jobs[1].steps[0].run.as_ref().unwrap().script,
        "scripts/smoke.sh"
    );
    assert_eq!(w.jobs[1].steps[0].line, 14);
}

#[test]
fn load_rejects_what_github_would() {
    assert!(load(WF, "jobs: [").is_err());
    assert!(load(WF, "on: push\n").is_err());
    let dup = load(WF, "jobs:\n  a:\n    steps: []\n  a:\n    steps: []\n").unwrap_err();
    assert_eq!(dup.rule, "smoke.workflow-unreadable");
}

#[test]
fn shells_as_github_runs_them() {
    let text = "\
on: push
jobs:
  a:
    steps:
      - run: x
      - run: x
        shell: bash
      - run: x
        shell: sh
      - run: x
        shell: bash {0}
      - run: x
        shell: bash -eo pipefail {0}
      - run: x
        shell: /usr/bin/env bash -e {0}
      - run: x
        shell: pwsh
      - run: x
        shell: python
  b:
    runs-on: windows-latest
    steps:
      - run: x
";
    let w = load(WF, text).unwrap();
    let a = &w.jobs[0];
    let sh = |i: usize| step_shell(&w, a, &a.steps[i]);
    let opts = |e, p| {
        Ok(ShellOptions {
            errexit: e,
            pipefail: p,
        })
    };
    assert_eq!(sh(0), opts(true, false));
    assert_eq!(sh(1), opts(true, true));
    assert_eq!(sh(2), opts(true, false));
    assert_eq!(sh(3), opts(false, false));
    assert_eq!(sh(4), opts(true, true));
    assert_eq!(sh(5), opts(true, false));
    assert!(sh(6)
        .unwrap_err()
        .contains("`shell: pwsh` step cannot be checked"));
    assert!(sh(7).is_err());
    assert!(step_shell(&w, &w.jobs[1], &w.jobs[1].steps[0])
        .unwrap_err()
        .contains("Windows"));
}

// ---------------------------------------------------------------------------------------------
// Honest wiring

#[test]
fn classic_smoke_job_and_production_deploy() {
    let w = assert_clean(CLASSIC);
    assert_eq!(w.smoke_steps.len(), 1);
    let s = &w.smoke_steps[0];
    assert_eq!(
        (s.file.as_str(), s.line, s.job.as_str(), s.gates),
        (WF, 13, "smoke", true)
    );
    assert_eq!(w.promotions[0].job, "deploy-production");
    assert_eq!(w.promotions[0].gated_by.as_deref(), Some("job `smoke`"));
}

#[test]
fn smoke_step_then_promote_step_in_one_job() {
    let w = assert_clean(
        "\
on: push
jobs:
  pipeline:
    runs-on: ubuntu-latest
    steps:
      - run: ./deploy.sh staging
      - name: Smoke
        run: scripts/smoke.sh
      - name: Promote to production
        run: ./promote.sh
",
    );
    assert_eq!(
        w.promotions[0].step.as_deref(),
        Some("Promote to production")
    );
    // a promoting job with the suite before its last steps
    assert_clean(
        "\
on: push
jobs:
  deploy-production:
    environment: production
    steps:
      - run: ./deploy.sh canary
      - run: scripts/smoke.sh
      - run: ./deploy.sh all
",
    );
}

#[test]
fn transitive_needs() {
    assert_clean(
        "\
on: push
jobs:
  smoke:
    steps:
      - run: scripts/smoke.sh
  build:
    needs: smoke
    steps:
      - run: make
  deploy:
    needs: [build]
    environment: production
    steps:
      - run: ./deploy.sh
",
    );
}

#[test]
fn local_reusable_workflow() {
    let caller = "\
on: push
jobs:
  smoke:
    uses: ./.github/workflows/smoke.yml
  release:
    needs: smoke
    steps:
      - run: ./release.sh
";
    let callee = "\
on: workflow_call
jobs:
  run:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: scripts/smoke.sh
";
    let w = judge_files(&[(WF, caller), (".github/workflows/smoke.yml", callee)]);
    assert!(w.problems.is_empty(), "{:#?}", w.problems);
    assert_eq!(w.promotions[0].gated_by.as_deref(), Some("job `smoke`"));
    assert_eq!(w.smoke_steps[0].file, ".github/workflows/smoke.yml");
    assert_eq!(w.smoke_steps[0].line, 7);
}

#[test]
fn anchors_and_merge_keys_for_job_settings() {
    assert_clean(
        "\
on: push
x-job: &defaults
  runs-on: ubuntu-latest
  timeout-minutes: 10
jobs:
  smoke:
    <<: *defaults
    steps:
      - run: scripts/smoke.sh
  deploy-prod:
    <<: *defaults
    needs: smoke
    environment: production
    steps:
      - run: ./deploy.sh
",
    );
}

#[test]
fn environment_as_a_mapping() {
    let w = assert_clean(&CLASSIC.replace(
        "    environment: production\n",
        "    environment:\n      name: production\n      url: https://shop.example.com\n",
    ));
    assert_eq!(w.promotions.len(), 1);
}

#[test]
fn deploy_only_from_main() {
    assert_clean(&CLASSIC.replace(
        "    environment: production\n",
        "    environment: production\n    if: github.ref == 'refs/heads/main'\n",
    ));
    // the same condition on the smoke job as well: a skipped smoke job skips the deploy
    assert_clean(&CLASSIC.replace(
        "    runs-on: ubuntu-latest\n    steps:\n      - uses",
        "    runs-on: ubuntu-latest\n    if: ${{ github.ref == 'refs/heads/main' }}\n    steps:\n      - uses",
    ));
}

#[test]
fn always_but_only_after_a_passing_smoke_job() {
    assert_clean(&CLASSIC.replace(
        "    environment: production\n",
        "    environment: production\n    if: ${{ always() && needs.smoke.result == 'success' }}\n",
    ));
    assert_clean(&CLASSIC.replace(
        "    environment: production\n",
        "    environment: production\n    if: ${{ always() && needs.smoke.result != 'failure' }}\n",
    ));
}

#[test]
fn implicit_success_conditions() {
    for cond in [
        "${{ true }}",
        "true",
        "needs.smoke.result == 'success'",
        "success()",
    ] {
        assert_clean(&CLASSIC.replace(
            "    environment: production\n",
            &format!("    environment: production\n    if: {cond}\n"),
        ));
    }
}

#[test]
fn staging_deploys_need_no_gate() {
    let w = judge_one(&format!(
        "{CLASSIC}  deploy-staging:\n    environment: staging\n    steps:\n      - run: ./deploy.sh staging\n"
    ));
    assert!(w.problems.is_empty(), "{:#?}", w.problems);
}

#[test]
fn release_builds_in_ci_are_not_promotions() {
    let ci = "\
on: pull_request
jobs:
  build:
    steps:
      - name: Build release binary
        run: cargo build --release
";
    let w = judge_files(&[(WF, CLASSIC), (".github/workflows/ci.yml", ci)]);
    assert!(w.problems.is_empty(), "{:#?}", w.problems);
    let optional = w.promotions.iter().find(|p| p.job == "build").unwrap();
    assert!(!optional.required && optional.gated_by.is_none());
}

#[test]
fn smoke_step_only_on_main_is_skippable() {
    // Decision: a condition on the smoke *step* is flagged even when the deploy carries the
    // same one (a skipped step leaves its job green, which no `needs:` can tell apart); the
    // same condition on the smoke *job* is fine (see `deploy_only_from_main`).
    assert_problem(
        &CLASSIC.replace(
            "      - name: Smoke suite\n",
            "      - name: Smoke suite\n        if: github.ref == 'refs/heads/main'\n",
        ),
        "smoke.gate-skippable",
        &[
            "`if: github.ref == 'refs/heads/main'` can be false",
            "Smoke suite",
        ],
    );
    // a step condition that is true on every deploy is fine
    assert_clean(&CLASSIC.replace(
        "      - name: Smoke suite\n",
        "      - name: Smoke suite\n        if: ${{ success() }}\n",
    ));
}
// ---------------------------------------------------------------------------------------------
// Robustness and speed

#[test]
fn garbage_yaml_never_panics() {
    let pieces = [
        "jobs:",
        "\n",
        "  ",
        "- ",
        "run: ",
        "|",
        ">",
        "scripts/smoke.sh",
        "needs: ",
        "[a, b]",
        "if: ",
        "${{ ",
        "}}",
        "always()",
        "&a ",
        "*a",
        "<<: ",
        "'",
        "\"",
        "#",
        ":",
        "{",
        "}",
        "environment: ",
        "production",
        "steps:",
        "uses: ",
        "./.github/workflows/deploy.yml",
        "continue-on-error: ",
        "true",
        "\t",
        "é",
        "---\n",
        "smoke:",
        "deploy:",
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..3000 {
        let n = (next() % 60) as usize;
        let text: String = (0..n)
            .map(|_| pieces[(next() % pieces.len() as u64) as usize])
            .collect();
        let _ = judge_files(&[(WF, &text), (".github/workflows/b.yml", CLASSIC)]);
        let _ = lines::LineIndex::new(&text);
    }
    // recursive reusable workflows do not loop
    let selfcall = "on: workflow_call\njobs:\n  a:\n    uses: ./.github/workflows/deploy.yml\n  release:\n    needs: a\n    steps:\n      - run: x\n";
    let _ = judge_one(selfcall);
    // needs cycles do not loop
    let cycle = "on: push\njobs:\n  a:\n    needs: b\n    steps:\n      - run: scripts/smoke.sh\n  b:\n    needs: a\n    if: always()\n    steps:\n      - run: x\n  release:\n    needs: b\n    if: always()\n    steps:\n      - run: x\n";
    let _ = judge_one(cycle);
}

#[test]
fn ten_workflows_judge_quickly() {
    let mut big = String::from(CLASSIC);
    for i in 0..12 {
        big.push_str(&format!(
            "  release-{i}:\n    needs: [smoke]\n    if: ${{{{ github.ref == 'refs/heads/main' && needs.smoke.result == 'success' }}}}\n    steps:\n      - name: step {i}\n        run: |\n          echo {i}\n          make {i}\n"
        ));
    }
    let files: Vec<(String, String)> = (0..10)
        .map(|i| (format!(".github/workflows/w{i}.yml"), big.clone()))
        .collect();
    assert!(big.lines().count() > 100);
    let start = std::time::Instant::now();
    let rounds = 20;
    for _ in 0..rounds {
        let w = judge(&files, &stub);
        assert!(w.problems.is_empty(), "{:#?}", w.problems);
    }
    let per = start.elapsed() / rounds;
    eprintln!(
        "judging 10 workflows of {} lines: {per:?}",
        big.lines().count()
    );
    assert!(per < std::time::Duration::from_millis(if cfg!(debug_assertions) { 200 } else { 10 }));
}

#[test]
#[ignore]
fn show_messages() {
    let cases = [
        CLASSIC.replace("      - name: Smoke suite\n", "      - name: Smoke suite\n        if: false\n"),
        CLASSIC.replace("      - name: Smoke suite\n", "      - name: Smoke suite\n        continue-on-error: ${{ true }}\n"),
        CLASSIC.replace("  smoke:\n    runs-on: ubuntu-latest\n", "  smoke:\n    runs-on: ubuntu-latest\n    continue-on-error: true\n"),
        CLASSIC.replace("    environment: production\n", "    environment: production\n    if: ${{ success() || !success() }}\n"),
        format!("{CLASSIC}  hotfix:\n    environment: production\n    steps:\n      - run: ./deploy.sh production\n"),
        CLASSIC.replace("          scripts/smoke.sh\n", "          scripts/smoke.sh || true\n"),
        CLASSIC.replace("          scripts/smoke.sh\n", "          echo scripts/smoke.sh\n"),
        "on: push\njobs:\n  smoke:\n    uses: acme/ci/.github/workflows/smoke.yml@v1\n  deploy:\n    needs: smoke\n    environment: production\n    steps:\n      - run: ./deploy.sh\n".to_string(),
    ];
    for c in cases {
        for p in judge_one(&c).problems {
            eprintln!(
                "[{}] {}:{:?}: {}\n    fix: {}",
                p.rule, p.file, p.line, p.message, p.fix
            );
        }
        eprintln!("---");
    }
    for p in judge_files(&[(".github/workflows/archive/deploy.yml", CLASSIC)]).problems {
        eprintln!(
            "[{}] {}:{:?}: {}\n    fix: {}",
            p.rule, p.file, p.line, p.message, p.fix
        );
    }
}
