//! Readers of the student's files the rules judge: each turns text into a model the rules can
//! ask questions of ("is this statement additive?", "is a call to `check_orders` reachable?",
//! "can `promote` run when `smoke` failed?") and knows nothing of badges or git.

pub mod down_step;
pub mod flag_lines;
pub mod shell;
pub mod sql;
pub mod workflow;
