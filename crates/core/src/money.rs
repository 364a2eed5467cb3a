//! Money as integer micro-dollars, and the operator's price table.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount of money in millionths of a US dollar. Integer so that balances never drift.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Micros(pub i64);

impl Micros {
    /// Zero dollars.
    pub const ZERO: Micros = Micros(0);

    /// Converts dollars (as given on the command line or in config) to micro-dollars, rounding.
    pub fn from_dollars(dollars: f64) -> Micros {
        Micros((dollars * 1_000_000.0).round() as i64)
    }

    /// The amount in dollars, for the wire.
    pub fn dollars(self) -> f64 {
        self.0 as f64 / 1_000_000.0
    }

    /// Sum that saturates instead of overflowing.
    pub fn saturating_add(self, other: Micros) -> Micros {
        Micros(self.0.saturating_add(other.0))
    }
}

impl fmt::Display for Micros {
    /// `$0.50` style, as WebRun's INSUFFICIENT_BALANCE message shows.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${:.2}", self.dollars())
    }
}

/// Prices used for `usage.cost`, reservations and settlement. All zero by default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prices {
    /// Price of one million prompt tokens.
    pub input_per_million_tokens: Micros,
    /// Price of one million completion tokens.
    pub output_per_million_tokens: Micros,
    /// Price of one minute of active browser time.
    pub per_browser_minute: Micros,
}

impl Prices {
    /// `tokens × input price + tokens × output price + browser minutes × minute price`, rounded up
    /// to whole micro-dollars so that many small tasks never round to free.
    pub fn cost(&self, prompt_tokens: u64, completion_tokens: u64, browser_ms: u64) -> Micros {
        let tokens = |n: u64, per_million: Micros| -> i128 {
            ceil_div(n as i128 * per_million.0 as i128, 1_000_000)
        };
        let minutes = ceil_div(
            browser_ms as i128 * self.per_browser_minute.0 as i128,
            60_000,
        );
        let total = tokens(prompt_tokens, self.input_per_million_tokens)
            + tokens(completion_tokens, self.output_per_million_tokens)
            + minutes;
        Micros(total.clamp(0, i64::MAX as i128) as i64)
    }
}

fn ceil_div(a: i128, b: i128) -> i128 {
    if a <= 0 { 0 } else { (a + b - 1) / b }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_two_decimals_like_webrun() {
        assert_eq!(Micros::from_dollars(0.5).to_string(), "$0.50");
        assert_eq!(Micros::from_dollars(2.0).to_string(), "$2.00");
    }

    #[test]
    fn cost_sums_tokens_and_minutes() {
        let prices = Prices {
            input_per_million_tokens: Micros::from_dollars(1.0),
            output_per_million_tokens: Micros::from_dollars(2.0),
            per_browser_minute: Micros::from_dollars(0.06),
        };
        // 1M in = $1, 0.5M out = $1, 5 minutes = $0.30
        assert_eq!(prices.cost(1_000_000, 500_000, 300_000), Micros(2_300_000));
        assert_eq!(Prices::default().cost(10, 10, 10), Micros::ZERO);
    }
}
