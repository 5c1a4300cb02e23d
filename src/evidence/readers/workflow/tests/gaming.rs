//! Gaming the gate: smoke steps that cannot fail, promotions that bypass or skip it, wiring
//! that GitHub never runs.

use super::*;

#[test]
fn smoke_step_if_false() {
    assert_problem(
        &CLASSIC.replace(
            "      - name: Smoke suite\n",
            "      - name: Smoke suite\n        if: false\n",
        ),
        "smoke.gate-skippable",
        &["Smoke suite", "can be skipped", "deploy.yml:11"],
    );
}

#[test]
fn continue_on_error_expression_on_the_step() {
    assert_problem(
        &CLASSIC.replace(
            "      - name: Smoke suite\n",
            "      - name: Smoke suite\n        continue-on-error: ${{ true }}\n",
        ),
        "smoke.gate-cancelled",
        &[
            "continue-on-error",
            "expression counts as true",
            "deploy.yml:11",
        ],
    );
}

#[test]
fn continue_on_error_on_the_smoke_job() {
    assert_problem(
        &CLASSIC.replace(
            "  smoke:\n    runs-on: ubuntu-latest\n",
            "  smoke:\n    runs-on: ubuntu-latest\n    continue-on-error: true\n",
        ),
        "smoke.gate-cancelled",
        &[
            "smoke job `smoke`",
            "continue-on-error: true",
            "deploy.yml:8",
        ],
    );
}

#[test]
fn success_or_not_success() {
    assert_problem(
        &CLASSIC.replace(
            "    environment: production\n",
            "    environment: production\n    if: ${{ success() || !success() }}\n",
        ),
        "smoke.gate-bypassed",
        &[
            "deploy-production",
            "success() || !success()",
            "deploy.yml:18",
        ],
    );
}

#[test]
fn always_on_the_promote_job() {
    for cond in [
        "always()",
        "${{ !cancelled() }}",
        "failure()",
        "${{ always() && github.ref == 'refs/heads/main' }}",
    ] {
        assert_problem(
            &CLASSIC.replace(
                "    environment: production\n",
                &format!("    environment: production\n    if: {cond}\n"),
            ),
            "smoke.gate-bypassed",
            &["deploy-production", "even when the smoke job failed"],
        );
    }
}

#[test]
fn unreadable_if_fails_closed() {
    assert_problem(
        &CLASSIC.replace(
            "    environment: production\n",
            "    environment: production\n    if: ${{ always( }}\n",
        ),
        "smoke.gate-bypassed",
        &["could not be read"],
    );
}

#[test]
fn second_production_deploy_without_needs() {
    let w = assert_problem(
        &format!(
            "{CLASSIC}  hotfix:\n    environment: production\n    steps:\n      - run: ./deploy.sh production\n"
        ),
        "smoke.ungated",
        &["job `hotfix`", "no `needs:`", "deploy.yml:20"],
    );
    assert_eq!(w.problems.len(), 1, "{:#?}", w.problems);
}

#[test]
fn production_deploy_in_another_workflow() {
    let other = "on: workflow_dispatch\njobs:\n  deploy:\n    environment: production\n    steps:\n      - run: ./deploy.sh\n";
    let w = judge_files(&[(WF, CLASSIC), (".github/workflows/manual.yml", other)]);
    assert_eq!(rules(&w), ["smoke.ungated"], "{:#?}", w.problems);
    assert_eq!(w.problems[0].file, ".github/workflows/manual.yml");
}

#[test]
fn wiring_only_in_an_archive_folder() {
    let w = judge_files(&[(".github/workflows/archive/deploy.yml", CLASSIC)]);
    assert_eq!(rules(&w), ["smoke.not-wired"]);
    assert!(
        w.problems[0]
            .message
            .contains(".github/workflows/archive/deploy.yml is not directly"),
        "{:#?}",
        w.problems
    );
}

#[test]
fn failure_ignored_by_the_script() {
    assert_problem(
        &CLASSIC.replace(
            "          scripts/smoke.sh\n",
            "          scripts/smoke.sh || true\n",
        ),
        "smoke.gate-cancelled",
        &["`|| true` ignores", "deploy.yml:13"],
    );
    // a custom shell without -e: the stub reports the failure ignored
    assert_problem(
        &CLASSIC.replace(
            "        run: |\n",
            "        shell: bash {0}\n        run: |\n",
        ),
        "smoke.gate-cancelled",
        &["without `-e`"],
    );
}

