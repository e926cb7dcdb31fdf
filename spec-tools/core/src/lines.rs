//! Byte offsets → 1-based line numbers, for every parser that reports `file:line` (Markdown,
//! Rust, Gherkin, OpenAPI, JUnit XML): they all see offsets, people read lines.

/// Where each line of one text starts.
#[derive(Debug, Clone)]
pub struct LineIndex {
    /// Byte offset where each line starts.
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> Self {
        let newlines = text.match_indices('\n').map(|(i, _)| i + 1);
        Self {
            starts: std::iter::once(0).chain(newlines).collect(),
        }
    }

    /// The 1-based line holding byte `offset` (the last line for offsets past the end).
    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset)
    }

    /// [`LineIndex::line`] as the `u32` that evidence keys carry.
    pub fn line_u32(&self, offset: usize) -> u32 {
        u32::try_from(self.line(offset)).unwrap_or(u32::MAX)
    }

    /// The text of 1-based `line` without its line break (empty past the end).
    pub fn text<'s>(&self, source: &'s str, line: usize) -> &'s str {
        let Some(&start) = line.checked_sub(1).and_then(|i| self.starts.get(i)) else {
            return "";
        };
        let end = self.starts.get(line).map_or(source.len(), |&next| next);
        source
            .get(start..end)
            .unwrap_or("")
            .trim_end_matches(['\n', '\r'])
    }

    /// How many lines the text has (a final line break does not start another).
    pub fn len(&self, source: &str) -> usize {
        if source.ends_with('\n') {
            self.starts.len() - 1
        } else {
            self.starts.len()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_lines_and_lines_to_text() {
        let source = "one\ntwo\r\n\nfour";
        let lines = LineIndex::new(source);
        assert_eq!(lines.line(0), 1);
        assert_eq!(lines.line(3), 1);
        assert_eq!(lines.line(4), 2);
        assert_eq!(lines.line(9), 3);
        assert_eq!(lines.line(10), 4);
        assert_eq!(lines.line(999), 4);
        assert_eq!(lines.text(source, 2), "two");
        assert_eq!(lines.text(source, 3), "");
        assert_eq!(lines.text(source, 4), "four");
        assert_eq!(lines.text(source, 0), "");
        assert_eq!(lines.text(source, 5), "");
        assert_eq!(lines.len(source), 4);
        assert_eq!(LineIndex::new("a\n").len("a\n"), 1);
        assert_eq!(LineIndex::new("").len(""), 1);
    }
}
