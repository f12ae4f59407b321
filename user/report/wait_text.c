// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* What a thread waits on, in words: text reports and log lines. */
#include <inttypes.h>
#include "report/fmt.h"
#include "report/wait_text.h"

static void fds_text(struct bw_strbuf *sb, const struct bw_detail *d)
{
	uint32_t i;

	for (i = 0; i < d->set.n; i++) {
		bw_sb_printf(sb, "%sfd %d ", i ? ", " : "", d->set.fds[i].fd);
		bw_sb_esc(sb, d->set.fds[i].target);
	}
}

static void futex_text(struct bw_strbuf *sb, const struct bw_detail *d)
{
	char op[32];

	if (d->futex.kind == BW_FUTEX_WAITV) {
		bw_sb_printf(sb, "futex_waitv");
		return;
	}
	bw_futex_op_name(d->futex.op, op, sizeof(op));
	if (d->futex.kind == BW_FUTEX_CONDVAR)
		bw_sb_printf(sb, "condvar %#" PRIx64 " (futex %#" PRIx64 " %s)",
			     d->futex.condvar ? d->futex.condvar : d->futex.addr, d->futex.addr, op);
	else
		bw_sb_printf(sb, "%s %#" PRIx64 " %s", bw_futex_kind_name(d->futex.kind),
			     d->futex.addr, op);
}

/* "mutex 0x... FUTEX_WAIT_PRIVATE", "epoll fd 7: fd 5 socket:[...]"... */
void bw_wait_text(const struct bw_detail *d, char *buf, size_t len)
{
	struct bw_strbuf sb = { .buf = buf, .len = len };

	buf[0] = 0;
	switch (d->kind) {
	case BW_DETAIL_FUTEX:
		futex_text(&sb, d);
		break;
	case BW_DETAIL_FD:
		bw_sb_printf(&sb, "fd %d ", d->fd.fd);
		bw_sb_esc(&sb, d->fd.target);
		break;
	case BW_DETAIL_FDSET:
		bw_sb_printf(&sb, "%s: ", d->set.call);
		fds_text(&sb, d);
		break;
	case BW_DETAIL_EPOLL:
		bw_sb_printf(&sb, "epoll fd %d: ", d->set.epfd);
		fds_text(&sb, d);
		break;
	case BW_DETAIL_CHILD:
		bw_sb_printf(&sb, "for pid %d", d->child.pid);
		break;
	case BW_DETAIL_NONE:
		break;
	}
	if (d->io && !buf[0]) {
		if (d->syscall)
			bw_sb_printf(&sb, "in %s", d->syscall);
		else
			bw_sb_printf(&sb, "page fault or other kernel wait");
	}
}
