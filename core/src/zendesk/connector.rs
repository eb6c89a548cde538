//! Zendesk as a [`Connector`]: bulk jobs for writes, incremental exports for reads, the
//! custom field definitions for the describe.

use super::client::{ClientConfig, ClientConfigError, Request, ZendeskClient};
use super::describe::{describe, CustomField};
use super::object::Kind;
use super::writes::MAX_BATCH;
use crate::config::ZendeskSecret;
use crate::connector::{
    CallError, ChangePage, Connector, Endpoint, ObjectDescribe, Options, ReadFrom, Record,
    SaveResult, Write,
};
use crate::retry::{ApiUsage, Operation};
use serde_json::{Map, Value};

/// A client for the account `endpoint` names.
pub(crate) fn client(
    endpoint: &Endpoint,
    secret: ZendeskSecret,
    options: Options,
) -> Result<ZendeskClient, ClientConfigError> {
    let base_url = endpoint.instance_url.clone().ok_or_else(|| {
        ClientConfigError::from(
            "the Zendesk address is missing; give credentials.subdomain (or instance_url)",
        )
    })?;
    ZendeskClient::new(ClientConfig {
        base_url,
        secret,
        timeouts: options.timeouts,
        parallelism: options.parallelism,
        network: options.network,
    })
}

impl Connector for ZendeskClient {
    fn sign_in(&self) -> Result<(), CallError> {
        ZendeskClient::sign_in(self)
    }

    fn describe(&self, object: &str) -> Result<ObjectDescribe, CallError> {
        let op = Operation::Read;
        let kind = Kind::named(object, op)?;
        let path = format!("{}.json", kind.custom_key());
        let mut answer: Map<String, Value> = self.call(op, &Request::new("GET", path))?;
        let custom: Vec<CustomField> = match answer.shift_remove(kind.custom_key()) {
            Some(list) => serde_json::from_value(list).map_err(|e| {
                CallError::unreadable(op, 200, &format!("unexpected field definitions ({e})"))
            })?,
            None => Vec::new(),
        };
        Ok(describe(kind, &custom))
    }

    fn max_batch(&self) -> usize {
        MAX_BATCH
    }

    fn write(&self, object: &str, batch: Write<'_>) -> Result<Vec<SaveResult>, CallError> {
        let op = match batch {
            Write::Create(_) => Operation::Create,
            Write::Update(_) => Operation::Update,
            Write::Upsert { .. } => Operation::Upsert,
            Write::Delete(_) => Operation::Delete,
        };
        let kind = Kind::named(object, op)?;
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        match batch {
            Write::Create(records) => self.create(kind, records),
            Write::Update(records) => self.update(kind, records),
            Write::Upsert {
                external_id,
                records,
            } => self.upsert_by(kind, external_id, records),
            Write::Delete(ids) => self.delete(kind, ids),
        }
    }

    fn retrieve(
        &self,
        object: &str,
        ids: &[&str],
        fields: &[&str],
    ) -> Result<Vec<Option<Record>>, CallError> {
        let kind = Kind::named(object, Operation::Read)?;
        ZendeskClient::retrieve(self, kind, ids, fields)
    }

    fn read(
        &self,
        object: &str,
        fields: &[&str],
        from: &ReadFrom,
    ) -> Result<ChangePage, CallError> {
        let kind = Kind::named(object, Operation::Read)?;
        self.read_page(kind, fields, from)
    }

    fn find(&self, object: &str, key: &[(String, Value)]) -> Result<Vec<String>, CallError> {
        let kind = Kind::named(object, Operation::Read)?;
        ZendeskClient::find(self, kind, key)
    }

    /// Zendesk's budget is per minute (`x-rate-limit`), not the daily allowance the
    /// budget governor meters; it is kept by honouring 429 and `Retry-After` instead.
    fn api_usage(&self) -> Option<ApiUsage> {
        None
    }

    fn api_calls(&self) -> u64 {
        ZendeskClient::api_calls(self)
    }
}
