//! `spectrace.toml`: where the specs are, what an ID looks like, where declared evidence is,
//! which suites `verify` runs, the gate policy, and where outputs go.
//! Every key has a default, so a repository without the file works; unknown keys are errors,
//! so a typo never silently falls back to a default.

use std::path::Path;

use serde::Deserialize;

use crate::diag::Diagnostic;
use crate::id::DEFAULT_ID_PATTERN;

/// File name of the configuration, at the repository root.
pub const CONFIG_FILE: &str = "spectrace.toml";

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the specs are and how IDs look.
    pub specs: SpecsConfig,
    /// Where declared evidence and contract links are looked for.
    pub evidence: EvidenceConfig,
    /// The suites `spectrace verify` runs.
    pub verify: VerifyConfig,
    /// What `spectrace check` demands per level.
    pub gate: GateConfig,
    /// Where generated files go.
    pub outputs: OutputsConfig,
    /// The files `spectrace links` checks.
    pub links: LinksConfig,
    /// How `spectrace strength` runs evidence.
    pub strength: StrengthConfig,
}

/// `[strength]`: what `spectrace strength` needs beyond `cargo test`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct StrengthConfig {
    /// The command that runs BDD scenarios, run from the root; `--tags @ID` is appended. Empty:
    /// scenarios are not run (reported as evidence that could not run).
    pub bdd: Vec<String>,
    /// The command that builds what `bdd` runs, so that a mutant that does not compile is
    /// unviable rather than caught.
    pub bdd_build: Vec<String>,
    /// Seconds an evidence run may take before it counts as a timeout (caught); none: three
    /// times the unmutated run, at least 30 s.
    pub timeout: Option<u64>,
}

/// `[links]`: globs relative to the root. Files under a `target/` directory are never read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinksConfig {
    /// Markdown and HTML files whose links are checked (`.html`/`.htm` are HTML).
    pub include: Vec<String>,
    /// Files left out.
    pub exclude: Vec<String>,
}

impl Default for LinksConfig {
    fn default() -> Self {
        Self {
            include: [
                "*.md",
                "docs/**/*.md",
                ".specs/**/*.md",
                "site/out/**/*.html",
            ]
            .map(str::to_owned)
            .to_vec(),
            exclude: Vec::new(),
        }
    }
}

/// `[evidence]`: globs relative to the root.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvidenceConfig {
    /// Rust files searched for `#[covers]` and `#[implements]`.
    pub rust: Vec<String>,
    /// Gherkin feature files.
    pub features: Vec<String>,
    /// OpenAPI documents searched for `x-req-id`.
    pub openapi: Vec<String>,
    /// JUnit XML reports of any test runner: each test case that names a requirement is
    /// evidence (declared and run).
    pub junit: Vec<String>,
    /// Files left out of all of the above (e.g. fixtures that use IDs no spec defines).
    pub exclude: Vec<String>,
}

impl Default for EvidenceConfig {
    fn default() -> Self {
        Self {
            rust: vec!["**/*.rs".to_owned()],
            features: vec!["features/**/*.feature".to_owned()],
            openapi: Vec::new(),
            junit: Vec::new(),
            exclude: vec!["target/**".to_owned()],
        }
    }
}

/// `[verify]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct VerifyConfig {
    /// Run in order, each with `SPECTRACE_EVIDENCE_DIR` set to `outputs.run_dir`. None: a
    /// Cargo project runs [`VerifyConfig::CARGO_DEFAULT`]; any other project must list its
    /// suites.
    pub suites: Vec<Suite>,
}

impl VerifyConfig {
    /// What `spectrace verify` runs in a Cargo project that lists no suites.
    pub const CARGO_DEFAULT: [&str; 4] = ["cargo", "test", "--workspace", "--no-fail-fast"];
}

/// One suite `verify` runs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// Shown in progress and errors.
    pub name: String,
    /// Program and arguments, run from the root (no shell).
    pub command: Vec<String>,
}

/// What the gate demands of a requirement of one level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Demand {
    /// Evidence ran and every run of it passed (status `verified`).
    Verified,
    /// Evidence is declared and none that ran failed (`verified` or `unverified`; a `suspect`
    /// requirement, reworded since its evidence was reviewed, does not count).
    Covered,
    /// Nothing.
    None,
}

impl std::fmt::Display for Demand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Demand::Verified => "verified",
            Demand::Covered => "covered",
            Demand::None => "none",
        })
    }
}

