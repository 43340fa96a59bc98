//! Sending fred's commands.

use fred::prelude::Error;

/// Sends every command before awaiting any answer, and gives the answers in
/// order, or the first error.
///
/// Not a fred pipeline: fred 10 writes a pipeline's commands one `writev` at
/// a time, because it flushes whenever no other command waits in its queue,
/// and a pipeline's commands never do. Commands sent on their own all wait in
/// the queue at once, so fred writes them together: a 100-key batch is a few
/// writes instead of 100 (docs/performance.md).
pub(crate) async fn concurrently<T>(
    commands: impl IntoIterator<Item = impl Future<Output = Result<T, Error>>>,
) -> Result<Vec<T>, Error> {
    futures::future::try_join_all(commands).await
}
