//! The models the server answers: those of the API reference, with their families and
//! abilities, and the retired ids Moonshot still answers. Which ids make a family is the
//! document's (`x-model-families`, checked by a test); what a family does is the chat page's
//! prose, kept here by hand.

/// Whether a model family thinks before answering, as the chat page says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Thinking {
    /// Always; `"thinking": {"type": "disabled"}` is refused.
    Always,
    /// Unless `"thinking": {"type": "disabled"}`.
    ByDefault,
    /// Never.
    Never,
}

/// A model family of the chat page: what its models do alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Family {
    /// The family's title on the chat page, as `kimi-k3`.
    pub(crate) name: &'static str,
    pub(crate) thinking: Thinking,
    /// Whether its `messages` may hold dynamic tool messages (`{"role": "system", "tools":
    /// [...]}`).
    pub(crate) dynamic_tools: bool,
}

const fn family(name: &'static str, thinking: Thinking, dynamic_tools: bool) -> Family {
    Family {
        name,
        thinking,
        dynamic_tools,
    }
}

/// "Kimi K3 always enables thinking" (`reasoning_effort`); its messages may load tools.
const KIMI_K3: Family = family("kimi-k3", Thinking::Always, true);
/// "`type` only accepts enabled ... Thinking is always on for this model."
const KIMI_K2_7_CODE: Family = family("kimi-k2.7-code", Thinking::Always, false);
/// `thinking` "Default value is {"type": "enabled"}", and `disabled` is accepted.
const KIMI_K2_6: Family = family("kimi-k2.6", Thinking::ByDefault, false);
const KIMI_K2_5: Family = family("kimi-k2.5", Thinking::ByDefault, false);
const MOONSHOT_V1: Family = family("moonshot-v1", Thinking::Never, false);
/// Retired families, as the reference described them before.
const KIMI_K2: Family = family("kimi-k2", Thinking::Never, false);
const KIMI_K2_THINKING: Family = family("kimi-k2-thinking", Thinking::Always, false);

/// One model the server lists.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Model {
    pub(crate) id: &'static str,
    pub(crate) family: Family,
    /// The longest context, in tokens.
    pub(crate) context_length: u32,
    /// Whether it reads images.
    pub(crate) image_in: bool,
    /// Whether it reads videos.
    pub(crate) video_in: bool,
}

const fn model(
    id: &'static str,
    family: Family,
    context_length: u32,
    image_in: bool,
    video_in: bool,
) -> Model {
    Model {
        id,
        family,
        context_length,
        image_in,
        video_in,
    }
}

/// The model ids of the reference (`CreateChatCompletionRequestModel`), in its order, with the
/// context lengths and abilities Moonshot's model pages give them. Kimi K3's context is taken as
/// 1,048,576 tokens, the most its `max_completion_tokens` may be set to; Kimi K2.7 code's abilities
/// as those of Kimi K2.6, which its page describes it against.
pub(crate) const MODELS: [Model; 12] = [
    model("kimi-k3", KIMI_K3, 1_048_576, true, true),
    model("kimi-k2.7-code", KIMI_K2_7_CODE, 262_144, true, true),
    model(
        "kimi-k2.7-code-highspeed",
        KIMI_K2_7_CODE,
        262_144,
        true,
        true,
    ),
    model("kimi-k2.6", KIMI_K2_6, 262_144, true, true),
    model("kimi-k2.5", KIMI_K2_5, 262_144, true, true),
    model("moonshot-v1-8k", MOONSHOT_V1, 8_192, false, false),
    model("moonshot-v1-32k", MOONSHOT_V1, 32_768, false, false),
    model("moonshot-v1-128k", MOONSHOT_V1, 131_072, false, false),
    model("moonshot-v1-auto", MOONSHOT_V1, 131_072, false, false),
    model(
        "moonshot-v1-8k-vision-preview",
        MOONSHOT_V1,
        8_192,
        true,
        false,
    ),
    model(
        "moonshot-v1-32k-vision-preview",
        MOONSHOT_V1,
        32_768,
        true,
        false,
    ),
    model(
        "moonshot-v1-128k-vision-preview",
        MOONSHOT_V1,
        131_072,
        true,
        false,
    ),
];

/// Model ids retired from the reference that the server still answers, as Moonshot's
/// compatibility does: not listed, but accepted by the chat and the token estimate.
pub(crate) const RETIRED_MODELS: [(&str, Family); 5] = [
    ("kimi-k2-0905-preview", KIMI_K2),
    ("kimi-k2-0711-preview", KIMI_K2),
    ("kimi-k2-turbo-preview", KIMI_K2),
    ("kimi-k2-thinking", KIMI_K2_THINKING),
    ("kimi-k2-thinking-turbo", KIMI_K2_THINKING),
];

/// The family of a model the server answers (listed or retired), or `None` for an id it does
/// not know.
pub(crate) fn family_of(id: &str) -> Option<Family> {
    MODELS
        .iter()
        .find(|model| model.id == id)
        .map(|model| model.family)
        .or_else(|| {
            RETIRED_MODELS
                .iter()
                .find(|(retired, _)| *retired == id)
                .map(|(_, family)| *family)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use moonshot_api::MODEL_FAMILIES;

    #[test]
    fn the_listed_models_and_their_families_are_those_of_the_document() {
        let documented: Vec<(&str, &str)> = MODEL_FAMILIES
            .iter()
            .flat_map(|(family, ids)| ids.iter().map(move |id| (*id, *family)))
            .collect();
        let mut listed: Vec<(&str, &str)> = MODELS
            .iter()
            .map(|model| (model.id, model.family.name))
            .collect();
        let mut expected = documented.clone();
        listed.sort_unstable();
        expected.sort_unstable();
        assert_eq!(
            listed, expected,
            "the document's model families changed: update MODELS, with each family's prose"
        );
        for (id, _) in RETIRED_MODELS {
            assert!(
                !documented.iter().any(|(documented, _)| *documented == id),
                "{id} is documented again: list it in MODELS"
            );
        }
    }
}
