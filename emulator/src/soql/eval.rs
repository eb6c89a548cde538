//! Checks a parsed query against the schema (fields, types of literals) and runs it
//! over a table.

use super::ast::{Cond, Item, Lit, Literal, Name, Op, Query, Relative, Select};
use super::relations::{Column, ParentKind, USER_FIELDS};
use super::SoqlError;
use crate::ids::Id;
use crate::schema::{FieldDef, Kind, ObjectDef, Schema};
use crate::store::{Record, Table};
use crate::timefmt::{self, DAY_MS};
use crate::value::{compare_text, Value};
use regex::Regex;
use std::cmp::Ordering;
use std::sync::Arc;

/// A checked query, ready to run.
#[derive(Debug)]
pub struct Plan {
    pub table: usize,
    pub count_only: bool,
    /// Selected field positions, in SELECT order (the object's own fields only).
    pub fields: Vec<usize>,
    /// Every selected column in SELECT order, relationship columns included.
    pub columns: Vec<Column>,
    filter: Option<Pred>,
    order: Vec<(usize, bool, bool)>,
    limit: Option<usize>,
    offset: usize,
}

#[derive(Debug)]
enum Pred {
    And(Vec<Pred>),
    Or(Vec<Pred>),
    Not(Box<Pred>),
    Compare {
        field: usize,
        op: Op,
        value: Value,
    },
    /// A relative date: the half-open range [lo, hi) in the field's unit.
    Range {
        field: usize,
        op: Op,
        lo: i64,
        hi: i64,
    },
    In {
        field: usize,
        negated: bool,
        values: Vec<Value>,
    },
    Like {
        field: usize,
        pattern: Regex,
    },
}

/// Checks `query` (parsed from `text`) against `schema`; relative dates resolve against `now_ms`.
pub fn compile(query: &Query, text: &str, schema: &Schema, now_ms: i64) -> Result<Plan, SoqlError> {
    let table = schema.object_index(&query.from.text).ok_or_else(|| {
        SoqlError::at(
            "INVALID_TYPE",
            text,
            query.from.pos,
            format!(
                "sObject type '{}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
                query.from.text
            ),
        )
    })?;
    compile_on(query, text, schema, now_ms, table, true)
}

/// Compiles `query` over `table`; relationship columns only at the top level.
fn compile_on(
    query: &Query,
    text: &str,
    schema: &Schema,
    now_ms: i64,
    table: usize,
    top_level: bool,
) -> Result<Plan, SoqlError> {
    let object = &schema.objects[table];
    let c = Checker {
        text,
        object,
        today: now_ms.div_euclid(DAY_MS),
    };
    let (count_only, fields, columns) = match &query.select {
        Select::CountAll => (true, Vec::new(), Vec::new()),
        Select::Fields(items) => {
            let mut fields = Vec::with_capacity(items.len());
            let mut columns = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Item::Field(name) if top_level && name.text.contains('.') => {
                        c.parent_field(schema, name, &mut columns)?
                    }
                    Item::Field(name) => {
                        let index = c.field(name)?;
                        if fields.contains(&index) {
                            return Err(SoqlError::at(
                                "MALFORMED_QUERY",
                                text,
                                name.pos,
                                format!("duplicate field selected: {}", object.fields[index].name),
                            ));
                        }
                        fields.push(index);
                        columns.push(Column::Field(index));
                    }
                    Item::Subquery(sub) if top_level => {
                        let relationship = schema
                            .child_relationships(&object.name)
                            .into_iter()
                            .find(|r| r.name.eq_ignore_ascii_case(&sub.from.text))
                            .ok_or_else(|| {
                                SoqlError::at(
                                    "INVALID_TYPE",
                                    text,
                                    sub.from.pos,
                                    format!(
                                        "Didn't understand relationship '{}' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.",
                                        sub.from.text
                                    ),
                                )
                            })?;
                        let plan =
                            compile_on(sub, text, schema, now_ms, relationship.child, false)?;
                        columns.push(Column::Children {
                            name: relationship.name,
                            via: relationship.field,
                            plan: Box::new(plan),
                        });
                    }
                    Item::Subquery(sub) => {
                        return Err(SoqlError::at(
                            "MALFORMED_QUERY",
                            text,
                            sub.from.pos,
                            "Nesting of semi join sub-selects is not supported; this emulator serves one level of subqueries without relationship fields inside them",
                        ))
                    }
                }
            }
            (false, fields, columns)
        }
    };
    let filter = query
        .filter
        .as_ref()
        .map(|cond| c.condition(cond))
        .transpose()?;
    let order = query
        .order_by
        .iter()
        .map(|item| {
            let index = c.field(&item.field)?;
            let def = &object.fields[index];
            if !def.filterable() || def.kind == Kind::Multipicklist {
                return Err(c.invalid_field(
                    &item.field,
                    format!("field '{}' can not be sorted in a query call", def.name),
                ));
            }
            Ok((index, item.descending, item.nulls_first))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let offset = match query.offset {
        Some((n, pos)) if n > 2000 => {
            return Err(SoqlError::at(
                "NUMBER_OUTSIDE_VALID_RANGE",
                text,
                pos,
                "Maximum SOQL offset allowed is 2000",
            ))
        }
        Some((n, _)) => n as usize,
        None => 0,
    };
    Ok(Plan {
        table,
        count_only,
        fields,
        columns,
        filter,
        order,
        limit: query.limit.map(|n| n as usize),
        offset,
    })
}

struct Checker<'a> {
    text: &'a str,
    object: &'a ObjectDef,
    today: i64,
}

