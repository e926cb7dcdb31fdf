#[spectrace_macros::covers("ORCH-2002")]
fn helper() {}

fn main() {
    helper();
}
