//! The Tera theme: the templates [`crate::load::theme`] read (embedded defaults overridden file by
//! file from `<root>/theme/`), compiled once, and the `url` function that every template uses
//! for links and assets.

use std::collections::HashMap;

use tera::{Context, Tera, Value};

use crate::diagnostics::Diagnostic;
use crate::load::layers::LayerFile;
use crate::load::theme::ThemeFiles;
use crate::load::urls::Urls;

/// The loaded theme: templates, plus the static files to copy into the output.
pub struct Theme {
    tera: Tera,
    pub static_files: Vec<LayerFile>,
    /// A digest of every template's name and text: what a page's HTML depends on of the theme
    /// (the build cache's key; the static files are copied, not rendered).
    pub(crate) fingerprint: u128,
}

impl Theme {
    /// Compiles the theme's templates (read by [`crate::load::theme`]). A template that does
    /// not parse is an error naming the template and the line Tera reports; one that calls
    /// `get_env` is refused at its line.
    pub(crate) fn compile(files: ThemeFiles, base_path: &str) -> Result<Theme, Diagnostic> {
        let ThemeFiles {
            templates: texts,
            static_files,
        } = files;
        let mut templates = Vec::with_capacity(texts.len());
        let mut fingerprint = crate::output::manifest::Fingerprint::default();
        for template in texts {
            fingerprint.add(&template.name).add(&template.text);
            if let Some(line) = disabled_function_line(&template.text) {
                return Err(Diagnostic::error(format!(
                    "template error: `{DISABLED_FUNCTION}()` is disabled in clinic themes: a template must not read environment variables, which may hold CI secrets"
                ))
                .in_file(&template.shown)
                .at_line(line)
                .with_hint("remove the call; put the value in the template or in clinic.yaml's `title`"));
            }
            templates.push((template.name, template.text));
        }
        let mut tera = Tera::default();
        // Escape everything rendered into HTML and SVG, whatever the template is called.
        tera.autoescape_on(vec![".html", ".htm", ".xml", ".svg", ""]);
        // Tera's default escaper also turns `/` into `&#x2F;`; the five characters below are all
        // that HTML text and quoted attributes need, and URLs stay readable in the output.
        tera.set_escape_fn(escape_html);
        tera.add_raw_templates(templates).map_err(template_error)?;
        // Tera registers `get_env` by default: a theme could publish any environment variable
        // (a CI secret). Replace it, in case a call slipped past the check above.
        tera.register_function(DISABLED_FUNCTION, disabled_get_env);
        tera.register_filter("inline_code", inline_code_filter);
        let urls = Urls {
            base_path: base_path.to_string(),
            base_url: None,
            shared: None,
        };
        tera.register_function("url", UrlFunction { urls });
        Ok(Theme {
            tera,
            static_files,
            fingerprint: fingerprint.finish(),
        })
    }

    /// The same templates with links under another base path: a cohort parses the theme once
    /// and renders every student's site under `students/<slug>/` with it.
    pub fn rebased(&self, base_path: &str) -> Theme {
        self.rebased_to(&Urls {
            base_path: base_path.to_string(),
            base_url: None,
            shared: None,
        })
    }

    /// The theme with `url()` addressing paths as `urls` does (a cohort student's site routes
    /// the handbook's paths to the shared copy).
    pub fn rebased_to(&self, urls: &Urls) -> Theme {
        let mut tera = self.tera.clone();
        tera.register_function("url", UrlFunction { urls: urls.clone() });
        Theme {
            tera,
            static_files: self.static_files.clone(),
            fingerprint: self.fingerprint,
        }
    }

    /// Renders one template; errors name the template.
    pub fn render(&self, template: &str, context: &Context) -> Result<String, Diagnostic> {
        self.tera.render(template, context).map_err(template_error)
    }

    pub fn has_template(&self, name: &str) -> bool {
        self.tera.get_template_names().any(|n| n == name)
    }
}

