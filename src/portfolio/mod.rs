//! The portfolio: pages made from the evidence rather than from `content/`. An index of the four
//! badges, a page per artifact (its prose, its commits, its timeline), a semester timeline, and
//! the badge SVG files. Artifact prose is the student's: it is rendered and then sanitised, and
//! every other value reaches HTML through Tera's escaping or `svg`'s.

use std::path::Path;

use serde_json::{json, Map, Value};

use crate::evidence::records::read_repo_file;
use crate::evidence::{Badge, Evidence, Item};
use crate::render::highlight;
use crate::render::markdown::{self, Link};
use crate::render::svg::{self, Event};
use crate::render::Urls;
use crate::time;

/// A page with no Markdown source: rendered with `template` and the given context values.
#[derive(Debug, Clone)]
pub struct VirtualPage {
    pub path: String,
    pub title: String,
    pub template: &'static str,
    pub values: Map<String, Value>,
}

/// A badge: its key in `evidence.json`, its name, its handbook exercise and reference anchor.
const BADGES: [(&str, &str, &str, &str); 4] = [
    (
        "rehearsal",
        "Rollback rehearsal",
        "exercises/rollback-rehearsal/",
        "reference/artifacts/#rollback-rehearsal",
    ),
    (
        "migration",
        "Expand-contract migration",
        "exercises/expand-contract-migration/",
        "reference/artifacts/#expand-contract-migration",
    ),
    (
        "smoke",
        "Smoke gate",
        "exercises/smoke-gate/",
        "reference/artifacts/#smoke-gate",
    ),
    (
        "flag",
        "Feature-flag lifecycle",
        "exercises/feature-flag-lifecycle/",
        "reference/artifacts/#feature-flag-lifecycle",
    ),
];
/// The exercise to start with when nothing is recorded: the other three lean on the smoke suite.
const FIRST_STEP: (&str, &str) = ("Exercise: the smoke gate", "exercises/smoke-gate/");

pub const PORTFOLIO: &str = "portfolio/";
const TIMELINE: &str = "portfolio/timeline/";

fn kind_folder(key: &str) -> &'static str {
    match key {
        "rehearsal" => "rehearsals",
        "migration" => "migrations",
        "smoke" => "smoke-drills",
        _ => "flags",
    }
}

fn badge_of<'e>(evidence: &'e Evidence, key: &str) -> &'e Badge {
    match key {
        "rehearsal" => &evidence.badges.rehearsal,
        "migration" => &evidence.badges.migration,
        "smoke" => &evidence.badges.smoke,
        _ => &evidence.badges.flag,
    }
}

/// Where an artifact's page lives: `portfolio/flags/new-checkout/`.
pub fn item_path(key: &str, item: &Item) -> String {
    let stem = item
        .artifact
        .rsplit('/')
        .next()
        .unwrap_or(&item.artifact)
        .trim_end_matches(".md");
    let slug = markdown::slugify(stem);
    format!(
        "{PORTFOLIO}{}/{}/",
        kind_folder(key),
        if slug.is_empty() { "artifact" } else { &slug }
    )
}

/// The `portfolio` value every page gets, so any template can show the live badges.
pub fn summary(evidence: &Evidence, urls: &Urls) -> Value {
    let badges: Vec<Value> = BADGES
        .iter()
        .map(|(key, name, exercise, reference)| {
            let badge = badge_of(evidence, key);
            let items: Vec<Value> = badge
                .items
                .iter()
                .map(|item| json!({"title": item.title, "state": item.state, "url": urls.url(&item_path(key, item)), "source": item.artifact}))
                .collect();
            json!({
                "key": key,
                "name": name,
                "state": badge.state,
                "reasons": badge.reasons,
                "badge_url": urls.url(&badge_file(key)),
                "badge_permalink": urls.permalink(&badge_file(key)),
                "exercise_url": urls.url(exercise),
                "reference_url": urls.url(reference),
                "items": items,
            })
        })
        .collect();
    let embed: Vec<String> = BADGES
        .iter()
        .map(|(key, name, _, _)| {
            format!(
                "[![{name}]({})]({})",
                urls.permalink(&badge_file(key)),
                urls.permalink(PORTFOLIO)
            )
        })
        .collect();
    json!({
        "url": urls.url(PORTFOLIO),
        "timeline_url": urls.url(TIMELINE),
        "all_verified": evidence.badges.all_verified(),
        "empty": evidence.badges.iter().iter().all(|(_, b)| b.state == crate::evidence::State::Missing),
        "first_step": {"title": FIRST_STEP.0, "url": urls.url(FIRST_STEP.1)},
        "badges": badges,
        "embed_markdown": embed.join("\n"),
    })
}

