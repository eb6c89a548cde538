//! The SQL API: functions users call and the rows behind the views.

pub mod config;
pub mod credentials;
pub mod hide_statement;
pub mod hub;
pub mod indexes;
pub mod remote;
pub mod remote_check;
pub mod resolve;
pub mod review;
pub mod worker_info;
