//! How pages are addressed: the site's base URL (from `clinic.yaml` or `--base-url`), its base
//! path, and the joins that turn site-relative paths into URLs and permalinks. Templates reach
//! it through the `url` function, pages through [`Urls`].

/// Accepts `https://host/path` with or without a trailing slash; returns it with one.
pub(crate) fn normalise_base_url(url: &str) -> Result<String, String> {
    let url = url.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("write it as https://someone.github.io/portfolio/")?;
    if rest.is_empty() || rest.starts_with('/') || rest.contains(['?', '#', ' ', '"', '<', '>']) {
        return Err("write it as https://someone.github.io/portfolio/".to_string());
    }
    Ok(format!("{}/", url.trim_end_matches('/')))
}

/// Joins a base path (`/` or `/portfolio/`) and a site-relative path.
pub(crate) fn join_url(base_path: &str, path: &str) -> String {
    format!("{base_path}{}", path.trim_start_matches('/'))
}

/// A URL path piece or heading id, GitHub style: lowercase, spaces to `-`, other punctuation
/// dropped (`Rollback vs roll-forward` -> `rollback-vs-roll-forward`).
pub(crate) fn slug(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    for c in text.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() || c == '_' {
            slug.push(c);
        } else if (c == '-' || c.is_whitespace()) && !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_string()
}

/// How pages are addressed: site-relative paths become URLs and permalinks.
#[derive(Debug, Clone, Hash)]
pub struct Urls {
    /// `/` or `/portfolio/`.
    pub base_path: String,
    /// `https://x.github.io/portfolio/`, when known.
    pub base_url: Option<String>,
    /// In a cohort, a student's folder holds only the student's own pages (see [`is_own`]);
    /// every other path (the handbook, the theme's static files) is the cohort's one shared
    /// copy, addressed from this base.
    pub shared: Option<Box<Urls>>,
}

/// The paths of a student's own site in a cohort: the portfolio, the badges, `evidence.json`
/// and the folder's home (which leads to the portfolio).
pub(crate) fn is_own(path: &str) -> bool {
    use crate::portfolio::{BADGES, EVIDENCE_FILE, PORTFOLIO};
    let path = path.trim_start_matches('/');
    path.is_empty()
        || path == EVIDENCE_FILE
        || [PORTFOLIO, BADGES].iter().any(|own| {
            let folder = own.trim_end_matches('/');
            path.strip_prefix(folder)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '#', '?']))
        })
}

impl Urls {
    pub fn new(base_url: Option<&str>) -> Urls {
        let base_path = base_url
            .and_then(|u| u.split("://").nth(1))
            .and_then(|rest| rest.find('/').map(|i| rest[i..].to_string()))
            .unwrap_or_else(|| "/".to_string());
        Urls {
            base_path,
            base_url: base_url.map(str::to_string),
            shared: None,
        }
    }

    /// Where `path` lives: this site, or the cohort's shared copy for a path that is not the
    /// student's own.
    fn owner(&self, path: &str) -> &Urls {
        match &self.shared {
            Some(shared) if !is_own(path) => shared,
            _ => self,
        }
    }

    pub fn url(&self, path: &str) -> String {
        join_url(&self.owner(path).base_path, path)
    }

    pub fn permalink(&self, path: &str) -> String {
        let owner = self.owner(path);
        if !std::ptr::eq(owner, self) {
            return owner.permalink(path);
        }
        match &self.base_url {
            Some(base) => format!("{base}{}", path.trim_start_matches('/')),
            None => self.url(path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_github() {
        assert_eq!(slug("evidence.json"), "evidencejson");
        assert_eq!(slug("Rollback vs roll-forward"), "rollback-vs-roll-forward");
        assert_eq!(slug("  Why `--rollback`?  "), "why-rollback");
    }

    #[test]
    fn a_cohort_students_own_paths_stay_and_the_rest_is_shared() {
        let mut urls = Urls::new(Some("https://c.example/course/students/ada/"));
        urls.shared = Some(Box::new(Urls::new(Some(
            "https://c.example/course/handbook/",
        ))));
        assert_eq!(
            urls.url("portfolio/flags/x/"),
            "/course/students/ada/portfolio/flags/x/"
        );
        assert_eq!(
            urls.url("evidence.json"),
            "/course/students/ada/evidence.json"
        );
        assert_eq!(
            urls.url("badges/flag.svg"),
            "/course/students/ada/badges/flag.svg"
        );
        assert_eq!(urls.url(""), "/course/students/ada/");
        assert_eq!(
            urls.url("patterns/expand-contract/"),
            "/course/handbook/patterns/expand-contract/"
        );
        assert_eq!(
            urls.url("static/style.css"),
            "/course/handbook/static/style.css"
        );
        assert_eq!(urls.url("portfolios/"), "/course/handbook/portfolios/");
        assert_eq!(
            urls.permalink("mistakes/"),
            "https://c.example/course/handbook/mistakes/"
        );
        assert_eq!(
            urls.permalink("portfolio/"),
            "https://c.example/course/students/ada/portfolio/"
        );
    }

    #[test]
    fn base_path_from_base_url() {
        let urls = Urls::new(Some("https://someone.github.io/portfolio/"));
        assert_eq!(urls.base_path, "/portfolio/");
        assert_eq!(urls.url("a/"), "/portfolio/a/");
        assert_eq!(
            urls.permalink("a/"),
            "https://someone.github.io/portfolio/a/"
        );
        assert_eq!(Urls::new(Some("https://x.org/")).base_path, "/");
        assert_eq!(Urls::new(None).permalink("a/"), "/a/");
    }
}
