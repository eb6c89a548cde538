//! Writes: a single record as a plain request, more as one bulk job of at most 100
//! (`create_many`, `update_many`, `create_or_update_many`, `destroy_many`), polled to
//! completion on the calling thread, with one [`SaveResult`] per record in input order.
//!
//! The invariant: a write whose answer is lost never duplicates a record. Creates that
//! carry a match key (`external_id`, or a user's `email`) go through `create_or_update`,
//! which is safe to resend; organizations have no `create_or_update_many`, so a batch of
//! them is looked up by external id first (`show_many`) and split into an `update_many`
//! and a `create_many` — resending repeats the lookup and finds what the lost call made.
//! Creates without a key are plain creates: once the job was accepted, any later failure
//! (a poll refused, the job killed) leaves their outcome unknown, and says so.

use super::client::{Request, ZendeskClient};
use super::error::plain;
use super::object::{id_number, to_zendesk, Kind};
use crate::connector::error::null_as_default;
use crate::connector::{CallError, Record, RecordError, SaveResult};
use crate::retry::{Operation, TransportError};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The most records one bulk call may carry (`TooManyValues` beyond).
pub const MAX_BATCH: usize = 100;

/// Polls of a job that answer 404 before it counts as lost: a new job may 404 briefly
/// (reference §6).
const MISSING_POLLS: u32 = 5;

#[derive(Debug, Deserialize)]
struct JobEnvelope {
    job_status: JobStatus,
}

/// A bulk job as `GET /job_statuses/{id}` reports it.
#[derive(Debug, Deserialize)]
struct JobStatus {
    id: String,
    status: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    results: Vec<JobResult>,
}

/// One item's result: `{"id","status":"Created"}`, `{"action","id","status","success"}`,
/// or a failure `{"index","error","id"?,"details"}` (reference §6).
#[derive(Debug, Deserialize)]
struct JobResult {
    #[serde(default)]
    index: Option<usize>,
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    details: Option<Value>,
    #[serde(default)]
    success: Option<bool>,
}

impl ZendeskClient {
    /// Creates: by match key through `create_or_update` where the record has one,
    /// plain creates for the rest.
    pub(crate) fn create(
        &self,
        kind: Kind,
        records: &[Record],
    ) -> Result<Vec<SaveResult>, CallError> {
        check_size(Operation::Create, records.len())?;
        let (keyed, plain): (Vec<usize>, Vec<usize>) =
            (0..records.len()).partition(|&i| kind.match_key(&records[i]).is_some());
        let mut parts = Vec::new();
        if !keyed.is_empty() {
            let batch: Vec<Record> = keyed.iter().map(|&i| records[i].clone()).collect();
            parts.push((keyed, self.upsert(kind, &batch)?));
        }
        if !plain.is_empty() {
            let batch: Vec<Record> = plain.iter().map(|&i| records[i].clone()).collect();
            parts.push((plain, self.plain_create(kind, &batch)?));
        }
        Ok(merge(records.len(), parts))
    }

    /// Creates-or-updates matched by `external_id` (users: then `email`).
    pub(crate) fn upsert_by(
        &self,
        kind: Kind,
        external_id: &str,
        records: &[Record],
    ) -> Result<Vec<SaveResult>, CallError> {
        let op = Operation::Upsert;
        check_size(op, records.len())?;
        if !kind.match_keys().contains(&external_id) {
            return Err(CallError::refused(
                op,
                "InvalidValue",
                format!(
                    "Zendesk matches {} only by {}; {external_id:?} cannot be the sync's external id",
                    kind.plural(),
                    kind.match_keys().join(" or ")
                ),
            ));
        }
        self.upsert(kind, records)
    }

    fn upsert(&self, kind: Kind, records: &[Record]) -> Result<Vec<SaveResult>, CallError> {
        let op = Operation::Upsert;
        if let [record] = records {
            let request = Request::json(
                "POST",
                format!("{}/create_or_update.json", kind.plural()),
                &json!({kind.singular(): to_zendesk(kind, record)}),
            );
            return self.single(op, kind, &request, |status| Some(status == 201));
        }
        match kind {
            Kind::User => {
                let body: Vec<Value> = records
                    .iter()
                    .map(|r| Value::Object(to_zendesk(kind, r)))
                    .collect();
                let request = Request::json(
                    "POST",
                    "users/create_or_update_many.json",
                    &json!({"users": body}),
                );
                self.run_job(op, &request, records.len())
            }
            Kind::Organization => self.upsert_organizations(records),
        }
    }

