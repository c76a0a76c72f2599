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
