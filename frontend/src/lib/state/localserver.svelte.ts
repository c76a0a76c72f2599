// Settings → Local server: the Triton server the app runs in Docker on
// this machine. What was found (Detect), what the user ticks, and the
// start's progress in words. Nothing here calls Go until the page is
// opened or a button pressed.
import {
  localDetect,
  localLogs,
  localModels,
  localRemove,
  localRestart,
  localStart,
  localStatus,
  localStop,
  onLocalProgress,
  type LocalModel,
  type LocalPhase,
  type LocalProfile,
  type LocalProgress,
  type LocalReport,
  type LocalStatus,
  type Settings,
} from '../api';
import { formatNumber, t } from '../i18n/index.svelte';

/** The steps of a first start as the page lists them. */
export const startSteps = ['image', 'model', 'loading', 'ready'] as const;
export type StartStep = (typeof startSteps)[number];

/** Which listed step a phase belongs to. */
export function stepOf(phase: LocalPhase): StartStep {
  switch (phase) {
    case 'prepare':
    case 'image_download':
    case 'image_build':
      return 'image';
    case 'container':
    case 'model_download':
      return 'model';
    case 'loading':
      return 'loading';
    case 'ready':
      return 'ready';
  }
}

function gb(bytes: number): string {
  return formatNumber(bytes / 1e9, { maximumFractionDigits: 1, minimumFractionDigits: 1 });
}

/** One progress event in the user's language. */
export function progressText(p: LocalProgress): string {
  const bytes = (p.total ?? 0) > 0;
  switch (p.phase) {
    case 'prepare':
      return t('localserver.phase.prepare');
    case 'image_download':
      return bytes ? t('localserver.phase.imageDownloadBytes', { done: gb(p.done ?? 0), total: gb(p.total ?? 0) }) : t('localserver.phase.imageDownload');
    case 'image_build':
      return p.step && p.steps ? t('localserver.phase.imageBuildStep', { step: p.step, steps: p.steps }) : t('localserver.phase.imageBuild');
    case 'container':
      return t('localserver.phase.container');
    case 'model_download':
      return bytes
        ? t('localserver.phase.modelDownloadBytes', { model: p.model ?? '', done: gb(p.done ?? 0), total: gb(p.total ?? 0) })
        : t('localserver.phase.modelDownload', { model: p.model ?? '' });
    case 'loading':
      return p.model ? t('localserver.phase.loadingModel', { model: p.model }) : t('localserver.phase.loading');
    case 'ready':
      return t('localserver.phase.ready', { address: p.address ?? '' });
  }
}

/** The model ticked by default: a shipped Parakeet, else the first. */
function defaultTicked(models: LocalModel[]): string[] {
  const pick = models.find((m) => m.name === 'parakeet-tdt-0.6b-v2') ?? models.find((m) => !m.name.startsWith('titanet')) ?? models[0];
  return pick ? [pick.name] : [];
}

type Busy = '' | 'detect' | 'start' | 'restart' | 'stop' | 'remove' | 'logs';

export class LocalServerState {
  report = $state<LocalReport | null>(null);
  models = $state<LocalModel[]>([]);
  ticked = $state<string[]>([]);
  profile = $state<LocalProfile>('gpu');
  shareLAN = $state(false);
  /** 0 = the default port (8001, 8000, 8002). */
  grpcPort = $state(0);
  httpPort = $state(0);
  metricsPort = $state(0);

  busy = $state<Busy>('');
  /** The progress of the Start or Restart running or last run. */
  progress = $state<LocalProgress[]>([]);
  status = $state<LocalStatus | null>(null);
  error = $state('');
  logs = $state<string | null>(null);
  confirmingRemove = $state(false);
  removeCache = $state(false);
  /** Set after a Start that left the settings pointing at the local server. */
  pointedAt = $state('');

  latest = $derived(this.progress.at(-1) ?? null);
  current = $derived(this.latest ? stepOf(this.latest.phase) : null);

  private unsub: (() => void) | null = null;
  private opened = false;

  /** Called when the page shows: asks Go once what is there. */
  async open(): Promise<void> {
    if (!this.unsub) this.unsub = onLocalProgress((p) => this.take(p));
    if (this.opened) return;
    this.opened = true;
    await Promise.all([this.detect(), this.refreshStatus()]);
  }

