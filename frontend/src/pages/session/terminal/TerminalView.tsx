/**
 * One xterm.js terminal bound to one {@link TerminalConnection}. Mounted for as long as its
 * sub-tab exists (hidden when another is shown), so output keeps arriving in the background.
 */
import { FitAddon } from "@xterm/addon-fit";
import { type ITheme, Terminal } from "@xterm/xterm";
import "@xterm/xterm/css/xterm.css";
import { useEffect, useRef } from "react";
import type { Theme } from "../../../app/theme";
import { type ConnectionStatus, type Program, TerminalConnection, terminalUrl } from "./protocol";

/** The app's palette (styles.css) for the terminal; xterm draws on a canvas and cannot use CSS variables. */
const THEMES: Record<Theme, ITheme> = {
  light: {
    background: "#ffffff",
    foreground: "#1c1b19",
    cursor: "#b3400b",
    cursorAccent: "#ffffff",
    selectionBackground: "#f3d3c2",
  },
  dark: {
    background: "#1f1e1b",
    foreground: "#ecebe8",
    cursor: "#e8733f",
    cursorAccent: "#1a0d05",
    selectionBackground: "#5a3a2a",
  },
};

const FONT = 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace';

export interface TerminalHandle {
  connection: TerminalConnection;
  focus: () => void;
  /** Types into the terminal (the on-screen key row for phones). */
  input: (text: string) => void;
}

export interface TerminalViewProps {
  sessionId: string;
  orgId: string | null;
  program: Program;
  /** Re-attach to this terminal instead of opening a new one. */
  initialPtyId: number | null;
  visible: boolean;
  theme: Theme;
  label: string;
  onStatus: (status: ConnectionStatus) => void;
  onPtyId: (ptyId: number) => void;
  onNotice: (message: string) => void;
  /** Hands the parent what it needs to hang up, retry and type. */
  onReady: (handle: TerminalHandle | null) => void;
}

export function TerminalView({
  sessionId,
  orgId,
  program,
  initialPtyId,
  visible,
  theme,
  label,
  onStatus,
  onPtyId,
  onNotice,
  onReady,
}: TerminalViewProps) {
  const hostRef = useRef<HTMLDivElement>(null);
  const termRef = useRef<Terminal | null>(null);
  const fitRef = useRef<FitAddon | null>(null);
  // Callbacks change identity on every parent render; the connection outlives renders.
  const callbacks = useRef({ onStatus, onPtyId, onNotice, onReady });
  useEffect(() => {
    callbacks.current = { onStatus, onPtyId, onNotice, onReady };
  });
  // Only the first value matters: later pty ids come from the connection itself.
  const initialPty = useRef(initialPtyId);
  const initialTheme = useRef(theme);
  const initialLabel = useRef(label);

  useEffect(() => {
    const host = hostRef.current;
    if (!host) return;
    const term = new Terminal({
      fontFamily: FONT,
      fontSize: 13,
      cursorBlink: true,
      scrollback: 5000,
      theme: THEMES[initialTheme.current],
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(host);
    term.textarea?.setAttribute("aria-label", `${initialLabel.current} terminal input`);
    termRef.current = term;
    fitRef.current = fit;
    const size = () => ({ cols: term.cols, rows: term.rows });
    const safeFit = () => {
      // A hidden terminal has no size; fitting it would shrink it to the minimum.
      if (host.clientWidth > 0 && host.clientHeight > 0) fit.fit();
    };
    safeFit();

    let lastPty: number | null = initialPty.current;
    const connection = new TerminalConnection({
      url: (ptyId, s) =>
        terminalUrl({ origin: window.location.origin, sessionId, orgId, program, size: s, ptyId }),
      size,
      ptyId: initialPty.current,
      onData: (bytes) => term.write(bytes),
      onReattach: () => term.reset(),
      onStatus: (status) => {
        if (status.kind === "open" && status.ptyId !== lastPty) {
          lastPty = status.ptyId;
          callbacks.current.onPtyId(status.ptyId);
        }
        callbacks.current.onStatus(status);
      },
      onNotice: (message) => callbacks.current.onNotice(message),
    });
    const dataSub = term.onData((text) => connection.sendText(text));
    const binarySub = term.onBinary((data) => connection.sendBinaryString(data));
    const resizeSub = term.onResize((s) => connection.resize(s));
    const observer = new ResizeObserver(() => safeFit());
    observer.observe(host);
    connection.start();
    callbacks.current.onReady({
      connection,
      focus: () => term.focus(),
      input: (text) => {
        connection.sendText(text);
        term.focus();
      },
    });
    return () => {
      callbacks.current.onReady(null);
      observer.disconnect();
      dataSub.dispose();
      binarySub.dispose();
      resizeSub.dispose();
      connection.dispose();
      term.dispose();
      termRef.current = null;
      fitRef.current = null;
    };
  }, [sessionId, orgId, program]);

  useEffect(() => {
    if (termRef.current) termRef.current.options.theme = THEMES[theme];
  }, [theme]);

  useEffect(() => {
    const host = hostRef.current;
    if (!visible || !host || !fitRef.current) return;
    if (host.clientWidth > 0 && host.clientHeight > 0) fitRef.current.fit();
    termRef.current?.focus();
  }, [visible]);

  return <div ref={hostRef} className="terminal-host" />;
}
