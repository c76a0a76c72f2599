// Speakers in the app: the choice made when adding files (saved in Go's
// settings, offered only when the server has a speaker model), and the
// open transcript's speaker edits. Every edit goes through Go, which keeps
// it in the history, and the transcript shown becomes what Go returns, so
// the list, the chips, the waveform and exports always agree.
import {
  cancelFindSpeakers,
  findSpeakers,
  mergeSpeakers,
  onSpeakersProgress,
  renameSpeaker,
  restoreSpeakers,
  setSegmentSpeaker,
  setSpeakers,
  type SpeakerSnapshot,
  type TranscribeResult,
  type Transcript,
} from '../api';
import { snapshot, speakerModel, unavailableReason } from '../speakers';
import type { SettingsState } from './settings.svelte';
import type { EditorState } from './editor.svelte';
import { t } from '../i18n/index.svelte';

/** The Speakers choice beside the drop zone. */
export class SpeakerChoiceState {
  saving = $state(false);
  error = $state('');

  constructor(private settings: () => SettingsState) {}

  /** What Go has saved: '' off, 'auto', or a count ("3"). */
  get choice(): string {
    return this.settings().form.speakers ?? '';
  }

  /** Why speakers cannot be found on the saved server; '' when they can. */
  get reason(): string {
    const s = this.settings();
    return unavailableReason(s.status, s.status?.address || s.form.server);
  }

  /** The server's speaker model, when it has one ready. */
  get model(): string {
    return speakerModel(this.settings().status)?.name ?? '';
  }

  async set(choice: string): Promise<boolean> {
    this.saving = true;
    this.error = '';
    try {
      const saved = await setSpeakers(choice);
      this.settings().form.speakers = saved.speakers ?? '';
      return true;
    } catch (e) {
      this.error = (e as Error).message;
      return false;
    } finally {
      this.saving = false;
    }
  }
}

/** Rename, merge and a segment's speaker for the open transcript, with undo
 * through the editor's history. */
export class SpeakerEdits {
  error = $state('');

  constructor(
    private result: () => TranscribeResult | null,
    private editor: () => EditorState,
    /** Called after Go kept a change (the Library lists names). */
    private changed: () => void = () => {},
  ) {}

  private historyId(): number {
    return this.result()?.historyId ?? 0;
  }

  /** Shows what Go now keeps: speakers, segments (and their words) and text. */
  private show(tr: Transcript): void {
    const res = this.result();
    if (!res) return;
    res.transcript.speakers = tr.speakers ?? [];
    res.transcript.segments = tr.segments ?? [];
    res.transcript.text = tr.text;
    this.changed();
  }

  /** One edit through Go, one step in the editor's undo history. */
  private async edit(call: (id: number) => Promise<Transcript>): Promise<boolean> {
    const res = this.result();
    if (!res) return false;
    this.error = '';
    const before = snapshot($state.snapshot(res.transcript) as Transcript);
    return this.editor().speakers(before, async () => {
      try {
        const tr = await call(this.historyId());
        this.show(tr);
        return snapshot(tr);
      } catch (e) {
        this.error = (e as Error).message;
        return null;
      }
    });
  }

  /** Names speaker old (a label or an id) label, once for the whole transcript. */
  rename(old: string, label: string): Promise<boolean> {
    if (!label.trim()) {
      this.error = t('speakers.rename.empty');
      return Promise.resolve(false);
    }
    return this.edit((id) => renameSpeaker(id, old, label));
  }

  /** Makes speaker from into speaker into. */
  merge(into: string, from: string): Promise<boolean> {
    return this.edit((id) => mergeSpeakers(id, into, from));
  }

  /** Gives segment index to speaker to. */
  reassign(index: number, to: string): Promise<boolean> {
    return this.edit((id) => setSegmentSpeaker(id, index, to));
  }

  /** Puts a snapshot back (the editor's undo and redo call this). */
  async restore(snap: SpeakerSnapshot): Promise<boolean> {
    this.error = '';
    try {
      this.show(await restoreSpeakers(this.historyId(), snap));
      return true;
    } catch (e) {
      this.error = (e as Error).message;
      return false;
    }
  }
}

/** "Find speakers…" for an open transcript that has none: diarizes it in
 * Go without transcribing again, with progress, and shows the result. */
export class SpeakerFinder {
  open = $state(false);
  busy = $state(false);
  fraction = $state(0);
  error = $state('');
  /** 'auto' or a count. */
  choice = $state('auto');

  constructor(
    private result: () => TranscribeResult | null,
    private editor: () => EditorState,
    private why: () => string = () => '',
    /** Called after Go kept the speakers found (the Library lists names). */
    private changed: () => void = () => {},
  ) {}

  /** Why the server cannot find speakers now; '' when it can. */
  get reason(): string {
    return this.why();
  }

  async find(): Promise<boolean> {
    const res = this.result();
    const id = res?.historyId ?? 0;
    if (!res || this.busy) return false;
    this.busy = true;
    this.fraction = 0;
    this.error = '';
    const off = onSpeakersProgress((p) => {
      if (p.historyId === id && this.busy) this.fraction = Math.min(1, Math.max(0, p.progress?.fraction ?? 0));
    });
    try {
      const tr = await findSpeakers(id, this.choice);
      // The same entry is still open: show its speakers. Segments may have
      // been split where the speaker changes, so the undo history of text
      // edits (by segment) no longer fits.
      if (this.result() === res) {
        res.transcript.speakers = tr.speakers ?? [];
        res.transcript.segments = tr.segments ?? [];
        res.transcript.text = tr.text;
        this.editor().reset();
      }
      this.changed();
      this.open = false;
      return true;
    } catch (e) {
      this.error = (e as Error).message;
      return false;
    } finally {
      off();
      this.busy = false;
    }
  }

  async cancel(): Promise<void> {
    const id = this.result()?.historyId ?? 0;
    if (!id) return;
    try {
      await cancelFindSpeakers(id);
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  /** Another transcript opened. */
  reset(): void {
    this.open = false;
    this.error = '';
    this.fraction = 0;
  }
}
