//! Synthetic newsrooms for benchmarks: N articles over several years, with sections, hundreds of
//! authors, a long tail of tags, bodies of 300 to 1,500 words, skewed comments and view buckets.
//! Everything is written through the product's own [`Store`], in large batches, while other
//! threads draw the next batches.

pub mod text;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::config::Settings;
use crate::demo::{self, Dice};
use crate::domain::{ArticleId, ArticleStatus, AuthorId, CommentStatus, FeaturedImage, SectionId, Slug};
use crate::markdown;
use crate::store::{ArticleWithHistory, NewArticle, NewAuthor, NewSection, PastComment, Store, StoreError, sqlite};
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

/// How far a run has got, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// This many articles are written.
    Written(usize),
    /// Every article is written; a new SQLite database is being indexed and synced.
    Finishing,
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("the database already has articles; generate into an empty data directory")]
    NotEmpty,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Demo(#[from] demo::DemoError),
    #[error("a generator thread stopped: {0}")]
    Worker(String),
}

/// One generated article with what hangs off it, before it has an id.
struct Draft {
    history: ArticleWithHistory,
    primary_tag: usize,
}

/// What every article is drawn from; shared by the generator threads.
struct Plan {
    model: TextModel,
    seed: u64,
    section_ids: Vec<SectionId>,
    author_ids: Vec<AuthorId>,
    tags: Vec<(String, String)>,
    now: DateTime<Utc>,
    span_secs: i64,
    total: usize,
}

/// A Zipf-like pick: small indexes are much more likely.
fn skewed(dice: &mut Dice, n: usize) -> usize {
    let u = dice.unit();
    ((n as f64).powf(u) - 1.0).floor() as usize % n.max(1)
}

impl Plan {
    /// Article `index` (from 0, oldest first). Each article has its own dice, so articles can be
    /// drawn on any thread in any order and the same seed still gives the same newsroom.
    fn draft(&self, index: usize) -> Draft {
        let dice = &mut Dice::for_item(self.seed, index as u64);
        // Older articles are sparser: the archive grows over the years.
        let remaining = 1.0 - index as f64 / self.total as f64;
        let age = (self.span_secs as f64 * remaining.powf(1.6)) as i64 + dice.below(600) as i64;
        let published_at = self.now - Duration::seconds(age);
        let headline = self.model.headline(dice, 50, 110);
        let slug =
            format!("{}-{index}", Slug::from_title(&headline).map(Slug::into_inner).unwrap_or_else(|_| "story".into()));
        // Log-normal-ish body length around 550 words, clamped to 300..=1500.
        let z: f64 = (0..6).map(|_| dice.unit()).sum::<f64>() - 3.0;
        let words = (550.0 * (0.45 * z).exp()).clamp(300.0, 1500.0) as usize;
        let body = self.model.body(dice, words);
        let dek = self.model.sentence(dice, 30);
        let primary_tag = skewed(dice, self.tags.len());
        let mut tag_indexes = vec![primary_tag];
        for _ in 0..dice.below(3) {
            let t = skewed(dice, self.tags.len());
            if !tag_indexes.contains(&t) {
                tag_indexes.push(t);
            }
        }
        let lead = skewed(dice, self.author_ids.len());
        let lead_author = self.author_ids[lead];
        let mut author_ids = vec![lead_author];
        if dice.below(8) == 0 {
            let second = self.author_ids[dice.below(self.author_ids.len() as u64) as usize];
            if second != lead_author {
                author_ids.push(second);
            }
        }
        let views_total = (20.0 * (1.0 / dice.unit().max(1e-4)).powf(0.8)) as i64;
        let hours_old = age / 3600;
        let publication_hour = published_at.timestamp() - published_at.timestamp().rem_euclid(3600);
        // Recent stories get hourly buckets (Popular Now reads those); older ones one bucket.
        let views = if hours_old < 7 * 24 {
            let hours = hours_old.max(1);
            (0..hours).map(|h| (publication_hour + h * 3600, (views_total / hours).max(1))).collect()
        } else {
            vec![(publication_hour, views_total)]
        };
        let image = (dice.below(3) > 0).then(|| FeaturedImage {
            url: format!("/media/demo/generated-{}.svg", index % 10),
            alt: "Abstract illustration".into(),
            caption: None,
            credit: Some("Illustration: Broadsheet".into()),
            width: 1600,
            height: 900,
            srcset: String::new(),
            srcset_webp: String::new(),
            card_url: String::new(),
        });
        let section_id = self.section_ids[dice.below(self.section_ids.len() as u64) as usize];
        // The article's number, which is its id in a new database, picks the reader and remark.
        let number = index + 1;
        let comments = (0..(50.0 * dice.unit().powi(10)) as usize)
            .map(|n| PastComment {
                author_name: READERS[(number + n) % READERS.len()].into(),
                body: REMARKS[(number * 7 + n) % REMARKS.len()].into(),
                status: CommentStatus::Published,
                fingerprint: format!("generated-{number}-{n}"),
                created_at: (published_at + Duration::minutes(10 * (n as i64 + 1))).min(self.now),
            })
            .collect();
        Draft {
            history: ArticleWithHistory {
                article: NewArticle {
                    section_id,
                    slug,
                    headline,
                    dek,
                    body_html: markdown::render(&body),
                    body_markdown: body,
                    image,
                    status: ArticleStatus::Published,
                    published_at: Some(published_at),
                    updated_at: published_at,
                    author_ids,
                    tags: tag_indexes.iter().map(|&i| self.tags[i].clone()).collect(),
                },
                comments,
                views,
            },
            primary_tag,
        }
    }
}

