//! Applications written against the socket API, identical on either engine.

pub mod connect;
pub mod echo;
pub mod event_echo;
pub mod packetdrill;
pub mod replay;
pub mod ss;
pub mod workers;
