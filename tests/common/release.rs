//! A fake clinic release made the way the release workflow makes it (dist, configured in
//! `dist-workspace.toml`), served over HTTP on 127.0.0.1, for the install script's tests.
//!
//! The naming rule is read from `dist-workspace.toml` itself: its `targets`, and dist's
//! archive formats (`unix-archive`, default `.tar.xz`; `windows-archive`, default `.zip`).
//! Tarballs hold `clinic-<target>/clinic` and a README, zips hold `clinic.exe` at their top,
//! and each archive has `<archive>.sha256` beside it holding `<hex> *<archive>`, as dist writes.

use std::path::{Path, PathBuf};
use std::process::Command;

fn dist_config() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("dist-workspace.toml"))
        .expect("read dist-workspace.toml")
}

/// The value of a one-line `key = ...` in the `[dist]` table.
fn dist_value(key: &str) -> Option<String> {
    dist_config().lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        (k.trim() == key).then(|| v.trim().to_string())
    })
}

/// The targets the release workflow builds.
pub fn dist_targets() -> Vec<String> {
    let list = dist_value("targets").expect("dist-workspace.toml sets targets");
    list.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// `clinic-<target>.tar.xz`, or `.zip` for Windows, as dist names it.
pub fn archive_name(target: &str) -> String {
    let unquote = |v: String| v.trim_matches('"').to_string();
    let extension = if target.contains("-windows-") {
        dist_value("windows-archive").map_or(".zip".to_string(), unquote)
    } else {
        dist_value("unix-archive").map_or(".tar.xz".to_string(), unquote)
    };
    format!("clinic-{target}{extension}")
}

/// Writes `<releases>/v<version>/<archive>` and its `.sha256` for `target`, holding a fake
/// `clinic` (a shell script answering `--version` like the real one). Returns the archive path.
pub fn write_fake_release(releases: &Path, version: &str, target: &str) -> PathBuf {
    let dir = releases.join(format!("v{version}"));
    std::fs::create_dir_all(&dir).unwrap();
    let staging = tempfile::tempdir().unwrap();
    let windows = target.contains("-windows-");
    let exe = if windows { "clinic.exe" } else { "clinic" };
    // dist's tarballs have a top folder named like the archive; its zips are flat.
    let top = if windows {
        staging.path().to_path_buf()
    } else {
        staging.path().join(format!("clinic-{target}"))
    };
    std::fs::create_dir_all(&top).unwrap();
    let binary = top.join(exe);
    std::fs::write(&binary, format!("#!/bin/sh\necho \"clinic {version}\"\n")).unwrap();
    set_executable(&binary);
    std::fs::write(top.join("README.md"), "# clinic\n").unwrap();

    let name = archive_name(target);
    let archive = dir.join(&name);
    let status = if name.ends_with(".zip") {
        Command::new("zip")
            .arg("-q")
            .arg(&archive)
            .args([exe, "README.md"])
            .current_dir(staging.path())
            .status()
    } else {
        assert!(
            name.ends_with(".tar.xz"),
            "unexpected archive format {name}"
        );
        Command::new("tar")
            .arg("-cJf")
            .arg(&archive)
            .arg(format!("clinic-{target}"))
            .current_dir(staging.path())
            .status()
    };
    assert!(status.expect("run tar/zip").success(), "packing {name}");
    let sum = Command::new("sha256sum").arg(&archive).output().unwrap();
    let hex = String::from_utf8(sum.stdout).unwrap();
    let hex = hex.split_whitespace().next().unwrap();
    std::fs::write(
        dir.join(format!("{name}.sha256")),
        format!("{hex} *{name}\n"),
    )
    .unwrap();
    archive
}

#[cfg(unix)]
fn set_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[cfg(not(unix))]
fn set_executable(_: &Path) {}

/// Serves the files under `root` on 127.0.0.1 (404 for anything else) from a thread that lives
/// as long as the test process. Returns the base URL, without a trailing slash.
pub fn serve_dir(root: &Path) -> String {
    let server = tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1");
    let port = server.server_addr().to_ip().unwrap().port();
    let root = root.to_path_buf();
    std::thread::spawn(move || {
        for request in server.incoming_requests() {
            let rel = request.url().trim_start_matches('/').to_string();
            let path = root.join(&rel);
            let response = if !rel.contains("..") && path.is_file() {
                tiny_http::Response::from_data(std::fs::read(&path).unwrap())
            } else {
                tiny_http::Response::from_string("not found").with_status_code(404)
            };
            let _ = request.respond(response);
        }
    });
    format!("http://127.0.0.1:{port}")
}
