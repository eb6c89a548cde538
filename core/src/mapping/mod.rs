//! The mapping engine (placeholder while modules land).

pub mod datum;
pub mod decimal;
pub mod phone;
pub mod temporal;
