//! Helpers shared by the integration tests: fixture sites copied into temporary directories,
//! the real `clinic` binary run as a child process, and a small HTML scanner for links and ids.
//!
//! Each test binary uses only some of these helpers.
#![allow(dead_code)]

pub mod badges;
pub mod browser;
pub mod fixtures;
pub mod git;
pub mod links;
pub mod release;

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// `tests/fixtures/<name>`.
pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A fixture site copied into a fresh temporary directory, as `<tmp>/site`, so that the
/// default output `<root>/public` and anything a bad build might write beside the root stay in
/// the temporary directory.
pub struct Site {
    pub tmp: TempDir,
    pub root: PathBuf,
}

impl Site {
    /// The default output directory, `<root>/public`.
    pub fn public(&self) -> PathBuf {
        self.root.join("public")
    }
}

/// Copies `tests/fixtures/<name>` to `<tmp>/site`.
pub fn copy_fixture(name: &str) -> Site {
    let tmp = tempfile::tempdir().expect("create a temporary directory");
    let root = tmp.path().join("site");
    copy_dir(&fixture_path(name), &root);
    Site { tmp, root }
}

/// An empty site root (`<tmp>/site`): only the embedded handbook and theme are built.
pub fn empty_site() -> Site {
    let tmp = tempfile::tempdir().expect("create a temporary directory");
    let root = tmp.path().join("site");
    std::fs::create_dir(&root).unwrap();
    Site { tmp, root }
}

/// Recursive copy of regular files and folders.
pub fn copy_dir(from: &Path, to: &Path) {
    assert!(from.is_dir(), "fixture {} is missing", from.display());
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(from).unwrap();
        let target = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap_or_else(|e| {
                panic!(
                    "copy {} to {}: {e}",
                    entry.path().display(),
                    target.display()
                )
            });
        }
    }
}

/// What a run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// The exit code (`-1` if killed by a signal).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts the exit code, showing both streams when it differs.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "expected exit code {code}, got {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    /// Asserts that standard error contains `needle`.
    #[track_caller]
    pub fn expect_stderr(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "standard error lacks {needle:?}:\n{}",
            self.stderr
        );
        self
    }
}

/// The `clinic` binary built by Cargo for these tests.
pub fn clinic_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_clinic"));
    // No terminal progress output and no colour, whatever the environment.
    command.env_remove("CLICOLOR_FORCE").env("NO_COLOR", "1");
    // One build time for every run (the portfolio's stamp shows it to the minute), so that
    // two builds compared byte for byte never straddle a minute. A test may set its own.
    command.env("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH);
    command
}

/// 2026-11-02 09:00:00 UTC: the build time of every `clinic` a test runs.
pub const SOURCE_DATE_EPOCH: &str = "1793610000";

/// Runs `clinic` with `args` and captures its exit code and output.
pub fn clinic<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = clinic_command();
    command.args(args);
    run(command)
}

/// Runs a prepared command (e.g. with a changed `HOME` or working directory).
pub fn run(mut command: Command) -> Run {
    let output = command.output().expect("run the clinic binary");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `clinic build --root <root> [extra...]`.
pub fn build(root: &Path, extra: &[&str]) -> Run {
    let mut args: Vec<&OsStr> = vec![OsStr::new("build"), OsStr::new("--root"), root.as_os_str()];
    args.extend(extra.iter().map(OsStr::new));
    clinic(args)
}

/// `clinic build --root <root> --out <out> [extra...]`.
pub fn build_into(root: &Path, out: &Path, extra: &[&str]) -> Run {
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("build"),
        OsStr::new("--root"),
        root.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    clinic(args)
}

/// The text of `<out>/<rel>`, with a helpful panic when it is missing.
#[track_caller]
pub fn read_output(out: &Path, rel: &str) -> String {
    let path = out.join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}\nthe output holds: {:?}",
            path.display(),
            list_files(out)
        )
    })
}

/// Every file and symlink under `dir`, as sorted `/`-separated relative paths.
pub fn list_files(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| !e.file_type().is_dir())
        .map(|e| rel_string(dir, e.path()))
        .collect();
    files.sort();
    files
}

/// Everything under `dir` (folders as `name/`, files with their bytes), to show afterwards
/// that nothing was deleted, added or changed.
pub fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut items: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| e.unwrap())
        .map(|e| {
            let rel = rel_string(dir, e.path());
            if e.file_type().is_dir() {
                (format!("{rel}/"), Vec::new())
            } else if e.file_type().is_symlink() {
                let target = std::fs::read_link(e.path()).unwrap();
                (
                    format!("{rel} ->"),
                    target.to_string_lossy().into_owned().into_bytes(),
                )
            } else {
                (rel, std::fs::read(e.path()).unwrap())
            }
        })
        .collect();
    items.sort();
    items
}

/// The names in a site root, sorted, without the history cache `.clinic/` (which a build may
/// write there by design): what remains shows whether a build left temporaries beside its output.
pub fn root_entries(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != ".clinic")
        .collect();
    names.sort();
    names
}

