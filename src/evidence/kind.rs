//! The four kinds of evidence. Every table of names (artifact folder, badge key, page folder,
//! labels, handbook pages) lives here, so adding a fact about a kind is one match arm.

use serde::Serialize;

/// One of the clinic's four skills, each with its badge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Rehearsal,
    Migration,
    Smoke,
    Flag,
}

impl Kind {
    /// In the order badges are shown and written to `evidence.json`.
    pub const ALL: [Kind; 4] = [Kind::Rehearsal, Kind::Migration, Kind::Smoke, Kind::Flag];

    /// The badge's key in `evidence.json`, its SVG file and CSS classes.
    pub fn key(self) -> &'static str {
        match self {
            Kind::Rehearsal => "rehearsal",
            Kind::Migration => "migration",
            Kind::Smoke => "smoke",
            Kind::Flag => "flag",
        }
    }

    /// Where students write this kind's records.
    pub fn folder(self) -> &'static str {
        match self {
            Kind::Rehearsal => "library/raw/rollback-rehearsals",
            Kind::Migration => "library/raw/migrations",
            Kind::Smoke => "library/raw/smoke-drills",
            Kind::Flag => "library/raw/flags",
        }
    }

    /// The folder of this kind's pages under `portfolio/`.
    pub fn page_folder(self) -> &'static str {
        match self {
            Kind::Rehearsal => "rehearsals",
            Kind::Migration => "migrations",
            Kind::Smoke => "smoke-drills",
            Kind::Flag => "flags",
        }
    }

    /// The badge's name as pages show it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Rehearsal => "Rollback rehearsal",
            Kind::Migration => "Expand-contract migration",
            Kind::Smoke => "Smoke gate",
            Kind::Flag => "Feature-flag lifecycle",
        }
    }

    /// The handbook exercise that teaches it.
    pub fn exercise(self) -> &'static str {
        match self {
            Kind::Rehearsal => "exercises/rollback-rehearsal/",
            Kind::Migration => "exercises/expand-contract-migration/",
            Kind::Smoke => "exercises/smoke-gate/",
            Kind::Flag => "exercises/feature-flag-lifecycle/",
        }
    }

    /// Its section of the artifact reference.
    pub fn reference(self) -> &'static str {
        match self {
            Kind::Rehearsal => "reference/artifacts/#rollback-rehearsal",
            Kind::Migration => "reference/artifacts/#expand-contract-migration",
            Kind::Smoke => "reference/artifacts/#smoke-gate",
            Kind::Flag => "reference/artifacts/#feature-flag-lifecycle",
        }
    }

    /// The front-matter keys the contract defines for its records; others are warnings.
    pub fn known_keys(self) -> &'static [&'static str] {
        match self {
            Kind::Rehearsal => &[
                "title",
                "environment",
                "bad_release",
                "restored_release",
                "trigger",
                "restore_command",
                "timeline",
            ],
            Kind::Migration => &["change", "expand", "contract"],
            Kind::Smoke => &["break_commit", "fix_commit", "ci_run", "observed", "title"],
            Kind::Flag => &["flag", "kind", "title"],
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_folders_are_distinct() {
        let keys: std::collections::BTreeSet<_> = Kind::ALL.iter().map(|k| k.key()).collect();
        let folders: std::collections::BTreeSet<_> = Kind::ALL.iter().map(|k| k.folder()).collect();
        assert_eq!((keys.len(), folders.len()), (4, 4));
        assert!(Kind::ALL
            .iter()
            .all(|k| k.folder().starts_with("library/raw/")));
    }
}
