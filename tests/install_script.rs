//! The setup action's install script (`scripts/install-clinic.sh`) against a fake release served
//! on 127.0.0.1, made the way the release workflow makes it (`common::release`): a good install,
//! a wrong checksum, a missing asset, an unknown platform, each with a clear message.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::release::{archive_name, dist_targets, serve_dir, write_fake_release};
use common::Run;

const VERSION: &str = "0.1.0";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-clinic.sh")
}

/// Runs the script as a GitHub runner of `os`/`arch` would, against `releases_url`.
fn install_script(releases_url: &str, os: &str, arch: &str, args: &[&str]) -> Run {
    let mut command = Command::new("bash");
    command
        .arg(script())
        .args(args)
        .env("CLINIC_RELEASES_URL", releases_url)
        .env("RUNNER_OS", os)
        .env("RUNNER_ARCH", arch)
        .env_remove("GITHUB_OUTPUT");
    common::run(command)
}

struct Release {
    _files: tempfile::TempDir,
    root: PathBuf,
    url: String,
    dest: tempfile::TempDir,
}

fn release() -> Release {
    let files = tempfile::tempdir().unwrap();
    let root = files.path().to_path_buf();
    let url = serve_dir(&root);
    Release {
        _files: files,
        root,
        url,
        dest: tempfile::tempdir().unwrap(),
    }
}

