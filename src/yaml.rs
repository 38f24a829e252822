//! YAML, behind one module: every part of u7s (and its tests) reads and
//! writes YAML through these names and never names the crate.
//!
//! serde_yaml is no longer maintained (its last release is marked
//! deprecated). Moving to a maintained fork with the same API (serde_yml,
//! serde_norway, ...) is the one line below that names the crate, plus its
//! line in Cargo.toml.

pub use serde_yaml as backend;

pub use backend::{from_slice, from_str, from_value, to_string, to_value, Deserializer, Error};
pub use backend::{Mapping, Number, Sequence, Value};

/// Documents as one YAML stream, each starting with `---`.
pub fn documents_to_string(docs: &[Value]) -> anyhow::Result<String> {
    let mut out = String::new();
    for doc in docs {
        out.push_str("---\n");
        out.push_str(&to_string(doc)?);
    }
    Ok(out)
}

/// A multi-document YAML stream; empty documents (a stray `---`) are dropped.
pub fn parse_documents(text: &str) -> anyhow::Result<Vec<Value>> {
    use serde::Deserialize;
    let mut docs = Vec::new();
    for de in Deserializer::from_str(text) {
        let doc = Value::deserialize(de)?;
        if !doc.is_null() {
            docs.push(doc);
        }
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_round_trip_without_empty_documents() {
        let docs = parse_documents("---\na: 1\n---\n---\nb: [x]\n").unwrap();
        assert_eq!(docs.len(), 2);
        let text = documents_to_string(&docs).unwrap();
        assert_eq!(text, "---\na: 1\n---\nb:\n- x\n");
        assert_eq!(parse_documents(&text).unwrap(), docs);
    }
}
