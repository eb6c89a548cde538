//! hubsync: keep PostgreSQL tables and SaaS systems in sync from inside the database.
//!
//! This crate is the Postgres glue: SQL API, catalog access, the capture trigger, the
//! background worker and the status views. Decisions live in `hubsync-core`.

use pgrx::prelude::*;

mod api;
mod capture;
mod catalog;
mod connection;
mod error;
mod guc;
mod privilege;
mod shared;
mod sqlstate;
mod threads;
mod worker;

pgrx::pg_module_magic!();

pgrx::extension_sql_file!("../sql/bootstrap.sql", name = "bootstrap", bootstrap);
pgrx::extension_sql_file!("../sql/finalize.sql", name = "finalize", finalize);
pgrx::extension_sql_file!(
    "../sql/percentiles.sql",
    name = "percentiles",
    requires = ["bootstrap"]
);
pgrx::extension_sql_file!(
    "../sql/notifications.sql",
    name = "notifications",
    requires = ["bootstrap"]
);

/// Library load: settings always; shared memory and the launcher only when preloaded.
#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    guc::define();
    capture::wake::register();
    api::hide_statement::register();
    unsafe {
        if !pg_sys::process_shared_preload_libraries_in_progress || pg_sys::IsBinaryUpgrade {
            return;
        }
    }
    shared::init();
    worker::launcher::register();
}

#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![
            "shared_preload_libraries = 'hubsync'",
            "hubsync.database = 'pgrx_tests'",
            "hubsync.sweep_interval = 100",
        ]
    }
}
