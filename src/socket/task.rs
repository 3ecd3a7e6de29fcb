//! One engine call for an async task: done, failed, or "would block" and
//! the task's waker registered for the handle's next readiness event.
//!
//! The call and the registration happen under one engine lock, and events
//! are delivered under it too, so an event can never fall between "would
//! block" and the waker being known (the lost wake-up). This is what
//! `tuntcp::tokio` is built on; it needs no runtime itself.

use std::io;
use std::task::{Context, Poll};

use super::error::{stack_stopped, to_io_error};
use super::stack::Stack;
use crate::driver::TaskDirection;
use crate::engine::{ApiError, Engine, Watched};

/// Runs `call` once on `stack`'s engine. `WouldBlock` becomes `Pending`,
/// with `cx`'s task woken at `handle`'s next event (or when the stack
/// stops, after which every call fails).
pub(crate) fn poll_call<T>(
    stack: &Stack,
    handle: Watched,
    direction: TaskDirection,
    cx: &mut Context<'_>,
    call: impl FnOnce(&mut dyn Engine) -> Result<T, ApiError>,
) -> Poll<io::Result<T>> {
    let cell = stack.cell();
    let mut core = cell.lock();
    match call(&mut **core) {
        Ok(value) => {
            // As a blocking call: send what the call made due (data, a
            // window update, an ACK).
            cell.transmit(&mut core);
            Poll::Ready(Ok(value))
        }
        Err(ApiError::WouldBlock) => {
            if cell.is_stopped() {
                return Poll::Ready(Err(stack_stopped(cell)));
            }
            // Events queued before the call are about the state it just
            // saw; they must not count as news for the waker below.
            cell.dispatch_readiness(&mut core);
            core.waiters.wait_task(handle, direction, cx.waker());
            Poll::Pending
        }
        Err(err) => Poll::Ready(Err(to_io_error(err))),
    }
}
