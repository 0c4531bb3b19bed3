//! The stages of `bayesrg reproduce`, one function each; every stage runs the
//! same library code as the matching subcommand on built-in configurations.

mod autoencoder;
mod fisher;
mod fokker_planck;

pub use autoencoder::autoencoder;
pub use fisher::fisher;
pub use fokker_planck::fokker_planck;
