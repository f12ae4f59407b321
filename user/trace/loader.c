// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "base/bpf_abi.h" /* the skeleton names its types */
#include "blockwatch.skel.h"
#include "trace/loader.h"
#include "base/log.h"

#define VMLINUX_BTF "/sys/kernel/btf/vmlinux"
#define RAW_TP_THREADS 65536

struct bw_loader {
	struct blockwatch_bpf *skel;
	bool raw_tp;
	int ncpus;
	int btf_fd;	    /* --btf FILE, open until the programs are loaded */
	char btf_path[32];  /* its /proc/self/fd path; "" without --btf */
	/* bw_dl_state on each loader file met (bw_loader__probe_dl) */
	struct bpf_link *dl_links[BW_MAX_DL_PROBES];
	int ndl;
	bool retargetable; /* cfg's */
	bool own_pidns;	   /* in a PID namespace below the initial one */
};

/* PROC_PID_INIT_INO: the kernel's fixed inode of the initial PID
 * namespace. */
#define INIT_PIDNS_INO 0xEFFFFFFCU

/* The inode of the PID namespace blockwatch runs in when it is not the
 * initial one (a container: its /proc and getpid() number tasks as that
 * namespace does, not as the kernel's tracepoints do); else 0. */
static __u32 own_pidns(void)
{
	struct stat st;

	if (stat("/proc/self/ns/pid", &st) || st.st_ino == INIT_PIDNS_INO)
		return 0;
	return st.st_ino;
}

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!bw_verbose || level == LIBBPF_DEBUG)
		return 0;
	bw_status_clear(); /* libbpf's lines do not come through bw_err */
	return vfprintf(stderr, fmt, ap);
}

/* libbpf's own errors for a bad --btf are "Input/output error" (a short
 * file), "No such file" (an ELF file without .BTF) or "BPF object format
 * invalid": these say what is wrong with the file. */
static int bad_btf(const char *path, int err)
{
	if (err == ENOENT)
		bw_err("--btf '%s': no BTF in it (an ELF file without a .BTF section)", path);
	else
		bw_err("--btf '%s': no usable BTF in it (neither raw BTF nor an ELF file "
		       "with a valid .BTF section)", path);
	return BW_EXIT_NOBTF;
}

/*
 * --btf FILE must be a regular file: a FIFO would block libbpf's open
 * and read for good, a directory reads as an I/O error. It is opened
 * without blocking, checked on the fd, and libbpf is handed that fd's
 * /proc/self/fd path, so the file it parses (now, and again at load) is
 * the one checked here.
 */
static int open_btf(struct bw_loader *l, const char *path)
{
	struct stat st;
	struct btf *btf;

	if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
		bw_err("--btf '%s': not a regular file", path);
		return BW_EXIT_NOBTF;
	}
	l->btf_fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (l->btf_fd < 0) {
		bw_err("--btf '%s': %s", path, strerror(errno));
		return BW_EXIT_NOBTF;
	}
	if (fstat(l->btf_fd, &st) || !S_ISREG(st.st_mode)) {
		bw_err("--btf '%s': not a regular file", path);
		return BW_EXIT_NOBTF;
	}
	if (!st.st_size) {
		bw_err("--btf '%s': empty file", path);
		return BW_EXIT_NOBTF;
	}
	snprintf(l->btf_path, sizeof(l->btf_path), "/proc/self/fd/%d", l->btf_fd);
	btf = btf__parse(l->btf_path, NULL);
	if (!btf)
		return bad_btf(path, errno);
	btf__free(btf);
	return 0;
}

/*
 * A --btf file is parsed here, so that a bad one is said with its reason
 * (exit 5). The kernel's own is only checked to be there: libbpf parses
 * it at load anyway, and a second parse of its 5.5 MB (1,350 reads of a
 * sysfs page each) cost `--now` 20-60 ms of its ~250 ms here.
 */
static int check_btf(struct bw_loader *l, const struct bw_loader_cfg *cfg)
{
	if (cfg->btf_path)
		return open_btf(l, cfg->btf_path);
	if (access(VMLINUX_BTF, R_OK)) {
		bw_err("kernel has no BTF ('%s': %s); use --btf FILE", VMLINUX_BTF,
		       strerror(errno));
		return BW_EXIT_NOBTF;
	}
	return 0;
}

