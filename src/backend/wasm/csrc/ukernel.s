# The 4x8 GEMM micro-kernel's inner loop, written in WebAssembly assembly.
#
#   attn_ukernel_4x8(kc, a, b, acc): acc[i*8 + j] = sum over p < kc of
#     a[p*4 + i] * b[p*8 + j]   (packed panels; pointers are byte addresses)
#
# Why assembly: clang 14 does not fold constant address offsets into the
# memarg of loads through a pointer that the loop advances (it emits
# i32.const + i32.add before each load), and V8 then spends an extra
# instruction on every load. With the offsets in the load instructions the
# same loop runs about 20% faster (measured 39 -> 46.5 GFLOPS on one Zen 4
# core). Unrolling the loop by two made it slower (29): V8 unrolls small wasm
# loops itself and keeps this body in registers only at this size.
#
# The arithmetic is exactly that of the C reference loop (csrc/gemm_kernels.c
# comments): for each p, c[i][v] = c[i][v] + splat(a[i]) * b[v], in order.
#
# Locals: 0 kc, 1 a, 2 b, 3 acc; 4..11 the accumulators c00 c01 c10 c11 c20
# c21 c30 c31 (zero at function entry, as all wasm locals); 12, 13 the two B
# vectors; 14 the broadcast A value.

	.text
	.section	.text.attn_ukernel_4x8,"",@
	.hidden	attn_ukernel_4x8
	.globl	attn_ukernel_4x8
	.type	attn_ukernel_4x8,@function

# c0 += splat(a[aoff]) * b0; c1 += splat(a[aoff]) * b1
	.macro ROW aoff, c0, c1
	local.get	1
	v128.load32_splat	\aoff
	local.set	14
	local.get	\c0
	local.get	14
	local.get	12
	f32x4.mul
	f32x4.add
	local.set	\c0
	local.get	\c1
	local.get	14
	local.get	13
	f32x4.mul
	f32x4.add
	local.set	\c1
	.endm

	.macro STORE acc, off
	local.get	3
	local.get	\acc
	v128.store	\off
	.endm

attn_ukernel_4x8:
	.functype	attn_ukernel_4x8 (i32, i32, i32, i32) -> ()
	.local  	v128, v128, v128, v128, v128, v128, v128, v128, v128, v128, v128
	block
	local.get	0
	i32.const	1
	i32.lt_s
	br_if   	0
	loop
	local.get	2
	v128.load	0
	local.set	12
	local.get	2
	v128.load	16
	local.set	13
	ROW	0, 4, 5
	ROW	4, 6, 7
	ROW	8, 8, 9
	ROW	12, 10, 11
	local.get	1
	i32.const	16
	i32.add
	local.set	1
	local.get	2
	i32.const	32
	i32.add
	local.set	2
	local.get	0
	i32.const	-1
	i32.add
	local.tee	0
	br_if   	0
	end_loop
	end_block
	STORE	4, 0
	STORE	5, 16
	STORE	6, 32
	STORE	7, 48
	STORE	8, 64
	STORE	9, 80
	STORE	10, 96
	STORE	11, 112
	end_function
