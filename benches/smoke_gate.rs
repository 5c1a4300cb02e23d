//! Smoke-gate benchmark: the badge check of a 1,000-line `scripts/smoke.sh` (100 checks, each a
//! request and a status test, called from a loop and from `main`) plus ten workflows of about
//! a hundred lines each (build, staging deploy, smoke, production deploy), judged as the gate
//! judges them at one commit. Target: under 50 ms.
//!
//!     cargo bench --bench smoke_gate

use std::time::{Duration, Instant};

use clinic::evidence::smoke::{judge_script, judge_wiring};

const RUNS: usize = 7;
const CHECKS: usize = 100;

fn main() {
    let script = script();
    let workflows = workflows();
    let lines = script.lines().count();
    let workflow_lines: usize = workflows.iter().map(|(_, t)| t.lines().count()).sum();
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let (checks, script_problems) = judge_script(&script);
        let (wired, wiring_problems) = judge_wiring(&workflows, Some(&script));
        times.push(started.elapsed());
        assert_eq!(checks.len(), CHECKS);
        assert!(
            script_problems.is_empty() && wiring_problems.is_empty(),
            "the benchmark suite must verify: {script_problems:?} {wiring_problems:?}"
        );
        assert!(!wired.is_empty());
    }
    times.sort();
    let median = times[RUNS / 2];
    println!(
        "smoke gate: {lines}-line script, {} workflows ({workflow_lines} lines): median {} over {RUNS} runs (min {}, max {}); target < 50 ms: {}",
        workflows.len(),
        ms(median),
        ms(times[0]),
        ms(times[RUNS - 1]),
        if median < Duration::from_millis(50) { "met" } else { "NOT met" }
    );
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// 100 checks of about ten lines each, a helper, and the calls.
fn script() -> String {
    let mut s = String::from(
        "#!/usr/bin/env bash\n# Smoke suite.\nset -euo pipefail\nBASE_URL=\"${BASE_URL:?set BASE_URL}\"\nAPI=\"$BASE_URL/api\"\n\nget() {\n  curl --fail --silent --show-error \"$API$1\"\n}\n\n",
    );
    for i in 0..CHECKS {
        s.push_str(&format!(
            "check_resource_{i}() {{\n  # Resource {i} answers and holds its seed record.\n  local code\n  code=$(curl -s -o /dev/null -w '%{{http_code}}' \"$API/resources/{i}\")\n  if [ \"$code\" -ne 200 ]; then\n    echo \"resource {i}: HTTP $code\" >&2\n    return 1\n  fi\n  get /resources/{i}/seed | grep -q '\"id\"'\n}}\n\n"
        ));
    }
    s.push_str("main() {\n  for c in $(compgen -A function check_); do\n    \"$c\"\n  done\n  echo \"smoke: all checks passed\"\n}\n\nmain \"$@\"\n");
    s
}

/// Ten deploy workflows, each gating its production deploy on the smoke job.
fn workflows() -> Vec<(String, String)> {
    (0..10)
        .map(|w| {
            let mut text = format!(
                "name: Deploy {w}\non:\n  push:\n    branches: [main]\n\nenv:\n  SERVICE: service-{w}\n\njobs:\n"
            );
            text.push_str("  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - name: Unit tests\n        run: |\n          python -m pip install -r requirements.txt\n          python -m pytest -q\n\n");
            for stage in ["build", "lint", "package"] {
                text.push_str(&format!("  {stage}:\n    needs: test\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - name: {stage}\n        run: make {stage}\n\n"));
            }
            text.push_str("  deploy-staging:\n    needs: [build, lint, package]\n    runs-on: ubuntu-latest\n    environment: staging\n    steps:\n      - uses: actions/checkout@v4\n      - run: ./deploy.sh staging\n\n");
            text.push_str("  smoke:\n    needs: deploy-staging\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - name: Smoke suite against staging\n        shell: bash\n        run: |\n          echo \"smoke against staging\"\n          scripts/smoke.sh | tee smoke.log\n        env:\n          BASE_URL: https://staging.example.org\n\n");
            text.push_str("  promote:\n    needs: smoke\n    if: github.ref == 'refs/heads/main'\n    runs-on: ubuntu-latest\n    environment:\n      name: production\n      url: https://example.org\n    steps:\n      - uses: actions/checkout@v4\n      - name: Promote to production\n        run: ./deploy.sh production\n\n");
            text.push_str("  notify:\n    needs: promote\n    if: always()\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo done\n");
            (format!(".github/workflows/deploy-{w}.yml"), text)
        })
        .collect()
}
