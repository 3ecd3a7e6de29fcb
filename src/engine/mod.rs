//! The TCP engines' common contract ([`Engine`]) and our own engine.
//!
//! Sans-IO: nothing in here does a syscall, starts a thread or reads a clock.

pub mod api;
pub mod config;
pub mod held_total;
pub mod isn;
pub mod memory;
pub mod out_of_order;
pub mod shared;
pub mod stack;
pub mod syn_cookie;
pub mod tcp;
#[cfg(test)]
mod tests;
pub mod trace;
pub mod view;
pub mod zero_window;

pub use api::{
    ApiError, ConnId, ConnInfo, DefenceStats, DropCounts, DropReason, Engine, EngineStats,
    ListenerId, Readiness, ReadinessEvent, Watched,
};
pub use config::{CongestionControl, EcnMode, KeepAlive, ReassemblyLimits, StackConfig};
pub use memory::MemoryStats;
pub use stack::{IpStats, Stack};
pub use trace::{SegmentSummary, TraceEvent};
pub use view::{ConnView, ListenerView, StackView, TcpView};
