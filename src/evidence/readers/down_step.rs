//! Is a rehearsal's `restore_command` a schema migration's down step?
//!
//! Judged by what the command runs, not by one word: the line is split into simple commands,
//! wrappers are peeled off (`sudo`, `bundle exec`, `npx`, `docker compose exec api`, ...), and
//! the tool that is left is matched with its subcommand. A `rollback` on an application tool
//! (`helm rollback`, `kubectl rollout undo`, `ecs deploy --rollback`) is what a rehearsal should
//! do, so it is never flagged.

/// Why `command` runs a schema migration tool's down step, naming the tool and subcommand seen,
/// or `None` when it does not.
pub(crate) fn migration_down_step(command: &str) -> Option<String> {
    simple_commands(command)
        .iter()
        .find_map(|words| down_step(words, false))
}

/// Splits a shell line into simple commands (on `&&`, `||`, `;`, `|`, `&`, newlines, parentheses
/// and backticks), each a list of words with quotes and escapes removed. `#` starts a comment.
fn simple_commands(line: &str) -> Vec<Vec<String>> {
    let (mut commands, mut words, mut word) = (Vec::new(), Vec::new(), None::<String>);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                w.extend(chars.by_ref().take_while(|&c| c != '\''));
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => w.extend(chars.next().filter(|&n| n != '\n')),
                        _ => w.push(c),
                    }
                }
            }
            // A backslash-newline joins lines; any other backslash quotes the next character.
            '\\' => {
                if let Some(n) = chars.next().filter(|&n| n != '\n') {
                    word.get_or_insert_with(String::new).push(n);
                }
            }
            '#' if word.is_none() => while chars.next_if(|&c| c != '\n').is_some() {},
            ';' | '&' | '|' | '\n' | '(' | ')' | '`' => {
                words.extend(word.take());
                if !words.is_empty() {
                    commands.push(std::mem::take(&mut words));
                }
            }
            c if c.is_whitespace() => words.extend(word.take()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    if !words.is_empty() {
        commands.push(words);
    }
    commands
}

/// The program a word names: `bin/rails` is `rails`, `./node_modules/.bin/knex` is `knex`.
fn program(word: &str) -> String {
    word.rsplit('/').next().unwrap_or(word).to_ascii_lowercase()
}

/// `RAILS_ENV=production`: an assignment in front of a command.
fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// Skips leading options (and assignments, for `env`); `with_value` options take the next word.
fn skip_options<'a>(mut words: &'a [String], with_value: &[&str]) -> &'a [String] {
    while let Some(first) = words.first() {
        if first == "--" {
            return &words[1..];
        } else if with_value.contains(&first.as_str()) {
            words = words.get(2..).unwrap_or_default();
        } else if first.starts_with('-') || is_assignment(first) {
            words = &words[1..];
        } else {
            break;
        }
    }
    words
}

/// A package script or make target cannot be read from here, so its name is taken at its word
/// when it pairs a migration word with a down word (`migrate:down`, `db-rollback`).
fn script_down_step(name: &str) -> Option<String> {
    let parts: Vec<&str> = name.split([':', '-', '_', '.']).collect();
    let has = |set: &[&str]| parts.iter().any(|p| set.contains(p));
    let migration = [
        "migrate",
        "migration",
        "migrations",
        "db",
        "database",
        "schema",
    ];
    (has(&migration) && has(&["down", "rollback", "undo", "revert", "downgrade"]))
        .then(|| format!("the script `{name}` is named as a schema migration's down step"))
}

const REMOTE: &[&str] = &[
    "docker",
    "docker-compose",
    "podman",
    "kubectl",
    "oc",
    "heroku",
    "ssh",
    "fly",
    "flyctl",
    "sh",
    "bash",
    "zsh",
    "eval",
    "su",
    "xargs",
];

