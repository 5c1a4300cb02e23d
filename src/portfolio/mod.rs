//! Step 4 of the pipeline: the portfolio, made from the evidence alone. An index of the four
//! badges, a page per record (its prose, its commits, its timeline, the text its rules judged), a
//! semester timeline, and the badge SVG files. It never reads the repository: every text it shows
//! is the one the evidence judged. Record prose is the student's: it is rendered and sanitised,
//! and every other value reaches HTML through Tera's escaping or `svg`'s.

pub(crate) mod links;

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use crate::evidence::facts::{
    Facts, FlagFacts, MigrationFacts, RehearsalFacts, SmokeFacts, WriteUp,
};
use crate::evidence::{catalogue, Badge, CommitRef, Evidence, Item, Judged, Kind, State};
use crate::load::urls::Urls;
use crate::render::html::{escape, html_depth, sanitise};
use crate::render::markdown;
use crate::render::svg::{self, Event};
use crate::render::{highlight, Generated, VirtualPage};
use crate::time;

/// The exercise to start with when nothing is recorded: the other three lean on the smoke suite.
const FIRST_STEP: (&str, &str) = ("Exercise: the smoke gate", "exercises/smoke-gate/");

pub(crate) const PORTFOLIO: &str = "portfolio/";
/// Where the badge images go, and the evidence document: with [`PORTFOLIO`], every path a
/// portfolio writes (a cohort student's own paths, see `load::urls::is_own`).
pub(crate) const BADGES: &str = "badges/";
pub(crate) const EVIDENCE_FILE: &str = "evidence.json";
const TIMELINE: &str = "portfolio/timeline/";
/// The whole portfolio on one page, for printing (the render fills it with the other pages).
const PRINT: &str = "portfolio/print/";

/// The portfolio's pages, files and the `portfolio` value every template gets. `built_at` (seconds
/// since the epoch) goes into the stamp of every portfolio page; `None` leaves it out (a cohort,
/// whose two builds of the same inputs must be byte-identical).
pub(crate) fn generate(
    evidence: &Evidence,
    urls: &Urls,
    offset_minutes: i32,
    built_at: Option<i64>,
) -> Generated {
    let mut values = summary(evidence, urls);
    values["stamp"] = stamp(evidence, offset_minutes, built_at);
    let records: HashMap<String, String> = evidence
        .badges
        .iter()
        .flat_map(|(kind, badge)| {
            badge
                .items
                .iter()
                .map(move |item| (item.artifact.clone(), urls.url(&item_path(kind, item))))
        })
        .collect();
    let links = links::WriteUpLinks::new(urls, records);
    let pages = pages(evidence, urls, offset_minutes, &links);
    let (attachments, diagnostics) = links.into_attachments();
    Generated {
        values,
        pages,
        files: files(evidence),
        nav: (PORTFOLIO.to_string(), "Portfolio".to_string()),
        attachments,
        diagnostics,
        searched: Default::default(),
    }
}

/// Where a record's page lives: `portfolio/flags/new-checkout/`.
pub(crate) fn item_path(kind: Kind, item: &Item) -> String {
    let stem = item
        .artifact
        .rsplit('/')
        .next()
        .unwrap_or(&item.artifact)
        .trim_end_matches(".md");
    let slug = crate::load::urls::slug(stem);
    format!(
        "{PORTFOLIO}{}/{}/",
        kind.page_folder(),
        if slug.is_empty() { "artifact" } else { &slug }
    )
}

