//! The attributes at compile time: malformed uses of `#[covers]` and `#[implements]`, and tests
//! that cannot fail, must not compile (each case's error is pinned in its `.stderr` file;
//! regenerate with `TRYBUILD=overwrite` when the compiler's wording changes); tests that can
//! fail must (`tests/pass/`).

#[test]
fn malformed_attributes_and_vacuous_tests_do_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/pass/*.rs");
}
