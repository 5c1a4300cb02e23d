//! The dashboard: one row per student (the four badges, last commit, number of releases, or an
//! error cell with the reason), summary counts per badge, and the same matrix as CSV and JSON.
//! Rows keep the roster's order, so the same roster gives the same bytes; sorting and filtering
//! are a small script on top of a table that reads fine without it.
//!
//! **Trust.** A `repo:` student's badges were recomputed here from their
//! repository (*re-checked*); an `evidence:` student's are what their own CI wrote in its
//! `evidence.json` (*reported*). The two never look alike: reported cells carry the word
//! "reported" and a dashed, unfilled pill, the matrix has a Source column, and every count
//! (summary table, `cohort.csv`'s `trust` column, `cohort.json`'s `trust` and `by_trust`) keeps
//! them apart.

use serde::Serialize;
use serde_json::{json, Value};
use tera::Context;

use crate::diagnostics::Diagnostic;
use crate::evidence::State;
use crate::load::urls::Urls;
use crate::render::templates::Theme;

use super::roster::{Policy, DEFAULT_RELEASE_TAG_PATTERN, DEFAULT_SPRINT_DAYS};

/// The four badges, in column order: key and column title.
pub(crate) const COLUMNS: [(&str, &str); 4] = [
    ("rehearsal", "Rollback rehearsal"),
    ("migration", "Expand-contract migration"),
    ("smoke", "Smoke gate"),
    ("flag", "Feature-flag lifecycle"),
];

/// The dashboard's own script, written to `static/cohort.js` (only in a cohort's output).
pub(crate) const SCRIPT: &str = include_str!("cohort.js");
pub(crate) const SCRIPT_PATH: &str = "static/cohort.js";
pub(crate) const CSV_PATH: &str = "cohort.csv";
pub(crate) const JSON_PATH: &str = "cohort.json";

/// Where a student's badges come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Trust {
    /// Recomputed by this cohort build from the student's repository.
    Rechecked,
    /// Read from the `evidence.json` the student's own CI published; not re-checked.
    Reported,
}

impl Trust {
    pub(crate) const ALL: [Trust; 2] = [Trust::Rechecked, Trust::Reported];

    /// The value in `cohort.csv`, `cohort.json` and the page's `data-source`.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Trust::Rechecked => "rechecked",
            Trust::Reported => "reported",
        }
    }

    /// What the page calls it.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Trust::Rechecked => "re-checked",
            Trust::Reported => "reported",
        }
    }

    /// Where the badges came from, in a few words.
    pub(crate) fn origin(self) -> &'static str {
        match self {
            Trust::Rechecked => "recomputed here from the repository",
            Trust::Reported => "their CI's evidence.json",
        }
    }

    /// The trust of a roster source kind (`repo`, `evidence`); none for an invalid entry.
    pub(crate) fn of_source(kind: &str) -> Option<Trust> {
        match kind {
            "repo" => Some(Trust::Rechecked),
            "evidence" => Some(Trust::Reported),
            _ => None,
        }
    }
}

/// One badge of one student.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct BadgeCell {
    #[serde(skip)]
    pub key: &'static str,
    pub state: State,
    pub reasons: Vec<String>,
    pub artifacts: Vec<String>,
}

/// The commit HEAD points at.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub(crate) struct LastCommit {
    pub id: String,
    pub short: String,
    pub summary: String,
    /// `2026-10-02`, in the committer's offset; empty when unknown (an `evidence:` student).
    pub date: String,
    pub time: Option<i64>,
    pub url: Option<String>,
}

/// One student's row.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    pub name: String,
    pub slug: String,
    /// The roster line of the entry.
    pub line: usize,
    /// `repo`, `evidence` or `invalid`, and the value as the roster wrote it.
    pub source_kind: &'static str,
    pub source: String,
    /// Re-checked (`repo:`) or reported (`evidence:`); `None` for an invalid roster entry.
    pub trust: Option<Trust>,
    /// The four badges, unless `error` says why they cannot be shown.
    pub badges: Option<Vec<BadgeCell>>,
    pub error: Option<String>,
    pub last_commit: Option<LastCommit>,
    pub releases: Option<usize>,
    /// Site-relative path of the student's portfolio, when their pages were built.
    pub portfolio: Option<String>,
}

