//! Fresh planner statistics for tables that grow faster than autovacuum looks at them.
//!
//! During a backlog or a full load the outbox, `record_state` and a pulled table gain
//! thousands of rows a second, while autovacuum analyzes them a minute later at best. Until
//! then the planner believes they are tiny and picks plans that read them whole for every
//! batch (a sort of the entire outbox to claim 200 rows), which makes draining quadratic.
//! The worker analyzes such a table itself once it changed by more rows than it held.

use pgrx::prelude::*;
use pgrx::spi::SpiResult;
use std::time::{Duration, Instant};

/// How often the change counters are looked at.
const CHECK_EVERY: Duration = Duration::from_secs(2);

/// Changes below this never trigger an analyze: small tables plan well either way.
const MIN_CHANGES: i64 = 2000;

/// When the counters were last looked at.
#[derive(Default)]
pub struct Freshness {
    checked: Option<Instant>,
}

impl Freshness {
    /// Whether [`CHECK_EVERY`] has passed since the last [`Freshness::refresh`]: the
    /// worker asks at every wake-up, so the answer costs no allocation and no SQL.
    pub fn due(&self) -> bool {
        self.checked.is_none_or(|t| t.elapsed() >= CHECK_EVERY)
    }

    /// Analyzes those of `tables` (quoted, qualified names) whose statistics went stale.
    pub fn refresh(&mut self, tables: &[String]) -> SpiResult<()> {
        self.checked = Some(Instant::now());
        for table in stale(tables)? {
            // SKIP_LOCKED: a running autovacuum keeps the table, and the worker moves on.
            Spi::run(&format!("ANALYZE (SKIP_LOCKED) {table}"))?;
        }
        Ok(())
    }
}

/// The tables changed by more rows than they held when last analyzed.
fn stale(tables: &[String]) -> SpiResult<Vec<String>> {
    Spi::connect(|client| {
        client
            .select(
                "SELECT c.oid::regclass::text FROM pg_class c \
                 JOIN pg_stat_all_tables s ON s.relid = c.oid \
                 WHERE c.oid = ANY($1::text[]::regclass[]) \
                   AND s.n_mod_since_analyze > greatest($2, c.reltuples)",
                None,
                &[tables.to_vec().into(), MIN_CHANGES.into()],
            )?
            .map(|row| row.get::<String>(1).map(Option::unwrap_or_default))
            .collect()
    })
}
