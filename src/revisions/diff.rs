//! Line diffs between two versions of a text, grouped into unified-style hunks with a few unchanged
//! lines around each change, ready to serialise into a template or the API.
//!
//! Lines are compared without their terminators: a CRLF/LF difference or a missing final newline
//! is not an edit anyone made on purpose, so it does not show up as one.

use std::time::Duration;

use serde::Serialize;
use similar::{ChangeTag, TextDiff};

/// Unchanged lines kept around each change by [`diff_fields`].
pub const DEFAULT_CONTEXT: usize = 3;

/// Diffing long, very different texts can be slow. Past this the algorithm settles for a correct but less minimal
/// diff, so one pathological pair of long texts cannot hold a request (and a core) for long.
const DIFF_TIMEOUT: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum LineChange {
    Same,
    Added,
    Removed,
}

/// One line of a hunk. Line numbers are 1-based; a removed line has no new number and an added
/// line no old one.
#[derive(Debug, Clone, Serialize)]
pub struct DiffLine {
    pub change: LineChange,
    pub old_number: Option<usize>,
    pub new_number: Option<usize>,
    pub text: String,
}

/// A run of changes with their surrounding context.
#[derive(Debug, Clone, Serialize)]
pub struct Hunk {
    pub lines: Vec<DiffLine>,
}

/// The hunks of one named field (title, standfirst, body, ...) that changed.
#[derive(Debug, Clone, Serialize)]
pub struct FieldDiff {
    pub field: String,
    pub hunks: Vec<Hunk>,
}

/// Hunks turning `old` into `new`, each with up to `context` unchanged lines before and after its
/// changes; changes closer than twice that share a hunk. Empty when the texts have the same lines.
pub fn diff_lines(old: &str, new: &str, context: usize) -> Vec<Hunk> {
    if old == new {
        return Vec::new();
    }
    let old_lines: Vec<&str> = old.lines().collect();
    let new_lines: Vec<&str> = new.lines().collect();
    let diff = TextDiff::configure().timeout(DIFF_TIMEOUT).diff_slices(&old_lines, &new_lines);
    diff.grouped_ops(context)
        .iter()
        // Grouping can leave a group of only unchanged lines (e.g. texts differing in line endings).
        .filter(|group| group.iter().any(|op| op.tag() != similar::DiffTag::Equal))
        .map(|group| Hunk {
            lines: group
                .iter()
                .flat_map(|op| diff.iter_changes(op))
                .map(|change| DiffLine {
                    change: match change.tag() {
                        ChangeTag::Equal => LineChange::Same,
                        ChangeTag::Insert => LineChange::Added,
                        ChangeTag::Delete => LineChange::Removed,
                    },
                    old_number: change.old_index().map(|i| i + 1),
                    new_number: change.new_index().map(|i| i + 1),
                    text: change.value().to_owned(),
                })
                .collect(),
        })
        .collect()
}

