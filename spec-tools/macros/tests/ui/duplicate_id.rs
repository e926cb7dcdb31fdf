#[spectrace_macros::covers("ORCH-2002", "ORCH-2002")]
#[test]
fn twice() {}

fn main() {}
