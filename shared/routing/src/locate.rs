//! Finding where a node sits in the YAML text, for errors found after deserialisation.
//!
//! `serde_yaml_ng` attaches a line and column to every error raised *while* a node is being
//! deserialised, but its `Value` and our types keep no positions. So a semantic error found later
//! (an unknown destination, a duplicate route name) carries a [`ConfigPath`], and [`locate`] walks
//! the source again with a visitor that fails on purpose when it reaches that node: the error
//! `serde_yaml_ng` returns then holds the node's position.

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// A step from the document root to a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    /// The value under this key.
    Key(String),
    /// The n-th item of a sequence.
    Index(usize),
}

/// A path such as `routes[1].destinations[0]`: shown in messages and used to find the line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ConfigPath(Vec<Segment>);

impl ConfigPath {
    pub(crate) fn root() -> Self {
        ConfigPath(Vec::new())
    }

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

/// A 1-based line and column in the configuration text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) line: usize,
    pub(crate) column: usize,
}

/// Where the node at `path` starts in `source`; `None` when the path does not exist (or the
/// text is not YAML, which cannot happen after a successful load).
pub(crate) fn locate(source: &str, path: &ConfigPath) -> Option<Position> {
    let deserializer = serde_yaml_ng::Deserializer::from_str(source);
    let error = Seek { path: &path.0 }.deserialize(deserializer).err()?;
    if !error.to_string().contains(FOUND) {
        return None;
    }
    let location = error.location()?;
    Some(Position {
        line: location.line(),
        column: location.column(),
    })
}

/// Marks the deliberate error; any other error means the path was not found.
const FOUND: &str = "<<fleetwatch-routing: node found>>";

struct Seek<'p> {
    path: &'p [Segment],
}

impl<'de> DeserializeSeed<'de> for Seek<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Seek<'_> {
    /// A scalar ends the walk: found if the path ends here, otherwise the path does not exist.
    fn scalar<E: de::Error>(&self) -> Result<(), E> {
        if self.path.is_empty() {
            Err(E::custom(FOUND))
        } else {
            Ok(())
        }
    }
}

impl<'de> Visitor<'de> for Seek<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Any visit this type does not implement fails with "expected <this>": still found.
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
        let Some((first, rest)) = self.path.split_first() else {
            return Err(de::Error::custom(FOUND));
        };
        while let Some(key) = map.next_key::<String>()? {
            if matches!(first, Segment::Key(wanted) if *wanted == key) {
                return map.next_value_seed(Seek { path: rest });
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((first, rest)) = self.path.split_first() else {
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
        seq.next_element_seed(Seek { path: rest })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "\
destinations:
  ops: { webhook_url_parameter: /a }
  deploys:
    bot_token_parameter: /b
    channel: \"#deploys\"
routes:
  - name: first
    destinations: [ops, deploys]
  - name: second
    destinations:
      - ops
";

    fn at(path: &ConfigPath) -> Option<(usize, usize)> {
        locate(SOURCE, path).map(|p| (p.line, p.column))
    }

    #[test]
    fn finds_values_keys_and_items() {
        let root = ConfigPath::root();
        assert_eq!(at(&root.key("destinations").key("deploys")), Some((4, 5)));
        assert_eq!(at(&root.key("destinations").key("ops")), Some((2, 8)));
        let routes = root.key("routes");
        assert_eq!(
            at(&routes.index(0).key("destinations").index(1)),
            Some((8, 25))
        );
        assert_eq!(at(&routes.index(1).key("name")), Some((9, 11)));
        assert_eq!(at(&routes.index(1)), Some((9, 5)));
        assert_eq!(
            at(&routes.index(1).key("destinations").index(0)),
            Some((11, 9))
        );
    }

    #[test]
    fn a_missing_path_has_no_position() {
        let root = ConfigPath::root();
        assert_eq!(at(&root.key("routes").index(7)), None);
        assert_eq!(at(&root.key("nope")), None);
        assert_eq!(at(&root.key("routes").index(0).key("name").key("x")), None);
    }

    #[test]
    fn paths_display_like_serde_yaml_paths() {
        let path = ConfigPath::root()
            .key("routes")
            .index(2)
            .key("destinations")
            .index(0);
        assert_eq!(path.to_string(), "routes[2].destinations[0]");
        assert_eq!(
            ConfigPath::root().key("destinations").key("x").to_string(),
            "destinations.x"
        );
    }
}