/// `in_scan`: already trying every word of this command as a start, so a nested remote shell
/// need not scan again (that would be exponential on `docker docker docker ...`).
fn down_step(words: &[String], in_scan: bool) -> Option<String> {
    let mut w = words;
    loop {
        w = &w[w.iter().take_while(|x| is_assignment(x)).count()..];
        let name = program(w.first()?);
        let next = w.get(1).map(String::as_str);
        // Whatever runs it (`psql -f`, `mysql <`), a migration's down file is a down step.
        if let Some(file) = w[1..].iter().find(|a| is_down_file(a)) {
            return Some(format!("`{name}` runs the down migration `{file}`"));
        }
        w = match (name.as_str(), next) {
            // Shell keywords and plain wrappers: the command follows their options.
            ("sudo" | "doas", _) => skip_options(&w[1..], &["-u", "-g", "-U", "-C", "-D"]),
            ("env", _) => skip_options(&w[1..], &["-u", "-C", "-S"]),
            // Environment wrappers of the Node world: `cross-env NODE_ENV=x knex ...`,
            // `dotenv -e .env -- knex ...`, `env-cmd -f .env knex ...`.
            ("cross-env" | "cross-env-shell", _) => skip_options(&w[1..], &[]),
            ("dotenv" | "env-cmd", _) => skip_options(&w[1..], &["-e", "-f", "--file", "-v", "-c"]),
            ("timeout", _) => skip_options(&w[1..], &["-s", "-k"]).get(1..)?,
            (
                "nohup" | "time" | "exec" | "command" | "nice" | "{" | "!" | "if" | "then" | "else"
                | "elif" | "do" | "while" | "until",
                _,
            ) => skip_options(&w[1..], &["-n"]),
            ("bundle" | "bundler", Some("exec")) => &w[2..],
            ("npx" | "bunx", _) => skip_options(&w[1..], &["-p", "--package"]),
            ("npm" | "pnpm" | "yarn" | "bun", Some("exec" | "dlx" | "x")) => {
                skip_options(&w[2..], &["-p", "--package", "-c", "--call"])
            }
            // `npm run knex -- migrate:rollback` runs knex; `npm run migrate:down` is a name.
            ("npm" | "pnpm" | "yarn" | "bun", Some("run" | "run-script"))
            | ("yarn" | "pnpm", _) => {
                let rest = skip_options(&w[1..], &[]);
                let rest = if matches!(rest.first().map(String::as_str), Some("run" | "run-script"))
                {
                    skip_options(&rest[1..], &[])
                } else {
                    rest
                };
                let script = rest.first()?;
                let args: Vec<String> = rest.iter().filter(|a| *a != "--").cloned().collect();
                return down_step(&args, in_scan).or_else(|| script_down_step(script));
            }
            ("make" | "just", _) => {
                return skip_options(&w[1..], &["-C", "-f", "-j", "--file", "--directory"])
                    .iter()
                    .find_map(|target| script_down_step(target));
            }
            ("poetry" | "pipenv" | "uv" | "pdm" | "hatch" | "rye", Some("run")) => {
                skip_options(&w[2..], &["--with", "--python", "-e", "--env"])
            }
            // `python manage.py ...` runs manage.py; `python -m alembic ...` runs alembic.
            (n, _) if n == "python" || n.starts_with("python3") || n == "py" => {
                skip_options(&w[1..], &["-W", "-X", "-c"])
            }
            ("php" | "ruby" | "node", _) => skip_options(&w[1..], &["-r", "--require"]),
            // Remote and nested shells: their options are too varied to parse, so every word
            // may start the command they run, and a quoted script is parsed as a command line.
            (n, _) if REMOTE.contains(&n) => {
                return (1..w.len()).filter(|_| !in_scan).find_map(|i| {
                    match w[i].contains(char::is_whitespace) {
                        true => migration_down_step(&w[i]),
                        false => down_step(&w[i..], true),
                    }
                });
            }
            _ => return tool_down_step(&name, &w[1..]),
        };
    }
}

