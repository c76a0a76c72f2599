// ru: messages for speakers (diarization): choices, chips, rename and merge; keys and {placeholders} as in ./en.ts.
import type { Part } from '../../types';
import type { speakersEn } from './en';

export const speakersRu: Part<typeof speakersEn> = {
  'speakers.choice': 'Говорящие',
  'speakers.choice.off': 'Выкл.',
  'speakers.choice.auto': 'Определить число',
  'speakers.choice.count': { one: '{count} говорящий', few: '{count} говорящих', many: '{count} говорящих', other: '{count} говорящего' },
  'speakers.choice.hint': 'Кто что сказал — для файлов, которые вы добавите с этого момента.',
  'speakers.unavailable.unknown': 'Говорящих можно будет выбрать, когда ответит сервер {server}.',
  'speakers.unavailable.none': 'На сервере {server} нет модели говорящих (например, TitaNet), поэтому говорящих определить нельзя.',
  'speakers.unavailable.notReady': 'Модель говорящих {model} на {server} не готова, поэтому говорящих пока определить нельзя.',
  'speakers.region': 'Говорящие',
  'speakers.rename': 'Переименовать',
  'speakers.rename.label': 'Переименовать: {name}',
  'speakers.rename.field': 'Новое имя для: {name}',
  'speakers.rename.empty': 'У говорящего должно быть имя.',
  'speakers.merge': 'Объединить…',
  'speakers.merge.label': 'Объединить {name} с другим говорящим',
  'speakers.merge.into': 'Объединить {name} с',
  'speakers.merge.do': 'Объединить',
  'speakers.segment.change': '{name}: сменить говорящего в сегменте {n}',
  'speakers.segment.field': 'Говорящий в сегменте {n}',
  'speakers.failed': 'Не удалось определить говорящих: {reason} Транскрипт полон и без них.',
  'speakers.find': 'Определить говорящих…',
  'speakers.find.region': 'Определить говорящих',
  'speakers.find.run': 'Определить говорящих',
  'speakers.find.busy': 'Определяем говорящих… {percent}',
};
