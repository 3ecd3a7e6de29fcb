//! What must agree between a recording and its replay: not the bytes on
//! the wire (ISNs differ, and so do ACK timing and segment boundaries) but
//! what TCP promises: the handshake answer, every byte in order, FINs in
//! the same order, RST where the recording has one, and the peer's data
//! acknowledged at the end.

use super::recorded::{fin_position, isn_of, Placed};
use super::segment::Segment;

/// The visible behaviour of one stack in a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Flags of the stack's first segment and its ACK relative to the
    /// peer's ISN, e.g. "[S.] ack 1".
    pub first_answer: String,
    /// Whether the stack reset the connection.
    pub sent_rst: bool,
    /// Where the stack's FIN sits relative to its ISN, if it sent one.
    pub fin_seq: Option<u32>,
    /// Whether the stack's FIN went out before the peer's came in.
    pub fin_before_peer_fin: Option<bool>,
    /// Highest ACK the stack sent, relative to the peer's ISN.
    pub final_ack: Option<u32>,
}

/// The outcome of `stack`'s segments in a session with `peer`'s.
pub fn outcome(stack: &[Placed], peer: &[Placed]) -> Outcome {
    let peer_isn = isn_of(peer);
    let own_isn = isn_of(stack);
    let relative_ack = |seg: &Segment| peer_isn.map(|isn| seg.ack.wrapping_sub(isn));
    let first_answer = stack.first().map_or("nothing".to_string(), |p| {
        match relative_ack(&p.seg).filter(|_| p.seg.has_ack) {
            Some(ack) => format!("[{}] ack {ack}", p.seg.flags()),
            None => format!("[{}]", p.seg.flags()),
        }
    });
    let fin = stack.iter().find(|p| p.seg.fin);
    let peer_fin = fin_position(peer);
    Outcome {
        first_answer,
        sent_rst: stack.iter().any(|p| p.seg.rst),
        fin_seq: fin.and_then(|p| {
            let end = p.seg.seq.wrapping_add(p.seg.payload.len() as u32);
            own_isn.map(|isn| end.wrapping_sub(isn))
        }),
        fin_before_peer_fin: fin.map(|p| p.position <= peer_fin),
        final_ack: stack
            .iter()
            .filter(|p| p.seg.has_ack && !p.seg.rst)
            .filter_map(|p| relative_ack(&p.seg))
            .max(),
    }
}

impl Outcome {
    /// How `self` (the replay) differs from `recorded`, one sentence per
    /// difference; empty when they agree.
    pub fn differences(&self, recorded: &Outcome) -> Vec<String> {
        let mut found = Vec::new();
        let mut differ = |what: &str, replayed: String, expected: String| {
            if replayed != expected {
                found.push(format!("{what}: {replayed}, the recorded stack {expected}"));
            }
        };
        differ(
            "first answer",
            self.first_answer.clone(),
            recorded.first_answer.clone(),
        );
        let rst = |sent: bool| if sent { "sent RST" } else { "sent no RST" }.to_string();
        differ("reset", rst(self.sent_rst), rst(recorded.sent_rst));
        let fin = |seq: Option<u32>| seq.map_or("no FIN".into(), |s| format!("FIN at seq={s}"));
        differ("FIN", fin(self.fin_seq), fin(recorded.fin_seq));
        let order = |first: Option<bool>| match first {
            Some(true) => "closed first".to_string(),
            Some(false) => "closed second".to_string(),
            None => "did not close".to_string(),
        };
        differ(
            "close order",
            order(self.fin_before_peer_fin),
            order(recorded.fin_before_peer_fin),
        );
        let ack = |ack: Option<u32>| ack.map_or("no ACK".into(), |a| format!("ack={a}"));
        differ(
            "last acknowledgement",
            ack(self.final_ack),
            ack(recorded.final_ack),
        );
        found
    }
}

/// The first segment of `emitted` whose payload differs from `expected`
/// (the recorded stack's stream) at the same offset, as a sentence.
pub fn first_wrong_payload(emitted: &[Placed], expected: &[u8]) -> Option<String> {
    let isn = isn_of(emitted)?;
    emitted.iter().find_map(|placed| {
        let offset = placed.seg.seq.wrapping_sub(isn).wrapping_sub(1) as usize;
        let payload = &placed.seg.payload;
        let want = expected.get(offset..offset + payload.len());
        (!payload.is_empty() && want != Some(&payload[..])).then(|| {
            format!(
                "the segment sent after capture packet #{} carries stream bytes {}..{} that differ from what the recorded stack sent there",
                placed.position.saturating_sub(1),
                offset,
                offset + payload.len()
            )
        })
    })
}
