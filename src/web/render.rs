//! Templates. The defaults are embedded in the binary; a theme folder may override any of them
//! file by file. Variables a template uses but the context lacks are errors, never blanks.

use std::path::PathBuf;

use chrono::{DateTime, Datelike, Timelike, Utc};
use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Serialize;

/// (name, source) of every built-in template.
const BUILT_IN: &[(&str, &str)] = &[
    ("layout.html", include_str!("../../templates/layout.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("site/home.html", include_str!("../../templates/site/home.html")),
    ("site/article.html", include_str!("../../templates/site/article.html")),
    ("site/module.html", include_str!("../../templates/site/module.html")),
    ("site/list.html", include_str!("../../templates/site/list.html")),
    ("site/error.html", include_str!("../../templates/site/error.html")),
    ("site/comments.html", include_str!("../../templates/site/comments.html")),
    ("site/corrections.html", include_str!("../../templates/site/corrections.html")),
    ("admin/layout.html", include_str!("../../templates/admin/layout.html")),
    ("admin/error.html", include_str!("../../templates/admin/error.html")),
    ("admin/login.html", include_str!("../../templates/admin/login.html")),
    ("admin/totp.html", include_str!("../../templates/admin/totp.html")),
    ("admin/set_password.html", include_str!("../../templates/admin/set_password.html")),
    ("admin/dashboard.html", include_str!("../../templates/admin/dashboard.html")),
    ("admin/editor.html", include_str!("../../templates/admin/editor.html")),
    ("admin/revisions.html", include_str!("../../templates/admin/revisions.html")),
    ("admin/media.html", include_str!("../../templates/admin/media.html")),
    ("admin/media_edit.html", include_str!("../../templates/admin/media_edit.html")),
    ("admin/curation.html", include_str!("../../templates/admin/curation.html")),
    ("admin/comments.html", include_str!("../../templates/admin/comments.html")),
    ("admin/settings.html", include_str!("../../templates/admin/settings.html")),
    ("admin/sections.html", include_str!("../../templates/admin/sections.html")),
    ("admin/tags.html", include_str!("../../templates/admin/tags.html")),
    ("admin/users.html", include_str!("../../templates/admin/users.html")),
    ("admin/audit.html", include_str!("../../templates/admin/audit.html")),
    ("admin/account.html", include_str!("../../templates/admin/account.html")),
];

pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    pub fn new(theme_dir: Option<PathBuf>) -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_loader(move |name| {
            if let Some(dir) = &theme_dir {
                // Template names come from our own code, never from requests; still refuse to
                // leave the theme folder.
                if !name.contains("..") {
                    match std::fs::read_to_string(dir.join(name)) {
                        Ok(source) => return Ok(Some(source)),
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => {
                            return Err(minijinja::Error::new(
                                minijinja::ErrorKind::InvalidOperation,
                                format!("cannot read theme template {name}"),
                            )
                            .with_source(e));
                        }
                    }
                }
            }
            Ok(BUILT_IN.iter().find(|(n, _)| *n == name).map(|(_, source)| (*source).to_owned()))
        });
        env.set_formatter(escape_html);
        env.add_filter("datetime", format_datetime);
        env.add_filter("isodate", iso_datetime);
        env.add_filter("thousands", thousands);
        env.add_filter("local_input", local_input);
        Self { env }
    }

    pub fn render<C: Serialize>(&self, name: &str, context: &C) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(Value::from(minijinja::value::Serde(context)))
    }
}

/// Escapes what HTML needs escaped (`& < > " '`) and leaves `/` alone, so URLs stay readable and
/// pages stay small. Values marked safe (sanitised article bodies) pass through.
fn escape_html(
    out: &mut minijinja::Output,
    state: &mut minijinja::State,
    value: &Value,
) -> Result<(), minijinja::Error> {
    if value.is_safe() || !matches!(state.auto_escape(), minijinja::AutoEscape::Html) {
        return minijinja::escape_formatter(out, state, value);
    }
    let text = match value.as_str() {
        Some(text) => std::borrow::Cow::Borrowed(text),
        None if value.is_none() || value.is_undefined() => return Ok(()),
        None => std::borrow::Cow::Owned(value.to_string()),
    };
    // Copy runs of plain text whole; only the five special bytes (all ASCII) are replaced.
    let write = |out: &mut minijinja::Output, s: &str| {
        out.write_str(s).map_err(|e| {
            minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "cannot write output").with_source(e)
        })
    };
    let bytes = text.as_bytes();
    let mut plain_from = 0;
    while let Some(offset) = bytes[plain_from..].iter().position(|&b| ESCAPED[usize::from(b)]) {
        let at = plain_from + offset;
        let entity = match bytes[at] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => "&#39;",
        };
        write(out, &text[plain_from..at])?;
        write(out, entity)?;
        plain_from = at + 1;
    }
    write(out, &text[plain_from..])
}