/// `[gate]`: the demand per level, and what else a requirement must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GateConfig {
    /// MUST requirements.
    pub must: Demand,
    /// SHOULD requirements.
    pub should: Demand,
    /// MAY requirements.
    pub may: Demand,
    /// When a requirement counts as `verified`: every declared evidence item ran and passed
    /// (`all`, the default), or some ran and none failed (`any`).
    pub evidence: EvidenceRule,
    /// Which levels need an `#[implements]` link (`none`, the default; `must`; `should`:
    /// MUST and SHOULD).
    pub implemented: ImplementedDemand,
    /// The least strength (caught / (caught + missed) of `spectrace strength`) a MUST must
    /// have, measured on its current code; none (the default) demands nothing.
    pub must_strength: Option<Ratio>,
    /// What an evidence item that ran in several shards is: a warning (`any`, the default) or
    /// an error (`exactly-once`).
    pub shards: ShardRule,
}

/// `[gate] shards`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ShardRule {
    /// An item that ran in several shards is reported as a warning.
    #[default]
    Any,
    /// Every item that ran, ran in exactly one shard; a duplicate is an error.
    ExactlyOnce,
}

impl Default for GateConfig {
    fn default() -> Self {
        Self {
            must: Demand::Verified,
            should: Demand::Verified,
            may: Demand::None,
            evidence: EvidenceRule::All,
            implemented: ImplementedDemand::None,
            must_strength: None,
            shards: ShardRule::Any,
        }
    }
}

/// `[gate] evidence`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum EvidenceRule {
    /// Verified only when every declared evidence item ran and passed.
    #[default]
    All,
    /// Verified when some evidence ran and none that ran failed.
    Any,
}

/// `[gate] implemented`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ImplementedDemand {
    /// No implementation link is needed.
    #[default]
    None,
    /// Every MUST needs one.
    Must,
    /// Every MUST and SHOULD needs one.
    Should,
}

/// A fraction from 0 to 1, kept in thousandths so that configurations compare exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "f64")]
pub struct Ratio {
    /// Thousandths.
    pub permille: u32,
}

impl TryFrom<f64> for Ratio {
    type Error = String;

    fn try_from(value: f64) -> Result<Self, Self::Error> {
        if (0.0..=1.0).contains(&value) {
            // In 0..=1000 after the range check.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let permille = (value * 1000.0).round() as u32;
            Ok(Self { permille })
        } else {
            Err(format!("a strength is a fraction from 0 to 1, not {value}"))
        }
    }
}

impl Ratio {
    /// True when `caught / judged` reaches this ratio.
    pub fn met_by(self, caught: usize, judged: usize) -> bool {
        judged > 0 && (caught as u128) * 1000 >= u128::from(self.permille) * (judged as u128)
    }
}

impl std::fmt::Display for Ratio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:03}", self.permille / 1000, self.permille % 1000)
    }
}

/// `[specs]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpecsConfig {
    /// Glob patterns, relative to the root, of the spec files.
    pub include: Vec<String>,
    /// Regular expression for one whole requirement ID.
    pub id_pattern: String,
}

impl Default for SpecsConfig {
    fn default() -> Self {
        Self {
            include: vec![".specs/**/*.md".to_owned()],
            id_pattern: DEFAULT_ID_PATTERN.to_owned(),
        }
    }
}

/// `[outputs]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputsConfig {
    /// The requirement index written by `spectrace extract`.
    pub index: String,
    /// The human report written by `spectrace report`.
    pub compliance_md: String,
    /// The compliance model as JSON.
    pub compliance_json: String,
    /// One JUnit test case per requirement.
    pub junit: String,
    /// Raw evidence records of the last `verify` (not committed).
    pub run_dir: String,
    /// Per requirement, the fingerprint its evidence was last reviewed against (committed).
    pub reviewed: String,
    /// The static site built by `spectrace site` (not committed; replaced as a whole).
    pub site: String,
    /// Per requirement, the mutants of its implementing items and what its evidence caught
    /// (`spectrace strength`, committed).
    pub strength: String,
    /// Surviving mutants waived as equivalent, each with a reason (committed).
    pub strength_waivers: String,
}

impl Default for OutputsConfig {
    fn default() -> Self {
        Self {
            index: "requirements/index.yaml".to_owned(),
            compliance_md: "COMPLIANCE.md".to_owned(),
            compliance_json: "reports/compliance.json".to_owned(),
            junit: "reports/junit.xml".to_owned(),
            run_dir: "reports/run".to_owned(),
            reviewed: "reports/reviewed.yaml".to_owned(),
            site: "site/out".to_owned(),
            strength: "reports/strength.json".to_owned(),
            strength_waivers: "reports/strength-waivers.yaml".to_owned(),
        }
    }
}

