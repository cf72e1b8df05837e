//! PostgreSQL: many rows in one kept statement.
//!
//! A multi-row `VALUES` statement is new SQL for every row count: PostgreSQL parses and
//! plans it afresh each time and diesel does not keep it prepared, while row by row costs
//! a round trip a row. `INSERT … SELECT * FROM UNNEST($1, $2, …)` binds one array per
//! column instead: the same SQL for any number of rows, prepared once per connection and
//! kept (its query id is static), one round trip for all the rows.
//!
//! Each statement is a struct with one `Vec` per column, built by `unnest_insert!`; the
//! column list is written out once, beside the SQL types of its arrays.

/// `unnest_insert!(Name<'a>, "table", "col_a, col_b", { col_a: SqlType => RustType, … })`
/// defines `Name` with a `Vec` per column and makes it a runnable PostgreSQL statement.
/// The columns in the string and in the braces are in the same order.
macro_rules! unnest_insert {
    (
        $(#[$doc:meta])*
        $name:ident<$lt:lifetime>, $table:literal, $columns:literal,
        { $($column:ident : $sql:ty => $rust:ty),+ $(,)? }
    ) => {
        $(#[$doc])*
        #[derive(Default)]
        pub(crate) struct $name<$lt> {
            $(pub $column: Vec<$rust>,)+
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
                out.push_sql(concat!(
                    "INSERT INTO ", $table, " (", $columns, ") SELECT * FROM UNNEST("
                ));
                let mut separator = "";
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

    unnest_insert!(Pairs<'a>, "pairs", "id, name", { id: BigInt => i64, name: Nullable<Text> => Option<&'a str> });

    /// The SQL is one text whatever the number of rows, one array bind per column.
    #[test]
    fn one_sql_text_for_any_number_of_rows() {
        let sql = |rows: usize| {
            let pairs = Pairs {
                id: (0..rows as i64).collect(),
                name: vec![Some("x"); rows],
            };
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