/// The bytes [`escape_html`] replaces, as a table: finding the next one is a load per byte instead
/// of a chain of comparisons (escaping had been a tenth of an uncached article page's template).
const ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    table[b'&' as usize] = true;
    table[b'<' as usize] = true;
    table[b'>' as usize] = true;
    table[b'"' as usize] = true;
    table[b'\'' as usize] = true;
    table
};

fn parse_time(value: &str) -> Result<DateTime<Utc>, minijinja::Error> {
    DateTime::parse_from_rfc3339(value).map(|t| t.with_timezone(&Utc)).map_err(|e| {
        minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, format!("not a timestamp: {value}"))
            .with_source(e)
    })
}

/// "27 Nov 2026, 07:19 UTC". Written out by hand: chrono's `format` parses its pattern again on
/// every call, and an article page formats a time for each of its comments.
fn format_datetime(value: &str) -> Result<String, minijinja::Error> {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let t = parse_time(value)?;
    let month = MONTHS[t.month0() as usize];
    Ok(format!("{} {month} {:04}, {:02}:{:02} UTC", t.day(), t.year(), t.hour(), t.minute()))
}

/// The value for a `datetime-local` input: wall-clock time in the newsroom's time zone.
fn local_input(value: &str, zone: &str) -> Result<String, minijinja::Error> {
    let zone: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::UTC);
    Ok(parse_time(value)?.with_timezone(&zone).format("%Y-%m-%dT%H:%M").to_string())
}

/// The machine-readable form for `<time datetime>`.
fn iso_datetime(value: &str) -> Result<String, minijinja::Error> {
    let t = parse_time(value)?;
    Ok(format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", t.year(), t.month(), t.day(), t.hour(), t.minute(), t.second()))
}

/// 12345 becomes "12,345".
fn thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if value < 0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(-1234), "-1,234");
    }

    #[test]
    fn dates_format_for_people_and_machines() {
        assert_eq!(format_datetime("2026-11-27T07:19:42Z").ok(), Some("27 Nov 2026, 07:19 UTC".into()));
        assert_eq!(format_datetime("2026-01-03T23:05:00+00:00").ok(), Some("3 Jan 2026, 23:05 UTC".into()));
        assert_eq!(iso_datetime("2026-11-27T07:19:42.5+00:00").ok(), Some("2026-11-27T07:19:42Z".into()));
        assert_eq!(iso_datetime("0987-02-03T04:05:06+09:00").ok(), Some("0987-02-02T19:05:06Z".into()));
        assert!(format_datetime("yesterday").is_err());
    }

    #[test]
    fn escaping_covers_markup_but_keeps_slashes() {
        let mut env = Environment::new();
        env.set_formatter(escape_html);
        env.add_template("t.html", "{{ v }}|{{ s|safe }}").expect("template");
        let out = env
            .get_template("t.html")
            .and_then(|t| t.render(minijinja::context! { v => "<a href='/x'>\"&\"</a>", s => "<b>ok</b>" }))
            .expect("renders");
        assert_eq!(out, "&lt;a href=&#39;/x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt;|<b>ok</b>");
    }

    #[test]
    fn a_theme_file_overrides_a_built_in_template() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("macros.html"), "themed").expect("write theme file");
        let templates = Templates::new(Some(dir.path().to_owned()));
        assert_eq!(templates.render("macros.html", &()).ok(), Some("themed".into()));
        assert!(templates.render("site/error.html", &()).is_err(), "other templates still come from the binary");
    }
}
