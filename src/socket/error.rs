//! Engine errors as the `std::io::Error`s a Rust programmer expects.

use std::io;

use crate::driver::EngineCell;
use crate::engine::ApiError;

/// Maps an engine error onto the `io::ErrorKind` std::net would give for
/// the same situation, keeping the engine's sentence as the message.
pub fn to_io_error(err: ApiError) -> io::Error {
    let kind = match err {
        ApiError::WouldBlock => io::ErrorKind::WouldBlock,
        ApiError::ConnectionRefused => io::ErrorKind::ConnectionRefused,
        ApiError::ConnectionReset => io::ErrorKind::ConnectionReset,
        ApiError::TimedOut => io::ErrorKind::TimedOut,
        ApiError::AddrInUse => io::ErrorKind::AddrInUse,
        ApiError::AddrNotAvailable => io::ErrorKind::AddrNotAvailable,
        ApiError::NotConnected | ApiError::InvalidHandle => io::ErrorKind::NotConnected,
        ApiError::BrokenPipe => io::ErrorKind::BrokenPipe,
        // A configured limit (connections), not memory running out.
        ApiError::ResourceLimit => io::ErrorKind::QuotaExceeded,
        ApiError::InvalidInput => io::ErrorKind::InvalidInput,
        ApiError::HostUnreachable => io::ErrorKind::HostUnreachable,
        ApiError::NetworkUnreachable => io::ErrorKind::NetworkUnreachable,
        ApiError::Unsupported => io::ErrorKind::Unsupported,
    };
    io::Error::new(kind, err)
}

/// The error every call returns once the stack has stopped: shut down on
/// purpose, or dead of a device failure (then the reason is given).
pub fn stack_stopped(cell: &EngineCell) -> io::Error {
    match cell.failure() {
        Some(why) => io::Error::new(
            io::ErrorKind::BrokenPipe,
            format!("the tuntcp stack stopped: {why}"),
        ),
        None => io::Error::new(
            io::ErrorKind::NotConnected,
            "the tuntcp stack has been shut down",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_match_std_net() {
        assert_eq!(
            to_io_error(ApiError::ConnectionRefused).kind(),
            io::ErrorKind::ConnectionRefused
        );
        assert_eq!(
            to_io_error(ApiError::ConnectionReset).kind(),
            io::ErrorKind::ConnectionReset
        );
        assert_eq!(
            to_io_error(ApiError::TimedOut).kind(),
            io::ErrorKind::TimedOut
        );
        assert_eq!(
            to_io_error(ApiError::WouldBlock).kind(),
            io::ErrorKind::WouldBlock
        );
        assert_eq!(
            to_io_error(ApiError::AddrInUse).kind(),
            io::ErrorKind::AddrInUse
        );
        assert_eq!(
            to_io_error(ApiError::ResourceLimit).kind(),
            io::ErrorKind::QuotaExceeded
        );
        assert_eq!(
            to_io_error(ApiError::ConnectionRefused).to_string(),
            "connection refused"
        );
    }
}
