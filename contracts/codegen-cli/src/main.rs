//! `contracts-codegen`: generates code and schemas from the contracts, or checks that the
//! committed ones are current.
//!
//! ```text
//! contracts-codegen openapi [--root DIR] [--check]   contracts/openapi/*.yaml → api-types, client
//! contracts-codegen schema  [--root DIR] [--check]   orchestrator-config types → config.schema.json
//! ```
//!
//! Run through `cargo xtask regen-openapi` / `regen-schema`; `cargo xtask ci` runs both with
//! `--check`, which writes nothing and exits 1 with a diff naming each stale file.
//! Exit codes: 0 ok, 1 a generated file is stale (check mode), 2 bad input.

// A command line tool: the diff of a stale file goes to stdout.
#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use contracts_codegen::{GeneratedFile, openapi_outputs, schema_outputs};
use spectrace_core::generated::{Emitted, emit};

const USAGE: &str = "usage: contracts-codegen <openapi|schema> [--root DIR] [--check]\n";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(what) = args.next() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let mut root = PathBuf::from(".");
    let mut check = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--check" => check = true,
            "--root" => match args.next() {
                Some(dir) => root = PathBuf::from(dir),
                None => {
                    eprint!("contracts-codegen: --root needs a directory\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                print!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprint!("contracts-codegen: unknown argument `{other}`\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let outputs = match what.as_str() {
        "openapi" => openapi_outputs(&root),
        "schema" => Ok(schema_outputs()),
        "-h" | "--help" => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => {
            eprint!("contracts-codegen: unknown command `{other}`\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match outputs {
        Ok(files) => write_all(&root, &files, check),
        Err(message) => {
            eprintln!("contracts-codegen: error: {message}");
            ExitCode::from(2)
        }
    }
}

fn write_all(root: &Path, files: &[GeneratedFile], check: bool) -> ExitCode {
    let mut stale = false;
    for file in files {
        match emit(&root.join(&file.path), &file.path, &file.content, check) {
            Ok(Emitted::Written) => eprintln!("contracts-codegen: {} (written)", file.path),
            Ok(Emitted::Unchanged) => eprintln!("contracts-codegen: {} (unchanged)", file.path),
            Ok(Emitted::Stale(diff)) => {
                print!("{diff}");
                eprintln!(
                    "contracts-codegen: {} is stale; run `cargo xtask regen` and commit it",
                    file.path
                );
                stale = true;
            }
            Ok(Emitted::Missing) => {
                eprintln!(
                    "contracts-codegen: {} does not exist; run `cargo xtask regen` and commit it",
                    file.path
                );
                stale = true;
            }
            Err(e) => {
                eprintln!("contracts-codegen: error: cannot write {}: {e}", file.path);
                return ExitCode::from(2);
            }
        }
    }
    if stale {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
