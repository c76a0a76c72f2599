// Settings → Local server against the real app backend, with a fake
// docker (backend/localserver/internal/fakedocker) first on the app's PATH
// and no nvidia-smi: the checklist says what is missing and offers the
// CPU profile; Start shows its steps in words up to ready (the fake's
// "up" starts triton-devserver on the ports chosen), the server setting
// points at it and the status line says "local server"; a file
// transcribes there; View log, Stop. axe and screenshots, light and dark.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Session, makeDtmfRecording, paths } from './lib/stack.mjs';
import { freePort } from './lib/processes.mjs';
import { AppView, eventually } from './lib/ui.mjs';
import { assertAccessible, assertFits } from './lib/checks.mjs';

// What BuildKit prints while the image builds, and the container's first
// start (Triton, NeMo's download, our backend), as the fake replays them.
const buildLog = `#5 [triton 1/5] FROM nvcr.io/nvidia/tritonserver:25.10-py3@sha256:3b1f0c6e2d9a
#5 sha256:3b1f0c6e2d9a4b5c 1.05GB / 6.20GB 10.2s
#5 sha256:3b1f0c6e2d9a4b5c 6.20GB / 6.20GB 61.0s done
#6 [triton 2/5] RUN apt-get update  && apt-get install -y --no-install-recommends curl libsndfile1
#7 [triton 3/5] RUN python3 -m pip install "torch==2.12.0"
#8 [triton 4/5] COPY . /opt/nemo-transcribe/models
#9 [triton 5/5] RUN install -m 0755 /opt/nemo-transcribe/models/serve.sh /usr/local/bin/nemo-transcribe-serve
`;
const startupLog =
  'serve.sh: starting Triton with: --load-model=dtmf\n' +
  'I1202 10:00:00.000000 1 model_lifecycle.cc:473] "loading: dtmf:1"\n' +
  'dtmf.nemo:  45%|████▌     | 1.11G/2.47G [00:10<00:12, 110MB/s]\n' +
  'I1202 10:00:30.000000 1 model_lifecycle.cc:849] "successfully loaded \'dtmf\'"\n';

const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'nemo-e2e-localserver-bin-'));
const dockerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nemo-e2e-localserver-docker-'));