impl Row {
    pub(crate) fn failed(
        name: &str,
        slug: &str,
        line: usize,
        source: (&'static str, String),
        error: String,
    ) -> Row {
        Row {
            name: name.to_string(),
            slug: slug.to_string(),
            line,
            source_kind: source.0,
            trust: Trust::of_source(source.0),
            source: source.1,
            badges: None,
            error: Some(error),
            last_commit: None,
            releases: None,
            portfolio: None,
        }
    }

    /// What a badge column shows: its state, or `error`.
    fn state_of(&self, key: &str) -> &'static str {
        match &self.badges {
            Some(cells) if self.error.is_none() => cells
                .iter()
                .find(|c| c.key == key)
                .map_or("error", |c| c.state.as_str()),
            _ => "error",
        }
    }

    pub(crate) fn all_verified(&self) -> bool {
        COLUMNS
            .iter()
            .all(|(key, _)| self.state_of(key) == "verified")
    }
}

fn rank(state: &str) -> u8 {
    match state {
        "verified" => 0,
        "incomplete" => 1,
        "missing" => 2,
        _ => 3,
    }
}

/// The sort key of a badge cell: by state, a reported cell after the re-checked one.
fn sort_rank(row: &Row, key: &str) -> u8 {
    rank(row.state_of(key)) * 2 + u8::from(row.trust == Some(Trust::Reported))
}

const STATES: [&str; 4] = ["verified", "incomplete", "missing", "error"];

/// Counts per badge and state, and of error rows. The totals count every student; `by_trust`
/// splits them into re-checked and reported (an invalid roster entry is in neither).
pub(crate) fn summary(rows: &[Row]) -> Value {
    let of = |trust: Trust| rows.iter().filter(move |r| r.trust == Some(trust));
    let per_trust = |f: &dyn Fn(Trust) -> Value| -> Value {
        Value::Object(
            Trust::ALL
                .iter()
                .map(|&t| (t.key().to_string(), f(t)))
                .collect(),
        )
    };
    let badges: Vec<Value> = COLUMNS
        .iter()
        .map(|(key, name)| {
            let count = |state: &str| rows.iter().filter(|r| r.state_of(key) == state).count();
            let by_trust = per_trust(&|trust| {
                let counts: serde_json::Map<String, Value> = STATES
                    .iter()
                    .map(|state| {
                        let n = of(trust).filter(|r| r.state_of(key) == *state).count();
                        (state.to_string(), json!(n))
                    })
                    .collect();
                Value::Object(counts)
            });
            json!({"key": key, "name": name, "verified": count("verified"), "incomplete": count("incomplete"), "missing": count("missing"), "error": count("error"), "by_trust": by_trust})
        })
        .collect();
    json!({
        "students": rows.len(),
        "all_verified": rows.iter().filter(|r| r.all_verified()).count(),
        "errors": rows.iter().filter(|r| r.error.is_some()).count(),
        "badges": badges,
        "by_trust": per_trust(&|trust| json!({
            "students": of(trust).count(),
            "all_verified": of(trust).filter(|r| r.all_verified()).count(),
            "errors": of(trust).filter(|r| r.error.is_some()).count(),
        })),
    })
}

/// The grading settings in use, for the page and `cohort.json`: a value the roster's
/// `policy:` sets, or `null` where each student's own `clinic.yaml` applies.
pub(crate) fn policy_json(policy: Option<&Policy>) -> Value {
    json!({
        "from_roster": policy.is_some(),
        "sprint_length_days": policy.and_then(|p| p.sprint_length_days),
        "release_tag_pattern": policy.and_then(|p| p.release_tag_pattern.clone()),
        "default_sprint_length_days": DEFAULT_SPRINT_DAYS,
        "default_release_tag_pattern": DEFAULT_RELEASE_TAG_PATTERN,
        "applies_to": Trust::Rechecked.key(),
    })
}

/// When the dashboard was generated, as the page and `cohort.json` show it (always UTC: a
/// class spans time zones, and the roster sets none).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Generated {
    /// Seconds since the epoch.
    pub time: i64,
    /// `2026-11-02 09:00 +00:00`.
    pub utc: String,
    /// `2026-11-02T09:00:00Z`, for the page's `<time datetime>`.
    pub iso: String,
}

impl Generated {
    pub(crate) fn at(time: i64) -> Generated {
        let utc = crate::time::format(time, 0);
        let iso = format!(
            "{}T{}:{:02}Z",
            crate::time::date(time),
            &utc[11..16],
            time.rem_euclid(60)
        );
        Generated { time, utc, iso }
    }
}

