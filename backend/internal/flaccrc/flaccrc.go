// Package flaccrc holds FLAC's two checksums (RFC 9639 §9.1): CRC-8 over
// a frame header (polynomial x^8+x^2+x+1) and CRC-16 over a whole frame
// (x^16+x^15+x^2+1), both MSB first with initial value 0. The decoder in
// backend/audio and the encoder in backend/flacenc share them.
package flaccrc

// Table8 and Table16 are the byte-at-a-time tables, for callers that
// update a checksum as bytes stream past.
var Table8, Table16 = func() (t8 [256]uint8, t16 [256]uint16) {
	for i := range 256 {
		c8 := uint8(i)
		for range 8 {
			if c8&0x80 != 0 {
				c8 = c8<<1 ^ 0x07
			} else {
				c8 <<= 1
			}
		}
		t8[i] = c8
		c16 := uint16(i) << 8
		for range 8 {
			if c16&0x8000 != 0 {
				c16 = c16<<1 ^ 0x8005
			} else {
				c16 <<= 1
			}
		}
		t16[i] = c16
	}
	return
}()

// CRC8 is the CRC-8 of b.
func CRC8(b []byte) uint8 {
	var c uint8
	for _, x := range b {
		c = Table8[c^x]
	}
	return c
}

// Update16 adds one byte to a CRC-16.
func Update16(c uint16, x byte) uint16 { return c<<8 ^ Table16[byte(c>>8)^x] }

// slice16[k][x] is the CRC-16 of byte x followed by k zero bytes: with
// them CRC16 takes eight bytes a step (a 16-bit CRC mixes into only the
// first two; the other six are looked up on their own).
var slice16 = func() (t [8][256]uint16) {
	t[0] = Table16
	for k := 1; k < 8; k++ {
		for x := range 256 {
			t[k][x] = Update16(t[k-1][x], 0)
		}
	}
	return
}()

// CRC16 is the CRC-16 of b.
func CRC16(b []byte) uint16 {
	var c uint16
	for len(b) >= 8 {
		c = slice16[7][byte(c>>8)^b[0]] ^ slice16[6][byte(c)^b[1]] ^ slice16[5][b[2]] ^ slice16[4][b[3]] ^
			slice16[3][b[4]] ^ slice16[2][b[5]] ^ slice16[1][b[6]] ^ slice16[0][b[7]]
		b = b[8:]
	}
	for _, x := range b {
		c = Update16(c, x)
	}
	return c
}
