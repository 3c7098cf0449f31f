/**
 * What the session view's tabs hand each other. The chat owns the live event stream (one
 * WebSocket per open session view); the Files tab gets what it needs from it through these
 * props, so it never opens a second stream.
 */
import type { Session } from "../../api/types";

/** A `file_changed` event as the Files tab needs it (live refresh of the tree and open files). */
export interface FileChangeNotice {
  /** The event's session sequence number: strictly increasing, never repeated. */
  seq: number;
  /** Workspace-relative path (the new name for a rename). */
  path: string;
  change: "created" | "modified" | "deleted" | "renamed";
  /** The old path of a rename. */
  from?: string;
  taskId: string | null;
}

/** One edit Claude made to one file, from its Edit / MultiEdit / Write tool calls. */
export interface FileEdit {
  /** The tool call's id, stable across replays. */
  toolUseId: string;
  tool: "Edit" | "MultiEdit" | "Write";
  /** The replaced text (Edit), or "" for Write (the previous content is not in the event). */
  before: string;
  /** The new text (Edit) or the whole written content (Write). */
  after: string;
  /** False once the tool result said is_error. */
  ok: boolean;
}

/** The files one turn (task) changed, in the order it touched them. */
export interface TurnFileChanges {
  taskId: string;
  /** The prompt's first line, for the turn picker. */
  title: string;
  files: { path: string; edits: FileEdit[] }[];
}

/** Props every tab of the session view receives. */
export interface SessionTabProps {
  session: Session;
  /** The caller may change this session (owner or admin): terminals, file writes, controls. */
  canWrite: boolean;
}

export interface FilesTabProps extends SessionTabProps {
  /** Every file_changed event seen so far in this view, oldest first. */
  fileChanges: readonly FileChangeNotice[];
  /** Per-turn edits, newest turn last. */
  turns: readonly TurnFileChanges[];
}
