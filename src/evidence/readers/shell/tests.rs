use super::parse::parse;

use super::*;

const HEAD: &str =
    "#!/usr/bin/env bash\nset -euo pipefail\nBASE_URL=${BASE_URL:-http://localhost:8080}\n";

fn script(body: &str) -> SmokeScript {
    analyse_smoke_script(&format!("{HEAD}{body}"))
}
fn check<'a>(s: &'a SmokeScript, name: &str) -> &'a Check {
    s.checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no {name} in {s:#?}"))
}
/// Called, has a request, every request fails on status, and no propagation problem.
fn gates(s: &SmokeScript, name: &str) -> bool {
    let c = check(s, name);
    c.called.is_some()
        && !c.requests.is_empty()
        && c.requests.iter().all(|r| r.fails_on_status)
        && s.propagation.is_empty()
        && s.unseen.is_empty()
}
fn request_fails(body: &str) -> (bool, Option<String>) {
    let s = script(&format!("check_a() {{\n{body}\n}}\ncheck_a\n"));
    let c = check(&s, "check_a");
    assert!(!c.requests.is_empty(), "no request in {s:#?}");
    (
        c.requests.iter().all(|r| r.fails_on_status),
        c.requests.iter().find_map(|r| r.why_not.clone()),
    )
}

#[test]
fn honest_suite_gates() {
    let s = script("check_orders() { curl -fsS \"$BASE_URL/api/orders\" >/dev/null; }\ncheck_a() { curl --fail \"$BASE_URL/a\"; }\ncheck_orders\ncheck_a\n");
    assert!(gates(&s, "check_orders"), "{s:#?}");
    assert_eq!(
        check(&s, "check_orders").requests[0].url.as_deref(),
        Some("$BASE_URL/api/orders")
    );
    assert!(gates(&s, "check_a"));
}

#[test]
fn check_without_request() {
    let s = script("check_x() { true; }\ncheck_x\n");
    assert!(check(&s, "check_x").requests.is_empty());
}

#[test]
fn calls_after_exit_are_not_calls() {
    let s = script("check_a() { curl -f $BASE_URL/a; }\nexit 0\ncheck_a\n");
    let c = check(&s, "check_a");
    assert_eq!(c.called, None);
    let f = c.not_called.as_ref().unwrap();
    assert!(
        f.message.contains("comes after `exit 0` at line 5"),
        "{f:?}"
    );
}

#[test]
fn main_never_called_and_helper_chain() {
    let s = script("check_a() { curl -f $BASE_URL/a; }\nmain() { check_a; }\n");
    assert!(check(&s, "check_a")
        .not_called
        .as_ref()
        .unwrap()
        .message
        .contains("inside `main`"));
    let s = script(
        "check_a() { curl -f $BASE_URL/a; }\nrun_all() { check_a; }\nouter() { run_all; }\n",
    );
    assert_eq!(check(&s, "check_a").called, None);
    let s = script("check_a() { curl -f $BASE_URL/a; }\ncheck_b() { curl -f $BASE_URL/b; }\nmain() { check_a; check_b; }\nmain \"$@\"\n");
    assert!(gates(&s, "check_a") && gates(&s, "check_b"), "{s:#?}");
}

#[test]
fn no_errexit_bare_calls_do_not_propagate() {
    let s = analyse_smoke_script(
        "#!/bin/bash\ncheck_a() { curl -f http://x/a; }\ncheck_a\necho done\n",
    );
    assert!(!s.propagation.is_empty());
    assert!(
        s.propagation[0].message.contains("never runs `set -e`"),
        "{:?}",
        s.propagation
    );
    // Honest variants: explicit || exit 1, if !, shebang -e.
    let s = analyse_smoke_script(
        "#!/bin/bash\ncheck_a() { curl -f http://x/a; }\ncheck_a || exit 1\necho done\n",
    );
    assert!(s.propagation.is_empty(), "{:?}", s.propagation);
    let s = analyse_smoke_script("#!/bin/bash\ncheck_a() { curl -f http://x/a || return 1; }\nif ! check_a; then exit 1; fi\necho done\n");
    assert!(gates(&s, "check_a"), "{s:#?}");
    let s = analyse_smoke_script(
        "#!/bin/bash -e\ncheck_a() { curl -f http://x/a; }\ncheck_a\necho done\n",
    );
    assert!(gates(&s, "check_a"), "{s:#?}");
    let s = analyse_smoke_script(
        "#!/usr/bin/env bash -e\ncheck_a() { curl -f http://x/a; }\ncheck_a\necho done\n",
    );
    assert!(gates(&s, "check_a"));
    let s = analyse_smoke_script(
        "#!/bin/bash\nset -o errexit\ncheck_a() { curl -f http://x/a; }\ncheck_a\necho done\n",
    );
    assert!(gates(&s, "check_a"));
}

