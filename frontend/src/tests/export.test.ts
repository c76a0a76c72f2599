import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen } from '@testing-library/svelte';
import { api, resetApi } from './fake-api';

vi.mock('../lib/api', async () => (await import('./fake-api')).fakeApi());

import { ExportState } from '../lib/state/export.svelte';
import ExportPanel from '../lib/components/ExportPanel.svelte';

beforeEach(() => resetApi());

describe('ExportState', () => {
  it('exports next to the sources or into the chosen folder', async () => {
    const e = new ExportState();
    e.toggle('vtt', true);
    e.toggle('txt', false);
    await e.run([1, 2]);
    expect(api.exportJobs).toHaveBeenLastCalledWith([1, 2], ['srt', 'vtt'], '', false);
    api.pickFolder.mockResolvedValue('/exports');
    await e.chooseDir();
    expect(e.where).toBe('folder');
    await e.run([1]);
    expect(api.exportJobs).toHaveBeenLastCalledWith([1], ['srt', 'vtt'], '/exports', false);
  });

  it('asks before replacing files and replaces them once allowed', async () => {
    api.exportJobs.mockResolvedValueOnce({ written: [], existing: ['/a/take 1.srt'], failed: [], folders: [] });
    const e = new ExportState();
    await e.run([1]);
    expect(e.pending).toEqual([1]);
    await e.confirm();
    expect(api.exportJobs).toHaveBeenLastCalledWith([1], ['srt', 'txt'], '', true);
    expect(e.pending).toEqual([]);
  });

  it('exports history entries, and replaces their files once allowed', async () => {
    api.exportHistory.mockResolvedValueOnce({ written: [], existing: ['/a/talk.srt'], failed: [], folders: [] });
    const e = new ExportState();
    const picked = [4, 7];
    await e.runHistory(picked);
    expect(api.exportHistory).toHaveBeenLastCalledWith([4, 7], ['srt', 'txt'], '', false);
    picked.push(9); // the list the user picks from changes meanwhile
    expect(e.pending).toEqual([4, 7]);
    await e.confirm();
    expect(api.exportHistory).toHaveBeenLastCalledWith([4, 7], ['srt', 'txt'], '', true);
    expect(api.exportJobs).not.toHaveBeenCalled();
  });

  it('shows a refusal', async () => {
    api.exportJobs.mockRejectedValue(new Error('Choose at least one format to export.'));
    const e = new ExportState();
    await e.run([1]);
    expect(e.error).toBe('Choose at least one format to export.');
  });
});

describe('ExportPanel', () => {
  it('prompts for existing files, then offers to open the folder', async () => {
    api.exportJobs.mockResolvedValueOnce({ written: [], existing: ['/out/take 1.srt'], failed: [], folders: [] });
    const exp = new ExportState();
    render(ExportPanel, { exp, current: 1, finished: [1, 2] });
    expect(screen.getByRole('button', { name: 'Export all finished (2)' })).toBeTruthy();
    await fireEvent.click(screen.getByRole('button', { name: 'Export this transcript' }));
    const dialog = await screen.findByRole('alertdialog');
    expect(dialog.textContent).toContain('/out/take 1.srt');
    await fireEvent.click(screen.getByRole('button', { name: 'Replace' }));
    expect(api.exportJobs).toHaveBeenLastCalledWith([1], ['srt', 'txt'], '', true);
    await fireEvent.click(await screen.findByRole('button', { name: 'Open the folder /out' }));
    expect(api.openFolder).toHaveBeenCalledWith('/out');
  });

  it('exports the open history transcript and the entries picked in the history', async () => {
    const exp = new ExportState();
    render(ExportPanel, { exp, current: null, finished: [], history: 4, picked: [4, 7] });
    expect(screen.queryByRole('button', { name: /Export all finished/ })).toBeNull();
    await fireEvent.click(screen.getByRole('button', { name: 'Export this transcript' }));
    expect(api.exportHistory).toHaveBeenLastCalledWith([4], ['srt', 'txt'], '', false);
    await fireEvent.click(screen.getByRole('button', { name: 'Export selected from history (2)' }));
    expect(api.exportHistory).toHaveBeenLastCalledWith([4, 7], ['srt', 'txt'], '', false);
    expect(api.exportJobs).not.toHaveBeenCalled();
    expect((await screen.findByTestId('export-written')).textContent).toContain('/out/talk.srt');
  });

  it('lists every file that failed, even two of one path', async () => {
    const failed = [
      { path: '/gone/a.wav', reason: 'The folder it was transcribed from is not there any more: export into a folder instead.' },
      { path: '/gone/a.wav', reason: 'The folder it was transcribed from is not there any more: export into a folder instead.' },
    ];
    api.exportHistory.mockResolvedValueOnce({ written: [], existing: [], failed, folders: [] });
    const exp = new ExportState();
    render(ExportPanel, { exp, current: null, finished: [], picked: [1, 2] });
    await fireEvent.click(screen.getByRole('button', { name: 'Export selected from history (2)' }));
    await vi.waitFor(() => expect(screen.getAllByText(/not there any more/)).toHaveLength(2));
    expect((screen.getByRole('button', { name: 'Export this transcript' }) as HTMLButtonElement).disabled).toBe(true);
  });
});
