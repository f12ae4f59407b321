/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Everything x86-64 about the BPF side: syscall numbers and the user
 * registers in pt_regs. Another architecture is another such file. */
#ifndef BW_ARCH_X86_BPF_H
#define BW_ARCH_X86_BPF_H

#include "blockwatch.h"

#define NR_FUTEX 202

/* The syscall a thread sleeps in and its first arguments (x86-64 order:
 * di, si, dx, r10). orig_ax is -1 outside a syscall. */
static __always_inline void read_syscall(struct pt_regs *r, __s64 *nr, __u64 *args)
{
	*nr = (__s64)r->orig_ax;
	args[0] = r->di;
	args[1] = r->si;
	args[2] = r->dx;
	args[3] = r->r10;
}

/* The user registers in DWARF order, what libdwfl unwinds from. */
static __always_inline void read_user_regs(__u64 *regs, struct pt_regs *r)
{
	regs[BW_REG_RAX] = r->ax;
	regs[BW_REG_RDX] = r->dx;
	regs[BW_REG_RCX] = r->cx;
	regs[BW_REG_RBX] = r->bx;
	regs[BW_REG_RSI] = r->si;
	regs[BW_REG_RDI] = r->di;
	regs[BW_REG_RBP] = r->bp;
	regs[BW_REG_RSP] = r->sp;
	regs[BW_REG_R8] = r->r8;
	regs[BW_REG_R9] = r->r9;
	regs[BW_REG_R10] = r->r10;
	regs[BW_REG_R11] = r->r11;
	regs[BW_REG_R12] = r->r12;
	regs[BW_REG_R13] = r->r13;
	regs[BW_REG_R14] = r->r14;
	regs[BW_REG_R15] = r->r15;
	regs[BW_REG_RIP] = r->ip;
}

#endif