/// The `portfolio` value every page gets, so any template can show the live badges.
fn summary(evidence: &Evidence, urls: &Urls) -> Value {
    let badges: Vec<Value> = evidence
        .badges
        .iter()
        .map(|(kind, badge)| {
            let items: Vec<Value> = badge
                .items
                .iter()
                .map(|item| json!({"title": item.title, "state": item.state, "url": urls.url(&item_path(kind, item)), "source": item.artifact}))
                .collect();
            let best = best_item(badge);
            json!({
                "key": kind.key(),
                "name": kind.name(),
                "state": badge.state,
                "reasons": badge.reasons,
                "proven_by": best.map(|item| json!({"title": item.title, "url": urls.url(&item_path(kind, item)), "state": item.state})),
                "passed": best.map(|item| item.passed.clone()).unwrap_or_default(),
                "checks": checklist(kind, best),
                "badge_url": urls.url(&badge_file(kind)),
                "badge_permalink": urls.permalink(&badge_file(kind)),
                "exercise_url": urls.url(kind.exercise()),
                "reference_url": urls.url(kind.reference()),
                "items": items,
            })
        })
        .collect();
    let embed: Vec<String> = Kind::ALL
        .iter()
        .map(|&kind| {
            format!(
                "[![{}]({})]({})",
                kind.name(),
                urls.permalink(&badge_file(kind)),
                urls.permalink(PORTFOLIO)
            )
        })
        .collect();
    let badge_summary: Vec<String> = evidence
        .badges
        .iter()
        .map(|(kind, badge)| format!("{}: {}", kind.name(), badge.state.as_str()))
        .collect();
    json!({
        "url": urls.url(PORTFOLIO),
        "badge_summary": format!("Evidence badges. {}.", badge_summary.join(", ")),
        "embed_absolute": urls.base_url.is_some(),
        "timeline_url": urls.url(TIMELINE),
        "print_url": urls.url(PRINT),
        "all_verified": evidence.badges.all_verified(),
        "empty": evidence.badges.all_missing(),
        "first_step": {"title": FIRST_STEP.0, "url": urls.url(FIRST_STEP.1)},
        "badges": badges,
        "embed_markdown": embed.join("\n"),
        "policy": evidence.policy,
    })
}

/// The record whose passed checks a badge shows: the first verified one, else the one that got
/// furthest (the most checks passed; the first of equals), so the checks shown were all proven
/// together on one record.
fn best_item(badge: &Badge) -> Option<&Item> {
    badge
        .items
        .iter()
        .find(|i| i.state == State::Verified)
        .or_else(|| {
            badge
                .items
                .iter()
                .rev()
                .max_by_key(|i| i.passed.len())
                .filter(|i| !i.passed.is_empty())
        })
}

/// Every rule of the kind's catalogue, each marked proven when `best` passed it: the evidence
/// checklist's "already proven" marks.
fn checklist(kind: Kind, best: Option<&Item>) -> Vec<Value> {
    catalogue::of_kind(kind)
        .into_iter()
        .map(|rule| {
            let proven = best.is_some_and(|item| item.passed.contains(&rule));
            json!({"rule": rule.id, "holds": rule.holds, "proven": proven})
        })
        .collect()
}

/// What the badges were computed from: the commit, its date, the build time and the generator,
/// so that a printed portfolio says which state of the repository it grades.
fn stamp(evidence: &Evidence, offset_minutes: i32, built_at: Option<i64>) -> Value {
    let head = evidence.repository.head.as_deref();
    json!({
        "commit": head,
        "commit_short": head.map(|h| h.chars().take(12).collect::<String>()),
        "commit_date": evidence.repository.head_time.map(|t| time::format(t, offset_minutes)),
        "built": built_at.map(|t| time::format(t, offset_minutes)),
        "generator": evidence.generator,
    })
}

fn badge_file(kind: Kind) -> String {
    format!("{BADGES}{}.svg", kind.key())
}

/// `evidence.json` and the badge SVG files: (output path, contents).
fn files(evidence: &Evidence) -> Vec<(String, String)> {
    let json = serde_json::to_string_pretty(evidence).unwrap_or_default();
    let badges = evidence.badges.iter().map(|(kind, badge)| {
        (
            badge_file(kind),
            svg::badge(kind.key(), badge.state.as_str()),
        )
    });
    std::iter::once((EVIDENCE_FILE.to_string(), json))
        .chain(badges)
        .collect()
}

