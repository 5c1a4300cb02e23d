//! The roster of a cohort: a YAML file with a `title:` and a `students:` list, each student a
//! `name:` and either a `repo:` (a local clone, relative to the roster or absolute) or an
//! `evidence:` (an `evidence.json` path or http(s) URL), and optionally a `slug:`.
//!
//! ```yaml
//! title: Release clinic, autumn 2026
//! students:
//!   - name: Ada Lovelace
//!     repo: students/ada
//!   - name: Grace Hopper
//!     evidence: https://grace.github.io/orders-api/evidence.json
//! ```
//!
//! A roster may also set the course's grading `policy:`: `sprint_length_days`
//! (7..=21; another value is a roster error at its line and the default 14 applies) and
//! `release_tag_pattern`. A key it sets replaces every `repo:` student's own `clinic.yaml` value
//! when the cohort re-checks their badges; an unknown key under `policy:` is a warning.
//!
//! Every YAML call goes through [`crate::load::yaml`] (size cap, alias budget). A YAML syntax error
//! stops the cohort (there is no list to build); a bad student entry is an error naming the
//! roster file and line, and only that student's row shows it. Slugs come from names, reduced to
//! `[a-z0-9-]`, and collisions are resolved in roster order (`ada`, `ada-2`, ...), so a slug is
//! always one safe path segment and the same roster always gives the same slugs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::diagnostics::Diagnostic;
use crate::load::yaml;

/// The longest slug, derived or written.
pub(crate) const MAX_SLUG: usize = 60;
/// The most students a roster may list.
pub(crate) const MAX_STUDENTS: usize = 5000;

const STUDENT_KEYS: &[&str] = &["name", "repo", "evidence", "slug"];
const TOP_KEYS: &[&str] = &["title", "students", "policy"];
/// The keys of a roster's `policy:`.
pub(crate) const POLICY_KEYS: &[&str] = &["sprint_length_days", "release_tag_pattern"];
pub(crate) use crate::load::config::{DEFAULT_SPRINT_DAYS, SPRINT_DAYS};
/// The release tag pattern that applies when a policy's cannot be used.
pub(crate) const DEFAULT_RELEASE_TAG_PATTERN: &str = "v*";
/// The longest release tag pattern a policy may set.
const MAX_PATTERN: usize = 200;

/// The parsed roster.
#[derive(Debug, Clone)]
pub(crate) struct Roster {
    /// The roster file as given on the command line, for messages.
    pub file: PathBuf,
    /// The folder relative paths are resolved against.
    pub dir: PathBuf,
    pub title: String,
    pub students: Vec<Student>,
    /// The course policy, when the roster has a `policy:` mapping.
    pub policy: Option<Policy>,
    /// Errors and warnings about entries; the cohort is still built.
    pub diagnostics: Vec<Diagnostic>,
    /// The roster's text, which a `--shard` part carries to `clinic cohort merge`.
    pub text: String,
}

/// A course's grading settings. When a roster has a `policy:`, it replaces every re-checked
/// student's own values: a key it sets with that value, a key it leaves out with the default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Policy {
    pub sprint_length_days: Option<u32>,
    pub release_tag_pattern: Option<String>,
}

impl Policy {
    /// The student's configuration with the course's values in place of their own: a setting
    /// the roster leaves out is the clinic's default, never the student's own value.
    pub(crate) fn apply(&self, config: &mut crate::load::config::Config) {
        let default = crate::load::config::Config::default();
        config.sprint_length_days = self
            .sprint_length_days
            .unwrap_or(default.sprint_length_days);
        config.release_tag_pattern = self
            .release_tag_pattern
            .clone()
            .unwrap_or(default.release_tag_pattern);
    }
}

/// One student of the roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Student {
    pub name: String,
    /// One path segment of `[a-z0-9-]`, unique in the cohort.
    pub slug: String,
    /// The roster line where the entry starts.
    pub line: usize,
    pub source: Source,
}

