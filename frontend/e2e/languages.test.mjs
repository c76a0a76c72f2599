// The main journey with the UI in German and in Japanese, chosen through
// the language setting (in the first-run step, kept by Go): first run, a
// file added, its transcript opened, exported. On every view the labels
// are the language's (no English UI string shows), the transcript and the
// export stay the data they are (the keys pressed, untranslated), axe
// finds no serious violation, and the view fits 900x600 without text
// spilling out of its buttons. Screenshots of every view, light and dark,
// land in build/test-output/e2e/languages-<tag>/.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Session, makeDtmfRecording } from './lib/stack.mjs';
import { AppView, eventually } from './lib/ui.mjs';
import { englishOnly, translator } from './lib/catalogs.mjs';
import { assertAccessible, assertFits, assertNoEnglish, assertNoSpill } from './lib/checks.mjs';

/** A TCP port nothing listens on (one just let go of). */
async function freePort() {
  const srv = net.createServer();
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(undefined)));
  const { port } = /** @type {import('node:net').AddressInfo} */ (srv.address());
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/**
 * Asserts that text is one of Go's sentences (the go.* keys of the
 * catalog, generated from Go's formats) as the language words it, not as
 * English: its values (an address, a file's error text) may be anything.
 * @param {AppView} view
 */
async function assertGoSentence(view, text, what) {
  const en = await translator('en');
  const pattern = (/** @type {string} */ msg) =>
    new RegExp(`^${msg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\{\d+\\\}/g, '.+')}[.。]?$`, 'isu');
  const keys = Object.keys(en.catalog ?? {}).filter((k) => k.startsWith('go.'));
  const key = keys.find((k) => pattern(view.t(k)).test(text));
  assert.ok(key, `${what}: "${text}" is none of Go's sentences in ${view.t.tag}`);
  assert.doesNotMatch(text, pattern(en(key)), `${what}: "${text}" is the English`);
}

