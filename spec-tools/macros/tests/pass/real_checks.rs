//! Tests that can fail: `#[covers]` accepts them.

fn capacity() -> usize {
    std::hint::black_box(4)
}

#[spectrace_macros::covers("ORCH-2002")]
#[test]
fn compares_a_computed_value() {
    assert_eq!(capacity(), 4);
}

#[spectrace_macros::covers("ORCH-2003")]
#[test]
fn one_real_assertion_among_constant_ones() {
    assert!(true);
    assert!(capacity() > 2, "the queue holds more than two");
}

#[spectrace_macros::covers("ORCH-2004")]
#[test]
fn no_assertion_macro_but_a_call_that_panics_on_failure() {
    "4".parse::<usize>().map(|n| n + capacity()).unwrap();
}

#[spectrace_macros::covers("ORCH-2005")]
#[test]
#[should_panic(expected = "queue full")]
fn should_panic_with_the_expected_message() {
    assert!(capacity() == 0, "queue full");
}

fn main() {}
