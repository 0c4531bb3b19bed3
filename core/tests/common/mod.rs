//! The test-local models of core's integration tests: the shared fixtures of
//! `bayesrg-testkit` (one copy for every crate's tests).
#![allow(unused_imports)]

pub use bayesrg_testkit::models::*;
