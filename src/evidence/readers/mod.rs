//! Readers of the student's files the rules judge: each turns text into a model the rules can
//! ask questions of ("is this statement additive?"), and knows nothing of badges.

pub mod sql;