for (const tag of ['de', 'ja']) {
  describe(`the main journey in ${tag}`, () => {
    const s = new Session(`languages-${tag}`);
    /** @type {AppView} */
    let ui;
    /** @type {AppView} */
    let en;
    /** @type {import('playwright-core').Page} */
    let page;
    /** @type {Awaited<ReturnType<typeof englishOnly>>} */
    let english;
    /** @type {Awaited<ReturnType<typeof makeDtmfRecording>>} */
    let rec;
    const keys = () => rec.presses.map((p) => p.key);

    before(async () => {
      await s.open();
      page = /** @type {import('playwright-core').Page} */ (s.page);
      ui = await AppView.create(page, tag);
      en = await AppView.create(page, 'en');
      english = (await englishOnly(tag)).filter((e) => e.key !== 'language.name');
      rec = await makeDtmfRecording(s.dir);
    });
    after(() => s.close());

    /**
     * The view as it is: in the language, light and dark (a screenshot and
     * axe each), and at 900x600 (a screenshot; fits, nothing spills).
     * @param {import('node:test').TestContext} t
     */
    async function checkView(t, name) {
      assert.equal(await page.evaluate(() => document.documentElement.lang), tag, 'the page says its language');
      const texts = await assertNoEnglish(page, english, name);
      try {
        for (const scheme of /** @type {const} */ (['light', 'dark'])) {
          await page.emulateMedia({ colorScheme: scheme });
          await s.screenshot(`${name}-${scheme}`);
          await assertAccessible(t, page);
        }
        await page.setViewportSize({ width: 900, height: 600 });
        await s.screenshot(`${name}-900x600`);
        await assertFits(page, name);
        await assertNoSpill(page, name);
      } finally {
        await page.setViewportSize({ width: 1100, height: 900 });
        await page.emulateMedia({ colorScheme: 'light' });
      }
      return texts;
    }

    it('chooses the language in the first-run step: the step speaks it at once, and connects', async (t) => {
      assert.ok(await en.firstRun.visible(), 'a fresh profile shows the connection step');
      await page.getByRole('heading', { level: 1, name: en.t('setup.title') }).waitFor();
      // The check itself works: the step in English fails it.
      await assert.rejects(assertNoEnglish(page, english, 'the English step'), /Connect to your Triton server/);
      await en.firstRun.language(tag);
      await page.getByRole('heading', { level: 1, name: ui.t('setup.title') }).waitFor({ timeout: 5_000 });
      await ui.firstRun.server.fill(s.devserver.addr);
      await ui.firstRun.checkButton.click();
      await ui.firstRun.root.getByRole('group', { name: ui.t('setup.chooseModel') }).waitFor({ timeout: 20_000 });
      const texts = await checkView(t, 'first-run');
      assert.ok(texts.includes(ui.t('setup.continue')), `the Continue button is in ${tag}`);
      const offered = await ui.firstRun.connect(s.devserver.addr, 'dtmf');
      assert.ok(offered.some((m) => m.name === 'dtmf' && m.enabled), JSON.stringify(offered));
      await page.getByRole('heading', { level: 1, name: ui.t('transcribe.title') }).waitFor();
      await eventually(async () => (await ui.status()).ready === ui.t('status.ready') || undefined, 15_000, 'the status line to say ready');
      assert.equal((await ui.status()).jobs, ui.t('status.jobs', { count: 0 }));
      // Kept by Go, with the rest of the settings.
      const saved = await page.evaluate(() => window.go.main.App.GetSettings());
      assert.equal(saved.uiLanguage, tag);
    });

    it('transcribes a file; the queue speaks the language', async (t) => {
      await ui.addFiles([rec.wav]);
      const res = await ui.queue.finished('keys.wav');
      assert.ok(res.ok, JSON.stringify(res));
      const bar = page.getByRole('progressbar', { name: ui.t('queue.progress', { name: 'keys.wav' }) });
      assert.ok(((await bar.getAttribute('aria-valuetext')) ?? '').startsWith(ui.t('stage.done')));
      assert.equal((await page.getByTestId('queue-announcement').innerText()).trim(), ui.t('queue.announce.done', { name: 'keys.wav' }));
      await checkView(t, 'transcribe');
    });

    it('opens the transcript: the labels are translated, the transcript is the keys as they were pressed', async (t) => {
      await ui.queue.open('keys.wav');
      const segs = await ui.transcript.ready();
      await ui.transcript.audioLoaded();
      assert.equal(await ui.transcript.title(), 'keys.wav');
      assert.deepEqual(segs.flatMap((x) => x.text.split(/\s+/)), keys(), 'the transcript is data: the keys, untranslated');
      await ui.transcript.find('1');
      try {
        await checkView(t, 'transcript');
      } finally {
        await ui.transcript.closeFind();
      }
    });

    it('exports through the dialog: the file holds the keys, untranslated', async (t) => {
      const dialog = await ui.transcript.openExport();
      try {
        const dir = path.join(s.dir, 'out');
        await dialog.choose(['srt', 'txt'], dir);
        await checkView(t, 'export-dialog');
        const res = await dialog.run();
        assert.ok('written' in res, JSON.stringify(res));
        assert.deepEqual([...res.written].sort(), [path.join(dir, 'keys.srt'), path.join(dir, 'keys.txt')]);
        const txt = await fs.readFile(path.join(dir, 'keys.txt'), 'utf8');
        assert.deepEqual(txt.trim().split(/\s+/), keys());
        const srt = await fs.readFile(path.join(dir, 'keys.srt'), 'utf8');
        assert.ok(srt.startsWith('1\n00:00:'), srt.slice(0, 60));
        await checkView(t, 'export-written');
      } finally {
        await dialog.close();
      }
    });

    it('lists the transcript in the Library', async (t) => {
      await ui.go('Library');
      await ui.library.shows(1);
      assert.equal((await ui.library.count.innerText()).trim(), ui.t('library.count', { count: 1 }));
      await checkView(t, 'library');
    });

    it('shows Settings and the server status in the language', async (t) => {
      await ui.go('Settings');
      const check = await ui.settings.checkServer();
      assert.ok(check.ok, JSON.stringify(check));
      assert.equal(check.live, ui.t('common.yes'));
      assert.ok(check.models.includes(`dtmf ${ui.t('model.ready')}`), JSON.stringify(check.models));
      await page.getByText(ui.t('settings.more')).click();
      await checkView(t, 'settings');
    });

    it('speaks the language again after a reload (the setting is Go’s, not the webview’s)', async () => {
      await page.evaluate(() => localStorage.clear());
      page = await s.openPage();
      ui = await AppView.create(page, tag);
      await page.getByRole('heading', { level: 1, name: ui.t('transcribe.title') }).waitFor({ timeout: 10_000 });
      assert.equal(await page.evaluate(() => document.documentElement.lang), tag);
      await assertNoEnglish(page, english, 'Transcribe after a reload');
    });

    it('says in the language what Go reports: a server that is not reachable, a file that cannot be read', async () => {
      await ui.go('Settings');
      const addr = `127.0.0.1:${await freePort()}`;
      await ui.settings.server.fill(addr);
      const check = await ui.settings.checkServer();
      await ui.settings.server.fill(s.devserver.addr);
      assert.ok(!check.ok, JSON.stringify(check));
      assert.ok(check.error.includes(addr), `"${check.error}" names ${addr}`);
      await assertGoSentence(ui, check.error, 'Check server');

      await ui.go('Transcribe');
      const broken = path.join(s.dir, 'broken.wav');
      await fs.writeFile(broken, 'this is text, not a sound\n'.repeat(200));
      await ui.addFiles([broken]);
      const res = await ui.queue.finished('broken.wav');
      assert.ok(!res.ok && res.state === 'failed', JSON.stringify(res));
      await assertGoSentence(ui, res.error, 'the failed job');

      await fs.writeFile(path.join(s.dir, 'notes.txt'), 'not a recording\n');
      await ui.addFiles([path.join(s.dir, 'notes.txt')]);
      const skipped = page.getByTestId('skipped').filter({ hasText: 'notes.txt' });
      await skipped.waitFor({ timeout: 10_000 });
      const reason = (await skipped.innerText()).split(' — ').slice(1).join(' — ').trim();
      await assertGoSentence(ui, reason, 'the file not taken');
    });

    it('logged no errors in the page', () => {
      assert.deepEqual(s.pageErrors, []);
    });
  });
}
