//! Integration tests: requests go through the real router to a real SQLite file in a temporary
//! directory. One binary, one module per area.

mod cdn;
mod comments;
mod helpers;
mod http;
mod modules;
mod newsroom;
mod ops;
mod pages;
mod store_newsroom;
mod views;
