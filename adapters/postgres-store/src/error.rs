//! How the store's failures reach the flow: every one is the store being
//! unavailable, and the client gets 503.

use std::time::Duration;

use domain::StoreError;
use sea_orm::DbErr;

pub(crate) fn unavailable(error: DbErr) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

/// PostgreSQL gave no answer within `bound` (a stalled server never applies
/// its own statement bound).
pub(crate) fn no_answer_within(bound: Duration) -> StoreError {
    StoreError::Unavailable(format!(
        "PostgreSQL did not answer within {} ms",
        bound.as_millis()
    ))
}
