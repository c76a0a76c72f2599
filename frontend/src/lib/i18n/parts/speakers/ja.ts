// ja: messages for speakers (diarization): choices, chips, rename and merge; keys and {placeholders} as in ./en.ts.
import type { Part } from '../../types';
import type { speakersEn } from './en';

export const speakersJa: Part<typeof speakersEn> = {
  'speakers.choice': '話者',
  'speakers.choice.off': 'オフ',
  'speakers.choice.auto': '人数を自動判定',
  'speakers.choice.count': { other: '話者 {count} 人' },
  'speakers.choice.hint': '誰が何を話したかを、これから追加するファイルで判定します。',
  'speakers.unavailable.unknown': '{server} のサーバーが応答すると、話者を選べるようになります。',
  'speakers.unavailable.none': '{server} のサーバーには話者モデル（TitaNet など）がないため、話者を判定できません。',
  'speakers.unavailable.notReady': '{server} の話者モデル {model} が準備できていないため、まだ話者を判定できません。',
  'speakers.region': '話者',
  'speakers.rename': '名前を変更',
  'speakers.rename.label': '{name} の名前を変更',
  'speakers.rename.field': '{name} の新しい名前',
  'speakers.rename.empty': '話者には名前が必要です。',
  'speakers.merge': '統合…',
  'speakers.merge.label': '{name} を別の話者に統合',
  'speakers.merge.into': '{name} の統合先',
  'speakers.merge.do': '統合',
  'speakers.segment.change': '{name}：セグメント {n} の話者を変更',
  'speakers.segment.field': 'セグメント {n} の話者',
  'speakers.failed': '話者を判定できませんでした：{reason} 文字起こしは話者なしで完成しています。',
  'speakers.find': '話者を判定…',
  'speakers.find.region': '話者を判定',
  'speakers.find.run': '話者を判定',
  'speakers.find.busy': '話者を判定しています… {percent}',
};
