//! The newsroom's people and tags as use cases without HTTP: adding a member with a link to set
//! their password, changing a role, disabling or enabling an account, sending a new set-password
//! link, and renaming a tag. Each checks who may do it, validates (messages keyed by field), and
//! has the store make the change together with its audit line, in one transaction.

use chrono::{DateTime, Duration, Utc};

use super::articles::{Actor, ServiceError, ValidationErrors, audit_line};
use crate::auth::token::{new_token, token_hash};
use crate::domain::{Action, Email, Ownership, Role, TagId, User, UserId, permits, user::parse_person_name};
use crate::store::newsroom::NewUser;
use crate::store::{Store, StoreError};

/// Longest tag name the newsroom can give.
pub const MAX_TAG_CHARS: usize = 80;

/// A new member as the form gave them.
#[derive(Debug, Clone, Copy)]
pub struct MemberInput<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub role: &'a str,
}

/// A one-time link's secret, to be shown once as `/admin/set-password/{token}`; only its hash
/// is stored.
#[derive(Debug)]
pub struct LinkToken(pub String);

fn may_manage_people(actor: &Actor) -> Result<(), ServiceError> {
    if permits(actor.role, Action::ManageUsers, Ownership::Newsroom, None) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden)
    }
}

impl LinkToken {
    /// A fresh token for a link that works for `hours` from `now`, and when it stops working.
    pub fn new(hours: i64, now: DateTime<Utc>) -> Result<(Self, DateTime<Utc>), ServiceError> {
        let token = new_token().map_err(|e| ServiceError::Internal(format!("no random bytes for a link: {e}")))?;
        Ok((Self(token), now + Duration::hours(hours)))
    }

    /// The link's address on the site at `base_url`.
    pub fn address(&self, base_url: &str) -> String {
        format!("{base_url}/admin/set-password/{}", self.0)
    }

    /// What the store keeps of it.
    pub fn hash(&self) -> String {
        token_hash(&self.0)
    }
}

/// Adds a member without a password, with a link (working for `link_hours`) with which they set
/// one; the account, the link and the audit line are one write.
pub async fn add_member(
    store: &dyn Store,
    actor: &Actor,
    input: MemberInput<'_>,
    link_hours: i64,
    now: DateTime<Utc>,
) -> Result<(User, LinkToken), ServiceError> {
    may_manage_people(actor)?;
    let mut errors = ValidationErrors::default();
    let email = Email::parse(input.email)
        .map_err(|e| errors.add("email", format!("That email address is not usable: {e}.")))
        .ok();
    let name = parse_person_name(input.name).map_err(|e| errors.add("name", format!("Name: {e}."))).ok();
    let role = Role::parse(input.role);
    if role.is_none() {
        errors.add("role", "Choose a role.");
    }
    let (Some(email), Some(name), Some(role)) = (email, name, role) else {
        return Err(ServiceError::Invalid(errors));
    };
    let (token, expires) = LinkToken::new(link_hours, now)?;
    let line = audit_line(actor, "user_added", "user", None, format!("{} as {}", email.as_str(), role.as_str()), now);
    let user = NewUser { email: email.as_str().to_owned(), name, role, password_hash: None, created_at: now };
    match store.invite_user(user, &token.hash(), expires, &line).await {
        Ok(user) => Ok((user, token)),
        // The store names what was taken; only the address is the member's to change.
        Err(StoreError::Conflict(what)) if what == "email" => {
            let mut errors = ValidationErrors::default();
            errors.add("email", "Someone already has an account with that email address.");
            Err(ServiceError::Invalid(errors))
        }
        Err(e) => Err(e.into()),
    }
}

async fn target(store: &dyn Store, id: UserId) -> Result<User, ServiceError> {
    store.user_by_id(id).await?.ok_or(ServiceError::NotFound)
}

/// Gives member `id` the role named `role`. Administrators cannot take their own role away: the
/// newsroom would risk having none left.
pub async fn change_role(
    store: &dyn Store,
    actor: &Actor,
    id: UserId,
    role: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    may_manage_people(actor)?;
    let target = target(store, id).await?;
    let Some(role) = Role::parse(role) else {
        let mut errors = ValidationErrors::default();
        errors.add("role", "Choose a role.");
        return Err(ServiceError::Invalid(errors));
    };
    if target.id == actor.user_id && role != Role::Admin {
        return Err(ServiceError::Refused(
            "You cannot take away your own administrator role; ask another administrator.".into(),
        ));
    }
    let detail = format!("{} → {}", target.role.as_str(), role.as_str());
    store.set_user_role(id, role, &audit_line(actor, "user_role_changed", "user", Some(id.0), detail, now)).await?;
    Ok(())
}

/// Disables member `id` (their sessions end in the same write) or enables them again. Nobody can
/// disable their own account.
pub async fn set_disabled(
    store: &dyn Store,
    actor: &Actor,
    id: UserId,
    disable: bool,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    may_manage_people(actor)?;
    let target = target(store, id).await?;
    if target.id == actor.user_id && disable {
        return Err(ServiceError::Refused("You cannot disable your own account.".into()));
    }
    let action = if disable { "user_disabled" } else { "user_enabled" };
    store
        .set_user_disabled(id, disable, now, &audit_line(actor, action, "user", Some(id.0), target.email, now))
        .await?;
    Ok(())
}

/// A new set-password link for member `id`; every earlier unused link of theirs stops working.
pub async fn new_password_link(
    store: &dyn Store,
    actor: &Actor,
    id: UserId,
    link_hours: i64,
    now: DateTime<Utc>,
) -> Result<LinkToken, ServiceError> {
    may_manage_people(actor)?;
    let target = target(store, id).await?;
    let (token, expires) = LinkToken::new(link_hours, now)?;
    let line = audit_line(actor, "password_link_created", "user", Some(id.0), target.email, now);
    store.insert_password_token(&token.hash(), id, expires, now, &line).await?;
    Ok(token)
}

/// Renames tag `id`; its address stays, so links to it keep working.
pub async fn rename_tag(
    store: &dyn Store,
    actor: &Actor,
    id: TagId,
    name: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    if !permits(actor.role, Action::ManageTaxonomy, Ownership::Newsroom, None) {
        return Err(ServiceError::Forbidden);
    }
    let name = name.trim();
    let length = name.chars().count();
    if length == 0 || length > MAX_TAG_CHARS || name.chars().any(char::is_control) {
        let mut errors = ValidationErrors::default();
        errors.add("name", format!("A tag name is one line of 1 to {MAX_TAG_CHARS} characters."));
        return Err(ServiceError::Invalid(errors));
    }
    match store.rename_tag(id, name, &audit_line(actor, "tag_renamed", "tag", Some(id.0), name.to_owned(), now)).await {
        Ok(()) => Ok(()),
        Err(StoreError::Missing(_)) => Err(ServiceError::NotFound),
        Err(e) => Err(e.into()),
    }
}
