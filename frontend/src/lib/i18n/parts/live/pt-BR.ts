// pt-BR: messages for live transcription from the microphone; keys and {placeholders} as in ./en.ts.
import type { Part } from '../../types';
import type { liveEn } from './en';

export const livePtBR: Part<typeof liveEn> = {
};
