//! `clinic cohort` over real student repositories: demo repositories and variants of them
//! (complete, partial, empty, shallow, not a repository, missing), a hostile repository with
//! script and HTML payloads in every field, repositories that try to escape through symbolic
//! links or oversized input, and `evidence:` documents served by a local HTTP server (good,
//! slow, huge, malformed). The dashboard and the hostile student's pages are also opened in
//! headless Chromium (Debian's /usr/bin/chromium, driven over the DevTools protocol on a pipe),
//! which must show that no student script ran.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::git::{git_cli, temp_dir, RepoBuilder};
use serde_json::{json, Value};

/// The payload every hostile field carries: if any of it ran, the page title would change.
const SCRIPT: &str = "<script>document.title='pwned'</script>";
const IMG: &str = "<img src=x onerror=\"document.title='pwned'\">";
const SVG: &str = "<svg onload=\"document.title='pwned'\">";

// ---- Building cohorts -----------------------------------------------------------------------

/// A cohort being assembled in a temporary directory: students under `students/`, the roster
/// at `roster.yaml`, output at `out/`.
struct Cohort {
    tmp: tempfile::TempDir,
    entries: Vec<String>,
    title: String,
    /// Top-level roster lines between `title:` and `students:` (a `policy:`, say).
    preamble: String,
}

impl Cohort {
    fn new(title: &str) -> Cohort {
        let tmp = temp_dir();
        std::fs::create_dir_all(tmp.path().join("students")).unwrap();
        Cohort {
            tmp,
            entries: Vec::new(),
            title: title.to_string(),
            preamble: String::new(),
        }
    }

    fn root(&self) -> &Path {
        self.tmp.path()
    }

    fn student_dir(&self, name: &str) -> PathBuf {
        self.root().join("students").join(name)
    }

    fn out(&self) -> PathBuf {
        self.root().join("out")
    }

    fn roster(&self) -> PathBuf {
        self.root().join("roster.yaml")
    }

    /// A roster entry, as YAML lines after `- `.
    fn entry(&mut self, yaml: &str) -> &mut Self {
        self.entries.push(yaml.to_string());
        self
    }

    fn repo(&mut self, name: &str, folder: &str) -> &mut Self {
        self.entry(&format!(
            "name: {}\n    repo: students/{folder}",
            yaml_str(name)
        ))
    }

    fn write_roster(&self) {
        let mut text = format!(
            "title: {}\n{}students:\n",
            yaml_str(&self.title),
            self.preamble
        );
        for entry in &self.entries {
            text.push_str(&format!("  - {entry}\n"));
        }
        std::fs::write(self.roster(), text).unwrap();
    }

    fn build(&self, extra: &[&str]) -> common::Run {
        self.build_into(&self.out(), extra)
    }

    fn build_into(&self, out: &Path, extra: &[&str]) -> common::Run {
        self.write_roster();
        let mut args = vec![
            "cohort".to_string(),
            self.roster().display().to_string(),
            "--out".into(),
            out.display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        common::clinic(args)
    }

    /// `out/cohort.json`'s students by slug.
    fn students(&self) -> BTreeMap<String, Value> {
        let json: Value =
            serde_json::from_str(&common::read_output(&self.out(), "cohort.json")).unwrap();
        json["students"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["slug"].as_str().unwrap().to_string(), s.clone()))
            .collect()
    }
}

