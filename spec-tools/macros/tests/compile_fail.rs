//! Malformed uses of `#[covers]` and `#[implements]` must not compile; each case's error is pinned in its
//! `.stderr` file (regenerate with `TRYBUILD=overwrite` when the compiler's wording changes).

#[test]
fn malformed_attributes_do_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
