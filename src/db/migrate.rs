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

/// Apply every pending migration; returns the names applied.
pub fn run_pending(conn: &mut DbConnection) -> Result<Vec<String>, String> {
    let migrations = source(conn);
    let applied = conn
        .run_pending_migrations(migrations)
        .map_err(|e| format!("migrations failed: {e}"))?;
    Ok(applied.iter().map(|v| v.to_string()).collect())
}

/// True when the database holds every migration this binary knows.
pub fn is_current(conn: &mut DbConnection) -> Result<bool, String> {
    let migrations = source(conn);
    conn.has_pending_migration(migrations)
        .map(|pending| !pending)
        .map_err(|e| format!("cannot read migration state: {e}"))
}
