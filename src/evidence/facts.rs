//! What each kind's rules established, for pages and for `evidence.json` (under each item's
//! `facts`). The field names are a public interface: tools read them, so they only ever grow.
//! Optional facts are left out of the JSON until a rule established them.

use std::collections::BTreeMap;

use serde::Serialize;

use super::CommitRef;
use crate::evidence::readers::sql::Statement;

/// One item's facts, by kind.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Facts {
    Rehearsal(RehearsalFacts),
    Migration(MigrationFacts),
    Smoke(SmokeFacts),
    Flag(FlagFacts),
    /// The record could not be read, so nothing was judged: `{}`.
    Unread {},
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RehearsalFacts {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bad_release: Option<ReleaseClaim>,
    pub detect_minutes: Option<i64>,
    pub environment: Option<String>,
    pub restore_command: Option<String>,
    pub restore_minutes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restored_release: Option<ReleaseClaim>,
    /// Git dates are set by their author, so the timer is the student's word.
    pub self_attested: bool,
    pub timeline: Vec<TimelineMark>,
    pub timer_minutes: Option<i64>,
    pub trigger: Option<String>,
    /// The commit that first added the write-up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written: Option<CommitRef>,
}

/// A release a record names, and the commit it resolved to.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseClaim {
    pub commit: CommitRef,
    #[serde(rename = "ref")]
    pub reference: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimelineMark {
    pub mark: String,
    /// What the student wrote beside the mark (`note:`), shown on the record's page.
    pub note: Option<String>,
    pub time: i64,
    /// In the site's time zone.
    pub when: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct MigrationFacts {
    pub change: Option<String>,
    pub contract: HalfFacts,
    pub expand: HalfFacts,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overlap_days: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_between: Option<ReleaseBetween>,
}

/// One half of an expand-contract pair.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HalfFacts {
    /// The commit that first added the `up` file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<CommitRef>,
    pub down: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statements: Option<Vec<Statement>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub up: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReleaseBetween {
    pub commit: String,
    pub date: String,
    pub name: String,
    pub time: i64,
    pub url: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SmokeFacts {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub break_commit: Option<CommitRef>,
    pub ci_run: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix_commit: Option<CommitRef>,
    /// The script and its wiring at HEAD.
    pub gate: GateFacts,
    pub observed: Option<String>,
}

/// The smoke script's checks and the workflow lines that run it and promote after it; empty
/// when there is no history to read them from.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GateFacts {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks: Option<Vec<crate::evidence::smoke::Check>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow: Option<Vec<crate::evidence::smoke::WorkflowLine>>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct FlagFacts {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_days: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_to_flip: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_to_retire: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployed_off: Option<DeployedOff>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flipped: Option<CommitRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub introduced: Option<CommitRef>,
    pub key: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifetime_days: Option<f64>,
    pub limit_days: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removal_commits: Option<Vec<CommitRef>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retired: Option<CommitRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeployedOff {
    pub commit: CommitRef,
    pub release: Option<String>,
    pub release_time: Option<i64>,
    pub release_url: Option<String>,
}

/// The exact text an item was judged on, from the snapshot its rules read (HEAD, or the working
/// tree for a file not committed yet), so a page never shows other text than its verdict saw.
#[derive(Debug, Clone, Default)]
pub struct Judged {
    /// The record's prose (its Markdown after the front matter).
    pub write_up: Option<WriteUp>,
    /// Repository files the rules read, by path.
    pub files: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default)]
pub struct WriteUp {
    pub markdown: String,
    /// The file line the Markdown starts on.
    pub first_line: usize,
    /// The size of the whole record file, for the page's size limit.
    pub file_bytes: usize,
}

impl Facts {
    /// The commits the rules found, each with what it was, in the order of the lifecycle.
    pub fn milestones(&self) -> Vec<(&'static str, &CommitRef)> {
        let found: Vec<(&'static str, Option<&CommitRef>)> = match self {
            Facts::Rehearsal(f) => vec![("rehearsal written up", f.written.as_ref())],
            Facts::Migration(f) => vec![
                ("expand", f.expand.commit.as_ref()),
                ("contract", f.contract.commit.as_ref()),
            ],
            Facts::Smoke(f) => vec![
                ("smoke drill: break", f.break_commit.as_ref()),
                ("smoke drill: fix", f.fix_commit.as_ref()),
            ],
            Facts::Flag(f) => vec![
                ("flag introduced", f.introduced.as_ref()),
                ("flag flipped on", f.flipped.as_ref()),
                ("flag retired", f.retired.as_ref()),
            ],
            Facts::Unread {} => Vec::new(),
        };
        found
            .into_iter()
            .filter_map(|(label, commit)| commit.map(|c| (label, c)))
            .collect()
    }
}
