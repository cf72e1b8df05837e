//! Database errors, told apart once, here, where the driver's error is seen: the rest of
//! the desk asks a `DbError` its `kind` and never reads an error's text.

/// What a failed database call means for its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbErrorKind {
    /// No row matched a query that needs one.
    NotFound,
    /// SQLite's write lock (or this process's turn to write) was not had in time.
    Busy,
    /// The connection to the server is gone: PostgreSQL stopped or is restarting.
    Unavailable,
    /// A unique constraint refused a row: a duplicate, often a race another writer won.
    Conflict,
    /// Text the database cannot store: PostgreSQL refuses NUL characters (SQLite takes
    /// them).
    InvalidText,
    /// Anything else: a fault to log.
    Other,
}

/// A database error and its kind. It reads as the driver's error it came from (its
/// `Display` and `source` are that error's), so logs show what the database said.
#[derive(Debug)]
pub struct DbError {
    kind: DbErrorKind,
    error: diesel::result::Error,
}

impl DbError {
    pub fn kind(&self) -> DbErrorKind {
        self.kind
    }

    /// The driver's error.
    pub fn diesel_error(&self) -> &diesel::result::Error {
        &self.error
    }
}

impl From<diesel::result::Error> for DbError {
    fn from(error: diesel::result::Error) -> Self {
        DbError {
            kind: classify(&error),
            error,
        }
    }
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for DbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

fn classify(error: &diesel::result::Error) -> DbErrorKind {
    use diesel::result::{DatabaseErrorKind, Error as E};
    match error {
        E::NotFound => DbErrorKind::NotFound,
        // The commit failed and so did the rollback after it: the commit's failure says
        // why (a server gone mid-commit is the usual one).
        E::RollbackErrorOnCommit { commit_error, .. } => classify(commit_error),
        E::DatabaseError(..) | E::BrokenTransactionManager => classify_message(&error.to_string())
            .unwrap_or(match error {
                E::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => DbErrorKind::Conflict,
                _ => DbErrorKind::Other,
            }),
        _ => DbErrorKind::Other,
    }
}

/// The one place an error's text is read. Through diesel, SQLite reports a busy database
/// only as its message (kind `Unknown`), and so do the desk's own write-turn timeout
/// (`database_error`) and a PostgreSQL server that went away on a pooled connection.
fn classify_message(message: &str) -> Option<DbErrorKind> {
    if message.contains("invalid byte sequence for encoding") {
        Some(DbErrorKind::InvalidText)
    } else if message.contains("database is locked") {
        Some(DbErrorKind::Busy)
    } else if message.contains("connection") || message.contains("server closed") {
        Some(DbErrorKind::Unavailable)
    } else {
        None
    }
}

/// A database error of the desk's own (no turn to write, a stopped writer), as diesel
/// reports one.
pub(super) fn database_error(message: impl Into<String>) -> diesel::result::Error {
    diesel::result::Error::DatabaseError(
        diesel::result::DatabaseErrorKind::Unknown,
        Box::new(message.into()),
    )
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::result::{DatabaseErrorKind, Error as E};

    use super::{DbError, DbErrorKind, database_error};

    fn kind(error: E) -> DbErrorKind {
        DbError::from(error).kind()
    }

    fn reported(kind: DatabaseErrorKind, message: &str) -> E {
        E::DatabaseError(kind, Box::new(message.to_string()))
    }

    /// What SQLite itself reports, from real connections: a duplicate key, and a write
    /// while another connection holds the write lock.
    #[test]
    fn sqlite_conflicts_and_busy_writes_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.db");
        let path = path.to_string_lossy();
        let mut first = SqliteConnection::establish(&path).unwrap();
        first
            .batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1)")
            .unwrap();
        let duplicate = diesel::sql_query("INSERT INTO t VALUES (1)")
            .execute(&mut first)
            .unwrap_err();
        assert_eq!(kind(duplicate), DbErrorKind::Conflict);

        first.batch_execute("BEGIN IMMEDIATE").unwrap();
        let mut second = SqliteConnection::establish(&path).unwrap();
        second.batch_execute("PRAGMA busy_timeout = 0").unwrap();
        let locked = second
            .batch_execute("INSERT INTO t VALUES (2)")
            .unwrap_err();
        assert_eq!(kind(locked), DbErrorKind::Busy);
        first.batch_execute("ROLLBACK").unwrap();
    }

    /// PostgreSQL's answers as diesel reports them, and the desk's own errors.
    #[test]
    fn messages_are_classified_once() {
        let cases = [
            (
                reported(
                    DatabaseErrorKind::Unknown,
                    "invalid byte sequence for encoding \"UTF8\": 0x00",
                ),
                DbErrorKind::InvalidText,
            ),
            (
                reported(
                    DatabaseErrorKind::ClosedConnection,
                    "server closed the connection unexpectedly",
                ),
                DbErrorKind::Unavailable,
            ),
            (
                reported(
                    DatabaseErrorKind::UnableToSendCommand,
                    "no connection to the server",
                ),
                DbErrorKind::Unavailable,
            ),
            (
                reported(
                    DatabaseErrorKind::UniqueViolation,
                    "duplicate key value violates unique constraint \"tickets_pkey\"",
                ),
                DbErrorKind::Conflict,
            ),
            (
                reported(
                    DatabaseErrorKind::ForeignKeyViolation,
                    "FOREIGN KEY constraint failed",
                ),
                DbErrorKind::Other,
            ),
            (
                database_error("database is locked: no turn to write within 10 s"),
                DbErrorKind::Busy,
            ),
            (
                database_error("the SQLite writer has stopped"),
                DbErrorKind::Other,
            ),
            (
                E::RollbackErrorOnCommit {
                    commit_error: Box::new(reported(
                        DatabaseErrorKind::ClosedConnection,
                        "server closed the connection unexpectedly",
                    )),
                    rollback_error: Box::new(E::BrokenTransactionManager),
                },
                DbErrorKind::Unavailable,
            ),
            (E::NotFound, DbErrorKind::NotFound),
            (E::RollbackTransaction, DbErrorKind::Other),
        ];
        for (error, expected) in cases {
            let text = error.to_string();
            assert_eq!(kind(error), expected, "{text}");
        }
    }

    /// A `DbError` reads as the driver's error, so the logged cause chain is unchanged.
    #[test]
    fn reads_as_the_drivers_error() {
        let error = DbError::from(database_error("the SQLite writer has stopped"));
        assert_eq!(error.to_string(), "the SQLite writer has stopped");
        assert!(std::error::Error::source(&error).is_none());
    }
}
