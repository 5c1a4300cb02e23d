//! `clinic.yaml`: the optional site configuration at the repository root. Every key is
//! optional; unknown keys are warnings that name the file and line.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::diagnostics::Diagnostic;
use crate::load::frontmatter;
use crate::load::yaml;

pub const CONFIG_FILE: &str = "clinic.yaml";

/// `clinic.yaml` larger than this is not read (the YAML itself is capped lower).
const MAX_CONFIG_FILE_BYTES: u64 = 1024 * 1024;

/// The settings a build uses, with defaults applied.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Config {
    pub title: String,
    /// Where the site is served from, always ending in `/` (e.g. `https://x.github.io/p/`).
    /// `None` means "served from the root of whatever host": links are `/...`.
    pub base_url: Option<String>,
    /// Web page of the repository, for commit links; `None` until derived from `origin`.
    pub repository_url: Option<String>,
    /// Offset applied to artifact times written without one, in minutes east of UTC.
    pub utc_offset_minutes: i32,
    pub release_tag_pattern: String,
    pub sprint_length_days: u32,
    /// Publish raw HTML in `content/` pages as written (scripts included); by default it is
    /// sanitised like a student's write-up.
    pub unsafe_html: bool,
    /// Write the full-text search index and show the search box (`search: false` leaves both
    /// out; student sites in a cohort never have it, since their pages allow no script).
    pub search: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            title: "Release and Rollback Clinic".to_string(),
            base_url: None,
            repository_url: None,
            utc_offset_minutes: 0,
            release_tag_pattern: "v*".to_string(),
            sprint_length_days: 14,
            unsafe_html: false,
            search: true,
        }
    }
}

/// The file as written: every key optional, unknown keys kept for warnings.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawConfig {
    title: Option<String>,
    base_url: Option<String>,
    repository_url: Option<String>,
    time_zone: Option<String>,
    release_tag_pattern: Option<String>,
    sprint_length_days: Option<u32>,
    unsafe_html: Option<bool>,
    search: Option<bool>,
    #[serde(flatten)]
    extra: BTreeMap<String, serde_json::Value>,
}

const KNOWN_KEYS: &[&str] = &[
    "title",
    "base_url",
    "repository_url",
    "time_zone",
    "release_tag_pattern",
    "sprint_length_days",
    "unsafe_html",
    "search",
];

/// Loads `<root>/clinic.yaml` if it exists. Errors are returned with warnings so the caller
/// decides; a broken config falls back to defaults for the keys it could not read.
pub fn load(root: &Path) -> (Config, Vec<Diagnostic>) {
    let path = root.join(CONFIG_FILE);
    if path
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
    {
        let d = Diagnostic::warning("is a symbolic link, not read; defaults apply")
            .in_file(CONFIG_FILE)
            .with_hint("commit clinic.yaml itself instead of a link to it");
        return (Config::default(), vec![d]);
    }
    // A named pipe here would block the build forever: only a regular file is read.
    let bytes = match frontmatter::read_regular_file(&path, MAX_CONFIG_FILE_BYTES) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Config::default(), vec![]),
        Err(e) => {
            let d = Diagnostic::error(format!("cannot read the configuration: {e}"))
                .in_file(CONFIG_FILE)
                .with_hint("clinic.yaml must be a regular file; defaults apply until it is");
            return (Config::default(), vec![d]);
        }
    };
    let text = match std::str::from_utf8(&bytes) {
        Ok(text) => frontmatter::normalise(text),
        Err(e) => {
            let line = crate::diagnostics::utf8_error_line(&bytes, &e);
            let d = Diagnostic::error("cannot read the configuration: it is not valid UTF-8")
                .in_file(CONFIG_FILE)
                .at_line(line)
                .with_hint("save clinic.yaml as UTF-8");
            return (Config::default(), vec![d]);
        }
    };
    let (config, diagnostics) = parse(&text);
    let diagnostics = diagnostics
        .into_iter()
        .map(|d| d.in_file(CONFIG_FILE))
        .collect();
    (config, diagnostics)
}

/// Parses configuration text; diagnostics carry lines but no file name.
pub fn parse(text: &str) -> (Config, Vec<Diagnostic>) {
    let raw: RawConfig = match yaml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let d = Diagnostic::error(format!("invalid configuration: {}", e.message))
                .at_line_opt(e.line)
                .with_hint("fix the YAML; every key is optional, see the configuration reference");
            return (Config::default(), vec![d]);
        }
    };
    let mut diagnostics = frontmatter::unknown_key_warnings(text, 1, &raw.extra, KNOWN_KEYS);
    let mut config = Config::default();
    let line_of = |key: &str| yaml::top_level_key_line(text, key);
    if let Some(title) = raw.title {
        config.title = title;
    }
    if let Some(url) = raw.base_url {
        match crate::load::urls::normalise_base_url(&url) {
            Ok(url) => config.base_url = Some(url),
            Err(hint) => diagnostics.push(
                Diagnostic::error(format!("`base_url` {url:?} is not an absolute http(s) URL"))
                    .at_line_opt(line_of("base_url"))
                    .with_hint(hint),
            ),
        }
    }
    config.repository_url = raw
        .repository_url
        .map(|u| u.trim_end_matches('/').to_string());
    if let Some(zone) = raw.time_zone {
        match parse_utc_offset(&zone) {
            Some(minutes) => config.utc_offset_minutes = minutes,
            None => diagnostics.push(
                Diagnostic::error(format!("`time_zone` {zone:?} is not a UTC offset"))
                    .at_line_opt(line_of("time_zone"))
                    .with_hint("write `UTC` or an offset such as `+02:00` or `-05:00`"),
            ),
        }
    }
    if let Some(pattern) = raw.release_tag_pattern.filter(|p| !p.trim().is_empty()) {
        config.release_tag_pattern = pattern;
    }
    match raw.sprint_length_days {
        Some(days) if SPRINT_DAYS.contains(&days) => config.sprint_length_days = days,
        Some(days) => diagnostics.push(
            Diagnostic::error(format!(
                "`sprint_length_days: {days}` is outside the course's range ({}..={} days); the default {} applies",
                SPRINT_DAYS.start(),
                SPRINT_DAYS.end(),
                Config::default().sprint_length_days
            ))
            .at_line_opt(line_of("sprint_length_days"))
            .with_hint("the sprint length is course policy: remove the key, or write a value from 7 to 21"),
        ),
        None => {}
    }
    config.unsafe_html = raw.unsafe_html.unwrap_or(false);
    config.search = raw.search.unwrap_or(true);
    (config, diagnostics)
}

