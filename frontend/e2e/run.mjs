// Runs one browser end-to-end spec in real Chromium:
//   node frontend/e2e/run.mjs <spec>      (spec = a file name in frontend/e2e/specs, without .mjs)
// The Rust tests in services/api/tests/e2e start the platform and call this with E2E_CONTEXT set;
// see frontend/e2e/README.md. Exit status 0 = passed.
import { log, runSpec } from "./lib/harness.mjs";

const spec = process.argv[2];
if (!spec) {
  log("usage: node frontend/e2e/run.mjs <spec>");
  process.exit(2);
}
try {
  process.exitCode = await runSpec(spec);
} catch (error) {
  log(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
}
