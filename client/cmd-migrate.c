/* SPDX-License-Identifier: MIT */
/*
 * migrate: move a VM live to another gisad (docs/MIGRATION-PROTOCOL.md),
 * and the rendering of a migration's statistics, which `job status' and
 * `job list' share.
 *
 * gisad does the migration; gisactl asks for it (Migrate, answered at once
 * with the migrate-out job) and follows the job by polling job_status every
 * POLL_MS until its type is final:
 *
 *   BOUNDED/UNBOUNDED --> COMPLETED            exit 0
 *          |        \--> FAILED, CANCELLED     exit 1 (error_message on stderr)
 *          v
 *   phase IN_DOUBT (still running): the source waits for the destination's
 *   outcome, or for `job resolve ID committed|resumed'; said once on
 *   stderr, and the polling goes on.
 *
 * The job belongs to gisad: SIGINT or SIGTERM end the polling (exit 2,
 * "interrupted"), never the migration.  The arguments are checked before
 * the first request (CMD_LATE_CONNECT), so a usage error needs no daemon.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

#define POLL_MS          100
#define TLS_SCHEME       "tls://"
#define HOST_MAX         253   /* a DNS name's longest text form */
#define VM_NAME_MAX      64
#define VM_NAME_RULE     "1 to 64 of A-Z a-z 0-9 _ . -, not starting with `.'"
#define BAR_WIDTH        20

/* ---- names and URIs ----------------------------------------------------- */

static bool vm_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n && n <= VM_NAME_MAX && s[0] != '.' &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

int check_vm_name(struct gisactl *g, const char *what, const char *s)
{
	if (vm_name_ok(s))
		return 0;
	return out_usage(g, "%s `%s' is not a VM name: expected " VM_NAME_RULE, what, s);
}

static bool problem(char *why, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool problem(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return true;
}

/* [IPV6] at s; *ret_end after the `]'. */
static bool ipv6_problem(const char *s, const char **ret_end, char *why, size_t size)
{
	const char *end = strchr(s, ']');
	size_t n = end ? (size_t)(end - s - 1) : 0;
	char addr[INET6_ADDRSTRLEN];
	struct in6_addr a6;

	if (!end || !n)
		return problem(why, size, "an IPv6 address goes between `[' and `]'");
	if (n >= sizeof(addr))
		return problem(why, size, "`%.*s' is not an IPv6 address", (int)n, s + 1);
	memcpy(addr, s + 1, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET6, addr, &a6) != 1)
		return problem(why, size, "`%s' is not an IPv6 address", addr);
	*ret_end = end + 1;
	return false;
}