impl Checker<'_> {
    fn invalid_field(&self, name: &Name, message: String) -> SoqlError {
        SoqlError::at("INVALID_FIELD", self.text, name.pos, message)
    }

    fn field(&self, name: &Name) -> Result<usize, SoqlError> {
        if let Some((relationship, _)) = name.text.split_once('.') {
            return Err(self.invalid_field(
                name,
                format!(
                    "Didn't understand relationship '{relationship}' in field path. This emulator selects relationship fields but does not filter or sort on them, nor select them inside a subquery."
                ),
            ));
        }
        self.object.field_index(&name.text).ok_or_else(|| {
            self.invalid_field(
                name,
                format!(
                    "No such column '{}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
                    name.text, self.object.name
                ),
            )
        })
    }

    /// `Relationship.Field` in a select list: adds the field to the relationship's
    /// column (one per relationship, at the place of its first field).
    fn parent_field(
        &self,
        schema: &Schema,
        name: &Name,
        columns: &mut Vec<Column>,
    ) -> Result<(), SoqlError> {
        let (relationship, field) = name.text.split_once('.').expect("a path");
        let via = self
            .object
            .relationship(relationship)
            .filter(|_| !field.contains('.'))
            .ok_or_else(|| {
                self.invalid_field(
                    name,
                    format!(
                        "Didn't understand relationship '{relationship}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."
                    ),
                )
            })?;
        let def = &self.object.fields[via];
        let to = def
            .reference_to
            .first()
            .map(String::as_str)
            .unwrap_or("User");
        let no_column = |entity: &str| {
            self.invalid_field(
                name,
                format!(
                    "No such column '{field}' on entity '{entity}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."
                ),
            )
        };
        let (target, index) = match schema.object_index(to) {
            Some(t) => (
                ParentKind::Table(t),
                schema.objects[t]
                    .field_index(field)
                    .ok_or_else(|| no_column(to))?,
            ),
            None => (
                ParentKind::User,
                USER_FIELDS
                    .iter()
                    .position(|f| f.eq_ignore_ascii_case(field))
                    .ok_or_else(|| no_column("User"))?,
            ),
        };
        let existing = columns.iter_mut().find_map(|c| match c {
            Column::Parent { via: v, fields, .. } if *v == via => Some(fields),
            _ => None,
        });
        match existing {
            Some(fields) if fields.contains(&index) => {
                return Err(SoqlError::at(
                    "MALFORMED_QUERY",
                    self.text,
                    name.pos,
                    format!("duplicate field selected: {}", name.text),
                ))
            }
            Some(fields) => fields.push(index),
            None => columns.push(Column::Parent {
                name: def.relationship_name.clone().unwrap_or_default(),
                via,
                target,
                fields: vec![index],
            }),
        }
        Ok(())
    }

    fn filter_field(&self, name: &Name) -> Result<(usize, &FieldDef), SoqlError> {
        let index = self.field(name)?;
        let def = &self.object.fields[index];
        if !def.filterable() {
            return Err(self.invalid_field(
                name,
                format!("field '{}' can not be filtered in a query call", def.name),
            ));
        }
        Ok((index, def))
    }

    fn condition(&self, cond: &Cond) -> Result<Pred, SoqlError> {
        Ok(match cond {
            Cond::And(parts) => Pred::And(
                parts
                    .iter()
                    .map(|p| self.condition(p))
                    .collect::<Result<_, _>>()?,
            ),
            Cond::Or(parts) => Pred::Or(
                parts
                    .iter()
                    .map(|p| self.condition(p))
                    .collect::<Result<_, _>>()?,
            ),
            Cond::Not(inner) => Pred::Not(Box::new(self.condition(inner)?)),
            Cond::Compare { field, op, value } => {
                let (index, def) = self.filter_field(field)?;
                if let Literal::Relative(relative) = &value.value {
                    let (lo, hi) = self.relative_range(def, field, *relative)?;
                    return Ok(Pred::Range {
                        field: index,
                        op: *op,
                        lo,
                        hi,
                    });
                }
                let value = self.value(def, field, value)?;
                Pred::Compare {
                    field: index,
                    op: *op,
                    value,
                }
            }
            Cond::In {
                field,
                negated,
                values,
            } => {
                let (index, def) = self.filter_field(field)?;
                let values = values
                    .iter()
                    .map(|v| self.value(def, field, v))
                    .collect::<Result<_, _>>()?;
                Pred::In {
                    field: index,
                    negated: *negated,
                    values,
                }
            }
            Cond::Like { field, pattern } => {
                let (index, def) = self.filter_field(field)?;
                let Literal::Text(text) = &pattern.value else {
                    return Err(SoqlError::at(
                        "MALFORMED_QUERY",
                        self.text,
                        pattern.pos,
                        "LIKE needs a quoted string pattern",
                    ));
                };
                if !def.kind.is_text() {
                    return Err(self.invalid_field(
                        field,
                        format!(
                            "invalid operator on id or non-text field: LIKE on '{}'",
                            def.name
                        ),
                    ));
                }
                Pred::Like {
                    field: index,
                    pattern: like_regex(text),
                }
            }
        })
    }

    fn wrong_type(&self, def: &FieldDef, name: &Name, expected: &str, quoted: bool) -> SoqlError {
        let quoting = if quoted {
            "should be enclosed in quotes"
        } else {
            "should not be enclosed in quotes"
        };
        self.invalid_field(
            name,
            format!(
                "value of filter criterion for field '{}' must be of type {expected} and {quoting}",
                def.name
            ),
        )
    }

    /// A literal converted to the field's stored type.
    fn value(&self, def: &FieldDef, name: &Name, lit: &Lit) -> Result<Value, SoqlError> {
        let value = &lit.value;
        if *value == Literal::Null {
            return Ok(Value::Null);
        }
        match def.kind {
            Kind::Id | Kind::Reference => match value {
                Literal::Text(s) => Id::parse(s).map(Value::Id).ok_or_else(|| {
                    SoqlError::at(
                        "INVALID_QUERY_FILTER_OPERATOR",
                        self.text,
                        lit.pos,
                        format!("invalid ID field: {s}"),
                    )
                }),
                _ => Err(self.wrong_type(def, name, "string", true)),
            },
            kind if kind.is_text() => match value {
                Literal::Text(s) => Ok(Value::Text(unescape_like(s).into())),
                _ => Err(self.wrong_type(def, name, "string", true)),
            },
            Kind::Boolean => match value {
                Literal::Bool(b) => Ok(Value::Bool(*b)),
                _ => Err(self.wrong_type(def, name, "boolean", false)),
            },
            Kind::Int | Kind::Double | Kind::Currency | Kind::Percent => match value {
                Literal::Number(n) => n
                    .parse::<f64>()
                    .map(Value::Double)
                    .map_err(|_| self.wrong_type(def, name, "double", false)),
                _ => Err(self.wrong_type(
                    def,
                    name,
                    if def.kind == Kind::Int {
                        "integer"
                    } else {
                        "double"
                    },
                    false,
                )),
            },
            Kind::Date => match value {
                Literal::Date(d) => Ok(Value::Date(*d)),
                _ => Err(self.wrong_type(def, name, "date", false)),
            },
            Kind::DateTime => match value {
                Literal::DateTime(ms) => Ok(Value::DateTime(*ms)),
                _ => Err(self.wrong_type(def, name, "dateTime", false)),
            },
            _ => Err(self.invalid_field(
                name,
                format!("field '{}' can not be filtered in a query call", def.name),
            )),
        }
    }

    /// [lo, hi) of a relative date literal, in days for date fields, ms for datetimes.
    fn relative_range(
        &self,
        def: &FieldDef,
        name: &Name,
        relative: Relative,
    ) -> Result<(i64, i64), SoqlError> {
        let t = self.today;
        let week = t - timefmt::weekday(t);
        let month = |delta| timefmt::month_start(t, delta);
        let year = |delta| timefmt::year_start(t, delta);
        let (lo, hi) = match relative {
            Relative::Today => (t, t + 1),
            Relative::Yesterday => (t - 1, t),
            Relative::Tomorrow => (t + 1, t + 2),
            Relative::LastWeek => (week - 7, week),
            Relative::ThisWeek => (week, week + 7),
            Relative::NextWeek => (week + 7, week + 14),
            Relative::LastMonth => (month(-1), month(0)),
            Relative::ThisMonth => (month(0), month(1)),
            Relative::NextMonth => (month(1), month(2)),
            Relative::Last90Days => (t - 90, t + 1),
            Relative::Next90Days => (t + 1, t + 91),
            Relative::LastYear => (year(-1), year(0)),
            Relative::ThisYear => (year(0), year(1)),
            Relative::NextYear => (year(1), year(2)),
            Relative::LastNDays(n) => (t - n, t + 1),
            Relative::NextNDays(n) => (t + 1, t + 1 + n),
            Relative::NDaysAgo(n) => (t - n, t - n + 1),
            Relative::LastNWeeks(n) => (week - 7 * n, week),
            Relative::NextNWeeks(n) => (week + 7, week + 7 + 7 * n),
            Relative::LastNMonths(n) => (month(-n), month(0)),
            Relative::NextNMonths(n) => (month(1), month(1 + n)),
            Relative::LastNYears(n) => (year(-n), year(0)),
            Relative::NextNYears(n) => (year(1), year(1 + n)),
        };
        match def.kind {
            Kind::Date => Ok((lo, hi)),
            Kind::DateTime => Ok((lo * DAY_MS, hi * DAY_MS)),
            _ => Err(self.wrong_type(def, name, "date", false)),
        }
    }
}

