/* SPDX-License-Identifier: MIT */
/*
 * gisad: main, start-up, signals and shut-down.
 *
 * Life of the daemon:
 *
 *   load config -> [fork, unless --foreground] -> host, group, state dir
 *   -> restore every VM with a current checkpoint -> listen (or take the
 *   socket systemd passed) -> migration listener, if configured -> READY=1
 *   -> loop
 *   SIGHUP:  reload gisad.conf (RELOADING=1 ... READY=1); keys that need a
 *            restart are reported, not applied; a new migration TLS context
 *            for new connections
 *   SIGTERM, SIGINT: STOPPING=1 -> checkpoint every VM -> leave the loop
 *            -> close connections, remove the socket we bound -> exit
 *            (status 1 if a checkpoint failed)
 *
 * The next start restores the VMs with identical digests.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>
#include <systemd/sd-daemon.h>

#include "dwq.h"
#include "gisad.h"
#include "log.h"
#include "mig.h"
#include "par.h"

uint64_t gisad_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t gisad_unix_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- signals and timers ------------------------------------------------- */

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct gisad *d = arg;
	int failed;

	if (d->stopping)
		return;
	d->stopping = true;
	sd_notify(0, "STOPPING=1");
	log_notice("%s: checkpointing %u VM%s, then exiting", sig == SIGTERM ? "SIGTERM" : "SIGINT",
		   d->nr_vms, d->nr_vms == 1 ? "" : "s");
	failed = store_checkpoint_all(d);
	if (failed) {
		log_err("%d VM%s could not be checkpointed", failed, failed == 1 ? "" : "s");
		d->exit_status = 1;
	}
	event_base_loopbreak(d->base);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct gisad *d = arg;
	static struct gisad_config next;
	struct conf_errors errs;
	struct mig_reload mr;
	char why[768];
	int r;

	if (!d->config_path) {
		log_notice("SIGHUP: running on built-in defaults, no file to reload");
		return;
	}
	sd_notify(0, "RELOADING=1");
	r = conf_load(d->config_path, &next, &errs);
	if (r) {
		if (r < 0)
			log_err("SIGHUP: %s: %s: configuration kept", d->config_path, strerror(-r));
		for (size_t i = 0; i < errs.n; i++) {
			char line[768];

			conf_errors_format(d->config_path, &errs.e[i], line, sizeof(line));
			log_err("SIGHUP: %s", line);
		}
		if (r > 0)
			log_err("SIGHUP: %d error%s: configuration kept", r, r == 1 ? "" : "s");
		conf_errors_free(&errs);
		sd_notify(0, "READY=1");
		return;
	}
	conf_errors_free(&errs);
	/* What can fail first, so that a reload applies all of the file or none of it. */
	r = mig_reload_prepare(d, &next, &mr, why, sizeof(why));
	if (!r && strcmp(d->cfg.group, next.group) != 0) {
		r = ctl_apply_group(d, next.group, why, sizeof(why));
		if (r)
			mig_reload_abort(&mr);
	}
	if (r) {
		log_err("SIGHUP: %s: configuration kept", why);
		sd_notify(0, "READY=1");
		return;
	}
	conf_reload(&d->cfg, &next);
	log_set_level(d->cfg.log_level);
	gisad_kicker_update(d);
	mig_reload_commit(d, &mr);
	log_info("SIGHUP: configuration reloaded from %s", d->config_path);
	sd_notify(0, "READY=1");
}

static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

/* The optional wall-clock kicker: fire every armed GISA kicker timer. */
static void on_kicker(evutil_socket_t fd, short what, void *arg)
{
	struct gisad *d = arg;

	for (struct vmrec *rec = d->vms; rec; rec = rec->next) {
		struct gisa_state st;

		/* Frozen by its migration: its timer waits for the outcome. */
		if (vmreg_frozen(rec))
			continue;
		gisa_state_read(rec->vm, &st);
		if (!st.gisa.timer_armed)
			continue;
		(void)gisa_gisa_timer_fire(rec->vm);
		vmreg_drain(d, rec);
	}
}

void gisad_kicker_update(struct gisad *d)
{
	uint32_t us = d->cfg.kicker_interval_us;
	struct timeval tv = { .tv_sec = us / 1000000u, .tv_usec = us % 1000000u };

	if (!d->kicker_ev)
		d->kicker_ev = event_new(d->base, -1, EV_PERSIST, on_kicker, d);
	if (!d->kicker_ev)
		return;
	event_del(d->kicker_ev);
	if (us)
		event_add(d->kicker_ev, &tv);
}

/* ---- start-up ----------------------------------------------------------- */

