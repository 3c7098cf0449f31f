/**
 * The current user's usage block (`GET /api/v1/usage/block`): Claude's 5-hour billing window,
 * what it used so far and how fast. The endpoint is newer than the generated client, so its
 * shape is declared here; once `schema.d.ts` has it, these types can point there.
 */
import type { Client } from "openapi-fetch";
import { type ApiClient, unwrap } from "../../api/client";

export interface UsageBlock {
  active: boolean;
  started_at: string | null;
  ends_at: string | null;
  total_tokens: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  model_calls: number;
  burn_rate_tokens_per_minute: number | null;
  cost_per_hour_usd: number | null;
  time_left_secs: number | null;
}

interface JsonResponse<T> {
  headers: Record<string, unknown>;
  content: { "application/json": T };
}

/** openapi-fetch description of the endpoint, so calls go through the app's client (headers, 401). */
interface UsageBlockPaths {
  "/api/v1/usage/block": {
    parameters: { query?: never; header?: never; path?: never; cookie?: never };
    get: {
      parameters: { query?: never; header?: never; path?: never; cookie?: never };
      requestBody?: never;
      responses: { 200: JsonResponse<UsageBlock>; 404: JsonResponse<unknown> };
    };
  };
}

export async function fetchUsageBlock(client: ApiClient, signal?: AbortSignal): Promise<UsageBlock> {
  const typed = client as unknown as Client<UsageBlockPaths>;
  return unwrap(typed.GET("/api/v1/usage/block", { signal }));
}

const compact = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 1 });
const full = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const usd = new Intl.NumberFormat("en", { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** 1234567 → "1.2M"; 950 → "950". */
export function formatTokens(tokens: number): string {
  return compact.format(tokens);
}

export function formatTokensFull(tokens: number): string {
  return full.format(tokens);
}

/** Dollars with cents; amounts under a cent show as "<$0.01" rather than a misleading $0.00. */
export function formatUsd(amount: number): string {
  if (amount > 0 && amount < 0.005) return "<$0.01";
  return usd.format(amount);
}

/** Seconds left as "2 h 05 min", "45 min" or "<1 min". */
export function formatTimeLeft(seconds: number | null): string {
  if (seconds === null || seconds <= 0) return "0 min";
  const minutes = Math.floor(seconds / 60);
  if (minutes < 1) return "<1 min";
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h > 0 ? `${h} h ${String(m).padStart(2, "0")} min` : `${m} min`;
}

export function formatBurnRate(tokensPerMinute: number | null): string {
  return tokensPerMinute === null ? "—" : `${compact.format(tokensPerMinute)} tokens/min`;
}

/** The header's one-line summary and its spoken form. */
export function summarizeBlock(block: UsageBlock): { text: string; label: string } {
  if (!block.active) return { text: "Idle", label: "Usage block: none active" };
  const tokens = formatTokens(block.total_tokens);
  const cost = formatUsd(block.cost_usd);
  const left = formatTimeLeft(block.time_left_secs);
  return {
    text: `${tokens} · ${cost} · ${left}`,
    label: `Usage block: ${tokens} tokens, ${cost}, ${left} left`,
  };
}
