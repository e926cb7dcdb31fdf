//! The generated error-code enum is exhaustive: a `match` that forgets a code does not
//! compile, so a code added to the contract forces every handler to decide what to do with it.

#[test]
fn a_match_missing_an_error_code_does_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