/// `\%`, `\_`, `\\` mean the plain characters outside LIKE.
fn unescape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A LIKE pattern as a case-insensitive regex: `%` any run, `_` one character.
fn like_regex(pattern: &str) -> Regex {
    let mut re = String::from("(?is)^");
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '%' => re.push_str(".*"),
            '_' => re.push('.'),
            '\\' => {
                if let Some(next) = chars.next() {
                    re.push_str(&regex::escape(&next.to_string()));
                }
            }
            other => re.push_str(&regex::escape(&other.to_string())),
        }
    }
    re.push('$');
    Regex::new(&re).expect("escaped pattern compiles")
}

fn holds(pred: &Pred, record: &Record) -> bool {
    match pred {
        Pred::And(parts) => parts.iter().all(|p| holds(p, record)),
        Pred::Or(parts) => parts.iter().any(|p| holds(p, record)),
        Pred::Not(inner) => !holds(inner, record),
        Pred::Compare { field, op, value } => compare(&record.values[*field], *op, value),
        Pred::Range { field, op, lo, hi } => {
            let v = match &record.values[*field] {
                Value::Date(d) => *d,
                Value::DateTime(ms) => *ms,
                _ => return *op == Op::Ne,
            };
            match op {
                Op::Eq => (*lo..*hi).contains(&v),
                Op::Ne => !(*lo..*hi).contains(&v),
                Op::Lt => v < *lo,
                Op::Le => v < *hi,
                Op::Gt => v >= *hi,
                Op::Ge => v >= *lo,
            }
        }
        Pred::In {
            field,
            negated,
            values,
        } => {
            let v = &record.values[*field];
            let found = values.iter().any(|x| compare(v, Op::Eq, x));
            found != *negated
        }
        Pred::Like { field, pattern } => match &record.values[*field] {
            Value::Text(t) => pattern.is_match(t),
            _ => false,
        },
    }
}

