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
#[derive(Debug, Clone)]
pub struct Urls {
    /// `/` or `/portfolio/`.
    pub base_path: String,
    /// `https://x.github.io/portfolio/`, when known.
    pub base_url: Option<String>,
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
        }
    }

    pub fn url(&self, path: &str) -> String {
        join_url(&self.base_path, path)
    }

    pub fn permalink(&self, path: &str) -> String {
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
