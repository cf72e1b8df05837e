//! Accounts: creating users, signing in (with failures throttled per email and client
//! address), passwords, roles, and the audit trail of all of it.

use std::net::IpAddr;

use chrono::NaiveDateTime;

use crate::db::models::audit::{AuditEntry, NewAuditEntry};
use crate::db::models::session::SessionRow;
use crate::db::models::sign_in_throttle::SignInThrottle;
use crate::db::models::user::{NewUser, User};
use crate::db::{DbConnection, write_transaction};
use crate::domain::email::EmailAddress;
use crate::domain::role::Role;
use crate::domain::secret;
use crate::domain::sign_in_throttle as throttle;
use crate::error::AppError;

/// Why a sign-in failed. Known and unknown emails meet the same ones, so an attacker
/// cannot tell a wrong password from an unknown email.
#[derive(Debug, PartialEq, Eq)]
pub enum SignInError {
    BadCredentials,
    /// This client has failed too often with this email: it waits until then.
    Locked {
        until: NaiveDateTime,
    },
    /// The password was right but an admin deactivated the account.
    Deactivated,
}

/// Who did something, for the audit log.
pub struct Actor<'a> {
    pub name: &'a str,
    pub ip: Option<&'a str>,
}

pub fn audit(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    action: &str,
    subject: &str,
    detail: &str,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    AuditEntry::record(
        conn,
        &NewAuditEntry {
            at,
            actor: actor.name,
            action,
            subject,
            detail,
            ip: actor.ip,
        },
    )?;
    Ok(())
}

/// Create an account. With no password given, a one-time password is generated and
/// returned; the user must change it at first sign-in.
pub fn create_user(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    email: &str,
    name: Option<&str>,
    role: Role,
    password: Option<&str>,
    now: NaiveDateTime,
) -> Result<(User, Option<String>), AppError> {
    let email = EmailAddress::parse(email)
        .map_err(|e| AppError::invalid("email", e))?
        .as_str()
        .to_lowercase();
    if let Some(p) = password {
        secret::check_new_password(p).map_err(|e| AppError::invalid("password", e))?;
    }
    let one_time = password.is_none().then(secret::one_time_password);
    let plain = password
        .map(str::to_string)
        .or_else(|| one_time.clone())
        .unwrap_or_default();
    let hash = secret::hash_password(&plain).map_err(|e| AppError::internal(anyhow::anyhow!(e)))?;
    let user = write_transaction(conn, |conn| {
        if User::find_by_email(conn, &email)?.is_some() {
            return Err(AppError::invalid(
                "email",
                format!("{email} already has an account"),
            ));
        }
        let id = User::insert(
            conn,
            &NewUser {
                email: &email,
                name,
                role,
                password_hash: Some(&hash),
                must_change_password: one_time.is_some(),
                created_at: now,
                updated_at: now,
            },
        )?;
        audit(
            conn,
            actor,
            "user_created",
            &email,
            &format!("role {role}"),
            now,
        )?;
        User::find(conn, id)?.ok_or(AppError::NotFound)
    })?;
    Ok((user, one_time))
}

