//! One Rust source file → its `#[covers]` tests and `#[implements]` items, parsed with `syn`.
//!
//! Owns the Rust rules of the scan:
//!
//! - An attribute counts when its path ends in `covers` or `implements` (`#[covers]`,
//!   `#[spectrace::covers]`, `#[spectrace_macros::covers]`); aliases made with `use ... as` are
//!   not followed.
//! - `#[covers]` on a function → one [`DeclaredEvidence`], wherever the function is: at the top
//!   of the file, in inline `mod` blocks, in function bodies, or in the body of a macro call
//!   whose tokens parse as items. A `proptest!` body, whose functions take `name in strategy`
//!   parameters that are not Rust syntax, is read with its own small grammar.
//! - The evidence key is `(file, line)`, and `line` is the line of the function's name: the
//!   attribute records `line!()` spanned at the name, so the two agree.
//! - `test` is `module_path!()::name` as the attribute records it (see [`super::crate_path`]).
//! - `#[implements]` on any item, an `impl` block, or an item inside an `impl` or `trait`
//!   → [`ImplementationLink`]s.
//!
//! A file that names neither attribute is not parsed at all: it cannot declare evidence, and a
//! syntax `syn` does not know yet in a file unrelated to traceability cannot fail the scan.
//! The others are lexed once, then every function body whose text names neither attribute is
//! replaced by `{}` before `syn` parses the items: test bodies are most of a test file, and
//! nothing in them matters here. Tokens keep their spans, so lines are unchanged.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::ParseStream;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{
    Attribute, Expr, ExprLit, Ident, ImplItem, Item, Lit, Macro, MacroDelimiter, Stmt, Token,
    TraitItem, Type, Visibility,
};

use super::ids::{IdRules, sort_ids};
use super::{DeclaredEvidence, FileScan, ImplementationLink};
use crate::diag::Diagnostic;
use crate::evidence::EvidenceKind;

/// Scans one Rust file. `module_path` is the crate and modules the file compiles to.
pub(crate) fn scan_rust(
    file: &str,
    source: &str,
    module_path: &[String],
    rules: &IdRules<'_>,
) -> FileScan {
    let mut out = FileScan::default();
    if !source.contains("covers") && !source.contains("implements") {
        return out;
    }
    match parse(source) {
        Ok(ast) => {
            let mut walker = Walker {
                file,
                rules,
                path: module_path.to_vec(),
                out: &mut out,
            };
            walker.items(&ast.items);
        }
        Err(e) => out.diagnostics.push(Diagnostic::error(
            file,
            line_of(e.span()).map(|line| line as usize),
            format!("cannot parse Rust: {e}"),
        )),
    }
    // Every span of this file is gone with its syntax tree; free the thread's source map so
    // that memory does not grow with the number of files a worker parses.
    proc_macro2::extra::invalidate_current_thread_spans();
    out
}

/// Parses like `syn::parse_file` (byte order mark and `#!` line skipped), with the bodies of
/// functions that cannot hold an attribute of ours left out.
fn parse(source: &str) -> syn::Result<syn::File> {
    let text = source.strip_prefix('\u{feff}').unwrap_or(source);
    let text = match text.strip_prefix("#!") {
        // A shebang line, unless it is an inner attribute `#![...]`; its newline stays, so
        // lines do not move.
        Some(rest) if !rest.trim_start().starts_with('[') => {
            text.find('\n').map_or("", |newline| &text[newline..])
        }
        _ => text,
    };
    let tokens: TokenStream = text
        .parse()
        .map_err(|e: proc_macro2::LexError| syn::Error::new(e.span(), e))?;
    syn::parse2(hollow(text, tokens))
}