/// Fills the database `settings` name. A SQLite data directory without a database gets a new one
/// built aside and moved into place when complete ([`sqlite::Loading`]); any other database must
/// have no articles yet, and the rows go through its store as they are.
pub async fn generate_into(
    settings: &Settings,
    options: &Options,
    progress: impl Fn(Progress),
) -> Result<Summary, GenerateError> {
    if settings.database.url.is_none() {
        if let Some(loading) = sqlite::Loading::start(&settings.server.data_dir).await? {
            let summary = generate(loading.store(), options, &progress).await?;
            progress(Progress::Finishing);
            loading.finish().await?;
            return Ok(summary);
        }
    }
    let store = crate::store::open(settings).await?;
    generate(store, options, progress).await
}

/// Fills an empty store. Articles are drawn on one thread per core, in batches, while this task
/// writes the batches in order, each in one transaction.
pub async fn generate(
    store: Arc<dyn Store>,
    options: &Options,
    progress: impl Fn(Progress),
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

    let plan = Arc::new(Plan {
        model,
        seed: dice.next_u64(),
        section_ids,
        author_ids,
        tags,
        now,
        span_secs: 5 * 365 * 86_400,
        total: options.articles,
    });
    let mut summary = Summary { authors: author_count, tags: plan.tags.len(), ..Summary::default() };
    let batch = options.batch.max(1);
    let batches = options.articles.div_ceil(batch);
    let (mut receivers, mut workers) = (Vec::new(), Vec::new());
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get).min(batches.max(1));
    for thread in 0..threads {
        // Two batches ahead per thread at most, so memory stays bounded when the writer is slower.
        let (sender, receiver) = tokio::sync::mpsc::channel::<Vec<Draft>>(2);
        let plan = Arc::clone(&plan);
        workers.push(tokio::task::spawn_blocking(move || {
            for number in (thread..batches).step_by(threads) {
                let start = number * batch;
                let drafts = (start..(start + batch).min(plan.total)).map(|i| plan.draft(i)).collect();
                if sender.blocking_send(drafts).is_err() {
                    return; // The writer stopped.
                }
            }
        }));
        receivers.push(receiver);
    }

    // The latest articles per primary tag, as cheap related lists for generated data.
    let mut recent_by_tag: HashMap<usize, Vec<ArticleId>> = HashMap::new();
    let mut must_reads = Vec::new();
    let newest = options.articles.saturating_sub(200);
    let mut written = 0;
    for number in 0..batches {
        let thread = number % threads;
        let Some(drafts) = receivers[thread].recv().await else {
            let why = match (&mut workers[thread]).await {
                Err(e) => e.to_string(),
                Ok(()) => "it ended early".to_owned(),
            };
            return Err(GenerateError::Worker(why));
        };
        let (histories, primary_tags): (Vec<ArticleWithHistory>, Vec<usize>) =
            drafts.into_iter().map(|d| (d.history, d.primary_tag)).unzip();
        for history in &histories {
            summary.comments += history.comments.len();
            summary.views += history.views.iter().map(|&(_, views)| views).sum::<i64>();
        }
        let ids = store.insert_articles_with_history(histories).await?;
        let mut related = Vec::with_capacity(ids.len());
        for (offset, (&id, primary_tag)) in ids.iter().zip(primary_tags).enumerate() {
            let recent = recent_by_tag.entry(primary_tag).or_default();
            if !recent.is_empty() {
                related.push((id, recent.iter().rev().map(|&r| (r, 1.0)).collect::<Vec<_>>()));
            }
            recent.push(id);
            if recent.len() > 12 {
                recent.remove(0);
            }
            // Every 17th of the newest 200 is a must-read.
            let index = written + offset;
            if index >= newest && (index - newest) % 17 == 0 {
                must_reads.push(id);
            }
        }
        store.set_related(&related).await?;
        written += ids.len();
        progress(Progress::Written(written));
    }
    must_reads.truncate(10);
    store.set_must_reads(&must_reads).await?;
    store.refresh_planner_statistics().await?;
    summary.articles = options.articles;
    Ok(summary)
}

fn title_case_word(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
