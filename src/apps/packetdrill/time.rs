//! The time column resolved against what happened: when an event is due
//! and, for a packet the stack must send, the window it may arrive in.
//!
//! packetdrill's rules: a relative time counts from when the previous event
//! actually happened; an outbound packet may be off by the tolerance
//! (`--tolerance_usecs`), or by an eighth of the gap since the previous
//! event when that is larger (timers scale with what they wait for).

use super::script::{TimePoint, TimeSpec};

/// When an event may happen, in microseconds of virtual time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// When the script says it happens (inbound packets and calls run then).
    pub nominal: i64,
    pub earliest: i64,
    pub latest: i64,
}

/// An eighth of the gap: packetdrill's percentage tolerance (12.5%).
const GAP_TOLERANCE_DIVISOR: i64 = 8;

fn resolve(point: TimePoint, previous: i64) -> i64 {
    match point {
        TimePoint::Absolute(at) => at,
        TimePoint::Relative(after) => previous + after,
    }
}

fn tolerance(nominal: i64, previous: i64, tolerance: i64) -> i64 {
    tolerance.max((nominal - previous).abs() / GAP_TOLERANCE_DIVISOR)
}

/// The window of `spec` after an event that happened at `previous`.
pub fn window(spec: TimeSpec, previous: i64, tolerance_micros: i64) -> Window {
    let around = |nominal: i64| {
        let slack = tolerance(nominal, previous, tolerance_micros);
        Window {
            nominal,
            earliest: nominal - slack,
            latest: nominal + slack,
        }
    };
    match spec {
        TimeSpec::Absolute(at) => around(at),
        TimeSpec::Relative(after) => around(previous + after),
        TimeSpec::Any => Window {
            nominal: previous,
            earliest: previous,
            latest: i64::MAX,
        },
        TimeSpec::Range { low, high } => {
            let (low, high) = (resolve(low, previous), resolve(high, previous));
            Window {
                nominal: low,
                earliest: low - tolerance_micros,
                latest: high + tolerance_micros,
            }
        }
        TimeSpec::Blocking { start, .. } => around(resolve(start, previous)),
    }
}

/// For a blocking call (`start...end`): the window it must return in.
pub fn return_window(spec: TimeSpec, previous: i64, tolerance_micros: i64) -> Option<Window> {
    let TimeSpec::Blocking { start, end } = spec else {
        return None;
    };
    let start = resolve(start, previous);
    // The end of `+0...+0.2` counts from the start.
    let end = resolve(end, start);
    let slack = tolerance(end, start, tolerance_micros);
    Some(Window {
        nominal: end,
        earliest: end - slack,
        latest: end + slack,
    })
}

/// Seconds for messages: "1.250".
pub fn seconds(micros: i64) -> String {
    format!("{:.3}", micros as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_count_from_the_previous_event_with_the_larger_tolerance() {
        let w = window(TimeSpec::Relative(100_000), 1_000_000, 75_000);
        assert_eq!(
            (w.nominal, w.earliest, w.latest),
            (1_100_000, 1_025_000, 1_175_000)
        );
        // A 3 s timer: an eighth of the gap (375 ms) beats 75 ms.
        let w = window(TimeSpec::Relative(3_000_000), 0, 75_000);
        assert_eq!((w.earliest, w.latest), (2_625_000, 3_375_000));
    }

    #[test]
    fn any_range_and_blocking_windows() {
        assert_eq!(window(TimeSpec::Any, 5, 1).latest, i64::MAX);
        let range = TimeSpec::Range {
            low: TimePoint::Relative(100),
            high: TimePoint::Relative(300),
        };
        let w = window(range, 1000, 10);
        assert_eq!((w.earliest, w.latest), (1090, 1310));
        let blocking = TimeSpec::Blocking {
            start: TimePoint::Absolute(100_000),
            end: TimePoint::Absolute(200_000),
        };
        assert_eq!(window(blocking, 0, 4000).nominal, 100_000);
        assert_eq!(return_window(blocking, 0, 4000).unwrap().nominal, 200_000);
        assert_eq!(return_window(TimeSpec::Any, 0, 1), None);
    }
}
