//! Model versions and the routing over them: champion, challenger (shadow
//! or split), hot swap. The routing lives in the routing store (the log's
//! database with PostgreSQL); each replica follows it.

pub mod follower;
pub mod set;
pub mod versions;

pub use set::{Models, Wrap};
pub use versions::{Origin, Version, Versions};
