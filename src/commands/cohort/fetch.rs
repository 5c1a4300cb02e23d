//! `evidence:` students: their `evidence.json`, read from a file or fetched over http(s) with a
//! time limit and a size cap, then checked against the stable core of the format
//! (`badges.{rehearsal,migration,smoke,flag}.{state,reasons,artifacts}` and, optionally,
//! `repository.{head,commits,shallow,releases}`). Anything else in the document is ignored.
//! Every string kept is cleaned of control and bidi characters and cut to a bounded length;
//! the dashboard escapes it like any other student text.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::dashboard::{BadgeCell, LastCommit};
use super::roster::Location;
use crate::evidence::State;

/// An `evidence.json` larger than this is refused without reading the rest.
pub(crate) const MAX_EVIDENCE_BYTES: u64 = 4 * 1024 * 1024;
/// Per badge, at most this many reasons and artifacts are kept.
const MAX_LIST: usize = 200;
/// Longest string kept from a document, in characters.
pub(crate) const MAX_TEXT: usize = 2000;
/// Redirects followed (GitHub Pages redirects a missing trailing slash, for instance).
const MAX_REDIRECTS: u32 = 3;

pub(crate) const BADGE_KEYS: [&str; 4] = ["rehearsal", "migration", "smoke", "flag"];

/// What the dashboard needs from an `evidence.json`.
#[derive(Debug, Clone)]
pub(crate) struct Fetched {
    pub badges: Vec<BadgeCell>,
    pub releases: Option<usize>,
    pub last_commit: Option<LastCommit>,
    pub shallow: bool,
}

/// The http(s) client of one cohort build: one connection pool, one time limit per document.
pub(crate) struct Fetcher {
    agent: ureq::Agent,
    timeout: Duration,
}

impl Fetcher {
    pub(crate) fn new(timeout: Duration) -> Fetcher {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .max_redirects(MAX_REDIRECTS)
            .http_status_as_error(false)
            .user_agent(format!("clinic-cohort/{}", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Fetcher { agent, timeout }
    }

    /// The document's bytes, or why there are none.
    pub(crate) fn get(&self, location: &Location) -> Result<Vec<u8>, String> {
        match location {
            Location::File { path, written } => read_file(path, written),
            Location::Url(url) => self.get_url(url),
        }
    }

    fn get_url(&self, url: &str) -> Result<Vec<u8>, String> {
        let mut response = self.agent.get(url).call().map_err(|e| self.describe(&e))?;
        let status = response.status();
        if status.as_u16() != 200 {
            return Err(format!(
                "the server answered HTTP {} for the evidence URL",
                status.as_u16()
            ));
        }
        let declared = response
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(length) = declared.filter(|&l| l > MAX_EVIDENCE_BYTES) {
            return Err(too_big(length));
        }
        response
            .body_mut()
            .with_config()
            .limit(MAX_EVIDENCE_BYTES)
            .read_to_vec()
            .map_err(|e| self.describe(&e))
    }

    fn describe(&self, error: &ureq::Error) -> String {
        match error {
            ureq::Error::Timeout(_) => format!(
                "the evidence URL did not answer within {} s",
                self.timeout.as_secs_f64()
            ),
            ureq::Error::BodyExceedsLimit(_) => too_big_unknown(),
            ureq::Error::TooManyRedirects => {
                format!("the evidence URL redirected more than {MAX_REDIRECTS} times")
            }
            ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => format!(
                "the evidence URL did not answer within {} s",
                self.timeout.as_secs_f64()
            ),
            ureq::Error::Io(e) => format!("cannot fetch the evidence URL: {e}"),
            other => format!("cannot fetch the evidence URL: {other}"),
        }
    }
}

fn too_big(length: u64) -> String {
    format!(
        "the evidence document is {} KiB, over the {} KiB limit",
        length / 1024,
        MAX_EVIDENCE_BYTES / 1024
    )
}

fn too_big_unknown() -> String {
    format!(
        "the evidence document is over the {} KiB limit",
        MAX_EVIDENCE_BYTES / 1024
    )
}

fn read_file(path: &Path, written: &str) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot read the evidence file `{written}`: {e}"))?;
    let metadata = file
        .metadata()
        .map_err(|e| format!("cannot read the evidence file `{written}`: {e}"))?;
    if !metadata.is_file() {
        return Err(format!("the evidence file `{written}` is not a file"));
    }
    if metadata.len() > MAX_EVIDENCE_BYTES {
        return Err(too_big(metadata.len()));
    }
    let mut bytes = Vec::new();
    file.take(MAX_EVIDENCE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the evidence file `{written}`: {e}"))?;
    if bytes.len() as u64 > MAX_EVIDENCE_BYTES {
        return Err(too_big_unknown());
    }
    Ok(bytes)
}

/// Checks a document against the stable core of `evidence.json`. The error names the first
/// field that is wrong.
pub(crate) fn parse(bytes: &[u8]) -> Result<Fetched, String> {
    // serde_json refuses nesting deeper than 128 levels, so a deep document fails fast.
    let document: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("the evidence document is not valid JSON: {e}"))?;
    let root = document
        .as_object()
        .ok_or("the evidence document is not a JSON object")?;
    let badges = root
        .get("badges")
        .and_then(Value::as_object)
        .ok_or("the evidence document has no `badges` object")?;
    let mut cells = Vec::with_capacity(4);
    for key in BADGE_KEYS {
        let badge = badges
            .get(key)
            .and_then(Value::as_object)
            .ok_or_else(|| format!("`badges.{key}` is missing or not an object"))?;
        let state = match badge.get("state").and_then(Value::as_str) {
            Some("verified") => State::Verified,
            Some("incomplete") => State::Incomplete,
            Some("missing") => State::Missing,
            _ => {
                return Err(format!(
                    "`badges.{key}.state` is not one of verified, incomplete, missing"
                ))
            }
        };
        let reasons = strings(badge.get("reasons"), &format!("badges.{key}.reasons"))?;
        let artifacts = strings(badge.get("artifacts"), &format!("badges.{key}.artifacts"))?;
        cells.push(BadgeCell {
            key,
            state,
            reasons,
            artifacts,
        });
    }
    let mut fetched = Fetched {
        badges: cells,
        releases: None,
        last_commit: None,
        shallow: false,
    };
    if let Some(repository) = root.get("repository").filter(|v| !v.is_null()) {
        let repository = repository
            .as_object()
            .ok_or("`repository` is not an object")?;
        match repository.get("releases") {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => fetched.releases = Some(list.len()),
            Some(_) => return Err("`repository.releases` is not a list".to_string()),
        }
        match repository.get("head") {
            None | Some(Value::Null) => {}
            Some(Value::String(head))
                if head.len() >= 7
                    && head.len() <= 64
                    && head.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                fetched.last_commit = Some(LastCommit {
                    id: head.to_ascii_lowercase(),
                    short: head[..7].to_ascii_lowercase(),
                    summary: String::new(),
                    date: String::new(),
                    time: None,
                    url: None,
                });
            }
            Some(_) => return Err("`repository.head` is not a commit id".to_string()),
        }
        match repository.get("shallow") {
            None | Some(Value::Null) => {}
            Some(Value::Bool(shallow)) => fetched.shallow = *shallow,
            Some(_) => return Err("`repository.shallow` is not true or false".to_string()),
        }
    }
    Ok(fetched)
}