#[test]
fn set_plus_e_and_or_true_break_propagation() {
    let s = script("check_a() { curl -f $BASE_URL/a; }\nset +e\ncheck_a\necho done\n");
    assert!(
        s.propagation
            .iter()
            .any(|f| f.message.contains("`set +e` at line 5")),
        "{:?}",
        s.propagation
    );
    for tail in ["|| true", "||true", "|| :", "|| echo skipped"] {
        let (fails, why) = request_fails(&format!("curl -f $BASE_URL/a {tail}"));
        assert!(!fails, "{tail}");
        assert!(why.unwrap().contains("turns the failure"), "{tail}");
    }
}

#[test]
fn errexit_ignored_in_condition_context() {
    let s = script("check_a() { curl -f $BASE_URL/a; echo ok; }\ncheck_a || echo failed\n");
    let c = check(&s, "check_a");
    assert!(!c.requests[0].fails_on_status);
    assert!(!s.propagation.is_empty());
    let s = script("check_a() { curl -f $BASE_URL/a || return 1; echo ok; }\ncheck_a || exit 1\n");
    assert!(gates(&s, "check_a"), "{s:#?}");
}

#[test]
fn cut_f1_is_not_curl_fail() {
    let s = analyse_smoke_script(
        "#!/bin/bash\nset -e\ncheck_a() { curl -s \"$U/a\" | cut -d, -f1; }\ncheck_a\n",
    );
    let r = &check(&s, "check_a").requests[0];
    assert!(!r.fails_on_status);
    assert!(
        r.why_not
            .as_ref()
            .unwrap()
            .contains("`-f1` belongs to `cut -d, -f1`"),
        "{r:?}"
    );
    // A failing curl piped into another command without pipefail loses its status.
    let s = analyse_smoke_script(
        "#!/bin/bash\nset -e\ncheck_a() { curl -fsS \"$U/a\" | jq .; }\ncheck_a\n",
    );
    let r = &check(&s, "check_a").requests[0];
    assert!(
        !r.fails_on_status && r.why_not.as_ref().unwrap().contains("pipefail"),
        "{r:?}"
    );
    let s = analyse_smoke_script(
        "#!/bin/bash\nset -eo pipefail\ncheck_a() { curl -fsS \"$U/a\" | jq .; }\ncheck_a\n",
    );
    assert!(check(&s, "check_a").requests[0].fails_on_status);
}

#[test]
fn status_tests_that_let_500_pass() {
    let cap = "code=$(curl -s -o /dev/null -w '%{http_code}' \"$BASE_URL/api/orders\")\n";
    for bad in [
        "[ \"$code\" != \"000\" ]",
        "[ \"$code\" -ne 0 ]",
        "[ -n \"$code\" ]",
    ] {
        let (fails, why) = request_fails(&format!("{cap}{bad}"));
        assert!(!fails, "{bad}");
        assert!(why.unwrap().contains("lets a 500 pass"), "{bad}");
    }
}

#[test]
fn status_tests_that_count() {
    let cap = "code=$(curl -s -o /dev/null -w '%{http_code}' \"$BASE_URL/api/orders\")\n";
    for good in [
        "[ \"$code\" -eq 200 ]",
        "[ \"$code\" = 200 ]",
        "[[ $code -lt 400 ]]",
        "[ \"$code\" -ge 200 ] && [ \"$code\" -lt 300 ]",
        "case $code in 2??) ;; *) exit 1;; esac",
        "test \"$code\" == \"200\" || return 1",
        "if [ \"$code\" != 200 ]; then return 1; fi",
        "(( code >= 200 && code < 300 ))",
    ] {
        let (fails, why) = request_fails(&format!("{cap}{good}"));
        assert!(fails, "{good}: {why:?}");
    }
}

