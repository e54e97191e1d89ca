//! The newsroom's rules without HTTP: the article, curation, media, moderation, people, sections
//! and own-account use cases, the editorial workflow, the pre-publish checklist, the scheduler,
//! newsroom-edited site settings and the audit trail.

pub mod account;
pub mod articles;
pub mod checklist;
pub mod curation;
pub mod media;
pub mod moderation;
pub mod people;
pub mod profile;
pub mod scheduler;
pub mod sections;
pub mod sign_in;
pub mod workflow;
