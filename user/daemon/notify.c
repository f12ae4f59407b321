// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libsystemd's sd_notify rather than a datagram of our own: it knows the
 * socket's forms (abstract names, vsock) and $WATCHDOG_PID.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include "base/log.h"
#include "daemon/notify.h"

static void say(const char *what)
{
	int r = sd_notify(0, what);

	if (r < 0)
		bw_dbg("cannot tell the service manager '%s': %s", what, strerror(-r));
}

void bw_notify_ready(const char *status)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
	say(msg);
}

void bw_notify_status(const char *status)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "STATUS=%s", status);
	say(msg);
}

uint64_t bw_notify_watchdog_ns(void)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec * 1000 / 2;
}

void bw_notify_watchdog(void)
{
	say("WATCHDOG=1");
}

void bw_notify_stopping(void)
{
	say("STOPPING=1");
}