fn yaml_str(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

/// The four states of a student in `cohort.json`, or `error: ...`.
fn states(student: &Value) -> String {
    if let Some(error) = student["error"].as_str() {
        return format!("error: {error}");
    }
    ["rehearsal", "migration", "smoke", "flag"]
        .iter()
        .map(|k| {
            student["badges"][k]["state"]
                .as_str()
                .unwrap_or("?")
                .to_string()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The demo with two records deleted and one broken, committed: rehearsal and flag missing,
/// smoke incomplete, migration still verified.
fn partial(dir: &Path) -> RepoBuilder {
    let repo = RepoBuilder::demo(dir);
    repo.remove("library/raw/rollback-rehearsals/001.md")
        .remove("library/raw/flags/new_checkout.md")
        .replace(
            "library/raw/smoke-drills/001.md",
            "fix_commit: ad44b83",
            "fix_commit: deadbee",
        );
    repo.commit("2026-10-23 10:00", "Remove two records, break one");
    repo
}

/// `git clone --depth 1` of a demo repository.
fn shallow(cohort: &Cohort, name: &str) {
    let source = cohort.root().join("shallow-source");
    RepoBuilder::demo(&source);
    let url = format!("file://{}", source.display());
    git_cli(
        cohort.root(),
        &[
            "clone",
            "--quiet",
            "--depth",
            "1",
            &url,
            &cohort.student_dir(name).display().to_string(),
        ],
    );
}

/// The demo, then payloads in every field a student controls: `clinic.yaml`, records' front
/// matter, bodies and file names, a flag key, commit messages, a release tag, the remote URL,
/// and `theme/` and `content/` overrides (which the cohort must ignore).
fn hostile(dir: &Path) -> RepoBuilder {
    let repo = RepoBuilder::demo(dir);
    let text = repo.read("clinic.yaml");
    let title_line = text
        .lines()
        .find(|l| l.starts_with("title:"))
        .unwrap()
        .to_string();
    repo.replace(
        "clinic.yaml",
        &title_line,
        &format!("title: {}", yaml_str(&format!("Mallory {SCRIPT}"))),
    );
    let body = format!(
        "We rehearsed {SCRIPT} and more {IMG} with words enough for a paragraph here.\n\n\
         {SVG}<set attributeName=\"href\" to=\"javascript:document.title='pwned'\"/></svg>\n\n\
         <math><annotation-xml encoding=\"text/html\">{IMG}</annotation-xml></math>\n\n\
         <iframe src=\"javascript:document.title='pwned'\"></iframe>\n\n\
         <form action=\"https://evil.example/\"><input name=\"x\"></form>\n\n\
         <style>body {{ display: none }}</style>\n\n\
         <a href=\"javascript:document.title='pwned'\">html link</a> [md link](javascript:document.title='pwned') \
         <a href=\"JaVaScRiPt:document.title='pwned'\">mixed case</a> \
         <a href=\"data:text/html,{SCRIPT}\">data link</a> <b style=\"color:red\" onclick=\"document.title='pwned'\">styled</b>\n\n\
         Template text stays text: {{{{ now() }}}} and {{% if true %}}x{{% endif %}}.\n"
    );
    let rehearsal = format!(
        "---\ntitle: {t}\nenvironment: {t}\nbad_release: {t}\nrestored_release: {t}\ntrigger: {t}\nrestore_command: {cmd}\ntimeline:\n  - at: 2026-10-02 14:03\n    mark: {t}\n    note: {t}\n---\n{body}",
        t = yaml_str(&format!("R {SCRIPT} {IMG}")),
        cmd = yaml_str(&format!("</code></pre>{SCRIPT}")),
    );
    repo.write(
        &format!("library/raw/rollback-rehearsals/{IMG}.md"),
        &rehearsal,
    );
    let flag = format!(
        "---\nflag: {k}\nkind: release\ntitle: {k}\n---\n{body}",
        k = yaml_str(&format!("flag_{SCRIPT}"))
    );
    repo.write(&format!("library/raw/flags/{SVG}.md"), &flag);
    repo.write(
        "app/flags.py",
        &format!("FLAGS = {{{:?}: False}}\n", format!("flag_{SCRIPT}")),
    );
    repo.write(
        "theme/templates/base.html",
        &format!("STUDENT-THEME-MARKER {SCRIPT}"),
    );
    repo.write(
        "theme/templates/partials/footer.html",
        &format!("STUDENT-THEME-MARKER {IMG}"),
    );
    repo.write(
        "content/_index.md",
        &format!("---\ntitle: Evil\n---\nSTUDENT-CONTENT-MARKER {SCRIPT}\n"),
    );
    repo.write(
        "content/evil.md",
        "---\ntitle: Evil page\n---\nSTUDENT-CONTENT-MARKER {{ get_env(name=\"HOME\") }}\n",
    );
    repo.commit("2026-10-23 10:00", &format!("Add records {IMG}"));
    repo.tag("v9.9.9+<svg/onload=document.title=1>", "2026-10-23 11:00");
    repo.write("README.md", "changed\n");
    repo.commit("2026-10-24 10:00", &format!("{SCRIPT} {IMG} last commit"));
    repo.repo()
        .remote_set_url(
            "origin",
            "javascript:document.title='pwned'//github.com/a/b",
        )
        .unwrap();
    repo
}

// ---- Scanning the output --------------------------------------------------------------------

/// Every `.html` file under `dir`, with its text.
fn html_files(dir: &Path) -> Vec<(String, String)> {
    common::list_files(dir)
        .into_iter()
        .filter(|rel| rel.ends_with(".html"))
        .map(|rel| {
            let text = std::fs::read_to_string(dir.join(&rel)).unwrap();
            (rel, text)
        })
        .collect()
}

/// The text of a page: tags removed (highlighted code is split into spans), entities decoded.
fn text_of(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    common::decode_entities(&text)
}

/// Active content in one page: script and dangerous elements, event handlers, script URLs,
/// inline styles. The dashboard's own script tags (sorting, search, copy buttons) are the only
/// scripts allowed.
fn active_content(rel: &str, html: &str) -> Vec<String> {
    let mut found = Vec::new();
    let lower = html.to_ascii_lowercase();
    let scripts = lower.matches("<script").count();
    let own: usize = ["cohort", "search", "copy"]
        .iter()
        .map(|name| {
            lower
                .matches(&format!(
                    "<script src=\"/static/{name}.js\" defer></script>"
                ))
                .count()
        })
        .sum();
    if scripts != own {
        found.push(format!("{rel}: {} <script> elements", scripts - own));
    }
    for tag in [
        "<iframe",
        "<form",
        "<style",
        "<object",
        "<embed",
        "<math",
        "<set ",
        "<annotation-xml",
        "<base",
    ] {
        if lower.contains(tag) {
            found.push(format!("{rel}: {tag}"));
        }
    }
    // The handbook's task lists are disabled checkboxes; a student's page has no input.
    if rel.contains("portfolio/") && lower.contains("<input") {
        found.push(format!("{rel}: <input"));
    }
    for a in common::attributes(html) {
        if a.name.starts_with("on") {
            found.push(format!("{rel}: <{} {}={:?}>", a.tag, a.name, a.value));
        }
        if a.name == "style" {
            found.push(format!("{rel}: <{} style>", a.tag));
        }
        let value = a.value.trim().to_ascii_lowercase();
        if ["href", "src", "action", "to", "xlink:href", "formaction"].contains(&a.name.as_str())
            && ["javascript:", "data:", "vbscript:"]
                .iter()
                .any(|s| value.starts_with(s))
        {
            found.push(format!("{rel}: <{} {}={:?}>", a.tag, a.name, a.value));
        }
    }
    found
}

// ---- Tests ----------------------------------------------------------------------------------

#[test]
fn a_cohort_of_variants_shows_the_right_states_and_builds_each_portfolio() {
    let mut cohort = Cohort::new("Autumn cohort");
    RepoBuilder::demo(&cohort.student_dir("ada"));
    partial(&cohort.student_dir("bob"));
    RepoBuilder::init(&cohort.student_dir("empty"));
    shallow(&cohort, "shallow");
    std::fs::create_dir_all(cohort.student_dir("plain")).unwrap();
    std::fs::write(cohort.student_dir("plain/README.md"), "not a repository\n").unwrap();
    cohort
        .repo("Ada Lovelace", "ada")
        .repo("Bob Partial", "bob")
        .repo("Eve Empty", "empty")
        .repo("Sam Shallow", "shallow")
        .repo("Pat Plain", "plain")
        .repo("Mo Missing", "missing");
    let run = cohort.build(&[]);
    run.expect_code(0);
    // Each student in error is reported, naming the roster line.
    for (line, needle) in [
        (7, "no commits"),
        (9, "shallow"),
        (11, "not a git repository"),
        (13, "does not exist"),
    ] {
        run.expect_stderr(&format!("roster.yaml:{line}: student"));
        run.expect_stderr(needle);
    }

    let students = cohort.students();
    assert_eq!(
        states(&students["ada-lovelace"]),
        "verified verified verified verified"
    );
    assert_eq!(
        states(&students["bob-partial"]),
        "missing verified incomplete missing"
    );
    assert!(
        states(&students["eve-empty"]).contains("has no commits yet"),
        "{}",
        states(&students["eve-empty"])
    );
    assert!(
        states(&students["sam-shallow"]).contains("shallow clone"),
        "{}",
        states(&students["sam-shallow"])
    );
    assert!(states(&students["pat-plain"]).contains("is not a git repository"));
    assert!(states(&students["mo-missing"]).contains("does not exist"));
    assert_eq!(students["ada-lovelace"]["releases"], 8);
    assert_eq!(
        students["ada-lovelace"]["last_commit"]["date"],
        "2026-10-22"
    );
    assert_eq!(
        students["bob-partial"]["last_commit"]["summary"],
        "Remove two records, break one"
    );
    let reasons = students["bob-partial"]["badges"]["smoke"]["reasons"].to_string();
    assert!(reasons.contains("fix_commit"), "{reasons}");

    // The dashboard: a plain table with one row per student, the summary, the exports.
    let out = cohort.out();
    let index = common::read_output(&out, "index.html");
    assert_eq!(index.matches("<tr id=\"student-").count(), 6);
    for needle in [
        "Ada Lovelace",
        "has no commits yet",
        "shallow clone",
        "cohort.csv",
        "cohort.json",
        "Rollback rehearsal",
    ] {
        assert!(index.contains(needle), "the dashboard lacks {needle:?}");
    }
    let row = common::between(&index, "<tr id=\"student-bob-partial\"", "</tr>");
    assert_eq!(row.matches("badge badge-missing").count(), 2, "{row}");
    assert_eq!(row.matches("badge badge-incomplete").count(), 1, "{row}");
    assert!(
        row.contains("href=\"/students/bob-partial/portfolio/\""),
        "{row}"
    );
    let summary = common::between(&index, "<table class=\"cohort-summary-table\">", "</table>");
    let smoke = common::between(summary, "Smoke gate", "</tr>");
    let cells: Vec<&str> = smoke
        .split("<td>")
        .skip(1)
        .map(|c| c.split('<').next().unwrap())
        .collect();
    assert_eq!(
        cells,
        ["1", "1", "0", "4"],
        "smoke: verified, incomplete, missing, error"
    );

    let csv = common::read_output(&out, "cohort.csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 7);
    assert!(lines[0].starts_with("name,slug,source,rehearsal,migration,smoke,flag,last_commit"));
    assert!(
        lines[2].starts_with(
            "Bob Partial,bob-partial,repo: students/bob,missing,verified,incomplete,missing,"
        ),
        "{}",
        lines[2]
    );

    // Each built student has their own pages at their base path, with their own commit links;
    // students in error have none (the shallow clone's pages explain its reasons). The handbook
    // and the static files exist once, under handbook/, so a class fits on GitHub Pages.
    for slug in ["ada-lovelace", "bob-partial", "sam-shallow"] {
        let dir = out.join("students").join(slug);
        for page in [
            "index.html",
            "portfolio/index.html",
            "portfolio/timeline/index.html",
            "evidence.json",
            "badges/smoke.svg",
        ] {
            assert!(dir.join(page).is_file(), "{slug}: no {page}");
        }
        let mut bytes = 0;
        for file in common::list_files(&dir) {
            assert!(
                file == "index.html"
                    || file == "evidence.json"
                    || file.starts_with("portfolio/")
                    || file.starts_with("badges/"),
                "{slug}: {file} is not the student's own"
            );
            // The print view repeats every portfolio page on one sheet-per-record page (about
            // 75 KB for the demo); the budget is for the pages themselves.
            if !file.starts_with("portfolio/print/") {
                bytes += std::fs::metadata(dir.join(&file)).unwrap().len();
            }
        }
        assert!(
            dir.join("portfolio/print/index.html").is_file(),
            "{slug}: no print view"
        );
        assert!(bytes <= 150 * 1024, "{slug}: {bytes} bytes");
    }
    for page in [
        "handbook/index.html",
        "handbook/exercises/smoke-gate/index.html",
        "handbook/static/style.css",
        "handbook/static/syntax-light.css",
    ] {
        assert!(out.join(page).is_file(), "no {page}");
    }
    let handbook = common::read_output(&out, "handbook/exercises/smoke-gate/index.html");
    assert!(
        !handbook.contains("Your evidence"),
        "the shared handbook shows no student's badges"
    );
    for slug in ["eve-empty", "pat-plain", "mo-missing"] {
        assert!(
            !out.join("students").join(slug).exists(),
            "{slug} has pages"
        );
    }
    let flag_page = common::read_output(
        &out,
        "students/ada-lovelace/portfolio/flags/new_checkout/index.html",
    );
    assert!(
        common::links(&flag_page)
            .iter()
            .any(|(_, l)| l.starts_with("https://github.com/ada-example/orders-api/commit/")),
        "no commit links"
    );
    for (tag, link) in common::links(&flag_page) {
        // The one way out: the header's link back to the dashboard.
        if link.starts_with('/') && link != "/" {
            assert!(
                link.starts_with("/students/ada-lovelace/") || link.starts_with("/handbook/"),
                "<{tag}> {link} leaves the student's folder and the shared handbook"
            );
        }
    }
    let evidence: Value = serde_json::from_str(&common::read_output(
        &out,
        "students/ada-lovelace/evidence.json",
    ))
    .unwrap();
    assert_eq!(evidence["badges"]["flag"]["state"], "verified");
}

#[test]
fn hostile_payloads_are_text_everywhere_and_overrides_are_ignored() {
    let mut cohort = Cohort::new(&format!("Cohort {SCRIPT}"));
    hostile(&cohort.student_dir("mallory"));
    RepoBuilder::demo(&cohort.student_dir("ada"));
    cohort
        .entry(&format!(
            "name: {}\n    repo: students/mallory\n    slug: mallory",
            yaml_str(&format!("Mallory {IMG}"))
        ))
        .repo("Ada", "ada");
    cohort.build(&[]).expect_code(0);
    let out = cohort.out();
    let students = cohort.students();
    assert!(
        students["mallory"]["error"].is_null(),
        "{}",
        students["mallory"]
    );
    assert_eq!(
        states(&students["ada"]),
        "verified verified verified verified"
    );

    let mut problems = Vec::new();
    for (rel, html) in html_files(&out) {
        problems.extend(active_content(&rel, &html));
    }
    assert!(
        problems.is_empty(),
        "active content in the output:\n{}",
        problems.join("\n")
    );

    // The student's theme and content overrides never reached the output.
    for rel in common::list_files(&out) {
        let bytes = std::fs::read(out.join(&rel)).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for marker in ["STUDENT-THEME-MARKER", "STUDENT-CONTENT-MARKER"] {
            assert!(!text.contains(marker), "{rel} holds {marker}");
        }
    }
    assert!(!out.join("students/mallory/evil/index.html").exists());

    // The payloads are shown, as text: on the dashboard (name, last commit)...
    let dashboard = common::read_output(&out, "index.html");
    let text = common::decode_entities(&dashboard);
    for payload in [
        format!("Mallory {IMG}"),
        format!("{SCRIPT} {IMG} last commit"),
        format!("Cohort {SCRIPT}"),
    ] {
        assert!(
            text.contains(&payload),
            "the dashboard does not show {payload:?} as text"
        );
    }
    // ...and on the student's pages: file names, front matter, commit messages, flag key, tag.
    let portfolio = common::decode_entities(&common::read_output(
        &out,
        "students/mallory/portfolio/index.html",
    ));
    for payload in [
        format!("library/raw/rollback-rehearsals/{IMG}.md"),
        format!("R {SCRIPT} {IMG}"),
        format!("flag_{SCRIPT}"),
        format!("Mallory {SCRIPT}"),
    ] {
        assert!(
            portfolio.contains(&payload),
            "the portfolio does not show {payload:?}"
        );
    }
    let pages = html_files(&out.join("students/mallory/portfolio"));
    // Text and attribute values (a commit's summary is its link's title).
    let all_text: String = pages
        .iter()
        .map(|(_, html)| text_of(html) + &common::decode_entities(html))
        .collect();
    for payload in [
        format!("Add records {IMG}"),
        "v9.9.9+<svg/onload=document.title=1>".to_string(),
        "{{ now() }} and {% if true %}x{% endif %}".to_string(),
        format!("</code></pre>{SCRIPT}"),
    ] {
        assert!(
            all_text.contains(&payload),
            "no student page shows {payload:?}"
        );
    }
    // The sanitiser kept the prose.
    assert!(all_text.contains("We rehearsed"));
    // No link to a web host came from the hostile remote URL.
    assert!(!all_text.contains("javascript:document.title='pwned'//"));
    // Every student page carries the no-script policy.
    for (rel, html) in html_files(&out.join("students")) {
        assert!(
            html.contains("Content-Security-Policy\" content=\"default-src 'none'"),
            "{rel} has no policy"
        );
    }
}

#[test]
fn symlinks_never_lead_out_of_a_repository() {
    let mut cohort = Cohort::new("Links");
    let secret_dir = cohort.root().join("instructor");
    std::fs::create_dir_all(&secret_dir).unwrap();
    std::fs::write(
        secret_dir.join("grades.sql"),
        "CREATE TABLE secret_grades_marker (x int);\n",
    )
    .unwrap();
    std::fs::write(
        secret_dir.join("notes.md"),
        "---\nflag: secret_notes_marker\nkind: release\n---\nsecret_notes_marker\n",
    )
    .unwrap();
    RepoBuilder::demo(&cohort.student_dir("victim"));
    let victim_before = common::snapshot(&cohort.student_dir("victim/library"));

    // library/ is a link into another student's repository.
    let linked = RepoBuilder::demo(&cohort.student_dir("linked"));
    std::fs::remove_dir_all(linked.root().join("library")).unwrap();
    std::os::unix::fs::symlink(
        cohort.student_dir("victim/library"),
        linked.root().join("library"),
    )
    .unwrap();
    // clinic.yaml is a link to a file outside.
    let config = RepoBuilder::demo(&cohort.student_dir("config"));
    std::fs::remove_file(config.root().join("clinic.yaml")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", config.root().join("clinic.yaml")).unwrap();
    // The history cache folder is a link: writing the cache would land in the other folder.
    let cache = RepoBuilder::demo(&cohort.student_dir("cache"));
    std::os::unix::fs::symlink(&secret_dir, cache.root().join(".clinic")).unwrap();
    // A migration record names SQL outside the repository, through `..` and through a link:
    // that record is incomplete, the rest of the student's portfolio is built.
    let dotdot = RepoBuilder::demo(&cohort.student_dir("dotdot"));
    dotdot.replace(
        "library/raw/migrations/display-name.md",
        "up: db/migrations/0009_drop_fullname.up.sql",
        "up: ../../instructor/grades.sql",
    );
    let via_link = RepoBuilder::demo(&cohort.student_dir("vialink"));
    std::os::unix::fs::symlink(&secret_dir, via_link.root().join("db/outside")).unwrap();
    via_link.replace(
        "library/raw/migrations/display-name.md",
        "up: db/migrations/0009_drop_fullname.up.sql",
        "up: db/outside/grades.sql",
    );
    // A record that is itself a link: skipped by the engine, the student still builds.
    let record = RepoBuilder::demo(&cohort.student_dir("record"));
    std::os::unix::fs::symlink(
        secret_dir.join("notes.md"),
        record.root().join("library/raw/flags/notes.md"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        "/etc/passwd",
        record.root().join("library/raw/flags/passwd.md"),
    )
    .unwrap();

    for name in [
        "victim", "linked", "config", "cache", "dotdot", "vialink", "record",
    ] {
        cohort.repo(name, name);
    }
    cohort.build(&[]).expect_code(0);
    let students = cohort.students();
    assert_eq!(
        states(&students["victim"]),
        "verified verified verified verified"
    );
    assert_eq!(
        states(&students["record"]),
        "verified verified verified verified"
    );
    for (slug, needle) in [
        (
            "dotdot",
            "`../../instructor/grades.sql` is not a path inside the repository",
        ),
        (
            "vialink",
            "`db/outside/grades.sql` goes through a symbolic link",
        ),
    ] {
        assert_eq!(
            states(&students[slug]),
            "verified incomplete verified verified",
            "{slug}"
        );
        let reasons = students[slug]["badges"]["migration"]["reasons"].to_string();
        assert!(reasons.contains(needle), "{slug}: {reasons}");
        assert!(
            cohort
                .out()
                .join("students")
                .join(slug)
                .join("index.html")
                .is_file(),
            "{slug}'s portfolio was not built"
        );
    }
    for (slug, needle) in [
        ("linked", "`library` is a symbolic link"),
        ("config", "`clinic.yaml` is a symbolic link"),
        ("cache", "`.clinic` is a symbolic link"),
    ] {
        let state = states(&students[slug]);
        assert!(
            state.starts_with("error: ") && state.contains(needle),
            "{slug}: {state}"
        );
        assert!(
            !cohort.out().join("students").join(slug).exists(),
            "{slug} was built"
        );
    }
    // Nothing from outside reached the output, the output holds no links, and nothing was
    // written through a link.
    let out = cohort.out();
    for rel in common::list_files(&out) {
        let path = out.join(&rel);
        assert!(
            !path.symlink_metadata().unwrap().file_type().is_symlink(),
            "{rel} is a link"
        );
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        for secret in ["secret_grades_marker", "secret_notes_marker", "root:x:0:0"] {
            assert!(!text.contains(secret), "{rel} holds {secret}");
        }
    }
    assert_eq!(
        std::fs::read_dir(&secret_dir).unwrap().count(),
        2,
        "something was written into the linked folder"
    );
    assert_eq!(
        common::snapshot(&cohort.student_dir("victim/library")),
        victim_before
    );
}

#[test]
fn oversized_and_deeply_nested_input_is_refused_in_bounded_time() {
    let mut cohort = Cohort::new("Limits");
    // 30,000 nested block quotes and 50,000 nested divs (html5ever would take minutes), and
    // 200,000 nested quotes, whose HTML is over the size cap.
    let deep = RepoBuilder::demo(&cohort.student_dir("deep"));
    let flag = deep.read("library/raw/flags/new_checkout.md");
    deep.write(
        "library/raw/flags/new_checkout.md",
        &format!("{flag}\n{}deep\n", ">".repeat(30_000)),
    );
    let migration = deep.read("library/raw/migrations/display-name.md");
    deep.write(
        "library/raw/migrations/display-name.md",
        &format!("{migration}\n{}deep\n", ">".repeat(200_000)),
    );
    let rehearsal = deep.read("library/raw/rollback-rehearsals/001.md");
    deep.write(
        "library/raw/rollback-rehearsals/001.md",
        &format!("{rehearsal}\n{}\n", "<div>".repeat(50_000)),
    );
    deep.commit("2026-10-23 10:00", "Deep write-ups");
    // A write-up over 256 KiB, and a record over 4 MiB.
    let big = RepoBuilder::demo(&cohort.student_dir("big"));
    let smoke = big.read("library/raw/smoke-drills/001.md");
    big.write(
        "library/raw/smoke-drills/001.md",
        &format!("{smoke}\n{}\n", "words and more words\n".repeat(15_000)),
    );
    big.commit("2026-10-23 10:00", "A long write-up");
    let huge = RepoBuilder::demo(&cohort.student_dir("huge"));
    huge.write(
        "library/raw/flags/huge.md",
        &format!(
            "---\nflag: huge\nkind: release\n---\n{}",
            "x".repeat(5 * 1024 * 1024)
        ),
    );
    // An alias bomb in a record's front matter.
    let bomb = RepoBuilder::demo(&cohort.student_dir("bomb"));
    let mut yaml = format!(
        "---\nflag: &big \"{}\"\nkind: release\ntags: [",
        "x".repeat(20_000)
    );
    for _ in 0..2000 {
        yaml.push_str("*big,");
    }
    bomb.write(
        "library/raw/flags/bomb.md",
        &format!("{yaml}]\n---\nBoom.\n"),
    );
    for name in ["deep", "big", "huge", "bomb"] {
        cohort.repo(name, name);
    }
    let started = Instant::now();
    cohort.build(&[]).expect_code(0);
    // A hang guard, not a speed measurement (benches/cohort.sh measures speed): unbounded
    // sanitising of these inputs takes minutes.
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );

    let students = cohort.students();
    let out = cohort.out();
    let flag_page = common::read_output(
        &out,
        "students/deep/portfolio/flags/new_checkout/index.html",
    );
    assert!(flag_page.contains("library/raw/flags/new_checkout.md: the write-up is not shown because it nests elements more than 100 levels deep"), "no notice");
    let rehearsal_page =
        common::read_output(&out, "students/deep/portfolio/rehearsals/001/index.html");
    assert!(rehearsal_page.contains("more than 100 levels deep"));
    let migration_page = common::read_output(
        &out,
        "students/deep/portfolio/migrations/display-name/index.html",
    );
    assert!(migration_page.contains("its rendered HTML is over 2 MiB"));
    let smoke_page =
        common::read_output(&out, "students/big/portfolio/smoke-drills/001/index.html");
    assert!(
        smoke_page
            .contains("library/raw/smoke-drills/001.md: the write-up is not shown because it is 3"),
        "no size notice"
    );
    assert!(
        states(&students["huge"])
            .contains("`library/raw/flags/huge.md` is 5120 KiB, over the 4096 KiB limit"),
        "{}",
        states(&students["huge"])
    );
    // The bomb is one broken record; the student is still built.
    assert!(students["bomb"]["error"].is_null());
    assert!(students["bomb"]["badges"]["flag"]["artifacts"]
        .to_string()
        .contains("library/raw/flags/bomb.md"));
    let evidence: Value =
        serde_json::from_str(&common::read_output(&out, "students/bomb/evidence.json")).unwrap();
    let bomb = evidence["badges"]["flag"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["artifact"] == "library/raw/flags/bomb.md")
        .unwrap();
    assert_eq!(bomb["state"], "incomplete");
    assert!(bomb["problems"].to_string().contains("aliases"), "{bomb}");
}

#[test]
fn html_depth_counts_nesting_without_parsing() {
    use clinic::render::html::html_depth;
    assert_eq!(html_depth("<p>a</p><p>b</p>"), 0);
    assert_eq!(
        html_depth("<blockquote><blockquote><p>x</p></blockquote></blockquote>"),
        2
    );
    assert_eq!(html_depth("<ul><li><ul><li>x</li></ul></li></ul>"), 2);
    assert_eq!(html_depth("<img src=\"a>b\"><br><hr/>"), 0);
    assert_eq!(html_depth(&"<div>".repeat(1000)), 1000);
    assert_eq!(html_depth("<!-- <div><div> --><b>x</b>"), 1);
    assert_eq!(html_depth("a < b and c <> d"), 0);
}

#[test]
fn two_builds_of_the_same_cohort_are_byte_identical() {
    let mut cohort = Cohort::new("Determinism");
    RepoBuilder::demo(&cohort.student_dir("ada"));
    partial(&cohort.student_dir("bob"));
    hostile(&cohort.student_dir("mallory"));
    RepoBuilder::init(&cohort.student_dir("empty"));
    let ada_evidence = cohort.root().join("ada-evidence.json");
    cohort
        .repo("Ada", "ada")
        .repo("Bob", "bob")
        .repo("Mallory", "mallory")
        .repo("Empty", "empty")
        .repo("Ada", "ada");
    cohort.build(&[]).expect_code(0);
    std::fs::copy(
        cohort.out().join("students/ada/evidence.json"),
        &ada_evidence,
    )
    .unwrap();
    cohort.entry("name: Ada from CI\n    evidence: ada-evidence.json");
    let first = cohort.root().join("first");
    let second = cohort.root().join("second");
    cohort.build_into(&first, &["--jobs", "1"]).expect_code(0);
    cohort.build_into(&second, &["--jobs", "2"]).expect_code(0);
    let a = common::snapshot(&first);
    let b = common::snapshot(&second);
    assert!(a.len() > 100, "only {} entries", a.len());
    let names = |s: &[(String, Vec<u8>)]| s.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b), "the two builds hold different files");
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{name} differs between two builds");
    }
    // The evidence-only student matches the repository student's badges.
    let json: Value = serde_json::from_str(&common::read_output(&first, "cohort.json")).unwrap();
    let students: BTreeMap<String, Value> = json["students"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["slug"].as_str().unwrap().to_string(), s.clone()))
        .collect();
    assert_eq!(states(&students["ada-from-ci"]), states(&students["ada"]));
    assert!(
        students["ada-2"]["error"].is_null(),
        "the duplicate name got its own folder"
    );
}

/// A local HTTP server for `evidence:` URLs: each request is answered on its own thread.
struct EvidenceServer {
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    port: u16,
}

impl EvidenceServer {
    fn start(good: Vec<u8>) -> EvidenceServer {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let thread = {
            let server = server.clone();
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    let good = good.clone();
                    std::thread::spawn(move || answer(request, &good));
                }
            })
        };
        EvidenceServer {
            server,
            thread: Some(thread),
            port,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }
}