fn compare(actual: &Value, op: Op, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Null, Value::Null) => op == Op::Eq,
        (_, Value::Null) => op == Op::Ne,
        (Value::Null, _) => op == Op::Ne,
        _ => {
            let ordering = match (actual, expected) {
                (Value::Text(a), Value::Text(b)) => compare_text(a, b),
                (a, b) => a.compare(b),
            };
            match op {
                Op::Eq => ordering == Ordering::Equal,
                Op::Ne => ordering != Ordering::Equal,
                Op::Lt => ordering == Ordering::Less,
                Op::Le => ordering != Ordering::Greater,
                Op::Gt => ordering == Ordering::Greater,
                Op::Ge => ordering != Ordering::Less,
            }
        }
    }
}

/// Runs a plan over a table: the matching records after ORDER BY, OFFSET and LIMIT
/// (`/query` skips deleted records, `/queryAll` keeps them).
pub fn execute(plan: &Plan, table: &Table, include_deleted: bool) -> Vec<Arc<Record>> {
    let wanted = (plan.order.is_empty())
        .then(|| plan.limit.map(|l| l + plan.offset))
        .flatten();
    plan.order_and_page(plan.scan(table, include_deleted, wanted))
}

impl Plan {
    /// Whether the select list has relationship columns.
    pub fn has_relationships(&self) -> bool {
        self.columns.iter().any(|c| !matches!(c, Column::Field(_)))
    }