fn rel_string(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/")
}

/// The text between the first `start` and the next `end` after it (both included).
#[track_caller]
pub fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("no {start:?} in:\n{html}"));
    let len = html[from..]
        .find(end)
        .unwrap_or_else(|| panic!("no {end:?} after {start:?} in:\n{html}"));
    &html[from..from + len + end.len()]
}

/// One attribute of one tag in an HTML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Lowercase tag name, e.g. `a`, `link`, `img`.
    pub tag: String,
    /// Lowercase attribute name.
    pub name: String,
    /// The value with character references decoded.
    pub value: String,
    /// Every attribute of the same tag, for context (`rel` of a `link`).
    pub siblings: Vec<(String, String)>,
}

/// Every attribute of every start tag, in document order. Comments, `<!DOCTYPE>` and the text
/// of `<script>`/`<style>` are skipped. Enough for the generator's own, well-formed output.
pub fn attributes(html: &str) -> Vec<Attribute> {
    let bytes = html.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(offset) = html[i..].find('<') {
        i += offset;
        if html[i..].starts_with("<!--") {
            i = html[i..].find("-->").map_or(bytes.len(), |end| i + end + 3);
            continue;
        }
        let name_start = i + 1;
        let mut j = name_start;
        while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'-') {
            j += 1;
        }
        if j == name_start || !bytes[name_start].is_ascii_alphabetic() {
            i += 1; // `</x>`, `<!DOCTYPE`, or a stray `<` in text
            continue;
        }
        let tag = html[name_start..j].to_ascii_lowercase();
        let (attrs, end) = parse_attributes(html, j);
        for (name, value) in &attrs {
            found.push(Attribute {
                tag: tag.clone(),
                name: name.clone(),
                value: value.clone(),
                siblings: attrs.clone(),
            });
        }
        i = end;
        if tag == "script" || tag == "style" {
            let close = format!("</{tag}");
            i = html[i..].find(&close).map_or(bytes.len(), |k| i + k);
        }
    }
    found
}

/// Parses attributes from `start` to the closing `>`; returns them and the index after `>`.
fn parse_attributes(html: &str, start: usize) -> (Vec<(String, String)>, usize) {
    let bytes = html.as_bytes();
    let mut attrs = Vec::new();
    let mut i = start;
    loop {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        if i >= bytes.len() {
            return (attrs, i);
        }
        if bytes[i] == b'>' {
            return (attrs, i + 1);
        }
        let name_start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && !b"=>/".contains(&bytes[i]) {
            i += 1;
        }
        let name = html[name_start..i].to_ascii_lowercase();
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                let quote = bytes[i] as char;
                let value_start = i + 1;
                let len = html[value_start..]
                    .find(quote)
                    .unwrap_or(html.len() - value_start);
                value = decode_entities(&html[value_start..value_start + len]);
                i = (value_start + len + 1).min(bytes.len());
            } else {
                let value_start = i;
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' {
                    i += 1;
                }
                value = decode_entities(&html[value_start..i]);
            }
        }
        if !name.is_empty() {
            attrs.push((name, value));
        }
    }
}

/// Decodes the character references that appear in attribute values.
pub fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(semi) = rest.find(';').filter(|&s| s <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The `href` and `src` values of a document, with the tag each is on.
pub fn links(html: &str) -> Vec<(String, String)> {
    attributes(html)
        .into_iter()
        .filter(|a| a.name == "href" || a.name == "src")
        .map(|a| (a.tag, a.value))
        .collect()
}

/// Every `id` in a document.
pub fn ids(html: &str) -> BTreeSet<String> {
    attributes(html)
        .into_iter()
        .filter(|a| a.name == "id")
        .map(|a| a.value)
        .collect()
}

/// Every `<loc>` of a sitemap.
pub fn sitemap_locs(xml: &str) -> Vec<String> {
    xml.split("<loc>")
        .skip(1)
        .filter_map(|rest| rest.split("</loc>").next())
        .map(decode_entities)
        .collect()
}

/// Decodes `%XX` escapes in a URL path.
pub fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Uncommitted edits to what the smoke and migration rules read: `scripts/smoke.sh`, the deploy
/// workflow and the expand SQL. The badges judge HEAD, so the pages must show HEAD's text.
pub const WORKTREE_EDITS: [(&str, &str, &str); 3] = [
    (
        "scripts/smoke.sh",
        "check_orders\n",
        "check_orders\n# WORKTREE_ONLY_SMOKE\n",
    ),
    (
        ".github/workflows/deploy.yml",
        "        run: scripts/smoke.sh\n",
        "        run: scripts/smoke.sh # WORKTREE_ONLY_WORKFLOW\n",
    ),
    (
        "db/migrations/0007_add_display_name.up.sql",
        "ADD COLUMN display_name text",
        "RENAME COLUMN fullname TO WORKTREE_ONLY_SQL",
    ),
];
