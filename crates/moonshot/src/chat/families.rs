//! Model families: which ids belong to which family comes from the document
//! ([`moonshot_api::MODEL_FAMILIES`], regenerated with it); what a family does that only the
//! docs' prose says is this module's one hand-kept table, each row naming its source.
//!
//! A family the document adds is covered by regeneration for its ids; a test fails until it
//! has a row here. An id no family documents (a retired one, or one launched after this crate
//! was built) is sent as given and checked for nothing family-specific.

use moonshot_api::MODEL_FAMILIES;

/// Whether a family's models think before they answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Thinking {
    /// Always: thinking cannot be turned off (`thinking.type` takes only `enabled`).
    Always,
    /// Unless the request turns it off.
    ByDefault,
    /// Never: the family has no thinking.
    Never,
}

/// What the prose of the chat page says of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Behaviour {
    /// The family's title in the document.
    pub(crate) family: &'static str,
    /// Whether it thinks.
    pub(crate) thinking: Thinking,
    /// Whether it takes dynamic tool messages (a `system` message with `tools`) and
    /// `reasoning_effort`.
    pub(crate) dynamic_tools: bool,
    /// Where this is said.
    #[allow(dead_code)]
    pub(crate) source: &'static str,
}

/// One row per family of the document: a family the document adds fails a test until it has
/// one. Built-in web search needs thinking off (guide use-web-search), so it works only with
/// families that can turn thinking off.
const BEHAVIOUR: &[Behaviour] = &[
    Behaviour {
        family: "kimi-k3",
        thinking: Thinking::Always,
        dynamic_tools: true,
        source: "chat page, kimi-k3: `reasoning_effort` (\"Kimi K3 always enables thinking with \
                 Preserved Thinking\") and `messages` (dynamic tool messages)",
    },
    Behaviour {
        family: "kimi-k2.7-code",
        thinking: Thinking::Always,
        dynamic_tools: false,
        source: "chat page, kimi-k2.7-code: `thinking.type` \"only accepts enabled ... Thinking \
                 is always on for this model\"",
    },
    Behaviour {
        family: "kimi-k2.6",
        thinking: Thinking::ByDefault,
        dynamic_tools: false,
        source: "chat page, kimi-k2.6: `thinking` defaults to enabled and takes disabled",
    },
    Behaviour {
        family: "kimi-k2.5",
        thinking: Thinking::ByDefault,
        dynamic_tools: false,
        source: "chat page, kimi-k2.5: `thinking` defaults to enabled and takes disabled",
    },
    Behaviour {
        family: "moonshot-v1",
        thinking: Thinking::Never,
        dynamic_tools: false,
        source: "chat page, moonshot-v1: no `thinking` field",
    },
];

/// The family that documents `model`, by its title (`"kimi-k3"`), if any.
pub fn family_of(model: &str) -> Option<&'static str> {
    MODEL_FAMILIES
        .iter()
        .find(|(_, ids)| ids.contains(&model))
        .map(|(family, _)| *family)
}

/// What the prose says of `model`'s family, if the document names the model.
pub(crate) fn behaviour(model: &str) -> Option<&'static Behaviour> {
    let family = family_of(model)?;
    BEHAVIOUR.iter().find(|b| b.family == family)
}

/// Whether `model` thinks, by its family: `None` for an id no family documents.
pub fn thinking_of(model: &str) -> Option<Thinking> {
    behaviour(model).map(|b| b.thinking)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_of_the_document_has_a_row() {
        for (family, _) in MODEL_FAMILIES {
            assert!(
                BEHAVIOUR.iter().any(|b| b.family == *family),
                "the document has the family `{family}`: add its row to BEHAVIOUR, from the \
                 chat page's prose"
            );
        }
        for row in BEHAVIOUR {
            assert!(
                MODEL_FAMILIES.iter().any(|(f, _)| *f == row.family),
                "BEHAVIOUR has `{}`, which the document no longer has: remove its row",
                row.family
            );
        }
    }

    #[test]
    fn ids_are_found_in_their_family_and_retired_ones_in_none() {
        assert_eq!(
            family_of("kimi-k2.7-code-highspeed"),
            Some("kimi-k2.7-code")
        );
        assert_eq!(thinking_of("kimi-k3"), Some(Thinking::Always));
        assert_eq!(thinking_of("kimi-k2.6"), Some(Thinking::ByDefault));
        assert_eq!(thinking_of("moonshot-v1-8k"), Some(Thinking::Never));
        assert_eq!(family_of("kimi-k2-turbo-preview"), None);
    }
}
