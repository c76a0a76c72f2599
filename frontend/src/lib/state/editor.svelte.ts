// Editing the open transcript: edits in place, undo and redo, and find &
// replace. Every change goes through save (the EditSegment binding), so
// what the user sees is what the history keeps; an undo is an edit back.
// Speaker edits (rename, merge, a segment's speaker) share the undo
// history: each keeps who said what before and after, and undo and redo
// put one back through restore (the RestoreSpeakers binding).
import type { Segment, SpeakerSnapshot, Word } from '../api';

/** One segment's change: its text before and after (and its words, which
 * an edit drops and an undo back to the original text brings back). */
interface Change {
  index: number;
  before: string;
  after: string;
  words: Word[];
}

/** A speaker edit: who said what before it and after it. */
interface SpeakerStep {
  before: SpeakerSnapshot;
  after: SpeakerSnapshot;
}

/** One step of the undo history: text changes, or a speaker edit. */
type Step = Change[] | SpeakerStep;

/** Where a find matches: segment, and the match's place in its text. */
export interface Match {
  segment: number;
  start: number;
  end: number;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The text as the Go side keeps it: trimmed, single spaces. */
export function normalise(text: string): string {
  return text.trim().split(/\s+/).filter(Boolean).join(' ');
}

export class EditorState {
  private undoStack = $state<Step[]>([]);
  private redoStack = $state<Step[]>([]);
  busy = $state(false);

  /** Find & replace: the bar, what to find, what to put instead. */
  findOpen = $state(false);
  query = $state('');
  replacement = $state('');
  matchCase = $state(false);
  /** The current match, an index into matches. */
  at = $state(0);

  canUndo = $derived(this.undoStack.length > 0);
  canRedo = $derived(this.redoStack.length > 0);

  constructor(
    private segments: () => Segment[],
    private save: (index: number, text: string) => Promise<boolean>,
    private restore: (snap: SpeakerSnapshot) => Promise<boolean> = async () => false,
  ) {}

  private pattern(): RegExp | null {
    if (!this.query) return null;
    return new RegExp(escapeRegExp(this.query), this.matchCase ? 'g' : 'gi');
  }

  /** Every match in the transcript, in reading order. */
  matches = $derived.by((): Match[] => {
    const re = this.pattern();
    if (!re) return [];
    const out: Match[] = [];
    this.segments().forEach((seg, i) => {
      for (const m of seg.text.matchAll(re)) out.push({ segment: i, start: m.index, end: m.index + m[0].length });
    });
    return out;
  });

  current = $derived(this.matches.length ? this.matches[Math.min(this.at, this.matches.length - 1)] : null);

  next(): void {
    if (this.matches.length) this.at = (Math.min(this.at, this.matches.length - 1) + 1) % this.matches.length;
  }

  prev(): void {
    if (this.matches.length) this.at = (Math.min(this.at, this.matches.length - 1) - 1 + this.matches.length) % this.matches.length;
  }

  /** Saves segment index's new text; one step to undo. */
  async edit(index: number, text: string): Promise<boolean> {
    const seg = this.segments()[index];
    if (!seg) return false;
    if (normalise(text) === seg.text) return true;
    return this.apply([{ index, text }]);
  }

  /** Replaces the current match and moves to the next one. */
  async replaceCurrent(): Promise<boolean> {
    const m = this.current;
    if (!m) return false;
    const text = this.segments()[m.segment].text;
    const ok = await this.apply([{ index: m.segment, text: text.slice(0, m.start) + this.replacement + text.slice(m.end) }]);
    // The matches are counted again; the next one now has this one's place.
    if (ok && this.at >= this.matches.length) this.at = 0;
    return ok;
  }

  /** Replaces every match; one step to undo. Resolves to the count. */
  async replaceAll(): Promise<number> {
    const re = this.pattern();
    if (!re) return 0;
    const count = this.matches.length;
    const edits: { index: number; text: string }[] = [];
    this.segments().forEach((seg, i) => {
      const text = seg.text.replace(re, () => this.replacement);
      if (text !== seg.text) edits.push({ index: i, text });
    });
    return (await this.apply(edits)) ? count : 0;
  }

  /** Runs a speaker edit, which resolves to who said what after it (null
   * when it was refused); one step to undo, back to before. */
  async speakers(before: SpeakerSnapshot, edit: () => Promise<SpeakerSnapshot | null>): Promise<boolean> {
    if (this.busy) return false;
    this.busy = true;
    try {
      const after = await edit();
      if (!after) return false;
      this.undoStack = [...this.undoStack, { before, after }];
      this.redoStack = [];
      return true;
    } finally {
      this.busy = false;
    }
  }

  private async restoreStep(snap: SpeakerSnapshot): Promise<boolean> {
    this.busy = true;
    try {
      return await this.restore(snap);
    } finally {
      this.busy = false;
    }
  }

  async undo(): Promise<boolean> {
    const group = this.undoStack.at(-1);
    if (!group || this.busy) return false;
    const ok = Array.isArray(group)
      ? await this.run([...group].reverse().map((c) => ({ index: c.index, text: c.before, words: c.words })))
      : await this.restoreStep(group.before);
    if (ok) {
      this.undoStack = this.undoStack.slice(0, -1);
      this.redoStack = [...this.redoStack, group];
    }
    return ok;
  }

  async redo(): Promise<boolean> {
    const group = this.redoStack.at(-1);
    if (!group || this.busy) return false;
    const ok = Array.isArray(group) ? await this.run(group.map((c) => ({ index: c.index, text: c.after, words: [] }))) : await this.restoreStep(group.after);
    if (ok) {
      this.redoStack = this.redoStack.slice(0, -1);
      this.undoStack = [...this.undoStack, group];
    }
    return ok;
  }

  /** Forgets the undo history (another transcript opened). */
  reset(): void {
    this.undoStack = [];
    this.redoStack = [];
    this.at = 0;
  }

  private async apply(edits: { index: number; text: string }[]): Promise<boolean> {
    if (!edits.length || this.busy) return false;
    const segs = this.segments();
    const group: Change[] = edits.map((e) => ({
      index: e.index,
      before: segs[e.index].text,
      after: normalise(e.text),
      words: $state.snapshot(segs[e.index].words ?? []) as Word[],
    }));
    const ok = await this.run(edits.map((e) => ({ ...e, words: [] })));
    if (ok) {
      this.undoStack = [...this.undoStack, group];
      this.redoStack = [];
    }
    return ok;
  }

  /** Saves each text in turn; stops at the first refusal. */
  private async run(edits: { index: number; text: string; words: Word[] }[]): Promise<boolean> {
    this.busy = true;
    try {
      for (const e of edits) {
        if (!(await this.save(e.index, e.text))) return false;
        const seg = this.segments()[e.index];
        // Back to the original text: its word timings are right again.
        if (seg && e.words.length && e.words.map((w) => w.word).join(' ') === seg.text) seg.words = e.words;
      }
      return true;
    } finally {
      this.busy = false;
    }
  }
}
