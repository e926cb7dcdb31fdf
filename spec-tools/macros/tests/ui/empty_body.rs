#[spectrace_macros::covers("ORCH-2002")]
#[test]
fn queue_is_bounded() {}

fn main() {}
