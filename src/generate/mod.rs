//! Synthetic newsrooms for benchmarks: N articles over several years, with sections, hundreds of
//! authors, a long tail of tags, bodies of 300 to 1,500 words, skewed comments and view buckets.
//! Everything is written through the product's own [`Store`], in large batches.

pub mod text;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::demo::{self, Dice};
use crate::domain::{ArticleStatus, CommentStatus, FeaturedImage, Slug};
use crate::markdown;
use crate::store::{NewArticle, NewAuthor, NewComment, NewSection, Store, StoreError, ViewIncrement};
use text::TextModel;

const SECTIONS: &[&str] =
    &["Asia", "World", "Business", "Technology", "Lifestyle", "Debate", "Science", "Sport", "Culture", "Travel"];
const FIRST_NAMES: &[&str] = &[
    "Ada", "Ben", "Chloé", "Dev", "Elif", "Femi", "Grace", "Hiro", "Ines", "Jonas", "Kiri", "Lena", "Mateo", "Nia",
    "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tala", "Umar", "Vera", "Wen", "Ximena", "Yusuf", "Zara",
];
const LAST_NAMES: &[&str] = &[
    "Abbott", "Bianchi", "Chen", "Dubois", "Eze", "Fischer", "García", "Haddad", "Ito", "Jensen", "Kowalski", "Lopez",
    "Mensah", "Novak", "Okafor", "Park", "Quist", "Rossi", "Silva", "Tanaka", "Usman", "Varga", "Wright", "Yilmaz",
];
const READERS: &[&str] = &["Min-jun", "Sofia R.", "Kenji", "Amara", "Peter L.", "Lucía", "Tom", "Aisha B."];
const REMARKS: &[&str] = &[
    "Clear and balanced reporting. Thank you.",
    "I would like to read more about what this means for ordinary families.",
    "Good piece, but the headline oversells it a little.",
    "Interesting. I had no idea the numbers had changed that much.",
    "Could you follow up in a few months?",
    "Sharing this with my colleagues.",
];

pub struct Options {
    pub articles: usize,
    pub seed: u64,
    /// Articles per transaction.
    pub batch: usize,
}

#[derive(Debug, Default)]
pub struct Summary {
    pub articles: usize,
    pub authors: usize,
    pub tags: usize,
    pub comments: usize,
    pub views: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("the database already has articles; generate into an empty data directory")]
    NotEmpty,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Demo(#[from] demo::DemoError),
}

/// One generated article with what hangs off it, before it has an id.
struct Draft {
    article: NewArticle,
    comments: usize,
    views: Vec<(i64, i64)>,
    primary_tag: usize,
}

struct Generator {
    model: TextModel,
    dice: Dice,
    section_ids: Vec<i64>,
    author_ids: Vec<i64>,
    tags: Vec<(String, String)>,
    now: DateTime<Utc>,
    span_secs: i64,
    total: usize,
}

impl Generator {
    /// A Zipf-like pick: small indexes are much more likely.
    fn skewed(&mut self, n: usize) -> usize {
        let u = self.dice.unit();
        ((n as f64).powf(u) - 1.0).floor() as usize % n.max(1)
    }

    fn draft(&mut self, index: usize) -> Draft {
        // Older articles are sparser: the archive grows over the years.
        let remaining = 1.0 - index as f64 / self.total as f64;
        let age = (self.span_secs as f64 * remaining.powf(1.6)) as i64 + self.dice.below(600) as i64;
        let published_at = self.now - Duration::seconds(age);
        let headline = self.model.headline(&mut self.dice, 50, 110);
        let slug =
            format!("{}-{index}", Slug::from_title(&headline).map(Slug::into_inner).unwrap_or_else(|_| "story".into()));
        // Log-normal-ish body length around 550 words, clamped to 300..=1500.
        let z: f64 = (0..6).map(|_| self.dice.unit()).sum::<f64>() - 3.0;
        let words = (550.0 * (0.45 * z).exp()).clamp(300.0, 1500.0) as usize;
        let body = self.model.body(&mut self.dice, words);
        let dek = self.model.sentence(&mut self.dice, 30);
        let primary_tag = self.skewed(self.tags.len());
        let mut tag_indexes = vec![primary_tag];
        for _ in 0..self.dice.below(3) {
            let t = self.skewed(self.tags.len());
            if !tag_indexes.contains(&t) {
                tag_indexes.push(t);
            }
        }
        let lead = self.skewed(self.author_ids.len());
        let lead_author = self.author_ids[lead];
        let mut author_ids = vec![lead_author];
        if self.dice.below(8) == 0 {
            let second = self.author_ids[self.dice.below(self.author_ids.len() as u64) as usize];
            if second != lead_author {
                author_ids.push(second);
            }
        }
        let views_total = (20.0 * (1.0 / self.dice.unit().max(1e-4)).powf(0.8)) as i64;
        let hours_old = age / 3600;
        let publication_hour = published_at.timestamp() - published_at.timestamp().rem_euclid(3600);
        // Recent stories get hourly buckets (Popular Now reads those); older ones one bucket.
        let views = if hours_old < 7 * 24 {
            let hours = hours_old.max(1);
            (0..hours).map(|h| (publication_hour + h * 3600, (views_total / hours).max(1))).collect()
        } else {
            vec![(publication_hour, views_total)]
        };
        Draft {
            article: NewArticle {
                section_id: self.section_ids[self.dice.below(self.section_ids.len() as u64) as usize],
                slug,
                headline,
                dek,
                body_html: markdown::render(&body),
                body_markdown: body,
                image: (self.dice.below(3) > 0).then(|| FeaturedImage {
                    url: format!("/media/demo/generated-{}.svg", index % 10),
                    alt: "Abstract illustration".into(),
                    caption: None,
                    credit: Some("Illustration: Broadsheet".into()),
                    width: 1600,
                    height: 900,
                    srcset: String::new(),
                    srcset_webp: String::new(),
                    card_url: String::new(),
                }),
                status: ArticleStatus::Published,
                published_at: Some(published_at),
                updated_at: published_at,
                author_ids,
                tags: tag_indexes.iter().map(|&i| self.tags[i].clone()).collect(),
            },
            comments: (50.0 * self.dice.unit().powi(10)) as usize,
            views,
            primary_tag,
        }
    }
}

