//! The smoke-gate badge against adversarial edits of the `clinic demo` repository: a table of
//! cases, each one edit on top of the demo (a new `scripts/smoke.sh`, changes to the deploy
//! workflow, extra workflow files, a changed drill record) and the outcome the contract
//! (`artifacts.md` section 3, Revision 2 R3, R4, R5) asks for: verified for honest work written
//! in an ordinary style, incomplete with a reason that names the trick for a gate that cannot
//! fail.
//!
//! The demo is built once per test process and copied (with its `.git`) for every case. Each
//! group test runs all of its rows and reports every mismatch together, so one run shows every
//! row the tool gets wrong.
//!
//! Dates: the demo ends on 2026-10-22; the cases commit from 2026-11-02 10:00 on, at +01:00.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use clinic::evidence::{Badge, Evidence, State};
use common::git::{temp_dir, RepoBuilder};
use tempfile::TempDir;

const SCRIPT: &str = "scripts/smoke.sh";
const WORKFLOW: &str = ".github/workflows/deploy.yml";
const DRILL: &str = "library/raw/smoke-drills/001.md";
const SERVER: &str = "app/server.py";

// ---- The table's vocabulary -----------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Group {
    ScriptGaming,
    ScriptHonest,
    WorkflowGaming,
    WorkflowHonest,
    Drill,
}

#[derive(Clone, Copy, Debug)]
enum Expect {
    Verified,
    /// `rule`: the `Problem.rule` one of the items (or the badge) must carry; alternatives are
    /// separated by `|` where the contract does not decide which rule names the trick.
    /// `words`: every needle appears in one and the same reason.
    Incomplete {
        rule: &'static str,
        words: &'static [&'static str],
    },
}

/// What a case changes on top of the demo before its commit.
#[derive(Clone, Copy)]
struct Edit {
    /// The whole new text of `scripts/smoke.sh` (its executable bit is kept).
    script: Option<&'static str>,
    /// `(from, to)` replacements in `.github/workflows/deploy.yml`; each `from` must be there.
    workflow: &'static [(&'static str, &'static str)],
    /// Files written (created or overwritten) as `(path, text)`.
    files: &'static [(&'static str, &'static str)],
    /// Files deleted.
    remove: &'static [&'static str],
    /// `Some(false)`: commit the script without its executable bit.
    executable: Option<bool>,
    /// Anything else (commits of its own, moves, drills naming new commits); runs last, before
    /// the case's final commit.
    custom: Option<fn(&RepoBuilder)>,
}

const NO_EDIT: Edit = Edit {
    script: None,
    workflow: &[],
    files: &[],
    remove: &[],
    executable: None,
    custom: None,
};

struct Case {
    name: &'static str,
    group: Group,
    edit: Edit,
    expect: Expect,
}

const fn script(text: &'static str) -> Edit {
    Edit {
        script: Some(text),
        ..NO_EDIT
    }
}

const fn workflow(replacements: &'static [(&'static str, &'static str)]) -> Edit {
    Edit {
        workflow: replacements,
        ..NO_EDIT
    }
}

const fn files(files: &'static [(&'static str, &'static str)]) -> Edit {
    Edit { files, ..NO_EDIT }
}

const fn custom(f: fn(&RepoBuilder)) -> Edit {
    Edit {
        custom: Some(f),
        ..NO_EDIT
    }
}

