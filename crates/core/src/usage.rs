//! Token, time and cost usage of a task.

use crate::money::Micros;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// What a task has consumed so far (or in total once it ends).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens sent to the planner model.
    pub prompt_tokens: u64,
    /// Tokens the planner model produced.
    pub completion_tokens: u64,
    /// Working time of the task in milliseconds (excludes pauses).
    pub working_ms: u64,
    /// Cost so far.
    pub cost: Micros,
    /// Planner steps taken.
    pub steps: u32,
}

impl Usage {
    /// The wire form of spec §4, including the camelCase pair WebRun's TASK_TIMEOUT example uses.
    pub fn to_wire(&self) -> Value {
        json!({
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "completion_time": self.working_ms as f64 / 1000.0,
            "cost": self.cost.dollars(),
            "inputTokens": self.prompt_tokens,
            "outputTokens": self.completion_tokens,
            "steps": self.steps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_mirrors_token_counts_in_both_spellings() {
        let usage = Usage {
            prompt_tokens: 25000,
            completion_tokens: 8000,
            working_ms: 1500,
            cost: Micros(24_500),
            steps: 3,
        };
        let wire = usage.to_wire();
        assert_eq!(wire["total_tokens"], 33000);
        assert_eq!(wire["inputTokens"], 25000);
        assert_eq!(wire["outputTokens"], 8000);
        assert_eq!(wire["completion_time"], 1.5);
        assert_eq!(wire["cost"], 0.0245);
    }
}
