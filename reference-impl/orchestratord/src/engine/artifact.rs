//! Model artifacts (spec §3.15): a model file must be readable (ORCH-3052) and, when a
//! checksum is configured, match it (ORCH-3050) before any engine uses it; the pool then
//! reports the file's digest (ORCH-3051). A `sim` model without a file is identified by the
//! digest of its name.

use std::io::Read;
use std::path::PathBuf;

use orchestrator_config::ModelConfig;
use sha2::{Digest, Sha256};

/// A checked model: its file (when it has one) and its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelArtifact {
    /// The model's name.
    pub name: String,
    /// The model file, when the model has one.
    pub path: Option<PathBuf>,
    /// `sha256:` and 64 hex digits: of the file, or of the name when there is no file.
    pub digest: String,
}

impl ModelArtifact {
    /// Checks `model`'s file and checksum. Hashing runs on a blocking thread: a model file
    /// is hundreds of megabytes.
    pub async fn check(model: &ModelConfig) -> Result<Self, String> {
        let model = model.clone();
        tokio::task::spawn_blocking(move || Self::check_blocking(&model))
            .await
            .map_err(|e| format!("checking the model file failed: {e}"))?
    }

    /// [`check`](Self::check) on the current thread.
    #[spectrace::implements("ORCH-3050", "ORCH-3051", "ORCH-3052")]
    pub fn check_blocking(model: &ModelConfig) -> Result<Self, String> {
        let Some(path) = &model.path else {
            if model.sha256.is_some() {
                return Err(format!(
                    "model `{}` has a sha256 but no path to check it against",
                    model.name
                ));
            }
            return Ok(Self {
                name: model.name.clone(),
                path: None,
                digest: digest_of(model.name.as_bytes()),
            });
        };
        let digest =
            digest_of_file(path).map_err(|e| format!("cannot read model file `{path}`: {e}"))?;
        if let Some(expected) = &model.sha256
            && !digest.eq_ignore_ascii_case(&format!("sha256:{expected}"))
        {
            return Err(format!(
                "model file `{path}` has SHA-256 {}, expected {expected}",
                digest.trim_start_matches("sha256:")
            ));
        }
        Ok(Self {
            name: model.name.clone(),
            path: Some(PathBuf::from(path)),
            digest,
        })
    }
}

/// `sha256:` and the hex SHA-256 of `bytes`.
pub fn digest_of(bytes: &[u8]) -> String {
    hex_digest(Sha256::digest(bytes).as_slice())
}

/// `sha256:` and the hex SHA-256 of the file at `path`, read in 1 MiB blocks.
fn digest_of_file(path: &str) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer)?;
        match buffer.get(..n) {
            Some(chunk) if !chunk.is_empty() => hasher.update(chunk),
            _ => break,
        }
    }
    Ok(hex_digest(hasher.finalize().as_slice()))
}

fn hex_digest(bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(path: Option<&str>, sha256: Option<&str>) -> ModelConfig {
        ModelConfig {
            name: "abc".into(),
            path: path.map(Into::into),
            sha256: sha256.map(Into::into),
        }
    }

    #[test]
    fn a_model_without_file_is_the_digest_of_its_name() {
        let artifact = ModelArtifact::check_blocking(&model(None, None)).unwrap();
        assert_eq!(
            artifact.digest,
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let error = ModelArtifact::check_blocking(&model(None, Some("00"))).unwrap_err();
        assert!(error.contains("no path"), "{error}");
    }

    #[test]
    fn a_file_is_hashed_and_checked_against_its_checksum() {
        let dir = std::env::temp_dir().join(format!("orchd-artifact-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("m.gguf");
        std::fs::write(&file, b"abc").unwrap();
        let path = file.to_str().unwrap();
        let right = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let artifact = ModelArtifact::check_blocking(&model(Some(path), Some(right))).unwrap();
        assert_eq!(artifact.digest, format!("sha256:{right}"));
        let wrong = "0".repeat(64);
        let error = ModelArtifact::check_blocking(&model(Some(path), Some(&wrong))).unwrap_err();
        assert!(error.contains(right) && error.contains(&wrong), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
        let error = ModelArtifact::check_blocking(&model(Some(path), None)).unwrap_err();
        assert!(error.contains(path), "{error}");
    }

    /// A path that exists but cannot be read as a file (a directory: opening it succeeds,
    /// reading it fails, even for root) fails the check with a message naming the path.
    #[spectrace::covers("ORCH-3052")]
    #[test]
    fn a_path_that_exists_but_cannot_be_read_fails_naming_it() {
        let dir = std::env::temp_dir().join(format!("orchd-unreadable-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.to_str().unwrap();
        let error = ModelArtifact::check_blocking(&model(Some(path), None)).unwrap_err();
        assert!(
            error.contains(path) && error.contains("cannot read model file"),
            "{error}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
