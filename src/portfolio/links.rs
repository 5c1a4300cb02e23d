//! Links and images in a record's write-up: a link to another record becomes that record's page,
//! a link or image to another file of the repository becomes a copy published under
//! `portfolio/files/` (the write step copies it, see [`crate::load::attachments`]), and a target
//! that is no record, leaves the repository or is of a kind that is never published is reported
//! at its file and line (an error with `--strict`).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use crate::diagnostics::Diagnostic;
use crate::load::urls::Urls;
use crate::render::markdown::Link;
use crate::render::{has_scheme, join_relative};

/// Where published attachments go: `portfolio/files/<path in the repository>`.
pub(crate) const FILES: &str = "portfolio/files/";
/// File types published as attachments: images, PDFs and text. Never HTML, SVG or scripts,
/// which a browser would run on the site's address when the file is opened.
pub(crate) const PUBLISHED: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "webp", "avif", "pdf", "txt", "log", "csv",
];

/// A file a write-up links to, to publish: its repository path, and where the first link to
/// it is (the record and its line), for the warning when the file cannot be published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attachment {
    pub(crate) path: String,
    pub(crate) record: String,
    pub(crate) line: usize,
}

/// What the write-ups of one portfolio link to, gathered while they are rendered.
pub(crate) struct WriteUpLinks<'a> {
    urls: &'a Urls,
    /// Record file (`library/raw/migrations/x.md`) to its page's URL.
    records: HashMap<String, String>,
    /// Repository paths of the files to publish, each with the first record and line that
    /// links it.
    attachments: RefCell<BTreeMap<String, (String, usize)>>,
    pub(crate) diagnostics: RefCell<Vec<Diagnostic>>,
}

impl<'a> WriteUpLinks<'a> {
    pub(crate) fn new(urls: &'a Urls, records: HashMap<String, String>) -> Self {
        WriteUpLinks {
            urls,
            records,
            attachments: RefCell::default(),
            diagnostics: RefCell::default(),
        }
    }

    /// The files to publish, by path.
    pub(crate) fn into_attachments(self) -> (Vec<Attachment>, Vec<Diagnostic>) {
        let attachments = self
            .attachments
            .into_inner()
            .into_iter()
            .map(|(path, (record, line))| Attachment { path, record, line })
            .collect();
        (attachments, self.diagnostics.into_inner())
    }

    /// Resolves `href` as written on file line `line` of the record file `artifact`.
    pub(crate) fn resolve(&self, artifact: &str, href: &str, line: usize) -> Link {
        if href.is_empty() || href.starts_with('#') || href.starts_with('/') || has_scheme(href) {
            return Link::Keep;
        }
        let split_at = href.find(['#', '?']).unwrap_or(href.len());
        let (target, suffix) = href.split_at(split_at);
        let folder = artifact.rfind('/').map_or("", |i| &artifact[..=i]);
        let Some(path) = join_relative(folder, target) else {
            return Link::Broken("it leads out of the repository".into());
        };
        if path.ends_with(".md") {
            return match self.records.get(&path) {
                Some(url) => Link::Rewrite(format!("{url}{suffix}")),
                None => Link::Broken(format!(
                    "there is no record at {path} (links between records name a record file)"
                )),
            };
        }
        if path.split('/').any(|part| part == ".git") {
            return Link::Broken("files under .git are never published".into());
        }
        let extension = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
        if !extension.is_some_and(|e| PUBLISHED.contains(&e.as_str())) {
            return Link::Broken(format!(
                "{path} is not published: only images, PDFs and text files ({}) are",
                PUBLISHED.join(", ")
            ));
        }
        self.attachments
            .borrow_mut()
            .entry(path.clone())
            .or_insert_with(|| (artifact.to_string(), line));
        Link::Rewrite(format!(
            "{}{suffix}",
            self.urls.url(&format!("{FILES}{path}"))
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(urls: &Urls) -> WriteUpLinks<'_> {
        let records = HashMap::from([(
            "library/raw/migrations/a.md".to_string(),
            "/p/portfolio/migrations/a/".to_string(),
        )]);
        WriteUpLinks::new(urls, records)
    }

    #[test]
    fn records_pages_attachments_and_broken_targets() {
        let urls = Urls {
            base_path: "/p/".into(),
            base_url: None,
            shared: None,
        };
        let l = links(&urls);
        let from = "library/raw/smoke-drills/001.md";
        let rewrite = |href: &str| match l.resolve(from, href, 7) {
            Link::Rewrite(url) => url,
            Link::Keep => "keep".into(),
            Link::Broken(why) => format!("broken: {why}"),
        };
        assert_eq!(
            rewrite("../migrations/a.md#why"),
            "/p/portfolio/migrations/a/#why"
        );
        assert_eq!(
            rewrite("ci-blocked.png"),
            "/p/portfolio/files/library/raw/smoke-drills/ci-blocked.png"
        );
        assert!(rewrite("../migrations/nope.md").starts_with("broken: there is no record"));
        assert!(rewrite("../../../../etc/passwd").contains("out of the repository"));
        assert!(rewrite("../../../.git/config").contains("never published"));
        assert!(rewrite("../../../.git/x.png").contains(".git"));
        assert!(rewrite("evil.svg").contains("not published"));
        assert_eq!(rewrite("https://ci.example/run/1"), "keep");
        assert_eq!(rewrite("#top"), "keep");
        assert_eq!(
            l.into_attachments().0,
            [Attachment {
                path: "library/raw/smoke-drills/ci-blocked.png".into(),
                record: from.into(),
                line: 7
            }]
        );
    }
}
