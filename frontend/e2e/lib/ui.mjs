// The app as a person uses it, for the end-to-end tests: one class per
// view, things found by their label, role or data-testid, never by layout
// or CSS classes. AppView holds them all and the sidebar between them.
import { sleep } from './processes.mjs';
import { exactly, translator } from './catalogs.mjs';

/** @typedef {import('./catalogs.mjs').T} T */


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

/** @typedef {import('playwright-core').Page} Page */

/** The connection step of a first start. */
export class FirstRunView {
  /** @param {Page} page @param {T} t */
  constructor(page, t) {
    this.page = page;
    this.t = t;
    this.root = page.getByTestId('first-run');
    this.server = this.root.getByLabel(t('settings.server'));
    this.checkButton = this.root.getByRole('button', { name: exactly(t('settings.check'), t('settings.checking')) });
  }

  /** Chooses the UI language in the step ('' = the system's). */
  async language(tag) {
    await this.root.getByTestId('setup-language').selectOption(tag);
  }

  async visible() {
    return this.root.isVisible();
  }

  /**
   * Types the address, checks it, chooses the model from the server's list
   * and continues. Resolves with the models offered (name and whether it
   * can be chosen).
   */
  async connect(addr, model) {
    await this.server.fill(addr);
    await this.checkButton.click();
    const list = this.root.getByRole('group', { name: this.t('setup.chooseModel') });
    await eventually(async () => (await list.isVisible()) || (await this.root.getByTestId('server-error').isVisible()), 20_000, 'the server check');
    const offered = [];
    for (const radio of await list.getByRole('radio').all()) {
      offered.push({ name: (await radio.getAttribute('value')) ?? '', enabled: await radio.isEnabled() });
    }
    await list.getByRole('radio', { name: new RegExp(`^${model}\\b`) }).check();
    await this.root.getByRole('button', { name: this.t('setup.continue') }).click();
    await this.root.waitFor({ state: 'detached', timeout: 10_000 });
    return offered;
  }
}

/** Settings: its own page. */
export class SettingsView {
  /** @param {Page} page @param {T} t */
  constructor(page, t) {
    this.page = page;
    this.t = t;
    this.server = page.getByLabel(t('settings.server'));
    this.model = page.getByLabel(t('settings.model'), { exact: true });
    this.checkButton = page.getByRole('button', { name: exactly(t('settings.check'), t('settings.checking')) });
    this.saveButton = page.getByRole('button', { name: exactly(t('settings.save'), t('settings.saving')) });
    this.serverError = page.getByTestId('server-error');
  }

  /** Chooses the UI language ('' = the system's). */
  async language(tag) {
    await this.page.getByTestId('ui-language').selectOption(tag);
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
    await eventually(async () => (await this.checkButton.textContent())?.trim() === this.t('settings.check'), timeoutMs, 'Check server to finish');
    if (await this.serverError.isVisible()) return { ok: false, error: (await this.serverError.innerText()).trim() };
    const text = async (id) => (await this.page.getByTestId(id).innerText()).trim();
    const models = await this.page.getByRole('list', { name: this.t('settings.models') }).getByRole('listitem').allInnerTexts();
    return {
      ok: true,
      live: await text('server-live'),
      ready: await text('server-ready'),
      version: await text('server-version'),
      models: models.map((m) => m.replace(/\s+/g, ' ').trim()),
    };
  }
}

/** Transcribe: the drop zone and the queue. */
export class QueueView {
  /** @param {Page} page @param {T} t */
  constructor(page, t) {
    this.page = page;
    this.t = t;
    this.jobs = page.getByRole('list', { name: t('queue.list') });
  }

  /** The queue row of the file with this base name (the latest one). */
  job(name) {
    return this.jobs.getByTestId('job').filter({ has: this.page.getByTestId('job-name').getByText(name, { exact: true }) }).last();
  }

