//! A word-level Markov model trained on the demo newsroom's prose, for generated datasets whose
//! headlines and bodies have realistic lengths and read like news text, not lorem ipsum.

use std::collections::HashMap;

use crate::demo::Dice;

pub struct TextModel {
    /// Words that follow each pair of words, with repeats standing for frequency.
    next: HashMap<(u32, u32), Vec<u32>>,
    /// Pairs that open a sentence.
    starts: Vec<(u32, u32)>,
    words: Vec<String>,
}

const END: u32 = u32::MAX;

impl TextModel {
    /// Trains on sentences (split on `.`, `?`, `!`) of the given texts.
    pub fn train<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut words = Vec::new();
        let mut next: HashMap<(u32, u32), Vec<u32>> = HashMap::new();
        let mut starts = Vec::new();
        let mut id_of = |word: &str, words: &mut Vec<String>| -> u32 {
            *ids.entry(word.to_owned()).or_insert_with(|| {
                words.push(word.to_owned());
                (words.len() - 1) as u32
            })
        };
        for text in texts {
            for sentence in split_sentences(text) {
                let tokens: Vec<u32> = sentence.split_whitespace().map(|w| id_of(w, &mut words)).collect();
                if tokens.len() < 4 {
                    continue;
                }
                starts.push((tokens[0], tokens[1]));
                for window in tokens.windows(3) {
                    next.entry((window[0], window[1])).or_default().push(window[2]);
                }
                let n = tokens.len();
                next.entry((tokens[n - 2], tokens[n - 1])).or_default().push(END);
            }
        }
        Self { next, starts, words }
    }

    /// One sentence of at most `max_words` words, ending with its punctuation.
    pub fn sentence(&self, dice: &mut Dice, max_words: usize) -> String {
        if self.starts.is_empty() {
            return String::new();
        }
        let (mut a, mut b) = self.starts[dice.below(self.starts.len() as u64) as usize];
        let mut out = vec![a, b];
        while out.len() < max_words {
            let Some(choices) = self.next.get(&(a, b)) else { break };
            let c = choices[dice.below(choices.len() as u64) as usize];
            if c == END {
                break;
            }
            out.push(c);
            (a, b) = (b, c);
        }
        let mut text = out.iter().map(|&id| self.words[id as usize].as_str()).collect::<Vec<_>>().join(" ");
        if !text.ends_with(['.', '?', '!', '”', '"']) {
            text.push('.');
        }
        text
    }

    /// Paragraphs totalling about `words` words.
    pub fn body(&self, dice: &mut Dice, words: usize) -> String {
        let mut paragraphs = Vec::new();
        let mut written = 0;
        while written < words {
            let sentences = 2 + dice.below(4) as usize;
            let mut paragraph = Vec::with_capacity(sentences);
            for _ in 0..sentences {
                let sentence = self.sentence(dice, 40);
                written += sentence.split_whitespace().count();
                paragraph.push(sentence);
                if written >= words {
                    break;
                }
            }
            paragraphs.push(paragraph.join(" "));
        }
        paragraphs.join("\n\n")
    }

    /// A headline of `min..=max` characters in Title Case, without final punctuation.
    pub fn headline(&self, dice: &mut Dice, min: usize, max: usize) -> String {
        for _ in 0..20 {
            let sentence = self.sentence(dice, 30);
            let mut headline = String::new();
            for word in sentence.trim_end_matches(['.', '?', '!']).split_whitespace() {
                let word: String = word.chars().filter(|c| !matches!(c, '“' | '”' | '"' | '(' | ')')).collect();
                if word.is_empty() {
                    continue;
                }
                if headline.len() + word.len() + 1 > max {
                    break;
                }
                if !headline.is_empty() {
                    headline.push(' ');
                }
                headline.push_str(&title_case(&word));
            }
            let headline = headline.trim_end_matches([',', ';', ':']).to_owned();
            if headline.len() >= min {
                return headline;
            }
        }
        "Newsroom Weighs the Week’s Biggest Stories as Readers Look for Answers".into()
    }
}

fn title_case(word: &str) -> String {
    const SMALL: &[&str] = &["a", "an", "and", "as", "at", "but", "by", "for", "in", "of", "on", "or", "the", "to"];
    if SMALL.contains(&word) {
        return word.to_owned();
    }
    let mut chars = word.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn split_sentences(text: &str) -> Vec<String> {
    let flat: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with(['#', '-', '*', '|']))
        .collect::<Vec<_>>()
        .join(" ")
        .replace("**", "");
    let mut sentences = Vec::new();
    let mut current = String::new();
    for ch in flat.chars() {
        current.push(ch);
        if matches!(ch, '.' | '?' | '!') {
            sentences.push(std::mem::take(&mut current).trim().to_owned());
        }
    }
    sentences
}

#[cfg(test)]
mod tests {
    use super::*;

    const CORPUS: &str = "The port reopened on Monday after repairs. Officials said the cranes were ready for ships. \
        The mayor said the port would hire more workers this year. Residents said the harbour felt alive again.";

    #[test]
    fn generates_sentences_from_the_corpus_vocabulary() {
        let model = TextModel::train([CORPUS]);
        let mut dice = Dice::seeded("x");
        let sentence = model.sentence(&mut dice, 40);
        assert!(sentence.ends_with('.'));
        for word in sentence.trim_end_matches('.').split_whitespace() {
            assert!(CORPUS.contains(word.trim_end_matches('.')), "{word}");
        }
    }

    #[test]
    fn bodies_and_headlines_have_the_asked_lengths() {
        let model = TextModel::train([CORPUS]);
        let mut dice = Dice::seeded("y");
        let body = model.body(&mut dice, 300);
        let words = body.split_whitespace().count();
        assert!((300..340).contains(&words), "{words}");
        let headline = model.headline(&mut dice, 20, 60);
        assert!((20..=60).contains(&headline.len()), "{headline}");
    }
}
