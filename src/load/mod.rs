//! Step 1 of the pipeline: everything read from the site root before the history. `config`
//! (`clinic.yaml`), `content` (Markdown pages through `frontmatter` and `yaml`), merged from the
//! embedded defaults and the root's own files by `layers`.

pub(crate) mod attachments;
pub mod config;
pub(crate) mod content;
pub(crate) mod frontmatter;
pub(crate) mod layers;
pub(crate) mod theme;
pub(crate) mod urls;
pub(crate) mod yaml;
