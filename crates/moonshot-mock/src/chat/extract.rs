//! The default answer: the sentences of the documents that share the most words with the
//! question, so an offline demo answers from the document it was given.

use std::collections::BTreeSet;

/// The most sentences an answer quotes.
const MAX_SENTENCES: usize = 3;

/// Words too common to say what a question is about.
const STOP_WORDS: &[&str] = &[
    "a", "about", "all", "also", "an", "and", "any", "are", "as", "at", "be", "but", "by", "can",
    "could", "did", "do", "does", "doing", "done", "for", "from", "had", "has", "have", "how", "i",
    "if", "in", "into", "is", "it", "its", "me", "my", "no", "not", "of", "on", "or", "our",
    "please", "should", "so", "tell", "than", "that", "the", "their", "them", "then", "there",
    "these", "they", "this", "those", "to", "us", "was", "we", "were", "what", "when", "where",
    "which", "who", "whom", "why", "will", "with", "would", "you", "your",
];

/// An extractive answer and the reasoning that led to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Extract {
    pub(crate) answer: String,
    pub(crate) reasoning: String,
}

/// Answers `question` from `documents` (the texts of the system messages).
pub(crate) fn answer(documents: &[String], question: &str) -> Extract {
    let sentences: Vec<&str> = documents.iter().flat_map(|doc| sentences(doc)).collect();
    let keys: BTreeSet<String> = words(question).collect();
    let listed = keys
        .iter()
        .map(|word| format!("\"{word}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let scores: Vec<usize> = sentences
        .iter()
        .map(|sentence| {
            let found: BTreeSet<String> = words(sentence).collect();
            keys.intersection(&found).count()
        })
        .collect();
    let best = scores.iter().copied().max().unwrap_or(0);
    if best == 0 {
        let start: Vec<&str> = sentences.iter().take(2).copied().collect();
        return Extract {
            answer: format!(
                "The documents share no words with the question. They begin: {}",
                start.join(" ")
            ),
            reasoning: format!(
                "Key words of the question: {}. None of the {} sentences of the system messages \
                 holds one, so I quote how the documents begin.",
                if listed.is_empty() { "none" } else { &listed },
                sentences.len()
            ),
        };
    }
    // The best sentences, at least half as good as the best one, ties going to the earliest.
    let mut ranked: Vec<usize> = (0..sentences.len())
        .filter(|&i| scores[i] * 2 >= best)
        .collect();
    ranked.sort_by_key(|&i| (std::cmp::Reverse(scores[i]), i));
    ranked.truncate(MAX_SENTENCES);
    ranked.sort_unstable();
    let answer = ranked
        .iter()
        .map(|&i| sentences[i])
        .collect::<Vec<_>>()
        .join(" ");
    let picked = ranked
        .iter()
        .map(|&i| format!("{} ({} shared)", i + 1, scores[i]))
        .collect::<Vec<_>>()
        .join(", ");
    Extract {
        answer,
        reasoning: format!(
            "Key words of the question: {listed}. Of the {} sentences of the system messages, I \
             picked sentences {picked}: they share the most key words with the question.",
            sentences.len()
        ),
    }
}

/// The sentences of `text`: ended by `.`, `!` or `?` before a space, by `。`, `！`, `？`, or by a
/// line break; trimmed, those without a letter or digit dropped.
pub(crate) fn sentences(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let end = match c {
            '\n' => Some(i),
            '.' | '!' | '?' if chars.peek().is_none_or(|(_, next)| next.is_whitespace()) => {
                Some(i + 1)
            }
            '。' | '！' | '？' => Some(i + c.len_utf8()),
            _ => None,
        };
        if let Some(end) = end {
            found.push(&text[start..end]);
            start = if c == '\n' { i + 1 } else { end };
        }
    }
    found.push(&text[start..]);
    found
        .into_iter()
        .map(str::trim)
        .filter(|sentence| sentence.chars().any(char::is_alphanumeric))
        .collect()
}

/// The words of `text` that say what it is about: lowercase runs of letters and digits, each
/// CJK character a word of its own, stop words left out.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric() || is_cjk(c))
        .map(str::to_lowercase)
        .chain(text.chars().filter(|&c| is_cjk(c)).map(String::from))
        .filter(|word| !word.is_empty() && !STOP_WORDS.contains(&word.as_str()))
}

/// CJK ideographs and kana, written without spaces between words.
fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30FF}' | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_split_at_ends_and_lines_not_inside_numbers() {
        assert_eq!(
            sentences("# Title\nVersion 2.5 is out. Really?Yes! 你好。再见\n\n"),
            [
                "# Title",
                "Version 2.5 is out.",
                "Really?Yes!",
                "你好。",
                "再见"
            ]
        );
    }

    #[test]
    fn the_sentences_sharing_most_words_are_quoted_in_document_order() {
        let documents = vec![
            "Kimi is a model. The revenue grew 12% in the third quarter. Cats sleep.".to_owned(),
            "Costs fell in the third quarter too.".to_owned(),
        ];
        let extract = answer(&documents, "How did revenue do in the third quarter?");
        assert_eq!(
            extract.answer,
            "The revenue grew 12% in the third quarter. Costs fell in the third quarter too."
        );
        assert!(
            extract.reasoning.contains("\"revenue\""),
            "{}",
            extract.reasoning
        );
        assert!(
            extract
                .reasoning
                .contains("sentences 2 (3 shared), 4 (2 shared)"),
            "{}",
            extract.reasoning
        );
    }

    #[test]
    fn with_no_shared_word_the_documents_beginning_is_quoted() {
        let extract = answer(&["One. Two. Three.".to_owned()], "Why?");
        assert_eq!(
            extract.answer,
            "The documents share no words with the question. They begin: One. Two."
        );
    }
}
