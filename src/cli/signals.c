/*
 * signals.c - leave no temporary file behind on SIGINT, SIGTERM or SIGHUP.
 *
 * Files are written to a temporary name and renamed into place; the name
 * being written is registered here in a slot, and the handler removes it
 * before the signal takes its default course. unlinkat() is
 * async-signal-safe; the name lives in a static buffer, published with an
 * atomic flag so the handler never reads a half-written name.
 *
 * Several threads may write at once (`dedup clean -j N`), one slot each,
 * and the handler runs on whichever thread the signal picked. It cannot
 * just remove every registered name: another thread may be between
 * registering a name and creating the file, and would create it after the
 * unlink, just before the process dies. So the handler first raises
 * `dying` (after which no slot can be taken), removes the files of its own
 * thread (interrupted, they will never be finished), and waits for the
 * other threads to finish the file they are writing: renamed into place,
 * or removed on error. Writing one file never blocks for long; should it,
 * the wait ends after a second and the names are removed anyway.
 */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define WAIT_MS 1000

static char tmp_name[CLI_TMP_SLOTS][PATH_MAX + 16];
static int tmp_dir[CLI_TMP_SLOTS];
static atomic_int tmp_live[CLI_TMP_SLOTS];
static atomic_int dying;
/* the slots the calling thread holds: the handler's own are interrupted */
static _Thread_local atomic_uint_least32_t held;

_Static_assert(CLI_TMP_SLOTS <= 32, "slots are bits of a 32-bit mask");

/* Is a slot of another thread still being written? */
static int others_writing(void)
{
	uint_least32_t mine = atomic_load(&held);
	int i;

	for (i = 0; i < CLI_TMP_SLOTS; i++)
		if (!(mine >> i & 1) && atomic_load(&tmp_live[i]))
			return 1;
	return 0;
}

static void on_signal(int sig)
{
	const struct timespec ms = { 0, 1000000 };
	int i, waited;

	atomic_store(&dying, 1);
	for (waited = 0; waited < WAIT_MS && others_writing(); waited++)
		nanosleep(&ms, NULL);
	for (i = 0; i < CLI_TMP_SLOTS; i++)
		if (atomic_load(&tmp_live[i]))
			unlinkat(tmp_dir[i], tmp_name[i], 0);
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

void cli_tmp_set_at(int slot, int dirfd, const char *name)
{
	size_t n = strlen(name);

	atomic_store(&tmp_live[slot], 0);
	if (n < sizeof(tmp_name[slot])) {
		memcpy(tmp_name[slot], name, n + 1);
		tmp_dir[slot] = dirfd;
		atomic_fetch_or(&held, (uint_least32_t)1 << slot);
		atomic_store(&tmp_live[slot], 1);
	}
	/* else too long to register: it is removed on errors only */

	/*
	 * Sequentially consistent: either the handler sees the slot live
	 * (and waits for it), or this sees `dying` (and creates nothing).
	 * Then this thread has nothing left to do: going on would only
	 * print errors for the files it can no longer write.
	 */
	if (atomic_load(&dying)) {
		cli_tmp_clear(slot);
		for (;;)
			pause();
	}
}

void cli_tmp_set(int slot, const char *path)
{
	cli_tmp_set_at(slot, AT_FDCWD, path);
}

void cli_tmp_clear(int slot)
{
	atomic_store(&tmp_live[slot], 0);
	atomic_fetch_and(&held, ~((uint_least32_t)1 << slot));
}
