// The main view as a person uses it, for the end-to-end tests: find things
// by their label, role or data-testid, never by layout or CSS classes.
// New views (queue, history, settings) get a class of their own here.
import { sleep } from './processes.mjs';

/**
 * Polls fn until it returns a value that is not undefined/false, or throws
 * with the last error after timeoutMs.
 * @template T
 * @param {() => Promise<T | undefined | false>} fn
 * @param {number} timeoutMs
 * @param {string} what  said in the error
 * @returns {Promise<T>}
 */
export async function eventually(fn, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return /** @type {T} */ (v);
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ''}`);
    }
    await sleep(50);
  }
}

export class MainView {
  /** @param {import('playwright-core').Page} page */
  constructor(page) {
    this.page = page;
    this.server = page.getByLabel('Server address');
    this.model = page.getByLabel('Model', { exact: true });
    this.checkButton = page.getByRole('button', { name: /^(Check server|Checking…)$/ });
    this.serverStatus = page.getByTestId('server-status');
    this.serverError = page.getByTestId('server-error');
    this.selectedFile = page.getByTestId('selected-file');
    this.transcribeButton = page.getByRole('button', { name: /^(Transcribe|Transcribing…)$/ });
    this.progress = page.getByRole('progressbar', { name: 'Transcription progress' });
    this.transcribeError = page.getByTestId('transcribe-error');
    this.transcript = page.getByRole('region', { name: 'Transcript' });
  }

  /** Types a server address and model as a person would. */
  async setServer(addr, model) {
    await this.server.fill(addr);
    await this.model.fill(model);
  }

  /**
   * Clicks Check server and waits for its answer: the status or an error.
   * @returns {Promise<{ ok: true, live: string, ready: string, version: string, models: string[] } | { ok: false, error: string }>}
   */
  async checkServer(timeoutMs = 20_000) {
    await this.checkButton.click();
    await eventually(async () => (await this.checkButton.textContent())?.trim() === 'Check server', timeoutMs, 'Check server to finish');
    if (await this.serverError.isVisible()) return { ok: false, error: (await this.serverError.innerText()).trim() };
    const text = async (id) => (await this.page.getByTestId(id).innerText()).trim();
    const models = await this.page.getByRole('list', { name: 'Models on this server' }).getByRole('listitem').allInnerTexts();
    return {
      ok: true,
      live: await text('server-live'),
      ready: await text('server-ready'),
      version: await text('server-version'),
      models: models.map((m) => m.replace(/\s+/g, ' ').trim()),
    };
  }

  /**
   * Adds files the way a drop on the window does: through the bound Go
   * method the native drop handler calls (a browser cannot make a native
   * drop), then waits for the UI to show the file.
   * @param {string[]} files
   */
  async addFiles(files) {
    await this.page.evaluate((paths) => window.go.main.App.AddFiles(paths), files);
    await eventually(async () => (await this.selectedFile.isVisible()) && (await this.selectedFile.innerText()) === files[0], 10_000, `${files[0]} to show as the selected file`);
  }

  /**
   * Clicks Transcribe and waits until it is done: resolves with the
   * segments shown, or the error shown.
   * @returns {Promise<{ ok: true, segments: { time: string, text: string }[] } | { ok: false, error: string }>}
   */
  async transcribe(timeoutMs = 60_000) {
    await this.transcribeButton.click();
    await eventually(async () => (await this.transcribeButton.textContent())?.trim() === 'Transcribe', timeoutMs, 'the transcription to finish');
    if (await this.transcribeError.isVisible()) return { ok: false, error: (await this.transcribeError.innerText()).trim() };
    return { ok: true, segments: await this.segments() };
  }

  /** The transcript's segments as shown: time stamp and text. */
  async segments() {
    const rows = this.transcript.getByTestId('segment');
    const out = [];
    for (const row of await rows.all()) {
      out.push({
        time: (await row.getByTestId('segment-time').innerText()).trim(),
        text: (await row.getByTestId('segment-text').innerText()).trim(),
      });
    }
    return out;
  }
}
