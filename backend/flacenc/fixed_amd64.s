#include "textflag.h"

// func fixedAbsSumsAVX2(x *int16, groups int, acc *[40]uint32)
// For i = 4 .. 4+8*groups, the absolute residuals of the fixed predictors
// of order 0 to 4 at sample i, summed per lane: acc[8k+j] is order k's
// sum over the i with i%8 == (4+j)%8. x points at the block's sample 0;
// each step sign-extends x[i-4 .. i+8) as five overlapping loads of eight
// samples and takes the differences between neighbours four times.
TEXT ·fixedAbsSumsAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ groups+8(FP), CX
	MOVQ acc+16(FP), DI
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11
	VPXOR Y12, Y12, Y12
	VPXOR Y13, Y13, Y13
	VPXOR Y14, Y14, Y14

loop:
	TESTQ CX, CX
	JEQ   done
	VPMOVSXWD 8(SI), Y0 // x[i]
	VPMOVSXWD 6(SI), Y1 // x[i-1]
	VPMOVSXWD 4(SI), Y2 // x[i-2]
	VPMOVSXWD 2(SI), Y3 // x[i-3]
	VPMOVSXWD (SI), Y4  // x[i-4]
	VPSUBD    Y1, Y0, Y5 // first differences at i, i-1, i-2, i-3
	VPSUBD    Y2, Y1, Y6
	VPSUBD    Y3, Y2, Y7
	VPSUBD    Y4, Y3, Y8
	VPSUBD    Y6, Y5, Y9 // second at i, i-1, i-2
	VPSUBD    Y7, Y6, Y6
	VPSUBD    Y8, Y7, Y7
	VPSUBD    Y6, Y9, Y8 // third at i, i-1
	VPSUBD    Y7, Y6, Y6
	VPSUBD    Y6, Y8, Y7 // fourth at i
	VPABSD    Y0, Y0
	VPABSD    Y5, Y5
	VPABSD    Y9, Y9
	VPABSD    Y8, Y8
	VPABSD    Y7, Y7
	VPADDD    Y0, Y10, Y10
	VPADDD    Y5, Y11, Y11
	VPADDD    Y9, Y12, Y12
	VPADDD    Y8, Y13, Y13
	VPADDD    Y7, Y14, Y14
	ADDQ      $16, SI
	DECQ      CX
	JMP       loop

done:
	VMOVDQU Y10, (DI)
	VMOVDQU Y11, 32(DI)
	VMOVDQU Y12, 64(DI)
	VMOVDQU Y13, 96(DI)
	VMOVDQU Y14, 128(DI)
	VZEROUPPER
	RET
