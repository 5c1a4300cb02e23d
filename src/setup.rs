//! Step 1's settings, the same for every command that renders: the configuration, the site's
//! URLs (a `--base-url` wins over `clinic.yaml`) and the theme, with what loading them reported.

use std::path::Path;

use crate::diagnostics::Diagnostic;
use crate::load::config::{self, Config};
use crate::load::theme;
use crate::load::urls::{self, Urls};
use crate::render::templates::Theme;
use crate::BuildError;

/// What a render needs besides the content and the generated pages.
pub struct Setup {
    pub config: Config,
    pub urls: Urls,
    pub theme: Theme,
}

impl Setup {
    /// Loads `root`'s configuration and theme. `base_url` is the command line's `--base-url`.
    pub fn load(
        root: &Path,
        base_url: Option<&str>,
    ) -> Result<(Setup, Vec<Diagnostic>), BuildError> {
        let (config, mut diagnostics) = config::load(root);
        let base_url = match base_url {
            Some(url) => Some(checked_base_url(url)?),
            None => config.base_url.clone(),
        };
        let urls = Urls::new(base_url.as_deref());
        let (files, theme_diagnostics) = theme::read(root).map_err(BuildError::Fatal)?;
        diagnostics.extend(theme_diagnostics);
        let theme = Theme::compile(files, &urls.base_path).map_err(BuildError::Fatal)?;
        Ok((
            Setup {
                config,
                urls,
                theme,
            },
            diagnostics,
        ))
    }
}

/// A `--base-url` from the command line, normalised; a bad one is a usage error.
pub(crate) fn checked_base_url(url: &str) -> Result<String, BuildError> {
    urls::normalise_base_url(url).map_err(|hint| {
        BuildError::Usage(
            Diagnostic::error(format!("--base-url {url:?} is not an absolute http(s) URL"))
                .with_hint(hint),
        )
    })
}
