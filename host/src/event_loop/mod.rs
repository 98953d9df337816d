//! The host's half of a runtime's event loop: async native calls in flight,
//! their finished results waiting for the guest, and the wait between two
//! turns of the loop.
//!
//! The guest runs JS and never blocks: when the value a call returns is a
//! pending promise, the guest says so and returns. The runtime then loops:
//! it calls the guest's `run-loop` export (one turn: due timers, finished
//! host calls, `MessagePort` messages, their microtasks), and while the
//! promise is still pending it waits here, without the guest, until the
//! next timer is due, an async native call finishes, the deadline passes
//! or the runtime is interrupted (messages still to deliver: no wait).
//! Every guest call is a short synchronous wasm call; all the waiting is in
//! host futures ([`wait`]), so a runtime waiting on host I/O holds no
//! thread when driven by the async API.
//!
//! Async native calls are Rust futures. A future is polled once when JS
//! starts the call: if it is already done, JS gets a settled promise at once
//! (no loop turn). Otherwise it joins this runtime's [`HostLoop`] and is
//! polled by the wait. Futures run in a tokio context: the caller's runtime
//! under the async API, else a small process-wide runtime ([`shared`]).

mod wait;

pub(crate) use wait::{shared, wait, Wake};

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use futures_util::stream::FuturesUnordered;
use futures_util::Stream;
use tokio::runtime::Handle;

use crate::calllog::{Direction, RuntimeLog};
use crate::error::Error;
use crate::native::NativeFuture;

/// What the call log needs about an async call, kept until it finishes.
pub(crate) struct LoggedCall {
    pub(crate) module: String,
    pub(crate) function: String,
    pub(crate) args: String,
    pub(crate) wall: SystemTime,
}

/// An async native call in flight.
pub(crate) struct InFlight {
    pub(crate) id: u32,
    pub(crate) future: NativeFuture,
    pub(crate) started: Instant,
    pub(crate) log: Option<LoggedCall>,
}

/// A finished async call: its id, result, duration and log data.
pub(crate) struct Finished {
    id: u32,
    result: Result<String, Error>,
    duration: Duration,
    log: Option<LoggedCall>,
}

impl Future for InFlight {
    type Output = Finished;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Finished> {
        let result = std::task::ready!(self.future.as_mut().poll(cx));
        Poll::Ready(Finished { id: self.id, result, duration: self.started.elapsed(), log: self.log.take() })
    }
}

/// A finished call as the guest takes it: its id, and its result or the
/// message JS sees next to the typed error.
pub(crate) type Delivery = (u32, Result<String, (String, Error)>);

/// One runtime's host-side loop state. It lives in the store: when the
/// runtime is dropped, its calls in flight are dropped (cancelled) with it.
#[derive(Default)]
pub(crate) struct HostLoop {
    /// Created on the first call that has to wait (most runtimes never do).
    in_flight: Option<FuturesUnordered<InFlight>>,
    /// Finished calls the guest has not taken yet, with the host's error
    /// kept typed next to the message JS sees.
    finished: VecDeque<Delivery>,
    next_id: u32,
    /// The tokio runtime async native calls run on during the current call
    /// (the async API's caller); `None` means the shared one.
    pub(crate) handle: Option<Handle>,
}

impl HostLoop {
    /// The tokio runtime to create and poll native futures in.
    pub(crate) fn handle(&self) -> Result<Handle, Error> {
        match &self.handle {
            Some(h) => Ok(h.clone()),
            None => shared().cloned(),
        }
    }

    pub(crate) fn next_id(&mut self) -> u32 {
        self.next_id = self.next_id.wrapping_add(1);
        self.next_id
    }

    pub(crate) fn start(&mut self, call: InFlight) {
        self.in_flight.get_or_insert_with(FuturesUnordered::new).push(call);
    }

    /// Whether nothing on the host side can wake the loop.
    pub(crate) fn idle(&self) -> bool {
        self.in_flight.as_ref().is_none_or(FuturesUnordered::is_empty) && self.finished.is_empty()
    }

    pub(crate) fn has_finished(&self) -> bool {
        !self.finished.is_empty()
    }

    /// The next finished call for the guest.
    pub(crate) fn take(&mut self) -> Option<Delivery> {
        self.finished.pop_front()
    }

    /// Polls the calls in flight; queues the finished ones (logging them)
    /// and says whether there were any.
    pub(crate) fn poll_finished(&mut self, cx: &mut Context<'_>, log: &mut Option<RuntimeLog>, max: usize) -> bool {
        let mut any = false;
        let Some(in_flight) = self.in_flight.as_mut() else { return false };
        while let Poll::Ready(Some(done)) = Pin::new(&mut *in_flight).poll_next(cx) {
            let mut result = checked_result(done.result, max);
            if let (Some(log), Some(call)) = (log.as_mut(), done.log) {
                let logged = result.as_deref().map_err(|e| e.to_string());
                // A call the log cannot record fails (as a sync call does).
                if let Err(e) = log.record(Direction::JsToHost, &call.module, &call.function, &call.args, call.wall, done.duration, logged) {
                    result = Err(e);
                }
            }
            self.finished.push_back((done.id, result.map_err(|e| (js_message(&e), e))));
            any = true;
        }
        any
    }
}

/// A native result over the value cap is an error.
pub(crate) fn checked_result(result: Result<String, Error>, max: usize) -> Result<String, Error> {
    result.and_then(|r| {
        if r.len() > max {
            Err(Error::TooLarge { what: "native call result", size: r.len(), limit: max })
        } else {
            Ok(r)
        }
    })
}

/// The message JS sees for a host error (as the sync path words it).
pub(crate) fn js_message(e: &Error) -> String {
    match e {
        Error::Host { message, .. } => message.clone(),
        other => other.to_string(),
    }
}
