import { afterEach, describe, expect, it } from 'vitest';
import { flushSync } from 'svelte';
import { render, screen } from '@testing-library/svelte';
import { catalogs, formatDate, formatDuration, formatNumber, locale, matchLocale, t, type Catalog, type MessageKey } from '../lib/i18n/index.svelte';
import { en } from '../lib/i18n/en';
import { hardCodedStrings } from './ui-strings';
import LocaleProbe from './LocaleProbe.svelte';

// Vite reads the folders: every catalog file, and every component's source.
const i18nFiles = Object.keys(import.meta.glob('../lib/i18n/*.ts')).map((p) => p.split('/').pop() ?? p);
const components = import.meta.glob<string>(['../**/*.svelte', '!./**'], { query: '?raw', import: 'default', eager: true });

/** A pseudo-language made from English, for switching without a real catalog. */
function pseudo(): Catalog {
  const wrap = (s: string) => `⟦${s}⟧`;
  return Object.fromEntries(
    Object.entries(en).map(([k, v]) => [k, typeof v === 'string' ? wrap(v) : Object.fromEntries(Object.entries(v).map(([f, s]) => [f, wrap(s)]))]),
  ) as unknown as Catalog;
}

function placeholders(msg: string | Record<string, string>): string[] {
  const all = typeof msg === 'string' ? [msg] : Object.values(msg);
  return [...new Set(all.flatMap((s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1])))].sort();
}

afterEach(() => {
  locale.set('');
  locale.system = ['en-US'];
  delete catalogs['en-XA'];
});

describe('the catalogs', () => {
  it('every catalog has every key and no extra ones, with the same placeholders and plural shape', () => {
    const keys = Object.keys(en).sort();
    expect(Object.keys(catalogs)).toContain('en');
    for (const [tag, cat] of Object.entries(catalogs)) {
      expect(Object.keys(cat).sort(), `catalog ${tag}`).toEqual(keys);
      for (const k of keys as MessageKey[]) {
        const want = en[k];
        const got = cat[k];
        expect(typeof got, `${tag}: ${k}`).toBe(typeof want);
        if (typeof got === 'object') expect(got.other, `${tag}: ${k} has an "other" form`).toBeTruthy();
        else expect(got.trim(), `${tag}: ${k} is empty`).not.toBe('');
        expect(placeholders(got as string), `${tag}: ${k} placeholders`).toEqual(placeholders(want as string));
      }
    }
  });

  it('speaks eight languages, each with exactly the plural forms its language uses', () => {
    expect(Object.keys(catalogs)).toEqual(['en', 'de', 'fr', 'es', 'pt-BR', 'ja', 'zh-CN', 'ru']);
    for (const [tag, cat] of Object.entries(catalogs)) {
      const want = [...new Intl.PluralRules(tag).resolvedOptions().pluralCategories].sort();
      for (const [k, msg] of Object.entries(cat)) {
        if (typeof msg !== 'object') continue;
        const forms = Object.keys(msg).filter((f) => f !== 'zero').sort();
        expect(forms, `${tag}: ${k}`).toEqual(want);
      }
    }
  });

  it('leaves no English behind: a message the same as English is a name or a format', () => {
    // Product and format names, placeholders and words these languages
    // share with English.
    const same: Record<string, string[]> = {
      '*': ['app.name', 'list.separator', 'queue.totals', 'player.rate', 'export.format.json', 'export.format.md', 'settings.headers.name.placeholder'],
      de: ['export.format.txt', 'status.server', 'settings.server.heading', 'export.title', 'settings.version', 'player.pause', 'settings.server.placeholder', 'transcript.find'],
      fr: ['export.formats', 'player.pause', 'library.date', 'transcript.segments', 'settings.version'],
      es: ['common.no'],
      'pt-BR': [],
      ja: [],
      'zh-CN': [],
      ru: [],
    };
    for (const [tag, cat] of Object.entries(catalogs)) {
      if (tag === 'en') continue;
      const english = Object.entries(cat).filter(([k, v]) => JSON.stringify(v) === JSON.stringify(en[k as MessageKey])).map(([k]) => k);
      const allowed = [...same['*'], ...(same[tag] ?? [])];
      expect(english.filter((k) => !allowed.includes(k)), `${tag}: messages left in English`).toEqual([]);
    }
  });

  it('picks Russian plural forms by count', () => {
    locale.set('ru');
    expect([1, 2, 5, 21, 1.5].map((count) => t('queue.files', { count }))).toEqual(['1 файл', '2 файла', '5 файлов', '21 файл', '1,5 файла']);
    locale.set('ja');
    expect(t('queue.files', { count: 3 })).toBe('3 個のファイル');
  });

  it('lists every catalog file in this folder', () => {
    const files = i18nFiles.filter((f) => /^[a-z]{2,3}(-[A-Za-z]{2,4})*\.ts$/.test(f));
    expect(files).toContain('en.ts');
    for (const f of files) expect(Object.keys(catalogs), `${f} is listed in catalogs.ts`).toContain(f.replace(/\.ts$/, ''));
  });

  it('has only English in en.ts (other catalogs start from their own language)', () => {
    expect(en['language.name']).toBe('English');
    for (const [tag, cat] of Object.entries(catalogs)) {
      if (tag !== 'en') expect(cat['language.name'], `${tag} names itself`).not.toBe('English');
    }
  });
});

