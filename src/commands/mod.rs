//! The commands behind the command line: `cli` parses arguments and runs one of them.

pub mod cli;
pub mod cohort;
pub mod demo;
pub mod init;
pub mod serve;