static uint64_t pow2_roundup(uint64_t v)
{
	uint64_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

static int exit_code_for(int err)
{
	return err == -EPERM || err == -EACCES ? BW_EXIT_PERM : BW_EXIT_FAIL;
}

/* One attempt with one flavour of the sched_switch program. Returns a
 * negative errno and sets *stage to what failed. */
static int try_load(struct bw_loader *l, const struct bw_loader_cfg *cfg, bool raw_tp,
		    const char **stage)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts,
		    .btf_custom_path = l->btf_path[0] ? l->btf_path : NULL);
	struct blockwatch_bpf *skel;
	int err, i;
	__u8 one = 1;

	*stage = "open BPF object";
	skel = blockwatch_bpf__open_opts(&open_opts);
	if (!skel)
		return -errno;
	l->skel = skel;
	l->raw_tp = raw_tp;

	skel->data->threshold_ns = cfg->threshold_ns;
	skel->rodata->self_tgid = getpid();
	skel->rodata->pidns_ino = own_pidns();
	l->own_pidns = skel->rodata->pidns_ino != 0;
	skel->rodata->filter_tgid = cfg->npids > 0;
	skel->rodata->filter_reloadable = l->retargetable;
	skel->bss->filter_now = cfg->npids > 0;
	skel->rodata->use_hash = raw_tp;
	skel->rodata->use_sys_exit = cfg->syscall_exit;
	skel->rodata->kstacks = cfg->kernel_stacks;
	skel->rodata->wake_ns = cfg->tracing ? cfg->wake_ns : 0;
	/* whole pages from the one holding sp: one more than the bytes */
	skel->rodata->stack_pages = (cfg->stack_size + BW_PAGE_SIZE - 1) / BW_PAGE_SIZE + 1;
	if (skel->rodata->stack_pages > BW_STACK_PAGES)
		skel->rodata->stack_pages = BW_STACK_PAGES;
	bpf_map__set_max_entries(skel->maps.scratch, l->ncpus);
	bpf_program__set_autoload(skel->progs.bw_switch_btf, !raw_tp && cfg->tracing);
	bpf_program__set_autoload(skel->progs.bw_switch_raw, raw_tp && cfg->tracing);
	bpf_program__set_autoload(skel->progs.bw_rseq_update, cfg->tracing);
	bpf_program__set_autoload(skel->progs.bw_exit, cfg->tracing);
	bpf_program__set_autoload(skel->progs.bw_exec, cfg->tracing);
	bpf_program__set_autoload(skel->progs.bw_sys_exit, cfg->syscall_exit && cfg->tracing);
	bpf_program__set_autoload(skel->progs.bw_dl_state, cfg->tracing);
	if (raw_tp)
		bpf_map__set_max_entries(skel->maps.tstate_hash, RAW_TP_THREADS);
	/* --now writes no record: a page, not megabytes zeroed by the kernel */
	bpf_map__set_max_entries(skel->maps.events,
				 cfg->tracing ? pow2_roundup(cfg->ringbuf_size) : BW_PAGE_SIZE);

	*stage = "load BPF programs";
	err = blockwatch_bpf__load(skel);
	if (err)
		return err;
	*stage = "add targets";
	for (i = 0; i < cfg->npids; i++) {
		__u32 tgid = cfg->pids[i];

		if (bpf_map_update_elem(bpf_map__fd(skel->maps.targets), &tgid, &one, BPF_ANY))
			return -errno;
	}
	*stage = "attach BPF programs";
	return blockwatch_bpf__attach(skel);
}