impl Drop for EvidenceServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn answer(request: tiny_http::Request, good: &[u8]) {
    let _ = match request.url() {
        "/good.json" => request.respond(tiny_http::Response::from_data(good.to_vec())),
        "/slow.json" => {
            // Longer than the cohort's --fetch-timeout 1, bounded so the thread ends.
            std::thread::sleep(Duration::from_secs(4));
            request.respond(tiny_http::Response::from_data(good.to_vec()))
        }
        "/huge.json" => {
            request.respond(tiny_http::Response::from_data(vec![b' '; 6 * 1024 * 1024]))
        }
        "/huge-chunked.json" => {
            let body = std::io::Cursor::new(vec![b' '; 6 * 1024 * 1024]);
            request.respond(tiny_http::Response::new(
                200.into(),
                Vec::new(),
                body,
                None,
                None,
            ))
        }
        "/malformed.json" => request.respond(tiny_http::Response::from_string(
            r#"{"badges": {"rehearsal": {"state": "great", "reasons": [], "artifacts": []}}}"#,
        )),
        "/truncated.json" => request.respond(tiny_http::Response::from_data(
            good[..good.len() / 2].to_vec(),
        )),
        "/page.html" => request.respond(tiny_http::Response::from_string(format!(
            "<html>{SCRIPT}</html>"
        ))),
        _ => request.respond(tiny_http::Response::from_string("not found").with_status_code(404)),
    };
}

