//! A tag registered twice is reported clearly by the catalogue (and by every
//! subcommand, which checks the catalogue first), not later as typetag's
//! "non-unique tag". This test binary registers a second `normal` on purpose.

use bayesrg::core::registry;

// A catalogue entry alone (a second typetag impl would clash at compile time).
bayesrg::core::inventory::submit! {
    registry::ModelEntry {
        tag: "normal",
        summary: "a second, clashing registration",
        example: || Box::new(bayesrg::models::Normal {}),
        example_theta: || vec![0.0, 1.0],
    }
}

#[test]
fn duplicate_builtin_tag_is_named() {
    bayesrg::ensure_linked();
    let e = match registry::models() {
        Ok(_) => panic!("the duplicate went unnoticed"),
        Err(e) => e,
    };
    assert!(e.contains("model type `normal` is registered twice"), "{e}");
}