/// `tokens` with the body of every `fn NAME ... { body }` emptied unless the body's text
/// contains `covers` or `implements`; `{ ... }` groups are searched at every depth (inline
/// modules, `impl` blocks, macro bodies). In a signature, a `{ ... }` right after `<`, `,` or `=` is a
/// const generic argument, not the body. Getting this wrong can only keep a body, never drop
/// tokens that matter.
fn hollow(text: &str, tokens: TokenStream) -> TokenStream {
    let mut out = Vec::new();
    let mut after_fn = false;
    let mut in_signature = false;
    let mut after_generic_punct = false;
    for tree in tokens {
        let generic_argument = after_generic_punct;
        after_generic_punct =
            matches!(&tree, TokenTree::Punct(p) if matches!(p.as_char(), '<' | ',' | '='));
        let tree = match tree {
            // Bodies live in `{ ... }`: attributes, parameters and `( ... )` macro arguments
            // stay as they are, without being rebuilt.
            TokenTree::Group(group) if group.delimiter() != Delimiter::Brace => {
                after_fn = false;
                TokenTree::Group(group)
            }
            TokenTree::Group(group) => {
                let is_body = in_signature && !generic_argument;
                let keep = !is_body || {
                    let range = group.span().byte_range();
                    text.get(range)
                        .is_none_or(|body| body.contains("covers") || body.contains("implements"))
                };
                if is_body {
                    in_signature = false;
                }
                let stream = if keep {
                    hollow(text, group.stream())
                } else {
                    TokenStream::new()
                };
                let mut rebuilt = proc_macro2::Group::new(group.delimiter(), stream);
                rebuilt.set_span(group.span());
                after_fn = false;
                TokenTree::Group(rebuilt)
            }
            TokenTree::Ident(ident) => {
                if after_fn {
                    in_signature = true;
                }
                after_fn = ident == "fn";
                TokenTree::Ident(ident)
            }
            TokenTree::Punct(punct) => {
                if punct.as_char() == ';' {
                    in_signature = false;
                }
                after_fn = false;
                TokenTree::Punct(punct)
            }
            literal @ TokenTree::Literal(_) => {
                after_fn = false;
                literal
            }
        };
        out.push(tree);
    }
    out.into_iter().collect()
}

struct Walker<'a, 'r> {
    file: &'a str,
    rules: &'a IdRules<'r>,
    /// Crate, then the modules around the current item.
    path: Vec<String>,
    out: &'a mut FileScan,
}

/// The arguments of one `#[covers]` / `#[implements]`.
struct Args {
    /// Each ID with the line of its string literal.
    ids: Vec<(String, u32)>,
    /// `kind = "..."` with its line.
    kind: Option<(String, u32)>,
}

impl Walker<'_, '_> {
    fn items(&mut self, items: &[Item]) {
        for item in items {
            self.item(item);
        }
    }

