//! `clinic demo`: writes a complete example student repository, a small `orders-api` service
//! with a semester of dated commits and releases in which all four badges verify. It is written
//! with git2 (no git binary needed) and is deterministic: the same commits, with the same ids,
//! every time, which is what lets the smoke drill in `library/raw/` name their SHAs.
//!
//! The story's files (Python sources, SQL migrations, workflows, scripts, configuration) live
//! as plain files in `story/`, one per version, embedded at build time; this module holds only
//! the steps: which commits, on which dates, put which version where, and which are releases.

use std::path::{Path, PathBuf};

use git2::{IndexAddOption, Oid, Repository, RepositoryInitOptions, Signature, Time};

const AUTHOR: &str = "Ada Lovelace";
const EMAIL: &str = "ada@example.org";
/// The student's clock: CET, as in the demo's `clinic.yaml`.
const OFFSET_MINUTES: i32 = 60;
pub const ORIGIN: &str = "https://github.com/ada-example/orders-api.git";

/// One file in a step: its content, or `None` to delete it.
type File = (&'static str, Option<&'static str>);

/// One commit of the story.
struct Step {
    /// `2026-09-01 10:00`, at the demo's offset.
    at: &'static str,
    message: &'static str,
    files: &'static [File],
    /// Tag this commit as a release, tagged one hour later.
    release: Option<&'static str>,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(
        "{0} already exists and is not empty; clinic demo writes only into a new or empty folder"
    )]
    NotEmpty(PathBuf),
    #[error("cannot write the demo: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot write the demo's history: {0}")]
    Git(#[from] git2::Error),
}

impl From<DemoError> for crate::BuildError {
    /// A folder that is not empty is bad usage; failing to write is not.
    fn from(e: DemoError) -> Self {
        let d = crate::diagnostics::Diagnostic::error(e.to_string());
        match e {
            DemoError::NotEmpty(_) => crate::BuildError::Usage(
                d.with_hint("choose a new folder, e.g. /tmp/clinic-demo-2"),
            ),
            _ => crate::BuildError::Fatal(d),
        }
    }
}

/// What was written.
#[derive(Debug)]
pub struct DemoReport {
    pub commits: usize,
    pub releases: Vec<&'static str>,
}

pub fn write(dir: &Path) -> Result<DemoReport, DemoError> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        return Err(DemoError::NotEmpty(dir.to_path_buf()));
    }
    std::fs::create_dir_all(dir)?;
    let repo = Repository::init_opts(dir, RepositoryInitOptions::new().initial_head("main"))?;
    repo.remote("origin", ORIGIN)?;
    let mut report = DemoReport {
        commits: 0,
        releases: Vec::new(),
    };
    let mut head: Option<Oid> = None;
    for step in MAIN_BEFORE_RETIREMENT {
        head = Some(commit(
            &repo,
            dir,
            step,
            head.into_iter().collect(),
            Some("HEAD"),
        )?);
        tag(&repo, step, head, &mut report)?;
        report.commits += 1;
    }
    // The flag is retired in a pull request: two commits on a branch, merged with a merge commit.
    let main_tip = head.expect("the story has commits");
    let mut branch_tip = main_tip;
    for step in RETIREMENT_BRANCH {
        branch_tip = commit(
            &repo,
            dir,
            step,
            vec![branch_tip],
            Some("refs/heads/retire-new-checkout"),
        )?;
        report.commits += 1;
    }
    head = Some(commit(
        &repo,
        dir,
        &MERGE,
        vec![main_tip, branch_tip],
        Some("HEAD"),
    )?);
    report.commits += 1;
    for step in MAIN_AFTER_RETIREMENT {
        head = Some(commit(
            &repo,
            dir,
            step,
            head.into_iter().collect(),
            Some("HEAD"),
        )?);
        tag(&repo, step, head, &mut report)?;
        report.commits += 1;
    }
    Ok(report)
}

