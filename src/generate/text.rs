//! A word-level Markov model trained on the demo newsroom's prose, for generated datasets whose
//! headlines and bodies have realistic lengths and read like news text, not lorem ipsum.

use std::collections::HashMap;

use crate::demo::Dice;

pub struct TextModel {
    /// For each state (a pair of words), the words that may follow it, with repeats standing for
    /// frequency, each with the state it leads to. States are numbered once at training, so
    /// generating a word is two vector lookups, not a hash of the pair.
    next: Vec<Vec<Step>>,
    /// The states (first two words) that open a sentence.
    starts: Vec<(u32, u32, u32)>,
    words: Vec<String>,
}

/// One way out of a state: the next word and the state it leads to, or the end of the sentence.
#[derive(Clone, Copy)]
struct Step {
    word: u32,
    state: u32,
}

const END: u32 = u32::MAX;

impl TextModel {
    /// Trains on sentences (split on `.`, `?`, `!`) of the given texts.
    pub fn train<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut words = Vec::new();
        let mut states: HashMap<(u32, u32), u32> = HashMap::new();
        let mut next: Vec<Vec<Step>> = Vec::new();
        let mut starts = Vec::new();
        let mut id_of = |word: &str, words: &mut Vec<String>| -> u32 {
            *ids.entry(word.to_owned()).or_insert_with(|| {
                words.push(word.to_owned());
                (words.len() - 1) as u32
            })
        };
        let mut state_of = |pair: (u32, u32), next: &mut Vec<Vec<Step>>| -> u32 {
            *states.entry(pair).or_insert_with(|| {
                next.push(Vec::new());
                (next.len() - 1) as u32
            })
        };
        for text in texts {
            for sentence in split_sentences(text) {
                let tokens: Vec<u32> = sentence.split_whitespace().map(|w| id_of(w, &mut words)).collect();
                if tokens.len() < 4 {
                    continue;
                }
                let first = state_of((tokens[0], tokens[1]), &mut next);
                starts.push((tokens[0], tokens[1], first));
                for window in tokens.windows(3) {
                    let from = state_of((window[0], window[1]), &mut next);
                    let to = state_of((window[1], window[2]), &mut next);
                    next[from as usize].push(Step { word: window[2], state: to });
                }
                let n = tokens.len();
                let last = state_of((tokens[n - 2], tokens[n - 1]), &mut next);
                next[last as usize].push(Step { word: END, state: END });
            }
        }
        Self { next, starts, words }
    }

    /// One sentence of at most `max_words` words, ending with its punctuation.
    pub fn sentence(&self, dice: &mut Dice, max_words: usize) -> String {
        let mut text = String::new();
        self.push_sentence(&mut text, dice, max_words);
        text
    }

    /// Appends one sentence of at most `max_words` words to `text`; returns how many words it has.
    fn push_sentence(&self, text: &mut String, dice: &mut Dice, max_words: usize) -> usize {
        if self.starts.is_empty() {
            return 0;
        }
        let (a, b, mut state) = self.starts[dice.index(self.starts.len())];
        text.push_str(&self.words[a as usize]);
        text.push(' ');
        text.push_str(&self.words[b as usize]);
        let mut count = 2;
        while count < max_words {
            let Some(choices) = self.next.get(state as usize) else { break };
            let Some(&step) = choices.get(dice.index(choices.len())) else { break };
            if step.word == END {
                break;
            }
            text.push(' ');
            text.push_str(&self.words[step.word as usize]);
            count += 1;
            state = step.state;
        }
        if !text.ends_with(['.', '?', '!', '”', '"']) {
            text.push('.');
        }
        count
    }

    /// Paragraphs totalling about `words` words.
    pub fn body(&self, dice: &mut Dice, words: usize) -> String {
        let mut text = String::with_capacity(words * 7);
        let mut written = 0;
        while written < words {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            let sentences = 2 + dice.below(4) as usize;
            for n in 0..sentences {
                if n > 0 {
                    text.push(' ');
                }
                written += self.push_sentence(&mut text, dice, 40);
                if written >= words {
                    break;
                }
            }
        }
        text
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

/// The prose of a Markdown text, cut into sentences: headings, list items and tables are left out,
/// and so are code spans and inline markup (emphasis, links keep their text), so the model learns
/// news prose rather than fragments of syntax.
fn split_sentences(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim_start().starts_with(['#', '-', '*', '|'])).collect();
    let mut flat = String::with_capacity(text.len());
    let mut chars = lines.join(" ").chars().collect::<Vec<_>>().into_iter().peekable();
    let mut in_code = false;
    while let Some(ch) = chars.next() {
        match ch {
            '`' => in_code = !in_code,
            _ if in_code => {}
            '*' | '[' => {}
            // A link's target: `](…)` leaves only the link's text.
            ']' if chars.peek() == Some(&'(') => {
                for skipped in chars.by_ref() {
                    if skipped == ')' {
                        break;
                    }
                }
            }
            ']' => {}
            _ => flat.push(ch),
        }
    }
    let mut sentences = Vec::new();
    let mut current = String::new();
    let mut ended = false;
    for ch in flat.chars() {
        // Closing quotes and brackets after the full stop belong to the sentence they close.
        if ended && !matches!(ch, '”' | '’' | '"' | ')') {
            sentences.push(std::mem::take(&mut current).trim().to_owned());
            ended = false;
        }
        current.push(ch);
        if matches!(ch, '.' | '?' | '!') {
            ended = true;
        }
    }
    if ended {
        sentences.push(current.trim().to_owned());
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
