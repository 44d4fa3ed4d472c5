//! SQL assembled from fixed pieces only: clauses, column and table names are `&'static str`
//! literals of this crate, and every value is a bound parameter ([`Arg`]). The SQL is
//! written once with `?` placeholders and adapted to each engine by [`Dialect::sql`].

use cachet_core::store::{ListQuery, Order};

/// The two engines' differences that the shared SQL has to bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// PostgreSQL: `$n` placeholders, `RETURNING`, `ON CONFLICT`, `/` on integers truncates.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Postgres,
    /// MySQL and MariaDB: `?` placeholders, `ON DUPLICATE KEY`, `DIV` for integer division.
    #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
    MySql,
}

impl Dialect {
    /// `sql` with its `?` placeholders numbered for PostgreSQL (`$1`, `$2`, ...); outside
    /// quotes only (no statement of this crate puts `?` in a literal, but a future one might).
    pub(crate) fn sql(self, sql: &str) -> String {
        match self {
            Dialect::MySql => sql.to_owned(),
            Dialect::Postgres => {
                let mut out = String::with_capacity(sql.len() + 16);
                let mut n = 0u32;
                let mut quoted = false;
                for c in sql.chars() {
                    match c {
                        '\'' => {
                            quoted = !quoted;
                            out.push(c);
                        }
                        '?' if !quoted => {
                            n += 1;
                            out.push('$');
                            out.push_str(&n.to_string());
                        }
                        _ => out.push(c),
                    }
                }
                out
            }
        }
    }

    /// Integer division operator.
    pub(crate) fn div(self) -> &'static str {
        match self {
            Dialect::Postgres => "/",
            Dialect::MySql => "DIV",
        }
    }
}

/// A bound value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    /// An integer.
    Int(i64),
    /// An integer or NULL.
    OptInt(Option<i64>),
    /// A float.
    Float(f64),
    /// Text.
    Text(String),
    /// Text or NULL.
    OptText(Option<String>),
    /// A boolean.
    Bool(bool),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}

impl From<u8> for Arg {
    fn from(v: u8) -> Self {
        Arg::Int(i64::from(v))
    }
}

impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::OptInt(v)
    }
}

impl From<f64> for Arg {
    fn from(v: f64) -> Self {
        Arg::Float(v)
    }
}

impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(v)
    }
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_owned())
    }
}

impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::OptText(v)
    }
}

impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}

/// AND-ed conditions and their parameters, in placeholder order.
#[derive(Debug, Default)]
pub(crate) struct Where {
    clauses: Vec<String>,
    pub(crate) args: Vec<Arg>,
}

impl Where {
    /// A condition without parameters.
    pub(crate) fn raw(&mut self, clause: &'static str) {
        self.clauses.push(clause.to_owned());
    }

    /// A condition with exactly one `?`.
    pub(crate) fn bind(&mut self, clause: &'static str, value: impl Into<Arg>) {
        self.clauses.push(clause.to_owned());
        self.args.push(value.into());
    }

    /// A condition built around a list of placeholders (`make` gets `?, ?, ...`); nothing
    /// matches an empty list.
    pub(crate) fn with_list(&mut self, make: impl FnOnce(&str) -> String, values: Vec<Arg>) {
        if values.is_empty() {
            self.clauses.push("1 = 0".to_owned());
            return;
        }
        self.clauses.push(make(&placeholders(values.len())));
        self.args.extend(values);
    }

    /// The conditions as SQL (`1 = 1` when there are none).
    pub(crate) fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "1 = 1".to_owned()
        } else {
            self.clauses
                .iter()
                .map(|c| format!("({c})"))
                .collect::<Vec<_>>()
                .join(" AND ")
        }
    }
}

/// `?, ?, ...` (`n` of them).
pub(crate) fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Column assignments of an UPDATE, each `col = ?`.
#[derive(Debug, Default)]
pub(crate) struct Set {
    columns: Vec<&'static str>,
    pub(crate) args: Vec<Arg>,
}

impl Set {
    /// Assigns `value` to `column` (a column name of this crate's schema).
    pub(crate) fn set(&mut self, column: &'static str, value: impl Into<Arg>) {
        self.columns.push(column);
        self.args.push(value.into());
    }

    /// Assigns when `value` is `Some`.
    pub(crate) fn set_some<V: Into<Arg>>(&mut self, column: &'static str, value: Option<V>) {
        if let Some(v) = value {
            self.set(column, v);
        }
    }