    /// Records of `table` that pass the filter, in table order (no ORDER BY, OFFSET
    /// or LIMIT).
    pub fn matching(&self, table: &Table, include_deleted: bool) -> Vec<Arc<Record>> {
        self.scan(table, include_deleted, None)
    }

    /// The first `wanted` matching records (all without a bound).
    fn scan(
        &self,
        table: &Table,
        include_deleted: bool,
        wanted: Option<usize>,
    ) -> Vec<Arc<Record>> {
        let mut rows: Vec<Arc<Record>> = Vec::new();
        for record in table.iter() {
            if (include_deleted || !record.is_deleted())
                && self.filter.as_ref().is_none_or(|p| holds(p, record))
            {
                rows.push(record.clone());
                if wanted.is_some_and(|w| rows.len() >= w) {
                    break;
                }
            }
        }
        rows
    }

    /// Applies ORDER BY, OFFSET and LIMIT to matching records.
    pub fn order_and_page(&self, mut rows: Vec<Arc<Record>>) -> Vec<Arc<Record>> {
        if !self.order.is_empty() {
            rows.sort_by(|a, b| order(&self.order, a, b));
        }
        let rows = rows.into_iter().skip(self.offset);
        match self.limit {
            Some(limit) => rows.take(limit).collect(),
            None => rows.collect(),
        }
    }
}

