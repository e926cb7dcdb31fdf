#[spectrace_macros::implements("ORCH-3004", kind = "property")]
mod queue {}

fn main() {}
