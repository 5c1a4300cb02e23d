//! The evidence engine: checks the student's records (read by [`records`]) against the files and
//! the git history with the rules of the artifact contract (documented for students in
//! `content/reference/artifacts.md`), and computes one badge per [`Kind`]. A broken record only
//! fails itself; a badge is verified when at least one of its records is. Each item carries the
//! facts its rules established ([`facts`]) and the exact text they judged.

pub mod catalogue;
pub mod facts;
pub(crate) mod flag;
pub mod kind;
pub mod migration;
pub(crate) mod readers;
pub mod records;
pub(crate) mod rehearsal;
pub mod smoke;

pub use catalogue::{Rule, Verdict};
pub use facts::{Facts, Judged};
pub use kind::Kind;

use crate::evidence::catalogue::common;
use serde::Serialize;

use crate::diagnostics::Diagnostic;
use crate::history::{History, RepoError};
use crate::load::config::Config;
use crate::time;
use records::{Artifact, Record, Records};

/// The state of one badge or one artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Verified,
    Incomplete,
    Missing,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Verified => "verified",
            State::Incomplete => "incomplete",
            State::Missing => "missing",
        }
    }
}

/// One failed rule: what is wrong, where, and what would fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Repository-relative file the problem is in.
    pub file: Option<String>,
    pub line: Option<usize>,
    /// A stable id of the rule, e.g. `rehearsal.rollforward`.
    pub rule: &'static str,
    pub message: String,
    pub fix: String,
    /// The clinic's common mistake this is, when it is one.
    pub mistake: Option<&'static str>,
}

impl Problem {
    /// A failure of `rule`: every failure is named from the [`catalogue`], the same list the
    /// "checks that passed" come from.
    pub fn new(rule: Rule, message: impl Into<String>, fix: impl Into<String>) -> Problem {
        Problem {
            file: None,
            line: None,
            rule: rule.id,
            message: message.into(),
            fix: fix.into(),
            mistake: None,
        }
    }

    pub fn at(mut self, file: &str, line: Option<usize>) -> Problem {
        self.file = Some(file.to_string());
        self.line = line;
        self
    }

    pub fn mistake(mut self, name: &'static str) -> Problem {
        self.mistake = Some(name);
        self
    }

    /// `library/raw/x.md:4: message (common mistake: ...). Fix: ...`, the form used in
    /// `evidence.json`'s `reasons` and on the terminal.
    pub fn sentence(&self) -> String {
        let mut s = String::new();
        if let Some(file) = &self.file {
            s.push_str(file);
            if let Some(line) = self.line {
                s.push_str(&format!(":{line}"));
            }
            s.push_str(": ");
        }
        if let Some(mistake) = self.mistake {
            s.push_str(&format!("common mistake, {mistake}: "));
        }
        s.push_str(&self.message);
        if !self.fix.is_empty() {
            s.push_str(". Fix: ");
            s.push_str(&self.fix);
        }
        s
    }
}

/// A commit as evidence pages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitRef {
    pub id: String,
    pub short: String,
    pub summary: String,
    pub time: i64,
    /// The commit's page on the repository's web host, when there is one.
    pub url: Option<String>,
    /// `2026-10-02 14:03 +02:00`, in the committer's offset.
    pub when: String,
}

impl CommitRef {
    pub fn of(history: &History, index: usize) -> CommitRef {
        let c = history.commit(index);
        CommitRef {
            id: c.id.to_string(),
            short: c.id.short(),
            summary: c.summary.clone(),
            time: c.time,
            when: time::format(c.time, c.offset_minutes),
            url: history.commit_url(c.id),
        }
    }
}

/// One artifact's verdict, with the facts its page shows.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    /// Repository-relative path of the artifact.
    pub artifact: String,
    pub title: String,
    pub state: State,
    pub problems: Vec<Problem>,
    /// The rules its judge evaluated that held, in the order they were judged (empty for a
    /// record that could not be read). A rule the judge did not get to (an earlier one failed,
    /// the history could not be read) is in neither list. `evidence.json` has their ids only
    /// (pages show what each proves): a cohort publishes one per student.
    #[serde(serialize_with = "catalogue::serialize_ids")]
    pub passed: Vec<Rule>,
    /// What the rules established (commits, times, durations) for pages and tools.
    pub facts: Facts,
    /// Things the student should know that do not fail the item (a file edited after it
    /// shipped and judged as it shipped).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The text the rules judged, for the item's page.
    #[serde(skip)]
    pub judged: Judged,
}

