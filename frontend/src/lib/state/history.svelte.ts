// The history: past transcripts, full-text search, reopen and delete, and
// the entries picked for exporting several at once.
import { deleteHistory, history, historyTranscript, type HistoryHit, type Transcript } from '../api';

export class HistoryState {
  query = $state('');
  items = $state<HistoryHit[]>([]);
  loading = $state(false);
  error = $state('');
  /** Entries picked for export, in the order they were picked. */
  selected = $state<number[]>([]);

  async refresh(): Promise<void> {
    this.loading = true;
    this.error = '';
    try {
      this.items = await history(this.query.trim());
      // Only what the list shows stays picked: nothing hidden is exported.
      this.selected = this.selected.filter((id) => this.items.some((i) => i.id === id));
    } catch (e) {
      this.error = (e as Error).message;
    } finally {
      this.loading = false;
    }
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

  /** Picks every listed entry, or none. */
  pickAll(on: boolean): void {
    this.selected = on ? this.items.map((i) => i.id) : [];
  }
}
