//! Installing and removing a sync's triggers on its table.
//!
//! The capture trigger gets everything it needs as arguments, so it never reads the
//! sync's config per row; changing the config reinstalls the triggers.

use pgrx::prelude::*;
use pgrx::spi::{quote_identifier, quote_literal};

/// What the triggers of one sync need to know.
pub struct CaptureSpec<'a> {
    pub sync_id: i32,
    /// The table, already quoted and schema-qualified.
    pub table: &'a str,
    /// The remote system writes are tagged with (`salesforce`).
    pub system: &'a str,
    pub primary_key: &'a [String],
    pub captured: &'a [String],
    /// Whether local changes are captured at all (syncs that push).
    pub pushes: bool,
}

/// The columns capture records: those that push, plus the column holding the remote id,
/// so the worker knows which remote record a delete or an update is about.
pub fn captured_columns(config: &hubsync_core::config::SyncConfig) -> Vec<String> {
    let mut columns = hubsync_core::mapping::captured_columns(config);
    if let Some(id) = config.id_mapping() {
        if !columns.contains(&id.local) {
            columns.push(id.local.clone());
        }
    }
    columns
}

fn capture_trigger(sync_id: i32) -> String {
    quote_identifier(format!("hubsync_capture_{sync_id}"))
}

fn truncate_trigger(sync_id: i32) -> String {
    quote_identifier(format!("hubsync_truncate_{sync_id}"))
}

/// (Re)creates the capture trigger (for syncs that push) and the TRUNCATE guard.
pub fn install(spec: &CaptureSpec) -> Result<(), pgrx::spi::SpiError> {
    remove(spec.sync_id, spec.table)?;
    if spec.pushes {
        let args: Vec<String> = [
            spec.sync_id.to_string(),
            spec.system.to_string(),
            spec.primary_key.len().to_string(),
        ]
        .into_iter()
        .chain(spec.primary_key.iter().cloned())
        .chain(spec.captured.iter().cloned())
        .map(quote_literal)
        .collect();
        Spi::run(&format!(
            "CREATE TRIGGER {} AFTER INSERT OR UPDATE OR DELETE ON {} \
             FOR EACH ROW EXECUTE FUNCTION hubsync.capture({})",
            capture_trigger(spec.sync_id),
            spec.table,
            args.join(", ")
        ))?;
    }
    Spi::run(&format!(
        "CREATE TRIGGER {} BEFORE TRUNCATE ON {} \
         FOR EACH STATEMENT EXECUTE FUNCTION hubsync.guard_truncate({})",
        truncate_trigger(spec.sync_id),
        spec.table,
        quote_literal(spec.sync_id.to_string())
    ))
}

/// Drops the sync's triggers where they exist (checked first, so no NOTICE is raised).
pub fn remove(sync_id: i32, table: &str) -> Result<(), pgrx::spi::SpiError> {
    for name in [
        format!("hubsync_capture_{sync_id}"),
        format!("hubsync_truncate_{sync_id}"),
    ] {
        let exists = Spi::get_one_with_args::<bool>(
            "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname = $2)",
            &[table.into(), name.as_str().into()],
        )?;
        if exists == Some(true) {
            Spi::run(&format!(
                "DROP TRIGGER {} ON {table}",
                quote_identifier(&name)
            ))?;
        }
    }
    Ok(())
}
