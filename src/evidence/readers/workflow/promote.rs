//! Which jobs and steps promote (by name, id or production environment), and whether each
//! promotion is gated by a smoke job or an earlier smoke step.

use super::expr::Assumptions;
use super::judge::{finding, loc, Judge, SmokeCandidate, SmokeJob};
use super::{expr, is_workflow_path, Finding, Job, Promotion, Step, Workflow, SCRIPT};
use crate::evidence::catalogue::smoke as rule;

fn lower_names(id: &str, name: Option<&str>) -> String {
    format!("{} {}", id, name.unwrap_or("")).to_lowercase()
}

/// `Some(true)`: a production environment; `None`: an expression that could be one.
fn production(env: Option<&str>) -> Option<bool> {
    let e = env?.trim().to_lowercase();
    if e.contains("${{") {
        return None;
    }
    Some(e.starts_with("prod"))
}

fn job_promotes(job: &Job) -> bool {
    let text = lower_names(&job.id, job.name.as_deref());
    let prod = production(job.environment.as_deref()) != Some(false) && job.environment.is_some();
    text.contains("promote")
        || text.contains("release")
        || prod
        || (text.contains("deploy") && text.contains("prod"))
}

/// (required, optional) promotion by a step's name or id.
fn step_promotes(job: &Job, step: &Step) -> (bool, bool) {
    let text = lower_names(step.id.as_deref().unwrap_or(""), step.name.as_deref());
    let prod = text.contains("prod")
        || (job.environment.is_some() && production(job.environment.as_deref()) != Some(false));
    let required =
        text.contains("promote") || ((text.contains("deploy") || text.contains("release")) && prod);
    let optional = required || text.contains("release");
    (required, optional)
}

/// The job a local `uses:` refers to: `./.github/workflows/x.yml`.
pub(crate) fn local_target(uses: &str) -> Option<String> {
    let p = uses.trim().strip_prefix("./")?;
    is_workflow_path(p).then(|| p.to_string())
}

