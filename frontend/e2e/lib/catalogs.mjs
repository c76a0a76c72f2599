// The app's message catalogs (frontend/src/lib/i18n/<tag>.ts), read by the
// end-to-end tests so they find things by the label a person sees in the
// language the UI speaks. The TypeScript is transpiled in memory (the
// catalogs are plain object literals); t() picks plural forms and fills
// placeholders as the app's own t() does.
import fs from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const ts = require('typescript');
const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/lib/i18n');

/** @typedef {Record<string, string | Record<string, string>>} Catalog */

/** @type {Map<string, Catalog>} */
const cache = new Map();

/**
 * The catalog for a language tag ('en', 'de', 'ja', …).
 * @param {string} tag
 * @returns {Promise<Catalog>}
 */
export async function loadCatalog(tag) {
  const hit = cache.get(tag);
  if (hit) return hit;
  const mod = await import(await moduleURL(path.join(dir, `${tag}.ts`)));
  const cat = /** @type {Catalog} */ (Object.values(mod).find((v) => v && typeof v === 'object' && 'language.name' in v));
  if (!cat) throw new Error(`${tag}.ts exports no catalog`);
  cache.set(tag, cat);
  return cat;
}

/**
 * A TypeScript module as a data: URL, its relative imports (the catalog
 * parts, parts/<feature>/<tag>.ts) turned into data: URLs in turn: a data:
 * URL has no folder to resolve them against.
 * @param {string} file
 * @returns {Promise<string>}
 */
async function moduleURL(file) {
  const source = await fs.readFile(file, 'utf8');
  let js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  for (const [whole, quote, spec] of [...js.matchAll(/from\s+(['"])(\.{1,2}\/[^'"]+)\1/g)]) {
    const dep = path.resolve(path.dirname(file), spec.endsWith('.ts') ? spec : `${spec}.ts`);
    js = js.replace(whole, `from ${quote}${await moduleURL(dep)}${quote}`);
  }
  return `data:text/javascript;base64,${Buffer.from(js).toString('base64')}`;
}

/**
 * A t(key, params) for one language, as the app's (English where the
 * catalog lacks a key, which the unit tests forbid anyway).
 * @param {string} tag
 * @returns {Promise<T>}
 */
export async function translator(tag) {
  const cat = await loadCatalog(tag);
  const en = await loadCatalog('en');
  const plural = new Intl.PluralRules(tag);
  const number = new Intl.NumberFormat(tag);
  /** @type {T} */
  const t = (key, params) => {
    const msg = cat[key] ?? en[key];
    if (msg === undefined) throw new Error(`no message ${key}`);
    let text = msg;
    if (typeof msg === 'object') {
      const n = Number(params?.count ?? 0);
      text = (n === 0 && msg.zero) || msg[plural.select(n)] || msg.other;
    }
    return String(text).replace(/\{(\w+)\}/g, (whole, name) => {
      const v = params?.[name];
      if (v === undefined) return whole;
      return typeof v === 'number' ? number.format(v) : String(v);
    });
  };
  t.tag = tag;
  t.catalog = cat;
  return t;
}

/** @typedef {((key: string, params?: Record<string, string | number>) => string) & { tag?: string, catalog?: Catalog }} T */

/** A regular expression that matches text exactly. */
export function exactly(...texts) {
  return new RegExp(`^(${texts.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`);
}

/**
 * Every English UI string that the language says differently, as a
 * pattern over a whole text ({placeholders} match anything): what must not
 * show on a view in that language.
 * @param {string} tag
 * @returns {Promise<{ key: string, english: string, re: RegExp }[]>}
 */
export async function englishOnly(tag) {
  const en = await loadCatalog('en');
  const cat = await loadCatalog(tag);
  const out = [];
  for (const [key, msg] of Object.entries(en)) {
    const forms = typeof msg === 'string' ? [msg] : Object.values(msg);
    const theirs = new Set(typeof cat[key] === 'string' ? [cat[key]] : Object.values(cat[key] ?? {}));
    for (const english of forms) {
      if (theirs.has(english) || !/\p{L}{2}/u.test(english.replace(/\{\w+\}/g, ''))) continue;
      const re = new RegExp(`^${english.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\{\w+\\\}/g, '.+')}$`);
      out.push({ key, english, re });
    }
  }
  return out;
}