#[test]
fn evidence_urls_good_slow_huge_and_malformed() {
    let mut cohort = Cohort::new("Fetched");
    let ada = cohort.student_dir("ada");
    partial(&ada);
    cohort.repo("Ada", "ada");
    cohort.build(&[]).expect_code(0);
    let good = std::fs::read(cohort.out().join("students/ada/evidence.json")).unwrap();
    let server = EvidenceServer::start(good);
    cohort.entries.clear();
    for (name, path) in [
        ("Good", "good.json"),
        ("Slow", "slow.json"),
        ("Huge", "huge.json"),
        ("Chunked", "huge-chunked.json"),
        ("Malformed", "malformed.json"),
        ("Truncated", "truncated.json"),
        ("Page", "page.html"),
        ("Gone", "gone.json"),
    ] {
        cohort.entry(&format!("name: {name}\n    evidence: {}", server.url(path)));
    }
    cohort.entry("name: Closed\n    evidence: http://127.0.0.1:9/evidence.json");
    cohort.repo("Ada", "ada");
    let started = Instant::now();
    cohort.build(&["--fetch-timeout", "1"]).expect_code(0);
    let elapsed = started.elapsed();
    let students = cohort.students();
    assert_eq!(
        states(&students["good"]),
        "missing verified incomplete missing"
    );
    assert_eq!(states(&students["good"]), states(&students["ada"]));
    assert_eq!(students["good"]["releases"], 8);
    assert_eq!(
        students["good"]["last_commit"]["id"],
        students["ada"]["last_commit"]["id"]
    );
    for (slug, needle) in [
        ("slow", "did not answer within 1 s"),
        ("huge", "over the 4096 KiB limit"),
        ("chunked", "over the 4096 KiB limit"),
        (
            "malformed",
            "`badges.rehearsal.state` is not one of verified, incomplete, missing",
        ),
        ("truncated", "not valid JSON"),
        ("page", "not valid JSON"),
        ("gone", "HTTP 404"),
        ("closed", "cannot fetch the evidence URL"),
    ] {
        let state = states(&students[slug]);
        assert!(
            state.starts_with("error: ") && state.contains(needle),
            "{slug}: {state}"
        );
    }
    // The slow server never delayed the build by more than its time limit (a hang guard).
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
    let dashboard = common::read_output(&cohort.out(), "index.html");
    assert!(!dashboard.contains(SCRIPT));
    assert!(dashboard.contains("did not answer within 1 s"));
}

