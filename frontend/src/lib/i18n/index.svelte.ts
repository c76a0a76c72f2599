// Messages for people: t(key, params) looks a key up in the current
// language's catalog (English when that language lacks it), fills in
// {name} placeholders and picks plural forms with Intl.PluralRules by the
// {count} parameter. The current locale is reactive state: a component
// that calls t() in its template re-renders when the language changes, so
// switching needs no restart. Numbers, dates and durations go through Intl.
import { catalogs, fallbackLocale, locales } from './catalogs';
import type { Message, MessageKey, Params } from './types';

export type { Catalog, Message, MessageKey, Params, PluralForms } from './types';
export { catalogs, locales } from './catalogs';

/** The best catalog for a list of preferred tags (as navigator.languages). */
export function matchLocale(wanted: readonly string[], available: readonly string[] = locales()): string {
  const lower = available.map((l) => l.toLowerCase());
  for (const w of wanted) {
    const tag = w.toLowerCase();
    const exact = lower.indexOf(tag);
    if (exact >= 0) return available[exact];
    const lang = tag.split('-')[0];
    // "de-AT" finds "de"; "pt" finds "pt-BR"; "zh-Hans-CN" finds "zh-CN".
    const region = tag.split('-').slice(-1)[0];
    const same = available.filter((_, i) => lower[i].split('-')[0] === lang);
    if (same.length) return same.find((l) => l.toLowerCase().endsWith(`-${region}`)) ?? same[0];
  }
  return fallbackLocale;
}

function systemLanguages(): readonly string[] {
  if (typeof navigator === 'undefined') return [fallbackLocale];
  return navigator.languages?.length ? navigator.languages : [navigator.language || fallbackLocale];
}

class LocaleState {
  /** The user's choice; '' follows the system's languages. It is kept by
   * Go with the settings (uiLanguage): SettingsState loads and saves it. */
  preference = $state('');
  /** The system's preferred languages (kept as state so tests can set them). */
  system = $state<readonly string[]>(systemLanguages());
  /** The language the UI speaks now. */
  current = $derived(this.preference && this.preference in catalogs ? this.preference : matchLocale(this.system));

  /** Chooses a language ('' = the system's, as is a tag with no
   * catalog). The window speaks it at once; SettingsState.setLanguage
   * also saves it. */
  set(tag: string): void {
    this.preference = tag && tag in catalogs ? tag : '';
  }
}

export const locale = new LocaleState();

const pluralCache = new Map<string, Intl.PluralRules>();
function pluralRules(tag: string): Intl.PluralRules {
  let r = pluralCache.get(tag);
  if (!r) pluralCache.set(tag, (r = new Intl.PluralRules(tag)));
  return r;
}

function pick(msg: Message, tag: string, params?: Params): string {
  if (typeof msg === 'string') return msg;
  const n = Number(params?.count ?? 0);
  if (n === 0 && msg.zero !== undefined) return msg.zero;
  return msg[pluralRules(tag).select(n)] ?? msg.other;
}

/** The message for key in the current language, with params filled in. */
export function t(key: MessageKey, params?: Params): string {
  const tag = locale.current;
  const msg = catalogs[tag]?.[key] ?? catalogs[fallbackLocale][key];
  if (msg === undefined) return key;
  const text = pick(msg, tag, params);
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const v = params[name];
    if (v === undefined) return whole;
    return typeof v === 'number' ? formatNumber(v) : v;
  });
}

/** A number for the current locale. */
export function formatNumber(n: number, opts?: Intl.NumberFormatOptions): string {
  return new Intl.NumberFormat(locale.current, opts).format(Number.isFinite(n) ? n : 0);
}

/** A date (and by default its time) for the current locale. */
export function formatDate(d: Date | string | number, opts: Intl.DateTimeFormatOptions = { dateStyle: 'medium', timeStyle: 'short' }): string {
  const date = d instanceof Date ? d : new Date(d);
  if (Number.isNaN(date.getTime())) return '';
  return new Intl.DateTimeFormat(locale.current, opts).format(date);
}

/** A duration for people, in the current locale: "45 sec", "3 min 20 sec", "1 hr 5 min". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(Number.isFinite(seconds) ? seconds : 0));
  const unit = (value: number, u: 'hour' | 'minute' | 'second') =>
    new Intl.NumberFormat(locale.current, { style: 'unit', unit: u, unitDisplay: 'short' }).format(value);
  if (s < 60) return unit(s, 'second');
  if (s < 3600) return `${unit(Math.floor(s / 60), 'minute')} ${unit(s % 60, 'second')}`;
  return `${unit(Math.floor(s / 3600), 'hour')} ${unit(Math.floor((s % 3600) / 60), 'minute')}`;
}
