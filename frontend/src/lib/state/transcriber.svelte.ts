// The app's one window of state: which server and model, which file, the job
// in flight and what it produced. Components read the fields and call the
// methods; only this class talks to the api module.
import {
  getDefaults,
  getServerStatus,
  onFilesDropped,
  onProgress,
  pickAudioFile,
  transcribeFile,
  type Progress,
  type ServerStatus,
  type TranscribeResult,
} from '../api';

export class TranscriberState {
  server = $state('');
  model = $state('');

  /** The chosen file's full path; '' when none. */
  file = $state('');
  /** Set when a drop held more than one file and only the first was kept. */
  notice = $state('');

  running = $state(false);
  progress = $state<Progress | null>(null);
  result = $state<TranscribeResult | null>(null);
  error = $state('');

  checking = $state(false);
  status = $state<ServerStatus | null>(null);
  statusError = $state('');

  canTranscribe = $derived(
    this.file !== '' && !this.running && this.server.trim() !== '' && this.model.trim() !== '',
  );

  /** The chosen model as the last server check saw it, if it listed it. */
  modelOnServer = $derived(this.status?.models?.find((m) => m.name === this.model.trim()) ?? null);

  /**
   * Listens for progress and drops and starts loading the defaults. Returns
   * the function that stops listening.
   */
  start(): () => void {
    const offProgress = onProgress((p) => this.handleProgress(p));
    const offDrop = onFilesDropped((paths) => this.selectFiles(paths));
    void this.loadDefaults();
    return () => {
      offProgress();
      offDrop();
    };
  }

  /** Fills the server and model fields the user has not typed in yet. */
  async loadDefaults(): Promise<void> {
    try {
      const d = await getDefaults();
      if (this.server === '') this.server = d.server;
      if (this.model === '') this.model = d.model;
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  /** Takes the first usable path; a new file clears the last result. */
  selectFiles(paths: string[]): void {
    const usable = paths.filter((p) => p.trim() !== '');
    if (usable.length === 0 || this.running) return;
    this.file = usable[0];
    this.notice =
      usable.length > 1 ? `One file at a time for now: using the first of the ${usable.length} dropped.` : '';
    this.result = null;
    this.progress = null;
    this.error = '';
  }

  async chooseFile(): Promise<void> {
    try {
      const path = await pickAudioFile();
      if (path) this.selectFiles([path]);
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  async checkServer(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    this.statusError = '';
    try {
      this.status = await getServerStatus(this.server.trim());
    } catch (e) {
      this.status = null;
      this.statusError = (e as Error).message;
    } finally {
      this.checking = false;
    }
  }

  async transcribe(): Promise<void> {
    if (!this.canTranscribe) return;
    this.running = true;
    this.error = '';
    this.result = null;
    this.progress = { path: this.file, stage: 'queued', chunksDone: 0, chunksTotal: 0, fraction: 0 };
    try {
      this.result = await transcribeFile(this.file, this.server.trim(), this.model.trim());
      if (this.progress) this.progress = { ...this.progress, stage: 'done', fraction: 1 };
    } catch (e) {
      this.error = (e as Error).message;
      this.progress = null;
    } finally {
      this.running = false;
    }
  }

  /** Progress for the file being transcribed; anything else is ignored. */
  handleProgress(p: Progress): void {
    if (!this.running || (p.path && p.path !== this.file)) return;
    this.progress = p;
  }

  /** Back to a fresh window (tests use it between cases). */
  reset(): void {
    this.server = '';
    this.model = '';
    this.file = '';
    this.notice = '';
    this.running = false;
    this.progress = null;
    this.result = null;
    this.error = '';
    this.checking = false;
    this.status = null;
    this.statusError = '';
  }
}
