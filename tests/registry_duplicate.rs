//! A tag registered twice is reported clearly by the catalogue (and by every
//! subcommand, which checks the catalogue first), not later as typetag's
//! "non-unique tag". This test binary registers a second `normal` on purpose.

use bayesrg::core::registry;

bayesrg::core::register_model!(
    "normal",
    "a second, clashing registration",
    || Box::new(bayesrg::models::Normal {}),
    || vec![0.0, 1.0]
);

#[test]
fn duplicate_builtin_tag_is_named() {
    bayesrg::ensure_linked();
    let e = match registry::models() {
        Ok(_) => panic!("the duplicate went unnoticed"),
        Err(e) => e,
    };
    assert!(e.contains("model type `normal` is registered twice"), "{e}");
}
