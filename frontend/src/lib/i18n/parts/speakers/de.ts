// de: messages for speakers (diarization): choices, chips, rename and merge; keys and {placeholders} as in ./en.ts.
import type { Part } from '../../types';
import type { speakersEn } from './en';

export const speakersDe: Part<typeof speakersEn> = {
  'speakers.choice': 'Sprecher',
  'speakers.choice.off': 'Aus',
  'speakers.choice.auto': 'Anzahl erkennen',
  'speakers.choice.count': { one: '{count} Sprecher', other: '{count} Sprecher' },
  'speakers.choice.hint': 'Wer was gesagt hat, für die Dateien, die Sie ab jetzt hinzufügen.',
  'speakers.unavailable.unknown': 'Sprecher sind wählbar, sobald der Server unter {server} antwortet.',
  'speakers.unavailable.none': 'Der Server unter {server} hat kein Sprechermodell (etwa TitaNet), daher können keine Sprecher erkannt werden.',
  'speakers.unavailable.notReady': 'Das Sprechermodell {model} auf {server} ist nicht bereit, daher können noch keine Sprecher erkannt werden.',
  'speakers.region': 'Sprecher',
  'speakers.rename': 'Umbenennen',
  'speakers.rename.label': '{name} umbenennen',
  'speakers.rename.field': 'Neuer Name für {name}',
  'speakers.rename.empty': 'Ein Sprecher braucht einen Namen.',
  'speakers.merge': 'Zusammenführen…',
  'speakers.merge.label': '{name} mit einem anderen Sprecher zusammenführen',
  'speakers.merge.into': '{name} zusammenführen mit',
  'speakers.merge.do': 'Zusammenführen',
  'speakers.segment.change': '{name}: Sprecher von Segment {n} ändern',
  'speakers.segment.field': 'Sprecher von Segment {n}',
  'speakers.failed': 'Die Sprecher konnten nicht erkannt werden: {reason} Das Transkript ist auch ohne sie vollständig.',
  'speakers.find': 'Sprecher erkennen…',
  'speakers.find.region': 'Sprecher erkennen',
  'speakers.find.run': 'Sprecher erkennen',
  'speakers.find.busy': 'Sprecher werden erkannt… {percent}',
};
