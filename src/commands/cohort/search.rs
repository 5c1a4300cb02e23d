//! The dashboard's search over the students' write-ups: every portfolio page of every student
//! whose site was built (the print view aside, which repeats them), in one index at the cohort's
//! root, with the handbook's search box and search page.
//!
//! The documents are taken from the student pages as written, so a single run and the merge of
//! a sharded one (which reads the pages back from the parts) index the same text. Students'
//! words are untrusted: the index holds text only, and the browser inserts titles and snippets
//! with `textContent` (`static/search.js`). The student pages themselves allow no script, so the
//! box is on the dashboard and its search page only.

use serde_json::json;
use tera::Context;

use super::{BuildError, Output, Theme, Urls, STUDENTS};
use crate::render::search::{self, Doc, Vocabulary};

/// The dashboard's search page (the box's Enter), at the cohort's root like the index.
const PAGE: &str = "search/";
/// The policy of the search page: the dashboard's own, which may fetch the index.
const PAGE_CSP: &str = "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'\">";

/// The search documents of one student's pages (`files`: the folder's files, relative to it).
pub(super) fn write_up_docs<'a>(
    slug: &str,
    name: &str,
    files: impl Iterator<Item = (&'a str, &'a [u8])>,
    vocabulary: &Vocabulary,
) -> Vec<Doc> {
    let portfolio = crate::portfolio::PORTFOLIO;
    let mut docs: Vec<Doc> = files
        .filter(|(rel, _)| {
            rel.starts_with(portfolio)
                && rel.ends_with("index.html")
                && !rel.starts_with(&format!("{portfolio}print/"))
        })
        .map(|(rel, bytes)| {
            let html = String::from_utf8_lossy(bytes);
            let heading = first_heading(&html).unwrap_or_default();
            let path = format!("{STUDENTS}{slug}/{}", rel.trim_end_matches("index.html"));
            Doc::from_page(&path, &format!("{name} · {heading}"), &html, vocabulary)
        })
        .collect();
    in_index_order(&mut docs);
    docs
}

/// A student's documents in the order the dashboard's index lists them: by path, so that a
/// single run and a sharded run's merge, which read the pages in different orders, write the
/// same index.
pub(super) fn in_index_order(docs: &mut [Doc]) {
    docs.sort_by(|a, b| a.path.cmp(&b.path));
}

/// The text of the page's first `<h1>`.
fn first_heading(html: &str) -> Option<String> {
    let start = html.find("<h1")?;
    let end = start + html[start..].find("</h1>")?;
    Some(search::text_of(&html[start..end + "</h1>".len()]))
}

/// Writes the index and the search page. Nothing is written without documents (no student's
/// site was built): the dashboard then has no search box.
pub(super) fn write(
    docs: &[Doc],
    vocabulary: &Vocabulary,
    title: &str,
    urls: &Urls,
    theme: &Theme,
    output: &Output,
) -> Result<(), BuildError> {
    if docs.is_empty() {
        return Ok(());
    }
    let docs: Vec<&Doc> = docs.iter().collect();
    output.write_with(search::INDEX_FILE, &mut |out| {
        search::write_index(&docs, vocabulary, urls, out)
    })?;
    let mut context = Context::new();
    context.insert("site", &site_value(title, urls));
    context.insert(
        "page",
        &json!({"title": "Search", "description": "", "path": PAGE,
                "permalink": urls.permalink(PAGE), "toc": []}),
    );
    context.insert("nav", &json!([]));
    context.insert("current_path", PAGE);
    let html = theme
        .render("search.html", &context)
        .map_err(BuildError::Fatal)?;
    let html = html.replacen("<head>", &format!("<head>\n  {PAGE_CSP}"), 1);
    output.write(&format!("{PAGE}index.html"), html.as_bytes())?;
    Ok(())
}

/// The `site` value of the dashboard's pages: `search` when there is an index, `cohort` so the
/// search box and page speak of the students' write-ups.
pub(super) fn site_value(title: &str, urls: &Urls) -> serde_json::Value {
    json!({"title": title, "description": "", "base_path": urls.base_path, "language": "en",
           "search": true, "cohort": true})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_students_write_ups_are_indexed_by_their_pages_and_not_the_print_view() {
        let page = |h1: &str, text: &str| {
            format!("<html><head></head><body><nav>menu</nav><main><h1>{h1}</h1><p>{text}</p></main></body></html>")
        };
        let files = [
            ("index.html".to_string(), b"<p>redirect</p>".to_vec()),
            (
                "portfolio/index.html".to_string(),
                page("Portfolio", "four badges").into_bytes(),
            ),
            (
                "portfolio/flags/new_checkout/index.html".to_string(),
                page(
                    "Retiring <code>new_checkout</code>",
                    "both branches deleted",
                )
                .into_bytes(),
            ),
            (
                "portfolio/print/index.html".to_string(),
                page("Print", "everything again").into_bytes(),
            ),
            ("evidence.json".to_string(), b"{}".to_vec()),
        ];
        let docs = write_up_docs(
            "ada",
            "Ada Lovelace",
            files.iter().map(|(r, b)| (r.as_str(), b.as_slice())),
            &Vocabulary::default(),
        );
        let seen: Vec<(&str, &str)> = docs
            .iter()
            .map(|d| (d.path.as_str(), d.title.as_str()))
            .collect();
        assert_eq!(
            seen,
            vec![
                ("students/ada/portfolio/", "Ada Lovelace · Portfolio"),
                (
                    "students/ada/portfolio/flags/new_checkout/",
                    "Ada Lovelace · Retiring new_checkout"
                ),
            ]
        );
        assert_eq!(
            docs[1].snippet,
            "Retiring new_checkout both branches deleted"
        );
    }

    #[test]
    fn a_students_documents_come_in_one_order_however_the_pages_are_read() {
        let page = b"<main><h1>R</h1><p>rollback</p></main>".as_slice();
        let whole_paths = [
            "portfolio/rehearsals/001-retry/index.html",
            "portfolio/rehearsals/001/index.html",
        ];
        let paths_of = |files: &[&str]| -> Vec<String> {
            let vocabulary = Vocabulary::default();
            let docs = write_up_docs("ada", "Ada", files.iter().map(|f| (*f, page)), &vocabulary);
            docs.into_iter().map(|d| d.path).collect()
        };
        // A single run reads them sorted by whole path; a merge's walk, folder by folder.
        let folder_by_folder = [whole_paths[1], whole_paths[0]];
        assert_eq!(paths_of(&whole_paths), paths_of(&folder_by_folder));
        // The merge hands them over one page at a time, then orders them.
        let mut one_at_a_time: Vec<Doc> = folder_by_folder
            .iter()
            .flat_map(|f| {
                write_up_docs(
                    "ada",
                    "Ada",
                    std::iter::once((*f, page)),
                    &Vocabulary::default(),
                )
            })
            .collect();
        in_index_order(&mut one_at_a_time);
        let merged: Vec<String> = one_at_a_time.into_iter().map(|d| d.path).collect();
        assert_eq!(merged, paths_of(&whole_paths));
    }
}
