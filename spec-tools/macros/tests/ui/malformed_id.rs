#[spectrace_macros::covers("ORCH-12a")]
#[test]
fn queue_is_bounded() {}

fn main() {}
