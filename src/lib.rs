//! hubsync: keep PostgreSQL tables and SaaS systems in sync from inside the database.
use pgrx::prelude::*;

pgrx::pg_module_magic!();

#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec!["shared_preload_libraries = 'hubsync'"]
    }
}
