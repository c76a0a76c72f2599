import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { FakeOut, api, emitAdded, emitQueue, job, resetApi, result, settings, status } from './fake-api';

vi.mock('../lib/api', async () => (await import('./fake-api')).fakeApi());

import App from '../App.svelte';
import { PlayerState } from '../lib/state/player.svelte';
import { locale } from '../lib/i18n/index.svelte';

beforeEach(() => {
  resetApi();
  locale.set('');
  // Saved settings: no first run (see the first-run tests).
  api.getSettings.mockResolvedValue(settings({ server: 'gpu:8001' }));
});

let out: FakeOut;

async function renderReady() {
  out = new FakeOut();
  const view = render(App, { player: new PlayerState(() => out) });
  await screen.findByRole('heading', { level: 1, name: 'Transcribe' });
  await vi.waitFor(() => expect(screen.getByTestId('status-server').textContent).toBe('gpu:8001'));
  return view;
}

function history(...items: { id: number; name: string }[]) {
  api.history.mockResolvedValue(
    items.map(({ id, name }) => ({
      id, source: `/a/${name}`, name, sha256: '', server: '', model: 'dtmf', modelVersion: '1', options: [], duration: 45,
      preview: 'p', createdAt: new Date().toISOString(), updatedAt: '', snippet: 'Hello there.',
    })),
  );
}

async function openJob(id = 1, historyId = 9) {
  api.jobResult.mockResolvedValue({ ...result(), historyId });
  emitQueue({ kind: 'added', job: job(id, 'done', { historyId }) });
  await fireEvent.click(await screen.findByRole('button', { name: `Open the transcript of take ${id}.wav` }));
  await screen.findAllByTestId('segment');
  await vi.waitFor(() => expect(screen.getByTestId('waveform')).toBeTruthy());
}

describe('App: layout', () => {
  it('has a sidebar with the three places, the queue first, and a status line', async () => {
    await renderReady();
    const nav = screen.getByRole('navigation', { name: 'Main' });
    expect(within(nav).getAllByRole('button').map((b) => b.textContent?.trim())).toEqual(['Transcribe', 'Library', 'Settings']);
    expect(within(nav).getByRole('button', { name: 'Transcribe' }).getAttribute('aria-current')).toBe('page');
    expect(screen.getByText(/Drop audio or video files or folders/)).toBeTruthy();
    await vi.waitFor(() => expect(screen.getByTestId('status-ready').textContent).toBe('Ready'));
    expect(screen.getByTestId('status-jobs').textContent).toBe('0 jobs running');
    await fireEvent.click(within(nav).getByRole('button', { name: 'Settings' }));
    expect(screen.getByRole('heading', { level: 1, name: 'Settings' })).toBeTruthy();
    expect((screen.getByLabelText('Server address') as HTMLInputElement).value).toBe('gpu:8001');
    await fireEvent.click(within(nav).getByRole('button', { name: 'Library' }));
    expect(screen.getByRole('heading', { level: 1, name: 'Library' })).toBeTruthy();
  });

  it('takes native drops anywhere in the window', async () => {
    const { container } = await renderReady();
    const shell = container.querySelector('.shell') as HTMLElement;
    expect(shell.style.getPropertyValue('--wails-drop-target')).toBe('drop');
  });

  it('shows the server, model, ready, jobs running and live throughput in the status line; Refresh asks again', async () => {
    api.getSettings.mockResolvedValue(settings({ server: 'gpu:8001', model: 'parakeet-tdt-0.6b-v2' , timestamps: false }));
    await renderReady();
    await vi.waitFor(() => expect(screen.getByTestId('status-ready').textContent).toBe('Ready'));
    expect(screen.getByTestId('status-model').textContent).toBe('parakeet-tdt-0.6b-v2');
    expect(api.getServerStatus).toHaveBeenCalledWith('');
    emitQueue({
      kind: 'added',
      job: job(1, 'transcribing', { progress: { path: 'a', stage: 'transcribing', chunksDone: 1, chunksTotal: 4, fraction: 0.25, realtimeFactor: 25 } }),
    });
    await vi.waitFor(() => expect(screen.getByTestId('status-jobs').textContent).toBe('1 job running'));
    expect(screen.getByTestId('status-throughput').textContent).toBe('25.0× real time');
    api.getServerStatus.mockRejectedValue(new Error('Cannot reach the server.'));
    await fireEvent.click(screen.getByRole('button', { name: 'Refresh' }));
    await vi.waitFor(() => expect(screen.getByTestId('status-ready').textContent).toBe('Server not reachable'));
  });
});

