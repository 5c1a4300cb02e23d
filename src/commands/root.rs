//! Which repository a command works on when `--root` is not given: the top of the git work
//! tree holding the current folder, found the way `git` finds it (the nearest parent with a
//! `.git`), so `clinic check` works from `library/raw/` as `git status` does. Outside any
//! repository it is the current folder, as before.

use std::path::{Path, PathBuf};

/// `--root` when given; otherwise the discovered work tree, named on standard error (unless
/// `quiet`) when it is not the current folder, so nobody wonders what was built.
pub(crate) fn resolve(root: Option<&Path>, quiet: bool) -> PathBuf {
    if let Some(root) = root {
        return root.to_path_buf();
    }
    let here = PathBuf::from(".");
    let Some(found) = discover(&here) else {
        return here;
    };
    let same = match (found.canonicalize(), here.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        return here;
    }
    if !quiet {
        eprintln!(
            "Using the repository root {} (the work tree holding this folder; pass --root to choose another).",
            found.display()
        );
    }
    found
}

/// The work tree of the repository holding `dir`, if any (a bare repository has none).
fn discover(dir: &Path) -> Option<PathBuf> {
    let repository = git2::Repository::discover(dir).ok()?;
    let workdir = repository.workdir()?;
    // git2 gives the work tree with a trailing separator; drop it for messages.
    Some(workdir.components().collect())
}