#[test]
fn roster_errors_name_the_file_and_line_and_exit_codes_follow_the_contract() {
    // A YAML error: nothing to build, exit 1, file and line.
    let mut cohort = Cohort::new("Errors");
    std::fs::write(
        cohort.roster(),
        "title: x\nstudents:\n  - name: a\n\t repo: b\n",
    )
    .unwrap();
    let run = common::clinic([std::ffi::OsStr::new("cohort"), cohort.roster().as_os_str()]);
    run.expect_code(1).expect_stderr("roster.yaml:4:");
    // No roster: usage, exit 2.
    common::clinic(["cohort", "/nonexistent/roster.yaml"])
        .expect_code(2)
        .expect_stderr("is not a file");
    common::clinic(["cohort"]).expect_code(2);
    common::clinic(["cohort", "r.yaml", "--jobs", "0"]).expect_code(2);

    // Bad entries are errors naming their line; the rest is still built, exit 1.
    RepoBuilder::demo(&cohort.student_dir("ada"));
    cohort
        .repo("Ada", "ada")
        .entry("name: No source")
        .entry("name: Both\n    repo: students/ada\n    evidence: x.json")
        .entry("name: Scheme\n    evidence: file:///etc/passwd")
        .entry("name: Escaper\n    repo: students/ada\n    slug: ../../escape");
    let run = cohort.build(&[]);
    run.expect_code(1)
        .expect_stderr("roster.yaml:5: this student has neither `repo:` nor `evidence:`")
        .expect_stderr("roster.yaml:8: this student has both")
        .expect_stderr("roster.yaml:10: `evidence:` uses the file: scheme")
        .expect_stderr("roster.yaml:13: slug \"../../escape\" is not one path segment");
    let students = cohort.students();
    assert_eq!(
        states(&students["ada"]),
        "verified verified verified verified"
    );
    assert!(states(&students["no-source"]).contains("roster entry: this student has neither"));
    // The bad slug fell back to the name's; nothing was written outside the output.
    assert!(students["escaper"]["error"].is_null());
    assert!(cohort
        .out()
        .join("students/escaper/portfolio/index.html")
        .is_file());
    let mut top: Vec<String> = std::fs::read_dir(cohort.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, ["out", "roster.yaml", "students"]);

    // Students in error alone: exit 0, or 1 with --strict; --quiet prints only errors.
    let mut cohort = Cohort::new("Strict");
    RepoBuilder::demo(&cohort.student_dir("ada"));
    cohort.repo("Ada", "ada").repo("Gone", "gone");
    let run = cohort.build(&["--quiet"]);
    run.expect_code(0);
    assert_eq!(run.stderr, "", "--quiet printed something");
    cohort
        .build(&["--strict"])
        .expect_code(1)
        .expect_stderr("student \"Gone\"");
    // An output folder that holds a student's clone is refused before anything is written.
    let inside = cohort.student_dir("ada").parent().unwrap().to_path_buf();
    let run = cohort.build_into(&inside, &[]);
    run.expect_code(2).expect_stderr("refusing to build into");
    assert!(cohort.student_dir("ada/.git").is_dir());

    let help = common::clinic(["cohort", "--help"]);
    help.expect_code(0);
    for needle in [
        "students:",
        "repo:",
        "evidence:",
        "--jobs",
        "--out",
        "--fetch-timeout",
        "Exit codes",
        "theme/ and content/ are ignored",
    ] {
        assert!(
            help.stdout.contains(needle),
            "--help lacks {needle:?}:\n{}",
            help.stdout
        );
    }
}