/// Check an email and password. Failures are counted per email and client address
/// (`domain::sign_in_throttle`), for unknown emails as for known ones, and a client that
/// has failed too often is refused until its wait is over, without a password check.
/// Every attempt is audited.
pub fn sign_in(
    conn: &mut DbConnection,
    email: &str,
    password: &str,
    ip: Option<IpAddr>,
    now: NaiveDateTime,
) -> Result<Result<User, SignInError>, AppError> {
    let subject = email.trim().to_lowercase();
    let client = throttle::client_key(ip);
    let ip = ip.map(|ip| ip.to_string());
    let actor = Actor {
        name: "anonymous",
        ip: ip.as_deref(),
    };
    let throttled = SignInThrottle::find(conn, &subject, &client)?
        .and_then(|t| t.locked_until)
        .filter(|until| *until > now);
    if let Some(until) = throttled {
        let detail = "too many failures from this address; waiting";
        audit(conn, &actor, "sign_in_refused", &subject, detail, now)?;
        return Ok(Err(SignInError::Locked { until }));
    }
    let user = User::find_by_email(conn, &subject)?;
    // One password check whatever the email, so the time taken does not tell which
    // emails have an account.
    let stored = user.as_ref().and_then(|u| u.password_hash.as_deref());
    let matches = secret::verify_password(stored.unwrap_or(&DUMMY_HASH), password);
    match user {
        Some(user) if matches && stored.is_some() && !user.is_active() => {
            let detail = "the account is deactivated";
            audit(conn, &actor, "sign_in_refused", &subject, detail, now)?;
            Ok(Err(SignInError::Deactivated))
        }
        Some(user) if matches && stored.is_some() => {
            write_transaction(conn, |conn| {
                SignInThrottle::clear(conn, &subject, &client)?;
                let actor = Actor {
                    name: &subject,
                    ip: ip.as_deref(),
                };
                audit(conn, &actor, "sign_in", &subject, "", now)
            })?;
            Ok(Ok(user))
        }
        user => {
            let why = if user.is_some() {
                "wrong password"
            } else {
                "no such account"
            };
            record_failure(conn, &actor, &subject, &client, why, now).map(Err)
        }
    }
}

/// Count a failed sign-in of `client` for `subject`, make the client wait when it has
/// failed too often, and audit it.
fn record_failure(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    subject: &str,
    client: &str,
    why: &str,
    now: NaiveDateTime,
) -> Result<SignInError, AppError> {
    write_transaction(conn, |conn| {
        let forget_before = now - throttle::FORGET_AFTER;
        let row = SignInThrottle::record_failure(conn, subject, client, now, forget_before)?;
        let failures = row.failures;
        let wait = throttle::delay_after(failures);
        let detail = match wait {
            Some(wait) => {
                SignInThrottle::lock(conn, subject, client, now + wait)?;
                format!(
                    "{why} ({failures} in a row from this address); it waits {} min",
                    wait.num_minutes()
                )
            }
            None => format!("{why} ({failures} in a row from this address)"),
        };
        audit(conn, actor, "sign_in_failed", subject, &detail, now)?;
        Ok(match wait {
            Some(wait) => SignInError::Locked { until: now + wait },
            None => SignInError::BadCredentials,
        })
    })
}

/// A real argon2id hash of a random string: checked for emails without an account (or
/// without a password).
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| secret::hash_password(&secret::random_hex(16)).unwrap_or_default());

/// Set the zone a person reads times in (`None`: their browser's), one transaction.
pub fn set_time_zone(
    conn: &mut DbConnection,
    user_id: i64,
    zone: Option<chrono_tz::Tz>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    crate::db::write_transaction(conn, |conn| {
        let changed = User::set_time_zone(conn, user_id, zone.map(|z| z.name()), now)?;
        if changed == 0 {
            return Err(AppError::NotFound);
        }
        Ok(())
    })
}

/// Change a password after checking the current one; every other session of the user ends.
pub fn change_password(
    conn: &mut DbConnection,
    user: &User,
    current: &str,
    new: &str,
    keep_session: Option<&str>,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let invalid = |field: &'static str, message: &str| AppError::invalid(field, message);
    if !user
        .password_hash
        .as_deref()
        .is_some_and(|hash| secret::verify_password(hash, current))
    {
        return Err(invalid(
            "current_password",
            "That is not your current password.",
        ));
    }
    secret::check_new_password(new).map_err(|e| invalid("new_password", &e))?;
    if new == current {
        return Err(invalid(
            "new_password",
            "Choose a password different from the current one.",
        ));
    }
    let hash = secret::hash_password(new).map_err(|e| AppError::internal(anyhow::anyhow!(e)))?;
    write_transaction(conn, |conn| {
        User::set_password(conn, user.id, &hash, false, now)?;
        let ended = SessionRow::delete_for_user(conn, user.id, keep_session)?;
        let actor = Actor {
            name: &user.email,
            ip: None,
        };
        audit(
            conn,
            &actor,
            "password_changed",
            &user.email,
            &format!("{ended} other session(s) ended"),
            now,
        )
    })
}

