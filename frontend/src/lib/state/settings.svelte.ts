// The settings form and the server's status: what the user chose, saved in
// Go across restarts, and what the server says about itself.
import {
  exportDiagnostics,
  ffmpegStatus,
  getServerStatus,
  getSettings,
  pickCacheFolder,
  pickFolder,
  pickPEMFile,
  removeClientCert,
  saveSettings,
  setClientKey,
  setHeader,
  settingsSaved,
  type FFmpegInfo,
  type ServerStatus,
  type Settings,
} from '../api';
import { locale, t } from '../i18n/index.svelte';
import { usable } from '../models';

/** Models whose name says they take language, task and punctuation. */
export function takesOptions(model: string): boolean {
  return model.toLowerCase().includes('canary');
}

function blank(): Settings {
  return {
    server: '',
    model: '',
    timestamps: true,
    concurrency: 0,
    chunkSeconds: 0,
    language: '',
    task: '',
    cacheDir: '',
    ffmpegPath: '',
    cacheMaxMB: 0,
    notifications: true,
    tls: false,
    caFile: '',
    certFile: '',
    clientKey: '',
    keyFile: '',
    serverName: '',
    headerNames: '',
    uiLanguage: '',
  };
}

export class SettingsState {
  /** The form's values; saved by save(). */
  form = $state<Settings>(blank());
  loaded = $state(false);
  saving = $state(false);
  saved = $state(false);
  error = $state('');

  checking = $state(false);
  status = $state<ServerStatus | null>(null);
  statusError = $state('');
  checkedAt = $state<Date | null>(null);

  /** Language, task and punctuation apply to this model. */
  showOptions = $derived(takesOptions(this.form.model));

  /** The server's models that can transcribe now (ready, and not a
   * speaker model), for the model picker. */
  readyModels = $derived((this.status?.models ?? []).filter((m) => usable(m)).map((m) => m.name));

  /** The chosen model as the last check saw it, if the server listed it. */
  modelOnServer = $derived(this.status?.models?.find((m) => m.name === this.form.model.trim()) ?? null);

  /** The connection step shows: settings were never saved (Go's
   * SettingsSaved), and the step was neither finished nor skipped. */
  firstRun = $state(false);

  /** What Go holds now (the form may be mid-edit). */
  private stored: Settings = blank();

