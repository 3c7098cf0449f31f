/**
 * The workspace as an ARIA tree (one tab stop; arrows move, Right/Left open and close folders,
 * Enter opens a file, Home/End jump). Rendered flat with `aria-level`, `aria-setsize` and
 * `aria-posinset`, which assistive technology reads like nested groups.
 */
import { type KeyboardEvent, useEffect, useRef, useState } from "react";
import type { FileEntry } from "./filesApi";
import { parentOf } from "./paths";
import type { DirMap } from "./useFileTree";

type Row =
  | { type: "entry"; entry: FileEntry; level: number; setSize: number; posInSet: number }
  | { type: "note"; key: string; level: number; text: string; error: boolean };

/** The rows on screen: expanded folders' children follow them. */
export function visibleRows(dirs: DirMap, expanded: ReadonlySet<string>): Row[] {
  const rows: Row[] = [];
  const walk = (dir: string, level: number) => {
    const state = dirs.get(dir);
    if (!state) return;
    if (state.entries.length === 0) {
      if (state.status === "loading") rows.push({ type: "note", key: `${dir}:loading`, level, text: "Loading…", error: false });
      else if (state.status === "loaded" && dir !== "")
        rows.push({ type: "note", key: `${dir}:empty`, level, text: "Empty folder", error: false });
    }
    state.entries.forEach((entry, index) => {
      rows.push({ type: "entry", entry, level, setSize: state.entries.length, posInSet: index + 1 });
      if (entry.kind === "dir" && expanded.has(entry.path)) walk(entry.path, level + 1);
    });
    if (state.status === "error")
      rows.push({
        type: "note",
        key: `${dir}:error`,
        level,
        text: `Could not list this folder: ${state.error?.message ?? "error"}`,
        error: true,
      });
    if (state.truncated)
      rows.push({ type: "note", key: `${dir}:truncated`, level, text: "More entries are not shown.", error: false });
  };
  walk("", 1);
  return rows;
}

export interface FileTreeProps {
  dirs: DirMap;
  expanded: ReadonlySet<string>;
  /** The selected path (the target of the toolbar's actions). */
  selected: string | null;
  /** The file open in the editor, marked in the tree. */
  openPath: string | null;
  onSelect: (entry: FileEntry) => void;
  onExpand: (path: string) => void;
  onCollapse: (path: string) => void;
  onOpen: (entry: FileEntry) => void;
}

function icon(entry: FileEntry, open: boolean): string {
  if (entry.kind === "dir") return open ? "▾" : "▸";
  if (entry.kind === "symlink") return "↪";
  return "·";
}

export function FileTree({ dirs, expanded, selected, openPath, onSelect, onExpand, onCollapse, onOpen }: FileTreeProps) {
  const rows = visibleRows(dirs, expanded);
  const entries = rows.flatMap((r) => (r.type === "entry" ? [r.entry] : []));
  const [focused, setFocused] = useState<string | null>(null);
  const itemRefs = useRef(new Map<string, HTMLLIElement>());
  const wantFocus = useRef(false);
  // The tab stop: the focused item if still shown, else the selection, else the first item.
  const current =
    [focused, selected].find((p) => p !== null && entries.some((e) => e.path === p)) ?? entries[0]?.path ?? null;

  useEffect(() => {
    if (wantFocus.current && current) {
      wantFocus.current = false;
      itemRefs.current.get(current)?.focus();
    }
  });

  function moveTo(entry: FileEntry | undefined) {
    if (!entry) return;
    wantFocus.current = true;
    setFocused(entry.path);
    onSelect(entry);
  }

  function onKeyDown(event: KeyboardEvent<HTMLLIElement>, entry: FileEntry) {
    const index = entries.findIndex((e) => e.path === entry.path);
    const isDir = entry.kind === "dir";
    const isOpen = isDir && expanded.has(entry.path);
    switch (event.key) {
      case "ArrowDown":
        moveTo(entries[index + 1]);
        break;
      case "ArrowUp":
        moveTo(entries[index - 1]);
        break;
      case "Home":
        moveTo(entries[0]);
        break;
      case "End":
        moveTo(entries[entries.length - 1]);
        break;
      case "ArrowRight":
        if (isDir && !isOpen) onExpand(entry.path);
        else if (isOpen) {
          const child = entries[index + 1];
          if (child && parentOf(child.path) === entry.path) moveTo(child);
        }
        break;
      case "ArrowLeft":
        if (isOpen) onCollapse(entry.path);
        else {
          const parent = parentOf(entry.path);
          if (parent) moveTo(entries.find((e) => e.path === parent));
        }
        break;
      case "Enter":
      case " ":
        if (isDir) {
          if (isOpen) onCollapse(entry.path);
          else onExpand(entry.path);
        } else onOpen(entry);
        break;
      default:
        return;
    }
    event.preventDefault();
    event.stopPropagation();
  }

  if (!dirs.get("")) return null;
  if (rows.length === 0) return <p className="muted file-tree-empty">The workspace is empty.</p>;

  return (
    <ul role="tree" aria-label="Workspace files" className="file-tree">
      {rows.map((row) => {
        if (row.type === "note") {
          return (
            <li
              key={row.key}
              role="none"
              className={row.error ? "file-tree-note error" : "file-tree-note"}
              style={{ paddingLeft: `${row.level * 0.9 + 0.4}rem` }}
            >
              {row.text}
            </li>
          );
        }
        const { entry } = row;
        const isDir = entry.kind === "dir";
        const isOpen = isDir && expanded.has(entry.path);
        const className = [
          "file-tree-item",
          entry.path === selected ? "selected" : "",
          entry.path === openPath ? "open" : "",
        ]
          .filter(Boolean)
          .join(" ");
        return (
          <li
            key={entry.path}
            ref={(el) => {
              if (el) itemRefs.current.set(entry.path, el);
              else itemRefs.current.delete(entry.path);
            }}
            role="treeitem"
            aria-level={row.level}
            aria-setsize={row.setSize}
            aria-posinset={row.posInSet}
            aria-expanded={isDir ? isOpen : undefined}
            aria-selected={entry.path === selected}
            aria-current={entry.path === openPath ? "true" : undefined}
            tabIndex={entry.path === current ? 0 : -1}
            className={className}
            style={{ paddingLeft: `${(row.level - 1) * 0.9 + 0.4}rem` }}
            onKeyDown={(e) => onKeyDown(e, entry)}
            onFocus={(e) => {
              if (e.target === e.currentTarget) setFocused(entry.path);
            }}
            onClick={() => {
              setFocused(entry.path);
              onSelect(entry);
              if (isDir) {
                if (isOpen) onCollapse(entry.path);
                else onExpand(entry.path);
              } else onOpen(entry);
            }}
          >
            <span className="file-tree-icon" aria-hidden="true">
              {icon(entry, isOpen)}
            </span>
            <span className="file-tree-name">{entry.name}</span>
            {entry.kind === "symlink" ? <span className="visually-hidden"> (symbolic link)</span> : null}
          </li>
        );
      })}
    </ul>
  );
}