#[test]
fn urls_resolve_through_assignments() {
    let s =
        script("HEALTH_URL=$BASE_URL/healthz\ncheck_a(){ curl -f \"$HEALTH_URL\"; }\ncheck_a\n");
    let url = check(&s, "check_a").requests[0].url.clone().unwrap();
    assert_eq!(url, "$BASE_URL/healthz");
    assert!(is_health_url(&url));
}

#[test]
fn comments_and_strings_are_not_requests() {
    let s = script("check_a() {\n  # curl --fail $BASE_URL/api/orders\n  echo \"curl -f $BASE_URL/api/orders\"\n}\ncheck_a\n");
    assert!(check(&s, "check_a").requests.is_empty());
}

#[test]
fn honest_request_forms() {
    assert!(request_fails("curl -s \\\n  --fail \\\n  \"$BASE_URL/api/orders\"").0);
    assert!(request_fails("curl -sSf \"$BASE_URL/api/orders\"").0);
    assert!(request_fails("curl --fail-with-body \"$BASE_URL/api/orders\"").0);
    assert!(request_fails("wget -qO- \"$BASE_URL/api/orders\"").0);
    assert!(!request_fails("wget -qO- \"$BASE_URL/api/orders\" || true").0);
    assert!(!request_fails("curl -sS \"$BASE_URL/api/orders\"").0);
    assert!(request_fails("out=$(curl -fsS \"$BASE_URL/api/orders\")").0);
    assert!(!request_fails("local out=$(curl -fsS \"$BASE_URL/api/orders\")").0);
}

#[test]
fn compgen_and_declare_loops_call_every_check() {
    let defs = "check_a() { curl -f $BASE_URL/a; }\ncheck_b() { curl -f $BASE_URL/b; }\n";
    let s = script(&format!(
        "{defs}for c in $(compgen -A function check_); do \"$c\"; done\n"
    ));
    assert!(gates(&s, "check_a") && gates(&s, "check_b"), "{s:#?}");
    assert_eq!(check(&s, "check_b").called, Some(6));
    let s = script(&format!(
        "{defs}for c in $(declare -F | awk '{{print $3}}' | grep ^check_); do $c; done\n"
    ));
    assert!(gates(&s, "check_a") && gates(&s, "check_b"), "{s:#?}");
    let s = script(&format!(
        "{defs}for n in a b; do check_$n; done\nf=$1\n$f\n"
    ));
    assert!(!s.unseen.is_empty());
}

#[test]
fn helpers_carry_requests_and_urls() {
    let s = script(
        "get() { curl -fsS \"$BASE_URL$1\"; }\ncheck_orders() { get /api/orders; }\ncheck_orders\n",
    );
    let r = &check(&s, "check_orders").requests[0];
    assert_eq!(r.url.as_deref(), Some("$BASE_URL/api/orders"));
    assert!(r.fails_on_status && !is_health_url(r.url.as_ref().unwrap()));
}

#[test]
fn health_definition() {
    assert!(!is_health_url("$BASE_URL/api/orders/42/status"));
    assert!(is_health_url("http://x:8080/status"));
    assert!(is_health_url("${BASE_URL}/api/status"));
    assert!(is_health_url("/internal/health/db"));
    assert!(is_health_url("$BASE_URL/healthz"));
    assert!(!is_health_url("$BASE_URL/api/orders"));
}

#[test]
fn eval_source_and_parse_errors_are_unseen() {
    assert!(!script("eval \"$X\"\n").unseen.is_empty());
    assert!(!script("source ./lib.sh\n").unseen.is_empty());
    let s = analyse_smoke_script("check_a() {\n  curl -f x\nif then fi (\n");
    assert!(s.unseen[0].line.is_some(), "{s:#?}");
}

#[test]
fn unknown_condition_exit_zero_breaks_propagation() {
    let s = script(
        "check_a() { curl -f $BASE_URL/a; }\nif [ -n \"${SKIP:-}\" ]; then exit 0; fi\ncheck_a\n",
    );
    assert_eq!(check(&s, "check_a").called, Some(6));
    // A skip switch that exits 0 lets the gate pass without checking: said, and only that.
    assert_eq!(s.propagation.len(), 1, "{:?}", s.propagation);
    assert!(s.propagation[0]
        .message
        .contains("`exit 0` at line 5 can end with success"));
    let s = script(
        "check_a() { curl -f $BASE_URL/a; }\ncheck_a || { [ -n \"$CI\" ] && exit 0; exit 1; }\n",
    );
    assert!(!s.propagation.is_empty());
}

