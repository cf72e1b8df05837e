//! actix-session state kept in the desk's own database, so sessions can be listed and
//! ended server-side (logout, password or role change) on every instance at once.

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;
use chrono::{NaiveDateTime, TimeDelta};
use std::collections::HashMap;

use crate::clock::Clock;
use crate::db::DbPool;
use crate::db::models::session::SessionRow;
use crate::domain::secret;

/// Session state key holding the signed-in user's id.
pub const USER_ID: &str = "user_id";

/// The session cookie; `HOST_COOKIE` behind https (Secure, the whole site, and no sibling
/// domain can set it, so none can plant a session).
pub const COOKIE: &str = "desk_session";
pub const HOST_COOKIE: &str = "__Host-desk_session";

/// The session cookie's name: with the `__Host-` prefix when the desk is served over https.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure { HOST_COOKIE } else { COOKIE }
}

#[derive(Clone)]
pub struct DbSessionStore {
    pool: DbPool,
    clock: Clock,
}

impl DbSessionStore {
    pub fn new(pool: DbPool, clock: Clock) -> Self {
        DbSessionStore { pool, clock }
    }

    fn expiry(&self, ttl: &Duration) -> NaiveDateTime {
        self.clock.now() + TimeDelta::seconds(ttl.whole_seconds())
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut crate::db::DbConnection) -> diesel::QueryResult<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let pool = self.pool.clone();
        actix_web::web::block(move || -> anyhow::Result<T> {
            let mut conn = pool.get()?;
            Ok(work(&mut conn)?)
        })
        .await?
    }
}

fn user_of(state: &HashMap<String, String>) -> Option<i64> {
    // actix-session stores values as JSON.
    state
        .get(USER_ID)
        .and_then(|v| serde_json::from_str(v).ok())
}

impl SessionStore for DbSessionStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<HashMap<String, String>>, LoadError> {
        let hash = secret::sha256_hex(key.as_ref());
        let now = self.clock.now();
        let row = self
            .run(move |conn| SessionRow::find_live(conn, &hash, now))
            .await
            .map_err(LoadError::Other)?;
        row.map(|r| {
            serde_json::from_str(&r.state).map_err(|e| LoadError::Deserialization(e.into()))
        })
        .transpose()
    }

    async fn save(
        &self,
        state: HashMap<String, String>,
        ttl: &Duration,
    ) -> Result<SessionKey, SaveError> {
        let key = secret::random_hex(32);
        let row = SessionRow {
            key_hash: secret::sha256_hex(&key),
            user_id: user_of(&state),
            state: serde_json::to_string(&state).map_err(|e| SaveError::Serialization(e.into()))?,
            expires_at: self.expiry(ttl),
            created_at: self.clock.now(),
        };
        self.run(move |conn| SessionRow::insert(conn, &row))
            .await
            .map_err(SaveError::Other)?;
        SessionKey::try_from(key).map_err(|e| SaveError::Other(e.into()))
    }

    async fn update(
        &self,
        key: SessionKey,
        state: HashMap<String, String>,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        let hash = secret::sha256_hex(key.as_ref());
        let json =
            serde_json::to_string(&state).map_err(|e| UpdateError::Serialization(e.into()))?;
        let (user, expires) = (user_of(&state), self.expiry(ttl));
        let changed = self
            .run(move |conn| SessionRow::update(conn, &hash, user, &json, expires))
            .await
            .map_err(UpdateError::Other)?;
        if changed == 0 {
            // The session was ended meanwhile (revoked): never resurrect it under its old key.
            return self.save(state, ttl).await.map_err(|e| match e {
                SaveError::Serialization(e) => UpdateError::Serialization(e),
                SaveError::Other(e) => UpdateError::Other(e),
            });
        }
        Ok(key)
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &Duration) -> anyhow::Result<()> {
        let hash = secret::sha256_hex(key.as_ref());
        let expires = self.expiry(ttl);
        self.run(move |conn| SessionRow::touch(conn, &hash, expires))
            .await
            .map(|_| ())
    }

    async fn delete(&self, key: &SessionKey) -> anyhow::Result<()> {
        let hash = secret::sha256_hex(key.as_ref());
        self.run(move |conn| SessionRow::delete(conn, &hash))
            .await
            .map(|_| ())
    }
}