describe('t', () => {
  it('fills in placeholders, numbers for the locale', () => {
    expect(t('queue.open.label', { name: 'a.wav' })).toBe('Open the transcript of a.wav');
    expect(t('progress.chunk', { stage: 'Transcribing', done: 3, total: 1200 })).toBe('Transcribing — chunk 3 of 1,200');
    expect(t('queue.open.label')).toBe('Open the transcript of {name}');
  });

  it('chooses plural forms by count', () => {
    expect(t('queue.files', { count: 1 })).toBe('1 file');
    expect(t('queue.files', { count: 0 })).toBe('0 files');
    expect(t('queue.files', { count: 2 })).toBe('2 files');
  });

  it('follows the system language until one is chosen, and falls back to English', () => {
    catalogs['en-XA'] = pseudo();
    locale.system = ['en-XA'];
    expect(locale.current).toBe('en-XA');
    expect(t('nav.library')).toBe('⟦Library⟧');
    locale.set('en');
    expect(t('nav.library')).toBe('Library');
    locale.set('');
    expect(t('nav.library')).toBe('⟦Library⟧');
    locale.set('tlh');
    expect(locale.preference).toBe('');
    locale.system = ['tlh'];
    expect(locale.current).toBe('en');
  });

  it('matches tags by language and region', () => {
    const have = ['en', 'de', 'pt-BR', 'zh-CN'];
    expect(matchLocale(['de-AT'], have)).toBe('de');
    expect(matchLocale(['pt'], have)).toBe('pt-BR');
    expect(matchLocale(['zh-Hans-CN'], have)).toBe('zh-CN');
    expect(matchLocale(['fr', 'de'], have)).toBe('de');
    expect(matchLocale(['ja'], have)).toBe('en');
    expect(matchLocale(['pt'])).toBe('pt-BR');
    expect(matchLocale(['pt-PT'])).toBe('pt-BR');
    expect(matchLocale(['zh'])).toBe('zh-CN');
    expect(matchLocale(['zh-Hans'])).toBe('zh-CN');
    expect(matchLocale(['ja-JP'])).toBe('ja');
    expect(matchLocale(['de-CH', 'en'])).toBe('de');
    expect(matchLocale(['ru-RU'])).toBe('ru');
    expect(matchLocale(['nl', 'fr-CA'])).toBe('fr');
  });

  it('follows the system language by default', () => {
    locale.system = ['de-DE', 'en'];
    expect(locale.current).toBe('de');
    expect(t('nav.settings')).toBe('Einstellungen');
    locale.system = ['zh'];
    expect(t('nav.settings')).toBe('设置');
  });

  it('re-renders a component when the language changes, without a restart', async () => {
    catalogs['en-XA'] = pseudo();
    render(LocaleProbe);
    expect(screen.getByTestId('probe').textContent).toBe('Library · 2 files');
    locale.set('en-XA');
    flushSync();
    expect(screen.getByTestId('probe').textContent).toBe('⟦Library⟧ · ⟦2 files⟧');
  });
});

describe('Intl formatters', () => {
  it('format numbers, dates and durations for the locale', () => {
    locale.system = ['en-US'];
    expect(formatNumber(1234.5)).toBe('1,234.5');
    expect(formatDuration(45)).toBe('45 sec');
    expect(formatDuration(200)).toBe('3 min 20 sec');
    expect(formatDuration(3900)).toBe('1 hr 5 min');
    expect(formatDate(new Date(2026, 11, 2, 15, 4), { dateStyle: 'medium' })).toBe('Dec 2, 2026');
    expect(formatDate('not a date')).toBe('');
    catalogs['de'] = pseudo(); // any catalog under a German tag: Intl speaks German
    locale.set('de');
    expect(formatNumber(1234.5)).toBe('1.234,5');
    delete catalogs['de'];
  });
});

describe('the hard-coded string lint', () => {
  it('finds text, text attributes and literals that reach the page', () => {
    const found = hardCodedStrings(`
<script lang="ts">let a = 'fine in code';</script>
<p title="Hello">Plain words {x ? 'Yes' : t('ok')} {x === 'done' ? t('a') : t('b')}</p>
<input placeholder={\`Type \${n}\`} aria-label={t('ok')} class="not text" data-testid="probe" />
<img alt="A cat" src="x.png" />
{#if y}<span>{[t('a'), 'joined'].join(' ')}</span>{:else}<b>·</b> — {' '} 12 / 3{/if}
<style>p { color: red; }</style>`);
    expect(found.map((f) => `${f.line} ${f.what}: ${f.text}`)).toEqual([
      '3 title attribute: Hello',
      '3 text: Plain words',
      '3 text expression: Yes',
      '4 placeholder attribute: Type',
      '5 alt attribute: A cat',
      '6 text expression: joined',
    ]);
  });

  it('finds no hard-coded user-visible string in any component', () => {
    const files = Object.keys(components);
    expect(files).toContain('../App.svelte');
    expect(files).toContain('../lib/components/TranscriptView.svelte');
    expect(files.length).toBeGreaterThan(8);
    const found = files.flatMap((f) => hardCodedStrings(components[f], f).map((x) => `${f}:${x.line} ${x.what}: ${x.text}`));
    expect(found).toEqual([]);
  });
});
