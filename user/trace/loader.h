/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_LOADER_H
#define BW_LOADER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "base/bpf_abi.h"

/* What the BPF side is loaded with. */
struct bw_loader_cfg {
	uint64_t threshold_ns;
	const pid_t *pids; /* NULL: system-wide */
	int npids;
	const char *btf_path; /* NULL: /sys/kernel/btf/vmlinux */
	uint64_t ringbuf_size;
	uint64_t stack_size; /* user stack bytes copied above sp */
	bool force_raw_tp;
	bool syscall_exit;
	bool kernel_stacks;
	/* Attach the switch, resume and exit programs. Without them only the
	 * still-blocked iterator is there (--now): the machine pays for
	 * nothing but its one pass. */
	bool tracing;
	/* Records of processes whose mappings are held wake userspace at
	 * most this often (0: every record does); it reads again this long
	 * after a read that found records. */
	uint64_t wake_ns;
	/* A reload may go between all processes and a -p list (--config):
	 * whether to filter is a variable the switch path loads, not a
	 * constant the verifier folds in. */
	bool retargetable;
};

/* What blockwatch batches wake-ups by. */
#define BW_WAKE_NS (100 * 1000 * 1000ULL)

struct bw_loader;

/* Open, configure, load and attach the BPF programs. On failure logs
 * one line and returns an enum bw_exit code (non-zero). */
int bw_loader__new(const struct bw_loader_cfg *cfg, struct bw_loader **out);
void bw_loader__free(struct bw_loader *l);
int bw_loader__ringbuf_fd(const struct bw_loader *l);
/* cfg->wake_ns as loaded (0 without tracing). */
uint64_t bw_loader__wake_ns(const struct bw_loader *l);
/*
 * The dynamic loader's announcements of dlopen and dlclose
 * (BW_EV_MAPS markers): bw_dl_state attached to the loader file open at
 * @fd, for every process mapping it; then only the processes asked for
 * with bw_loader__watch_dl send markers. Negative errno: -EOPNOTSUPP
 * without tracing (--now), -ENOSPC past BW_MAX_DL_PROBES files.
 */
#define BW_MAX_DL_PROBES 32
int bw_loader__probe_dl(struct bw_loader *l, int fd);
int bw_loader__watch_dl(struct bw_loader *l, pid_t pid, bool on);
/* Sum the per-CPU counters (monotonic since load). */
int bw_loader__stats(const struct bw_loader *l, uint64_t out[BW_STAT_MAX]);
/* A record and its length: BW_EVENT_HDR_SIZE + stack_len at least. */
typedef void (*bw_record_fn)(void *ctx, const void *rec, size_t size);
/* Run the still-blocked task iterator once, calling @fn per record. */
int bw_loader__scan_blocked(const struct bw_loader *l, bw_record_fn fn, void *ctx);
/* Times the kernel skipped one of our programs because it was already
 * running on that CPU (monotonic, all programs summed). */
uint64_t bw_loader__missed(const struct bw_loader *l);
/* A new threshold for the running programs (a reload): blocks that end
 * from now on are judged by it. */
void bw_loader__set_threshold(struct bw_loader *l, uint64_t ns);
/* A new -p list for the running programs (a reload): @pids traced from
 * now on, the others not; @n 0: every process. -EINVAL for more than
 * BW_MAX_TARGETS, or for going between all processes and a list when
 * not loaded retargetable; a failed update may leave the map between
 * the lists (set the old list again). */
int bw_loader__set_targets(struct bw_loader *l, const pid_t *pids, int n);
/* The time the kernel says our programs ran, and how often, summed
 * (monotonic); both 0 unless it counts (sysctl kernel.bpf_stats_enabled,
 * which costs every BPF program on the machine some 20 ns a run). */
void bw_loader__run_time(const struct bw_loader *l, uint64_t *run_ns, uint64_t *runs);
/* The report epoch records are emitted in now (struct bw_epoch_counts). */
uint32_t bw_loader__epoch(const struct bw_loader *l);
/* Move on to the next epoch and wait, at most @wait_ns, until the emits
 * still running in the one that ends are done; returns that one. */
uint32_t bw_loader__end_epoch(struct bw_loader *l, uint64_t wait_ns);
/* What the epochs of @ep's parity counted so far (monotonic). */
void bw_loader__epoch_counts(const struct bw_loader *l, uint32_t ep,
			     struct bw_epoch_counts *out);
/* "tp_btf" or "raw_tp": which sched_switch program is attached. */
const char *bw_loader__mode(const struct bw_loader *l);

#endif
