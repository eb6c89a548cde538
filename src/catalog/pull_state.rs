//! `hubsync.pull_state`: each sync's pull progress (phase, watermark, where paging continues,
//! the system's own cursor, the stream's replay id), how it pulls now (`pull_mode`), and
//! full-load counters. Progress moves only in the transaction
//! that applied the page it describes.

use hubsync_core::pull::{Mode, Phase, Progress};
use hubsync_core::timestamp::Timestamp;
use pgrx::prelude::*;
use pgrx::spi::SpiResult;

/// Reads a sync's pull progress.
pub fn load(sync_id: i32) -> SpiResult<Progress> {
    Spi::connect(|client| {
        let rows = client.select(
            "SELECT phase, (extract(epoch FROM watermark) * 1000)::int8, next_locator, resume_cursor, \
                    replay_id \
             FROM hubsync.pull_state WHERE sync_id = $1",
            None,
            &[sync_id.into()],
        )?;
        if rows.is_empty() {
            return Ok(Progress::default());
        }
        let row = rows.first();
        Ok(Progress {
            phase: Phase::parse(&row.get::<String>(1)?.unwrap_or_default()),
            watermark: row.get::<i64>(2)?.map(Timestamp::from_millis),
            next_locator: row.get(3)?,
            resume_cursor: row.get(4)?,
            replay_id: row.get(5)?,
        })
    })
}

/// Stores the progress a page's application made: watermark, paging, phase, counters.
pub fn save(
    sync_id: i32,
    state: &Progress,
    mode: Mode,
    total: Option<i64>,
    read: i64,
    finished: bool,
) -> SpiResult<()> {
    Spi::run_with_args(
        "UPDATE hubsync.pull_state SET phase = $2, \
             watermark = coalesce(to_timestamp($3::float8 / 1000), watermark, \
                                  CASE WHEN $6 THEN coalesce(started_at, now()) - interval '5 minutes' END), \
             next_locator = $4, resume_cursor = $9, replay_id = $10, \
             records_done = CASE WHEN $5 THEN records_done + $7 ELSE records_done END, \
             records_total = CASE WHEN $5 THEN coalesce($8, records_total) ELSE records_total END, \
             started_at = CASE WHEN $5 AND started_at IS NULL THEN now() ELSE started_at END, \
             finished_at = CASE WHEN $6 THEN now() ELSE finished_at END \
         WHERE sync_id = $1",
        &[
            sync_id.into(),
            state.phase.label().into(),
            state.watermark.map(|t| t.millis() as f64).into(),
            state.next_locator.clone().into(),
            (mode == Mode::FullLoad).into(),
            finished.into(),
            read.into(),
            total.into(),
            state.resume_cursor.clone().into(),
            state.replay_id.into(),
        ],
    )
}

/// Skips the full load (`initial_sync: none`): changes are read from now on.
pub fn start_from_now(sync_id: i32) -> SpiResult<()> {
    Spi::run_with_args(
        "UPDATE hubsync.pull_state SET phase = 'incremental', watermark = now() WHERE sync_id = $1",
        &[sync_id.into()],
    )
}

/// Remembers the newest remote change applied, for `hubsync.status.pull_lag`.
pub fn saw_remote_change(sync_id: i32, newest: Timestamp) -> SpiResult<()> {
    Spi::run_with_args(
        "UPDATE hubsync.pull_state SET newest_remote_change = \
             greatest(newest_remote_change, to_timestamp($2::float8 / 1000)) WHERE sync_id = $1",
        &[sync_id.into(), (newest.millis() as f64).into()],
    )
}

/// Forgets the stream's position (the system no longer retains it): the next subscription
/// starts at the tip, after a poll from the watermark.
pub fn forget_replay(sync_id: i32) -> SpiResult<()> {
    Spi::run_with_args(
        "UPDATE hubsync.pull_state SET replay_id = NULL WHERE sync_id = $1",
        &[sync_id.into()],
    )
}

/// Shows how the sync pulls now (`hubsync.status.pull_mode`).
pub fn set_mode(sync_id: i32, label: &str) -> SpiResult<()> {
    Spi::run_with_args(
        "UPDATE hubsync.pull_state SET pull_mode = $2 WHERE sync_id = $1",
        &[sync_id.into(), label.into()],
    )
}