pub fn badge_file(key: &str) -> String {
    format!("badges/{key}.svg")
}

/// The badge SVG files: (output path, contents).
pub fn badge_files(evidence: &Evidence) -> Vec<(String, String)> {
    evidence
        .badges
        .iter()
        .iter()
        .map(|(key, badge)| (badge_file(key), svg::badge(key, badge.state.as_str())))
        .collect()
}

/// Every portfolio page.
pub fn pages(
    root: &Path,
    evidence: &Evidence,
    urls: &Urls,
    offset_minutes: i32,
) -> Vec<VirtualPage> {
    let mut pages = vec![VirtualPage {
        path: PORTFOLIO.to_string(),
        title: "Portfolio".to_string(),
        template: "portfolio.html",
        values: Map::new(),
    }];
    for (key, name, _, _) in BADGES {
        for item in &badge_of(evidence, key).items {
            pages.push(artifact_page(root, key, name, item, urls, offset_minutes));
        }
    }
    let mut values = Map::new();
    values.insert("timeline".into(), semester(evidence));
    pages.push(VirtualPage {
        path: TIMELINE.to_string(),
        title: "Semester timeline".into(),
        template: "timeline.html",
        values,
    });
    pages
}

fn artifact_page(
    root: &Path,
    key: &str,
    name: &str,
    item: &Item,
    urls: &Urls,
    offset_minutes: i32,
) -> VirtualPage {
    let facts = &item.facts;
    let mut code = Map::new();
    let mut drawing = String::new();
    let date_time = |t: i64| time::format(t, offset_minutes);
    let day = |t: i64| time::date(t + i64::from(offset_minutes) * 60);
    match key {
        "rehearsal" => {
            code.insert(
                "restore_command".into(),
                highlighted_str(facts["restore_command"].as_str(), "bash"),
            );
            let events: Vec<Event> = facts["timeline"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| {
                    Some(Event {
                        time: m["time"].as_i64()?,
                        label: m["mark"].as_str()?.to_string(),
                        class: "rehearsal",
                    })
                })
                .collect();
            drawing = svg::timeline("Rehearsal timeline", &events, &|t| {
                date_time(t)[11..16].to_string()
            });
        }
        "migration" => {
            for (half, side) in [
                ("expand", "up"),
                ("expand", "down"),
                ("contract", "up"),
                ("contract", "down"),
            ] {
                let file = facts[half][side].as_str();
                code.insert(
                    format!("{half}_{side}"),
                    highlighted_file(root, file, "sql"),
                );
            }
            let mut events = Vec::new();
            push_commit(
                &mut events,
                &facts["expand"]["commit"],
                "expand",
                "migration",
            );
            push_commit(
                &mut events,
                &facts["contract"]["commit"],
                "contract",
                "migration",
            );
            if let (Some(t), Some(name)) = (
                facts["release_between"]["time"].as_i64(),
                facts["release_between"]["name"].as_str(),
            ) {
                events.push(Event {
                    time: t,
                    label: name.to_string(),
                    class: "release",
                });
            }
            drawing = svg::timeline("Expand, release, contract", &events, &day);
        }
        "smoke" => {
            code.insert(
                "script".into(),
                highlighted_file(root, facts["gate"]["script"].as_str(), "bash"),
            );
            code.insert(
                "workflow".into(),
                workflow_snippets(root, &facts["gate"]["workflow"]),
            );
        }
        _ => {
            let mut events = Vec::new();
            push_commit(
                &mut events,
                &facts["introduced"],
                "introduced (off)",
                "flag",
            );
            if let (Some(t), Some(name)) = (
                facts["deployed_off"]["release_time"].as_i64(),
                facts["deployed_off"]["release"].as_str(),
            ) {
                events.push(Event {
                    time: t,
                    label: format!("deployed off in {name}"),
                    class: "release",
                });
            }
            push_commit(&mut events, &facts["flipped"], "flipped on", "flag");
            push_commit(&mut events, &facts["retired"], "retired", "flag");
            drawing = svg::timeline("Flag lifetime", &events, &day);
        }
    }
    let artifact = json!({
        "kind": key,
        "badge_name": name,
        "title": item.title,
        "state": item.state,
        "source": item.artifact,
        "problems": item.problems.iter().map(|p| json!({
            "sentence": p.sentence(), "rule": p.rule, "file": p.file, "line": p.line, "fix": p.fix,
            "mistake": p.mistake, "mistake_url": mistake_page(p.rule).map(|page| urls.url(page)),
        })).collect::<Vec<_>>(),
        "body_html": body_html(root, &item.artifact),
        "facts": facts,
        "timeline_svg": drawing,
        "code": code,
    });
    let mut values = Map::new();
    values.insert("artifact".into(), artifact);
    VirtualPage {
        path: item_path(key, item),
        title: item.title.clone(),
        template: "artifact.html",
        values,
    }
}

