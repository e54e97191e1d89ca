//! "You May Also Like": content similarity by TF-IDF cosine over headline, tags and body, nudged
//! towards recent articles. Computed when an article is published or changed, never per request.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::domain::ArticleId;
use crate::store::RelatedDoc;

/// How many related articles we keep per article. More than the page shows, so that the page can
/// skip those already shown in other modules.
pub const KEEP: usize = 20;

/// Words too common to say anything about a story's subject.
const STOPWORDS: &[&str] = &[
    "about", "after", "again", "against", "all", "also", "and", "any", "are", "because", "been", "before", "being",
    "between", "both", "but", "can", "could", "did", "does", "doing", "down", "during", "each", "few", "for", "from",
    "further", "had", "has", "have", "having", "her", "here", "hers", "him", "his", "how", "into", "its", "itself",
    "just", "more", "most", "not", "now", "off", "once", "only", "other", "our", "ours", "out", "over", "own", "said",
    "same", "says", "she", "should", "some", "such", "than", "that", "the", "their", "theirs", "them", "then", "there",
    "these", "they", "this", "those", "through", "too", "under", "until", "very", "was", "were", "what", "when",
    "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "one", "two",
    "new", "year", "years", "like", "many", "much", "may", "might", "must", "its", "who", "get", "got", "make",
];

/// Splits text into lowercase words of three or more letters, minus stopwords.
pub fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3)
        .map(str::to_lowercase)
        .filter(|w| !STOPWORDS.contains(&w.as_str()) && !w.chars().all(|c| c.is_ascii_digit()))
}

/// Term weights for one document: the headline and tags count several times over the body, since
/// they say most about what a story is.
fn term_counts(doc: &RelatedDoc) -> HashMap<String, f32> {
    let mut counts: HashMap<String, f32> = HashMap::new();
    for word in tokens(&doc.headline) {
        *counts.entry(word).or_default() += 3.0;
    }
    for tag in &doc.tags {
        for word in tokens(tag) {
            *counts.entry(word).or_default() += 4.0;
        }
    }
    for word in tokens(&doc.body_markdown) {
        *counts.entry(word).or_default() += 1.0;
    }
    counts
}

/// A corpus prepared for similarity queries: one unit-length TF-IDF vector per document.
pub struct Corpus {
    ids: Vec<ArticleId>,
    published: Vec<DateTime<Utc>>,
    vectors: Vec<Vec<(u32, f32)>>,
}

impl Corpus {
    pub fn build(docs: &[RelatedDoc]) -> Self {
        let counts: Vec<HashMap<String, f32>> = docs.iter().map(term_counts).collect();
        let mut vocabulary: HashMap<&str, u32> = HashMap::new();
        let mut document_frequency: Vec<u32> = Vec::new();
        for doc in &counts {
            for term in doc.keys() {
                let next = vocabulary.len() as u32;
                let id = *vocabulary.entry(term.as_str()).or_insert(next);
                if id as usize == document_frequency.len() {
                    document_frequency.push(0);
                }
                document_frequency[id as usize] += 1;
            }
        }
        let n = docs.len().max(1) as f32;
        let vectors = counts
            .iter()
            .map(|doc| {
                let mut vector: Vec<(u32, f32)> = doc
                    .iter()
                    .map(|(term, &tf)| {
                        let id = vocabulary[term.as_str()];
                        let idf = (n / document_frequency[id as usize] as f32).ln() + 1.0;
                        (id, (1.0 + tf.ln()) * idf)
                    })
                    .collect();
                let norm = vector.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
                if norm > 0.0 {
                    vector.iter_mut().for_each(|(_, w)| *w /= norm);
                }
                vector.sort_unstable_by_key(|(id, _)| *id);
                vector
            })
            .collect();
        Self {
            ids: docs.iter().map(|d| d.id).collect(),
            published: docs.iter().map(|d| d.published_at).collect(),
            vectors,
        }
    }

    /// The `KEEP` most similar other documents to the one with `id`, best first. Similarity is
    /// weighted so a story from this week beats an equally similar one from last year.
    pub fn related_to(&self, id: ArticleId, now: DateTime<Utc>) -> Vec<(ArticleId, f32)> {
        let Some(target) = self.ids.iter().position(|&other| other == id) else { return Vec::new() };
        let mut scored: Vec<(ArticleId, f32)> = (0..self.ids.len())
            .filter(|&i| i != target)
            .filter_map(|i| {
                let similarity = dot(&self.vectors[target], &self.vectors[i]);
                (similarity > 0.0).then(|| (self.ids[i], similarity * recency_weight(self.published[i], now)))
            })
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
        scored.truncate(KEEP);
        scored
    }

