//! The commands behind the command line: `cli` parses arguments and runs one of them.

pub mod cli;
pub(crate) mod cohort;
pub mod demo;
pub(crate) mod github;
pub(crate) mod init;
pub(crate) mod root;
pub(crate) mod serve;