/// Diffs of the fields whose lines changed, matched by name, in `new`'s order. A field only in
/// `new` is diffed against an empty text (all added); one only in `old` comes after, diffed to an
/// empty text (all removed).
pub fn diff_fields(old: &[(&str, String)], new: &[(&str, String)]) -> Vec<FieldDiff> {
    let old_text = |name: &str| old.iter().find(|(field, _)| *field == name).map_or("", |(_, text)| text.as_str());
    let in_new = |name: &str| new.iter().any(|(field, _)| *field == name);
    let changed = new.iter().map(|(field, text)| (*field, diff_lines(old_text(field), text, DEFAULT_CONTEXT))).chain(
        old.iter()
            .filter(|(field, _)| !in_new(field))
            .map(|(field, text)| (*field, diff_lines(text, "", DEFAULT_CONTEXT))),
    );
    changed
        .filter(|(_, hunks)| !hunks.is_empty())
        .map(|(field, hunks)| FieldDiff { field: field.to_owned(), hunks })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders hunks the way `diff -u` marks lines, to keep expectations readable.
    fn render(hunks: &[Hunk]) -> Vec<Vec<String>> {
        hunks
            .iter()
            .map(|hunk| {
                hunk.lines
                    .iter()
                    .map(|line| {
                        let mark = match line.change {
                            LineChange::Same => ' ',
                            LineChange::Added => '+',
                            LineChange::Removed => '-',
                        };
                        format!("{mark}{}", line.text)
                    })
                    .collect()
            })
            .collect()
    }

    fn numbered(n: usize) -> String {
        (1..=n).map(|i| format!("line {i}\n")).collect()
    }

    #[test]
    fn equal_texts_have_no_hunks() {
        assert!(diff_lines("", "", 3).is_empty());
        assert!(diff_lines("a\nb\n", "a\nb\n", 3).is_empty());
        assert!(diff_lines("a\r\nb", "a\nb\n", 3).is_empty(), "line endings are not edits");
    }

    #[test]
    fn an_added_line() {
        let hunks = diff_lines("one\ntwo\nthree\n", "one\ntwo\nnew\nthree\n", 3);
        assert_eq!(render(&hunks), [[" one", " two", "+new", " three"]]);
        let added = &hunks[0].lines[2];
        assert_eq!((added.old_number, added.new_number), (None, Some(3)));
        let after = &hunks[0].lines[3];
        assert_eq!((after.old_number, after.new_number), (Some(3), Some(4)));
    }

    #[test]
    fn a_removed_line() {
        let hunks = diff_lines("one\ntwo\nthree\n", "one\nthree\n", 1);
        assert_eq!(render(&hunks), [[" one", "-two", " three"]]);
        let removed = &hunks[0].lines[1];
        assert_eq!(removed.change, LineChange::Removed);
        assert_eq!((removed.old_number, removed.new_number), (Some(2), None));
    }

    #[test]
    fn a_changed_line_in_a_long_text_keeps_only_the_context() {
        let old = numbered(100);
        let new = old.replace("line 50\n", "line fifty\n");
        let hunks = diff_lines(&old, &new, 2);
        assert_eq!(render(&hunks), [[" line 48", " line 49", "-line 50", "+line fifty", " line 51", " line 52"]]);
        let numbers: Vec<_> = hunks[0].lines.iter().map(|l| (l.old_number, l.new_number)).collect();
        assert_eq!(
            numbers,
            [
                (Some(48), Some(48)),
                (Some(49), Some(49)),
                (Some(50), None),
                (None, Some(50)),
                (Some(51), Some(51)),
                (Some(52), Some(52)),
            ]
        );
    }

    #[test]
    fn distant_changes_get_their_own_hunks_and_near_ones_share() {
        let old = numbered(40);
        let far = old.replace("line 5\n", "line five\n").replace("line 35\n", "line thirty-five\n");
        assert_eq!(diff_lines(&old, &far, 3).len(), 2);
        let near = old.replace("line 5\n", "line five\n").replace("line 10\n", "line ten\n");
        assert_eq!(diff_lines(&old, &near, 3).len(), 1);
        // No context: just the changed lines.
        assert_eq!(render(&diff_lines(&old, &near, 0)), [["-line 5", "+line five"], ["-line 10", "+line ten"]]);
    }

    #[test]
    fn field_diff_reports_changed_fields_in_new_order() {
        let old = [("title", "Old title".to_owned()), ("body", numbered(10)), ("kicker", "Analysis".to_owned())];
        let new = [
            ("body", numbered(10).replace("line 3\n", "line three\n")),
            ("standfirst", "A new standfirst".to_owned()),
            ("title", "Old title".to_owned()),
        ];
        let diffs = diff_fields(&old, &new);
        let fields: Vec<_> = diffs.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(fields, ["body", "standfirst", "kicker"]);
        assert_eq!(
            render(&diffs[0].hunks),
            [[" line 1", " line 2", "-line 3", "+line three", " line 4", " line 5", " line 6"]]
        );
        assert_eq!(render(&diffs[1].hunks), [["+A new standfirst"]]);
        assert_eq!(render(&diffs[2].hunks), [["-Analysis"]]);
        assert!(diff_fields(&old, &old).is_empty());
    }

    #[test]
    fn serialises_for_templates() {
        let json = serde_json::to_value(diff_fields(&[("title", "a".to_owned())], &[("title", "b".to_owned())]))
            .expect("serialises");
        assert_eq!(json[0]["field"], "title");
        assert_eq!(json[0]["hunks"][0]["lines"][0]["change"], "Removed");
        assert_eq!(json[0]["hunks"][0]["lines"][1]["new_number"], 1);
    }
}
