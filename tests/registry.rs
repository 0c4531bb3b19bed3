//! The two registries of linked types agree: every model type the linked
//! crates register (one attribute, `register_model`, writes the tag for
//! typetag and the catalogue) is in the catalogue, every catalogue entry
//! deserialises through typetag under its own tag, and there are no duplicates.

use bayesrg::core::Model;
use bayesrg::core::model::type_name;
use bayesrg::core::registry;

#[test]
fn every_declared_model_is_registered_and_deserialises() {
    bayesrg::ensure_linked();
    let entries = registry::models().expect("no duplicate tags");
    let tags: Vec<&str> = entries.iter().map(|e| e.tag).collect();
    // Every built-in model, listed by hand (docs/models.md): the oracle.
    let declared: Vec<&str> = [
        bayesrg_testkit::BUILT_IN_MODELS,
        bayesrg_testkit::AUTOENCODER_MODELS,
    ]
    .concat();
    for t in &declared {
        assert!(
            tags.contains(t),
            "`{t}` is declared but not in the catalogue"
        );
    }
    for e in &entries {
        assert!(
            declared.contains(&e.tag),
            "`{}` is in the catalogue but not in the documented list",
            e.tag
        );
        // Round trip through typetag: the example serialises under its tag and
        // deserialises back to a model of the same type.
        let m = (e.example)();
        assert_eq!(type_name(m.as_ref()), e.tag);
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["type"], e.tag);
        let back: Box<dyn Model> = serde_json::from_value(json).unwrap();
        assert_eq!(type_name(back.as_ref()), e.tag);
        let th = (e.example_theta)();
        m.check_params(&th).unwrap();
        assert_eq!(back.param_names(), m.param_names());
    }
    // No built-in tag contains `/`: that namespace belongs to run-time plugins.
    assert!(tags.iter().all(|t| !t.contains('/')));
}

#[test]
fn schemes_declared_are_unique() {
    // The scheme catalogue is empty for now; the declared list must at least
    // hold no duplicate.
    let s = registry::unique_by_tag(
        bayesrg::schemes::SCHEME_TYPES.iter().copied(),
        |t| t,
        "scheme",
    );
    assert!(s.is_ok(), "{s:?}");
}