/// Where a student's evidence comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// A local clone: `written` as in the roster, `path` resolved against the roster's folder.
    Repo { written: String, path: PathBuf },
    /// A git URL, fetched into a mirror (see [`super::mirror`]).
    Remote { url: String },
    /// An `evidence.json` that the student's own CI published.
    Evidence(Location),
    /// The entry is wrong; the reason is also a roster diagnostic.
    Invalid(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    Url(String),
    File { written: String, path: PathBuf },
}

impl Source {
    /// The source as the roster wrote it, for exports.
    pub(crate) fn describe(&self) -> (&'static str, String) {
        match self {
            Source::Repo { written, .. } => ("repo", written.clone()),
            Source::Remote { url } => ("repo", super::mirror::redacted(url)),
            Source::Evidence(Location::Url(url)) => ("evidence", url.clone()),
            Source::Evidence(Location::File { written, .. }) => ("evidence", written.clone()),
            Source::Invalid(_) => ("invalid", String::new()),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawRoster {
    title: Option<String>,
    students: Option<Vec<Value>>,
    policy: Option<Value>,
    #[serde(flatten)]
    extra: BTreeMap<String, Value>,
}

/// Reads and parses the roster. `Err` only when there is no list at all: the file cannot be
/// read, is not YAML, or has no `students:`.
pub(crate) fn load(file: &Path) -> Result<Roster, Diagnostic> {
    // A regular file only (a named pipe would block), bounded like any YAML the project reads.
    let limit = 16 * crate::load::yaml::MAX_YAML_BYTES as u64;
    let bytes = crate::load::frontmatter::read_regular_file(file, limit).map_err(|e| {
        Diagnostic::error(format!("cannot read the roster: {e}"))
            .in_file(file)
            .with_hint("pass the roster YAML file: clinic cohort ROSTER.yaml")
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        let line = crate::diagnostics::utf8_error_line(&bytes, &e);
        Diagnostic::error("the roster is not valid UTF-8")
            .in_file(file)
            .at_line(line)
            .with_hint("save it as UTF-8")
    })?;
    let dir = file
        .parent()
        .map(Path::to_path_buf)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    parse(&crate::load::frontmatter::normalise(text), file, &dir)
}

/// Parses roster text; `file` names it in messages and `dir` resolves relative paths.
pub(crate) fn parse(text: &str, file: &Path, dir: &Path) -> Result<Roster, Diagnostic> {
    let raw: RawRoster = yaml::from_str(text).map_err(|e| {
        Diagnostic::error(format!("the roster is not valid YAML: {}", e.message))
            .in_file(file)
            .at_line_opt(e.line)
            .with_hint("a roster is `title:` and a `students:` list of `- name: ...` entries, each with `repo:` or `evidence:`")
    })?;
    let mut diagnostics = Vec::new();
    for key in raw.extra.keys() {
        diagnostics.push(
            Diagnostic::warning(format!("unknown key `{key}` in the roster, ignored"))
                .in_file(file)
                .at_line_opt(yaml::top_level_key_line(text, key))
                .with_hint(format!("the roster's keys are {}", TOP_KEYS.join(", "))),
        );
    }
    let policy = raw
        .policy
        .as_ref()
        .and_then(|value| parse_policy(value, text, file, &mut diagnostics));
    let Some(entries) = raw.students else {
        return Err(Diagnostic::error("the roster has no `students:` list")
            .in_file(file)
            .at_line(1)
            .with_hint("add `students:` with one `- name: ...` entry per student"));
    };
    if entries.len() > MAX_STUDENTS {
        return Err(Diagnostic::error(format!(
            "the roster lists {} students, more than the {MAX_STUDENTS} clinic builds at once",
            entries.len()
        ))
        .in_file(file)
        .at_line_opt(yaml::top_level_key_line(text, "students"))
        .with_hint("split the cohort into several rosters"));
    }
    let starts = item_lines(text, entries.len());
    let mut students = Vec::with_capacity(entries.len());
    let mut explicit = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let (start, end) = starts[index];
        let at = |key: &str| key_line(text, start, end, key).unwrap_or(start);
        let mut errors = Vec::new();
        let mut problem = |message: String, line: usize, hint: &str| {
            errors.push(
                Diagnostic::error(message.clone())
                    .in_file(file)
                    .at_line(line)
                    .with_hint(hint),
            );
            message
        };
        let Some(map) = entry.as_object() else {
            let why = problem(
                "this roster entry is not a `name:`/`repo:` mapping".into(),
                start,
                "write each student as `- name: ...` followed by `repo: ...` or `evidence: ...`",
            );
            students.push(Student {
                name: format!("roster line {start}"),
                slug: String::new(),
                line: start,
                source: Source::Invalid(why),
            });
            explicit.push(None);
            diagnostics.extend(errors);
            continue;
        };
        for key in map.keys().filter(|k| !STUDENT_KEYS.contains(&k.as_str())) {
            diagnostics.push(
                Diagnostic::warning(format!("unknown key `{key}` in a student entry, ignored"))
                    .in_file(file)
                    .at_line(at(key))
                    .with_hint(format!("a student's keys are {}", STUDENT_KEYS.join(", "))),
            );
        }
        let text_of = |key: &str| -> Option<String> {
            match map.get(key) {
                Some(Value::String(s)) => Some(s.trim().to_string()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            }
        };
        let name = text_of("name").filter(|n| !n.is_empty());
        let mut source = match (text_of("repo").filter(|s| !s.is_empty()), text_of("evidence").filter(|s| !s.is_empty())) {
            (Some(_), Some(_)) => Source::Invalid(problem(
                "this student has both `repo:` and `evidence:`".into(),
                at("evidence"),
                "keep one: `repo:` for a local clone, or `evidence:` for the evidence.json their CI publishes",
            )),
            (None, None) => Source::Invalid(problem(
                "this student has neither `repo:` nor `evidence:`".into(),
                start,
                "add `repo: path/to/clone` or `evidence: https://.../evidence.json`",
            )),
            (Some(repo), None) if super::mirror::is_git_url(&repo) => Source::Remote { url: repo },
            (Some(repo), None) => Source::Repo { path: resolve(dir, &repo), written: repo },
            (None, Some(evidence)) => match location(dir, &evidence) {
                Ok(location) => Source::Evidence(location),
                Err(why) => Source::Invalid(problem(why, at("evidence"), "use an http(s) URL or a path to an evidence.json file")),
            },
        };
        for key in ["repo", "evidence", "slug"] {
            if map
                .get(key)
                .is_some_and(|v| !matches!(v, Value::String(_) | Value::Null))
            {
                source = Source::Invalid(problem(
                    format!("`{key}` must be a string"),
                    at(key),
                    "quote the value",
                ));
            }
        }
        if map
            .get("name")
            .is_some_and(|v| !matches!(v, Value::String(_) | Value::Number(_) | Value::Null))
        {
            source = Source::Invalid(problem(
                "`name` must be a string".into(),
                at("name"),
                "quote the name",
            ));
        }
        let name = match name {
            Some(name) => name,
            None => {
                let why = problem(
                    "this student has no `name:`".into(),
                    start,
                    "add `name: ...`: it is shown on the dashboard and gives the student's folder",
                );
                if !matches!(source, Source::Invalid(_)) {
                    source = Source::Invalid(why);
                }
                format!("roster line {start}")
            }
        };
        let wanted = match text_of("slug") {
            Some(slug) if is_valid_slug(&slug) => Some(slug),
            Some(slug) => {
                problem(
                    format!("slug {slug:?} is not one path segment of lowercase letters, digits and `-`"),
                    at("slug"),
                    "write the slug with a-z, 0-9 and `-` only, at most 60 characters, or leave it out",
                );
                None
            }
            None => None,
        };
        explicit.push(wanted);
        students.push(Student {
            name,
            slug: String::new(),
            line: start,
            source,
        });
        diagnostics.extend(errors);
    }
    diagnostics.sort_by_key(|d| d.line);
    assign_slugs(&mut students, &explicit, file, &mut diagnostics);
    Ok(Roster {
        file: file.to_path_buf(),
        dir: dir.to_path_buf(),
        title: raw
            .title
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "Cohort dashboard".to_string()),
        students,
        policy,
        diagnostics,
        text: text.to_string(),
    })
}

/// Reads `policy:`. A wrong value is an error at its line and the default applies in its
/// place (a course that meant to set a rule never falls back to each student's own); unknown
/// keys are warnings. `None` when there is no policy mapping at all (`policy:` left empty).
fn parse_policy(
    value: &Value,
    text: &str,
    file: &Path,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Policy> {
    let policy_line = yaml::top_level_key_line(text, "policy");
    let line_of = |key: &str| nested_key_line(text, policy_line, key).or(policy_line);
    let map = match value {
        Value::Null => return None,
        Value::Object(map) => map,
        _ => {
            diagnostics.push(
                Diagnostic::error("the roster's `policy:` is not a mapping, so no course policy applies")
                    .in_file(file)
                    .at_line_opt(policy_line)
                    .with_hint("write `policy:` with `sprint_length_days: 14` and/or `release_tag_pattern: \"v*\"` indented under it"),
            );
            return None;
        }
    };
    for key in map.keys().filter(|k| !POLICY_KEYS.contains(&k.as_str())) {
        diagnostics.push(
            Diagnostic::warning(format!(
                "unknown key `{key}` in the roster's `policy:`, ignored"
            ))
            .in_file(file)
            .at_line_opt(line_of(key))
            .with_hint(format!("a policy's keys are {}", POLICY_KEYS.join(", "))),
        );
    }
    let mut policy = Policy::default();
    match map.get("sprint_length_days") {
        None | Some(Value::Null) => {}
        Some(days) => {
            let wanted = days.as_u64().and_then(|d| u32::try_from(d).ok());
            match wanted.filter(|d| SPRINT_DAYS.contains(d)) {
                Some(days) => policy.sprint_length_days = Some(days),
                None => {
                    diagnostics.push(
                        Diagnostic::error(format!(
                            "the policy's `sprint_length_days` is {days}, not a whole number of days from {} to {}; the default {DEFAULT_SPRINT_DAYS} applies to every student",
                            SPRINT_DAYS.start(),
                            SPRINT_DAYS.end()
                        ))
                        .in_file(file)
                        .at_line_opt(line_of("sprint_length_days"))
                        .with_hint("a sprint lasts one to three weeks: write a number from 7 to 21"),
                    );
                    policy.sprint_length_days = Some(DEFAULT_SPRINT_DAYS);
                }
            }
        }
    }
    match map.get("release_tag_pattern") {
        None | Some(Value::Null) => {}
        Some(pattern) => {
            let usable = pattern.as_str().map(str::trim).filter(|p| {
                !p.is_empty() && p.len() <= MAX_PATTERN && !p.chars().any(char::is_control)
            });
            match usable {
                Some(pattern) => policy.release_tag_pattern = Some(pattern.to_string()),
                None => {
                    diagnostics.push(
                        Diagnostic::error(format!(
                            "the policy's `release_tag_pattern` is not a usable tag pattern; the default `{DEFAULT_RELEASE_TAG_PATTERN}` applies to every student"
                        ))
                        .in_file(file)
                        .at_line_opt(line_of("release_tag_pattern"))
                        .with_hint(format!("write a glob of at most {MAX_PATTERN} characters, such as \"v*\" or \"release-*\"")),
                    );
                    policy.release_tag_pattern = Some(DEFAULT_RELEASE_TAG_PATTERN.to_string());
                }
            }
        }
    }
    Some(policy)
}

/// The line of `key:` inside the top-level mapping that starts at `parent` (its indented block,
/// or the parent line itself for a flow mapping such as `policy: {sprint_length_days: 7}`).
fn nested_key_line(text: &str, parent: Option<usize>, key: &str) -> Option<usize> {
    let parent = parent?;
    let is_key = |fragment: &str| {
        let fragment = fragment.trim_start();
        fragment
            .strip_prefix(key)
            .or_else(|| {
                fragment
                    .strip_prefix('"')
                    .and_then(|f| f.strip_prefix(key))
                    .and_then(|f| f.strip_prefix('"'))
            })
            .is_some_and(|rest| rest.trim_start().starts_with(':'))
    };
    let mut lines = text.lines().enumerate().skip(parent - 1);
    let (_, first) = lines.next()?;
    if let Some((_, flow)) = first.split_once('{') {
        if flow.split(',').any(is_key) {
            return Some(parent);
        }
    }
    for (i, line) in lines {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if trimmed.len() == line.len() {
            break;
        }
        if trimmed.split(['{', ',']).any(is_key) {
            return Some(i + 1);
        }
    }
    None
}

fn resolve(dir: &Path, written: &str) -> PathBuf {
    let path = Path::new(written);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        dir.join(path)
    }
}

/// An `evidence:` value: an http(s) URL, or a file path. Any other scheme is refused.
fn location(dir: &Path, written: &str) -> Result<Location, String> {
    let lower = written.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        if written.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "the evidence URL {written:?} contains spaces or control characters"
            ));
        }
        return Ok(Location::Url(written.to_string()));
    }
    let scheme = written.split_once(':').map(|(s, _)| s).filter(|s| {
        s.len() > 1
            && s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    if let Some(scheme) = scheme {
        return Err(format!(
            "`evidence:` uses the {scheme}: scheme; only http(s) URLs and file paths are fetched"
        ));
    }
    Ok(Location::File {
        path: resolve(dir, written),
        written: written.to_string(),
    })
}

/// A written slug must already be what a derived slug looks like.
pub(crate) fn is_valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= MAX_SLUG
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
}

