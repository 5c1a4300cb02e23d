//! Reading the student's records: `library/raw/<kind>/*.md`, Markdown with YAML front matter,
//! all loaded once before the history walk (which takes the flag keys from them). Unknown keys
//! are warnings; a file that cannot be read is a problem of its own record only.

use crate::evidence::catalogue::common;
use std::collections::BTreeMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::{Kind, Problem};
use crate::diagnostics::Diagnostic;
use crate::load::frontmatter;
use crate::load::yaml;

/// The smoke suite every smoke drill is judged with.
pub const SMOKE_SCRIPT: &str = "scripts/smoke.sh";

/// A rollback rehearsal record.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Rehearsal {
    pub title: Option<String>,
    pub environment: Option<String>,
    pub bad_release: Option<String>,
    pub restored_release: Option<String>,
    pub trigger: Option<String>,
    pub restore_command: Option<String>,
    pub timeline: Vec<Mark>,
}

/// One entry of a rehearsal's timeline.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Mark {
    pub at: Option<String>,
    pub mark: Option<String>,
    pub note: Option<String>,
}

/// An expand-contract migration record.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Migration {
    pub change: Option<String>,
    pub expand: Half,
    pub contract: Half,
}

/// One half of a migration: its `up` and `down` SQL files.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Half {
    pub up: Option<String>,
    pub down: Option<String>,
}

/// A smoke drill record.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Drill {
    pub title: Option<String>,
    pub break_commit: Option<String>,
    pub fix_commit: Option<String>,
    pub ci_run: Option<String>,
    pub observed: Option<String>,
}

/// A feature-flag record.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Flag {
    pub flag: Option<String>,
    pub kind: Option<String>,
    pub title: Option<String>,
}

/// A record, or why it could not be read (the problem names the file).
pub type Record<T> = Result<Artifact<T>, Unread>;

/// A record that could not be read.
#[derive(Debug, Clone)]
pub struct Unread {
    pub path: String,
    pub problem: Box<Problem>,
}

/// Everything the student wrote that the rules judge, read from the working tree once.
#[derive(Debug, Default)]
pub struct Records {
    pub rehearsals: Vec<Record<Rehearsal>>,
    pub migrations: Vec<Record<Migration>>,
    pub drills: Vec<Record<Drill>>,
    pub flags: Vec<Record<Flag>>,
    /// Whether the smoke script exists in the working tree: a script without a drill makes an
    /// incomplete badge, not a missing one.
    pub smoke_script_on_disk: bool,
    /// Working-tree text of the SQL files migration records name, for files not committed yet.
    pub named_files: BTreeMap<String, String>,
    /// Named paths that were not read, and why ("is outside the repository", ...).
    pub refused_paths: BTreeMap<String, &'static str>,
}

impl Records {
    /// The flag keys the records name, for the history walk to look for.
    pub fn flag_keys(&self) -> Vec<String> {
        self.flags
            .iter()
            .flatten()
            .filter_map(|a| a.data.flag.as_deref().map(str::trim))
            .filter(|k| super::flag::is_scannable_key(k))
            .map(str::to_string)
            .collect()
    }
}

/// Reads every record under `root`, with warnings about unknown keys and skipped files.
pub fn load_all(root: &Path) -> (Records, Vec<Diagnostic>) {
    let mut warnings = Vec::new();
    if let Some(kind) = confined(root, SMOKE_SCRIPT)
        .and_then(|p| p.metadata().ok())
        .and_then(|m| frontmatter::non_regular_kind(&m))
    {
        warnings.push(
            Diagnostic::warning(format!("is {kind}, not a regular file; not read"))
                .in_file(SMOKE_SCRIPT)
                .with_hint("commit the smoke script as a regular, executable file"),
        );
    }
    let mut records = Records {
        rehearsals: load_kind(root, Kind::Rehearsal, &mut warnings),
        migrations: load_kind(root, Kind::Migration, &mut warnings),
        drills: load_kind(root, Kind::Smoke, &mut warnings),
        flags: load_kind(root, Kind::Flag, &mut warnings),
        smoke_script_on_disk: confined(root, SMOKE_SCRIPT).is_some_and(|p| p.is_file()),
        named_files: BTreeMap::new(),
        refused_paths: BTreeMap::new(),
    };
    let named: Vec<String> = records
        .migrations
        .iter()
        .flatten()
        .flat_map(|a| {
            let m = &a.data;
            [
                &m.expand.up,
                &m.expand.down,
                &m.contract.up,
                &m.contract.down,
            ]
        })
        .filter_map(|p| p.as_deref().map(str::trim))
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    for path in named {
        if !is_plain_relative(&path) {
            records
                .refused_paths
                .insert(path, "is not a path inside the repository");
        } else if root.join(&path).symlink_metadata().is_ok() && confined(root, &path).is_none() {
            records
                .refused_paths
                .insert(path, "goes through a symbolic link");
        } else if let Some(text) = read_repo_file(root, &path) {
            records.named_files.insert(path, text);
        }
    }
    (records, warnings)
}