#[test]
fn progress_is_shown_on_a_terminal_only() {
    let mut cohort = Cohort::new("Progress");
    RepoBuilder::demo(&cohort.student_dir("ada"));
    cohort.repo("Ada", "ada").repo("Gone", "gone");
    cohort.write_roster();
    // `script` runs the command with a pseudo-terminal as its standard error.
    let command = format!(
        "{} cohort {} --out {}",
        env!("CARGO_BIN_EXE_clinic"),
        cohort.roster().display(),
        cohort.out().display()
    );
    let typed = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .expect("run `script` (util-linux)");
    let screen = String::from_utf8_lossy(&typed.stdout);
    assert!(typed.status.success(), "{screen}");
    assert!(screen.contains("Building students: 1/2"), "{screen:?}");
    assert!(screen.contains("Building students: 2/2"), "{screen:?}");
    assert!(
        screen.contains("Built the cohort dashboard for 2 students (1 in error)"),
        "{screen:?}"
    );
    // Not on a pipe, and never with --quiet.
    let run = cohort.build(&[]);
    assert!(!run.stderr.contains("Building students"), "{}", run.stderr);
    let quiet = std::process::Command::new("script")
        .args(["-qec", &format!("{command} --quiet"), "/dev/null"])
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&quiet.stdout);
    assert!(
        !screen.contains("Building students") && !screen.contains("Built the cohort"),
        "{screen:?}"
    );
}

#[test]
fn colliding_names_get_distinct_folders_with_a_warning() {
    let mut cohort = Cohort::new("Twins");
    RepoBuilder::demo(&cohort.student_dir("a"));
    partial(&cohort.student_dir("b"));
    cohort
        .repo("Ada", "a")
        .repo("ADA", "b")
        .repo("../../Ada", "a");
    let run = cohort.build(&[]);
    run.expect_code(0).expect_stderr(
        "roster.yaml:5: \"Ada\" (line 3) and \"ADA\" (line 5) both give the folder students/ada/",
    );
    let students = cohort.students();
    assert_eq!(
        states(&students["ada"]),
        "verified verified verified verified"
    );
    assert_eq!(
        states(&students["ada-2"]),
        "missing verified incomplete missing"
    );
    assert_eq!(
        states(&students["ada-3"]),
        "verified verified verified verified"
    );
    let index = common::read_output(&cohort.out(), "index.html");
    assert!(index.contains("href=\"/students/ada-2/portfolio/\""));

    // Under a base URL, every student's site lives at <base>/students/<slug>/.
    let run = cohort.build(&["--base-url", "https://course.example/cohort/"]);
    run.expect_code(0);
    let out = cohort.out();
    let index = common::read_output(&out, "index.html");
    assert!(index.contains("href=\"/cohort/students/ada-2/portfolio/\""));
    assert!(index.contains("src=\"/cohort/static/cohort.js\""));
    let portfolio = common::read_output(&out, "students/ada-2/portfolio/index.html");
    let mut shared = 0;
    for (tag, link) in common::links(&portfolio) {
        // The one way out: the header's link back to the dashboard.
        if link.starts_with('/') && link != "/cohort/" {
            assert!(
                link.starts_with("/cohort/students/ada-2/")
                    || link.starts_with("/cohort/handbook/"),
                "<{tag}> {link}"
            );
            shared += usize::from(link.starts_with("/cohort/handbook/"));
            // Every link lands on a file of the cohort's output.
            let rel = link["/cohort/".len()..].split('#').next().unwrap();
            let file = if rel.is_empty() || rel.ends_with('/') {
                format!("{rel}index.html")
            } else {
                rel.to_string()
            };
            assert!(out.join(&file).is_file(), "<{tag}> {link}: no {file}");
        }
    }
    assert!(
        shared > 10,
        "the menu and the stylesheets are the shared handbook's"
    );
    let sitemap = common::read_output(&out, "handbook/sitemap.xml");
    assert!(sitemap.contains("<loc>https://course.example/cohort/handbook/patterns/</loc>"));
    assert!(!out.join("students/ada-2/sitemap.xml").exists());
    let json: Value = serde_json::from_str(&common::read_output(&out, "cohort.json")).unwrap();
    assert_eq!(
        json["students"][1]["portfolio"],
        "https://course.example/cohort/students/ada-2/portfolio/"
    );
    cohort
        .build(&["--base-url", "not a url"])
        .expect_code(2)
        .expect_stderr("--base-url \"not a url\" is not an absolute http(s) URL");
}

// ---- Chromium ------------------------------------------------------------------------------

use common::browser::{browser_available, Browser, StaticServer};

/// Navigates, waits for the load event, then lets timers, image errors and SVG animations fire.
fn open_and_settle(browser: &mut Browser, url: &str) {
    browser.open(url);
    std::thread::sleep(Duration::from_millis(300));
}

/// Runs before any page script, whatever the page's policy: records policy violations and
/// anything that changes the title, so that a blocked payload is seen too.
const PROBE: &str = "window.__violations = []; \
    document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || '')));";

