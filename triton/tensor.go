package triton

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"
)

// EncodeFP32 lays samples out as Triton's raw_input_contents expects them:
// row-major little-endian IEEE 754, no padding.
func EncodeFP32(samples []float32) []byte {
	out := make([]byte, 4*len(samples))
	for i, s := range samples {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(s))
	}
	return out
}

// FP32Bytes is EncodeFP32 without the copy where it can be: on a
// little-endian machine (every platform the app ships for) the result is
// the samples' own memory viewed as bytes, which saves a 1.9 MB copy per
// 30 s chunk. The caller must not change samples while the bytes are in
// use (for Infer: until it returns).
func FP32Bytes(samples []float32) []byte {
	if !littleEndian || len(samples) == 0 {
		return EncodeFP32(samples)
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(samples))), 4*len(samples))
}

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// DecodeFP32 is the inverse of EncodeFP32.
func DecodeFP32(raw []byte) ([]float32, error) {
	if len(raw)%4 != 0 {
		return nil, fmt.Errorf("FP32 tensor of %d bytes is not a whole number of elements", len(raw))
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out, nil
}

// EncodeBytes serialises BYTES elements: each is a 4-byte little-endian
// length followed by its bytes, elements back to back.
func EncodeBytes(elems [][]byte) []byte {
	n := 0
	for _, e := range elems {
		n += 4 + len(e)
	}
	out := make([]byte, 0, n)
	for _, e := range elems {
		out = binary.LittleEndian.AppendUint32(out, uint32(len(e)))
		out = append(out, e...)
	}
	return out
}

// DecodeBytes splits a raw BYTES tensor into its elements. It never reads
// past the buffer: a length prefix that overruns is an error.
func DecodeBytes(raw []byte) ([][]byte, error) {
	var elems [][]byte
	for off := 0; off < len(raw); {
		if len(raw)-off < 4 {
			return nil, fmt.Errorf("BYTES tensor: %d trailing bytes where a 4-byte length was expected", len(raw)-off)
		}
		n := binary.LittleEndian.Uint32(raw[off:])
		off += 4
		if uint64(n) > uint64(len(raw)-off) {
			return nil, fmt.Errorf("BYTES tensor: element of %d bytes overruns the %d bytes left", n, len(raw)-off)
		}
		elems = append(elems, raw[off:off+int(n)])
		off += int(n)
	}
	return elems, nil
}
