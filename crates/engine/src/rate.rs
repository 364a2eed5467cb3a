//! Per-account rate limiting of the three /start endpoints (GCRA via `governor`): a limit of N
//! per minute allows a burst of N, then one more every 60/N seconds.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use wayfarer_core::{AccountId, Error};

/// Limiters by account, rebuilt when an account's limit changes (the CLI can change it while
/// the server runs).
#[derive(Default)]
pub(crate) struct RateLimits {
    limiters: Mutex<HashMap<AccountId, (u32, Arc<DefaultDirectRateLimiter>)>>,
}

impl RateLimits {
    /// Counts one request; `RATE_LIMIT_EXCEEDED` with a `Retry-After` when over the limit.
    /// `per_minute` of `None` or 0 means unlimited.
    pub(crate) fn check(&self, account: &AccountId, per_minute: Option<u32>) -> Result<(), Error> {
        let Some(limit) = per_minute.and_then(NonZeroU32::new) else {
            return Ok(());
        };
        let limiter = {
            let mut map = self.limiters.lock().unwrap_or_else(|p| p.into_inner());
            let entry = map.entry(account.clone()).or_insert_with(|| {
                (
                    limit.get(),
                    Arc::new(RateLimiter::direct(Quota::per_minute(limit))),
                )
            });
            if entry.0 != limit.get() {
                *entry = (
                    limit.get(),
                    Arc::new(RateLimiter::direct(Quota::per_minute(limit))),
                );
            }
            entry.1.clone()
        };
        limiter.check().map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            Error::RateLimitExceeded {
                retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eleventh_request_in_a_minute_is_refused() {
        let limits = RateLimits::default();
        let acc = AccountId::from_string("a");
        for _ in 0..10 {
            limits.check(&acc, Some(10)).unwrap();
        }
        let err = limits.check(&acc, Some(10)).unwrap_err();
        assert!(err.retry_after_secs().unwrap() >= 1);
        // Unlimited accounts are never refused.
        for _ in 0..100 {
            limits.check(&acc, None).unwrap();
            limits.check(&acc, Some(0)).unwrap();
        }
    }
}
