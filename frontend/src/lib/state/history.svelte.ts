// The library: past transcripts, full-text search as you type (debounced,
// and an answer that comes after a newer question is dropped), filters by
// date and model, reopen and delete, and the entries picked for exporting
// several at once.
import { deleteHistory, history, historyTranscript, type HistoryHit, type Transcript } from '../api';

/** How far back the date filter reaches. */
export type DateFilter = 'any' | 'today' | 'week' | 'month' | 'year';

const dayMs = 24 * 60 * 60 * 1000;

/** Whether an entry made at created falls in the date filter, as of now. */
export function inDateRange(created: string | Date | undefined, filter: DateFilter, now = new Date()): boolean {
  if (filter === 'any') return true;
  const at = created ? new Date(created).getTime() : Number.NaN;
  if (Number.isNaN(at)) return false;
  const startOfToday = new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
  const from = { today: startOfToday, week: startOfToday - 6 * dayMs, month: startOfToday - 29 * dayMs, year: startOfToday - 364 * dayMs }[filter];
  return at >= from;
}

export class HistoryState {
  /** What the search box holds; setQuery() searches after a pause. */
  query = $state('');
  items = $state<HistoryHit[]>([]);
  loading = $state(false);
  error = $state('');
  /** Entries picked for export, in the order they were picked. */
  selected = $state<number[]>([]);

  dateFilter = $state<DateFilter>('any');
  /** '' = every model. */
  modelFilter = $state('');
  /** '' = everyone; else the entries in which a speaker of that name talks. */
  speakerFilter = $state('');
  /** The speaker names of the listed entries (as renamed), for the speaker
   * filter; empty, and no filter shown, when none was diarized. */
  speakerOptions = $derived(
    [...new Set(this.items.flatMap((i) => (i.speakers ?? []).map((s) => s.label)).filter(Boolean))].sort((a, b) => a.localeCompare(b)),
  );

  /** The models of the listed entries, for the model filter. */
  models = $derived([...new Set(this.items.map((i) => i.model).filter(Boolean))].sort());

  /** The entries the list shows: the search's, through the filters. */
  shown = $derived(
    this.items.filter(
      (i) =>
        inDateRange(i.createdAt, this.dateFilter) &&
        (!this.modelFilter || i.model === this.modelFilter) &&
        (!this.speakerFilter || (i.speakers ?? []).some((s) => s.label === this.speakerFilter)),
    ),
  );

  /** Milliseconds of quiet typing before a search goes out. */
  debounceMs = 250;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private asked = 0;

  /** Takes the search box's text and searches once typing pauses. */
  setQuery(q: string): void {
    this.query = q;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.refresh();
    }, this.debounceMs);
  }

  /** Searches now (Enter in the box, a finished job, the view opening). */
  async refresh(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const n = ++this.asked;
    this.loading = true;
    this.error = '';
    try {
      const items = await history(this.query.trim());
      if (n !== this.asked) return; // a newer search is on its way
      this.items = items;
      this.dropHidden();
    } catch (e) {
      if (n === this.asked) this.error = (e as Error).message;
    } finally {
      if (n === this.asked) this.loading = false;
    }
  }

  /** Only what the list shows stays picked: nothing hidden is exported. */
  dropHidden(): void {
    this.selected = this.selected.filter((id) => this.shown.some((i) => i.id === id));
  }

  /** The transcript of an entry, or null (the error is shown). */
  async open(id: number): Promise<Transcript | null> {
    this.error = '';
    try {
      return await historyTranscript(id);
    } catch (e) {
      this.error = (e as Error).message;
      return null;
    }
  }

  async remove(id: number): Promise<void> {
    this.error = '';
    try {
      await deleteHistory(id);
      this.items = this.items.filter((i) => i.id !== id);
      this.pick(id, false);
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  /** Picks an entry for export, or drops it. */
  pick(id: number, on: boolean): void {
    this.selected = on ? (this.selected.includes(id) ? this.selected : [...this.selected, id]) : this.selected.filter((i) => i !== id);
  }

  /** Picks every shown entry, or none. */
  pickAll(on: boolean): void {
    this.selected = on ? this.shown.map((i) => i.id) : [];
  }
}