    /// Organizations have no `create_or_update_many`: look the external ids up, update
    /// those found in one job and create the rest in another.
    fn upsert_organizations(&self, records: &[Record]) -> Result<Vec<SaveResult>, CallError> {
        let op = Operation::Upsert;
        let kind = Kind::Organization;
        let keys: Vec<Option<String>> = records
            .iter()
            .map(|r| {
                r.get("external_id")
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(str::to_string)
            })
            .collect();
        // show_many takes a comma-separated list: such keys are sent one by one.
        let listable: Vec<&str> = keys
            .iter()
            .flatten()
            .map(String::as_str)
            .filter(|k| !k.contains(','))
            .collect();
        let known = self.ids_by_external_id(kind, &listable, op)?;
        let (mut updates, mut creates, mut singles, mut blank) = (vec![], vec![], vec![], vec![]);
        for (i, key) in keys.iter().enumerate() {
            match key {
                None => blank.push(i),
                Some(k) if k.contains(',') => singles.push(i),
                Some(k) => match known.get(&k.to_lowercase()) {
                    Some(id) => updates.push((i, id.clone())),
                    None => creates.push(i),
                },
            }
        }
        let mut parts = Vec::new();
        if !blank.is_empty() {
            let missing = SaveResult::failed(vec![RecordError {
                status_code: "BlankValue".into(),
                message: "an upsert needs the record's external_id".into(),
                fields: vec!["external_id".into()],
                call: None,
            }]);
            parts.push((blank.clone(), vec![missing; blank.len()]));
        }
        if !updates.is_empty() {
            let body = updates
                .iter()
                .map(|(i, id)| with_id(to_zendesk(kind, &records[*i]), id))
                .collect();
            let results = self.organizations_job("PUT", "update_many", body, false)?;
            parts.push((updates.into_iter().map(|(i, _)| i).collect(), results));
        }
        if !creates.is_empty() {
            let body = creates
                .iter()
                .map(|&i| Value::Object(to_zendesk(kind, &records[i])))
                .collect();
            let results = self.organizations_job("POST", "create_many", body, true)?;
            parts.push((creates, results));
        }
        for i in singles {
            parts.push((
                vec![i],
                self.upsert(kind, std::slice::from_ref(&records[i]))?,
            ));
        }
        Ok(merge(records.len(), parts))
    }

    /// One `organizations/<action>.json` job of an upsert, its successes marked `created`
    /// (a create) or not (an update).
    fn organizations_job(
        &self,
        method: &'static str,
        action: &str,
        body: Vec<Value>,
        created: bool,
    ) -> Result<Vec<SaveResult>, CallError> {
        let count = body.len();
        let request = Request::json(
            method,
            format!("organizations/{action}.json"),
            &json!({"organizations": body}),
        );
        let mut results = self.run_job(Operation::Upsert, &request, count)?;
        results
            .iter_mut()
            .for_each(|r| r.created = r.success.then_some(created));
        Ok(results)
    }

    /// Plain creates: one POST, or a `create_many` job.
    fn plain_create(&self, kind: Kind, records: &[Record]) -> Result<Vec<SaveResult>, CallError> {
        let op = Operation::Create;
        if let [record] = records {
            let request = Request::json(
                "POST",
                format!("{}.json", kind.plural()),
                &json!({kind.singular(): to_zendesk(kind, record)}),
            );
            return self.single(op, kind, &request, |_| Some(true));
        }
        let body: Vec<Value> = records
            .iter()
            .map(|r| Value::Object(to_zendesk(kind, r)))
            .collect();
        let request = Request::json(
            "POST",
            format!("{}/create_many.json", kind.plural()),
            &json!({kind.plural(): body}),
        );
        self.run_job(op, &request, records.len())
    }

