//! Embedded migrations, one folder per backend with the same migration names.

use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::DbConnection;

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

fn source(conn: &DbConnection) -> EmbeddedMigrations {
    match conn {
        DbConnection::Sqlite(_) => SQLITE,
        DbConnection::Postgres(_) => POSTGRES,
    }
}

/// The PostgreSQL advisory lock desks take around their migrations (any fixed number
/// every desk agrees on; this one spells "insdesk" in ASCII).
const MIGRATION_LOCK: i64 = 0x0069_6e73_6465_736b;

/// Apply every pending migration; returns the names applied.
///
/// Desks started together on one PostgreSQL database would otherwise run the same
/// migration side by side, and all but one fail half-way (two `CREATE TABLE`s of one
/// name). They take turns on a session-level advisory lock instead; the later ones find
/// nothing pending. (On SQLite the migration's own write transaction keeps them apart.)
pub fn run_pending(conn: &mut DbConnection) -> Result<Vec<String>, String> {
    let migrations = source(conn);
    let locked = matches!(conn, DbConnection::Postgres(_));
    if locked {
        advisory(conn, "pg_advisory_lock")?;
    }
    let applied = conn
        .run_pending_migrations(migrations)
        .map(|applied| applied.iter().map(|v| v.to_string()).collect())
        .map_err(|e| format!("migrations failed: {e}"));
    if locked {
        // Closing the connection would release it as well; a pooled one stays open.
        advisory(conn, "pg_advisory_unlock")?;
    }
    applied
}

fn advisory(conn: &mut DbConnection, function: &str) -> Result<(), String> {
    use diesel::RunQueryDsl;
    diesel::sql_query(format!("SELECT {function}($1)"))
        .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK)
        .execute(conn)
        .map(|_| ())
        .map_err(|e| format!("cannot take turns on the migrations ({function}): {e}"))
}

/// True when the database holds every migration this binary knows.
pub fn is_current(conn: &mut DbConnection) -> Result<bool, String> {
    let migrations = source(conn);
    conn.has_pending_migration(migrations)
        .map(|pending| !pending)
        .map_err(|e| format!("cannot read migration state: {e}"))
}