int bw_loader__new(const struct bw_loader_cfg *cfg, struct bw_loader **out)
{
	struct bw_loader *l;
	const char *stage;
	int err, ret;

	libbpf_set_print(libbpf_log);
	l = calloc(1, sizeof(*l));
	if (!l) {
		bw_err("out of memory");
		return BW_EXIT_FAIL;
	}
	l->btf_fd = -1;
	l->retargetable = cfg->retargetable && cfg->tracing;
	ret = check_btf(l, cfg);
	if (ret) {
		bw_loader__free(l);
		return ret;
	}
	l->ncpus = libbpf_num_possible_cpus();
	if (l->ncpus <= 0) {
		bw_err("cannot count CPUs: %s", strerror(-l->ncpus));
		bw_loader__free(l);
		return BW_EXIT_FAIL;
	}

	err = cfg->force_raw_tp ? -EOPNOTSUPP : try_load(l, cfg, false, &stage);
	if (err && err != -EPERM && err != -EACCES) {
		if (!cfg->force_raw_tp)
			bw_dbg("tp_btf/sched_switch: cannot %s (%s), trying raw_tp", stage,
			       strerror(-err));
		blockwatch_bpf__destroy(l->skel);
		l->skel = NULL;
		err = try_load(l, cfg, true, &stage);
	}
	if (err) {
		bw_err("cannot %s: %s", stage, strerror(-err));
		ret = exit_code_for(err);
		bw_loader__free(l);
		return ret;
	}
	if (l->btf_fd >= 0) /* libbpf has read it at load */
		close(l->btf_fd);
	l->btf_fd = -1;
	bw_dbg("attached (%s/sched_switch, rseq_update%s)", bw_loader__mode(l),
	       cfg->syscall_exit ? ", sys_exit" : "");
	*out = l;
	return 0;
}

void bw_loader__free(struct bw_loader *l)
{
	if (!l)
		return;
	while (l->ndl)
		bpf_link__destroy(l->dl_links[--l->ndl]);
	blockwatch_bpf__destroy(l->skel);
	if (l->btf_fd >= 0)
		close(l->btf_fd);
	free(l);
}

int bw_loader__probe_dl(struct bw_loader *l, int fd)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = "_dl_debug_state");
	struct bpf_program *prog = l->skel->progs.bw_dl_state;
	struct bpf_link *link;
	char path[32];

	if (bpf_program__fd(prog) < 0)
		return -EOPNOTSUPP; /* not loaded: --now */
	if (l->ndl == BW_MAX_DL_PROBES)
		return -ENOSPC;
	/* the file the process maps, whatever its path says now: the
	 * kernel resolves the fd's link to its inode */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	link = bpf_program__attach_uprobe_opts(prog, -1, path, 0, &opts);
	if (!link)
		return -errno;
	l->dl_links[l->ndl++] = link;
	return 0;
}

int bw_loader__watch_dl(struct bw_loader *l, pid_t pid, bool on)
{
	int fd = bpf_map__fd(l->skel->maps.dl_watch);
	__u32 key = pid;
	__u8 one = 1;

	if (on ? bpf_map_update_elem(fd, &key, &one, BPF_ANY) : bpf_map_delete_elem(fd, &key))
		return -errno;
	return 0;
}

int bw_loader__ringbuf_fd(const struct bw_loader *l)
{
	return bpf_map__fd(l->skel->maps.events);
}

uint64_t bw_loader__wake_ns(const struct bw_loader *l)
{
	return l->skel->rodata->wake_ns;
}

uint32_t bw_loader__epoch(const struct bw_loader *l)
{
	return __atomic_load_n(&l->skel->bss->epoch, __ATOMIC_ACQUIRE);
}

uint32_t bw_loader__end_epoch(struct bw_loader *l, uint64_t wait_ns)
{
	uint32_t ep = __atomic_fetch_add(&l->skel->bss->epoch, 1, __ATOMIC_SEQ_CST);
	__s64 *inflight = &l->skel->bss->epochs[ep & 1].inflight;
	struct timespec pause = { 0, 20000 };
	uint64_t waited = 0;

	/* An emit reads the epoch once, then counts and submits: those that
	 * read the old one finish within microseconds (a preempted
	 * rseq_update may take longer: bounded by @wait_ns). */
	while (__atomic_load_n(inflight, __ATOMIC_ACQUIRE) > 0 && waited < wait_ns) {
		nanosleep(&pause, NULL);
		waited += pause.tv_nsec;
	}
	return ep;
}

void bw_loader__epoch_counts(const struct bw_loader *l, uint32_t ep,
			     struct bw_epoch_counts *out)
{
	const struct bw_epoch_counts *c = &l->skel->bss->epochs[ep & 1];

	out->emitted = __atomic_load_n(&c->emitted, __ATOMIC_ACQUIRE);
	out->emitted_ns = __atomic_load_n(&c->emitted_ns, __ATOMIC_ACQUIRE);
	out->lost = __atomic_load_n(&c->lost, __ATOMIC_ACQUIRE);
	out->inflight = __atomic_load_n(&c->inflight, __ATOMIC_ACQUIRE);
}

