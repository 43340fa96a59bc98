//! How the Redis cache is set up.

use std::time::Duration;

use crate::entry::SigningKey;

#[derive(Debug, Clone)]
pub struct RedisCacheSettings {
    pub url: String,
    pub namespace: String,
    pub ttl: Duration,
    /// The longest any cache call may take.
    pub timeout: Duration,
    /// Verdicts the near cache keeps in memory for each client (each worker
    /// thread has one); 0 turns it off.
    pub near_entries: usize,
    /// Signs every entry written and refuses every entry read without a
    /// valid signature; `None` writes and reads entries unsigned.
    pub signing_key: Option<SigningKey>,
}