/// `index.html` of the cohort.
pub(crate) fn render_html(
    title: &str,
    rows: &[Row],
    policy: Option<&Policy>,
    generated: &Generated,
    searchable: bool,
    urls: &Urls,
    theme: &Theme,
) -> Result<String, Diagnostic> {
    let students: Vec<Value> = rows
        .iter()
        .map(|row| {
            let cells: Vec<Value> = COLUMNS
                .iter()
                .map(|(key, name)| {
                    let cell = row
                        .badges
                        .as_ref()
                        .and_then(|b| b.iter().find(|c| c.key == *key));
                    json!({
                        "key": key,
                        "name": name,
                        "state": row.state_of(key),
                        "reasons": cell.map(|c| c.reasons.clone()).unwrap_or_default(),
                        "reported": row.trust == Some(Trust::Reported),
                    })
                })
                .collect();
            let attention = !row.all_verified();
            json!({
                "name": row.name,
                "slug": row.slug,
                "line": row.line,
                "source_kind": row.source_kind,
                "source": row.source,
                "trust": row.trust.map(Trust::key),
                "trust_label": row.trust.map(Trust::label),
                "trust_origin": row.trust.map(Trust::origin),
                "portfolio": row.portfolio,
                "error": row.error,
                "cells": cells,
                "ranks": COLUMNS.iter().map(|(key, _)| sort_rank(row, key)).collect::<Vec<_>>(),
                "attention": attention,
                "last_commit": row.last_commit,
                "commit_sort": row.last_commit.as_ref().and_then(|c| c.time).unwrap_or(0),
                "releases": row.releases,
                "releases_sort": row.releases.map_or(-1, |n| n as i64),
                "sort_name": row.name.to_lowercase(),
            })
        })
        .collect();
    let cohort = json!({
        "title": title,
        "students": students,
        "summary": summary(rows),
        "policy": policy_json(policy),
        "generated": generated,
        "columns": COLUMNS.iter().map(|(key, name)| json!({"key": key, "name": name})).collect::<Vec<_>>(),
    });
    let mut context = Context::new();
    let site = if searchable {
        super::search::site_value(title, urls)
    } else {
        json!({"title": title, "description": "", "base_path": urls.base_path, "language": "en"})
    };
    context.insert("site", &site);
    context.insert(
        "page",
        &json!({"title": title, "description": "", "permalink": urls.permalink(""), "toc": []}),
    );
    context.insert("nav", &json!([]));
    context.insert("current_path", "");
    context.insert("cohort", &cohort);
    theme.render("cohort.html", &context)
}