describe('App: first run', () => {
  it('asks for the server on a first start, checks it, offers its models and then stays out of the way', async () => {
    api.getSettings.mockResolvedValue(settings());
    api.settingsSaved.mockResolvedValue(false);
    render(App, { player: new PlayerState(() => new FakeOut()) });
    await screen.findByRole('heading', { level: 1, name: 'Connect to your Triton server' });
    expect(screen.queryByRole('button', { name: 'Library' })).toBeNull();
    await fireEvent.input(screen.getByLabelText('Server address'), { target: { value: ' gpu:8001 ' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Check server' }));
    expect(api.getServerStatus).toHaveBeenCalledWith('gpu:8001');
    const pick = await screen.findByRole('radio', { name: /parakeet-tdt-0.6b-v2/ });
    expect((pick as HTMLInputElement).checked).toBe(true);
    expect((screen.getByRole('radio', { name: /dtmf/ }) as HTMLInputElement).disabled).toBe(true);
    const offered = screen.getAllByTestId('setup-model').map((l) => [l.textContent?.replace(/\s+/g, ' ').trim(), (l.querySelector('input') as HTMLInputElement).disabled]);
    expect(offered).toEqual([
      ['parakeet-tdt-0.6b-v2 ready · 2 instances', false],
      ["dtmf failed to load failed to load 'dtmf': no model.py in version 1", true],
      ['canary-1b-flash loading', true],
      ['parakeet-ctc-1.1b not loaded on the server', true],
      ['titanet-large speaker model, not for transcription', true],
    ]);
    await fireEvent.click(screen.getByRole('button', { name: 'Continue' }));
    await screen.findByRole('heading', { level: 1, name: 'Transcribe' });
    expect(api.saveSettings).toHaveBeenLastCalledWith(expect.objectContaining({ server: 'gpu:8001', model: 'parakeet-tdt-0.6b-v2' }));
    expect(api.saveSettings).toHaveBeenCalledTimes(2); // Check server saves, and Continue
  });

  it('does not ask again once settings were saved, whatever they are', async () => {
    api.getSettings.mockResolvedValue(settings()); // the defaults, saved
    render(App, { player: new PlayerState(() => new FakeOut()) });
    await screen.findByRole('heading', { level: 1, name: 'Transcribe' });
    expect(screen.queryByTestId('first-run')).toBeNull();
  });

  it('speaks the language chosen in the connection step at once and saves it with the step', async () => {
    api.settingsSaved.mockResolvedValue(false);
    render(App, { player: new PlayerState(() => new FakeOut()) });
    await screen.findByRole('heading', { level: 1, name: 'Connect to your Triton server' });
    await fireEvent.change(screen.getByTestId('setup-language'), { target: { value: 'de' } });
    await screen.findByRole('heading', { level: 1, name: 'Mit Ihrem Triton-Server verbinden' });
    expect(document.documentElement.lang).toBe('de');
    expect(api.saveSettings).not.toHaveBeenCalled();
    await fireEvent.click(screen.getByRole('button', { name: 'Vorerst überspringen' }));
    await screen.findByRole('heading', { level: 1, name: 'Transkribieren' });
    await vi.waitFor(() => expect(api.saveSettings).toHaveBeenLastCalledWith(expect.objectContaining({ uiLanguage: 'de', server: 'gpu:8001' })));
  });

  it('says why the server cannot be reached, and can be skipped', async () => {
    api.getSettings.mockResolvedValue(settings());
    api.settingsSaved.mockResolvedValue(false);
    api.getServerStatus.mockRejectedValue(new Error('Cannot reach the server at gpu:8001: check it is running.'));
    render(App, { player: new PlayerState(() => new FakeOut()) });
    await fireEvent.click(await screen.findByRole('button', { name: 'Check server' }));
    expect((await screen.findByTestId('server-error')).textContent).toBe('Cannot reach the server at gpu:8001: check it is running.');
    expect((screen.getByRole('button', { name: 'Continue' }) as HTMLButtonElement).disabled).toBe(true);
    await fireEvent.click(screen.getByRole('button', { name: 'Skip for now' }));
    await screen.findByRole('heading', { level: 1, name: 'Transcribe' });
    // Skipped: what Go held is saved, not the address typed.
    await vi.waitFor(() => expect(api.saveSettings).toHaveBeenLastCalledWith(expect.objectContaining({ server: 'localhost:8001' })));
  });
});

describe('App: settings page', () => {
  it('saves the settings and checks the server, listing its models', async () => {
    await renderReady();
    await fireEvent.click(screen.getByRole('button', { name: 'Settings' }));
    await fireEvent.input(screen.getByLabelText('Server address'), { target: { value: ' gpu:8002 ' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Check server' }));
    await screen.findByTestId('server-status');
    expect(api.saveSettings).toHaveBeenCalledWith(expect.objectContaining({ server: ' gpu:8002 ' }));
    expect(api.getServerStatus).toHaveBeenCalledWith('gpu:8002');
    const models = screen.getByRole('list', { name: 'Models on this server' });
    expect(within(models).getAllByRole('listitem').map((li) => li.textContent?.replace(/\s+/g, ' ').trim())).toEqual([
      'parakeet-tdt-0.6b-v2 ready · 2 instances AUDIO_FLAC is declared but not BYTES: sending AUDIO.',
      "dtmf failed to load failed to load 'dtmf': no model.py in version 1",
      'canary-1b-flash loading',
      'parakeet-ctc-1.1b not loaded on the server',
      'titanet-large speaker model, not for transcription',
    ]);
    expect(screen.getByTestId('model-reason').textContent).toBe("failed to load 'dtmf': no model.py in version 1");
    expect(screen.getByTestId('model-warning').textContent).toBe('AUDIO_FLAC is declared but not BYTES: sending AUDIO.');
    expect(screen.queryByTestId('model-unusable')).toBeNull();
  });

  it('says why the chosen model cannot be used, and the status line too', async () => {
    api.getSettings.mockResolvedValue(settings({ server: 'gpu:8001', model: 'canary-1b-flash' }));
    await renderReady();
    await vi.waitFor(() => expect(screen.getByTestId('status-ready').textContent).toBe('Model loading'));
    // A server that is not ready (a model failed to load) still serves the
    // models that are: the chosen one's state is what the line says.
    api.getServerStatus.mockResolvedValue({ ...status(), ready: false });
    await fireEvent.click(screen.getByRole('button', { name: 'Refresh' }));
    await vi.waitFor(() => expect(screen.getByTestId('status-ready').textContent).toBe('Model loading'));
    api.getServerStatus.mockResolvedValue({ ...status(), ready: false, live: false });
    await fireEvent.click(screen.getByRole('button', { name: 'Refresh' }));
    await vi.waitFor(() => expect(screen.getByTestId('status-ready').textContent).toBe('Server not live'));
    api.getServerStatus.mockResolvedValue(status());
    await fireEvent.click(screen.getByRole('button', { name: 'Settings' }));
    await fireEvent.click(screen.getByRole('button', { name: 'Check server' }));
    expect((await screen.findByTestId('model-unusable')).textContent).toBe('The model “canary-1b-flash” cannot be used now: loading.');
    const options = [...document.querySelectorAll('#ready-models option')].map((o) => (o as HTMLOptionElement).value);
    expect(options).toEqual(['parakeet-tdt-0.6b-v2']);
  });

  it('changes the language without a restart and saves it apart from the form being edited', async () => {
    await renderReady();
    await fireEvent.click(screen.getByRole('button', { name: 'Settings' }));
    await fireEvent.input(screen.getByLabelText('Server address'), { target: { value: 'half-typed' } });
    await fireEvent.change(screen.getByTestId('ui-language'), { target: { value: 'ja' } });
    await screen.findByRole('heading', { level: 1, name: '設定' });
    expect(screen.getByRole('navigation', { name: 'メイン' })).toBeTruthy();
    await vi.waitFor(() => expect(api.saveSettings).toHaveBeenLastCalledWith(expect.objectContaining({ uiLanguage: 'ja', server: 'gpu:8001' })));
    expect((screen.getByLabelText('サーバーのアドレス') as HTMLInputElement).value).toBe('half-typed');
    await fireEvent.change(screen.getByTestId('ui-language'), { target: { value: '' } });
    await screen.findByRole('heading', { level: 1, name: 'Settings' });
    await vi.waitFor(() => expect(api.saveSettings).toHaveBeenLastCalledWith(expect.objectContaining({ uiLanguage: '' })));
  });

  it('speaks the saved language from the start', async () => {
    api.getSettings.mockResolvedValue(settings({ server: 'gpu:8001', uiLanguage: 'ru' }));
    render(App, { player: new PlayerState(() => new FakeOut()) });
    await screen.findByRole('heading', { level: 1, name: 'Расшифровка' });
    expect(document.documentElement.lang).toBe('ru');
  });

  it('shows language options only for Canary models', async () => {
    await renderReady();
    await fireEvent.click(screen.getByRole('button', { name: 'Settings' }));
    expect(screen.queryByLabelText('Task')).toBeNull();
    await fireEvent.input(screen.getByLabelText('Model'), { target: { value: 'canary-1b-flash' } });
    expect(screen.getByLabelText('Task')).toBeTruthy();
    expect(screen.getByLabelText('Language (e.g. en, de)')).toBeTruthy();
  });
});

describe('App: queue', () => {
  it('shows a row per job with its progress; Open shows the transcript', async () => {
    await renderReady();
    emitQueue({ kind: 'added', job: job(1, 'queued') });
    emitQueue({
      kind: 'updated',
      job: job(1, 'transcribing', {
        progress: { path: '/audio/take 1.wav', stage: 'transcribing', chunksDone: 3, chunksTotal: 10, fraction: 0.3, realtimeFactor: 25, etaSeconds: 4 },
      }),
    });
    const bar = await screen.findByRole('progressbar', { name: 'Progress of take 1.wav' });
    await vi.waitFor(() => expect(bar.getAttribute('aria-valuetext')).toBe('Transcribing — chunk 3 of 10'));
    expect(screen.getByText('25.0× real time · about 4 sec left')).toBeTruthy();
    const totals = screen.getByTestId('queue-totals');
    expect(totals.textContent).toMatch(/^1 file: 0 done, 1 in progress · 30%$/);
    expect(totals.getAttribute('aria-live')).toBeNull();

    emitQueue({ kind: 'updated', job: job(1, 'done') });
    await vi.waitFor(() => expect(screen.getByTestId('queue-announcement').textContent).toBe('take 1.wav is transcribed.'));
    await fireEvent.click(await screen.findByRole('button', { name: 'Open the transcript of take 1.wav' }));
    const rows = await screen.findAllByTestId('segment');
    const shown = rows.map((r) => `${within(r).getByTestId('segment-time').textContent?.trim()} ${within(r).getByTestId('segment-text').textContent?.trim()}`);
    expect(shown).toEqual(['[00:00.2] Hello there.', '[01:03.0] General Kenobi.']);
    expect(api.jobResult).toHaveBeenCalledWith(1);
    expect(screen.getByRole('heading', { level: 1, name: 'take 1.wav' })).toBeTruthy();
    expect(screen.getByTestId('transcript-meta').textContent?.trim()).toBe('1 min 15 sec · parakeet-tdt-0.6b-v2');
    await fireEvent.click(screen.getByRole('button', { name: 'Back' }));
    expect(screen.getByRole('heading', { level: 1, name: 'Transcribe' })).toBeTruthy();
  });

  it('retries a failed job and removes one', async () => {
    await renderReady();
    emitQueue({ kind: 'added', job: job(2, 'failed', { error: 'The server at gpu:8001 is not reachable: check it is running.' }) });
    expect((await screen.findByTestId('job-error')).textContent).toMatch(/not reachable/);
    await fireEvent.click(screen.getByRole('button', { name: 'Retry take 2.wav' }));
    expect(api.retryJob).toHaveBeenCalledWith(2);
    await fireEvent.click(screen.getByRole('button', { name: 'Remove take 2.wav from the queue' }));
    expect(api.removeJob).toHaveBeenCalledWith(2);
    emitQueue({ kind: 'removed', job: job(2, 'failed') });
    await vi.waitFor(() => expect(screen.queryByTestId('job')).toBeNull());
  });

  it('offers to replace existing output files', async () => {
    await renderReady();
    emitQueue({ kind: 'added', job: job(3, 'failed', { error: 'take 3.srt exists.', existingOutputs: ['/out/take 3.srt'] }) });
    await fireEvent.click(await screen.findByRole('button', { name: 'Replace the existing files of take 3.wav' }));
    expect(api.retryWithOverwrite).toHaveBeenCalledWith(3);
  });

  it('lists dropped files that were not added, with the reason', async () => {
    await renderReady();
    emitAdded({ added: [], skipped: [{ path: '/a/notes.txt', reason: '".txt" is not an audio or video file type the app knows.' }] });
    const item = await screen.findByTestId('skipped');
    expect(item.textContent).toContain('/a/notes.txt');
    expect(item.textContent).toContain('is not an audio or video file type');
  });

  it('loads the jobs already queued at start', async () => {
    api.listJobs.mockResolvedValue([job(5, 'queued')]);
    await renderReady();
    expect(await screen.findByText('take 5.wav')).toBeTruthy();
  });

  it('exports all finished jobs from the queue through the dialog', async () => {
    await renderReady();
    emitQueue({ kind: 'added', job: job(1, 'done') });
    emitQueue({ kind: 'added', job: job(2, 'done') });
    await fireEvent.click(await screen.findByRole('button', { name: 'Export finished…' }));
    const dialog = screen.getByRole('dialog', { name: 'Export' });
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Export' }));
    expect(api.exportJobs).toHaveBeenLastCalledWith([1, 2], ['srt', 'txt'], '', false);
  });
});

describe('App: transcript workspace', () => {
  it('plays from a segment time and from a word, follows playback, seeks and changes speed', async () => {
    const r = result();
    r.transcript.segments[1].words = [
      { word: 'General', start: 62.96, end: 63.5 },
      { word: 'Kenobi.', start: 63.6, end: 64.4 },
    ];
    api.jobResult.mockResolvedValue({ ...r, historyId: 9 });
    await renderReady();
    emitQueue({ kind: 'added', job: job(1, 'done', { historyId: 9 }) });
    await fireEvent.click(await screen.findByRole('button', { name: 'Open the transcript of take 1.wav' }));
    await vi.waitFor(() => expect(screen.getByTestId('waveform')).toBeTruthy());
    await fireEvent.click(screen.getByRole('button', { name: 'Play from [01:03.0]' }));
    await vi.waitFor(() => expect(out.started).toEqual([{ when: 0, offset: 62.96 }]));
    expect(screen.getByTestId('player-position').dataset.seconds).toBe('62.96');
    await vi.waitFor(() => expect(screen.getAllByTestId('segment')[1].getAttribute('aria-current')).toBe('true'));
    expect(screen.getByTestId('player-position').textContent?.trim()).toBe('01:03.0 / 01:20.0');

    const words = screen.getAllByTestId('word');
    await fireEvent.click(words[1]);
    await vi.waitFor(() => expect(out.started.at(-1)).toEqual({ when: 0, offset: 63.6 }));
    await vi.waitFor(() => expect(words[1].classList.contains('now')).toBe(true));

    await fireEvent.click(screen.getByRole('button', { name: 'Back 5 s' }));
    await vi.waitFor(() => expect(out.started.at(-1)?.offset).toBeCloseTo(58.6));
    await fireEvent.keyDown(window, { key: 'ArrowRight', altKey: true });
    await vi.waitFor(() => expect(out.started.at(-1)?.offset).toBeCloseTo(63.6));
    await fireEvent.change(screen.getByLabelText('Speed'), { target: { value: '1.5' } });
    await vi.waitFor(() => expect(out.started.length).toBe(5));

    await fireEvent.keyDown(window, { key: ' ', code: 'Space', ctrlKey: true });
    expect(screen.getByTestId('player-position').dataset.playing).toBe('false');
    await fireEvent.keyDown(screen.getByRole('button', { name: 'Forward 5 s' }), { key: ' ' });
    await vi.waitFor(() => expect(screen.getByTestId('player-position').dataset.playing).toBe('true'));
  });

  it('edits in place, and undoes and redoes through the stored edits', async () => {
    await renderReady();
    await openJob();
    await fireEvent.click(screen.getByRole('button', { name: 'Edit segment 1' }));
    await fireEvent.input(screen.getByLabelText('Text of segment 1'), { target: { value: 'Hello  again.' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(api.editSegment).toHaveBeenCalledWith(9, 0, 'Hello  again.');
    await vi.waitFor(() => expect(screen.getAllByTestId('segment-text')[0].textContent?.trim()).toBe('Hello again.'));

    await fireEvent.click(screen.getByRole('button', { name: 'Undo' }));
    expect(api.editSegment).toHaveBeenLastCalledWith(9, 0, 'Hello there.');
    await vi.waitFor(() => expect(screen.getAllByTestId('segment-text')[0].textContent?.trim()).toBe('Hello there.'));
    await fireEvent.keyDown(window, { key: 'z', ctrlKey: true, shiftKey: true });
    await vi.waitFor(() => expect(screen.getAllByTestId('segment-text')[0].textContent?.trim()).toBe('Hello again.'));
    expect(api.editSegment).toHaveBeenLastCalledWith(9, 0, 'Hello again.');

    // Escape leaves an edit without saving.
    await fireEvent.click(screen.getByRole('button', { name: 'Edit segment 2' }));
    const box = screen.getByLabelText('Text of segment 2');
    await fireEvent.input(box, { target: { value: 'nope' } });
    await fireEvent.keyDown(box, { key: 'Escape' });
    expect(screen.getAllByTestId('segment-text')[1].textContent?.trim()).toBe('General Kenobi.');
  });

  it('finds and replaces in this transcript (Ctrl+F), one and all, as one undo step', async () => {
    await renderReady();
    await openJob();
    await fireEvent.keyDown(window, { key: 'f', ctrlKey: true });
    const find = await screen.findByLabelText('Find');
    await fireEvent.input(find, { target: { value: 'e' } });
    expect(screen.getByTestId('search-count').textContent).toBe('1 of 6');
    await fireEvent.keyDown(find, { key: 'Enter' });
    expect(screen.getByTestId('search-count').textContent).toBe('2 of 6');
    await fireEvent.input(find, { target: { value: 'kenobi' } });
    expect(screen.getByTestId('search-count').textContent).toBe('1 of 1');
    await fireEvent.input(screen.getByLabelText('Replace with'), { target: { value: 'Grievous' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Replace' }));
    expect(api.editSegment).toHaveBeenLastCalledWith(9, 1, 'General Grievous.');
    await vi.waitFor(() => expect(screen.getByTestId('search-count').textContent).toBe('No matches'));

    await fireEvent.input(find, { target: { value: 'E' } });
    await fireEvent.input(screen.getByLabelText('Replace with'), { target: { value: '3' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Replace all' }));
    await vi.waitFor(() => expect(screen.getAllByTestId('segment-text').map((s) => s.textContent?.trim())).toEqual(['H3llo th3r3.', 'G3n3ral Gri3vous.']));
    await fireEvent.click(screen.getByRole('button', { name: 'Undo' }));
    await vi.waitFor(() => expect(screen.getAllByTestId('segment-text').map((s) => s.textContent?.trim())).toEqual(['Hello there.', 'General Grievous.']));
    await fireEvent.keyDown(find, { key: 'Escape' });
    expect(screen.queryByTestId('find-bar')).toBeNull();
  });

  it('names the speakers in the header and on their segments, when the transcript has them', async () => {
    const r = result();
    Object.assign(r.transcript.segments[0], { speaker: 'Speaker 1' });
    Object.assign(r.transcript.segments[1], { speaker: 'Speaker 2' });
    api.jobResult.mockResolvedValue({ ...r, historyId: 9 });
    await renderReady();
    emitQueue({ kind: 'added', job: job(1, 'done', { historyId: 9 }) });
    await fireEvent.click(await screen.findByRole('button', { name: 'Open the transcript of take 1.wav' }));
    await screen.findAllByTestId('segment');
    expect(screen.getByTestId('transcript-meta').textContent?.trim()).toBe('1 min 15 sec · parakeet-tdt-0.6b-v2 · 2 speakers');
    expect(screen.getAllByTestId('segment-text')[1].textContent).toContain('Speaker 2');
  });

  it('copies the text', async () => {
    const writeText = vi.fn(async () => {});
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    await renderReady();
    await openJob();
    await fireEvent.click(screen.getByRole('button', { name: 'Copy text' }));
    expect(writeText).toHaveBeenCalledWith('Hello there.\nGeneral Kenobi.');
    expect((await screen.findByTestId('copy-status')).textContent).toBe('Copied the text.');
  });

  it('opens the export dialog with Export… and Ctrl+E, Escape closes it', async () => {
    await renderReady();
    await openJob();
    await fireEvent.click(screen.getByRole('button', { name: 'Export…' }));
    const dialog = screen.getByRole('dialog', { name: 'Export' });
    expect(within(dialog).getByTestId('export-what').textContent).toBe('take 1.wav');
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Export' }));
    expect(api.exportJobs).toHaveBeenLastCalledWith([1], ['srt', 'txt'], '', false);
    await fireEvent.keyDown(dialog, { key: 'Escape' });
    expect(screen.queryByRole('dialog')).toBeNull();
    await fireEvent.keyDown(window, { key: 'e', ctrlKey: true });
    expect(screen.getByRole('dialog', { name: 'Export' })).toBeTruthy();
  });
});

describe('App: library', () => {
  it('plays and exports a transcript reopened from the library, and exports several entries at once', async () => {
    history({ id: 4, name: 'talk.wav' }, { id: 7, name: 'memo.wav' });
    await renderReady();
    await fireEvent.click(screen.getByRole('button', { name: 'Library' }));
    await fireEvent.click(await screen.findByRole('button', { name: 'Open the transcript of talk.wav' }));
    await screen.findAllByTestId('segment');
    await vi.waitFor(() => expect(screen.getByTestId('waveform')).toBeTruthy());
    expect(api.historyAudioSamples).toHaveBeenCalledWith(4);
    expect(api.audioSamples).not.toHaveBeenCalled();
    await fireEvent.click(screen.getByRole('button', { name: 'Play from [01:03.0]' }));
    await vi.waitFor(() => expect(out.started).toEqual([{ when: 0, offset: 62.96 }]));

    await fireEvent.click(screen.getByRole('button', { name: 'Export…' }));
    await fireEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Export' }));
    expect(api.exportHistory).toHaveBeenLastCalledWith([4], ['srt', 'txt'], '', false);
    await fireEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Close' }));

    await fireEvent.click(screen.getByRole('button', { name: 'Back' }));
    await fireEvent.click(await screen.findByRole('checkbox', { name: 'Select all for export' }));
    await fireEvent.click(screen.getByRole('button', { name: 'Export selected…' }));
    await fireEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Export' }));
    expect(api.exportHistory).toHaveBeenLastCalledWith([4, 7], ['srt', 'txt'], '', false);
    expect(api.exportJobs).not.toHaveBeenCalled();
  });

  it('searches once typing pauses, not on every keystroke', async () => {
    history({ id: 4, name: 'talk.wav' });
    await renderReady();
    await fireEvent.click(screen.getByRole('button', { name: 'Library' }));
    await screen.findByTestId('history-item');
    api.history.mockClear();
    const box = screen.getByLabelText('Search all transcripts');
    for (const q of ['t', 'ta', 'tal', 'talk']) await fireEvent.input(box, { target: { value: q } });
    await new Promise((r) => setTimeout(r, 50));
    expect(api.history).not.toHaveBeenCalled();
    await vi.waitFor(() => expect(api.history).toHaveBeenCalledTimes(1), { timeout: 2000 });
    expect(api.history).toHaveBeenCalledWith('talk');
    await new Promise((r) => setTimeout(r, 400));
    expect(api.history).toHaveBeenCalledTimes(1);
  });

  it("says when a library transcript's audio is gone, and still shows the transcript", async () => {
    history({ id: 4, name: 'talk.wav' });
    api.historyAudioSamples.mockRejectedValue(
      new Error('The audio file /a/talk.wav is not there any more (moved, renamed or deleted), so it cannot be played; the transcript itself is still in the history.'),
    );
    await renderReady();
    await fireEvent.click(screen.getByRole('button', { name: 'Library' }));
    await fireEvent.click(await screen.findByRole('button', { name: 'Open the transcript of talk.wav' }));
    expect(await screen.findByText(/not there any more/)).toBeTruthy();
    expect(screen.getAllByTestId('segment')).toHaveLength(2);
    expect((screen.getByRole('button', { name: 'Play' }) as HTMLButtonElement).disabled).toBe(true);
  });

  it("says why a job's audio cannot be played, without asking again and again", async () => {
    api.audioSamples.mockImplementation(
      () => new Promise((_, reject) => setTimeout(() => reject(new Error('Reading /audio/take 1.wav for playback: no such file.')), 1)),
    );
    await renderReady();
    emitQueue({ kind: 'added', job: job(1, 'done') });
    await fireEvent.click(await screen.findByRole('button', { name: 'Open the transcript of take 1.wav' }));
    expect(await screen.findByText('Reading /audio/take 1.wav for playback: no such file.')).toBeTruthy();
    await new Promise((r) => setTimeout(r, 50));
    expect(api.audioSamples).toHaveBeenCalledTimes(1);
  });
});
