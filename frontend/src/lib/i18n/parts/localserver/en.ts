// English messages for Settings → Local server: the Triton server the app runs in Docker.
// The source of this part's keys; the sibling files have the same keys.
export const localserverEn = {
} as const;
