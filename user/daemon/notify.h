/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_NOTIFY_H
#define BW_NOTIFY_H

#include <stdint.h>

/*
 * The service manager's side (systemd's sd_notify protocol, through
 * libsystemd): READY once tracing runs, WATCHDOG pings, a STATUS line,
 * STOPPING. Without $NOTIFY_SOCKET (not run by systemd as Type=notify)
 * each is a no-op.
 */

/* Tracing runs: READY=1 with @status. */
void bw_notify_ready(const char *status);
/* STATUS=@status. */
void bw_notify_status(const char *status);
/* How often to ping the watchdog (half its timeout), in ns; 0: none. */
uint64_t bw_notify_watchdog_ns(void);
/* WATCHDOG=1. */
void bw_notify_watchdog(void);
/* STOPPING=1. */
void bw_notify_stopping(void);

#endif