    pub fn ids(&self) -> &[ArticleId] {
        &self.ids
    }
}

/// Halves a candidate's advantage every 30 days of age, never below half its similarity.
fn recency_weight(published: DateTime<Utc>, now: DateTime<Utc>) -> f32 {
    let age_days = (now - published).num_hours().max(0) as f32 / 24.0;
    0.5 + 0.5 * 0.5f32.powf(age_days / 30.0)
}

fn dot(a: &[(u32, f32)], b: &[(u32, f32)]) -> f32 {
    let (mut i, mut j, mut sum) = (0, 0, 0.0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                sum += a[i].1 * b[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    sum
}

/// Recomputes related articles for every published article, for the demo load and for repair.
pub async fn refresh_all(store: &dyn crate::store::Store, now: DateTime<Utc>) -> crate::store::StoreResult<()> {
    let docs = store.related_corpus().await?;
    let corpus = Corpus::build(&docs);
    let lists: Vec<_> = corpus.ids().iter().map(|&id| (id, corpus.related_to(id, now))).collect();
    store.set_related(&lists).await
}

/// After one article is published: computes its related list, and recomputes the lists of the
/// articles most similar to it, since those are the lists it is most likely to join. Reads the
/// corpus once and scores only a handful of articles against it, so it stays cheap on big archives.
pub async fn refresh_around(
    store: &dyn crate::store::Store,
    id: ArticleId,
    now: DateTime<Utc>,
) -> crate::store::StoreResult<()> {
    let docs = store.related_corpus().await?;
    let corpus = Corpus::build(&docs);
    if !corpus.ids().contains(&id) {
        return Ok(());
    }
    let own = corpus.related_to(id, now);
    let mut lists: Vec<_> = own.iter().map(|&(neighbour, _)| (neighbour, corpus.related_to(neighbour, now))).collect();
    lists.push((id, own));
    store.set_related(&lists).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn doc(id: i64, headline: &str, tags: &[&str], body: &str, days_old: i64) -> RelatedDoc {
        RelatedDoc {
            id: ArticleId(id),
            published_at: Utc::now() - Duration::days(days_old),
            headline: headline.into(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            body_markdown: body.into(),
        }
    }

    #[test]
    fn similar_stories_rank_above_unrelated_ones() {
        let docs = vec![
            doc(1, "Electric car sales climb in Europe", &["electric-vehicles"], "Battery cars sold well.", 1),
            doc(2, "Battery maker expands electric car plant", &["electric-vehicles"], "Battery output doubles.", 2),
            doc(3, "Sleep better with a steady bedtime", &["health"], "Sleep routines matter.", 1),
        ];
        let corpus = Corpus::build(&docs);
        let related = corpus.related_to(ArticleId(1), Utc::now());
        assert_eq!(related.first().map(|r| r.0), Some(ArticleId(2)));
        assert!(related.iter().all(|r| r.0 != ArticleId(1)), "an article is never related to itself");
        assert!(related.iter().all(|r| r.0 != ArticleId(3)), "no shared words means no relation");
    }

    #[test]
    fn recency_breaks_a_tie_between_equally_similar_stories() {
        let docs = vec![
            doc(1, "Harbour cranes return", &["ports"], "Cranes at the harbour.", 0),
            doc(2, "Harbour cranes return", &["ports"], "Cranes at the harbour.", 400),
            doc(3, "Harbour cranes return", &["ports"], "Cranes at the harbour.", 2),
        ];
        let corpus = Corpus::build(&docs);
        let related: Vec<ArticleId> = corpus.related_to(ArticleId(1), Utc::now()).into_iter().map(|r| r.0).collect();
        assert_eq!(related, vec![ArticleId(3), ArticleId(2)]);
    }

    #[test]
    fn tokens_drop_short_words_stopwords_and_numbers() {
        let words: Vec<String> = tokens("The EV3 won in 2025, and it's Kia’s first").collect();
        assert_eq!(words, vec!["ev3", "won", "kia", "first"]);
    }
}
