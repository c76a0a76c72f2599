import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { api, resetApi } from './fake-api';

vi.mock('../lib/api', async () => (await import('./fake-api')).fakeApi());

import { HistoryState, inDateRange } from '../lib/state/history.svelte';
import LibraryView from '../lib/components/LibraryView.svelte';

function hit(id: number, name: string, snippet: string, over: Partial<{ model: string; createdAt: string }> = {}) {
  return {
    id, source: `/a/${name}`, name, sha256: '', server: '', model: 'dtmf', modelVersion: '1', options: [],
    duration: 45, preview: snippet, createdAt: new Date().toISOString(), updatedAt: '', snippet, ...over,
  };
}

beforeEach(() => resetApi());
afterEach(() => vi.useRealTimers());

describe('LibraryView', () => {
  it('searches as you type once typing pauses, marks the matches, opens and deletes after asking', async () => {
    api.history.mockResolvedValue([hit(4, 'talk.wav', 'the «quarterly» numbers')]);
    const hist = new HistoryState();
    hist.debounceMs = 20;
    const onopen = vi.fn();
    render(LibraryView, { hist, onopen, onexport: vi.fn() });
    const box = screen.getByLabelText('Search all transcripts');
    for (const q of ['q', 'qu', ' quarterly ']) await fireEvent.input(box, { target: { value: q } });
    expect(api.history).not.toHaveBeenCalled();
    await vi.waitFor(() => expect(api.history).toHaveBeenCalledTimes(1));
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

  it('drops an answer that comes after a newer search', async () => {
    let release!: () => void;
    api.history.mockImplementationOnce(() => new Promise((r) => (release = () => r([hit(1, 'old.wav', 'old')]))));
    api.history.mockResolvedValueOnce([hit(2, 'new.wav', 'new')]);
    const hist = new HistoryState();
    const first = hist.refresh();
    hist.query = 'new';
    await hist.refresh();
    release();
    await first;
    expect(hist.items.map((i) => i.name)).toEqual(['new.wav']);
    expect(hist.loading).toBe(false);
  });

  it('filters by model and date; picks only what it shows', async () => {
    const old = new Date(Date.now() - 40 * 24 * 3600 * 1000).toISOString();
    api.history.mockResolvedValue([hit(4, 'talk.wav', 'a'), hit(7, 'memo.wav', 'b', { model: 'parakeet' }), hit(9, 'call.wav', 'c', { createdAt: old })]);
    const hist = new HistoryState();
    render(LibraryView, { hist, onopen: vi.fn(), onexport: vi.fn() });
    await hist.refresh();
    await fireEvent.change(screen.getByLabelText('Model'), { target: { value: 'parakeet' } });
    await vi.waitFor(() => expect(screen.getAllByTestId('history-item')).toHaveLength(1));
    expect(screen.getByTestId('library-count').textContent?.trim()).toBe('1 transcript');
    await fireEvent.change(screen.getByLabelText('Model'), { target: { value: '' } });
    await fireEvent.change(screen.getByLabelText('Date'), { target: { value: 'month' } });
    await vi.waitFor(() => expect(screen.getAllByTestId('history-item').map((li) => within(li).getByText(/\.wav$/).textContent)).toEqual(['talk.wav', 'memo.wav']));
    await fireEvent.click(screen.getByRole('checkbox', { name: 'Select all for export' }));
    expect(hist.selected).toEqual([4, 7]);
  });

  it('picks entries for export, all at once too, exports them, and forgets what the list no longer shows', async () => {
    api.history.mockResolvedValue([hit(4, 'talk.wav', 'a'), hit(7, 'memo.wav', 'b'), hit(9, 'call.wav', 'c')]);
    const hist = new HistoryState();
    const onexport = vi.fn();
    render(LibraryView, { hist, onopen: vi.fn(), onexport });
    await hist.refresh();
    await fireEvent.click(await screen.findByRole('checkbox', { name: 'Select memo.wav for export' }));
    await fireEvent.click(screen.getByRole('checkbox', { name: 'Select talk.wav for export' }));
    expect(hist.selected).toEqual([7, 4]);
    expect(screen.getByTestId('history-picked').textContent).toBe('2 selected');
    await fireEvent.click(screen.getByRole('button', { name: 'Export selected…' }));
    expect(onexport).toHaveBeenCalledWith([7, 4]);
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

  it('shows why the history cannot be read', async () => {
    api.history.mockRejectedValue(new Error('The history is not available.'));
    const hist = new HistoryState();
    await hist.refresh();
    expect(hist.error).toBe('The history is not available.');
    api.historyTranscript.mockRejectedValue(new Error('Opening the transcript: gone.'));
    expect(await hist.open(1)).toBeNull();
    expect(hist.error).toBe('Opening the transcript: gone.');
  });
});

describe('inDateRange', () => {
  const now = new Date(2026, 11, 2, 15, 0);
  it.each([
    ['any', new Date(2001, 0, 1), true],
    ['today', new Date(2026, 11, 2, 0, 5), true],
    ['today', new Date(2026, 11, 1, 23, 55), false],
    ['week', new Date(2026, 10, 26, 1), true],
    ['week', new Date(2026, 10, 25, 23), false],
    ['month', new Date(2026, 10, 3), true],
    ['year', new Date(2025, 11, 1), false],
  ] as const)('%s includes %s: %s', (filter, at, want) => {
    expect(inDateRange(at.toISOString(), filter, now)).toBe(want);
  });
  it('leaves out an entry without a date once a range is chosen', () => {
    expect(inDateRange('', 'week', now)).toBe(false);
  });
});
