// Package flacenc writes 16-bit mono PCM as one FLAC stream (RFC 9639):
// a STREAMINFO block and fixed-blocksize frames, each subframe the smallest
// of constant, verbatim and the fixed linear predictors of order 0 to 4,
// their residual Rice-coded with a search over partition orders. It is
// small on purpose: no LPC, no stereo decorrelation, no seek table. Every
// frame carries its CRC-8 and CRC-16, so any FLAC decoder can check what it
// decodes; the stream's MD5 is left unset (zero), as RFC 9639 allows.
package flacenc

import (
	"encoding/binary"
	"math/bits"

	"github.com/nemo-transcribe/nemo-transcribe/backend/internal/flaccrc"
)

const (
	// BlockSize is the number of samples per frame (the last may be
	// shorter): 256 ms at 16 kHz.
	BlockSize = 4096
	bps       = 16
	maxOrder  = 4
	// maxPartitionOrder bounds the Rice partition search: at BlockSize,
	// 16 samples per partition.
	maxPartitionOrder = 8
)

// Encode returns one FLAC stream of mono 16-bit samples at sampleRate Hz
// (1 to 655350; 16000 is written as its own frame code).
func Encode(samples []int16, sampleRate int) []byte {
	// Room for the worst case (every frame verbatim: a header of at most
	// 16 bytes, the samples, the CRC), so the stream is never copied as
	// it grows.
	frames := (len(samples) + BlockSize - 1) / BlockSize
	out := make([]byte, 0, 42+2*len(samples)+frames*(16+1+2)+4*riceBlock+8)
	out = append(out, 'f', 'L', 'a', 'C')
	// Metadata block header: last block, type 0 (STREAMINFO), 34 bytes.
	out = append(out, 0x80, 0, 0, 34)
	info := len(out)
	out = append(out, make([]byte, 34)...)

	var w bitWriter
	enc := encoder{res: make([]int32, BlockSize)}
	minFrame, maxFrame := 0, 0
	for start, num := 0, uint64(0); start < len(samples); start, num = start+BlockSize, num+1 {
		block := samples[start:min(start+BlockSize, len(samples))]
		before := len(out)
		out = enc.frame(&w, out, block, num, sampleRate)
		size := len(out) - before
		if minFrame == 0 || size < minFrame {
			minFrame = size
		}
		maxFrame = max(maxFrame, size)
	}

	// STREAMINFO (RFC 9639 section 8.2).
	si := out[info : info+34]
	minBlock, maxBlock := BlockSize, BlockSize
	if len(samples) < BlockSize {
		minBlock, maxBlock = max(len(samples), 16), max(len(samples), 16)
	}
	binary.BigEndian.PutUint16(si[0:], uint16(minBlock))
	binary.BigEndian.PutUint16(si[2:], uint16(maxBlock))
	put24(si[4:], minFrame)
	put24(si[7:], maxFrame)
	// 20 bits sample rate, 3 bits channels-1, 5 bits bps-1, 36 bits total.
	v := uint64(sampleRate)<<44 | uint64(0)<<41 | uint64(bps-1)<<36 | uint64(len(samples))&(1<<36-1)
	binary.BigEndian.PutUint64(si[10:], v)
	// The MD5 (si[18:34]) stays zero, which RFC 9639 section 8.2 defines
	// as "not known": every frame already carries its CRC-16, and hashing
	// the samples cost a fifth of the encoder's time (bench/engine hour).
	return out
}

func put24(b []byte, v int) {
	b[0], b[1], b[2] = byte(v>>16), byte(v>>8), byte(v)
}

type encoder struct {
	res []int32 // the residual of the block being written
}

// frame appends one frame holding block to out.
func (e *encoder) frame(w *bitWriter, out []byte, block []int16, num uint64, sampleRate int) []byte {
	start := len(out)
	n := len(block)
	// Header (section 9.1): sync code 0b11111111111110, reserved 0,
	// fixed blocksize strategy 0.
	out = append(out, 0xFF, 0xF8)
	bsCode := blockSizeCode(n)
	srCode := byte(0) // from STREAMINFO
	if sampleRate == 16000 {
		srCode = 5
	}
	out = append(out, bsCode<<4|srCode)
	// Channels: 0 = mono; sample size 0b100 = 16 bits; reserved 0.
	out = append(out, 0<<4|4<<1)
	out = appendCodedNumber(out, num)
	if bsCode == 7 {
		out = binary.BigEndian.AppendUint16(out, uint16(n-1))
	}
	out = append(out, flaccrc.CRC8(out[start:]))

	w.reset(out)
	e.subframe(w, block)
	out = w.flush()
	return binary.BigEndian.AppendUint16(out, flaccrc.CRC16(out[start:]))
}

