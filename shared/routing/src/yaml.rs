//! Serde building blocks for the configuration file whose errors keep their position.
//!
//! `serde_yaml_ng` gives an error the line and column of the node being read when the error is
//! raised *inside* that node's `deserialize_*` call. So every check that concerns one value is
//! done in that value's visitor (`visit_str`, `visit_seq`, a map key's `visit_str`), never after
//! the fact: the message then points at the value or key itself.

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

/// Implements `Deserialize` for a type parsed from one string with `FromStr<Err = String>`: the
/// parse error becomes a serde error at the scalar's position. Any scalar is read as its text
/// (`500` is the string "500").
macro_rules! deserialize_from_str {
    ($type:ty, $expecting:expr) => {
        impl<'de> ::serde::Deserialize<'de> for $type {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Self, D::Error> {
                struct StrVisitor;
                impl<'de> ::serde::de::Visitor<'de> for StrVisitor {
                    type Value = $type;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: ::serde::de::Error>(self, text: &str) -> Result<$type, E> {
                        text.parse::<$type>().map_err(E::custom)
                    }
                }
                deserializer.deserialize_str(StrVisitor)
            }
        }
    };
}
pub(crate) use deserialize_from_str;

/// A key of a [`UniqueKeyMap`]: parsed (and checked) from the key's text.
pub(crate) trait MapKey: Sized {
    fn parse_key(key: &str) -> Result<Self, String>;
}

impl MapKey for String {
    fn parse_key(key: &str) -> Result<Self, String> {
        if key.trim().is_empty() {
            Err("empty key".to_owned())
        } else {
            Ok(key.to_owned())
        }
    }
}

/// A mapping read in document order that rejects a repeated key at the repeated key's position.
/// (A `BTreeMap` would silently keep the last value: `env: prod` then `env: staging` must be an
/// error, not a routing surprise.)
#[derive(Debug, Clone)]
pub(crate) struct UniqueKeyMap<K, V>(pub(crate) Vec<(K, V)>);

impl<K, V> Default for UniqueKeyMap<K, V> {
    fn default() -> Self {
        UniqueKeyMap(Vec::new())
    }
}

impl<'de, K: MapKey, V: Deserialize<'de>> Deserialize<'de> for UniqueKeyMap<K, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(UniqueKeyMapVisitor(PhantomData))
    }
}

struct UniqueKeyMapVisitor<K, V>(PhantomData<(K, V)>);

impl<'de, K: MapKey, V: Deserialize<'de>> Visitor<'de> for UniqueKeyMapVisitor<K, V> {
    type Value = UniqueKeyMap<K, V>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seen: Vec<String> = Vec::new();
        let mut entries = Vec::new();
        while let Some((text, key)) = map.next_key_seed(UniqueKey::<K> {
            seen: &seen,
            key: PhantomData,
        })? {
            let value = map.next_value::<V>()?;
            seen.push(text);
            entries.push((key, value));
        }
        Ok(UniqueKeyMap(entries))
    }
}

struct UniqueKey<'s, K> {
    seen: &'s [String],
    key: PhantomData<K>,
}

impl<'de, K: MapKey> DeserializeSeed<'de> for UniqueKey<'_, K> {
    type Value = (String, K);

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, K: MapKey> Visitor<'de> for UniqueKey<'_, K> {
    type Value = (String, K);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        if self.seen.iter().any(|seen| seen == text) {
            return Err(E::custom(format!(
                "duplicate key `{text}`: each name may appear only once here"
            )));
        }
        let key = K::parse_key(text).map_err(E::custom)?;
        Ok((text.to_owned(), key))
    }
}

/// One value or a non-empty list of values (`source: cloudwatch` or `source: [a, b]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OneOrMany<T>(pub(crate) Vec<T>);

impl<'de, T: FromStr<Err = String>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OneOrManyVisitor(PhantomData))
    }
}

struct OneOrManyVisitor<T>(PhantomData<T>);

impl<'de, T: FromStr<Err = String>> Visitor<'de> for OneOrManyVisitor<T> {
    type Value = OneOrMany<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or a non-empty list of strings")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(OneOrMany(vec![text.parse().map_err(E::custom)?]))
    }

    // YAML makes `500` a number and `true` a boolean; as label values they mean their text.
    fn visit_i64<E: de::Error>(self, number: i64) -> Result<Self::Value, E> {
        self.visit_str(&number.to_string())
    }

    fn visit_u64<E: de::Error>(self, number: u64) -> Result<Self::Value, E> {
        self.visit_str(&number.to_string())
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        self.visit_str(if value { "true" } else { "false" })
    }

    fn visit_f64<E: de::Error>(self, number: f64) -> Result<Self::Value, E> {
        Err(E::custom(format!(
            "the number {number} would be compared as text: write it in quotes, exactly as the label value reads"
        )))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<ParsedItem<T>>()? {
            items.push(item.0);
        }
        if items.is_empty() {
            return Err(de::Error::custom(
                "empty list: it would never match; remove the matcher or list values",
            ));
        }
        Ok(OneOrMany(items))
    }
}

/// A list item read as text and parsed, so its error points at the item.
struct ParsedItem<T>(T);

impl<'de, T: FromStr<Err = String>> Deserialize<'de> for ParsedItem<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemVisitor<T>(PhantomData<T>);
        impl<'de, T: FromStr<Err = String>> Visitor<'de> for ItemVisitor<T> {
            type Value = ParsedItem<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                text.parse().map(ParsedItem).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(ItemVisitor(PhantomData))
    }
}

/// Any non-empty text (label values, names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Text(pub(crate) String);

impl FromStr for Text {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Ok(Text(text.to_owned()))
    }
}

/// Levenshtein distance, for "did you mean" hints.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

/// The closest candidate within two edits, for a hint.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("contine", "continue"), 1);
        assert_eq!(edit_distance("ops-webhok", "ops-webhook"), 1);
        assert_eq!(edit_distance("abc", "abc"), 0);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn closest_ignores_far_candidates() {
        assert_eq!(closest("deploy", ["ops", "deploys"]), Some("deploys"));
        assert_eq!(closest("zzz", ["ops", "deploys"]), None);
    }
}
