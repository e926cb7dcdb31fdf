#[spectrace_macros::covers("ORCH-2002")]
#[test]
#[should_panic]
fn full_queue_panics() {
    let capacity = std::hint::black_box(0);
    assert!(capacity > 0, "queue full");
}

fn main() {}
