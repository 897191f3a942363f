//! The default answer: the sentences of the documents that share the most words with the
//! question, so an offline demo answers from the document it was given.

use std::collections::HashSet;

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
    let all: Vec<String> = documents.iter().flat_map(|doc| sentences(doc)).collect();
    // Each word once, in the order asked; sets keep this linear in the length of the texts.
    let mut seen = HashSet::new();
    let asked: Vec<String> = words(question)
        .filter(|word| seen.insert(word.clone()))
        .collect();
    let keys: HashSet<&str> = asked.iter().map(|word| stem(word)).collect();
    let listed = match asked.is_empty() {
        true => "none".to_owned(),
        false => asked
            .iter()
            .map(|word| format!("\"{word}\""))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let scores: Vec<usize> = all.iter().map(|sentence| shared(sentence, &keys)).collect();
    let best = scores.iter().copied().max().unwrap_or(0);
    if best == 0 {
        // The longest document is most likely the file the question is about.
        let longest = documents.iter().max_by_key(|doc| doc.len());
        let start: Vec<String> = longest
            .map(|doc| {
                sentences(doc)
                    .into_iter()
                    // A heading says little on its own.
                    .filter(|sentence| !sentence.starts_with('#'))
                    .take(MAX_SENTENCES)
                    .collect()
            })
            .unwrap_or_default();
        return Extract {
            answer: format!(
                "The documents do not use the words of the question. The longest begins: {}",
                start.join(" ")
            ),
            reasoning: format!(
                "Key words of the question: {listed}. No sentence of the system messages ({}) \
                 holds one, so I quote how the longest document begins.",
                all.len()
            ),
        };
    }
    // The best sentences, at least half as good as the best one, ties going to the earliest.
    let mut ranked: Vec<usize> = (0..all.len()).filter(|&i| scores[i] * 2 >= best).collect();
    ranked.sort_by_key(|&i| (std::cmp::Reverse(scores[i]), i));
    ranked.truncate(MAX_SENTENCES);
    ranked.sort_unstable();
    let answer = ranked
        .iter()
        .map(|&i| all[i].as_str())
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
            all.len()
        ),
    }
}

/// How many of `keys` the words of `sentence` meet, each counted once: a walk over the
/// sentence's words, whatever the number of keys.
fn shared(sentence: &str, keys: &HashSet<&str>) -> usize {
    let mut met = HashSet::new();
    for word in words(sentence) {
        let stemmed = stem(&word);
        if keys.contains(stemmed) {
            met.insert(stemmed.to_owned());
        }
    }
    met.len()
}

/// The sentences of `text`. Paragraphs end at blank lines, and Markdown headings, list items,
/// table rows and quotes stand alone, so hard-wrapped lines join up again; fenced code is left
/// out; within
/// a paragraph, sentences end at `.`, `!` or `?` before a space, or at `。`, `！`, `？`.
pub(crate) fn sentences(text: &str) -> Vec<String> {
    let mut paragraphs: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut in_code = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with("```") || in_code {
            // Code is not prose: its lines answer no question.
            in_code ^= line.starts_with("```");
            paragraphs.push(std::mem::take(&mut current));
            continue;
        }
        let stands_alone = ["#", "- ", "* ", "|", ">"]
            .iter()
            .any(|marker| line.starts_with(marker));
        if line.is_empty() || stands_alone {
            paragraphs.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(line);
        if line.starts_with('#') {
            paragraphs.push(std::mem::take(&mut current));
        }
    }
    paragraphs.push(current);
    paragraphs
        .iter()
        .flat_map(|paragraph| split_sentences(paragraph))
        .filter(|sentence| sentence.chars().any(char::is_alphanumeric))
        .map(str::to_owned)
        .collect()
}

/// The sentences of one paragraph, trimmed.
fn split_sentences(paragraph: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut start = 0;
    let mut chars = paragraph.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let ends = match c {
            '.' | '!' | '?' => chars.peek().is_none_or(|(_, next)| next.is_whitespace()),
            '。' | '！' | '？' => true,
            _ => false,
        };
        if ends {
            let end = i + c.len_utf8();
            found.push(paragraph[start..end].trim());
            start = end;
        }
    }
    found.push(paragraph[start..].trim());
    found
}

/// The words of `text` that say what it is about: lowercase runs of letters and digits, each
/// CJK character a word of its own, stop words left out.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric() || is_cjk(c))
        .map(str::to_lowercase)
        .chain(text.chars().filter(|&c| is_cjk(c)).map(String::from))
        .filter(|word| !word.is_empty() && !STOP_WORDS.contains(&word.as_str()))
}

/// A word without its commonest English ending, so "moved" meets "move" and "files" "file".
fn stem(word: &str) -> &str {
    ["ing", "ed", "es", "s", "e"]
        .iter()
        .filter_map(|suffix| word.strip_suffix(suffix))
        .find(|stem| stem.chars().count() >= 3)
        .unwrap_or(word)
}

/// CJK ideographs and kana, written without spaces between words.
fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30FF}' | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}')
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn a_question_of_many_distinct_words_costs_time_linear_in_its_length() {
        // 200,000 distinct words against 20,000 sentences: comparing every word with every
        // other, and every key with every sentence, took far more than a minute.
        let question: String = (0..200_000).map(|i| format!("w{i} ")).collect();
        let document: String = (0..20_000)
            .map(|i| format!("Line w{} here. ", i * 10))
            .collect();
        let started = Instant::now();
        let extract = answer(&[document], &question);
        let took = started.elapsed();
        assert!(took < Duration::from_secs(10), "took {took:?}");
        assert_eq!(
            extract.answer,
            "Line w0 here. Line w10 here. Line w20 here."
        );
        assert!(
            extract.reasoning.contains("sentences 1 (1 shared)"),
            "{}",
            extract.reasoning.get(..200).unwrap_or_default()
        );
    }

    #[test]
    fn sentences_split_at_ends_and_paragraphs_not_inside_numbers_or_wrapped_lines() {
        assert_eq!(
            sentences(
                "# Title\nVersion 2.5 is\nout. Really?Yes! 你好。再见\n```\nlet x = 1;\n```\nNext\n- item\n"
            ),
            [
                "# Title",
                "Version 2.5 is out.",
                "Really?Yes!",
                "你好。",
                "再见",
                "Next",
                "- item"
            ]
        );
    }

    #[test]
    fn endings_are_ignored() {
        assert_eq!(
            ["moved", "move", "files", "file", "reading", "as", "quotes"].map(stem),
            ["mov", "mov", "fil", "fil", "read", "as", "quot"]
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
        let documents = [
            "Be brief.".to_owned(),
            "# Count\nOne. Two. Three. Four.".to_owned(),
        ];
        let extract = answer(&documents, "Why?");
        assert_eq!(
            extract.answer,
            "The documents do not use the words of the question. The longest begins: One. Two. \
             Three."
        );
    }
}
