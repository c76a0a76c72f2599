// zh-CN: messages for speakers (diarization): choices, chips, rename and merge; keys and {placeholders} as in ./en.ts.
import type { Part } from '../../types';
import type { speakersEn } from './en';

export const speakersZhCN: Part<typeof speakersEn> = {
  'speakers.choice': '说话人',
  'speakers.choice.off': '关闭',
  'speakers.choice.auto': '自动判断人数',
  'speakers.choice.count': { other: '{count} 位说话人' },
  'speakers.choice.hint': '为今后添加的文件区分谁说了什么。',
  'speakers.unavailable.unknown': '{server} 上的服务器应答后即可选择说话人。',
  'speakers.unavailable.none': '{server} 上的服务器没有说话人模型（如 TitaNet），因此无法区分说话人。',
  'speakers.unavailable.notReady': '{server} 上的说话人模型 {model} 尚未就绪，因此暂时无法区分说话人。',
  'speakers.region': '说话人',
  'speakers.rename': '重命名',
  'speakers.rename.label': '重命名 {name}',
  'speakers.rename.field': '{name} 的新名称',
  'speakers.rename.empty': '说话人需要一个名称。',
  'speakers.merge': '合并…',
  'speakers.merge.label': '将 {name} 合并到另一位说话人',
  'speakers.merge.into': '将 {name} 合并到',
  'speakers.merge.do': '合并',
  'speakers.segment.change': '{name}：更改第 {n} 段的说话人',
  'speakers.segment.field': '第 {n} 段的说话人',
  'speakers.failed': '无法区分说话人：{reason} 转写内容不含说话人，但已完整。',
  'speakers.find': '区分说话人…',
  'speakers.find.region': '区分说话人',
  'speakers.find.run': '区分说话人',
  'speakers.find.busy': '正在区分说话人… {percent}',
};
