/* cli/session.c — what one run of the tool holds: its store, opened and locked once, and what the map layer may call back. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "cli/cli.h"
#include "cli/attach.h"
#include "cli/state.h"
#include "maps/clock.h"

/* ---- what the map layer may call back: attach programs, progress on a terminal ---- */

static int hook_attach(int ifindex)
{
	int prog_fd = prog_open(PROG_NIC_INGRESS), err;
	if (prog_fd < 0)
		return prog_fd;
	err = nic_attach(ifindex, prog_fd);
	close(prog_fd);
	return err;
}

static int hook_detach(int ifindex)
{
	return nic_detach(ifindex);
}

/*
 * A progress bar on stderr, only on a terminal and only for phases that last (300 ms; VPCBPF_PROGRESS_MS
 * moves the threshold, 0 draws every phase: tests/cli/progress.bats). save draws its own through it.
 */
void hook_progress(const char *phase, size_t done, size_t total)
{
	static double start, threshold = -1;
	static const char *last_phase;
	static bool shown;
	static int tty = -1;

	if (tty < 0)
		tty = isatty(STDERR_FILENO);
	if (!tty || !total)
		return;
	if (threshold < 0) {
		const char *env = getenv("VPCBPF_PROGRESS_MS");
		threshold = env && *env ? atof(env) : 300;
	}
	if (phase != last_phase) {
		last_phase = phase;
		start = clock_ms();
		shown = false;
	}
	if (!shown && clock_ms() - start < threshold)
		return;
	shown = true;
	int width = 40, fill = (int)((double)done / (double)total * width);
	fprintf(stderr, "\r%s [%.*s%*s] %zu/%zu", phase, fill, "########################################",
		width - fill, "", done, total);
	if (done >= total)
		fputc('\n', stderr);
}

const struct txn_hooks cli_txn_hooks = {
	.attach = hook_attach,
	.detach = hook_detach,
	.progress = hook_progress,
};

/* ---- the store, opened once per process ---- */

static struct store the_store;
static bool store_opened;

static void store_failed(int err, const char *what)
{
	char path[PATH_MAX + 64];

	if (err == -EACCES || err == -EPERM) {
		fail_env("permission denied %s %s: vpcbpf needs root (CAP_BPF, CAP_NET_ADMIN)", what, opts.pin_dir);
		return;
	}
	if (err != -ENOENT) {
		fail_env_errno(err, "cannot %s %s", what, opts.pin_dir);
		return;
	}
	for (int i = 0; i < SM__COUNT; i++) {
		snprintf(path, sizeof(path), "%s/%s", opts.pin_dir, store_map_names[i]);
		if (access(path, F_OK)) {
			fail_env("the datapath is not loaded at %s (%s missing): run 'vpcbpf dp up' first", opts.pin_dir,
				 store_map_names[i]);
			return;
		}
	}
	fail_env("the datapath is not loaded at %s: run 'vpcbpf dp up' first", opts.pin_dir);
}

struct store *store_get(bool lock)
{
	int err;

	if (!store_opened) {
		if ((err = store_open(&the_store, opts.pin_dir))) {
			store_failed(err, "opening the maps under");
			return NULL;
		}
		store_opened = true;
	}
	if (lock && (err = store_lock(&the_store))) {
		store_failed(err, "lock");
		return NULL;
	}
	/*
	 * A transaction is in flight, or a command killed inside one left a journal:
	 * wait for the lock and finish it (or throw its build away) first. A reader
	 * gives the lock back at once (monitor runs for hours).
	 */
	if (txn_pending(&the_store)) {
		bool had_lock = the_store.lock_fd >= 0;
		if ((err = store_lock(&the_store))) {
			store_failed(err, "lock");
			return NULL;
		}
		if (txn_recover(&the_store, &cli_txn_hooks) < 0)
			return NULL;
		if (!lock && !had_lock) {
			close(the_store.lock_fd);
			the_store.lock_fd = -1;
		}
	}
	return &the_store;
}

struct store *store_get_locked(int lock_fd)
{
	/* flock belongs to the open file: a second open of the dir would wait for ourselves */
	if (!store_opened || the_store.lock_fd < 0) {
		struct store *s = store_opened ? &the_store : NULL;
		if (!s) {
			int err = store_open(&the_store, opts.pin_dir);
			if (err) {
				store_failed(err, "opening the maps under");
				return NULL;
			}
			store_opened = true;
		}
		the_store.lock_fd = dup(lock_fd);
	}
	return store_get(true);
}

struct store *store_locked(void)
{
	return store_opened && the_store.lock_fd >= 0 ? &the_store : NULL;
}

void store_release(void)
{
	if (store_opened)
		store_close(&the_store);
	store_opened = false;
}
