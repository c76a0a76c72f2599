// The main job end to end: a real devserver, the real Go backend, the built
// frontend in Chromium. A DTMF recording is added through the bound method
// the native drop handler uses, transcribed, and the transcript must show
// exactly the keys that were pressed, at the times they were pressed. Then
// the server goes away (a readable error, nothing lost) and comes back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Session, makeDtmfRecording } from './lib/stack.mjs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { MainView, eventually } from './lib/ui.mjs';

/** "[mm:ss.s]" or "[h:mm:ss.s]" as seconds. */
function parseStamp(stamp) {
  const m = stamp.match(/^\[(?:(\d+):)?(\d{2}):(\d{2}\.\d)\]$/);
  assert.ok(m, `time stamp ${JSON.stringify(stamp)} is not [mm:ss.s]`);
  return Number(m[1] ?? 0) * 3600 + Number(m[2]) * 60 + Number(m[3]);
}

/**
 * Checks the segments against the truth: together they spell the pressed
 * keys in order, and each starts when its first key was pressed (the UI
 * shows tenths of a second).
 */
function assertMatchesTruth(segments, presses) {
  assert.ok(segments.length > 1, `expected several segments, got ${JSON.stringify(segments)}`);
  const shown = segments.flatMap((s) => s.text.split(/\s+/));
  assert.deepEqual(shown, presses.map((p) => p.key), 'the transcript spells the keys pressed, in order');
  let k = 0;
  for (const seg of segments) {
    const first = presses[k];
    const at = parseStamp(seg.time);
    assert.ok(
      Math.abs(at - first.start) <= 0.11,
      `segment "${seg.text}" is stamped ${seg.time}, but its first key "${first.key}" was pressed at ${first.start} s`,
    );
    k += seg.text.split(/\s+/).length;
  }
}

/**
 * A message a person can act on: a sentence that names the server and says
 * what to check, with no RPC status dump in it.
 */
function assertReadable(message, addr) {
  assert.match(message, /^\S/, `"${message}" is not empty`);
  assert.match(message, /[.!?]$/, `"${message}" ends as a sentence`);
  assert.ok(message.includes(addr), `"${message}" names the server ${addr}`);
  assert.match(message, /\bcheck\b/i, `"${message}" says what to check`);
  assert.doesNotMatch(message, /rpc error|code = |desc = |\{|\}|goroutine|panic/, `"${message}" has no raw gRPC status in it`);
}

// How long a person may have to keep clicking Check server after the
// server is back. The app's gRPC connection retries on its own schedule
// (exponential backoff), so the first click may still fail.
const recoveryMs = 20_000;

