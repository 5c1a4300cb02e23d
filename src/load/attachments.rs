//! The files that records' write-ups link to (screenshots of a CI run, say), read for step 6 and
//! published under `portfolio/files/` as they are. The portfolio decides which ones
//! ([`crate::portfolio::links`]); this reads each with the same care as any student input: a
//! regular file inside the repository (a symbolic link may not lead out of it), of a published
//! type, under a size cap, and no more than a bounded number of them.

use std::io::Read;
use std::path::Path;

use crate::diagnostics::Diagnostic;
use crate::output::{OutputError, Sink};
use crate::portfolio::links::{Attachment, FILES};

/// The largest attachment published; a CI screenshot is well under it.
pub(crate) const MAX_BYTES: u64 = 5 * 1024 * 1024;
/// Attachments published per site at most.
pub(crate) const MAX_FILES: usize = 200;

/// Copies every attachment into the site; one that cannot be published (missing on disk, too
/// big, a link out of the repository) is a warning at the record's file and the line of the
/// link (the others are still copied).
pub(crate) fn copy(
    root: &Path,
    attachments: &[Attachment],
    sink: &dyn Sink,
) -> Result<Vec<Diagnostic>, OutputError> {
    let mut diagnostics = Vec::new();
    let Ok(real_root) = root.canonicalize() else {
        return Ok(diagnostics);
    };
    for (i, Attachment { path, record, line }) in attachments.iter().enumerate() {
        if i == MAX_FILES {
            diagnostics.push(
                Diagnostic::warning(format!(
                    "{} more attachments are not published: a site publishes at most {MAX_FILES}",
                    attachments.len() - MAX_FILES
                ))
                .with_hint("link fewer files from the write-ups"),
            );
            break;
        }
        match read(&real_root, path) {
            Ok(bytes) => sink.write(&format!("{FILES}{path}"), &bytes)?,
            Err(why) => diagnostics.push(
                Diagnostic::warning(format!(
                    "the write-up links {path}, which is not published: {why}"
                ))
                .in_file(record)
                .at_line(*line)
                .with_hint("commit the file next to the record, under 5 MiB, or fix the link"),
            ),
        }
    }
    Ok(diagnostics)
}

/// The bytes of `path` (relative to the repository, already free of `..`), or why not.
fn read(real_root: &Path, path: &str) -> Result<Vec<u8>, String> {
    let full = real_root.join(path);
    let real = full
        .canonicalize()
        .map_err(|_| "there is no such file".to_string())?;
    if !real.starts_with(real_root) {
        return Err("it is a link that leads out of the repository".into());
    }
    let meta = std::fs::metadata(&real).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("it is not a regular file".into());
    }
    if meta.len() > MAX_BYTES {
        return Err(format!(
            "it is {} KiB, over the {} KiB limit",
            meta.len() / 1024,
            MAX_BYTES / 1024
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(&real)
        .and_then(|f| f.take(MAX_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err("it grew over the size limit while it was read".into());
    }
    Ok(bytes)
}
