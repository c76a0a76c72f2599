import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { api, emitSpeakersProgress, resetApi, settings, status } from './fake-api';

vi.mock('../lib/api', async () => (await import('./fake-api')).fakeApi());

import type { Segment, ServerStatus, Speaker, TranscribeResult, Transcript } from '../lib/api';
import { colourOf, palette, snapshot, turns, unavailableReason } from '../lib/speakers';
import { EditorState } from '../lib/state/editor.svelte';
import { HistoryState } from '../lib/state/history.svelte';
import { SettingsState } from '../lib/state/settings.svelte';
import { PlayerState } from '../lib/state/player.svelte';
import { SpeakerChoiceState, SpeakerEdits, SpeakerFinder } from '../lib/state/speakers.svelte';
import SpeakerChoice from '../lib/components/SpeakerChoice.svelte';
import TranscriptView from '../lib/components/TranscriptView.svelte';
import Waveform from '../lib/components/Waveform.svelte';
import LibraryView from '../lib/components/LibraryView.svelte';

beforeEach(() => resetApi());

// WCAG relative luminance and contrast ratio of two #rrggbb colours.
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

// The themes' surfaces a chip or a waveform turn sits on (src/app.css).
const lightSurfaces = ['#ffffff', '#f6f7f9', '#eef1f5'];
const darkSurfaces = ['#1c2128', '#14181d', '#232a32'];

describe('speaker colours', () => {
  it.each(palette.map((c, i) => [i, c] as const))('colour %i passes AA for its text and stands out from both themes’ surfaces', (_, c) => {
    expect(contrast(c.light.fill, c.light.text)).toBeGreaterThanOrEqual(4.5);
    expect(contrast(c.dark.fill, c.dark.text)).toBeGreaterThanOrEqual(4.5);
    for (const bg of lightSurfaces) expect(contrast(c.light.fill, bg)).toBeGreaterThanOrEqual(3);
    for (const bg of darkSurfaces) expect(contrast(c.dark.fill, bg)).toBeGreaterThanOrEqual(3);
  });

  it('keeps a colour with its speaker id, and the first eight apart', () => {
    const cases: [string, number][] = [
      ['S1', 0],
      ['S2', 1],
      ['s3', 2],
      ['S8', 7],
      ['S9', 0],
      ['S16', 7],
    ];
    for (const [id, i] of cases) expect(colourOf(id)).toBe(palette[i]);
    expect(new Set(['S1', 'S2', 'S3', 'S4', 'S5', 'S6', 'S7', 'S8'].map((id) => colourOf(id).light.fill)).size).toBe(8);
    expect(colourOf('guest')).toBe(colourOf('guest'));
  });
});

const sp = (id: string, label: string, seconds = 1): Speaker => ({ id, label, seconds });
const seg = (start: number, text: string, speaker?: string): Segment => ({ start, end: start + 1, text, words: [], speaker });

function talk(): Transcript {
  return {
    source: '/rec/talk.wav',
    sha256: '',
    duration: 5,
    model: 'dtmf',
    text: 'one two three four',
    segments: [seg(0, 'one', 'Speaker 1'), seg(1, 'two', 'Speaker 1'), seg(2, 'three', 'Speaker 2'), seg(3, 'four', 'Speaker 3')],
    speakers: [sp('S1', 'Speaker 1', 2), sp('S2', 'Speaker 2'), sp('S3', 'Speaker 3')],
  };
}

describe('turns and snapshots', () => {
  it('joins a speaker’s consecutive segments into one turn and skips labels not listed', () => {
    const segs = [...talk().segments, seg(4, 'five', 'Nobody'), seg(5, 'six', 'Speaker 1')];
    expect(turns(segs, talk().speakers)).toEqual([
      { start: 0, end: 2, id: 'S1', label: 'Speaker 1' },
      { start: 2, end: 3, id: 'S2', label: 'Speaker 2' },
      { start: 3, end: 4, id: 'S3', label: 'Speaker 3' },
      { start: 5, end: 6, id: 'S1', label: 'Speaker 1' },
    ]);
    expect(turns(talk().segments, undefined)).toEqual([]);
  });

  it('records who said what without the text', () => {
    expect(snapshot(talk())).toEqual({ speakers: talk().speakers, segments: ['Speaker 1', 'Speaker 1', 'Speaker 2', 'Speaker 3'] });
  });
});