/// Tera's errors nest their causes (`Failed to render 'page.html'` -> `Variable ... not found`);
/// a user needs all of them, and the parse errors carry `--> line:column`.
fn template_error(error: tera::Error) -> Diagnostic {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    let template = message
        .split('\'')
        .nth(1)
        .map(|name| format!("theme/templates/{name}"));
    let line = message
        .split("--> ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.trim().parse().ok());
    let mut d = Diagnostic::error(format!("template error: {}", message.trim()))
        .at_line_opt(line)
        .with_hint("fix the template, or delete your override to use the default");
    if let Some(template) = template {
        d = d.in_file(template);
    }
    d
}

/// Tera's built-in function that reads the process environment.
const DISABLED_FUNCTION: &str = "get_env";

/// `{{ reason | inline_code | safe }}`: the text escaped, then each `code` span in backticks
/// shown as code, as the Markdown it is written in would (reasons quote the record's keys and
/// values this way). Escaping first keeps it safe for text from a student's repository.
fn inline_code_filter(value: &Value, _: &HashMap<String, Value>) -> tera::Result<Value> {
    let text = value
        .as_str()
        .ok_or_else(|| tera::Error::msg("the inline_code filter takes a string"))?;
    Ok(Value::String(inline_code(text)))
}

pub(crate) fn inline_code(text: &str) -> String {
    let escaped = escape_html(text);
    let mut out = String::with_capacity(escaped.len() + 16);
    let mut rest = escaped.as_str();
    while let Some(open) = rest.find('`') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('`') else {
            break;
        };
        out.push_str(&rest[..open]);
        out.push_str("<code>");
        out.push_str(&after[..close]);
        out.push_str("</code>");
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

fn disabled_get_env(_: &HashMap<String, Value>) -> tera::Result<Value> {
    Err(tera::Error::msg(
        "`get_env()` is disabled in clinic themes: a template must not read environment variables",
    ))
}

/// The line of the first call of `get_env(` inside a Tera tag (`{{ }}` or `{% %}`), outside
/// string literals and comments; `None` when the template never calls it.
fn disabled_function_line(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(offset) = bytes.get(i..).and_then(|rest| memchr::memchr(b'{', rest)) {
        i += offset;
        let close = match bytes.get(i + 1) {
            Some(b'{') => "}}",
            Some(b'%') => "%}",
            Some(b'#') => {
                i = memchr::memmem::find(&bytes[i..], b"#}").map_or(bytes.len(), |e| i + e + 2);
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        };
        i += 2;
        let mut quote: Option<u8> = None;
        while i < bytes.len() {
            let b = bytes[i];
            match quote {
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None if matches!(b, b'"' | b'\'' | b'`') => quote = Some(b),
                None if bytes[i..].starts_with(close.as_bytes()) => break,
                None if bytes[i..].starts_with(DISABLED_FUNCTION.as_bytes())
                    && (i == 0 || !is_ident(bytes[i - 1]))
                    && bytes[i + DISABLED_FUNCTION.len()..]
                        .iter()
                        .find(|b| !b.is_ascii_whitespace())
                        == Some(&b'(') =>
                {
                    return Some(1 + bytes[..i].iter().filter(|&&c| c == b'\n').count());
                }
                None => {}
            }
            i += 1;
        }
        i += close.len();
    }
    None
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn escape_html(text: &str) -> String {
    crate::render::html::escape(text)
}

/// `url(path="static/style.css")` -> `/portfolio/static/style.css`: absolute from the site
/// root, so it works at any depth and in `404.html`.
struct UrlFunction {
    urls: Urls,
}

impl tera::Function for UrlFunction {
    fn call(&self, args: &HashMap<String, Value>) -> tera::Result<Value> {
        let path = args
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| tera::Error::msg("url() needs a `path` string argument"))?;
        Ok(Value::String(self.urls.url(path)))
    }

    fn is_safe(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// Reads and compiles the theme at `root`, as a build does.
    fn load(root: &Path, base_path: &str) -> Result<Theme, Diagnostic> {
        let (files, _) = crate::load::theme::read(root)?;
        Theme::compile(files, base_path)
    }

    #[test]
    fn default_theme_loads_and_url_uses_base_path() {
        let theme = load(Path::new("/nonexistent"), "/portfolio/").unwrap();
        let mut tera = theme.tera;
        tera.add_raw_template("t.html", "{{ url(path=\"static/a.css\") }}")
            .unwrap();
        let out = tera.render("t.html", &Context::new()).unwrap();
        assert_eq!(out, "/portfolio/static/a.css");
    }

    #[test]
    fn inline_code_escapes_then_shows_backticked_spans_as_code() {
        assert_eq!(
            inline_code("`restored_release: v9` does not resolve; add `mark: <b>`"),
            "<code>restored_release: v9</code> does not resolve; add <code>mark: &lt;b&gt;</code>"
        );
        assert_eq!(inline_code("a lone ` stays"), "a lone ` stays");
        assert_eq!(inline_code("<script>`x`"), "&lt;script&gt;<code>x</code>");
    }

    #[test]
    fn get_env_is_found_in_tags_only() {
        assert_eq!(
            disabled_function_line("a\n{{ get_env(name=\"X\") }}"),
            Some(2)
        );
        assert_eq!(
            disabled_function_line("{% set x = get_env (name='X') %}"),
            Some(1)
        );
        assert_eq!(
            disabled_function_line("{{ x | default(value=get_env(name='X')) }}"),
            Some(1)
        );
        for clean in [
            "get_env(name='X') in text",
            "{# get_env(name='X') #}",
            "{{ \"get_env(\" }}",
            "{{ my_get_env(x=1) }}",
            "{{ get_env_name }}",
            "{{ \"ünïcode\" }} é {% if x %}ß{% endif %}",
        ] {
            assert_eq!(disabled_function_line(clean), None, "{clean}");
        }
    }

    #[test]
    fn get_env_cannot_run_even_unchecked() {
        let theme = load(Path::new("/nonexistent"), "/").unwrap();
        let mut tera = theme.rebased("/x/").tera;
        tera.add_raw_template("t.html", "{{ get_env(name=\"PATH\") }}")
            .unwrap();
        let err = tera.render("t.html", &Context::new()).unwrap_err();
        assert!(template_error(err).message.contains("disabled"));
    }

    #[test]
    fn an_override_calling_get_env_names_template_and_line() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("theme/templates/partials");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("footer.html"),
            "<footer>\n{{ get_env(name=\"CI_SECRET\", default=\"\") }}\n</footer>",
        )
        .unwrap();
        let err = load(root.path(), "/").err().unwrap();
        assert_eq!(
            err.file.as_deref(),
            Some(Path::new("theme/templates/partials/footer.html"))
        );
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("get_env"), "{err}");
    }

    #[test]
    fn broken_override_names_template_and_line() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("theme/templates/partials");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("footer.html"),
            "<footer>\n{{ site.title \n</footer>",
        )
        .unwrap();
        let err = load(root.path(), "/").err().unwrap();
        assert_eq!(
            err.file.as_deref(),
            Some(Path::new("theme/templates/partials/footer.html"))
        );
        assert!(err.line.is_some(), "{err}");
    }
}
