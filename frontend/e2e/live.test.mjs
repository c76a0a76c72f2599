// Live transcription end to end. First the real Wails window (WebKitGTK
// under Xvfb, with WebKit's mock capture device) must be allowed the
// microphone: the app asks getUserMedia inside it and prints the answer.
// Then Chromium with a fake microphone playing a DTMF recording (keys and
// pauses; Chromium loops the file, so the test waits for the first keys
// and stops): Record, the keys appear live as finals, the level and the
// elapsed time move, the server's latency shows, Pause and Resume, Stop
// saves the session into the Library and opens it, and it exports.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Session, makeDtmfRecording } from './lib/stack.mjs';
import { AppView, eventually } from './lib/ui.mjs';
import { assertAccessible, assertFits } from './lib/checks.mjs';

// Four keys a second and a half apart, in a 6.5 s file at 48 kHz mono.
const presses = '1@0.8:0.4,2@2.2:0.4,3@3.6:0.4,4@5.0:0.4';
const cycle = ['1', '2', '3', '4'];

describe('live transcription from a (fake) microphone', () => {
  /** @type {Session} */
  let s;
  /** @type {AppView} */
  let ui;
  let micDir = '';

  before(async () => {
    micDir = await fs.mkdtemp(path.join(os.tmpdir(), 'nemo-e2e-mic-'));
    const rec = await makeDtmfRecording(micDir, 'mic', ['--presses', presses, '--duration', '6.5', '--rate', '48000', '--channels', '1']);
    s = new Session('live', {
      browserArgs: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${rec.wav}`],
      appEnv: { NEMO_TRANSCRIBE_MOCK_MIC: '1', NEMO_TRANSCRIBE_MIC_PROBE: '1' },
    });
    await s.open();
    ui = await AppView.create(/** @type {import('playwright-core').Page} */ (s.page));
  });
  after(async () => {
    await s?.close();
    if (micDir) await fs.rm(micDir, { recursive: true, force: true });
  });

  it('the Wails window (WebKitGTK) is allowed the microphone: getUserMedia succeeds inside it', async () => {
    const m = await /** @type {import('./lib/stack.mjs').AppProcess} */ (s.app).proc.waitForOutput(/mic-probe: (\S+)/, 40_000);
    assert.equal(m[1], 'ok', `getUserMedia in the app's own window answered ${m[1]} (NotAllowedError: the permission handler did not run)`);
  });

  it('connects on the first start', async () => {
    await ui.firstRun.connect(s.devserver.addr, 'dtmf');
  });

  it('Record: the device picker lists the microphone; the keys appear live, with level, elapsed time and latency', async (t) => {
    const page = ui.page;
    await page.getByTestId('live-record').click();
    const view = page.getByTestId('live-view');
    await view.waitFor();
    await s.screenshot('live-idle');
    await page.getByRole('button', { name: ui.t('live.start') }).click();
    await eventually(async () => (await view.getAttribute('data-phase')) === 'recording', 15_000, 'the recording to start');
    // Labels are given once the page may use the microphone.
    await eventually(async () => (await page.getByTestId('live-device').locator('option').count()) > 1, 10_000, 'the fake microphone in the picker');

    const finals = page.getByTestId('live-final');
    let levelSeen = 0;
    await eventually(
      async () => {
        levelSeen = Math.max(levelSeen, Number(await page.getByTestId('live-level').getAttribute('value')));
        return (await finals.count()) >= 3 || undefined;
      },
      40_000,
      'three finals',
    );
    const texts = (await finals.locator('.text').allInnerTexts()).map((x) => x.trim());
    assert.deepEqual(texts.slice(0, 3), ['1', '2', '3'], 'the first finals are the first keys, one per utterance');
    assert.ok(levelSeen > 0.3, `the level meter moved (max ${levelSeen})`);
    const elapsed = Number(await page.getByTestId('live-elapsed').getAttribute('data-seconds'));
    assert.ok(elapsed > 3, `elapsed ${elapsed} s after three keys`);
    const latency = (await page.getByTestId('live-latency').innerText()).trim();
    assert.match(latency, /^\d[\d,.]*\s?ms$/, `the server latency shows in ms: ${latency}`);
    assert.equal(await page.getByTestId('live-transcript').getAttribute('data-following'), 'true');
    await s.screenshot('live-recording');
    // The panel while recording: axe in light and dark, and it fits 900x600.
    await assertAccessible(t, page);
    await page.emulateMedia({ colorScheme: 'dark' });
    await assertAccessible(t, page);
    await page.emulateMedia({ colorScheme: 'light' });
    const size = page.viewportSize();
    await page.setViewportSize({ width: 900, height: 600 });
    await assertFits(page, 'the live panel');
    await s.screenshot('live-900x600');
    if (size) await page.setViewportSize(size);
  });

  it('Pause makes what was said final and stops the clock; Resume goes on', async () => {
    const page = ui.page;
    const view = page.getByTestId('live-view');
    await page.getByRole('button', { name: ui.t('live.pause') }).click();
    await eventually(async () => (await view.getAttribute('data-phase')) === 'paused', 10_000, 'the pause');
    const a = await page.getByTestId('live-elapsed').getAttribute('data-seconds');
    // The page drops the microphone's blocks while paused: the clock stands.
    await page.waitForTimeout(300);
    assert.equal(await page.getByTestId('live-elapsed').getAttribute('data-seconds'), a, 'the clock stands while paused');
    await page.getByRole('button', { name: ui.t('live.resume') }).click();
    await eventually(async () => (await view.getAttribute('data-phase')) === 'recording', 10_000, 'the resume');
    const before = await page.getByTestId('live-final').count();
    await eventually(async () => (await page.getByTestId('live-final').count()) > before || undefined, 30_000, 'another final after Resume');
  });

  it('Stop saves the session into the Library and opens it; it exports', async () => {
    const page = ui.page;
    const shown = (await page.getByTestId('live-final').locator('.text').allInnerTexts()).flatMap((x) => x.trim().split(/\s+/));
    await page.getByRole('button', { name: ui.t('live.stop') }).click();
    const segs = await ui.transcript.ready(40_000);
    const keys = segs.flatMap((seg) => seg.text.split(/\s+/));
    assert.deepEqual(keys.slice(0, 3), ['1', '2', '3']);
    // What was final live is what was saved, in order (the pause skipped
    // part of the looping file, so the keys after it are not a fixed list).
    assert.deepEqual(keys.slice(0, shown.length), shown, `the saved session (${keys.join(' ')}) starts with what was shown live`);
    for (const k of keys) assert.ok(cycle.includes(k), `"${k}" is one of the recording's keys (${keys.join(' ')})`);
    await s.screenshot('live-saved');

    const dir = path.join(s.dir, 'live-export');
    const dialog = await ui.transcript.openExport();
    await dialog.choose(['txt'], dir);
    const res = await dialog.run();
    assert.ok('written' in res && res.written.length === 1, `exported: ${JSON.stringify(res)}`);
    const txt = await fs.readFile(res.written[0], 'utf8');
    assert.deepEqual(txt.trim().split(/\s+/).slice(0, 3), ['1', '2', '3'], 'the exported text has the keys');
    await dialog.close();

    await ui.go('Library');
    const names = await ui.library.shows(1);
    assert.match(names[0], /^live-.*\.wav$/, 'the session is a Library entry named for its recording');
  });

  it('the binding path keeps up: a 100 ms frame crosses to Go and back well within 100 ms', async (t) => {
    // A frame for no session: Go decodes the base64 argument and refuses
    // it, so the round trip is the IPC and the decode.
    const times = await ui.page.evaluate(async () => {
      const frame = btoa(String.fromCharCode(...new Uint8Array(3200)));
      const out = [];
      for (let i = 0; i < 50; i++) {
        const t0 = performance.now();
        // @ts-ignore the bindings
        await window.go.main.App.LiveFeed('no-session', frame).catch(() => {});
        out.push(performance.now() - t0);
      }
      return out.sort((a, b) => a - b);
    });
    const p50 = times[25];
    const p95 = times[47];
    t.diagnostic(`LiveFeed round trip of a 100 ms frame: median ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms`);
    assert.ok(p95 < 100, `p95 ${p95} ms: frames would pile up`);
  });

  it('logged no errors in the page', () => {
    assert.deepEqual(s.pageErrors, []);
  });
});
