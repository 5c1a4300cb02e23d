//! The theme's files: embedded default templates and static files, overridden file by file from
//! `<root>/theme/`. Template texts are read here; static files are copied by the write step.

use std::path::{Path, PathBuf};

use crate::diagnostics::Diagnostic;
use crate::load::layers::{self, Layer, LayerFile};

const TEMPLATE_DIR: &str = "templates/";

/// One template: its name for Tera, its text, and its path as the user would type it.
pub(crate) struct TemplateText {
    pub(crate) name: String,
    pub(crate) text: String,
    pub(crate) shown: PathBuf,
}

/// What the render compiles and the write step copies.
pub(crate) struct ThemeFiles {
    pub(crate) templates: Vec<TemplateText>,
    pub(crate) static_files: Vec<LayerFile>,
}

/// Reads the merged theme at `root`. A template that cannot be read is an error naming it; a
/// file that is neither a template nor a static file is a warning.
pub(crate) fn read(root: &Path) -> Result<(ThemeFiles, Vec<Diagnostic>), Diagnostic> {
    let (files, mut diagnostics) = layers::files(root, Layer::Theme);
    let mut theme = ThemeFiles {
        templates: Vec::new(),
        static_files: Vec::new(),
    };
    for file in files.into_values() {
        if let Some(name) = file.rel.strip_prefix(TEMPLATE_DIR) {
            let shown = file.display_path(Layer::Theme);
            let bytes = file
                .read()
                .map_err(|e| Diagnostic::error(format!("cannot read: {e}")).in_file(&shown))?;
            let text = String::from_utf8(bytes.into_owned())
                .map_err(|_| Diagnostic::error("template is not valid UTF-8").in_file(&shown))?;
            theme.templates.push(TemplateText {
                name: name.to_string(),
                text,
                shown,
            });
        } else if file.rel.starts_with("static/") {
            theme.static_files.push(file);
        } else {
            diagnostics.push(
                Diagnostic::warning("theme file is neither a template nor a static file, ignored")
                    .in_file(file.display_path(Layer::Theme))
                    .with_hint(
                        "put templates under theme/templates/ and assets under theme/static/",
                    ),
            );
        }
    }
    Ok((theme, diagnostics))
}
