//! The demo newsroom: six sections, ten authors and some sixty articles written for Broadsheet,
//! with the reference article among them, plus views, comments and editors' picks spread so that
//! every module on every page has something to show. Loaded only into a database with no articles,
//! so running `serve --demo` twice changes nothing.

mod art;

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use crate::domain::{ArticleId, ArticleStatus, FeaturedImage, Slug};
use crate::markdown;
use crate::store::{NewArticle, NewAuthor, NewComment, NewSection, Store, ViewIncrement};

const NEWSROOM: &str = include_str!("newsroom.toml");

/// (section the file belongs to, file contents)
const CONTENT: &[(&str, &str)] = &[
    ("asia", include_str!("content/reference.toml")),
    ("asia", include_str!("content/asia.toml")),
    ("world", include_str!("content/world.toml")),
    ("business", include_str!("content/business.toml")),
    ("technology", include_str!("content/technology.toml")),
    ("lifestyle", include_str!("content/lifestyle.toml")),
    ("debate", include_str!("content/debate.toml")),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Newsroom {
    section: Vec<DemoSection>,
    author: Vec<DemoAuthor>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoSection {
    slug: String,
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoAuthor {
    slug: String,
    name: String,
    email: String,
    bio: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContentFile {
    article: Vec<DemoArticle>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoArticle {
    section: Option<String>,
    slug: String,
    headline: String,
    dek: String,
    authors: Vec<String>,
    tags: Vec<String>,
    hours_ago: i64,
    /// Hours after publication when the story was last updated, if it was.
    updated_hours_after: Option<i64>,
    body: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("demo content does not parse: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("demo content is inconsistent: {0}")]
    Inconsistent(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("cannot write demo images: {0}")]
    Io(#[from] std::io::Error),
}

/// Headlines and bodies of the demo articles, to train generated text on.
pub(crate) fn sample_texts() -> Result<(Vec<String>, Vec<String>), DemoError> {
    let mut headlines = Vec::new();
    let mut bodies = Vec::new();
    for (_, text) in CONTENT {
        let file: ContentFile = toml::from_str(text)?;
        for article in file.article {
            headlines.push(article.headline);
            bodies.push(article.body);
        }
    }
    Ok((headlines, bodies))
}

/// Loads the demo newsroom if the store has no articles. Returns the number of articles loaded, or
/// `None` when the store already had content.
pub async fn load_if_empty(store: &dyn Store, media_dir: &Path) -> Result<Option<usize>, DemoError> {
    if !store.has_no_articles().await? {
        return Ok(None);
    }
    load(store, media_dir, Utc::now()).await.map(Some)
}

/// Tiny deterministic generator (SplitMix64) so the demo and generated datasets look the same on
/// every machine.
pub struct Dice(u64);

impl Dice {
    pub fn seeded(text: &str) -> Self {
        let hash = blake3::hash(text.as_bytes());
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&hash.as_bytes()[..8]);
        Self(u64::from_le_bytes(seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(Self::GOLDEN_GAMMA);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn from_seed(seed: u64) -> Self {
        Self(seed)
    }

    /// The generator for item `index` of a set seeded with `seed`: seeded with the `index`-th
    /// number `Dice::from_seed(seed)` would draw, reached directly, so items can be made in any
    /// order (or on several threads) and still come out the same.
    pub fn for_item(seed: u64, index: u64) -> Self {
        let mut base = Self(seed.wrapping_add(index.wrapping_mul(Self::GOLDEN_GAMMA)));
        Self(base.next_u64())
    }

    /// SplitMix64's step.
    const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// An index into a list of `n` (0 when `n` is 0), by multiplying instead of dividing: the
    /// text generator draws one per word.
    pub fn index(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

fn tag_name(slug: &str) -> String {
    slug.split('-')
        .map(|word| match word {
            "ai" | "eu" | "us" | "uk" => word.to_uppercase(),
            _ => {
                let mut chars = word.chars();
                chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
            }
        })
        .collect::<Vec<String>>()
        .join(" ")
}

async fn load(store: &dyn Store, media_dir: &Path, now: DateTime<Utc>) -> Result<usize, DemoError> {
    let newsroom: Newsroom = toml::from_str(NEWSROOM)?;
    let mut section_ids = HashMap::new();
    for (position, section) in newsroom.section.iter().enumerate() {
        Slug::parse_top_level(&section.slug).map_err(|e| DemoError::Inconsistent(format!("{}: {e}", section.slug)))?;
        let stored = store
            .insert_section(NewSection {
                slug: section.slug.clone(),
                name: section.name.clone(),
                position: position as i64,
            })
            .await?;
        section_ids.insert(section.slug.clone(), stored.id);
    }
    let mut author_ids = HashMap::new();
    for author in &newsroom.author {
        let email = crate::domain::Email::parse(&author.email)
            .map_err(|e| DemoError::Inconsistent(format!("{}: {e}", author.slug)))?;
        let stored = store
            .insert_author(NewAuthor {
                slug: author.slug.clone(),
                name: author.name.clone(),
                email: email.to_string(),
                bio: author.bio.clone(),
                photo_url: None,
            })
            .await?;
        author_ids.insert(author.slug.clone(), stored.id);
    }

    let art_dir = media_dir.join("demo");
    std::fs::create_dir_all(&art_dir)?;
    let mut articles = Vec::new();
    for (file_section, text) in CONTENT {
        let file: ContentFile = toml::from_str(text)?;
        for article in file.article {
            let section = article.section.clone().unwrap_or_else(|| (*file_section).to_owned());
            articles.push((section, article));
        }
    }
    // Oldest first, so ids grow with publication time as they would in a real newsroom.
    articles.sort_by_key(|(_, a)| std::cmp::Reverse(a.hours_ago));

    let mut ids = Vec::with_capacity(articles.len());
    for (section, article) in &articles {
        let section_id = *section_ids
            .get(section)
            .ok_or_else(|| DemoError::Inconsistent(format!("{}: unknown section {section}", article.slug)))?;
        let authors = article
            .authors
            .iter()
            .map(|slug| {
                author_ids
                    .get(slug)
                    .copied()
                    .ok_or_else(|| DemoError::Inconsistent(format!("{}: unknown author {slug}", article.slug)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Slug::parse(&article.slug).map_err(|e| DemoError::Inconsistent(format!("{}: {e}", article.slug)))?;
        let mut dice = Dice::seeded(&article.slug);
        let published_at = now - Duration::hours(article.hours_ago) - Duration::minutes(dice.below(50) as i64);
        // Some stories were updated after publication, as running stories are.
        let updated_after =
            article.updated_hours_after.or_else(|| (dice.below(6) == 0).then(|| 1 + dice.below(3) as i64));
        let updated_at = updated_after
            .map(|hours| published_at + Duration::hours(hours) + Duration::minutes(dice.below(50) as i64))
            .filter(|updated| *updated < now)
            .unwrap_or(published_at);
        let (svg, description) = art::illustration(section, &article.slug);
        std::fs::write(art_dir.join(format!("{}.svg", article.slug)), svg)?;
        let id = store
            .insert_article(NewArticle {
                section_id,
                slug: article.slug.clone(),
                headline: article.headline.clone(),
                dek: article.dek.clone(),
                body_html: markdown::render(&article.body),
                body_markdown: article.body.clone(),
                image: Some(FeaturedImage {
                    url: format!("/media/demo/{}.svg", article.slug),
                    alt: description,
                    caption: None,
                    credit: Some("Illustration: Broadsheet demo".into()),
                    width: art::WIDTH,
                    height: art::HEIGHT,
                    srcset: String::new(),
                    srcset_webp: String::new(),
                    card_url: String::new(),
                }),
                status: ArticleStatus::Published,
                published_at: Some(published_at),
                updated_at,
                author_ids: authors,
                tags: article.tags.iter().map(|t| (t.clone(), tag_name(t))).collect(),
            })
            .await?;
        ids.push((id, article.hours_ago, article.slug.clone()));
    }

    add_views(store, &ids, now).await?;
    add_comments(store, &ids, now).await?;
    // Editors' picks: a spread of older, substantial pieces, in an order an editor might choose.
    let picks: Vec<ArticleId> = ids.iter().rev().skip(6).step_by(4).take(10).map(|(id, _, _)| *id).collect();
    store.set_must_reads(&picks).await?;
    crate::ranking::related::refresh_all(store, now).await?;
    Ok(ids.len())
}

/// Spreads views over the last few days, more for newer stories, some stories breaking out.
async fn add_views(store: &dyn Store, ids: &[(ArticleId, i64, String)], now: DateTime<Utc>) -> Result<(), DemoError> {
    let this_hour = now.timestamp() - now.timestamp().rem_euclid(3600);
    let mut batch = Vec::new();
    for (id, hours_ago, slug) in ids {
        let mut dice = Dice::seeded(&format!("views:{slug}"));
        let appeal = 20 + dice.below(200) as i64 + if dice.below(5) == 0 { 600 } else { 0 };
        let since_published = (*hours_ago).min(96);
        for hour in 0..=since_published {
            let freshness = (since_published - hour + 1).min(24);
            let views = appeal * freshness / 24 / (1 + hour / 12) + dice.below(4) as i64;
            if views > 0 {
                batch.push(ViewIncrement { article_id: *id, hour: this_hour - hour * 3600, views });
            }
        }
    }
    store.record_views(&batch).await?;
    Ok(())
}

const READERS: &[&str] = &[
    "Min-jun",
    "Sofia R.",
    "Kenji Watanabe",
    "Amara",
    "Peter Lindqvist",
    "Lucía",
    "Oluwaseun",
    "Claire D.",
    "Hiroshi",
    "Marta K.",
    "Tom",
    "Aisha B.",
];

const REMARKS: &[&str] = &[
    "Clear and balanced reporting. Thank you for explaining the background so well.",
    "I would like to read more about what this means for ordinary families.",
    "Good piece, but the headline oversells it a little in my view.",
    "This is the first article I have read that explains both sides fairly.",
    "Interesting. I had no idea the numbers had changed that much since last year.",
    "Could you follow up in a few months to see whether any of this actually happened?",
    "The quotes from residents were the most useful part for me.",
    "Sharing this with my colleagues. We were discussing exactly this yesterday.",
    "I disagree with the conclusion, but the facts are laid out honestly.",
    "Thanks for keeping it short and to the point 👍🏽",
    "Lived there for ten years and this matches what I saw.\nThe second point especially.",
    "More of this kind of journalism, please.",
];

async fn add_comments(
    store: &dyn Store,
    ids: &[(ArticleId, i64, String)],
    now: DateTime<Utc>,
) -> Result<(), DemoError> {
    let mut comments = Vec::new();
    for (id, hours_ago, slug) in ids {
        let mut dice = Dice::seeded(&format!("comments:{slug}"));
        let count = dice.below(5);
        for n in 0..count {
            let minutes_after = 20 + (n as i64 + 1) * (dice.below(120) as i64 + 10);
            let created_at = (now - Duration::hours(*hours_ago) + Duration::minutes(minutes_after)).min(now);
            comments.push(NewComment {
                article_id: *id,
                author_name: READERS[dice.below(READERS.len() as u64) as usize].to_owned(),
                body: REMARKS[dice.below(REMARKS.len() as u64) as usize].to_owned(),
                status: crate::domain::CommentStatus::Published,
                fingerprint: format!("demo-{}", dice.next_u64()),
                created_at,
            });
        }
    }
    for result in store.insert_comments(&comments).await? {
        result?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_parses_and_meets_the_demo_promises() {
        let newsroom: Newsroom = toml::from_str(NEWSROOM).expect("newsroom parses");
        assert!(newsroom.section.len() >= 6);
        assert!(newsroom.author.len() >= 8);
        let mut slugs = std::collections::HashSet::new();
        let mut total = 0;
        for (section, text) in CONTENT {
            let file: ContentFile = toml::from_str(text).expect("content parses");
            for article in file.article {
                total += 1;
                assert!(slugs.insert(article.slug.clone()), "duplicate slug {}", article.slug);
                assert!((1..=336).contains(&article.hours_ago), "{} is outside the last 14 days", article.slug);
                assert!(!article.body.to_lowercase().contains("lorem ipsum"));
                let section = article.section.as_deref().unwrap_or(section);
                assert!(newsroom.section.iter().any(|s| s.slug == section));
                for author in &article.authors {
                    assert!(newsroom.author.iter().any(|a| &a.slug == author), "unknown author {author}");
                }
            }
        }
        assert!(total >= 60, "only {total} demo articles");
    }

    #[test]
    fn tag_names_are_title_case() {
        assert_eq!(tag_name("electric-vehicles"), "Electric Vehicles");
        assert_eq!(tag_name("ai"), "AI");
    }
}