fn signature(at: &str, delay_minutes: i64) -> Result<Signature<'static>, git2::Error> {
    let seconds = crate::time::parse(at, OFFSET_MINUTES).expect("demo times are valid");
    Signature::new(
        AUTHOR,
        EMAIL,
        &Time::new(seconds + delay_minutes * 60, OFFSET_MINUTES),
    )
}

/// Writes the step's files to the work tree and the index, and commits them.
fn commit(
    repo: &Repository,
    dir: &Path,
    step: &Step,
    parents: Vec<Oid>,
    update: Option<&str>,
) -> Result<Oid, DemoError> {
    let mut index = repo.index()?;
    for (path, content) in step.files {
        let full = dir.join(path);
        match content {
            Some(text) => {
                if let Some(parent) = full.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&full, text)?;
                set_mode(&full, path.ends_with(".sh"))?;
                index.add_path(Path::new(path))?;
            }
            None => {
                std::fs::remove_file(&full)?;
                index.remove_path(Path::new(path))?;
            }
        }
    }
    index.update_all(["*"], None)?;
    index.add_all(["*"], IndexAddOption::DEFAULT, None)?;
    index.write()?;
    let tree = repo.find_tree(index.write_tree()?)?;
    let parents: Vec<git2::Commit<'_>> = parents
        .iter()
        .map(|p| repo.find_commit(*p))
        .collect::<Result<_, _>>()?;
    let parent_refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
    let sig = signature(step.at, 0)?;
    Ok(repo.commit(update, &sig, &sig, step.message, &tree, &parent_refs)?)
}

fn tag(
    repo: &Repository,
    step: &Step,
    head: Option<Oid>,
    report: &mut DemoReport,
) -> Result<(), DemoError> {
    if let (Some(name), Some(head)) = (step.release, head) {
        let target = repo.find_object(head, None)?;
        repo.tag(
            name,
            &target,
            &signature(step.at, 60)?,
            &format!("Release {name}"),
            false,
        )?;
        report.releases.push(name);
    }
    Ok(())
}

fn set_mode(path: &Path, executable: bool) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if executable { 0o755 } else { 0o644 };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    let _ = (path, executable);
    Ok(())
}

// ---- The story: file contents from `story/`, then the steps ---------------------------------

// Repository files.
const GITIGNORE: &str = include_str!("story/gitignore");
const CLINIC_YAML: &str = include_str!("story/clinic.yaml");
const README: &str = include_str!("story/README.md");

// The service, each file in the versions the story goes through.
const SERVER_V1: &str = include_str!("story/app/server.v1.py");
const SERVER_BROKEN: &str = include_str!("story/app/server.broken.py");
const DB_V1: &str = include_str!("story/app/db.v1.py");
const DB_DUAL: &str = include_str!("story/app/db.dual.py");
const DB_CONTRACTED: &str = include_str!("story/app/db.contracted.py");
const FLAGS_PY: &str = include_str!("story/app/flags.py");
const CHECKOUT_V1: &str = include_str!("story/app/checkout.v1.py");
const CHECKOUT_FLAGGED: &str = include_str!("story/app/checkout.flagged.py");
const CHECKOUT_RETIRED: &str = include_str!("story/app/checkout.retired.py");
const PAYMENTS_V1: &str = include_str!("story/app/payments.v1.py");
const PAYMENTS_RETRY: &str = include_str!("story/app/payments.retry.py");
const PAYMENTS_FIXED: &str = include_str!("story/app/payments.fixed.py");

// Flag configuration.
const FLAGS_EMPTY: &str = include_str!("story/config/flags.empty.yaml");
const FLAGS_OFF: &str = include_str!("story/config/flags.off.yaml");
const FLAGS_ON: &str = include_str!("story/config/flags.on.yaml");