static int setup_signals(struct gisad *d)
{
	d->sig_term = evsignal_new(d->base, SIGTERM, on_stop, d);
	d->sig_int = evsignal_new(d->base, SIGINT, on_stop, d);
	d->sig_hup = evsignal_new(d->base, SIGHUP, on_hup, d);
	if (!d->sig_term || !d->sig_int || !d->sig_hup)
		return -ENOMEM;
	event_add(d->sig_term, NULL);
	event_add(d->sig_int, NULL);
	event_add(d->sig_hup, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static void setup_watchdog(struct gisad *d)
{
	uint64_t usec = 0;
	struct timeval tv;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return;
	/* Half the period, as sd_watchdog_enabled(3) advises. */
	usec /= 2;
	tv.tv_sec = (time_t)(usec / 1000000u);
	tv.tv_usec = (suseconds_t)(usec % 1000000u);
	d->watchdog_ev = event_new(d->base, -1, EV_PERSIST, on_watchdog, d);
	if (d->watchdog_ev) {
		event_add(d->watchdog_ev, &tv);
		log_info("watchdog: WATCHDOG=1 every %llu us", (unsigned long long)usec);
	}
}

static void free_event(struct event **ev)
{
	if (*ev)
		event_free(*ev);
	*ev = NULL;
}

/*
 * OpenSSL sets up its default provider at the first digest, and a failure
 * there (out of memory) lasts: every later digest would fail with -EIO
 * until a restart.  One digest now makes start-up fail instead.
 */
static int crypto_ready(void)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	return EVP_Digest("", 0, md, &n, EVP_sha256(), NULL) && n == 32 ? 0 : -EIO;
}

static int run(struct gisad *d, int ready_fd)
{
	struct gisa_host_config hc = { .nisc = (uint8_t)d->cfg.nisc };
	char msg[512] = "";
	int r;

	d->start_ns = gisad_now_ns();
	d->listen_fd = -1;
	d->base = event_base_new();
	/*
	 * Three priorities (gisad.h): a migration's steps first, then its
	 * link with everything else, control requests last, so that a
	 * switchover is not queued behind a burst of requests.
	 */
	if (!d->base || event_base_priority_init(d->base, GISAD_NR_PRIOS)) {
		log_err("event_base_new failed");
		return 1;
	}
	r = crypto_ready();
	if (r) {
		log_err("OpenSSL cannot compute a SHA-256 digest: %s", strerror(-r));
		goto out;
	}
	r = dwq_init(d);
	if (r) {
		log_err("the durable-write queue: %s", strerror(-r));
		goto out;
	}
	r = gisa_host_new(&hc, &d->host);
	if (r) {
		log_err("creating the host: %s", strerror(-r));
		goto out;
	}
	r = ctl_apply_group(d, d->cfg.group, msg, sizeof(msg));
	if (r)
		log_err("%s", msg);
	if (!r) {
		r = store_init(d, msg, sizeof(msg));
		if (r)
			log_err("state directory: %s", msg);
	}
	if (!r)
		r = setup_signals(d);
	if (r)
		goto out;
	r = mig_recover(d);
	if (r) {
		log_err("migration records in %s/migrations cannot be settled: %s; gisad does not "
			"start, so that no VM that migrated away is restored here", d->cfg.state_dir,
			strerror(-r));
		goto out;
	}
	store_restore_all(d);
	mig_recover_after(d);
	r = ctl_listen(d);
	if (!r)
		r = mig_listen(d);
	if (r)
		goto out;
	setup_watchdog(d);
	gisad_kicker_update(d);

	sd_notifyf(0, "READY=1\nSTATUS=serving %u VM%s", d->nr_vms, d->nr_vms == 1 ? "" : "s");
	log_info("%s ready: %u VM%s, state in %s", GISAD_VERSION_STRING, d->nr_vms,
		 d->nr_vms == 1 ? "" : "s", d->cfg.state_dir);
	if (ready_fd >= 0) {
		(void)!write(ready_fd, "R", 1);
		close(ready_fd);
		ready_fd = -1;
	}
	event_base_dispatch(d->base);
	log_info("%s stopped", GISAD_VERSION_STRING);
out:
	if (r)
		d->exit_status = 1;
	if (ready_fd >= 0)
		close(ready_fd);
	mig_close_all(d);
	dwq_stop(d);
	migin_unmoved_free(d);
	ctl_close_all(d);
	vmreg_free_all(d);
	job_free_all(d);
	gisa_host_free(d->host);
	free_event(&d->sig_term);
	free_event(&d->sig_int);
	free_event(&d->sig_hup);
	free_event(&d->watchdog_ev);
	free_event(&d->kicker_ev);
	mlink_settle(d);
	event_base_free(d->base);
	par_stop();
	return d->exit_status;
}

/*
 * Without --foreground: detach, and let the parent exit only once the
 * daemon is listening (0) or has failed (1), so scripts can rely on it.
 */
static int daemonize(int *ready_fd)
{
	int p[2];
	pid_t pid;
	int nullfd;
	char c;

	if (pipe2(p, O_CLOEXEC)) {
		log_err("pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		log_err("fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		_exit(read(p[0], &c, 1) == 1 && c == 'R' ? 0 : 1);
	}
	close(p[0]);
	if (setsid() < 0)
		log_warning("setsid: %s", strerror(errno));
	if (chdir("/"))
		log_warning("chdir /: %s", strerror(errno));
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nullfd >= 0) {
		dup2(nullfd, STDIN_FILENO);
		dup2(nullfd, STDOUT_FILENO);
		close(nullfd);
	}
	*ready_fd = p[1];
	return 0;
}

/* ---- command line ------------------------------------------------------- */

/* The control verbs, from the handler table (docs/CONTROL-PROTOCOL.md). */
static void print_verbs(FILE *out)
{
	size_t n;
	const struct verb *v = verb_table(&n);

	fprintf(out, "\ncontrol verbs (docs/CONTROL-PROTOCOL.md):\n");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  %-20s %s%s\n", v[i].name, v[i].help,
			v[i].flags & VERB_FD ? " [fd]" : "");
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: gisad [--config FILE] [--foreground]\n"
		"       gisad --check-config FILE\n"
		"       gisad [--config FILE] --dump-config\n"
		"\n"
		"  -c, --config FILE        read FILE (default %s, if it exists)\n"
		"  -f, --foreground         do not detach (for systemd and tests)\n"
		"      --check-config FILE  validate FILE: file:line, key and value of each error\n"
		"      --dump-config        print the effective configuration\n"
		"  -h, --help               this text\n"
		"  -V, --version            the version\n"
		"\n"
		"Signals: SIGTERM/SIGINT checkpoint every VM and exit; SIGHUP reloads the\n"
		"configuration (socket, state_dir, nisc and migration_listen take effect on\n"
		"restart; the migration TLS files and allow-list are read again).\n"
		"\n",
		GISAD_DEFAULT_CONFIG);
	conf_help(out);
	print_verbs(out);
}

