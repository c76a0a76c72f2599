// The UI languages. To add one, write <tag>.ts beside en.ts exporting a
// `Catalog` with every key, and list it here; the catalog test checks that
// every file in this folder named like a language tag is listed.
import type { Catalog } from './types';
import { en } from './en';
import { de } from './de';
import { fr } from './fr';
import { es } from './es';
import { ptBR } from './pt-BR';
import { ja } from './ja';
import { zhCN } from './zh-CN';
import { ru } from './ru';

export const catalogs: Record<string, Catalog> = {
  en,
  de,
  fr,
  es,
  'pt-BR': ptBR,
  ja,
  'zh-CN': zhCN,
  ru,
};

/** The language tags the UI speaks, English first. */
export function locales(): string[] {
  return Object.keys(catalogs);
}

export const fallbackLocale = 'en';
