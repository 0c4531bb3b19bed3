//! The catalogue of registered model and scheme types.
//!
//! `typetag` makes a type deserialisable by its tag but offers no way to list
//! the tags. Each model is therefore registered by one attribute,
//! [`register_model`](crate::register_model), which writes its tag once and
//! expands to both the typetag registration and a [`ModelEntry`] in this
//! catalogue: the two registries cannot drift apart. The command line lists
//! the catalogue (`bayesrg models`), and `deserialize_model` checks it before
//! handing a config to typetag, so a program that forgot to link the built-in
//! models gets an error saying what to call instead of typetag's
//! "there are no variants".

use crate::error::Error;
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

/// What a program that reads models must call when the catalogue does not
/// know a tag: the built-in models live in crates that the linker drops unless
/// something references them.
pub const LINK_HINT: &str = "the built-in models are not linked into this program: call \
     `bayesrg::ensure_linked()` (or `bayesrg_models::ensure_linked()` when using the \
     member crates) once before reading a model; a model of your own is registered with \
     `#[bayesrg_core::register_model(tag = …)]` on its `impl Model`";

/// Checks that the model type `tag` is in the catalogue, before typetag is
/// asked to build it (typetag would say only "unknown variant, there are no
/// variants" when nothing is linked). Tags of run-time plugins (`plugin/name`)
/// are the plugin host's and pass.
///
/// # Errors
/// [`Error::Domain`] on the field `model.type`, naming the tag, the registered
/// tags and what to call ([`LINK_HINT`]).
pub fn check_tag(tag: &str) -> Result<(), Error> {
    let tags = model_tags();
    if tags.contains(&tag) || tag == "plugin" || tag.contains('/') {
        return Ok(());
    }
    let known = if tags.is_empty() {
        "no model type is registered".to_string()
    } else {
        format!("registered: {}", tags.join(", "))
    };
    Err(Error::domain(
        "model.type",
        format!("`{tag}`"),
        format!("is not a registered model type ({known}); if it is a built-in model, {LINK_HINT}"),
    ))
}

/// Reads a model from its JSON form (`{"type": "normal", …settings}`),
/// checking the catalogue first ([`check_tag`]): the one way for library code
/// to deserialise a `Box<dyn Model>` with a clear error when the built-in
/// models are not linked.
///
/// # Errors
/// [`Error::Domain`] on `model.type` for a missing or unregistered tag,
/// [`Error::Domain`] on `model` when the settings do not fit the type.
pub fn model_from_value(v: serde_json::Value) -> Result<Box<dyn Model>, Error> {
    let Some(tag) = v.get("type").and_then(|t| t.as_str()) else {
        return Err(Error::domain(
            "model.type",
            "missing",
            "must name the model type (`type = \"normal\"`)",
        ));
    };
    check_tag(tag)?;
    let key = refused_key(&v);
    serde_json::from_value(v).map_err(|e| {
        let field = key.map_or_else(|| "model".to_string(), |k| format!("model.{k}"));
        Error::domain(field.as_str(), "the settings", e.to_string())
    })
}

/// The key of the model description `v` (`{"type": …, key: value, …}`)
/// whose value alone makes the type refuse it, or `None` (it is read, or
/// no single key is to blame). typetag reads a model through a buffer that
/// loses positions, so serde's error names the whole model; this finds the
/// key by putting, one key at a time, the value of the type's example
/// ([`ModelEntry::example`]) in its place (a key the example lacks is
/// dropped): the key is the one whose change alone changes the error
/// (tryout 7 F19).
pub fn refused_key(v: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    let obj = v.as_object()?;
    let tag = obj.get("type")?.as_str()?;
    let entry = models().ok()?.into_iter().find(|e| e.tag == tag)?;
    let example = serde_json::to_value((entry.example)()).ok()?;
    let error = |o: serde_json::Map<String, Value>| {
        serde_json::from_value::<Box<dyn Model>>(Value::Object(o))
            .err()
            .map(|e| e.to_string())
    };
    let refused = error(obj.clone())?;
    let mut blamed = obj.keys().filter(|k| *k != "type").filter(|k| {
        let mut o = obj.clone();
        match example.get(k.as_str()) {
            Some(x) => o.insert((*k).clone(), x.clone()),
            None => o.remove(k.as_str()),
        };
        error(o).as_ref() != Some(&refused)
    });
    let key = blamed.next()?;
    blamed.next().is_none().then(|| key.clone())
}

/// Appends [`LINK_HINT`] to a deserialisation error message that shows the
/// catalogue was empty (serde's "there are no variants"), for readers of
/// whole configs that hold a model.
pub fn explain_unlinked(message: &str) -> String {
    if message.contains("there are no variants") && model_tags().is_empty() {
        format!("{message}; {LINK_HINT}")
    } else {
        message.to_string()
    }
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
    fn an_unlinked_catalogue_names_what_to_call() {
        // The core's own test binary links no model crate: the catalogue is
        // empty, as in a program that forgot `ensure_linked()`. serde's own
        // message (typetag with nothing registered) says only "there are no
        // variants"; ours says what to call.
        assert!(model_tags().is_empty());
        let raw = "unknown variant `normal`, there are no variants";
        assert!(explain_unlinked(raw).contains("bayesrg::ensure_linked()"));
        assert_eq!(explain_unlinked("missing field `to`"), "missing field `to`");
        let e = model_from_value(serde_json::json!({"type": "normal", "x": 1})).unwrap_err();
        let msg = e.to_string();
        assert!(e.is_bad_input(), "{msg}");
        assert!(
            msg.contains("`normal`") && msg.contains("bayesrg::ensure_linked()"),
            "{msg}"
        );
        assert!(msg.contains("no model type is registered"), "{msg}");
        // Plugin tags are the plugin host's; a missing tag is named.
        assert!(check_tag("my-plugin/cauchy").is_ok());
        let e = model_from_value(serde_json::json!({"mu": 1})).unwrap_err();
        assert!(e.to_string().contains("model.type"), "{e}");
    }

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
