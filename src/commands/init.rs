//! `clinic init`: prepares a student's repository for publishing. It writes the GitHub Pages
//! workflow and ignores the build output and cache, and never overwrites a file it did not write.
//! `clinic init --cohort` prepares an instructor's repository instead: a workflow that builds the
//! cohort dashboard from the roster in parallel shards and publishes the merged result.
//!
//! The workflow installs this very version of clinic with the setup action (pinned, so the badge
//! rules never change mid-semester) and checks pull requests. Its first line is a marker naming
//! the version that wrote it and a hash of the rest, so `clinic init --upgrade` can rewrite an
//! untouched workflow for a newer clinic and leave any edited one alone.

use std::hash::Hasher;
use std::path::{Path, PathBuf};

pub(crate) const WORKFLOW_PATH: &str = ".github/workflows/pages.yml";
pub(crate) const COHORT_WORKFLOW_PATH: &str = ".github/workflows/cohort.yml";
/// The build output, and `clinic serve`'s builds in `.clinic/` (the history cache lives in `.git/`).
const IGNORED: &[&str] = &["/public/", "/.clinic/"];
/// The start of the workflow's first line: `# clinic-workflow: 0.1.0 fnv1a64=<16 hex digits>`.
const MARKER: &str = "# clinic-workflow:";
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What `init` did, one line per file.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct InitReport {
    pub written: Vec<PathBuf>,
    /// Files left as they were, each with why.
    pub kept: Vec<(PathBuf, String)>,
    /// The diff `--upgrade` applied to the workflow, or would have to (by hand, for an edited
    /// one); `None` when the workflow was not looked at or is already current.
    pub diff: Option<String>,
    /// `--upgrade` was asked for and the workflow could not be rewritten (edited, or not ours).
    pub refused_upgrade: bool,
    /// The version whose workflow `--upgrade` replaced.
    pub upgraded_from: Option<String>,
}

/// What the workflow file already there is.
#[derive(Debug, PartialEq, Eq)]
enum Existing {
    /// Written by clinic `version` and not edited since.
    Untouched { version: String },
    /// Written by clinic `version`, then edited (the hash no longer matches).
    Edited { version: String },
    /// No marker line: written by hand or by another tool.
    Foreign,
}

/// Which workflow `init` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Workflow {
    /// A student's repository: the portfolio on Pages, and checks on pull requests.
    Pages,
    /// An instructor's repository: the dashboard of `roster`, built in `shards` parallel jobs
    /// (`clinic cohort --shard K/N`) and merged (`clinic cohort merge`) before it is published.
    Cohort { roster: String, shards: usize },
}

impl Workflow {
    pub(crate) fn path(&self) -> &'static str {
        match self {
            Workflow::Pages => WORKFLOW_PATH,
            Workflow::Cohort { .. } => COHORT_WORKFLOW_PATH,
        }
    }

    /// The workflow this clinic writes, marker line first.
    pub(crate) fn text(&self) -> String {
        self.stamped(VERSION)
    }

    /// The workflow clinic `version` writes (the templates of older versions differ in more than
    /// their version, but this is what the tests of `--upgrade` need).
    fn stamped(&self, version: &str) -> String {
        let body = match self {
            Workflow::Pages => workflow_body(version),
            Workflow::Cohort { roster, shards } => cohort_body(version, roster, *shards),
        };
        format!("{MARKER} {version} fnv1a64={}\n{body}", hash_of(&body))
    }
}

/// Whether `roster` can go into the workflow as written: a relative path of plain characters
/// (it is pasted into YAML and a shell command line).
pub(crate) fn roster_path_is_plain(roster: &str) -> bool {
    !roster.is_empty()
        && !roster.starts_with(['/', '-'])
        && !roster.split('/').any(|part| part == "..")
        && roster
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
}

pub(crate) fn run(root: &Path, kind: &Workflow, upgrade: bool) -> std::io::Result<InitReport> {
    let mut report = InitReport::default();
    let workflow = root.join(kind.path());
    let current = kind.text();
    match std::fs::read(&workflow) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(workflow.parent().unwrap_or(root))?;
            // create_new: even a file that appears between the check and the write is kept.
            use std::io::Write;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&workflow)?;
            file.write_all(current.as_bytes())?;
            report.written.push(PathBuf::from(kind.path()));
        }
        Err(e) => return Err(e),
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let wanted = (kind.path(), current.as_str());
            existing_workflow(&workflow, &text, wanted, upgrade, &mut report)?;
        }
    }
    if add_ignores(&root.join(".gitignore"))? {
        report.written.push(PathBuf::from(".gitignore"));
    }
    Ok(report)
}

