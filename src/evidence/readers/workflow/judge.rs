//! The wiring rules over all workflow files: what judging keeps per workflow, the overall verdict
//! (a gating smoke step exists, something promotes after it, nothing promotes without it), and
//! the findings in the student's terms.

use super::promote::local_target;
use super::{
    ContinueOnError, Finding, Promotion, SmokeStep, StepRunReader, Wiring, Workflow, SCRIPT,
    WORKFLOWS,
};
use crate::evidence::catalogue::smoke as rule;

/// What a candidate smoke step is worth.
#[derive(Debug, Clone)]
pub(crate) struct SmokeCandidate {
    pub(crate) job: usize,
    pub(crate) step: usize,
    /// File line of the invocation.
    pub(crate) line: usize,
    /// Why it cannot gate anything (empty: it gates).
    pub(crate) defects: Vec<Finding>,
}

/// A workflow with what judging found in it.
pub(crate) struct Wf {
    pub(crate) w: Workflow,
    pub(crate) smoke: Vec<SmokeCandidate>,
    /// `run:` steps that mention the script but do not run it.
    pub(crate) near_misses: Vec<(usize, usize)>,
}

/// Whether job `j` fails when the smoke script fails, and if not, why.
#[derive(Debug, Clone)]
pub(crate) enum SmokeJob {
    /// Not a smoke job at all.
    No,
    /// It fails when the script fails.
    Gates,
    /// It runs (or calls) the script but cannot block: the reasons.
    Broken(Vec<Finding>),
}

pub(crate) struct Judge<'a> {
    pub(crate) wfs: Vec<Wf>,
    pub(crate) step_runs: StepRunReader<'a>,
}

pub(crate) fn loc(file: &str, line: usize) -> String {
    format!("{file}:{line}")
}

pub(crate) fn finding(
    file: &str,
    line: usize,
    rule: crate::evidence::Rule,
    message: String,
    fix: &str,
) -> Finding {
    Finding {
        file: file.to_string(),
        line: Some(line),
        rule,
        message,
        fix: fix.to_string(),
    }
}

/// `continue-on-error: X` as the student wrote it, with a note for expressions; `None` for
/// the literal `false`.
pub(crate) fn coe_text(c: &ContinueOnError) -> Option<String> {
    match c {
        ContinueOnError::False => None,
        ContinueOnError::True => Some("`continue-on-error: true`".into()),
        ContinueOnError::Expr(e) => Some(format!(
            "`continue-on-error: {e}` (an expression counts as true)"
        )),
    }
}

