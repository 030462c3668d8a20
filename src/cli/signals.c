/*
 * signals.c - leave no temporary file behind on SIGINT or SIGTERM.
 *
 * Files are written to a temporary name and renamed into place; the name
 * being written is registered here, and the handler removes it before the
 * signal takes its default course. unlink() is async-signal-safe; the path
 * lives in a static buffer, switched with a sig_atomic_t so the handler
 * never reads a half-written name.
 */
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define SLOTS 2

static char tmp_path[SLOTS][PATH_MAX + 16];
static volatile sig_atomic_t tmp_live[SLOTS];

static void on_signal(int sig)
{
	int i;

	for (i = 0; i < SLOTS; i++)
		if (tmp_live[i])
			unlink(tmp_path[i]);
	signal(sig, SIG_DFL);
	raise(sig);
}

void cli_signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

void cli_tmp_set(int slot, const char *path)
{
	size_t n = strlen(path);

	tmp_live[slot] = 0;
	if (n >= sizeof(tmp_path[slot]))
		return; /* too long to register: it is removed on errors only */
	memcpy(tmp_path[slot], path, n + 1);
	tmp_live[slot] = 1;
}

void cli_tmp_clear(int slot)
{
	tmp_live[slot] = 0;
}
