//! The schemas of the OpenAPI document: the application's, built from the
//! domain's field table (so they cannot drift from what the service
//! accepts); the model card's; documentation types for the other bodies;
//! and the problem answers each operation can give, described once.
//!
//! Handlers name these in their `#[utoipa::path]` attributes; this module
//! names no handler.

mod application;
mod bodies;
mod card;
mod problems;

pub use application::{
    ApplicationSchema, FieldSchema, LoggedApplicationSchema, enum_schemas, example_application,
};
pub use bodies::*;
pub use card::*;
pub use problems::*;