#[test]
fn recursion_and_deep_nesting_are_bounded() {
    let s = script("check_a() { check_a; }\ncheck_a\n");
    assert!(!s.unseen.is_empty());
    let deep = "{ ".repeat(2000) + "true" + &" }".repeat(2000);
    let s = analyse_smoke_script(&deep);
    assert!(!s.unseen.is_empty());
}

#[test]
fn garbage_never_panics() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let alphabet = b"ab$(){}[]|&;<>\"'`\\\n #=-fcurl_check 2*?!";
    for round in 0..300 {
        let len = (round * 7) % 200;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                if seed.is_multiple_of(5) {
                    (seed >> 8) as u8
                } else {
                    alphabet[(seed as usize >> 3) % alphabet.len()]
                }
            })
            .collect();
        let text = String::from_utf8_lossy(&bytes);
        let _ = analyse_smoke_script(&text);
        let _ = step_runs_script(&text, &ShellOptions::default(), None, "scripts/smoke.sh");
    }
}

const DEFAULT: ShellOptions = ShellOptions {
    errexit: true,
    pipefail: false,
};
const BASH: ShellOptions = ShellOptions {
    errexit: true,
    pipefail: true,
};
const CUSTOM: ShellOptions = ShellOptions {
    errexit: false,
    pipefail: false,
};

fn step(run: &str, shell: ShellOptions, wd: Option<&str>) -> StepRun {
    step_runs_script(run, &shell, wd, "scripts/smoke.sh")
}
fn runs(r: &StepRun) -> bool {
    matches!(r, StepRun::Runs { .. })
}
fn ignored(r: &StepRun) -> bool {
    matches!(r, StepRun::FailureIgnored { .. })
}

#[test]
fn step_not_run() {
    assert_eq!(
        step("echo \"scripts/smoke.sh\"", DEFAULT, None),
        StepRun::NotRun
    );
    assert_eq!(
        step("exit 0\nscripts/smoke.sh", DEFAULT, None),
        StepRun::NotRun
    );
    assert_eq!(
        step("# scripts/smoke.sh\nmake smoke", DEFAULT, None),
        StepRun::NotRun
    );
}

#[test]
fn step_failure_ignored() {
    assert!(ignored(&step(
        "set +e\nscripts/smoke.sh\necho $?",
        DEFAULT,
        None
    )));
    assert!(ignored(&step(
        "scripts/smoke.sh || echo skipped",
        DEFAULT,
        None
    )));
    assert!(ignored(&step("scripts/smoke.sh ||true", DEFAULT, None)));
    assert!(ignored(&step("scripts/smoke.sh; exit 0", CUSTOM, None)));
    let r = step("scripts/smoke.sh | tee log", DEFAULT, None);
    assert!(ignored(&r), "{r:?}");
    assert!(runs(&step("scripts/smoke.sh | tee log", BASH, None)));
    assert!(ignored(&step("scripts/smoke.sh\necho done", CUSTOM, None)));
    assert!(runs(&step("echo start\nscripts/smoke.sh", CUSTOM, None)));
}

#[test]
fn step_runs_forms() {
    assert!(runs(&step("./smoke.sh", DEFAULT, Some("scripts"))));
    assert!(runs(&step("bash scripts/smoke.sh", DEFAULT, None)));
    assert_eq!(
        step("bash scripts/smoke.sh", DEFAULT, None),
        StepRun::Runs {
            line: 1,
            through_interpreter: true
        }
    );
    assert!(runs(&step("sh -c 'scripts/smoke.sh'", DEFAULT, None)));
    assert!(runs(&step("./scripts/smoke.sh", DEFAULT, None)));
    assert!(runs(&step("BASE_URL=x scripts/smoke.sh", DEFAULT, None)));
    assert!(runs(&step(
        "chmod +x scripts/smoke.sh\ncd scripts && ./smoke.sh",
        DEFAULT,
        None
    )));
    assert!(runs(&step(
        "${{ github.workspace }}/scripts/smoke.sh",
        DEFAULT,
        None
    )));
    assert_eq!(step("./smoke.sh", DEFAULT, None), StepRun::NotRun);
}

#[test]
fn step_unseen() {
    assert!(matches!(
        step("eval \"$CMD\"", DEFAULT, None),
        StepRun::Unseen { .. }
    ));
    let r = step("source other.sh\nscripts/smoke.sh", DEFAULT, None);
    assert!(
        matches!(&r, StepRun::Unseen { why, .. } if why.contains("other.sh")),
        "{r:?}"
    );
}

