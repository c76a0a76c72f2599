// Where the window is: one view per task, and the view the transcript
// workspace was opened from (Back returns there).
export type View = 'transcribe' | 'library' | 'settings' | 'transcript';

export class NavState {
  view = $state<View>('transcribe');
  /** Where the transcript was opened from. */
  from = $state<View>('transcribe');

  go(view: View): void {
    if (view === 'transcript' && this.view !== 'transcript') this.from = this.view;
    this.view = view;
  }

  back(): void {
    this.view = this.from === 'transcript' ? 'transcribe' : this.from;
  }
}
