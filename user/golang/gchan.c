// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The channels goroutines wait on: g.waiting -> sudog.c -> hchan. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "golang/gview_int.h"
#include "proc/procfs.h"

#define NAME_READ 128

static int chan_dir(const char *reason)
{
	if (!reason)
		return 0;
	if (!strcmp(reason, "chan send"))
		return 1;
	if (!strcmp(reason, "chan receive"))
		return 2;
	return 0;
}

/* The hchan of each goroutine blocked in a channel operation:
 * g.waiting -> sudog.c. */
static int read_sudogs(struct builder *bd)
{
	const struct go_layout *L = &bd->b->layout;
	const struct go_snapshot *s = bd->s;
	struct procfs_iov *iov;
	size_t i, n = 0, *which;
	int err = 0;

	if (L->sudog_c == GO_NOFIELD)
		return 0;
	iov = calloc(s->n ? s->n : 1, sizeof(*iov));
	which = calloc(s->n ? s->n : 1, sizeof(*which));
	if (!iov || !which) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < s->n; i++) {
		const struct go_g *g = &s->gs[i];

		if (bd->group_of[i] == UINT32_MAX || !g->waiting ||
		    !chan_dir(gview_reason(bd, g)))
			continue;
		iov[n] = (struct procfs_iov){ .addr = g->waiting + L->sudog_c,
					      .buf = &bd->chan_of[i], .len = 8 };
		which[n++] = i;
	}
	if (n)
		procfs_read_many(bd->pid, iov, n);
	for (i = 0; i < n; i++)
		if (!iov[i].ok)
			bd->chan_of[which[i]] = 0;
out:
	free(iov);
	free(which);
	return err;
}

/* A Go runtime name (1.17+: a flag byte, a uvarint length, the bytes)
 * at runtime address @addr; *extra_star: drop its leading '*'. */
