// English messages for speakers (diarization): choices, chips, rename and merge.
// The source of this part's keys; the sibling files have the same keys.
export const speakersEn = {
} as const;
