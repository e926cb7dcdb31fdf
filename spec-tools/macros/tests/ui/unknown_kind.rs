#[spectrace_macros::covers("ORCH-2002", kind = "vibes")]
#[test]
fn unknown_kind() {}

fn main() {}
