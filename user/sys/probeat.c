// SPDX-License-Identifier: GPL-2.0
/*
 * Probe placement (see probeat.h), with the Capstone disassembler. The
 * function's bytes come from the binary the watched process maps (read,
 * bounded, never trusted): a disassembly that fails or looks odd keeps the
 * probe at the entry, which is always right, only slower.
 */
#include <capstone.h>
#include <stdlib.h>
#include <unistd.h>
#include "sys/probeat.h"

#define CODE_MAX 4096 /* bytes of a function looked at */
#define PREFIX_MAX 16 /* instructions of its straight start */

static int emulated(csh cs, const cs_insn *in)
{
	const cs_x86 *x = &in->detail->x86;

	/* the kernel refuses, or single-steps, prefixed forms */
	for (int i = 0; i < 4; i++)
		if (x->prefix[i])
			return 0;
	if (in->id == X86_INS_NOP)
		return 1;
	if (in->id == X86_INS_PUSH)
		return x->op_count == 1 && x->operands[0].type == X86_OP_REG;
	if (cs_insn_group(cs, in, CS_GRP_JUMP) || in->id == X86_INS_CALL)
		return x->op_count == 1 && x->operands[0].type == X86_OP_IMM;
	return 0;
}

/* The registers a probe reads as they were at the entry: the stack and frame
 * pointers (the return address, the unwind), and the lock's argument. */
static const x86_reg frame_regs[] = { X86_REG_RSP, X86_REG_ESP, X86_REG_SP, X86_REG_SPL,
				      X86_REG_RBP, X86_REG_EBP, X86_REG_BP, X86_REG_BPL };
static const x86_reg arg_regs[6][5] = {
	{ X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL },
	{ X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL },
	{ X86_REG_RDX, X86_REG_EDX, X86_REG_DX, X86_REG_DL, X86_REG_DH },
	{ X86_REG_RCX, X86_REG_ECX, X86_REG_CX, X86_REG_CL, X86_REG_CH },
	{ X86_REG_R8, X86_REG_R8D, X86_REG_R8W, X86_REG_R8B },
	{ X86_REG_R9, X86_REG_R9D, X86_REG_R9W, X86_REG_R9B },
};

static int watched(x86_reg r, int arg)
{
	for (size_t k = 0; k < sizeof(frame_regs) / sizeof(frame_regs[0]); k++)
		if (r == frame_regs[k])
			return 1;
	for (int k = 0; k < 5; k++)
		if (arg_regs[arg - 1][k] && r == arg_regs[arg - 1][k])
			return 1;
	return 0;
}

/* It writes a watched register, or leaves the straight line (a return, an
 * indirect jump, a trap). */
static int disturbs(csh cs, const cs_insn *in, int arg)
{
	cs_regs rd, wr;
	uint8_t nrd, nwr;

	if (cs_insn_group(cs, in, CS_GRP_RET) || cs_insn_group(cs, in, CS_GRP_INT) ||
	    cs_insn_group(cs, in, CS_GRP_IRET) || cs_insn_group(cs, in, CS_GRP_JUMP) ||
	    cs_insn_group(cs, in, CS_GRP_CALL) || in->id == X86_INS_SYSCALL)
		return 1;
	if (cs_regs_access(cs, in, rd, &nrd, wr, &nwr))
		return 1;
	for (int i = 0; i < nwr; i++)
		if (watched(wr[i], arg))
			return 1;
	return 0;
}

/* A direct branch of the function lands in [0, at]. */
static int comes_back(csh cs, const cs_insn *v, size_t n, uint64_t at)
{
	for (size_t i = 0; i < n; i++) {
		const cs_x86 *x = &v[i].detail->x86;

		if (!cs_insn_group(cs, &v[i], CS_GRP_JUMP) &&
		    !cs_insn_group(cs, &v[i], CS_GRP_CALL))
			continue;
		if (x->op_count != 1 || x->operands[0].type != X86_OP_IMM)
			continue;
		if ((uint64_t)x->operands[0].imm <= at)
			return 1;
	}
	return 0;
}

uint64_t lw_probe_offset(int fd, uint64_t off, uint64_t size, int arg)
{
	uint64_t at = 0, covered;
	size_t n = 0;
	uint8_t *code;
	cs_insn *v;
	csh cs;

	/* the whole function is searched for branches back: no size, or one
	 * too big, keeps the entry */
	if (!size || size > CODE_MAX || arg < 1 || arg > 6)
		return 0;
	code = malloc(size);
	if (!code)
		return 0;
	if (pread(fd, code, size, off) != (ssize_t)size || cs_open(CS_ARCH_X86, CS_MODE_64, &cs)) {
		free(code);
		return 0;
	}
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	/* addresses relative to the function's start */
	n = cs_disasm(cs, code, size, 0, 0, &v);
	covered = n ? v[n - 1].address + v[n - 1].size : 0;
	for (size_t i = 0; covered == size && i < n && i < PREFIX_MAX; i++) {
		if (emulated(cs, &v[i])) {
			at = v[i].address;
			break;
		}
		if (disturbs(cs, &v[i], arg))
			break;
	}
	if (at && comes_back(cs, v, n, at))
		at = 0;
	if (n)
		cs_free(v, n);
	cs_close(&cs);
	free(code);
	return at;
}