    /// Updates by remote id: one PUT, or an `update_many` job.
    pub(crate) fn update(
        &self,
        kind: Kind,
        records: &[(String, Record)],
    ) -> Result<Vec<SaveResult>, CallError> {
        let op = Operation::Update;
        check_size(op, records.len())?;
        if let [(id, record)] = records {
            let request = Request::json(
                "PUT",
                format!("{}/{}.json", kind.plural(), path_id(op, id)?),
                &json!({kind.singular(): to_zendesk(kind, record)}),
            );
            return self.single(op, kind, &request, |_| None);
        }
        let body: Vec<Value> = records
            .iter()
            .map(|(id, r)| with_id(to_zendesk(kind, r), id))
            .collect();
        let request = Request::json(
            "PUT",
            format!("{}/update_many.json", kind.plural()),
            &json!({kind.plural(): body}),
        );
        self.run_job(op, &request, records.len())
    }

    /// Deletes by remote id: one DELETE, or a `destroy_many` job. A record already gone
    /// counts as deleted.
    pub(crate) fn delete(&self, kind: Kind, ids: &[String]) -> Result<Vec<SaveResult>, CallError> {
        let op = Operation::Delete;
        check_size(op, ids.len())?;
        if let [id] = ids {
            let request = Request::new(
                "DELETE",
                format!("{}/{}.json", kind.plural(), path_id(op, id)?),
            );
            return match self.execute(op, &request) {
                Ok(_) => Ok(vec![SaveResult::done(Some(id.clone()))]),
                Err(e) if e.status == Some(404) => Ok(vec![SaveResult::done(Some(id.clone()))]),
                Err(e) => Err(e),
            };
        }
        let list = ids
            .iter()
            .map(|id| path_id(op, id))
            .collect::<Result<Vec<_>, _>>()?
            .join(",");
        let request = Request::new("DELETE", format!("{}/destroy_many.json", kind.plural()))
            .param("ids", list);
        let mut results = self.run_job(op, &request, ids.len())?;
        for (result, id) in results.iter_mut().zip(ids) {
            if result.id.is_none() && result.success {
                result.id = Some(id.clone());
            }
        }
        Ok(results)
    }

