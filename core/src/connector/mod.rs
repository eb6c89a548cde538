//! The connector interface: everything the engine needs from a remote system, and nothing
//! it needs to know about which system it is.
//!
//! The worker's machinery (claim → coalesce → map → push → settle, and read → merge →
//! apply) talks to a `dyn Connector` only. Each system is one module tree beside this one
//! (`salesforce/`, …) that implements [`Connector`] over its own HTTP client, plus one arm
//! in [`connect`]. Calls block and are made from the worker's HTTP threads, never from
//! a thread that touches Postgres.

pub mod changes;
pub mod describe;
pub mod error;
pub(crate) mod http;
mod registry;
pub mod stream;

pub use changes::{Change, ChangePage, ReadFrom};
pub use describe::{FieldDescribe, FieldType, ObjectDescribe, PicklistValue};
pub use error::{CallError, OAuthError, RecordError};
pub use http::Timeouts;
pub use registry::{connect, Endpoint, Options};
pub use stream::{StreamEnd, StreamEvent, StreamMessage};

use crate::retry::ApiUsage;
use error::null_as_default;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A record as field name → value, in the remote system's field names.
pub type Record = Map<String, Value>;

/// The outcome for one record of a batch, in the position of its input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveResult {
    /// The record's id in the remote system (absent when a create failed).
    #[serde(default)]
    pub id: Option<String>,
    pub success: bool,
    /// Upserts only: whether the record was inserted (`true`) or updated (`false`).
    #[serde(default)]
    pub created: Option<bool>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub errors: Vec<RecordError>,
}

impl SaveResult {
    /// A record that needed no call, or whose write the system confirmed without details.
    pub fn done(id: Option<String>) -> SaveResult {
        SaveResult {
            id,
            success: true,
            created: None,
            errors: Vec::new(),
        }
    }

    /// A record the system refused, with its reasons.
    pub fn failed(errors: Vec<RecordError>) -> SaveResult {
        SaveResult {
            id: None,
            success: false,
            created: None,
            errors,
        }
    }
}

