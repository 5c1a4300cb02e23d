//! INTERIM compile shim, replaced by the real classifier (helper-5). Not to be committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Safety { Additive, NeedsExpandContract }
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Statement { pub text: String, pub line: usize, pub safety: Safety, pub rule: String, pub reason: String }
pub fn classify(sql: &str) -> Vec<Statement> {
    sql.split(';').filter(|s| !s.trim().is_empty()).map(|s| {
        let up = s.to_ascii_uppercase();
        let bad = up.contains("DROP") || up.contains("RENAME") || up.contains("SET NOT NULL");
        Statement { text: s.trim().into(), line: 1, safety: if bad { Safety::NeedsExpandContract } else { Safety::Additive }, rule: "shim".into(), reason: "shim".into() }
    }).collect()
}
pub fn is_additive(s: &[Statement]) -> bool { s.iter().all(|s| s.safety == Safety::Additive) }
