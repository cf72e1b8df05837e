//! API bearer tokens: created once in plain text, stored hashed, scoped, revocable.

use chrono::{NaiveDateTime, TimeDelta};

use crate::db::models::api_token::{ApiToken, NewApiToken};
use crate::db::{DbConnection, write_transaction};
use crate::domain::role::Scope;
use crate::domain::secret;
use crate::domain::text::{self, Lines};
use crate::error::AppError;
use crate::services::accounts::{Actor, audit};

/// Tokens look like `desk_<8 hex prefix>_<40 hex secret>`; the prefix is shown in lists.
const TOKEN_PREFIX: &str = "desk_";
/// Last use is written at most this often per token, not on every request.
const LAST_USED_GRANULARITY: TimeDelta = TimeDelta::minutes(1);

/// A new token: the stored row and the only copy of the secret.
pub struct Created {
    pub token: ApiToken,
    pub plain: String,
}

pub fn create(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    name: &str,
    scopes: &[Scope],
    now: NaiveDateTime,
) -> Result<Created, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::invalid(
            "name",
            "Give the token a name of 1 to 100 characters.",
        ));
    }
    text::check_characters(name, Lines::One).map_err(|e| AppError::invalid("name", e))?;
    let prefix = secret::random_hex(4);
    let plain = format!("{TOKEN_PREFIX}{prefix}_{}", secret::random_hex(20));
    let hash = secret::sha256_hex(&plain);
    let scopes = Scope::join(scopes);
    write_transaction(conn, |conn| {
        let id = ApiToken::insert(
            conn,
            &NewApiToken {
                name,
                prefix: &prefix,
                token_hash: &hash,
                scopes: &scopes,
                created_by: actor.name,
                created_at: now,
            },
        )?;
        audit(
            conn,
            actor,
            "token_created",
            &format!("token {id} ({name})"),
            &format!("scopes {scopes}"),
            now,
        )?;
        let token = ApiToken::find_by_hash(conn, &hash)?.ok_or(AppError::NotFound)?;
        Ok(Created { token, plain })
    })
}

pub fn revoke(
    conn: &mut DbConnection,
    actor: &Actor<'_>,
    id: i64,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        if !ApiToken::revoke(conn, id, now)? {
            return Err(AppError::NotFound);
        }
        audit(
            conn,
            actor,
            "token_revoked",
            &format!("token {id}"),
            "",
            now,
        )
    })
}

/// The live token behind a bearer value, with its scopes; records use (coarsely).
pub fn authenticate(
    conn: &mut DbConnection,
    bearer: &str,
    ip: Option<&str>,
    now: NaiveDateTime,
) -> Result<Option<(ApiToken, Vec<Scope>)>, AppError> {
    if !bearer.starts_with(TOKEN_PREFIX) || bearer.len() > 100 {
        return Ok(None);
    }
    let Some(token) = ApiToken::find_by_hash(conn, &secret::sha256_hex(bearer))? else {
        return Ok(None);
    };
    if token.revoked_at.is_some() {
        return Ok(None);
    }
    if token
        .last_used_at
        .is_none_or(|at| now - at >= LAST_USED_GRANULARITY)
    {
        ApiToken::mark_used(conn, token.id, now)?;
        let actor = Actor {
            name: &token.name,
            ip,
        };
        audit(
            conn,
            &actor,
            "token_used",
            &format!("token {}", token.id),
            "",
            now,
        )?;
    }
    let scopes = Scope::parse_list(&token.scopes).unwrap_or_default();
    Ok(Some((token, scopes)))
}
