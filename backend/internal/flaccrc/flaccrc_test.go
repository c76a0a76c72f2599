package flaccrc

import "testing"

// The check values of the two CRCs' parameters (CRC-8/SMBUS and
// CRC-16/UMTS in the usual catalogues) over "123456789".
func TestCheckValues(t *testing.T) {
	b := []byte("123456789")
	if got := CRC8(b); got != 0xF4 {
		t.Errorf("CRC8 = %#x, want 0xf4", got)
	}
	if got := CRC16(b); got != 0xFEE8 {
		t.Errorf("CRC16 = %#x, want 0xfee8", got)
	}
}

// TestCRC16Slices checks the four-bytes-a-step CRC-16 against one byte at
// a time, for every length up to 64 and every alignment of the tail.
func TestCRC16Slices(t *testing.T) {
	b := make([]byte, 64)
	for i := range b {
		b[i] = byte(i*131 + 7)
	}
	for n := range len(b) + 1 {
		var want uint16
		for _, x := range b[:n] {
			want = Update16(want, x)
		}
		if got := CRC16(b[:n]); got != want {
			t.Errorf("CRC16 of %d bytes = %#x, byte by byte %#x", n, got, want)
		}
	}
}
