// The history: past transcripts, full-text search, reopen and delete.
import { deleteHistory, history, historyTranscript, type HistoryHit, type Transcript } from '../api';

export class HistoryState {
  query = $state('');
  items = $state<HistoryHit[]>([]);
  loading = $state(false);
  error = $state('');

  async refresh(): Promise<void> {
    this.loading = true;
    this.error = '';
    try {
      this.items = await history(this.query.trim());
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
    } catch (e) {
      this.error = (e as Error).message;
    }
  }
}
