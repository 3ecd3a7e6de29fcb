//! Send buffers held against windows that never open.
//!
//! A peer may keep its window closed for as long as it likes (RFC 9293
//! MAY-8), and while it answers our zero-window probes "the sending TCP
//! peer MUST allow the connection to stay open (MUST-37)" — "subject to
//! the implementation's resource management concerns" (§3.8.6.1). A
//! peer that answers every probe and never reads pins our whole send
//! buffer; a thousand such peers pin a thousand buffers. So:
//!
//! - A peer that stops answering is given up `give_up_after` after it
//!   was last heard (R2 of §3.8.3, Linux's `tcp_retries2` bound on
//!   probes; `tcp/timeouts.rs`).
//! - An orphan (the application closed it, data still queued) that waits
//!   on a zero window past `orphan_zero_window_timeout` is given up
//!   however well the peer answers: nobody is left to care, as Linux
//!   bounds only orphans' probes (`tcp_orphan_retries`).
//! - The send storage of all connections blocked on a zero window is
//!   bounded (`max_zero_window_bytes`); past it the stack aborts them,
//!   orphans first, then the longest blocked, with a RST, as Linux's
//!   `tcp_out_of_resources` kills orphans when memory is short
//!   (`tcp_max_orphans`). Connections the application holds are given up
//!   only then: the resource concern that §3.8.6.1 allows for.
//!
//! Counted: `DefenceStats::zero_window_aborts`.

use super::held_total::{HeldCharge, HeldTotal};

/// All blocked connections' send storage against `max_zero_window_bytes`.
pub type ZeroWindowTotal = HeldTotal;
/// One connection's send storage while blocked on a zero window.
pub type ZeroWindowCharge = HeldCharge;

/// Event counter of a [`ZeroWindowTotal`]: connections given up.
pub const ABORTS: usize = 0;
