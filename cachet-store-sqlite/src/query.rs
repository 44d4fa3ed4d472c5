//! SQL assembled from fixed pieces only: clauses and column names are `&'static str`
//! literals of this crate, every value is a bound parameter.

use cachet_core::store::{ListQuery, Order};
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, Row};

use crate::error::{Corrupt, Res};

/// AND-ed conditions and their parameters, in placeholder order.
#[derive(Debug, Default)]
pub(crate) struct Where {
    clauses: Vec<&'static str>,
    params: Vec<Value>,
}

impl Where {
    /// A condition without parameters.
    pub(crate) fn raw(&mut self, clause: &'static str) {
        self.clauses.push(clause);
    }

    /// A condition with exactly one `?`.
    pub(crate) fn bind(&mut self, clause: &'static str, value: impl Into<Value>) {
        self.clauses.push(clause);
        self.params.push(value.into());
    }

    /// The conditions as SQL (`1` when there are none).
    pub(crate) fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "1".to_owned()
        } else {
            self.clauses
                .iter()
                .map(|c| format!("({c})"))
                .collect::<Vec<_>>()
                .join(" AND ")
        }
    }
}

/// Column assignments of an UPDATE, each `col = ?`.
#[derive(Debug, Default)]
pub(crate) struct Set {
    columns: Vec<&'static str>,
    params: Vec<Value>,
}

impl Set {
    /// Assigns `value` to `column` (a quoted column name of this crate's schema).
    pub(crate) fn set(&mut self, column: &'static str, value: impl Into<Value>) {
        self.columns.push(column);
        self.params.push(value.into());
    }

    /// Assigns when `value` is `Some`.
    pub(crate) fn set_some<V: Into<Value>>(&mut self, column: &'static str, value: Option<V>) {
        if let Some(v) = value {
            self.set(column, v);
        }
    }

    /// Runs `UPDATE table SET ... WHERE id = ?`; returns the rows changed.
    pub(crate) fn execute(self, conn: &Connection, table: &'static str, id: i64) -> Res<usize> {
        if self.columns.is_empty() {
            return Ok(0);
        }
        let assignments = self
            .columns
            .iter()
            .map(|c| format!("{c} = ?"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("UPDATE {table} SET {assignments} WHERE id = ?");
        let mut params = self.params;
        params.push(Value::Integer(id));
        Ok(conn
            .prepare_cached(&sql)?
            .execute(params_from_iter(params.iter()))?)
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
pub(crate) fn order_by(
    sort: Option<(&'static str, Order)>,
    id: &'static str,
    default: &'static str,
) -> String {
    match sort {
        Some((col, order)) if col == id => format!("{id} {}", dir(order)),
        Some((col, order)) => format!("{col} {d}, {id} {d}", d = dir(order)),
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

/// Counts the matching rows, then reads one page of them sorted.
pub(crate) fn fetch_page<S, F, T>(
    conn: &Connection,
    spec: &PageSpec<'_>,
    q: &ListQuery<S, F>,
    mut map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Res<(Vec<T>, u64)> {
    let condition = spec.filter.sql();
    let count_sql = format!("SELECT COUNT(*) FROM {} WHERE {condition}", spec.from);
    let total: i64 = conn
        .prepare_cached(&count_sql)?
        .query_row(params_from_iter(spec.filter.params.iter()), |r| r.get(0))?;
    let total = u64::try_from(total).map_err(|_| Corrupt("negative row count"))?;
    let offset = q.offset();
    if offset >= total {
        return Ok((Vec::new(), total));
    }
    let sql = format!(
        "SELECT {} FROM {} WHERE {condition} ORDER BY {} LIMIT ? OFFSET ?",
        spec.columns, spec.from, spec.order
    );
    let mut params = spec.filter.params.clone();
    params.push(Value::Integer(i64::from(q.limit())));
    // The offset is below `total`, itself an i64 count.
    params.push(Value::Integer(i64::try_from(offset).unwrap_or(i64::MAX)));
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(params.iter()), |r| map(r))?;
    let items = rows.collect::<rusqlite::Result<Vec<T>>>()?;
    Ok((items, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_joins_clauses() {
        let mut w = Where::default();
        assert_eq!(w.sql(), "1");
        w.raw("a IS NULL");
        w.bind("b = ?", 1i64);
        assert_eq!(w.sql(), "(a IS NULL) AND (b = ?)");
    }

    #[test]
    fn order_breaks_ties_by_id_in_the_same_direction() {
        assert_eq!(
            order_by(Some(("c.name", Order::Desc)), "c.id", "c.id ASC"),
            "c.name DESC, c.id DESC"
        );
        assert_eq!(
            order_by(Some(("c.id", Order::Desc)), "c.id", "c.id ASC"),
            "c.id DESC"
        );
        assert_eq!(order_by(None, "c.id", "c.id ASC"), "c.id ASC");
    }
}
