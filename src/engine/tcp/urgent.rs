//! Urgent data (RFC 9293 §3.8.5, RFC 6093): MUST-30..33, MUST-62, MUST-66.
//!
//! The urgent pointer marks a point in the stream: the octet after the
//! last urgent octet (MUST-62). Urgent data stays in the stream ("inline",
//! as SO_OOBINLINE and RFC 6093 §6 advise): nothing is taken out of band.
//! What the application gets is the mark:
//!
//! - [`Tcb::urgent_remaining`] says how many bytes are left to read
//!   before the mark (MUST-33), and a read stops at the mark, as BSD's
//!   does, so the application knows exactly where urgent data ends;
//! - readiness shows `URGENT` while urgent data is unread, and a new
//!   event comes each time the pointer advances (MUST-32);
//! - [`Tcb::send_urgent`] queues data and moves our urgent pointer to its
//!   end; every segment sent before that point carries URG (MUST-31: the
//!   pointer may run far ahead of a segment, any length is fine).

use super::state::State;
use super::tcb::Tcb;
use crate::engine::api::ApiError;
use crate::wire::{SeqNum, TcpHeader};

impl Tcb {
    /// §3.10.7.4, sixth step: "If the URG bit is set, RCV.UP <-
    /// max(RCV.UP,SEG.UP), and signal the user that the remote side has
    /// urgent data if the urgent pointer (RCV.UP) is in advance of the
    /// data consumed." Only while the peer may still send data.
    pub(super) fn note_urgent(&mut self, header: &TcpHeader) {
        let receiving = matches!(
            self.state,
            State::Established | State::FinWait1 | State::FinWait2
        );
        // A pointer of 0 marks no octet of this segment or later.
        if !header.flags.urg || header.urgent == 0 || !receiving {
            return;
        }
        let up = header.seq + usize::from(header.urgent);
        // "the urgent pointer cannot recede" (§3.8.5): a receiver keeps
        // the furthest, and ignores one behind what was read.
        if up <= self.read_position() || self.rcv_up.is_some_and(|known| up <= known) {
            return;
        }
        self.rcv_up = Some(up);
        self.urgent_advanced = true;
    }

    /// The sequence number of the next byte the application will read
    /// (RCV.NXT counts the peer's FIN too, once it is in).
    fn read_position(&self) -> SeqNum {
        self.rcv_nxt - self.recv_buf.len() - usize::from(self.fin_received)
    }

    /// MUST-33: bytes to read before the urgent mark (urgent data not yet
    /// read, some perhaps not yet received); 0 when there is none.
    pub fn urgent_remaining(&self) -> usize {
        let read = self.read_position();
        self.rcv_up
            .filter(|&up| up > read)
            .map_or(0, |up| up.since(read))
    }

    /// How much one read may take: never past the urgent mark, so the
    /// application sees where urgent data ends (BSD's SIOCATMARK rule).
    pub(super) fn read_limit(&mut self, wanted: usize) -> usize {
        match self.urgent_remaining() {
            0 => {
                self.rcv_up = None;
                wanted
            }
            remaining => wanted.min(remaining),
        }
    }

    /// The pointer advanced since last asked (for readiness, MUST-32).
    pub fn take_urgent_news(&mut self) -> bool {
        std::mem::take(&mut self.urgent_advanced)
    }

    /// SEND with the URGENT flag (§3.9.1.2): queues what fits of `data`
    /// and points our urgent pointer past its last queued byte (MUST-62).
    pub fn send_urgent(&mut self, data: &[u8]) -> Result<usize, ApiError> {
        let queued = self.send(data)?;
        self.snd_up = Some(self.snd_una + self.send_buf.len());
        Ok(queued)
    }

    /// URG and the urgent field for a segment at `seq`: set while our
    /// pointer is ahead of it. The field is 16 bits; a pointer further
    /// ahead is sent as 65535, which still says "urgent data follows"
    /// (as Linux does).
    pub(super) fn urgent_field(&mut self, seq: SeqNum) -> Option<u16> {
        let up = self.snd_up?;
        if up <= self.snd_una {
            self.snd_up = None; // the peer has it all
            return None;
        }
        (up > seq).then(|| up.since(seq).min(usize::from(u16::MAX)) as u16)
    }
}
