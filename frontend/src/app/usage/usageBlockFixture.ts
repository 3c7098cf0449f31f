import type { UsageBlock } from "./usageBlock";

/**
 * An active usage block for tests of the indicator and its formatting. Time left is not defaulted:
 * each test names it, since its assertions read it back.
 */
export function makeUsageBlock(overrides: Partial<UsageBlock> & Pick<UsageBlock, "time_left_secs">): UsageBlock {
  return {
    active: true,
    started_at: "2025-01-02T10:00:00Z",
    ends_at: "2025-01-02T15:00:00Z",
    total_tokens: 1_234_567,
    input_tokens: 1_000_000,
    output_tokens: 234_567,
    cost_usd: 3.456,
    model_calls: 42,
    burn_rate_tokens_per_minute: 12_345,
    cost_per_hour_usd: 1.2,
    ...overrides,
  };
}
