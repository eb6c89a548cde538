//! Salesforce: the describe model, request/response shapes and the REST client.

pub mod describe;