// blockSizeCode is the frame header's code for n samples (RFC 9639
// section 9.1.1): 192, 576·2^k and 256·2^k have their own; any other
// size is code 7, its n-1 following the coded number in 16 bits.
func blockSizeCode(n int) byte {
	if n == 192 {
		return 1
	}
	for k := range 4 {
		if n == 576<<k {
			return byte(2 + k)
		}
	}
	for k := range 8 {
		if n == 256<<k {
			return byte(8 + k)
		}
	}
	return 7
}

// appendCodedNumber writes v in FLAC's UTF-8-like coding (up to 36 bits).
func appendCodedNumber(out []byte, v uint64) []byte {
	if v < 0x80 {
		return append(out, byte(v))
	}
	// Number of continuation bytes: each carries 6 bits.
	nb := 1
	for v >= 1<<(5*nb+6) && nb < 6 {
		nb++
	}
	lead := byte(0xFF<<(7-nb)) | byte(v>>(6*nb))
	out = append(out, lead)
	for i := nb - 1; i >= 0; i-- {
		out = append(out, 0x80|byte(v>>(6*i))&0x3F)
	}
	return out
}

// subframe writes the smallest coding of block.
func (e *encoder) subframe(w *bitWriter, block []int16) {
	n := len(block)
	constant := true
	for _, s := range block[1:] {
		if s != block[0] {
			constant = false
			break
		}
	}
	if constant {
		w.write(0, 1)
		w.write(0, 6) // SUBFRAME_CONSTANT
		w.write(0, 1) // no wasted bits
		w.write(uint64(uint16(block[0])), bps)
		return
	}
	verbatim := 8 + n*bps
	// The fixed predictor whose residual is smallest in absolute sum, as
	// libFLAC estimates it (one pass over the block), then the Rice
	// coding of that one residual.
	order := bestFixedOrder(block)
	res := residual(e.res[:n-order], block, order)
	p := planRice(res, n, order)
	if 8+order*bps+p.bits >= verbatim {
		w.write(0, 1)
		w.write(1, 6) // SUBFRAME_VERBATIM
		w.write(0, 1)
		for _, s := range block {
			w.write(uint64(uint16(s)), bps)
		}
		return
	}
	w.write(0, 1)
	w.write(uint64(8|order), 6) // SUBFRAME_FIXED, order
	w.write(0, 1)
	for _, s := range block[:order] {
		w.write(uint64(uint16(s)), bps)
	}
	writeRice(w, res, n, order, p)
}

// bestFixedOrder is the order (0 to 4) of the fixed predictor with the
// smallest sum of absolute residuals over block.
func bestFixedOrder(block []int16) int {
	if len(block) <= maxOrder {
		return 0
	}
	sum := fixedAbsSums(block)
	best := 0
	for k := 1; k <= maxOrder; k++ {
		if sum[k] < sum[best] {
			best = k
		}
	}
	return best
}

// fixedAbsSums is, for each order 0 to 4, the sum of the absolute
// residuals of the fixed predictor over block[maxOrder:] (block holds more
// than maxOrder samples).
func fixedAbsSums(block []int16) [maxOrder + 1]uint64 {
	n := len(block)
	var sum [maxOrder + 1]uint64
	// Eight samples at a time where the CPU can (fixed_amd64.s), then one
	// at a time from where that stopped.
	start := fixedAbsSumsVector(block, &sum)
	x := func(i int) int32 { return int32(block[i]) }
	// Differences of the samples before start, carried along: d1 = x - x',
	// etc.
	p1 := x(start-1) - x(start-2)
	p2 := p1 - (x(start-2) - x(start-3))
	p3 := p2 - ((x(start-2) - x(start-3)) - (x(start-3) - x(start-4)))
	prev := x(start - 1)
	for i := start; i < n; i++ {
		e0 := x(i)
		e1 := e0 - prev
		e2 := e1 - p1
		e3 := e2 - p2
		e4 := e3 - p3
		sum[0] += uint64(abs(e0))
		sum[1] += uint64(abs(e1))
		sum[2] += uint64(abs(e2))
		sum[3] += uint64(abs(e3))
		sum[4] += uint64(abs(e4))
		prev, p1, p2, p3 = e0, e1, e2, e3
	}
	return sum
}