impl Config {
    /// Parses the text of a configuration file; `name` is used in errors.
    pub fn parse(name: &str, text: &str) -> Result<Self, Diagnostic> {
        toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
            Diagnostic::error(name, line, e.message().trim().to_owned())
        })
    }

    /// Loads `path` when given (it must exist), else `<root>/spectrace.toml` when it exists,
    /// else the defaults.
    pub fn load(root: &Path, path: Option<&Path>) -> Result<Self, Diagnostic> {
        let (path, required) = match path {
            Some(path) => (path.to_path_buf(), true),
            None => (root.join(CONFIG_FILE), false),
        };
        let name = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&name, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(Self::default()),
            Err(e) => Err(Diagnostic::error(name, None, format!("cannot read: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let c = Config::parse("spectrace.toml", "").unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.specs.include, [".specs/**/*.md"]);
        assert_eq!(c.specs.id_pattern, "ORCH-[0-9]{4}");
        assert_eq!(c.outputs.index, "requirements/index.yaml");
        assert_eq!(c.outputs.reviewed, "reports/reviewed.yaml");
        assert_eq!(c.outputs.site, "site/out");
    }

    #[test]
    fn keys_override_defaults() {
        let c = Config::parse(
            "spectrace.toml",
            "[specs]\ninclude = [\"docs/*.md\"]\nid_pattern = \"OC-[0-9]{3}\"\n",
        )
        .unwrap();
        assert_eq!(c.specs.include, ["docs/*.md"]);
        assert_eq!(c.specs.id_pattern, "OC-[0-9]{3}");
        assert_eq!(c.outputs, OutputsConfig::default());
    }

    #[test]
    fn evidence_verify_and_gate_sections() {
        let c = Config::parse(
            "spectrace.toml",
            "[evidence]\nrust = [\"src/**/*.rs\"]\nexclude = [\"fixtures/**\"]\n\
             [[verify.suites]]\nname = \"bdd\"\ncommand = [\"cargo\", \"test\"]\n\
             [gate]\nshould = \"covered\"\n",
        )
        .unwrap();
        assert_eq!(c.evidence.rust, ["src/**/*.rs"]);
        assert_eq!(c.evidence.features, ["features/**/*.feature"]);
        assert_eq!(c.verify.suites[0].command, ["cargo", "test"]);
        assert_eq!(c.gate.must, Demand::Verified);
        assert_eq!(c.gate.should, Demand::Covered);
        assert_eq!(c.gate.may, Demand::None);
        let e = Config::parse("spectrace.toml", "[gate]\nmust = \"sometimes\"\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
    }

    #[test]
    fn gate_evidence_implemented_and_strength() {
        let c = Config::parse("spectrace.toml", "").unwrap();
        assert_eq!(c.gate.evidence, EvidenceRule::All);
        assert_eq!(c.gate.implemented, ImplementedDemand::None);
        assert_eq!(c.gate.shards, ShardRule::Any);
        assert_eq!(c.gate.must_strength, None);
        let c = Config::parse(
            "spectrace.toml",
            "[gate]\nevidence = \"any\"\nimplemented = \"must\"\nmust_strength = 0.8\n",
        )
        .unwrap();
        assert_eq!(c.gate.evidence, EvidenceRule::Any);
        assert_eq!(c.gate.implemented, ImplementedDemand::Must);
        let floor = c.gate.must_strength.unwrap();
        assert_eq!(floor.to_string(), "0.800");
        assert!(floor.met_by(8, 10) && floor.met_by(9, 10) && !floor.met_by(7, 10));
        assert!(!floor.met_by(0, 0));
        let e = Config::parse("spectrace.toml", "[gate]\nmust_strength = 1.5\n").unwrap_err();
        assert!(e.message.contains("from 0 to 1"), "{e}");
    }

    #[test]
    fn links_section_defaults_and_overrides() {
        let c = Config::parse("spectrace.toml", "").unwrap();
        assert_eq!(
            c.links.include,
            [
                "*.md",
                "docs/**/*.md",
                ".specs/**/*.md",
                "site/out/**/*.html"
            ]
        );
        assert!(c.links.exclude.is_empty());
        let c = Config::parse("spectrace.toml", "[links]\nexclude = [\"CHANGELOG.md\"]\n").unwrap();
        assert_eq!(c.links.include, LinksConfig::default().include);
        assert_eq!(c.links.exclude, ["CHANGELOG.md"]);
        let e = Config::parse("spectrace.toml", "[links]\nonline = true\n").unwrap_err();
        assert_eq!(e.line, Some(2), "{e}");
    }

    #[test]
    fn unknown_keys_are_errors_with_a_line() {
        let e = Config::parse("spectrace.toml", "[specs]\n\ninclud = []\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("unknown field"), "{}", e.message);
        assert!(e.to_string().starts_with("spectrace.toml:3: error:"));
    }

    #[test]
    fn missing_default_file_is_fine_but_missing_explicit_file_is_not() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Config::load(dir.path(), None).unwrap(), Config::default());
        let missing = dir.path().join("nope.toml");
        let e = Config::load(dir.path(), Some(&missing)).unwrap_err();
        assert!(e.message.starts_with("cannot read"), "{}", e.message);
    }
}