impl Judge<'_> {
    /// The promotions in job `ji` and the problems with them.
    pub(crate) fn judge_job(
        &self,
        wi: usize,
        ji: usize,
        states: &[SmokeJob],
    ) -> (Vec<Promotion>, Vec<Finding>) {
        let wf = &self.wfs[wi];
        let w = &wf.w;
        let job = &w.jobs[ji];
        let job_unit = job_promotes(job);
        let step_units: Vec<(usize, bool)> = job
            .steps
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let (req, opt) = step_promotes(job, s);
                opt.then_some((i, req))
            })
            .collect();
        // a job calling a local workflow that promotes is judged through the callee
        if !job_unit && step_units.is_empty() {
            return (Vec::new(), Vec::new());
        }
        let mut proms = Vec::new();
        let mut problems = Vec::new();
        let needs_gate = self.gate_of_job(wi, ji, states);
        if let Ok(by) = &needs_gate {
            if job_unit {
                proms.push(Promotion {
                    file: w.path.clone(),
                    line: job.line,
                    job: job.id.clone(),
                    step: None,
                    gated_by: Some(by.clone()),
                    required: true,
                });
            }
            for (i, req) in &step_units {
                proms.push(Promotion {
                    file: w.path.clone(),
                    line: job.steps[*i].line,
                    job: job.id.clone(),
                    step: Some(job.steps[*i].label()),
                    gated_by: Some(by.clone()),
                    required: *req,
                });
            }
            return (proms, problems);
        }
        let needs_why = needs_gate.err().unwrap_or_default();
        // Same job: the first smoke step that gates.
        let here: Vec<&SmokeCandidate> = wf.smoke.iter().filter(|c| c.job == ji).collect();
        let good = here.iter().find(|c| c.defects.is_empty());
        let mut step_why: Vec<Finding> = Vec::new();
        if good.is_none() {
            for c in &here {
                step_why.extend(c.defects.iter().cloned());
            }
        }
        let mut job_gated_here = None;
        if let Some(g) = good {
            let smoke_step = &job.steps[g.step];
            let by = format!("step `{}` ({})", smoke_step.label(), loc(&w.path, g.line));
            let mut all_ok = true;
            for (i, req) in &step_units {
                let st = &job.steps[*i];
                let verdict = if *i < g.step {
                    Err(finding(
                        &w.path,
                        st.line,
                        rule::UNGATED,
                        format!(
                            "step `{}` ({}) promotes before the smoke step `{}` ({}) has run",
                            st.label(),
                            loc(&w.path, st.line),
                            smoke_step.label(),
                            loc(&w.path, g.line)
                        ),
                        "move the smoke step before the promotion",
                    ))
                } else if *i == g.step {
                    Ok(())
                } else {
                    self.step_after_smoke(w, job, smoke_step, st)
                };
                match verdict {
                    Ok(()) => proms.push(Promotion {
                        file: w.path.clone(),
                        line: st.line,
                        job: job.id.clone(),
                        step: Some(st.label()),
                        gated_by: Some(by.clone()),
                        required: *req,
                    }),
                    Err(f) => {
                        proms.push(Promotion {
                            file: w.path.clone(),
                            line: st.line,
                            job: job.id.clone(),
                            step: Some(st.label()),
                            gated_by: None,
                            required: *req,
                        });
                        if *req || job_unit {
                            all_ok = false;
                            problems.push(f);
                        }
                    }
                }
            }
            if job_unit {
                if g.step + 1 >= job.steps.len() {
                    all_ok = false;
                    problems.push(finding(
                        &w.path,
                        g.line,
                        rule::UNGATED,
                        format!(
                            "the smoke step `{}` ({}) is the last step of job `{}`, which \
                             promotes, so the promotion happens before the suite runs",
                            smoke_step.label(),
                            loc(&w.path, g.line),
                            job.id
                        ),
                        "run the smoke suite before the promoting step",
                    ));
                }
                if all_ok {
                    job_gated_here = Some(by);
                }
            }
            if job_unit {
                proms.push(Promotion {
                    file: w.path.clone(),
                    line: job.line,
                    job: job.id.clone(),
                    step: None,
                    gated_by: job_gated_here,
                    required: true,
                });
            }
            return (proms, problems);
        }
        // Not gated at all.
        let mut why = needs_why;
        why.extend(step_why);
        let required = job_unit || step_units.iter().any(|(_, r)| *r);
        for (i, req) in &step_units {
            proms.push(Promotion {
                file: w.path.clone(),
                line: job.steps[*i].line,
                job: job.id.clone(),
                step: Some(job.steps[*i].label()),
                gated_by: None,
                required: *req,
            });
        }
        if job_unit {
            proms.push(Promotion {
                file: w.path.clone(),
                line: job.line,
                job: job.id.clone(),
                step: None,
                gated_by: None,
                required: true,
            });
        }
        if !required {
            return (proms, problems);
        }
        let what = if job_unit {
            format!("job `{}` ({}) promotes", job.id, loc(&w.path, job.line))
        } else {
            let (i, _) = step_units
                .iter()
                .find(|(_, r)| *r)
                .copied()
                .unwrap_or((0, true));
            let st = &job.steps[i];
            format!(
                "step `{}` of job `{}` ({}) promotes",
                st.label(),
                job.id,
                loc(&w.path, st.line)
            )
        };
        if why.is_empty() {
            let near: Vec<String> = wf
                .near_misses
                .iter()
                .filter(|(j, _)| *j == ji || Self::ancestors(w, ji).contains(j))
                .map(|(j, s)| {
                    let st = &w.jobs[*j].steps[*s];
                    format!(
                        "step `{}` ({}) mentions {SCRIPT} but never runs it",
                        st.label(),
                        loc(&w.path, st.run.as_ref().map_or(st.line, |r| r.line))
                    )
                })
                .collect();
            let detail = if !near.is_empty() {
                format!("; {}", near.join("; "))
            } else if job.needs.is_empty() {
                " and has no `needs:`, so it runs without waiting for any smoke job".to_string()
            } else {
                format!(
                    ", but neither it nor any job it needs ({}) runs {SCRIPT}",
                    job.needs.join(", ")
                )
            };
            problems.push(finding(
                &w.path,
                job.line,
                rule::UNGATED,
                format!("{what} without a smoke run before it{detail}"),
                "give the job `needs:` the job that runs scripts/smoke.sh (or run the suite \
                 in an earlier step of the same job)",
            ));
        } else {
            problems.push(finding(
                &w.path,
                job.line,
                rule::UNGATED,
                format!("{what} after a smoke run that cannot stop it (the next reasons say why)"),
                "make the smoke run a real gate: the reasons that follow name what lets it pass",
            ));
            problems.extend(why);
        }
        (proms, problems)
    }

    /// A promoting step after a gating smoke step in the same job: runs only if the smoke
    /// step passed?
    fn step_after_smoke(
        &self,
        w: &Workflow,
        job: &Job,
        smoke: &Step,
        st: &Step,
    ) -> Result<(), Finding> {
        let Some(c) = &st.if_ else { return Ok(()) };
        let env = Assumptions {
            success: false,
            failure: true,
            cancelled: false,
            needs: Vec::new(),
            steps: smoke
                .id
                .iter()
                .map(|id| (id.clone(), "failure".to_string()))
                .collect(),
        };
        let why = match expr::can_be_true(&c.text, &env) {
            Ok(false) => return Ok(()),
            Ok(true) => format!(
                "its `if: {}` is true for some run in which the smoke step failed",
                c.text
            ),
            Err(e) => format!("the `if:` expression could not be read ({e})"),
        };
        Err(finding(
            &w.path,
            c.line,
            rule::GATE_BYPASSED,
            format!(
                "step `{}` of job `{}` ({}) can promote even when the smoke step `{}` failed: {why}",
                st.label(),
                job.id,
                loc(&w.path, c.line),
                smoke.label()
            ),
            "drop the `if:` from the promoting step, or make it `success() && ...`",
        ))
    }
}
