//go:build !race

package diarize_test

const raceEnabled = false
