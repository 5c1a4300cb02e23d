use super::parse::parse;
use super::*;

fn failed() -> Assumptions {
    Assumptions::smoke_failed("smoke")
}

fn bypass(e: &str) -> bool {
    can_be_true(e, &failed()).unwrap()
}

#[test]
fn status_functions_under_a_failed_smoke() {
    assert!(bypass("${{ success() || !success() }}"));
    assert!(bypass("always()"));
    assert!(bypass("${{ always() }}"));
    assert!(bypass("failure()"));
    assert!(bypass("!cancelled()"));
    assert!(bypass(
        "${{ !cancelled() && github.ref == 'refs/heads/main' }}"
    ));
    assert!(bypass("always() && needs.build.result == 'success'"));
    assert!(!bypass("needs.smoke.result == 'success'"));
    assert!(!bypass(
        "${{ always() && needs.smoke.result == 'success' }}"
    ));
    assert!(!bypass(
        "${{ always() && needs.smoke.result != 'failure' }}"
    ));
    assert!(!bypass(
        "${{ always() && needs.SMOKE.result == 'SUCCESS' }}"
    ));
    assert!(!bypass("github.ref == 'refs/heads/main'"));
    assert!(!bypass("${{ true }}"));
    assert!(!bypass("true"));
    assert!(!bypass("success()"));
    assert!(!bypass("cancelled()"));
    assert!(!bypass("always() && !failure()"));
    assert!(bypass(
        "always() && (needs.smoke.result == 'failure' || true)"
    ));
    assert!(!bypass(
        "always() && contains('success,skipped', needs.smoke.result)"
    ));
    assert!(bypass("always() && contains(needs.*.result, 'success')"));
    assert!(bypass("always() && format('{0}', github.ref)"));
    assert!(!bypass(
        "always() && format('{0}', needs.smoke.result) == 'success'"
    ));
    // github.ref is truthy: the result is success() == false; falsy: github.ref itself
    assert!(!bypass("github.ref && success()"));
}

#[test]
fn can_be_false_on_a_deploy() {
    let n = Assumptions::normal();
    assert!(can_be_false("false", &n).unwrap());
    assert!(can_be_false("${{ false }}", &n).unwrap());
    assert!(can_be_false("github.ref == 'refs/heads/main'", &n).unwrap());
    assert!(can_be_false("failure()", &n).unwrap());
    assert!(!can_be_false("true", &n).unwrap());
    assert!(!can_be_false("always()", &n).unwrap());
    assert!(!can_be_false("success()", &n).unwrap());
    assert!(!can_be_false("${{ github.ref == 'x' || true }}", &n).unwrap());
}

#[test]
fn templates_are_strings() {
    // `if: ${{ false }} == true` is the string "false == true": truthy
    let n = Assumptions::normal();
    assert!(!can_be_false("${{ false }} == true", &n).unwrap());
    assert!(can_be_true("${{ false }} == true", &n).unwrap());
    // ...but still behind the implicit success()
    assert!(!bypass("${{ false }} == true"));
    assert_eq!(strip_wrapper("${{ a == '}}' }}"), "a == '}}'");
    assert_eq!(
        strip_wrapper("${{ a }} && ${{ b }}"),
        "${{ a }} && ${{ b }}"
    );
}

#[test]
fn loose_equality() {
    let n = Assumptions::normal();
    for (e, want) in [
        ("1 == '1'", true),
        ("'abc' == 'ABC'", true),
        ("null == 0", true),
        ("true == 1", true),
        ("'' == 0", true),
        ("'x' == 0", false),
        ("NaN == NaN", false),
        ("0x10 == 16", true),
        ("-1.5e1 < 0", true),
        ("'a' < 'B'", true),
        ("fromJSON('true')", true),
        ("fromJSON('0')", false),
        ("startsWith('refs/heads/main', 'refs/HEADS')", true),
        ("format('{0}-{{x}}', 'a') == 'a-{x}'", true),
    ] {
        assert_eq!(can_be_true(e, &n).unwrap(), want, "{e}");
        assert_eq!(can_be_false(e, &n).unwrap(), !want, "{e}");
    }
}

#[test]
fn unreadable_expressions_are_errors() {
    for e in [
        "",
        "success(",
        "foo.bar",
        "nosuch()",
        "a == ",
        "'unterminated",
        "success() success()",
        "contains('a')",
        "${{ a",
        "needs.",
        "1 +",
    ] {
        assert!(can_be_true(e, &failed()).is_err(), "{e}");
    }
    let deep = format!("{}true{}", "(".repeat(200), ")".repeat(200));
    assert!(parse(&deep).unwrap_err().contains("deeper"));
    let nots = format!("{}true", "!".repeat(500));
    assert!(parse(&nots).is_err());
    assert!(parse(&format!("{}true", "!".repeat(10))).is_ok());
}

#[test]
fn garbage_never_panics() {
    // a small deterministic fuzz: random token soup and random bytes
    let atoms = [
        "(", ")", "[", "]", ".", ",", "*", "!", "&&", "||", "==", "!=", "<", "<=", ">", ">=",
        "'s'", "'", "1", "-2.5e3", "0x1f", "null", "true", "github", "needs", "smoke", "result",
        "success", "always", "format", "contains", "fromJSON", "${{", "}}", " ", "é", "\u{0}", "-",
        "{0}", "case",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..20_000 {
        let n = (next() % 24) as usize;
        let mut s = String::new();
        for _ in 0..n {
            s.push_str(atoms[(next() % atoms.len() as u64) as usize]);
        }
        let _ = can_be_true(&s, &failed());
        let _ = can_be_false(&s, &Assumptions::normal());
        let bytes: Vec<u8> = (0..n).map(|_| (next() % 128) as u8).collect();
        let _ = can_be_true(&String::from_utf8_lossy(&bytes), &failed());
    }
}