static char *read_name(struct builder *bd, uint64_t addr, bool extra_star)
{
	uint8_t buf[NAME_READ];
	size_t len = 0, i, off = 1;
	char *s;

	if (procfs_read_mem(bd->pid, addr, buf, sizeof(buf)))
		return NULL;
	for (i = 0; i < 4; i++) {
		len |= (size_t)(buf[off] & 0x7f) << (7 * i);
		if (!(buf[off++] & 0x80))
			break;
	}
	if (!len || off + len > sizeof(buf))
		return NULL;
	if (extra_star && buf[off] == '*') {
		off++;
		len--;
	}
	s = strndup((const char *)buf + off, len);
	/* from the process's memory: printable, whatever it holds */
	for (i = 0; s && s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			s[i] = '?';
	return s;
}

static int keep_string(struct gview *v, char *s)
{
	char **grown = realloc(v->strings, (v->nstrings + 1) * sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	v->strings = grown;
	v->strings[v->nstrings++] = s;
	return 0;
}

/* The element type's name of a channel: its _type.str, a nameOff from
 * the module's types; tflagExtraStar (2) says the name has a '*' too
 * many. NULL when the layout does not say where. */
static const char *elem_type(struct builder *bd, uint64_t type, uint64_t types)
{
	const struct go_layout *L = &bd->b->layout;
	uint8_t tflag = 0;
	int32_t str = 0;
	char *name;

	if (!type || !types || L->type_str == GO_NOFIELD || L->type_tflag == GO_NOFIELD ||
	    procfs_read_mem(bd->pid, type + L->type_str, &str, sizeof(str)) ||
	    procfs_read_mem(bd->pid, type + L->type_tflag, &tflag, 1))
		return NULL;
	name = read_name(bd, types + (uint32_t)str, tflag & 2);
	if (name && keep_string(bd->out, name)) {
		free(name);
		return NULL;
	}
	return name;
}

struct type_name {
	UT_hash_handle hh;
	uint64_t type;
	const char *name;
};

static int chan_index(const struct gview *v, uint64_t addr)
{
	size_t lo = 0, hi = v->nchannels;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (v->channels[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < v->nchannels && v->channels[lo].addr == addr ? (int)lo : -1;
}

/* One hchan: length, capacity, closed, element type. */
static void read_hchan(struct builder *bd, struct bw_go_channel *c, const uint8_t *raw,
		       uint64_t types, struct type_name **names)
{
	const struct go_layout *L = &bd->b->layout;
	struct type_name *tn;
	uint64_t type;
	uint32_t closed;

	memcpy(&c->len, raw + L->hchan_qcount, 8);
	memcpy(&c->cap, raw + L->hchan_dataqsiz, 8);
	memcpy(&closed, raw + L->hchan_closed, 4);
	c->closed = closed;
	if (L->hchan_elemtype == GO_NOFIELD)
		return;
	memcpy(&type, raw + L->hchan_elemtype, 8);
	HASH_FIND(hh, *names, &type, sizeof(type), tn);
	if (!tn && (tn = calloc(1, sizeof(*tn)))) {
		tn->type = type;
		tn->name = elem_type(bd, type, types);
		HASH_ADD(hh, *names, type, sizeof(tn->type), tn);
	}
	c->elem_type = tn ? tn->name : NULL;
}

static size_t hchan_bytes(const struct go_layout *L)
{
	uint32_t offs[] = { L->hchan_qcount, L->hchan_dataqsiz, L->hchan_closed, L->hchan_elemtype };
	size_t i, max = 0;

	for (i = 0; i < 4; i++)
		if (offs[i] != GO_NOFIELD && offs[i] + 8 > max)
			max = offs[i] + 8;
	return max;
}

/* The distinct channels waited on, sorted by address, read in a batch. */
static int read_hchans(struct builder *bd)
{
	const struct go_layout *L = &bd->b->layout;
	size_t i, n = 0, sz = hchan_bytes(L);
	struct type_name *names = NULL, *tn, *tmp;
	struct gview *v = bd->out;
	struct procfs_iov *iov = NULL;
	uint64_t *addrs, types = 0;
	uint8_t *raw = NULL;
	int err = -ENOMEM;

	if (L->hchan_qcount == GO_NOFIELD || L->hchan_dataqsiz == GO_NOFIELD ||
	    L->hchan_closed == GO_NOFIELD)
		return 0;
	addrs = malloc((bd->s->n ? bd->s->n : 1) * sizeof(*addrs));
	if (!addrs)
		return -ENOMEM;
	for (i = 0; i < bd->s->n; i++)
		if (bd->chan_of[i])
			addrs[n++] = bd->chan_of[i];
	qsort(addrs, n, sizeof(*addrs), gview_cmp_u64);
	for (i = 0, v->nchannels = 0; i < n; i++)
		if (!v->nchannels || addrs[i] != addrs[v->nchannels - 1])
			addrs[v->nchannels++] = addrs[i];
	n = v->nchannels;
	v->channels = calloc(n ? n : 1, sizeof(*v->channels));
	iov = calloc(n ? n : 1, sizeof(*iov));
	raw = malloc((n ? n : 1) * sz);
	if (!v->channels || !iov || !raw)
		goto out;
	for (i = 0; i < n; i++)
		iov[i] = (struct procfs_iov){ .addr = addrs[i], .buf = raw + i * sz, .len = sz };
	if (n)
		procfs_read_many(bd->pid, iov, n);
	if (L->firstmoduledata && L->moduledata_types != GO_NOFIELD)
		procfs_read_mem(bd->pid, L->firstmoduledata + bd->bias + L->moduledata_types,
				&types, 8);
	for (i = 0; i < n; i++) {
		v->channels[i].addr = addrs[i];
		if (iov[i].ok)
			read_hchan(bd, &v->channels[i], raw + i * sz, types, &names);
	}
	err = 0;
out:
	HASH_ITER(hh, names, tn, tmp) {
		HASH_DEL(names, tn);
		free(tn);
	}
	free(addrs);
	free(iov);
	free(raw);
	return err;
}

struct pair {
	uint32_t group;
	int32_t chan;
};

static int cmp_pair(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	return x->chan < y->chan ? -1 : x->chan > y->chan;
}

/* Who waits on each channel, and the channel each group waits on most. */
int gview_assign_channels(struct builder *bd)
{
	struct gview *v = bd->out;
	struct pair *p;
	size_t i, n = 0, run;

	p = malloc((bd->s->n ? bd->s->n : 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	for (i = 0; i < bd->s->n; i++) {
		int c = bd->chan_of[i] ? chan_index(v, bd->chan_of[i]) : -1;

		if (c < 0)
			continue;
		if (chan_dir(gview_reason(bd, &bd->s->gs[i])) == 1)
			v->channels[c].send_waiting++;
		else
			v->channels[c].recv_waiting++;
		p[n++] = (struct pair){ bd->group_of[i], c };
	}
	qsort(p, n, sizeof(*p), cmp_pair);
	/* member_n is free now: each group's longest run so far */
	memset(bd->member_n, 0, v->v.ngroups * sizeof(*bd->member_n));
	for (i = 0; i < n; i += run) {
		struct bw_go_group *gr = &v->groups[p[i].group];

		for (run = 1; i + run < n && !cmp_pair(&p[i], &p[i + run]); run++)
			;
		gr->nchannels++;
		if (run > bd->member_n[p[i].group]) {
			bd->member_n[p[i].group] = run;
			gr->channel = &v->channels[p[i].chan];
		}
	}
	free(p);
	return 0;
}


int gview_read_channels(struct builder *bd)
{
	int err = read_sudogs(bd);

	return err ? err : read_hchans(bd);
}