#[test]
fn chromium_runs_no_student_script_and_the_dashboard_sorts_and_filters() {
    if browser_available().is_none() {
        return;
    }
    let mut cohort = Cohort::new(&format!("Cohort {SCRIPT}"));
    hostile(&cohort.student_dir("mallory"));
    RepoBuilder::demo(&cohort.student_dir("ada"));
    partial(&cohort.student_dir("bob"));
    cohort
        .repo("Zed Ada", "ada")
        .entry(&format!(
            "name: {}\n    repo: students/mallory\n    slug: mallory",
            yaml_str(&format!("Mallory {IMG}"))
        ))
        .repo("Bob", "bob")
        .repo("Gone", "gone");
    cohort.build(&[]).expect_code(0);
    let out = cohort.out();
    let server = StaticServer::start(out.clone());
    let base = format!("http://127.0.0.1:{}/", server.port);
    let mut browser = Browser::launch(
        &cohort.root().join("profile"),
        &cohort.root().join("chromium.log"),
    );
    browser.call("Page.enable", json!({}));
    browser.call(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({"source": PROBE}),
    );

    // Every page of the hostile student, and the dashboard.
    let mut pages: Vec<String> = common::list_files(&out.join("students/mallory"))
        .into_iter()
        // The folder's home only sends the reader on to the portfolio (checked below).
        .filter(|rel| rel.ends_with("index.html") && rel.starts_with("portfolio/"))
        .map(|rel| {
            format!(
                "{base}students/mallory/{}",
                rel.trim_end_matches("index.html")
            )
        })
        .collect();
    assert!(pages.len() >= 6, "{pages:?}");
    let home = common::read_output(&out, "students/mallory/index.html");
    assert!(
        home.contains("content=\"0; url=/students/mallory/portfolio/\""),
        "{home}"
    );
    assert!(home.contains("Content-Security-Policy"), "{home}");
    pages.push(base.clone());
    for page in &pages {
        let url = common::percent_decode(page);
        open_and_settle(&mut browser, page);
        let state = browser.eval(
            "({title: document.title, violations: window.__violations, \
              scripts: [...document.scripts].map(s => s.src || s.textContent.slice(0, 80)), \
              handlers: [...document.querySelectorAll('*')].flatMap(e => [...e.attributes].filter(a => a.name.startsWith('on')).map(a => e.tagName + ' ' + a.name)), \
              frames: document.querySelectorAll('iframe, object, embed, form').length})",
        );
        assert_ne!(
            state["title"],
            json!("pwned"),
            "{url}: a script ran: {state}"
        );
        assert_eq!(
            state["violations"],
            json!([]),
            "{url}: the policy had to block something: {state}"
        );
        assert_eq!(state["handlers"], json!([]), "{url}: {state}");
        assert_eq!(state["frames"], json!(0), "{url}: {state}");
        let expected = if url == base {
            json!(["cohort", "search", "copy"]
                .iter()
                .map(|name| format!("{base}static/{name}.js"))
                .collect::<Vec<_>>())
        } else {
            json!([])
        };
        assert_eq!(state["scripts"], expected, "{url}: {state}");
    }

    // The payloads are visible as text.
    open_and_settle(&mut browser, &format!("{base}students/mallory/portfolio/"));
    let text = browser.eval("document.body.innerText");
    assert!(
        text.as_str().unwrap().contains(&format!("flag_{SCRIPT}")),
        "{text}"
    );

    // The dashboard's own script: sorting and filtering on the table.
    open_and_settle(&mut browser, &base);
    assert_eq!(
        browser.eval("document.getElementById('cohort-table').dataset.enhanced"),
        json!("true")
    );
    let names = "[...document.querySelectorAll('#cohort-table tbody tr')].filter(r => !r.hidden).map(r => r.id)";
    assert_eq!(
        browser.eval(names),
        json!([
            "student-zed-ada",
            "student-mallory",
            "student-bob",
            "student-gone"
        ])
    );
    browser.eval("document.querySelector('th[data-sort-key=name] button').click()");
    assert_eq!(
        browser.eval(names),
        json!([
            "student-bob",
            "student-gone",
            "student-mallory",
            "student-zed-ada"
        ])
    );
    browser.eval("document.querySelector('th[data-sort-key=flag] button').click()");
    assert_eq!(
        browser.eval(names),
        json!([
            "student-zed-ada",
            "student-mallory",
            "student-bob",
            "student-gone"
        ]),
        "verified, incomplete, missing, error"
    );
    browser.eval("document.querySelector('th[data-sort-key=flag] button').click()");
    assert_eq!(
        browser.eval(names),
        json!([
            "student-gone",
            "student-bob",
            "student-mallory",
            "student-zed-ada"
        ]),
        "reversed"
    );
    let search = |value: &str| {
        format!("(() => {{ const s = document.getElementById('cohort-search'); s.value = {value:?}; s.dispatchEvent(new Event('input')); }})()")
    };
    let show = |value: &str| {
        format!("(() => {{ const m = document.getElementById('cohort-show'); m.value = {value:?}; m.dispatchEvent(new Event('change')); }})()")
    };
    browser.eval(&search("BO"));
    assert_eq!(browser.eval(names), json!(["student-bob"]));
    assert_eq!(
        browser.eval("document.getElementById('cohort-count').textContent"),
        json!("1 of 4 students shown")
    );
    browser.eval(&search(""));
    browser.eval(&show("error"));
    assert_eq!(browser.eval(names), json!(["student-gone"]));
    browser.eval(&show("verified"));
    assert_eq!(
        browser.eval(names),
        json!(["student-mallory", "student-zed-ada"]),
        "in the last sort's order"
    );
    // By source: every student here was re-checked, none reported.
    let source = |value: &str| {
        format!("(() => {{ const m = document.getElementById('cohort-source'); m.value = {value:?}; m.dispatchEvent(new Event('change')); }})()")
    };
    browser.eval(&show("all"));
    browser.eval(&source("reported"));
    assert_eq!(browser.eval(names), json!([]));
    browser.eval(&source("rechecked"));
    assert_eq!(browser.eval(names).as_array().map(Vec::len), Some(4));
    browser.eval(&source("all"));

    // Without JavaScript the table is whole and the controls stay hidden.
    browser.call(
        "Emulation.setScriptExecutionDisabled",
        json!({"value": true}),
    );
    open_and_settle(&mut browser, &format!("{base}?nojs"));
    let plain = browser.eval("({rows: document.querySelectorAll('#cohort-table tbody tr').length, controls: document.getElementById('cohort-controls').checkVisibility(), cells: document.querySelectorAll('#cohort-table td').length})");
    // (Runtime.evaluate still runs with page scripts disabled.)
    assert_eq!(plain["rows"], 4, "{plain}");
    assert_eq!(plain["controls"], false, "{plain}");
    assert!(plain["cells"].as_u64().unwrap() >= 4 * 3, "{plain}");
    let shot = browser.call("Page.captureScreenshot", json!({"format": "png"}));
    assert!(shot["data"].as_str().unwrap().len() > 1000);
}

/// An instructor's build only reads student clones: no history cache (or anything else) is
/// written into them.
#[test]
fn student_clones_are_left_untouched() {
    let mut cohort = Cohort::new("Read only");
    RepoBuilder::demo(&cohort.student_dir("ada"));
    cohort.repo("Ada", "ada");
    let before = common::snapshot(&cohort.student_dir("ada"));
    cohort.build(&[]).expect_code(0);
    let after = common::snapshot(&cohort.student_dir("ada"));
    let names = |s: &[(String, Vec<u8>)]| s.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&before),
        names(&after),
        "the cohort build wrote into a student clone"
    );
    assert!(!cohort.student_dir("ada").join(".clinic").exists());
}

// ---- Trust (Revision 2, R7) and the course policy (R0) ----------------------------------------

/// An `evidence.json` whose four badges all claim to be verified.
fn claims_all_verified() -> String {
    let badge = json!({"state": "verified", "reasons": [], "artifacts": ["library/raw/x.md"]});
    json!({
        "badges": {"rehearsal": badge, "migration": badge, "smoke": badge, "flag": badge},
        "repository": {"head": "0123456789abcdef0123456789abcdef01234567", "releases": ["v1.0.0"]},
    })
    .to_string()
}

