//! What a computation may ask of the machine: memory and work are estimated
//! from a spec **before** any work starts, and a request that cannot fit is a
//! typed error naming the field, what it needs and what the machine has
//! (issue 11 §3), never an allocation failure (SIGABRT) or a run that cannot
//! end.
//!
//! The limits:
//! - **memory**: at most half of the memory the operating system reports as
//!   available (`MemAvailable` of `/proc/meminfo` on Linux; 8 GiB assumed
//!   elsewhere), so that a run leaves room for the rest of the machine;
//! - **work**: at most [`MAX_WORK`] elementary evaluations (model
//!   evaluations, path steps, grid-cell updates) per run: about a day at 10⁷
//!   per second. Larger studies are sweeps of smaller runs.

use crate::error::{Error, Field, Result};

/// The largest number of elementary evaluations one run may ask for.
pub const MAX_WORK: f64 = 1e12;

/// Bytes of memory available to this process, as the operating system reports
/// it now.
pub fn available_memory() -> f64 {
    #[cfg(target_os = "linux")]
    if let Ok(text) = std::fs::read_to_string("/proc/meminfo") {
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("MemAvailable:") {
                let kb: f64 = rest
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse()
                    .unwrap_or(0.0);
                if kb > 0.0 {
                    return kb * 1024.0;
                }
            }
        }
    }
    8.0 * 1024.0 * 1024.0 * 1024.0
}

/// A byte count for people: `1.5 GB`, `12 MB`.
pub fn human_bytes(b: f64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = b.max(0.0);
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if v.is_finite() {
        format!("{v:.1} {}", UNITS[u])
    } else {
        "more than 10^18 bytes".into()
    }
}

/// Refuses a computation that would hold `bytes` of memory at once (an
/// estimate from the spec: the largest arrays it allocates), with an error
/// naming `field`.
pub fn check_memory(field: impl Into<Field>, bytes: f64) -> Result<()> {
    let limit = available_memory() / 2.0;
    if bytes.is_nan() || bytes > limit {
        return Err(Error::TooLarge {
            field: field.into(),
            needs: format!("{} of memory", human_bytes(bytes)),
            limit: format!(
                "half of the {} this machine has available",
                human_bytes(2.0 * limit)
            ),
        });
    }
    Ok(())
}

/// Refuses a computation of more than [`MAX_WORK`] elementary evaluations
/// (`evaluations`, an estimate from the spec), naming `field`.
pub fn check_work(field: impl Into<Field>, evaluations: f64) -> Result<()> {
    if evaluations.is_nan() || evaluations > MAX_WORK {
        return Err(Error::TooLarge {
            field: field.into(),
            needs: format!("about {evaluations:.1e} evaluations"),
            limit: format!("the {MAX_WORK:.0e} one run may do (split it into a sweep)"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_sizes_are_refused_with_the_field_named() {
        let e = check_memory("samples", 8.0 * 1e15).unwrap_err();
        assert!(matches!(e, Error::TooLarge { .. }));
        assert_eq!(e.field().unwrap().to_string(), "samples");
        assert!(e.to_string().contains("8.0 PB"), "{e}");
        assert!(check_memory("paths", 1e6).is_ok());
        assert!(check_memory("x", f64::NAN).is_err());
        assert!(check_work("steps", 1e15).is_err());
        assert!(check_work("steps", 1e6).is_ok());
        assert!(available_memory() > 1e6);
        assert_eq!(human_bytes(1.5e9), "1.5 GB");
    }
}