/// Every portfolio page.
fn pages(
    evidence: &Evidence,
    urls: &Urls,
    offset_minutes: i32,
    links: &links::WriteUpLinks<'_>,
) -> Vec<VirtualPage> {
    let mut pages = vec![VirtualPage {
        path: PORTFOLIO.to_string(),
        title: "Portfolio".to_string(),
        template: "portfolio.html",
        values: Map::new(),
    }];
    for (kind, badge) in evidence.badges.iter() {
        for item in &badge.items {
            pages.push(artifact_page(kind, item, urls, offset_minutes, links));
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
    // Last: the render builds it from every page before it.
    pages.push(VirtualPage {
        path: PRINT.to_string(),
        title: "Portfolio for printing".into(),
        template: crate::render::print::TEMPLATE,
        values: Map::new(),
    });
    pages
}

/// What a record's page draws besides its facts: highlighted code and a timeline.
#[derive(Default)]
struct Shown {
    code: Map<String, Value>,
    drawing: String,
}

fn artifact_page(
    kind: Kind,
    item: &Item,
    urls: &Urls,
    offset_minutes: i32,
    links: &links::WriteUpLinks<'_>,
) -> VirtualPage {
    let date_time = |t: i64| time::format(t, offset_minutes);
    let day = |t: i64| time::date(t + i64::from(offset_minutes) * 60);
    let facts = &item.facts;
    let shown = match kind {
        Kind::Rehearsal => rehearsal_shown(
            match facts {
                Facts::Rehearsal(f) => Some(f),
                _ => None,
            },
            &|t| date_time(t)[11..16].to_string(),
        ),
        Kind::Migration => migration_shown(
            match facts {
                Facts::Migration(f) => Some(f),
                _ => None,
            },
            &item.judged,
            &day,
        ),
        Kind::Smoke => smoke_shown(
            match facts {
                Facts::Smoke(f) => Some(f),
                _ => None,
            },
            &item.judged,
        ),
        Kind::Flag => flag_shown(
            match facts {
                Facts::Flag(f) => Some(f),
                _ => None,
            },
            &day,
        ),
    };
    let artifact = json!({
        "kind": kind.key(),
        "badge_name": kind.name(),
        "title": item.title,
        "state": item.state,
        "source": item.artifact,
        "problems": item.problems.iter().map(|p| json!({
            "sentence": p.sentence(), "rule": p.rule, "file": p.file, "line": p.line, "fix": p.fix,
            "mistake": p.mistake, "mistake_url": mistake_page(p.rule).map(|page| urls.url(page)),
        })).collect::<Vec<_>>(),
        "notes": item.notes,
        "passed": item.passed,
        "body_html": item.judged.write_up.as_ref().map(|w| body_html(&item.artifact, w, links)).unwrap_or_default(),
        "facts": facts,
        "timeline_svg": shown.drawing,
        "code": shown.code,
    });
    let mut values = Map::new();
    values.insert("artifact".into(), artifact);
    VirtualPage {
        path: item_path(kind, item),
        title: item.title.clone(),
        template: "artifact.html",
        values,
    }
}

fn rehearsal_shown(facts: Option<&RehearsalFacts>, clock: &dyn Fn(i64) -> String) -> Shown {
    let mut shown = Shown::default();
    shown.code.insert(
        "restore_command".into(),
        highlighted(facts.and_then(|f| f.restore_command.as_deref()), "bash"),
    );
    let events: Vec<Event> = facts
        .map(|f| f.timeline.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|m| Event {
            time: m.time,
            label: m.mark.clone(),
            class: "rehearsal",
        })
        .collect();
    shown.drawing = svg::timeline("Rehearsal timeline", &events, clock);
    shown
}

fn migration_shown(
    facts: Option<&MigrationFacts>,
    judged: &Judged,
    day: &dyn Fn(i64) -> String,
) -> Shown {
    let mut shown = Shown::default();
    let text = |path: Option<&String>| path.and_then(|p| judged.files.get(p.trim()));
    for (name, half) in [
        ("expand", facts.map(|f| &f.expand)),
        ("contract", facts.map(|f| &f.contract)),
    ] {
        for (side, path) in [
            ("up", half.and_then(|h| h.up.as_ref())),
            ("down", half.and_then(|h| h.down.as_ref())),
        ] {
            let code = highlighted(text(path).map(String::as_str), "sql");
            shown.code.insert(format!("{name}_{side}"), code);
        }
    }
    let mut events = Vec::new();
    if let Some(f) = facts {
        push_commit(&mut events, f.expand.commit.as_ref(), "expand", "migration");
        push_commit(
            &mut events,
            f.contract.commit.as_ref(),
            "contract",
            "migration",
        );
        if let Some(release) = &f.release_between {
            events.push(Event {
                time: release.time,
                label: release.name.clone(),
                class: "release",
            });
        }
    }
    shown.drawing = svg::timeline("Expand, release, contract", &events, day);
    shown
}

fn smoke_shown(facts: Option<&SmokeFacts>, judged: &Judged) -> Shown {
    let mut shown = Shown::default();
    let gate = facts.map(|f| &f.gate);
    let script = gate
        .and_then(|g| g.script)
        .and_then(|s| judged.files.get(s));
    shown.code.insert(
        "script".into(),
        highlighted(script.map(String::as_str), "bash"),
    );
    // The workflow lines that run the smoke suite and promote after it, three lines around each.
    let snippets: Vec<Value> = gate
        .and_then(|g| g.workflow.as_deref())
        .unwrap_or_default()
        .iter()
        .map(|l| {
            let text = judged.files.get(&l.file).map_or("", String::as_str);
            let start = l.line.unwrap_or(0).saturating_sub(3);
            let excerpt: Vec<&str> = text.lines().skip(start).take(6).collect();
            json!({"file": l.file, "line": l.line, "role": l.role, "job": l.job, "step": l.step, "html": highlighted(Some(&excerpt.join("\n")), "yaml")})
        })
        .collect();
    shown.code.insert("workflow".into(), Value::Array(snippets));
    shown
}

fn flag_shown(facts: Option<&FlagFacts>, day: &dyn Fn(i64) -> String) -> Shown {
    let mut events = Vec::new();
    if let Some(f) = facts {
        push_commit(
            &mut events,
            f.introduced.as_ref(),
            "introduced (off)",
            "flag",
        );
        if let Some(off) = &f.deployed_off {
            if let (Some(t), Some(name)) = (off.release_time, &off.release) {
                events.push(Event {
                    time: t,
                    label: format!("deployed off in {name}"),
                    class: "release",
                });
            }
        }
        push_commit(&mut events, f.flipped.as_ref(), "flipped on", "flag");
        push_commit(&mut events, f.retired.as_ref(), "retired", "flag");
    }
    Shown {
        code: Map::new(),
        drawing: svg::timeline("Flag lifetime", &events, day),
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

fn push_commit(
    events: &mut Vec<Event>,
    commit: Option<&CommitRef>,
    label: &str,
    class: &'static str,
) {
    if let Some(c) = commit {
        events.push(Event {
            time: c.time,
            label: label.to_string(),
            class,
        });
    }
}

fn highlighted(text: Option<&str>, lang: &str) -> Value {
    match text.filter(|t| !t.trim().is_empty()) {
        Some(text) => {
            json!(highlight::highlight_block(&format!("{}\n", text.trim_end()), lang).html)
        }
        None => json!(""),
    }
}

/// Write-ups larger than this are not rendered.
const MAX_BODY_BYTES: usize = 256 * 1024;
/// Rendered write-ups larger than this are not sanitised or shown (Markdown can expand ~10x).
const MAX_BODY_HTML_BYTES: usize = 2 * 1024 * 1024;
/// The deepest element nesting a write-up may have. html5ever, inside ammonia, is quadratic in
/// nesting depth (100 KB of nested `>` takes minutes), and browsers stop at 512 anyway.
pub(crate) const MAX_BODY_DEPTH: usize = 100;

/// The record's prose, rendered and sanitised: it is the student's text. A write-up that is too
/// large or too deeply nested is refused with a notice naming the file, in bounded time.
fn body_html(artifact: &str, write_up: &WriteUp, links: &links::WriteUpLinks<'_>) -> String {
    if write_up.file_bytes > MAX_BODY_BYTES {
        let why = format!(
            "it is {} KiB, over the {} KiB limit for a write-up",
            write_up.file_bytes / 1024,
            MAX_BODY_BYTES / 1024
        );
        return refused_body(artifact, &why);
    }
    let rendered = markdown::render(&write_up.markdown, write_up.first_line, &|href, line| {
        links.resolve(artifact, href, line)
    });
    links.diagnostics.borrow_mut().extend(
        rendered
            .diagnostics
            .iter()
            .cloned()
            .map(|d| d.in_file(artifact)),
    );
    if rendered.html.len() > MAX_BODY_HTML_BYTES {
        return refused_body(artifact, "its rendered HTML is over 2 MiB");
    }
    if html_depth(&rendered.html) > MAX_BODY_DEPTH {
        let why = format!("it nests elements more than {MAX_BODY_DEPTH} levels deep");
        return refused_body(artifact, &why);
    }
    sanitise(&rendered.html)
}

fn refused_body(artifact: &str, why: &str) -> String {
    let text = format!(
        "{artifact}: the write-up is not shown because {why}. Shorten it or flatten its nesting."
    );
    format!("<p class=\"muted body-refused\">{}</p>", escape(&text))
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
    for (kind, badge) in evidence.badges.iter() {
        for item in &badge.items {
            for (label, commit) in item.facts.milestones() {
                events.push((
                    Event {
                        time: commit.time,
                        label: label.to_string(),
                        class: kind.key(),
                    },
                    commit.url.clone(),
                    Some(format!("{} — {}", commit.id, commit.summary)),
                ));
            }
            if let Facts::Rehearsal(f) = &item.facts {
                if let Some(first) = f.timeline.first() {
                    events.push((
                        Event {
                            time: first.time,
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
