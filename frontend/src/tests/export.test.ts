import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen } from '@testing-library/svelte';
import { api, resetApi } from './fake-api';

vi.mock('../lib/api', async () => (await import('./fake-api')).fakeApi());

import { ExportState } from '../lib/state/export.svelte';
import ExportDialog from '../lib/components/ExportDialog.svelte';

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

describe('ExportDialog', () => {
  it('prompts for existing files, then offers to open the folder', async () => {
    api.exportJobs.mockResolvedValueOnce({ written: [], existing: ['/out/take 1.srt'], failed: [], folders: [] });
    const exp = new ExportState();
    render(ExportDialog, { exp, what: { kind: 'job', ids: [1], label: 'take 1.wav' }, onclose: vi.fn() });
    const dialog = screen.getByRole('dialog', { name: 'Export' });
    expect(dialog.getAttribute('aria-modal')).toBe('true');
    expect(screen.getByTestId('export-what').textContent).toBe('take 1.wav');
    await fireEvent.click(screen.getByRole('button', { name: 'Export' }));
    const prompt = await screen.findByTestId('export-overwrite');
    expect(prompt.textContent).toContain('/out/take 1.srt');
    await fireEvent.click(screen.getByRole('button', { name: 'Replace' }));
    expect(api.exportJobs).toHaveBeenLastCalledWith([1], ['srt', 'txt'], '', true);
    await fireEvent.click(await screen.findByRole('button', { name: 'Open folder: /out' }));
    expect(api.openFolder).toHaveBeenCalledWith('/out');
  });

  it('exports history entries into a folder and says what it wrote', async () => {
    const exp = new ExportState();
    render(ExportDialog, { exp, what: { kind: 'history', ids: [4, 7], label: '' }, onclose: vi.fn() });
    expect(screen.getByTestId('export-what').textContent).toBe('2 transcripts');
    await fireEvent.click(screen.getByRole('checkbox', { name: 'Text (TXT)' }));
    await fireEvent.click(screen.getByRole('radio', { name: 'In a folder' }));
    await fireEvent.input(screen.getByLabelText('Export folder'), { target: { value: ' /exports ' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Export' }));
    expect(api.exportHistory).toHaveBeenLastCalledWith([4, 7], ['srt'], '/exports', false);
    expect(api.exportJobs).not.toHaveBeenCalled();
    expect((await screen.findByTestId('export-written')).textContent).toContain('Wrote 1 file:');
  });

  it('lists every file that failed, even two of one path', async () => {
    const failed = [
      { path: '/gone/a.wav', reason: 'The folder it was transcribed from is not there any more: export into a folder instead.' },
      { path: '/gone/a.wav', reason: 'The folder it was transcribed from is not there any more: export into a folder instead.' },
    ];
    api.exportHistory.mockResolvedValueOnce({ written: [], existing: [], failed, folders: [] });
    const exp = new ExportState();
    render(ExportDialog, { exp, what: { kind: 'history', ids: [1, 2], label: '' }, onclose: vi.fn() });
    await fireEvent.click(screen.getByRole('button', { name: 'Export' }));
    await vi.waitFor(() => expect(screen.getAllByText(/not there any more/)).toHaveLength(2));
  });

  it('closes on Escape and keeps Tab inside', async () => {
    const onclose = vi.fn();
    render(ExportDialog, { exp: new ExportState(), what: { kind: 'job', ids: [1], label: 'a.wav' }, onclose });
    const dialog = screen.getByRole('dialog');
    const close = screen.getByRole('button', { name: 'Close' });
    close.focus();
    await fireEvent.keyDown(dialog, { key: 'Tab' });
    expect(dialog.contains(document.activeElement)).toBe(true);
    expect(document.activeElement).not.toBe(close);
    await fireEvent.keyDown(dialog, { key: 'Escape' });
    expect(onclose).toHaveBeenCalled();
  });
});
