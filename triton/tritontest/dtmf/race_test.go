//go:build race

package dtmf

// The race detector slows Detect about fivefold (more on a loaded
// machine): TestDetectSpeed would measure the detector, not Detect.
func init() { raceEnabled = true }