describe('the local server, set up and started from Settings', () => {
  // Only docker is faked: without nvidia-smi the machine has no NVIDIA GPU.
  const s = new Session('localserver', {
    appEnv: { PATH: `${bin}${path.delimiter}${process.env.PATH}`, FAKE_DOCKER_DIR: dockerDir, FAKE_DEVSERVER: paths.devserver },
  });
  /** @type {AppView} */
  let ui;
  /** @type {import('playwright-core').Page} */
  let page;
  let grpcPort = 0;
  let address = '';

  before(async () => {
    execFileSync('go', ['build', '-o', path.join(bin, 'docker'), './backend/localserver/internal/fakedocker'], { cwd: paths.repo, stdio: 'inherit' });
    // Docker Engine on Linux, answering.
    fs.writeFileSync(
      path.join(dockerDir, 'version.stdout'),
      '{"Client":{"Platform":{"Name":"Docker Engine - Community"},"Version":"27.3.1"},"Server":{"Platform":{"Name":"Docker Engine - Community"},"Version":"27.3.1","Os":"linux","KernelVersion":"6.1.0-18-amd64"}}\n',
    );
    fs.writeFileSync(
      path.join(dockerDir, 'info.stdout'),
      '{"OperatingSystem":"Debian GNU/Linux 12 (bookworm)","OSType":"linux","KernelVersion":"6.1.0-18-amd64","DockerRootDir":"/","ServerVersion":"27.3.1","Runtimes":{"runc":{"path":"runc"}}}\n',
    );
    fs.writeFileSync(path.join(dockerDir, 'compose-build.stdout'), buildLog);
    fs.writeFileSync(path.join(dockerDir, 'startup.log'), startupLog);
    // Ready a few seconds after it listens, so the loading step shows.
    fs.writeFileSync(path.join(dockerDir, 'devserver.args'), '--ready-after\n3s\n');
    await s.open();
    page = /** @type {import('playwright-core').Page} */ (s.page);
    ui = await AppView.create(page);
    // The devserver hosts dtmf: the user adds it to the local server's
    // repository as they would their own checkpoint.
    const repo = path.join(s.dir, 'profile', '.local', 'share', 'nemo-transcribe', 'local-server', 'repository-cpu', 'dtmf');
    fs.mkdirSync(path.join(repo, '1'), { recursive: true });
    fs.writeFileSync(path.join(repo, 'config.pbtxt'), 'name: "dtmf"\nbackend: "python"\nparameters [ { key: "nemo_model", value: { string_value: "nvidia/dtmf" } } ]\n');
  });
  after(async () => {
    // The fake's container (a devserver) outlives the app: end it.
    try {
      process.kill(Number(fs.readFileSync(path.join(dockerDir, 'devserver.pid'), 'utf8')));
    } catch {
      // stopped already
    }
    await s.close();
    fs.rmSync(bin, { recursive: true, force: true });
    fs.rmSync(dockerDir, { recursive: true, force: true });
  });

  /** @param {import('node:test').TestContext} t */
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

  const calls = () => (fs.existsSync(path.join(dockerDir, 'calls.log')) ? fs.readFileSync(path.join(dockerDir, 'calls.log'), 'utf8') : '');

  it('runs no docker before the page is opened', async () => {
    await ui.firstRun.connect(s.devserver.addr, 'dtmf');
    await ui.go('Settings');
    assert.equal(calls(), '', 'docker ran at startup');
  });

  it('opening the page shows the checklist: Docker found, no GPU, the CPU profile offered', async (t) => {
    await page.getByRole('heading', { name: 'Local server' }).click();
    const checks = page.getByTestId('local-check');
    await eventually(async () => (await checks.count()) === 7 || undefined, 20_000, 'the checklist');
    const line = (id) => page.locator(`[data-testid="local-check"][data-id="${id}"]`);
    assert.equal(await line('docker').getAttribute('data-state'), 'ok');
    assert.match(await line('engine').innerText(), /Docker Engine 27\.3\.1/);
    assert.equal(await line('gpu').getAttribute('data-state'), 'missing');
    assert.match(await line('gpu').getByTestId('local-fix').innerText(), /CPU profile/);
    assert.ok(await page.getByTestId('local-profile-cpu').isChecked());
    assert.match(await page.getByTestId('local-cpu-note').innerText(), /much slower/);
    assert.match(calls(), /"version"/);
    await checkView(t, 'checklist');
  });

  it('sharing on the LAN shows the TLS advice', async () => {
    await page.getByTestId('local-lan').check();
    const note = await page.getByTestId('local-lan-note').innerText();
    assert.match(note, /TLS/);
    assert.match(note, /firewall/);
    await page.getByTestId('local-lan').uncheck();
  });

  it('Start shows its steps in words, then ready; the setting points at the local server', async () => {
    for (const box of await page.getByTestId('local-model').all()) {
      if ((await box.getAttribute('value')) === 'dtmf') await box.check();
      else if (await box.isChecked()) await box.uncheck();
    }
    await page.getByText('Ports', { exact: true }).click();
    grpcPort = await freePort();
    await page.getByTestId('local-port-grpc').fill(String(grpcPort));
    await page.getByTestId('local-port-http').fill(String(await freePort()));
    await page.getByTestId('local-port-metrics').fill(String(await freePort()));
    address = `127.0.0.1:${grpcPort}`;
    // Every event as it reaches the page, beside what the page shows.
    await page.evaluate(() => {
      // @ts-ignore
      window.__localProgress = [];
      // @ts-ignore
      window.runtime.EventsOn('localserver:progress', (p) => window.__localProgress.push(p));
    });
    await page.getByTestId('local-start').click();

    // Follow the steps as the page shows them.
    const seen = new Set();
    const now = page.getByTestId('local-progress-now');
    await eventually(
      async () => {
        const phase = await now.getAttribute('data-phase').catch(() => null);
        if (phase) seen.add(`${phase}: ${(await now.innerText()).trim()}`);
        return phase === 'ready' || undefined;
      },
      60_000,
      'the local server to be ready',
    );
    const phases = [...seen].map((x) => x.split(':')[0]);
    assert.ok(phases.includes('loading'), `the loading step was never shown: ${[...seen].join(' | ')}`);
    assert.match(await now.innerText(), new RegExp(`ready at ${address.replace(/\./g, '\\.')}`));
    const steps = await page.getByTestId('local-step').evaluateAll((els) => els.map((e) => `${e.dataset.step}:${e.dataset.state}`));
    assert.deepEqual(steps, ['image:done', 'model:done', 'loading:done', 'ready:done']);
    await eventually(async () => (await page.getByTestId('local-pointed').isVisible()) || undefined, 10_000, 'the setting to point at the local server');
    assert.match(await page.getByTestId('local-pointed').innerText(), new RegExp(address.replace(/\./g, '\\.')));
    await eventually(async () => (await page.getByTestId('local-status').getAttribute('data-state')) === 'ready' || undefined, 20_000, 'the status to say running');
    // Go sent every phase, in order (the dev server may deliver them out of order: seq says).
    // @ts-ignore
    const events = (await page.evaluate(() => window.__localProgress)).sort((a, b) => a.seq - b.seq);
    const order = events.map((e) => e.phase).filter((p, i, all) => p !== all[i - 1]);
    // Triton announces a model's loading before NeMo downloads its checkpoint, so loading may come twice.
    const want = ['prepare', 'image_download', 'image_build', 'container', 'model_download', 'loading', 'ready'];
    let at = 0;
    for (const p of order) if (p === want[at]) at++;
    assert.equal(at, want.length, `phases ${order.join(', ')} lack ${want[at]}: ${JSON.stringify(events.map((e) => e.message))}`);
    assert.equal(order.at(-1), 'ready');
  });

  it('the status line says local server', async (t) => {
    const status = await ui.status();
    assert.equal(status.server, address);
    assert.equal(status.model, 'dtmf');
    await eventually(async () => (await page.getByTestId('status-local').innerText()).trim() === 'local server' || undefined, 20_000, 'the status line to name the local server');
    await checkView(t, 'ready');
  });

  it('a file transcribes against it', async () => {
    const rec = await makeDtmfRecording(s.dir, 'keys');
    await ui.addFiles([rec.wav]);
    await ui.go('Transcribe');
    assert.ok((await ui.queue.finished('keys.wav')).ok);
    const jobs = await page.evaluate(() => window.go.main.App.Jobs());
    assert.equal(jobs[0].request.server, address);
    const segments = await ui.openFromQueue('keys.wav');
    assert.deepEqual(segments.flatMap((sg) => sg.text.split(/\s+/)), rec.presses.map((p) => p.key), 'the transcript spells the keys pressed');
  });

  it('View log shows the container log; Stop stops it', async (t) => {
    await ui.go('Settings');
    const details = page.getByTestId('local-server');
    if (!(await details.evaluate((d) => /** @type {HTMLDetailsElement} */ (d).open))) await page.getByRole('heading', { name: 'Local server' }).click();
    await page.getByTestId('local-logs').click();
    const dialog = page.getByRole('dialog', { name: 'Local server log (last lines)' });
    await dialog.waitFor({ timeout: 10_000 });
    assert.match(await dialog.innerText(), /successfully loaded 'dtmf'/);
    await checkView(t, 'log');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached', timeout: 5_000 });

    await page.getByTestId('local-stop').click();
    await eventually(async () => (await page.getByTestId('local-status').getAttribute('data-state')) === 'stopped' || undefined, 30_000, 'the server to stop');
    assert.match(calls(), /"stop","triton"/);
    assert.deepEqual(s.pageErrors, []);
  });
});
