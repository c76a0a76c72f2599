// The real stack the end-to-end tests drive: an X server (Xvfb), the Triton
// test server (triton-devserver, model "dtmf"), the app's dev-tag binary
// serving the built frontend with live Go bindings, and Debian's Chromium
// through playwright-core. scripts/test-e2e.sh builds the binaries and the
// frontend first; the paths can be overridden with the E2E_* variables.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { Proc, freePort, stopAll, waitForPort } from './processes.mjs';
import { eventually } from './ui.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const fromEnv = (name, fallback) => process.env[name] || fallback;

export const paths = {
  repo,
  app: fromEnv('E2E_APP', path.join(repo, 'build/bin/app-e2e')),
  devserver: fromEnv('E2E_DEVSERVER', path.join(repo, 'build/bin/triton-devserver')),
  dtmfSynth: fromEnv('E2E_DTMF_SYNTH', path.join(repo, 'build/bin/dtmf-synth')),
  dist: fromEnv('E2E_DIST', path.join(repo, 'frontend/dist')),
  chromium: fromEnv('E2E_CHROMIUM', '/usr/bin/chromium'),
  // Screenshots of each test's steps; ignored by git.
  output: fromEnv('E2E_OUTPUT', path.join(repo, 'build/test-output/e2e')),
};

// BUILD-NOTES' flags for Debian's Chromium in CI: no sandbox (root), no
// GPU, and nothing that phones home.
const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/**
 * Starts Xvfb on a display it picks itself (-displayfd), so parallel runs
 * and other X servers never collide.
 * @returns {Promise<{ display: string, proc: Proc }>}
 */
export async function startXvfb() {
  const proc = new Proc('Xvfb', 'Xvfb', ['-displayfd', '3', '-screen', '0', '1280x900x24', '-nolisten', 'tcp'], {
    extraFds: 1,
  });
  await proc.spawned;
  const fd = /** @type {import('node:stream').Readable} */ (proc.child.stdio[3]);
  fd.setEncoding('utf8');
  let got = '';
  const display = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Xvfb chose no display in 10 s:\n${proc.tail()}`)), 10_000);
    fd.on('data', (chunk) => {
      got += chunk;
      if (got.includes('\n')) {
        clearTimeout(timer);
        resolve(`:${got.trim()}`);
      }
    });
    proc.exited.then(() => reject(new Error(`Xvfb exited:\n${proc.tail()}`)));
  });
  return { display, proc };
}

/**
 * The Triton test server. start() picks a free port the first time and
 * keeps it, so a restart comes back at the address the UI already has.
 */
export class Devserver {
  /** @param {string[]} [args]  more flags (--on-disk, --fail-load, …) */
  constructor(args = []) {
    /** @type {Proc | null} */
    this.proc = null;
    this.addr = '';
    this.args = args;
  }

  async start() {
    if (this.proc?.alive) throw new Error('the devserver is already running');
    this.proc = new Proc('triton-devserver', paths.devserver, ['--addr', this.addr || '127.0.0.1:0', ...this.args]);
    const m = await this.proc.waitForOutput(/triton-devserver listening on (\S+) \(models: ([^)]*)\)/, 15_000);
    this.addr = m[1];
    this.models = m[2].split(/,\s*/);
    return this.addr;
  }

  /** Stops it; SIGTERM must end it with status 0. */
  async stop() {
    if (!this.proc) return;
    const code = await this.proc.stop();
    if (code !== 0) throw new Error(`triton-devserver exited with ${code}:\n${this.proc.tail()}`);
  }
}

/**
 * Writes a DTMF recording (the default 45 s script of 16 presses, 44.1 kHz
 * stereo) and returns it with its truth: the keys pressed and when.
 * @param {string} dir
 * @param {string} [name]
 * @returns {Promise<{ wav: string, presses: { key: string, start: number, end: number }[] }>}
 */
export async function makeDtmfRecording(dir, name = 'keys', extraArgs = []) {
  const wav = path.join(dir, `${name}.wav`);
  const truth = path.join(dir, `${name}.truth.json`);
  const p = new Proc('dtmf-synth', paths.dtmfSynth, ['--out', wav, '--truth', truth, ...extraArgs]);
  await p.exited;
  if (p.exitCode !== 0) throw new Error(`dtmf-synth failed:\n${p.tail()}`);
  return { wav, presses: JSON.parse(await fs.readFile(truth, 'utf8')) };
}

/**
 * One run of the app's dev binary. The profile (HOME and the XDG folders)
 * is a folder of the test's, so settings and history start empty and can
 * be kept across a restart by passing the same profile again.
 */
export class AppProcess {
  /**
   * @param {{ display: string, profile: string, env?: Record<string, string> }} opts
   *   env: more variables for the app (PATH with fake programs, say)
   */
  constructor({ display, profile, env = {} }) {
    this.display = display;
    this.profile = profile;
    this.extraEnv = env;
    /** @type {Proc | null} */
    this.proc = null;
    this.url = '';
  }

  async start() {
    const port = await freePort();
    const env = {
      ...process.env,
      DISPLAY: this.display,
      HOME: this.profile,
      XDG_CONFIG_HOME: path.join(this.profile, '.config'),
      XDG_DATA_HOME: path.join(this.profile, '.local/share'),
      XDG_CACHE_HOME: path.join(this.profile, '.cache'),
      ...this.extraEnv,
    };
    this.proc = new Proc('app-e2e', paths.app, ['-devserver', `127.0.0.1:${port}`, '-assetdir', paths.dist], { env });
    await this.proc.waitForOutput(/Serving DevServer at/, 20_000);
    await waitForPort('127.0.0.1', port, 10_000, this.proc);
    this.url = `http://127.0.0.1:${port}/`;
    return this.url;
  }

  /** SIGTERM, as a desktop session ends it; it must exit cleanly. */
  async stop() {
    if (!this.proc) return;
    const code = await this.proc.stop();
    if (code !== 0) throw new Error(`app-e2e exited with ${code}:\n${this.proc.tail()}`);
  }
}