// Delivery: the workflow, the deploy script and the smoke suite.
const WORKFLOW_V1: &str = include_str!("story/workflows/deploy.v1.yml");
const WORKFLOW_GATED: &str = include_str!("story/workflows/deploy.gated.yml");
const DEPLOY_SH: &str = include_str!("story/deploy.sh");
const SMOKE_SH: &str = include_str!("story/scripts/smoke.sh");

// Migrations.
const M0001_UP: &str = include_str!("story/db/0001_create_users.up.sql");
const M0001_DOWN: &str = include_str!("story/db/0001_create_users.down.sql");
const M0002_UP: &str = include_str!("story/db/0002_create_orders.up.sql");
const M0002_DOWN: &str = include_str!("story/db/0002_create_orders.down.sql");
const M0007_UP: &str = include_str!("story/db/0007_add_display_name.up.sql");
const M0007_DOWN: &str = include_str!("story/db/0007_add_display_name.down.sql");
const M0008_UP: &str = include_str!("story/db/0008_backfill_display_name.up.sql");
const M0009_UP: &str = include_str!("story/db/0009_drop_fullname.up.sql");
const M0009_DOWN: &str = include_str!("story/db/0009_drop_fullname.down.sql");

// The student's records, the same files as this repository's `library/raw/`.
const REHEARSAL: &str = include_str!("../../../library/raw/rollback-rehearsals/001.md");
const MIGRATION: &str = include_str!("../../../library/raw/migrations/display-name.md");
const DRILL: &str = include_str!("../../../library/raw/smoke-drills/001.md");
const FLAG: &str = include_str!("../../../library/raw/flags/new_checkout.md");

const MAIN_BEFORE_RETIREMENT: &[Step] = &[
    Step {
        at: "2026-09-01 10:00",
        message: "Start orders-api",
        release: None,
        files: &[
            (".gitignore", Some(GITIGNORE)),
            ("README.md", Some(README)),
            ("clinic.yaml", Some(CLINIC_YAML)),
            ("app/__init__.py", Some("")),
            ("app/server.py", Some(SERVER_V1)),
            ("app/db.py", Some(DB_V1)),
            ("app/flags.py", Some(FLAGS_PY)),
            ("app/checkout.py", Some(CHECKOUT_V1)),
            ("app/payments.py", Some(PAYMENTS_V1)),
            ("config/flags.yaml", Some(FLAGS_EMPTY)),
            ("db/migrations/0001_create_users.up.sql", Some(M0001_UP)),
            ("db/migrations/0001_create_users.down.sql", Some(M0001_DOWN)),
            ("db/migrations/0002_create_orders.up.sql", Some(M0002_UP)),
            (
                "db/migrations/0002_create_orders.down.sql",
                Some(M0002_DOWN),
            ),
        ],
    },
    Step {
        at: "2026-09-02 15:00",
        message: "Add the deploy workflow",
        release: Some("v1.0.0"),
        files: &[
            (".github/workflows/deploy.yml", Some(WORKFLOW_V1)),
            ("deploy.sh", Some(DEPLOY_SH)),
        ],
    },
    Step {
        at: "2026-09-08 11:20",
        message: "Add a smoke suite that gates promotion to production",
        release: Some("v1.1.0"),
        files: &[
            ("scripts/smoke.sh", Some(SMOKE_SH)),
            (".github/workflows/deploy.yml", Some(WORKFLOW_GATED)),
        ],
    },
    Step {
        at: "2026-09-15 09:40",
        message: "Smoke drill: break the order lookup on purpose",
        release: None,
        files: &[("app/server.py", Some(SERVER_BROKEN))],
    },
    Step {
        at: "2026-09-15 10:25",
        message: "Smoke drill: restore the order lookup",
        release: None,
        files: &[("app/server.py", Some(SERVER_V1))],
    },
    Step {
        at: "2026-09-16 17:05",
        message: "Record smoke drill 001",
        release: None,
        files: &[("library/raw/smoke-drills/001.md", Some(DRILL))],
    },
    Step {
        at: "2026-09-22 10:10",
        message: "Expand: add users.display_name",
        release: None,
        files: &[
            ("db/migrations/0007_add_display_name.up.sql", Some(M0007_UP)),
            (
                "db/migrations/0007_add_display_name.down.sql",
                Some(M0007_DOWN),
            ),
        ],
    },
    Step {
        at: "2026-09-23 14:30",
        message: "Backfill display_name and write both columns",
        release: Some("v1.2.0"),
        files: &[
            (
                "db/migrations/0008_backfill_display_name.up.sql",
                Some(M0008_UP),
            ),
            ("app/db.py", Some(DB_DUAL)),
        ],
    },
    Step {
        at: "2026-10-01 09:15",
        message: "Add the new_checkout flag, off",
        release: None,
        files: &[
            ("config/flags.yaml", Some(FLAGS_OFF)),
            ("app/checkout.py", Some(CHECKOUT_FLAGGED)),
        ],
    },
    Step {
        at: "2026-10-02 12:50",
        message: "Retry payment calls in the payments client",
        release: Some("v1.3.0"),
        files: &[("app/payments.py", Some(PAYMENTS_RETRY))],
    },
    Step {
        at: "2026-10-03 09:30",
        message: "Write up rollback rehearsal 001",
        release: None,
        files: &[("library/raw/rollback-rehearsals/001.md", Some(REHEARSAL))],
    },
    Step {
        at: "2026-10-05 16:00",
        message: "Retry payments only on timeouts",
        release: Some("v1.4.0"),
        files: &[("app/payments.py", Some(PAYMENTS_FIXED))],
    },
    Step {
        at: "2026-10-06 10:45",
        message: "Contract: drop users.fullname",
        release: None,
        files: &[
            ("db/migrations/0009_drop_fullname.up.sql", Some(M0009_UP)),
            (
                "db/migrations/0009_drop_fullname.down.sql",
                Some(M0009_DOWN),
            ),
            ("app/db.py", Some(DB_CONTRACTED)),
        ],
    },
    Step {
        at: "2026-10-07 11:00",
        message: "Write up the display_name migration",
        release: Some("v1.5.0"),
        files: &[("library/raw/migrations/display-name.md", Some(MIGRATION))],
    },
    Step {
        at: "2026-10-12 09:00",
        message: "Flip new_checkout on",
        release: Some("v1.6.0"),
        files: &[("config/flags.yaml", Some(FLAGS_ON))],
    },
];