#[test]
fn script_mentioned_but_not_run() {
    let w = assert_problem(
        &CLASSIC.replace(
            "          scripts/smoke.sh\n",
            "          echo scripts/smoke.sh\n",
        ),
        "smoke.not-wired",
        &[
            "mentions scripts/smoke.sh but never runs it",
            "deploy.yml:11",
        ],
    );
    assert!(w.smoke_steps.is_empty());
}

#[test]
fn pwsh_smoke_step_is_unseen() {
    assert_problem(
        &CLASSIC.replace("        run: |\n", "        shell: pwsh\n        run: |\n"),
        "smoke.unseen",
        &["`shell: pwsh` step cannot be checked"],
    );
}

#[test]
fn remote_reusable_smoke_fails_closed() {
    let text = "\
on: push
jobs:
  smoke:
    uses: acme/ci/.github/workflows/smoke.yml@v1
  deploy:
    needs: smoke
    environment: production
    steps:
      - run: ./deploy.sh
";
    assert_problem(
        text,
        "smoke.unseen",
        &["acme/ci/.github/workflows/smoke.yml@v1", "cannot read"],
    );
}

#[test]
fn smoke_job_that_can_be_skipped_with_a_lenient_deploy() {
    let text = CLASSIC
        .replace(
            "    runs-on: ubuntu-latest\n    steps:\n      - uses",
            "    runs-on: ubuntu-latest\n    if: github.event_name == 'push'\n    steps:\n      - uses",
        )
        .replace(
            "    environment: production\n",
            "    environment: production\n    if: ${{ always() && needs.smoke.result != 'failure' }}\n",
        );
    assert_problem(
        &text,
        "smoke.gate-skippable",
        &["smoke job `smoke`", "still promotes when it is skipped"],
    );
}

#[test]
fn always_in_the_middle_of_a_chain() {
    // smoke -> build (always) -> deploy: deploy's success() is false when smoke failed
    let chain = "\
on: push
jobs:
  smoke:
    steps:
      - run: scripts/smoke.sh
  build:
    needs: smoke
    if: always()
    steps:
      - run: make
  deploy-prod:
    needs: build
    if: IF
    steps:
      - run: ./deploy.sh
";
    assert_clean(&chain.replace("    if: IF\n", ""));
    assert_problem(
        &chain.replace("IF", "${{ always() && needs.build.result == 'success' }}"),
        "smoke.gate-bypassed",
        &["deploy-prod", "through other jobs"],
    );
    // build skipped when smoke failed: its result is 'skipped'
    assert_clean(
        &chain
            .replace("    if: always()\n", "")
            .replace("IF", "${{ always() && needs.build.result == 'success' }}"),
    );
}

#[test]
fn promotion_before_the_smoke_step() {
    assert_problem(
        "\
on: push
jobs:
  pipeline:
    steps:
      - name: Promote
        run: ./promote.sh
      - run: scripts/smoke.sh
",
        "smoke.ungated",
        &["promotes before the smoke step"],
    );
    assert_problem(
        "\
on: push
jobs:
  pipeline:
    steps:
      - run: scripts/smoke.sh
      - name: Promote
        if: always()
        run: ./promote.sh
",
        "smoke.gate-bypassed",
        &["step `Promote`", "smoke step"],
    );
}

#[test]
fn smoke_without_any_promotion() {
    let w = judge_one("on: push\njobs:\n  smoke:\n    steps:\n      - run: scripts/smoke.sh\n");
    assert_eq!(rules(&w), ["smoke.no-promotion"]);
}

#[test]
fn needs_a_job_that_does_not_run_the_script() {
    assert_problem(
        &CLASSIC.replace("          scripts/smoke.sh\n", "          make test\n"),
        "smoke.not-wired",
        &[],
    );
}

#[test]
fn broken_workflow_file_is_reported() {
    let w = judge_files(&[(WF, CLASSIC), (".github/workflows/broken.yml", "jobs: [\n")]);
    assert_eq!(rules(&w), ["smoke.workflow-unreadable"]);
}
