//! The small things of a shared portfolio: Open Graph and Twitter meta with a badge summary, a
//! favicon, `robots.txt` naming the sitemap only by an absolute address, the "Embed the badges"
//! note when the site's address is unknown, and the rehearsal timeline's notes.

mod common;

use common::git::RepoBuilder;
use common::{build_into, read_output};

#[test]
fn a_shared_portfolio_link_previews_with_its_badges_and_robots_names_the_sitemap() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = RepoBuilder::demo(&tmp.path().join("demo"));
    let out = tmp.path().join("out");
    build_into(
        repo.root(),
        &out,
        &["--base-url", "https://ada.github.io/orders-api/"],
    )
    .expect_code(0);

    let portfolio = read_output(&out, "portfolio/index.html");
    for needle in [
        "<meta property=\"og:title\" content=\"Portfolio\">",
        "<meta property=\"og:description\" content=\"Evidence badges. Rollback rehearsal: verified, Expand-contract migration: verified, Smoke gate: verified, Feature-flag lifecycle: verified.\">",
        "<meta property=\"og:url\" content=\"https://ada.github.io/orders-api/portfolio/\">",
        "<meta name=\"twitter:card\" content=\"summary\">",
        "<link rel=\"icon\" href=\"/orders-api/static/favicon.svg\" type=\"image/svg+xml\">",
    ] {
        assert!(portfolio.contains(needle), "{needle} is not in the portfolio page");
    }
    // A handbook page describes itself.
    let page = read_output(&out, "patterns/expand-contract/index.html");
    assert!(page.contains("<meta property=\"og:description\" content=\"How to change"));
    assert!(out.join("static/favicon.svg").is_file());
    assert_eq!(
        read_output(&out, "robots.txt"),
        "User-agent: *\nAllow: /\nSitemap: https://ada.github.io/orders-api/sitemap.xml\n"
    );
    assert!(read_output(&out, "sitemap.xml")
        .contains("<loc>https://ada.github.io/orders-api/portfolio/</loc>"));
    // The address is known: the badges' snippet is absolute and needs no note.
    assert!(!portfolio.contains("class=\"embed-note\""));
    assert!(portfolio.contains("https://ada.github.io/orders-api/badges/rehearsal.svg"));

    // The rehearsal's timeline shows what the student noted beside each mark.
    let rehearsal = read_output(&out, "portfolio/rehearsals/001/index.html");
    assert!(
        rehearsal.contains("<td>checkout 5xx rate at 4.1% on the staging dashboard</td>"),
        "{}",
        common::between(&rehearsal, "<caption>Timeline entries", "</table>")
    );
}

#[test]
fn without_a_base_url_robots_names_no_sitemap_and_the_embed_snippet_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = RepoBuilder::demo(&tmp.path().join("demo"));
    let out = tmp.path().join("out");
    build_into(repo.root(), &out, &[]).expect_code(0);
    assert_eq!(read_output(&out, "robots.txt"), "User-agent: *\nAllow: /\n");
    assert!(
        !out.join("sitemap.xml").exists(),
        "robots.txt names no sitemap because there is none"
    );
    let portfolio = read_output(&out, "portfolio/index.html");
    let note = common::between(&portfolio, "<p class=\"embed-note\">", "</p>");
    assert!(note.contains("Set <code>base_url</code>"), "{note}");
    assert!(!portfolio.contains("og:url"));
}

#[test]
fn reasons_show_their_backticked_values_as_code_and_stay_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = RepoBuilder::demo(&tmp.path().join("demo"));
    repo.replace(
        "library/raw/rollback-rehearsals/001.md",
        "restored_release: v1.2.0",
        "restored_release: v9.9.9<b>x</b>",
    );
    repo.commit(
        "2026-11-01 10:00",
        "Rehearsal: a release that does not exist",
    );
    let out = tmp.path().join("out");
    build_into(repo.root(), &out, &[]).expect_code(0);
    let portfolio = read_output(&out, "portfolio/index.html");
    let reasons = common::between(&portfolio, "<ul class=\"reasons\">", "</ul>");
    assert!(
        reasons.contains("<code>restored_release: v9.9.9&lt;b&gt;x&lt;&#x2F;b&gt;</code>")
            || reasons.contains("<code>restored_release: v9.9.9&lt;b&gt;x&lt;/b&gt;</code>"),
        "{reasons}"
    );
    assert!(!reasons.contains('`'), "{reasons}");
    let record = read_output(&out, "portfolio/rehearsals/001/index.html");
    let problems = common::between(&record, "<section class=\"problems\"", "</section>");
    assert!(
        problems.contains("<code>restored_release: v9.9.9"),
        "{problems}"
    );
}
