#[spectrace_macros::covers()]
#[test]
fn nothing_covered() {}

fn main() {}
