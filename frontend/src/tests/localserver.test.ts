import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { api, emitLocalProgress, model, resetApi, settings, status } from './fake-api';

vi.mock('../lib/api', async () => (await import('./fake-api')).fakeApi());

import LocalServerPanel from '../lib/components/LocalServerPanel.svelte';
import StatusLine from '../lib/components/StatusLine.svelte';
import { LocalServerState, progressText, stepOf } from '../lib/state/localserver.svelte';
import { SettingsState } from '../lib/state/settings.svelte';
import { QueueState } from '../lib/state/queue.svelte';
import { locale } from '../lib/i18n/index.svelte';
import type { LocalReport, LocalStatus } from '../lib/api';

function report(over: Partial<LocalReport> = {}): LocalReport {
  return {
    os: 'linux',
    checks: [
      { id: 'docker', title: 'Docker', state: 'ok', found: 'docker 27.3.1' },
      { id: 'engine', title: 'Docker engine', state: 'ok', found: 'Docker Engine 27.3.1 (linux containers)' },
      { id: 'compose', title: 'Docker Compose', state: 'ok', found: 'Compose 2.29.1' },
      { id: 'gpu', title: 'NVIDIA GPU', state: 'missing', found: 'none', fix: 'No NVIDIA GPU was found; use the much slower CPU profile' },
      { id: 'driver', title: 'NVIDIA driver', state: 'skipped', found: '' },
      { id: 'gpu_in_docker', title: 'GPU in Docker', state: 'skipped', found: '' },
      { id: 'disk', title: 'Free disk', state: 'ok', found: '120 GB free on /' },
    ],
    docker: { clientVersion: '27.3.1', serverVersion: '27.3.1', platform: '', desktop: false, running: true, composeVersion: '2.29.1', osType: 'linux', kernelVersion: '', wsl2: false, runtimes: [], rootDir: '/' },
    gpus: [],
    tritonImage: 'nvcr.io/nvidia/tritonserver:25.10-py3',
    cuda: '13.0',
    minDriver: '580.95.05',
    diskPath: '/',
    freeBytes: 120 * 2 ** 30,
    needBytes: 30 * 2 ** 30,
    profile: 'cpu',
    profileNote: 'No usable NVIDIA GPU was found: … much slower than on a GPU.',
    gpuReady: false,
    canStart: true,
    ...over,
  };
}

function localStatus(state: string, message: string): LocalStatus {
  return { state, message, label: 'local server', address: '127.0.0.1:8001', options: { models: ['dtmf'], profile: 'cpu', shareLAN: false, grpcPort: 8001, httpPort: 8000, metricsPort: 8002 }, container: state === 'ready' ? 'running' : '' };
}

const models = [
  { name: 'canary-1b-v2', nemoModel: 'nvidia/canary-1b-v2', shipped: true },
  { name: 'dtmf', nemoModel: 'nvidia/dtmf', shipped: false },
  { name: 'parakeet-tdt-0.6b-v2', nemoModel: 'nvidia/parakeet-tdt-0.6b-v2', shipped: true },
];

beforeEach(() => {
  resetApi();
  locale.set('');
  api.localDetect.mockResolvedValue(report());
  api.localModels.mockResolvedValue(models);
});

async function openPanel() {
  const s = new SettingsState();
  await s.load();
  const local = new LocalServerState();
  render(LocalServerPanel, { settings: s, local });
  const details = screen.getByTestId('local-server') as HTMLDetailsElement;
  expect(api.localDetect).not.toHaveBeenCalled(); // nothing runs before the page is opened
  details.open = true;
  await fireEvent(details, new Event('toggle'));
  await screen.findAllByTestId('local-check');
  return { s, local };
}

describe('progress in words', () => {
  it.each([
    [{ phase: 'image_download', message: '', done: 2.14e9, total: 9.3e9 }, 'en', "Downloading NVIDIA's Triton image: 2.1 of 9.3 GB", 'image'],
    [{ phase: 'image_download', message: '', done: 2.14e9, total: 9.3e9 }, 'de', 'Das Triton-Image von NVIDIA wird heruntergeladen: 2,1 von 9,3 GB', 'image'],
    [{ phase: 'image_build', message: '', step: 3, steps: 5 }, 'en', 'Building the server image: step 3 of 5', 'image'],
    [{ phase: 'container', message: '' }, 'en', 'Starting the server container', 'model'],
    [{ phase: 'model_download', message: '', model: 'dtmf', done: 1.11e9, total: 2.47e9 }, 'en', 'Downloading the dtmf model: 1.1 of 2.5 GB (only once; it stays in the cache)', 'model'],
    [{ phase: 'loading', message: '', model: 'dtmf' }, 'ja', 'dtmf を読み込んでいます', 'loading'],
    [{ phase: 'ready', message: '', address: '127.0.0.1:8001' }, 'en', 'The local server is ready at 127.0.0.1:8001', 'ready'],
  ] as const)('%o in %s', (p, tag, text, step) => {
    locale.set(tag);
    expect(progressText(p)).toBe(text);
    expect(stepOf(p.phase)).toBe(step);
  });
});

