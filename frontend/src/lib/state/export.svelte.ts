// The export form: formats, where to, and what the last export did,
// including the files it would have replaced (the overwrite prompt).
import { exportJobs, openFolder, pickFolder, type ExportResult } from '../api';

export const FORMATS = [
  { id: 'txt', label: 'Text (TXT)' },
  { id: 'srt', label: 'Subtitles (SRT)' },
  { id: 'vtt', label: 'Web subtitles (VTT)' },
  { id: 'json', label: 'JSON' },
  { id: 'csv', label: 'Spreadsheet (CSV)' },
  { id: 'md', label: 'Markdown' },
] as const;

export class ExportState {
  formats = $state<string[]>(['srt', 'txt']);
  /** 'source': next to each file; 'folder': into dir. */
  where = $state<'source' | 'folder'>('source');
  dir = $state('');
  busy = $state(false);
  error = $state('');
  result = $state<ExportResult | null>(null);
  /** The jobs of the export waiting for the user to allow replacing files. */
  pending = $state<number[]>([]);

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

  /** Exports ids; existing files with other content wait for confirm(). */
  async run(ids: number[], overwrite = false): Promise<void> {
    this.busy = true;
    this.error = '';
    try {
      const res = await exportJobs(ids, this.formats, this.where === 'folder' ? this.dir.trim() : '', overwrite);
      this.result = res;
      this.pending = res.existing?.length ? ids : [];
    } catch (e) {
      this.error = (e as Error).message;
    } finally {
      this.busy = false;
    }
  }

  /** The user agreed to replace the existing files. */
  confirm(): Promise<void> {
    return this.run(this.pending, true);
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
