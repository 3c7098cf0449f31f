import { describe, expect, it } from "vitest";
import {
  formatBurnRate,
  formatTimeLeft,
  formatTokens,
  formatUsd,
  summarizeBlock,
} from "./usageBlock";
import { makeUsageBlock } from "./usageBlockFixture";

const ACTIVE = makeUsageBlock({ time_left_secs: 2 * 3600 + 5 * 60 + 30 });

describe("usage block formatting", () => {
  it("shortens token counts", () => {
    expect(formatTokens(950)).toBe("950");
    expect(formatTokens(12_345)).toBe("12.3K");
    expect(formatTokens(1_234_567)).toBe("1.2M");
  });

  it("shows cents, and tiny amounts as under a cent", () => {
    expect(formatUsd(3.456)).toBe("$3.46");
    expect(formatUsd(0)).toBe("$0.00");
    expect(formatUsd(0.001)).toBe("<$0.01");
  });

  it("shows time left in hours and minutes", () => {
    expect(formatTimeLeft(2 * 3600 + 5 * 60 + 59)).toBe("2 h 05 min");
    expect(formatTimeLeft(45 * 60)).toBe("45 min");
    expect(formatTimeLeft(30)).toBe("<1 min");
    expect(formatTimeLeft(0)).toBe("0 min");
    expect(formatTimeLeft(null)).toBe("0 min");
  });

  it("shows the burn rate per minute", () => {
    expect(formatBurnRate(12_345)).toBe("12.3K tokens/min");
    expect(formatBurnRate(null)).toBe("—");
  });

  it("summarises an active block and an idle one", () => {
    expect(summarizeBlock(ACTIVE)).toEqual({
      text: "1.2M · $3.46 · 2 h 05 min",
      label: "Usage block: 1.2M tokens, $3.46, 2 h 05 min left",
    });
    expect(summarizeBlock({ ...ACTIVE, active: false }).text).toBe("Idle");
  });
});