/// A name reduced to `[a-z0-9-]`, transliterated as Zola does (deunicode): accents dropped,
/// other scripts written in Latin letters (`李雷` is `li-lei`, `Σωκράτης` is `sokrates`), anything
/// else a separator. A name with nothing to transliterate gives `student`.
pub(crate) fn student_slug(name: &str) -> String {
    // Bounded before transliterating: a slug keeps MAX_SLUG bytes, and a character gives a few.
    let head: String = name.chars().take(MAX_SLUG * 2).collect();
    let mut slug = String::new();
    for c in deunicode::deunicode(&head)
        .chars()
        .flat_map(char::to_lowercase)
    {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= MAX_SLUG {
            break;
        }
    }
    slug.truncate(MAX_SLUG);
    let slug = slug.trim_matches('-').to_string();
    if slug.is_empty() {
        "student".to_string()
    } else {
        slug
    }
}

/// Gives every student a unique slug: written slugs first, then derived ones in roster order;
/// a collision gets `-2`, `-3`, ... (never a slug another student has) and a warning naming both
/// entries.
fn assign_slugs(
    students: &mut [Student],
    explicit: &[Option<String>],
    file: &Path,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let wanted: Vec<String> = students
        .iter()
        .zip(explicit)
        .map(|(s, e)| e.clone().unwrap_or_else(|| student_slug(&s.name)))
        .collect();
    let mut reserved: BTreeSet<String> = wanted.iter().cloned().collect();
    let mut owner: BTreeMap<String, usize> = BTreeMap::new();
    for (index, base) in wanted.iter().enumerate() {
        let slug = match owner.get(base) {
            None => base.clone(),
            Some(&first) => {
                let mut n = 2;
                let slug = loop {
                    let suffix = format!("-{n}");
                    let mut stem = base.clone();
                    stem.truncate(MAX_SLUG - suffix.len());
                    let candidate = format!("{}{suffix}", stem.trim_end_matches('-'));
                    if !reserved.contains(&candidate) {
                        break candidate;
                    }
                    n += 1;
                };
                diagnostics.push(
                    Diagnostic::warning(format!(
                        "{:?} (line {}) and {:?} (line {}) both give the folder students/{base}/; the second is published as students/{slug}/",
                        students[first].name, students[first].line, students[index].name, students[index].line
                    ))
                    .in_file(file)
                    .at_line(students[index].line)
                    .with_hint("give one of them a `slug:` to choose its folder"),
                );
                reserved.insert(slug.clone());
                slug
            }
        };
        owner.insert(slug.clone(), index);
        owner.entry(base.clone()).or_insert(index);
        students[index].slug = slug;
    }
}

