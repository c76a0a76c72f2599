// English messages for sentences for the errors Go reports, chosen by their code.
// The source of this part's keys; the sibling files have the same keys.
export const errorsEn = {
} as const;