/// Run manually: `cargo test --release perf -- --ignored --nocapture`.
#[test]
#[ignore]
fn perf_thousand_lines() {
    let mut text = String::from(
        "#!/usr/bin/env bash\nset -euo pipefail\nBASE_URL=${BASE_URL:-http://localhost:8080}\n",
    );
    let mut n = 0;
    while text.lines().count() < 1000 {
        text.push_str(&format!(
            "check_{n}() {{\n  local code\n  code=$(curl -s -o /dev/null -w '%{{http_code}}' \"$BASE_URL/api/items/{n}\")\n  if [ \"$code\" -ne 200 ]; then\n    echo \"check_{n} failed: $code\" >&2\n    return 1\n  fi\n  curl -fsS \"$BASE_URL/api/other/{n}\" | jq . >/dev/null\n}}\n"
        ));
        n += 1;
    }
    for i in 0..n {
        text.push_str(&format!("check_{i}\n"));
    }
    let start = std::time::Instant::now();
    let _ = parse(&text);
    println!("parse: {:?}", start.elapsed());
    let start = std::time::Instant::now();
    let s = analyse_smoke_script(&text);
    let took = start.elapsed();
    println!(
        "{} lines, {} checks: {:?}",
        text.lines().count(),
        s.checks.len(),
        took
    );
    assert_eq!(s.checks.len(), n);
}

#[test]
fn the_last_of_fail_and_no_fail_wins() {
    assert!(!request_fails("curl --fail --no-fail \"$BASE_URL/a\"").0);
    assert!(request_fails("curl --no-fail -f \"$BASE_URL/a\"").0);
}

#[test]
fn or_return_zero_is_named_as_the_trick() {
    let (fails, why) = request_fails("curl --fail \"$BASE_URL/a\" || return 0");
    assert!(!fails);
    let why = why.unwrap_or_default();
    assert!(why.contains("|| return 0"), "{why}");
    assert!(!why.contains("without `--fail`"), "{why}");
}

#[test]
fn combined_shell_flags_ending_in_o_take_the_option_name() {
    assert!(runs(&step(
        "bash -euo pipefail scripts/smoke.sh",
        DEFAULT,
        None
    )));
    assert!(runs(&step(
        "bash -o pipefail scripts/smoke.sh",
        DEFAULT,
        None
    )));
    assert_eq!(
        step("bash -euo pipefail", DEFAULT, None),
        StepRun::NotRun,
        "no script after the option name"
    );
}

#[test]
fn a_check_that_exits_zero_is_not_said_to_fail_on_a_good_status() {
    let s = script("check_a() { curl --fail \"$BASE_URL/a\"; exit 0; }\ncheck_a\n");
    let why = check(&s, "check_a").requests[0]
        .why_not
        .clone()
        .unwrap_or_default();
    assert!(
        !why.contains("even when every request answers 200"),
        "{why}"
    );
}

#[test]
fn a_long_run_of_open_parens_is_unseen_not_parsed() {
    let text = format!("#!/bin/bash\nset -e\n{}x\n", "( ".repeat(30));
    let s = analyse_smoke_script(&text);
    assert!(
        s.unseen
            .iter()
            .any(|f| f.line == Some(3) && f.message.contains("`(` nest more than")),
        "{:?}",
        s.unseen
    );
    // A few in a row, as real scripts write them, still parse.
    let fine = "#!/bin/bash\nset -e\ncheck_x() { (( (1 + (2 * 3)) > 0 )); }\ncheck_x\n";
    assert!(analyse_smoke_script(fine).unseen.is_empty());
}

#[test]
fn an_io_number_too_large_for_bash_is_unseen_not_parsed() {
    let s = analyse_smoke_script("#!/bin/bash\necho x\necho 99999999999>out\n");
    assert!(
        s.unseen
            .iter()
            .any(|f| f.line == Some(3) && f.message.contains("file descriptor too large")),
        "{:?}",
        s.unseen
    );
    let fine = "#!/bin/bash\nset -e\ncheck_x() { curl -f \"$BASE_URL/health\" 2>/dev/null 1>&2; }\ncheck_x\n";
    assert!(analyse_smoke_script(fine).unseen.is_empty());
}
