//! `clinic cohort --help` shows a roster example that pastes as valid YAML (its indentation was
//! once lost to a string continuation).

mod common;

#[test]
fn the_roster_example_in_cohort_help_is_valid_yaml() {
    let run = common::clinic(["cohort", "--help"]);
    run.expect_code(0);
    let start = run
        .stdout
        .find("The roster is YAML:\n\n")
        .expect("the example")
        + 21;
    let example: String = run.stdout[start..]
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(
        example.contains("\n  students:\n    - name: Ada Lovelace\n      repo: students/ada"),
        "{example}"
    );
    let roster: serde_yaml::Value = serde_yaml::from_str(&example)
        .unwrap_or_else(|e| panic!("the example is not YAML ({e}):\n{example}"));
    let students = roster["students"]
        .as_sequence()
        .expect("a list of students");
    assert_eq!(students.len(), 3, "{example}");
    assert_eq!(students[0]["repo"].as_str(), Some("students/ada"));
    assert!(students[1]["repo"]
        .as_str()
        .unwrap()
        .starts_with("https://github.com/"));
    assert!(students[2]["evidence"]
        .as_str()
        .unwrap()
        .ends_with("/evidence.json"));
}