fn strings(value: Option<&Value>, field: &str) -> Result<Vec<String>, String> {
    let list = value
        .and_then(Value::as_array)
        .ok_or_else(|| format!("`{field}` is missing or not a list"))?;
    let mut out = Vec::new();
    for item in list {
        let text = item
            .as_str()
            .ok_or_else(|| format!("`{field}` holds something that is not a string"))?;
        if out.len() < MAX_LIST {
            out.push(clean(text));
        }
    }
    if list.len() > MAX_LIST {
        out.push(format!("... and {} more", list.len() - MAX_LIST));
    }
    Ok(out)
}

/// Student text for the dashboard: control characters become spaces, bidi overrides (which
/// can make text read backwards) are dropped, and it is cut to [`MAX_TEXT`] characters.
pub(crate) fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_TEXT * 4));
    for (count, c) in text.chars().enumerate() {
        if count == MAX_TEXT {
            out.push('…');
            break;
        }
        match c {
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' => {}
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(state: &str) -> String {
        let badge = format!(r#"{{"state": "{state}", "reasons": ["r"], "artifacts": []}}"#);
        format!(
            r#"{{"badges": {{"rehearsal": {badge}, "migration": {badge}, "smoke": {badge}, "flag": {badge}}}, "repository": {{"head": "0123456789abcdef0123456789abcdef01234567", "releases": [1, 2]}}}}"#
        )
    }

    #[test]
    fn the_stable_core_is_read() {
        let fetched = parse(doc("verified").as_bytes()).unwrap();
        assert_eq!(fetched.badges.len(), 4);
        assert_eq!(fetched.badges[2].state, State::Verified);
        assert_eq!(fetched.releases, Some(2));
        assert_eq!(fetched.last_commit.unwrap().short, "0123456");
    }

    #[test]
    fn malformed_documents_name_the_field() {
        assert!(parse(b"<html>").unwrap_err().contains("not valid JSON"));
        assert!(parse(b"[]").unwrap_err().contains("not a JSON object"));
        assert!(parse(doc("great").as_bytes())
            .unwrap_err()
            .contains("badges.rehearsal.state"));
        assert!(parse(br#"{"badges": {}}"#)
            .unwrap_err()
            .contains("badges.rehearsal"));
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(deep.as_bytes()).is_err());
        let bad_head =
            doc("missing").replace("0123456789abcdef0123456789abcdef01234567", "<script>");
        assert!(parse(bad_head.as_bytes())
            .unwrap_err()
            .contains("repository.head"));
    }

    #[test]
    fn text_is_cleaned_and_bounded() {
        assert_eq!(clean("a\u{0}b\u{202e}c\nd"), "a bc d");
        assert_eq!(
            clean(&"x".repeat(MAX_TEXT + 10)).chars().count(),
            MAX_TEXT + 1
        );
    }
}
