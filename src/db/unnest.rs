//! PostgreSQL: many rows in one kept statement.
//!
//! A multi-row `VALUES` statement is new SQL for every row count: PostgreSQL parses and
//! plans it afresh each time and diesel does not keep it prepared, while row by row costs
//! a round trip a row. `INSERT … SELECT * FROM UNNEST($1, $2, …)` binds one array per
//! column instead: the same SQL for any number of rows, prepared once per connection and
//! kept (its query id is static), one round trip for all the rows.
//!
//! Each statement is a struct with one `Vec` per column, built by `unnest_insert!` from a
//! slice of rows; each column is written once, with its SQL type, its Rust type and where
//! a row keeps it.

/// `unnest_insert!(Name<'a> from Row as row, "table", { col: SqlType => RustType = expr, … })`
/// defines `Name` with a `Vec` per column and `Name::insert(pg, rows)`, which inserts
/// `rows: &'a [Row]` in one statement; `expr` reads the column's value off `row`.
macro_rules! unnest_insert {
    (
        $(#[$doc:meta])*
        $name:ident<$lt:lifetime> from $row:ty as $it:ident, $table:literal,
        { $($column:ident : $sql:ty => $rust:ty = $value:expr),+ $(,)? }
    ) => {
        $(#[$doc])*
        pub(crate) struct $name<$lt> {
            $(pub $column: Vec<$rust>,)+
        }

        impl<$lt> $name<$lt> {
            /// Insert `rows` in one statement; none, no statement.
            pub fn insert(
                conn: &mut diesel::PgConnection,
                rows: &$lt [$row],
            ) -> diesel::QueryResult<usize> {
                if rows.is_empty() {
                    return Ok(0);
                }
                diesel::RunQueryDsl::execute(Self::of(rows), conn)
            }

            /// The statement for `rows`: each column's values in row order.
            pub fn of(rows: &$lt [$row]) -> Self {
                let mut all = $name {
                    $($column: Vec::with_capacity(rows.len()),)+
                };
                for $it in rows {
                    $(all.$column.push($value);)+
                }
                all
            }
        }

        impl<$lt> diesel::query_builder::QueryId for $name<$lt> {
            type QueryId = $name<'static>;
            const HAS_STATIC_QUERY_ID: bool = true;
        }

        impl<$lt> diesel::query_builder::QueryFragment<diesel::pg::Pg> for $name<$lt> {
            fn walk_ast<'b>(
                &'b self,
                mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
            ) -> diesel::QueryResult<()> {
                out.push_sql(concat!("INSERT INTO ", $table, " ("));
                let mut separator = "";
                $(
                    out.push_sql(separator);
                    separator = ", ";
                    out.push_sql(stringify!($column));
                )+
                out.push_sql(") SELECT * FROM UNNEST(");
                separator = "";
                $(
                    out.push_sql(separator);
                    separator = ", ";
                    out.push_bind_param::<diesel::sql_types::Array<$sql>, Vec<$rust>>(
                        &self.$column,
                    )?;
                )+
                let _ = separator;
                out.push_sql(")");
                Ok(())
            }
        }

        impl<$lt> diesel::RunQueryDsl<diesel::PgConnection> for $name<$lt> {}
    };
}
pub(crate) use unnest_insert;

#[cfg(test)]
mod tests {
    use diesel::query_builder::QueryBuilder;
    use diesel::sql_types::{BigInt, Nullable, Text};

    unnest_insert!(Pairs<'a> from (i64, Option<&'a str>) as pair, "pairs", {
        id: BigInt => i64 = pair.0,
        name: Nullable<Text> => Option<&'a str> = pair.1,
    });

    /// The SQL is one text whatever the number of rows, one array bind per column, each
    /// column's values taken off the rows in order.
    #[test]
    fn one_sql_text_for_any_number_of_rows() {
        // What the statement runs on PostgreSQL; here only its SQL is read.
        let _ = Pairs::insert;
        let rows = [(7, Some("seven")), (8, None)];
        let pairs = Pairs::of(&rows);
        assert_eq!(pairs.id, [7, 8]);
        assert_eq!(pairs.name, [Some("seven"), None]);
        let sql = |rows: usize| {
            let rows = vec![(1, Some("x")); rows];
            let pairs = Pairs::of(&rows);
            let mut builder = diesel::pg::PgQueryBuilder::default();
            diesel::query_builder::QueryFragment::<diesel::pg::Pg>::to_sql(
                &pairs,
                &mut builder,
                &diesel::pg::Pg,
            )
            .unwrap();
            builder.finish()
        };
        assert_eq!(
            sql(1),
            "INSERT INTO pairs (id, name) SELECT * FROM UNNEST($1, $2)"
        );
        assert_eq!(sql(1), sql(40));
    }
}
