//! The human view of a [`Scan`]: a one-line summary and a listing with one line per declared
//! test and link, `file:line` first so that editors and terminals can jump to it.

use std::fmt::Write;

use super::{Scan, ScanOutput};

impl ScanOutput {
    /// One line: evidence per kind, contract links, implementation links, files read.
    /// `12 declared tests (test 9, property 2, bdd 1), 20 contract links, 0 implementation
    /// links in 31 files`.
    pub fn summary(&self) -> String {
        let scan = &self.scan;
        let kinds: Vec<String> = scan
            .evidence_by_kind()
            .iter()
            .map(|(kind, n)| format!("{} {n}", kind.as_str()))
            .collect();
        let by_kind = if kinds.is_empty() {
            String::new()
        } else {
            format!(" ({})", kinds.join(", "))
        };
        format!(
            "{}{by_kind}, {}, {} in {}",
            count(scan.evidence.len(), "declared test"),
            count(scan.contracts.len(), "contract link"),
            count(scan.implementations.len(), "implementation link"),
            count(self.files, "file"),
        )
    }
}

impl Scan {
    /// Three sections (declared evidence, contract links, implementation links), one line per
    /// entry, columns aligned; ends with a newline.
    pub fn listing(&self) -> String {
        let mut out = String::new();
        section(
            &mut out,
            "declared evidence",
            self.evidence.iter().map(|e| {
                [
                    format!("{}:{}", e.file, e.line),
                    e.kind.as_str().to_owned(),
                    ids(&e.ids),
                    e.test.clone(),
                ]
            }),
        );
        section(
            &mut out,
            "contract links",
            self.contracts.iter().map(|c| {
                [
                    format!("{}:{}", c.file, c.line),
                    c.id.clone(),
                    if c.pointer.is_empty() {
                        "(document)".to_owned()
                    } else {
                        c.pointer.clone()
                    },
                    String::new(),
                ]
            }),
        );
        section(
            &mut out,
            "implementation links",
            self.implementations.iter().map(|i| {
                [
                    format!("{}:{}", i.file, i.line),
                    i.id.clone(),
                    i.item.clone(),
                    String::new(),
                ]
            }),
        );
        out
    }
}

fn section(out: &mut String, title: &str, rows: impl Iterator<Item = [String; 4]>) {
    let rows: Vec<[String; 4]> = rows.collect();
    let _ = writeln!(out, "{title} ({}):", rows.len());
    let mut widths = [0usize; 3];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in &rows {
        let mut line = String::from(" ");
        for (i, cell) in row.iter().enumerate() {
            if cell.is_empty() && i > 0 {
                continue;
            }
            line.push(' ');
            line.push_str(cell);
            if let Some(width) = widths.get(i) {
                let pad = width.saturating_sub(cell.chars().count());
                line.extend(std::iter::repeat_n(' ', pad + 1));
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

fn ids(ids: &[String]) -> String {
    if ids.is_empty() {
        "-".to_owned()
    } else {
        ids.join(",")
    }
}

fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::super::{ContractLink, DeclaredEvidence, ImplementationLink};
    use super::*;
    use crate::evidence::EvidenceKind;

    fn output() -> ScanOutput {
        ScanOutput {
            scan: Scan {
                evidence: vec![
                    DeclaredEvidence {
                        ids: vec!["REQ-001".into(), "REQ-002".into()],
                        test: "core::queue::tests::bounded".into(),
                        file: "src/queue.rs".into(),
                        line: 40,
                        end_line: 40,
                        kind: EvidenceKind::Property,
                    },
                    DeclaredEvidence {
                        ids: Vec::new(),
                        test: "Queue: Untraced".into(),
                        file: "features/queue.feature".into(),
                        line: 7,
                        end_line: 7,
                        kind: EvidenceKind::Bdd,
                    },
                ],
                contracts: vec![ContractLink {
                    id: "REQ-003".into(),
                    file: "api.yaml".into(),
                    line: 9,
                    pointer: "/paths/~1v1~1tasks/post".into(),
                }],
                implementations: vec![ImplementationLink {
                    id: "REQ-001".into(),
                    item: "impl Queue".into(),
                    file: "src/queue.rs".into(),
                    line: 3,
                    end_line: 3,
                }],
            },
            warnings: Vec::new(),
            files: 3,
        }
    }

    #[test]
    fn summary_counts_per_kind() {
        assert_eq!(
            output().summary(),
            "2 declared tests (property 1, bdd 1), 1 contract link, 1 implementation link in 3 files"
        );
        let empty = ScanOutput {
            scan: Scan::default(),
            warnings: Vec::new(),
            files: 1,
        };
        assert_eq!(
            empty.summary(),
            "0 declared tests, 0 contract links, 0 implementation links in 1 file"
        );
    }

    #[test]
    fn listing_aligns_columns() {
        assert_eq!(
            output().scan.listing(),
            "\
declared evidence (2):
  src/queue.rs:40           property  REQ-001,REQ-002  core::queue::tests::bounded
  features/queue.feature:7  bdd       -                Queue: Untraced
contract links (1):
  api.yaml:9  REQ-003  /paths/~1v1~1tasks/post
implementation links (1):
  src/queue.rs:3  REQ-001  impl Queue
"
        );
    }
}
