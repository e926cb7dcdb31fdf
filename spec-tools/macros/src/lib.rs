//! The `#[covers(...)]` and `#[implements(...)]` attributes, re-exported as
//! `spectrace::covers` and `spectrace::implements`.
//!
//! ```text
//! #[spectrace::covers("ORCH-2002", "ORCH-2007", kind = "contract")]
//! #[test]
//! fn backpressure_headers() { /* ... */ }
//! ```
//!
//! The attribute goes above the test attribute (`#[test]`, `#[tokio::test]`, or `#[test]`
//! inside `proptest!`). At compile time it checks every ID's syntax: upper-case segments of
//! letters and digits joined by `-`, the last one all digits (`ORCH-2002`, `OC-ADAPT-5001`).
//! Whether an ID exists is checked later against the requirement set, by `spectrace scan`. At
//! run time the test's body is wrapped so that its outcome, including a panic, is recorded by
//! `spectrace::evidence` and then handed to the test harness unchanged.
//!
//! Evidence must be able to fail, so `#[covers]` refuses, at compile time, a test that cannot:
//!
//! - a body with no statements;
//! - a body whose assertions (`assert!`, `assert_eq!`, `assert_ne!`, their `debug_` and
//!   `prop_` forms) are all constant: a literal condition (`assert!(true)`), literals on both
//!   sides (`assert_eq!(1, 1)`), or the same expression on both sides;
//! - `#[should_panic]` without `expected = "..."`: a bare one passes on any panic, so a typo
//!   in the test would count as the requirement holding.
//!
//! A body without assertion macros is accepted: a call that panics on failure (`.unwrap()`,
//! a helper that asserts) is a real check.
//!
//! ```text
//! #[spectrace::implements("ORCH-3004")]
//! pub struct AdmissionQueue { /* ... */ }
//! ```
//!
//! `#[implements]` goes on any item. It checks the same ID syntax and leaves the item
//! unchanged: the link is found statically by `spectrace scan`.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::visit::Visit;
use syn::{
    Attribute, Expr, ExprLit, ItemFn, Lit, LitStr, Meta, ReturnType, Token, parse_macro_input,
};

/// Links a test to the requirement IDs it verifies and records its outcome as evidence.
/// See the crate documentation.
#[proc_macro_attribute]
pub fn covers(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = parse_macro_input!(args as CoversArgs);
    let function = parse_macro_input!(item as ItemFn);
    match expand(args, function) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// Links an item (function, type, `impl` block, module, constant, ...) to the requirement IDs
/// it implements. The item is left unchanged. See the crate documentation.
#[proc_macro_attribute]
pub fn implements(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = parse_macro_input!(args as CoversArgs);
    let checked = match args.kind {
        Some(kind) => Err(syn::Error::new(
            kind.span(),
            "#[implements] takes requirement IDs only; `kind` belongs to #[covers]",
        )),
        None => check_ids("implements", &args.ids),
    };
    match checked {
        Ok(()) => item,
        Err(error) => {
            // The item stays, so that the only error is this one.
            let mut tokens = TokenStream::from(error.to_compile_error());
            tokens.extend(item);
            tokens
        }
    }
}

const KINDS: [&str; 5] = ["test", "property", "contract", "compile", "e2e"];

struct CoversArgs {
    ids: Vec<LitStr>,
    kind: Option<LitStr>,
}

impl Parse for CoversArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let items = Punctuated::<Expr, Token![,]>::parse_terminated(input)?;
        let mut ids = Vec::new();
        let mut kind = None;
        for item in items {
            match item {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(id), ..
                }) => ids.push(id),
                Expr::Assign(assign) => {
                    let is_kind = matches!(&*assign.left, Expr::Path(p) if p.path.is_ident("kind"));
                    let value = match &*assign.right {
                        Expr::Lit(ExprLit {
                            lit: Lit::Str(value),
                            ..
                        }) => Some(value.clone()),
                        _ => None,
                    };
                    match (is_kind, value) {
                        (true, Some(value)) if kind.is_none() => kind = Some(value),
                        (true, Some(value)) => {
                            return Err(syn::Error::new(value.span(), "`kind` is given twice"));
                        }
                        (true, None) => {
                            return Err(syn::Error::new_spanned(
                                &assign.right,
                                "`kind` takes a string: \"test\", \"property\", \"contract\", \"compile\" or \"e2e\"",
                            ));
                        }
                        (false, _) => {
                            return Err(syn::Error::new_spanned(
                                &assign.left,
                                "unknown option; the only option is `kind = \"...\"`",
                            ));
                        }
                    }
                }
                other => {
                    return Err(syn::Error::new_spanned(
                        other,
                        "expected a requirement ID as a string literal, e.g. \"ORCH-2002\"",
                    ));
                }
            }
        }
        Ok(Self { ids, kind })
    }
}