describe('whether the server can find speakers', () => {
  const withModels = (models: ServerStatus['models']): ServerStatus => ({ ...status(), models });
  const noSpeakerModel = () => status().models.filter((m) => m.kind !== 'speaker_embedding');
  const voices = { ...status().models.find((m) => m.kind === 'speaker_embedding')!, name: 'voices', state: 'READY', ready: true };
  it.each([
    ['no answer yet', null, 'Speakers can be chosen once the server at gpu:8001 answers.'],
    ['no speaker model', withModels(noSpeakerModel()), 'The server at gpu:8001 has no speaker model (such as TitaNet), so speakers cannot be found.'],
    ['a speaker model loading', withModels([{ ...voices, ready: false, state: 'LOADING' }]), 'The speaker model voices on gpu:8001 is not ready, so speakers cannot be found yet.'],
    ['a speaker model ready', withModels([...noSpeakerModel(), voices]), ''],
  ])('%s', (_, st, want) => {
    expect(unavailableReason(st as ServerStatus | null, 'gpu:8001')).toBe(want);
  });
});

/** The open transcript as App holds it, with the editor and the speaker edits wired as App wires them. */
function workspace(tr = talk()) {
  const holder = { result: { transcript: tr, outputs: [], historyId: 7 } as TranscribeResult };
  const save = vi.fn(async (i: number, text: string) => {
    holder.result.transcript.segments[i].text = text;
    return true;
  });
  const editor: EditorState = new EditorState(
    () => holder.result.transcript.segments,
    save,
    (snap): Promise<boolean> => edits.restore(snap),
  );
  const edits: SpeakerEdits = new SpeakerEdits(
    () => holder.result,
    (): EditorState => editor,
  );
  return { holder, editor, edits, save };
}

/** Go's answer to a speaker edit: tr with its segments' speakers and the list changed. */
function answer(tr: Transcript, labels: (string | undefined)[], speakers: Speaker[]): Transcript {
  return { ...tr, segments: tr.segments.map((s, i) => ({ ...s, speaker: labels[i] })), speakers };
}

describe('speaker edits with undo', () => {
  it('renames through Go, shows what Go keeps, and undoes and redoes by snapshot, in turn with text edits', async () => {
    const { holder, editor, edits } = workspace();
    const renamed = answer(talk(), ['Ana', 'Ana', 'Speaker 2', 'Speaker 3'], [sp('S1', 'Ana', 2), sp('S2', 'Speaker 2'), sp('S3', 'Speaker 3')]);
    api.renameSpeaker.mockResolvedValue(renamed);
    api.restoreSpeakers.mockImplementation(async (_, snap) => answer(talk(), snap.segments, snap.speakers));

    expect(await edits.rename('S1', 'Ana')).toBe(true);
    expect(api.renameSpeaker).toHaveBeenCalledWith(7, 'S1', 'Ana');
    expect(holder.result.transcript.segments.map((s) => s.speaker)).toEqual(['Ana', 'Ana', 'Speaker 2', 'Speaker 3']);
    expect(await editor.edit(2, 'THREE')).toBe(true);

    await editor.undo(); // the text edit
    expect(holder.result.transcript.segments[2].text).toBe('three');
    await editor.undo(); // the rename
    expect(api.restoreSpeakers).toHaveBeenLastCalledWith(7, snapshot(talk()));
    expect(holder.result.transcript.speakers?.[0].label).toBe('Speaker 1');
    expect(editor.canUndo).toBe(false);
    await editor.redo();
    expect(api.restoreSpeakers).toHaveBeenLastCalledWith(7, snapshot(renamed));
    expect(holder.result.transcript.speakers?.[0].label).toBe('Ana');
  });

  it('tells the app when Go kept a change, so the Library lists the new names', async () => {
    const holder = { result: { transcript: talk(), outputs: [], historyId: 7 } as TranscribeResult };
    const changed = vi.fn();
    const editor = new EditorState(() => holder.result.transcript.segments, async () => true);
    const edits = new SpeakerEdits(() => holder.result, () => editor, changed);
    api.renameSpeaker.mockResolvedValueOnce(talk()).mockRejectedValueOnce(new Error('No such speaker "X".'));
    await edits.rename('S1', 'Ana');
    expect(changed).toHaveBeenCalledTimes(1);
    await edits.rename('X', 'Ana');
    expect(changed).toHaveBeenCalledTimes(1);
  });

  it('shows Go’s refusal as a sentence and adds nothing to undo', async () => {
    const { editor, edits } = workspace();
    api.renameSpeaker.mockRejectedValue(new Error('Another speaker has that name: "speaker 2" is S2 already (merge the two speakers to make them one).'));
    expect(await edits.rename('S1', 'speaker 2')).toBe(false);
    expect(edits.error).toMatch(/^Another speaker has that name/);
    expect(editor.canUndo).toBe(false);
    expect(await edits.rename('S1', '  ')).toBe(false);
    expect(edits.error).toBe('A speaker needs a name.');
    expect(api.renameSpeaker).toHaveBeenCalledTimes(1);
  });
});

