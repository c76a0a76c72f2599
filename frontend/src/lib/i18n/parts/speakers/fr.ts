// fr: messages for speakers (diarization): choices, chips, rename and merge; keys and {placeholders} as in ./en.ts.
import type { Part } from '../../types';
import type { speakersEn } from './en';

export const speakersFr: Part<typeof speakersEn> = {
  'speakers.choice': 'Locuteurs',
  'speakers.choice.off': 'Désactivé',
  'speakers.choice.auto': 'Trouver le nombre',
  'speakers.choice.count': { one: '{count} locuteur', many: '{count} de locuteurs', other: '{count} locuteurs' },
  'speakers.choice.hint': 'Qui a dit quoi, pour les fichiers que vous ajoutez désormais.',
  'speakers.unavailable.unknown': 'Les locuteurs pourront être choisis dès que le serveur {server} répondra.',
  'speakers.unavailable.none': "Le serveur {server} n'a pas de modèle de locuteurs (comme TitaNet) : impossible de trouver les locuteurs.",
  'speakers.unavailable.notReady': "Le modèle de locuteurs {model} sur {server} n'est pas prêt : impossible de trouver les locuteurs pour l'instant.",
  'speakers.region': 'Locuteurs',
  'speakers.rename': 'Renommer',
  'speakers.rename.label': 'Renommer {name}',
  'speakers.rename.field': 'Nouveau nom pour {name}',
  'speakers.rename.empty': 'Un locuteur a besoin d’un nom.',
  'speakers.merge': 'Fusionner…',
  'speakers.merge.label': 'Fusionner {name} avec un autre locuteur',
  'speakers.merge.into': 'Fusionner {name} avec',
  'speakers.merge.do': 'Fusionner',
  'speakers.segment.change': '{name} : changer le locuteur du segment {n}',
  'speakers.segment.field': 'Locuteur du segment {n}',
  'speakers.failed': "Les locuteurs n'ont pas pu être trouvés : {reason} La transcription est complète sans eux.",
  'speakers.find': 'Trouver les locuteurs…',
  'speakers.find.region': 'Trouver les locuteurs',
  'speakers.find.run': 'Trouver les locuteurs',
  'speakers.find.busy': 'Recherche des locuteurs… {percent}',
};
