//! Readers of the student's files the rules judge: each turns text into a model the rules can
//! ask questions of ("is this statement additive?", "is a call to `check_orders` reachable?",
//! "can `promote` run when `smoke` failed?") and knows nothing of badges or git.

pub(crate) mod down_step;
pub(crate) mod shell;
pub(crate) mod sql;
pub(crate) mod workflow;
