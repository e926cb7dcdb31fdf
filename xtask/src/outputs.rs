//! The output paths that xtask shares with spectrace, read from the repository's
//! `spectrace.toml` (`[outputs] run_dir` and `site`) so that they are written down once.
//!
//! xtask does not guess spectrace's defaults: the repository's configuration names both keys,
//! and a configuration without them is an error naming the key.

use std::path::Path;

/// `[outputs]` keys xtask uses, as written (relative to the workspace root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outputs {
    /// `outputs.run_dir`: where test runs record evidence and gates leave screenshots.
    pub run_dir: String,
    /// `outputs.site`: where `spectrace site` builds the static site.
    pub site: String,
}

/// Reads `spectrace.toml` under `root`.
pub fn read(root: &Path) -> Result<Outputs, String> {
    let path = root.join("spectrace.toml");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text)
}

/// Parses the text of a `spectrace.toml`.
pub fn parse(text: &str) -> Result<Outputs, String> {
    let table: toml::Table =
        toml::from_str(text).map_err(|e| format!("spectrace.toml: {}", e.message().trim()))?;
    let key = |name: &str| -> Result<String, String> {
        table
            .get("outputs")
            .and_then(|outputs| outputs.get(name))
            .and_then(toml::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("spectrace.toml: xtask needs `[outputs] {name}` set to a path"))
    };
    Ok(Outputs {
        run_dir: key("run_dir")?,
        site: key("site")?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_repository_config_names_both_paths() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let outputs = read(&root).unwrap();
        assert_eq!(outputs.run_dir, "reports/run");
        assert_eq!(outputs.site, "site/out");
    }

    #[test]
    fn missing_keys_and_bad_toml_are_errors_naming_the_key() {
        let e = parse("[outputs]\nsite = \"out\"\n").unwrap_err();
        assert!(e.contains("`[outputs] run_dir`"), "{e}");
        let e = parse("[outputs]\nrun_dir = 3\nsite = \"x\"\n").unwrap_err();
        assert!(e.contains("run_dir"), "{e}");
        assert!(parse("[outputs\n").is_err());
        let ok = parse("[outputs]\nrun_dir = \"r\"\nsite = \"s\"\n").unwrap();
        assert_eq!((ok.run_dir.as_str(), ok.site.as_str()), ("r", "s"));
    }
}