    fn item(&mut self, item: &Item) {
        match item {
            Item::Fn(f) => {
                let name = &f.sig.ident;
                let end = f.block.brace_token.span.close();
                self.implements(&f.attrs, name.to_string(), name.span(), end);
                self.covers(&f.attrs, name, end);
                for stmt in &f.block.stmts {
                    match stmt {
                        Stmt::Item(item) => self.item(item),
                        // `name! { ... }`: only a brace-delimited macro can define items.
                        Stmt::Macro(m) if matches!(m.mac.delimiter, MacroDelimiter::Brace(_)) => {
                            self.mac(&m.mac);
                        }
                        _ => {}
                    }
                }
            }
            Item::Mod(m) => {
                self.implements(&m.attrs, m.ident.to_string(), m.ident.span(), item.span());
                if let Some((_, items)) = &m.content {
                    self.path.push(m.ident.to_string());
                    self.items(items);
                    self.path.pop();
                }
            }
            Item::Impl(i) => {
                let self_ty = type_text(&i.self_ty);
                let name = match &i.trait_ {
                    Some((path, _)) => {
                        format!("impl {} for {self_ty}", tokens_text(path.to_token_stream()))
                    }
                    None => format!("impl {self_ty}"),
                };
                self.implements(
                    &i.attrs,
                    name,
                    i.impl_token.span,
                    i.brace_token.span.close(),
                );
                let owner = short_type_name(&i.self_ty);
                for member in &i.items {
                    match member {
                        ImplItem::Fn(f) => {
                            self.member(
                                &f.attrs,
                                &owner,
                                &f.sig.ident,
                                f.block.brace_token.span.close(),
                            );
                        }
                        ImplItem::Const(c) => self.member(&c.attrs, &owner, &c.ident, c.span()),
                        ImplItem::Type(t) => self.member(&t.attrs, &owner, &t.ident, t.span()),
                        _ => {}
                    }
                }
            }
            Item::Trait(t) => {
                self.implements(
                    &t.attrs,
                    t.ident.to_string(),
                    t.ident.span(),
                    t.brace_token.span.close(),
                );
                let owner = t.ident.to_string();
                for member in &t.items {
                    match member {
                        TraitItem::Fn(f) => self.member(&f.attrs, &owner, &f.sig.ident, f.span()),
                        TraitItem::Const(c) => self.member(&c.attrs, &owner, &c.ident, c.span()),
                        TraitItem::Type(t) => self.member(&t.attrs, &owner, &t.ident, t.span()),
                        _ => {}
                    }
                }
            }
            Item::Macro(m) => match &m.ident {
                // `macro_rules! name { ... }`: a definition, its body is patterns.
                Some(name) => {
                    self.implements(&m.attrs, format!("{name}!"), name.span(), item.span())
                }
                None => {
                    let (name, span) = macro_name(&m.mac);
                    self.implements(&m.attrs, format!("{name}!"), span, item.span());
                    self.mac(&m.mac);
                }
            },
            Item::Struct(s) => {
                self.implements(&s.attrs, s.ident.to_string(), s.ident.span(), item.span());
            }
            Item::Enum(e) => {
                self.implements(&e.attrs, e.ident.to_string(), e.ident.span(), item.span());
            }
            Item::Union(u) => {
                self.implements(&u.attrs, u.ident.to_string(), u.ident.span(), item.span());
            }
            Item::Const(c) => {
                self.implements(&c.attrs, c.ident.to_string(), c.ident.span(), item.span());
            }
            Item::Static(s) => {
                self.implements(&s.attrs, s.ident.to_string(), s.ident.span(), item.span());
            }
            Item::Type(t) => {
                self.implements(&t.attrs, t.ident.to_string(), t.ident.span(), item.span());
            }
            Item::TraitAlias(t) => {
                self.implements(&t.attrs, t.ident.to_string(), t.ident.span(), item.span());
            }
            Item::ExternCrate(e) => {
                self.implements(
                    &e.attrs,
                    format!("extern crate {}", e.ident),
                    e.ident.span(),
                    item.span(),
                );
            }
            Item::Use(u) => {
                let name = format!("use {}", tokens_text(u.tree.to_token_stream()));
                self.implements(&u.attrs, name, u.use_token.span, item.span());
            }
            Item::ForeignMod(f) => {
                self.implements(
                    &f.attrs,
                    "extern block".to_owned(),
                    f.abi.extern_token.span,
                    item.span(),
                );
            }
            _ => {}
        }
    }

    /// An item of an `impl` or `trait` block: `Owner::name`, ending at `end`.
    fn member(&mut self, attrs: &[Attribute], owner: &str, name: &Ident, end: Span) {
        self.implements(attrs, format!("{owner}::{name}"), name.span(), end);
    }

    /// A macro call in item or statement position: scan its body when it holds items.
    fn mac(&mut self, mac: &Macro) {
        if !mentions_attributes(mac.tokens.clone()) {
            return;
        }
        if let Ok(file) = mac.parse_body::<syn::File>() {
            self.items(&file.items);
            return;
        }
        let (name, span) = macro_name(mac);
        if name == "proptest"
            && let Ok(fns) = mac.parse_body_with(proptest_fns)
        {
            for f in fns {
                self.implements(&f.attrs, f.ident.to_string(), f.ident.span(), f.end);
                self.covers(&f.attrs, &f.ident, f.end);
            }
            return;
        }
        self.out.diagnostics.push(Diagnostic::warning(
            self.file,
            line_of(span).map(|line| line as usize),
            format!(
                "the body of `{name}!` names covers or implements but is not a list of items; \
                 attributes inside it are not scanned"
            ),
        ));
    }

