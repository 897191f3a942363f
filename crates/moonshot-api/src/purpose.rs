//! The one hand-written type of this crate: progenitor swaps it in for the `Purpose` schema.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// What a file was uploaded for.
///
/// An open set: Moonshot names values its docs do not list, so a value unknown to this version
/// of the crate is kept in [`Purpose::Other`] instead of failing the whole response.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Purpose {
    /// `file-extract`: extract the file's text, for use in a conversation.
    FileExtract,
    /// `image`: an image for vision understanding.
    Image,
    /// `video`: a video for video understanding.
    Video,
    /// `batch`: a JSONL file for batch processing.
    Batch,
    /// Any other value, as sent by the server.
    Other(String),
}

impl Purpose {
    /// The values the docs list, with their variants.
    const KNOWN: [(&'static str, Purpose); 4] = [
        ("file-extract", Purpose::FileExtract),
        ("image", Purpose::Image),
        ("video", Purpose::Video),
        ("batch", Purpose::Batch),
    ];

    /// The value as the API spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Other(value) => value,
            known => Self::KNOWN
                .iter()
                .find(|(_, variant)| variant == known)
                .map_or("", |(name, _)| name),
        }
    }
}

impl From<&str> for Purpose {
    fn from(value: &str) -> Self {
        Self::KNOWN
            .iter()
            .find(|(name, _)| *name == value)
            .map_or_else(
                || Self::Other(value.to_owned()),
                |(_, variant)| variant.clone(),
            )
    }
}

impl FromStr for Purpose {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Self::from(value))
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Purpose {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Purpose {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Cow::<'de, str>::deserialize(deserializer)?;
        Ok(Self::from(value.as_ref()))
    }
}

impl schemars::JsonSchema for Purpose {
    fn schema_name() -> Cow<'static, str> {
        "Purpose".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let examples: Vec<&str> = Self::KNOWN.iter().map(|(name, _)| *name).collect();
        schemars::json_schema!({
            "type": "string",
            "description": "What the file was uploaded for; an open set of values.",
            "examples": examples,
        })
    }
}
