#[spectrace_macros::covers("ORCH-2002", "orch-2003")]
#[test]
fn lower_case() {}

fn main() {}