describe('LocalServerPanel', () => {
  it('checks only when opened, and says what is missing and how to get it', async () => {
    await openPanel();
    expect(api.localDetect).toHaveBeenCalledTimes(1);
    const gpu = screen.getAllByTestId('local-check').find((li) => li.dataset.id === 'gpu')!;
    expect(gpu.dataset.state).toBe('missing');
    expect(within(gpu).getByTestId('local-fix').textContent).toContain('much slower CPU profile');
    // Without a GPU the CPU profile is offered, plainly much slower.
    expect((screen.getByTestId('local-profile-cpu') as HTMLInputElement).checked).toBe(true);
    expect(screen.getByTestId('local-cpu-note').textContent).toContain('much slower');
    expect(api.localModels).toHaveBeenCalledWith('cpu');
    // A shipped Parakeet is ticked by default.
    const ticked = screen.getAllByTestId('local-model').filter((b) => (b as HTMLInputElement).checked).map((b) => (b as HTMLInputElement).value);
    expect(ticked).toEqual(['parakeet-tdt-0.6b-v2']);
    await fireEvent.click(screen.getByRole('button', { name: 'Check again' }));
    expect(api.localDetect).toHaveBeenCalledTimes(2);
  });

  it('in German, the fix is German with the detail beside it', async () => {
    api.getSettings.mockResolvedValue(settings({ uiLanguage: 'de' }));
    await openPanel();
    expect(locale.current).toBe('de');
    const gpu = screen.getAllByTestId('local-check').find((li) => li.dataset.id === 'gpu')!;
    expect(within(gpu).getByTestId('local-fix').textContent).toContain('viel langsamere CPU-Profil');
    expect(gpu.textContent).toContain('No NVIDIA GPU was found'); // Go's own sentence, as detail
  });

  it('shows the TLS advice when sharing on the LAN, with the chosen port', async () => {
    await openPanel();
    expect(screen.queryByTestId('local-lan-note')).toBeNull();
    await fireEvent.input(screen.getByTestId('local-port-grpc'), { target: { value: '9001' } });
    await fireEvent.click(screen.getByTestId('local-lan'));
    const note = screen.getByTestId('local-lan-note').textContent ?? '';
    expect(note).toContain('port 9001');
    expect(note).toContain('TLS');
    expect(note).toContain('firewall');
  });

  it('starts with the ticked models, shows the steps in words, then points the settings at it', async () => {
    const { local } = await openPanel();
    let finish!: (s: ReturnType<typeof settings>) => void;
    api.localStart.mockImplementation(() => new Promise((res) => (finish = res)));
    await fireEvent.click(screen.getAllByTestId('local-model').find((b) => (b as HTMLInputElement).value === 'dtmf')!);
    await fireEvent.click(screen.getByTestId('local-start'));
    expect(api.localStart).toHaveBeenCalledWith({ models: ['parakeet-tdt-0.6b-v2', 'dtmf'], profile: 'cpu', shareLAN: false, grpcPort: 0, httpPort: 0, metricsPort: 0 });
    expect(screen.getByTestId('local-start').textContent).toContain('Starting…');

    emitLocalProgress({ phase: 'image_download', message: '', done: 1e9, total: 9.3e9, seq: 1 });
    await vi.waitFor(() => expect(screen.getByTestId('local-progress-now').textContent).toContain('1.0 of 9.3 GB'));
    const steps = () => screen.getAllByTestId('local-step').map((li) => `${li.dataset.step}:${li.dataset.state}`);
    expect(steps()).toEqual(['image:now', 'model:pending', 'loading:pending', 'ready:pending']);
    // Out of order, as Wails' dev server may deliver them: Go's numbering wins.
    emitLocalProgress({ phase: 'loading', message: '', model: 'dtmf', seq: 3 });
    emitLocalProgress({ phase: 'model_download', message: '', model: 'dtmf', done: 0, total: 2.47e9, seq: 2 });
    await vi.waitFor(() => expect(steps()).toEqual(['image:done', 'model:done', 'loading:now', 'ready:pending']));
    expect(screen.getByTestId('local-progress-now').textContent).toContain('Loading dtmf');
    emitLocalProgress({ phase: 'ready', message: '', address: '127.0.0.1:8001', seq: 4 });

    api.getSettings.mockResolvedValue(settings({ server: '127.0.0.1:8001', model: 'dtmf' }));
    api.localStatus.mockResolvedValue(localStatus('ready', 'The local server is ready with dtmf at 127.0.0.1:8001'));
    finish(settings({ server: '127.0.0.1:8001', model: 'dtmf' }));
    await vi.waitFor(() => expect(screen.getByTestId('local-pointed').textContent).toContain('127.0.0.1:8001'));
    expect(steps()).toEqual(['image:done', 'model:done', 'loading:done', 'ready:done']);
    expect(screen.getByTestId('local-status').dataset.state).toBe('ready');
    expect(api.getSettings).toHaveBeenCalledTimes(2); // the form took the saved settings
    expect(local.busy).toBe('');
  });

  it('shows a failed start as its sentence', async () => {
    await openPanel();
    api.localStart.mockRejectedValue(new Error('Port 8001 on 127.0.0.1 is already in use by another program: stop that program or choose another port for the local server.'));
    await fireEvent.click(screen.getByTestId('local-start'));
    expect((await screen.findByTestId('local-error')).textContent).toContain('already in use');
    expect(screen.getByRole('alert')).toBeTruthy();
  });

  it('removes only after confirming, with the cache when ticked', async () => {
    api.localStatus.mockResolvedValue(localStatus('stopped', 'The local server is stopped'));
    await openPanel();
    await fireEvent.click(screen.getByTestId('local-remove'));
    expect(api.localRemove).not.toHaveBeenCalled();
    const dialog = screen.getByRole('alertdialog', { name: 'Remove the local server?' });
    await fireEvent.click(within(dialog).getByTestId('local-remove-cache'));
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Remove' }));
    expect(api.localRemove).toHaveBeenCalledWith(true);
    await vi.waitFor(() => expect(screen.queryByRole('alertdialog')).toBeNull());
  });

  it('shows the log in a dialog that Escape closes', async () => {
    api.localStatus.mockResolvedValue(localStatus('ready', 'ready'));
    api.localLogs.mockResolvedValue("I1202 successfully loaded 'dtmf'\n");
    await openPanel();
    await fireEvent.click(screen.getByTestId('local-logs'));
    const dialog = await screen.findByRole('dialog', { name: 'Local server log (last lines)' });
    expect(dialog.textContent).toContain("successfully loaded 'dtmf'");
    expect(api.localLogs).toHaveBeenCalledWith(200);
    await fireEvent.keyDown(dialog, { key: 'Escape' });
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('stops', async () => {
    api.localStatus.mockResolvedValue(localStatus('ready', 'ready'));
    await openPanel();
    api.localStatus.mockResolvedValue(localStatus('stopped', 'The local server is stopped'));
    await fireEvent.click(screen.getByTestId('local-stop'));
    expect(api.localStop).toHaveBeenCalledTimes(1);
    await vi.waitFor(() => expect(screen.getByTestId('local-status').dataset.state).toBe('stopped'));
  });
});

describe('StatusLine', () => {
  async function line(local: boolean) {
    api.isLocalServer.mockResolvedValue(local);
    const st = status();
    st.models[0] = { ...model('parakeet-tdt-0.6b-v2', true, 'READY'), audio_input: 'AUDIO_FLAC', warnings: ['AUDIO_PCM16 is declared as FP32: not sending it.'] };
    api.getServerStatus.mockResolvedValue(st);
    const s = new SettingsState();
    await s.load();
    await s.refreshStatus();
    render(StatusLine, { settings: s, queue: new QueueState() });
  }

  it('names the local server, the audio form sent and the warnings', async () => {
    await line(true);
    expect((await screen.findByTestId('status-local')).textContent).toBe('local server');
    expect(screen.getByTestId('status-audio').textContent).toBe('sends FLAC');
    const w = screen.getByTestId('status-warnings');
    expect(w.textContent).toBe('1 warning');
    expect(w.getAttribute('title')).toContain('AUDIO_PCM16');
    expect(api.isLocalServer).toHaveBeenCalledWith('');
  });

  it('says nothing of a local server for another one', async () => {
    await line(false);
    await vi.waitFor(() => expect(api.isLocalServer).toHaveBeenCalled());
    expect(screen.queryByTestId('status-local')).toBeNull();
  });
});
