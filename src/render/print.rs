//! The print view (`portfolio/print/`): every portfolio page on one page, as an instructor grades
//! from it (like mdBook's `print.html`). It is made from the pages already rendered, so it shows
//! exactly what they show: the `<main>` of each, in the portfolio's order, with its ids prefixed
//! so that the sections' headings, labels and in-page links stay unique and keep pointing at
//! their own section.

use serde_json::{json, Value};

use crate::load::urls::Urls;

/// The template of the print view; the render gives it `sections: [{id, title, html}]`.
pub(crate) const TEMPLATE: &str = "print.html";

/// One rendered page as a section of the print view, or `None` when it has no `<main>`. Links
/// from the site's root become absolute when the site's URL is known: paper shows addresses.
pub(crate) fn section(path: &str, title: &str, page: &str, urls: &Urls) -> Option<Value> {
    let open = page.find("<main")?;
    let body_start = open + page[open..].find('>')? + 1;
    let body_end = page.rfind("</main>")?;
    let body = page.get(body_start..body_end)?;
    let id = section_id(path);
    let mut html = prefix_ids(&as_groups(&without_breadcrumbs(body)), &id);
    if let Some(base_url) = &urls.base_url {
        html = html.replace(
            &format!(" href=\"{}", urls.base_path),
            &format!(" href=\"{base_url}"),
        );
    }
    Some(json!({"id": id, "title": title, "html": html}))
}

/// A page's breadcrumb leads back to the portfolio, which the print view already holds; one
/// per section would also make a row of landmarks with the same name.
fn without_breadcrumbs(html: &str) -> String {
    const OPEN: &str = "<nav class=\"breadcrumb\"";
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find(OPEN) {
        let Some(end) = rest[start..].find("</nav>") else {
            break;
        };
        out.push_str(&rest[..start]);
        rest = &rest[start + end + "</nav>".len()..];
    }
    out.push_str(rest);
    out
}

/// A page's labelled `<section>`s are landmarks; on one page with every record, each record's
/// "Write-up" would be one more landmark of the same name. Here they are labelled groups.
fn as_groups(html: &str) -> String {
    html.replace("<section ", "<div role=\"group\" ")
        .replace("<section>", "<div>")
        .replace("</section>", "</div>")
}

/// `portfolio/flags/new-checkout/` becomes `portfolio-flags-new-checkout`.
fn section_id(path: &str) -> String {
    path.trim_matches('/').replace('/', "-")
}

/// Prefixes every `id`, every id an `aria-labelledby` or `aria-describedby` names, and every
/// in-page link (`href="#..."`) with `prefix-`. The HTML is the theme's and the sanitiser's
/// output, where attribute values are always double-quoted and text never holds a raw `"`.
fn prefix_ids(html: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(html.len() + html.len() / 20);
    let mut rest = html;
    const ATTRIBUTES: &[&str] = &[
        " id=\"",
        " aria-labelledby=\"",
        " aria-describedby=\"",
        " href=\"#",
    ];
    while let Some((at, attribute)) = ATTRIBUTES
        .iter()
        .filter_map(|a| rest.find(a).map(|i| (i, *a)))
        .min_by_key(|(i, _)| *i)
    {
        let value_start = at + attribute.len();
        out.push_str(&rest[..value_start]);
        let Some(len) = rest[value_start..].find('"') else {
            rest = &rest[value_start..];
            break;
        };
        let value = &rest[value_start..value_start + len];
        let prefixed: Vec<String> = value
            .split(' ')
            .filter(|v| !v.is_empty())
            .map(|v| format!("{prefix}-{v}"))
            .collect();
        out.push_str(&prefixed.join(" "));
        rest = &rest[value_start + len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_is_the_main_of_its_page_with_its_ids_prefixed() {
        let page = "<nav id=\"n\"></nav><main id=\"main\" class=\"main\">\
                    <nav class=\"breadcrumb\" aria-label=\"Breadcrumb\"><a href=\"/p/portfolio/\">Portfolio</a></nav>\
                    <section aria-labelledby=\"t\"><h2 id=\"t\">T <a class=\"anchor\" href=\"#t\">#</a></h2>\
                    <a href=\"/portfolio/\">back</a><p>id=\"x\" stays text</p></section></main><footer></footer>";
        let urls = Urls {
            base_path: "/p/".into(),
            base_url: None,
            shared: None,
        };
        let s = section("portfolio/flags/a/", "A", page, &urls).unwrap();
        assert_eq!(s["id"], "portfolio-flags-a");
        assert_eq!(
            s["html"],
            "<div role=\"group\" aria-labelledby=\"portfolio-flags-a-t\"><h2 id=\"portfolio-flags-a-t\">T \
             <a class=\"anchor\" href=\"#portfolio-flags-a-t\">#</a></h2>\
             <a href=\"/portfolio/\">back</a><p>id=\"x\" stays text</p></div>"
        );
        assert!(section("x/", "X", "<p>no main</p>", &urls).is_none());
    }

    #[test]
    fn links_from_the_root_become_absolute_when_the_site_url_is_known() {
        let urls = Urls {
            base_path: "/p/".into(),
            base_url: Some("https://a.github.io/p/".into()),
            shared: None,
        };
        let page = "<main><a href=\"/p/portfolio/\">x</a> <a href=\"https://e.com/\">y</a></main>";
        let s = section("portfolio/", "P", page, &urls).unwrap();
        assert_eq!(
            s["html"],
            "<a href=\"https://a.github.io/p/portfolio/\">x</a> <a href=\"https://e.com/\">y</a>"
        );
    }
}
