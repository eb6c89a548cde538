//! What the org is: object describes and the org's limits.

use super::client::{checked_name, Request, SalesforceClient};
use super::describe::GlobalDescribe;
use crate::connector::describe::ObjectDescribe;
use crate::connector::error::CallError;
use crate::retry::Operation;
use serde_json::{Map, Value};

impl SalesforceClient {
    /// An object's fields and rights (GET /sobjects/{object}/describe), to check a
    /// mapping against the org before any record moves.
    pub fn describe(&self, object: &str) -> Result<ObjectDescribe, CallError> {
        let op = Operation::Read;
        let object = checked_name(op, object)?;
        self.call(
            op,
            &Request::new("GET", format!("sobjects/{object}/describe")),
        )
    }

    /// Every object of the org (GET /sobjects).
    pub fn describe_global(&self) -> Result<GlobalDescribe, CallError> {
        self.call(Operation::Read, &Request::new("GET", "sobjects"))
    }

    /// The org's limits (GET /limits): `{"DailyApiRequests": {"Max": n, "Remaining": n}, …}`.
    pub fn limits(&self) -> Result<Map<String, Value>, CallError> {
        self.call(Operation::Read, &Request::new("GET", "limits"))
    }
}