/// The handbook page that explains the common mistake a rule names.
fn mistake_page(rule: &str) -> Option<&'static str> {
    match rule {
        "rehearsal.migration-down" => Some("mistakes/migration-rollback-is-not-data-rollback/"),
        "smoke.health-only" => Some("mistakes/healthz-only-smoke/"),
        "migration.same-commit" | "migration.same-change" | "migration.no-release" => {
            Some("mistakes/rename-and-contract-in-one-change/")
        }
        "flag.not-retired" | "flag.stale" | "flag.retired-late" | "flag.split-removal" => {
            Some("mistakes/flag-left-forever/")
        }
        _ => None,
    }
}

fn push_commit(events: &mut Vec<Event>, commit: &Value, label: &str, class: &'static str) {
    if let Some(t) = commit["time"].as_i64() {
        events.push(Event {
            time: t,
            label: label.to_string(),
            class,
        });
    }
}

fn highlighted_str(text: Option<&str>, lang: &str) -> Value {
    match text.filter(|t| !t.trim().is_empty()) {
        Some(text) => {
            json!(highlight::highlight_block(&format!("{}\n", text.trim_end()), lang).html)
        }
        None => json!(""),
    }
}

/// A repository file, highlighted; only plain files inside the repository are read.
fn highlighted_file(root: &Path, file: Option<&str>, lang: &str) -> Value {
    let text = file.and_then(|f| read_repo_file(root, f));
    highlighted_str(text.as_deref(), lang)
}

/// The workflow lines that run the smoke suite and promote after it, three lines around each.
fn workflow_snippets(root: &Path, lines: &Value) -> Value {
    let snippets: Vec<Value> = lines
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            let file = l["file"].as_str().unwrap_or("");
            let line = l["line"].as_u64().unwrap_or(0) as usize;
            let text = read_repo_file(root, file).unwrap_or_default();
            let start = line.saturating_sub(3);
            let excerpt: Vec<&str> = text.lines().skip(start).take(6).collect();
            json!({"file": file, "line": l["line"], "role": l["role"], "job": l["job"], "step": l["step"], "html": highlighted_str(Some(&excerpt.join("\n")), "yaml")})
        })
        .collect();
    Value::Array(snippets)
}

/// Write-ups larger than this are not rendered (`read_repo_file`'s cap).
const MAX_BODY_BYTES: u64 = 256 * 1024;
/// Rendered write-ups larger than this are not sanitised or shown (Markdown can expand ~10x).
const MAX_BODY_HTML_BYTES: usize = 2 * 1024 * 1024;
/// The deepest element nesting a write-up may have. html5ever, inside ammonia, is quadratic in
/// nesting depth (100 KB of nested `>` takes minutes), and browsers stop at 512 anyway.
pub const MAX_BODY_DEPTH: usize = 100;

