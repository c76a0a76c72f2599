import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { FakeOut, api, emitAdded, emitQueue, job, resetApi, result, status } from './fake-api';

vi.mock('../lib/api', async () => (await import('./fake-api')).fakeApi());

import App from '../App.svelte';
import { PlayerState } from '../lib/state/player.svelte';

beforeEach(() => {
  resetApi();
});

let out: FakeOut;

async function renderReady() {
  out = new FakeOut();
  const view = render(App, { player: new PlayerState(() => out) });
  await screen.findByDisplayValue('localhost:8001');
  return view;
}

describe('App', () => {
  it('shows the heading, the saved settings and an empty queue', async () => {
    await renderReady();
    expect(screen.getByRole('heading', { level: 1, name: 'NeMo Transcribe' })).toBeTruthy();
    expect((screen.getByLabelText('Model') as HTMLInputElement).value).toBe('parakeet-tdt-0.6b-v2');
    expect(screen.getByText(/Drop audio or video files or folders/)).toBeTruthy();
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('takes native drops anywhere in the window', async () => {
    const { container } = await renderReady();
    const shell = container.querySelector('.shell') as HTMLElement;
    expect(shell.style.getPropertyValue('--wails-drop-target')).toBe('drop');
  });

  it('saves the settings and checks the server, listing its models', async () => {
    await renderReady();
    await fireEvent.input(screen.getByLabelText('Server address'), { target: { value: ' gpu:8001 ' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Check server' }));
    await screen.findByTestId('server-status');
    expect(api.saveSettings).toHaveBeenCalledWith(expect.objectContaining({ server: ' gpu:8001 ' }));
    expect(api.getServerStatus).toHaveBeenCalledWith('gpu:8001');
    const models = screen.getByRole('list', { name: 'Models on this server' });
    expect(within(models).getAllByRole('listitem').map((li) => li.textContent?.replace(/\s+/g, ' ').trim())).toEqual([
      'parakeet-tdt-0.6b-v2 ready',
      'dtmf not ready (unavailable)',
    ]);
  });

  it('shows a server error as an alert', async () => {
    api.getServerStatus.mockRejectedValue(new Error('Cannot reach the server at gpu:8001: check it is running.'));
    await renderReady();
    await fireEvent.click(screen.getByRole('button', { name: 'Check server' }));
    expect((await screen.findByTestId('server-error')).textContent).toBe('Cannot reach the server at gpu:8001: check it is running.');
  });

  it('shows language options only for Canary models', async () => {
    await renderReady();
    expect(screen.queryByLabelText('Task')).toBeNull();
    await fireEvent.input(screen.getByLabelText('Model'), { target: { value: 'canary-1b-flash' } });
    expect(screen.getByLabelText('Task')).toBeTruthy();
    expect(screen.getByLabelText('Language (e.g. en, de)')).toBeTruthy();
  });

  it('shows a row per job with its progress and opens the transcript when done', async () => {
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
    expect(screen.getByText('25.0× real time · about 4 s left')).toBeTruthy();
    expect(screen.getByTestId('queue-totals').textContent).toMatch(/1 file: 0 done, 1 in progress/);

    emitQueue({ kind: 'updated', job: job(1, 'done') });
    const rows = await screen.findAllByTestId('segment');
    const shown = rows.map((r) => `${within(r).getByTestId('segment-time').textContent?.trim()} ${within(r).getByTestId('segment-text').textContent?.trim()}`);
    expect(shown).toEqual(['[00:00.2] Hello there.', '[01:03.0] General Kenobi.']);
    expect(api.jobResult).toHaveBeenCalledWith(1);
  });

  it('plays from a clicked segment, searches and keeps an edit', async () => {
    api.jobResult.mockResolvedValue({ ...result(), historyId: 9 });
    await renderReady();
    emitQueue({ kind: 'added', job: job(1, 'done', { historyId: 9 }) });
    await screen.findAllByTestId('segment');
    await vi.waitFor(() => expect(screen.getByTestId('waveform')).toBeTruthy());
    await fireEvent.click(screen.getByRole('button', { name: 'Play from [01:03.0]' }));
    await vi.waitFor(() => expect(out.started).toEqual([{ when: 0, offset: 62.96 }]));
    expect(screen.getByTestId('player-position').dataset.seconds).toBe('62.96');
    await vi.waitFor(() => expect(screen.getAllByTestId('segment')[1].getAttribute('aria-current')).toBe('true'));

    await fireEvent.input(screen.getByLabelText('Search the transcript'), { target: { value: 'kenobi' } });
    expect(screen.getByTestId('search-count').textContent).toBe('1 of 2 segments match');

    await fireEvent.click(screen.getByRole('button', { name: 'Edit segment 1' }));
    await fireEvent.input(screen.getByLabelText('Text of segment 1'), { target: { value: 'Hello  again.' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(api.editSegment).toHaveBeenCalledWith(9, 0, 'Hello  again.');
    await vi.waitFor(() => expect(screen.getAllByTestId('segment-text')[0].textContent?.trim()).toBe('Hello again.'));
  });

  it('plays and exports a transcript reopened from the history, and exports several entries at once', async () => {
    api.history.mockResolvedValue([
      { id: 4, source: '/a/talk.wav', name: 'talk.wav', sha256: '', server: '', model: 'dtmf', modelVersion: '1', options: [], duration: 45, preview: 'p', createdAt: '', updatedAt: '', snippet: 'Hello there.' },
      { id: 7, source: '/a/memo.wav', name: 'memo.wav', sha256: '', server: '', model: 'dtmf', modelVersion: '1', options: [], duration: 9, preview: 'p', createdAt: '', updatedAt: '', snippet: 'memo' },
    ]);
    await renderReady();
    expect(screen.queryByRole('region', { name: 'Export' })).toBeNull();
    await fireEvent.click(await screen.findByRole('button', { name: 'Open the transcript of talk.wav' }));
    await screen.findAllByTestId('segment');
    await vi.waitFor(() => expect(screen.getByTestId('waveform')).toBeTruthy());
    expect(api.historyAudioSamples).toHaveBeenCalledWith(4);
    expect(api.audioSamples).not.toHaveBeenCalled();
    await fireEvent.click(screen.getByRole('button', { name: 'Play from [01:03.0]' }));
    await vi.waitFor(() => expect(out.started).toEqual([{ when: 0, offset: 62.96 }]));

    const panel = screen.getByRole('region', { name: 'Export' });
    await fireEvent.click(within(panel).getByRole('button', { name: 'Export this transcript' }));
    expect(api.exportHistory).toHaveBeenLastCalledWith([4], ['srt', 'txt'], '', false);

    await fireEvent.click(screen.getByRole('checkbox', { name: 'Select all for export' }));
    await fireEvent.click(within(panel).getByRole('button', { name: 'Export selected from history (2)' }));
    expect(api.exportHistory).toHaveBeenLastCalledWith([4, 7], ['srt', 'txt'], '', false);
    expect(api.exportJobs).not.toHaveBeenCalled();
  });

  it("says when a history transcript's audio is gone, and still shows the transcript", async () => {
    api.history.mockResolvedValue([
      { id: 4, source: '/a/talk.wav', name: 'talk.wav', sha256: '', server: '', model: 'dtmf', modelVersion: '1', options: [], duration: 45, preview: 'p', createdAt: '', updatedAt: '', snippet: 'Hello there.' },
    ]);
    api.historyAudioSamples.mockRejectedValue(
      new Error('The audio file /a/talk.wav is not there any more (moved, renamed or deleted), so it cannot be played; the transcript itself is still in the history.'),
    );
    await renderReady();
    await fireEvent.click(await screen.findByRole('button', { name: 'Open the transcript of talk.wav' }));
    expect(await screen.findByText(/not there any more/)).toBeTruthy();
    expect(screen.getAllByTestId('segment')).toHaveLength(2);
    expect((screen.getByRole('button', { name: 'Play' }) as HTMLButtonElement).disabled).toBe(true);
  });

  it("says why a job's audio cannot be played, without asking again and again", async () => {
    // Rejected on a later turn, so a load that repeated itself would show
    // in the count rather than starve the test's timers.
    api.audioSamples.mockImplementation(
      () => new Promise((_, reject) => setTimeout(() => reject(new Error('Reading /audio/take 1.wav for playback: no such file.')), 1)),
    );
    await renderReady();
    emitQueue({ kind: 'added', job: job(1, 'done') });
    expect(await screen.findByText('Reading /audio/take 1.wav for playback: no such file.')).toBeTruthy();
    await new Promise((r) => setTimeout(r, 50));
    expect(api.audioSamples).toHaveBeenCalledTimes(1);
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
    void status;
  });

  it("shows the saved server's status in the header at start and on Refresh", async () => {
    await renderReady();
    const header = screen.getByTestId('header-status');
    await vi.waitFor(() => expect(header.textContent?.replace(/\s+/g, ' ').trim()).toBe('Server ready · triton 2.50.0 · model ready Refresh'));
    expect(api.getServerStatus).toHaveBeenCalledWith('');
    api.getServerStatus.mockRejectedValue(new Error('Cannot reach the server.'));
    await fireEvent.click(screen.getByRole('button', { name: 'Refresh' }));
    await vi.waitFor(() => expect(header.textContent).toContain('Server not reachable'));
  });
});
