//! The catalogue of registered model and scheme types.
//!
//! `typetag` makes a type deserialisable by its tag but offers no way to list
//! the tags. Each built-in model therefore also submits a [`ModelEntry`] to this
//! catalogue (through [`register_model!`](crate::register_model)); the command
//! line lists it (`bayesrg models`), and tests check that every entry
//! deserialises through typetag, so the two registries cannot drift apart.

use crate::model::Model;
use std::collections::BTreeMap;

/// One registered model type.
pub struct ModelEntry {
    /// The typetag tag (`type = "…"` in a config file).
    pub tag: &'static str,
    /// One line saying what the family is.
    pub summary: &'static str,
    /// A valid instance with default settings, used for listings and tests.
    pub example: fn() -> Box<dyn Model>,
    /// A valid θ for [`ModelEntry::example`].
    pub example_theta: fn() -> Vec<f64>,
}

inventory::collect!(ModelEntry);

/// Registers a model type in the catalogue. The type must also carry
/// `#[typetag::serde(name = "tag")]` on its `impl Model`.
///
/// ```ignore
/// bayesrg_core::register_model!("normal", "Normal N(μ, σ²) in (μ, σ)",
///     || Box::new(Normal::default()), || vec![0.0, 1.0]);
/// ```
#[macro_export]
macro_rules! register_model {
    ($tag:expr, $summary:expr, $example:expr, $theta:expr) => {
        $crate::inventory::submit! {
            $crate::registry::ModelEntry {
                tag: $tag,
                summary: $summary,
                example: $example,
                example_theta: $theta,
            }
        }
    };
}

/// Every registered model entry, sorted by tag.
///
/// Returns an error naming the tag if two entries share one: a duplicate tag
/// would otherwise surface later as typetag's obscure "non-unique tag".
pub fn models() -> Result<Vec<&'static ModelEntry>, String> {
    unique_by_tag(inventory::iter::<ModelEntry>, |e| e.tag, "model")
}

/// Sorts `items` by tag, or names the first tag that appears twice. `kind`
/// (`model`, `scheme`) words the message.
pub fn unique_by_tag<T>(
    items: impl IntoIterator<Item = T>,
    tag: impl Fn(&T) -> &'static str,
    kind: &str,
) -> Result<Vec<T>, String> {
    let mut map: BTreeMap<&'static str, T> = BTreeMap::new();
    for e in items {
        let t = tag(&e);
        if map.insert(t, e).is_some() {
            return Err(format!(
                "{kind} type `{t}` is registered twice; each type tag must be unique \
                 (two crates, or a crate and a plugin, claim it)"
            ));
        }
    }
    Ok(map.into_values().collect())
}

/// The tags of every registered model, sorted.
pub fn model_tags() -> Vec<&'static str> {
    let mut tags: Vec<&'static str> = inventory::iter::<ModelEntry>
        .into_iter()
        .map(|e| e.tag)
        .collect();
    tags.sort_unstable();
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_tags_are_named() {
        let e = unique_by_tag(["b", "a", "b"], |t| t, "model").unwrap_err();
        assert!(e.starts_with("model type `b` is registered twice"), "{e}");
        assert_eq!(
            unique_by_tag(["b", "a"], |t| t, "model").unwrap(),
            ["a", "b"]
        );
    }
}