/// `ORCH-2002`, `OC-ADAPT-5001`: upper-case segments of letters and digits, each starting with
/// a letter, then `-` and a number.
fn is_well_formed_id(id: &str) -> bool {
    let Some((prefix, number)) = id.rsplit_once('-') else {
        return false;
    };
    let number_ok = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit());
    let prefix_ok = prefix.split('-').all(|segment| {
        let mut bytes = segment.bytes();
        bytes.next().is_some_and(|b| b.is_ascii_uppercase())
            && bytes.all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    });
    number_ok && prefix_ok
}

fn check_ids(attribute: &str, ids: &[LitStr]) -> syn::Result<()> {
    if ids.is_empty() {
        return Err(syn::Error::new(
            Span::call_site(),
            format!(
                "#[{attribute}] needs at least one requirement ID, e.g. #[{attribute}(\"ORCH-2002\")]"
            ),
        ));
    }
    let mut seen: Vec<String> = Vec::new();
    for lit in ids {
        let id = lit.value();
        if !is_well_formed_id(&id) {
            return Err(syn::Error::new(
                lit.span(),
                format!(
                    "malformed requirement ID `{id}`: expected upper-case segments and a number, e.g. \"ORCH-2002\"; list each ID on its own, ranges are not IDs"
                ),
            ));
        }
        if seen.contains(&id) {
            return Err(syn::Error::new(
                lit.span(),
                format!("`{id}` is listed twice"),
            ));
        }
        seen.push(id);
    }
    Ok(())
}

