package config

import "strconv"

// MaxSpeakers is the largest speaker count the Speakers setting asks for.
const MaxSpeakers = 32

// SpeakerCount reads the Speakers setting: on is false when it is off;
// count is 0 for auto, else the count asked for.
func SpeakerCount(setting string) (count int, on bool) {
	switch setting {
	case "":
		return 0, false
	case "auto":
		return 0, true
	}
	n, err := strconv.Atoi(setting)
	if err != nil || n < 2 || n > MaxSpeakers {
		return 0, false
	}
	return n, true
}

func validSpeakers(setting string) bool {
	_, on := SpeakerCount(setting)
	return on || setting == ""
}

// SetSpeakers saves the Speakers choice alone ("" = off, "auto" or a
// count) and returns the settings saved, or those kept and why not.
func (f *File) SetSpeakers(choice string) (Settings, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.cur
	s.Speakers = choice
	return f.save(s)
}
