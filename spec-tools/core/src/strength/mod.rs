//! Evidence strength: how much of what implements a requirement its own evidence notices when
//! it breaks. Mutants come from cargo-mutants ([`mutants`]); [`plan`] decides, per requirement,
//! which mutants lie in its `#[implements]` items and how its evidence runs; [`model`] is
//! `reports/strength.json`. Strength = caught / (caught + missed), unviable mutants and waived
//! survivors left out. Running the mutants is the command's job (`spectrace strength`).

pub mod model;
pub mod mutants;
pub mod plan;
pub mod waivers;