/// Keeps the workflow, or with `--upgrade` rewrites it when clinic wrote it and nobody edited it.
fn existing_workflow(
    path: &Path,
    text: &str,
    (rel, current): (&str, &str),
    upgrade: bool,
    report: &mut InitReport,
) -> std::io::Result<()> {
    let kept = |report: &mut InitReport, why: String| {
        report.kept.push((PathBuf::from(rel), why));
    };
    if text == current {
        kept(report, format!("already the workflow of clinic {VERSION}"));
        return Ok(());
    }
    match (classify(text), upgrade) {
        (Existing::Untouched { version }, false) => kept(
            report,
            format!("written by clinic {version}; `clinic init --upgrade` rewrites it for clinic {VERSION}"),
        ),
        (Existing::Untouched { version }, true) => {
            report.diff = Some(diff(rel, text, current));
            // Beside it, then renamed over it: a reader never sees half a workflow.
            let staging = path.with_extension("yml.clinic-new");
            std::fs::write(&staging, current)?;
            std::fs::rename(&staging, path)?;
            report.written.push(PathBuf::from(rel));
            report.upgraded_from = Some(version);
        }
        (Existing::Edited { version }, upgrade) => {
            if upgrade {
                report.diff = Some(diff(rel, text, current));
                report.refused_upgrade = true;
            }
            kept(
                report,
                format!("written by clinic {version}, then edited: it is yours now and clinic never overwrites it (the diff to clinic {VERSION}'s workflow is shown with --upgrade)"),
            );
        }
        (Existing::Foreign, upgrade) => {
            report.refused_upgrade = upgrade;
            kept(
                report,
                format!("not written by clinic (no `{MARKER}` first line); clinic never overwrites it"),
            );
        }
    }
    Ok(())
}

fn classify(text: &str) -> Existing {
    let Some((first, rest)) = text.split_once('\n') else {
        return Existing::Foreign;
    };
    let Some(stamp) = first.strip_prefix(MARKER) else {
        return Existing::Foreign;
    };
    let mut words = stamp.split_whitespace();
    let version = words.next().unwrap_or("?").to_string();
    let hash = words.next().and_then(|w| w.strip_prefix("fnv1a64="));
    if hash == Some(hash_of(rest).as_str()) {
        Existing::Untouched { version }
    } else {
        Existing::Edited { version }
    }
}

/// FNV-1a, 64 bits, in hex: enough to notice an edit (this is no defence against forgery, and
/// needs none: a forged marker only lets clinic replace the file with its own workflow).
fn hash_of(text: &str) -> String {
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(text.as_bytes());
    format!("{:016x}", hasher.finish())
}