/// Fills an empty store. `progress` is told how many articles are written so far.
pub async fn generate(
    store: Arc<dyn Store>,
    options: &Options,
    progress: impl Fn(usize),
) -> Result<Summary, GenerateError> {
    if !store.has_no_articles().await? {
        return Err(GenerateError::NotEmpty);
    }
    let now = Utc::now();
    let (headlines, bodies) = demo::sample_texts()?;
    let model = TextModel::train(headlines.iter().chain(bodies.iter()).map(String::as_str));
    let mut dice = Dice::from_seed(options.seed);

    let mut section_ids = Vec::new();
    for (position, name) in SECTIONS.iter().enumerate() {
        let slug = Slug::from_title(name).map(Slug::into_inner).unwrap_or_else(|_| format!("section-{position}"));
        let section =
            store.insert_section(NewSection { slug, name: (*name).into(), position: position as i64 }).await?;
        section_ids.push(section.id);
    }
    let author_count = (options.articles / 1000).clamp(200, 600);
    let mut author_ids = Vec::with_capacity(author_count);
    for n in 0..author_count {
        let first = FIRST_NAMES[n % FIRST_NAMES.len()];
        let last = LAST_NAMES[(n / FIRST_NAMES.len() + n) % LAST_NAMES.len()];
        let name = format!("{first} {last}");
        let slug = format!("{}-{n}", Slug::from_title(&name).map(Slug::into_inner).unwrap_or_else(|_| "author".into()));
        let author = store
            .insert_author(NewAuthor {
                email: format!("{slug}@newsroom.example"),
                bio: format!("{name} reports for the newsroom."),
                name,
                slug,
                photo_url: None,
            })
            .await?;
        author_ids.push(author.id);
    }
    let mut vocabulary: Vec<String> = bodies
        .iter()
        .flat_map(|b| crate::ranking::related::tokens(b).collect::<Vec<_>>())
        .filter(|w| w.len() >= 5 && w.chars().all(|c| c.is_ascii_lowercase()))
        .collect();
    vocabulary.sort();
    vocabulary.dedup();
    let tags: Vec<(String, String)> = vocabulary.iter().take(1500).map(|w| (w.clone(), title_case_word(w))).collect();

    let mut generator = Generator {
        model,
        dice: Dice::from_seed(dice.next_u64()),
        section_ids,
        author_ids,
        tags,
        now,
        span_secs: 5 * 365 * 86_400,
        total: options.articles,
    };
    let mut summary = Summary { authors: author_count, tags: generator.tags.len(), ..Summary::default() };
    // The latest articles per primary tag, as cheap related lists for generated data.
    let mut recent_by_tag: HashMap<usize, Vec<i64>> = HashMap::new();
    let mut must_reads = Vec::new();

    let mut index = 0;
    while index < options.articles {
        let count = options.batch.min(options.articles - index);
        let drafts: Vec<Draft> = (index..index + count).map(|i| generator.draft(i)).collect();
        let articles: Vec<NewArticle> = drafts.iter().map(|d| d.article.clone()).collect();
        let ids = store.insert_articles(&articles).await?;

        let mut comments = Vec::new();
        let mut views = Vec::new();
        let mut related = Vec::with_capacity(ids.len());
        for (draft, &id) in drafts.iter().zip(&ids) {
            let published = draft.article.published_at.unwrap_or(now);
            for n in 0..draft.comments {
                comments.push(NewComment {
                    article_id: id,
                    author_name: READERS[(id as usize + n) % READERS.len()].into(),
                    body: REMARKS[(id as usize * 7 + n) % REMARKS.len()].into(),
                    status: CommentStatus::Published,
                    fingerprint: format!("generated-{id}-{n}"),
                    created_at: (published + Duration::minutes(10 * (n as i64 + 1))).min(now),
                });
            }
            views.extend(draft.views.iter().map(|&(hour, views)| ViewIncrement { article_id: id, hour, views }));
            let recent = recent_by_tag.entry(draft.primary_tag).or_default();
            related.push((id, recent.iter().rev().map(|&r| (r, 1.0)).collect::<Vec<_>>()));
            recent.push(id);
            if recent.len() > 12 {
                recent.remove(0);
            }
        }
        for result in store.insert_comments(&comments).await? {
            result?;
        }
        summary.comments += comments.len();
        summary.views += views.iter().map(|v| v.views).sum::<i64>();
        store.record_views(&views).await?;
        store.set_related(&related).await?;
        if index + count + 200 >= options.articles {
            must_reads.extend(ids.iter().step_by(17).copied());
        }
        index += count;
        progress(index);
    }
    must_reads.truncate(10);
    store.set_must_reads(&must_reads).await?;
    summary.articles = options.articles;
    Ok(summary)
}

fn title_case_word(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
