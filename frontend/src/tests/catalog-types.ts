// Type-level checks, run by `npm run check` (svelte-check): a catalog
// missing a key, with an extra key, or with a plural message as plain text
// is not a Catalog. Each line below must be an error; if one stopped
// being one, @ts-expect-error would fail the check.
import type { Catalog } from '../lib/i18n/types';
import { en } from '../lib/i18n/en';

const missing = en as Omit<typeof en, 'nav.library'>;
// @ts-expect-error a catalog missing a key
export const missingKey: Catalog = missing;

// @ts-expect-error a catalog with a key English does not have
export const extraKey: Catalog = { ...en, 'nav.elsewhere': 'Elsewhere' };

// @ts-expect-error a plural message written as one string
export const flatPlural: Catalog = { ...en, 'queue.files': '{count} files' };

export const complete: Catalog = { ...en };
