//! Problems found while building, each naming the file, the line where there is one, and what
//! to do about it. A build collects them instead of stopping at the first one, so that one broken
//! file never hides the rest of the site.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// The 1-based line of the first byte that is not UTF-8, for "not valid UTF-8" errors.
pub fn utf8_error_line(bytes: &[u8], error: &std::str::Utf8Error) -> usize {
    memchr::memchr_iter(b'\n', &bytes[..error.valid_up_to()]).count() + 1
}

/// How bad a problem is. Warnings become errors under `--strict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// One problem with a file the user wrote (or a template, or the output directory).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The file, as the user would type it (relative to the site root where possible).
    pub file: Option<PathBuf>,
    /// 1-based line in `file`.
    pub line: Option<usize>,
    pub message: String,
    /// What to do about it, in one sentence.
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: None,
            line: None,
            message: message.into(),
            hint: None,
        }
    }

    pub fn warning(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(message)
        }
    }

    pub fn in_file(mut self, file: impl AsRef<Path>) -> Self {
        self.file = Some(file.as_ref().to_path_buf());
        self
    }

    pub fn at_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }

    pub fn at_line_opt(mut self, line: Option<usize>) -> Self {
        self.line = line;
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Moves the diagnostic down `lines` lines, for errors found in a fragment of a file
    /// (front matter starts after its `---` fence).
    pub fn shifted(mut self, lines: usize) -> Self {
        self.line = self.line.map(|l| l + lines);
        self
    }

    /// `library/raw/x.md:3: message (hint)` on one line, for JSON and lists.
    pub fn sentence(&self) -> String {
        let mut s = String::new();
        if let Some(file) = &self.file {
            s.push_str(&file.display().to_string());
            if let Some(line) = self.line {
                s.push_str(&format!(":{line}"));
            }
            s.push_str(": ");
        }
        s.push_str(&self.message);
        if let Some(hint) = &self.hint {
            s.push_str(&format!(" ({hint})"));
        }
        s
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// `error: content/a.md:3: message` then `  help: hint`, like compilers and ripgrep.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{label}: ")?;
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
            write!(f, ": ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  help: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// A thread-safe collection of diagnostics, shared by the parallel render.
#[derive(Debug, Default)]
pub struct Diagnostics {
    items: Mutex<Vec<Diagnostic>>,
}

impl Diagnostics {
    pub fn push(&self, diagnostic: Diagnostic) {
        self.items
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(diagnostic);
    }

    pub fn extend(&self, diagnostics: impl IntoIterator<Item = Diagnostic>) {
        for d in diagnostics {
            self.push(d);
        }
    }

    /// All diagnostics, sorted by file and line so output is stable across parallel runs.
    pub fn into_sorted(self) -> Vec<Diagnostic> {
        let mut items = self
            .items
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        items.sort_by(|a, b| (&a.file, a.line, &a.message).cmp(&(&b.file, b.line, &b.message)));
        items.dedup();
        items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_line_and_hint() {
        let d = Diagnostic::error("unknown key `titel`")
            .in_file("content/a.md")
            .at_line(3)
            .with_hint("did you mean `title`?");
        assert_eq!(
            d.to_string(),
            "error: content/a.md:3: unknown key `titel`\n  help: did you mean `title`?"
        );
    }

    #[test]
    fn shifted_moves_fragment_lines_into_file_lines() {
        let d = Diagnostic::warning("x").at_line(2).shifted(1);
        assert_eq!(d.line, Some(3));
    }
}
