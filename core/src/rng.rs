//! Seeded random streams for reproducible parallel Monte Carlo.
//!
//! Rule: *a seed fixes every result bit for bit, whatever the number of threads.*
//! Work is cut into fixed-size chunks; chunk `k` draws from its own ChaCha8
//! stream keyed by `(seed, k)`, and chunk results are combined in chunk order.
//! Neither the chunking nor the order of combination depends on the thread pool,
//! so one seed gives the same bits with 1, 2 or 64 threads.

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rayon::prelude::*;

/// The generator used everywhere in bayesrg.
pub type BrgRng = ChaCha8Rng;

/// The number of Monte Carlo samples (or paths) in one work chunk.
pub const CHUNK: usize = 1024;

/// An independent generator for stream `stream` of seed `seed`.
///
/// The 256-bit ChaCha key is `seed ‖ stream ‖ tag`, so distinct `(seed, stream)`
/// pairs give independent streams.
pub fn stream(seed: u64, stream: u64) -> BrgRng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&stream.to_le_bytes());
    key[16..24].copy_from_slice(b"bayesrg\0");
    ChaCha8Rng::from_seed(key)
}

/// Runs `f(chunk_index, range, rng)` over `n` items cut into chunks of [`CHUNK`],
/// in parallel, and returns the chunk results in chunk order.
///
/// Use it for any seeded Monte Carlo loop: reduce the returned vector
/// sequentially and the result does not depend on the number of threads.
pub fn par_chunks<T, F>(n: usize, seed: u64, f: F) -> Vec<T>
where
    T: Send,
    F: Fn(usize, std::ops::Range<usize>, &mut BrgRng) -> T + Sync,
{
    let chunks = n.div_ceil(CHUNK);
    (0..chunks)
        .into_par_iter()
        .map(|k| {
            let mut rng = stream(seed, k as u64);
            let lo = k * CHUNK;
            f(k, lo..(lo + CHUNK).min(n), &mut rng)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn same_bits_with_any_thread_count() {
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                par_chunks(10_000, 7, |_, r, rng| {
                    r.map(|_| rng.random::<f64>()).sum::<f64>()
                })
                .into_iter()
                .sum::<f64>()
            })
        };
        assert_eq!(run(1).to_bits(), run(2).to_bits());
        assert_eq!(run(1).to_bits(), run(4).to_bits());
    }

    #[test]
    fn streams_differ() {
        let a: u64 = stream(1, 0).random();
        let b: u64 = stream(1, 1).random();
        let c: u64 = stream(2, 0).random();
        assert_ne!(a, b);
        assert_ne!(a, c);
    }
}