fn load_kind<T: DeserializeOwned>(
    root: &Path,
    kind: Kind,
    warnings: &mut Vec<Diagnostic>,
) -> Vec<Record<T>> {
    list(root, kind.folder(), warnings)
        .into_iter()
        .map(|path| {
            load::<T>(root, &path, kind.known_keys(), warnings).map_err(|problem| Unread {
                path,
                problem: Box::new(problem),
            })
        })
        .collect()
}

/// A parsed artifact and what is needed to point at its lines.
#[derive(Debug, Clone)]
pub struct Artifact<T> {
    /// Repository-relative path, `/`-separated.
    pub path: String,
    pub data: T,
    pub body: String,
    /// The file line the body starts on.
    pub body_first_line: usize,
    /// The size of the whole file.
    pub file_bytes: usize,
    yaml: String,
    yaml_first_line: usize,
}

impl<T> Artifact<T> {
    /// The file line of a top-level front-matter key.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        yaml::top_level_key_line(&self.yaml, key).map(|l| l + self.yaml_first_line - 1)
    }

    /// The file line of the first front-matter line containing `needle`.
    pub fn line_containing(&self, needle: &str) -> Option<usize> {
        self.yaml
            .lines()
            .position(|l| l.contains(needle))
            .map(|i| i + self.yaml_first_line)
    }

    /// Whether the body has at least one paragraph of prose.
    pub fn has_paragraph(&self) -> bool {
        self.body.split("\n\n").any(|block| {
            let block = block.trim();
            !block.is_empty()
                && !block.starts_with('#')
                && !block.starts_with("```")
                && block.split_whitespace().count() >= 5
        })
    }
}

/// The `.md` files directly in `<root>/<dir>`, sorted, skipping symbolic links (a link could
/// pull in a file from outside the repository).
pub fn list(root: &Path, dir: &str, warnings: &mut Vec<Diagnostic>) -> Vec<String> {
    if root.join(dir).symlink_metadata().is_ok() && confined(root, dir).is_none() {
        warnings.push(
            Diagnostic::warning("a symbolic link on the way, skipped")
                .in_file(dir)
                .with_hint("commit the folder itself"),
        );
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
        return Vec::new();
    };
    let mut paths = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            warnings.push(
                Diagnostic::warning("file name is not UTF-8, skipped")
                    .in_file(format!("{dir}/{}", name.to_string_lossy()))
                    .with_hint("rename the file"),
            );
            continue;
        };
        if !name.ends_with(".md") || name.starts_with('.') {
            continue;
        }
        match entry.file_type() {
            Ok(t) if t.is_symlink() => warnings.push(
                Diagnostic::warning("symbolic link skipped")
                    .in_file(format!("{dir}/{name}"))
                    .with_hint("commit the file itself"),
            ),
            Ok(t) if t.is_file() => paths.push(format!("{dir}/{name}")),
            Ok(t) if t.is_dir() => {}
            _ => {
                let kind = entry
                    .metadata()
                    .ok()
                    .and_then(|m| frontmatter::non_regular_kind(&m))
                    .unwrap_or("a special file");
                warnings.push(
                    Diagnostic::warning(format!("is {kind}, not a regular file; skipped"))
                        .in_file(format!("{dir}/{name}"))
                        .with_hint("commit the record as a regular file"),
                );
            }
        }
    }
    paths.sort();
    paths
}

/// Reads one artifact. `known` lists the keys the contract defines; others are warnings.
pub fn load<T: DeserializeOwned>(
    root: &Path,
    path: &str,
    known: &[&str],
    warnings: &mut Vec<Diagnostic>,
) -> Result<Artifact<T>, Problem> {
    // Only a regular file is read: a named pipe would block the build forever.
    let bytes = frontmatter::read_regular_file(&root.join(path), u64::MAX).map_err(|e| {
        Problem::new(
            common::UNREADABLE,
            format!("cannot read the file: {e}"),
            "commit the record as a regular file and check its permissions",
        )
        .at(path, None)
    })?;
    parse(path, &bytes, known, warnings)
}