// abs is |v| without a branch (a sign test per residual per order
// mispredicts on audio, whose signs are random).
func abs(v int32) uint32 {
	m := v >> 31
	return uint32((v ^ m) - m)
}

// residual fills dst with block's residual after the fixed predictor of
// order (RFC 9639 section 9.2.5): dst[i] is the error of sample order+i.
func residual(dst []int32, block []int16, order int) []int32 {
	x := block
	switch order {
	case 0:
		for i := range dst {
			dst[i] = int32(x[i])
		}
	case 1:
		for i := range dst {
			j := i + 1
			dst[i] = int32(x[j]) - int32(x[j-1])
		}
	case 2:
		for i := range dst {
			j := i + 2
			dst[i] = int32(x[j]) - 2*int32(x[j-1]) + int32(x[j-2])
		}
	case 3:
		for i := range dst {
			j := i + 3
			dst[i] = int32(x[j]) - 3*int32(x[j-1]) + 3*int32(x[j-2]) - int32(x[j-3])
		}
	case 4:
		for i := range dst {
			j := i + 4
			dst[i] = int32(x[j]) - 4*int32(x[j-1]) + 6*int32(x[j-2]) - 4*int32(x[j-3]) + int32(x[j-4])
		}
	}
	return dst
}

// plan is how a residual is Rice-coded: partition order, one parameter
// per partition, and the total bits of the residual section.
type plan struct {
	porder int
	method int // 0: 4-bit parameters, 1: 5-bit
	params [1 << maxPartitionOrder]uint8
	bits   int
}

func zigzag(r int32) uint64 { return uint64(uint32(r<<1) ^ uint32(r>>31)) }

// bestParam is the Rice parameter (at most maxK) that codes count values
// summing to sum in the fewest bits, by the estimate count*(k+1) +
// sum>>k, with that cost. The best k is near log2 of the mean, so only
// the neighbours of that are tried.
func bestParam(sum uint64, count int, maxK int) (k int, cost int) {
	if count <= 0 {
		return 0, 0
	}
	// All partitions but a block's first hold a power of two of values,
	// whose mean is a shift: a block plans up to 511 partitions, and a
	// 64-bit division for each was a tenth of the encoder's time.
	var mean uint64
	if count&(count-1) == 0 {
		mean = sum >> uint(bits.TrailingZeros(uint(count)))
	} else {
		mean = sum / uint64(count)
	}
	guess := bits.Len64(mean)
	cost = -1
	for kk := max(guess-2, 0); kk <= min(guess+1, maxK); kk++ {
		c := count*(kk+1) + int(sum>>uint(kk))
		if cost < 0 || c < cost {
			k, cost = kk, c
		}
	}
	return k, cost
}

// planRice chooses the partition order and parameters for res, the
// residual of a block of n samples after order warm-up samples.
func planRice(res []int32, n, order int) plan {
	// Sums at the finest usable partition order, merged pairwise upward.
	maxP := 0
	for p := 1; p <= maxPartitionOrder; p++ {
		if n%(1<<p) != 0 || n>>p <= order {
			break
		}
		maxP = p
	}
	var sums [1 << maxPartitionOrder]uint64
	parts := 1 << maxP
	size := n >> maxP
	// One partition at a time, its sum in a register: adding each value
	// to sums[i/size] in memory chains every add through the previous
	// one's store (BenchmarkEncode: about 185 against 179 µs).
	lo := 0
	for j := range parts {
		hi := (j+1)*size - order
		var sum uint64
		for _, r := range res[lo:hi] {
			sum += zigzag(r)
		}
		sums[j] = sum
		lo = hi
	}
	best := plan{bits: -1}
	for p := maxP; p >= 0; p-- {
		parts = 1 << p
		size = n >> p
		for method := 0; method <= 1; method++ {
			maxK, pbits := 14, 4
			if method == 1 {
				maxK, pbits = 30, 5
			}
			cand := plan{porder: p, method: method, bits: 2 + 4}
			capped := false // a parameter wanted more than maxK
			for j := range parts {
				count := size
				if j == 0 {
					count -= order
				}
				k, c := bestParam(sums[j], count, maxK)
				cand.params[j] = uint8(k)
				cand.bits += pbits + c
				capped = capped || k == maxK
			}
			if best.bits < 0 || cand.bits < best.bits {
				best = cand
			}
			if !capped {
				break // 5-bit parameters would only cost a bit each
			}
		}
		if p > 0 {
			for j := range parts / 2 {
				sums[j] = sums[2*j] + sums[2*j+1]
			}
		}
	}
	return best
}

