//! What a response cost, from the configured per-model prices.

use crate::error::ProxyError;
use crate::usage::Usage;
use rc_config::ModelPrice;

#[derive(Debug, Clone)]
pub(crate) struct PriceList {
    prices: Vec<ModelPrice>,
}

impl PriceList {
    pub(crate) fn new(prices: &[ModelPrice]) -> Result<Self, ProxyError> {
        for price in prices {
            let all = [
                price.input,
                price.output,
                price.cache_write,
                price.cache_read,
            ];
            if all.iter().any(|p| !p.is_finite() || *p < 0.0) {
                return Err(ProxyError::InvalidPrice(price.model_prefix.clone()));
            }
        }
        Ok(Self {
            prices: prices.to_vec(),
        })
    }

    /// The first entry whose prefix starts `model`; the empty-prefix entry only when no named
    /// prefix matches, wherever it sits in the list, so it stays a fallback.
    pub(crate) fn price_for(&self, model: &str) -> Option<&ModelPrice> {
        self.prices
            .iter()
            .find(|p| !p.model_prefix.is_empty() && model.starts_with(&p.model_prefix))
            .or_else(|| self.prices.iter().find(|p| p.model_prefix.is_empty()))
    }

    /// Cost in millionths of a dollar; `None` when no price applies. Prices are dollars per
    /// million tokens, so tokens × price is already micro-dollars; the sum is rounded once.
    pub(crate) fn cost_micros(&self, model: &str, usage: &Usage) -> Option<i64> {
        let price = self.price_for(model)?;
        let micros = usage.input_tokens as f64 * price.input
            + usage.output_tokens as f64 * price.output
            + usage.cache_creation_tokens as f64 * price.cache_write
            + usage.cache_read_tokens as f64 * price.cache_read;
        // `as` saturates; no realistic response comes near i64::MAX micro-dollars.
        Some(micros.round() as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(prefix: &str, input: f64, output: f64) -> ModelPrice {
        ModelPrice {
            model_prefix: prefix.into(),
            input,
            output,
            cache_write: input * 1.25,
            cache_read: input / 10.0,
        }
    }

    fn usage(input: u64, output: u64, cache_write: u64, cache_read: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cache_creation_tokens: cache_write,
            cache_read_tokens: cache_read,
            ..Usage::default()
        }
    }

    #[test]
    fn first_matching_prefix_wins_and_empty_prefix_is_the_fallback() {
        let list = PriceList::new(&[
            price("", 1.0, 1.0),
            price("claude-opus", 5.0, 25.0),
            price("claude-opus-4", 15.0, 75.0),
        ])
        .expect("valid");
        assert_eq!(
            list.price_for("claude-opus-4-1").map(|p| p.input),
            Some(5.0)
        );
        assert_eq!(list.price_for("other-model").map(|p| p.input), Some(1.0));
        let no_fallback = PriceList::new(&[price("claude-opus", 5.0, 25.0)]).expect("valid");
        assert!(no_fallback.price_for("claude-haiku").is_none());
        assert!(no_fallback
            .cost_micros("claude-haiku", &usage(1, 1, 1, 1))
            .is_none());
    }

    #[test]
    fn cost_is_tokens_times_price_per_mtok_in_micro_dollars() {
        let list = PriceList::new(&[price("claude-sonnet", 3.0, 15.0)]).expect("valid");
        // 1000×3 + 200×15 + 400×3.75 + 10000×0.3 = 3000 + 3000 + 1500 + 3000
        assert_eq!(
            list.cost_micros("claude-sonnet-4-5", &usage(1000, 200, 400, 10_000)),
            Some(10_500)
        );
        // One million output tokens at $15/Mtok is $15.
        assert_eq!(
            list.cost_micros("claude-sonnet-4-5", &usage(0, 1_000_000, 0, 0)),
            Some(15_000_000)
        );
    }

    #[test]
    fn cost_is_rounded_to_the_nearest_micro_dollar() {
        let list = PriceList::new(&[price("m", 0.25, 1.25)]).expect("valid");
        // 3×0.25 = 0.75 → 1; 1×1.25 = 1.25 → 1; together 2.0.
        assert_eq!(list.cost_micros("m", &usage(3, 0, 0, 0)), Some(1));
        assert_eq!(list.cost_micros("m", &usage(0, 1, 0, 0)), Some(1));
        assert_eq!(list.cost_micros("m", &usage(3, 1, 0, 0)), Some(2));
    }

    #[test]
    fn negative_or_nan_prices_are_rejected() {
        assert!(PriceList::new(&[price("a", -1.0, 1.0)]).is_err());
        assert!(PriceList::new(&[price("a", f64::NAN, 1.0)]).is_err());
    }
}
