// Child processes for the end-to-end tests: started with output captured,
// awaited by a line they print, and all stopped when the test file ends
// (see stopAll), whatever happened in between.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';

/** @type {Set<Proc>} */
const running = new Set();

/**
 * One child process with its combined output kept for error messages.
 */
export class Proc {
  /**
   * @param {string} name  short name for messages
   * @param {string} cmd
   * @param {string[]} args
   * @param {{ env?: NodeJS.ProcessEnv, cwd?: string, extraFds?: number }} [opts]
   */
  constructor(name, cmd, args, opts = {}) {
    this.name = name;
    this.output = '';
    /** @type {number | null} */
    this.exitCode = null;
    /** @type {NodeJS.Signals | null} */
    this.signal = null;
    const stdio = ['ignore', 'pipe', 'pipe'];
    for (let i = 0; i < (opts.extraFds ?? 0); i++) stdio.push('pipe');
    this.child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio });
    this.exited = once(this.child, 'exit').then(([code, signal]) => {
      this.exitCode = code;
      this.signal = signal;
      running.delete(this);
    });
    this.spawned = new Promise((resolve, reject) => {
      this.child.once('spawn', resolve);
      this.child.once('error', (err) => reject(new Error(`${name}: could not start ${cmd}: ${err.message}`)));
    });
    for (const s of [this.child.stdout, this.child.stderr]) {
      s?.setEncoding('utf8');
      s?.on('data', (chunk) => {
        this.output += chunk;
        if (this.output.length > 200_000) this.output = this.output.slice(-100_000);
      });
    }
    running.add(this);
  }

  get alive() {
    return this.exitCode === null && this.signal === null;
  }

  /**
   * Resolves with the first match of re in the output, waiting for it.
   * @param {RegExp} re
   * @param {number} timeoutMs
   * @returns {Promise<RegExpMatchArray>}
   */
  async waitForOutput(re, timeoutMs) {
    await this.spawned;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.output.match(re);
      if (m) return m;
      if (!this.alive) throw new Error(`${this.name} exited before printing ${re}:\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`${this.name} did not print ${re} within ${timeoutMs} ms:\n${this.tail()}`);
      await sleep(25);
    }
  }

  /** The last lines of output, for failure messages. */
  tail(lines = 30) {
    return this.output.split('\n').slice(-lines).join('\n');
  }

  /**
   * Sends SIGTERM and waits for the exit, then SIGKILL after graceMs.
   * Resolves with the exit code (null when killed by a signal).
   * @param {number} [graceMs]
   */
  async stop(graceMs = 5000) {
    if (this.alive) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    return this.exitCode;
  }
}

/** Stops every process still running, the newest first. */
export async function stopAll() {
  for (const p of [...running].reverse()) await p.stop();
}

/** @param {number} ms */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (for programs that
 * cannot be told to pick their own and report it).
 * @returns {Promise<number>}
 */
export async function freePort() {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  srv.close();
  await once(srv, 'close');
  return port;
}

/**
 * Resolves once something accepts TCP connections on host:port.
 * @param {string} host
 * @param {number} port
 * @param {number} timeoutMs
 * @param {Proc} [owner]  fail early when this process exits
 */
export async function waitForPort(host, port, timeoutMs, owner) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const sock = net.connect({ host, port });
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (owner && !owner.alive) throw new Error(`${owner.name} exited before listening on ${host}:${port}:\n${owner.tail()}`);
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}