/**
 * Everything one test file needs, torn down by close(): the X server, a
 * temporary folder (recordings, the app's profile), the devserver, the app
 * and the browser. Steps that restart pieces (the server going away, the
 * app restarting with the same profile) use the fields directly.
 */
export class Session {
  /**
   * @param {string} name  the test file's name, for screenshots
   * @param {{ devserverArgs?: string[], appEnv?: Record<string, string>, browserArgs?: string[] }} [opts]
   *   appEnv: more environment for the app (see AppProcess); browserArgs:
   *   more Chromium flags (a fake microphone, say)
   */
  constructor(name, { devserverArgs = [], appEnv = {}, browserArgs = [] } = {}) {
    this.name = name;
    this.appEnv = appEnv;
    this.browserArgs = browserArgs;
    this.dir = '';
    this.display = '';
    this.devserver = new Devserver(devserverArgs);
    /** @type {AppProcess | null} */
    this.app = null;
    /** @type {import('playwright-core').Browser | null} */
    this.browser = null;
    /** @type {import('playwright-core').Page | null} */
    this.page = null;
    /** @type {string[]} messages the page logged as errors */
    this.pageErrors = [];
    this.shots = 0;
  }

  /** Starts Xvfb, the devserver, the app and Chromium on the app's page. */
  async open() {
    this.dir = await fs.mkdtemp(path.join(os.tmpdir(), `nemo-e2e-${this.name}-`));
    this.display = (await startXvfb()).display;
    await this.devserver.start();
    this.app = new AppProcess({ display: this.display, profile: path.join(this.dir, 'profile'), env: this.appEnv });
    await this.app.start();
    this.browser = await chromium.launch({ executablePath: paths.chromium, args: [...chromiumArgs, ...this.browserArgs], headless: true });
    await this.openPage();
    return this;
  }

  /** Opens (or reopens) the app's page and waits until it is usable. */
  async openPage() {
    if (!this.browser || !this.app) throw new Error('open() first');
    await this.page?.close();
    const page = await this.browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on('pageerror', (err) => this.pageErrors.push(String(err)));
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !/favicon\.ico|Failed to load resource/.test(msg.text())) {
        this.pageErrors.push(msg.text());
      }
    });
    await page.goto(this.app.url);
    // The bindings come over Wails' dev WebSocket; the status line shows
    // the saved server once the settings have arrived from the Go side.
    await page.waitForFunction(() => Boolean(window.go?.main?.App), null, { timeout: 15_000 });
    const server = page.getByTestId('status-server');
    await eventually(async () => (await server.innerText()).trim() !== '', 15_000, 'the saved server address');
    this.page = page;
    return page;
  }

  /** Saves a screenshot of the page as NN-step.png under paths.output. */
  async screenshot(step) {
    if (!this.page) return '';
    const dir = path.join(paths.output, this.name);
    await fs.mkdir(dir, { recursive: true });
    const file = path.join(dir, `${String(++this.shots).padStart(2, '0')}-${step}.png`);
    // The window does not scroll (its parts do): the viewport is the view.
    await this.page.screenshot({ path: file });
    return file;
  }

  /** Stops everything this session started and removes its folder. */
  async close() {
    await this.browser?.close().catch(() => {});
    const errors = [];
    for (const stop of [() => this.app?.stop(), () => this.devserver.stop()]) {
      try {
        await stop();
      } catch (err) {
        errors.push(err);
      }
    }
    await stopAll();
    if (this.dir) await fs.rm(this.dir, { recursive: true, force: true });
    if (errors.length) throw errors[0];
  }
}
