//! The IPv4 header fields a connection chooses for what it sends (RFC
//! 9293 §3.9.1.9 and §3.9.2): the DiffServ field, set by the application;
//! DF, cleared only by path MTU discovery (`icmp.rs`); the TTL.

use super::tcb::{Tcb, DSCP_MASK};
use crate::wire::IpSendFields;

impl Tcb {
    /// The IPv4 fields of what this connection sends (DiffServ, DF, TTL).
    pub fn ip_fields(&self) -> IpSendFields {
        self.ip_fields
    }

    /// RFC 9293 §3.9.1.9: the application sets the DiffServ field of
    /// what this connection sends (MUST-48), also once it is open
    /// (SHLD-21), and it goes to IP unchanged (SHLD-22). The ECN bits
    /// stay TCP's (RFC 3168 §6.1.1).
    pub fn set_tos(&mut self, tos: u8) {
        self.ip_fields.tos = tos & DSCP_MASK | self.ip_fields.tos & !DSCP_MASK;
    }
}