/// A unified diff from the file there (`rel`) to the file clinic would write.
fn diff(rel: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(2)
        .header(&format!("a/{rel}"), &format!("b/{rel}"))
        .to_string()
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

#[cfg(test)]
fn stamped(version: &str) -> String {
    Workflow::Pages.stamped(version)
}

/// The GitHub Pages workflow: full history (the badges read it), clinic installed by the setup
/// action at this version, a pull-request job whose failed rules become annotations, and the
/// official Pages actions with the base URL Pages reports, so links work under `/<repository>/`.
/// Pull requests never deploy.
fn workflow_body(version: &str) -> String {
    format!(
        r#"# Publishes this repository's clinic portfolio to GitHub Pages, and checks pull requests.
# Written by `clinic init` (clinic {version}). `clinic init --upgrade` rewrites it for a newer
# clinic as long as nobody edited it; once edited it is yours, and clinic never overwrites it.
# In the repository settings, set Pages > Source to "GitHub Actions".
name: Portfolio

on:
  push:
    branches: [main, master]
  pull_request:
  workflow_dispatch:

permissions:
  contents: read

jobs:
  # Pull requests: every failed rule is an annotation at its file and line, and the job summary
  # has the four badges. Nothing is deployed.
  check:
    if: github.event_name == 'pull_request'
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v6
        with:
          fetch-depth: 0 # the evidence badges read the whole history
      - uses: {action}@v{version}
        with:
          version: {version}
      - name: Check the evidence badges
        run: clinic check --format github

  build:
    if: github.event_name != 'pull_request'
    runs-on: ubuntu-latest
    permissions:
      contents: read
      pages: read
    steps:
      - uses: actions/checkout@v6
        with:
          fetch-depth: 0 # the evidence badges read the whole history
      - id: pages
        uses: actions/configure-pages@v6
      - uses: {action}@v{version}
        with:
          version: {version}
      - name: Build the site
        run: clinic build --out public --base-url "${{{{ steps.pages.outputs.base_url }}}}/"
      - uses: actions/upload-pages-artifact@v5
        with:
          path: public
{deploy}"#,
        action = setup_action(),
        deploy = deploy_job("build"),
    )
}

/// The instructor's workflow: the Pages base URL first (every shard must link the same way),
/// then one job per shard, each keeping the mirrors of its students' repositories in the
/// Actions cache between runs, then the merge, which alone is deployed. It runs daily, on every
/// push (a roster edit) and by hand; a failed shard fails the run, and the last dashboard stays.
fn cohort_body(version: &str, roster: &str, shards: usize) -> String {
    let list = (1..=shards)
        .map(|k| k.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"# Builds the cohort dashboard of {roster} in {shards} parallel shards and publishes it on
# GitHub Pages. Written by `clinic init --cohort` (clinic {version}). `clinic init --cohort
# --upgrade` rewrites it for a newer clinic as long as nobody edited it; once edited it is yours.
# In the repository settings, set Pages > Source to "GitHub Actions". Private student
# repositories need a token that can read them: see the commented step in the shard job.
name: Cohort dashboard

on:
  push:
    branches: [main, master]
  schedule:
    - cron: "17 5 * * *" # every morning
  workflow_dispatch:

permissions:
  contents: read

jobs:
  pages:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      pages: read
    outputs:
      base_url: ${{{{ steps.pages.outputs.base_url }}}}
    steps:
      - id: pages
        uses: actions/configure-pages@v6

  shard:
    needs: pages
    runs-on: ubuntu-latest
    strategy:
      fail-fast: false
      matrix:
        shard: [{list}]
    steps:
      - uses: actions/checkout@v6
      - uses: {action}@v{version}
        with:
          version: {version}
      - name: Keep the students' mirrors between runs
        uses: actions/cache@v5
        with:
          path: .clinic/repos
          key: clinic-repos-${{{{ matrix.shard }}}}-${{{{ github.run_id }}}}
          restore-keys: clinic-repos-${{{{ matrix.shard }}}}-
      # For private repositories, let git read them with a token (a secret you create):
      # - run: git config --global url."https://x-access-token:${{{{ secrets.CLASS_TOKEN }}}}@github.com/".insteadOf "https://github.com/"
      - name: Build shard ${{{{ matrix.shard }}}} of {shards}
        run: >-
          clinic cohort {roster}
          --shard ${{{{ matrix.shard }}}}/{shards}
          --out part-${{{{ matrix.shard }}}}
          --base-url "${{{{ needs.pages.outputs.base_url }}}}/"
      - uses: actions/upload-artifact@v5
        with:
          name: part-${{{{ matrix.shard }}}}
          path: part-${{{{ matrix.shard }}}}
          if-no-files-found: error

  merge:
    needs: shard
    runs-on: ubuntu-latest
    steps:
      - uses: {action}@v{version}
        with:
          version: {version}
      - uses: actions/download-artifact@v6
        with:
          pattern: part-*
          path: parts
      - name: Merge the shards into one dashboard
        run: clinic cohort merge parts/part-* --out public
      - uses: actions/upload-pages-artifact@v5
        with:
          path: public
{deploy}"#,
        action = setup_action(),
        deploy = deploy_job("merge"),
    )
}

/// The job that publishes what `needs` uploaded: the official Pages deployment, one at a time.
fn deploy_job(needs: &str) -> String {
    format!(
        r#"
  deploy:
    needs: {needs}
    runs-on: ubuntu-latest
    permissions:
      pages: write
      id-token: write
    concurrency:
      group: pages
      cancel-in-progress: false
    environment:
      name: github-pages
      url: ${{{{ steps.deployment.outputs.page_url }}}}
    steps:
      - id: deployment
        uses: actions/deploy-pages@v5
"#
    )
}

/// `owner/name` of this repository on GitHub, where the setup action (`action.yml`) lives.
fn setup_action() -> &'static str {
    env!("CARGO_PKG_REPOSITORY")
        .trim_start_matches("https://github.com/")
        .trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(root: &Path) -> String {
        std::fs::read_to_string(root.join(WORKFLOW_PATH)).unwrap()
    }

    #[test]
    fn writes_a_pinned_workflow_and_never_overwrites() {
        let root = tempfile::tempdir().unwrap();
        let report = run(root.path(), &Workflow::Pages, false).unwrap();
        assert_eq!(report.written.len(), 2);
        let text = read(root.path());
        assert!(text.starts_with(&format!("# clinic-workflow: {VERSION} fnv1a64=")));
        assert!(text.contains("fetch-depth: 0"));
        assert!(text.contains(&format!(
            "uses: release-rollback-clinic/clinic@v{VERSION}\n        with:\n          version: {VERSION}\n"
        )));
        assert!(text.contains("actions/deploy-pages@v5"));
        assert!(text.contains("clinic check --format github"));
        assert!(text.contains("${{ steps.pages.outputs.base_url }}/"));
        assert_eq!(
            classify(&text),
            Existing::Untouched {
                version: VERSION.into()
            }
        );

        std::fs::write(root.path().join(WORKFLOW_PATH), "mine").unwrap();
        for upgrade in [false, true] {
            let report = run(root.path(), &Workflow::Pages, upgrade).unwrap();
            assert_eq!(report.kept.len(), 1);
            assert_eq!(report.refused_upgrade, upgrade);
            assert!(report.written.is_empty());
            assert_eq!(read(root.path()), "mine");
        }
    }

    #[test]
    fn upgrade_rewrites_an_untouched_workflow_of_an_older_clinic() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join(".github/workflows")).unwrap();
        std::fs::write(root.path().join(WORKFLOW_PATH), stamped("0.0.9")).unwrap();

        let report = run(root.path(), &Workflow::Pages, false).unwrap();
        assert!(
            report.kept[0].1.contains("clinic init --upgrade"),
            "{:?}",
            report.kept
        );
        assert_eq!(read(root.path()), stamped("0.0.9"));

        let report = run(root.path(), &Workflow::Pages, true).unwrap();
        assert_eq!(report.upgraded_from.as_deref(), Some("0.0.9"));
        let diff = report.diff.unwrap();
        assert!(diff.contains("-# clinic-workflow: 0.0.9"), "{diff}");
        assert!(
            diff.contains(&format!("+          version: {VERSION}")),
            "{diff}"
        );
        assert_eq!(read(root.path()), Workflow::Pages.text());

        let report = run(root.path(), &Workflow::Pages, true).unwrap();
        assert!(report.diff.is_none() && !report.refused_upgrade);
    }

    #[test]
    fn upgrade_never_touches_an_edited_workflow() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join(".github/workflows")).unwrap();
        let edited = stamped("0.0.9").replace("ubuntu-latest", "ubuntu-24.04");
        std::fs::write(root.path().join(WORKFLOW_PATH), &edited).unwrap();
        let report = run(root.path(), &Workflow::Pages, true).unwrap();
        assert!(report.refused_upgrade);
        assert!(
            report.kept[0].1.contains("then edited"),
            "{:?}",
            report.kept
        );
        assert!(report.diff.unwrap().contains("-    runs-on: ubuntu-24.04"));
        assert_eq!(read(root.path()), edited);
    }

    #[test]
    fn the_cohort_workflow_is_its_own_file_with_the_same_upgrade_rules() {
        let root = tempfile::tempdir().unwrap();
        let cohort = Workflow::Cohort {
            roster: "class/roster.yaml".into(),
            shards: 3,
        };
        let report = run(root.path(), &cohort, false).unwrap();
        assert_eq!(report.written[0], PathBuf::from(COHORT_WORKFLOW_PATH));
        let text = std::fs::read_to_string(root.path().join(COHORT_WORKFLOW_PATH)).unwrap();
        assert!(text.contains("shard: [1, 2, 3]"), "{text}");
        assert!(text.contains("clinic cohort class/roster.yaml"));
        assert!(text.contains("--shard ${{ matrix.shard }}/3"));
        assert!(text.contains("clinic cohort merge parts/part-* --out public"));
        assert_eq!(
            classify(&text),
            Existing::Untouched {
                version: VERSION.into()
            }
        );
        assert!(!root.path().join(WORKFLOW_PATH).exists());
        let again = run(root.path(), &cohort, true).unwrap();
        assert!(again
            .written
            .iter()
            .all(|p| p != Path::new(COHORT_WORKFLOW_PATH)));
        for plain in ["roster.yaml", "class/2026/roster.yml", "a_b-c.yaml"] {
            assert!(roster_path_is_plain(plain), "{plain}");
        }
        for odd in [
            "",
            "/etc/roster.yaml",
            "-x",
            "../roster.yaml",
            "a b.yaml",
            "$(x).yaml",
            "a\"b",
        ] {
            assert!(!roster_path_is_plain(odd), "{odd}");
        }
    }

    #[test]
    fn gitignore_lines_are_appended_once() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join(".gitignore"), "target").unwrap();
        run(root.path(), &Workflow::Pages, false).unwrap();
        run(root.path(), &Workflow::Pages, false).unwrap();
        let text = std::fs::read_to_string(root.path().join(".gitignore")).unwrap();
        assert!(text.starts_with("target\n"));
        assert_eq!(text.matches("/public/").count(), 1);
    }
}
