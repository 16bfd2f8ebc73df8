// The server under test: a real `openim start` (api, msggateway, admin) on free ports in a temp working directory,
// or an already running server named by the environment:
//   OPENIM_E2E_API_ADDR=http://127.0.0.1:10002  OPENIM_E2E_WS_ADDR=ws://127.0.0.1:10001  [OPENIM_E2E_SECRET=openIM123]
// Started servers use `python -m openim` from OPENIM_E2E_PYTHON, else the repo's .venv, else python3; with
// OPENIM_E2E_SRC (a `src` directory) first on PYTHONPATH, a tree other than the installed one can be tested.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { REPO_ROOT, freePort, sleep } from './util.mjs';

const DEFAULT_SECRET = 'openIM123';

function pythonCommand() {
  if (process.env.OPENIM_E2E_PYTHON) return process.env.OPENIM_E2E_PYTHON;
  const venv = path.join(REPO_ROOT, '.venv', 'bin', 'python');
  return existsSync(venv) ? venv : 'python3';
}

function tail(text, lines) {
  const all = text.split('\n');
  return all.slice(Math.max(0, all.length - lines)).join('\n');
}

export class Server {
  constructor({ apiAddr, wsAddr, secret, proc = null, cwd = null, outFile = null, adminAddr = null }) {
    this.apiAddr = apiAddr;
    this.wsAddr = wsAddr;
    this.adminAddr = adminAddr;
    this.secret = secret;
    this.proc = proc;
    this.cwd = cwd;
    this.outFile = outFile;
    this.exit = null; // {code, signal} once the process ended
    if (proc) {
      this.exited = new Promise((resolve) => {
        proc.on('exit', (code, signal) => {
          this.exit = { code, signal };
          resolve(this.exit);
        });
      });
    }
  }

  get external() {
    return this.proc === null;
  }

  /** Where the server's output and log files end now; logTail(lines, mark) then shows only what came after. */
  mark() {
    const sizes = new Map();
    for (const file of this.#logFiles()) {
      try {
        sizes.set(file, statSync(file).size);
      } catch {
        // not there yet
      }
    }
    return sizes;
  }

  #logFiles() {
    if (this.external) return [];
    const files = [this.outFile];
    const logs = path.join(this.cwd, 'logs');
    try {
      for (const name of readdirSync(logs).sort()) files.push(path.join(logs, name));
    } catch {
      // no logs directory yet
    }
    return files;
  }

  /** The last `lines` lines of `openim start`'s output and of each file in its logs/ (since `mark`, if given). */
  logTail(lines = 60, mark = null) {
    if (this.external) return `(external server at ${this.apiAddr} / ${this.wsAddr}: no logs here)`;
    const parts = [];
    for (const file of this.#logFiles()) {
      let text;
      try {
        text = readFileSync(file).subarray(mark?.get(file) ?? 0).toString('utf8');
      } catch (err) {
        parts.push(`(${file}: ${err.message})`);
        continue;
      }
      if (text.trim()) parts.push(`--- ${file}${mark ? ' (during this test)' : ''} ---\n${tail(text.trimEnd(), lines)}`);
    }
    if (this.exit) parts.push(`(openim start exited: ${JSON.stringify(this.exit)})`);
    return parts.join('\n');
  }

  /** SIGTERM, then SIGKILL after `graceMs`; keeps the working directory when OPENIM_E2E_KEEP is set. */
  async stop(graceMs = 10000) {
    if (this.external) return;
    if (!this.exit) {
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    if (!process.env.OPENIM_E2E_KEEP) rmSync(this.cwd, { recursive: true, force: true });
  }
}

async function answers(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return res.status === 200;
  } catch {
    return false;
  }
}

/**
 * Starts `openim start` (every role) on free 127.0.0.1 ports in a fresh temp directory and waits until the REST
 * API answers GET /healthz and the gateway GET /health; or returns the server named by OPENIM_E2E_API_ADDR.
 * `env` adds OPENIM_* settings for this server (ignored for an external one).
 */
export async function startServer({ timeoutMs = 60000, env: extraEnv = {} } = {}) {
  const secret = process.env.OPENIM_E2E_SECRET || DEFAULT_SECRET;
  if (process.env.OPENIM_E2E_API_ADDR) {
    const apiAddr = process.env.OPENIM_E2E_API_ADDR.replace(/\/$/, '');
    const wsAddr = (process.env.OPENIM_E2E_WS_ADDR || apiAddr.replace(/^http/, 'ws').replace(/:10002$/, ':10001')).replace(/\/$/, '');
    return new Server({ apiAddr, wsAddr, secret });
  }
  const [api, gateway, admin] = [await freePort(), await freePort(), await freePort()];
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'openim-e2e-'));
  const outFile = path.join(cwd, 'start.out');
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OPENIM_')));
  Object.assign(env, {
    OPENIM_API_PORTS: String(api),
    OPENIM_MSGGATEWAY_PORTS: String(gateway),
    OPENIM_ADMIN_PORT: String(admin),
    OPENIM_API_LISTENIP: '127.0.0.1',
    OPENIM_MSGGATEWAY_LISTENIP: '127.0.0.1',
    OPENIM_SECRET: secret,
    PYTHONUNBUFFERED: '1',
    ...extraEnv, // settings a test needs (OPENIM_OBJECT_MINPARTSIZE, ...)
  });
  if (process.env.OPENIM_E2E_SRC) {
    env.PYTHONPATH = [process.env.OPENIM_E2E_SRC, env.PYTHONPATH].filter(Boolean).join(path.delimiter);
  }
  const out = openSync(outFile, 'w');
  const proc = spawn(pythonCommand(), ['-m', 'openim', 'start'], { cwd, env, stdio: ['ignore', out, out] });
  closeSync(out);
  proc.unref(); // the test process must be able to end (and `stop` still waits on 'exit')
  const server = new Server({
    apiAddr: `http://127.0.0.1:${api}`,
    wsAddr: `ws://127.0.0.1:${gateway}`,
    adminAddr: `http://127.0.0.1:${admin}`,
    secret,
    proc,
    cwd,
    outFile,
  });
  process.on('exit', () => {
    if (!server.exit) proc.kill('SIGKILL'); // never leave a server behind, whatever ends this process
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.exit) break;
    if ((await answers(`${server.apiAddr}/healthz`)) && (await answers(`http://127.0.0.1:${gateway}/health`))) {
      return server;
    }
    await sleep(100);
  }
  const why = server.exit ? `exited early (${JSON.stringify(server.exit)})` : `did not answer within ${timeoutMs} ms`;
  const logs = server.logTail();
  await server.stop(1000);
  throw new Error(`openim start ${why}\n${logs}`);
}