/// A migration's down half by its name: `0009_x.down.sql`, `0009_x_down.sql`, `0009/down.sql`.
fn is_down_file(word: &str) -> bool {
    let name = word.rsplit('/').next().unwrap_or(word).to_ascii_lowercase();
    name.ends_with(".sql")
        && (name == "down.sql"
            || name.ends_with(".down.sql")
            || name.ends_with("_down.sql")
            || name.ends_with("-down.sql"))
}

/// Positional arguments, leaving out options and the values of `with_value` options.
fn positionals<'a>(args: &'a [String], with_value: &[&str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut skip_next = false;
    for a in args {
        if std::mem::take(&mut skip_next) {
            continue;
        }
        skip_next = with_value.contains(&a.as_str());
        if !a.starts_with('-') && !skip_next {
            out.push(a.as_str());
        }
    }
    out
}

/// The down-step subcommand a migration tool is given, if any.
fn tool_down_step(tool: &str, args: &[String]) -> Option<String> {
    let found = |sub: &str| format!("`{tool} {sub}` runs a schema migration's down step");
    let any = |subs: &[&str]| {
        args.iter()
            .find(|a| subs.contains(&a.as_str()))
            .map(|a| found(a))
    };
    // `prisma migrate reset`: the first word, then the second somewhere after it.
    let pair = |first: &str, seconds: &[&str]| {
        let at = args.iter().position(|a| a == first)?;
        let second = args[at + 1..]
            .iter()
            .find(|a| seconds.contains(&a.as_str()))?;
        Some(found(&format!("{first} {second}")))
    };
    // A migration to a named target may go down: Django's `migrate <app> <target>`.
    // `targets` is how many positionals name the target (Django: app and migration).
    let to_target = |shown: &str, targets: usize, with_value: &[&str]| {
        let command = shown.rsplit(' ').next()?;
        let at = args.iter().position(|a| a == command)?;
        let p = positionals(&args[at + 1..], with_value);
        (p.len() >= targets).then(|| {
            let target = p[..targets].join(" ");
            format!("`{tool} {shown} {target}` migrates back to an earlier migration")
        })
    };
    let step = match tool {
        "rails" | "rake" => args
            .iter()
            .find(|a| {
                ["db:rollback", "db:migrate:down", "db:migrate:redo"]
                    .iter()
                    .any(|s| *a == s || a.starts_with(&format!("{s}:")))
            })
            .map(|a| found(a))
            // `db:migrate VERSION=...` migrates down when the version is earlier.
            .or_else(|| {
                let version = args.iter().find(|a| a.starts_with("VERSION="))?;
                args.iter().any(|a| a == "db:migrate").then(|| {
                    format!("`{tool} db:migrate {version}` migrates down to an earlier version")
                })
            }),
        "knex" => any(&["migrate:down", "migrate:rollback"]),
        t if t.starts_with("sequelize") => args
            .iter()
            .find(|a| a.starts_with("db:migrate:undo"))
            .map(|a| found(a)),
        "manage.py" | "django-admin" | "django" => to_target(
            "migrate",
            2,
            &[
                "--database",
                "--settings",
                "--pythonpath",
                "-v",
                "--verbosity",
            ],
        ),
        "alembic" => any(&["downgrade"]),
        "flask" => pair("db", &["downgrade"]),
        "flyway" => any(&["undo"]),
        // Every liquibase command that names a rollback: rollback, rollbackCount,
        // rollback-to-date, update-testing-rollback, ...
        "liquibase" => args
            .iter()
            .find(|a| !a.starts_with('-') && a.to_ascii_lowercase().contains("rollback"))
            .map(|a| found(a)),
        "dbmate" => any(&["rollback", "down"]),
        "goose" => any(&["down", "down-to", "redo", "reset"]),
        "migrate" => any(&["down", "goto"]),
        "sqitch" => any(&["revert", "rebase", "checkout"]),
        "prisma" => pair("migrate", &["reset"]),
        "diesel" => pair("migration", &["revert", "redo"]).or_else(|| pair("database", &["reset"])),
        "sqlx" => pair("migrate", &["revert"]).or_else(|| pair("database", &["reset"])),
        t if t.starts_with("typeorm") => any(&["migration:revert"]),
        "atlas" => pair("migrate", &["down"]),
        "artisan" => any(&["migrate:rollback", "migrate:reset", "migrate:refresh"]),
        "mix" => any(&["ecto.rollback"]),
        "yoyo" | "yoyo-migrate" => any(&["rollback"]),
        "db-migrate" => any(&["down", "reset"]),
        "node-pg-migrate" => any(&["down", "redo"]),
        "migrate-mongo" => any(&["down"]),
        "dotnet" if args.starts_with(&["ef".into(), "database".into()]) => {
            let with_value = [
                "-p",
                "--project",
                "-s",
                "--startup-project",
                "-c",
                "--context",
            ];
            to_target(
                "ef database update",
                1,
                &[
                    &with_value[..],
                    &[
                        "--connection",
                        "--configuration",
                        "--framework",
                        "--runtime",
                    ],
                ]
                .concat(),
            )
        }
        "mvn" | "mvnw" => args
            .iter()
            .find(|a| *a == "flyway:undo" || a.starts_with("liquibase:rollback"))
            .map(|a| found(a)),
        "gradle" | "gradlew" => args
            .iter()
            .find(|a| *a == "flywayUndo" || a.starts_with("rollback"))
            .map(|a| found(a)),
        _ => return None,
    };
    // Any `--rollback...` flag on a migration tool asks it to undo (on other tools it is an
    // application rollback and fine). Build tools are not migration tools themselves.
    step.or_else(|| {
        let flag = args.iter().find(|a| a.starts_with("--rollback"))?;
        let flag = flag.split('=').next().unwrap_or(flag);
        (!matches!(tool, "mvn" | "mvnw" | "gradle" | "gradlew" | "dotnet"))
            .then(|| format!("`{tool} {flag}` asks a schema migration tool to roll back"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (command, the tool and subcommand the reason must name)
    const DOWN_STEPS: &[(&str, &str)] = &[
        // Rails and rake, bare and wrapped.
        ("bin/rails db:rollback STEP=1", "rails db:rollback"),
        (
            "rails db:migrate:down VERSION=20261002",
            "rails db:migrate:down",
        ),
        ("rails db:migrate:redo", "rails db:migrate:redo"),
        ("rake db:rollback", "rake db:rollback"),
        ("bundle exec rake db:rollback STEP=1", "rake db:rollback"),
        (
            "RAILS_ENV=staging bin/rails db:migrate:down VERSION=2026",
            "rails db:migrate:down",
        ),
        ("bin/rails db:rollback:primary", "rails db:rollback:primary"),
        (
            "bin/rails db:migrate VERSION=20260901",
            "rails db:migrate VERSION=20260901",
        ),
        (
            "heroku run rake db:rollback -a payments",
            "rake db:rollback",
        ),
        (
            "sudo -u deploy env RAILS_ENV=production bundle exec rails db:rollback",
            "rails db:rollback",
        ),
        // Node.
        ("knex migrate:down", "knex migrate:down"),
        ("npx knex migrate:rollback", "knex migrate:rollback"),
        ("yarn knex migrate:rollback --all", "knex migrate:rollback"),
        ("npm run knex -- migrate:rollback", "knex migrate:rollback"),
        ("pnpm exec knex migrate:down", "knex migrate:down"),
        (
            "npx sequelize-cli db:migrate:undo",
            "sequelize-cli db:migrate:undo",
        ),
        (
            "sequelize db:migrate:undo:all",
            "sequelize db:migrate:undo:all",
        ),
        ("npx prisma migrate reset --force", "prisma migrate reset"),
        (
            "npx typeorm migration:revert -d src/data-source.ts",
            "typeorm migration:revert",
        ),
        (
            "npx typeorm-ts-node-commonjs migration:revert",
            "typeorm-ts-node-commonjs migration:revert",
        ),
        ("npx db-migrate down", "db-migrate down"),
        ("npx node-pg-migrate down", "node-pg-migrate down"),
        ("npm run migrate:down", "migrate:down"),
        ("yarn db:rollback", "db:rollback"),
        // Python.
        (
            "python manage.py migrate orders 0006",
            "manage.py migrate orders 0006",
        ),
        (
            "python3 manage.py migrate orders zero",
            "manage.py migrate orders zero",
        ),
        (
            "./manage.py migrate --database replica orders 0006_add_total",
            "manage.py migrate orders 0006_add_total",
        ),
        (
            "poetry run python manage.py migrate orders 0006",
            "manage.py migrate orders 0006",
        ),
        (
            "django-admin migrate orders zero --settings app.settings",
            "django-admin migrate orders zero",
        ),
        ("alembic downgrade -1", "alembic downgrade"),
        ("alembic -c alembic.ini downgrade base", "alembic downgrade"),
        (
            "docker compose exec api alembic downgrade -1",
            "alembic downgrade",
        ),
        (
            "docker-compose exec -T api alembic downgrade -1",
            "alembic downgrade",
        ),
        ("pipenv run alembic downgrade -1", "alembic downgrade"),
        ("python -m alembic downgrade -1", "alembic downgrade"),
        ("flask db downgrade", "flask db downgrade"),
        ("yoyo rollback --batch", "yoyo rollback"),
        // JVM.
        ("flyway undo", "flyway undo"),
        ("flyway -url=jdbc:postgresql://db/app undo", "flyway undo"),
        ("liquibase rollback v2.4.0", "liquibase rollback"),
        ("liquibase rollbackCount 1", "liquibase rollbackCount"),
        (
            "liquibase rollback-count --count=1",
            "liquibase rollback-count",
        ),
        (
            "liquibase rollbackToDate 2026-10-02",
            "liquibase rollbackToDate",
        ),
        (
            "liquibase --changelog-file=db.xml rollback-to-date 2026-10-02",
            "liquibase rollback-to-date",
        ),
        (
            "liquibase update --rollback-on-error",
            "liquibase --rollback-on-error",
        ),
        (
            "./mvnw liquibase:rollback -Dliquibase.rollbackCount=1",
            "mvnw liquibase:rollback",
        ),
        ("mvn flyway:undo", "mvn flyway:undo"),
        (
            "./gradlew rollbackCount -PliquibaseCommandValue=1",
            "gradlew rollbackCount",
        ),
        // Go, Rust and the rest.
        ("dbmate rollback", "dbmate rollback"),
        ("dbmate down", "dbmate down"),
        ("goose postgres $DSN down", "goose down"),
        (
            "goose -dir db/migrations postgres \"$DSN\" down-to 20261001",
            "goose down-to",
        ),
        ("migrate -path db -database $DB down 1", "migrate down"),
        (
            "docker run --rm migrate/migrate -path=/m -database $DB down 1",
            "migrate down",
        ),
        ("sqitch revert --to @HEAD^ -y", "sqitch revert"),
        ("diesel migration revert", "diesel migration revert"),
        ("diesel migration redo", "diesel migration redo"),
        ("sqlx migrate revert", "sqlx migrate revert"),
        ("atlas migrate down --env prod", "atlas migrate down"),
        (
            "php artisan migrate:rollback --step=1",
            "artisan migrate:rollback",
        ),
        ("mix ecto.rollback", "mix ecto.rollback"),
        (
            "dotnet ef database update AddDisplayName",
            "dotnet ef database update AddDisplayName",
        ),
        // Hidden inside a longer line, a remote shell or a quoted script.
        (
            "kubectl exec -it deploy/api -n prod -- bin/rails db:rollback",
            "rails db:rollback",
        ),
        (
            "kubectl rollout undo deployment/api && bin/rails db:rollback",
            "rails db:rollback",
        ),
        (
            "ssh app1 'cd /srv/app && RAILS_ENV=production bundle exec rake db:rollback'",
            "rake db:rollback",
        ),
        ("sh -c \"alembic downgrade -1\"", "alembic downgrade"),
        (
            "echo restoring; alembic downgrade -1 | tee log",
            "alembic downgrade",
        ),
        (
            "helm rollback api 3 &&\\\n  npx knex migrate:rollback",
            "knex migrate:rollback",
        ),
        ("make db-rollback", "db-rollback"),
        (
            "kubectl exec api-0 -- sh -c \"bundle exec rake db:rollback\"",
            "rake db:rollback",
        ),
        (
            "heroku run 'python manage.py migrate orders 0006' -a shop",
            "manage.py migrate orders 0006",
        ),
    ];

    const NOT_DOWN_STEPS: &[&str] = &[
        "kubectl rollout undo deployment/payments-api -n staging",
        "kubectl rollout undo deployment/migrate",
        "helm rollback payments 41",
        "helm rollback app 3 --wait",
        "ecs deploy --rollback cluster svc",
        "ecs-deploy --rollback -c prod -n api",
        "aws deploy stop-deployment --deployment-id d-123 --auto-rollback-enabled",
        "git revert abc && ./deploy.sh",
        "argocd app rollback payments 12",
        "flyctl releases rollback v41",
        "cap production deploy:rollback",
        "bin/rails db:migrate",
        "bundle exec rake db:migrate",
        "python manage.py migrate",
        "python manage.py migrate orders",
        "python manage.py migrate --database replica",
        "alembic upgrade head",
        "flyway migrate",
        "liquibase update",
        "knex migrate:latest",
        "npx sequelize-cli db:migrate",
        "npx prisma migrate deploy",
        "diesel migration run",
        "goose postgres $DSN up",
        "migrate -path db -database $DB up",
        "dbmate up",
        "sqitch deploy",
        "atlas migrate apply",
        "dotnet ef database update",
        "docker compose run --rm -e RAILS_ENV=production api bin/rails db:migrate",
        "kubectl exec api-0 -- sh -c \"bundle exec rake db:migrate\"",
        "echo rake db:rollback",
        "echo 'rake db:rollback'",
        "git commit -m \"alembic downgrade -1\"",
        "# alembic downgrade -1\nkubectl rollout undo deployment/api",
        "npm run rollback",
        "make deploy",
        "",
    ];

    #[test]
    fn down_steps_are_recognised_and_named() {
        for (command, named) in DOWN_STEPS {
            let reason =
                migration_down_step(command).unwrap_or_else(|| panic!("missed: {command}"));
            assert!(
                reason.contains(named),
                "{command}: {reason} does not name {named}"
            );
        }
    }

    #[test]
    fn application_rollbacks_and_forward_migrations_are_fine() {
        for command in NOT_DOWN_STEPS {
            assert_eq!(migration_down_step(command), None, "{command}");
        }
    }

    #[test]
    fn nested_wrappers_do_not_blow_up() {
        let line = "docker sudo bash ".repeat(300) + "alembic downgrade";
        assert!(migration_down_step(&line).is_some());
    }

    #[test]
    fn quotes_and_separators_split_like_a_shell() {
        assert_eq!(
            simple_commands("A=1 b 'c d' && e \"f\\\"g\"; h | i # j"),
            [
                vec!["A=1", "b", "c d"],
                vec!["e", "f\"g"],
                vec!["h"],
                vec!["i"]
            ]
        );
    }

    #[test]
    fn node_env_wrappers_and_down_files_are_seen_through() {
        for cmd in [
            "npx cross-env NODE_ENV=production knex migrate:down",
            "dotenv -e .env.prod -- knex migrate:rollback",
            "psql \"$DATABASE_URL\" -f db/migrations/0009_drop_fullname.down.sql",
            "mysql orders < db/migrate/0007/down.sql",
        ] {
            assert!(migration_down_step(cmd).is_some(), "{cmd}");
        }
        for cmd in [
            "npx cross-env NODE_ENV=production node server.js",
            "psql \"$DATABASE_URL\" -f db/seed.sql",
            "kubectl rollout undo deployment/orders-api",
        ] {
            assert!(migration_down_step(cmd).is_none(), "{cmd}");
        }
    }
}
