//! Opening a student's repository, with a clear message for every way that can go wrong:
//! not a repository, no commits, a shallow clone, or libgit2's ownership refusal.

use std::path::Path;

use git2::{ErrorCode, ObjectType, Oid, Repository, RepositoryOpenFlags};

/// Why the history could not be read. The site still builds; history-based rules fail with
/// this as their reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepoError {
    #[error("{path} is not a git repository, so there is no history to check")]
    NotARepository { path: String },
    #[error("the repository has no commits yet")]
    NoCommits,
    #[error("git refuses to read {path}: it is not owned by the current user")]
    NotOwned { path: String },
    #[error("cannot read the git repository: {message}")]
    Other { message: String },
}

impl RepoError {
    /// What to do about it, in one sentence a student can follow.
    pub fn hint(&self) -> String {
        match self {
            RepoError::NotARepository { .. } => {
                "run clinic in the root of your service's clone (the folder that holds .git)".into()
            }
            RepoError::NoCommits => "commit your work; the badges read the history".into(),
            RepoError::NotOwned { path } => format!(
                "if you trust this repository, run: git config --global --add safe.directory {path}"
            ),
            RepoError::Other { .. } => "check that `git log` works in this folder".into(),
        }
    }
}

/// Process-wide libgit2 settings, applied once: objects are not re-hashed on read (git itself
/// does not either, and it costs a third of a history walk).
pub(crate) fn configure_libgit2() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| git2::opts::strict_hash_verification(false));
}

/// Opens exactly `root` (never a parent folder's repository: in a cohort, a student folder
/// inside the instructor's clone must not borrow the instructor's history).
pub(crate) fn open(root: &Path) -> Result<Repository, RepoError> {
    configure_libgit2();
    let shown = root.display().to_string();
    let repo = Repository::open_ext(
        root,
        RepositoryOpenFlags::NO_SEARCH,
        std::iter::empty::<&str>(),
    )
    .map_err(|e| match e.code() {
        // git wants the absolute path in safe.directory.
        ErrorCode::Owner => RepoError::NotOwned {
            path: root
                .canonicalize()
                .map_or(shown.clone(), |p| p.display().to_string()),
        },
        ErrorCode::NotFound => RepoError::NotARepository {
            path: shown.clone(),
        },
        _ => RepoError::Other {
            message: e.message().to_string(),
        },
    })?;
    let head = repo.head().map(|_| ()).map_err(|e| match e.code() {
        ErrorCode::UnbornBranch | ErrorCode::NotFound => RepoError::NoCommits,
        _ => RepoError::Other {
            message: e.message().to_string(),
        },
    });
    head.map(|()| repo)
}

/// Resolves a commit reference written by a student: a full or short SHA, a tag, or a branch.
/// Nothing else reaches libgit2's rev-parse (RUSTSEC-2024-0013: crafted specs could loop).
pub(crate) fn resolve_commit(repo: &Repository, reference: &str) -> Option<Oid> {
    let reference = reference.trim();
    if reference.is_empty() || reference.len() > 255 {
        return None;
    }
    if (4..=40).contains(&reference.len()) && reference.bytes().all(|b| b.is_ascii_hexdigit()) {
        if let Some(oid) = resolve_hex(repo, reference) {
            return Some(oid);
        }
    }
    if !is_plain_ref_name(reference) {
        return None;
    }
    let candidates = [
        format!("refs/tags/{reference}"),
        format!("refs/heads/{reference}"),
        format!("refs/remotes/{reference}"),
        reference.to_string(),
    ];
    candidates.iter().find_map(|name| {
        let reference = repo.find_reference(name).ok()?;
        let commit = reference.peel_to_commit().ok()?;
        Some(commit.id())
    })
}

fn resolve_hex(repo: &Repository, hex: &str) -> Option<Oid> {
    let oid = if hex.len() == 40 {
        Oid::from_str(hex).ok()?
    } else {
        let odb = repo.odb().ok()?;
        let short = Oid::from_str(hex).ok()?;
        odb.exists_prefix(short, hex.len()).ok()?
    };
    let object = repo.find_object(oid, None).ok()?;
    let commit = object.peel(ObjectType::Commit).ok()?;
    Some(commit.id())
}

/// Letters, digits and `._/-`, without `..` or a leading `-`: tags and branch names as people
/// write them, and no rev-parse syntax.
fn is_plain_ref_name(name: &str) -> bool {
    !name.starts_with(['-', '/', '.'])
        && !name.contains("..")
        && !name.ends_with(['/', '.'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-' | b'+'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rev_parse_syntax_is_not_a_reference() {
        for bad in [
            "HEAD~1",
            "v1^{}",
            "@{-1}",
            "main..dev",
            "-v",
            "a:b",
            ":/fix",
        ] {
            assert!(!is_plain_ref_name(bad), "{bad}");
        }
        for good in ["v2.4.1", "release/2026-10", "main", "feature_x"] {
            assert!(is_plain_ref_name(good), "{good}");
        }
    }

    #[test]
    fn not_a_repository_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = open(dir.path())
            .err()
            .expect("a plain folder is not a repository");
        assert!(matches!(err, RepoError::NotARepository { .. }), "{err:?}");
    }

    #[test]
    fn empty_repository_has_no_commits() {
        let dir = tempfile::tempdir().unwrap();
        Repository::init(dir.path()).unwrap();
        assert_eq!(open(dir.path()).err(), Some(RepoError::NoCommits));
    }
}
