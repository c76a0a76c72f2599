// Accessibility of every view with axe-core in Chromium: the first-run
// step, Transcribe with a queue, the transcript workspace (with Find &
// replace open), the Export dialog, the Library, Settings, and errors; in
// the light and the dark theme, with a screenshot of each. No serious or
// critical violation of the WCAG 2.x A/AA rules is allowed. Each view must
// also fit a 900x600 window without scrolling sideways.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { Session, makeDtmfRecording } from './lib/stack.mjs';
import { AppView, eventually } from './lib/ui.mjs';
import { assertAccessible, assertFits } from './lib/checks.mjs';

describe('accessibility of every view (axe-core)', () => {
  const s = new Session('a11y');
  /** @type {AppView} */
  let ui;
  /** @type {import('playwright-core').Page} */
  let page;

  before(async () => {
    await s.open();
    page = /** @type {import('playwright-core').Page} */ (s.page);
    ui = await AppView.create(page);
    await fs.writeFile(`${s.dir}/notes.txt`, 'not audio');
  });
  after(() => s.close());

  it('finds violations where there are some (the check itself works)', async () => {
    const p = await /** @type {import('playwright-core').Browser} */ (s.browser).newPage();
    try {
      await p.setContent('<main><img src="x.png"><button></button><p style="color:#777;background:#888">faint</p></main>');
      await assert.rejects(
        assertAccessible(/** @type {any} */ ({ diagnostic() {} }), p),
        (err) => /image-alt/.test(String(err)) && /button-name/.test(String(err)) && /color-contrast/.test(String(err)),
      );
    } finally {
      await p.close();
    }
  });

  /**
   * Checks the page as it is, in both themes and at 900x600 too; a
   * screenshot of each theme.
   * @param {import('node:test').TestContext} t
   */
  async function checkView(t, name) {
    try {
      for (const scheme of /** @type {const} */ (['light', 'dark'])) {
        await page.emulateMedia({ colorScheme: scheme });
        await s.screenshot(`${name}-${scheme}`);
        await assertAccessible(t, page);
      }
      await page.setViewportSize({ width: 900, height: 600 });
      await s.screenshot(`${name}-900x600`);
      await assertFits(page, name);
    } finally {
      await page.setViewportSize({ width: 1100, height: 900 });
      await page.emulateMedia({ colorScheme: 'light' });
    }
  }

  it('first-run step', async (t) => {
    assert.ok(await ui.firstRun.visible());
    await checkView(t, 'first-run');
    await ui.firstRun.connect(s.devserver.addr, 'dtmf');
  });

  it('Transcribe with a queue', async (t) => {
    const rec = await makeDtmfRecording(s.dir, 'keys');
    await ui.addFiles([rec.wav, `${s.dir}/notes.txt`]);
    assert.ok((await ui.queue.finished('keys.wav')).ok);
    await eventually(async () => ((await page.getByTestId('skipped').count()) > 0) || undefined, 10_000, 'the files not added');
    await checkView(t, 'transcribe');
  });

  it('transcript workspace, with Find & replace open', async (t) => {
    await ui.queue.open('keys.wav');
    await ui.transcript.ready();
    await ui.transcript.audioLoaded();
    await ui.transcript.find('1');
    try {
      await checkView(t, 'transcript');
    } finally {
      await ui.transcript.closeFind();
    }
  });

  it('Export dialog', async (t) => {
    const dialog = await ui.transcript.openExport();
    try {
      await dialog.choose(['srt', 'txt'], `${s.dir}/out`);
      await checkView(t, 'export-dialog');
    } finally {
      await dialog.close();
    }
  });

  it('Library', async (t) => {
    await ui.go('Library');
    await ui.library.shows(1);
    await page.getByRole('checkbox', { name: 'Select keys.wav for export' }).check();
    await checkView(t, 'library');
  });

  it('Settings with the server status', async (t) => {
    await ui.go('Settings');
    assert.ok((await ui.settings.checkServer()).ok);
    await page.getByText('More settings').click();
    await checkView(t, 'settings');
  });

  it('errors: an unreachable server and a failing job', async (t) => {
    // A port nothing listens on: both actions fail at once.
    await ui.settings.setServer('127.0.0.1:1', 'dtmf');
    assert.ok(!(await ui.settings.checkServer()).ok);
    await checkView(t, 'settings-error');
    const rec = await makeDtmfRecording(s.dir, 'gone', ['--duration', '46']);
    await ui.go('Transcribe');
    // The job keeps retrying the server for a while: its row, still
    // running, is what is checked here.
    await ui.addFiles([rec.wav]);
    await ui.queue.job('gone.wav').waitFor();
    await checkView(t, 'transcribe-error');
  });
});