describe('SpeakerChoice', () => {
  it('is disabled with the reason until the server has a speaker model; a choice is saved in Go', async () => {
    api.getSettings.mockResolvedValue(settings({ server: 'gpu:8001' }));
    api.getServerStatus.mockResolvedValue({ ...status(), address: 'gpu:8001', models: status().models.filter((m) => m.kind !== 'speaker_embedding') });
    const st = new SettingsState();
    await st.load();
    await st.refreshStatus();
    const choice = new SpeakerChoiceState(() => st);
    render(SpeakerChoice, { choice });
    const select = screen.getByLabelText('Speakers') as HTMLSelectElement;
    expect(select.disabled).toBe(true);
    expect(screen.getByTestId('speakers-reason').textContent?.trim()).toBe(
      'The server at gpu:8001 has no speaker model (such as TitaNet), so speakers cannot be found.',
    );
    expect(select.getAttribute('aria-describedby')).toBe('speakers-choice-note');

    st.status = { ...status(), address: 'gpu:8001' }; // with its speaker model
    await vi.waitFor(() => expect(select.disabled).toBe(false));
    expect(screen.getByTestId('speakers-reason').textContent?.trim()).toBe('Who said what, for the files you add from now on.');
    expect([...select.options].map((o) => o.textContent?.trim()).slice(0, 4)).toEqual(['Off', 'Find how many', '2 speakers', '3 speakers']);

    api.setSpeakers.mockImplementation(async (c) => settings({ speakers: c }));
    await fireEvent.change(select, { target: { value: '3' } });
    expect(api.setSpeakers).toHaveBeenCalledWith('3');
    await vi.waitFor(() => expect(choice.choice).toBe('3'));
    expect(st.form.speakers).toBe('3');
  });
});

describe('SpeakerChoice left on', () => {
  it('stays changeable without a speaker model while a choice is on, so it can be turned off', async () => {
    api.getSettings.mockResolvedValue(settings({ server: 'gpu:8001', speakers: 'auto' }));
    api.getServerStatus.mockResolvedValue({ ...status(), address: 'gpu:8001', models: status().models.filter((m) => m.kind !== 'speaker_embedding') });
    const st = new SettingsState();
    await st.load();
    await st.refreshStatus();
    render(SpeakerChoice, { choice: new SpeakerChoiceState(() => st) });
    const select = screen.getByLabelText('Speakers') as HTMLSelectElement;
    expect(select.value).toBe('auto');
    expect(select.disabled).toBe(false);
    expect(screen.getByTestId('speakers-reason').textContent).toContain('has no speaker model');
    api.setSpeakers.mockImplementation(async (c) => settings({ speakers: c }));
    await fireEvent.change(select, { target: { value: '' } });
    await vi.waitFor(() => expect(select.disabled).toBe(true));
  });
});

function renderTranscript(over: { tr?: Transcript; diarizationError?: string; finder?: boolean } = {}) {
  const w = workspace(over.tr);
  const finder = over.finder ? new SpeakerFinder(() => w.holder.result, () => w.editor) : undefined;
  const view = render(TranscriptView, {
    transcript: w.holder.result.transcript,
    player: new PlayerState(),
    editor: w.editor,
    edits: w.edits,
    finder,
    diarizationError: over.diarizationError ?? '',
    onexport: vi.fn(),
    onback: vi.fn(),
  });
  return { ...w, finder, view };
}

