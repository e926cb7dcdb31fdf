#[spectrace_macros::covers("ORCH-2001..2005")]
#[test]
fn ranges_are_not_evidence() {}

fn main() {}