impl Item {
    pub fn new(artifact: &str, title: String, problems: Vec<Problem>, facts: Facts) -> Item {
        let state = if problems.is_empty() {
            State::Verified
        } else {
            State::Incomplete
        };
        Item {
            artifact: artifact.to_string(),
            title,
            state,
            problems,
            passed: Vec::new(),
            facts,
            notes: Vec::new(),
            judged: Judged::default(),
        }
    }

    /// The item of a judged record: its failures, and the rules that held.
    pub fn judged(artifact: &str, title: String, verdict: Verdict, facts: Facts) -> Item {
        let passed = verdict.passed();
        Item {
            passed,
            ..Item::new(artifact, title, verdict.into_problems(), facts)
        }
    }

    /// The item of a record that could not be read.
    pub fn unread(unread: &records::Unread) -> Item {
        Item::new(
            &unread.path,
            unread.path.clone(),
            vec![(*unread.problem).clone()],
            Facts::Unread {},
        )
    }

    /// Keeps the record's prose with the item, for its page.
    pub fn with_write_up<T>(mut self, artifact: &Artifact<T>) -> Item {
        self.judged.write_up = Some(facts::WriteUp {
            markdown: artifact.body.clone(),
            first_line: artifact.body_first_line,
            file_bytes: artifact.file_bytes,
        });
        self
    }
}

/// A badge: its state, the reasons it is not verified, and its artifacts.
#[derive(Debug, Clone, Serialize)]
pub struct Badge {
    pub state: State,
    pub reasons: Vec<String>,
    /// The failed rules behind `reasons`, one each in the same order, with their file and line
    /// (for `check --format github`'s annotations).
    #[serde(skip)]
    pub problems: Vec<Problem>,
    pub artifacts: Vec<String>,
    pub items: Vec<Item>,
}

impl Badge {
    /// Verified when one item is; missing when there is nothing; otherwise incomplete with
    /// every item's reasons (a broken artifact never hides a good one).
    pub fn from_items(items: Vec<Item>, missing_reason: Problem, extra: Vec<Problem>) -> Badge {
        let artifacts = items.iter().map(|i| i.artifact.clone()).collect();
        let state = if items.iter().any(|i| i.state == State::Verified) {
            State::Verified
        } else if items.is_empty() && extra.is_empty() {
            State::Missing
        } else {
            State::Incomplete
        };
        let problems: Vec<Problem> = match state {
            State::Verified => Vec::new(),
            State::Missing => vec![missing_reason],
            State::Incomplete => extra
                .into_iter()
                .chain(items.iter().flat_map(|i| i.problems.iter().cloned()))
                .collect(),
        };
        Badge {
            state,
            reasons: problems.iter().map(Problem::sentence).collect(),
            problems,
            artifacts,
            items,
        }
    }
}

/// The four badges.
#[derive(Debug, Clone, Serialize)]
pub struct Badges {
    pub rehearsal: Badge,
    pub migration: Badge,
    pub smoke: Badge,
    pub flag: Badge,
}

impl Badges {
    pub fn get(&self, kind: Kind) -> &Badge {
        match kind {
            Kind::Rehearsal => &self.rehearsal,
            Kind::Migration => &self.migration,
            Kind::Smoke => &self.smoke,
            Kind::Flag => &self.flag,
        }
    }

    /// Every badge with its kind, in display order.
    pub fn iter(&self) -> impl Iterator<Item = (Kind, &Badge)> {
        Kind::ALL.into_iter().map(|kind| (kind, self.get(kind)))
    }

    pub fn all_verified(&self) -> bool {
        self.iter().all(|(_, b)| b.state == State::Verified)
    }

    pub fn all_missing(&self) -> bool {
        self.iter().all(|(_, b)| b.state == State::Missing)
    }
}

/// What the history looked like, for `evidence.json` and pages.
#[derive(Debug, Clone, Serialize)]
pub struct RepositorySummary {
    pub head: Option<String>,
    /// When HEAD was committed (seconds since the epoch, and its UTC date): the badges are
    /// computed at that commit, and the portfolio's stamp says so.
    pub head_time: Option<i64>,
    pub head_date: Option<String>,
    /// The repository's web page, for links.
    pub web_url: Option<String>,
    pub commits: usize,
    pub shallow: bool,
    pub releases: Vec<ReleaseRef>,
    /// Why the history could not be read, when it could not.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReleaseRef {
    pub name: String,
    pub commit: String,
    pub time: i64,
    pub date: String,
    pub url: Option<String>,
}

