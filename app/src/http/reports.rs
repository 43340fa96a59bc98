//! Monitoring reports are computed a few at a time: each reads tallies on a
//! connection of the store's own for reports, so that however many are asked
//! for, decisions never wait for a connection or the CPU. The rest are
//! answered 429 with `Retry-After` at once, never queued.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::limits::REPORTS_AT_ONCE;
use super::problem::Problem;

/// The reports being computed (app data, shared by every worker).
#[derive(Clone)]
pub struct Reports(Arc<Semaphore>);

impl Default for Reports {
    fn default() -> Self {
        Self(Arc::new(Semaphore::new(REPORTS_AT_ONCE)))
    }
}

impl Reports {
    /// A place for one report, held while it is computed; 429 when every
    /// place is taken.
    pub fn start(&self) -> Result<OwnedSemaphorePermit, Problem> {
        self.0
            .clone()
            .try_acquire_owned()
            .map_err(|_| Problem::TooManyReports)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_limit_a_report_is_refused_until_one_ends() {
        let reports = Reports::default();
        let running: Vec<_> = (0..REPORTS_AT_ONCE)
            .map(|_| reports.start().expect("a place"))
            .collect();
        assert!(matches!(reports.start(), Err(Problem::TooManyReports)));
        drop(running);
        assert!(reports.start().is_ok());
    }
}
