import { fireEvent, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { apiError, json, makeSession, stubFetch } from "../../../test/helpers";
import { Composer } from "./Composer";
import { renderWithApi } from "./testUtils";

const SESSION = makeSession();
const TASK = {
  id: "0190f0aa-0000-7000-8000-000000000001",
  session_id: SESSION.id,
  created_by: SESSION.owner_id,
  prompt: "Fix the build",
  state: "queued",
  position: 1,
  created_at: "2026-01-01T00:00:00Z",
};

describe("Composer", () => {
  it("sends on Enter and keeps Shift+Enter for a new line", async () => {
    const requests = stubFetch((request, url) => {
      if (url.pathname === `/api/v1/sessions/${SESSION.id}/tasks` && request.method === "POST") return json(TASK, 201);
      return undefined;
    });
    const onQueued = vi.fn();
    const user = userEvent.setup();
    renderWithApi(<Composer sessionId={SESSION.id} runningTaskId={null} onQueued={onQueued} />);
    const box = screen.getByRole("textbox", { name: "Message" });
    await user.type(box, "Fix the build{Shift>}{Enter}{/Shift}now");
    expect(box).toHaveValue("Fix the build\nnow");
    expect(requests).toHaveLength(0);

    await user.keyboard("{Enter}");
    await waitFor(() => {
      expect(onQueued).toHaveBeenCalledWith(TASK);
    });
    expect(await requests[0]?.json()).toEqual({ prompt: "Fix the build\nnow" });
    expect(requests[0]?.headers.get("X-CSRF-Token")).toBe("csrf-from-me");
    expect(box).toHaveValue("");
  });

  it("shows a validation error at the field and keeps the text", async () => {
    stubFetch((_request, url) => {
      if (url.pathname === `/api/v1/sessions/${SESSION.id}/tasks`) {
        return apiError(400, "validation_failed", "prompt: must not be longer than 100000 characters", "prompt");
      }
      return undefined;
    });
    const user = userEvent.setup();
    renderWithApi(<Composer sessionId={SESSION.id} runningTaskId={null} />);
    const box = screen.getByRole("textbox", { name: "Message" });
    await user.type(box, "way too long");
    await user.click(screen.getByRole("button", { name: "Send" }));
    await waitFor(() => {
      expect(box).toHaveAttribute("aria-invalid", "true");
    });
    expect(box).toHaveAccessibleDescription(expect.stringContaining("must not be longer than 100000 characters"));
    expect(box).toHaveValue("way too long");
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
  });

  it("stops the running turn by cancelling its task", async () => {
    const running = "0190f0aa-0000-7000-8000-0000000000ff";
    const requests = stubFetch((_request, url) => {
      if (url.pathname === `/api/v1/tasks/${running}/cancel`) return json({ ...TASK, id: running, state: "running" });
      return undefined;
    });
    const user = userEvent.setup();
    renderWithApi(<Composer sessionId={SESSION.id} runningTaskId={running} />);
    expect(screen.getByRole("button", { name: "Queue" })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Stop turn" }));
    await waitFor(() => {
      expect(requests.map((r) => `${r.method} ${new URL(r.url).pathname}`)).toEqual([
        `POST /api/v1/tasks/${running}/cancel`,
      ]);
    });
    expect(await screen.findByText("Stopping the running turn…")).toBeInTheDocument();
  });

  it("asks before /clear and explains a 409 while a turn runs", async () => {
    const requests = stubFetch((_request, url) => {
      if (url.pathname === `/api/v1/sessions/${SESSION.id}/clear`)
        return apiError(409, "conflict", "A turn is running.");
      return undefined;
    });
    const user = userEvent.setup();
    renderWithApi(<Composer sessionId={SESSION.id} runningTaskId={null} />);
    await user.type(screen.getByRole("textbox", { name: "Message" }), "/clear{Enter}");
    const dialog = await screen.findByRole("alertdialog", { name: "Start a new conversation?" });
    expect(requests).toHaveLength(0);
    await user.click(screen.getByRole("button", { name: "Clear conversation" }));
    expect(await screen.findByText(/Stop the running turn first, then clear\./)).toBeInTheDocument();
    expect(dialog).toBeInTheDocument();
    expect(requests.map((r) => r.method)).toEqual(["POST"]);
  });

  it("clears after confirmation", async () => {
    const onCleared = vi.fn();
    stubFetch((request, url) => {
      if (url.pathname === `/api/v1/sessions/${SESSION.id}/clear` && request.method === "POST") return json(SESSION);
      return undefined;
    });
    const user = userEvent.setup();
    renderWithApi(<Composer sessionId={SESSION.id} runningTaskId={null} onCleared={onCleared} />);
    await user.type(screen.getByRole("textbox", { name: "Message" }), "/clear{Enter}");
    await user.click(await screen.findByRole("button", { name: "Clear conversation" }));
    await waitFor(() => {
      expect(onCleared).toHaveBeenCalledWith(SESSION);
    });
    expect(screen.queryByRole("alertdialog")).not.toBeInTheDocument();
    expect(screen.getByText(/Conversation cleared/)).toBeInTheDocument();
  });

  describe("images", () => {
    const PNG_BYTES = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const png = (name = "shot.png") => new File([PNG_BYTES], name, { type: "image/png" });

    it("attaches, previews, removes and sends images as base64 with the prompt", async () => {
      const requests = stubFetch((request, url) => {
        if (url.pathname === `/api/v1/sessions/${SESSION.id}/tasks` && request.method === "POST")
          return json({ ...TASK, image_count: 1 }, 201);
        return undefined;
      });
      const user = userEvent.setup();
      renderWithApi(<Composer sessionId={SESSION.id} runningTaskId={null} />);
      expect(screen.getByRole("button", { name: "Attach image" })).toBeInTheDocument();
      const input = screen.getByTestId("composer-image-input");
      expect(input).toHaveAttribute("accept", "image/png,image/jpeg,image/gif,image/webp");
      await user.upload(input, [png("a.png"), png("b.png")]);
      expect(await screen.findByRole("img", { name: "Image 1: a.png" })).toBeInTheDocument();
      expect(screen.getByRole("img", { name: "Image 2: b.png" })).toBeInTheDocument();
      await user.click(screen.getByRole("button", { name: "Remove image 1 (a.png)" }));
      expect(screen.queryByRole("img", { name: /a\.png/ })).not.toBeInTheDocument();
      expect(screen.getByRole("img", { name: "Image 1: b.png" })).toBeInTheDocument();

      await user.type(screen.getByRole("textbox", { name: "Message" }), "What is this?{Enter}");
      await waitFor(() => {
        expect(requests).toHaveLength(1);
      });
      expect(await requests[0]?.json()).toEqual({
        prompt: "What is this?",
        images: [{ media_type: "image/png", data: "iVBORw0KGgo=" }],
      });
      await waitFor(() => {
        expect(screen.queryByRole("list", { name: "Attached images" })).not.toBeInTheDocument();
      });
    });

    it("takes images pasted or dropped into the composer", async () => {
      renderWithApi(<Composer sessionId={SESSION.id} runningTaskId={null} />);
      const box = screen.getByRole("textbox", { name: "Message" });
      fireEvent.paste(box, {
        clipboardData: { files: [png("pasted.png")], getData: () => "" },
      });
      expect(await screen.findByRole("img", { name: "Image 1: pasted.png" })).toBeInTheDocument();
      const form = screen.getByRole("form", { name: "Message Claude" });
      fireEvent.drop(form, {
        dataTransfer: { files: [png("dropped.png")], types: ["Files"] },
      });
      expect(await screen.findByRole("img", { name: "Image 2: dropped.png" })).toBeInTheDocument();
      expect(box).toHaveValue("");
    });

    it("checks type, size and count before sending", async () => {
      const user = userEvent.setup({ applyAccept: false });
      renderWithApi(<Composer sessionId={SESSION.id} runningTaskId={null} />);
      const input = screen.getByTestId("composer-image-input");
      await user.upload(input, new File(["BM"], "old.bmp", { type: "image/bmp" }));
      expect(
        await screen.findByText(/old\.bmp: only PNG, JPEG, GIF and WebP images can be sent\./),
      ).toBeInTheDocument();
      const big = new File([new Uint8Array(5 * 1024 * 1024 + 1)], "big.png", {
        type: "image/png",
      });
      await user.upload(input, big);
      expect(await screen.findByText(/big\.png is 5\.0 MiB; an image may be at most 5\.0 MiB\./)).toBeInTheDocument();
      await user.upload(input, [png("1.png"), png("2.png"), png("3.png"), png("4.png"), png("5.png")]);
      expect(await screen.findByText(/5\.png: at most 4 images per message\./)).toBeInTheDocument();
      expect(screen.getAllByRole("img")).toHaveLength(4);
      expect(screen.getByRole("button", { name: "Attach image" })).toBeDisabled();
      expect(screen.getByRole("textbox", { name: "Message" })).toHaveAccessibleDescription(
        expect.stringContaining("at most 4 images per message"),
      );
    });

    it("shows the api's image errors at the composer", async () => {
      stubFetch((_request, url) => {
        if (url.pathname === `/api/v1/sessions/${SESSION.id}/tasks`)
          return apiError(
            400,
            "validation_failed",
            "images[0].data: the bytes are not a image/png image",
            "images[0].data",
          );
        return undefined;
      });
      const user = userEvent.setup();
      renderWithApi(<Composer sessionId={SESSION.id} runningTaskId={null} />);
      await user.upload(screen.getByTestId("composer-image-input"), png());
      await screen.findByRole("img", { name: "Image 1: shot.png" });
      await user.type(screen.getByRole("textbox", { name: "Message" }), "look{Enter}");
      expect(await screen.findByText("Image 1: the bytes are not a image/png image")).toBeInTheDocument();
      expect(screen.getByRole("textbox", { name: "Message" })).not.toHaveAttribute("aria-invalid");
      expect(screen.getByRole("img", { name: "Image 1: shot.png" })).toBeInTheDocument();
    });
  });
});