/// Everything the engine computed: `evidence.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    pub generator: String,
    pub repository: RepositorySummary,
    pub badges: Badges,
    /// Grading settings that differ from the clinic's defaults (course policy).
    #[serde(skip_serializing_if = "crate::load::config::Policy::is_default")]
    pub policy: crate::load::config::Policy,
    /// Every migration file at HEAD, each statement classified.
    pub migrations: Vec<migration::ClassifiedFile>,
    /// Problems reading records that belong to no badge (unknown keys are warnings), written
    /// to `evidence.json` as diagnostics (`severity`, `file`, `line`, `message`, `hint`), the
    /// same objects as `clinic build --json`'s `diagnostics`.
    pub warnings: Vec<Diagnostic>,
}

/// What every rule may consult besides the record it judges.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub config: &'a Config,
    pub history: Result<&'a History, &'a RepoError>,
    /// The build's clock, seconds since the epoch: evidence dated after it is refused.
    pub now: i64,
}

impl<'a> Context<'a> {
    /// A problem when `time` lies more than a day after the build's clock: a date in the future
    /// proves nothing (git dates are set by their author).
    pub fn in_the_future(&self, time: i64, what: &str) -> Option<Problem> {
        (time > self.now + 86_400).then(|| {
            Problem::new(
                common::FUTURE,
                format!(
                    "{what} is dated in the future ({}), after this build's clock",
                    time::format(time, 0)
                ),
                "use the real date: a date set ahead proves nothing",
            )
        })
    }

    /// The history when it can prove anything; otherwise why not, as a problem.
    pub fn usable_history(&self) -> Result<&'a History, Problem> {
        match history_problem(self.history) {
            Some(problem) => Err(problem),
            None => Ok(self.history.expect("history_problem covers Err")),
        }
    }
}

/// Checks every record of a kind (an unread one becomes an incomplete item of its own) and makes
/// the badge.
fn judge<T>(
    records: &[Record<T>],
    missing: Problem,
    check: impl Fn(&Artifact<T>) -> Item,
) -> Badge {
    let items = records
        .iter()
        .map(|record| match record {
            Ok(artifact) => check(artifact).with_write_up(artifact),
            Err(unread) => Item::unread(unread),
        })
        .collect();
    Badge::from_items(items, missing, Vec::new())
}

/// Why history-based rules cannot pass, when the history is missing or incomplete.
pub fn history_problem(history: Result<&History, &RepoError>) -> Option<Problem> {
    match history {
        Err(e) => Some(Problem::new(common::HISTORY_UNAVAILABLE, e.to_string(), e.hint())),
        Ok(h) if h.shallow => Some(Problem::new(
            common::HISTORY_SHALLOW,
            "the repository is a shallow clone, so its history is cut off and cannot prove anything",
            "fetch the whole history: `git fetch --unshallow`, or in GitHub Actions set `fetch-depth: 0` on actions/checkout",
        )),
        Ok(_) => None,
    }
}

/// Computes all four badges. Never fails: every problem becomes a reason.
pub fn compute(
    records: &Records,
    config: &Config,
    history: Result<&History, &RepoError>,
    warnings: Vec<Diagnostic>,
) -> Evidence {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let cx = Context {
        config,
        history,
        now,
    };
    let badges = Badges {
        rehearsal: judge(&records.rehearsals, rehearsal::missing(), |a| {
            rehearsal::check(a, cx)
        }),
        migration: judge(&records.migrations, migration::missing(), |a| {
            migration::check(a, records, cx)
        }),
        smoke: smoke::badge(records, cx),
        flag: judge(&records.flags, flag::missing(), |a| flag::check(a, cx)),
    };
    let repository = match history {
        Ok(h) => RepositorySummary {
            head: Some(h.head.to_string()),
            head_time: h.index_of(h.head).map(|i| h.commit(i).time),
            head_date: h.index_of(h.head).map(|i| time::date(h.commit(i).time)),
            web_url: h.web.as_ref().map(|w| w.url.clone()),
            commits: h.commit_count(),
            shallow: h.shallow,
            releases: h
                .releases
                .iter()
                .map(|r| ReleaseRef {
                    name: r.name.clone(),
                    commit: r.commit.to_string(),
                    time: r.time,
                    date: time::date(r.time),
                    url: h.release_url(&r.name),
                })
                .collect(),
            error: None,
        },
        Err(e) => RepositorySummary {
            head: None,
            head_time: None,
            head_date: None,
            web_url: None,
            commits: 0,
            shallow: false,
            releases: Vec::new(),
            error: Some(e.to_string()),
        },
    };
    Evidence {
        generator: format!("clinic {}", env!("CARGO_PKG_VERSION")),
        repository,
        badges,
        policy: config.policy(),
        migrations: history
            .ok()
            .map(migration::classify_all)
            .unwrap_or_default(),
        warnings,
    }
}
