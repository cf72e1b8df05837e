//! Accounts: creating users, signing in with lockout, passwords, roles, and the audit
//! trail of all of it.

use chrono::{NaiveDateTime, TimeDelta};

use crate::db::models::audit::{AuditEntry, NewAuditEntry};
use crate::db::models::session::SessionRow;
use crate::db::models::user::{NewUser, User};
use crate::db::{DbConnection, write_transaction};
use crate::domain::email::EmailAddress;
use crate::domain::role::Role;
use crate::domain::secret;
use crate::error::AppError;

/// Failed sign-ins in a row before the account is locked.
pub const MAX_FAILURES: i32 = 5;
/// How long a locked account stays locked.
pub const LOCKOUT: TimeDelta = TimeDelta::minutes(15);

/// Why a sign-in failed. The page shows one message for all but lockout, so an attacker
/// cannot tell a wrong password from an unknown email.
#[derive(Debug, PartialEq, Eq)]
pub enum SignInError {
    BadCredentials,
    Locked { until: NaiveDateTime },
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

/// Check an email and password, counting failures and locking the account after
/// `MAX_FAILURES` in a row. Every attempt is audited.
pub fn sign_in(
    conn: &mut DbConnection,
    email: &str,
    password: &str,
    ip: Option<&str>,
    now: NaiveDateTime,
) -> Result<Result<User, SignInError>, AppError> {
    let actor = Actor {
        name: "anonymous",
        ip,
    };
    let subject = email.trim().to_lowercase();
    let Some(user) = User::find_by_email(conn, &subject)? else {
        // Spend the same time as a real check, so response times do not reveal accounts.
        secret::verify_password(&DUMMY_HASH, password);
        audit(
            conn,
            &actor,
            "sign_in_failed",
            &subject,
            "no such account",
            now,
        )?;
        return Ok(Err(SignInError::BadCredentials));
    };
    if let Some(until) = user.locked_until.filter(|until| *until > now) {
        audit(
            conn,
            &actor,
            "sign_in_refused",
            &subject,
            "account locked",
            now,
        )?;
        return Ok(Err(SignInError::Locked { until }));
    }
    let matches = user
        .password_hash
        .as_deref()
        .is_some_and(|hash| secret::verify_password(hash, password));
    if matches {
        User::record_success(conn, user.id)?;
        audit(
            conn,
            &Actor { name: &subject, ip },
            "sign_in",
            &subject,
            "",
            now,
        )?;
        return Ok(Ok(user));
    }
    let failures = user.failed_logins + 1;
    let locked_until = (failures >= MAX_FAILURES).then(|| now + LOCKOUT);
    User::record_failure(
        conn,
        user.id,
        if locked_until.is_some() { 0 } else { failures },
        locked_until,
    )?;
    let detail = match locked_until {
        Some(_) => format!(
            "wrong password; account locked for {} minutes",
            LOCKOUT.num_minutes()
        ),
        None => format!("wrong password ({failures} in a row)"),
    };
    audit(conn, &actor, "sign_in_failed", &subject, &detail, now)?;
    Ok(Err(match locked_until {
        Some(until) => SignInError::Locked { until },
        None => SignInError::BadCredentials,
    }))
}

/// A real argon2id hash of a random string: checked against unknown accounts.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| secret::hash_password(&secret::random_hex(16)).unwrap_or_default());

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
