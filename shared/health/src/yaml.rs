//! Serde building blocks that keep YAML positions in errors, and [`locate`] for the checks that
//! can only run after the whole file is read.
//!
//! The approach is the routing crate's: `serde_yaml_ng` attaches the line and column of the node
//! being read to any error raised *inside* that node's `deserialize_*` call, so every check of a
//! single value runs in its visitor. A check across values (unique names, an interval against
//! the schedule) knows the node's [`ConfigPath`]; [`locate`] walks the text again with a visitor
//! that fails on purpose at that node, and the error `serde_yaml_ng` returns holds its position.

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::marker::PhantomData;

/// `Deserialize` for a type parsed from one scalar's text by `fn(&str) -> Result<T, String>`:
/// the parse error is raised at the scalar's position. Numbers and booleans are read as their
/// text (YAML makes `200` a number).
macro_rules! deserialize_from_text {
    ($type:ty, $expecting:expr, $parse:expr) => {
        impl<'de> ::serde::Deserialize<'de> for $type {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Self, D::Error> {
                deserializer.deserialize_any($crate::yaml::TextVisitor::new($expecting, $parse))
            }
        }
    };
}
pub(crate) use deserialize_from_text;

/// The visitor behind [`deserialize_from_text`].
pub(crate) struct TextVisitor<T> {
    expecting: &'static str,
    parse: fn(&str) -> Result<T, String>,
}

impl<T> TextVisitor<T> {
    pub(crate) fn new(expecting: &'static str, parse: fn(&str) -> Result<T, String>) -> Self {
        TextVisitor { expecting, parse }
    }
}

impl<'de, T> Visitor<'de> for TextVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        (self.parse)(text).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, number: u64) -> Result<T, E> {
        self.visit_str(&number.to_string())
    }

    fn visit_i64<E: de::Error>(self, number: i64) -> Result<T, E> {
        self.visit_str(&number.to_string())
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<T, E> {
        self.visit_str(if value { "true" } else { "false" })
    }
}

/// A mapping read in document order that rejects a repeated key at the repeated key's position
/// (a `BTreeMap` would silently keep the last of two `Authorization:` headers). Keys are
/// checked by `K::check_key`.
#[derive(Debug, Clone)]
pub(crate) struct UniqueMap<K, V>(pub(crate) Vec<(String, V)>, PhantomData<K>);

impl<K, V> Default for UniqueMap<K, V> {
    fn default() -> Self {
        UniqueMap(Vec::new(), PhantomData)
    }
}

/// What a key of a [`UniqueMap`] must look like.
pub(crate) trait KeyRule {
    fn check_key(key: &str) -> Result<(), String>;
}

impl<'de, K: KeyRule, V: Deserialize<'de>> Deserialize<'de> for UniqueMap<K, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(UniqueMapVisitor(PhantomData))
    }
}

struct UniqueMapVisitor<K, V>(PhantomData<(K, V)>);

impl<'de, K: KeyRule, V: Deserialize<'de>> Visitor<'de> for UniqueMapVisitor<K, V> {
    type Value = UniqueMap<K, V>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries: Vec<(String, V)> = Vec::new();
        while let Some(key) = map.next_key_seed(NewKey::<K, V> {
            seen: &entries,
            rule: PhantomData,
        })? {
            let value = map.next_value::<V>()?;
            entries.push((key, value));
        }
        Ok(UniqueMap(entries, PhantomData))
    }
}

struct NewKey<'s, K, V> {
    seen: &'s [(String, V)],
    rule: PhantomData<K>,
}

impl<'de, K: KeyRule, V> DeserializeSeed<'de> for NewKey<'_, K, V> {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, K: KeyRule, V> Visitor<'de> for NewKey<'_, K, V> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<String, E> {
        // Header names are case-insensitive on the wire, so `accept` repeats `Accept`.
        if self
            .seen
            .iter()
            .any(|(seen, _)| seen.eq_ignore_ascii_case(key))
        {
            return Err(E::custom(format!(
                "duplicate key `{key}`: each name may appear only once here"
            )));
        }
        K::check_key(key).map_err(E::custom)?;
        Ok(key.to_owned())
    }
}

/// A step from the document root to a node.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// A path such as `checks[1].conditions[0]`: shown in messages and used to find the line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ConfigPath(Vec<Segment>);

impl ConfigPath {
    pub(crate) fn key(&self, key: &str) -> Self {
        self.with(Segment::Key(key.to_owned()))
    }

    pub(crate) fn index(&self, index: usize) -> Self {
        self.with(Segment::Index(index))
    }

    fn with(&self, segment: Segment) -> Self {
        let mut segments = self.0.clone();
        segments.push(segment);
        ConfigPath(segments)
    }
}

impl fmt::Display for ConfigPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if i == 0 => f.write_str(key)?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// The 1-based line and column where the node at `path` starts; `None` when there is no such
/// node (a default that was not written).
pub(crate) fn locate(source: &str, path: &ConfigPath) -> Option<(usize, usize)> {
    let deserializer = serde_yaml_ng::Deserializer::from_str(source);
    let error = Seek(&path.0).deserialize(deserializer).err()?;
    let location = error.location()?;
    error
        .to_string()
        .contains(FOUND)
        .then(|| (location.line(), location.column()))
}

/// Marks the deliberate error; any other error means the path was not found.
const FOUND: &str = "<<fleetwatch-health: node found>>";

struct Seek<'p>(&'p [Segment]);

impl<'de> DeserializeSeed<'de> for Seek<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Seek<'_> {
    /// A scalar ends the walk: found when the path ends here.
    fn scalar<E: de::Error>(&self) -> Result<(), E> {
        if self.0.is_empty() {
            Err(E::custom(FOUND))
        } else {
            Ok(())
        }
    }
}

impl<'de> Visitor<'de> for Seek<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A kind of node this visitor does not implement fails with "expected <this>": found.
        f.write_str(FOUND)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.scalar()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.scalar()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.scalar()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.scalar()
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((first, rest)) = self.0.split_first() else {
            return Err(de::Error::custom(FOUND));
        };
        while let Some(key) = map.next_key::<String>()? {
            if matches!(first, Segment::Key(wanted) if *wanted == key) {
                return map.next_value_seed(Seek(rest));
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((first, rest)) = self.0.split_first() else {
            return Err(de::Error::custom(FOUND));
        };
        let Segment::Index(wanted) = first else {
            return Ok(());
        };
        for _ in 0..*wanted {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
        }
        seq.next_element_seed(Seek(rest))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "\
checks:
  - name: api
    headers: { Accept: text/plain }
  - name: jenkins
    conditions:
      - queue_items_under: 20
";

    #[test]
    fn finds_keys_values_and_items() {
        let checks = ConfigPath::default().key("checks");
        assert_eq!(locate(SOURCE, &checks.index(1).key("name")), Some((4, 11)));
        assert_eq!(
            locate(SOURCE, &checks.index(0).key("headers").key("Accept")),
            Some((3, 24))
        );
        assert_eq!(
            locate(SOURCE, &checks.index(1).key("conditions").index(0)),
            Some((6, 9))
        );
        assert_eq!(locate(SOURCE, &checks.index(5)), None);
        assert_eq!(locate(SOURCE, &checks.index(0).key("url")), None);
        assert_eq!(
            checks.index(1).key("conditions").index(0).to_string(),
            "checks[1].conditions[0]"
        );
    }
}
