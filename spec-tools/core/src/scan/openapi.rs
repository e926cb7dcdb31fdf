//! One OpenAPI document (YAML) → a [`ContractLink`] per ID of every `x-req-id`, parsed with
//! `serde-saphyr`.
//!
//! Owns the contract rules of the scan: `x-req-id` may appear on any object of the document
//! (operations, responses, schemas, ...) and holds one ID or a list of IDs. Each link names
//! the RFC 6901 JSON pointer of the object that carries the key (`/paths/~1v1~1tasks/post`)
//! and the line of the `x-req-id` key. The document is walked while it is deserialized, with
//! `serde_saphyr::Spanned` giving lines, so no tree of the document is built. Duplicate keys
//! are errors (serde-saphyr's default), as in every YAML file spectrace reads.

use std::cell::RefCell;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use super::ids::{IdRules, sort_ids};
use super::{ContractLink, FileScan};
use crate::diag::Diagnostic;

/// The extension key that links a contract location to requirements.
pub(crate) const KEY: &str = "x-req-id";

/// Scans one OpenAPI document.
pub(crate) fn scan_openapi(file: &str, source: &str, rules: &IdRules<'_>) -> FileScan {
    let mut out = FileScan::default();
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    let found = match serde_saphyr::from_str_with_options::<Collected>(source, options) {
        Ok(collected) => collected.0,
        Err(e) => {
            out.diagnostics.push(Diagnostic::yaml(file, "YAML", &e));
            return out;
        }
    };
    for raw in found {
        let mut ids = Vec::new();
        match raw.value {
            IdValue::One(id) => ids.push((id, raw.line)),
            IdValue::List(items) if items.is_empty() => out.diagnostics.push(Diagnostic::error(
                file,
                Some(raw.line as usize),
                format!("{KEY} is an empty list; expected a requirement ID or a list of them"),
            )),
            IdValue::List(items) => {
                for item in items {
                    let line = line_of(&item, raw.line);
                    match item.value {
                        IdItem::Id(id) => ids.push((id, line)),
                        IdItem::Other(what) => out.diagnostics.push(Diagnostic::error(
                            file,
                            Some(line as usize),
                            format!("{KEY} lists {what}; expected requirement IDs"),
                        )),
                    }
                }
            }
            IdValue::Other(what) => out.diagnostics.push(Diagnostic::error(
                file,
                Some(raw.line as usize),
                format!("{KEY} is {what}; expected a requirement ID or a list of them"),
            )),
        }
        for (id, line) in &ids {
            if let Some(error) = rules.check(id, file, *line) {
                out.diagnostics.push(error);
            }
        }
        let mut ids: Vec<String> = ids.into_iter().map(|(id, _)| id).collect();
        sort_ids(&mut ids);
        out.contracts.extend(ids.into_iter().map(|id| ContractLink {
            id,
            file: file.to_owned(),
            line: raw.line,
            pointer: raw.pointer.clone(),
        }));
    }
    out
}

/// The line of a located value; `fallback` when it has no location.
fn line_of<T>(spanned: &Spanned<T>, fallback: u32) -> u32 {
    match spanned.referenced.line() {
        0 => fallback,
        line => u32::try_from(line).unwrap_or(u32::MAX),
    }
}

/// One `x-req-id` as found.
#[derive(Debug)]
struct Raw {
    /// JSON pointer of the object holding the key.
    pointer: String,
    /// Line of the key (of the value when the key has no location).
    line: u32,
    value: IdValue,
}

/// Every `x-req-id` of a document, in document order.
struct Collected(Vec<Raw>);

impl<'de> Deserialize<'de> for Collected {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let sink = RefCell::new(Vec::new());
        Node {
            pointer: String::new(),
            sink: &sink,
        }
        .deserialize(deserializer)?;
        Ok(Self(sink.into_inner()))
    }
}

