//! Site settings the newsroom edits in the CMS (name, description, logo, language, time zone,
//! navigation, comment policy), the use case that saves them, and the breaking-news banner. They
//! start from the config file's values and, once saved, live in the store so every node shows the
//! same.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::articles::{Actor, Newsroom, ServiceError, ValidationErrors, audit_line};
use crate::config::Settings;
use crate::domain::text::{clean_line, clean_text, is_site_or_web_url};
use crate::domain::{Action, Ownership, permits};
use crate::store::newsroom::VersionedWrite;

pub const PROFILE_KEY: &str = "site_profile";
pub const BREAKING_KEY: &str = "breaking";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NavLink {
    pub label: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SiteProfile {
    pub name: String,
    pub description: String,
    /// Address of the logo image (usually one from the media library); empty for a text masthead.
    pub logo_url: String,
    pub language: String,
    /// IANA time zone name, for showing and scheduling times.
    pub time_zone: String,
    /// Extra links after the sections in the navigation.
    pub navigation: Vec<NavLink>,
    pub hold_all_comments: bool,
    pub blocked_words: Vec<String>,
}

impl Default for SiteProfile {
    fn default() -> Self {
        Self::from_settings(&Settings::default())
    }
}

impl SiteProfile {
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            name: settings.site.name.clone(),
            description: settings.site.description.clone(),
            logo_url: String::new(),
            language: settings.site.language.clone(),
            time_zone: "UTC".into(),
            navigation: Vec::new(),
            hold_all_comments: settings.comments.hold_all,
            blocked_words: settings.comments.blocked_words.clone(),
        }
    }

    pub fn zone(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }
}

/// Why a settings form was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProfileError {
    #[error("the site name is required")]
    NameMissing,
    #[error("“{0}” is not a time zone name such as Asia/Seoul or Europe/London")]
    UnknownTimeZone(String),
    #[error("the language must be a language tag such as en or ko-KR")]
    BadLanguage,
    #[error("navigation link “{0}” needs an address starting with / or https://")]
    BadLink(String),
    #[error("the logo address must start with / or https://")]
    BadLogo,
    /// Text with direction overrides, control characters or stacked marks; refused rather than
    /// changed behind the editor's back, so what they typed stays in the form.
    #[error("the {0} contains invisible control characters or a character with too many stacked marks")]
    UnreadableText(&'static str),
}

impl ProfileError {
    /// The settings form's field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            Self::NameMissing | Self::UnreadableText("site name") => "name",
            Self::UnreadableText("description") => "description",
            Self::UnknownTimeZone(_) => "time_zone",
            Self::BadLanguage => "language",
            Self::BadLink(_) | Self::UnreadableText(_) => "navigation",
            Self::BadLogo => "logo_url",
        }
    }
}

/// Saves the site settings: the member must manage settings, the profile must validate (the
/// message is keyed by the field it is about), and the write must be based on the stored version
/// (otherwise nothing is written: [`VersionedWrite::Stale`]). One audit line; the change is
/// reported with the new profile, which this node shows from the next page on.
pub async fn save_settings(
    newsroom: Newsroom<'_>,
    actor: &Actor,
    profile: &SiteProfile,
    base_version: i64,
    now: DateTime<Utc>,
) -> Result<VersionedWrite, ServiceError> {
    if !permits(actor.role, Action::ManageSettings, Ownership::Newsroom, None) {
        return Err(ServiceError::Forbidden);
    }
    if let Err(e) = profile.validate() {
        let mut errors = ValidationErrors::default();
        errors.add(e.field(), e.to_string());
        return Err(ServiceError::Invalid(errors));
    }
    let json = serde_json::to_string(profile).map_err(|e| ServiceError::Refused(e.to_string()))?;
    let line = audit_line(actor, "settings_changed", "site", None, profile.name.clone(), now);
    if newsroom.store.set_setting(PROFILE_KEY, &json, now, base_version, &line).await? == VersionedWrite::Stale {
        return Ok(VersionedWrite::Stale);
    }
    newsroom.changes.settings_changed(profile.clone());
    Ok(VersionedWrite::Written)
}

/// Whether settings text would show as typed: [`clean_line`] (or [`clean_text`]) leaves it as it
/// is. Trimming is not held against it.
pub(super) fn shows_as_typed(text: &str, multiline: bool) -> bool {
    let cleaned = if multiline { clean_text(text) } else { clean_line(text) };
    cleaned.is_ok_and(|c| c == text.trim())
}

