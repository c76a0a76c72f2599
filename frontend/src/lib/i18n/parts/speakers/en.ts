// English messages for speakers (diarization): choices, chips, rename and merge.
// The source of this part's keys; the sibling files have the same keys.
export const speakersEn = {
  // The choice beside the drop zone (and in "Find speakers…").
  'speakers.choice': 'Speakers',
  'speakers.choice.off': 'Off',
  'speakers.choice.auto': 'Find how many',
  'speakers.choice.count': { one: '{count} speaker', other: '{count} speakers' },
  'speakers.choice.hint': 'Who said what, for the files you add from now on.',
  'speakers.unavailable.unknown': 'Speakers can be chosen once the server at {server} answers.',
  'speakers.unavailable.none': 'The server at {server} has no speaker model (such as TitaNet), so speakers cannot be found.',
  'speakers.unavailable.notReady': 'The speaker model {model} on {server} is not ready, so speakers cannot be found yet.',
  // The transcript's speakers.
  'speakers.region': 'Speakers',
  'speakers.rename': 'Rename',
  'speakers.rename.label': 'Rename {name}',
  'speakers.rename.field': 'New name for {name}',
  'speakers.rename.empty': 'A speaker needs a name.',
  'speakers.merge': 'Merge…',
  'speakers.merge.label': 'Merge {name} into another speaker',
  'speakers.merge.into': 'Merge {name} into',
  'speakers.merge.do': 'Merge',
  'speakers.segment.change': '{name}: change the speaker of segment {n}',
  'speakers.segment.field': 'Speaker of segment {n}',
  'speakers.failed': 'The speakers could not be found: {reason} The transcript is complete without them.',
  // Finding the speakers of a finished transcript.
  'speakers.find': 'Find speakers…',
  'speakers.find.region': 'Find speakers',
  'speakers.find.run': 'Find speakers',
  'speakers.find.busy': 'Finding speakers… {percent}',
} as const;