  /**
   * Waits until the file's latest job has finished.
   * @returns {Promise<{ ok: true } | { ok: false, error: string, state: string }>}
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
    ).catch(async (err) => {
      // What Go's queue says, beside what the row shows: a row stuck on
      // a finished job, or a job stuck in Go.
      const jobs = await this.page
        .evaluate(() => window.go.main.App.Jobs())
        .then((js) => JSON.stringify((js ?? []).map((j) => ({ id: j.id, state: j.state, stage: j.progress?.stage, chunks: `${j.progress?.chunksDone}/${j.progress?.chunksTotal}`, error: j.error }))))
        .catch((e) => `unknown (${e})`);
      throw new Error(`${err.message}; the row says ${await row.getAttribute('data-state')}, Go's queue: ${jobs}`);
    });
    if (state === 'done') return { ok: true };
    const err = row.getByTestId('job-error');
    return { ok: false, state, error: (await err.count()) ? (await err.innerText()).trim() : '' };
  }

  /** Clicks Open on the file's row. */
  async open(name) {
    await this.job(name).getByRole('button', { name: this.t('queue.open.label', { name }) }).click();
  }

  /** Clicks Retry on the file's latest job. */
  async retry(name) {
    const row = this.job(name);
    const before = Number(await row.getAttribute('data-attempts'));
    await row.getByRole('button', { name: this.t('queue.retry.label', { name }) }).click();
    await eventually(async () => Number(await row.getAttribute('data-attempts')) > before, 10_000, `${name} to be queued again`);
  }
}

/** The transcript workspace. */
export class TranscriptView {
  /** @param {Page} page @param {T} t */
  constructor(page, t) {
    this.page = page;
    this.t = t;
    this.root = page.getByRole('region', { name: t('transcript.region') });
    this.toolbar = this.root.getByRole('toolbar', { name: t('transcript.tools') });
    this.playButton = this.root.getByRole('group', { name: t('player.region') }).getByRole('button', { name: exactly(t('player.play'), t('player.pause')) });
  }

  /** Waits for the workspace to show segments; resolves with them. */
  async ready(timeoutMs = 15_000) {
    await eventually(async () => (await this.root.getByTestId('segment').count()) > 0, timeoutMs, 'the transcript to show');
    return this.segments();
  }

  /** Waits for the audio, so the player can play. */
  async audioLoaded(timeoutMs = 20_000) {
    await eventually(async () => (await this.playButton.isEnabled()) || undefined, timeoutMs, 'the audio to load');
  }

  /** The header's file name. */
  async title() {
    return (await this.root.getByRole('heading', { level: 1 }).innerText()).trim();
  }

  /** The transcript's segments as shown: time stamp and text. */
  async segments() {
    const out = [];
    for (const row of await this.root.getByTestId('segment').all()) {
      out.push({
        time: (await row.getByTestId('segment-time').innerText()).trim(),
        text: (await row.getByTestId('segment-text').innerText()).trim(),
      });
    }
    return out;
  }

  /** Clicks the time of segment i (0-based) to play from there. */
  async playSegment(i) {
    await this.root.getByTestId('segment').nth(i).getByTestId('segment-time').click();
  }

  /** Segment i's words: their text and start time. */
  async words(i) {
    const out = [];
    for (const w of await this.root.getByTestId('segment').nth(i).getByTestId('word').all()) {
      out.push({ word: (await w.innerText()).trim(), start: Number(await w.getAttribute('data-start')) });
    }
    return out;
  }

  /** Clicks word k of segment i. */
  async playWord(i, k) {
    await this.root.getByTestId('segment').nth(i).getByTestId('word').nth(k).click();
  }

  /** What the player reports: its position in seconds and whether it plays. */
  async player() {
    const pos = this.root.getByTestId('player-position');
    return { seconds: Number(await pos.getAttribute('data-seconds')), playing: (await pos.getAttribute('data-playing')) === 'true' };
  }

  /** Waits until playback runs; resolves with the first position seen. */
  async playing(timeoutMs = 15_000) {
    return eventually(async () => {
      const p = await this.player();
      return p.playing ? p : undefined;
    }, timeoutMs, 'playback to start');
  }

