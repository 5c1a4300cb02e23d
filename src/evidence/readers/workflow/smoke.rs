//! Which steps and jobs run the smoke script, and whether their failure can block anything
//! (the bash reader's verdict, `continue-on-error`, `if:`, called workflows).

use super::expr::Assumptions;
use super::judge::{coe_text, finding, loc, Judge, SmokeCandidate, SmokeJob};
use super::promote::local_target;
use super::shells::step_shell;
use super::{expr, StepRun, SCRIPT};
use crate::evidence::catalogue::smoke as rule;

/// GitHub allows four levels of reusable workflows.
const MAX_CALL_DEPTH: usize = 4;

impl Judge<'_> {
    /// Runs the bash reader over every `run:` step that mentions the script.
    pub(crate) fn read_steps(&mut self) {
        for wi in 0..self.wfs.len() {
            let mut smoke = Vec::new();
            let mut near = Vec::new();
            let w = &self.wfs[wi].w;
            for (ji, job) in w.jobs.iter().enumerate() {
                for (si, step) in job.steps.iter().enumerate() {
                    let Some(run) = &step.run else { continue };
                    if !run.script.contains("smoke") {
                        continue;
                    }
                    let wd = step
                        .working_directory
                        .as_deref()
                        .or(job.defaults.working_directory.as_deref())
                        .or(w.defaults.working_directory.as_deref());
                    // The bash reader numbers lines from the start of the text it gets: padded,
                    // the script's lines are the workflow file's, and so are the lines its
                    // messages name ("`|| true` at line 28").
                    let offset = run.file_line(1) - 1;
                    let padded = format!("{}{}", "\n".repeat(offset), run.script);
                    let verdict = match step_shell(w, job, step) {
                        Ok(opts) => (self.step_runs)(&padded, &opts, wd),
                        Err(why) => StepRun::Unseen {
                            line: offset + 1,
                            why,
                        },
                    };
                    let here = |l: usize| {
                        if run.literal_block {
                            l.max(offset + 1)
                        } else {
                            run.line
                        }
                    };
                    let label = step.label();
                    let mut defects = Vec::new();
                    let line = match &verdict {
                        StepRun::NotRun => {
                            near.push((ji, si));
                            continue;
                        }
                        StepRun::Runs { line, .. } => here(*line),
                        StepRun::FailureIgnored { line, why } => {
                            defects.push(finding(
                                &w.path,
                                here(*line),
                                rule::GATE_CANCELLED,
                                format!(
                                    "step `{label}` of job `{}` ({}) runs {SCRIPT}, but its \
                                     failure does not fail the step: {why}",
                                    job.id,
                                    loc(&w.path, here(*line))
                                ),
                                "let the script's exit status end the step: remove `|| true`, \
                                 `set +e`, `; exit 0` and similar, or add `set -o pipefail` \
                                 before a pipe",
                            ));
                            here(*line)
                        }
                        StepRun::Unseen { line, why } => {
                            defects.push(finding(
                                &w.path,
                                here(*line),
                                rule::UNSEEN,
                                format!(
                                    "step `{label}` of job `{}` ({}) cannot be checked: {why}",
                                    job.id,
                                    loc(&w.path, here(*line))
                                ),
                                "run the script directly in a bash step: `run: scripts/smoke.sh`",
                            ));
                            here(*line)
                        }
                    };
                    if let Some((cl, what)) = step
                        .continue_on_error
                        .as_ref()
                        .and_then(|(coe, cl)| coe_text(coe).map(|what| (cl, what)))
                    {
                        defects.push(finding(
                            &w.path,
                            *cl,
                            rule::GATE_CANCELLED,
                            format!(
                                "the smoke step `{label}` ({}) carries {what}, so the job goes \
                                 on when the smoke suite fails",
                                loc(&w.path, *cl)
                            ),
                            "remove `continue-on-error` from the smoke step",
                        ));
                    }
                    if let Some(cond) = &step.if_ {
                        let env = Assumptions::normal();
                        let skippable = expr::can_be_false(&cond.text, &env);
                        let why = match skippable {
                            Ok(false) => None,
                            Ok(true) if cond.text == "false" => {
                                Some("`if: false` is never true".to_string())
                            }
                            Ok(true) => Some(format!("`if: {}` can be false", cond.text)),
                            Err(e) => Some(format!("the `if:` expression could not be read ({e})")),
                        };
                        if let Some(why) = why {
                            defects.push(finding(
                                &w.path,
                                cond.line,
                                rule::GATE_SKIPPABLE,
                                format!(
                                    "the smoke step `{label}` ({}) can be skipped on a deploy: \
                                     {why}, and a skipped step lets the job succeed",
                                    loc(&w.path, cond.line)
                                ),
                                "remove the `if:` from the smoke step; to run the gate only on \
                                 some branches, put the condition on the jobs instead",
                            ));
                        }
                    }
                    smoke.push(SmokeCandidate {
                        job: ji,
                        step: si,
                        line,
                        defects,
                    });
                }
            }
            self.wfs[wi].smoke = smoke;
            self.wfs[wi].near_misses = near;
        }
    }

    /// Whether job `ji` of workflow `wi` fails when the smoke suite fails.
    pub(crate) fn smoke_job(&self, wi: usize, ji: usize, depth: usize) -> SmokeJob {
        let w = &self.wfs[wi].w;
        let job = &w.jobs[ji];
        let mut defects = Vec::new();
        let mut gates = false;
        if let Some(uses) = &job.uses {
            if depth >= MAX_CALL_DEPTH {
                return SmokeJob::No;
            }
            match local_target(uses).and_then(|p| self.find_wf(&p)) {
                Some(target) => {
                    let mut any = false;
                    for tj in 0..self.wfs[target].w.jobs.len() {
                        match self.smoke_job(target, tj, depth + 1) {
                            SmokeJob::No => {}
                            SmokeJob::Gates => {
                                // within the called workflow, its job must not be skippable
                                let tjob = &self.wfs[target].w.jobs[tj];
                                match tjob.if_.as_ref().map(|c| {
                                    (c, expr::can_be_false(&c.text, &Assumptions::normal()))
                                }) {
                                    None | Some((_, Ok(false))) => gates = true,
                                    Some((c, r)) => {
                                        any = true;
                                        let tpath = &self.wfs[target].w.path;
                                        defects.push(finding(
                                            tpath,
                                            c.line,
                                            rule::GATE_SKIPPABLE,
                                            format!(
                                                "job `{}` of the reusable workflow {tpath} ({}) \
                                                 runs the smoke suite but {}, and a skipped \
                                                 job lets the calling job `{}` succeed",
                                                tjob.id,
                                                loc(tpath, c.line),
                                                match r {
                                                    Err(e) => format!(
                                                        "its `if:` could not be read ({e})"
                                                    ),
                                                    _ => format!("`if: {}` can be false", c.text),
                                                },
                                                job.id
                                            ),
                                            "remove the `if:` from that job",
                                        ));
                                    }
                                }
                            }
                            SmokeJob::Broken(d) => {
                                any = true;
                                defects.extend(d);
                            }
                        }
                    }
                    if !gates && !any {
                        return SmokeJob::No;
                    }
                }
                None if local_target(uses).is_some() => {
                    defects.push(finding(
                        &w.path,
                        job.line,
                        rule::UNSEEN,
                        format!(
                            "job `{}` ({}) calls `{uses}`, which is not among the repository's \
                             workflows",
                            job.id,
                            loc(&w.path, job.line)
                        ),
                        "point `uses:` at a workflow file directly in .github/workflows/",
                    ));
                }
                None => {
                    // a remote reusable workflow: its jobs cannot be seen
                    defects.push(finding(
                        &w.path,
                        job.line,
                        rule::UNSEEN,
                        format!(
                            "job `{}` ({}) calls the reusable workflow `{uses}` from another \
                             repository, which the generator cannot read, so it cannot tell \
                             whether it runs {SCRIPT}",
                            job.id,
                            loc(&w.path, job.line)
                        ),
                        "run scripts/smoke.sh in a step of a workflow in this repository (a \
                         local `uses: ./.github/workflows/smoke.yml` is fine)",
                    ));
                }
            }
        } else {
            let cands: Vec<&SmokeCandidate> =
                self.wfs[wi].smoke.iter().filter(|c| c.job == ji).collect();
            if cands.is_empty() {
                return SmokeJob::No;
            }
            for c in cands {
                if c.defects.is_empty() {
                    gates = true;
                } else {
                    defects.extend(c.defects.iter().cloned());
                }
            }
        }
        if let Some((cl, what)) = job
            .continue_on_error
            .as_ref()
            .and_then(|(coe, cl)| coe_text(coe).map(|what| (cl, what)))
        {
            return SmokeJob::Broken(vec![finding(
                &w.path,
                *cl,
                rule::GATE_CANCELLED,
                format!(
                    "the smoke job `{}` ({}) carries {what}, so jobs that \
                     need it run even when the smoke suite fails",
                    job.id,
                    loc(&w.path, *cl)
                ),
                "remove `continue-on-error` from the smoke job",
            )]);
        }
        if gates {
            SmokeJob::Gates
        } else {
            SmokeJob::Broken(defects)
        }
    }
}
