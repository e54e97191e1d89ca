//! Article revisions: what changed between two saved versions, for editors reviewing each other's
//! work. Pure functions over text; loading the versions is the store's job.

pub mod diff;

pub use diff::{DiffLine, FieldDiff, Hunk, LineChange, diff_fields, diff_lines};
