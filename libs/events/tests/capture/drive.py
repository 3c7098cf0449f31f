"""Captures a multi-turn fixture the way session-manager runs Claude Code: one long-lived
process in stream-json mode with `--permission-prompt-tool stdio` and `--replay-user-messages`,
answering permission requests and sending interrupts.

    python3 drive.py SCENARIO        (approvals | read_edit | interrupt_permission | interrupt_stream)

Same environment variables as capture.sh (FAKE_URL, CLAUDE, OUT). Writes OUT/SCENARIO.jsonl.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

SCENARIOS = {
    # allow the first Bash call, deny the second, then a plain text turn
    "approvals": ["[[tool:Bash:echo approved > out.txt]]", "[[tool:Bash:touch denied.txt]]", "[[text]]"],
    # a Read (allowed by default), then an Edit that needs approval (allowed)
    "read_edit": ["[[tool:Read:notes.txt]]", "[[tool:Edit:notes.txt:line two:line 2]]"],
    # interrupt while a permission request is pending
    "interrupt_permission": ["[[tool:Bash:touch pending.txt]]"],
    # interrupt while text streams, then a normal turn
    "interrupt_stream": ["[[slow:40:100]]", "[[text]]"],
}


def main():
    scenario = sys.argv[1]
    prompts = list(SCENARIOS[scenario])
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = os.environ.get("OUT", os.path.join(here, "..", "fixtures"))
    claude = os.environ.get("CLAUDE", os.path.expanduser("~/.cache/remote-claude/claude-cli/2.1.328/claude"))
    work, home = tempfile.mkdtemp(), tempfile.mkdtemp()
    with open(os.path.join(work, "notes.txt"), "w") as f:
        f.write("line one\nline two\nline three\n")
    env = dict(os.environ, HOME=home, ANTHROPIC_BASE_URL=os.environ.get("FAKE_URL", "http://127.0.0.1:18090"),
               ANTHROPIC_API_KEY="dummy", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
               DISABLE_AUTOUPDATER="1", DISABLE_TELEMETRY="1", DISABLE_ERROR_REPORTING="1")
    args = [claude, "-p", "--input-format", "stream-json", "--output-format", "stream-json", "--verbose",
            "--include-partial-messages", "--permission-prompt-tool", "stdio", "--replay-user-messages",
            "--model", "claude-sonnet-4-5", "--permission-mode", "default"]
    proc = subprocess.Popen(args, cwd=work, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, bufsize=1)

    def send(obj):
        proc.stdin.write(json.dumps(obj) + "\n")
        proc.stdin.flush()

    def user(text):
        send({"type": "user", "message": {"role": "user", "content": text},
              "parent_tool_use_id": None, "session_id": ""})

    def answer(request_id, body):
        send({"type": "control_response",
              "response": {"subtype": "success", "request_id": request_id, "response": body}})

    def interrupt():
        send({"type": "control_request", "request_id": "int_1", "request": {"subtype": "interrupt"}})

    path = os.path.join(out_dir, scenario + ".jsonl")
    deadline = time.time() + 120
    decisions = 0
    interrupted = False
    with open(path, "w") as out:
        user(prompts.pop(0))
        for line in proc.stdout:
            out.write(line)
            msg = json.loads(line)
            kind = msg.get("type")
            if kind == "control_request" and msg["request"].get("subtype") == "can_use_tool":
                decisions += 1
                request_id, tool_input = msg["request_id"], msg["request"]["input"]
                if scenario == "interrupt_permission":
                    interrupt()
                elif scenario == "approvals" and decisions > 1:
                    answer(request_id, {"behavior": "deny", "message": "Denied from the test driver"})
                else:
                    answer(request_id, {"behavior": "allow", "updatedInput": tool_input})
            if (scenario == "interrupt_stream" and not interrupted and kind == "stream_event"
                    and msg["event"].get("type") == "content_block_delta"):
                interrupted = True
                time.sleep(0.3)  # let a few more deltas through first
                interrupt()
            if kind == "result":
                if prompts:
                    user(prompts.pop(0))
                else:
                    proc.stdin.close()  # the CLI exits after the last result
                    break
            if time.time() > deadline:
                proc.kill()
                sys.exit(f"{scenario}: timed out")
        out.writelines(proc.stdout)
    print(f"{scenario}: exit {proc.wait()}, {sum(1 for _ in open(path))} lines")


if __name__ == "__main__":
    main()
