//! The parsed form of a query, before it is checked against the schema.

/// A name with the position it was written at (for error carets).
#[derive(Debug, Clone, PartialEq)]
pub struct Name {
    pub text: String,
    pub pos: usize,
}

/// `SELECT … FROM … [WHERE …] [ORDER BY …] [LIMIT n] [OFFSET n]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub select: Select,
    pub from: Name,
    pub filter: Option<Cond>,
    pub order_by: Vec<OrderItem>,
    pub limit: Option<u64>,
    pub offset: Option<(u64, usize)>,
}

/// The select list.
#[derive(Debug, Clone, PartialEq)]
pub enum Select {
    Fields(Vec<Item>),
    CountAll,
}

/// One entry of a select list.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A field, or a parent's field through a relationship (`Account.Name`).
    Field(Name),
    /// A parent-to-child subquery, `(SELECT … FROM Contacts …)`: its `from` names a
    /// child relationship.
    Subquery(Box<Query>),
}

/// One `ORDER BY` key.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    pub field: Name,
    pub descending: bool,
    /// `NULLS FIRST` / `NULLS LAST`; default: first when ascending, last when descending.
    pub nulls_first: bool,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A literal, as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Number(String),
    /// Text with SOQL escapes resolved, except `\%` and `\_`, kept for LIKE.
    Text(String),
    Date(i64),
    DateTime(i64),
    Relative(Relative),
}

/// A relative date literal such as `TODAY` or `LAST_N_DAYS:7`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relative {
    Today,
    Yesterday,
    Tomorrow,
    LastWeek,
    ThisWeek,
    NextWeek,
    LastMonth,
    ThisMonth,
    NextMonth,
    Last90Days,
    Next90Days,
    LastYear,
    ThisYear,
    NextYear,
    LastNDays(i64),
    NextNDays(i64),
    NDaysAgo(i64),
    LastNWeeks(i64),
    NextNWeeks(i64),
    LastNMonths(i64),
    NextNMonths(i64),
    LastNYears(i64),
    NextNYears(i64),
}

/// A literal with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Lit {
    pub value: Literal,
    pub pos: usize,
}

/// A `WHERE` condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Compare {
        field: Name,
        op: Op,
        value: Lit,
    },
    In {
        field: Name,
        negated: bool,
        values: Vec<Lit>,
    },
    Like {
        field: Name,
        pattern: Lit,
    },
}
