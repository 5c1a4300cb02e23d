//! Reading artifacts: `library/raw/<kind>/*.md`, Markdown with YAML front matter. Unknown keys
//! are warnings; a file that cannot be read is a problem of its own artifact only.

use std::path::Path;

use serde::de::DeserializeOwned;

use super::{Item, Problem};
use crate::load::frontmatter;
use crate::load::yaml;

/// A parsed artifact and what is needed to point at its lines.
#[derive(Debug, Clone)]
pub struct Artifact<T> {
    /// Repository-relative path, `/`-separated.
    pub path: String,
    pub data: T,
    pub body: String,
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
pub fn list(root: &Path, dir: &str, warnings: &mut Vec<String>) -> Vec<String> {
    if root.join(dir).symlink_metadata().is_ok() && confined(root, dir).is_none() {
        warnings.push(format!(
            "{dir}: a symbolic link on the way, skipped; commit the folder itself"
        ));
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
        return Vec::new();
    };
    let mut paths = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            warnings.push(format!(
                "{dir}/{}: file name is not UTF-8, skipped",
                name.to_string_lossy()
            ));
            continue;
        };
        if !name.ends_with(".md") || name.starts_with('.') {
            continue;
        }
        match entry.file_type() {
            Ok(t) if t.is_symlink() => warnings.push(format!(
                "{dir}/{name}: symbolic link skipped; commit the file itself"
            )),
            Ok(t) if t.is_file() => paths.push(format!("{dir}/{name}")),
            _ => {}
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
    warnings: &mut Vec<String>,
) -> Result<Artifact<T>, Problem> {
    let bytes = std::fs::read(root.join(path)).map_err(|e| {
        Problem::new(
            "artifact.unreadable",
            format!("cannot read the file: {e}"),
            "check the file's permissions",
        )
        .at(path, None)
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        Problem::new(
            "artifact.encoding",
            "the file is not valid UTF-8",
            "save it as UTF-8",
        )
        .at(path, Some(line))
    })?;
    let text = frontmatter::normalise(text);
    let front_matter_problem = |d: crate::diagnostics::Diagnostic| {
        Problem::new(
            "artifact.front-matter",
            d.message,
            d.hint.unwrap_or_default(),
        )
        .at(path, d.line)
    };
    let split = frontmatter::split(&text).map_err(front_matter_problem)?;
    if split.yaml.trim().is_empty() {
        return Err(Problem::new(
            "artifact.front-matter",
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
    for d in frontmatter::unknown_key_warnings(split.yaml, split.yaml_first_line, &unknown, known) {
        let line = d.line.map(|l| format!(":{l}")).unwrap_or_default();
        let hint = d.hint.map(|h| format!(" ({h})")).unwrap_or_default();
        warnings.push(format!("{path}{line}: {}{hint}", d.message));
    }
    Ok(Artifact {
        path: path.to_string(),
        data,
        body: split.body.to_string(),
        yaml: split.yaml.to_string(),
        yaml_first_line: split.yaml_first_line,
    })
}

/// Loads every artifact in `dir` and checks each one; an artifact that cannot be read becomes
/// an incomplete item of its own, and the others are still checked.
pub fn check_all<T: DeserializeOwned>(
    root: &Path,
    dir: &str,
    known: &[&str],
    warnings: &mut Vec<String>,
    mut check: impl FnMut(&Artifact<T>) -> Item,
) -> Vec<Item> {
    list(root, dir, warnings)
        .into_iter()
        .map(|path| match load::<T>(root, &path, known, warnings) {
            Ok(artifact) => check(&artifact),
            Err(problem) => Item::new(&path, path.clone(), vec![problem], serde_json::json!({})),
        })
        .collect()
}

/// A required text field: its trimmed value, or a problem pointing at the key.
pub fn required<'a, T>(
    artifact: &Artifact<T>,
    value: &'a Option<String>,
    key: &str,
    rule: &'static str,
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
    let bytes = std::fs::read(path).ok()?;
    (bytes.len() <= 256 * 1024).then(|| String::from_utf8_lossy(&bytes).into_owned())
}

/// `root/rel` when `rel` stays inside `root` with no symbolic link on the way (an existing
/// path; `None` otherwise). Every read of a student-named path goes through it.
pub fn confined(root: &Path, rel: &str) -> Option<std::path::PathBuf> {
    let relative = Path::new(rel);
    if !relative
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)))
    {
        return None;
    }
    let mut current = root.to_path_buf();
    for component in relative.components() {
        current.push(component);
        if current.symlink_metadata().ok()?.file_type().is_symlink() {
            return None;
        }
    }
    Some(current)
}
