//! What an [`ImpairedDevice`](super::ImpairedDevice) does to packets: the
//! [`Impairment`] and its one-line spec, `loss=5%,dup=1%,reorder=5%,corrupt=0.1%,seed=42`,
//! optionally limited to one direction with `dir=inbound` or `dir=outbound`.
//!
//! Rates are percentages and the `%` sign is required. A bare number is
//! refused rather than guessed at: `loss=0.05` could mean 5% (a fraction)
//! or 0.05% (a percentage without its sign), and a test run with the wrong
//! one looks fine while testing something else.

use std::fmt;
use std::str::FromStr;

/// The seed used when a spec names none. Fixed, so that a run can always
/// be repeated exactly: the spec alone says what happened to which packet.
pub const DEFAULT_SEED: u64 = 1;

/// The chance of one kind of fault, from 0% to 100%.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd)]
pub struct Rate(f64);

impl Rate {
    /// Never.
    pub const ZERO: Rate = Rate(0.0);

    /// `percent` must be from 0 to 100; anything else (NaN too) is `None`.
    pub fn from_percent(percent: f64) -> Option<Rate> {
        (0.0..=100.0).contains(&percent).then_some(Rate(percent))
    }

    pub fn percent(self) -> f64 {
        self.0
    }

    /// The same rate as a probability from 0 to 1.
    pub fn probability(self) -> f64 {
        self.0 / 100.0
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0.0
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `{}` on f64 prints the shortest text that parses back to the
        // same number: 5 for 5.0, 0.1 for 0.1.
        write!(f, "{}%", self.0)
    }
}

/// Which packets are impaired, seen from the stack: inbound ones come from
/// the device (the kernel) to the engine, outbound ones go the other way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Direction {
    #[default]
    Both,
    Inbound,
    Outbound,
}

impl Direction {
    /// Whether packets going `way` are impaired.
    pub fn includes(self, way: Direction) -> bool {
        self == Direction::Both || self == way
    }

    fn name(self) -> &'static str {
        match self {
            Direction::Both => "both",
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// Which faults to inject, how often, and from which seed. Each rate
/// applies to every packet, in each impaired direction separately.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Impairment {
    /// The packet vanishes.
    pub loss: Rate,
    /// The packet is delivered twice, back to back.
    pub duplicate: Rate,
    /// The packet is held back and delivered after the next one.
    pub reorder: Rate,
    /// One byte of the packet is flipped (its checksum no longer matches).
    pub corrupt: Rate,
    /// Seed of the generator that decides each packet's fate.
    pub seed: u64,
    /// Which way the faults apply; the other way passes untouched.
    /// `dir=inbound` is what netem on tun0 does (it impairs only what the
    /// kernel sends).
    pub direction: Direction,
}

impl Impairment {
    /// No faults at all.
    pub fn none() -> Impairment {
        Impairment {
            loss: Rate::ZERO,
            duplicate: Rate::ZERO,
            reorder: Rate::ZERO,
            corrupt: Rate::ZERO,
            seed: DEFAULT_SEED,
            direction: Direction::Both,
        }
    }

    /// The faults for packets going `way`: these, or none at all.
    pub fn toward(&self, way: Direction) -> Impairment {
        if self.direction.includes(way) {
            *self
        } else {
            Impairment {
                seed: self.seed,
                ..Impairment::none()
            }
        }
    }

    /// The spec keys with their rates, in the order specs are written.
    fn rates(&self) -> [(&'static str, Rate); 4] {
        [
            ("loss", self.loss),
            ("dup", self.duplicate),
            ("reorder", self.reorder),
            ("corrupt", self.corrupt),
        ]
    }
}

impl Default for Impairment {
    fn default() -> Impairment {
        Impairment::none()
    }
}

/// Prints the spec that parses back to the same impairment: the non-zero
/// rates, then the seed (always, so a logged spec is enough to repeat a
/// run), then the direction unless it is both.
impl fmt::Display for Impairment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (key, rate) in self.rates() {
            if !rate.is_zero() {
                write!(f, "{key}={rate},")?;
            }
        }
        write!(f, "seed={}", self.seed)?;
        if self.direction != Direction::Both {
            write!(f, ",dir={}", self.direction.name())?;
        }
        Ok(())
    }
}

/// Why a spec was refused, as a sentence for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError(String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

const EXAMPLE: &str = "loss=5%,dup=1%,reorder=5%,corrupt=0.1%,seed=42";
const KEYS: &str = "loss, dup, reorder, corrupt, seed or dir";

impl FromStr for Impairment {
    type Err = SpecError;

    /// Parses `KEY=VALUE` items separated by commas, each key at most once,
    /// in any order; keys not given stay at zero (seed: [`DEFAULT_SEED`],
    /// dir: both).
    fn from_str(spec: &str) -> Result<Impairment, SpecError> {
        let fail = |why: String| Err(SpecError(format!("bad impairment '{spec}': {why}")));
        if spec.trim().is_empty() {
            return fail(format!("it is empty; write e.g. {EXAMPLE}"));
        }
        let mut impairment = Impairment::none();
        let mut seen: Vec<&str> = Vec::new();
        for item in spec.split(',').map(str::trim) {
            let Some((key, value)) = item.split_once('=') else {
                return fail(format!("'{item}' is not KEY=VALUE; write e.g. {EXAMPLE}"));
            };
            let (key, value) = (key.trim(), value.trim());
            if seen.contains(&key) {
                return fail(format!("'{key}' is given twice"));
            }
            seen.push(key);
            let result = match key {
                "loss" => parse_rate(key, value).map(|rate| impairment.loss = rate),
                "dup" => parse_rate(key, value).map(|rate| impairment.duplicate = rate),
                "reorder" => parse_rate(key, value).map(|rate| impairment.reorder = rate),
                "corrupt" => parse_rate(key, value).map(|rate| impairment.corrupt = rate),
                "seed" => parse_seed(value).map(|seed| impairment.seed = seed),
                "dir" => parse_direction(value).map(|way| impairment.direction = way),
                _ => Err(format!("unknown key '{key}'; the keys are {KEYS}")),
            };
            if let Err(why) = result {
                return fail(why);
            }
        }
        Ok(impairment)
    }
}

fn parse_rate(key: &str, value: &str) -> Result<Rate, String> {
    let Some(number) = value.strip_suffix('%') else {
        return Err(format!(
            "{key}={value}: write the rate as a percentage with its % sign, e.g. {key}=5%"
        ));
    };
    let percent: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{key}={value}: '{number}' is not a number"))?;
    Rate::from_percent(percent)
        .ok_or_else(|| format!("{key}={value}: a rate must be from 0% to 100%"))
}

fn parse_seed(value: &str) -> Result<u64, String> {
    value.parse().map_err(|_| {
        format!(
            "seed={value}: the seed must be a whole number from 0 to {}",
            u64::MAX
        )
    })
}

fn parse_direction(value: &str) -> Result<Direction, String> {
    [Direction::Both, Direction::Inbound, Direction::Outbound]
        .into_iter()
        .find(|way| way.name() == value)
        .ok_or_else(|| format!("dir={value}: the direction must be inbound, outbound or both"))
}
