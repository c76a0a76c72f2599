// English messages for live transcription from the microphone.
// The source of this part's keys; the sibling files have the same keys.
export const liveEn = {
} as const;
