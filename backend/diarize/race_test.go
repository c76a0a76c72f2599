//go:build race

package diarize_test

// raceEnabled trims the accuracy tables under the race detector, which
// slows gonum's eigen solver twentyfold; the concurrent code still runs.
const raceEnabled = true
