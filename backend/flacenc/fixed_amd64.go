package flacenc

import "golang.org/x/sys/cpu"

// useAVX2 picks the vector sums of bestFixedOrder: five orders' absolute
// residuals eight samples at a time, where the scalar loop took about a
// fifth of the encoder's time.
var useAVX2 = cpu.X86.HasAVX2

// fixedAbsSumsAVX2 is in fixed_amd64.s.
//
//go:noescape
func fixedAbsSumsAVX2(x *int16, groups int, acc *[40]uint32)

// fixedAbsSumsVector adds to sum the absolute residuals of orders 0 to 4
// at samples maxOrder .. maxOrder+8*g of block, for the largest g its
// length allows, and returns the first sample it left to the caller.
func fixedAbsSumsVector(block []int16, sum *[maxOrder + 1]uint64) int {
	// Each lane adds at most 512 values below 2^19 (|fourth difference|
	// <= 16*32768) per call, far from overflowing 32 bits.
	const perCall = 512
	i := maxOrder
	if !useAVX2 {
		return i
	}
	var acc [40]uint32
	for {
		g := min((len(block)-i)/8, perCall)
		if g <= 0 {
			return i
		}
		fixedAbsSumsAVX2(&block[i-maxOrder], g, &acc)
		for k := range maxOrder + 1 {
			for _, v := range acc[8*k : 8*k+8] {
				sum[k] += uint64(v)
			}
		}
		i += 8 * g
	}
}
