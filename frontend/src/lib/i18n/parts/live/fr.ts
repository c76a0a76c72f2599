// fr: messages for live transcription from the microphone; keys and {placeholders} as in ./en.ts.
import type { Part } from '../../types';
import type { liveEn } from './en';

export const liveFr: Part<typeof liveEn> = {
};
