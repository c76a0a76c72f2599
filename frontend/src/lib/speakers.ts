// Speakers as the UI shows them: a colour per speaker that stays with its
// id (S1, S2…) through renames and merges, the turns along the waveform,
// the snapshot an undo puts back, and whether the server can find speakers.
import type { ModelStatus, Segment, ServerStatus, Speaker, SpeakerSnapshot, Transcript } from './api';
import { speakerEmbedding } from './models';
import { t } from './i18n/index.svelte';

/** A speaker's colours: fill behind the chip's text, and that text, per theme. */
export interface SpeakerColour {
  light: { fill: string; text: string };
  dark: { fill: string; text: string };
}

// Eight hues, far apart. Light theme: deep fills under white text; dark
// theme: pale fills under near-black text. Each pair passes WCAG AA for
// text (4.5:1) and the fill stands 3:1 from both themes' surfaces (the
// vitest checks every pair), so a chip and a waveform turn are readable
// in both themes.
export const palette: SpeakerColour[] = [
  { light: { fill: '#1d4ed8', text: '#ffffff' }, dark: { fill: '#93c5fd', text: '#0b1220' } }, // blue
  { light: { fill: '#b45309', text: '#ffffff' }, dark: { fill: '#fdba74', text: '#1a0f05' } }, // orange
  { light: { fill: '#7e22ce', text: '#ffffff' }, dark: { fill: '#d8b4fe', text: '#150a20' } }, // purple
  { light: { fill: '#047857', text: '#ffffff' }, dark: { fill: '#6ee7b7', text: '#04150f' } }, // green
  { light: { fill: '#be123c', text: '#ffffff' }, dark: { fill: '#fda4af', text: '#1f0509' } }, // rose
  { light: { fill: '#0e7490', text: '#ffffff' }, dark: { fill: '#67e8f9', text: '#041418' } }, // cyan
  { light: { fill: '#4d7c0f', text: '#ffffff' }, dark: { fill: '#bef264', text: '#0f1604' } }, // lime
  { light: { fill: '#a21caf', text: '#ffffff' }, dark: { fill: '#f0abfc', text: '#1c051f' } }, // fuchsia
];

/** The colour of the speaker with this id: S1 the first, S2 the second…; other ids by a hash. */
export function colourOf(id: string): SpeakerColour {
  const m = /^S(\d+)$/i.exec(id.trim());
  let n: number;
  if (m) n = Number(m[1]) - 1;
  else {
    n = 0;
    for (const ch of id) n = (n * 31 + ch.codePointAt(0)!) >>> 0;
  }
  return palette[((n % palette.length) + palette.length) % palette.length];
}

/** CSS custom properties for a speaker's element (the component picks the theme's). */
export function colourStyle(id: string): string {
  const c = colourOf(id);
  return `--spk-fill:${c.light.fill};--spk-text:${c.light.text};--spk-fill-dark:${c.dark.fill};--spk-text-dark:${c.dark.text}`;
}

/** The id of the speaker a segment's label names ('' when it is not in the list). */
export function idOf(speakers: Speaker[] | undefined, label: string | undefined): string {
  if (!label) return '';
  return speakers?.find((s) => s.label === label)?.id ?? '';
}

/** Who said what in t, for undoing a speaker edit. */
export function snapshot(tr: Transcript): SpeakerSnapshot {
  return {
    speakers: (tr.speakers ?? []).map((s) => ({ id: s.id, label: s.label, seconds: s.seconds })),
    segments: (tr.segments ?? []).map((s) => s.speaker ?? ''),
  };
}

/** A stretch of the recording one speaker talks in. */
export interface Turn {
  start: number;
  end: number;
  id: string;
  label: string;
}

/** The speaker turns along the recording: consecutive segments of one
 * speaker joined, so the waveform shows where the voice changes. */
export function turns(segments: Segment[], speakers: Speaker[] | undefined): Turn[] {
  const out: Turn[] = [];
  for (const s of segments) {
    const id = idOf(speakers, s.speaker);
    if (!id) continue;
    const last = out.at(-1);
    if (last && last.id === id) last.end = Math.max(last.end, s.end);
    else out.push({ start: s.start, end: Math.max(s.start, s.end), id, label: s.speaker ?? '' });
  }
  return out;
}

/** The server's speaker model, if it has one ready. */
export function speakerModel(status: ServerStatus | null | undefined): ModelStatus | null {
  return status?.models?.find((m) => m.kind === speakerEmbedding && m.ready) ?? null;
}

/** Why the server cannot find speakers now, as a sentence; '' when it can. */
export function unavailableReason(status: ServerStatus | null | undefined, server: string): string {
  if (!status) return t('speakers.unavailable.unknown', { server });
  if (speakerModel(status)) return '';
  const notReady = status.models?.find((m) => m.kind === speakerEmbedding);
  if (notReady) return t('speakers.unavailable.notReady', { server, model: notReady.name });
  return t('speakers.unavailable.none', { server });
}

/** The counts the Speakers choice offers besides off and auto. */
export const speakerCounts = [2, 3, 4, 5, 6, 7, 8, 10, 12];
