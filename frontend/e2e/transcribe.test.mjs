// The main job end to end: a real devserver, the real Go backend, the built
// frontend in Chromium. A first start connects to the server; a DTMF
// recording is added through the bound method the native drop handler
// uses, transcribed, and the transcript must show exactly the keys that
// were pressed, at the times they were pressed. The workspace plays from a
// segment and from a word, edits, finds and replaces, undoes, and exports
// through its dialog. Then the server goes away (a readable error, nothing
// lost) and comes back; the app restarts with its settings, and the
// Library finds the edit.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Session, makeDtmfRecording } from './lib/stack.mjs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AppView, eventually } from './lib/ui.mjs';

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
  /** @type {AppView} */
  let ui;
  /** @type {Awaited<ReturnType<typeof makeDtmfRecording>>} */
  let rec;
  /** @type {Awaited<ReturnType<typeof makeDtmfRecording>>} */
  let other;
  const exportDir = () => path.join(s.dir, 'exports');

  before(async () => {
    await s.open();
    ui = await AppView.create(/** @type {import('playwright-core').Page} */ (s.page));
    rec = await makeDtmfRecording(s.dir);
    await fs.writeFile(path.join(s.dir, 'notes.txt'), 'not audio');
  });
  after(() => s.close());

  it('asks for the server on a first start; checked, it offers the server’s models and the status line shows it ready', async () => {
    assert.ok(await ui.firstRun.visible(), 'a fresh profile shows the connection step');
    await s.screenshot('first-run');
    const offered = await ui.firstRun.connect(s.devserver.addr, 'dtmf');
    assert.ok(offered.some((m) => m.name === 'dtmf' && m.enabled), `dtmf offered: ${JSON.stringify(offered)}`);
    await ui.page.getByRole('heading', { level: 1, name: 'Transcribe' }).waitFor();
    await eventually(async () => (await ui.status()).ready === 'Ready' || undefined, 15_000, 'the status line to say Ready');
    const st = await ui.status();
    assert.equal(st.server, s.devserver.addr);
    assert.equal(st.model, 'dtmf');
    assert.equal(st.jobs, '0 jobs running');
    await ui.go('Settings');
    const check = await ui.settings.checkServer();
    assert.ok(check.ok, `Check server failed: ${JSON.stringify(check)}`);
    assert.equal(check.live, 'yes');
    assert.equal(check.ready, 'yes');
    assert.ok(check.models.includes('dtmf ready'), JSON.stringify(check.models));
    await ui.go('Transcribe');
  });

  it('queues a file through the drop handler’s bound method and transcribes it: exactly the keys pressed, at their times', async () => {
    const added = await ui.addFiles([rec.wav, path.join(s.dir, 'notes.txt')]);
    assert.equal(added.added.length, 1, `AddFiles: ${JSON.stringify(added)}`);
    assert.match(added.skipped[0]?.reason ?? '', /not an audio or video file/);
    await eventually(async () => ((await ui.page.getByTestId('skipped').count()) > 0) || undefined, 10_000, 'the file not added to be listed');
    const res = await ui.queue.finished('keys.wav');
    assert.ok(res.ok, `transcription failed: ${JSON.stringify(res)}`);
    const bar = ui.page.getByRole('progressbar', { name: 'Progress of keys.wav' });
    assert.match((await bar.getAttribute('aria-valuetext')) ?? '', /^Done/);
    assert.equal((await ui.page.getByTestId('queue-announcement').innerText()).trim(), 'keys.wav is transcribed.');
    await s.screenshot('queue-done');
    await ui.queue.open('keys.wav');
    const segs = await ui.transcript.ready();
    assert.equal(await ui.transcript.title(), 'keys.wav');
    await s.screenshot('transcript');
    assertMatchesTruth(segs, rec.presses);
  });

  it('plays from a clicked segment: the position starts at its time and advances, the segment highlighted', async () => {
    const segs = await ui.transcript.segments();
    const at = parseStamp(segs[1].time);
    await ui.transcript.audioLoaded();
    await ui.transcript.playSegment(1);
    const first = await ui.transcript.playing();
    assert.ok(first.seconds >= at - 0.05 && first.seconds < at + 1, `playback started at ${first.seconds} s, the segment at ${at} s`);
    const later = await eventually(async () => {
      const p = await ui.transcript.player();
      return p.seconds > first.seconds + 0.3 ? p : undefined;
    }, 10_000, 'the playback position to advance');
    assert.ok(later.playing, 'still playing');
    const current = ui.transcript.root.locator('[aria-current="true"]');
    assert.equal(await current.getByTestId('segment-time').innerText(), segs[1].time, 'the playing segment is highlighted');
    await s.screenshot('playing');
  });

  it('plays from a clicked word; Ctrl+Space pauses, Space in the player plays, Alt+← seeks back', async () => {
    const words = await ui.transcript.words(2);
    assert.ok(words.length > 0, 'the segment shows its words');
    const w = words[words.length - 1];
    await ui.transcript.playWord(2, words.length - 1);
    const first = await eventually(async () => {
      const p = await ui.transcript.player();
      return p.playing && Math.abs(p.seconds - w.start) < 0.6 ? p : undefined;
    }, 10_000, `playback from the word "${w.word}" at ${w.start} s`);
    assert.ok(first.seconds >= w.start - 0.05);
    await eventually(async () => (await ui.transcript.root.locator('.word.now').count()) === 1 || undefined, 5_000, 'the word being played to be marked');

    await ui.page.keyboard.press('Control+Space');
    await eventually(async () => !(await ui.transcript.player()).playing || undefined, 5_000, 'Ctrl+Space to pause');
    const paused = (await ui.transcript.player()).seconds;
    await ui.page.keyboard.press('Alt+ArrowLeft');
    await eventually(async () => Math.abs((await ui.transcript.player()).seconds - Math.max(0, paused - 5)) < 0.05 || undefined, 5_000, 'Alt+← to seek back 5 s');
    await ui.transcript.root.getByRole('button', { name: 'Forward 5 s' }).focus();
    await ui.page.keyboard.press('Space');
    await ui.transcript.playing(5_000);
    await ui.page.keyboard.press('Control+Space');
    await eventually(async () => !(await ui.transcript.player()).playing || undefined, 5_000, 'Ctrl+Space to pause again');
  });

  it('keeps an edited segment in the history: reopened, it shows the edit', async () => {
    await ui.transcript.editSegment(0, 'edited by hand');
    await ui.transcript.back();
    const segs = await ui.openFromQueue('keys.wav');
    await ui.transcript.textIs(0, 'edited by hand');
    assert.equal(segs.length > 1, true);
  });

  it('finds and replaces in this transcript; undo and redo go through the stored edits', async () => {
    assert.equal(await ui.transcript.find('edited'), '1 of 1');
    await s.screenshot('find');
    await ui.transcript.replace('changed');
    await ui.transcript.textIs(0, 'changed by hand');
    assert.equal((await ui.transcript.root.getByTestId('search-count').innerText()).trim(), 'No matches');
    await ui.transcript.closeFind();
    await ui.transcript.undo();
    await ui.transcript.textIs(0, 'edited by hand');
    await ui.transcript.redo();
    await ui.transcript.textIs(0, 'changed by hand');
    // Ctrl+Z outside a text field undoes too.
    await ui.transcript.toolbar.getByRole('button', { name: 'Copy text' }).focus();
    await ui.page.keyboard.press('Control+z');
    await ui.transcript.textIs(0, 'edited by hand');
    // What undo wrote is what the history keeps.
    await ui.transcript.back();
    await ui.openFromQueue('keys.wav');
    await ui.transcript.textIs(0, 'edited by hand');
  });

  it('exports SRT into a folder through the dialog: the file on disk has the edit and the keys at their times', async () => {
    const dialog = await ui.transcript.openExport();
    await dialog.choose(['srt'], exportDir());
    await s.screenshot('export-dialog');
    const res = await dialog.run();
    assert.deepEqual(res, { written: [path.join(exportDir(), 'keys.srt')] });
    const srt = await fs.readFile(path.join(exportDir(), 'keys.srt'), 'utf8');
    const cues = srt.trim().split(/\n\n+/).map((c) => c.split('\n'));
    assert.equal(cues[0][2], 'edited by hand', 'the edit is exported');
    await dialog.close();
    const shown = await ui.transcript.segments();
    assert.equal(cues.length, shown.length, 'one cue per segment');
    for (const [i, cue] of cues.entries()) {
      assert.equal(cue[0], String(i + 1));
      const m = cue[1].match(/^(\d\d):(\d\d):(\d\d),(\d{3}) --> /);
      assert.ok(m, `cue ${i + 1} times: ${cue[1]}`);
      const start = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) + Number(m[4]) / 1000;
      assert.ok(Math.abs(start - parseStamp(shown[i].time)) <= 0.051, `cue ${i + 1} starts at ${start}, the view says ${shown[i].time}`);
      if (i > 0) assert.equal(cue.slice(2).join(' '), shown[i].text);
    }
  });

  it('asks before replacing an exported file that changed; Keep leaves it, Replace writes it (Ctrl+E opens the dialog)', async () => {
    const file = path.join(exportDir(), 'keys.srt');
    await ui.transcript.editSegment(0, 'changed by hand');
    await ui.page.keyboard.press('Control+e');
    const dialog = ui.exportDialog;
    await dialog.root.waitFor();
    const asked = await dialog.run();
    assert.deepEqual(asked, { existing: [file] });
    await s.screenshot('export-overwrite');
    await dialog.answer(false);
    assert.match(await fs.readFile(file, 'utf8'), /edited by hand/, 'Keep them leaves the file');
    assert.deepEqual(await dialog.run(), { existing: [file] });
    assert.deepEqual(await dialog.answer(true), [file]);
    assert.match(await fs.readFile(file, 'utf8'), /changed by hand/, 'Replace writes the file');
    await dialog.close();
    await ui.transcript.undo();
    await ui.transcript.textIs(0, 'edited by hand');
  });

  it('says in plain words that the server is gone', async (t) => {
    await s.devserver.stop();
    await ui.go('Settings');
    let t0 = Date.now();
    const st = await ui.settings.checkServer();
    t.diagnostic(`Check server answered in ${Date.now() - t0} ms: ${st.ok ? 'ok' : st.error}`);
    assert.ok(!st.ok, 'Check server reports the stopped server');
    assertReadable(st.error, s.devserver.addr);
    await eventually(async () => (await ui.status()).ready === 'Server not reachable' || undefined, 5_000, 'the status line to say so');

    // A recording the history has not seen, so the server is needed.
    await ui.go('Transcribe');
    t0 = Date.now();
    other = await makeDtmfRecording(s.dir, 'other', ['--duration', '47']);
    await ui.addFiles([other.wav]);
    const res = await ui.queue.finished('other.wav');
    t.diagnostic(`the job gave up after ${Date.now() - t0} ms: ${res.ok ? 'ok' : res.error}`);
    await s.screenshot('server-gone');
    assert.ok(!res.ok, 'the job reports the stopped server');
    assertReadable(res.error, s.devserver.addr);
    assert.equal((await ui.page.getByTestId('queue-announcement').innerText()).trim(), 'other.wav failed.');
  });

  it('works again on Retry once the server is back', async (t) => {
    await s.devserver.start();
    await ui.go('Settings');
    const t0 = Date.now();
    let st = await ui.settings.checkServer();
    let clicks = 1;
    while (!st.ok && Date.now() - t0 < recoveryMs) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      st = await ui.settings.checkServer();
      clicks++;
    }
    t.diagnostic(`Check server saw the restarted server after ${clicks} click(s), ${Date.now() - t0} ms`);
    assert.ok(st.ok, `Check server after the restart: ${JSON.stringify(st)}`);
    assert.equal(st.ready, 'yes');

    await ui.go('Transcribe');
    await ui.queue.retry('other.wav');
    const res = await ui.queue.finished('other.wav');
    assert.ok(res.ok, `retry failed: ${JSON.stringify(res)}`);
    await ui.queue.open('other.wav');
    assertMatchesTruth(await ui.transcript.ready(), other.presses);
    await s.screenshot('retried');
  });

  it('keeps the settings across a restart of the app, with no first-run step', async () => {
    await ui.go('Settings');
    await s.page?.getByText('More settings').click();
    await s.page?.getByLabel('Chunk length in seconds (0 = default)').fill('20');
    await s.page?.getByLabel('Desktop notifications').setChecked(false);
    await ui.settings.save();
    const errorsBefore = s.pageErrors.length;
    await s.app?.stop();
    await s.app?.start();
    await s.openPage();
    // The old page lost its connection while the app was down: expected.
    s.pageErrors.splice(errorsBefore, s.pageErrors.length - errorsBefore, ...s.pageErrors.slice(errorsBefore).filter((e) => !e.includes('/wails/ipc')));
    ui = await AppView.create(/** @type {import('playwright-core').Page} */ (s.page));
    await ui.page.getByRole('heading', { level: 1, name: 'Transcribe' }).waitFor();
    assert.equal(await ui.firstRun.visible(), false, 'no connection step once a server is saved');
    await ui.go('Settings');
    await eventually(async () => (await ui.settings.server.inputValue()) === s.devserver.addr, 10_000, 'the saved server address');
    assert.equal(await ui.settings.model.inputValue(), 'dtmf');
    await s.page?.getByText('More settings').click();
    assert.equal(await s.page?.getByLabel('Chunk length in seconds (0 = default)').inputValue(), '20');
    assert.equal(await s.page?.getByLabel('Desktop notifications').isChecked(), false);
    await s.screenshot('restarted-settings');
  });

  it('lists the transcripts in the Library; search as you type and the filters find the edit; reopened, it plays and exports', async () => {
    await ui.go('Library');
    const names = await ui.library.shows(2);
    assert.deepEqual([...names].sort(), ['keys.wav', 'other.wav']);
    await ui.library.filter({ model: 'dtmf', date: 'Today' });
    await ui.library.shows(2);
    await ui.library.search('edited');
    assert.deepEqual(await ui.library.shows(1), ['keys.wav']);
    assert.equal(await ui.library.items.first().locator('mark').first().innerText(), 'edited');
    await s.screenshot('library-search');
    await ui.library.filter({ date: 'Any time', model: '' });
    await ui.library.shows(1);
    await ui.library.open('keys.wav');
    const segs = await ui.transcript.ready();
    await ui.transcript.textIs(0, 'edited by hand');

    const at = parseStamp(segs[2].time);
    await ui.transcript.audioLoaded();
    await ui.transcript.playSegment(2);
    const first = await ui.transcript.playing();
    assert.ok(first.seconds >= at - 0.05 && first.seconds < at + 1, `playback started at ${first.seconds} s, the segment at ${at} s`);
    await eventually(async () => ((await ui.transcript.player()).seconds > first.seconds + 0.3 ? true : undefined), 10_000, 'the position to advance');
    await ui.page.keyboard.press('Control+Space');

    const dir = path.join(s.dir, 'from-history');
    const dialog = await ui.transcript.openExport();
    await dialog.choose(['srt'], dir);
    assert.deepEqual(await dialog.run(), { written: [path.join(dir, 'keys.srt')] });
    const srt = await fs.readFile(path.join(dir, 'keys.srt'), 'utf8');
    assert.equal(srt.trim().split(/\n\n+/)[0].split('\n')[2], 'edited by hand', 'the edit is exported from the history');
    await dialog.close();
    await s.screenshot('history-reopened');
  });

  it('logged no errors in the page', () => {
    assert.deepEqual(s.pageErrors, []);
  });
});