describe('transcribing a recording against a real server', () => {
  const s = new Session('transcribe');
  /** @type {MainView} */
  let ui;
  /** @type {Awaited<ReturnType<typeof makeDtmfRecording>>} */
  let rec;
  /** @type {Awaited<ReturnType<typeof makeDtmfRecording>>} */
  let other;

  before(async () => {
    await s.open();
    ui = new MainView(/** @type {import('playwright-core').Page} */ (s.page));
    rec = await makeDtmfRecording(s.dir);
    await fs.writeFile(path.join(s.dir, 'notes.txt'), 'not audio');
  });
  after(() => s.close());

  it('shows the server live and ready with the dtmf model ready', async () => {
    await ui.setServer(s.devserver.addr, 'dtmf');
    const st = await ui.checkServer();
    await s.screenshot('server-checked');
    assert.ok(st.ok, `Check server failed: ${JSON.stringify(st)}`);
    assert.equal(st.live, 'yes');
    assert.equal(st.ready, 'yes');
    assert.deepEqual(st.models, ['dtmf ready']);
  });

  it('queues a file through the drop handler’s bound method and transcribes it: exactly the keys pressed, at their times', async () => {
    const added = await ui.addFiles([rec.wav, path.join(s.dir, 'notes.txt')]);
    assert.equal(added.added.length, 1, `AddFiles: ${JSON.stringify(added)}`);
    assert.match(added.skipped[0]?.reason ?? '', /not an audio or video file/);
    const res = await ui.finished('keys.wav');
    await s.screenshot('transcribed');
    assert.ok(res.ok, `transcription failed: ${JSON.stringify(res)}`);
    assertMatchesTruth(res.segments, rec.presses);
    const bar = s.page?.getByRole('progressbar', { name: 'Progress of keys.wav' });
    assert.match((await bar?.getAttribute('aria-valuetext')) ?? '', /^Done/);
  });

  it('plays from a clicked segment: the position starts at its time and advances', async () => {
    const segs = await ui.segments();
    const at = parseStamp(segs[1].time);
    await ui.playSegment(1);
    const first = await eventually(async () => {
      const p = await ui.player();
      return p.playing ? p : undefined;
    }, 15_000, 'playback to start');
    assert.ok(first.seconds >= at - 0.05 && first.seconds < at + 1, `playback started at ${first.seconds} s, the segment at ${at} s`);
    const later = await eventually(async () => {
      const p = await ui.player();
      return p.seconds > first.seconds + 0.3 ? p : undefined;
    }, 10_000, 'the playback position to advance');
    assert.ok(later.playing, 'still playing');
    const current = s.page?.getByRole('region', { name: 'Transcript' }).locator('[aria-current="true"]');
    assert.equal(await current?.getByTestId('segment-time').innerText(), segs[1].time, 'the playing segment is highlighted');
    await s.screenshot('playing');
  });

  it('keeps an edited segment in the history: reopened, it shows the edit', async () => {
    await ui.editSegment(0, 'edited by hand');
    await ui.job('keys.wav').getByRole('button', { name: 'Open the transcript of keys.wav' }).click();
    await eventually(async () => (await ui.segments())[0]?.text === 'edited by hand', 10_000, 'the reopened transcript to show the edit');
  });

  it('exports SRT into a folder: the file on disk has the edit and the keys at their times', async () => {
    const dir = path.join(s.dir, 'exports');
    const written = await ui.exportTo(['srt'], dir);
    assert.deepEqual(written, [path.join(dir, 'keys.srt')]);
    const srt = await fs.readFile(path.join(dir, 'keys.srt'), 'utf8');
    const cues = srt.trim().split(/\n\n+/).map((c) => c.split('\n'));
    assert.equal(cues[0][2], 'edited by hand', 'the edit is exported');
    const shown = await ui.segments();
    assert.equal(cues.length, shown.length, 'one cue per segment');
    for (const [i, cue] of cues.entries()) {
      assert.equal(cue[0], String(i + 1));
      const m = cue[1].match(/^(\d\d):(\d\d):(\d\d),(\d{3}) --> /);
      assert.ok(m, `cue ${i + 1} times: ${cue[1]}`);
      const start = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(m[4]) / 1000;
      assert.ok(Math.abs(start - parseStamp(shown[i].time)) <= 0.051, `cue ${i + 1} starts at ${start}, the view says ${shown[i].time}`);
      if (i > 0) assert.equal(cue.slice(2).join(' '), shown[i].text);
    }
    await s.screenshot('exported');
  });

  it('says in plain words that the server is gone', async (t) => {
    await s.devserver.stop();
    let t0 = Date.now();
    const st = await ui.checkServer();
    t.diagnostic(`Check server answered in ${Date.now() - t0} ms: ${st.ok ? 'ok' : st.error}`);
    assert.ok(!st.ok, 'Check server reports the stopped server');
    assertReadable(st.error, s.devserver.addr);

    // A recording the history has not seen, so the server is needed.
    t0 = Date.now();
    other = await makeDtmfRecording(s.dir, 'other', ['--duration', '47']);
    await ui.addFiles([other.wav]);
    const res = await ui.finished('other.wav');
    t.diagnostic(`the job gave up after ${Date.now() - t0} ms: ${res.ok ? 'ok' : res.error}`);
    await s.screenshot('server-gone');
    assert.ok(!res.ok, 'the job reports the stopped server');
    assertReadable(res.error, s.devserver.addr);
  });

  it('works again on Retry once the server is back', async (t) => {
    await s.devserver.start();
    const t0 = Date.now();
    let st = await ui.checkServer();
    let clicks = 1;
    while (!st.ok && Date.now() - t0 < recoveryMs) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      st = await ui.checkServer();
      clicks++;
    }
    t.diagnostic(`Check server saw the restarted server after ${clicks} click(s), ${Date.now() - t0} ms`);
    assert.ok(st.ok, `Check server after the restart: ${JSON.stringify(st)}`);
    assert.equal(st.ready, 'yes');

    await ui.retry('other.wav');
    const res = await ui.finished('other.wav');
    await s.screenshot('retried');
    assert.ok(res.ok, `retry failed: ${JSON.stringify(res)}`);
    assertMatchesTruth(res.segments, other.presses);
  });

  it('keeps the settings and the queue across a restart of the app', async () => {
    await s.page?.getByText('More settings').click();
    await s.page?.getByLabel('Chunk length in seconds (0 = default)').fill('20');
    await s.page?.getByLabel('Desktop notifications').setChecked(false);
    await ui.save();
    const errorsBefore = s.pageErrors.length;
    await s.app?.stop();
    await s.app?.start();
    await s.openPage();
    // The old page lost its connection while the app was down: expected.
    s.pageErrors.splice(errorsBefore, s.pageErrors.length - errorsBefore, ...s.pageErrors.slice(errorsBefore).filter((e) => !e.includes('/wails/ipc')));
    ui = new MainView(/** @type {import('playwright-core').Page} */ (s.page));
    await eventually(async () => (await ui.server.inputValue()) === s.devserver.addr, 10_000, 'the saved server address');
    assert.equal(await ui.model.inputValue(), 'dtmf');
    await s.page?.getByText('More settings').click();
    assert.equal(await s.page?.getByLabel('Chunk length in seconds (0 = default)').inputValue(), '20');
    assert.equal(await s.page?.getByLabel('Desktop notifications').isChecked(), false);
    // The finished transcripts are in the history after the restart.
    const hist = s.page?.getByRole('list', { name: 'Past transcripts' });
    await eventually(async () => ((await hist?.getByTestId('history-item').count()) ?? 0) >= 2, 10_000, 'the history to list the transcripts');
    await s.screenshot('restarted');
  });

  it('finds the edit by searching the history; reopened from there, the transcript plays and exports', async () => {
    const hist = s.page?.getByRole('region', { name: 'History' });
    await hist?.getByLabel('Search all transcripts').fill('edited');
    await hist?.getByRole('button', { name: 'Search' }).click();
    const items = hist?.getByRole('list', { name: 'Past transcripts' }).getByTestId('history-item');
    await eventually(async () => ((await items?.count()) ?? 0) === 1, 10_000, 'one search hit for the edited word');
    await items?.first().getByRole('button', { name: 'Open the transcript of keys.wav' }).click();
    await eventually(async () => (await ui.segments())[0]?.text === 'edited by hand', 10_000, 'the transcript from the history, with the edit');

    const segs = await ui.segments();
    const at = parseStamp(segs[2].time);
    const play = s.page?.getByRole('region', { name: 'Transcript' }).getByRole('button', { name: 'Play', exact: true });
    await eventually(async () => (await play?.isEnabled()) || undefined, 15_000, 'the history entry’s audio to load');
    await ui.playSegment(2);
    const first = await eventually(async () => {
      const p = await ui.player();
      return p.playing ? p : undefined;
    }, 15_000, 'playback of the history entry to start');
    assert.ok(first.seconds >= at - 0.05 && first.seconds < at + 1, `playback started at ${first.seconds} s, the segment at ${at} s`);
    await eventually(async () => ((await ui.player()).seconds > first.seconds + 0.3 ? true : undefined), 10_000, 'the position to advance');

    const dir = path.join(s.dir, 'from-history');
    const written = await ui.exportTo(['srt'], dir);
    assert.deepEqual(written, [path.join(dir, 'keys.srt')]);
    const srt = await fs.readFile(path.join(dir, 'keys.srt'), 'utf8');
    assert.equal(srt.trim().split(/\n\n+/)[0].split('\n')[2], 'edited by hand', 'the edit is exported from the history');
    await s.screenshot('history-reopened');
  });

  it('logged no errors in the page', () => {
    assert.deepEqual(s.pageErrors, []);
  });
});
