#include "textflag.h"

// func pcm16AVX2(dst unsafe.Pointer, src *float32, groups int)
// Writes 8*groups int16 at dst (little-endian, as on the wire), each
// sample src[i] as pcm16 does: v = x*32768 (exact in float32), then
// t = trunc(v) and one step away from zero when |v - t| >= 0.5 (both
// exact, so no float64 is needed for the halves), clamped to
// [-32768, 32767], NaN as 0.
TEXT ·pcm16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ groups+16(FP), CX
	MOVL $0x47000000, AX // 32768
	MOVQ AX, X8
	VPBROADCASTD X8, Y8
	MOVL $0x3F000000, AX // 0.5
	MOVQ AX, X9
	VPBROADCASTD X9, Y9
	MOVL $0x3F800000, AX // 1
	MOVQ AX, X10
	VPBROADCASTD X10, Y10
	MOVL $0x7FFFFFFF, AX // |.| mask
	MOVQ AX, X11
	VPBROADCASTD X11, Y11
	MOVL $0xC7000000, AX // -32768
	MOVQ AX, X12
	VPBROADCASTD X12, Y12
	MOVL $0x46FFFE00, AX // 32767
	MOVQ AX, X13
	VPBROADCASTD X13, Y13

loop:
	TESTQ CX, CX
	JEQ   done
	VMULPS     (SI), Y8, Y0    // v
	VCMPPS     $7, Y0, Y0, Y1  // ordered: all ones unless v is NaN
	VROUNDPS   $3, Y0, Y2      // t = trunc(v)
	VSUBPS     Y2, Y0, Y3      // v - t
	VANDPS     Y11, Y3, Y3     // |v - t|
	VCMPPS     $13, Y9, Y3, Y3 // |v - t| >= 0.5 (false for inf's NaN)
	VANDNPS    Y0, Y11, Y4     // v's sign bit
	VORPS      Y10, Y4, Y4     // ±1
	VANDPS     Y3, Y4, Y4      // ±1 where v rounds away, else 0
	VADDPS     Y4, Y2, Y2
	VMAXPS     Y12, Y2, Y2     // a NaN t gives -32768 here...
	VMINPS     Y13, Y2, Y2
	VANDPS     Y1, Y2, Y2      // ... and 0 here
	VCVTTPS2DQ Y2, Y2
	VEXTRACTI128 $1, Y2, X5
	VPACKSSDW  X5, X2, X2      // samples 0-3 from X2, 4-7 from X5
	VMOVDQU    X2, (DI)
	ADDQ       $32, SI
	ADDQ       $16, DI
	DECQ       CX
	JMP        loop

done:
	VZEROUPPER
	RET
