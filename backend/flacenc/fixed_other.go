//go:build !amd64

package flacenc

// useAVX2 is never true here; it exists for the tests that switch it.
var useAVX2 = false

// fixedAbsSumsVector has no vector form here: the scalar loop does it all.
func fixedAbsSumsVector(block []int16, sum *[maxOrder + 1]uint64) int { return maxOrder }