  async load(): Promise<void> {
    try {
      const [s, saved] = await Promise.all([getSettings(), settingsSaved()]);
      this.stored = { ...blank(), ...s };
      this.form = { ...this.stored };
      locale.set(this.stored.uiLanguage);
      this.firstRun = !saved;
      this.loaded = true;
      void this.checkFFmpeg();
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  /** Chooses the UI language ('' = the system's): the window speaks it at
   * once, and it is saved with the settings Go holds, not with the form's
   * unsaved edits. During the connection step it is saved with the step,
   * so a first start stays one until the step is done. */
  async setLanguage(tag: string): Promise<void> {
    locale.set(tag);
    this.form.uiLanguage = locale.preference;
    this.stored.uiLanguage = locale.preference;
    if (this.firstRun || !this.loaded) return;
    this.error = '';
    try {
      const saved = await saveSettings({ ...this.stored });
      this.stored = { ...blank(), ...saved };
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  /** Saves the form; resolves to whether it was accepted. */
  async save(): Promise<boolean> {
    this.saving = true;
    this.saved = false;
    this.error = '';
    try {
      const s = $state.snapshot(this.form) as Settings;
      s.concurrency = Number(s.concurrency) || 0;
      s.chunkSeconds = Number(s.chunkSeconds) || 0;
      s.cacheMaxMB = Number(s.cacheMaxMB) || 0;
      this.stored = { ...blank(), ...(await saveSettings(s)) };
      this.form = { ...this.stored };
      this.saved = true;
      return true;
    } catch (e) {
      this.error = (e as Error).message;
      return false;
    } finally {
      this.saving = false;
    }
  }

  /** Ends the connection step: saves the form; resolves to whether it was kept. */
  async finishSetup(): Promise<boolean> {
    if (!(await this.save())) return false;
    this.firstRun = false;
    return true;
  }

  /** Leaves the connection step keeping the settings Go holds (the
   * defaults, and the language chosen): saved, so the step does not come
   * back at the next start. */
  async leaveSetup(): Promise<void> {
    this.firstRun = false;
    try {
      this.stored = { ...blank(), ...(await saveSettings({ ...this.stored })) };
      this.form = { ...this.stored };
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  diagnostics = $state('');
  ffmpeg = $state<FFmpegInfo | null>(null);

  /** Looks for the ffmpeg the form names. */
  async checkFFmpeg(): Promise<void> {
    try {
      this.ffmpeg = await ffmpegStatus(this.form.ffmpegPath);
    } catch {
      this.ffmpeg = null;
    }
  }
  headerName = $state('');
  headerValue = $state('');

  /** The extra headers' names (their values stay in the keyring). */
  headers = $derived(this.form.headerNames.split(',').map((n) => n.trim()).filter(Boolean));

  /** Adds the header in headerName/headerValue, or removes one (value ''). */
  async setHeader(name = this.headerName, value = this.headerValue): Promise<void> {
    this.error = '';
    try {
      const saved = await setHeader(name, value);
      this.form.headerNames = saved.headerNames;
      if (value) {
        this.headerName = '';
        this.headerValue = '';
      }
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  /** Asks for the cache folder; the form takes it, saved with the rest. */
  async chooseCacheFolder(): Promise<void> {
    this.error = '';
    try {
      const dir = await pickCacheFolder();
      if (dir) this.form.cacheDir = dir;
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  /** Goes back to the default cache folder (once saved). */
  defaultCacheFolder(): void {
    this.form.cacheDir = '';
  }

  /** Asks for the CA certificates or the client certificate file. */
  async chooseFile(kind: 'ca' | 'cert'): Promise<void> {
    this.error = '';
    try {
      const path = await pickPEMFile(kind);
      if (!path) return;
      if (kind === 'ca') this.form.caFile = path;
      else this.form.certFile = path;
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  /** Where the client key is: its file's name once it is in the keyring. */
  clientKeyNote = $derived(
    this.form.clientKey
      ? t('settings.clientKey.inKeyring', { name: this.form.clientKey })
      : this.form.keyFile
        ? t('settings.clientKey.fromFile', { file: this.form.keyFile })
        : t('settings.clientKey.none'),
  );

  keyBusy = $state(false);

  /** Asks for the client certificate's key and keeps it in the keyring,
   * checked against the certificate in the form; the certificate is saved
   * with it. */
  async chooseClientKey(): Promise<void> {
    this.error = '';
    if (!this.form.certFile.trim()) {
      this.error = t('settings.clientKey.certFirst');
      return;
    }
    this.keyBusy = true;
    try {
      const path = await pickPEMFile('key');
      if (path) this.takeKeyFields(await setClientKey(this.form.certFile, path));
    } catch (e) {
      this.error = (e as Error).message;
    } finally {
      this.keyBusy = false;
    }
  }

  /** Stops sending a client certificate; its key leaves the keyring. */
  async removeClientCert(): Promise<void> {
    this.error = '';
    this.keyBusy = true;
    try {
      this.takeKeyFields(await removeClientCert());
    } catch (e) {
      this.error = (e as Error).message;
    } finally {
      this.keyBusy = false;
    }
  }

  /** Takes the saved certificate and key fields, leaving the rest of the
   * form (perhaps being edited) as it is. */
  private takeKeyFields(saved: Settings): void {
    this.form.certFile = saved.certFile;
    this.form.clientKey = saved.clientKey ?? '';
    this.form.keyFile = saved.keyFile;
  }

  /** Asks for a folder and writes the diagnostics zip there. */
  async exportDiagnostics(): Promise<void> {
    this.error = '';
    try {
      const dir = await pickFolder();
      if (dir) this.diagnostics = await exportDiagnostics(dir);
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  /** Re-checks the saved server every intervalMs; returns the stop. */
  poll(intervalMs = 30_000): () => void {
    const timer = setInterval(() => void this.refreshStatus(), intervalMs);
    return () => clearInterval(timer);
  }

  /** Asks the saved server quietly (the header's status), without saving. */
  async refreshStatus(): Promise<void> {
    if (this.checking || !this.loaded) return;
    try {
      this.status = await getServerStatus('');
      this.statusError = '';
    } catch (e) {
      this.status = null;
      this.statusError = (e as Error).message;
    }
    this.checkedAt = new Date();
  }

  /** Asks the server in the form (saved first, so new jobs use it). */
  async checkServer(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    this.statusError = '';
    try {
      await this.save();
      this.status = await getServerStatus(this.form.server.trim());
    } catch (e) {
      this.status = null;
      this.statusError = (e as Error).message;
    } finally {
      this.checking = false;
      this.checkedAt = new Date();
    }
  }
}
