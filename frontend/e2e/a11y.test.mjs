// Accessibility of the main view with axe-core in Chromium, in each state a
// person meets: fresh, with a server status, a chosen file and a
// transcript, and showing errors; in the light and the dark theme. No
// serious or critical violation of the WCAG 2.x A/AA rules is allowed.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { Session, makeDtmfRecording } from './lib/stack.mjs';
import { MainView, eventually } from './lib/ui.mjs';

const axeSource = /** @type {{ source: string }} */ (createRequire(import.meta.url)('axe-core')).source;
const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];

/**
 * Runs axe on the page and fails on serious or critical violations; the
 * rest are reported as diagnostics.
 * @param {import('node:test').TestContext} t
 * @param {import('playwright-core').Page} page
 */
async function assertAccessible(t, page) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: axeSource });
  const violations = await page.evaluate(
    async (runOnly) => {
      // @ts-ignore axe is injected above
      const res = await window.axe.run(document, { runOnly: { type: 'tag', values: runOnly }, resultTypes: ['violations'] });
      return res.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary?.split('\n').slice(1).join(' ')}`),
      }));
    },
    tags,
  );
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const v of violations.filter((v) => !bad.includes(v))) {
    t.diagnostic(`${v.impact}: ${v.id} (${v.help}) on ${v.nodes.length} element(s)`);
  }
  assert.deepEqual(bad, [], `serious or critical accessibility violations:\n${JSON.stringify(bad, null, 2)}`);
}

describe('accessibility of the main view (axe-core)', () => {
  const s = new Session('a11y');
  /** @type {MainView} */
  let ui;

  before(async () => {
    await s.open();
    ui = new MainView(/** @type {import('playwright-core').Page} */ (s.page));
  });
  after(() => s.close());

  it('finds violations where there are some (the check itself works)', async () => {
    const page = await /** @type {import('playwright-core').Browser} */ (s.browser).newPage();
    try {
      await page.setContent('<main><img src="x.png"><button></button><p style="color:#777;background:#888">faint</p></main>');
      await assert.rejects(
        assertAccessible(/** @type {any} */ ({ diagnostic() {} }), page),
        (err) => /image-alt/.test(String(err)) && /button-name/.test(String(err)) && /color-contrast/.test(String(err)),
      );
    } finally {
      await page.close();
    }
  });

  for (const scheme of /** @type {const} */ (['light', 'dark'])) {
    describe(`${scheme} theme`, () => {
      before(async () => {
        await s.page?.emulateMedia({ colorScheme: scheme });
      });

      it('fresh window', async (t) => {
        await s.openPage();
        ui = new MainView(/** @type {import('playwright-core').Page} */ (s.page));
        await s.page?.emulateMedia({ colorScheme: scheme });
        await s.screenshot(`${scheme}-fresh`);
        await assertAccessible(t, /** @type {import('playwright-core').Page} */ (s.page));
      });

      it('server status, a file, progress and a transcript', async (t) => {
        const rec = await makeDtmfRecording(s.dir, `keys-${scheme}`);
        await ui.setServer(s.devserver.addr, 'dtmf');
        assert.ok((await ui.checkServer()).ok);
        await ui.addFiles([rec.wav]);
        assert.ok((await ui.finished(`keys-${scheme}.wav`)).ok);
        await s.screenshot(`${scheme}-transcript`);
        await assertAccessible(t, /** @type {import('playwright-core').Page} */ (s.page));
      });

      it('errors', async (t) => {
        // A port nothing listens on: both actions fail at once.
        await ui.setServer('127.0.0.1:1', 'dtmf');
        assert.ok(!(await ui.checkServer()).ok);
        const rec = await makeDtmfRecording(s.dir, `gone-${scheme}`, ['--duration', scheme === 'light' ? '46' : '48']);
        // The job keeps retrying the server for a while: its row, still
        // running, and the files not taken are what is checked here.
        await ui.addFiles([rec.wav, `${s.dir}/notes.txt`]);
        await eventually(async () => ((await s.page?.getByTestId('skipped').count()) ?? 0) > 0, 10_000, 'the files not added');
        await ui.job(`gone-${scheme}.wav`).waitFor();
        await s.screenshot(`${scheme}-errors`);
        await assertAccessible(t, /** @type {import('playwright-core').Page} */ (s.page));
      });
    });
  }
});
