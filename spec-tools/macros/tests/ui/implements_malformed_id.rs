#[spectrace_macros::implements("ORCH-3004", "ORCH-30O5")]
struct AdmissionQueue;

fn main() {
    let _ = AdmissionQueue;
}
