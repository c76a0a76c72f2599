// pt-BR: messages for speakers (diarization): choices, chips, rename and merge; keys and {placeholders} as in ./en.ts.
import type { Part } from '../../types';
import type { speakersEn } from './en';

export const speakersPtBR: Part<typeof speakersEn> = {
  'speakers.choice': 'Locutores',
  'speakers.choice.off': 'Desligado',
  'speakers.choice.auto': 'Descobrir quantos',
  'speakers.choice.count': { one: '{count} locutor', many: '{count} de locutores', other: '{count} locutores' },
  'speakers.choice.hint': 'Quem disse o quê, para os arquivos que você adicionar a partir de agora.',
  'speakers.unavailable.unknown': 'Os locutores poderão ser escolhidos quando o servidor {server} responder.',
  'speakers.unavailable.none': 'O servidor {server} não tem modelo de locutores (como o TitaNet), então não é possível identificar locutores.',
  'speakers.unavailable.notReady': 'O modelo de locutores {model} em {server} não está pronto, então ainda não é possível identificar locutores.',
  'speakers.region': 'Locutores',
  'speakers.rename': 'Renomear',
  'speakers.rename.label': 'Renomear {name}',
  'speakers.rename.field': 'Novo nome para {name}',
  'speakers.rename.empty': 'Um locutor precisa de um nome.',
  'speakers.merge': 'Juntar…',
  'speakers.merge.label': 'Juntar {name} a outro locutor',
  'speakers.merge.into': 'Juntar {name} a',
  'speakers.merge.do': 'Juntar',
  'speakers.segment.change': '{name}: trocar o locutor do segmento {n}',
  'speakers.segment.field': 'Locutor do segmento {n}',
  'speakers.failed': 'Não foi possível identificar os locutores: {reason} A transcrição está completa sem eles.',
  'speakers.find': 'Identificar locutores…',
  'speakers.find.region': 'Identificar locutores',
  'speakers.find.run': 'Identificar locutores',
  'speakers.find.busy': 'Identificando locutores… {percent}',
};