impl Judge<'_> {
    pub(crate) fn find_wf(&self, path: &str) -> Option<usize> {
        let want = path.trim_start_matches("./");
        self.wfs
            .iter()
            .position(|w| w.w.path.trim_start_matches("./") == want)
    }

    pub(crate) fn judge(&mut self) -> Wiring {
        self.read_steps();
        let mut wiring = Wiring::default();
        let mut smoke_state: Vec<Vec<SmokeJob>> = Vec::new();
        for wi in 0..self.wfs.len() {
            let states = (0..self.wfs[wi].w.jobs.len())
                .map(|j| self.smoke_job(wi, j, 0))
                .collect();
            smoke_state.push(states);
        }
        for wf in &self.wfs {
            for c in &wf.smoke {
                let job = &wf.w.jobs[c.job];
                wiring.smoke_steps.push(SmokeStep {
                    file: wf.w.path.clone(),
                    line: c.line,
                    job: job.id.clone(),
                    step: job.steps[c.step].label(),
                    gates: c.defects.is_empty(),
                });
            }
        }
        let mut problems: Vec<Finding> = Vec::new();
        let mut call_only_ungated: Vec<(usize, Vec<Finding>)> = Vec::new();
        for (wi, states) in smoke_state.iter().enumerate() {
            let mut wf_problems = Vec::new();
            let w = &self.wfs[wi].w;
            for ji in 0..w.jobs.len() {
                let (proms, findings) = self.judge_job(wi, ji, states);
                wiring.promotions.extend(proms);
                wf_problems.extend(findings);
            }
            if w.call_only && !wf_problems.is_empty() {
                call_only_ungated.push((wi, wf_problems));
            } else {
                problems.extend(wf_problems);
            }
        }
        // A workflow that runs only when called: its promotions are gated when every caller
        // job in this repository is.
        for (wi, inner) in call_only_ungated {
            let target = self.wfs[wi].w.path.clone();
            let mut callers = Vec::new();
            for (ci, wf) in self.wfs.iter().enumerate() {
                for (ji, job) in wf.w.jobs.iter().enumerate() {
                    if job.uses.as_deref().and_then(local_target).as_deref()
                        == Some(target.trim_start_matches("./"))
                    {
                        callers.push((ci, ji));
                    }
                }
            }
            if callers.is_empty() {
                problems.extend(inner.into_iter().map(|mut f| {
                    f.message.push_str(&format!(
                        " ({target} runs only when another workflow calls it, and no \
                         workflow here does)"
                    ));
                    f
                }));
                continue;
            }
            for (ci, ji) in callers {
                match self.gate_of_job(ci, ji, &smoke_state[ci]) {
                    Ok(by) => wiring.promotions.push(Promotion {
                        file: self.wfs[ci].w.path.clone(),
                        line: self.wfs[ci].w.jobs[ji].line,
                        job: self.wfs[ci].w.jobs[ji].id.clone(),
                        step: None,
                        gated_by: Some(by),
                        required: true,
                    }),
                    Err(mut f) => {
                        let cj = &self.wfs[ci].w.jobs[ji];
                        let head = finding(
                            &self.wfs[ci].w.path,
                            cj.line,
                            rule::UNGATED,
                            format!(
                                "job `{}` ({}) calls {target}, which promotes, but is not gated \
                                 by the smoke job",
                                cj.id,
                                loc(&self.wfs[ci].w.path, cj.line)
                            ),
                            "give the calling job `needs:` the job that runs scripts/smoke.sh",
                        );
                        problems.push(head);
                        problems.append(&mut f);
                    }
                }
            }
        }
        let any_gating = self
            .wfs
            .iter()
            .any(|w| w.smoke.iter().any(|c| c.defects.is_empty()))
            || smoke_state
                .iter()
                .flatten()
                .any(|s| matches!(s, SmokeJob::Gates));
        let any_smoke = !wiring.smoke_steps.is_empty()
            || smoke_state
                .iter()
                .flatten()
                .any(|s| !matches!(s, SmokeJob::No));
        if !any_smoke {
            problems.push(self.not_wired());
        } else if !any_gating {
            // every candidate is broken: say why, once each
            for s in smoke_state.iter().flatten() {
                if let SmokeJob::Broken(d) = s {
                    problems.extend(d.iter().cloned());
                }
            }
        } else if !wiring
            .promotions
            .iter()
            .any(|p| p.gated_by.is_some() || p.required)
        {
            let first = &wiring
                .smoke_steps
                .iter()
                .find(|s| s.gates)
                .or(wiring.smoke_steps.first());
            let (file, line) = first
                .map_or((WORKFLOWS.trim_end_matches('/').to_string(), None), |s| {
                    (s.file.clone(), Some(s.line))
                });
            problems.push(Finding {
                file,
                line,
                rule: rule::NO_PROMOTION,
                message: "nothing promotes after the smoke step, so it gates nothing: no job or \
                          step that promotes (its name or id contains `promote`, `release`, or \
                          `deploy` to production, or it has `environment: production`) runs \
                          after it"
                    .into(),
                fix: "run the promotion after the smoke step in the same job, or give the \
                      promoting job `needs:` the smoke job"
                    .into(),
            });
        }
        // de-duplicate (the same broken smoke step may explain several promotions)
        let mut seen = Vec::new();
        for p in problems {
            if !seen.contains(&p) {
                seen.push(p);
            }
        }
        wiring.problems = seen;
        wiring
    }

    fn not_wired(&self) -> Finding {
        let mut hints = Vec::new();
        for wf in &self.wfs {
            for (j, s) in &wf.near_misses {
                let st = &wf.w.jobs[*j].steps[*s];
                hints.push(format!(
                    "step `{}` ({}) mentions {SCRIPT} but never runs it",
                    st.label(),
                    loc(&wf.w.path, st.run.as_ref().map_or(st.line, |r| r.line))
                ));
            }
        }
        Finding {
            file: WORKFLOWS.trim_end_matches('/').to_string(),
            line: None,
            rule: rule::NOT_WIRED,
            message: if hints.is_empty() {
                format!("no workflow under {WORKFLOWS} runs {SCRIPT}")
            } else {
                format!(
                    "no workflow under {WORKFLOWS} runs {SCRIPT}: {}",
                    hints.join("; ")
                )
            },
            fix: format!(
                "add a step `run: {SCRIPT}` to your deploy workflow, before the promotion"
            ),
        }
    }
}