  /** Edits segment i's text in place and saves it. */
  async editSegment(i, text) {
    await this.root.getByRole('button', { name: this.t('transcript.edit.label', { n: i + 1 }), exact: true }).click();
    await this.root.getByLabel(this.t('transcript.segmentText', { n: i + 1 }), { exact: true }).fill(text);
    await this.root.getByRole('button', { name: this.t('common.save'), exact: true }).click();
    await this.textIs(i, text);
  }

  /** Waits until segment i shows text. */
  async textIs(i, text, timeoutMs = 10_000) {
    await eventually(
      async () => (await this.root.getByTestId('segment').nth(i).getByTestId('segment-text').innerText()).trim() === text,
      timeoutMs,
      `segment ${i + 1} to read "${text}"`,
    );
  }

  /** Opens Find & replace with Ctrl+F and types what to find. */
  async find(query) {
    await this.page.keyboard.press('Control+f');
    const box = this.root.getByLabel(this.t('find.find'), { exact: true });
    await box.waitFor();
    await box.fill(query);
    return (await this.root.getByTestId('search-count').innerText()).trim();
  }

  /** Fills Replace with and clicks Replace (one) or Replace all. */
  async replace(replacement, all = false) {
    await this.root.getByLabel(this.t('find.replace')).fill(replacement);
    await this.root.getByRole('button', { name: this.t(all ? 'find.replaceAll' : 'find.replaceOne'), exact: true }).click();
  }

  async closeFind() {
    await this.root.getByLabel(this.t('find.find'), { exact: true }).press('Escape');
    await this.root.getByTestId('find-bar').waitFor({ state: 'detached' });
  }

  async undo() {
    await this.toolbar.getByRole('button', { name: this.t('transcript.undo') }).click();
  }

  async redo() {
    await this.toolbar.getByRole('button', { name: this.t('transcript.redo') }).click();
  }

  /** Opens the export dialog from the toolbar. */
  async openExport() {
    await this.toolbar.getByRole('button', { name: this.t('transcript.export') }).click();
    const dialog = new ExportDialog(this.page, this.t);
    await dialog.root.waitFor();
    return dialog;
  }

  async back() {
    await this.root.getByRole('button', { name: this.t('transcript.back'), exact: true }).click();
  }
}

/** The Export… dialog. */
export class ExportDialog {
  /** @param {Page} page @param {T} t */
  constructor(page, t) {
    this.page = page;
    this.t = t;
    this.root = page.getByRole('dialog', { name: t('export.title') });
  }

  /** Chooses the formats (ids such as 'srt') and a folder to write into. */
  async choose(formats, dir) {
    for (const box of await this.root.getByRole('group', { name: this.t('export.formats') }).getByRole('checkbox').all()) {
      const label = (await box.locator('xpath=..').innerText()).trim();
      const id = label.match(/\((\w+)\)$/)?.[1]?.toLowerCase() ?? label.toLowerCase();
      await box.setChecked(formats.includes(id === 'markdown' ? 'md' : id));
    }
    await this.root.getByRole('radio', { name: this.t('export.where.folder') }).check();
    await this.root.getByLabel(this.t('export.folder')).fill(dir);
  }

  /**
   * Clicks Export; resolves with the files written, or with the files the
   * overwrite prompt lists.
   * @returns {Promise<{ written: string[] } | { existing: string[] }>}
   */
  async run() {
    await this.root.getByRole('button', { name: this.t('export.run'), exact: true }).click();
    const written = this.root.getByTestId('export-written');
    const prompt = this.root.getByTestId('export-overwrite');
    await eventually(async () => (await written.isVisible()) || (await prompt.isVisible()), 10_000, 'the export to finish');
    if (await prompt.isVisible()) return { existing: (await prompt.getByRole('listitem').allInnerTexts()).map((t) => t.trim()) };
    return { written: (await written.getByRole('listitem').allInnerTexts()).map((t) => t.trim()) };
  }

