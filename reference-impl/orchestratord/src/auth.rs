//! API keys of the control plane (ORCH-3038, ORCH-3039, ORCH-3041, ORCH-3042).
//!
//! Keys are named in the configuration by reference (`{env: NAME}` or `{file: PATH}`) and read
//! once at start-up; only their SHA-256 digests are kept. A presented key is hashed and compared
//! with every configured digest in constant time, so neither the comparison's timing nor any
//! message reveals a key. With no key configured, every protected route answers 401.

use api_types::ErrorCode;
use axum::http::{HeaderMap, header};
use orchestrator_config::KeyRef;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// Environment variable holding the control key when orchestratord runs without a config file.
pub const API_KEY_ENV: &str = "ORCHESTRATORD_API_KEY";

/// The accepted keys, as digests.
#[derive(Clone, Default)]
#[spectrace::implements("ORCH-3041")]
pub struct Keys {
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keys({} configured)", self.digests.len())
    }
}

fn digest(key: &[u8]) -> [u8; 32] {
    Sha256::digest(key).into()
}

/// Equality whose time does not depend on where the inputs differ.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Keys {
    /// Keys given directly (tests, and the environment fallback).
    pub fn new<I: IntoIterator<Item = S>, S: AsRef<str>>(keys: I) -> Self {
        Self {
            digests: keys
                .into_iter()
                .filter(|k| !k.as_ref().is_empty())
                .map(|k| digest(k.as_ref().as_bytes()))
                .collect(),
        }
    }

    /// Reads every referenced key. An unset variable or unreadable file is an error that names
    /// the variable or path, never a value.
    #[spectrace::implements("ORCH-3042")]
    pub fn resolve(refs: &[KeyRef]) -> Result<Self, String> {
        let mut keys = Vec::new();
        for reference in refs {
            let key = match reference {
                KeyRef::Env(name) => std::env::var(name)
                    .ok()
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| format!("the key variable `{name}` is not set"))?,
                KeyRef::File(path) => {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| format!("cannot read the key file `{path}`: {}", e.kind()))?;
                    let key = text.strip_suffix('\n').unwrap_or(&text).to_owned();
                    if key.is_empty() {
                        return Err(format!("the key file `{path}` is empty"));
                    }
                    key
                }
            };
            keys.push(key);
        }
        Ok(Self::new(keys))
    }

    /// The control key from `ORCHESTRATORD_API_KEY`, for runs without a config file; none when
    /// it is unset or empty.
    pub fn from_environment() -> Self {
        Self::new(std::env::var(API_KEY_ENV).ok())
    }

    /// True when no key is configured.
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// Whether a configured key has this digest; every key is compared, in constant time, so
    /// the time taken does not tell which key came close.
    #[spectrace::implements("ORCH-3038", "ORCH-3040")]
    fn accepts(&self, presented: &[u8; 32]) -> bool {
        self.digests
            .iter()
            .fold(false, |found, key| found | constant_time_eq(key, presented))
    }

    /// Checks the `Authorization: Bearer <key>` header: 401 when missing, malformed or when no
    /// key is configured; 403 when the key is wrong.
    #[spectrace::implements("ORCH-3038", "ORCH-3039", "ORCH-3040", "ORCH-3041")]
    pub fn check(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let Some(presented) = presented_key(headers) else {
            return Err(ApiError::new(
                ErrorCode::Unauthenticated,
                "this route needs `Authorization: Bearer <key>`",
            ));
        };
        if self.digests.is_empty() {
            return Err(ApiError::new(
                ErrorCode::Unauthenticated,
                "no key is configured for this route, so it is closed",
            ));
        }
        if self.accepts(&digest(presented.as_bytes())) {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::Forbidden,
                "the key is not accepted",
            ))
        }
    }
}

/// The key of an `Authorization: Bearer <key>` header; `None` when the header is missing, not
/// text, of another scheme, or names an empty key: each of these gets `401` (ORCH-3038, and
/// ORCH-3040 on the data plane).
#[spectrace::implements("ORCH-3038", "ORCH-3040")]
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .filter(|k| !k.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn bearer(key: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {key}")).unwrap(),
        );
        headers
    }

    #[spectrace::covers("ORCH-3038")]
    #[test]
    fn missing_wrong_and_right_keys() {
        let keys = Keys::new(["s3cr3t", "other"]);
        assert_eq!(
            keys.check(&HeaderMap::new()).unwrap_err().code,
            ErrorCode::Unauthenticated
        );
        assert_eq!(
            keys.check(&bearer("nope")).unwrap_err().code,
            ErrorCode::Forbidden
        );
        assert!(keys.check(&bearer("s3cr3t")).is_ok());
        assert!(keys.check(&bearer("other")).is_ok());
        let mut basic = HeaderMap::new();
        basic.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic czNjcjN0"),
        );
        assert_eq!(
            keys.check(&basic).unwrap_err().code,
            ErrorCode::Unauthenticated
        );
        // A Bearer header naming no key is malformed: 401, not a wrong key's 403.
        assert_eq!(
            keys.check(&bearer("")).unwrap_err().code,
            ErrorCode::Unauthenticated
        );
    }

    #[spectrace::covers("ORCH-3038", "ORCH-3040")]
    #[test]
    fn a_key_listed_twice_is_still_a_configured_key() {
        // Listed by a variable and by a file, say: one key, however often it is named.
        let twice = Keys::new(["s3cr3t", "other", "s3cr3t"]);
        assert!(twice.check(&bearer("s3cr3t")).is_ok());
        assert!(twice.check(&bearer("other")).is_ok());
        assert_eq!(
            twice.check(&bearer("nope")).unwrap_err().code,
            ErrorCode::Forbidden
        );
    }

    #[spectrace::covers("ORCH-3039")]
    #[test]
    fn no_key_configured_means_closed() {
        let keys = Keys::new(Vec::<String>::new());
        assert_eq!(
            keys.check(&bearer("anything")).unwrap_err().code,
            ErrorCode::Unauthenticated
        );
    }

    #[spectrace::covers("ORCH-3041", "ORCH-3042")]
    #[test]
    fn references_are_resolved_and_errors_never_show_values() {
        let dir = std::env::temp_dir().join(format!("orchd-key-{}", std::process::id()));
        std::fs::write(&dir, "from-a-file\n").unwrap();
        let keys = Keys::resolve(&[KeyRef::File(dir.to_string_lossy().into_owned())]).unwrap();
        assert!(keys.check(&bearer("from-a-file")).is_ok());
        std::fs::remove_file(&dir).unwrap();
        // A variable that is set resolves to its value. PATH is set in every test process, and
        // setting a variable from a test would race with the other tests' threads.
        let path = std::env::var("PATH").unwrap();
        let keys = Keys::resolve(&[KeyRef::Env("PATH".into())]).unwrap();
        assert_eq!(keys.digests, vec![digest(path.as_bytes())]);
        let err =
            Keys::resolve(&[KeyRef::Env("ORCHD_TEST_SURELY_UNSET_VARIABLE".into())]).unwrap_err();
        assert!(err.contains("ORCHD_TEST_SURELY_UNSET_VARIABLE"), "{err}");
        let err = Keys::resolve(&[KeyRef::File("/nonexistent/key".into())]).unwrap_err();
        assert!(err.contains("/nonexistent/key"), "{err}");
        let message = Keys::new(["s3cr3t"])
            .check(&bearer("wrong-key"))
            .unwrap_err()
            .message;
        assert!(!message.contains("s3cr3t") && !message.contains("wrong-key"));
        assert_eq!(format!("{:?}", Keys::new(["s3cr3t"])), "Keys(1 configured)");
    }
}
