//go:build !amd64

package inference

import "unsafe"

// useAVX2 is never true here; it exists for the tests that switch it.
var useAVX2 = false

// pcm16Vector has no vector form here: the scalar loop does it all.
func pcm16Vector(dst unsafe.Pointer, src []float32) int { return 0 }