  /** Answers the overwrite prompt: Replace (resolving with what was written) or Keep them. */
  async answer(replace) {
    const prompt = this.root.getByTestId('export-overwrite');
    await prompt.getByRole('button', { name: this.t(replace ? 'export.replace' : 'export.keep') }).click();
    if (!replace) {
      await prompt.waitFor({ state: 'detached' });
      return [];
    }
    const written = this.root.getByTestId('export-written');
    await written.waitFor({ timeout: 10_000 });
    return (await written.getByRole('listitem').allInnerTexts()).map((t) => t.trim());
  }

  /** Closes with Escape. */
  async close() {
    await this.page.keyboard.press('Escape');
    await this.root.waitFor({ state: 'detached' });
  }
}

/** Library: past transcripts. */
export class LibraryView {
  /** @param {Page} page @param {T} t */
  constructor(page, t) {
    this.page = page;
    this.t = t;
    this.items = page.getByRole('list', { name: t('library.list') }).getByTestId('history-item');
    this.count = page.getByTestId('library-count');
  }

  /** Types into the search box; the search goes out once typing pauses. */
  async search(q) {
    await this.page.getByLabel(this.t('library.search')).pressSequentially(q, { delay: 30 });
  }

  async clearSearch() {
    await this.page.getByLabel(this.t('library.search')).fill('');
  }

  /** Chooses the date and model filters by their labels. */
  async filter({ date, model }) {
    if (date) await this.page.getByLabel(this.t('library.date'), { exact: true }).selectOption({ label: date });
    if (model !== undefined) {
      await this.page.getByLabel(this.t('library.model'), { exact: true }).selectOption(model === '' ? { label: this.t('library.model.any') } : { label: model });
    }
  }

  /** Waits until the list shows n entries; resolves with their names. */
  async shows(n, timeoutMs = 10_000) {
    await eventually(async () => (await this.items.count()) === n && !(await this.count.innerText()).includes(this.t('library.searching')), timeoutMs, `the library to list ${n} transcript(s)`);
    return (await this.items.locator('.name').allInnerTexts()).map((t) => t.trim());
  }

  async open(name, nth = 0) {
    await this.items.getByRole('button', { name: this.t('queue.open.label', { name }) }).nth(nth).click();
  }
}

/** The sidebar's places: their button's and their heading's messages. */
const places = {
  Transcribe: ['nav.transcribe', 'transcribe.title'],
  Library: ['nav.library', 'library.title'],
  Settings: ['nav.settings', 'settings.title'],
};

export class AppView {
  /**
   * The views with their labels in one language: `await AppView.create(page)`
   * (English) or `AppView.create(page, 'de')`.
   * @param {Page} page
   * @param {string} [tag]
   */
  static async create(page, tag = 'en') {
    return new AppView(page, await translator(tag));
  }

  /** @param {Page} page @param {T} t  from translator(tag) in catalogs.mjs */
  constructor(page, t) {
    this.page = page;
    this.t = t;
    this.firstRun = new FirstRunView(page, t);
    this.settings = new SettingsView(page, t);
    this.queue = new QueueView(page, t);
    this.transcript = new TranscriptView(page, t);
    this.library = new LibraryView(page, t);
    this.exportDialog = new ExportDialog(page, t);
  }

  get nav() {
    return this.page.getByRole('navigation', { name: this.t('nav.label') });
  }

  /** Goes to a place in the sidebar: 'Transcribe', 'Library' or 'Settings'. */
  async go(place) {
    const [button, heading] = places[/** @type {keyof places} */ (place)];
    await this.nav.getByRole('button', { name: this.t(button), exact: true }).click();
    await this.page.getByRole('heading', { level: 1, name: this.t(heading), exact: true }).waitFor({ timeout: 10_000 });
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

  /** The status line's parts. */
  async status() {
    const text = async (id) => (await this.page.getByTestId(id).innerText()).trim();
    return {
      ready: await text('status-ready'),
      server: await text('status-server'),
      model: await text('status-model'),
      jobs: await text('status-jobs'),
      throughput: await text('status-throughput'),
    };
  }

  /** Opens a finished file's transcript from the queue; resolves with its segments. */
  async openFromQueue(name) {
    await this.go('Transcribe');
    await this.queue.open(name);
    return this.transcript.ready();
  }
}