fn kind_tokens(kind: Option<&LitStr>) -> syn::Result<TokenStream2> {
    let name = kind.map_or_else(|| "test".to_owned(), LitStr::value);
    let variant = match name.as_str() {
        "test" => quote!(Test),
        "property" => quote!(Property),
        "contract" => quote!(Contract),
        "compile" => quote!(Compile),
        "e2e" => quote!(E2e),
        _ => {
            let span = kind.map_or_else(Span::call_site, LitStr::span);
            return Err(syn::Error::new(
                span,
                format!(
                    "unknown evidence kind `{name}`; expected one of {}",
                    KINDS.join(", ")
                ),
            ));
        }
    };
    Ok(quote!(::spectrace::__private::EvidenceKind::#variant))
}

fn is_test_attribute(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "test" || s.ident == "rstest")
}

fn should_panic(attrs: &[Attribute]) -> syn::Result<TokenStream2> {
    let Some(attr) = attrs.iter().find(|a| a.path().is_ident("should_panic")) else {
        return Ok(quote!(::spectrace::__private::ShouldPanic::No));
    };
    let expected = match &attr.meta {
        Meta::Path(_) => None,
        Meta::NameValue(nv) => match &nv.value {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => Some(s.clone()),
            _ => None,
        },
        Meta::List(_) => {
            let mut expected = None;
            attr.parse_nested_meta(|nested| {
                if nested.path.is_ident("expected") {
                    expected = Some(nested.value()?.parse::<LitStr>()?);
                }
                Ok(())
            })?;
            expected
        }
    };
    match expected {
        Some(message) => Ok(quote!(::spectrace::__private::ShouldPanic::WithMessage(#message))),
        None => Err(syn::Error::new_spanned(
            attr,
            "#[covers] needs #[should_panic(expected = \"...\")]: a bare #[should_panic] passes on any panic, so it cannot tell the requirement's failure from any other",
        )),
    }
}

/// Assertion macros whose condition is their first argument.
const ASSERT_ONE: [&str; 3] = ["assert", "debug_assert", "prop_assert"];
/// Assertion macros that compare their first two arguments.
const ASSERT_TWO: [&str; 6] = [
    "assert_eq",
    "assert_ne",
    "debug_assert_eq",
    "debug_assert_ne",
    "prop_assert_eq",
    "prop_assert_ne",
];

/// Counts a body's assertion macros, and those of them that cannot fail.
#[derive(Default)]
struct Assertions {
    all: usize,
    constant: usize,
}

impl<'ast> Visit<'ast> for Assertions {
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let Some(name) = mac.path.segments.last().map(|s| s.ident.to_string()) else {
            return;
        };
        let compared = if ASSERT_ONE.contains(&name.as_str()) {
            1
        } else if ASSERT_TWO.contains(&name.as_str()) {
            2
        } else {
            // Other macros may wrap assertions of their own (`proptest!`, `tokio::select!`):
            // look inside when their tokens are a block of statements.
            if let Ok(stmts) = syn::Block::parse_within.parse2(mac.tokens.clone()) {
                for stmt in &stmts {
                    self.visit_stmt(stmt);
                }
            }
            return;
        };
        self.all += 1;
        let Ok(args) = Punctuated::<Expr, Token![,]>::parse_terminated.parse2(mac.tokens.clone())
        else {
            return;
        };
        let operands: Vec<&Expr> = args.iter().take(compared).collect();
        let constant = match operands.as_slice() {
            [condition] => is_literal(condition),
            [left, right] => {
                (is_literal(left) && is_literal(right))
                    || quote!(#left).to_string() == quote!(#right).to_string()
            }
            _ => false,
        };
        if constant {
            self.constant += 1;
        }
    }
}

/// A literal, possibly negated or in parentheses: `true`, `1`, `!false`, `("a")`.
fn is_literal(expr: &Expr) -> bool {
    match expr {
        Expr::Lit(_) => true,
        Expr::Paren(inner) => is_literal(&inner.expr),
        Expr::Group(inner) => is_literal(&inner.expr),
        Expr::Unary(unary) => is_literal(&unary.expr),
        _ => false,
    }
}

/// Why the test cannot fail, when it cannot.
fn vacuity(function: &ItemFn) -> Option<syn::Error> {
    if function.block.stmts.is_empty() {
        return Some(syn::Error::new_spanned(
            &function.sig.ident,
            "#[covers] on a test whose body is empty: it cannot fail, so it is no evidence; assert what the requirement says",
        ));
    }
    let mut assertions = Assertions::default();
    assertions.visit_block(&function.block);
    (assertions.all > 0 && assertions.constant == assertions.all).then(|| {
        syn::Error::new_spanned(
            &function.sig.ident,
            "#[covers] on a test whose only assertions are constant (`assert!(true)`, `assert_eq!(1, 1)`, the same expression on both sides): they cannot fail, so it is no evidence; assert what the requirement says",
        )
    })
}

fn expand(args: CoversArgs, function: ItemFn) -> syn::Result<TokenStream2> {
    check_ids("covers", &args.ids)?;
    let kind = kind_tokens(args.kind.as_ref())?;
    if !function.attrs.iter().any(is_test_attribute) {
        return Err(syn::Error::new_spanned(
            &function.sig.ident,
            "#[covers] goes on a test function, above its test attribute (#[test], #[tokio::test], or #[test] inside proptest!)",
        ));
    }
    let should_panic = should_panic(&function.attrs)?;
    if let Some(error) = vacuity(&function) {
        return Err(error);
    }
    let mut function = function;
    let sig = &function.sig;
    let block = &function.block;
    let ids = &args.ids;
    let name = sig.ident.to_string();
    let line = quote_spanned!(sig.ident.span()=> line!());
    let meta = quote! {
        static __SPECTRACE_TEST: ::spectrace::__private::TestMeta = ::spectrace::__private::TestMeta {
            ids: &[#(#ids),*],
            test: concat!(module_path!(), "::", #name),
            file: file!(),
            line: #line,
            kind: #kind,
            should_panic: #should_panic,
        };
    };
    let body = if sig.asyncness.is_some() {
        quote! {
            #meta
            ::spectrace::__private::run_async(&__SPECTRACE_TEST, async move #block).await
        }
    } else {
        let returns = match &sig.output {
            ReturnType::Default => quote!(),
            ReturnType::Type(arrow, ty) => quote!(#arrow #ty),
        };
        quote! {
            #meta
            ::spectrace::__private::run_sync(&__SPECTRACE_TEST, || #returns #block)
        }
    };
    let wrapped: syn::Block = syn::parse2(quote!({ #body }))?;
    *function.block = wrapped;
    Ok(quote!(#function))
}

#[cfg(test)]
mod tests {
    use super::is_well_formed_id;

    #[test]
    fn id_syntax() {
        for good in ["ORCH-2002", "OC-ADAPT-5001", "A1-0", "X-12345"] {
            assert!(is_well_formed_id(good), "{good}");
        }
        for bad in [
            "",
            "ORCH",
            "ORCH-",
            "orch-2002",
            "ORCH-20a2",
            "ORCH-2001..2005",
            "-1",
            "1A-2",
            "ORCH--1",
            "ORCH 1",
        ] {
            assert!(!is_well_formed_id(bad), "{bad}");
        }
    }
}
