//go:build !amd64

package audio

const useAVX2 = false

// dot is the inner product of two equally long vectors.
func dot(x, h []float32) float32 { return dotGo(x, h) }
