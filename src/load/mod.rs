//! Step 1 of the pipeline: everything read from the site root before the history. `config`
//! (`clinic.yaml`), `content` (Markdown pages through `frontmatter` and `yaml`), merged from the
//! embedded defaults and the root's own files by `layers`.

pub mod config;
pub mod content;
pub mod frontmatter;
pub mod layers;
pub mod urls;
pub mod yaml;
