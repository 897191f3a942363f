//! The open enum: what every string enum of the API document becomes.
//!
//! Moonshot adds values to its enums over time (a file status, a finish reason, a model id). A
//! closed Rust enum would fail a whole response on a value unknown today, and would refuse to
//! send a model launched tomorrow. So `build.rs` writes one [`open_enum!`] call per string-enum
//! schema, and progenitor refers to those types instead of generating closed ones: each known
//! value is a variant, any other is kept in `Other(String)`, and the wire form is always the
//! string as the API spells it.

/// What every open enum of this crate can say about itself.
pub trait OpenEnum: Sized {
    /// The values the API document lists, as the API spells them.
    const KNOWN: &'static [&'static str];

    /// The value as the API spells it.
    fn as_str(&self) -> &str;

    /// Whether the value is one the API document lists (not kept in `Other`).
    fn is_known(&self) -> bool;
}

/// One open enum, for code that checks them all (see the crate's tests).
#[derive(Debug, Clone, Copy)]
pub struct OpenEnumEntry {
    /// The schema's name in the API document, and the type's name.
    pub name: &'static str,
    /// The values the document lists.
    pub known: &'static [&'static str],
    /// Decodes a JSON value into the type and returns it as spelled, and whether it is known.
    pub decode: fn(&str) -> Result<(String, bool), serde_json::Error>,
}

/// Defines an open enum: a variant per known value, `Other(String)` for the rest.
///
/// Used by the code `build.rs` generates; the wire form is the plain string.
#[macro_export]
#[doc(hidden)]
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $value:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this version of the crate does not know, as the API spells it.
            Other(::std::string::String),
        }

        impl $crate::OpenEnum for $name {
            const KNOWN: &'static [&'static str] = &[$($value),*];

            fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $value, )*
                    Self::Other(value) => value,
                }
            }

            fn is_known(&self) -> bool {
                !matches!(self, Self::Other(_))
            }
        }

        impl $name {
            /// The value as the API spells it.
            pub fn as_str(&self) -> &str {
                <Self as $crate::OpenEnum>::as_str(self)
            }
        }

        impl ::std::convert::From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $( $value => Self::$variant, )*
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl ::std::convert::From<::std::string::String> for $name {
            fn from(value: ::std::string::String) -> Self {
                match value.as_str() {
                    $( $value => Self::$variant, )*
                    _ => Self::Other(value),
                }
            }
        }

        impl ::std::convert::From<&::std::string::String> for $name {
            fn from(value: &::std::string::String) -> Self {
                Self::from(value.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;

            fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {
                Ok(Self::from(value))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::std::result::Result<Self, D::Error> {
                let value =
                    <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(deserializer)?;
                Ok(Self::from(value.as_ref()))
            }
        }

        impl ::schemars::JsonSchema for $name {
            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {
                let known: &[&str] = &[$($value),*];
                ::schemars::json_schema!({
                    "type": "string",
                    "description": "An open set: the listed values and any other string.",
                    "examples": known,
                })
            }
        }
    };
}