  /** Files an event in the order Go sent it. */
  take(p: LocalProgress): void {
    const seq = p.seq ?? Infinity;
    let i = this.progress.length;
    while (i > 0 && (this.progress[i - 1].seq ?? 0) > seq) i--;
    this.progress.splice(i, 0, p);
  }

  /** Stops listening (the page closed). */
  close(): void {
    this.unsub?.();
    this.unsub = null;
  }

  /** Looks again for Docker, the GPU and free disk (Check again). */
  async detect(): Promise<void> {
    this.busy = 'detect';
    this.error = '';
    try {
      this.report = await localDetect();
      this.profile = this.report.profile === 'cpu' ? 'cpu' : 'gpu';
      await this.loadModels();
    } catch (e) {
      this.error = (e as Error).message;
    } finally {
      this.busy = '';
    }
  }

  /** The models of the chosen profile; ticks stay where they still apply. */
  async loadModels(): Promise<void> {
    try {
      this.models = await localModels(this.profile);
      const names = this.models.map((m) => m.name);
      const kept = this.ticked.filter((n) => names.includes(n));
      this.ticked = kept.length ? kept : defaultTicked(this.models);
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  async setProfile(p: LocalProfile): Promise<void> {
    this.profile = p;
    await this.loadModels();
  }

  toggle(name: string, on: boolean): void {
    this.ticked = on ? [...new Set([...this.ticked, name])] : this.ticked.filter((n) => n !== name);
  }

  canStart = $derived(this.ticked.length > 0 && this.busy === '' && (this.report?.canStart ?? false) && (this.profile === 'cpu' || (this.report?.gpuReady ?? false)));

  async refreshStatus(): Promise<void> {
    try {
      this.status = await localStatus();
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  /** Starts the server; resolves to the settings now pointing at it, or null. */
  async start(): Promise<Settings | null> {
    if (this.busy) return null;
    this.busy = 'start';
    this.error = '';
    this.progress = [];
    this.pointedAt = '';
    try {
      const saved = await localStart({
        models: [...this.ticked],
        profile: this.profile,
        shareLAN: this.shareLAN,
        grpcPort: Number(this.grpcPort) || 0,
        httpPort: Number(this.httpPort) || 0,
        metricsPort: Number(this.metricsPort) || 0,
      });
      this.pointedAt = saved.server;
      return saved;
    } catch (e) {
      this.error = (e as Error).message;
      return null;
    } finally {
      this.busy = '';
      await this.refreshStatus();
    }
  }

  async restart(): Promise<boolean> {
    return this.run('restart', async () => {
      this.progress = [];
      await localRestart();
    });
  }

  async stop(): Promise<boolean> {
    return this.run('stop', () => localStop());
  }

  /** Removes the containers (and the cache when ticked), once confirmed. */
  async remove(): Promise<boolean> {
    const ok = await this.run('remove', () => localRemove(this.removeCache));
    this.confirmingRemove = false;
    if (ok) this.progress = [];
    return ok;
  }

  /** Fetches the log's last lines for the log dialog. */
  async showLogs(lines = 200): Promise<void> {
    await this.run('logs', async () => {
      this.logs = (await localLogs(lines)) || t('localserver.log.empty');
    });
  }

  closeLogs(): void {
    this.logs = null;
  }

  private async run(what: Busy, op: () => Promise<void>): Promise<boolean> {
    if (this.busy && this.busy !== 'start') return false;
    const wasStarting = this.busy === 'start';
    if (!wasStarting) this.busy = what;
    this.error = '';
    try {
      await op();
      return true;
    } catch (e) {
      this.error = (e as Error).message;
      return false;
    } finally {
      if (!wasStarting) this.busy = '';
      if (what !== 'logs') await this.refreshStatus();
    }
  }

  /** For tests. */
  reset(): void {
    this.close();
    this.opened = false;
    this.report = null;
    this.models = [];
    this.ticked = [];
    this.profile = 'gpu';
    this.shareLAN = false;
    this.grpcPort = this.httpPort = this.metricsPort = 0;
    this.busy = '';
    this.progress = [];
    this.status = null;
    this.error = '';
    this.logs = null;
    this.confirmingRemove = false;
    this.removeCache = false;
    this.pointedAt = '';
  }
}

/** The page's state, kept while the user goes elsewhere (a start may run for
 * many minutes); tests make their own. */
export const localServer = new LocalServerState();