    /// `end` is the test function's last token.
    fn covers(&mut self, attrs: &[Attribute], name: &Ident, end: Span) {
        let mut found = attrs.iter().filter(|a| path_ends_with(a, "covers"));
        let Some(attr) = found.next() else {
            return;
        };
        if let Some(again) = found.next() {
            self.error(
                attr_line(again),
                format!(
                    "`{name}` carries #[covers] more than once; list every ID in one attribute"
                ),
            );
        }
        let Some(args) = self.args(attr, "covers", true) else {
            return;
        };
        let kind = match &args.kind {
            None => EvidenceKind::Test,
            Some((kind, line)) => match kind.as_str() {
                "test" => EvidenceKind::Test,
                "property" => EvidenceKind::Property,
                "contract" => EvidenceKind::Contract,
                "compile" => EvidenceKind::Compile,
                "e2e" => EvidenceKind::E2e,
                other => {
                    self.error(
                        *line,
                        format!(
                            "unknown evidence kind `{other}`; expected one of test, property, contract, compile, e2e"
                        ),
                    );
                    return;
                }
            },
        };
        let mut ids: Vec<String> = args.ids.into_iter().map(|(id, _)| id).collect();
        sort_ids(&mut ids);
        let mut test = self.path.join("::");
        test.push_str("::");
        test.push_str(&name.to_string());
        let line = line_of(name.span()).unwrap_or(0);
        self.out.evidence.push(DeclaredEvidence {
            ids,
            test,
            file: self.file.to_owned(),
            line,
            end_line: end_line_of(end).unwrap_or(line).max(line),
            kind,
        });
    }

    /// `span` locates the item's name (its line is the link's), `end` its last token.
    fn implements(&mut self, attrs: &[Attribute], item: String, span: Span, end: Span) {
        let line = line_of(span).unwrap_or(0);
        let end_line = end_line_of(end).unwrap_or(line).max(line);
        let mut ids = Vec::new();
        for attr in attrs.iter().filter(|a| path_ends_with(a, "implements")) {
            if let Some(args) = self.args(attr, "implements", false) {
                ids.extend(args.ids.into_iter().map(|(id, _)| id));
            }
        }
        sort_ids(&mut ids);
        for id in ids {
            self.out.implementations.push(ImplementationLink {
                id,
                item: item.clone(),
                file: self.file.to_owned(),
                line,
                end_line,
            });
        }
    }

    /// Reads and checks the arguments; `None` (with the error recorded) when they cannot be
    /// read. Each ID is checked against the pattern and the known set.
    fn args(&mut self, attr: &Attribute, name: &str, kind_allowed: bool) -> Option<Args> {
        let line = attr_line(attr);
        let usage = if kind_allowed {
            "requirement IDs as string literals and an optional `kind = \"...\"`"
        } else {
            "requirement IDs as string literals"
        };
        let exprs = match attr.parse_args_with(Punctuated::<Expr, Token![,]>::parse_terminated) {
            Ok(exprs) => exprs,
            Err(e) => {
                self.error(
                    line,
                    format!("cannot read #[{name}]: {e}; expected {usage}"),
                );
                return None;
            }
        };
        let mut args = Args {
            ids: Vec::new(),
            kind: None,
        };
        for expr in exprs {
            match expr {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(id), ..
                }) => args
                    .ids
                    .push((id.value(), line_of(id.span()).unwrap_or(line))),
                Expr::Assign(assign) if kind_allowed && is_kind(&assign.left) => {
                    match &*assign.right {
                        Expr::Lit(ExprLit {
                            lit: Lit::Str(kind),
                            ..
                        }) => {
                            args.kind = Some((kind.value(), line_of(kind.span()).unwrap_or(line)))
                        }
                        _ => {
                            self.error(
                                line,
                                format!("cannot read #[{name}]: `kind` takes a string"),
                            );
                            return None;
                        }
                    }
                }
                _ => {
                    self.error(line, format!("cannot read #[{name}]: expected {usage}"));
                    return None;
                }
            }
        }
        if args.ids.is_empty() {
            self.error(line, format!("#[{name}] names no requirement ID"));
            return None;
        }
        for (id, id_line) in &args.ids {
            if let Some(error) = self.rules.check(id, self.file, *id_line) {
                self.out.diagnostics.push(error);
            }
        }
        Some(args)
    }

    fn error(&mut self, line: u32, message: String) {
        self.out
            .diagnostics
            .push(Diagnostic::error(self.file, Some(line as usize), message));
    }
}

