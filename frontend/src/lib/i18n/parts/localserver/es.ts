// es: messages for Settings → Local server: the Triton server the app runs in Docker; keys and {placeholders} as in ./en.ts.
import type { Part } from '../../types';
import type { localserverEn } from './en';

export const localserverEs: Part<typeof localserverEn> = {
};