/// Parses one artifact from the bytes of its file (`path` names it in problems): what [`load`]
/// does once the file is read.
pub fn parse<T: DeserializeOwned>(
    path: &str,
    bytes: &[u8],
    known: &[&str],
    warnings: &mut Vec<Diagnostic>,
) -> Result<Artifact<T>, Problem> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = crate::diagnostics::utf8_error_line(bytes, &e);
        Problem::new(
            common::ENCODING,
            "the file is not valid UTF-8",
            "save it as UTF-8",
        )
        .at(path, Some(line))
    })?;
    let text = frontmatter::normalise(text);
    let front_matter_problem = |d: crate::diagnostics::Diagnostic| {
        Problem::new(common::FRONT_MATTER, d.message, d.hint.unwrap_or_default()).at(path, d.line)
    };
    let split = frontmatter::split(&text).map_err(front_matter_problem)?;
    if split.yaml.trim().is_empty() {
        return Err(Problem::new(
            common::FRONT_MATTER,
            "the file has no front matter",
            "start it with the YAML block between `---` lines shown in the artifact reference",
        )
        .at(path, Some(1)));
    }
    let data: T = frontmatter::parse(&split).map_err(front_matter_problem)?;
    let extra: std::collections::BTreeMap<String, serde_json::Value> =
        yaml::from_str(split.yaml).unwrap_or_default();
    let unknown: std::collections::BTreeMap<String, serde_json::Value> = extra
        .into_iter()
        .filter(|(k, _)| !known.contains(&k.as_str()))
        .collect();
    warnings.extend(
        frontmatter::unknown_key_warnings(split.yaml, split.yaml_first_line, &unknown, known)
            .into_iter()
            .map(|d| d.in_file(path)),
    );
    Ok(Artifact {
        path: path.to_string(),
        data,
        body: split.body.to_string(),
        body_first_line: split.body_first_line,
        file_bytes: bytes.len(),
        yaml: split.yaml.to_string(),
        yaml_first_line: split.yaml_first_line,
    })
}

/// A required text field: its trimmed value, or a problem pointing at the key.
pub fn required<'a, T>(
    artifact: &Artifact<T>,
    value: &'a Option<String>,
    key: &str,
    rule: super::Rule,
    fix: &str,
) -> Result<&'a str, Problem> {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(
            Problem::new(rule, format!("`{key}` is missing or empty"), fix)
                .at(&artifact.path, artifact.line_of(key).or(Some(1))),
        ),
    }
}

/// Reads `rel` inside `root` as text, refusing paths that climb out, symbolic links anywhere
/// along the path, and files over 256 KiB: a student-written path must never pull a file from
/// outside the repository into evidence.json or a page.
pub fn read_repo_file(root: &Path, rel: &str) -> Option<String> {
    let path = confined(root, rel)?;
    // Regular files only (a named pipe would block), and at most 256 KiB read.
    let bytes = frontmatter::read_regular_file(&path, 256 * 1024).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// `root/rel` when `rel` stays inside `root` with no symbolic link on the way (an existing
/// path; `None` otherwise). Every read of a student-named path goes through it.
pub fn confined(root: &Path, rel: &str) -> Option<std::path::PathBuf> {
    if !is_plain_relative(rel) {
        return None;
    }
    let mut current = root.to_path_buf();
    for component in Path::new(rel).components() {
        current.push(component);
        if current.symlink_metadata().ok()?.file_type().is_symlink() {
            return None;
        }
    }
    Some(current)
}

/// `rel` is relative and names a place inside the folder it is joined to: no `..`, no root, no
/// backslash (a Windows separator a student may mean as one).
pub fn is_plain_relative(rel: &str) -> bool {
    !rel.is_empty()
        && !rel.contains('\\')
        && Path::new(rel)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_relative_paths() {
        for ok in ["db/migrations/1.sql", "a.sql"] {
            assert!(is_plain_relative(ok), "{ok}");
        }
        for bad in [
            "",
            "../outside.sql",
            "/etc/passwd",
            "db/../../x.sql",
            "a\\b.sql",
        ] {
            assert!(!is_plain_relative(bad), "{bad}");
        }
    }

    #[test]
    fn repo_files_cannot_escape() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("a.sql"), "SELECT 1;").unwrap();
        assert!(read_repo_file(root.path(), "a.sql").is_some());
        assert!(read_repo_file(root.path(), "../etc/passwd").is_none());
        assert!(read_repo_file(root.path(), "/etc/passwd").is_none());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc/passwd", root.path().join("p.sql")).unwrap();
            assert!(read_repo_file(root.path(), "p.sql").is_none());
        }
    }
}