/// Walks one node of the document; `pointer` is its JSON pointer.
struct Node<'s> {
    pointer: String,
    sink: &'s RefCell<Vec<Raw>>,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Spanned<Key>>()? {
            if key.value.0 == KEY {
                let value: Spanned<IdValue> = map.next_value()?;
                let line = match key.referenced.line() {
                    0 => line_of(&value, 0),
                    line => u32::try_from(line).unwrap_or(u32::MAX),
                };
                self.sink.borrow_mut().push(Raw {
                    pointer: self.pointer.clone(),
                    line,
                    value: value.value,
                });
            } else {
                let mut pointer = self.pointer.clone();
                pointer.push('/');
                pointer.push_str(&key.value.0.replace('~', "~0").replace('/', "~1"));
                map.next_value_seed(Node {
                    pointer,
                    sink: self.sink,
                })?;
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        loop {
            let node = Node {
                pointer: format!("{}/{index}", self.pointer),
                sink: self.sink,
            };
            if seq.next_element_seed(node)?.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_i128<E: de::Error>(self, _: i128) -> Result<(), E> {
        Ok(())
    }

    fn visit_u128<E: de::Error>(self, _: u128) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// A mapping key as JSON-pointer text: strings as they are, numbers and booleans as written
/// in canonical form (`200:` → `200`).
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scalar mapping key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(Key(v.to_owned()))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Key, E> {
        Ok(Key(v.to_string()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Key, E> {
        Ok(Key("null".to_owned()))
    }

    fn visit_none<E: de::Error>(self) -> Result<Key, E> {
        Ok(Key("null".to_owned()))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// The value of an `x-req-id`.
#[derive(Debug)]
enum IdValue {
    /// `x-req-id: ORCH-2001`.
    One(String),
    /// `x-req-id: [ORCH-2001, ORCH-2002]`, each item with its location.
    List(Vec<Spanned<IdItem>>),
    /// Anything else, described for the error.
    Other(&'static str),
}

impl<'de> Deserialize<'de> for IdValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(IdValueVisitor)
    }
}

struct IdValueVisitor;

impl<'de> Visitor<'de> for IdValueVisitor {
    type Value = IdValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a requirement ID or a list of them")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<IdValue, E> {
        Ok(IdValue::One(v.to_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<IdValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<IdItem>>()? {
            items.push(item);
        }
        Ok(IdValue::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<IdValue, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(IdValue::Other("a mapping"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<IdValue, E> {
        Ok(IdValue::Other("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<IdValue, E> {
        Ok(IdValue::Other("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<IdValue, E> {
        Ok(IdValue::Other("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<IdValue, E> {
        Ok(IdValue::Other("a number"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<IdValue, E> {
        Ok(IdValue::Other("empty"))
    }

    fn visit_none<E: de::Error>(self) -> Result<IdValue, E> {
        Ok(IdValue::Other("empty"))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<IdValue, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// One item of an `x-req-id` list.
#[derive(Debug)]
enum IdItem {
    Id(String),
    Other(&'static str),
}

impl<'de> Deserialize<'de> for IdItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match IdValue::deserialize(deserializer)? {
            IdValue::One(id) => Ok(Self::Id(id)),
            IdValue::List(_) => Ok(Self::Other("a list")),
            IdValue::Other(what) => Ok(Self::Other(what)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::ids::with_fixture_rules;

    fn scan(source: &str) -> FileScan {
        with_fixture_rules(|rules| scan_openapi("contracts/api.yaml", source, rules))
    }

    fn messages(scan: &FileScan) -> Vec<String> {
        let mut sorted = scan.diagnostics.clone();
        sorted.sort();
        sorted.iter().map(ToString::to_string).collect()
    }

    fn links(scan: &FileScan) -> Vec<(&str, u32, &str)> {
        scan.contracts
            .iter()
            .map(|c| (c.id.as_str(), c.line, c.pointer.as_str()))
            .collect()
    }

    const DOCUMENT: &str = "\
openapi: 3.0.3
x-req-id: REQ-009
paths:
  /v1/tasks:
    post:
      operationId: enqueue
      x-req-id: [REQ-002, REQ-001]
      responses:
        202:
          description: accepted
          x-req-id:
            - REQ-003
            - REQ-002
  /v1/a~b:
    get:
      x-req-id: REQ-004
components:
  schemas:
    Task:
      allOf:
        - x-req-id: REQ-005
          type: object
";

    #[test]
    fn strings_and_lists_give_links_with_pointer_and_key_line() {
        let out = scan(DOCUMENT);
        assert_eq!(messages(&out), Vec::<String>::new());
        assert_eq!(
            links(&out),
            [
                ("REQ-009", 2, ""),
                ("REQ-001", 7, "/paths/~1v1~1tasks/post"),
                ("REQ-002", 7, "/paths/~1v1~1tasks/post"),
                ("REQ-002", 11, "/paths/~1v1~1tasks/post/responses/202"),
                ("REQ-003", 11, "/paths/~1v1~1tasks/post/responses/202"),
                ("REQ-004", 16, "/paths/~1v1~1a~0b/get"),
                ("REQ-005", 21, "/components/schemas/Task/allOf/0"),
            ]
        );
    }

    #[test]
    fn bad_values_and_ids_are_errors_at_their_line() {
        let source = "\
paths:
  /a:
    get:
      x-req-id:
        - REQ-001
        - REQ-999
        - req-1
        - 42
    put:
      x-req-id: {a: b}
    post:
      x-req-id:
    patch:
      x-req-id: []
";
        let out = scan(source);
        assert_eq!(
            messages(&out),
            [
                "contracts/api.yaml:6: error: unknown requirement ID REQ-999: no spec defines it",
                "contracts/api.yaml:7: error: malformed requirement ID `req-1`: it does not match the ID pattern `REQ-[0-9]{3}`",
                "contracts/api.yaml:8: error: x-req-id lists a number; expected requirement IDs",
                "contracts/api.yaml:10: error: x-req-id is a mapping; expected a requirement ID or a list of them",
                "contracts/api.yaml:12: error: x-req-id is empty; expected a requirement ID or a list of them",
                "contracts/api.yaml:14: error: x-req-id is an empty list; expected a requirement ID or a list of them",
            ]
        );
    }

    #[test]
    fn invalid_yaml_and_duplicate_keys_are_errors_with_a_line() {
        let out = scan("a: 1\nb: [1, 2\nc: 3\n");
        let m = messages(&out);
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(m[0].starts_with("contracts/api.yaml:"), "{m:?}");
        assert!(m[0].contains("error: cannot parse YAML: "), "{m:?}");
        let out = scan("a: 1\nb: 2\na: 3\n");
        let m = messages(&out);
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(
            m[0].starts_with("contracts/api.yaml:3: error: cannot parse YAML"),
            "{m:?}"
        );
    }

    #[test]
    fn empty_documents_have_no_links() {
        assert!(links(&scan("")).is_empty());
        assert!(scan("").diagnostics.is_empty());
    }
}
