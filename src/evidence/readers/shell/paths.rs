//! Paths as the runner sees them: the workspace root and `.`/`..` normalisation.

pub(crate) const WORKSPACE: &str = "/github/workspace";

/// Joins and normalises a path (`.`/`..`); `None` when it climbs above the root.
pub(crate) fn normalise(cwd: &str, path: &str) -> Option<String> {
    let mut parts: Vec<&str> = if path.starts_with('/') {
        vec![]
    } else {
        cwd.split('/').filter(|s| !s.is_empty()).collect()
    };
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(if path.starts_with('/') {
        format!("/{}", parts.join("/"))
    } else {
        parts.join("/")
    })
}
