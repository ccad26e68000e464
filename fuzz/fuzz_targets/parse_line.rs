//! Any bytes, as a line of every kind of file: `parse_line` must not panic, and whatever it
//! accepts every encoder must turn into one valid JSON object, on one line, without duplicate keys.

#![no_main]

use std::fmt;

use fleetwatch_alb::encode::Format;
use fleetwatch_alb::{LogKind, parse_line};
use libfuzzer_sys::fuzz_target;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

const KINDS: [LogKind; 7] = [
    LogKind::Access,
    LogKind::Connection,
    LogKind::NlbTls,
    LogKind::Classic,
    LogKind::HealthCheck,
    LogKind::TestFile,
    LogKind::Unknown,
];

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    for kind in KINDS {
        let Ok(record) = parse_line(kind, data) else {
            continue;
        };
        for format in Format::ALL {
            out.clear();
            format.encode(&record, &mut out);
            if let Err(err) = serde_json::from_slice::<serde_json::Value>(&out) {
                panic!(
                    "{kind:?} line, {format} encoder: invalid JSON ({err}):\n{}",
                    String::from_utf8_lossy(&out)
                );
            }
            // NDJSON: the object must not span lines.
            assert!(
                !out.contains(&b'\n'),
                "{kind:?} line, {format} encoder: raw newline in the output:\n{}",
                String::from_utf8_lossy(&out)
            );
            if let Err(err) = serde_json::from_slice::<NoDuplicateKeys>(&out) {
                panic!(
                    "{kind:?} line, {format} encoder: {err}:\n{}",
                    String::from_utf8_lossy(&out)
                );
            }
        }
    }
});

/// Deserializes any JSON, failing on an object with the same key twice (serde_json::Value would
/// silently keep the last one, and so would most search engines).
struct NoDuplicateKeys;

impl<'de> Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDuplicateKeysVisitor)
    }
}

struct NoDuplicateKeysVisitor;

impl<'de> Visitor<'de> for NoDuplicateKeysVisitor {
    type Value = NoDuplicateKeys;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<NoDuplicateKeys, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<NoDuplicateKeys, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<NoDuplicateKeys, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<NoDuplicateKeys, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<NoDuplicateKeys, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_unit<E>(self) -> Result<NoDuplicateKeys, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NoDuplicateKeys, A::Error> {
        while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(NoDuplicateKeys)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NoDuplicateKeys, A::Error> {
        let mut keys = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !keys.insert(key.clone()) {
                return Err(de::Error::custom(format!("duplicate key `{key}`")));
            }
            map.next_value::<NoDuplicateKeys>()?;
        }
        Ok(NoDuplicateKeys)
    }
}