fn order(keys: &[(usize, bool, bool)], a: &Record, b: &Record) -> Ordering {
    for &(field, descending, nulls_first) in keys {
        let (x, y) = (&a.values[field], &b.values[field]);
        let ordering = match (
            x.is_blank() && *x == Value::Null,
            y.is_blank() && *y == Value::Null,
        ) {
            (true, true) => Ordering::Equal,
            (true, false) => {
                if nulls_first {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (false, true) => {
                if nulls_first {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            (false, false) => {
                let o = x.compare(y);
                if descending {
                    o.reverse()
                } else {
                    o
                }
            }
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;
    use crate::store::Org;

    fn org_with(names: &[(&str, Option<f64>)]) -> (Org, Arc<Schema>) {
        let schema = Arc::new(Schema::standard());
        let mut org = Org::new(schema.clone());
        let account = schema.object("Account").unwrap();
        let name = account.field_index("Name").unwrap();
        let revenue = account.field_index("AnnualRevenue").unwrap();
        let mut txn = org.begin(None);
        for (i, (n, r)) in names.iter().enumerate() {
            let mut values = vec![Value::Null; account.fields.len()];
            values[name] = Value::Text((*n).into());
            values[revenue] = r.map(Value::Double).unwrap_or(Value::Null);
            values[account.sys.created_date] = Value::DateTime(i as i64 * DAY_MS);
            let id = org.tables[0].new_id();
            values[account.sys.id] = Value::Id(id);
            let record = Record::new(id, values, i as u64, None);
            org.write(
                &mut txn,
                0,
                record,
                crate::store::ChangeKind::Create,
                Vec::new(),
                0,
            );
        }
        org.commit(txn);
        (org, schema)
    }

    fn run(org: &Org, schema: &Schema, text: &str) -> Result<Vec<String>, SoqlError> {
        let plan = compile(&parse(text)?, text, schema, 10 * DAY_MS)?;
        let name = schema.objects[0].field_index("Name").unwrap();
        Ok(execute(&plan, &org.tables[0], false)
            .iter()
            .map(|r| r.values[name].to_text().unwrap_or_default())
            .collect())
    }

    #[test]
    fn filters_orders_and_pages() {
        let (org, schema) = org_with(&[
            ("beta", Some(5.0)),
            ("Alpha", None),
            ("gamma", Some(1.5e7)),
            ("a_b", Some(2.0)),
        ]);
        #[rustfmt::skip]
        let cases: [(&str, &[&str]); 11] = [
            ("SELECT Name FROM Account ORDER BY Name", &["a_b", "Alpha", "beta", "gamma"]),
            ("SELECT Name FROM Account ORDER BY AnnualRevenue DESC NULLS FIRST", &["Alpha", "gamma", "beta", "a_b"]),
            ("SELECT Name FROM Account WHERE Name LIKE 'A%'", &["Alpha", "a_b"]),
            (r"SELECT Name FROM Account WHERE Name LIKE 'a\_%'", &["a_b"]),
            ("SELECT Name FROM Account WHERE AnnualRevenue = null", &["Alpha"]),
            ("SELECT Name FROM Account WHERE AnnualRevenue != null AND AnnualRevenue < 10", &["beta", "a_b"]),
            ("SELECT Name FROM Account WHERE Name IN ('BETA', 'gamma')", &["beta", "gamma"]),
            ("SELECT Name FROM Account WHERE NOT (Name = 'beta' OR Name = 'gamma')", &["Alpha", "a_b"]),
            ("SELECT Name FROM Account ORDER BY Name LIMIT 2 OFFSET 1", &["Alpha", "beta"]),
            ("SELECT Name FROM Account WHERE CreatedDate = N_DAYS_AGO:9", &["Alpha"]),
            ("SELECT Name FROM Account WHERE CreatedDate >= 1970-01-03T00:00:00Z", &["gamma", "a_b"]),
        ];
        for (soql, names) in cases {
            assert_eq!(run(&org, &schema, soql).unwrap(), names, "{soql}");
        }
    }

    #[test]
    fn type_errors_have_salesforce_codes() {
        let (org, schema) = org_with(&[]);
        let code = |q: &str| run(&org, &schema, q).unwrap_err().code;
        assert_eq!(code("SELECT Foo FROM Account"), "INVALID_FIELD");
        assert_eq!(code("SELECT Id FROM Foo"), "INVALID_TYPE");
        assert_eq!(
            code("SELECT Id FROM Account WHERE CreatedDate > 2024-01-01"),
            "INVALID_FIELD"
        );
        assert_eq!(
            code("SELECT Id FROM Account WHERE Name = 5"),
            "INVALID_FIELD"
        );
        assert_eq!(
            code("SELECT Id FROM Account WHERE AnnualRevenue = '5'"),
            "INVALID_FIELD"
        );
        assert_eq!(
            code("SELECT Id FROM Account WHERE Id = 'nope'"),
            "INVALID_QUERY_FILTER_OPERATOR"
        );
        assert_eq!(code("SELECT Id, id FROM Account"), "MALFORMED_QUERY");
        assert_eq!(
            code("SELECT Id FROM Account OFFSET 2001"),
            "NUMBER_OUTSIDE_VALID_RANGE"
        );
        assert_eq!(code("SELECT Foo.Name FROM Account"), "INVALID_FIELD");
        assert_eq!(code("SELECT Owner.Nope FROM Account"), "INVALID_FIELD");
        assert_eq!(
            code("SELECT Id FROM Account WHERE Owner.Name = 'x'"),
            "INVALID_FIELD"
        );
        assert_eq!(
            code("SELECT Id, (SELECT Id FROM Nopes) FROM Account"),
            "INVALID_TYPE"
        );
        assert_eq!(
            code("SELECT Id, (SELECT Id, (SELECT Id FROM Contacts) FROM Contacts) FROM Account"),
            "MALFORMED_QUERY"
        );
        let err = run(&org, &schema, "SELECT Foo FROM Account").unwrap_err();
        assert!(err.message.starts_with("\nSELECT Foo FROM Account\n       ^\nERROR at Row:1:Column:8\nNo such column 'Foo' on entity 'Account'."));
    }
}