/* HOST at s (after the scheme); *ret_end after it. */
static bool host_problem(const char *s, const char **ret_end, char *why, size_t size)
{
	size_t n = strcspn(s, ":/"), colons = 0;

	if (*s == '[')
		return ipv6_problem(s, ret_end, why, size);
	for (const char *p = s; *p && *p != '/'; p++)
		colons += *p == ':';
	if (colons > 1)
		return problem(why, size, "an IPv6 address goes in brackets, "
			       "tls://[ADDRESS]:PORT");
	if (!n)
		return problem(why, size, "HOST is empty");
	if (n > HOST_MAX ||
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_") < n)
		return problem(why, size, "HOST `%.*s' is not a host name or an IP address",
			       (int)n, s);
	*ret_end = s + n;
	return false;
}

/* PORT at s (after the `:'), up to the end or a `/'; *ret_end after it. */
static bool port_problem(const char *s, const char **ret_end, char *why, size_t size)
{
	size_t n = strcspn(s, "/");
	unsigned long v = 0;

	for (size_t i = 0; i < n && v <= 65535; i++)
		v = s[i] >= '0' && s[i] <= '9' ? v * 10 + (unsigned long)(s[i] - '0') : 65536;
	if (!n)
		return problem(why, size, "PORT is empty");
	if (!v || v > 65535)
		return problem(why, size, "PORT `%.*s' is not a number from 1 to 65535", (int)n,
			       s);
	*ret_end = s + n;
	return false;
}

static bool uri_problem(const char *s, bool with_vm, char *why, size_t size)
{
	const char *p = s;

	if (strncmp(s, TLS_SCHEME, strlen(TLS_SCHEME)))
		return problem(why, size, "it does not start with " TLS_SCHEME);
	if (host_problem(s + strlen(TLS_SCHEME), &p, why, size))
		return true;
	if (*p != ':')
		return problem(why, size, "no :PORT follows the host");
	if (port_problem(p + 1, &p, why, size))
		return true;
	if (!with_vm && *p)
		return problem(why, size, "`%s' follows the port", p);
	if (with_vm && !*p)
		return problem(why, size, "no /NAME follows the port");
	if (with_vm && !vm_name_ok(p + 1))
		return problem(why, size, "NAME `%s' is not a VM name (" VM_NAME_RULE ")", p + 1);
	return false;
}

int check_tls_uri(struct gisactl *g, const char *what, const char *s, bool with_vm)
{
	char why[400];

	if (!uri_problem(s, with_vm, why, sizeof(why)))
		return 0;
	return out_usage(g, "%s must be tls://HOST:PORT%s, not `%s': %s", what,
			 with_vm ? "/NAME" : "", s, why);
}

/* ---- the request -------------------------------------------------------- */

static int opt_u32(struct gisactl *g, const struct cmd_args *a, enum opt_id id,
		   unsigned long min, unsigned long max, protobuf_c_boolean *ret_has,
		   uint32_t *ret)
{
	unsigned long v;

	if (!a->opt[id])
		return 0;
	if (parse_uint(g, opt_defs[id].name, a->opt[id], min, max, &v))
		return GISACTL_EXIT_ERROR;
	*ret_has = true;
	*ret = (uint32_t)v;
	return 0;
}

/* none, zstd or zstd:LEVEL (the values of Migrate.compression: 1 none, 2 zstd). */
static int parse_compression(struct gisactl *g, const char *s, Gisa__V1__Migrate *m)
{
	unsigned long level = 0;
	char *end;

	if (!strcmp(s, "none")) {
		m->has_compression = true;
		m->compression = 1;
		return 0;
	}
	if (strncmp(s, "zstd", 4) || (s[4] && s[4] != ':'))
		return out_usage(g, "option `--compression' takes none, zstd or zstd:LEVEL, "
				 "not `%s'", s);
	if (s[4]) {
		errno = 0;
		level = strtoul(s + 5, &end, 10);
		if (s[5] < '0' || s[5] > '9' || *end || errno || level < 1 || level > 19)
			return out_usage(g, "option `--compression' takes zstd:LEVEL with LEVEL "
					 "from 1 to 19, not `%s'", s);
		m->has_level = true;
		m->level = (int32_t)level;
	}
	m->has_compression = true;
	m->compression = 2;
	return 0;
}

static int migrate_args(struct gisactl *g, const struct cmd_args *a, Gisa__V1__Migrate *m)
{
	const char *name = a->opt[OPT_NAME];
	int r;

	m->vm = a->argv[0];
	m->uri = a->argv[1];
	r = check_vm_name(g, "NAME", m->vm);
	if (!r)
		r = check_tls_uri(g, "the destination", m->uri, false);
	if (!r && name) {
		r = check_vm_name(g, "option `--name':", name);
		m->new_name = (char *)name;
	}
	if (!r)
		r = opt_u32(g, a, OPT_DOWNTIME, 1, 600000, &m->has_downtime_ms, &m->downtime_ms);
	if (!r)
		r = opt_u32(g, a, OPT_MAX_ROUNDS, 1, 1000, &m->has_max_rounds, &m->max_rounds);
	if (!r)
		r = opt_u32(g, a, OPT_STALL_TIMEOUT, 100, 3600000, &m->has_stall_timeout_ms,
			    &m->stall_timeout_ms);
	if (!r && a->opt[OPT_COMPRESSION])
		r = parse_compression(g, a->opt[OPT_COMPRESSION], m);
	if (!r && a->opt[OPT_ALLOW_LOSSY]) {
		m->has_allow_lossy = true;
		m->allow_lossy = true;
	}
	return r;
}

/* ---- following the job -------------------------------------------------- */

static volatile sig_atomic_t watch_stop;

static void on_stop(int sig)
{
	(void)sig;
	watch_stop = 1;
}

static bool job_final(const Gisa__V1__JobInfo *j)
{
	return j->type == GISA__V1__JOB_TYPE__JOB_TYPE_COMPLETED ||
	       j->type == GISA__V1__JOB_TYPE__JOB_TYPE_FAILED ||
	       j->type == GISA__V1__JOB_TYPE__JOB_TYPE_CANCELLED;
}

static bool job_in_doubt(const Gisa__V1__JobInfo *j)
{
	return j->migration &&
	       j->migration->phase == GISA__V1__MIGRATION_PHASE__MIGRATION_PHASE_IN_DOUBT;
}

/*
 * phase [#####-----]  42%  1.5 MiB / 3.6 MiB  round 3
 * (in precopy, the round on its way: one more than those acknowledged)
 */
static void draw_progress(const Gisa__V1__JobInfo *j)
{
	const Gisa__V1__MigrationStats *m = j->migration;
	char bar[BAR_WIDTH + 1], done[24], total[24], pct[8] = " --%", round[32] = "";
	double f = 0;

	if (j->data_total) {
		f = (double)j->data_processed / (double)j->data_total;
		if (f > 1)
			f = 1;
		snprintf(pct, sizeof(pct), "%3u%%", (unsigned)(f * 100));
	}
	for (unsigned i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < (unsigned)(f * BAR_WIDTH) ? '#' : '-';
	bar[BAR_WIDTH] = '\0';
	fmt_bytes(j->data_processed, done, sizeof(done));
	fmt_bytes(j->data_total, total, sizeof(total));
	if (m && m->phase == GISA__V1__MIGRATION_PHASE__MIGRATION_PHASE_PRECOPY)
		snprintf(round, sizeof(round), "  round %u", m->rounds + 1);
	else if (m && m->rounds)
		snprintf(round, sizeof(round), "  %u round%s", m->rounds, m->rounds == 1 ? "" : "s");
	out_progress("%-10s [%s] %s  %s / %s%s",
		     m ? migration_phase_name(m->phase) : job_type_name(j->type), bar, pct, done,
		     total, round);
}

/* What a poll shows while the job runs; told: the in-doubt notice was given. */
static void show_running(struct gisactl *g, const Gisa__V1__JobInfo *j, bool *told)
{
	if (job_in_doubt(j) && !*told) {
		out_progress_clear();
		fprintf(stderr, "gisactl: in doubt: waiting for the destination's outcome "
			"(gisactl job resolve %" PRIu64 " committed|resumed to decide by hand)\n",
			j->id);
		*told = true;
	}
	if (!g->json && isatty(STDERR_FILENO))
		draw_progress(j);
}

static int interrupted(struct gisactl *g, uint64_t id, bool in_doubt)
{
	char next[128];

	if (in_doubt)
		snprintf(next, sizeof(next), "`gisactl job resolve %" PRIu64 " committed|resumed' "
			 "decides it", id);
	else
		snprintf(next, sizeof(next), "`gisactl job abort %" PRIu64 "' cancels it", id);
	return out_fail(g, -EINTR, "interrupted: the migration goes on in gisad as job %" PRIu64
			" (`gisactl job status %" PRIu64 "' shows it, %s)", id, id, next);
}

/* Poll job id until it is final: 0 with its last reply in *ret, or an exit status. */
int job_follow(struct gisactl *g, uint64_t id, ctl_response **ret)
{
	const struct timespec tick = { 0, POLL_MS * 1000000L };
	ctl_response *resp = NULL;
	bool told = false, in_doubt;
	int r;

	for (;;) {
		r = job_get(g, id, &resp);
		if (r || job_final(resp->job))
			break;
		show_running(g, resp->job, &told);
		in_doubt = job_in_doubt(resp->job);
		ctl_free(resp);
		resp = NULL;
		if (!watch_stop)
			nanosleep(&tick, NULL);
		if (watch_stop) {
			r = interrupted(g, id, in_doubt);
			break;
		}
	}
	out_progress_clear();
	if (r) {
		ctl_free(resp);
		return r;
	}
	*ret = resp;
	return 0;
}

static void watch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop };

	/* No SA_RESTART: the signal cuts the sleep between two polls short. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int cmd_migrate(struct gisactl *g, const struct cmd_args *a)
{
	ctl_request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__Migrate m = GISA__V1__MIGRATE__INIT;
	ctl_response *resp = NULL;
	uint64_t id;
	int r = migrate_args(g, a, &m);

	if (r)
		return r;
	req.verb_case = GISA__V1__REQUEST__VERB_MIGRATE;
	req.migrate = &m;
	r = ctl_call(g, &req, -1, &resp);
	if (!r)
		r = ctl_expect(g, resp, GISA__V1__RESPONSE__RESULT_JOB);
	if (r || a->opt[OPT_DETACH]) {
		if (!r)
			show_job(g, resp->job);
		ctl_free(resp);
		return r;
	}
	id = resp->job->id;
	ctl_free(resp);
	watch_signals();
	if (!g->json)
		fprintf(stderr, "gisactl: migrating VM `%s' to %s as job %" PRIu64 "; an "
			"interrupt stops the watching, not the migration\n", m.vm, m.uri, id);
	r = job_follow(g, id, &resp);
	if (r)
		return r;
	show_job(g, resp->job);
	if (resp->job->type != GISA__V1__JOB_TYPE__JOB_TYPE_COMPLETED) {
		fprintf(stderr, "gisactl: the migration of VM `%s' %s: %s\n", m.vm,
			job_type_name(resp->job->type),
			resp->job->error_message && resp->job->error_message[0] ?
			resp->job->error_message : "(gisad gave no reason)");
		r = GISACTL_EXIT_NEGATIVE;
	}
	ctl_free(resp);
	return r;
}

/* ---- statistics --------------------------------------------------------- */

/*
 * The durations of MigrationStats, in the order both renderings list them;
 * the human table heads the downtime's breakdown with a line of its own.
 */
#define NS(member, label, note) \
	{ #member, label, note, offsetof(Gisa__V1__MigrationStats, has_##member), \
	  offsetof(Gisa__V1__MigrationStats, member) }
static const struct ns_field {
	const char *member;     /* the field's name, and its JSON member's */
	const char *label;      /* the human table's; indented: the breakdown */
	const char *note;
	size_t has, val;
} ns_fields[] = {
	NS(setup_ns, "setup time", "dial -> round 0 sent"),
	NS(transfer_ns, "transfer time", "round 0 sent -> job end"),
	NS(downtime_active_ns, "downtime", "freeze -> destination active"),
	NS(downtime_informed_ns, "downtime informed", "freeze -> source informed"),
	NS(freeze_ns, "  freeze", "source"),
	NS(encode_ns, "  encode", "source"),
	NS(send_ns, "  send", "source"),
	NS(recv_ns, "  recv", "destination"),
	NS(import_ns, "  import", "destination"),
	NS(verify_ns, "  verify", "destination"),
	NS(commit_ns, "  commit", "destination"),
	NS(answer_ns, "  answer", "destination"),
	NS(rtt_ns, "  rtt", "smallest round trip"),
};
#undef NS

static bool ns_has(const Gisa__V1__MigrationStats *m, const struct ns_field *f)
{
	protobuf_c_boolean has;

	memcpy(&has, (const char *)m + f->has, sizeof(has));
	return has;
}

static uint64_t ns_val(const Gisa__V1__MigrationStats *m, const struct ns_field *f)
{
	uint64_t v;

	memcpy(&v, (const char *)m + f->val, sizeof(v));
	return v;
}

static json_t *json_opt_int(bool has, uint64_t v)
{
	return has ? json_integer((json_int_t)v) : json_null();
}

static json_t *json_opt_hex(bool has, const ProtobufCBinaryData *d)
{
	return has && d->len ? json_hexbytes(d->data, d->len) : json_null();
}

json_t *json_migration(const Gisa__V1__MigrationStats *m)
{
	json_t *o = json_object(), *rounds = json_array();

	for (size_t i = 0; i < m->n_round_bytes && rounds; i++)
		if (json_array_append_new(rounds, json_integer((json_int_t)m->round_bytes[i])))
			rounds = NULL;
	jset(o, "phase", json_string(migration_phase_name(m->phase)));
	jset(o, "peer", json_str_or_null(m->peer));
	jset(o, "peer_identity", json_str_or_null(m->peer_identity));
	jset(o, "migration_id", json_opt_hex(m->has_migration_id, &m->migration_id));
	jset(o, "remote_vm", json_str_or_null(m->remote_vm));
	jset(o, "rounds", json_opt_int(m->has_rounds, m->rounds));
	jset(o, "round_bytes", rounds);
	jset(o, "precopy_bytes", json_opt_int(m->has_precopy_bytes, m->precopy_bytes));
	jset(o, "switchover_bytes", json_opt_int(m->has_switchover_bytes, m->switchover_bytes));
	jset(o, "downtime_budget_ms",
	     json_opt_int(m->has_downtime_budget_ms, m->downtime_budget_ms));
	jset(o, "compression", json_str_or_null(m->compression));
	jset(o, "verdict", json_str_or_null(m->verdict));
	for (size_t i = 0; i < sizeof(ns_fields) / sizeof(ns_fields[0]); i++)
		jset(o, ns_fields[i].member,
		     json_opt_int(ns_has(m, &ns_fields[i]), ns_val(m, &ns_fields[i])));
	jset(o, "source_digest", json_opt_hex(m->has_source_digest, &m->source_digest));
	jset(o, "dest_digest", json_opt_hex(m->has_dest_digest, &m->dest_digest));
	jset(o, "digests_match", m->has_digests_match ? json_boolean(m->digests_match) :
			       json_null());
	jset(o, "query_attempts", json_opt_int(m->has_query_attempts, m->query_attempts));
	return o;
}

static const char *str_or_dash(const char *s)
{
	return s && *s ? s : "-";
}

/* Raw bytes as hex, "-" when absent (digests are 32 bytes: 64 digits). */
static void fmt_hex(bool has, const ProtobufCBinaryData *d, char *out, size_t size)
{
	size_t n = 0;

	if (!has || !d->len || size < 2) {
		snprintf(out, size, "-");
		return;
	}
	for (size_t i = 0; i < d->len && n + 3 <= size; i++)
		n += (size_t)snprintf(out + n, size - n, "%02x", d->data[i]);
}

static void print_volumes(const Gisa__V1__MigrationStats *m)
{
	char rounds[16] = "-";

	if (m->has_rounds)
		snprintf(rounds, sizeof(rounds), "%u", m->rounds);
	out_kv("rounds", "%s", rounds);
	for (size_t i = 0; i < m->n_round_bytes; i++) {
		char key[32];

		snprintf(key, sizeof(key), "  round %zu", i + 1);
		out_kv(key, "%" PRIu64 " bytes", m->round_bytes[i]);
	}
	if (m->has_precopy_bytes)
		out_kv("precopy", "%" PRIu64 " bytes", m->precopy_bytes);
	else
		out_kv("precopy", "-");
	if (!m->has_switchover_bytes)
		out_kv("switchover", "-");
	else if (m->has_precopy_bytes && m->precopy_bytes)
		out_kv("switchover", "%" PRIu64 " bytes (%.1f%% of precopy)", m->switchover_bytes,
		       100.0 * (double)m->switchover_bytes / (double)m->precopy_bytes);
	else
		out_kv("switchover", "%" PRIu64 " bytes", m->switchover_bytes);
}

static void print_times(const Gisa__V1__MigrationStats *m)
{
	bool headed = false;

	for (size_t i = 0; i < sizeof(ns_fields) / sizeof(ns_fields[0]); i++) {
		const struct ns_field *f = &ns_fields[i];
		char ms[48];

		if (f->label[0] == ' ' && !headed) {
			printf("breakdown\n");
			headed = true;
		}
		fmt_ms(ns_has(m, f), ns_val(m, f), ms, sizeof(ms));
		out_kv(f->label, "%-14s (%s)", ms, f->note);
	}
}

void print_migration(const Gisa__V1__MigrationStats *m)
{
	char hex[80];

	out_kv("phase", "%s", migration_phase_name(m->phase));
	out_kv_text("peer", str_or_dash(m->peer));
	out_kv_text("peer identity", str_or_dash(m->peer_identity));
	out_kv("remote vm", "%s", str_or_dash(m->remote_vm));
	fmt_hex(m->has_migration_id, &m->migration_id, hex, sizeof(hex));
	out_kv("migration id", "%s", hex);
	out_kv("compression", "%s", str_or_dash(m->compression));
	out_kv("verdict", "%s", str_or_dash(m->verdict));
	print_volumes(m);
	if (m->has_downtime_budget_ms)
		out_kv("downtime budget", "%u ms", m->downtime_budget_ms);
	else
		out_kv("downtime budget", "-");
	print_times(m);
	fmt_hex(m->has_source_digest, &m->source_digest, hex, sizeof(hex));
	out_kv("source digest", "%s", hex);
	fmt_hex(m->has_dest_digest, &m->dest_digest, hex, sizeof(hex));
	out_kv("dest digest", "%s", hex);
	out_kv("digests", "%s", !m->has_digests_match ? "-" : m->digests_match ? "match" :
				 "DIFFER");
	if (m->has_query_attempts)
		out_kv("outcome queries", "%u", m->query_attempts);
}

void fmt_migration_brief(const Gisa__V1__MigrationStats *m, char *out, size_t size)
{
	char down[48];

	fmt_ms(m->has_downtime_active_ns, m->downtime_active_ns, down, sizeof(down));
	snprintf(out, size, "%s, peer %s, %u round%s, downtime %s",
		 migration_phase_name(m->phase), str_or_dash(m->peer), m->rounds,
		 m->rounds == 1 ? "" : "s", down);
}
