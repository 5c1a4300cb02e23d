//! `clinic init`: prepares a student's repository for publishing. It writes the GitHub Pages
//! workflow and ignores the build output and cache, and never overwrites a file.

use std::path::{Path, PathBuf};

pub(crate) const WORKFLOW_PATH: &str = ".github/workflows/pages.yml";
/// The build output, and `clinic serve`'s builds in `.clinic/` (the history cache lives in `.git/`).
const IGNORED: &[&str] = &["/public/", "/.clinic/"];

/// What `init` did, one line per file.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct InitReport {
    pub written: Vec<PathBuf>,
    pub kept: Vec<PathBuf>,
}

pub(crate) fn run(root: &Path) -> std::io::Result<InitReport> {
    let mut report = InitReport::default();
    let workflow = root.join(WORKFLOW_PATH);
    if workflow.exists() {
        report.kept.push(PathBuf::from(WORKFLOW_PATH));
    } else {
        std::fs::create_dir_all(workflow.parent().unwrap_or(root))?;
        // create_new: even a file that appears between the check and the write is kept.
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&workflow)?;
        file.write_all(workflow_text().as_bytes())?;
        report.written.push(PathBuf::from(WORKFLOW_PATH));
    }
    if add_ignores(&root.join(".gitignore"))? {
        report.written.push(PathBuf::from(".gitignore"));
    }
    Ok(report)
}

/// Appends the lines `.gitignore` lacks; returns whether it changed. Existing lines are kept.
fn add_ignores(path: &Path) -> std::io::Result<bool> {
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let missing: Vec<&str> = IGNORED
        .iter()
        .filter(|line| !existing.lines().any(|l| l.trim() == **line))
        .copied()
        .collect();
    if missing.is_empty() {
        return Ok(false);
    }
    let mut text = existing;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str("# clinic: build output and history cache\n");
    for line in missing {
        text.push_str(line);
        text.push('\n');
    }
    std::fs::write(path, text)?;
    Ok(true)
}

/// The GitHub Pages workflow: full history (the badges read it), the official Pages actions,
/// and the base URL Pages reports, so links work under `/<repository>/`.
pub(crate) fn workflow_text() -> String {
    format!(
        r#"# Publishes this repository's clinic portfolio to GitHub Pages.
# Written by `clinic init`; edit freely, clinic never overwrites it.
# In the repository settings, set Pages > Source to "GitHub Actions".
name: Portfolio

on:
  push:
    branches: [main, master]
  workflow_dispatch:

permissions:
  contents: read
  pages: write
  id-token: write

concurrency:
  group: pages
  cancel-in-progress: false

jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0 # the evidence badges read the whole history
      - id: pages
        uses: actions/configure-pages@v5
      - name: Install clinic
        run: cargo install --locked --git {repo} clinic
      - name: Build the site
        run: clinic build --out public --base-url "${{{{ steps.pages.outputs.base_url }}}}/"
      - uses: actions/upload-pages-artifact@v3
        with:
          path: public

  deploy:
    needs: build
    runs-on: ubuntu-latest
    environment:
      name: github-pages
      url: ${{{{ steps.deployment.outputs.page_url }}}}
    steps:
      - id: deployment
        uses: actions/deploy-pages@v4
"#,
        repo = env!("CARGO_PKG_REPOSITORY")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_workflow_and_never_overwrites() {
        let root = tempfile::tempdir().unwrap();
        let report = run(root.path()).unwrap();
        assert_eq!(report.written.len(), 2);
        let text = std::fs::read_to_string(root.path().join(WORKFLOW_PATH)).unwrap();
        assert!(text.contains("fetch-depth: 0"));
        assert!(text.contains("actions/deploy-pages@v4"));
        assert!(text.contains("${{ steps.pages.outputs.base_url }}/"));

        std::fs::write(root.path().join(WORKFLOW_PATH), "mine").unwrap();
        let report = run(root.path()).unwrap();
        assert_eq!(report.kept, vec![PathBuf::from(WORKFLOW_PATH)]);
        assert!(report.written.is_empty());
        assert_eq!(
            std::fs::read_to_string(root.path().join(WORKFLOW_PATH)).unwrap(),
            "mine"
        );
    }

    #[test]
    fn gitignore_lines_are_appended_once() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join(".gitignore"), "target").unwrap();
        run(root.path()).unwrap();
        run(root.path()).unwrap();
        let text = std::fs::read_to_string(root.path().join(".gitignore")).unwrap();
        assert!(text.starts_with("target\n"));
        assert_eq!(text.matches("/public/").count(), 1);
    }
}