impl SiteProfile {
    /// Checks a profile built from a form.
    pub fn validate(&self) -> Result<(), ProfileError> {
        if clean_line(&self.name).is_ok_and(|name| name.is_empty()) {
            return Err(ProfileError::NameMissing);
        }
        if !shows_as_typed(&self.name, false) {
            return Err(ProfileError::UnreadableText("site name"));
        }
        if !shows_as_typed(&self.description, true) {
            return Err(ProfileError::UnreadableText("description"));
        }
        if self.navigation.iter().any(|l| !shows_as_typed(&l.label, false)) {
            return Err(ProfileError::UnreadableText("navigation"));
        }
        if self.time_zone.parse::<chrono_tz::Tz>().is_err() {
            return Err(ProfileError::UnknownTimeZone(self.time_zone.clone()));
        }
        let language_ok = !self.language.is_empty()
            && self.language.len() <= 35
            && self.language.split('-').all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()));
        if !language_ok {
            return Err(ProfileError::BadLanguage);
        }
        if !self.logo_url.is_empty() && !is_site_or_web_url(&self.logo_url) {
            return Err(ProfileError::BadLogo);
        }
        for link in &self.navigation {
            if !is_site_or_web_url(&link.url) {
                return Err(ProfileError::BadLink(link.label.clone()));
            }
        }
        Ok(())
    }

    /// Navigation links from a textarea of `Label | /address` lines.
    pub fn parse_navigation(text: &str) -> Vec<NavLink> {
        text.lines()
            .filter_map(|line| {
                let (label, url) = line.split_once('|')?;
                let (label, url) = (label.trim(), url.trim());
                (!label.is_empty() && !url.is_empty()).then(|| NavLink { label: label.into(), url: url.into() })
            })
            .collect()
    }
}

/// The site-wide breaking-news banner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breaking {
    pub text: String,
    /// Where the banner leads; empty for none.
    pub link: String,
    pub expires_at: Option<DateTime<Utc>>,
}

impl Breaking {
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        !self.text.trim().is_empty() && self.expires_at.is_none_or(|t| t > now)
    }

    pub fn link_is_valid(&self) -> bool {
        self.link.is_empty() || is_site_or_web_url(&self.link)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_refuse_unknown_zones_and_script_links() {
        let mut profile = SiteProfile::default();
        assert_eq!(profile.validate(), Ok(()));
        profile.time_zone = "Mars/Olympus".into();
        assert!(matches!(profile.validate(), Err(ProfileError::UnknownTimeZone(_))));
        profile.time_zone = "Asia/Seoul".into();
        profile.navigation = SiteProfile::parse_navigation("About | /about\nBad | javascript:alert(1)\nnoise");
        assert_eq!(profile.navigation.len(), 2);
        assert_eq!(profile.validate(), Err(ProfileError::BadLink("Bad".into())));
        for url in ["/\\evil.example", "//evil.example", "\\\\evil.example", "/\t/evil.example"] {
            profile.navigation = vec![NavLink { label: "Bad".into(), url: url.into() }];
            assert_eq!(profile.validate(), Err(ProfileError::BadLink("Bad".into())), "{url:?}");
        }
        profile.navigation = Vec::new();
        profile.logo_url = "/\\evil.example/logo.png".into();
        assert_eq!(profile.validate(), Err(ProfileError::BadLogo));
    }

    #[test]
    fn settings_text_with_invisible_controls_is_refused() {
        let mut profile = SiteProfile { name: "\u{200B}\u{FEFF}".into(), ..SiteProfile::default() };
        assert_eq!(profile.validate(), Err(ProfileError::NameMissing));
        profile.name = "Daily\u{202E}swen".into();
        assert_eq!(profile.validate(), Err(ProfileError::UnreadableText("site name")));
        profile.name = "Daily News".into();
        profile.navigation = vec![NavLink { label: "A\u{2066}b".into(), url: "/about".into() }];
        assert_eq!(profile.validate(), Err(ProfileError::UnreadableText("navigation")));
    }

    #[test]
    fn a_banner_shows_until_it_expires() {
        let now = Utc::now();
        let banner = Breaking { text: "Polls close".into(), link: String::new(), expires_at: Some(now) };
        assert!(!banner.is_live(now));
        assert!(Breaking { expires_at: None, ..banner.clone() }.is_live(now));
        assert!(!Breaking { text: " ".into(), expires_at: None, ..banner }.is_live(now));
    }
}
