import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { api, resetApi } from './fake-api';

vi.mock('../lib/api', async () => (await import('./fake-api')).fakeApi());

import { HistoryState } from '../lib/state/history.svelte';
import HistoryView from '../lib/components/HistoryView.svelte';

function hit(id: number, name: string, snippet: string) {
  return {
    id, source: `/a/${name}`, name, sha256: '', server: '', model: 'dtmf', modelVersion: '1', options: [],
    duration: 45, preview: snippet, createdAt: '', updatedAt: '', snippet,
  };
}

beforeEach(() => resetApi());

describe('HistoryView', () => {
  it('searches, marks the matches, opens and deletes after asking', async () => {
    api.history.mockResolvedValue([hit(4, 'talk.wav', 'the «quarterly» numbers')]);
    const hist = new HistoryState();
    const onopen = vi.fn();
    render(HistoryView, { hist, onopen });
    await fireEvent.input(screen.getByLabelText('Search all transcripts'), { target: { value: ' quarterly ' } });
    await fireEvent.click(screen.getByRole('button', { name: 'Search' }));
    expect(api.history).toHaveBeenCalledWith('quarterly');
    const item = await screen.findByTestId('history-item');
    expect(within(item).getByText('quarterly').tagName).toBe('MARK');

    await fireEvent.click(screen.getByRole('button', { name: 'Open the transcript of talk.wav' }));
    expect(onopen).toHaveBeenCalledWith(4);

    await fireEvent.click(screen.getByRole('button', { name: 'Delete the transcript of talk.wav' }));
    expect(api.deleteHistory).not.toHaveBeenCalled();
    await fireEvent.click(screen.getByRole('button', { name: 'Delete' }));
    expect(api.deleteHistory).toHaveBeenCalledWith(4);
    expect(await screen.findByText('No transcript matches.')).toBeTruthy();
  });

  it('shows why the history cannot be read', async () => {
    api.history.mockRejectedValue(new Error('The history is not available.'));
    const hist = new HistoryState();
    await hist.refresh();
    expect(hist.error).toBe('The history is not available.');
    api.historyTranscript.mockRejectedValue(new Error('Opening the transcript: gone.'));
    expect(await hist.open(1)).toBeNull();
    expect(hist.error).toBe('Opening the transcript: gone.');
  });

  it('picks entries for export, all at once too, and forgets what the list no longer shows', async () => {
    api.history.mockResolvedValue([hit(4, 'talk.wav', 'a'), hit(7, 'memo.wav', 'b'), hit(9, 'call.wav', 'c')]);
    const hist = new HistoryState();
    render(HistoryView, { hist, onopen: vi.fn() });
    await hist.refresh();
    await fireEvent.click(await screen.findByRole('checkbox', { name: 'Select memo.wav for export' }));
    await fireEvent.click(screen.getByRole('checkbox', { name: 'Select talk.wav for export' }));
    expect(hist.selected).toEqual([7, 4]);
    expect(screen.getByTestId('history-picked').textContent).toBe('2 selected');
    const all = screen.getByRole('checkbox', { name: 'Select all for export' }) as HTMLInputElement;
    expect(all.indeterminate).toBe(true);
    await fireEvent.click(all);
    expect(hist.selected).toEqual([4, 7, 9]);
    expect(all.checked).toBe(true);

    await fireEvent.click(screen.getByRole('button', { name: 'Delete the transcript of call.wav' }));
    await fireEvent.click(screen.getByRole('button', { name: 'Delete' }));
    await vi.waitFor(() => expect(hist.selected).toEqual([4, 7]));

    api.history.mockResolvedValue([hit(7, 'memo.wav', 'b')]);
    await hist.refresh();
    expect(hist.selected).toEqual([7]);
    await vi.waitFor(() => expect(all.checked).toBe(true));
    await fireEvent.click(all);
    expect(hist.selected).toEqual([]);
    expect(screen.queryByTestId('history-picked')).toBeNull();
  });
});