#[test]
fn reported_evidence_is_shown_and_counted_apart_from_rechecked_badges() {
    let mut cohort = Cohort::new("Trust");
    RepoBuilder::demo(&cohort.student_dir("ada"));
    std::fs::write(cohort.root().join("claims.json"), claims_all_verified()).unwrap();
    let server = EvidenceServer::start(claims_all_verified().into_bytes());
    cohort
        .repo("Ada Lovelace", "ada")
        .entry("name: Claire Claims\n    evidence: claims.json")
        .entry(&format!(
            "name: Uma Url\n    evidence: {}",
            server.url("good.json")
        ));
    cohort.build(&[]).expect_code(0);
    let out = cohort.out();

    // cohort.json: a trust per student, and counts split by it.
    let students = cohort.students();
    for slug in ["ada-lovelace", "claire-claims", "uma-url"] {
        assert_eq!(
            states(&students[slug]),
            "verified verified verified verified",
            "{slug}"
        );
    }
    assert_eq!(students["ada-lovelace"]["trust"], "rechecked");
    assert_eq!(students["claire-claims"]["trust"], "reported");
    assert_eq!(students["uma-url"]["trust"], "reported");
    assert_eq!(students["claire-claims"]["source"]["kind"], "evidence");
    let json: Value = serde_json::from_str(&common::read_output(&out, "cohort.json")).unwrap();
    let summary = &json["summary"];
    assert_eq!(summary["all_verified"], 3, "the total is kept: {summary}");
    assert_eq!(
        summary["by_trust"],
        json!({"rechecked": {"students": 1, "all_verified": 1, "errors": 0},
               "reported": {"students": 2, "all_verified": 2, "errors": 0}})
    );
    for badge in summary["badges"].as_array().unwrap() {
        assert_eq!(badge["verified"], 3, "{badge}");
        assert_eq!(
            badge["by_trust"],
            json!({"rechecked": {"verified": 1, "incomplete": 0, "missing": 0, "error": 0},
                   "reported": {"verified": 2, "incomplete": 0, "missing": 0, "error": 0}}),
            "{badge}"
        );
    }
    assert_eq!(json["policy"]["from_roster"], false);

    // cohort.csv: a `trust` column, added after the existing ones.
    let csv = common::read_output(&out, "cohort.csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("name,slug,source,rehearsal,migration,smoke,flag,last_commit")
            && lines[0].ends_with(",error,portfolio,trust"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with(
            "Ada Lovelace,ada-lovelace,repo: students/ada,verified,verified,verified,verified,"
        ),
        "{}",
        lines[1]
    );
    assert!(lines[1].ends_with(",rechecked"), "{}", lines[1]);
    assert!(lines[2].starts_with("Claire Claims,claire-claims,evidence: claims.json,verified,verified,verified,verified,"), "{}", lines[2]);
    assert!(lines[2].ends_with(",reported"), "{}", lines[2]);
    assert!(lines[3].ends_with(",reported"), "{}", lines[3]);

    // The page: a source per row, and reported cells that never look like re-checked ones.
    let index = common::read_output(&out, "index.html");
    let ada = common::between(&index, "<tr id=\"student-ada-lovelace\"", "</tr>");
    assert!(ada.contains("data-source=\"rechecked\""), "{ada}");
    assert!(ada.contains("recomputed here from the repository"), "{ada}");
    assert_eq!(
        ada.matches("<span class=\"badge badge-verified\">verified</span>")
            .count(),
        4,
        "{ada}"
    );
    assert!(!ada.contains("reported"), "{ada}");
    for slug in ["claire-claims", "uma-url"] {
        let row = common::between(&index, &format!("<tr id=\"student-{slug}\""), "</tr>");
        assert!(row.contains("data-source=\"reported\""), "{row}");
        assert!(text_of(row).contains("their CI's evidence.json"), "{row}");
        assert_eq!(
            row.matches("cohort-cell cohort-cell-verified cohort-cell-reported")
                .count(),
            4,
            "{row}"
        );
        assert_eq!(
            row.matches("badge badge-verified badge-reported").count(),
            4,
            "{row}"
        );
        assert!(
            !row.contains("<span class=\"badge badge-verified\">"),
            "{row}"
        );
        // The word is in each cell's text, for every reader.
        let cells: Vec<&str> = row.split("<td class=\"cohort-cell ").skip(1).collect();
        assert_eq!(cells.len(), 4);
        for cell in cells {
            assert!(
                text_of(cell).contains("verified · , reported"),
                "{}",
                text_of(cell)
            );
        }
    }
    let lede = common::between(&index, "<p class=\"cohort-lede\">", "</p>");
    assert!(
        text_of(lede).contains("3 students (1 re-checked, 2 reported) · all four badges verified: 1 re-checked, 2 reported"),
        "{}",
        text_of(lede)
    );
    let table = common::between(&index, "<table class=\"cohort-summary-table\">", "</table>");
    let flag = common::between(table, "Feature-flag lifecycle", "</tr>");
    assert!(
        flag.contains("<td>3<span class=\"cohort-split\"><span class=\"cohort-split-rechecked\">1 re-checked</span> <span class=\"cohort-split-reported\">2 reported</span>"),
        "{flag}"
    );
    assert!(
        index.contains("Source: <span class=\"trust trust-reported\">reported</span> (their CI"),
        "no legend"
    );
    assert!(index.contains("none in the roster"), "no policy line");
    let style = common::read_output(&out, "static/style.css");
    assert!(
        style.contains(".badge-reported {"),
        "no style for reported badges"
    );
}

/// A cohort of the demo (its flag lived 19 days; its own clinic.yaml says 14-day sprints and
/// `v*` releases), with `policy` lines in the roster; returns the build and the student.
fn with_policy(policy: &str) -> (common::Run, Value, String) {
    let mut cohort = Cohort::new("Policy");
    RepoBuilder::demo(&cohort.student_dir("ada"));
    cohort.preamble = policy.to_string();
    cohort.repo("Ada", "ada");
    let run = cohort.build(&[]);
    let json: Value =
        serde_json::from_str(&common::read_output(&cohort.out(), "cohort.json")).unwrap();
    let index = common::read_output(&cohort.out(), "index.html");
    let line = text_of(common::between(
        &index,
        "<p class=\"cohort-policy\"",
        "</p>",
    ))
    .split_whitespace()
    .collect::<Vec<_>>()
    .join(" ");
    let mut student = json["students"][0].clone();
    student["policy"] = json["policy"].clone();
    (run, student, line)
}

#[test]
fn a_roster_policy_replaces_each_students_own_settings() {
    let (run, ada, line) = with_policy("");
    run.expect_code(0);
    assert_eq!(states(&ada), "verified verified verified verified");
    assert!(line.contains("none in the roster"), "{line}");

    // Two-week flags under one-week sprints: the 19-day flag is now past two sprints.
    let (run, ada, line) = with_policy("policy:\n  sprint_length_days: 7\n");
    run.expect_code(0);
    assert_eq!(states(&ada), "verified verified verified incomplete");
    let reasons = ada["badges"]["flag"]["reasons"].to_string();
    assert!(reasons.contains("14"), "{reasons}");
    assert_eq!(
        ada["policy"],
        json!({"from_roster": true, "sprint_length_days": 7, "release_tag_pattern": null,
               "default_sprint_length_days": 14, "default_release_tag_pattern": "v*",
               "applies_to": "rechecked"})
    );
    assert!(line.contains("sprint length 7 days"), "{line}");
    assert!(
        line.contains("release tags each student's own (default v*)"),
        "{line}"
    );

    // No tag is a release under the course's pattern: the migration's halves lose the release
    // between them.
    let (run, ada, line) = with_policy("policy: {release_tag_pattern: \"release-*\"}\n");
    run.expect_code(0);
    assert_eq!(states(&ada), "verified incomplete verified verified");
    assert_eq!(ada["releases"], 0);
    assert_eq!(ada["policy"]["release_tag_pattern"], "release-*");
    assert!(line.contains("release tags release-*"), "{line}");
}

#[test]
fn a_policy_out_of_range_is_a_roster_error_at_its_line() {
    let (run, ada, _) = with_policy("policy: {sprint_length_days: 60}\n");
    run.expect_code(1)
        .expect_stderr("roster.yaml:2: the policy's `sprint_length_days` is 60")
        .expect_stderr("the default 14 applies");
    // The default applies, not the value the course got wrong.
    assert_eq!(ada["policy"]["sprint_length_days"], 14);
    assert_eq!(states(&ada), "verified verified verified verified");

    let (run, _, _) = with_policy(
        "policy:\n  # the course's rules\n  sprint_length_days: 3\n  sprint_length: 7\n",
    );
    run.expect_code(1)
        .expect_stderr("roster.yaml:4: the policy's `sprint_length_days` is 3")
        .expect_stderr("roster.yaml:5: unknown key `sprint_length` in the roster's `policy:`");
}
