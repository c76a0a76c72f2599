// Every model's state as a real server reports it, in the first-run step
// and in Settings: the devserver lists a folder that is on disk but not
// loaded and fails to load one model with a reason. A person sees which
// models can be chosen and why the others cannot; only a ready speech
// model can be picked. Screenshots in build/test-output/e2e/models/.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Session } from './lib/stack.mjs';
import { AppView } from './lib/ui.mjs';
import { assertAccessible } from './lib/checks.mjs';

const reason = 'CUDA out of memory while loading voices';

describe('models the server cannot use yet', () => {
  const s = new Session('models', { devserverArgs: ['--on-disk', 'parakeet-tdt-0.6b-v2', '--fail-load', `voices=${reason}`] });
  /** @type {AppView} */
  let ui;
  /** @type {import('playwright-core').Page} */
  let page;

  before(async () => {
    await s.open();
    page = /** @type {import('playwright-core').Page} */ (s.page);
    ui = await AppView.create(page);
  });
  after(() => s.close());

  /** The rows of a model list: name, state text, whether it can be chosen. */
  async function rows(testid) {
    const out = {};
    for (const row of await page.getByTestId(testid).all()) {
      const name = (await row.locator('.name').innerText()).trim();
      const radio = row.getByRole('radio');
      out[name] = {
        state: await row.getAttribute('data-state'),
        text: (await row.innerText()).replace(/\s+/g, ' ').trim(),
        ...((await radio.count()) ? { enabled: await radio.isEnabled() } : {}),
      };
    }
    return out;
  }

  it('offers only the ready speech model in the first-run step and says why not the others', async (t) => {
    await ui.firstRun.server.fill(s.devserver.addr);
    await ui.firstRun.checkButton.click();
    await page.getByTestId('setup-model').first().waitFor({ timeout: 20_000 });
    const got = await rows('setup-model');
    assert.deepEqual(got, {
      dtmf: { state: 'ready', text: 'dtmf ready', enabled: true },
      voices: { state: 'failed', text: `voices failed to load ${reason}`, enabled: false },
      'parakeet-tdt-0.6b-v2': { state: 'notLoaded', text: 'parakeet-tdt-0.6b-v2 not loaded on the server', enabled: false },
    });
    await s.screenshot('first-run');
    await assertAccessible(t, page);
    await ui.firstRun.connect(s.devserver.addr, 'dtmf');
  });

  it('lists every model with its state in Settings, and says why the chosen one cannot be used', async (t) => {
    await ui.go('Settings');
    await ui.settings.model.fill('parakeet-tdt-0.6b-v2');
    const check = await ui.settings.checkServer();
    assert.ok(check.ok, JSON.stringify(check));
    const got = await rows('server-model');
    assert.equal(got.dtmf.state, 'ready');
    assert.equal(got.voices.text, `voices failed to load ${reason}`);
    assert.equal(got['parakeet-tdt-0.6b-v2'].text, 'parakeet-tdt-0.6b-v2 not loaded on the server');
    assert.equal(
      (await page.getByTestId('model-unusable').innerText()).trim(),
      'The model “parakeet-tdt-0.6b-v2” cannot be used now: not loaded on the server.',
    );
    assert.equal((await page.getByTestId('status-ready').innerText()).trim(), 'Model not loaded');
    await s.screenshot('settings');
    await assertAccessible(t, page);
  });
});