/// Change a user's role; all of their sessions end so the new role applies at once.
pub fn set_role(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    user_id: i64,
    role: Role,
    now: NaiveDateTime,
) -> Result<User, AppError> {
    write_transaction(conn, |conn| {
        let user = User::find(conn, user_id)?.ok_or(AppError::NotFound)?;
        if user.role == role {
            return Ok(user);
        }
        User::set_role(conn, user_id, role.as_str(), now)?;
        let ended = SessionRow::delete_for_user(conn, user_id, None)?;
        let detail = format!("role {} → {role}; {ended} session(s) ended", user.role);
        audit(conn, actor, "role_changed", &user.email, &detail, now)?;
        User::find(conn, user_id)?.ok_or(AppError::NotFound)
    })
}

/// Deactivate (`active` false) or reactivate an account. Deactivating ends every session
/// of the user at once; the tokens they created stay, listed under their name. Returns the
/// user as it is now; doing what is already so changes nothing.
pub fn set_active(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    user_id: i64,
    active: bool,
    now: NaiveDateTime,
) -> Result<User, AppError> {
    write_transaction(conn, |conn| {
        let user = User::find(conn, user_id)?.ok_or(AppError::NotFound)?;
        if user.is_active() == active {
            return Ok(user);
        }
        if active {
            User::set_deactivated(conn, user_id, None, now)?;
            audit(conn, actor, "user_reactivated", &user.email, "", now)?;
        } else {
            User::set_deactivated(conn, user_id, Some(now), now)?;
            let ended = SessionRow::delete_for_user(conn, user_id, None)?;
            let detail = format!("{ended} session(s) ended");
            audit(conn, actor, "user_deactivated", &user.email, &detail, now)?;
        }
        User::find(conn, user_id)?.ok_or(AppError::NotFound)
    })
}

/// Change the name an account shows (by the desk's rules for names); blank clears it.
pub fn set_name(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    user_id: i64,
    name: &str,
    now: NaiveDateTime,
) -> Result<User, AppError> {
    let name = crate::domain::text::name(name).map_err(|e| AppError::invalid("name", e))?;
    write_transaction(conn, |conn| {
        let user = User::find(conn, user_id)?.ok_or(AppError::NotFound)?;
        if user.name == name {
            return Ok(user);
        }
        User::set_name(conn, user_id, name.as_deref(), now)?;
        let detail = format!(
            "{} → {}",
            user.name.as_deref().unwrap_or("(none)"),
            name.as_deref().unwrap_or("(none)")
        );
        audit(conn, actor, "name_changed", &user.email, &detail, now)?;
        User::find(conn, user_id)?.ok_or(AppError::NotFound)
    })
}

/// Give an account a new one-time password, to be changed at the next sign-in; its
/// sessions end. Returns the user and the password, which is shown once and kept nowhere.
pub fn issue_one_time_password(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    user_id: i64,
    now: NaiveDateTime,
) -> Result<(User, String), AppError> {
    let password = secret::one_time_password();
    let hash =
        secret::hash_password(&password).map_err(|e| AppError::internal(anyhow::anyhow!(e)))?;
    let user = write_transaction(conn, |conn| {
        let user = User::find(conn, user_id)?.ok_or(AppError::NotFound)?;
        User::set_password(conn, user_id, &hash, true, now)?;
        let ended = SessionRow::delete_for_user(conn, user_id, None)?;
        let detail = format!("{ended} session(s) ended; must be changed at next sign-in");
        audit(
            conn,
            actor,
            "one_time_password_issued",
            &user.email,
            &detail,
            now,
        )?;
        Ok::<User, AppError>(user)
    })?;
    Ok((user, password))
}