/// `cohort.csv`: one line per student, RFC 4180 quoting, and a leading `'` on any field a
/// spreadsheet would take for a formula.
pub(crate) fn csv(rows: &[Row], urls: &Urls) -> String {
    let mut out = String::new();
    let header = [
        "name",
        "slug",
        "source",
        "rehearsal",
        "migration",
        "smoke",
        "flag",
        "last_commit",
        "last_commit_date",
        "releases",
        "error",
        "portfolio",
        "trust",
    ];
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for row in rows {
        let mut fields: Vec<String> = vec![
            row.name.clone(),
            row.slug.clone(),
            format!("{}: {}", row.source_kind, row.source),
        ];
        fields.extend(COLUMNS.iter().map(|(key, _)| row.state_of(key).to_string()));
        fields.push(
            row.last_commit
                .as_ref()
                .map(|c| c.id.clone())
                .unwrap_or_default(),
        );
        fields.push(
            row.last_commit
                .as_ref()
                .map(|c| c.date.clone())
                .unwrap_or_default(),
        );
        fields.push(row.releases.map(|n| n.to_string()).unwrap_or_default());
        fields.push(row.error.clone().unwrap_or_default());
        fields.push(
            row.portfolio
                .as_deref()
                .map(|p| urls.permalink(p))
                .unwrap_or_default(),
        );
        fields.push(row.trust.map(Trust::key).unwrap_or_default().to_string());
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// `cohort.json`: the matrix with every reason, for tools.
pub(crate) fn json(
    title: &str,
    rows: &[Row],
    policy: Option<&Policy>,
    generated: &Generated,
    urls: &Urls,
) -> String {
    let students: Vec<Value> = rows
        .iter()
        .map(|row| {
            let badges = row
                .badges
                .as_ref()
                .filter(|_| row.error.is_none())
                .map(|cells| {
                    let map: serde_json::Map<String, Value> = cells
                        .iter()
                        .map(|c| (c.key.to_string(), json!(c)))
                        .collect();
                    Value::Object(map)
                });
            json!({
                "name": row.name,
                "slug": row.slug,
                "roster_line": row.line,
                "source": {"kind": row.source_kind, "value": row.source},
                "trust": row.trust.map(Trust::key),
                "portfolio": row.portfolio.as_deref().map(|p| urls.permalink(p)),
                "error": row.error,
                "badges": badges,
                "last_commit": row.last_commit,
                "releases": row.releases,
            })
        })
        .collect();
    let document = json!({
        "generator": format!("clinic {}", env!("CARGO_PKG_VERSION")),
        "title": title,
        "generated_at": generated.time,
        "generated_at_utc": generated.utc,
        "summary": summary(rows),
        "policy": policy_json(policy),
        "students": students,
    });
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, error: Option<&str>) -> Row {
        let cell = |key, state| BadgeCell {
            key,
            state,
            reasons: vec![],
            artifacts: vec![],
        };
        Row {
            badges: Some(vec![
                cell("rehearsal", State::Verified),
                cell("migration", State::Missing),
                cell("smoke", State::Incomplete),
                cell("flag", State::Verified),
            ]),
            error: error.map(str::to_string),
            ..Row::failed(name, "s", 1, ("repo", "x".into()), String::new())
        }
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let rows = vec![
            row("=HYPERLINK(\"x\")", None),
            row("Ada, \"A\"", Some("broken\nrepo")),
        ];
        let text = csv(&rows, &Urls::new(None));
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert!(
            lines[1].starts_with(
                "\"'=HYPERLINK(\"\"x\"\")\",s,repo: x,verified,missing,incomplete,verified,"
            ),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].starts_with("\"Ada, \"\"A\"\"\",s,repo: x,error,error,error,error,"),
            "{}",
            lines[2]
        );
        assert!(text.contains("\"broken\nrepo\""));
    }

    #[test]
    fn reported_rows_are_counted_apart() {
        let reported = Row {
            trust: Some(Trust::Reported),
            source_kind: "evidence",
            ..row("r", None)
        };
        let invalid = Row::failed("i", "i", 1, ("invalid", String::new()), "bad".into());
        assert_eq!(invalid.trust, None);
        let rows = [row("a", None), reported, invalid];
        let s = summary(&rows);
        assert_eq!(s["badges"][0]["verified"], 2);
        assert_eq!(s["badges"][0]["by_trust"]["rechecked"]["verified"], 1);
        assert_eq!(s["badges"][0]["by_trust"]["reported"]["verified"], 1);
        assert_eq!(
            s["badges"][0]["error"], 1,
            "the invalid entry is in the total only"
        );
        assert_eq!(s["by_trust"]["reported"]["students"], 1);
        let text = csv(&rows, &Urls::new(None));
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert!(lines[0].ends_with(",portfolio,trust"), "{}", lines[0]);
        assert!(lines[1].ends_with(",rechecked"), "{}", lines[1]);
        assert!(lines[2].ends_with(",reported"), "{}", lines[2]);
        assert!(lines[3].ends_with(','), "{}", lines[3]);
    }

    #[test]
    fn generated_at_is_shown_in_utc_to_the_second_for_machines() {
        let g = Generated::at(1_793_610_007);
        assert_eq!(g.utc, "2026-11-02 09:00 +00:00");
        assert_eq!(g.iso, "2026-11-02T09:00:07Z");
        let doc: Value =
            serde_json::from_str(&json("t", &[row("a", None)], None, &g, &Urls::new(None)))
                .unwrap();
        assert_eq!(doc["generated_at"], 1_793_610_007);
        assert_eq!(doc["generated_at_utc"], "2026-11-02 09:00 +00:00");
    }

    #[test]
    fn summary_counts_states_and_errors() {
        let s = summary(&[row("a", None), row("b", Some("x"))]);
        assert_eq!(s["students"], 2);
        assert_eq!(s["errors"], 1);
        assert_eq!(s["badges"][1]["missing"], 1);
        assert_eq!(s["badges"][1]["error"], 1);
        assert_eq!(s["all_verified"], 0);
    }
}
