//! Every place where a script is compared loosely by default, in one list.
//!
//! A script shows the values its author's stack chose. Where the RFCs leave
//! a value to the implementation, a different choice is not a defect, so
//! by default it is not a failure either. `--strict` turns every loosening
//! off and compares what the script shows exactly.

/// One thing compared loosely unless `--strict`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loosening {
    /// The advertised window: its size is a stack's own choice (buffer
    /// size, rounding to the MSS, RFC 9293 §3.8.6.2.2 SWS avoidance), so
    /// only "zero" against "open" is compared.
    WindowValue,
    /// TCP options: their order and NOP/EOL padding are the sender's choice
    /// (RFC 9293 §3.2), so options are compared as a set.
    OptionLayout,
    /// The Window Scale shift: it follows the receive buffer each stack
    /// picks (RFC 7323 §2.3); only its presence is compared.
    WindowScaleShift,
    /// PSH: RFC 9293 §3.9.1 lets a sender set it where it likes (FreeBSD
    /// sets it on the last segment of a write, we on every data segment).
    PushFlag,
    /// Buffer sizes from getsockopt (SO_RCVBUF, SO_SNDBUF): each stack sizes
    /// and rounds its buffers its own way.
    BufferSizes,
}

/// Which comparisons are loosened for a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Strictness {
    pub strict: bool,
}

impl Strictness {
    /// True when `loosening` applies: the value is not compared exactly.
    pub fn loosens(self, loosening: Loosening) -> bool {
        match loosening {
            Loosening::WindowValue
            | Loosening::OptionLayout
            | Loosening::WindowScaleShift
            | Loosening::PushFlag
            | Loosening::BufferSizes => !self.strict,
        }
    }
}
