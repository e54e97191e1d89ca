//! Choosing which articles appear where: related articles by content, and the article page's four
//! story modules without repeats.

pub mod modules;
pub mod related;
