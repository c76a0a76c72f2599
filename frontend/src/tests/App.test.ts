import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { api, deferred, emitDrop, emitProgress, resetApi, result } from './fake-api';

vi.mock('../lib/api', async () => (await import('./fake-api')).fakeApi());

import App from '../App.svelte';

beforeEach(() => {
  resetApi();
});

async function renderReady() {
  const view = render(App);
  await screen.findByDisplayValue('localhost:8001');
  return view;
}

describe('App', () => {
  it('shows the heading, the prefilled settings and the drop zone', async () => {
    await renderReady();
    expect(screen.getByRole('heading', { level: 1, name: 'NeMo Transcribe' })).toBeTruthy();
    expect((screen.getByLabelText('Server address') as HTMLInputElement).value).toBe('localhost:8001');
    expect((screen.getByLabelText('Model') as HTMLInputElement).value).toBe('parakeet-tdt-0.6b-v2');
    expect(screen.getByText('Drop a WAV file here or choose one')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Choose file…' })).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Transcribe' }) as HTMLButtonElement).disabled).toBe(true);
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('marks the drop zone as a Wails drop target', async () => {
    await renderReady();
    const zone = screen.getByRole('group', { name: 'Audio file' });
    expect(zone.style.getPropertyValue('--wails-drop-target')).toBe('drop');
  });

  it('takes a file from the dialog', async () => {
    api.pickAudioFile.mockResolvedValue('/audio/take 1.wav');
    await renderReady();
    await fireEvent.click(screen.getByRole('button', { name: 'Choose file…' }));
    expect(await screen.findByText('/audio/take 1.wav')).toBeTruthy();
    expect(screen.getByText('take 1.wav')).toBeTruthy();
    expect((screen.getByRole('button', { name: 'Transcribe' }) as HTMLButtonElement).disabled).toBe(false);
  });

  it('transcribes a dropped file, showing progress and then the transcript', async () => {
    const job = deferred<ReturnType<typeof result>>();
    api.transcribeFile.mockReturnValue(job.promise);
    await renderReady();

    emitDrop(['/audio/take 1.wav']);
    const button = await screen.findByRole('button', { name: 'Transcribe' });
    await vi.waitFor(() => expect((button as HTMLButtonElement).disabled).toBe(false));
    await fireEvent.click(button);

    expect(api.transcribeFile).toHaveBeenCalledWith('/audio/take 1.wav', 'localhost:8001', 'parakeet-tdt-0.6b-v2');
    const running = await screen.findByRole('button', { name: 'Transcribing…' });
    expect((running as HTMLButtonElement).disabled).toBe(true);

    emitProgress({ path: '/audio/take 1.wav', stage: 'transcribing', chunksDone: 3, chunksTotal: 10, fraction: 0.3 });
    expect(await screen.findByText('Transcribing — chunk 3 of 10')).toBeTruthy();
    const bar = screen.getByRole('progressbar', { name: 'Transcription progress' }) as HTMLProgressElement;
    expect(bar.value).toBeCloseTo(0.3);
    expect(screen.getByText('30%')).toBeTruthy();

    job.resolve(result());
    const transcript = await screen.findByRole('region', { name: 'Transcript' });
    const items = within(transcript).getAllByRole('listitem');
    expect(items.map((li) => li.textContent?.replace(/\s+/g, ' ').trim())).toEqual([
      '[00:00.2] Hello there.',
      '[01:03.0] General Kenobi.',
    ]);
    expect((screen.getByRole('button', { name: 'Transcribe' }) as HTMLButtonElement).disabled).toBe(false);
  });

  it('shows a failed transcription as an alert', async () => {
    api.transcribeFile.mockRejectedValue(new Error('Transcribe: engine under construction.'));
    await renderReady();
    emitDrop(['/a.wav']);
    await fireEvent.click(await screen.findByRole('button', { name: 'Transcribe' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toBe('Transcribe: engine under construction.');
    expect(screen.queryByRole('progressbar')).toBeNull();
  });

  it('checks the server typed in and lists its models with readiness', async () => {
    await renderReady();
    await fireEvent.input(screen.getByLabelText('Server address'), { target: { value: 'gpu:8001' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Check server' }));
    expect(api.getServerStatus).toHaveBeenCalledWith('gpu:8001');

    const models = await screen.findByRole('list', { name: 'Models on this server' });
    const rows = within(models)
      .getAllByRole('listitem')
      .map((li) => li.textContent?.replace(/\s+/g, ' ').trim());
    expect(rows).toEqual(['parakeet-tdt-0.6b-v2 ready', 'dtmf not ready (unavailable)']);
    expect(screen.getByText('triton 2.50.0')).toBeTruthy();
    expect(screen.queryByText(/is not on this server/)).toBeNull();
  });

  it('says when the chosen model is not on the server', async () => {
    await renderReady();
    await fireEvent.input(screen.getByLabelText('Model'), { target: { value: 'canary-1b' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Check server' }));
    expect(await screen.findByText('The model “canary-1b” is not on this server.')).toBeTruthy();
  });

  it('shows an unreachable server as an alert', async () => {
    api.getServerStatus.mockRejectedValue(new Error('The server at localhost:8001 did not answer within 10s.'));
    await renderReady();
    await fireEvent.click(screen.getByRole('button', { name: 'Check server' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toBe('The server at localhost:8001 did not answer within 10s.');
  });

  it('checks the server when Enter is pressed in a field', async () => {
    await renderReady();
    await fireEvent.submit(screen.getByLabelText('Server address').closest('form')!);
    expect(api.getServerStatus).toHaveBeenCalledTimes(1);
  });
});