fn is_kind(expr: &Expr) -> bool {
    matches!(expr, Expr::Path(p) if p.path.is_ident("kind"))
}

fn path_ends_with(attr: &Attribute, name: &str) -> bool {
    attr.path().segments.last().is_some_and(|s| s.ident == name)
}

fn attr_line(attr: &Attribute) -> u32 {
    line_of(attr.pound_token.spans[0]).unwrap_or(0)
}

/// The 1-based line a span starts on; `None` for spans without a location.
/// The line a span ends on (`Spanned::span` of a whole item joins its first and last tokens).
fn end_line_of(span: Span) -> Option<u32> {
    u32::try_from(span.end().line).ok().filter(|&line| line > 0)
}

fn line_of(span: Span) -> Option<u32> {
    let line = span.start().line;
    (line > 0).then(|| u32::try_from(line).unwrap_or(u32::MAX))
}

fn macro_name(mac: &Macro) -> (String, Span) {
    match mac.path.segments.last() {
        Some(segment) => (segment.ident.to_string(), segment.ident.span()),
        None => (String::new(), Span::call_site()),
    }
}

/// Whether `tokens` hold, at any depth, an attribute whose path ends in `covers` or
/// `implements` (`#[covers(...)]`, `#[spectrace::implements(...)]`).
fn mentions_attributes(tokens: TokenStream) -> bool {
    let mut after_pound = false;
    for tree in tokens {
        let attribute = match &tree {
            TokenTree::Group(group) => {
                after_pound
                    && group.delimiter() == Delimiter::Bracket
                    && is_our_attribute(group.stream())
            }
            _ => false,
        };
        if attribute {
            return true;
        }
        if let TokenTree::Group(group) = &tree
            && mentions_attributes(group.stream())
        {
            return true;
        }
        after_pound = matches!(&tree, TokenTree::Punct(p) if p.as_char() == '#');
    }
    false
}

/// The inside of `#[...]`: a path (idents and `::`) whose last ident is ours.
fn is_our_attribute(inside: TokenStream) -> bool {
    let mut last = None;
    for tree in inside {
        match tree {
            TokenTree::Ident(ident) => last = Some(ident),
            TokenTree::Punct(p) if p.as_char() == ':' => {}
            _ => break,
        }
    }
    last.is_some_and(|ident| ident == "covers" || ident == "implements")
}

/// A test function of a `proptest!` body.
struct ProptestFn {
    attrs: Vec<Attribute>,
    ident: Ident,
    /// The closing brace of its body.
    end: Span,
}

/// `proptest!`'s grammar: inner attributes (`#![proptest_config(...)]`), then functions with
/// outer attributes whose parameters (`x in 0..10`, `seed: u64`) and return type are skipped.
fn proptest_fns(input: ParseStream<'_>) -> syn::Result<Vec<ProptestFn>> {
    input.call(Attribute::parse_inner)?;
    let mut fns = Vec::new();
    while !input.is_empty() {
        let attrs = input.call(Attribute::parse_outer)?;
        input.parse::<Visibility>()?;
        input.parse::<Token![fn]>()?;
        let ident: Ident = input.parse()?;
        let end = loop {
            let tree: TokenTree = input.parse()?;
            if let TokenTree::Group(g) = &tree
                && g.delimiter() == Delimiter::Brace
            {
                break g.span_close();
            }
        };
        fns.push(ProptestFn { attrs, ident, end });
    }
    Ok(fns)
}