    /// One record's plain request: its record answer as success, a refusal of the record
    /// itself (422, or 404 on an update) as its failure, anything else as the call's.
    fn single(
        &self,
        op: Operation,
        kind: Kind,
        request: &Request,
        created: impl Fn(u16) -> Option<bool>,
    ) -> Result<Vec<SaveResult>, CallError> {
        let reply = match self.execute(op, request) {
            Ok(reply) => reply,
            Err(e)
                if e.status == Some(422) || (e.status == Some(404) && op == Operation::Update) =>
            {
                let mut errors = e.errors.clone();
                if errors.is_empty() {
                    errors.push(RecordError {
                        status_code: if e.status == Some(404) {
                            "RecordNotFound"
                        } else {
                            "RecordInvalid"
                        }
                        .into(),
                        message: e.message().to_string(),
                        fields: Vec::new(),
                        call: None,
                    });
                }
                return Ok(vec![SaveResult::failed(errors)]);
            }
            Err(e) => return Err(e),
        };
        let body: Map<String, Value> = serde_json::from_slice(&reply.body).map_err(|e| {
            CallError::unreadable(op, reply.status, &format!("unexpected JSON ({e})"))
        })?;
        let id = body
            .get(kind.singular())
            .and_then(|r| r.get("id"))
            .map(plain)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                CallError::unreadable(
                    op,
                    reply.status,
                    &format!("no {}.id in the answer", kind.singular()),
                )
            })?;
        Ok(vec![SaveResult {
            created: created(reply.status),
            ..SaveResult::done(Some(id))
        }])
    }

    /// Starts a bulk job, waits for it on this thread, and maps its per-item results.
    fn run_job(
        &self,
        op: Operation,
        request: &Request,
        len: usize,
    ) -> Result<Vec<SaveResult>, CallError> {
        let started: JobEnvelope = self.call(op, request)?;
        let job = self.wait_for(op, started.job_status).map_err(|e| {
            if op == Operation::Create {
                // The job was accepted: its creates may be done, whatever the poll met.
                CallError::broken(
                    op,
                    TransportError::ConnectionReset,
                    true,
                    &format!("the create_many job was accepted, then: {e}"),
                )
            } else {
                e
            }
        })?;
        Ok(results(op, &job.results, len))
    }

    /// Polls `GET /job_statuses/{id}` until the job completes, fails or is killed, for at
    /// most the call deadline, pausing 50 ms and doubling to at most 1 s between polls.
    fn wait_for(&self, op: Operation, mut job: JobStatus) -> Result<JobStatus, CallError> {
        let deadline = Instant::now() + self.job_deadline;
        let mut pause = Duration::from_millis(50);
        let mut missing = 0;
        loop {
            match job.status.as_str() {
                "completed" => return Ok(job),
                "failed" | "killed" => {
                    return Err(CallError::broken(
                        op,
                        TransportError::ConnectionReset,
                        true,
                        &format!(
                            "Zendesk's job {} ended {}: {}",
                            job.id,
                            job.status,
                            job.message.as_deref().unwrap_or("no message")
                        ),
                    ))
                }
                _ => {}
            }
            if Instant::now() >= deadline {
                return Err(CallError::broken(
                    op,
                    TransportError::Timeout,
                    true,
                    &format!(
                        "Zendesk's job {} was still {} after {} s",
                        job.id,
                        job.status,
                        self.job_deadline.as_secs()
                    ),
                ));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_secs(1));
            if !job
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
            {
                return Err(CallError::unreadable(
                    op,
                    200,
                    "the job id is not one Zendesk gives",
                ));
            }
            let poll = Request::new("GET", format!("job_statuses/{}.json", job.id));
            match self.call::<JobEnvelope>(op, &poll) {
                Ok(answer) => job = answer.job_status,
                Err(e) if e.status == Some(404) && missing < MISSING_POLLS => missing += 1,
                Err(e) => return Err(e),
            }
        }
    }

    /// Remote ids of the records with these external ids, by lower-cased external id
    /// (Zendesk matches them ignoring case), from `show_many`.
    pub(crate) fn ids_by_external_id(
        &self,
        kind: Kind,
        keys: &[&str],
        op: Operation,
    ) -> Result<HashMap<String, String>, CallError> {
        let mut found = HashMap::new();
        for chunk in keys.chunks(MAX_BATCH) {
            let request = Request::new("GET", format!("{}/show_many.json", kind.plural()))
                .param("external_ids", chunk.join(","));
            let answer: Map<String, Value> = self.call(op, &request)?;
            for record in answer
                .get(kind.plural())
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_object)
                .filter(|r| !kind.is_deleted(r))
            {
                if let (Some(key), Some(id)) = (
                    record.get("external_id").and_then(Value::as_str),
                    record.get("id"),
                ) {
                    found.insert(key.to_lowercase(), plain(id));
                }
            }
        }
        Ok(found)
    }
}

/// More than [`MAX_BATCH`] records are refused before sending, as Zendesk would.
fn check_size(op: Operation, len: usize) -> Result<(), CallError> {
    if len > MAX_BATCH {
        return Err(CallError::refused(
            op,
            "TooManyValues",
            format!("{len} records in one call; Zendesk takes at most {MAX_BATCH}"),
        ));
    }
    Ok(())
}

/// A remote id checked before it goes into a path: Zendesk ids are integers.
fn path_id(op: Operation, id: &str) -> Result<String, CallError> {
    match id.trim().parse::<u64>() {
        Ok(n) => Ok(n.to_string()),
        Err(_) => Err(CallError::refused(
            op,
            "InvalidValue",
            format!("{id:?} is not a Zendesk id (a whole number)"),
        )),
    }
}

/// A record body naming its record by id.
fn with_id(mut body: Map<String, Value>, id: &str) -> Value {
    body.insert("id".into(), id_number(&Value::String(id.into())));
    Value::Object(body)
}

/// A job's results as one [`SaveResult`] per input record: by `index` where the item
/// gives one, else by position. An item without a result failed with `JobResultMissing`.
fn results(op: Operation, items: &[JobResult], len: usize) -> Vec<SaveResult> {
    let mut out: Vec<Option<SaveResult>> = vec![None; len];
    for (position, item) in items.iter().enumerate() {
        let at = item.index.unwrap_or(position);
        if let Some(slot @ None) = out.get_mut(at) {
            *slot = Some(item.save_result(op));
        }
    }
    out.into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                SaveResult::failed(vec![RecordError {
                    status_code: "JobResultMissing".into(),
                    message: "Zendesk's job reported no result for this record".into(),
                    fields: Vec::new(),
                    call: None,
                }])
            })
        })
        .collect()
}