/// The artifact's prose, rendered and sanitised: it is the student's text. A write-up that is too
/// large or too deeply nested is refused with a notice naming the file, in bounded time.
fn body_html(root: &Path, artifact: &str) -> String {
    let size = root
        .join(artifact)
        .symlink_metadata()
        .map(|m| m.len())
        .unwrap_or(0);
    if size > MAX_BODY_BYTES {
        let why = format!(
            "it is {} KiB, over the {} KiB limit for a write-up",
            size / 1024,
            MAX_BODY_BYTES / 1024
        );
        return refused_body(artifact, &why);
    }
    let Some(text) = read_repo_file(root, artifact) else {
        return String::new();
    };
    let text = crate::load::frontmatter::normalise(&text);
    let Ok(split) = crate::load::frontmatter::split(&text) else {
        return String::new();
    };
    let rendered = markdown::render(split.body, split.body_first_line, &|_| Link::Keep);
    if rendered.html.len() > MAX_BODY_HTML_BYTES {
        return refused_body(artifact, "its rendered HTML is over 2 MiB");
    }
    if crate::render::html::html_depth(&rendered.html) > MAX_BODY_DEPTH {
        let why = format!("it nests elements more than {MAX_BODY_DEPTH} levels deep");
        return refused_body(artifact, &why);
    }
    crate::render::html::sanitise(&rendered.html)
}

fn refused_body(artifact: &str, why: &str) -> String {
    let text = format!(
        "{artifact}: the write-up is not shown because {why}. Shorten it or flatten its nesting."
    );
    format!(
        "<p class=\"muted body-refused\">{}</p>",
        crate::render::html::escape(&text)
    )
}

/// Releases and every evidence event of the repository on one drawing.
fn semester(evidence: &Evidence) -> Value {
    // Each event with its link and, for a commit, the full id and summary shown on hover.
    let mut events: Vec<(Event, Option<String>, Option<String>)> = evidence
        .repository
        .releases
        .iter()
        .map(|r| {
            (
                Event {
                    time: r.time,
                    label: r.name.clone(),
                    class: "release",
                },
                r.url.clone(),
                None,
            )
        })
        .collect();
    for (key, badge) in evidence.badges.iter() {
        for item in &badge.items {
            let f = &item.facts;
            let commits: &[(&Value, &str)] = &[
                (&f["written"], "rehearsal written up"),
                (&f["expand"]["commit"], "expand"),
                (&f["contract"]["commit"], "contract"),
                (&f["break_commit"], "smoke drill: break"),
                (&f["fix_commit"], "smoke drill: fix"),
                (&f["introduced"], "flag introduced"),
                (&f["flipped"], "flag flipped on"),
                (&f["retired"], "flag retired"),
            ];
            for (commit, label) in commits {
                if let Some(t) = commit["time"].as_i64() {
                    let class = match key {
                        "rehearsal" => "rehearsal",
                        "migration" => "migration",
                        "smoke" => "smoke",
                        _ => "flag",
                    };
                    events.push((
                        Event {
                            time: t,
                            label: label.to_string(),
                            class,
                        },
                        commit["url"].as_str().map(str::to_string),
                        commit["id"]
                            .as_str()
                            .zip(commit["summary"].as_str())
                            .map(|(id, summary)| format!("{id} — {summary}")),
                    ));
                }
            }
            if key == "rehearsal" {
                if let Some(t) = f["timeline"]
                    .as_array()
                    .and_then(|m| m.first())
                    .and_then(|m| m["time"].as_i64())
                {
                    events.push((
                        Event {
                            time: t,
                            label: "rollback rehearsal".into(),
                            class: "rehearsal",
                        },
                        None,
                        None,
                    ));
                }
            }
        }
    }
    events.sort_by_key(|(e, _, _)| e.time);
    let drawing: Vec<Event> = events.iter().map(|(e, _, _)| e.clone()).collect();
    json!({
        "svg": svg::timeline("Semester timeline: releases and evidence", &drawing, &time::date),
        "events": events.iter().map(|(e, url, title)| json!({"date": time::date(e.time), "label": e.label, "kind": e.class, "url": url, "title": title})).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