    /// Whether nothing is assigned.
    pub(crate) fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// `UPDATE table SET ... WHERE id = ?` and its arguments (the id last).
    pub(crate) fn statement(self, table: &'static str, id: i64) -> (String, Vec<Arg>) {
        let assignments = self
            .columns
            .iter()
            .map(|c| format!("{c} = ?"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut args = self.args;
        args.push(Arg::Int(id));
        (
            format!("UPDATE {table} SET {assignments} WHERE id = ?"),
            args,
        )
    }
}

/// `ASC` / `DESC`.
pub(crate) fn dir(order: Order) -> &'static str {
    match order {
        Order::Asc => "ASC",
        Order::Desc => "DESC",
    }
}

/// `ORDER BY` text: the requested column then `id` in the same direction, or `default`.
///
/// NULL sorts as the smallest value on every engine, as in SQLite and MySQL: PostgreSQL
/// would put it last in ascending order, so there the direction is spelled out.
pub(crate) fn order_by(
    dialect: Dialect,
    sort: Option<(&'static str, Order)>,
    id: &'static str,
    default: &'static str,
) -> String {
    let nulls = |order: Order| match (dialect, order) {
        (Dialect::MySql, _) => "",
        (Dialect::Postgres, Order::Asc) => " NULLS FIRST",
        (Dialect::Postgres, Order::Desc) => " NULLS LAST",
    };
    match sort {
        Some((col, order)) if col == id => format!("{id} {}", dir(order)),
        Some((col, order)) => format!("{col} {d}{n}, {id} {d}", d = dir(order), n = nulls(order)),
        None => default.to_owned(),
    }
}

/// What to select for one page.
pub(crate) struct PageSpec<'a> {
    /// Selected columns.
    pub(crate) columns: &'static str,
    /// `FROM` clause (tables and joins).
    pub(crate) from: &'static str,
    /// Conditions.
    pub(crate) filter: &'a Where,
    /// `ORDER BY` text built by [`order_by`].
    pub(crate) order: String,
}

impl PageSpec<'_> {
    /// The count statement.
    pub(crate) fn count_sql(&self) -> String {
        format!(
            "SELECT COUNT(*) FROM {} WHERE {}",
            self.from,
            self.filter.sql()
        )
    }

    /// The page statement and its arguments (limit and offset last).
    pub(crate) fn page_sql<S, F>(&self, q: &ListQuery<S, F>) -> (String, Vec<Arg>) {
        let sql = format!(
            "SELECT {} FROM {} WHERE {} ORDER BY {} LIMIT ? OFFSET ?",
            self.columns,
            self.from,
            self.filter.sql(),
            self.order
        );
        let mut args = self.filter.args.clone();
        args.push(Arg::Int(i64::from(q.limit())));
        // The offset is a page number times at most MAX_PER_PAGE: far below i64::MAX.
        args.push(Arg::Int(i64::try_from(q.offset()).unwrap_or(i64::MAX)));
        (sql, args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres_only() {
        let sql = "SELECT a FROM t WHERE b = ? AND c IN (?, ?) AND d = '?'";
        assert_eq!(Dialect::MySql.sql(sql), sql);
        assert_eq!(
            Dialect::Postgres.sql(sql),
            "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3) AND d = '?'"
        );
    }

    #[test]
    fn where_joins_clauses_and_lists() {
        let mut w = Where::default();
        assert_eq!(w.sql(), "1 = 1");
        w.raw("a IS NULL");
        w.bind("b = ?", 1i64);
        w.with_list(|ph| format!("c IN ({ph})"), vec![Arg::Int(2), Arg::Int(3)]);
        assert_eq!(w.sql(), "(a IS NULL) AND (b = ?) AND (c IN (?, ?))");
        assert_eq!(w.args, [Arg::Int(1), Arg::Int(2), Arg::Int(3)]);
        let mut none = Where::default();
        none.with_list(|ph| format!("c IN ({ph})"), Vec::new());
        assert_eq!(none.sql(), "(1 = 0)");
    }

    #[test]
    fn order_breaks_ties_by_id_in_the_same_direction() {
        let my = Dialect::MySql;
        assert_eq!(
            order_by(my, Some(("c.name", Order::Desc)), "c.id", "c.id ASC"),
            "c.name DESC, c.id DESC"
        );
        assert_eq!(order_by(my, None, "c.id", "c.id ASC"), "c.id ASC");
        // PostgreSQL sorts NULL as the smallest value, like the other engines.
        let pg = Dialect::Postgres;
        assert_eq!(
            order_by(pg, Some(("i.user_id", Order::Asc)), "i.id", "i.id ASC"),
            "i.user_id ASC NULLS FIRST, i.id ASC"
        );
        assert_eq!(
            order_by(pg, Some(("i.user_id", Order::Desc)), "i.id", "i.id ASC"),
            "i.user_id DESC NULLS LAST, i.id DESC"
        );
        assert_eq!(
            order_by(pg, Some(("i.id", Order::Desc)), "i.id", "i.id ASC"),
            "i.id DESC"
        );
    }
}
