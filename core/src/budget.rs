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
    if !v.is_finite() {
        "more than 10^308 bytes".into()
    } else if v >= 1000.0 {
        format!("{:.1e} bytes", b)
    } else {
        format!("{v:.1} {}", UNITS[u])
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
            factors: Vec::new(),
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
            needs: if evaluations.is_finite() {
                format!("about {evaluations:.1e} evaluations")
            } else {
                "more than 10^308 evaluations".into()
            },
            limit: format!("the {MAX_WORK:.0e} one run may do (split it into a sweep)"),
            factors: Vec::new(),
        });
    }
    Ok(())
}

/// As [`check_work`] for work that is the product of settings (`factors`:
/// each field with its value) and `per` evaluations per unit of that product
/// (`per_what` says what it is, e.g. "4d² per step, d = 2"). The error names
/// every factor with its value and the product against [`MAX_WORK`]; its
/// field is the largest factor, and [`Error::TooLarge::factors`] lists them
/// all (so that the command line gives where each is written, and which
/// were left at their defaults). Tryout 7, F11: a `paths` of 1e14 was
/// reported as "`steps` asks for …" in a file without `steps`.
pub fn check_work_product(factors: &[(Field, f64)], per: f64, per_what: &str) -> Result<()> {
    let evaluations = factors.iter().map(|(_, v)| v).product::<f64>() * per;
    if evaluations.is_nan() || evaluations > MAX_WORK {
        let largest = factors
            .iter()
            .fold(None::<&(Field, f64)>, |a, f| match a {
                Some(b) if b.1 >= f.1 => Some(b),
                _ => Some(f),
            })
            .map(|f| f.0.clone())
            .unwrap_or_default();
        let product: Vec<String> = factors
            .iter()
            .map(|(f, v)| format!("`{f}` = {}", crate::error::show(*v)))
            .collect();
        return Err(Error::TooLarge {
            field: largest,
            needs: format!(
                "{} = {} × {} ({per_what})",
                if evaluations.is_finite() {
                    format!("about {evaluations:.1e} evaluations")
                } else {
                    "more than 10^308 evaluations".into()
                },
                product.join(" × "),
                crate::error::show(per)
            ),
            limit: format!("the {MAX_WORK:.0e} one run may do (split it into a sweep)"),
            factors: factors.iter().map(|(f, _)| f.clone()).collect(),
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
        // Beyond exabytes: an exponent, never hundreds of digits (issue 11 §6).
        assert_eq!(human_bytes(3.2e301), "3.2e301 bytes");
        assert_eq!(human_bytes(f64::INFINITY), "more than 10^308 bytes");
        let e = check_work("dt", f64::INFINITY).unwrap_err().to_string();
        assert!(e.contains("more than 10^308 evaluations"), "{e}");
    }

    #[test]
    fn a_product_of_settings_names_every_factor() {
        // 1e14 × 100 × 16 = 1.6e17 > MAX_WORK; the largest factor is the field.
        let f = [(Field::key("paths"), 1e14), (Field::key("steps"), 100.0)];
        let e = check_work_product(&f, 16.0, "4d², d = 2").unwrap_err();
        assert_eq!(e.field().unwrap().to_string(), "paths");
        let Error::TooLarge { needs, factors, .. } = &e else {
            panic!("{e}")
        };
        assert_eq!(factors.len(), 2);
        assert_eq!(
            needs,
            "about 1.6e17 evaluations = `paths` = 1e14 × `steps` = 100 × 16 (4d², d = 2)"
        );
        // The other way round, steps is named; at the budget, it passes.
        let f = [(Field::key("paths"), 1e3), (Field::key("steps"), 1e11)];
        let e = check_work_product(&f, 16.0, "").unwrap_err();
        assert_eq!(e.field().unwrap().to_string(), "steps");
        let f = [(Field::key("paths"), 1e6), (Field::key("steps"), 1e4)];
        assert!(check_work_product(&f, MAX_WORK / 1e10, "").is_ok());
        assert!(check_work_product(&f, 2.0 * MAX_WORK / 1e10, "").is_err());
    }
}
