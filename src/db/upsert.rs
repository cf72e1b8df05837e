//! Upserts the connection keeps prepared.
//!
//! diesel prepares every upsert it builds (`ON CONFLICT … DO UPDATE`) afresh on each
//! execution and never keeps it: one Rust type of its upserts can stand for more than one
//! SQL text, so its statement cache, keyed by type, cannot hold them. For single-run
//! ingest, preparing the roll-up upserts was a large share of the SQLite writer's time. These
//! are written as a diesel query fragment instead: one row is its own type (`One`), kept
//! prepared and found again by that type, without building its SQL text to look it up;
//! more rows share one multi-row statement (`Many`), compiled for its row count and not
//! kept.

use std::any::Any;
use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::{QueryResult, RunQueryDsl};

use super::DbConnection;

/// A row of a table that `upsert` writes.
pub trait UpsertRow<DB: Backend> {
    /// The table and its columns in the order `push_values` binds them: `t (a, b)`.
    const INTO: &'static str;
    /// What a row whose key is stored already does: `ON CONFLICT (…) DO UPDATE SET …`,
    /// `excluded.` naming the row offered.
    const ON_CONFLICT: &'static str;
    /// Bind this row's values, separated by `", "`.
    fn push_values<'b>(&'b self, out: &mut AstPass<'_, 'b, DB>) -> QueryResult<()>;
}

/// `INSERT INTO … VALUES (…), … ON CONFLICT …` for `rows`.
fn push_upsert<'b, DB: Backend, R: UpsertRow<DB>>(
    rows: &'b [R],
    out: &mut AstPass<'_, 'b, DB>,
) -> QueryResult<()> {
    out.push_sql("INSERT INTO ");
    out.push_sql(R::INTO);
    out.push_sql(" VALUES ");
    for (i, row) in rows.iter().enumerate() {
        out.push_sql(if i == 0 { "(" } else { ", (" });
        row.push_values(out)?;
        out.push_sql(")");
    }
    out.push_sql(" ");
    out.push_sql(R::ON_CONFLICT);
    Ok(())
}

/// The upsert of one row: one SQL text per row type, so the type is its cache key.
struct One<'a, R>(&'a R);

impl<DB: Backend, R: UpsertRow<DB>> QueryFragment<DB> for One<'_, R> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        push_upsert(std::slice::from_ref(self.0), &mut out)
    }
}

impl<R: Any> QueryId for One<'_, R> {
    type QueryId = PhantomData<R>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<R, Conn> RunQueryDsl<Conn> for One<'_, R> {}

/// The upsert of several rows: a text per row count, not worth keeping.
struct Many<'a, R>(&'a [R]);

impl<DB: Backend, R: UpsertRow<DB>> QueryFragment<DB> for Many<'_, R> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.unsafe_to_cache_prepared();
        push_upsert(self.0, &mut out)
    }
}

impl<R> QueryId for Many<'_, R> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<R, Conn> RunQueryDsl<Conn> for Many<'_, R> {}

/// Insert `rows`, or update those whose key is stored as `R::ON_CONFLICT` says: one by
/// one through the kept single-row statement where `row_by_row` says so (SQLite always,
/// PostgreSQL for a few rows), else `chunk` rows to a statement.
pub fn upsert<R>(conn: &mut DbConnection, rows: &[R], chunk: usize) -> QueryResult<()>
where
    R: UpsertRow<diesel::sqlite::Sqlite> + UpsertRow<diesel::pg::Pg> + Any,
{
    if super::row_by_row(conn, rows.len()) {
        for row in rows {
            match conn {
                DbConnection::Sqlite(c) => One(row).execute(c),
                DbConnection::Postgres(c) => One(row).execute(c),
            }?;
        }
    } else {
        for part in rows.chunks(chunk.max(1)) {
            match conn {
                DbConnection::Sqlite(c) => Many(part).execute(c),
                DbConnection::Postgres(c) => Many(part).execute(c),
            }?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use diesel::connection::{InstrumentationEvent, SimpleConnection};
    use diesel::prelude::*;
    use diesel::query_builder::AstPass;
    use diesel::sql_types::{BigInt, Text};

    use super::{UpsertRow, upsert};
    use crate::db::DbConnection;

    struct Tally {
        name: &'static str,
        n: i64,
    }

    impl<DB> UpsertRow<DB> for Tally
    where
        DB: diesel::backend::Backend
            + diesel::sql_types::HasSqlType<Text>
            + diesel::sql_types::HasSqlType<BigInt>,
        str: diesel::serialize::ToSql<Text, DB>,
        i64: diesel::serialize::ToSql<BigInt, DB>,
    {
        const INTO: &'static str = "tally (name, n)";
        const ON_CONFLICT: &'static str =
            "ON CONFLICT (name) DO UPDATE SET n = tally.n + excluded.n";

        fn push_values<'b>(&'b self, out: &mut AstPass<'_, 'b, DB>) -> QueryResult<()> {
            out.push_bind_param::<Text, _>(self.name)?;
            out.push_sql(", ");
            out.push_bind_param::<BigInt, _>(&self.n)
        }
    }

    #[derive(QueryableByName, Debug, PartialEq)]
    struct Row {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    /// On SQLite any number of rows go one by one through one statement, prepared once
    /// and kept (`row_by_row`). Either way, a stored key is updated as told.
    #[test]
    fn few_rows_reuse_one_prepared_statement() {
        let mut sqlite = SqliteConnection::establish(":memory:").unwrap();
        sqlite
            .batch_execute("CREATE TABLE tally (name TEXT PRIMARY KEY NOT NULL, n BIGINT NOT NULL)")
            .unwrap();
        let kept = Arc::new(Mutex::new(0));
        let counter = kept.clone();
        sqlite.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::CacheQuery { .. } = event {
                *counter.lock().unwrap() += 1;
            }
        });
        let mut conn = DbConnection::Sqlite(sqlite);
        let few = [("a", 1), ("b", 2), ("a", 3)].map(|(name, n)| Tally { name, n });
        upsert(&mut conn, &few, 400).unwrap();
        upsert(&mut conn, &few[..1], 400).unwrap();
        assert_eq!(*kept.lock().unwrap(), 1, "one statement prepared and kept");
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
        let many: Vec<Tally> = names.iter().map(|name| Tally { name, n: 10 }).collect();
        upsert(&mut conn, &many, 4).unwrap();
        assert_eq!(
            *kept.lock().unwrap(),
            1,
            "many rows reuse the kept statement too"
        );
        let rows = diesel::sql_query("SELECT name, n FROM tally ORDER BY name")
            .load::<Row>(&mut conn)
            .unwrap();
        let expected: Vec<Row> = names
            .iter()
            .map(|name| Row {
                name: name.to_string(),
                n: match *name {
                    "a" => 15,
                    "b" => 12,
                    _ => 10,
                },
            })
            .collect();
        assert_eq!(rows, expected);
    }
}