// writeRice writes the residual section as p plans.
func writeRice(w *bitWriter, res []int32, n, order int, p plan) {
	w.write(uint64(p.method), 2)
	w.write(uint64(p.porder), 4)
	pbits := uint(4 + p.method)
	size := n >> p.porder
	i := 0
	for j := range 1 << p.porder {
		count := size
		if j == 0 {
			count -= order
		}
		k := uint(p.params[j])
		w.write(uint64(k), pbits)
		w.riceAll(res[i:i+count], k)
		i += count
	}
}

// bitWriter appends bits most significant first to a byte slice.
type bitWriter struct {
	out   []byte
	cache uint64 // pending bits are the low n bits
	n     uint
}

func (w *bitWriter) reset(out []byte) { w.out, w.cache, w.n = out, 0, 0 }

// write appends the low k bits of v (k <= 32). When they do not fit, the
// 32 oldest pending bits go out first as one word, not byte by byte.
func (w *bitWriter) write(v uint64, k uint) {
	if w.n+k > 64 {
		w.n -= 32
		w.out = binary.BigEndian.AppendUint32(w.out, uint32(w.cache>>w.n))
	}
	w.cache = w.cache<<k | v&(1<<k-1)
	w.n += k
}

// spill moves the whole bytes of the cache to out.
func (w *bitWriter) spill() {
	for w.n >= 8 {
		w.n -= 8
		w.out = append(w.out, byte(w.cache>>w.n))
	}
}

// rice appends u as q = u>>k zero bits, a one, and u's low k bits.
func (w *bitWriter) rice(u uint64, k uint) {
	q := u >> k
	if q+1+uint64(k) <= 32 {
		w.write(1<<k|u&(1<<k-1), uint(q)+1+k)
		return
	}
	for q >= 32 {
		w.write(0, 32)
		q -= 32
	}
	w.write(1, uint(q)+1)
	w.write(u&(1<<k-1), k)
}

// riceAll is rice for each of res zigzagged, in runs of up to riceBlock
// values written by riceRun, a loop with no call in it: with the calls of
// the rare cases (a code over 32 bits, a full buffer) inside, the compiler
// kept the loop's index and constants on the stack, loaded and stored for
// every value. Without them the whole encoder is about 5% faster on
// speech (BenchmarkEncodeSpeech, medians of 8: 3.73 against 3.93 ms).
func (w *bitWriter) riceAll(res []int32, k uint) {
	for len(res) > 0 {
		if cap(w.out)-len(w.out) < 4*riceBlock+8 {
			w.riceSlow(res, k) // the end of a buffer sized for the worst case
			return
		}
		n := min(len(res), riceBlock)
		done := w.riceRun(res[:n], k)
		res = res[done:]
		if done < n { // res[0] takes more than 32 bits
			w.rice(zigzag(res[0]), k)
			res = res[1:]
		}
	}
}

// riceBlock is the most values riceRun writes at once; out must have room
// for 4 bytes each and a spare word.
const riceBlock = 64

// riceRun writes res as riceAll does up to the first value whose code
// takes more than 32 bits, and returns how many it wrote. The shift
// counts are masked to 6 bits (they are below 64 anyway), which spares
// the compiler's test for shifts past the word.
func (w *bitWriter) riceRun(res []int32, k uint) int {
	buf := w.out[:cap(w.out)]
	pos, cache, n := len(w.out), w.cache, w.n
	k &= 63
	one, low := uint64(1)<<k, uint64(1)<<k-1
	for i, r := range res {
		u := zigzag(r)
		q := u >> k
		if q+1+uint64(k) > 32 {
			w.out, w.cache, w.n = buf[:pos], cache, n
			return i
		}
		m := (uint(q) + 1 + k) & 63
		if n+m > 64 {
			n -= 32
			binary.BigEndian.PutUint32(buf[pos:pos+4], uint32(cache>>(n&63)))
			pos += 4
		}
		cache = cache<<m | one | u&low
		n += m
	}
	w.out, w.cache, w.n = buf[:pos], cache, n
	return len(res)
}

// riceSlow is riceAll through append, for the last bytes of a buffer.
func (w *bitWriter) riceSlow(res []int32, k uint) {
	for _, r := range res {
		w.rice(zigzag(r), k)
	}
}

// flush pads to a byte with zeros and returns the bytes.
func (w *bitWriter) flush() []byte {
	w.spill()
	if w.n > 0 {
		w.write(0, 8-w.n)
		w.spill()
	}
	return w.out
}
