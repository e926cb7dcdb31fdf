//! `spectrace init`: what a project already has ([`detect`]), and the two files that set it up
//! ([`plan`]) — a commented `spectrace.toml` whose globs name what was found, and a first spec,
//! `.specs/requirements.md`, holding one example requirement.
//!
//! Detection looks at the project root only through [`crate::paths::Selector`] (so `target/`,
//! `node_modules/` and `.git/` are never entered):
//!
//! - a Cargo project: `Cargo.toml` at the root (a package or a workspace);
//! - Gherkin features: `*.feature` files under `features/`;
//! - OpenAPI documents: `*.yaml`, `*.yml`, `*.json` files whose top-level mapping has an
//!   `openapi` key (parsed with serde-saphyr; JSON is YAML);
//! - JUnit reports: `*.xml` files whose root element is `<testsuites>` or `<testsuite>`
//!   (quick-xml); their directories become `[evidence] junit` globs.
//!
//! [`plan`] is pure: the same findings and prefix give the same bytes, so running `init` twice
//! changes nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use quick_xml::Reader;
use quick_xml::events::Event;
use serde::de::IgnoredAny;

use crate::diag::Diagnostic;
use crate::paths::{GlobKey, Selector};

/// The spec file `init` writes.
pub const SPEC_FILE: &str = ".specs/requirements.md";

/// Directories detection never enters, wherever they are.
const NEVER: [&str; 4] = [
    "**/target/**",
    "**/node_modules/**",
    "**/.git/**",
    "**/.venv/**",
];

/// Files larger than this are not opened to see whether they are OpenAPI or JUnit.
const MAX_PROBE_BYTES: u64 = 4 * 1024 * 1024;

/// What a project has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Detected {
    /// `Cargo.toml` at the root.
    pub cargo: bool,
    /// `.feature` files under `features/`.
    pub features: bool,
    /// OpenAPI documents, relative to the root, sorted.
    pub openapi: Vec<String>,
    /// Directories holding JUnit reports, relative to the root (`""` for the root), sorted.
    pub junit_dirs: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Probe {
    Feature,
    Data,
    Xml,
}

/// Looks at the project under `root`.
pub fn detect(root: &Path) -> Result<Detected, Vec<Diagnostic>> {
    let key = GlobKey {
        section: "init",
        key: "detect",
    };
    let globs = |list: &[&str]| list.iter().map(|g| (*g).to_owned()).collect::<Vec<_>>();
    let selector = Selector::new(
        &[
            (Probe::Feature, key, &globs(&["features/**/*.feature"])),
            (
                Probe::Data,
                key,
                &globs(&["**/*.yaml", "**/*.yml", "**/*.json"]),
            ),
            (Probe::Xml, key, &globs(&["**/*.xml"])),
        ],
        &[(key, &globs(&NEVER))],
    )?;
    let mut detected = Detected {
        cargo: root.join("Cargo.toml").is_file(),
        ..Detected::default()
    };
    let mut junit_dirs = BTreeSet::new();
    for file in selector.select(root)? {
        match file.kind {
            Probe::Feature => detected.features = true,
            Probe::Data => {
                if read_small(&file.path).is_some_and(|text| is_openapi(&text)) {
                    detected.openapi.push(file.relative);
                }
            }
            Probe::Xml => {
                if read_small(&file.path).is_some_and(|text| is_junit(&text)) {
                    let dir = file
                        .relative
                        .rsplit_once('/')
                        .map_or_else(String::new, |(dir, _)| dir.to_owned());
                    junit_dirs.insert(dir);
                }
            }
        }
    }
    detected.openapi.sort();
    detected.junit_dirs = junit_dirs.into_iter().collect();
    Ok(detected)
}

fn read_small(path: &Path) -> Option<String> {
    let size = std::fs::metadata(path).ok()?.len();
    if size > MAX_PROBE_BYTES {
        return None;
    }
    std::fs::read_to_string(path).ok()
}

/// A YAML or JSON document whose top-level mapping has an `openapi` key.
pub fn is_openapi(text: &str) -> bool {
    serde_saphyr::from_str::<BTreeMap<String, IgnoredAny>>(text)
        .is_ok_and(|top| top.contains_key("openapi"))
}

/// An XML document whose root element is `<testsuites>` or `<testsuite>`.
pub fn is_junit(text: &str) -> bool {
    let mut reader = Reader::from_str(text);
    loop {
        match reader.read_event() {
            Ok(Event::Start(tag) | Event::Empty(tag)) => {
                return matches!(tag.local_name().as_ref(), b"testsuites" | b"testsuite");
            }
            Ok(Event::Eof) | Err(_) => return false,
            Ok(_) => {}
        }
    }
}

