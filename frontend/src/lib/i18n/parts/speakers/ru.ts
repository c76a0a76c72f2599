// ru: messages for speakers (diarization): choices, chips, rename and merge; keys and {placeholders} as in ./en.ts.
import type { Part } from '../../types';
import type { speakersEn } from './en';

export const speakersRu: Part<typeof speakersEn> = {
};
