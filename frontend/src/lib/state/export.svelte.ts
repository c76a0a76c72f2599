// The export form: formats, where to, and what the last export did,
// including the files it would have replaced (the overwrite prompt).
import { exportHistory, exportJobs, openFolder, pickFolder, type ExportResult } from '../api';
import type { MessageKey } from '../i18n/index.svelte';

/** The formats, with their labels' message keys. */
export const FORMATS: readonly { id: string; label: MessageKey }[] = [
  { id: 'txt', label: 'export.format.txt' },
  { id: 'srt', label: 'export.format.srt' },
  { id: 'vtt', label: 'export.format.vtt' },
  { id: 'json', label: 'export.format.json' },
  { id: 'csv', label: 'export.format.csv' },
  { id: 'md', label: 'export.format.md' },
];

export class ExportState {
  formats = $state<string[]>(['srt', 'txt']);
  /** 'source': next to each file; 'folder': into dir. */
  where = $state<'source' | 'folder'>('source');
  dir = $state('');
  busy = $state(false);
  error = $state('');
  result = $state<ExportResult | null>(null);
  /** The jobs (or history entries) of the export waiting for the user to
   * allow replacing files. */
  pending = $state<number[]>([]);
  private pendingKind: 'job' | 'history' = 'job';

  toggle(format: string, on: boolean): void {
    this.formats = on ? [...new Set([...this.formats, format])] : this.formats.filter((f) => f !== format);
  }

  async chooseDir(): Promise<void> {
    try {
      const d = await pickFolder();
      if (d) {
        this.dir = d;
        this.where = 'folder';
      }
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  /** Exports jobs; existing files with other content wait for confirm(). */
  run(ids: number[], overwrite = false): Promise<void> {
    return this.exportAs('job', ids, overwrite);
  }

  /** Exports history entries, as run does jobs. */
  runHistory(ids: number[], overwrite = false): Promise<void> {
    return this.exportAs('history', ids, overwrite);
  }

  private async exportAs(kind: 'job' | 'history', list: number[], overwrite: boolean): Promise<void> {
    const ids = [...list]; // a copy: the caller's list may change while the prompt waits
    this.busy = true;
    this.error = '';
    try {
      const write = kind === 'job' ? exportJobs : exportHistory;
      const res = await write(ids, this.formats, this.where === 'folder' ? this.dir.trim() : '', overwrite);
      this.result = res;
      this.pending = res.existing?.length ? ids : [];
      this.pendingKind = kind;
    } catch (e) {
      this.error = (e as Error).message;
    } finally {
      this.busy = false;
    }
  }

  /** The user agreed to replace the existing files. */
  confirm(): Promise<void> {
    return this.exportAs(this.pendingKind, this.pending, true);
  }

  dismiss(): void {
    this.pending = [];
  }

  async open(dir: string): Promise<void> {
    try {
      await openFolder(dir);
    } catch (e) {
      this.error = (e as Error).message;
    }
  }
}
