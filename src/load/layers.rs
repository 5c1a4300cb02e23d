//! The two file layers behind `theme/` and `content/`: the defaults embedded in the binary,
//! and the site root's own files, which override a default of the same relative path one file at
//! a time. A student changes one partial without copying the theme.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use include_dir::{include_dir, Dir};
use walkdir::WalkDir;

use crate::diagnostics::Diagnostic;

static EMBEDDED_THEME: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/theme");
static EMBEDDED_CONTENT: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/content");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    Theme,
    Content,
}

impl Layer {
    pub fn dir_name(self) -> &'static str {
        match self {
            Layer::Theme => "theme",
            Layer::Content => "content",
        }
    }

    fn embedded(self) -> &'static Dir<'static> {
        match self {
            Layer::Theme => &EMBEDDED_THEME,
            Layer::Content => &EMBEDDED_CONTENT,
        }
    }
}

/// Where a file's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Embedded(&'static [u8]),
    Disk(PathBuf),
}

/// One file of a layer, named by its path relative to the layer (always `/`-separated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerFile {
    pub rel: String,
    pub origin: Origin,
}

impl LayerFile {
    /// The path to show in messages: `content/a.md` for both origins, since an embedded file
    /// has the same path in this project's repository.
    pub fn display_path(&self, layer: Layer) -> PathBuf {
        Path::new(layer.dir_name()).join(&self.rel)
    }

    pub fn read(&self) -> std::io::Result<std::borrow::Cow<'static, [u8]>> {
        match &self.origin {
            Origin::Embedded(bytes) => Ok(std::borrow::Cow::Borrowed(bytes)),
            Origin::Disk(path) => std::fs::read(path).map(std::borrow::Cow::Owned),
        }
    }
}

/// The merged layer: embedded defaults, overridden by `<root>/<layer>/` file by file.
pub(crate) fn files(root: &Path, layer: Layer) -> (BTreeMap<String, LayerFile>, Vec<Diagnostic>) {
    let mut files = BTreeMap::new();
    collect_embedded(layer.embedded(), &mut files);
    let mut diagnostics = Vec::new();
    let dir = root.join(layer.dir_name());
    if dir.is_dir() {
        collect_disk(&dir, layer, &mut files, &mut diagnostics);
    }
    (files, diagnostics)
}

fn collect_embedded(dir: &'static Dir<'static>, files: &mut BTreeMap<String, LayerFile>) {
    for file in dir.files() {
        let rel = file.path().to_string_lossy().replace('\\', "/");
        if !is_ignored_name(&rel) {
            let origin = Origin::Embedded(file.contents());
            files.insert(rel.clone(), LayerFile { rel, origin });
        }
    }
    for sub in dir.dirs() {
        collect_embedded(sub, files);
    }
}

fn collect_disk(
    dir: &Path,
    layer: Layer,
    files: &mut BTreeMap<String, LayerFile>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    // walkdir does not follow symlinks by default: a link never pulls outside files in.
    for entry in WalkDir::new(dir).min_depth(1).sort_by_file_name() {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                diagnostics.push(
                    Diagnostic::warning(format!("cannot read: {e}")).in_file(
                        e.path()
                            .map_or_else(|| dir.to_path_buf(), Path::to_path_buf),
                    ),
                );
                continue;
            }
        };
        let rel_path = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let shown = Path::new(layer.dir_name()).join(rel_path);
        if entry.path_is_symlink() {
            diagnostics.push(
                Diagnostic::warning("symbolic link skipped: only regular files are published")
                    .in_file(&shown)
                    .with_hint("copy the file into the repository instead of linking it"),
            );
            continue;
        }
        if !entry.file_type().is_file() {
            continue;
        }
        let Some(rel) = rel_path.to_str().map(|s| s.replace('\\', "/")) else {
            diagnostics.push(
                Diagnostic::warning("file name is not valid UTF-8, skipped")
                    .in_file(&shown)
                    .with_hint("rename the file using UTF-8 characters"),
            );
            continue;
        };
        if is_ignored_name(&rel) {
            continue;
        }
        let origin = Origin::Disk(entry.path().to_path_buf());
        files.insert(rel.clone(), LayerFile { rel, origin });
    }
}

/// Hidden files and editors' temporary and swap files are never content.
pub(crate) fn is_ignored_name(rel: &str) -> bool {
    rel.split('/').any(|part| {
        part.starts_with('.')
            || part.starts_with('#')
            || part.ends_with('~')
            || part.ends_with(".swp")
            || part.ends_with(".swx")
            || part.ends_with(".tmp")
            || part.ends_with(".bck")
            || part.ends_with("jb_tmp___")
            || part == "4913"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_are_present() {
        let (theme, _) = files(Path::new("/nonexistent"), Layer::Theme);
        assert!(theme.contains_key("templates/base.html"));
        let (content, _) = files(Path::new("/nonexistent"), Layer::Content);
        assert!(content.contains_key("_index.md"));
    }

    #[test]
    fn a_root_file_overrides_one_default() {
        let root = tempfile::tempdir().unwrap();
        let partials = root.path().join("theme/templates/partials");
        std::fs::create_dir_all(&partials).unwrap();
        std::fs::write(partials.join("footer.html"), "mine").unwrap();
        std::fs::write(partials.join(".footer.html.swp"), "junk").unwrap();
        let (theme, _) = files(root.path(), Layer::Theme);
        let footer = &theme["templates/partials/footer.html"];
        assert_eq!(&*footer.read().unwrap(), b"mine");
        assert!(matches!(
            theme["templates/base.html"].origin,
            Origin::Embedded(_)
        ));
        assert!(!theme.keys().any(|k| k.contains(".swp")));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_skipped_with_a_warning() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("content")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.path().join("content/passwd.md")).unwrap();
        let (content, diagnostics) = files(root.path(), Layer::Content);
        assert!(!content.contains_key("passwd.md"));
        assert!(diagnostics[0].message.contains("symbolic link"));
    }
}
