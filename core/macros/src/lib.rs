//! # bayesrg-macros
//!
//! The registration attribute of bayesrg's models, re-exported as
//! `bayesrg_core::register_model`. Use it through `bayesrg_core`; see its docs
//! there.

use proc_macro::TokenStream;
use quote::quote;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, ItemImpl, Lit, MetaNameValue, Token, parse_macro_input};

/// Registers a model type under one tag, written once: on an `impl Model for
/// T` block,
///
/// ```ignore
/// #[bayesrg_core::register_model(
///     tag = "normal",
///     summary = "univariate normal N(mu, sigma^2) in (mu, sigma)",
///     example = || Box::new(Normal {}),
///     theta = || vec![0.5, 1.5],
/// )]
/// impl Model for Normal { /* … */ }
/// ```
///
/// expands to `#[typetag::serde(name = "normal")]` on the block (so configs
/// name the model by `type = "normal"`) and to a catalogue entry
/// `bayesrg_core::registry::ModelEntry` with the same tag (so `bayesrg models`
/// lists it and tests find it). `example` is a `fn() -> Box<dyn Model>` (a
/// closure without captures), `theta` a `fn() -> Vec<f64>` giving a valid θ
/// of the example. The crate using it depends on `typetag` and `bayesrg-core`.
#[proc_macro_attribute]
pub fn register_model(args: TokenStream, item: TokenStream) -> TokenStream {
    let parser = Punctuated::<MetaNameValue, Token![,]>::parse_terminated;
    let args = match parser.parse(args) {
        Ok(a) => a,
        Err(e) => return e.to_compile_error().into(),
    };
    let item = parse_macro_input!(item as ItemImpl);
    let (mut tag, mut summary, mut example, mut theta) = (None, None, None, None);
    for a in args {
        let Some(key) = a.path.get_ident().map(|i| i.to_string()) else {
            return syn::Error::new_spanned(
                &a.path,
                "expected `tag`, `summary`, `example` or `theta`",
            )
            .to_compile_error()
            .into();
        };
        match key.as_str() {
            "tag" | "summary" => {
                let Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) = &a.value
                else {
                    return syn::Error::new_spanned(
                        &a.value,
                        format!("`{key}` must be a string literal"),
                    )
                    .to_compile_error()
                    .into();
                };
                if key == "tag" {
                    tag = Some(s.clone());
                } else {
                    summary = Some(s.clone());
                }
            }
            "example" => example = Some(a.value),
            "theta" => theta = Some(a.value),
            other => {
                return syn::Error::new_spanned(
                    &a.path,
                    format!(
                        "unknown key `{other}`: expected `tag`, `summary`, `example` or `theta`"
                    ),
                )
                .to_compile_error()
                .into();
            }
        }
    }
    let (Some(tag), Some(summary), Some(example), Some(theta)) = (tag, summary, example, theta)
    else {
        return syn::Error::new(
            proc_macro2::Span::call_site(),
            "register_model needs `tag = \"…\"`, `summary = \"…\"`, `example = …` and `theta = …`",
        )
        .to_compile_error()
        .into();
    };
    quote! {
        #[::typetag::serde(name = #tag)]
        #item

        ::bayesrg_core::inventory::submit! {
            ::bayesrg_core::registry::ModelEntry {
                tag: #tag,
                summary: #summary,
                example: #example,
                example_theta: #theta,
            }
        }
    }
    .into()
}
