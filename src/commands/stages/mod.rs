//! The stages of `bayesrg reproduce`, one function each; every stage runs the
//! same library code as the matching subcommand on built-in configurations.

mod autoencoder;
mod bayes;
mod fisher;
mod fokker_planck;
mod geometry;
mod sde;

pub use autoencoder::autoencoder;
pub use bayes::dynamical_bayes;
pub use fisher::fisher;
pub use fokker_planck::fokker_planck;
pub use geometry::geometry;
pub use sde::sde;
