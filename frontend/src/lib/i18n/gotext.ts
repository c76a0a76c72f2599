// Go's sentences in the UI's language. Go sends a sentence as a GoText
// (apperr.Text): the English, the catalog key of the sentence inside it
// (parts/errors, generated from the Go formats) and its {1}, {2}, …
// values, which may be sentences of their own. A key this build does not
// know, or a message with none, shows Go's English as it is; the context
// around the keyed sentence ("sample.wav: ") is kept.
import { catalogs, fallbackLocale } from './catalogs';
import { locale, t } from './index.svelte';
import type { MessageKey } from './types';

/** A sentence from Go (apperr.Text). */
export interface GoText {
  text: string;
  key?: string;
  params?: GoText[];
  before?: string;
  after?: string;
}

/** Whether v looks like a GoText. */
export function isGoText(v: unknown): v is GoText {
  return !!v && typeof v === 'object' && typeof (v as GoText).text === 'string';
}

/** m in the current language, or its English when the key is unknown. */
export function goText(m: GoText | null | undefined, english = ''): string {
  if (!m) return english;
  const key = m.key as MessageKey | undefined;
  if (!key || !(key in catalogs[fallbackLocale])) return m.text || english;
  const params: Record<string, string> = {};
  (m.params ?? []).forEach((p, i) => {
    params[String(i + 1)] = goText(p);
  });
  return (m.before ?? '') + t(key, params) + (m.after ?? '');
}

/** Whitespace folded, a leading plain word capitalised (never a file name
 * or a path) and a full stop for the language at the end, as Go's app.go
 * makes its English sentences. */
export function asSentence(msg: string): string {
  msg = msg.trim().split(/\s+/).join(' ');
  if (!msg) return t('error.unknown');
  const first = msg.split(' ')[0].replace(/[:,;]+$/, '');
  if (first && /^\p{L}+$/u.test(first)) {
    const c = String.fromCodePoint(msg.codePointAt(0) ?? 0);
    msg = c.toLocaleUpperCase(locale.current) + msg.slice(c.length);
  }
  if (!/[.!?。！？]$/.test(msg)) msg += /^(ja|zh)/.test(locale.current) ? '。' : '.';
  return msg;
}
