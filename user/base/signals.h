/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_SIGNALS_H
#define BW_SIGNALS_H

/*
 * SIGINT, SIGTERM and SIGHUP as an fd for the event loop (signalfd): no
 * handler and no global flag. Once SIGINT or SIGTERM has been read they
 * are unblocked again, so a second Ctrl-C during the final report kills
 * at once; SIGHUP stays blocked (a reload, again and again). A closed
 * stdout pipe becomes a write error (EPIPE), not a silent death.
 */
int bw_signals_open(void);
/* The signal that arrived (after the fd polled readable), or 0. A
 * SIGHUP leaves the others blocked: bw_signals_unblock() if it stops. */
int bw_signals_take(int fd);
void bw_signals_unblock(void);
/* Stop watching; a signal still pending is taken (returned, non-zero)
 * rather than delivered. */
int bw_signals_close(int fd);

#endif
