//! The SQL API: functions users call and the rows behind the views.

pub mod worker_info;
