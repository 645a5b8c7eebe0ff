#include "textflag.h"

// func spin(n int32): two instructions per iteration.
TEXT ·spin(SB),NOSPLIT,$0-4
	MOVW n+0(FP), R0
loop:
	SUB.S $1, R0
	BNE loop
	RET
