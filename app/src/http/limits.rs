//! The sizes the contract bounds: of a body, of a batch, of a page, and how
//! many monitoring reports run at once.

/// The body limit of one application.
pub const SINGLE_LIMIT: usize = 64 * 1024;
/// The body limit of a batch.
pub const BATCH_LIMIT: usize = 8 * 1024 * 1024;
/// Most applications one batch may hold.
pub const BATCH_MAX: usize = 1000;
/// Page size bounds of `GET /v1/decisions`.
pub const LIMIT_MAX: u16 = 1000;
pub const LIMIT_DEFAULT: u16 = 50;
/// Reports computed at once, in the whole process: one per connection the
/// PostgreSQL store keeps for reports.
pub const REPORTS_AT_ONCE: usize = postgres_store::REPORT_CONNECTIONS as usize;