static int print_errors(const char *path, int r, struct conf_errors *errs, bool to_log)
{
	if (r < 0) {
		if (to_log)
			log_err("%s: %s", path, strerror(-r));
		else
			fprintf(stderr, "%s: %s\n", path, strerror(-r));
	}
	for (size_t i = 0; i < errs->n; i++) {
		char line[768];

		conf_errors_format(path, &errs->e[i], line, sizeof(line));
		if (to_log)
			log_err("%s", line);
		else
			fprintf(stderr, "%s\n", line);
	}
	if (r > 0 && !to_log)
		fprintf(stderr, "%s: %d error%s\n", path, r, r == 1 ? "" : "s");
	conf_errors_free(errs);
	return 1;
}

int main(int argc, char **argv)
{
	enum { OPT_CHECK = 256, OPT_DUMP };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "check-config", required_argument, NULL, OPT_CHECK },
		{ "dump-config", no_argument, NULL, OPT_DUMP },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct gisad daemon;
	struct gisad *d = &daemon;
	struct conf_errors errs = { 0 };
	const char *check = NULL;
	bool foreground = false, dump = false;
	int ready_fd = -1;
	int opt, r;

	mig_heap_setup();
	while ((opt = getopt_long(argc, argv, "c:fhV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			d->config_path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case OPT_CHECK:
			check = optarg;
			break;
		case OPT_DUMP:
			dump = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("%s\n", GISAD_VERSION_STRING);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "gisad: unexpected argument `%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (check) {
		r = conf_load(check, &d->cfg, &errs);
		if (r)
			return print_errors(check, r, &errs, false);
		printf("%s: ok\n", check);
		return 0;
	}

	if (!d->config_path && access(GISAD_DEFAULT_CONFIG, F_OK) == 0)
		d->config_path = GISAD_DEFAULT_CONFIG;
	if (d->config_path) {
		r = conf_load(d->config_path, &d->cfg, &errs);
		if (r)
			return print_errors(d->config_path, r, &errs, true);
	} else {
		conf_defaults(&d->cfg);
	}
	log_set_level(d->cfg.log_level);
	if (dump) {
		conf_dump(&d->cfg, stdout);
		return 0;
	}
	if (!foreground && daemonize(&ready_fd))
		return 1;
	return run(d, ready_fd);
}