const RETIREMENT_BRANCH: &[Step] = &[
    Step {
        at: "2026-10-20 10:00",
        message: "Remove the new_checkout toggle point and the legacy checkout",
        release: None,
        files: &[("app/checkout.py", Some(CHECKOUT_RETIRED))],
    },
    Step {
        at: "2026-10-20 10:20",
        message: "Remove new_checkout from the flag configuration",
        release: None,
        files: &[("config/flags.yaml", Some(FLAGS_EMPTY))],
    },
];

const MERGE: Step = Step { at: "2026-10-21 15:00", message: "Merge pull request #12 from ada-example/retire-new-checkout\n\nRetire the new_checkout flag", release: None, files: &[] };

const MAIN_AFTER_RETIREMENT: &[Step] = &[Step {
    at: "2026-10-22 09:30",
    message: "Document the new_checkout flag's lifecycle",
    release: Some("v1.7.0"),
    files: &[("library/raw/flags/new_checkout.md", Some(FLAG))],
}];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_non_empty_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
        assert!(matches!(write(dir.path()), Err(DemoError::NotEmpty(_))));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("keep.txt")).unwrap(),
            "mine"
        );
    }

    #[test]
    fn is_deterministic() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write(a.path()).unwrap();
        write(b.path()).unwrap();
        let head = |p: &Path| {
            Repository::open(p)
                .unwrap()
                .head()
                .unwrap()
                .target()
                .unwrap()
        };
        assert_eq!(head(a.path()), head(b.path()));
    }
}
