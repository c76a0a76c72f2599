// The UI languages. To add one, write <tag>.ts beside en.ts exporting a
// `Catalog` with every key, and list it here; the catalog test checks that
// every file in this folder named like a language tag is listed.
import type { Catalog } from './types';
import { en } from './en';

export const catalogs: Record<string, Catalog> = {
  en,
};

/** The language tags the UI speaks, English first. */
export function locales(): string[] {
  return Object.keys(catalogs);
}

export const fallbackLocale = 'en';
