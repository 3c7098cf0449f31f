/**
 * Header indicator of the current usage block: tokens, cost and time left at a glance, the rest
 * (burn rate, cost per hour, window) in a popover. Refreshes every minute while visible; hides
 * itself when the api has no such endpoint or the call fails (it is a convenience, not a page).
 */
import { useCallback, useId, useState } from "react";
import { Link } from "react-router";
import { ApiError, isAbortError } from "../../api/client";
import { Time } from "../../components/Time";
import { usePopover } from "../../lib/usePopover";
import { useApi } from "../auth";
import { useVisiblePolling } from "../polling";
import {
  type UsageBlock,
  fetchUsageBlock,
  formatBurnRate,
  formatTimeLeft,
  formatTokens,
  formatTokensFull,
  formatUsd,
  summarizeBlock,
} from "./usageBlock";
import "./usage-block.css";

export const USAGE_POLL_MS = 60_000;

type State = { kind: "loading" } | { kind: "hidden"; missing: boolean } | { kind: "ready"; block: UsageBlock };

export function UsageBlockIndicator() {
  const client = useApi();
  const [state, setState] = useState<State>({ kind: "loading" });
  // Escape and focus leaving close it; a press outside does not (unlike the account menu), which
  // keeps the behaviour this indicator has always had. Drop the option to align the two.
  const { open, setOpen, toggle, buttonRef, rootProps } = usePopover({ closeOnPointerDownOutside: false });
  const panelId = useId();

  const load = useCallback(() => {
    fetchUsageBlock(client).then(
      (block) => {
        setState({ kind: "ready", block });
      },
      (e: unknown) => {
        if (isAbortError(e)) return;
        setState({ kind: "hidden", missing: e instanceof ApiError && e.status === 404 });
      },
    );
  }, [client]);

  // An api without the endpoint (404) will not grow one until it is upgraded: stop asking.
  const missing = state.kind === "hidden" && state.missing;
  useVisiblePolling(load, USAGE_POLL_MS, !missing);

  if (state.kind !== "ready") return null;
  const { block } = state;
  const summary = summarizeBlock(block);

  return (
    <div className="usage-block" {...rootProps}>
      <button
        ref={buttonRef}
        type="button"
        className="usage-block-button"
        aria-expanded={open}
        aria-controls={panelId}
        aria-label={`${summary.label}. Details`}
        title={summary.label}
        onClick={toggle}
      >
        {block.active ? (
          <>
            <span className="usage-block-tokens">{formatTokens(block.total_tokens)}</span>
            <span className="usage-block-cost">{formatUsd(block.cost_usd)}</span>
            <span className="usage-block-left">{formatTimeLeft(block.time_left_secs)}</span>
          </>
        ) : (
          <span>{summary.text}</span>
        )}
      </button>
      <div id={panelId} className="usage-block-panel" hidden={!open}>
        <p className="usage-block-title">Current usage block</p>
        {block.active ? (
          <dl className="usage-block-facts">
            <dt>Tokens</dt>
            <dd>
              {formatTokensFull(block.total_tokens)}
              <span className="muted small">
                {" "}
                ({formatTokensFull(block.input_tokens)} in, {formatTokensFull(block.output_tokens)} out)
              </span>
            </dd>
            <dt>Cost</dt>
            <dd>{formatUsd(block.cost_usd)}</dd>
            <dt>Model calls</dt>
            <dd>{formatTokensFull(block.model_calls)}</dd>
            <dt>Burn rate</dt>
            <dd>{formatBurnRate(block.burn_rate_tokens_per_minute)}</dd>
            <dt>Cost per hour</dt>
            <dd>{block.cost_per_hour_usd === null ? "—" : `${formatUsd(block.cost_per_hour_usd)}/h`}</dd>
            <dt>Time left</dt>
            <dd>{formatTimeLeft(block.time_left_secs)}</dd>
            <dt>Window</dt>
            <dd>
              <Time value={block.started_at} /> – <Time value={block.ends_at} />
            </dd>
          </dl>
        ) : (
          <p className="muted">No active block: a new one starts with your next request to Claude.</p>
        )}
        <Link
          to="/usage"
          className="usage-block-more"
          onClick={() => {
            setOpen(false);
          }}
        >
          Usage details
        </Link>
      </div>
    </div>
  );
}