describe('TranscriptView with speakers', () => {
  it('lists the speakers in the header and puts a chip in each speaker’s colour on every segment', () => {
    renderTranscript();
    const bar = screen.getByTestId('speakers-bar');
    expect(within(bar).getAllByTestId('speaker-chip').map((c) => c.textContent?.trim())).toEqual(['Speaker 1', 'Speaker 2', 'Speaker 3']);
    expect(screen.getByTestId('transcript-meta').textContent).toContain('3 speakers');
    const chips = screen.getAllByTestId('segment').map((row) => within(row).getByTestId('speaker-chip'));
    expect(chips.map((c) => c.dataset.speaker)).toEqual(['S1', 'S1', 'S2', 'S3']);
    expect(chips[0].getAttribute('style')).toMatch(new RegExp(`--spk-fill: ?${palette[0].light.fill};`));
    expect(chips[2].getAttribute('style')).toMatch(new RegExp(`--spk-fill: ?${palette[1].light.fill};`));
  });

  it('changes one segment’s speaker through Go; Escape leaves it', async () => {
    const { edits, holder } = renderTranscript();
    api.setSegmentSpeaker.mockResolvedValue(answer(talk(), ['Speaker 1', 'Speaker 3', 'Speaker 2', 'Speaker 3'], talk().speakers!));
    await fireEvent.click(screen.getByLabelText('Speaker 1: change the speaker of segment 2'));
    const select = screen.getByLabelText('Speaker of segment 2') as HTMLSelectElement;
    await fireEvent.keyDown(select, { key: 'Escape' });
    expect(screen.queryByLabelText('Speaker of segment 2')).toBeNull();

    await fireEvent.click(screen.getByLabelText('Speaker 1: change the speaker of segment 2'));
    await fireEvent.change(screen.getByLabelText('Speaker of segment 2'), { target: { value: 'Speaker 3' } });
    await fireEvent.click(within(screen.getAllByTestId('segment')[1]).getByText('Save', { selector: 'button' }));
    await vi.waitFor(() => expect(api.setSegmentSpeaker).toHaveBeenCalledWith(7, 1, 'Speaker 3'));
    await vi.waitFor(() => expect(holder.result.transcript.segments[1].speaker).toBe('Speaker 3'));
    expect(edits.error).toBe('');
  });

  it('renames and merges from the header', async () => {
    renderTranscript();
    api.renameSpeaker.mockResolvedValue(answer(talk(), ['Ana', 'Ana', 'Speaker 2', 'Speaker 3'], [sp('S1', 'Ana', 2), sp('S2', 'Speaker 2'), sp('S3', 'Speaker 3')]));
    await fireEvent.click(screen.getByLabelText('Rename Speaker 1'));
    const field = screen.getByLabelText('New name for Speaker 1');
    await fireEvent.input(field, { target: { value: 'Ana' } });
    await fireEvent.submit(field.closest('form')!);
    await vi.waitFor(() => expect(api.renameSpeaker).toHaveBeenCalledWith(7, 'S1', 'Ana'));

    api.mergeSpeakers.mockResolvedValue(answer(talk(), ['Ana', 'Ana', 'Speaker 2', 'Speaker 2'], [sp('S1', 'Ana', 2), sp('S2', 'Speaker 2', 2)]));
    await fireEvent.click(await screen.findByLabelText('Merge Speaker 3 into another speaker'));
    await fireEvent.change(screen.getByLabelText('Merge Speaker 3 into'), { target: { value: 'S2' } });
    await fireEvent.click(screen.getByText('Merge', { selector: 'button' }));
    await vi.waitFor(() => expect(api.mergeSpeakers).toHaveBeenCalledWith(7, 'S2', 'S3'));
  });

  it('shows why the speakers could not be found, with the transcript', () => {
    const plain = { ...talk(), speakers: undefined, segments: talk().segments.map((s) => ({ ...s, speaker: undefined })) };
    renderTranscript({ tr: plain, diarizationError: 'The speaker model voices failed: out of memory.' });
    expect(screen.getByTestId('diarization-failed').textContent).toBe(
      'The speakers could not be found: The speaker model voices failed: out of memory. The transcript is complete without them.',
    );
    expect(screen.getAllByTestId('segment')).toHaveLength(4);
  });

  it('finds the speakers of a transcript without them, with progress, and a failure as a sentence', async () => {
    const plain = { ...talk(), speakers: undefined, segments: talk().segments.map((s) => ({ ...s, speaker: undefined })) };
    const { finder, holder } = renderTranscript({ tr: plain, finder: true });
    let resolve: (t: Transcript) => void = () => {};
    api.findSpeakers.mockImplementation(() => new Promise((r) => (resolve = r)));
    await fireEvent.click(screen.getByText('Find speakers…', { selector: 'button' }));
    await fireEvent.change(screen.getByLabelText('Speakers'), { target: { value: '2' } });
    await fireEvent.click(screen.getByText('Find speakers', { selector: 'button' }));
    expect(api.findSpeakers).toHaveBeenCalledWith(7, '2');
    emitSpeakersProgress({ historyId: 7, progress: { path: '', stage: 'transcribing', chunksDone: 1, chunksTotal: 2, fraction: 0.5 } });
    emitSpeakersProgress({ historyId: 8, progress: { path: '', stage: 'transcribing', chunksDone: 2, chunksTotal: 2, fraction: 0.9 } });
    await vi.waitFor(() => expect(screen.getByTestId('find-speakers-progress').textContent).toBe('Finding speakers… 50%'));
    resolve(talk());
    await vi.waitFor(() => expect(holder.result.transcript.speakers).toHaveLength(3));
    expect(finder!.busy).toBe(false);

    api.findSpeakers.mockRejectedValue(new Error('The speakers could not be found: the speaker model voices is not ready.'));
    holder.result.transcript.speakers = [];
    finder!.open = true;
    expect(await finder!.find()).toBe(false);
    expect(finder!.error).toBe('The speakers could not be found: the speaker model voices is not ready.');
  });
});