impl JobResult {
    fn save_result(&self, op: Operation) -> SaveResult {
        let id = self.id.as_ref().map(plain).filter(|id| !id.is_empty());
        if let Some(error) = &self.error {
            if op == Operation::Delete && error == "RecordNotFound" {
                return SaveResult::done(id);
            }
            let fields = match &self.details {
                Some(Value::Object(by_field)) => by_field.keys().cloned().collect(),
                _ => Vec::new(),
            };
            return SaveResult::failed(vec![RecordError {
                status_code: error.clone(),
                message: self.details.as_ref().map(plain).unwrap_or_default(),
                fields,
                call: None,
            }]);
        }
        if self.success == Some(false) {
            return SaveResult::failed(vec![RecordError {
                status_code: self.status.clone().unwrap_or_else(|| "Failed".into()),
                message: "Zendesk's job reported the record as not saved".into(),
                fields: Vec::new(),
                call: None,
            }]);
        }
        let created = match op {
            Operation::Create => Some(true),
            Operation::Upsert => Some(
                self.action.as_deref() == Some("create")
                    || self.status.as_deref() == Some("Created"),
            ),
            _ => None,
        };
        SaveResult {
            created,
            ..SaveResult::done(id)
        }
    }
}

/// Results of parts of a batch (input positions, their results) in input order.
fn merge(len: usize, parts: Vec<(Vec<usize>, Vec<SaveResult>)>) -> Vec<SaveResult> {
    let mut out: Vec<Option<SaveResult>> = vec![None; len];
    for (positions, results) in parts {
        for (at, result) in positions.into_iter().zip(results) {
            out[at] = Some(result);
        }
    }
    out.into_iter()
        .map(|r| r.expect("every position belongs to one part"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(v: Value) -> Vec<JobResult> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn job_results_map_to_input_order() {
        let results = results(
            Operation::Create,
            &items(json!([
                {"id": 6164110479770u64, "status": "Created"},
                {"index": 1, "error": "OrganizationCreateFailed", "details": "Name: Acme has already been taken"},
                {"id": 6164110479771u64, "status": "Created"}
            ])),
            3,
        );
        assert_eq!(results[0].id.as_deref(), Some("6164110479770"));
        assert_eq!(results[0].created, Some(true));
        assert!(!results[1].success);
        assert_eq!(results[1].errors[0].status_code, "OrganizationCreateFailed");
        assert!(results[1].errors[0].message.contains("already been taken"));
        assert_eq!(
            results[2].id.as_deref(),
            Some("6164110479771"),
            "by position: no index"
        );
    }

    #[test]
    fn upserts_say_what_they_did_and_deletes_of_missing_records_succeed() {
        let upserts = results(
            Operation::Upsert,
            &items(json!([
                {"action": "create", "id": 1, "status": "Created", "success": true},
                {"action": "update", "id": 2, "status": "Updated", "success": true}
            ])),
            3,
        );
        assert_eq!(upserts[0].created, Some(true));
        assert_eq!(upserts[1].created, Some(false));
        assert_eq!(upserts[2].errors[0].status_code, "JobResultMissing");
        let deletes = results(
            Operation::Delete,
            &items(
                json!([{"index": 0, "error": "RecordNotFound", "id": 9, "details": "Not found"}]),
            ),
            1,
        );
        assert!(deletes[0].success);
    }

    #[test]
    fn ids_and_sizes_are_checked_before_sending() {
        assert_eq!(
            path_id(Operation::Update, "6164125400602").unwrap(),
            "6164125400602"
        );
        assert!(path_id(Operation::Update, "../users").is_err());
        assert!(check_size(Operation::Create, 101).is_err());
        assert!(check_size(Operation::Create, 100).is_ok());
        assert_eq!(
            with_id(Map::new(), "6164125400602"),
            json!({"id": 6164125400602u64})
        );
        assert_eq!(
            merge(
                3,
                vec![
                    (vec![1], vec![SaveResult::done(Some("b".into()))]),
                    (
                        vec![0, 2],
                        vec![
                            SaveResult::done(Some("a".into())),
                            SaveResult::done(Some("c".into()))
                        ]
                    )
                ]
            )
            .iter()
            .map(|r| r.id.clone().unwrap())
            .collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
    }
}
