//! The deterministic token generator of the built-in `sim` engine (ORCH-3056 – ORCH-3058,
//! ORCH-3060): the tokens depend on the seed, the prompt and the temperature only — not on the
//! replica, the process, the time, or `max_tokens` (a longer request extends a shorter one).

use sha2::{Digest, Sha256};

/// Words the simulator speaks; each token is one word with a leading space (the first without).
const VOCABULARY: [&str; 64] = [
    "queue", "token", "stream", "river", "stone", "light", "quiet", "morning", "signal", "bounded",
    "order", "patient", "request", "answer", "window", "cedar", "harbor", "lantern", "meadow",
    "silver", "thread", "echo", "field", "glass", "autumn", "breeze", "candle", "dawn", "ember",
    "fern", "garden", "hollow", "island", "juniper", "kettle", "linen", "marble", "north",
    "orchard", "pebble", "quill", "rain", "sparrow", "tide", "umber", "valley", "willow", "yarrow",
    "zephyr", "amber", "birch", "cloud", "drift", "eddy", "flint", "grove", "heron", "iris",
    "jade", "kestrel", "loom", "moss", "nectar", "opal",
];

/// The seed of a task that gave none: the first 8 bytes, big-endian, of SHA-256 of its id.
#[spectrace::implements("ORCH-3058")]
pub fn default_seed(task_id: &str) -> u64 {
    let digest = Sha256::digest(task_id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// An endless, deterministic token stream.
#[derive(Debug, Clone)]
pub struct SimSampler {
    state: u64,
    index: u64,
}

#[spectrace::implements("ORCH-3056", "ORCH-3057", "ORCH-3060")]
impl SimSampler {
    /// The stream for `(seed, prompt, temperature)`. The temperature enters through its bit
    /// pattern, so every distinct value gives a distinct stream.
    pub fn new(seed: u64, prompt: &str, temperature: f64) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(seed.to_be_bytes());
        hasher.update(temperature.to_bits().to_be_bytes());
        hasher.update(prompt.as_bytes());
        let digest = hasher.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        Self {
            state: u64::from_be_bytes(first),
            index: 0,
        }
    }

    /// SplitMix64: small, fast, and the same on every platform.
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[spectrace::implements("ORCH-3056", "ORCH-3057", "ORCH-3060")]
impl Iterator for SimSampler {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        let word = VOCABULARY[(self.next_u64() % VOCABULARY.len() as u64) as usize];
        let token = if self.index == 0 {
            word.to_owned()
        } else {
            format!(" {word}")
        };
        self.index += 1;
        Some(token)
    }
}

/// Prompt length in tokens as the `sim` engine counts it: one per whitespace-separated word,
/// at least one.
pub fn count_prompt_tokens(prompt: &str) -> u64 {
    (prompt.split_whitespace().count() as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn take(seed: u64, prompt: &str, n: usize) -> Vec<String> {
        SimSampler::new(seed, prompt, 0.0).take(n).collect()
    }

    #[spectrace::covers("ORCH-3058")]
    #[test]
    fn default_seed_is_the_first_8_bytes_of_sha256_big_endian() {
        // SHA-256("abc") = ba7816bf8f01cfea...
        assert_eq!(default_seed("abc"), 0xba78_16bf_8f01_cfea);
    }

    /// The sim stream is part of the contract: byte-identical whichever replica, process or
    /// build runs it, so it is pinned here to its known values.
    #[spectrace::covers("ORCH-3057", "ORCH-3060")]
    #[test]
    fn the_sim_stream_is_pinned_to_known_values() {
        assert_eq!(
            take(42, "Write a haiku", 8).concat(),
            "birch rain lantern patient light loom jade silver"
        );
        let tokens: Vec<String> = SimSampler::new(7, "hello", 0.7).take(4).collect();
        assert_eq!(tokens, ["window", " token", " north", " patient"]);
    }

    #[test]
    fn tokens_are_words_separated_by_spaces() {
        let tokens = take(1, "hello", 3);
        assert!(!tokens[0].starts_with(' '));
        assert!(tokens[1].starts_with(' ') && tokens[2].starts_with(' '));
        assert_eq!(count_prompt_tokens("  a b\tc "), 3);
        assert_eq!(count_prompt_tokens(""), 1);
    }

    proptest! {
        #[spectrace::covers("ORCH-3056", "ORCH-3057", "ORCH-3060", kind = "property")]
        #[test]
        fn same_inputs_same_tokens_and_longer_runs_extend_shorter(seed: u64, prompt in "\\PC{0,40}", short in 0usize..32, extra in 0usize..32) {
            let a = take(seed, &prompt, short + extra);
            let b = take(seed, &prompt, short + extra);
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(&a[..short], &take(seed, &prompt, short)[..]);
        }

        #[spectrace::covers("ORCH-3056", kind = "property")]
        #[test]
        fn different_seeds_give_different_streams(seed: u64, prompt in "\\PC{0,40}") {
            prop_assert_ne!(take(seed, &prompt, 16), take(seed.wrapping_add(1), &prompt, 16));
        }
    }
}
