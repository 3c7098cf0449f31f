/**
 * Deciding a permission request (`POST /api/v1/approvals/{id}/decision`), shared by the
 * approvals page and the inline cards of the chat view.
 */
import { ApiError, type ApiClient, unwrap } from "../../api/client";
import type { Schemas } from "../../api/client";

export type Approval = Schemas["Approval"];
export type Decision = Schemas["Decision"];
export type AlwaysScope = Schemas["AlwaysScope"];
export type DecideBody = Schemas["Decide"];

/** What became of a decision attempt, as the card reports it to its parent. */
export type DecisionOutcome =
  | { kind: "decided"; decision: Decision; approval: Approval }
  /** Someone (another tab, a link, the timeout) decided first: the api answered 409. */
  | { kind: "already_decided" };

/**
 * The request body for a button press. `scope` goes with "always" only (the api ignores it
 * otherwise), and an empty message is left out so the api's default deny message is used.
 */
export function decisionBody(decision: Decision, message: string, scope: AlwaysScope): DecideBody {
  const body: DecideBody = { decision };
  const trimmed = message.trim();
  if (trimmed) body.message = trimmed;
  if (decision === "always") body.scope = scope;
  return body;
}

/** Posts the decision; a 409 resolves to `already_decided`, other failures throw ApiError. */
export async function decideApproval(
  client: ApiClient,
  approvalId: string,
  body: DecideBody,
): Promise<DecisionOutcome> {
  try {
    const approval = await unwrap(
      client.POST("/api/v1/approvals/{id}/decision", { params: { path: { id: approvalId } }, body }),
    );
    return { kind: "decided", decision: body.decision, approval };
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) return { kind: "already_decided" };
    throw error;
  }
}
