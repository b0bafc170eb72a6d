//! Problem families: one canonical form each, so that every backend is written once.

pub mod combinatorial;
pub mod conic;