#[test]
fn installs_the_linux_archive_and_verifies_it() {
    let r = release();
    write_fake_release(&r.root, VERSION, "x86_64-unknown-linux-musl");
    let dir = r.dest.path().join("bin");
    let run = install_script(&r.url, "Linux", "X64", &[VERSION, dir.to_str().unwrap()]);
    run.expect_code(0);
    assert!(
        run.stdout
            .contains("Installed clinic 0.1.0 (x86_64-unknown-linux-musl)"),
        "{}",
        run.stdout
    );
    let out = Command::new(dir.join("clinic"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "clinic 0.1.0");

    // A second run (the action's cache restored) keeps it without downloading; a v is accepted.
    let again = install_script(
        "http://127.0.0.1:9",
        "Linux",
        "X64",
        &["v0.1.0", dir.to_str().unwrap()],
    );
    again.expect_code(0);
    assert!(again.stdout.contains("already in"), "{}", again.stdout);
}

#[test]
fn installs_the_windows_zip() {
    let r = release();
    write_fake_release(&r.root, VERSION, "x86_64-pc-windows-msvc");
    let dir = r.dest.path().join("bin");
    install_script(&r.url, "Windows", "X64", &[VERSION, dir.to_str().unwrap()]).expect_code(0);
    assert!(dir.join("clinic.exe").is_file());
}

#[test]
fn a_wrong_checksum_installs_nothing() {
    let r = release();
    write_fake_release(&r.root, VERSION, "x86_64-unknown-linux-musl");
    let sum = r.root.join(format!(
        "v{VERSION}/clinic-x86_64-unknown-linux-musl.tar.xz.sha256"
    ));
    std::fs::write(
        &sum,
        format!(
            "{} *clinic-x86_64-unknown-linux-musl.tar.xz\n",
            "0".repeat(64)
        ),
    )
    .unwrap();
    let dir = r.dest.path().join("bin");
    let run = install_script(&r.url, "Linux", "X64", &[VERSION, dir.to_str().unwrap()]);
    run.expect_code(1)
        .expect_stderr("checksum mismatch for clinic-x86_64-unknown-linux-musl.tar.xz")
        .expect_stderr("Nothing was installed");
    assert!(!dir.exists());
}

#[test]
fn a_missing_asset_names_the_url() {
    let r = release();
    write_fake_release(&r.root, VERSION, "x86_64-unknown-linux-musl");
    let dir = r.dest.path().join("bin");
    // Released for Linux only: the macOS archive is missing.
    let run = install_script(&r.url, "macOS", "ARM64", &[VERSION, dir.to_str().unwrap()]);
    run.expect_code(1)
        .expect_stderr("no such release asset:")
        .expect_stderr("/v0.1.0/clinic-aarch64-apple-darwin.tar.xz (HTTP 404)");
    // A version that was never released.
    let run = install_script(&r.url, "Linux", "X64", &["9.9.9", dir.to_str().unwrap()]);
    run.expect_code(1).expect_stderr("Is clinic 9.9.9 released");
    // An archive without its checksum file is not installed either.
    std::fs::remove_file(r.root.join(format!(
        "v{VERSION}/clinic-x86_64-unknown-linux-musl.tar.xz.sha256"
    )))
    .unwrap();
    let run = install_script(&r.url, "Linux", "X64", &[VERSION, dir.to_str().unwrap()]);
    run.expect_code(1)
        .expect_stderr(".tar.xz.sha256 (HTTP 404)");
    assert!(!dir.exists());
}

#[test]
fn an_unknown_platform_or_version_is_a_usage_error() {
    let r = release();
    let dir = r.dest.path().join("bin");
    let run = install_script(
        &r.url,
        "Windows",
        "ARM64",
        &[VERSION, dir.to_str().unwrap()],
    );
    run.expect_code(2)
        .expect_stderr("no clinic release for this platform (Windows, aarch64)")
        .expect_stderr("cargo install --locked clinic");
    let run = install_script(&r.url, "Plan9", "X64", &[VERSION, dir.to_str().unwrap()]);
    run.expect_code(2).expect_stderr("(Plan9, x86_64)");
    for version in ["latest", "main", "../0.1.0", ""] {
        let run = install_script(&r.url, "Linux", "X64", &[version, dir.to_str().unwrap()]);
        assert_eq!(run.code, 2, "{version}: {}", run.stderr);
    }
    install_script(&r.url, "Linux", "X64", &[VERSION])
        .expect_code(2)
        .expect_stderr("usage:");
}

/// Every runner the script knows maps to a target the release workflow builds, every target is
/// reachable, and the plan names dist's archive.
#[test]
fn the_script_and_the_release_workflow_agree_on_targets() {
    let runners = [
        ("Linux", "X64"),
        ("Linux", "ARM64"),
        ("macOS", "X64"),
        ("macOS", "ARM64"),
        ("Windows", "X64"),
    ];
    let mut planned = Vec::new();
    for (os, arch) in runners {
        let run = install_script("http://127.0.0.1:9", os, arch, &["--plan", "v0.1.0"]);
        run.expect_code(0);
        let value = |key: &str| {
            run.stdout
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .unwrap_or_else(|| panic!("no {key}= in {}", run.stdout))
                .to_string()
        };
        assert_eq!(value("version"), "0.1.0");
        let target = value("target");
        assert_eq!(value("archive"), archive_name(&target));
        planned.push(target);
    }
    planned.sort();
    let mut targets = dist_targets();
    targets.sort();
    assert_eq!(
        planned, targets,
        "dist-workspace.toml targets and the script's mapping differ"
    );
}

/// action.yml is a composite action with a required `version`, runs the script from its own
/// checkout, and caches per version and target (the key the plan step computes).
#[test]
fn the_action_runs_the_script_and_caches_per_version_and_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("action.yml")).unwrap();
    let action: serde_yaml::Value = serde_yaml::from_str(&text).expect("action.yml is YAML");
    assert_eq!(action["runs"]["using"], "composite");
    assert_eq!(action["inputs"]["version"]["required"], true);
    let steps = action["runs"]["steps"].as_sequence().unwrap();
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(runs[0].contains("\"$GITHUB_ACTION_PATH/scripts/install-clinic.sh\" --plan"));
    assert!(runs.iter().any(|r| r
        .contains("install-clinic.sh\" \"$CLINIC_VERSION\" \"$CLINIC_DIR\"")
        && r.contains(">> \"$GITHUB_PATH\"")));
    let cache = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/cache@"))
        })
        .expect("a cache step");
    let key = cache["with"]["key"].as_str().unwrap();
    assert!(
        key.contains("steps.plan.outputs.version") && key.contains("steps.plan.outputs.target")
    );
    // Every step that runs bash says so (composite actions require a shell).
    for step in steps.iter().filter(|s| s.get("run").is_some()) {
        assert_eq!(step["shell"], "bash", "{step:?}");
    }
}
