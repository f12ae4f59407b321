/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_SIGNALS_H
#define BW_SIGNALS_H

/*
 * SIGINT and SIGTERM (stop), SIGHUP (a reload with --config, else a
 * stop) and SIGUSR1 (write the whole-run outputs now, go on) as an fd
 * for the event loop (signalfd): no handler and no global flag. Once a
 * stop has been read the signals are unblocked again, so a second Ctrl-C
 * during the final report kills at once. A closed stdout pipe becomes a
 * write error (EPIPE), not a silent death.
 */
int bw_signals_open(void);
/* From the start of a run: SIGUSR1 waits (blocked) for the signalfd
 * instead of killing the process while it sets up; in --now, forever. */
void bw_signals_defer(void);
/* The signal that arrived (after the fd polled readable), or 0. SIGHUP
 * and SIGUSR1 leave the others blocked: bw_signals_unblock() if a SIGHUP
 * stops. */
int bw_signals_take(int fd);
void bw_signals_unblock(void);
/* Stop watching; a signal still pending is taken (returned, non-zero)
 * rather than delivered. */
int bw_signals_close(int fd);

#endif