const fn incomplete(rule: &'static str, words: &'static [&'static str]) -> Expect {
    Expect::Incomplete { rule, words }
}

use Expect::Verified;
use Group::*;

// ---- Script pieces --------------------------------------------------------------------------

macro_rules! shebang {
    () => {
        "#!/usr/bin/env bash\n# Smoke suite against the staging deployment.\n"
    };
}

macro_rules! strict {
    () => {
        concat!(
            shebang!(),
            "set -euo pipefail\nBASE_URL=\"${BASE_URL:?set BASE_URL to the deployment under test}\"\n\n"
        )
    };
}

macro_rules! version_check {
    () => {
        "check_version() {\n  curl --fail --silent --show-error \"$BASE_URL/version\"\n}\n\n"
    };
}

macro_rules! orders_check {
    () => {
        "check_orders() {\n  curl --fail --silent --show-error \"$BASE_URL/api/orders/seed-1\"\n}\n\n"
    };
}

macro_rules! home_check {
    () => {
        "check_home() {\n  curl --fail --silent --show-error \"$BASE_URL/\"\n}\n\n"
    };
}

macro_rules! checks {
    () => {
        concat!(version_check!(), orders_check!(), home_check!())
    };
}

macro_rules! calls {
    () => {
        "check_version\ncheck_orders\ncheck_home\n"
    };
}

/// The honest shape every script case departs from (and a case of its own).
const HONEST: &str = concat!(
    strict!(),
    checks!(),
    calls!(),
    "echo \"smoke: all checks passed\"\n"
);

// ---- Workflow pieces ------------------------------------------------------------------------

macro_rules! wf_head {
    () => {
        "name: Deploy\non:\n  push:\n    branches: [main]\n\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: python -m pytest\n\n  deploy-staging:\n    needs: test\n    runs-on: ubuntu-latest\n    environment: staging\n    steps:\n      - uses: actions/checkout@v4\n      - run: ./deploy.sh staging\n\n"
    };
}

macro_rules! wf_promote {
    () => {
        "  promote:\n    needs: smoke\n    runs-on: ubuntu-latest\n    environment: production\n    steps:\n      - uses: actions/checkout@v4\n      - name: Promote to production\n        run: ./deploy.sh production\n"
    };
}

const SMOKE_RUN: &str = "        run: scripts/smoke.sh\n";
const PROMOTE_NEEDS: &str = "  promote:\n    needs: smoke\n";
const SMOKE_JOB_NEEDS: &str = "  smoke:\n    needs: deploy-staging\n";

// ---- The table ------------------------------------------------------------------------------

const CASES: &[Case] = &[
    // ============================== Script, gaming: incomplete ==============================
    Case {
        name: "checks are `check_x() { true; }`",
        group: ScriptGaming,
        edit: script(concat!(
            strict!(),
            "check_version() { true; }\ncheck_orders() { true; }\ncheck_home() { true; }\n\n",
            calls!()
        )),
        expect: incomplete("smoke.three-checks", &["check_orders", "no HTTP request"]),
    },
    Case {
        name: "calls placed after `exit 0`",
        group: ScriptGaming,
        edit: script(concat!(strict!(), checks!(), "exit 0\n", calls!())),
        expect: incomplete("smoke.three-checks", &["check_orders", "exit"]),
    },
    Case {
        name: "calls inside a `main()` that is never called",
        group: ScriptGaming,
        edit: script(concat!(
            strict!(),
            checks!(),
            "main() {\n  check_version\n  check_orders\n  check_home\n}\n"
        )),
        expect: incomplete("smoke.three-checks", &["check_orders", "main"]),
    },
    Case {
        name: "`set -euo pipefail` deleted, bare calls",
        group: ScriptGaming,
        edit: script(concat!(
            shebang!(),
            "BASE_URL=\"${BASE_URL:-http://localhost:8000}\"\n\n",
            checks!(),
            calls!(),
            "echo \"smoke: all checks passed\"\n"
        )),
        expect: incomplete("smoke.failure-ignored", &["would not fail the script"]),
    },
    Case {
        name: "each curl ends in `|| true`",
        group: ScriptGaming,
        edit: script(concat!(
            strict!(),
            "check_version() {\n  curl --fail -sS \"$BASE_URL/version\" || true\n}\n\ncheck_orders() {\n  curl --fail -sS \"$BASE_URL/api/orders/seed-1\" || true\n}\n\ncheck_home() {\n  curl --fail -sS \"$BASE_URL/\" || true\n}\n\n",
            calls!()
        )),
        expect: incomplete("smoke.cannot-fail", &["check_orders", "|| true"]),
    },
    Case {
        name: "`curl -s \"$URL\" | cut -d, -f1` (the -f1 is cut's)",
        group: ScriptGaming,
        edit: script(concat!(
            strict!(),
            version_check!(),
            "check_orders() {\n  curl -s \"$BASE_URL/api/orders/seed-1\" | cut -d, -f1\n}\n\n",
            home_check!(),
            calls!()
        )),
        expect: incomplete("smoke.cannot-fail", &["check_orders", "does not fail on a bad HTTP status"]),
    },
    Case {
        name: "status test `[ \"$code\" != \"000\" ]` (a 500 passes)",
        group: ScriptGaming,
        edit: script(concat!(
            strict!(),
            version_check!(),
            "check_orders() {\n  code=$(curl -s -o /dev/null -w '%{http_code}' \"$BASE_URL/api/orders/seed-1\")\n  [ \"$code\" != \"000\" ]\n}\n\n",
            home_check!(),
            calls!()
        )),
        expect: incomplete("smoke.cannot-fail", &["check_orders", "does not fail on a bad HTTP status"]),
    },
    Case {
        name: "every check probes health through a variable (`HEALTH_URL=$BASE_URL/healthz`)",
        group: ScriptGaming,
        edit: script(concat!(
            strict!(),
            "HEALTH_URL=$BASE_URL/healthz\nLIVE_URL=\"${BASE_URL}/livez\"\nDB_URL=$BASE_URL/internal/health/db\n\n",
            "check_health() {\n  curl --fail -sS \"$HEALTH_URL\"\n}\n\ncheck_live() {\n  curl --fail -sS \"$LIVE_URL\"\n}\n\ncheck_db() {\n  curl --fail -sS \"$DB_URL\"\n}\n\n",
            "check_health\ncheck_live\ncheck_db\n"
        )),
        expect: incomplete("smoke.health-only", &["common mistake", "health endpoint"]),
    },
    Case {
        name: "a comment `# curl --fail $BASE_URL/api/orders` is the only business request",
        group: ScriptGaming,
        edit: script(concat!(
            strict!(),
            "check_health() {\n  curl --fail -sS \"$BASE_URL/healthz\"\n  # curl --fail $BASE_URL/api/orders\n}\n\ncheck_ping() {\n  curl --fail -sS \"$BASE_URL/ping\"\n}\n\ncheck_ready() {\n  curl --fail -sS \"$BASE_URL/readyz\"\n}\n\n",
            "check_health\ncheck_ping\ncheck_ready\n"
        )),
        expect: incomplete("smoke.health-only", &["health endpoint"]),
    },
    Case {
        name: "`check_orders || echo failed` under set -e",
        group: ScriptGaming,
        edit: script(concat!(
            strict!(),
            checks!(),
            "check_version\ncheck_orders || echo \"check_orders failed\"\ncheck_home\n"
        )),
        expect: incomplete("smoke.failure-ignored", &["|| echo"]),
    },
    Case {
        name: "`check_orders || :` under set -e",
        group: ScriptGaming,
        edit: script(concat!(
            strict!(),
            checks!(),
            "check_version\ncheck_orders || :\ncheck_home\n"
        )),
        expect: incomplete("smoke.failure-ignored", &["|| :"]),
    },
    Case {
        name: "`set +e` around the calls",
        group: ScriptGaming,
        edit: script(concat!(
            strict!(),
            checks!(),
            "set +e\n",
            calls!(),
            "set -e\necho \"smoke: done\"\n"
        )),
        expect: incomplete("smoke.failure-ignored", &["set +e"]),
    },
    Case {
        name: "script not executable",
        group: ScriptGaming,
        edit: Edit {
            executable: Some(false),
            ..NO_EDIT
        },
        expect: incomplete("smoke.executable", &[SCRIPT, "executable bit"]),
    },
    Case {
        name: "`eval \"$SMOKE_EXTRA\"` before the calls (cannot be seen: fail closed)",
        group: ScriptGaming,
        edit: script(concat!(strict!(), checks!(), "eval \"${SMOKE_EXTRA:-}\"\n", calls!())),
        expect: incomplete("smoke.unseen", &["eval"]),
    },
    Case {
        name: "HTTPie `http GET` without --check-status (exits 0 on a 500)",
        group: ScriptGaming,
        edit: script(concat!(
            strict!(),
            version_check!(),
            "check_orders() {\n  http --ignore-stdin GET \"$BASE_URL/api/orders/seed-1\"\n}\n\n",
            home_check!(),
            calls!()
        )),
        expect: incomplete("smoke.cannot-fail", &["check_orders", "--check-status"]),
    },
    Case {
        name: "`set -e` without pipefail, checks pipe curl into tee",
        group: ScriptGaming,
        edit: script(concat!(
            shebang!(),
            "set -eu\n\n",
            "check_version() {\n  curl --fail -sS \"$BASE_URL/version\" | tee -a smoke.log\n}\n\ncheck_orders() {\n  curl --fail -sS \"$BASE_URL/api/orders/seed-1\" | tee -a smoke.log\n}\n\ncheck_home() {\n  curl --fail -sS \"$BASE_URL/\" | tee -a smoke.log\n}\n\n",
            calls!()
        )),
        expect: incomplete("smoke.failure-ignored|smoke.cannot-fail", &["pipefail"]),
    },
    Case {
        name: "a check redefined as a no-op before the calls",
        group: ScriptGaming,
        edit: script(concat!(
            strict!(),
            checks!(),
            "# temporarily disabled while the orders service migrates\ncheck_orders() { :; }\n\n",
            calls!()
        )),
        expect: incomplete("smoke.three-checks", &["check_orders", "no HTTP request"]),
    },
    Case {
        name: "`trap 'exit 0' EXIT` turns every failure into success",
        group: ScriptGaming,
        edit: script(concat!(strict!(), "trap 'exit 0' EXIT\n\n", checks!(), calls!())),
        expect: incomplete("smoke.failure-ignored|smoke.unseen", &["trap"]),
    },
    Case {
        name: "a shell function `curl` shadows curl and swallows failures",
        group: ScriptGaming,
        edit: script(concat!(
            strict!(),
            "curl() {\n  command curl \"$@\" || true\n}\n\n",
            checks!(),
            calls!()
        )),
        expect: incomplete("smoke.cannot-fail|smoke.unseen", &["curl"]),
    },
    Case {
        name: "checks only in `if check_x; then ...; fi` (failure goes nowhere)",
        group: ScriptGaming,
        edit: script(concat!(
            strict!(),
            checks!(),
            "if check_version; then echo \"version ok\"; fi\nif check_orders; then echo \"orders ok\"; else echo \"orders FAILED\"; fi\nif check_home; then echo \"home ok\"; fi\necho done\n"
        )),
        expect: incomplete("smoke.failure-ignored|smoke.unseen", &["check_"]),
    },
    Case {
        name: "checks run in the background, `wait` without arguments",
        group: ScriptGaming,
        edit: script(concat!(
            strict!(),
            checks!(),
            "check_version &\ncheck_orders &\ncheck_home &\nwait\n"
        )),
        expect: incomplete("smoke.failure-ignored|smoke.unseen", &["&"]),
    },
    Case {
        name: "the first check ends with `exit 0` (the others never run)",
        group: ScriptGaming,
        edit: script(concat!(
            strict!(),
            "check_version() {\n  curl --fail -sS \"$BASE_URL/version\"\n  exit 0\n}\n\n",
            orders_check!(),
            home_check!(),
            calls!()
        )),
        expect: incomplete("smoke.three-checks", &["check_orders", "never reached"]),
    },
    Case {
        name: "the request is only echoed: `echo curl --fail ...`",
        group: ScriptGaming,
        edit: script(concat!(
            strict!(),
            version_check!(),
            "check_orders() {\n  echo \"curl --fail $BASE_URL/api/orders/seed-1\"\n}\n\n",
            home_check!(),
            calls!()
        )),
        expect: incomplete("smoke.three-checks", &["check_orders", "no HTTP request"]),
    },
    Case {
        name: "`curl --fail ... --no-fail` (the later flag wins)",
        group: ScriptGaming,
        edit: script(concat!(
            strict!(),
            version_check!(),
            "check_orders() {\n  curl --fail -sS --no-fail \"$BASE_URL/api/orders/seed-1\"\n}\n\n",
            home_check!(),
            calls!()
        )),
        expect: incomplete("smoke.cannot-fail", &["check_orders"]),
    },
    Case {
        name: "no `set -e`; calls `|| exit 1`, but each check ends with `echo`",
        group: ScriptGaming,
        edit: script(concat!(
            shebang!(),
            "check_version() {\n  curl --fail -sS \"$BASE_URL/version\"\n  echo \"version checked\"\n}\n\ncheck_orders() {\n  curl --fail -sS \"$BASE_URL/api/orders/seed-1\"\n  echo \"orders checked\"\n}\n\ncheck_home() {\n  curl --fail -sS \"$BASE_URL/\"\n  echo \"home checked\"\n}\n\n",
            "check_version || exit 1\ncheck_orders || exit 1\ncheck_home || exit 1\n"
        )),
        expect: incomplete("smoke.failure-ignored|smoke.cannot-fail", &["check_orders"]),
    },
    Case {
        name: "calls chained with `&&` under set -e (errexit is off in an && list)",
        group: ScriptGaming,
        edit: script(concat!(
            strict!(),
            checks!(),
            "check_version && check_orders && check_home\necho \"smoke: all checks passed\"\n"
        )),
        expect: incomplete("smoke.failure-ignored", &["check_version", "can still exit 0"]),
    },
    Case {
        name: "`local out=$(check_x)` masks the status",
        group: ScriptGaming,
        edit: script(concat!(
            strict!(),
            checks!(),
            "main() {\n  local v=$(check_version)\n  local o=$(check_orders)\n  local h=$(check_home)\n  echo \"$v $o $h\"\n}\n\nmain\n"
        )),
        expect: incomplete("smoke.failure-ignored", &["local"]),
    },
    Case {
        name: "`echo \"$(check_x)\"` (the status is echo's)",
        group: ScriptGaming,
        edit: script(concat!(
            strict!(),
            checks!(),
            "echo \"$(check_version)\"\necho \"$(check_orders)\"\necho \"$(check_home)\"\n"
        )),
        expect: incomplete("smoke.failure-ignored|smoke.three-checks", &["check_orders"]),
    },
    Case {
        name: "calls only inside a heredoc",
        group: ScriptGaming,
        edit: script(concat!(
            strict!(),
            checks!(),
            "cat <<EOF\ncheck_version\ncheck_orders\ncheck_home\nEOF\n"
        )),
        expect: incomplete("smoke.three-checks", &["check_orders", "never called"]),
    },
    Case {
        name: "calls inside a `: '...'` block comment",
        group: ScriptGaming,
        edit: script(concat!(strict!(), checks!(), ": '\n", calls!(), "'\n")),
        expect: incomplete("smoke.three-checks", &["check_orders", "never called"]),
    },
    Case {
        name: "health path with a business query string (`/healthz?next=/api/orders`)",
        group: ScriptGaming,
        edit: script(concat!(
            strict!(),
            "check_health() {\n  curl --fail -sS \"$BASE_URL/healthz?next=/api/orders\"\n}\n\ncheck_ping() {\n  curl --fail -sS \"$BASE_URL/ping#/api/orders\"\n}\n\ncheck_status() {\n  curl --fail -sS \"$BASE_URL/api/status\"\n}\n\n",
            "check_health\ncheck_ping\ncheck_status\n"
        )),
        expect: incomplete("smoke.health-only", &["health endpoint"]),
    },
    Case {
        name: "`curl --fail ... || return 0`",
        group: ScriptGaming,
        edit: script(concat!(
            strict!(),
            version_check!(),
            "check_orders() {\n  curl --fail -sS \"$BASE_URL/api/orders/seed-1\" || return 0\n}\n\n",
            home_check!(),
            calls!()
        )),
        expect: incomplete("smoke.cannot-fail", &["check_orders", "return 0"]),
    },
    Case {
        name: "`return 0` before the request",
        group: ScriptGaming,
        edit: script(concat!(
            strict!(),
            version_check!(),
            "check_orders() {\n  return 0\n  curl --fail -sS \"$BASE_URL/api/orders/seed-1\"\n}\n\n",
            home_check!(),
            calls!()
        )),
        expect: incomplete("smoke.three-checks", &["check_orders"]),
    },
    Case {
        name: "`set +o errexit` before the calls",
        group: ScriptGaming,
        edit: script(concat!(strict!(), checks!(), "set +o errexit\n", calls!(), "echo done\n")),
        expect: incomplete("smoke.failure-ignored", &["errexit"]),
    },
    Case {
        name: "`curl --fail-early` (not `--fail`)",
        group: ScriptGaming,
        edit: script(concat!(
            strict!(),
            version_check!(),
            "check_orders() {\n  curl --fail-early -sS \"$BASE_URL/api/orders/seed-1\"\n}\n\n",
            home_check!(),
            calls!()
        )),
        expect: incomplete("smoke.cannot-fail", &["check_orders"]),
    },
    Case {
        name: "`curl -sSF ...` (capital F is --form, not --fail)",
        group: ScriptGaming,
        edit: script(concat!(
            strict!(),
            version_check!(),
            "check_orders() {\n  curl -sSF \"id=seed-1\" \"$BASE_URL/api/orders/search\"\n}\n\n",
            home_check!(),
            calls!()
        )),
        expect: incomplete("smoke.cannot-fail", &["check_orders"]),
    },
    // ============================== Script, honest: verified ================================
    Case {
        name: "baseline: three curl --fail checks under set -euo pipefail",
        group: ScriptHonest,
        edit: script(HONEST),
        expect: Verified,
    },
    Case {
        name: "curl whose `--fail` is on a `\\` continuation line",
        group: ScriptHonest,
        edit: script(concat!(
            strict!(),
            version_check!(),
            "check_orders() {\n  curl --silent --show-error \\\n    --max-time 10 \\\n    --fail \\\n    \"$BASE_URL/api/orders/seed-1\"\n}\n\n",
            home_check!(),
            calls!()
        )),
        expect: Verified,
    },
    Case {
        name: "status tests written `-lt 400`",
        group: ScriptHonest,
        edit: script(concat!(
            strict!(),
            "check_version() {\n  code=$(curl -s -o /dev/null -w '%{http_code}' \"$BASE_URL/version\")\n  [ \"$code\" -lt 400 ]\n}\n\n",
            "check_orders() {\n  code=$(curl -s -o /dev/null -w '%{http_code}' \"$BASE_URL/api/orders/seed-1\")\n  [ \"$code\" -ge 200 ] && [ \"$code\" -lt 400 ] || return 1\n}\n\n",
            "check_home() {\n  local code\n  code=$(curl -s -o /dev/null -w '%{http_code}' \"$BASE_URL/\")\n  test \"$code\" -lt 400 || return 1\n}\n\n",
            calls!()
        )),
        expect: Verified,
    },
    Case {
        name: "`case $code in 2??) ;; *) return 1;; esac`",
        group: ScriptHonest,
        edit: script(concat!(
            strict!(),
            version_check!(),
            "check_orders() {\n  code=$(curl -s -o /dev/null -w '%{http_code}' \"$BASE_URL/api/orders/seed-1\")\n  case $code in\n    2??) ;;\n    *) echo \"orders answered $code\" >&2; return 1;;\n  esac\n}\n\n",
            home_check!(),
            calls!()
        )),
        expect: Verified,
    },
    Case {
        name: "checks run by `for c in $(compgen -A function check_); do \"$c\"; done`",
        group: ScriptHonest,
        edit: script(concat!(
            strict!(),
            checks!(),
            "for c in $(compgen -A function check_); do\n  \"$c\"\ndone\n"
        )),
        expect: Verified,
    },
    Case {
        name: "checks run by a loop over `declare -F`",
        group: ScriptHonest,
        edit: script(concat!(
            strict!(),
            checks!(),
            "for c in $(declare -F | awk '{print $3}' | grep '^check_'); do\n  echo \"running $c\"\n  \"$c\"\ndone\n"
        )),
        expect: Verified,
    },
    Case {
        name: "business endpoint ending in `/status` (`/api/orders/42/status`) plus two health checks",
        group: ScriptHonest,
        edit: script(concat!(
            strict!(),
            "check_health() {\n  curl --fail -sS \"$BASE_URL/healthz\"\n}\n\ncheck_ping() {\n  curl --fail -sS \"$BASE_URL/ping\"\n}\n\ncheck_order_status() {\n  curl --fail -sS \"$BASE_URL/api/orders/42/status\"\n}\n\n",
            "check_health\ncheck_ping\ncheck_order_status\n"
        )),
        expect: Verified,
    },
    Case {
        name: "a check using wget (fails on 5xx by default)",
        group: ScriptHonest,
        edit: script(concat!(
            strict!(),
            version_check!(),
            "check_orders() {\n  wget -q -O- \"$BASE_URL/api/orders/seed-1\" >/dev/null\n}\n\n",
            home_check!(),
            calls!()
        )),
        expect: Verified,
    },
    Case {
        name: "HTTPie `http --check-status` and `xh --check-status`",
        group: ScriptHonest,
        edit: script(concat!(
            strict!(),
            version_check!(),
            "check_orders() {\n  http --check-status --ignore-stdin GET \"$BASE_URL/api/orders/seed-1\"\n}\n\n",
            "check_home() {\n  xh --check-status GET \"$BASE_URL/\"\n}\n\n",
            calls!()
        )),
        expect: Verified,
    },
    Case {
        name: "`curl -fsS` combined flags",
        group: ScriptHonest,
        edit: script(concat!(
            strict!(),
            "check_version() { curl -fsS \"$BASE_URL/version\" >/dev/null; }\ncheck_orders() { curl -sSf \"$BASE_URL/api/orders/seed-1\" >/dev/null; }\ncheck_home() { curl -s -f \"$BASE_URL/\" >/dev/null; }\n\n",
            calls!()
        )),
        expect: Verified,
    },
    Case {
        name: "`-w '%{http_code}'` and `[ \"$code\" -eq 200 ] || return 1`",
        group: ScriptHonest,
        edit: script(concat!(
            strict!(),
            "check_version() {\n  code=$(curl -s -o /dev/null -w '%{http_code}' \"$BASE_URL/version\")\n  [ \"$code\" -eq 200 ] || return 1\n}\n\n",
            "check_orders() {\n  local code\n  code=\"$(curl -s -o /dev/null -w '%{http_code}' \"$BASE_URL/api/orders/seed-1\")\"\n  if [ \"$code\" -ne 200 ]; then\n    echo \"orders: HTTP $code\" >&2\n    return 1\n  fi\n}\n\n",
            "check_home() {\n  code=$(curl -s -o /dev/null -w '%{http_code}' \"$BASE_URL/\")\n  [[ $code == 2* ]] || return 1\n}\n\n",
            calls!()
        )),
        expect: Verified,
    },
    Case {
        name: "no `set -e`; every call `|| exit 1`",
        group: ScriptHonest,
        edit: script(concat!(
            shebang!(),
            "BASE_URL=\"${BASE_URL:-http://localhost:8000}\"\n\n",
            checks!(),
            "check_version || exit 1\ncheck_orders || exit 1\ncheck_home || exit 1\necho ok\n"
        )),
        expect: Verified,
    },
    Case {
        name: "no `set -e`; `if ! check_x; then exit 1; fi`",
        group: ScriptHonest,
        edit: script(concat!(
            shebang!(),
            "BASE_URL=\"${BASE_URL:-http://localhost:8000}\"\n\n",
            checks!(),
            "if ! check_version; then exit 1; fi\nif ! check_orders; then\n  echo \"orders failed\" >&2\n  exit 1\nfi\nif ! check_home; then exit 1; fi\n"
        )),
        expect: Verified,
    },
    Case {
        name: "`set -o errexit` and `set -o pipefail`, checks piped into grep",
        group: ScriptHonest,
        edit: script(concat!(
            shebang!(),
            "set -o errexit\nset -o nounset\nset -o pipefail\n\n",
            "check_version() {\n  curl --fail -sS \"$BASE_URL/version\" | grep -q \"$GIT_SHA\"\n}\n\ncheck_orders() {\n  curl --fail -sS \"$BASE_URL/api/orders/seed-1\" | grep -q customer\n}\n\ncheck_home() {\n  curl --fail -sS \"$BASE_URL/\" | grep -q orders-api\n}\n\n",
            calls!()
        )),
        expect: Verified,
    },
    Case {
        name: "`-e` in the shebang (`#!/bin/bash -e`), run directly",
        group: ScriptHonest,
        edit: script(concat!("#!/bin/bash -e\n\n", checks!(), calls!())),
        expect: Verified,
    },
    Case {
        name: "requests in a helper the checks call, URLs through variables",
        group: ScriptHonest,
        edit: script(concat!(
            strict!(),
            "ORDERS_URL=\"$BASE_URL/api/orders/seed-1\"\n\n",
            "request() {\n  curl --fail --silent --show-error --retry 3 \"$@\"\n}\n\n",
            "check_version() {\n  request \"$BASE_URL/version\" >/dev/null\n}\n\ncheck_orders() {\n  request \"$ORDERS_URL\" >/dev/null\n}\n\ncheck_home() {\n  local url=\"$BASE_URL/\"\n  request \"$url\" >/dev/null\n}\n\n",
            calls!()
        )),
        expect: Verified,
    },
    Case {
        name: "calls inside `main \"$@\"`, which is called; a fourth check without a request",
        group: ScriptHonest,
        edit: script(concat!(
            strict!(),
            checks!(),
            "check_disk() {\n  df -h / >/dev/null\n}\n\n",
            "main() {\n  check_disk\n  check_version\n  check_orders\n  check_home\n  echo \"smoke: all checks passed\"\n}\n\nmain \"$@\"\n"
        )),
        expect: Verified,
    },
    Case {
        name: "`--fail-with-body` and `[[ ... -ge 200 && ... -lt 300 ]]`",
        group: ScriptHonest,
        edit: script(concat!(
            strict!(),
            "check_version() {\n  curl --fail-with-body -sS \"$BASE_URL/version\"\n}\n\n",
            "check_orders() {\n  code=$(curl -s -o /dev/null -w '%{http_code}' \"$BASE_URL/api/orders/seed-1\")\n  [[ $code -ge 200 && $code -lt 300 ]] || return 1\n}\n\n",
            home_check!(),
            calls!()
        )),
        expect: Verified,
    },
    Case {
        name: "`function check_x {` syntax and brace on its own line",
        group: ScriptHonest,
        edit: script(concat!(
            strict!(),
            "function check_version {\n  curl --fail -sS \"$BASE_URL/version\"\n}\n\nfunction check_orders() {\n  curl --fail -sS \"$BASE_URL/api/orders/seed-1\"\n}\n\ncheck_home()\n{\n  curl --fail -sS \"$BASE_URL/\"\n}\n\n",
            calls!()
        )),
        expect: Verified,
    },
    Case {
        name: "calls in a subshell `( check_x )` and via `out=$(check_x)` under set -e",
        group: ScriptHonest,
        edit: script(concat!(
            strict!(),
            checks!(),
            "( check_version )\norders=$(check_orders)\necho \"$orders\"\ncheck_home\n"
        )),
        expect: Verified,
    },
    Case {
        name: "a conditional `exit 2` (usage) before the calls",
        group: ScriptHonest,
        edit: script(concat!(
            strict!(),
            checks!(),
            "if [ \"$#\" -gt 0 ]; then\n  echo \"usage: $0\" >&2\n  exit 2\nfi\n\n",
            calls!(),
            "exit 0\n"
        )),
        expect: Verified,
    },
    Case {
        name: "calls piped into `tee` under pipefail",
        group: ScriptHonest,
        edit: script(concat!(
            strict!(),
            checks!(),
            "check_version | tee -a smoke.log\ncheck_orders | tee -a smoke.log\ncheck_home | tee -a smoke.log\n"
        )),
        expect: Verified,
    },
    Case {
        name: "checks run from an array: `for c in \"${checks[@]}\"; do \"$c\"; done`",
        group: ScriptHonest,
        edit: script(concat!(
            strict!(),
            checks!(),
            "checks=(check_version check_orders check_home)\nfor c in \"${checks[@]}\"; do\n  \"$c\"\ndone\n"
        )),
        expect: Verified,
    },
    Case {
        name: "checks run from a literal list: `for c in check_a check_b check_c; do $c; done`",
        group: ScriptHonest,
        edit: script(concat!(
            strict!(),
            checks!(),
            "for c in check_version check_orders check_home; do\n  $c\ndone\n"
        )),
        expect: Verified,
    },
    Case {
        name: "base URL from `$1` with `${BASE_URL%/}` trimming",
        group: ScriptHonest,
        edit: Edit {
            script: Some(concat!(
                shebang!(),
                "set -euo pipefail\nBASE_URL=\"${1:?usage: smoke.sh BASE_URL}\"\nAPI=\"${BASE_URL%/}/api\"\n\n",
                "check_version() {\n  curl -fsS \"${BASE_URL%/}/version\"\n}\n\ncheck_orders() {\n  curl -fsS \"$API/orders/seed-1\"\n}\n\ncheck_home() {\n  curl -fsS \"${BASE_URL%/}/\"\n}\n\n",
                calls!()
            )),
            workflow: &[(SMOKE_RUN, "        run: scripts/smoke.sh \"$BASE_URL\"\n")],
            ..NO_EDIT
        },
        expect: Verified,
    },
    // ============================== Workflow, gaming: incomplete ============================
    Case {
        name: "step `run: echo \"scripts/smoke.sh\"`",
        group: WorkflowGaming,
        edit: workflow(&[(SMOKE_RUN, "        run: echo \"scripts/smoke.sh\"\n")]),
        expect: incomplete("smoke.not-wired", &["mentions scripts/smoke.sh but never runs it"]),
    },
    Case {
        name: "`exit 0` first in the run script",
        group: WorkflowGaming,
        edit: workflow(&[(SMOKE_RUN, "        run: |\n          exit 0\n          scripts/smoke.sh\n")]),
        expect: incomplete("smoke.not-wired|smoke.gate-cancelled", &["never runs it"]),
    },
    Case {
        name: "`set +e; scripts/smoke.sh; echo $?`",
        group: WorkflowGaming,
        edit: workflow(&[(SMOKE_RUN, "        run: |\n          set +e\n          scripts/smoke.sh\n          echo \"smoke exited with $?\"\n")]),
        expect: incomplete("smoke.gate-cancelled", &["set +e"]),
    },
    Case {
        name: "`scripts/smoke.sh || echo skipped`",
        group: WorkflowGaming,
        edit: workflow(&[(SMOKE_RUN, "        run: scripts/smoke.sh || echo skipped\n")]),
        expect: incomplete("smoke.gate-cancelled", &["|| echo"]),
    },
    Case {
        name: "`scripts/smoke.sh ||true`",
        group: WorkflowGaming,
        edit: workflow(&[(SMOKE_RUN, "        run: scripts/smoke.sh ||true\n")]),
        expect: incomplete("smoke.gate-cancelled", &["does not fail the step"]),
    },
    Case {
        name: "`shell: bash {0}` (no -e) with `scripts/smoke.sh; exit 0`",
        group: WorkflowGaming,
        edit: workflow(&[(SMOKE_RUN, "        shell: bash {0}\n        run: scripts/smoke.sh; exit 0\n")]),
        expect: incomplete("smoke.gate-cancelled", &["exit 0"]),
    },
    Case {
        name: "the smoke step has `if: false`",
        group: WorkflowGaming,
        edit: workflow(&[(SMOKE_RUN, "        if: false\n        run: scripts/smoke.sh\n")]),
        expect: incomplete("smoke.gate-skippable", &["if: false"]),
    },
    Case {
        name: "`continue-on-error: ${{ true }}` on the smoke step",
        group: WorkflowGaming,
        edit: workflow(&[(SMOKE_RUN, "        run: scripts/smoke.sh\n        continue-on-error: ${{ true }}\n")]),
        expect: incomplete("smoke.gate-cancelled", &["continue-on-error"]),
    },
    Case {
        name: "`continue-on-error: true` on the smoke job",
        group: WorkflowGaming,
        edit: workflow(&[(SMOKE_JOB_NEEDS, "  smoke:\n    needs: deploy-staging\n    continue-on-error: true\n")]),
        expect: incomplete("smoke.gate-cancelled", &["continue-on-error"]),
    },
    Case {
        name: "promote has `if: ${{ success() || !success() }}`",
        group: WorkflowGaming,
        edit: workflow(&[(PROMOTE_NEEDS, "  promote:\n    needs: smoke\n    if: ${{ success() || !success() }}\n")]),
        expect: incomplete("smoke.gate-bypassed", &["promote", "smoke job failed"]),
    },
    Case {
        name: "promote has `if: always()`",
        group: WorkflowGaming,
        edit: workflow(&[(PROMOTE_NEEDS, "  promote:\n    needs: smoke\n    if: always()\n")]),
        expect: incomplete("smoke.gate-bypassed", &["promote", "always()"]),
    },
    Case {
        name: "promote has `if: ${{ !cancelled() }}`",
        group: WorkflowGaming,
        edit: workflow(&[(PROMOTE_NEEDS, "  promote:\n    needs: smoke\n    if: ${{ !cancelled() }}\n")]),
        expect: incomplete("smoke.gate-bypassed", &["promote"]),
    },
    Case {
        name: "promote `if: always() && (needs.smoke.result != 'failure' || github.event_name == 'workflow_dispatch')`",
        group: WorkflowGaming,
        edit: workflow(&[(PROMOTE_NEEDS, "  promote:\n    needs: smoke\n    if: always() && (needs.smoke.result != 'failure' || github.event_name == 'workflow_dispatch')\n")]),
        expect: incomplete("smoke.gate-bypassed", &["promote"]),
    },
    Case {
        name: "a second production deploy job with no `needs:` on smoke, same workflow",
        group: WorkflowGaming,
        edit: workflow(&[(
            "        run: ./deploy.sh production\n",
            concat!(
                "        run: ./deploy.sh production\n",
                "\n  deploy-prod-eu:\n    needs: deploy-staging\n    runs-on: ubuntu-latest\n    environment: production\n    steps:\n      - uses: actions/checkout@v4\n      - run: ./deploy.sh production-eu\n"
            ),
        )]),
        expect: incomplete("smoke.ungated", &["deploy-prod-eu"]),
    },
    Case {
        name: "a second production deploy job in a second workflow file",
        group: WorkflowGaming,
        edit: files(&[(
            ".github/workflows/hotfix.yml",
            "name: Hotfix\non: workflow_dispatch\njobs:\n  hotfix:\n    runs-on: ubuntu-latest\n    environment: production\n    steps:\n      - uses: actions/checkout@v4\n      - run: ./deploy.sh production\n",
        )]),
        expect: incomplete("smoke.ungated", &[".github/workflows/hotfix.yml", "hotfix"]),
    },
    Case {
        name: "`environment: {name: production}` deploy job without needs",
        group: WorkflowGaming,
        edit: files(&[(
            ".github/workflows/manual.yml",
            "name: Manual deploy\non: workflow_dispatch\njobs:\n  ship:\n    runs-on: ubuntu-latest\n    environment:\n      name: production\n      url: https://orders.example.org\n    steps:\n      - uses: actions/checkout@v4\n      - run: ./deploy.sh production\n",
        )]),
        expect: incomplete("smoke.ungated", &["ship"]),
    },
    Case {
        name: "a `release` job (by its id) with no needs",
        group: WorkflowGaming,
        edit: files(&[(
            ".github/workflows/release.yml",
            "name: Release\non:\n  push:\n    tags: ['v*']\njobs:\n  release:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: gh release create \"$GITHUB_REF_NAME\"\n",
        )]),
        expect: incomplete("smoke.ungated", &["release"]),
    },
    Case {
        name: "the only wiring lives in `.github/workflows/archive/deploy.yml`",
        group: WorkflowGaming,
        edit: custom(move_workflow_to_archive),
        expect: incomplete("smoke.not-wired|smoke.no-promotion", &[SCRIPT]),
    },
    Case {
        name: "the only wiring lives in `deploy.yml.disabled`",
        group: WorkflowGaming,
        edit: custom(disable_workflow),
        expect: incomplete("smoke.not-wired|smoke.no-promotion", &[SCRIPT]),
    },
    Case {
        name: "default shell, `scripts/smoke.sh | tee smoke.log` (no pipefail)",
        group: WorkflowGaming,
        edit: workflow(&[(SMOKE_RUN, "        run: scripts/smoke.sh | tee smoke.log\n")]),
        expect: incomplete("smoke.gate-cancelled", &["pipefail"]),
    },
    Case {
        name: "`shell: bash {0}` (no -e), smoke then echo",
        group: WorkflowGaming,
        edit: workflow(&[(SMOKE_RUN, "        shell: bash {0}\n        run: |\n          scripts/smoke.sh\n          echo \"smoke finished\"\n")]),
        expect: incomplete("smoke.gate-cancelled", &["does not fail the step"]),
    },
    Case {
        name: "`sh -c 'scripts/smoke.sh || true'`",
        group: WorkflowGaming,
        edit: workflow(&[(SMOKE_RUN, "        run: sh -c 'scripts/smoke.sh || true'\n")]),
        expect: incomplete("smoke.gate-cancelled|smoke.unseen", &["smoke"]),
    },
    Case {
        name: "script in the background: `scripts/smoke.sh &`",
        group: WorkflowGaming,
        edit: workflow(&[(SMOKE_RUN, "        run: |\n          scripts/smoke.sh &\n          sleep 1\n")]),
        expect: incomplete("smoke.gate-cancelled|smoke.not-wired|smoke.unseen", &["smoke"]),
    },
    Case {
        name: "promote no longer needs smoke (needs deploy-staging)",
        group: WorkflowGaming,
        edit: workflow(&[(PROMOTE_NEEDS, "  promote:\n    needs: deploy-staging\n")]),
        expect: incomplete("smoke.ungated", &["promote"]),
    },
    Case {
        name: "smoke step after the promote step in the same job",
        group: WorkflowGaming,
        edit: files(&[(
            WORKFLOW,
            concat!(
                wf_head!(),
                "  promote:\n    needs: deploy-staging\n    runs-on: ubuntu-latest\n    environment: production\n    steps:\n      - uses: actions/checkout@v4\n      - name: Promote to production\n        run: ./deploy.sh production\n      - name: Smoke suite against production\n        run: scripts/smoke.sh\n        env:\n          BASE_URL: https://orders.example.org\n"
            ),
        )]),
        expect: incomplete("smoke.ungated", &["promote"]),
    },
    Case {
        name: "merge key gives promote the staging job's `needs: test` only",
        group: WorkflowGaming,
        edit: files(&[(
            WORKFLOW,
            "name: Deploy\non:\n  push:\n    branches: [main]\n\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: python -m pytest\n\n  deploy-staging: &deploy\n    needs: test\n    runs-on: ubuntu-latest\n    environment: staging\n    steps:\n      - uses: actions/checkout@v4\n      - run: ./deploy.sh staging\n\n  smoke:\n    needs: deploy-staging\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: scripts/smoke.sh\n        env:\n          BASE_URL: https://staging.orders.example.org\n\n  promote:\n    <<: *deploy\n    environment: production\n    steps:\n      - uses: actions/checkout@v4\n      - name: Promote to production\n        run: ./deploy.sh production\n",
        )]),
        expect: incomplete("smoke.ungated", &["promote"]),
    },
    Case {
        name: "merge key puts `continue-on-error: true` on the smoke step",
        group: WorkflowGaming,
        edit: files(&[(
            WORKFLOW,
            concat!(
                wf_head!(),
                "  smoke:\n    needs: deploy-staging\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - &lenient\n        name: Warm up staging\n        run: curl -s https://staging.orders.example.org/ || true\n        continue-on-error: true\n      - <<: *lenient\n        name: Smoke suite against staging\n        run: scripts/smoke.sh\n\n",
                wf_promote!()
            ),
        )]),
        expect: incomplete("smoke.gate-cancelled|smoke.unseen", &["continue-on-error"]),
    },
    Case {
        name: "a shebang-only `-e` script run as `bash scripts/smoke.sh`",
        group: WorkflowGaming,
        edit: Edit {
            script: Some(concat!("#!/bin/bash -e\n\n", checks!(), calls!(), "echo done\n")),
            workflow: &[(SMOKE_RUN, "        run: bash scripts/smoke.sh\n")],
            ..NO_EDIT
        },
        expect: incomplete("smoke.failure-ignored", &["#!"]),
    },
    Case {
        name: "smoke step `if: github.event_name == 'push'` (can be false on a deploy)",
        group: WorkflowGaming,
        edit: workflow(&[(SMOKE_RUN, "        if: github.event_name == 'push'\n        run: scripts/smoke.sh\n")]),
        expect: incomplete("smoke.gate-skippable", &["can be skipped"]),
    },
    Case {
        name: "`continue-on-error: ${{ github.ref != 'refs/heads/main' }}` (an expression counts as true)",
        group: WorkflowGaming,
        edit: workflow(&[(SMOKE_RUN, "        run: scripts/smoke.sh\n        continue-on-error: ${{ github.ref != 'refs/heads/main' }}\n")]),
        expect: incomplete("smoke.gate-cancelled", &["continue-on-error"]),
    },
    Case {
        name: "promote `if: failure()` (runs exactly when the smoke job failed)",
        group: WorkflowGaming,
        edit: workflow(&[(PROMOTE_NEEDS, "  promote:\n    needs: smoke\n    if: failure()\n")]),
        expect: incomplete("smoke.gate-bypassed", &["promote", "failure()"]),
    },
    Case {
        name: "`if ! scripts/smoke.sh; then echo failed; fi` (no exit)",
        group: WorkflowGaming,
        edit: workflow(&[(SMOKE_RUN, "        run: |\n          if ! scripts/smoke.sh; then\n            echo \"::warning::smoke failed\"\n          fi\n")]),
        expect: incomplete("smoke.gate-cancelled", &["does not fail the step"]),
    },
    Case {
        name: "production deploy in a `workflow_run` workflow after the smoke workflow",
        group: WorkflowGaming,
        edit: files(&[(
            ".github/workflows/promote.yml",
            "name: Promote\non:\n  workflow_run:\n    workflows: [Deploy]\n    types: [completed]\njobs:\n  go-live:\n    runs-on: ubuntu-latest\n    environment: production\n    steps:\n      - uses: actions/checkout@v4\n      - run: ./deploy.sh production\n",
        )]),
        expect: incomplete("smoke.ungated", &["go-live"]),
    },
    Case {
        name: "local reusable smoke workflow whose step ends in `|| true`",
        group: WorkflowGaming,
        edit: files(&[
            (
                WORKFLOW,
                concat!(
                    wf_head!(),
                    "  smoke:\n    needs: deploy-staging\n    uses: ./.github/workflows/smoke.yml\n\n",
                    wf_promote!()
                ),
            ),
            (
                ".github/workflows/smoke.yml",
                "name: Smoke\non: workflow_call\njobs:\n  suite:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: scripts/smoke.sh || true\n",
            ),
        ]),
        expect: incomplete("smoke.gate-cancelled", &["|| true"]),
    },
    Case {
        name: "promote `if: always() && needs.deploy-staging.result == 'success'` (tests the wrong job)",
        group: WorkflowGaming,
        edit: workflow(&[(PROMOTE_NEEDS, "  promote:\n    needs: [deploy-staging, smoke]\n    if: always() && needs.deploy-staging.result == 'success'\n")]),
        expect: incomplete("smoke.gate-bypassed", &["promote"]),
    },
    // ============================== Workflow, honest: verified ==============================
    Case {
        name: "smoke job is a local reusable workflow (`uses: ./.github/workflows/smoke.yml`)",
        group: WorkflowHonest,
        edit: files(&[
            (
                WORKFLOW,
                concat!(
                    wf_head!(),
                    "  smoke:\n    needs: deploy-staging\n    uses: ./.github/workflows/smoke.yml\n    with:\n      base_url: https://staging.orders.example.org\n\n",
                    wf_promote!()
                ),
            ),
            (
                ".github/workflows/smoke.yml",
                "name: Smoke\non:\n  workflow_call:\n    inputs:\n      base_url:\n        type: string\n        required: true\njobs:\n  suite:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - name: Smoke suite\n        run: scripts/smoke.sh\n        env:\n          BASE_URL: ${{ inputs.base_url }}\n          GIT_SHA: ${{ github.sha }}\n",
            ),
        ]),
        expect: Verified,
    },
    Case {
        name: "`working-directory: scripts` running `./smoke.sh`",
        group: WorkflowHonest,
        edit: workflow(&[(SMOKE_RUN, "        working-directory: scripts\n        run: ./smoke.sh\n")]),
        expect: Verified,
    },
    Case {
        name: "job `defaults.run.working-directory: scripts` running `./smoke.sh`",
        group: WorkflowHonest,
        edit: workflow(&[
            (SMOKE_JOB_NEEDS, "  smoke:\n    needs: deploy-staging\n    defaults:\n      run:\n        working-directory: scripts\n"),
            (SMOKE_RUN, "        run: ./smoke.sh\n"),
        ]),
        expect: Verified,
    },
    Case {
        name: "`bash scripts/smoke.sh`",
        group: WorkflowHonest,
        edit: workflow(&[(SMOKE_RUN, "        run: bash scripts/smoke.sh\n")]),
        expect: Verified,
    },
    Case {
        name: "`./scripts/smoke.sh` in a multi-line run with `set -x`",
        group: WorkflowHonest,
        edit: workflow(&[(SMOKE_RUN, "        run: |\n          set -x\n          echo \"smoke against $BASE_URL\"\n          ./scripts/smoke.sh\n")]),
        expect: Verified,
    },
    Case {
        name: "`sh -c 'scripts/smoke.sh'`",
        group: WorkflowHonest,
        edit: workflow(&[(SMOKE_RUN, "        run: sh -c 'scripts/smoke.sh'\n")]),
        expect: Verified,
    },
    Case {
        name: "`shell: bash` with `scripts/smoke.sh | tee smoke.log` (pipefail)",
        group: WorkflowHonest,
        edit: workflow(&[(SMOKE_RUN, "        shell: bash\n        run: scripts/smoke.sh | tee smoke.log\n")]),
        expect: Verified,
    },
    Case {
        name: "workflow `defaults.run.shell: bash` with the tee pipe",
        group: WorkflowHonest,
        edit: workflow(&[
            ("jobs:\n", "defaults:\n  run:\n    shell: bash\n\njobs:\n"),
            (SMOKE_RUN, "        run: scripts/smoke.sh 2>&1 | tee smoke.log\n"),
        ]),
        expect: Verified,
    },
    Case {
        name: "`continue-on-error: false` (the literal) on the smoke step",
        group: WorkflowHonest,
        edit: workflow(&[(SMOKE_RUN, "        run: scripts/smoke.sh\n        continue-on-error: false\n")]),
        expect: Verified,
    },
    Case {
        name: "promote `if: always() && needs.smoke.result == 'success'`",
        group: WorkflowHonest,
        edit: workflow(&[(PROMOTE_NEEDS, "  promote:\n    needs: smoke\n    if: always() && needs.smoke.result == 'success'\n")]),
        expect: Verified,
    },
    Case {
        name: "promote `if: github.ref == 'refs/heads/main'`",
        group: WorkflowHonest,
        edit: workflow(&[(PROMOTE_NEEDS, "  promote:\n    needs: smoke\n    if: github.ref == 'refs/heads/main'\n")]),
        expect: Verified,
    },
    Case {
        name: "promote `if: ${{ success() && github.event_name == 'push' }}`",
        group: WorkflowHonest,
        edit: workflow(&[(PROMOTE_NEEDS, "  promote:\n    needs: smoke\n    if: ${{ success() && github.event_name == 'push' }}\n")]),
        expect: Verified,
    },
    Case {
        name: "smoke job `if: github.ref == 'refs/heads/main'`; promote needs it (skipped together)",
        group: WorkflowHonest,
        edit: workflow(&[(SMOKE_JOB_NEEDS, "  smoke:\n    needs: deploy-staging\n    if: github.ref == 'refs/heads/main'\n")]),
        expect: Verified,
    },
    Case {
        name: "promote needs smoke transitively (through an approval job)",
        group: WorkflowHonest,
        edit: workflow(&[(
            PROMOTE_NEEDS,
            "  approve:\n    needs: smoke\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo approved\n\n  promote:\n    needs: [approve]\n",
        )]),
        expect: Verified,
    },
    Case {
        name: "`needs: [deploy-staging, smoke]` list and `environment: {name: production}`",
        group: WorkflowHonest,
        edit: workflow(&[(
            "  promote:\n    needs: smoke\n    runs-on: ubuntu-latest\n    environment: production\n",
            "  promote:\n    needs: [deploy-staging, smoke]\n    runs-on: ubuntu-latest\n    environment:\n      name: production\n      url: https://orders.example.org\n",
        )]),
        expect: Verified,
    },
    Case {
        name: "smoke step then promote step in the same job",
        group: WorkflowHonest,
        edit: files(&[(
            WORKFLOW,
            concat!(
                wf_head!(),
                "  ship:\n    needs: deploy-staging\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - name: Smoke suite against staging\n        run: scripts/smoke.sh\n        env:\n          BASE_URL: https://staging.orders.example.org\n      - name: Promote to production\n        run: ./deploy.sh production\n"
            ),
        )]),
        expect: Verified,
    },
    Case {
        name: "YAML anchors and merge keys",
        group: WorkflowHonest,
        edit: files(&[(
            WORKFLOW,
            "name: Deploy\non:\n  push:\n    branches: [main]\n\njobs:\n  test:\n    runs-on: &runner ubuntu-latest\n    steps:\n      - &checkout\n        uses: actions/checkout@v4\n      - run: python -m pytest\n\n  deploy-staging:\n    needs: test\n    runs-on: *runner\n    environment: staging\n    steps:\n      - *checkout\n      - run: ./deploy.sh staging\n\n  smoke: &job\n    needs: deploy-staging\n    runs-on: *runner\n    steps:\n      - *checkout\n      - &smoke\n        name: Smoke suite against staging\n        run: scripts/smoke.sh\n        env: &smoke_env\n          BASE_URL: https://staging.orders.example.org\n\n  promote:\n    <<: *job\n    needs: smoke\n    environment: production\n    steps:\n      - *checkout\n      - name: Promote to production\n        run: ./deploy.sh production\n        env:\n          <<: *smoke_env\n          BASE_URL: https://orders.example.org\n",
        )]),
        expect: Verified,
    },
    Case {
        name: "workflow file renamed `deploy.yaml`",
        group: WorkflowHonest,
        edit: custom(rename_workflow_yaml),
        expect: Verified,
    },
    Case {
        name: "a staging-only deploy workflow without needs (not a promotion)",
        group: WorkflowHonest,
        edit: files(&[(
            ".github/workflows/preview.yml",
            "name: Preview\non: pull_request\njobs:\n  deploy-preview:\n    runs-on: ubuntu-latest\n    environment: staging\n    steps:\n      - uses: actions/checkout@v4\n      - run: ./deploy.sh staging\n",
        )]),
        expect: Verified,
    },
    Case {
        name: "`scripts/smoke.sh; exit 0` under the default `bash -e` (the failure stops the step first)",
        group: WorkflowHonest,
        edit: workflow(&[(SMOKE_RUN, "        run: scripts/smoke.sh; exit 0\n")]),
        expect: Verified,
    },
    Case {
        name: "`shell: sh` running `scripts/smoke.sh`",
        group: WorkflowHonest,
        edit: workflow(&[(SMOKE_RUN, "        shell: sh\n        run: scripts/smoke.sh\n")]),
        expect: Verified,
    },
    Case {
        name: "smoke step `if: success()` / `if: always()`",
        group: WorkflowHonest,
        edit: workflow(&[(SMOKE_RUN, "        if: ${{ always() }}\n        run: scripts/smoke.sh\n")]),
        expect: Verified,
    },
    Case {
        name: "`timeout 300 scripts/smoke.sh 2>&1`",
        group: WorkflowHonest,
        edit: workflow(&[(SMOKE_RUN, "        run: timeout 300 scripts/smoke.sh 2>&1\n")]),
        expect: Verified,
    },
    Case {
        name: "`if ! scripts/smoke.sh; then echo failed; exit 1; fi`",
        group: WorkflowHonest,
        edit: workflow(&[(SMOKE_RUN, "        run: |\n          if ! scripts/smoke.sh; then\n            echo \"::error::smoke failed\"\n            exit 1\n          fi\n")]),
        expect: Verified,
    },
    Case {
        name: "`chmod +x scripts/smoke.sh && scripts/smoke.sh`",
        group: WorkflowHonest,
        edit: workflow(&[(SMOKE_RUN, "        run: chmod +x scripts/smoke.sh && scripts/smoke.sh\n")]),
        expect: Verified,
    },
    Case {
        name: "`bash -euo pipefail scripts/smoke.sh`",
        group: WorkflowHonest,
        edit: workflow(&[(SMOKE_RUN, "        run: bash -euo pipefail scripts/smoke.sh\n")]),
        expect: Verified,
    },
    Case {
        name: "promote `if: ${{ !failure() && !cancelled() }}`",
        group: WorkflowHonest,
        edit: workflow(&[(PROMOTE_NEEDS, "  promote:\n    needs: smoke\n    if: ${{ !failure() && !cancelled() }}\n")]),
        expect: Verified,
    },
    Case {
        name: "promote `if: ${{ needs.smoke.result == 'success' }}` (no status function)",
        group: WorkflowHonest,
        edit: workflow(&[(PROMOTE_NEEDS, "  promote:\n    needs: smoke\n    if: ${{ needs.smoke.result == 'success' }}\n")]),
        expect: Verified,
    },
    Case {
        name: "`bash -x scripts/smoke.sh` (trace flag before the path)",
        group: WorkflowHonest,
        edit: workflow(&[(SMOKE_RUN, "        run: bash -x scripts/smoke.sh\n")]),
        expect: Verified,
    },
    Case {
        name: "`BASE_URL=... scripts/smoke.sh` (prefix assignment)",
        group: WorkflowHonest,
        edit: workflow(&[(SMOKE_RUN, "        run: BASE_URL=https://staging.orders.example.org scripts/smoke.sh\n")]),
        expect: Verified,
    },
    Case {
        name: "`env GIT_SHA=${{ github.sha }} scripts/smoke.sh`",
        group: WorkflowHonest,
        edit: workflow(&[(SMOKE_RUN, "        run: env GIT_SHA=${{ github.sha }} scripts/smoke.sh\n")]),
        expect: Verified,
    },
    // ============================== Drill ===================================================
    Case {
        name: "drill: `ci_run` points to another repository",
        group: Drill,
        edit: custom(drill_ci_run_other_repo),
        expect: incomplete("smoke.drill-ci-run", &["ci_run", "ada-example/orders-api"]),
    },
    Case {
        name: "drill: `ci_run` of a fork whose name extends the repository's",
        group: Drill,
        edit: custom(drill_ci_run_fork_prefix),
        expect: incomplete("smoke.drill-ci-run", &["ci_run"]),
    },
    Case {
        name: "drill: `ci_run` is plain http",
        group: Drill,
        edit: custom(drill_ci_run_http),
        expect: incomplete("smoke.drill-ci-run", &["ci_run"]),
    },
    Case {
        name: "drill: `ci_run` is a GitLab pipeline URL for a GitHub repository",
        group: Drill,
        edit: custom(drill_ci_run_gitlab),
        expect: incomplete("smoke.drill-ci-run", &["ci_run"]),
    },
    Case {
        name: "drill: `ci_run` with the owner in other case (GitHub compares case-insensitively)",
        group: Drill,
        edit: custom(drill_ci_run_case),
        expect: Verified,
    },
    Case {
        name: "drill: `observed` names no check",
        group: Drill,
        edit: custom(drill_observed_no_check),
        expect: incomplete("smoke.drill-observed", &["observed", "check_orders"]),
    },
    Case {
        name: "drill: `observed` names a check that exists only at HEAD",
        group: Drill,
        edit: custom(drill_observed_head_only_check),
        expect: incomplete(
            "smoke.drill-observed",
            &["observed", "names none of the script's checks", "check_version, check_orders, check_home"],
        ),
    },
    Case {
        name: "drill: `observed` is empty",
        group: Drill,
        edit: custom(drill_observed_empty),
        expect: incomplete("smoke.drill-fields", &["observed"]),
    },
    Case {
        name: "drill: break commit only changes a comment line in app code",
        group: Drill,
        edit: custom(drill_break_comment_only),
        expect: incomplete("smoke.drill-docs-only", &["break commit", "comment"]),
    },
    Case {
        name: "drill: break commit only changes documentation (README.md)",
        group: Drill,
        edit: custom(drill_break_docs_only),
        expect: incomplete("smoke.drill-docs-only", &["break commit"]),
    },
    Case {
        name: "drill: break commit not reachable from HEAD (side branch)",
        group: Drill,
        edit: custom(drill_break_on_side_branch),
        expect: incomplete("smoke.drill-commit", &["break_commit", "reachable"]),
    },
    Case {
        name: "drill: break and fix swapped",
        group: Drill,
        edit: custom(drill_swapped),
        expect: incomplete("smoke.drill-order", &["fix commit"]),
    },
    Case {
        name: "drill: fix commit changes none of the broken files",
        group: Drill,
        edit: custom(drill_fix_elsewhere),
        expect: incomplete("smoke.drill-fix", &["app/server.py"]),
    },
    Case {
        name: "drill: the gate was not wired at the break commit",
        group: Drill,
        edit: custom(drill_gate_unwired_at_break),
        expect: incomplete("smoke.not-wired", &["at the break commit"]),
    },
    Case {
        name: "drill: the script could not fail at the break commit (`|| true`)",
        group: Drill,
        edit: custom(drill_script_or_true_at_break),
        expect: incomplete("smoke.cannot-fail", &["at the break commit", "|| true"]),
    },
    Case {
        name: "drill: a new honest drill on new commits (break a code line, fix it)",
        group: Drill,
        edit: custom(drill_new_honest),
        expect: Verified,
    },
    Case {
        name: "drill: break and fix name the same commit",
        group: Drill,
        edit: custom(drill_same_commit),
        expect: incomplete("smoke.drill-order", &["fix commit"]),
    },
];

// ---- Custom edits ---------------------------------------------------------------------------

fn move_workflow_to_archive(repo: &RepoBuilder) {
    let text = repo.read(WORKFLOW);
    repo.remove(WORKFLOW);
    repo.write(".github/workflows/archive/deploy.yml", &text);
}

fn disable_workflow(repo: &RepoBuilder) {
    let text = repo.read(WORKFLOW);
    repo.remove(WORKFLOW);
    repo.write(".github/workflows/deploy.yml.disabled", &text);
}

fn rename_workflow_yaml(repo: &RepoBuilder) {
    let text = repo.read(WORKFLOW);
    repo.remove(WORKFLOW);
    repo.write(".github/workflows/deploy.yaml", &text);
}

const DEMO_CI_RUN: &str =
    "ci_run: https://github.com/ada-example/orders-api/actions/runs/11840213377";
const DEMO_OBSERVED: &str =
    "observed: smoke check_orders failed with HTTP 500; the promote job was skipped";

fn drill_ci_run_other_repo(repo: &RepoBuilder) {
    repo.replace(
        DRILL,
        DEMO_CI_RUN,
        "ci_run: https://github.com/someone-else/orders-api/actions/runs/11840213377",
    );
}

fn drill_ci_run_fork_prefix(repo: &RepoBuilder) {
    repo.replace(
        DRILL,
        DEMO_CI_RUN,
        "ci_run: https://github.com/ada-example/orders-api-fork/actions/runs/11840213377",
    );
}

fn drill_ci_run_http(repo: &RepoBuilder) {
    repo.replace(
        DRILL,
        DEMO_CI_RUN,
        "ci_run: http://github.com/ada-example/orders-api/actions/runs/11840213377",
    );
}

fn drill_ci_run_gitlab(repo: &RepoBuilder) {
    repo.replace(
        DRILL,
        DEMO_CI_RUN,
        "ci_run: https://gitlab.com/ada-example/orders-api/-/pipelines/11840213",
    );
}

fn drill_ci_run_case(repo: &RepoBuilder) {
    repo.replace(
        DRILL,
        DEMO_CI_RUN,
        "ci_run: https://github.com/Ada-Example/Orders-API/actions/runs/11840213377",
    );
}

fn drill_observed_no_check(repo: &RepoBuilder) {
    repo.replace(
        DRILL,
        DEMO_OBSERVED,
        "observed: the smoke suite failed with HTTP 500; the promote job was skipped",
    );
}

fn drill_observed_head_only_check(repo: &RepoBuilder) {
    repo.write(
        SCRIPT,
        concat!(
            strict!(),
            checks!(),
            "check_payments() {\n  curl --fail -sS \"$BASE_URL/api/payments/seed-1\"\n}\n\n",
            calls!(),
            "check_payments\n"
        ),
    );
    repo.replace(
        DRILL,
        DEMO_OBSERVED,
        "observed: smoke check_payments failed with HTTP 500; the promote job was skipped",
    );
}

fn drill_observed_empty(repo: &RepoBuilder) {
    repo.replace(DRILL, DEMO_OBSERVED, "observed: \"\"");
}

/// Rewrites the drill record to name `break_commit` and `fix_commit`.
fn point_drill(repo: &RepoBuilder, broke: &str, fixed: &str) {
    repo.write(
        DRILL,
        &format!(
            "---\nbreak_commit: {broke}\nfix_commit: {fixed}\n{DEMO_CI_RUN}\n{DEMO_OBSERVED}\n---\nWe broke the order lookup on purpose; `check_orders` failed and the promote job never ran.\n"
        ),
    );
}

fn short(oid: git2::Oid) -> String {
    oid.to_string()[..10].to_string()
}

fn drill_break_comment_only(repo: &RepoBuilder) {
    let server = repo.read(SERVER);
    let commented = server.replacen(
        "class Handler(BaseHTTPRequestHandler):\n",
        "# Smoke drill: this handler is about to break (it does not).\nclass Handler(BaseHTTPRequestHandler):\n",
        1,
    );
    assert_ne!(commented, server, "the demo's server has a Handler class");
    repo.write(SERVER, &commented);
    let broke = repo.commit("2026-11-02 10:00", "Smoke drill: break the order lookup");
    repo.write(SERVER, &server);
    let fixed = repo.commit("2026-11-02 10:30", "Smoke drill: restore the order lookup");
    point_drill(repo, &short(broke), &short(fixed));
}

fn drill_break_docs_only(repo: &RepoBuilder) {
    let readme = repo.read("README.md");
    repo.write(
        "README.md",
        &format!("{readme}\nThe order lookup is broken.\n"),
    );
    let broke = repo.commit("2026-11-02 10:00", "Smoke drill: break the order lookup");
    repo.write("README.md", &readme);
    let fixed = repo.commit("2026-11-02 10:30", "Smoke drill: restore the order lookup");
    point_drill(repo, &short(broke), &short(fixed));
}

fn drill_break_on_side_branch(repo: &RepoBuilder) {
    let branch = repo.current_branch().expect("the demo is on a branch");
    let server = repo.read(SERVER);
    repo.branch("drill-experiment");
    repo.write(
        SERVER,
        &server.replace(
            "return self.reply(404, {\"error\": \"not found\"})",
            "return self.reply(500, {\"error\": \"drill\"})",
        ),
    );
    let broke = repo.commit("2026-11-02 10:00", "Smoke drill: break everything");
    repo.switch(&branch);
    repo.write(SERVER, &format!("{server}\n# restored\nRESTORED = True\n"));
    let fixed = repo.commit("2026-11-02 10:30", "Smoke drill: restore");
    point_drill(repo, &short(broke), &short(fixed));
}

fn drill_swapped(repo: &RepoBuilder) {
    let text = repo.read(DRILL);
    let broke = field(&text, "break_commit");
    let fixed = field(&text, "fix_commit");
    point_drill(repo, &fixed, &broke);
}

fn drill_same_commit(repo: &RepoBuilder) {
    let broke = field(&repo.read(DRILL), "break_commit");
    point_drill(repo, &broke, &broke);
}

fn drill_fix_elsewhere(repo: &RepoBuilder) {
    let text = repo.read(DRILL);
    let broke = field(&text, "break_commit");
    let deploy = repo.read("deploy.sh");
    repo.write("deploy.sh", &format!("{deploy}echo \"deployed\"\n"));
    let fixed = repo.commit("2026-11-02 10:00", "Log the deploy");
    point_drill(repo, &broke, &short(fixed));
}

/// One commit breaks the order lookup *and* unwires the gate; the next restores both.
fn drill_gate_unwired_at_break(repo: &RepoBuilder) {
    let server = repo.read(SERVER);
    let wf = repo.read(WORKFLOW);
    repo.write(SERVER, &format!("{server}\nBROKEN = True\n"));
    repo.replace(WORKFLOW, SMOKE_RUN, "        run: make integration-test\n");
    let broke = repo.commit("2026-11-02 10:00", "Smoke drill: break the order lookup");
    repo.write(SERVER, &server);
    repo.write(WORKFLOW, &wf);
    let fixed = repo.commit("2026-11-02 10:30", "Smoke drill: restore the order lookup");
    point_drill(repo, &short(broke), &short(fixed));
}

/// At the break commit the orders check could not fail (`|| true`); at HEAD it is honest.
fn drill_script_or_true_at_break(repo: &RepoBuilder) {
    let server = repo.read(SERVER);
    repo.write(
        SCRIPT,
        concat!(
            strict!(),
            version_check!(),
            "check_orders() {\n  curl --fail -sS \"$BASE_URL/api/orders/seed-1\" || true\n}\n\n",
            home_check!(),
            calls!()
        ),
    );
    repo.commit("2026-11-02 09:00", "Make the orders check lenient");
    repo.write(SERVER, &format!("{server}\nBROKEN = True\n"));
    let broke = repo.commit("2026-11-02 10:00", "Smoke drill: break the order lookup");
    repo.write(SERVER, &server);
    repo.write(SCRIPT, HONEST);
    let fixed = repo.commit("2026-11-02 10:30", "Smoke drill: restore the order lookup");
    point_drill(repo, &short(broke), &short(fixed));
}

fn drill_new_honest(repo: &RepoBuilder) {
    let server = repo.read(SERVER);
    let broken = server.replace(
        "return self.reply(200 if order else 404, order or {\"error\": \"not found\"})",
        "return self.reply(500, {\"error\": \"drill 002\"})",
    );
    assert_ne!(broken, server, "the demo's order lookup line");
    repo.write(SERVER, &broken);
    let broke = repo.commit(
        "2026-11-02 10:00",
        "Smoke drill 002: break the order lookup",
    );
    repo.write(SERVER, &server);
    let fixed = repo.commit(
        "2026-11-02 10:30",
        "Smoke drill 002: restore the order lookup",
    );
    point_drill(repo, &short(broke), &short(fixed));
}

/// The value of `key:` in a front-matter block.
fn field(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no `{key}:` in\n{text}"))
}

// ---- Running the table ----------------------------------------------------------------------

/// The demo repository, built once per test process in `<target tmp>/smoke_gate/demo-<pid>`
/// (a static is never dropped, so a temporary directory would outlive the process; stale
/// templates of finished processes are removed here).
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("smoke_gate");
        std::fs::create_dir_all(&base).unwrap();
        for entry in std::fs::read_dir(&base).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let alive = name
                .strip_prefix("demo-")
                .is_some_and(|pid| Path::new("/proc").join(pid).exists());
            if !alive {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let root = base.join(format!("demo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        RepoBuilder::demo(&root);
        root
    })
}

/// A fresh copy of the demo repository, `.git` included.
fn demo_copy() -> (TempDir, RepoBuilder) {
    let tmp = temp_dir();
    let root = tmp.path().join("repo");
    common::copy_dir(template(), &root);
    (tmp, RepoBuilder::open(&root))
}

fn describe(badge: &Badge) -> String {
    let mut out = format!("    state: {:?}\n    reasons:\n", badge.state);
    for r in &badge.reasons {
        out.push_str(&format!("      - {r}\n"));
    }
    let rules: Vec<&str> = badge
        .items
        .iter()
        .flat_map(|i| i.problems.iter().map(|p| p.rule))
        .collect();
    out.push_str(&format!("    item rules: {rules:?}\n"));
    out
}

/// Applies a case to a fresh copy of the demo, commits, and judges it. `Err` describes the
/// mismatch.
fn run_case(case: &Case) -> Result<(), String> {
    let (_tmp, repo) = demo_copy();
    let edit = &case.edit;
    if let Some(text) = edit.script {
        repo.write(SCRIPT, text);
    }
    for (from, to) in edit.workflow {
        repo.replace(WORKFLOW, from, to);
    }
    for (path, text) in edit.files {
        repo.write(path, text);
    }
    for path in edit.remove {
        repo.remove(path);
    }
    if let Some(executable) = edit.executable {
        repo.set_executable(SCRIPT, executable);
    }
    if let Some(f) = edit.custom {
        f(&repo);
    }
    repo.commit("2026-11-02 12:00", case.name);

    let (evidence, _diagnostics) =
        clinic::check(repo.root(), true).map_err(|e| format!("clinic::check failed: {e}"))?;
    judge(case, &evidence)
}

fn judge(case: &Case, evidence: &Evidence) -> Result<(), String> {
    let badge = &evidence.badges.smoke;
    let mut wrong = Vec::new();
    match case.expect {
        Expect::Verified => {
            if badge.state != State::Verified {
                wrong.push("expected verified".to_string());
            }
        }
        Expect::Incomplete { rule, words } => {
            if badge.state != State::Incomplete {
                wrong.push(format!("expected incomplete ({rule}, words {words:?})"));
            } else {
                let rules: Vec<&str> = rule.split('|').collect();
                let has_rule = badge
                    .items
                    .iter()
                    .flat_map(|i| i.problems.iter())
                    .any(|p| rules.contains(&p.rule));
                if !has_rule {
                    wrong.push(format!("incomplete, but no `{rule}` problem"));
                }
                if !badge
                    .reasons
                    .iter()
                    .any(|r| words.iter().all(|w| r.contains(w)))
                {
                    wrong.push(format!("no reason contains all of {words:?}"));
                }
            }
        }
    }
    for (name, other) in [
        ("rehearsal", &evidence.badges.rehearsal),
        ("migration", &evidence.badges.migration),
        ("flag", &evidence.badges.flag),
    ] {
        if other.state != State::Verified {
            wrong.push(format!(
                "the {name} badge is {:?}: {:?}",
                other.state, other.reasons
            ));
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!("{}\n{}", wrong.join("; "), describe(badge)))
    }
}

/// Runs every row of `group` and fails once, listing every mismatch.
fn run_group(group: Group) {
    let rows: Vec<&Case> = CASES.iter().filter(|c| c.group == group).collect();
    assert!(!rows.is_empty(), "no rows for {group:?}");
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|case| {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_case(case)))
                .unwrap_or_else(|payload| {
                    let what = payload
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    Err(format!("the case panicked: {what}"))
                });
            outcome
                .err()
                .map(|why| format!("  [{group:?}] {}\n    {why}", case.name))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} {group:?} rows disagree with the contract:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

#[test]
fn script_gaming_is_incomplete() {
    run_group(ScriptGaming);
}

#[test]
fn script_honest_is_verified() {
    run_group(ScriptHonest);
}

#[test]
fn workflow_gaming_is_incomplete() {
    run_group(WorkflowGaming);
}

#[test]
fn workflow_honest_is_verified() {
    run_group(WorkflowHonest);
}

#[test]
fn drills() {
    run_group(Drill);
}

#[test]
fn the_table_is_well_formed_and_copies_carry_the_repository() {
    let mut names: Vec<&str> = CASES.iter().map(|c| c.name).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "two rows share a name");

    // A copy is a repository of its own: same HEAD, history intact, and the untouched copy
    // verifies (so every row's outcome is the edit's doing).
    let (_tmp, repo) = demo_copy();
    assert!(repo.root().join(".git").is_dir(), "the copy lacks .git");
    let template = RepoBuilder::open(template());
    assert_eq!(repo.head(), template.head());
    assert_eq!(repo.current_branch().as_deref(), Some("main"));
    let (evidence, _) = clinic::check(repo.root(), true).expect("check the copy");
    assert_eq!(
        evidence.badges.smoke.state,
        State::Verified,
        "{}",
        describe(&evidence.badges.smoke)
    );
}
