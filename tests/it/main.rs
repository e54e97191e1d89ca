//! Integration tests: requests go through the real router to a real database, a SQLite file in a
//! temporary directory or, with `BROADSHEET_TEST_POSTGRES=postgres://…` set, a fresh PostgreSQL
//! database per test. One binary, one module per area.

mod cdn;
mod clients;
mod comments;
mod generate;
mod helpers;
mod http;
mod input_text;
mod miss_path;
mod modules;
mod newsroom;
mod newsroom_service;
mod observability;
mod ops;
mod pages;
mod postgres_tls;
mod schema;
mod storage;
mod store_newsroom;
mod store_nodes;
mod views;
