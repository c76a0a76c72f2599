// zh-CN: messages for sentences for the errors Go reports, chosen by their code; keys and {placeholders} as in ./en.ts.
import type { Part } from '../../types';
import type { errorsEn } from './en';

export const errorsZhCN: Part<typeof errorsEn> = {
};
