//! Broadsheet: a self-hosted news publishing platform.

/// Newsroom accounts: passwords, tokens, TOTP and recovery codes, free of HTTP and storage.
pub mod auth;
/// In-memory cache of rendered pages, with invalidation by dependency.
pub mod cache;
/// Command-line subcommands.
pub mod cli;
pub mod clock;
/// Typed settings from defaults, file, environment and flags.
pub mod config;
/// The demo newsroom loaded by `serve --demo`.
pub mod demo;
/// Free space for writes, and the watermark below which they are refused.
pub mod disk;
/// The newsroom's vocabulary as validated types.
pub mod domain;
/// Synthetic newsrooms for benchmarks.
pub mod generate;
/// Group commit: many concurrent comments, one durable transaction.
pub mod group_commit;
/// Background jobs beside the listeners: scheduler, view flusher, media variants and the rest.
pub mod jobs;
/// Markdown to sanitised HTML.
pub mod markdown;
/// Uploaded images: checking, cleaning, resized variants and social cards.
pub mod media;
/// The comment policy.
pub mod moderation;
/// The newsroom's rules: workflow, checklist, scheduler, site settings.
pub mod newsroom;
/// Related articles and the article page's story modules.
pub mod ranking;
/// Article revisions: line diffs between saved versions.
pub mod revisions;
/// Storage behind one trait, one file per backend.
pub mod store;
/// Cookie-free view counting, buffered and flushed in batches.
pub mod views;
/// HTTP: state, router, pages, errors.
pub mod web;
