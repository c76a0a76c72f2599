// Speakers end to end: a real devserver hosting the dtmf and voices models,
// the real Go backend, the built frontend in Chromium. A recording of three
// test voices (dtmf-synth --voices 3) is added with Speakers "Find how
// many": every key must carry the label of the voice that pressed it
// (dtmf-synth's truth), the header lists three speakers and the waveform
// their turns. Speaker 2 is renamed once: the chips, the Library's search
// and filter and the SRT, VTT and JSON exports carry the new name; a
// segment's speaker and a merge are changed and undone. A transcript made
// without speakers gets them through Find speakers…. A server without a
// speaker model disables the choice and says why. Screenshots and axe in
// the light and the dark theme.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Session, makeDtmfRecording } from './lib/stack.mjs';
import { AppView, eventually } from './lib/ui.mjs';
import { assertAccessible } from './lib/checks.mjs';

describe('speakers: who said what, renamed, exported and found', () => {
  const s = new Session('speakers');
  /** @type {AppView} */
  let ui;
  /** @type {import('playwright-core').Page} */
  let page;
  /** @type {Awaited<ReturnType<typeof makeDtmfRecording>>} */
  let rec;
  const exportDir = () => path.join(s.dir, 'exports');
  const t = (/** @type {string} */ key, /** @type {any} */ params) => ui.t(key, params);

  before(async () => {
    await s.open();
    page = /** @type {import('playwright-core').Page} */ (s.page);
    ui = await AppView.create(page);
    rec = await makeDtmfRecording(s.dir, 'voices', ['--voices', '3']);
    await ui.firstRun.connect(s.devserver.addr, 'dtmf');
    await page.getByRole('heading', { level: 1, name: 'Transcribe' }).waitFor();
  });
  after(() => s.close());

  const choice = () => page.getByLabel(t('speakers.choice'), { exact: true });
  const segmentRows = () => ui.transcript.root.getByTestId('segment');

  /** Each segment's keys and the speaker its chip shows. */
  async function shownSpeakers() {
    const out = [];
    for (const row of await segmentRows().all()) {
      const chip = row.getByTestId('speaker-chip');
      const who = (await chip.count()) ? (await chip.innerText()).trim() : '';
      const text = (await row.getByTestId('segment-text').innerText()).trim();
      const keys = (who && text.startsWith(who) ? text.slice(who.length) : text).trim().split(/\s+/);
      out.push({ who, keys, id: (await row.getAttribute('data-speaker')) ?? '' });
    }
    return out;
  }

  /** The truth's label for every key, in order, with names for voices renamed. */
  function expected(names = /** @type {Record<number, string>} */ ({})) {
    return rec.presses.map((p) => names[p.speaker] ?? `Speaker ${p.speaker}`);
  }

  /** The shown label for every key, in order. */
  async function perKey() {
    return (await shownSpeakers()).flatMap((seg) => seg.keys.map(() => seg.who));
  }

  /** axe in both themes, with a screenshot of each. */
  async function checkThemes(tc, name) {
    try {
      for (const scheme of /** @type {const} */ (['light', 'dark'])) {
        await page.emulateMedia({ colorScheme: scheme });
        await s.screenshot(`${name}-${scheme}`);
        await assertAccessible(tc, page);
      }
    } finally {
      await page.emulateMedia({ colorScheme: 'light' });
    }
  }

  it('offers the Speakers choice when the server has a speaker model, and keeps it in Go’s settings', async () => {
    assert.deepEqual(s.devserver.models, ['dtmf', 'voices']);
    await eventually(async () => (await choice().isEnabled()) || undefined, 40_000, 'the Speakers choice to be enabled');
    assert.equal((await page.getByTestId('speakers-reason').innerText()).trim(), t('speakers.choice.hint'));
    await choice().selectOption({ label: t('speakers.choice.auto') });
    await eventually(async () => (await page.evaluate(() => window.go.main.App.GetSettings())).speakers === 'auto' || undefined, 5_000, 'Go to keep the choice');
  });

  it('labels every key with the voice that pressed it: Speaker 1 to 3, in the header, on the segments and along the waveform', async (tc) => {
    const added = await ui.addFiles([rec.wav]);
    assert.equal(added.added.length, 1, JSON.stringify(added));
    const res = await ui.queue.finished('voices.wav');
    assert.ok(res.ok, `transcription failed: ${JSON.stringify(res)}`);
    const job = (await page.evaluate(() => window.go.main.App.Jobs())).at(-1);
    assert.deepEqual(job.request.speakers ?? null, {}, 'the job asked for speakers, count auto');
    assert.equal(job.diarization, 'done');
    await ui.queue.open('voices.wav');
    await ui.transcript.ready();

    const keys = (await shownSpeakers()).flatMap((seg) => seg.keys);
    assert.deepEqual(keys, rec.presses.map((p) => p.key), 'the keys, in order');
    assert.deepEqual(await perKey(), expected(), 'every key carries its voice');
    assert.deepEqual(
      (await ui.transcript.root.getByTestId('speakers-bar').getByTestId('speaker-chip').allInnerTexts()).map((x) => x.trim()),
      ['Speaker 1', 'Speaker 2', 'Speaker 3'],
    );
    assert.match(await ui.transcript.root.getByTestId('transcript-meta').innerText(), /3 speakers/);

    // One colour per speaker id: the same chip colour on every segment of a speaker, three in all.
    const colours = new Map();
    for (const row of await segmentRows().all()) {
      const chip = row.getByTestId('speaker-chip');
      const bg = await chip.evaluate((el) => getComputedStyle(el).backgroundColor);
      const id = await chip.getAttribute('data-speaker');
      if (colours.has(id)) assert.equal(colours.get(id), bg, `${id} has one colour`);
      colours.set(id, bg);
    }
    assert.equal(new Set(colours.values()).size, 3, `three colours: ${JSON.stringify([...colours])}`);

    // The waveform's turns: where the voice changes, in the speakers' colours.
    await ui.transcript.audioLoaded();
    const turns = await ui.transcript.root.getByTestId('speaker-turn').evaluateAll((els) =>
      els.map((el) => ({ id: el.getAttribute('data-speaker'), start: Number(el.getAttribute('data-start')) })),
    );
    const truthTurns = rec.presses.filter((p, i) => i === 0 || rec.presses[i - 1].speaker !== p.speaker);
    assert.deepEqual(turns.map((x) => x.id), truthTurns.map((p) => `S${p.speaker}`), 'one turn per change of voice');
    for (const [i, turn] of turns.entries()) assert.ok(Math.abs(turn.start - truthTurns[i].start) < 0.15, `turn ${i} starts at ${turn.start}, the voice at ${truthTurns[i].start}`);
    await checkThemes(tc, 'transcript-speakers');
  });

  it('renames Speaker 2 once for the whole transcript; undo and redo', async (tc) => {
    await ui.transcript.root.getByRole('button', { name: t('speakers.rename.label', { name: 'Speaker 2' }) }).click();
    const field = ui.transcript.root.getByLabel(t('speakers.rename.field', { name: 'Speaker 2' }));
    await field.fill('Ana Lima');
    await checkThemes(tc, 'rename');
    await field.press('Enter');
    await eventually(async () => JSON.stringify(await perKey()) === JSON.stringify(expected({ 2: 'Ana Lima' })) || undefined, 10_000, 'every segment of Speaker 2 to say Ana Lima');
    assert.ok(!(await ui.transcript.root.innerText()).includes('Speaker 2'), 'Speaker 2 is shown nowhere');
    await ui.transcript.undo();
    await eventually(async () => JSON.stringify(await perKey()) === JSON.stringify(expected()) || undefined, 10_000, 'undo to bring Speaker 2 back');
    await ui.transcript.redo();
    await eventually(async () => JSON.stringify(await perKey()) === JSON.stringify(expected({ 2: 'Ana Lima' })) || undefined, 10_000, 'redo to name Ana Lima again');
  });

  it('gives one segment to another speaker, merges two speakers, and undoes both', async () => {
    const before = await perKey();
    const segsBefore = await shownSpeakers();
    const first = segmentRows().first();
    await first.getByRole('button', { name: t('speakers.segment.change', { n: 1, name: 'Speaker 1' }) }).click();
    await first.getByLabel(t('speakers.segment.field', { n: 1 })).selectOption({ label: 'Speaker 3' });
    await first.getByRole('button', { name: t('common.save') }).click();
    await eventually(async () => (await shownSpeakers())[0].who === 'Speaker 3' || undefined, 10_000, 'segment 1 to be Speaker 3’s');
    assert.deepEqual((await shownSpeakers()).slice(1).map((x) => x.who), segsBefore.slice(1).map((x) => x.who), 'the other segments keep their speakers');
    await s.screenshot('segment-speaker');

    await ui.transcript.root.getByRole('button', { name: t('speakers.merge.label', { name: 'Speaker 3' }) }).click();
    await ui.transcript.root.getByLabel(t('speakers.merge.into', { name: 'Speaker 3' })).selectOption({ label: 'Ana Lima' });
    await ui.transcript.root.getByRole('button', { name: t('speakers.merge.do'), exact: true }).click();
    await eventually(async () => (await ui.transcript.root.getByTestId('speakers-bar').getByTestId('speaker').count()) === 2 || undefined, 10_000, 'two speakers after the merge');
    assert.ok(!(await perKey()).includes('Speaker 3'));

    await ui.transcript.undo();
    await ui.transcript.undo();
    await eventually(async () => JSON.stringify(await perKey()) === JSON.stringify(before) || undefined, 10_000, 'two undos to restore who said what');
    assert.equal(await ui.transcript.root.getByTestId('speakers-bar').getByTestId('speaker').count(), 3);
  });

  it('exports the new name: SRT and VTT at every change of speaker, JSON on every segment and word', async () => {
    const dialog = await ui.transcript.openExport();
    await dialog.choose(['srt', 'vtt', 'json'], exportDir());
    const res = await dialog.run();
    assert.ok('written' in res, JSON.stringify(res));
    assert.deepEqual([...res.written].sort(), ['json', 'srt', 'vtt'].map((f) => path.join(exportDir(), `voices.${f}`)));
    await dialog.close();
    const read = (f) => fs.readFile(path.join(exportDir(), `voices.${f}`), 'utf8');
    const [srt, vtt, json] = [await read('srt'), await read('vtt'), JSON.parse(await read('json'))];
    for (const [name, text] of [['SRT', srt], ['VTT', vtt], ['JSON', JSON.stringify(json)]]) {
      assert.ok(text.includes('Ana Lima'), `${name} names Ana Lima`);
      assert.ok(!text.includes('Speaker 2'), `${name} no longer says Speaker 2`);
    }
    assert.ok(vtt.includes('<v Ana Lima>'), 'VTT uses a voice tag');
    assert.deepEqual(json.speakers.map((x) => x.label), ['Speaker 1', 'Ana Lima', 'Speaker 3']);
    const words = json.segments.flatMap((seg) => seg.words.map((w) => ({ key: w.word, who: w.speaker, seg: seg.speaker })));
    assert.deepEqual(words.map((w) => w.who), expected({ 2: 'Ana Lima' }), 'every word of the JSON has its speaker');
    assert.ok(words.every((w) => w.who === w.seg), 'a word’s speaker is its segment’s');
  });

  it('finds the new name in the Library: search and the speaker filter', async (tc) => {
    await ui.go('Library');
    await ui.library.shows(1);
    await ui.library.search('Ana');
    await eventually(async () => (await ui.library.items.count()) === 1 && (await ui.library.items.first().innerText()).includes('Ana Lima') || undefined, 10_000, 'search to find Ana');
    await ui.library.clearSearch();
    await ui.library.search('Lima');
    await ui.library.shows(1);
    await ui.library.clearSearch();
    const filter = page.getByLabel(t('library.speaker'), { exact: true });
    const options = (await filter.locator('option').allInnerTexts()).map((x) => x.trim());
    assert.deepEqual(options, [t('library.speaker.any'), 'Ana Lima', 'Speaker 1', 'Speaker 3']);
    await filter.selectOption({ label: 'Ana Lima' });
    await ui.library.shows(1);
    await checkThemes(tc, 'library-speakers');
    await filter.selectOption({ label: t('library.speaker.any') });
    await ui.library.open('voices.wav');
    await ui.transcript.ready();
    assert.deepEqual(await perKey(), expected({ 2: 'Ana Lima' }), 'reopened from the Library, the names are kept');
  });

  it('finds the speakers of a transcript made without them (Find speakers…)', async () => {
    await ui.go('Transcribe');
    await choice().selectOption({ label: t('speakers.choice.off') });
    await eventually(async () => !(await page.evaluate(() => window.go.main.App.GetSettings())).speakers || undefined, 5_000, 'Go to keep Off');
    const two = await makeDtmfRecording(s.dir, 'pair', ['--voices', '2']);
    await ui.addFiles([two.wav]);
    assert.ok((await ui.queue.finished('pair.wav')).ok);
    await ui.queue.open('pair.wav');
    await ui.transcript.ready();
    assert.equal(await ui.transcript.root.getByTestId('speaker-chip').count(), 0, 'no speakers asked for, none shown');
    await ui.transcript.toolbar.getByRole('button', { name: t('speakers.find') }).click();
    await ui.transcript.root.getByRole('button', { name: t('speakers.find.run'), exact: true }).click();
    await eventually(async () => (await ui.transcript.root.getByTestId('speakers-bar').getByTestId('speaker').count()) === 2 || undefined, 30_000, 'two speakers found');
    const shown = (await shownSpeakers()).flatMap((seg) => seg.keys.map(() => seg.who));
    assert.deepEqual(shown, two.presses.map((p) => `Speaker ${p.speaker}`));
    await s.screenshot('found-speakers');
  });

  it('disables the choice, saying why, on a server without a speaker model', async (tc) => {
    await s.devserver.stop();
    s.devserver.args = ['--models', 'dtmf'];
    await s.devserver.start();
    assert.deepEqual(s.devserver.models, ['dtmf']);
    await ui.go('Settings');
    await eventually(async () => (await ui.settings.checkServer()).ok || undefined, 20_000, 'Check server to reach the restarted server');
    await ui.go('Transcribe');
    const reason = t('speakers.unavailable.none', { server: s.devserver.addr });
    await eventually(async () => (await page.getByTestId('speakers-reason').innerText()).trim() === reason || undefined, 10_000, `the reason "${reason}"`);
    assert.equal(await choice().isDisabled(), true);
    await checkThemes(tc, 'no-speaker-model');
  });
});
