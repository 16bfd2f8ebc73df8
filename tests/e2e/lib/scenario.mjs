// A test wrapper for node:test that, when a test fails, appends what the SDKs sent and received (the WireLog)
// and the server's log tail to the error, and always runs the test's cleanups (logouts, closes).
import { test } from 'node:test';

/**
 * scenario(name, fn, {timeout, diagnostics}) — fn receives {defer}; `defer(fn)` registers a cleanup.
 * `diagnostics()` returns the text to append on failure (wire log, consoles); `server()` the Server whose log
 * lines written during the test are appended too.
 */
export function scenario(name, fn, { timeout = 90000, diagnostics = () => '', server = () => null } = {}) {
  return test(name, { timeout }, async () => {
    const srv = server();
    const mark = srv?.mark();
    const cleanups = [];
    const defer = (cleanup) => cleanups.push(cleanup);
    try {
      await fn({ defer });
    } catch (err) {
      let extra = '';
      try {
        extra = diagnostics();
        if (srv) extra += `\n${srv.logTail(80, mark)}`;
      } catch (diagErr) {
        extra = `(diagnostics failed: ${diagErr.message})`;
      }
      const wrapped = new Error(`${err?.message ?? err}\n${extra}`);
      wrapped.stack = `${err?.stack ?? err}\n${extra}`;
      throw wrapped;
    } finally {
      for (const cleanup of cleanups.reverse()) {
        try {
          await cleanup();
        } catch {
          // cleanups are best effort
        }
      }
    }
  });
}