/// The type of an `impl` block as written, compactly: `Queue<T>`, `&'a str`.
fn type_text(ty: &Type) -> String {
    tokens_text(ty.to_token_stream())
}

/// The last path segment of a type without its generics (`Queue` for `crate::Queue<T>`), else
/// the whole type.
fn short_type_name(ty: &Type) -> String {
    match ty {
        Type::Path(p) => p
            .path
            .segments
            .last()
            .map_or_else(|| type_text(ty), |s| s.ident.to_string()),
        _ => type_text(ty),
    }
}

/// Tokens as text with spaces only where Rust needs them (between words, after `,` and `;`).
fn tokens_text(tokens: TokenStream) -> String {
    let mut out = String::new();
    push_tokens(&mut out, tokens);
    out
}

fn push_tokens(out: &mut String, tokens: TokenStream) {
    let mut after_word = false;
    for tree in tokens {
        match tree {
            TokenTree::Ident(ident) => {
                if after_word {
                    out.push(' ');
                }
                out.push_str(&ident.to_string());
                after_word = true;
            }
            TokenTree::Literal(literal) => {
                if after_word {
                    out.push(' ');
                }
                out.push_str(&literal.to_string());
                after_word = true;
            }
            TokenTree::Punct(punct) => {
                let c = punct.as_char();
                match c {
                    ',' | ';' => {
                        out.push(c);
                        out.push(' ');
                    }
                    '+' | '=' => {
                        out.push(' ');
                        out.push(c);
                        out.push(' ');
                    }
                    _ => out.push(c),
                }
                after_word = false;
            }
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::None => ("", ""),
                };
                out.push_str(open);
                push_tokens(out, group.stream());
                out.push_str(close);
                after_word = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::ids::with_fixture_rules;

    fn scan(source: &str) -> FileScan {
        with_fixture_rules(|rules| {
            scan_rust(
                "crates/core/src/queue.rs",
                source,
                &["core".to_owned(), "queue".to_owned()],
                rules,
            )
        })
    }

    /// Line (1-based) of the first line of `source` that contains `needle`.
    fn line_with(source: &str, needle: &str) -> u32 {
        let index = source.lines().position(|l| l.contains(needle)).unwrap();
        u32::try_from(index + 1).unwrap()
    }

    fn keys(scan: &FileScan) -> Vec<(u32, &str, Vec<&str>, EvidenceKind)> {
        scan.evidence
            .iter()
            .map(|e| {
                (
                    e.line,
                    e.test.as_str(),
                    e.ids.iter().map(String::as_str).collect(),
                    e.kind,
                )
            })
            .collect()
    }

    fn messages(scan: &FileScan) -> Vec<String> {
        scan.diagnostics.iter().map(ToString::to_string).collect()
    }

    const FIXTURE: &str = r#"//! A fixture: nothing here is compiled.
use spectrace::covers;

#[covers("REQ-002", "REQ-001")]
#[test]
fn plain() {}

#[cfg(test)]
mod tests {
    mod nested {
        #[spectrace::covers("REQ-003", kind = "contract")]
        #[tokio::test]
        async fn
            name_on_its_own_line() {}
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]

        /// Documented.
        #[spectrace::covers("REQ-004", kind = "property")]
        #[test]
        fn generated(n in 0u32..10, seed: u64) {
            prop_assert!(n < 10);
        }

        #[spectrace::covers("REQ-005", kind = "property")]
        #[test]
        fn typed_only(seed: u64) {}
    }

    #[test]
    fn holder() {
        #[spectrace_macros::covers("REQ-006", kind = "e2e")]
        #[test]
        fn inner() {}
    }

    #[covers("REQ-007", kind = "compile")]
    #[test]
    fn r#match() {}
}
"#;

    #[test]
    fn finds_every_covers_with_the_line_of_the_name() {
        let out = scan(FIXTURE);
        assert_eq!(messages(&out), Vec::<String>::new());
        assert_eq!(
            keys(&out),
            [
                (
                    line_with(FIXTURE, "fn plain"),
                    "core::queue::plain",
                    vec!["REQ-001", "REQ-002"],
                    EvidenceKind::Test
                ),
                (
                    line_with(FIXTURE, "name_on_its_own_line()"),
                    "core::queue::tests::nested::name_on_its_own_line",
                    vec!["REQ-003"],
                    EvidenceKind::Contract
                ),
                (
                    line_with(FIXTURE, "fn generated"),
                    "core::queue::tests::generated",
                    vec!["REQ-004"],
                    EvidenceKind::Property
                ),
                (
                    line_with(FIXTURE, "fn typed_only"),
                    "core::queue::tests::typed_only",
                    vec!["REQ-005"],
                    EvidenceKind::Property
                ),
                (
                    line_with(FIXTURE, "fn inner"),
                    "core::queue::tests::inner",
                    vec!["REQ-006"],
                    EvidenceKind::E2e
                ),
                (
                    line_with(FIXTURE, "fn r#match"),
                    "core::queue::tests::r#match",
                    vec!["REQ-007"],
                    EvidenceKind::Compile
                ),
            ]
        );
        assert!(
            out.evidence
                .iter()
                .all(|e| e.file == "crates/core/src/queue.rs")
        );
    }

    #[test]
    fn emptied_bodies_keep_every_line_and_bodies_with_attributes_are_kept() {
        let source = r#"#!/usr/bin/env run-cargo-script
fn long_body() -> Wrapper<{ 1 + 1 }> {
    let x = { 1 };
    match x { _ => {} }
}

trait T { fn declared(&self); fn provided(&self) { let _ = "}"; } }

#[covers("REQ-001")]
#[test]
fn after_bodies() {
    let s = "{";
}

fn outer() {
    let unrelated = 1;
    #[covers("REQ-002")]
    #[test]
    fn nested_in_a_body() {}
}
"#;
        let out = scan(source);
        assert_eq!(messages(&out), Vec::<String>::new());
        let lines: Vec<_> = out
            .evidence
            .iter()
            .map(|e| (e.line, e.test.as_str()))
            .collect();
        assert_eq!(
            lines,
            [
                (
                    line_with(source, "fn after_bodies"),
                    "core::queue::after_bodies"
                ),
                (
                    line_with(source, "fn nested_in_a_body"),
                    "core::queue::nested_in_a_body"
                ),
            ]
        );
        let body = &source[source.find('\n').unwrap()..];
        let text = hollow(body, body.parse().unwrap()).to_string();
        assert!(!text.contains("match"), "an emptied body: {text}");
        assert!(!text.contains("\"}\""), "an emptied default method: {text}");
        assert!(text.contains("1 + 1"), "a const generic argument: {text}");
        assert!(
            text.contains("unrelated"),
            "a body with an attribute: {text}"
        );
    }

    #[test]
    fn crlf_line_endings_and_a_byte_order_mark_keep_lines() {
        let source = "\u{feff}// x\r\n\r\n#[covers(\"REQ-001\")]\r\n#[test]\r\nfn t() {}\r\n";
        let out = scan(source);
        assert_eq!(out.evidence[0].line, 5);
    }

    #[test]
    fn implements_on_every_kind_of_item() {
        let source = r#"
#[implements("REQ-001")]
pub struct Queue<T> { items: Vec<T> }

#[spectrace::implements("REQ-002", "REQ-001")]
enum Policy { Reject }

#[implements("REQ-003")]
impl<T> Queue<T> {
    #[implements("REQ-004")]
    pub fn push(&mut self) {}
    #[implements("REQ-005")]
    const CAP: usize = 1;
}

#[implements("REQ-006")]
impl<T: Clone> std::fmt::Display for Queue<T> {}

#[implements("REQ-007")]
mod admission {
    #[implements("REQ-008")]
    const LIMIT: u32 = 3;
}

#[implements("REQ-009")]
trait Engine { #[implements("REQ-001")] fn generate(&self); }

#[implements("REQ-002")]
fn free() {}

#[implements("REQ-003")]
type Alias = Queue<u8>;

#[implements("REQ-004")]
static GLOBAL: u8 = 0;

#[implements("REQ-005")]
macro_rules! m { () => {} }
"#;
        let out = scan(source);
        assert_eq!(messages(&out), Vec::<String>::new());
        let links: Vec<_> = out
            .implementations
            .iter()
            .map(|l| (l.id.as_str(), l.item.as_str(), l.line))
            .collect();
        assert_eq!(
            links,
            [
                ("REQ-001", "Queue", 3),
                ("REQ-001", "Policy", 6),
                ("REQ-002", "Policy", 6),
                ("REQ-003", "impl Queue<T>", 9),
                ("REQ-004", "Queue::push", 11),
                ("REQ-005", "Queue::CAP", 13),
                ("REQ-006", "impl std::fmt::Display for Queue<T>", 17),
                ("REQ-007", "admission", 20),
                ("REQ-008", "LIMIT", 22),
                ("REQ-009", "Engine", 26),
                ("REQ-001", "Engine::generate", 26),
                ("REQ-002", "free", 29),
                ("REQ-003", "Alias", 32),
                ("REQ-004", "GLOBAL", 35),
                ("REQ-005", "m!", 38),
            ]
        );
        assert!(out.evidence.is_empty());
    }

    #[test]
    fn bad_ids_and_arguments_are_errors_at_their_line() {
        let source = r#"
#[covers("REQ-001",
         "REQ-999")]
#[test]
fn unknown() {}

#[covers("req-1")]
#[test]
fn malformed() {}

#[covers("REQ-001", kind = "vibes")]
#[test]
fn bad_kind() {}

#[covers(REQ_001)]
#[test]
fn not_a_string() {}

#[covers]
#[test]
fn no_arguments() {}

#[covers()]
#[test]
fn no_ids() {}

#[covers("REQ-001")]
#[covers("REQ-002")]
#[test]
fn twice() {}

#[implements("REQ-001", kind = "test")]
struct NoKinds;
"#;
        let out = scan(source);
        let messages = messages(&out);
        let expected = [
            "crates/core/src/queue.rs:3: error: unknown requirement ID REQ-999: no spec defines it",
            "crates/core/src/queue.rs:7: error: malformed requirement ID `req-1`: it does not match the ID pattern `REQ-[0-9]{3}`",
            "crates/core/src/queue.rs:11: error: unknown evidence kind `vibes`; expected one of test, property, contract, compile, e2e",
            "crates/core/src/queue.rs:15: error: cannot read #[covers]: expected requirement IDs as string literals and an optional `kind = \"...\"`",
            "crates/core/src/queue.rs:19: error: cannot read #[covers]: expected attribute arguments in parentheses: #[covers(...)]; expected requirement IDs as string literals and an optional `kind = \"...\"`",
            "crates/core/src/queue.rs:23: error: #[covers] names no requirement ID",
            "crates/core/src/queue.rs:28: error: `twice` carries #[covers] more than once; list every ID in one attribute",
            "crates/core/src/queue.rs:32: error: cannot read #[implements]: expected requirement IDs as string literals",
        ];
        assert_eq!(messages, expected);
    }

    #[test]
    fn unparsable_files_name_the_line_and_files_without_attributes_are_not_parsed() {
        let out = scan("// covers\nfn broken( {\n");
        assert_eq!(out.diagnostics.len(), 1, "{:?}", messages(&out));
        let d = &out.diagnostics[0];
        assert!(d.message.starts_with("cannot parse Rust: "), "{d}");
        assert!(d.line.is_some(), "{d}");
        assert!(scan("fn broken( {\n").diagnostics.is_empty());
    }

    #[test]
    fn macro_bodies_that_are_not_items_are_warned_about() {
        let source = "quote! { #[covers(#id)] #[test] fn #name() {} }\nfn f() { assert!(covers); }\nm! { #[doc = \"covers\"] x }\n";
        let out = scan(source);
        assert_eq!(
            messages(&out),
            [
                "crates/core/src/queue.rs:1: warning: the body of `quote!` names covers or implements but is not a list of items; attributes inside it are not scanned"
            ]
        );
    }
}