const char *bw_loader__mode(const struct bw_loader *l)
{
	if (l->own_pidns)
		return l->raw_tp ? "raw_tp, own PID namespace" : "tp_btf, own PID namespace";
	return l->raw_tp ? "raw_tp" : "tp_btf";
}

int bw_loader__scan_blocked(const struct bw_loader *l, bw_record_fn fn, void *ctx)
{
	size_t cap = 4 * sizeof(struct bw_event), have = 0, off;
	int fd, err = 0;
	char *buf;

	fd = bpf_iter_create(bpf_link__fd(l->skel->links.bw_iter_blocked));
	if (fd < 0)
		return -errno;
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n = read(fd, buf + have, cap - have);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		have += n;
		/* Hand out every complete record; keep a partial one. */
		for (off = 0; have - off >= BW_EVENT_HDR_SIZE;) {
			const struct bw_event *e = (const void *)(buf + off);
			size_t len = BW_EVENT_HDR_SIZE + e->stack_len;

			if (e->stack_len > BW_STACK_MAX) {
				err = -EPROTO;
				goto out;
			}
			if (have - off < len)
				break;
			fn(ctx, buf + off, len);
			off += len;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
	}
out:
	free(buf);
	close(fd);
	return err;
}

uint64_t bw_loader__missed(const struct bw_loader *l)
{
	struct bpf_program *prog;
	uint64_t missed = 0;

	bpf_object__for_each_program(prog, l->skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
			missed += info.recursion_misses;
	}
	return missed;
}

void bw_loader__set_threshold(struct bw_loader *l, uint64_t ns)
{
	__atomic_store_n(&l->skel->data->threshold_ns, ns, __ATOMIC_RELAXED);
}

int bw_loader__set_targets(struct bw_loader *l, const pid_t *pids, int n)
{
	int fd = bpf_map__fd(l->skel->maps.targets), i, j, nold = 0;
	__u32 old[BW_MAX_TARGETS], key, *prev = NULL;
	bool filtered = l->skel->bss->filter_now;
	__u8 one = 1;

	if (n < 0 || n > BW_MAX_TARGETS || (filtered != (n > 0) && !l->retargetable))
		return -EINVAL;
	if (!n) {
		/* all processes from now on; then the list goes */
		__atomic_store_n(&l->skel->bss->filter_now, false, __ATOMIC_RELEASE);
		pids = NULL;
	}
	while (nold < BW_MAX_TARGETS && !bpf_map_get_next_key(fd, prev, &key)) {
		old[nold] = key;
		prev = &old[nold++];
	}
	/* the old ones that go first (the map holds BW_MAX_TARGETS, the two
	 * lists together may not fit); a target on both is never untraced */
	for (j = 0; j < nold; j++) {
		for (i = 0; i < n && (__u32)pids[i] != old[j]; i++)
			;
		if (i == n && bpf_map_delete_elem(fd, &old[j]) && errno != ENOENT)
			return -errno;
	}
	for (i = 0; i < n; i++) {
		key = (__u32)pids[i];
		if (bpf_map_update_elem(fd, &key, &one, BPF_ANY))
			return -errno;
	}
	/* a list where there was none: filtered once it is all there */
	if (n)
		__atomic_store_n(&l->skel->bss->filter_now, true, __ATOMIC_RELEASE);
	return 0;
}

void bw_loader__run_time(const struct bw_loader *l, uint64_t *run_ns, uint64_t *runs)
{
	struct bpf_program *prog;

	*run_ns = *runs = 0;
	bpf_object__for_each_program(prog, l->skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len)) {
			*run_ns += info.run_time_ns;
			*runs += info.run_cnt;
		}
	}
}

int bw_loader__stats(const struct bw_loader *l, uint64_t out[BW_STAT_MAX])
{
	int fd = bpf_map__fd(l->skel->maps.stats);
	struct bw_stats *vals;
	__u32 key = 0;
	int cpu, i;

	vals = calloc(l->ncpus, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, vals)) {
		int err = -errno;

		free(vals);
		return err;
	}
	for (i = 0; i < BW_STAT_MAX; i++) {
		out[i] = 0;
		for (cpu = 0; cpu < l->ncpus; cpu++)
			out[i] += vals[cpu].v[i];
	}
	free(vals);
	return 0;
}
