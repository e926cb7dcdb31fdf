#[spectrace_macros::covers("ORCH-2002")]
#[test]
fn queue_is_bounded() {
    assert!(true);
    assert_eq!(1, 1, "one is one");
}

#[spectrace_macros::covers("ORCH-2003")]
#[test]
fn positions_are_honest() {
    let position = 3;
    assert_eq!(position, position);
    debug_assert!(!false);
}

fn main() {}
