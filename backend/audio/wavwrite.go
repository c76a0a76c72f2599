package audio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// WAVFormat is a sample encoding for WriteWAV, optionally combined with
// the Extensible flag: PCM24|Extensible.
type WAVFormat int

// Sample encodings for WriteWAV.
const (
	PCM8    WAVFormat = iota + 1 // unsigned 8-bit
	PCM16                        // signed 16-bit
	PCM24                        // signed 24-bit
	PCM32                        // signed 32-bit
	Float32                      // IEEE float, 32-bit
	Float64                      // IEEE float, 64-bit

	// Extensible writes a WAVE_FORMAT_EXTENSIBLE fmt chunk (with the PCM
	// or float sub-format GUID) instead of a plain one.
	Extensible WAVFormat = 0x100
)

func (f WAVFormat) base() WAVFormat { return f &^ Extensible }

// bytes is the size of one sample, or 0 for an unknown format.
func (f WAVFormat) bytes() int {
	switch f.base() {
	case PCM8:
		return 1
	case PCM16:
		return 2
	case PCM24:
		return 3
	case PCM32, Float32:
		return 4
	case Float64:
		return 8
	}
	return 0
}

func (f WAVFormat) isFloat() bool { return f.base() == Float32 || f.base() == Float64 }

// WriteWAV writes interleaved samples (frame by frame, channels in order)
// as a complete WAV file. Integer formats scale by 2^(bits-1), round half
// away from zero and clamp to the format's range, so 1.0 becomes the
// largest positive code and -1.0 the smallest; NaN becomes 0. Float
// formats store the values as they are. Float files carry a fact chunk.
func WriteWAV(w io.Writer, interleaved []float32, sampleRate, channels int, format WAVFormat) error {
	size := format.bytes()
	switch {
	case size == 0 || format&^(Extensible|0xFF) != 0:
		return fmt.Errorf("audio: WriteWAV: unknown format %d", format)
	case channels < 1 || channels > 0xFFFF:
		return fmt.Errorf("audio: WriteWAV: %d channels", channels)
	case sampleRate < 1 || sampleRate > math.MaxUint32:
		return fmt.Errorf("audio: WriteWAV: sample rate %d", sampleRate)
	case len(interleaved)%channels != 0:
		return fmt.Errorf("audio: WriteWAV: %d samples do not make whole %d-channel frames", len(interleaved), channels)
	case channels*size > 0xFFFF:
		return fmt.Errorf("audio: WriteWAV: %d channels of %d bytes overflow the block align", channels, size)
	}
	frames := len(interleaved) / channels
	dataSize := int64(len(interleaved)) * int64(size)

	ext := format&Extensible != 0
	fmtSize := 16
	if ext {
		fmtSize = 40
	}
	factSize := 0
	if format.isFloat() {
		factSize = 8 + 4
	}
	riffSize := 4 + (8 + int64(fmtSize)) + int64(factSize) + 8 + dataSize + dataSize%2
	if riffSize > math.MaxUint32 {
		return errors.New("audio: WriteWAV: more than 4 GiB of data")
	}

	bw := bufio.NewWriterSize(w, 1<<16)
	le := binary.LittleEndian
	var hdr []byte
	hdr = append(hdr, "RIFF"...)
	hdr = le.AppendUint32(hdr, uint32(riffSize))
	hdr = append(hdr, "WAVEfmt "...)
	hdr = le.AppendUint32(hdr, uint32(fmtSize))
	tag := uint16(tagPCM)
	if format.isFloat() {
		tag = tagFloat
	}
	if ext {
		hdr = le.AppendUint16(hdr, tagExtensible)
	} else {
		hdr = le.AppendUint16(hdr, tag)
	}
	hdr = le.AppendUint16(hdr, uint16(channels))
	hdr = le.AppendUint32(hdr, uint32(sampleRate))
	hdr = le.AppendUint32(hdr, uint32(sampleRate*channels*size))
	hdr = le.AppendUint16(hdr, uint16(channels*size))
	hdr = le.AppendUint16(hdr, uint16(size*8))
	if ext {
		hdr = le.AppendUint16(hdr, 22)
		hdr = le.AppendUint16(hdr, uint16(size*8)) // valid bits
		var mask uint32
		switch channels {
		case 1:
			mask = 0x4 // front centre
		case 2:
			mask = 0x3 // front left, front right
		}
		hdr = le.AppendUint32(hdr, mask)
		hdr = le.AppendUint16(hdr, tag)
		hdr = append(hdr, ksSubtypeTail[:]...)
	}
	if factSize > 0 {
		hdr = append(hdr, "fact"...)
		hdr = le.AppendUint32(hdr, 4)
		hdr = le.AppendUint32(hdr, uint32(frames))
	}
	hdr = append(hdr, "data"...)
	hdr = le.AppendUint32(hdr, uint32(dataSize))
	if _, err := bw.Write(hdr); err != nil {
		return err
	}

	var b [8]byte
	for _, v := range interleaved {
		switch format.base() {
		case PCM8:
			b[0] = byte(quantize(v, 8) + 128)
		case PCM16:
			le.PutUint16(b[:], uint16(quantize(v, 16)))
		case PCM24:
			q := uint32(quantize(v, 24))
			b[0], b[1], b[2] = byte(q), byte(q>>8), byte(q>>16)
		case PCM32:
			le.PutUint32(b[:], uint32(quantize(v, 32)))
		case Float32:
			le.PutUint32(b[:], math.Float32bits(v))
		case Float64:
			le.PutUint64(b[:], math.Float64bits(float64(v)))
		}
		if _, err := bw.Write(b[:size]); err != nil {
			return err
		}
	}
	if dataSize%2 == 1 {
		if err := bw.WriteByte(0); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// quantize maps v in [-1, 1] to a signed integer of the given width:
// v*2^(bits-1), rounded half away from zero, clamped to the range.
func quantize(v float32, bits int) int64 {
	if v != v {
		return 0
	}
	scale := math.Ldexp(1, bits-1)
	q := math.Round(float64(v) * scale)
	return int64(max(-scale, min(scale-1, q)))
}
