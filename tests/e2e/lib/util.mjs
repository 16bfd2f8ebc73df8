// Small helpers shared by the e2e library and tests: paths, ids, ports, bounded waits, the exit watchdog.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const E2E_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = path.resolve(E2E_DIR, '..', '..');

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A user ID unique to this run, so a long-running server can be reused: `${prefix}_${8 hex}`. */
export function uniqueID(prefix) {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/** OpenIM's conversationID of a 1:1 chat: `si_` + the two user IDs sorted, joined by `_`. */
// The text of a text message as an SDK hands it back: its textElem, else the JSON content's `content`.
export function textOf(message) {
  if (message?.textElem?.content !== undefined) return message.textElem.content;
  try {
    return JSON.parse(message?.content ?? '{}').content;
  } catch {
    return undefined;
  }
}

export function singleConversationID(a, b) {
  return `si_${[a, b].sort().join('_')}`;
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export class TimeoutError extends Error {}

/** `promise`, or a TimeoutError naming `what` after `ms`. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([Promise.resolve(promise), timeout]).finally(() => clearTimeout(timer));
}

/**
 * Polls `fn` (sync or async) until it returns a truthy value, which is returned. Exceptions from `fn` count as
 * "not yet"; the last one is named in the TimeoutError together with `what` and `describe()` (the state seen).
 */
export async function waitUntil(fn, { timeout = 15000, interval = 100, what = 'condition', describe } = {}) {
  const deadline = Date.now() + timeout;
  let lastError;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const seen = describe ? `; last seen: ${describe()}` : '';
      const err = lastError ? `; last error: ${lastError?.stack ?? JSON.stringify(lastError)}` : '';
      throw new TimeoutError(`timed out after ${timeout} ms waiting for ${what}${seen}${err}`);
    }
    await sleep(interval);
  }
}

/**
 * The SDKs keep timers and sockets alive, so a test process would never end on its own. The runner is started
 * with --test-force-exit; this unref'd timer is the last resort: it ends the process with a message.
 */
export function installWatchdog(ms, label) {
  const timer = setTimeout(() => {
    console.error(`${label}: watchdog: still running after ${ms} ms, exiting`);
    process.exit(1);
  }, ms);
  timer.unref();
  return timer;
}

/** JSON.stringify that survives cycles, BigInts and huge values (for diagnostics only). */
export function safeJSON(value, limit = 2000) {
  const seen = new WeakSet();
  let text;
  try {
    text = JSON.stringify(value, (_, v) => {
      if (typeof v === 'bigint') return v.toString();
      if (v && typeof v === 'object') {
        if (seen.has(v)) return '[cycle]';
        seen.add(v);
      }
      return v;
    });
  } catch (err) {
    text = String(value);
  }
  if (text === undefined) text = String(value);
  return text.length > limit ? `${text.slice(0, limit)}…(${text.length} chars)` : text;
}
