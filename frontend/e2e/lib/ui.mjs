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
    this.saveButton = page.getByRole('button', { name: /^(Save settings|Saving…)$/ });
    this.serverStatus = page.getByTestId('server-status');
    this.serverError = page.getByTestId('server-error');
    this.jobs = page.getByRole('list', { name: 'Files in the queue' });
    this.transcript = page.getByRole('region', { name: 'Transcript' });
  }

  /** Types a server address and model as a person would, and saves. */
  async setServer(addr, model) {
    await this.server.fill(addr);
    await this.model.fill(model);
    await this.save();
  }

  /** Clicks Save settings and waits for "Saved." or the refusal. */
  async save() {
    await this.saveButton.click();
    await eventually(
      async () => (await this.page.getByTestId('settings-saved').isVisible()) || (await this.page.getByTestId('settings-error').isVisible()),
      10_000,
      'the settings to be saved',
    );
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
   * drop). Resolves with the Go side's answer.
   * @param {string[]} files
   * @returns {Promise<{ added: number[], skipped: { path: string, reason: string }[] }>}
   */
  async addFiles(files) {
    return this.page.evaluate((paths) => window.go.main.App.AddFiles(paths), files);
  }

  /** The queue row of the file with this base name (the latest one). */
  job(name) {
    return this.jobs.getByTestId('job').filter({ has: this.page.getByTestId('job-name').getByText(name, { exact: true }) }).last();
  }

  /**
   * Waits until the file's latest job has finished; resolves with the
   * transcript's segments (opening it) or the job's error.
   * @returns {Promise<{ ok: true, segments: { time: string, text: string }[] } | { ok: false, error: string, state: string }>}
   */
  async finished(name, timeoutMs = 60_000) {
    const row = this.job(name);
    const state = await eventually(
      async () => {
        const st = await row.getAttribute('data-state');
        return st === 'done' || st === 'failed' || st === 'cancelled' ? st : undefined;
      },
      timeoutMs,
      `${name} to finish`,
    );
    if (state !== 'done') {
      const err = row.getByTestId('job-error');
      return { ok: false, state, error: (await err.count()) ? (await err.innerText()).trim() : '' };
    }
    await row.getByRole('button', { name: `Open the transcript of ${name}` }).click();
    await eventually(async () => (await this.transcript.getByTestId('segment').count()) > 0, 10_000, 'the transcript to show');
    return { ok: true, segments: await this.segments() };
  }

  /** Clicks Retry on the file's latest job. */
  async retry(name) {
    const row = this.job(name);
    const before = Number(await row.getAttribute('data-attempts'));
    await row.getByRole('button', { name: `Retry ${name}` }).click();
    await eventually(async () => Number(await row.getAttribute('data-attempts')) > before, 10_000, `${name} to be queued again`);
  }

  /** Clicks the time of segment i (0-based) to play from there. */
  async playSegment(i) {
    await this.transcript.getByTestId('segment').nth(i).getByTestId('segment-time').click();
  }

  /** What the player reports: its position in seconds and whether it plays. */
  async player() {
    const pos = this.transcript.getByTestId('player-position');
    return { seconds: Number(await pos.getAttribute('data-seconds')), playing: (await pos.getAttribute('data-playing')) === 'true' };
  }

  /** Edits segment i's text and saves it. */
  async editSegment(i, text) {
    await this.transcript.getByRole('button', { name: `Edit segment ${i + 1}`, exact: true }).click();
    await this.transcript.getByLabel(`Text of segment ${i + 1}`, { exact: true }).fill(text);
    await this.transcript.getByRole('button', { name: 'Save', exact: true }).click();
    await eventually(async () => (await this.transcript.getByTestId('segment').nth(i).getByTestId('segment-text').innerText()).trim() === text, 10_000, 'the edit to show');
  }

  /**
   * Exports the open transcript in the formats (ids such as 'srt') into dir;
   * resolves with the files the UI says it wrote.
   */
  async exportTo(formats, dir) {
    const panel = this.page.getByRole('region', { name: 'Export' });
    for (const box of await panel.getByRole('group', { name: 'Formats' }).getByRole('checkbox').all()) {
      const label = (await box.locator('xpath=..').innerText()).trim();
      const id = label.match(/\((\w+)\)$/)?.[1]?.toLowerCase() ?? label.toLowerCase();
      await box.setChecked(formats.includes(id === 'markdown' ? 'md' : id));
    }
    await panel.getByRole('radio', { name: 'In a folder' }).check();
    await panel.getByLabel('Export folder').fill(dir);
    await panel.getByRole('button', { name: 'Export this transcript' }).click();
    const written = panel.getByTestId('export-written');
    await written.waitFor({ timeout: 10_000 });
    return (await written.getByRole('listitem').allInnerTexts()).map((t) => t.trim());
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
