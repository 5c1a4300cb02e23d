//! Links to the repository's web host (GitHub, GitLab, or anything with GitHub-style URLs),
//! derived from the `origin` remote in its ssh or https form, or set in `clinic.yaml`.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    GitHub,
    GitLab,
    Other,
}

/// The web page of a repository, e.g. `https://github.com/ada-example/orders-api`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebHost {
    pub url: String,
    pub kind: Kind,
}

impl WebHost {
    /// From a `repository_url` setting or a remote URL; `None` when it is not a web host
    /// (a local path, for instance).
    pub fn parse(remote: &str) -> Option<WebHost> {
        let remote = remote.trim();
        let (host, path) = if let Some(rest) = remote
            .strip_prefix("https://")
            .or_else(|| remote.strip_prefix("http://"))
        {
            let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r); // drop credentials
            rest.split_once('/')?
        } else if let Some(rest) = remote.strip_prefix("ssh://") {
            let rest = rest.split_once('@').map_or(rest, |(_, r)| r);
            let (host, path) = rest.split_once('/')?;
            (host.split(':').next().unwrap_or(host), path)
        } else if let Some((user_host, path)) = remote.split_once(':') {
            // scp-like `git@github.com:owner/repo.git`
            let host = user_host.rsplit_once('@').map_or(user_host, |(_, h)| h);
            if host.contains('/') || host.is_empty() || path.starts_with('/') {
                return None;
            }
            (host, path)
        } else {
            return None;
        };
        let path = path
            .trim_end_matches('/')
            .trim_end_matches(".git")
            .trim_matches('/');
        let safe = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._/~".contains(c))
        };
        if !safe(host) || !safe(path) || !path.contains('/') || path.contains("..") {
            return None;
        }
        let kind = if host == "github.com" {
            Kind::GitHub
        } else if host.contains("gitlab") {
            Kind::GitLab
        } else {
            Kind::Other
        };
        Some(WebHost {
            url: format!("https://{host}/{path}"),
            kind,
        })
    }

    pub fn commit_url(&self, id: &str) -> String {
        match self.kind {
            Kind::GitLab => format!("{}/-/commit/{id}", self.url),
            _ => format!("{}/commit/{id}", self.url),
        }
    }

    pub fn release_url(&self, tag: &str) -> String {
        match self.kind {
            Kind::GitLab => format!("{}/-/tags/{tag}", self.url),
            _ => format!("{}/releases/tag/{tag}", self.url),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_forms() {
        let gh = "https://github.com/ada/orders-api";
        for remote in [
            "git@github.com:ada/orders-api.git",
            "https://github.com/ada/orders-api.git",
            "ssh://git@github.com/ada/orders-api.git",
            "https://token@github.com/ada/orders-api/",
        ] {
            assert_eq!(
                WebHost::parse(remote).map(|w| w.url),
                Some(gh.to_string()),
                "{remote}"
            );
        }
        let gl = WebHost::parse("git@gitlab.com:group/sub/app.git").unwrap();
        assert_eq!(gl.kind, Kind::GitLab);
        assert_eq!(
            gl.commit_url("abc"),
            "https://gitlab.com/group/sub/app/-/commit/abc"
        );
        assert_eq!(
            WebHost::parse(gh).unwrap().release_url("v1.0.0"),
            "https://github.com/ada/orders-api/releases/tag/v1.0.0"
        );
    }

    #[test]
    fn local_and_hostile_remotes_are_not_hosts() {
        for remote in [
            "/srv/git/app.git",
            "../app",
            "file:///tmp/x",
            "https://github.com/a/\"onmouseover=alert(1)",
            "https://evil/../x",
        ] {
            assert!(WebHost::parse(remote).is_none(), "{remote}");
        }
    }
}
