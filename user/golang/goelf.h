/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_GOELF_H
#define BW_GOELF_H

#include <gelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * What makes an ELF file a Go binary, read from the file alone: its Go
 * version (.go.buildinfo, present even in stripped builds) and its
 * function table (.gopclntab; .data.rel.ro.gopclntab in PIE builds).
 * Addresses are link-time: a PIE's load bias is added by the caller.
 */
struct goelf {
	Elf *elf;
	int fd;
	char version[32]; /* "go1.19.8" */
	int major, minor; /* 1, 19 */
	bool pie;	  /* ET_DYN */
	uint64_t entry;	  /* e_entry */
	/* .gopclntab: its bytes (in elf's memory) and address */
	const uint8_t *pclntab;
	size_t pclntab_len;
	uint64_t pclntab_addr;
	uint64_t text_addr, text_end; /* .text */
};

/* Open @fd (taken over: closed by goelf_close) as a Go binary.
 * -ENOEXEC: not a Go binary (no buildinfo or no pclntab); -EINVAL: not
 * an ELF file or unreadable. */
int goelf_open(int fd, struct goelf *g);
void goelf_close(struct goelf *g);
/* A section by name; NULL when absent. @data/@len/@addr set when found. */
Elf_Scn *goelf_section(const struct goelf *g, const char *name, const uint8_t **data, size_t *len,
		       uint64_t *addr);
/* Read @len bytes at link-time address @addr from the file's loaded
 * sections (static data: what the binary holds before it runs). */
int goelf_read(const struct goelf *g, uint64_t addr, void *buf, size_t len);
/* "go1.19.8" -> 1, 19; -EINVAL when it is not of that form. */
int goelf_parse_version(const char *v, int *major, int *minor);

#endif
