//! Domain enums as column types: stored as their text (`as_str`), read back through their
//! `parse`, on both backends. The domain stays free of diesel; these impls are the one
//! place that knows how an enum meets a column. A stored value that no longer parses is a
//! deserialisation error naming the type and the value, not a silent fallback.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, Queryable};
use diesel::expression::AsExpression;
use diesel::internal::derives::as_expression::Bound;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::{Nullable, Text};

use crate::domain::category::{Category, ProblemKind, TypeVerdict};
use crate::domain::drill::DrillStatus;
use crate::domain::event::EventKind;
use crate::domain::lineage::EventType;
use crate::domain::outbox::OutboxStatus;
use crate::domain::role::Role;
use crate::domain::run::RunStatus;
use crate::domain::severity::{Impact, Severity};
use crate::domain::status::Status;
use crate::domain::warehouse::WarehouseType;

/// What `#[derive(AsExpression, FromSqlRow)]` with `sql_type = Text` would give a type
/// that has `as_str(self) -> &'static str` and `parse(&str) -> Result<Self, String>`: a
/// stored value that does not parse is an error naming it.
macro_rules! text_column {
    ($($name:ty),* $(,)?) => {$(
        text_column!(@write $name);

        impl<DB: Backend> FromSql<Text, DB> for $name
        where
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                let text = <String as FromSql<Text, DB>>::from_sql(bytes)?;
                <$name>::parse(&text).map_err(|e| {
                    format!("stored {} '{text}' does not parse: {e}", stringify!($name)).into()
                })
            }
        }
    )*};
    // Everything but reading: binding the text, and the expressions diesel builds.
    (@write $name:ty) => {
        impl<DB: Backend> ToSql<Text, DB> for $name
        where
            str: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                <str as ToSql<Text, DB>>::to_sql(self.as_str(), out)
            }
        }

        impl<DB: Backend> ToSql<Nullable<Text>, DB> for $name
        where
            str: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                <str as ToSql<Text, DB>>::to_sql(self.as_str(), out)
            }
        }

        impl<DB: Backend> Queryable<Text, DB> for $name
        where
            Self: FromSql<Text, DB>,
        {
            type Row = Self;
            fn build(row: Self) -> deserialize::Result<Self> {
                Ok(row)
            }
        }

        impl AsExpression<Text> for $name {
            type Expression = Bound<Text, Self>;
            fn as_expression(self) -> Self::Expression {
                Bound::new(self)
            }
        }

        impl<'a> AsExpression<Text> for &'a $name {
            type Expression = Bound<Text, Self>;
            fn as_expression(self) -> Self::Expression {
                Bound::new(self)
            }
        }

        impl AsExpression<Nullable<Text>> for $name {
            type Expression = Bound<Nullable<Text>, Self>;
            fn as_expression(self) -> Self::Expression {
                Bound::new(self)
            }
        }

        impl<'a> AsExpression<Nullable<Text>> for &'a $name {
            type Expression = Bound<Nullable<Text>, Self>;
            fn as_expression(self) -> Self::Expression {
                Bound::new(self)
            }
        }
    };
}

text_column!(
    Status,
    Category,
    ProblemKind,
    Severity,
    Impact,
    WarehouseType,
    RunStatus,
    Role,
    EventType,
    TypeVerdict,
    OutboxStatus,
    DrillStatus,
);

// Timeline entries written by another version of the desk keep their place in the
// history as a change of a kind this one does not name, rather than failing the page.
text_column!(@write EventKind);

impl<DB: Backend> FromSql<Text, DB> for EventKind
where
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, DB>>::from_sql(bytes)?;
        Ok(EventKind::parse(&text).unwrap_or(EventKind::Other))
    }
}