/// The start line (and the line after the end) of each of `count` items of the top-level
/// `students:` list, found by indentation. Flow-style lists, which this cannot follow, give the
/// `students:` line for every entry.
fn item_lines(text: &str, count: usize) -> Vec<(usize, usize)> {
    let key_line = yaml::top_level_key_line(text, "students").unwrap_or(1);
    let fallback = vec![(key_line, key_line + 1); count];
    let lines: Vec<&str> = text.lines().collect();
    let mut indent = None;
    let mut starts = Vec::new();
    let mut end = lines.len() + 1;
    for (i, line) in lines.iter().enumerate().skip(key_line) {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let this = line.len() - trimmed.len();
        let is_item = trimmed == "-" || trimmed.starts_with("- ");
        match indent {
            None if is_item => indent = Some(this),
            None => return fallback,
            Some(n) if this < n || (this == n && !is_item) => {
                end = i + 1;
                break;
            }
            Some(_) => {}
        }
        if indent == Some(this) && is_item {
            starts.push(i + 1);
        }
    }
    if starts.len() != count {
        return fallback;
    }
    starts
        .iter()
        .enumerate()
        .map(|(k, &s)| (s, starts.get(k + 1).copied().unwrap_or(end)))
        .collect()
}

/// The line of `key:` inside the entry spanning lines `start..end`.
fn key_line(text: &str, start: usize, end: usize, key: &str) -> Option<usize> {
    text.lines()
        .enumerate()
        .skip(start - 1)
        .take(end.saturating_sub(start))
        .find_map(|(i, line)| {
            let trimmed = line.trim_start().trim_start_matches("- ").trim_start();
            let rest = trimmed
                .strip_prefix(key)
                .or_else(|| trimmed.strip_prefix(&format!("\"{key}\"")))?;
            rest.trim_start().starts_with(':').then_some(i + 1)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Roster {
        parse(text, Path::new("roster.yaml"), Path::new("/course")).unwrap()
    }

    #[test]
    fn students_repos_and_urls() {
        let roster = parse_text("title: Autumn\nstudents:\n  - name: Ada Lovelace\n    repo: students/ada\n  - name: Grace\n    evidence: https://g.example/evidence.json\n  - name: Linus\n    evidence: linus/evidence.json\n");
        assert_eq!(roster.title, "Autumn");
        assert_eq!(roster.students.len(), 3);
        assert_eq!(roster.students[0].slug, "ada-lovelace");
        assert_eq!(roster.students[0].line, 3);
        assert_eq!(
            roster.students[0].source,
            Source::Repo {
                written: "students/ada".into(),
                path: PathBuf::from("/course/students/ada")
            }
        );
        assert_eq!(
            roster.students[1].source,
            Source::Evidence(Location::Url("https://g.example/evidence.json".into()))
        );
        assert!(
            matches!(&roster.students[2].source, Source::Evidence(Location::File { path, .. }) if path == Path::new("/course/linus/evidence.json"))
        );
        assert!(roster.diagnostics.is_empty(), "{:?}", roster.diagnostics);
    }

    #[test]
    fn bad_entries_name_their_line_and_the_rest_survive() {
        let roster = parse_text("students:\n  - name: A\n    repo: a\n  - name: B\n  - repo: c\n  - name: D\n    repo: d\n    evidence: e.json\n  - name: E\n    evidence: file:///etc/passwd\n  - name: F\n    repo: f\n    colour: red\n");
        let errors: Vec<(usize, &str)> = roster
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| (d.line.unwrap(), d.message.as_str()))
            .collect();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert_eq!(errors[0].0, 4);
        assert!(errors[0].1.contains("neither"));
        assert_eq!(errors[1].0, 5);
        assert!(errors[1].1.contains("no `name:`"));
        assert_eq!(errors[2].0, 8);
        assert_eq!(errors[3].0, 10);
        assert!(errors[3].1.contains("file:"));
        let warning = roster.diagnostics.iter().find(|d| !d.is_error()).unwrap();
        assert_eq!(warning.line, Some(13));
        assert!(matches!(roster.students[0].source, Source::Repo { .. }));
        assert!(matches!(roster.students[5].source, Source::Repo { .. }));
    }

    #[test]
    fn a_policy_is_read_and_checked_at_its_lines() {
        let roster = parse_text("title: x\npolicy:\n  sprint_length_days: 7\n  release_tag_pattern: \"release-*\"\nstudents:\n  - {name: a, repo: a}\n");
        assert_eq!(
            roster.policy,
            Some(Policy {
                sprint_length_days: Some(7),
                release_tag_pattern: Some("release-*".into())
            })
        );
        assert!(roster.diagnostics.is_empty(), "{:?}", roster.diagnostics);
        assert_eq!(parse_text("students: []\n").policy, None);
        assert_eq!(parse_text("policy:\nstudents: []\n").policy, None);

        let roster = parse_text("title: x\npolicy:\n  # the course\n  sprint_length_days: 60\n  colour: red\nstudents: []\n");
        assert_eq!(roster.policy.as_ref().unwrap().sprint_length_days, Some(14));
        let error = roster.diagnostics.iter().find(|d| d.is_error()).unwrap();
        assert_eq!(error.line, Some(4), "{error}");
        assert!(error.message.contains("60"), "{error}");
        let warning = roster.diagnostics.iter().find(|d| !d.is_error()).unwrap();
        assert_eq!(warning.line, Some(5), "{warning}");
        assert!(warning.message.contains("colour"), "{warning}");

        let roster = parse_text(
            "students: []\npolicy: {sprint_length_days: 3, release_tag_pattern: \"\"}\n",
        );
        let lines: Vec<Option<usize>> = roster.diagnostics.iter().map(|d| d.line).collect();
        assert_eq!(lines, [Some(2), Some(2)], "{:?}", roster.diagnostics);
        let policy = roster.policy.unwrap();
        assert_eq!(policy.sprint_length_days, Some(14));
        assert_eq!(policy.release_tag_pattern.as_deref(), Some("v*"));

        let roster = parse_text("policy: weekly\nstudents: []\n");
        assert_eq!(roster.policy, None);
        assert_eq!(roster.diagnostics[0].line, Some(1));
        assert!(roster.diagnostics[0].is_error());
    }

    #[test]
    fn yaml_errors_name_file_and_line() {
        let err = parse(
            "students:\n  - name: a\n\t repo: b\n",
            Path::new("r.yaml"),
            Path::new("."),
        )
        .unwrap_err();
        assert_eq!(err.file.as_deref(), Some(Path::new("r.yaml")));
        assert_eq!(err.line, Some(3), "{err}");
    }

    #[test]
    fn slugs_are_safe_and_unique() {
        assert_eq!(student_slug("José Núñez"), "jose-nunez");
        assert_eq!(student_slug("../../etc/passwd"), "etc-passwd");
        assert_eq!(student_slug(".."), "student");
        assert_eq!(student_slug("李雷"), "li-lei");
        assert_eq!(student_slug("Σωκράτης"), "sokrates");
        assert_eq!(student_slug("Ærø Ødegård"), "aero-odegard");
        assert_eq!(student_slug("😀"), "grinning");
        assert_eq!(student_slug("\u{200b}"), "student");
        assert_eq!(
            student_slug("<script>alert(1)</script>"),
            "script-alert-1-script"
        );
        assert!(student_slug(&"a".repeat(500)).len() <= MAX_SLUG);
        let roster = parse_text("students:\n  - {name: Ada, repo: a}\n  - {name: ada, repo: b}\n  - {name: Ada 2, repo: c}\n  - {name: ADA, repo: d}\n  - {name: x, slug: ada-3, repo: e}\n  - {name: y, slug: ../up, repo: f}\n");
        let slugs: Vec<&str> = roster.students.iter().map(|s| s.slug.as_str()).collect();
        assert_eq!(slugs, ["ada", "ada-4", "ada-2", "ada-5", "ada-3", "y"]);
        assert!(roster
            .diagnostics
            .iter()
            .any(|d| d.is_error() && d.message.contains("../up")));
        assert_eq!(
            roster
                .diagnostics
                .iter()
                .filter(|d| d.message.contains("both give"))
                .count(),
            2
        );
    }
}