/// `REQ` → the ID pattern `REQ-[0-9]{4}`, or why the prefix cannot start an ID: it must be
/// upper-case segments of letters and digits, each starting with a letter, joined by `-`
/// (`REQ`, `OC-ADAPT`), the shape `#[spectrace::covers]` accepts.
pub fn id_pattern(prefix: &str) -> Result<String, String> {
    let well_formed = !prefix.is_empty()
        && prefix.split('-').all(|segment| {
            let mut bytes = segment.bytes();
            bytes.next().is_some_and(|b| b.is_ascii_uppercase())
                && bytes.all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        });
    if well_formed {
        Ok(format!("{prefix}-[0-9]{{4}}"))
    } else {
        Err(format!(
            "`{prefix}` cannot start a requirement ID: use upper-case letters and digits, each \
             part starting with a letter, parts joined by `-` (e.g. REQ, API, OC-ADAPT)"
        ))
    }
}

/// One file `init` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitFile {
    /// Path relative to the root.
    pub path: &'static str,
    /// Its content.
    pub content: String,
}

/// The files that set up a project with `detected` and IDs `<prefix>-NNNN`.
pub fn plan(detected: &Detected, prefix: &str) -> Result<Vec<InitFile>, String> {
    let pattern = id_pattern(prefix)?;
    Ok(vec![
        InitFile {
            path: crate::config::CONFIG_FILE,
            content: config_text(detected, &pattern),
        },
        InitFile {
            path: SPEC_FILE,
            content: spec_text(prefix),
        },
    ])
}

