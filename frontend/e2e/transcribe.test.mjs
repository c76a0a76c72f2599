// The main job end to end: a real devserver, the real Go backend, the built
// frontend in Chromium. A DTMF recording is added through the bound method
// the native drop handler uses, transcribed, and the transcript must show
// exactly the keys that were pressed, at the times they were pressed. Then
// the server goes away (a readable error, nothing lost) and comes back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Session, makeDtmfRecording } from './lib/stack.mjs';
import { MainView } from './lib/ui.mjs';

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

  before(async () => {
    await s.open();
    ui = new MainView(/** @type {import('playwright-core').Page} */ (s.page));
    rec = await makeDtmfRecording(s.dir);
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

  it('takes a file through the drop handler’s bound method', async () => {
    await ui.addFiles([rec.wav]);
    assert.equal(await ui.transcribeButton.isEnabled(), true, 'Transcribe is enabled once a file is chosen');
    await s.screenshot('file-added');
  });

  it('transcribes it: exactly the keys pressed, at their times', async () => {
    const res = await ui.transcribe();
    await s.screenshot('transcribed');
    assert.ok(res.ok, `transcription failed: ${JSON.stringify(res)}`);
    assertMatchesTruth(res.segments, rec.presses);
    assert.match(await ui.progress.getAttribute('aria-valuetext') ?? '', /^Done/);
  });

  it('says in plain words that the server is gone', async (t) => {
    await s.devserver.stop();
    let t0 = Date.now();
    const st = await ui.checkServer();
    t.diagnostic(`Check server answered in ${Date.now() - t0} ms: ${st.ok ? 'ok' : st.error}`);
    assert.ok(!st.ok, 'Check server reports the stopped server');
    assertReadable(st.error, s.devserver.addr);

    t0 = Date.now();
    const res = await ui.transcribe();
    t.diagnostic(`Transcribe gave up after ${Date.now() - t0} ms: ${res.ok ? 'ok' : res.error}`);
    await s.screenshot('server-gone');
    assert.ok(!res.ok, 'Transcribe reports the stopped server');
    assertReadable(res.error, s.devserver.addr);
    // Nothing is lost: the file is still chosen, ready for a retry.
    assert.equal(await ui.selectedFile.innerText(), rec.wav);
  });

  it('works again once the server is back', async (t) => {
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

    const res = await ui.transcribe();
    await s.screenshot('retried');
    assert.ok(res.ok, `retry failed: ${JSON.stringify(res)}`);
    assertMatchesTruth(res.segments, rec.presses);
    assert.equal(await ui.transcribeError.count(), 0, 'the old error is gone');
  });

  it('logged no errors in the page', () => {
    assert.deepEqual(s.pageErrors, []);
  });
});
