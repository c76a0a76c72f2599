// The shape every catalog shares. en.ts is the source of the keys: a
// sibling catalog typed `Catalog` must have each of them (a missing key or
// an extra one fails `npm run check`), and a message that is plural in
// English must be plural there too.
import type { en } from './en';

/** The CLDR plural categories a language may use (Intl.PluralRules). */
export type PluralForms = Partial<Record<'zero' | 'one' | 'two' | 'few' | 'many', string>> & { other: string };

/** A message: text with {name} placeholders, or plural forms chosen by {count}. */
export type Message = string | PluralForms;

type English = typeof en;

export type MessageKey = keyof English;

export type Catalog = { readonly [K in MessageKey]: English[K] extends string ? string : PluralForms };

/** Values for a message's {name} placeholders; numbers are formatted for the locale. */
export type Params = Record<string, string | number>;

/** A part of the catalog kept in its own file (parts/<feature>/<tag>.ts),
 * typed from that part's English file the way Catalog is from en.ts. */
export type Part<T> = { readonly [K in keyof T]: T[K] extends string ? string : PluralForms };
