#[spectrace_macros::covers(ORCH_2002)]
#[test]
fn bare_path() {}

fn main() {}
