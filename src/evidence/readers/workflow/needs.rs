//! The `needs:` graph: which jobs depend on the smoke job, and whether they can still run (and
//! promote) when it failed or was skipped.

use super::expr::Assumptions;
use super::judge::{finding, loc, Judge, SmokeJob};
use super::{expr, Finding, Workflow};
use crate::evidence::catalogue::smoke as rule;

impl Judge<'_> {
    /// The jobs `ji` needs, directly or transitively (a cycle is cut).
    pub(crate) fn ancestors(w: &Workflow, ji: usize) -> Vec<usize> {
        let mut seen = vec![false; w.jobs.len()];
        let mut stack = vec![ji];
        let mut out = Vec::new();
        while let Some(j) = stack.pop() {
            for n in &w.jobs[j].needs {
                if let Some(k) = w.job(n).filter(|&k| !seen[k]) {
                    seen[k] = true;
                    if k != ji {
                        out.push(k);
                    }
                    stack.push(k);
                }
            }
        }
        out.sort_unstable();
        out
    }

    /// What job `ji` may assume when smoke job `s` failed (`failed`) or was skipped.
    fn env_after(w: &Workflow, ji: usize, s: usize, failed: bool, depth: usize) -> Assumptions {
        let mut env = Assumptions {
            success: false,
            failure: failed,
            cancelled: false,
            needs: Vec::new(),
            steps: Vec::new(),
        };
        for n in &w.jobs[ji].needs {
            let Some(k) = w.job(n) else { continue };
            if k == s {
                env.needs
                    .push((n.clone(), if failed { "failure" } else { "skipped" }.into()));
            } else if Self::ancestors(w, k).contains(&s)
                && !Self::can_run_after(w, k, s, failed, depth + 1)
            {
                env.needs.push((n.clone(), "skipped".into()));
            }
        }
        env
    }

    /// Whether job `ji`, which depends on smoke job `s`, can run when `s` failed / was
    /// skipped. Unreadable conditions can run (fail closed).
    fn can_run_after(w: &Workflow, ji: usize, s: usize, failed: bool, depth: usize) -> bool {
        if depth > w.jobs.len() + 1 {
            return true;
        }
        let text = w.jobs[ji]
            .if_
            .as_ref()
            .map_or("success()", |c| c.text.as_str());
        expr::can_be_true(text, &Self::env_after(w, ji, s, failed, depth)).unwrap_or(true)
    }

    /// Whether promoting job `p` is gated by smoke job `s` (an ancestor that gates); the
    /// finding says why not.
    fn gated_by_needs(&self, wi: usize, p: usize, s: usize) -> Result<(), Finding> {
        let w = &self.wfs[wi].w;
        let (pj, sj) = (&w.jobs[p], &w.jobs[s]);
        let pcond = pj.if_.as_ref();
        let ptext = pcond.map_or("success()", |c| c.text.as_str());
        let pline = pcond.map_or(pj.line, |c| c.line);
        let direct = pj.needs.iter().any(|n| n == &sj.id);
        let env = Self::env_after(w, p, s, true, 0);
        match expr::can_be_true(ptext, &env) {
            Ok(false) => {}
            r => {
                let why = match r {
                    Err(e) => format!("the `if:` expression could not be read ({e})"),
                    _ => format!(
                        "its `if: {ptext}` is true for some run in which `{}` failed{}",
                        sj.id,
                        if direct {
                            String::new()
                        } else {
                            format!(" (it needs `{}` through other jobs)", sj.id)
                        }
                    ),
                };
                return Err(finding(
                    &w.path,
                    pline,
                    rule::GATE_BYPASSED,
                    format!(
                        "job `{}` ({}) can promote even when the smoke job failed: {why}",
                        pj.id,
                        loc(&w.path, pline)
                    ),
                    &format!(
                        "drop the `if:` (GitHub then runs the job only when `{0}` passed), or \
                         require it: `if: ${{{{ always() && needs.{0}.result == 'success' }}}}`",
                        sj.id
                    ),
                ));
            }
        }
        // The smoke job's own `if:`: when it can be false, the promoting job must not run
        // when the smoke job was skipped.
        if let Some(c) = &sj.if_ {
            let skippable = expr::can_be_false(&c.text, &Assumptions::normal()).unwrap_or(true);
            if skippable
                && (Self::can_run_after(w, p, s, false, 0)
                    || expr::can_be_true(ptext, &Self::env_after(w, p, s, false, 0))
                        .unwrap_or(true))
            {
                return Err(finding(
                    &w.path,
                    c.line,
                    rule::GATE_SKIPPABLE,
                    format!(
                        "the smoke job `{}` ({}) is skipped when `{}` is false, and job `{}` \
                         ({}) still promotes when it is skipped",
                        sj.id,
                        loc(&w.path, c.line),
                        c.text,
                        pj.id,
                        loc(&w.path, pline)
                    ),
                    &format!(
                        "remove the smoke job's `if:`, or give `{}` an `if:` that requires \
                         `needs.{}.result == 'success'`",
                        pj.id, sj.id
                    ),
                ));
            }
        }
        Ok(())
    }

    /// How job `ji` is gated through `needs:` (a description), or the findings that explain
    /// why not.
    pub(crate) fn gate_of_job(
        &self,
        wi: usize,
        ji: usize,
        states: &[SmokeJob],
    ) -> Result<String, Vec<Finding>> {
        let w = &self.wfs[wi].w;
        let mut why = Vec::new();
        for s in Self::ancestors(w, ji) {
            match &states[s] {
                SmokeJob::No => {}
                SmokeJob::Broken(d) => why.extend(d.iter().cloned()),
                SmokeJob::Gates => match self.gated_by_needs(wi, ji, s) {
                    Ok(()) => return Ok(format!("job `{}`", w.jobs[s].id)),
                    Err(f) => why.push(f),
                },
            }
        }
        Err(why)
    }
}
