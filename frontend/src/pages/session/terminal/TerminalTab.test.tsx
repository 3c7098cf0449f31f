import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useEffect } from "react";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { AuthProvider } from "../../../app/auth";
import { makeMe, makeSession } from "../../../test/helpers";
import type { SessionTabProps } from "../contracts";
import { TerminalTab } from "./TerminalTab";
import type { TerminalViewProps } from "./TerminalView";

// xterm.js needs a canvas; the view is replaced by a stub that reports like the real one.
const hangUp = vi.fn();
const mounted: TerminalViewProps[] = [];
let nextPty = 40;
vi.mock("./TerminalView", () => ({
  TerminalView: (props: TerminalViewProps) => {
    const { onReady, onStatus, onPtyId, initialPtyId } = props;
    useEffect(() => {
      mounted.push(props);
      onReady({ connection: { hangUp, retry: vi.fn(), dispose: vi.fn() } as never, focus: vi.fn(), input: vi.fn() });
      const pty = initialPtyId ?? nextPty++;
      onPtyId(pty);
      onStatus({ kind: "open", ptyId: pty });
      // Mount once per terminal, like the real view.
      // eslint-disable-next-line react-hooks/exhaustive-deps
    }, []);
    return <div data-testid={`term-${props.label}`} />;
  },
}));

beforeEach(() => {
  hangUp.mockReset();
  mounted.length = 0;
  nextPty = 40;
});

function renderTab(props: Partial<SessionTabProps> = {}) {
  return render(
    <AuthProvider initialMe={makeMe("owner")}>
      <TerminalTab session={makeSession()} canWrite {...props} />
    </AuthProvider>,
  );
}

describe("TerminalTab", () => {
  it("explains that terminals are for the owner and admins", () => {
    renderTab({ canWrite: false });
    expect(screen.getByText(/Terminals are for the session's owner and organisation admins/)).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "New terminal" })).toBeNull();
  });

  it("asks to start a stopped session", () => {
    renderTab({ session: makeSession({ state: "stopped" }) });
    expect(screen.getByText(/start the session to open one/)).toBeInTheDocument();
  });

  it("opens Bash and Claude terminals as sub-tabs from the New terminal menu", async () => {
    const user = userEvent.setup();
    renderTab();
    await user.click(screen.getByRole("button", { name: "New terminal" }));
    const menu = screen.getByRole("menu", { name: "New terminal" });
    expect(within(menu).getByRole("menuitem", { name: /Bash/ })).toHaveFocus();
    await user.keyboard("{ArrowDown}{Enter}");
    expect(screen.getByRole("tab", { name: "Claude 1" })).toHaveAttribute("aria-selected", "true");
    await screen.findByTestId("term-Claude 1");
    expect(mounted.at(-1)).toMatchObject({ program: "claude", initialPtyId: null });

    await user.click(screen.getByRole("button", { name: "New terminal" }));
    await user.click(screen.getByRole("menuitem", { name: /Bash/ }));
    const bash = screen.getByRole("tab", { name: "Bash 1" });
    expect(bash).toHaveAttribute("aria-selected", "true");
    await screen.findByTestId("term-Bash 1");
    expect(mounted.at(-1)).toMatchObject({ program: "bash" });

    // Arrow keys move between the terminals.
    bash.focus();
    await user.keyboard("{ArrowLeft}");
    expect(screen.getByRole("tab", { name: "Claude 1" })).toHaveFocus();
    expect(screen.getByRole("tab", { name: "Claude 1" })).toHaveAttribute("aria-selected", "true");
  });

  it("hangs a running terminal up after confirmation", async () => {
    const user = userEvent.setup();
    renderTab();
    await user.click(screen.getByRole("button", { name: "Open Bash" }));
    await screen.findByTestId("term-Bash 1");
    await user.click(screen.getByRole("button", { name: "Close Bash 1" }));
    const dialog = screen.getByRole("alertdialog", { name: "Close Bash 1?" });
    await user.click(within(dialog).getByRole("button", { name: "Close terminal" }));
    expect(hangUp).toHaveBeenCalledTimes(1);
    expect(screen.queryByRole("tab", { name: "Bash 1" })).toBeNull();
  });

  it("re-attaches to the terminals it had when the tab comes back", async () => {
    const user = userEvent.setup();
    const first = renderTab();
    await user.click(screen.getByRole("button", { name: "Open Bash" }));
    await screen.findByTestId("term-Bash 1");
    expect(mounted.at(-1)?.initialPtyId).toBeNull();
    first.unmount();
    renderTab();
    expect(screen.getByRole("tab", { name: "Bash 1" })).toBeInTheDocument();
    await waitFor(() => expect(mounted).toHaveLength(2));
    expect(mounted.at(-1)).toMatchObject({ program: "bash", initialPtyId: 40 });
  });
});
