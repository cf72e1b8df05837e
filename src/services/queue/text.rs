//! The queue's search box: what an agent remembers of a ticket, matched case-insensitively
//! on both backends with LIKE's wildcards taken literally.

use diesel::prelude::*;

use crate::db::schema::tickets;
use crate::domain::ticket_number::TicketNumber;

diesel::define_sql_function!(
    /// SQL `lower`, on text that may be NULL.
    fn lower(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>
);

type Condition = Box<
    dyn BoxableExpression<
            tickets::table,
            crate::db::Backend,
            SqlType = diesel::sql_types::Nullable<diesel::sql_types::Bool>,
        >,
>;

type TextColumn = Box<
    dyn BoxableExpression<
            tickets::table,
            crate::db::Backend,
            SqlType = diesel::sql_types::Nullable<diesel::sql_types::Text>,
        >,
>;

/// `column` (lower-cased) holds `pattern`.
fn contains(column: TextColumn, pattern: &str) -> Condition {
    Box::new(lower(column).like(pattern.to_string()).escape('\\'))
}

/// `%text%` for LIKE, lower-cased, with LIKE's own wildcards taken literally.
fn like_pattern(text: &str) -> String {
    format!(
        "%{}%",
        text.to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

/// What the search box finds, case-insensitive: the ticket number (`INS-1042` or `1042`),
/// the reporter's email or name, the table, the column, `table.column`, and the report's
/// text.
pub(super) fn matches(text: &str) -> Condition {
    let text = text.trim();
    let pattern = like_pattern(text);
    let mut found: Condition = contains(Box::new(tickets::description.nullable()), &pattern);
    let columns: [TextColumn; 4] = [
        Box::new(tickets::reporter_email.nullable()),
        Box::new(tickets::reporter_name),
        Box::new(tickets::table_name),
        Box::new(tickets::column_name),
    ];
    for column in columns {
        found = Box::new(found.or(contains(column, &pattern)));
    }
    if let Ok(number) = TicketNumber::parse(text) {
        found = Box::new(found.or(tickets::id.eq(number.id()).nullable()));
    }
    // `dw.sales.orders.amount`: the table, then the column after the last dot.
    if let Some((table, column)) = text.rsplit_once('.')
        && !table.is_empty()
        && !column.is_empty()
    {
        found = Box::new(
            found.or(lower(tickets::table_name)
                .like(like_pattern(table))
                .escape('\\')
                .and(lower(tickets::column_name).eq(column.to_lowercase()))),
        );
    }
    found
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn wildcards_are_taken_literally() {
        assert_eq!(like_pattern("100%_a\\b"), "%100\\%\\_a\\\\b%");
        assert_eq!(like_pattern("Orders"), "%orders%");
    }
}
