//! `batch --concurrency N`: one worker thread keeps up to N records in
//! flight. Each record still gets its own fresh runtime; while one waits on
//! timers or async host calls (its promise pending), the worker runs the
//! others. The worker drives them with a current-thread tokio runtime and
//! `Runtime::call_json_async`, so waiting records hold no thread.
//!
//! Records are claimed from the shared counter one at a time, as the
//! synchronous workers do, and every claimed record sends exactly one line.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;

use futures_util::{stream, FutureExt, StreamExt};
use jsbox::EngineFactory;

use super::{call_args, error_line, output_line, Outcome};

/// One record, awaited: as `process`, without blocking the thread.
async fn process(factory: &EngineFactory, target: &(String, String), line: &[u8]) -> Outcome {
    let args = match call_args(line) {
        Ok(args) => args,
        Err(outcome) => return outcome,
    };
    let outcome = match factory.new_runtime() {
        Ok(mut rt) => rt.call_json_async(Some(&target.0), &target.1, &args).await,
        Err(e) => Err(e),
    };
    output_line(outcome)
}

/// A worker: runs records until none are left, `concurrency` at a time.
pub(super) fn worker(
    factory: &EngineFactory,
    target: &(String, String),
    records: &[&[u8]],
    next: &AtomicUsize,
    tx: Sender<Vec<(usize, Outcome)>>,
    concurrency: u32,
) {
    // Set when the writer is gone (it failed): claim nothing more.
    let closed = AtomicBool::new(false);
    let claim = || {
        if closed.load(Ordering::Relaxed) {
            return None;
        }
        let i = next.fetch_add(1, Ordering::Relaxed);
        (i < records.len()).then_some(i)
    };
    let loop_runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            // No loop: every record this worker claims gets an error line.
            while let Some(i) = claim() {
                let _ = tx.send(vec![(i, error_line("internal", format!("cannot start the worker's event loop: {e}")))]);
            }
            return;
        }
    };
    loop_runtime.block_on(
        stream::iter(std::iter::from_fn(claim)).for_each_concurrent(concurrency as usize, |i| {
            let (tx, closed) = (tx.clone(), &closed);
            async move {
                let outcome = AssertUnwindSafe(process(factory, target, records[i]))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|_| error_line("internal", "the worker panicked on this record".into()));
                if tx.send(vec![(i, outcome)]).is_err() {
                    closed.store(true, Ordering::Relaxed);
                }
            }
        }),
    );
}
