// es: messages for speakers (diarization): choices, chips, rename and merge; keys and {placeholders} as in ./en.ts.
import type { Part } from '../../types';
import type { speakersEn } from './en';

export const speakersEs: Part<typeof speakersEn> = {
  'speakers.choice': 'Hablantes',
  'speakers.choice.off': 'Desactivado',
  'speakers.choice.auto': 'Detectar cuántos',
  'speakers.choice.count': { one: '{count} hablante', many: '{count} de hablantes', other: '{count} hablantes' },
  'speakers.choice.hint': 'Quién dijo qué, para los archivos que añada a partir de ahora.',
  'speakers.unavailable.unknown': 'Podrá elegir hablantes cuando responda el servidor {server}.',
  'speakers.unavailable.none': 'El servidor {server} no tiene modelo de hablantes (como TitaNet), así que no se pueden detectar hablantes.',
  'speakers.unavailable.notReady': 'El modelo de hablantes {model} en {server} no está listo, así que aún no se pueden detectar hablantes.',
  'speakers.region': 'Hablantes',
  'speakers.rename': 'Renombrar',
  'speakers.rename.label': 'Renombrar a {name}',
  'speakers.rename.field': 'Nuevo nombre para {name}',
  'speakers.rename.empty': 'Un hablante necesita un nombre.',
  'speakers.merge': 'Unir…',
  'speakers.merge.label': 'Unir a {name} con otro hablante',
  'speakers.merge.into': 'Unir a {name} con',
  'speakers.merge.do': 'Unir',
  'speakers.segment.change': '{name}: cambiar el hablante del segmento {n}',
  'speakers.segment.field': 'Hablante del segmento {n}',
  'speakers.failed': 'No se pudieron detectar los hablantes: {reason} La transcripción está completa sin ellos.',
  'speakers.find': 'Detectar hablantes…',
  'speakers.find.region': 'Detectar hablantes',
  'speakers.find.run': 'Detectar hablantes',
  'speakers.find.busy': 'Detectando hablantes… {percent}',
};
