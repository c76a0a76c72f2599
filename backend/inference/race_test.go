//go:build race

package inference

// The race detector slows copying a 30 s chunk tenfold: the throughput
// check would measure the detector.
func init() { raceEnabled = true }
