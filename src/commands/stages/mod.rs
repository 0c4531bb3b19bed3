//! The stages of `bayesrg reproduce`, one function each; every stage runs the
//! same library code as the matching subcommand on built-in configurations.

mod fisher;
mod geometry;

pub use fisher::fisher;
pub use geometry::geometry;