/// The sprint lengths a course may set: a longer sprint would let a flag live for months.
pub const SPRINT_DAYS: std::ops::RangeInclusive<u32> = 7..=21;
/// The clinic's sprint length.
pub const DEFAULT_SPRINT_DAYS: u32 = 14;

/// The grading settings that differ from the clinic's defaults, shown on the badge pages and in
/// `evidence.json` so that an instructor sees what the badges were judged under.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Policy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sprint_length_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_tag_pattern: Option<String>,
}

impl Policy {
    pub fn is_default(&self) -> bool {
        *self == Policy::default()
    }
}

impl Config {
    /// The non-default grading settings.
    pub fn policy(&self) -> Policy {
        let default = Config::default();
        Policy {
            sprint_length_days: (self.sprint_length_days != default.sprint_length_days)
                .then_some(self.sprint_length_days),
            release_tag_pattern: (self.release_tag_pattern != default.release_tag_pattern)
                .then(|| self.release_tag_pattern.clone()),
        }
    }
}

/// `UTC`, `Z`, `+02:00`, `-0530` -> minutes east of UTC.
pub fn parse_utc_offset(zone: &str) -> Option<i32> {
    let zone = zone.trim();
    if matches!(zone, "UTC" | "utc" | "Z" | "GMT") {
        return Some(0);
    }
    let (sign, digits) = match zone.as_bytes().first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    let digits: String = digits.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i32 = digits[..2].parse().ok()?;
    let minutes: i32 = digits[2..].parse().ok()?;
    (hours <= 14 && minutes < 60).then_some(sign * (hours * 60 + minutes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_optional() {
        let (config, diagnostics) = parse("");
        assert_eq!(config, Config::default());
        assert!(diagnostics.is_empty());
    }

    #[test]
    fn reads_every_key() {
        let text = "title: My portfolio\nbase_url: https://me.github.io/portfolio\nrepository_url: https://github.com/me/svc/\ntime_zone: \"+02:00\"\nrelease_tag_pattern: release-*\nsprint_length_days: 7\n";
        let (config, diagnostics) = parse(text);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert_eq!(config.title, "My portfolio");
        assert_eq!(
            config.base_url.as_deref(),
            Some("https://me.github.io/portfolio/")
        );
        assert_eq!(
            config.repository_url.as_deref(),
            Some("https://github.com/me/svc")
        );
        assert_eq!(config.utc_offset_minutes, 120);
        assert_eq!(config.release_tag_pattern, "release-*");
        assert_eq!(config.sprint_length_days, 7);
    }

    #[test]
    fn unknown_key_warns_with_line() {
        let (_, diagnostics) = parse("title: x\nsprint_lenght_days: 7\n");
        assert_eq!(diagnostics.len(), 1);
        assert!(!diagnostics[0].is_error());
        assert_eq!(diagnostics[0].line, Some(2));
        assert!(diagnostics[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("sprint_length_days"));
    }

    #[test]
    fn bad_values_are_errors_with_lines() {
        let (_, diagnostics) = parse("time_zone: Europe/Berlin\nbase_url: portfolio\n");
        let lines: Vec<_> = diagnostics.iter().map(|d| (d.is_error(), d.line)).collect();
        assert_eq!(lines, vec![(true, Some(2)), (true, Some(1))]);
    }

    #[test]
    fn unsafe_html_is_off_unless_set() {
        assert!(!parse("").0.unsafe_html);
        let (config, diagnostics) = parse("unsafe_html: true\n");
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert!(config.unsafe_html);
    }

    #[test]
    fn a_duplicate_key_is_reported_at_its_own_line() {
        let (_, diagnostics) = parse("title: a\nbase_url: https://x.org/\n\ntitle: b\n");
        assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
        assert!(diagnostics[0].is_error());
        assert!(
            diagnostics[0].message.contains("duplicate key `title`"),
            "{diagnostics:?}"
        );
        assert_eq!(diagnostics[0].line, Some(4));
    }

    #[cfg(unix)]
    #[test]
    fn a_named_pipe_is_an_error_not_a_hang() {
        let root = tempfile::tempdir().unwrap();
        let fifo = root.path().join(CONFIG_FILE);
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let (config, diagnostics) = load(root.path());
        assert_eq!(config, Config::default());
        assert!(diagnostics[0].is_error());
        assert!(
            diagnostics[0].message.contains("named pipe"),
            "{diagnostics:?}"
        );
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_utc_offset("-05:30"), Some(-330));
        assert_eq!(parse_utc_offset("+0100"), Some(60));
        assert_eq!(parse_utc_offset("CET"), None);
    }
}
