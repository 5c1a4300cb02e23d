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

    /// Whether `url` is a CI run of this repository: GitHub
    /// `https://github.com/<owner>/<repo>/actions/runs/<digits>`, GitLab
    /// `https://<host>/<group>/<repo>/-/pipelines/<digits>` or `/-/jobs/<digits>`. Owner and name
    /// compare case-insensitively, as GitHub does. On another host any https URL is accepted.
    pub fn is_ci_run(&self, url: &str) -> bool {
        let Some(rest) = url
            .get(..self.url.len())
            .filter(|head| head.eq_ignore_ascii_case(&self.url))
            .map(|_| &url[self.url.len()..])
        else {
            return self.kind == Kind::Other && url.starts_with("https://");
        };
        let rest = rest.split(['?', '#']).next().unwrap_or("");
        let prefixes: &[&str] = match self.kind {
            Kind::GitHub => &["/actions/runs/"],
            Kind::GitLab => &["/-/pipelines/", "/-/jobs/"],
            Kind::Other => return url.starts_with("https://"),
        };
        prefixes.iter().any(|prefix| {
            rest.strip_prefix(prefix).is_some_and(|tail| {
                let digits = tail.split('/').next().unwrap_or("");
                !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
            })
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
    fn ci_runs_of_this_repository_only() {
        let gh = WebHost::parse("git@github.com:Ada-Example/orders-api.git").unwrap();
        for ok in [
            "https://github.com/ada-example/orders-api/actions/runs/123456789",
            "https://github.com/Ada-Example/Orders-API/actions/runs/1/job/2",
            "https://github.com/ada-example/orders-api/actions/runs/7?check_suite_focus=true",
        ] {
            assert!(gh.is_ci_run(ok), "{ok}");
        }
        for bad in [
            "https://github.com/someone-else/orders-api/actions/runs/1",
            "https://github.com/ada-example/orders-api-fork/actions/runs/1",
            "https://github.com/ada-example/orders-api/actions/runs/",
            "https://github.com/ada-example/orders-api/actions/runs/abc",
            "https://github.com/ada-example/orders-api/pull/3",
            "http://github.com/ada-example/orders-api/actions/runs/1",
            "see CI",
        ] {
            assert!(!gh.is_ci_run(bad), "{bad}");
        }
        let gl = WebHost::parse("https://gitlab.com/group/sub/api").unwrap();
        assert!(gl.is_ci_run("https://gitlab.com/group/sub/api/-/pipelines/42"));
        assert!(gl.is_ci_run("https://gitlab.com/group/sub/api/-/jobs/42"));
        assert!(!gl.is_ci_run("https://gitlab.com/group/other/-/pipelines/42"));
        let other = WebHost::parse("https://git.example.org/team/api").unwrap();
        assert!(other.is_ci_run("https://ci.example.org/build/9"));
        assert!(!other.is_ci_run("http://ci.example.org/build/9"));
    }

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