fn toml_list(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|item| format!("\"{}\"", item.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("[{}]", quoted.join(", "))
}

fn config_text(detected: &Detected, pattern: &str) -> String {
    let rust: Vec<String> = if detected.cargo {
        vec!["**/*.rs".to_owned()]
    } else {
        Vec::new()
    };
    let features: Vec<String> = if detected.features {
        vec!["features/**/*.feature".to_owned()]
    } else {
        Vec::new()
    };
    let junit: Vec<String> = detected
        .junit_dirs
        .iter()
        .map(|dir| {
            if dir.is_empty() {
                "*.xml".to_owned()
            } else {
                format!("{dir}/*.xml")
            }
        })
        .collect();
    let verify = if detected.cargo {
        "# With no suites, `spectrace verify` runs `cargo test --workspace --no-fail-fast`. List\n\
         # suites to run more (each with SPECTRACE_EVIDENCE_DIR set), for example:\n\
         # suites = [\n\
         #   { name = \"rust\", command = [\"cargo\", \"test\", \"--workspace\", \"--no-fail-fast\"] },\n\
         #   { name = \"python\", command = [\"python3\", \"-m\", \"pytest\", \"--junitxml=reports/run/pytest.xml\"] },\n\
         # ]\n"
    } else {
        "# The commands `spectrace verify` runs, in order, each with SPECTRACE_EVIDENCE_DIR set.\n\
         # A runner that writes JUnit XML can write it into the run directory, e.g.:\n\
         # suites = [\n\
         #   { name = \"python\", command = [\"python3\", \"-m\", \"pytest\", \"--junitxml=reports/run/pytest.xml\"] },\n\
         # ]\n\
         # and list that report under [evidence] junit.\n"
    };
    format!(
        "# spectrace configuration, written by `spectrace init`. Every key has a default; paths and\n\
         # globs are relative to this file's directory.\n\
         \n\
         [specs]\n\
         # The spec files: Markdown, one requirement per list item, e.g.\n\
         # `- The limiter MUST refuse a request over the limit. [{example}]`\n\
         include = [\".specs/**/*.md\"]\n\
         # One whole requirement ID.\n\
         id_pattern = \"{pattern}\"\n\
         \n\
         [evidence]\n\
         # Rust tests with #[spectrace::covers(\"ID\")] (and items with #[spectrace::implements]).\n\
         rust = {rust}\n\
         # Gherkin features; a scenario's @ID tags name its requirements.\n\
         features = {features}\n\
         # OpenAPI documents; `x-req-id` links an operation or schema to requirements.\n\
         openapi = {openapi}\n\
         # JUnit XML reports of any test runner; a test case names requirements with a\n\
         # `requirement` property or `[ID]` in its name.\n\
         junit = {junit}\n\
         exclude = [\"**/target/**\", \"**/node_modules/**\"]\n\
         \n\
         [verify]\n\
         {verify}\
         \n\
         [gate]\n\
         # What `spectrace check` demands per level: \"verified\", \"covered\" or \"none\".\n\
         must = \"verified\"\n\
         should = \"verified\"\n\
         may = \"none\"\n\
         \n\
         [outputs]\n\
         # Evidence of the last run (not committed; add it to .gitignore).\n\
         run_dir = \"reports/run\"\n\
         compliance_md = \"COMPLIANCE.md\"\n\
         compliance_json = \"reports/compliance.json\"\n",
        example = pattern.replace("[0-9]{4}", "0001"),
        rust = toml_list(&rust),
        features = toml_list(&features),
        openapi = toml_list(&detected.openapi),
        junit = toml_list(&junit),
    )
}

fn spec_text(prefix: &str) -> String {
    format!(
        "# Requirements\n\
         \n\
         The requirements of this project. Each is one list item holding an RFC 2119 keyword\n\
         (MUST, SHOULD, MAY) and its ID in brackets; `spectrace` links it to the tests that\n\
         prove it. Take the next free number for a new one, and never reuse a removed ID.\n\
         \n\
         ## 1 Example\n\
         \n\
         - **Replace this.** The project MUST do one thing that a test can check. [{prefix}-0001]\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(root: &Path, relative: &str, text: &str) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn detects_cargo_features_openapi_and_junit_but_never_under_target() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        touch(root, "Cargo.toml", "[workspace]\n");
        touch(root, "features/a/q.feature", "Feature: Q\n");
        touch(
            root,
            "api/openapi.yaml",
            "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n",
        );
        touch(root, "api/schema.json", "{\"openapi\": \"3.1.0\"}");
        touch(root, "api/other.yaml", "name: not an API\n");
        touch(root, "api/broken.yaml", ": : :\n");
        touch(root, "target/api.yaml", "openapi: 3.0.3\n");
        touch(
            root,
            "build/results/TEST-a.xml",
            "<?xml version=\"1.0\"?>\n<!-- x -->\n<testsuite name=\"a\"/>\n",
        );
        touch(root, "reports/run/junit.xml", "<testsuites></testsuites>");
        touch(root, "pom.xml", "<project/>");
        touch(root, "node_modules/x/junit.xml", "<testsuites/>");
        assert_eq!(
            detect(root).unwrap(),
            Detected {
                cargo: true,
                features: true,
                openapi: vec!["api/openapi.yaml".into(), "api/schema.json".into()],
                junit_dirs: vec!["build/results".into(), "reports/run".into()],
            }
        );
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(detect(empty.path()).unwrap(), Detected::default());
    }

    #[test]
    fn prefixes_become_patterns_or_errors() {
        assert_eq!(id_pattern("REQ").unwrap(), "REQ-[0-9]{4}");
        assert_eq!(id_pattern("OC-ADAPT").unwrap(), "OC-ADAPT-[0-9]{4}");
        for bad in ["", "req", "1A", "REQ-", "RE Q", "REQ_X"] {
            assert!(id_pattern(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_plan_is_a_valid_config_and_a_spec_whose_requirement_matches_it() {
        let detected = Detected {
            cargo: true,
            features: false,
            openapi: vec!["api/openapi.yaml".into()],
            junit_dirs: vec![String::new(), "reports/run".into()],
        };
        let files = plan(&detected, "LIM").unwrap();
        assert_eq!(files[0].path, "spectrace.toml");
        let config = crate::config::Config::parse("spectrace.toml", &files[0].content).unwrap();
        assert_eq!(config.specs.id_pattern, "LIM-[0-9]{4}");
        assert_eq!(config.evidence.rust, ["**/*.rs"]);
        assert!(config.evidence.features.is_empty());
        assert_eq!(config.evidence.openapi, ["api/openapi.yaml"]);
        assert_eq!(config.evidence.junit, ["*.xml", "reports/run/*.xml"]);
        assert!(config.verify.suites.is_empty());
        let ids = crate::id::IdPattern::new(&config.specs.id_pattern).unwrap();
        let parsed = crate::extract::parse_spec(SPEC_FILE, &files[1].content, &ids);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        assert_eq!(parsed.requirements.len(), 1);
        assert_eq!(parsed.requirements[0].id, "LIM-0001");
        assert_eq!(parsed.requirements[0].level, crate::level::Level::Must);
        assert_eq!(plan(&detected, "LIM").unwrap(), files, "deterministic");
        let plain = plan(&Detected::default(), "REQ").unwrap();
        let config = crate::config::Config::parse("spectrace.toml", &plain[0].content).unwrap();
        assert!(config.evidence.rust.is_empty());
        assert!(
            plain[0]
                .content
                .contains("and list that report under [evidence] junit")
        );
    }
}
