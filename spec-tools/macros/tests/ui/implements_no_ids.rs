#[spectrace_macros::implements()]
fn admit() {}

fn main() {
    admit();
}
