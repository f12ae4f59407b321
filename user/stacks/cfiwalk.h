/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_CFIWALK_H
#define BW_CFIWALK_H

#include <elfutils/libdwfl.h>
#include <stddef.h>
#include "stacks/unwind.h"

/*
 * libdwfl's walk, with the unwinding rules of each pc asked of libdw
 * once. libdwfl finds a pc's module, its FDE (a tsearch) and runs the
 * CIE's and the FDE's CFI instructions again for every frame of every
 * walk; here the rules it finds are kept per pc, in the simple forms
 * x86-64 code has (CFA = register + offset; each register undefined,
 * the same, at CFA + n, CFA + n, or another register), and a walk
 * applies them the way libdwfl's handle_cfi does, register by register
 * and reading the same stack words in the same order (frame_unwind.c,
 * elfutils 0.188). Where a rule is not of those forms (a DWARF
 * expression: PLT entries, signal trampolines) or libdw has no CFI for
 * the pc (libdwfl then guesses from frame pointers), the walk is left
 * to libdwfl from the start. libdw stays the source of the rules.
 */
struct cfirules;

void cfirules__free(struct cfirules *r);
size_t cfirules__count(const struct cfirules *r);

/* The walk bw_unwind_walk's libdwfl walk would make of @snap (pcs, *err,
 * uw->cut_short, uw->reads), or -1 when it must be left to libdwfl (the
 * reads made so far are then to be forgotten). Rules are kept in
 * *rules, made on first use. */
int cfiwalk(Dwfl *dwfl, struct cfirules **rules, struct bw_unwinder *uw,
	    const struct bw_snapshot *snap, struct bw_pc *pcs, int max, int *err);

#endif
