// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stdio.h>
#include <unistd.h>
#include <uthash.h>
#include "base/log.h"
#include "golang/gobin.h"
#include "proc/procfs.h"

#define MAX_INLINE 16

struct go_pcsyms {
	UT_hash_handle hh;
	uint64_t key; /* pc << 1 | ret */
	int n;
	struct go_sym frames[];
};

struct binkey {
	dev_t dev;
	ino_t ino;
	off_t size;
	int64_t mtime_ns;
};

struct binent {
	UT_hash_handle hh;
	struct binkey key;
	struct gobin *bin; /* NULL: not a Go binary */
};

struct gobins {
	struct binent *bins;
};

struct gobins *gobins__new(void)
{
	return calloc(1, sizeof(struct gobins));
}

const char *gobin_clean(struct gobin *b, const char *s)
{
	const unsigned char *p;
	char **grown, *copy;
	size_t i;

	for (p = (const unsigned char *)s; p && *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			break;
	if (!p || !*p)
		return s;
	grown = realloc(b->clean, (b->nclean + 1) * sizeof(*grown));
	copy = strdup(s);
	if (!grown || !copy) {
		free(copy);
		if (grown)
			b->clean = grown;
		return "?";
	}
	b->clean = grown;
	for (i = 0; copy[i]; i++)
		if ((unsigned char)copy[i] < 0x20 || (unsigned char)copy[i] > 0x7e)
			copy[i] = '?';
	b->clean[b->nclean++] = copy;
	return copy;
}

static void gobin_free(struct gobin *b)
{
	struct go_pcsyms *p, *tmp;
	size_t i;

	HASH_ITER(hh, b->pcs, p, tmp) {
		HASH_DEL(b->pcs, p);
		free(p);
	}
	for (i = 0; i < b->nclean; i++)
		free(b->clean[i]);
	free(b->clean);
	go_layout_clear(&b->layout);
	gopclntab__free(b->pcln);
	goelf_close(&b->elf);
	free(b);
}

void gobin_put(struct gobin *b)
{
	if (b && !--b->refs)
		gobin_free(b);
}

void gobins__free(struct gobins *c)
{
	struct binent *e, *tmp;

	if (!c)
		return;
	HASH_ITER(hh, c->bins, e, tmp) {
		HASH_DEL(c->bins, e);
		gobin_put(e->bin);
		free(e);
	}
	free(c);
}

/* funcID_wrapper, the last of runtime/symtab.go's funcID list: 21 in
 * 1.18-1.20 (verified on go1.19.8's source); 22 in 1.17, which still had
 * funcID_jmpdefer (from the runtime's source). Later versions moved the
 * list to internal/abi: unknown here, wrappers are then shown. */
static int wrapper_funcid(int major, int minor)
{
	if (major != 1)
		return -1;
	if (minor >= 18 && minor <= 20)
		return 21;
	return minor == 17 ? 22 : -1;
}

/* Parse what the binary has; a layout refused is remembered with why. */
static struct gobin *load(int fd, int *err)
{
	struct gobin *b = calloc(1, sizeof(*b));
	struct go_func f;

	if (!b) {
		close(fd);
		*err = -ENOMEM;
		return NULL;
	}
	b->refs = 1;
	go_layout_init(&b->layout);
	*err = goelf_open(fd, &b->elf);
	if (*err) {
		b->elf.fd = -1;
		free(b);
		return NULL;
	}
	*err = gopclntab__from_goelf(&b->elf, &b->pcln);
	if (*err) {
		snprintf(b->why, sizeof(b->why), "%s: cannot read its .gopclntab", b->elf.version);
		*err = 0;
		return b;
	}
	b->funcid_wrapper = wrapper_funcid(b->elf.major, b->elf.minor);
	if (!gopclntab__lookup(b->pcln, "runtime.goexit", &f)) {
		b->goexit_entry = f.entry;
		b->goexit_end = f.end;
	}
	b->usable = !go_layout_resolve(&b->elf, b->pcln, &b->layout, b->why, sizeof(b->why));
	return b;
}

struct gobin *gobins__get(struct gobins *c, pid_t pid, int *err)
{
	char exe[4096];
	struct binkey key;
	struct binent *e;
	struct stat st;
	int fd;

	ssize_t n;

	/* Known already (most are: every `sleep` a shell starts is the same
	 * file): one stat of /proc/PID/exe, the link to the very file the
	 * process runs, names its key. A new file is opened as the process
	 * sees it, below. */
	n = procfs_stat(&st, "%d/exe", pid);
	if (n == -ENOENT || n == -ESRCH) {
		*err = -ENOEXEC; /* gone */
		return NULL;
	}
	if (!n) {
		memset(&key, 0, sizeof(key));
		key.dev = st.st_dev;
		key.ino = st.st_ino;
		key.size = st.st_size;
		key.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		HASH_FIND(hh, c->bins, &key, sizeof(key), e);
		if (e) {
			*err = e->bin ? 0 : -ENOEXEC;
			if (e->bin)
				e->bin->refs++;
			return e->bin;
		}
	}
	n = procfs_readlink(exe, sizeof(exe), "%d/exe", pid);
	/* not allowed to look (another user's, without CAP_SYS_PTRACE):
	 * said as such, not taken for "not Go" */
	*err = n == -EACCES || n == -EPERM ? -EPERM : -ENOEXEC;
	if (n < 0)
		return NULL;
	*err = -ENOEXEC;
	fd = procfs_open_mapped(pid, exe);
	if (fd < 0 || fstat(fd, &st)) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	memset(&key, 0, sizeof(key));
	key.dev = st.st_dev;
	key.ino = st.st_ino;
	key.size = st.st_size;
	key.mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	HASH_FIND(hh, c->bins, &key, sizeof(key), e);
	if (e) {
		close(fd);
		*err = e->bin ? 0 : -ENOEXEC;
		if (e->bin)
			e->bin->refs++;
		return e->bin;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		close(fd);
		*err = -ENOMEM;
		return NULL;
	}
	e->key = key;
	e->bin = load(fd, err);
	if (*err == -ENOMEM) {
		free(e);
		return NULL;
	}
	HASH_ADD(hh, c->bins, key, sizeof(e->key), e);
	if (!e->bin)
		return NULL;
	e->bin->refs++;
	*err = 0;
	return e->bin;
}

#define MAX_NOT_GO 4096

void gobins__prune(struct gobins *c)
{
	struct binent *e, *tmp;
	size_t not_go = 0;

	HASH_ITER(hh, c->bins, e, tmp)
		not_go += !e->bin;
	HASH_ITER(hh, c->bins, e, tmp) {
		/* only the cache's own reference: no process of ours runs it */
		if ((e->bin && e->bin->refs == 1) || (!e->bin && not_go > MAX_NOT_GO)) {
			HASH_DEL(c->bins, e);
			gobin_put(e->bin);
			free(e);
		}
	}
}

bool go_is_runtime_func(const char *name)
{
	/* runtime.showfuncinfo: the runtime's own frames, but its exported
	 * functions (runtime.Goexit, runtime.Gosched...) are shown */
	if (!strncmp(name, "runtime/internal/", 17) || !strncmp(name, "internal/runtime/", 17))
		return true;
	if (strncmp(name, "runtime.", 8))
		return false;
	return !(name[8] >= 'A' && name[8] <= 'Z');
}

int gobin_symbolize(struct gobin *b, uint64_t pc, bool ret, const struct go_sym **frames)
{
	struct go_frame fr[MAX_INLINE];
	uint64_t key = pc << 1 | ret;
	struct go_pcsyms *p;
	struct go_func f;
	bool wrapper;
	int n, i;

	HASH_FIND(hh, b->pcs, &key, sizeof(key), p);
	if (p) {
		*frames = p->frames;
		return p->n;
	}
	n = b->pcln ? gopclntab__frames(b->pcln, ret ? pc - 1 : pc, fr, MAX_INLINE) : -ENOENT;
	wrapper = n > 0 && b->funcid_wrapper >= 0 &&
		  !gopclntab__find(b->pcln, ret ? pc - 1 : pc, &f) && f.funcid == b->funcid_wrapper;
	p = calloc(1, sizeof(*p) + (n > 0 ? n : 1) * sizeof(p->frames[0]));
	if (!p)
		return -ENOMEM;
	p->key = key;
	p->n = n > 0 ? n : 1;
	for (i = 0; i < n; i++) {
		p->frames[i] = (struct go_sym){
			.func = gobin_clean(b, fr[i].func),
			.file = gobin_clean(b, fr[i].file),
			.line = fr[i].line,
			.inlined = fr[i].inlined,
			.runtime = fr[i].func && go_is_runtime_func(fr[i].func),
			/* the physical function is the last frame */
			.wrapper = wrapper && i == n - 1,
		};
	}
	HASH_ADD(hh, b->pcs, key, sizeof(p->key), p);
	*frames = p->frames;
	return p->n;
}