describe('Waveform', () => {
  it('draws each speaker turn along the bottom in its colour', () => {
    render(Waveform, {
      peaks: Array.from({ length: 100 }, () => 0.5),
      duration: 10,
      position: 0,
      boundaries: [],
      turns: [
        { start: 0, end: 4, id: 'S1', label: 'A' },
        { start: 4, end: 10, id: 'S2', label: 'B' },
      ],
      onseek: vi.fn(),
    });
    const rects = screen.getAllByTestId('speaker-turn');
    expect(rects.map((r) => [r.getAttribute('x'), r.getAttribute('width'), r.dataset.speaker])).toEqual([
      ['0', '40', 'S1'],
      ['40', '60', 'S2'],
    ]);
    expect(rects[1].getAttribute('style')).toContain(palette[1].dark.fill);
  });
});

describe('the Library’s speaker filter', () => {
  const hit = (id: number, name: string, speakers?: Speaker[]) => ({
    id, source: `/a/${name}`, name, sha256: '', server: '', model: 'dtmf', modelVersion: '1', options: [],
    duration: 45, preview: name, createdAt: new Date().toISOString(), updatedAt: '', snippet: name, speakers,
  });

  it('offers the names of the listed entries and keeps only those a speaker talks in', async () => {
    api.history.mockResolvedValue([hit(1, 'a.wav', [sp('S1', 'Ana'), sp('S2', 'Speaker 2')]), hit(2, 'b.wav', [sp('S1', 'Bea')]), hit(3, 'c.wav')]);
    const hist = new HistoryState();
    render(LibraryView, { hist, onopen: vi.fn(), onexport: vi.fn() });
    await hist.refresh();
    expect(hist.speakerOptions).toEqual(['Ana', 'Bea', 'Speaker 2']);
    const filter = (await screen.findByLabelText('Speaker')) as HTMLSelectElement;
    hist.pick(2, true);
    await fireEvent.change(filter, { target: { value: 'Ana' } });
    await vi.waitFor(() => expect(screen.getAllByTestId('history-item')).toHaveLength(1));
    expect(hist.shown.map((i) => i.id)).toEqual([1]);
    expect(hist.selected).toEqual([]); // b.wav is hidden, so no longer picked
    expect(within(screen.getByTestId('history-speakers')).getAllByTestId('speaker-chip').map((c) => c.textContent?.trim())).toEqual(['Ana', 'Speaker 2']);
  });

  it('shows no filter when no entry has speakers', async () => {
    api.history.mockResolvedValue([hit(3, 'c.wav')]);
    const hist = new HistoryState();
    render(LibraryView, { hist, onopen: vi.fn(), onexport: vi.fn() });
    await hist.refresh();
    await screen.findByTestId('history-item');
    expect(screen.queryByLabelText('Speaker')).toBeNull();
  });
});
