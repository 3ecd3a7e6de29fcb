//! The eleven connection states of RFC 9293 §3.3.2.
//!
//! ```text
//!                             +---------+ ---------\      active OPEN
//!                             |  CLOSED |            \    -----------
//!                             +---------+<---------\   \   create TCB
//!                               |     ^              \   \  snd SYN
//!                  passive OPEN |     |   CLOSE        \   \
//!                  ------------ |     | ----------       \   \
//!                   create TCB  |     | delete TCB         \   \
//!                               V     |                      \   \
//!           rcv RST (note 1)  +---------+            CLOSE    |    \
//!        -------------------->|  LISTEN |          ---------- |     |
//!       /                     +---------+          delete TCB |     |
//!      /           rcv SYN      |     |     SEND              |     |
//!     /           -----------   |     |    -------            |     V
//! +--------+      snd SYN,ACK  /       \   snd SYN          +--------+
//! |        |<-----------------           ------------------>|        |
//! |  SYN   |                    rcv SYN                     |  SYN   |
//! |  RCVD  |<-----------------------------------------------|  SENT  |
//! |        |                  snd SYN,ACK                   |        |
//! |        |------------------           -------------------|        |
//! +--------+   rcv ACK of SYN  \       /  rcv SYN,ACK       +--------+
//!    |         --------------   |     |   -----------
//!    |                x         |     |     snd ACK
//!    |                          V     V
//!    |  CLOSE                 +---------+
//!    | -------                |  ESTAB  |
//!    | snd FIN                +---------+
//!    |                 CLOSE    |     |    rcv FIN
//!    V                -------   |     |    -------
//! +---------+         snd FIN  /       \   snd ACK         +---------+
//! |  FIN    |<----------------          ------------------>|  CLOSE  |
//! | WAIT-1  |------------------                            |   WAIT  |
//! +---------+          rcv FIN  \                          +---------+
//!   | rcv ACK of FIN   -------   |                          CLOSE  |
//!   | --------------   snd ACK   |                         ------- |
//!   V        x                   V                         snd FIN V
//! +---------+               +---------+                    +---------+
//! |FINWAIT-2|               | CLOSING |                    | LAST-ACK|
//! +---------+               +---------+                    +---------+
//!   |              rcv ACK of FIN |                 rcv ACK of FIN |
//!   |  rcv FIN     -------------- |    Timeout=2MSL -------------- |
//!   |  -------            x       V    ------------        x       V
//!    \ snd ACK              +---------+delete TCB          +---------+
//!      -------------------->|TIME-WAIT|------------------->| CLOSED  |
//!                           +---------+                    +---------+
//! ```
//!
//! In this engine LISTEN belongs to a listener, not to a connection: a SYN
//! to a listening port creates a new TCB directly in SYN-RECEIVED (§3.10.7.2),
//! and the listener stays as it was. The state exists here so the enum is
//! the RFC's, and so `conn_info` can name it.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

impl State {
    /// The RFC's name, as `conn_info` and the logs show it.
    pub fn name(self) -> &'static str {
        match self {
            State::Closed => "CLOSED",
            State::Listen => "LISTEN",
            State::SynSent => "SYN-SENT",
            State::SynReceived => "SYN-RECEIVED",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
        }
    }

    /// §3.3.2 / §3.10.7.4: the states after the handshake has finished, where
    /// both sequence spaces are known ("synchronized states").
    pub fn is_synchronized(self) -> bool {
        !matches!(
            self,
            State::Closed | State::Listen | State::SynSent | State::SynReceived
        )
    }

    /// States in which the peer may still send us data: before its FIN.
    pub fn can_receive_data(self) -> bool {
        matches!(
            self,
            State::SynReceived | State::Established | State::FinWait1 | State::FinWait2
        )
    }

    /// States in which our FIN has been sent (or at least decided on).
    pub fn fin_queued(self) -> bool {
        matches!(
            self,
            State::FinWait1 | State::FinWait2 | State::Closing | State::LastAck | State::TimeWait
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_uses_rfc_names() {
        assert_eq!(State::SynReceived.to_string(), "SYN-RECEIVED");
        assert_eq!(State::FinWait2.to_string(), "FIN-WAIT-2");
        assert_eq!(State::TimeWait.to_string(), "TIME-WAIT");
    }

    #[test]
    fn synchronized_states_are_the_ones_after_the_handshake() {
        assert!(!State::SynReceived.is_synchronized());
        assert!(State::Established.is_synchronized());
        assert!(State::TimeWait.is_synchronized());
    }
}