/// One batch of writes of a single kind. A failed call answers `Err` for the whole batch
/// (its class says whether the records may have been written); otherwise every record
/// gets its own [`SaveResult`], in input order.
#[derive(Debug, Clone, Copy)]
pub enum Write<'a> {
    /// Plain creates: not idempotent, so a lost answer means "look the records up first".
    Create(&'a [Record]),
    /// Updates of existing records: (remote id, fields to write).
    Update(&'a [(String, Record)]),
    /// Creates-or-updates matched by an external-id field, safe to resend.
    Upsert {
        external_id: &'a str,
        records: &'a [Record],
    },
    /// Deletes by remote id; an already deleted record counts as deleted.
    Delete(&'a [String]),
}

impl Write<'_> {
    /// How many records the batch holds.
    pub fn len(&self) -> usize {
        match self {
            Write::Create(records) | Write::Upsert { records, .. } => records.len(),
            Write::Update(records) => records.len(),
            Write::Delete(ids) => ids.len(),
        }
    }

    /// Whether the batch holds no record.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What the engine needs from a remote system.
///
/// Every method may be called from several HTTP threads at once. Implementations refresh
/// their own credentials (a rejected token is renewed and the call resent once) and
/// scrub secrets from every error.
pub trait Connector: Send + Sync {
    /// Gets (or checks) a usable credential now, so a sync can report bad secrets before
    /// it has anything to push.
    fn sign_in(&self) -> Result<(), CallError>;

    /// The object's fields, types, writability, key and external-id candidates.
    fn describe(&self, object: &str) -> Result<ObjectDescribe, CallError>;

    /// The most records one [`Write`] may carry.
    fn max_batch(&self) -> usize;

    /// Writes one batch.
    fn write(&self, object: &str, batch: Write<'_>) -> Result<Vec<SaveResult>, CallError>;

    /// Current values of `fields` of the records with these ids, in input order; `None`
    /// for a record that no longer exists.
    fn retrieve(
        &self,
        object: &str,
        ids: &[&str],
        fields: &[&str],
    ) -> Result<Vec<Option<Record>>, CallError>;

    /// One page of records: all of them, those changed since a durable cursor, or the
    /// page after an earlier one. Deletions come as changes marked deleted.
    fn read(&self, object: &str, fields: &[&str], from: &ReadFrom)
        -> Result<ChangePage, CallError>;

    /// The first page of a full load ([`ReadFrom::Everything`]). A system with a bulk
    /// API reads an object of more than `bulk_above` records through it (0: never); its
    /// pages then continue with [`ReadFrom::More`] like any other read.
    fn read_everything(
        &self,
        object: &str,
        fields: &[&str],
        bulk_above: u64,
    ) -> Result<ChangePage, CallError> {
        let _ = bulk_above;
        self.read(object, fields, &ReadFrom::Everything)
    }

    /// The most records one bulk write ([`Connector::open_bulk_write`]) may carry, for a
    /// system with a bulk write API; `None` for the others.
    fn bulk_batch(&self) -> Option<usize> {
        None
    }

    /// Starts a bulk write of up to [`Connector::bulk_batch`] records without letting
    /// the system apply it yet, and answers its job's id: the engine records the id
    /// durably, then calls [`Connector::finish_bulk_write`]. Only called where
    /// `bulk_batch` is `Some`.
    fn open_bulk_write(&self, object: &str, batch: Write<'_>) -> Result<String, CallError> {
        let _ = (object, batch);
        Err(CallError::refused(
            crate::retry::Operation::Create,
            "FEATURE_NOT_ENABLED",
            "this system has no bulk write API".into(),
        ))
    }

    /// Lets the bulk write `job` opened for `batch` be applied (again after a restart: it
    /// is then only awaited) and answers as [`Connector::write`] does, one result per
    /// record in input order.
    fn finish_bulk_write(
        &self,
        object: &str,
        job: &str,
        batch: Write<'_>,
    ) -> Result<Vec<SaveResult>, CallError> {
        let _ = job;
        self.write(object, batch)
    }

    /// Finishes bulk writes on `object` an earlier run left behind (a crash mid-job):
    /// those never started are cancelled, those started are waited for. Called before
    /// creates whose outcome is unknown are looked up, so the lookup sees what such a
    /// write created. Systems without bulk writes have nothing to finish.
    fn finish_bulk_writes(&self, object: &str) -> Result<(), CallError> {
        let _ = object;
        Ok(())
    }

    /// The records with these ids as changes: their current values, or deleted where a
    /// record no longer exists (what a streamed event is turned into before it is applied).
    fn changes_of(
        &self,
        object: &str,
        ids: &[String],
        fields: &[&str],
    ) -> Result<Vec<Change>, CallError> {
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let records = self.retrieve(object, &refs, fields)?;
        Ok(ids
            .iter()
            .zip(records)
            .map(|(id, record)| Change {
                id: id.clone(),
                modified: None,
                deleted: record.is_none(),
                record: record.unwrap_or_default(),
            })
            .collect())
    }

    /// Whether [`Connector::subscribe`] can stream this system's changes.
    fn streams(&self) -> bool {
        false
    }

    /// Streams change events of `object` from a stored position (`None`: from now) into
    /// `sink` until it answers `false` or streaming cannot go on (see [`stream`]). Blocks:
    /// run it on a thread of its own.
    fn subscribe(
        &self,
        object: &str,
        from: Option<i64>,
        sink: &mut dyn FnMut(StreamMessage) -> bool,
    ) -> StreamEnd {
        let _ = (object, from, sink);
        StreamEnd::NotOffered
    }

    /// Ids of the records whose fields hold exactly these values (a natural key).
    fn find(&self, object: &str, key: &[(String, Value)]) -> Result<Vec<String>, CallError>;

    /// The system's API budget as its last answer reported it, if it reports one.
    fn api_usage(&self) -> Option<ApiUsage>;

    /// Calls made so far (for `hubsync.status` and the benchmarks).
    fn api_calls(&self) -> u64;
}
