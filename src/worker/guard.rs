//! Loop prevention in the worker: every real change hubsync moves (a push, or a pulled
//! change applied locally) is shown to the record's [`LoopGuard`], kept as jsonb in
//! `record_state.loop_history`. A record that keeps bouncing is held (no more pushes, no
//! more pulled changes) and parked for review with the guard's explanation.

use super::jobs::now_ms;
use crate::catalog::review::{Item, Kind as ReviewKind};
use hubsync_core::config::LoopPrevention;
use hubsync_core::loops::{Event, LoopGuard, Verdict};
use hubsync_core::timestamp::Timestamp;
use pgrx::prelude::*;
use pgrx::spi::SpiResult;
use pgrx::JsonB;
use serde_json::{json, Value};

/// The guards of one batch: read with the records, written back once.
#[derive(Default)]
pub struct Guards {
    changed: Vec<(Value, Value)>,
    pub held: Vec<Item>,
}

/// Which way a change goes, for [`Guards::allow`].
#[derive(Clone, Copy)]
pub enum Way {
    Push,
    Pull,
}

impl Guards {
    /// Shows a change of `fields` to the record's guard; false when the record must be
    /// held instead (a review item is prepared).
    pub fn allow(
        &mut self,
        settings: &LoopPrevention,
        pk: &Value,
        remote_id: Option<&str>,
        history: Option<&Value>,
        way: Way,
        fields: Vec<String>,
    ) -> bool {
        if !settings.enabled || fields.is_empty() {
            return true;
        }
        let mut guard: LoopGuard = history
            .and_then(|h| serde_json::from_value(h.clone()).ok())
            .unwrap_or_default();
        let at = Timestamp::from_millis(now_ms());
        let event = match way {
            Way::Push => Event::Pushed {
                fields: fields.clone(),
                at,
            },
            Way::Pull => Event::Pulled {
                fields: fields.clone(),
                at,
            },
        };
        match guard.observe(settings, &event) {
            Verdict::Proceed => {
                self.changed.push((pk.clone(), json!(guard)));
                true
            }
            Verdict::Hold { explanation } => {
                self.held.push(Item {
                    pk: pk.clone(),
                    remote_id: remote_id.map(str::to_string),
                    operation: match way {
                        Way::Push => "update".into(),
                        Way::Pull => "pull".into(),
                    },
                    kind: ReviewKind::Loop,
                    payload: json!({ "fields": fields }),
                    remote_values: None,
                    error_code: Some("LOOP".into()),
                    error_message: explanation,
                    attempts: 0,
                    outbox_ids: Vec::new(),
                });
                false
            }
        }
    }

    /// Stores the updated histories and holds the looping records.
    pub fn save(self, sync_id: i32) -> SpiResult<()> {
        if !self.changed.is_empty() {
            let rows: Vec<Value> = self
                .changed
                .into_iter()
                .map(|(pk, h)| json!({"pk": pk, "h": h}))
                .collect();
            Spi::run_with_args(
                "INSERT INTO hubsync.record_state AS s (sync_id, pk, loop_history) \
                 SELECT $1, e->'pk', e->'h' FROM jsonb_array_elements($2) e \
                 ON CONFLICT (sync_id, pk) DO UPDATE SET loop_history = EXCLUDED.loop_history",
                &[sync_id.into(), JsonB(Value::Array(rows)).into()],
            )?;
        }
        if self.held.is_empty() {
            return Ok(());
        }
        let pks: Vec<Value> = self.held.iter().map(|i| i.pk.clone()).collect();
        Spi::run_with_args(
            "UPDATE hubsync.record_state SET retry_at = 'infinity', state = 'held', \
                 last_error = 'held by loop prevention' \
             WHERE sync_id = $1 AND pk IN (SELECT value FROM jsonb_array_elements($2))",
            &[sync_id.into(), JsonB(Value::Array(pks)).into()],
        )?;
        crate::catalog::review::add(sync_id, &self.held)
    }
}
