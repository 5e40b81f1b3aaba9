/* SPDX-License-Identifier: MIT */
/*
 * gisad.conf: one table row per key.  A key's default is text parsed by
 * the key's own parse function, so defaults and file values pass the same
 * checks, and help and --dump-config show what a file would say.
 *
 * Line numbers: inih does not report them to the handler (the distribution
 * builds it without INI_HANDLER_LINENO), so the file is fed through a reader
 * that counts the lines it hands out; inih handles each line before asking
 * for the next one, so the count is the handler's line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gisa/engine.h>
#include <gisa/tls.h>

#include "config.h"
#include "log.h"

enum conf_type {
	CONF_PATH,
	CONF_NAME,
	CONF_UINT,
	CONF_BOOL,
	CONF_LEVEL,
	CONF_PROFILES,
	CONF_ADDR,                     /* HOST:PORT, or empty */
	CONF_ALLOW,                    /* TLS allow-list entries, or empty */
	CONF_COMP,                     /* none, zstd, zstd:LEVEL */
};

struct conf_key;
typedef int (*conf_parse_fn)(const struct conf_key *k, const char *value,
			     struct gisad_config *cfg, char *err, size_t errlen);

struct conf_key {
	const char *name;
	enum conf_type type;
	const char *def;
	conf_parse_fn parse;
	size_t off;
	uint32_t min, max;             /* CONF_UINT range; string sizes */
	bool reload;                   /* SIGHUP applies it */
	const char *help;
};

#define FIELD(cfg, k) ((char *)(cfg) + (k)->off)

static int parse_path(const struct conf_key *k, const char *v, struct gisad_config *cfg,
		      char *err, size_t errlen)
{
	size_t n = strlen(v);

	if (v[0] != '/') {
		snprintf(err, errlen, "expected an absolute path");
		return -1;
	}
	if (n >= k->max) {
		snprintf(err, errlen, "path of %zu bytes, at most %u allowed", n, k->max - 1);
		return -1;
	}
	memcpy(FIELD(cfg, k), v, n + 1);
	return 0;
}

static int parse_name(const struct conf_key *k, const char *v, struct gisad_config *cfg,
		      char *err, size_t errlen)
{
	size_t n = strlen(v);

	if (n == 0 || n >= k->max) {
		snprintf(err, errlen, "expected a name of 1 to %u characters", k->max - 1);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		char c = v[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.')) {
			snprintf(err, errlen, "character %zu is not one of [A-Za-z0-9_.-]", i + 1);
			return -1;
		}
	}
	memcpy(FIELD(cfg, k), v, n + 1);
	return 0;
}

static int parse_uint(const struct conf_key *k, const char *v, struct gisad_config *cfg,
		      char *err, size_t errlen)
{
	unsigned long long x;
	char *end;

	errno = 0;
	x = strtoull(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end || errno) {
		snprintf(err, errlen, "expected a decimal number from %u to %u", k->min, k->max);
		return -1;
	}
	if (x < k->min || x > k->max) {
		snprintf(err, errlen, "out of range: expected %u to %u", k->min, k->max);
		return -1;
	}
	*(uint32_t *)(void *)FIELD(cfg, k) = (uint32_t)x;
	return 0;
}

static int parse_bool(const struct conf_key *k, const char *v, struct gisad_config *cfg,
		      char *err, size_t errlen)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcmp(v, yes[i]) == 0 || strcmp(v, no[i]) == 0) {
			*(bool *)FIELD(cfg, k) = strcmp(v, yes[i]) == 0;
			return 0;
		}
	}
	snprintf(err, errlen, "expected yes/no, true/false, on/off or 1/0");
	return -1;
}

static int parse_level(const struct conf_key *k, const char *v, struct gisad_config *cfg,
		       char *err, size_t errlen)
{
	int level = log_level_parse(v);

	if (level < 0) {
		snprintf(err, errlen, "expected err, warning, notice, info or debug");
		return -1;
	}
	*(int *)(void *)FIELD(cfg, k) = level;
	return 0;
}

static int parse_profiles(const struct conf_key *k, const char *v, struct gisad_config *cfg,
			  char *err, size_t errlen)
{
	uint32_t set = 0;
	const char *p = v;

	while (*p) {
		size_t n;

		p += strspn(p, ", \t");
		n = strcspn(p, ", \t");
		if (n == 0)
			break;
		if (n == 7 && strncmp(p, "classic", 7) == 0) {
			set |= 1u << GISA_PROFILE_CLASSIC;
		} else if (n == 6 && strncmp(p, "newest", 6) == 0) {
			set |= 1u << GISA_PROFILE_NEWEST;
		} else {
			snprintf(err, errlen,
				 "unknown profile `%.*s': expected classic and/or newest",
				 (int)(n > 32 ? 32 : n), p);
			return -1;
		}
		p += n;
	}
	if (!set) {
		snprintf(err, errlen, "expected at least one of classic, newest");
		return -1;
	}
	*(uint32_t *)(void *)FIELD(cfg, k) = set;
	return 0;
}

/* An absolute path, or empty for "not set". */
static int parse_opt_path(const struct conf_key *k, const char *v, struct gisad_config *cfg,
			  char *err, size_t errlen)
{
	if (!v[0]) {
		FIELD(cfg, k)[0] = '\0';
		return 0;
	}
	return parse_path(k, v, cfg, err, errlen);
}

int conf_listen_split(const char *v, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *colon, *h = v, *p;
	size_t hl;
	unsigned long x;
	char *end;

	if (v[0] == '[') {
		const char *close = strchr(v, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		h = v + 1;
		hl = (size_t)(close - h);
		p = close + 2;
	} else {
		colon = strrchr(v, ':');
		if (!colon || strchr(v, ':') != colon)
			return -EINVAL;   /* an IPv6 address needs brackets */
		hl = (size_t)(colon - v);
		p = colon + 1;
	}
	if (hl == 0 || hl >= hostlen || hl > GISA_TLS_MAX_NAME)
		return -EINVAL;
	errno = 0;
	x = strtoul(p, &end, 10);
	if (p[0] < '0' || p[0] > '9' || *end || errno || x > 65535 || strlen(p) >= portlen)
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	memcpy(port, p, strlen(p) + 1);
	if (v[0] == '[') {
		struct in6_addr a6;

		return inet_pton(AF_INET6, host, &a6) == 1 ? 0 : -EINVAL;
	}
	for (size_t i = 0; i < hl; i++) {
		char c = host[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'))
			return -EINVAL;
	}
	return 0;
}

static int parse_listen(const struct conf_key *k, const char *v, struct gisad_config *cfg,
			char *err, size_t errlen)
{
	char host[GISAD_LISTEN_MAX], port[8];

	if (v[0] && (strlen(v) >= k->max ||
		     conf_listen_split(v, host, sizeof(host), port, sizeof(port)))) {
		snprintf(err, errlen,
			 "expected HOST:PORT or [IPv6]:PORT (a host name or address, a port "
			 "of 0 to 65535), or nothing for no listener");
		return -1;
	}
	memcpy(FIELD(cfg, k), v, strlen(v) + 1);
	return 0;
}

int conf_allow_split(const char *v, char *buf, const char **entries, size_t max)
{
	size_t n = 0;
	char *p = buf;

	memcpy(buf, v, strlen(v) + 1);
	while (*p) {
		size_t len;

		p += strspn(p, ", \t");
		len = strcspn(p, ", \t");
		if (len == 0)
			break;
		if (n == max)
			return -E2BIG;
		entries[n++] = p;
		p += len;
		if (*p)
			*p++ = '\0';
	}
	return (int)n;
}

/*
 * The allow-list adds up over the lines that give it (the key repeated,
 * or a line continuing it): this line's entries go after the ones before.
 */
static int parse_allow(const struct conf_key *k, const char *v, struct gisad_config *cfg,
		       char *err, size_t errlen)
{
	/* Static, all: entries points into buf, and 20 KiB is much for the stack. */
	static const char *entries[GISA_TLS_MAX_ALLOW];
	static char buf[GISAD_ALLOW_MAX], all[GISAD_ALLOW_MAX];
	const char *before = FIELD(cfg, k), *sep = before[0] && v[0] ? ", " : "";
	size_t len = strlen(before) + strlen(sep) + strlen(v);
	struct gisa_tls_error te;
	int n;

	if (len >= k->max) {
		if (before[0])
			snprintf(err, errlen, "%zu bytes with the lines before it, at most %u allowed",
				 len, k->max - 1);
		else
			snprintf(err, errlen, "%zu bytes, at most %u allowed", len, k->max - 1);
		return -1;
	}
	snprintf(all, sizeof(all), "%s%s%s", before, sep, v);
	n = conf_allow_split(all, buf, entries, GISA_TLS_MAX_ALLOW);
	if (n < 0) {
		snprintf(err, errlen, "more than %u allow-list entries%s", GISA_TLS_MAX_ALLOW,
			 before[0] ? " with the lines before it" : "");
		return -1;
	}
	/* The lines before passed already: a bad entry is this line's. */
	for (int i = 0; i < n; i++) {
		if (gisa_tls_allow_check(entries[i], &te)) {
			snprintf(err, errlen, "%s", te.msg);
			return -1;
		}
	}
	memcpy(FIELD(cfg, k), all, len + 1);
	return 0;
}

int conf_mem_cap_check(const struct gisad_config *cfg, uint64_t mem_cap, char *msg,
		       size_t msglen)
{
	if ((mem_cap ? mem_cap : GISA_DEFAULT_MEM_CAP) <= cfg->max_mem_cap)
		return 0;
	snprintf(msg, msglen, "mem_cap %#llx (%llu bytes) is over max_mem_cap = %u bytes",
		 (unsigned long long)mem_cap, (unsigned long long)mem_cap, cfg->max_mem_cap);
	return -EINVAL;
}

int conf_compression(const char *v, bool *zstd, int *level)
{
	char *end;
	long n;

	if (strcmp(v, "none") == 0) {
		*zstd = false;
		*level = 0;
		return 0;
	}
	if (strcmp(v, "zstd") == 0) {
		*zstd = true;
		*level = GISAD_ZSTD_DEFAULT_LEVEL;
		return 0;
	}
	if (strncmp(v, "zstd:", 5) != 0 || v[5] < '0' || v[5] > '9')
		return -EINVAL;
	errno = 0;
	n = strtol(v + 5, &end, 10);
	if (*end || errno || n < 1 || n > GISAD_ZSTD_MAX_LEVEL)
		return -EINVAL;
	*zstd = true;
	*level = (int)n;
	return 0;
}

static int parse_comp(const struct conf_key *k, const char *v, struct gisad_config *cfg,
		      char *err, size_t errlen)
{
	bool z;
	int level;

	if (strlen(v) >= k->max || conf_compression(v, &z, &level)) {
		snprintf(err, errlen, "expected none, zstd or zstd:LEVEL with a level of 1 to %d",
			 GISAD_ZSTD_MAX_LEVEL);
		return -1;
	}
	memcpy(FIELD(cfg, k), v, strlen(v) + 1);
	return 0;
}

#define OFF(f) offsetof(struct gisad_config, f)
#define SIZE(f) ((uint32_t)sizeof(((struct gisad_config *)0)->f))

/* Every key of gisad.conf.  Adding a key = adding a row (and a field). */
static const struct conf_key keys[] = {
	{ "socket", CONF_PATH, "/run/gisad/control", parse_path, OFF(socket_path),
	  0, SIZE(socket_path), false,
	  "control socket (AF_UNIX SOCK_SEQPACKET), unless systemd passes one" },
	{ "state_dir", CONF_PATH, "/var/lib/gisad", parse_path, OFF(state_dir),
	  0, SIZE(state_dir), false,
	  "state directory: checkpoints/<vm>/current.gsnap and <tag>.gsnap" },
	{ "group", CONF_NAME, "gisad", parse_name, OFF(group), 0, SIZE(group), true,
	  "group owning the socket (mode 0660); root and its members may connect" },
	{ "max_connections_per_uid", CONF_UINT, "128", parse_uint, OFF(max_conn_per_uid),
	  1, 65536, true, "control connections one uid may hold at once" },
	{ "max_connections", CONF_UINT, "1024", parse_uint, OFF(max_conns), 1, 65536, true,
	  "control connections of all uids but root at once" },
	{ "max_vms", CONF_UINT, "1024", parse_uint, OFF(max_vms), 1, 65536, true,
	  "VMs this gisad hosts at most" },
	{ "max_mem_cap", CONF_UINT, "268435456", parse_uint, OFF(max_mem_cap),
	  GISA_DEFAULT_MEM_CAP, GISAD_MEM_CAP_MAX, true,
	  "guest memory bytes one VM may back (its mem_cap); created, imported or migrating in" },
	{ "log_level", CONF_LEVEL, "info", parse_level, OFF(log_level), 0, 0, true,
	  "err, warning, notice, info or debug" },
	{ "profiles", CONF_PROFILES, "classic,newest", parse_profiles, OFF(profiles), 0, 0, true,
	  "kernel profiles offered to VMs (created or imported)" },
	{ "gisa", CONF_BOOL, "yes", parse_bool, OFF(gisa), 0, 0, true,
	  "the host offers a GISA to VMs that require one" },
	{ "ais", CONF_BOOL, "yes", parse_bool, OFF(ais), 0, 0, true,
	  "the host offers the AIS facility (72) to VMs that require it" },
	{ "kicker_interval_us", CONF_UINT, "0", parse_uint, OFF(kicker_interval_us),
	  0, 1000000000, true,
	  "fire armed GISA kicker timers every N us; 0 = only on request (deterministic)" },
	{ "nisc", CONF_UINT, "5", parse_uint, OFF(nisc), 0, 7, false,
	  "host ISC of GIB alert interruptions" },
	{ "migration_listen", CONF_ADDR, "", parse_listen, OFF(migration_listen),
	  0, SIZE(migration_listen), false,
	  "HOST:PORT of the migration listener (TLS 1.3); empty = none; port 0 = any free" },
	{ "tls_ca", CONF_PATH, "", parse_opt_path, OFF(tls_ca), 0, SIZE(tls_ca), true,
	  "PEM file: the CA certificate(s) every migration peer must chain to" },
	{ "tls_cert", CONF_PATH, "", parse_opt_path, OFF(tls_cert), 0, SIZE(tls_cert), true,
	  "PEM file: this gisad's certificate, then its intermediates" },
	{ "tls_key", CONF_PATH, "", parse_opt_path, OFF(tls_key), 0, SIZE(tls_key), true,
	  "PEM file: its private key, unencrypted" },
	{ "tls_allow", CONF_ALLOW, "", parse_allow, OFF(tls_allow), 0, SIZE(tls_allow), true,
	  "migration peers admitted: host names, IP addresses, sha256:HEX (comma-separated)" },
	{ "handshake_timeout_ms", CONF_UINT, "5000", parse_uint, OFF(handshake_timeout_ms),
	  100, 600000, true, "a migration peer's TLS handshake must complete within this" },
	{ "idle_timeout_ms", CONF_UINT, "30000", parse_uint, OFF(idle_timeout_ms),
	  100, 3600000, true, "close a migration connection silent this long while waiting" },
	{ "max_connections_per_peer", CONF_UINT, "4", parse_uint, OFF(max_conn_per_peer),
	  1, 1024, true, "migration connections one peer certificate may hold at once" },
	{ "max_incoming_migrations", CONF_UINT, "16", parse_uint, OFF(max_incoming),
	  1, 1024, true, "incoming migrations, outcome queries and fetches served at once" },
	{ "migration_downtime_ms", CONF_UINT, "300", parse_uint, OFF(mig_downtime_ms),
	  1, 600000, true, "default downtime budget of a migration (gisactl migrate --downtime)" },
	{ "migration_max_rounds", CONF_UINT, "30", parse_uint, OFF(mig_max_rounds),
	  1, GISAD_MIG_MAX_ROUNDS, true,
	  "precopy rounds before the switchover happens whatever the estimate" },
	{ "migration_max_version", CONF_UINT, "3", parse_uint, OFF(mig_max_version),
	  1, 3, true, "newest migration protocol version spoken (a rolling upgrade pins the oldest)" },
	{ "migration_stall_timeout_ms", CONF_UINT, "30000", parse_uint, OFF(mig_stall_ms),
	  100, 3600000, true, "a migration waiting this long for its peer's answer fails" },
	{ "migration_compression", CONF_COMP, "none", parse_comp, OFF(mig_compression),
	  0, SIZE(mig_compression), true,
	  "compression of migration objects: none, zstd or zstd:LEVEL (default from bench/README.md)" },
	{ "outcome_records", CONF_UINT, "1024", parse_uint, OFF(outcome_records),
	  16, 65536, true, "outcomes of incoming migrations kept for an in-doubt source to query" },
	{ "finished_jobs", CONF_UINT, "1024", parse_uint, OFF(finished_jobs),
	  16, 65536, true, "finished jobs kept for job status and job list (the oldest go first)" },
	{ "max_checkpoints_per_vm", CONF_UINT, "64", parse_uint, OFF(max_checkpoints_per_vm),
	  1, 4096, true, "tagged checkpoints one VM may hold (not counting its current one)" },
};

#define NR_KEYS (sizeof(keys) / sizeof(keys[0]))

static const struct conf_key *key_find(const char *name)
{
	for (size_t i = 0; i < NR_KEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

void conf_defaults(struct gisad_config *cfg)
{
	char err[256];

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < NR_KEYS; i++)
		(void)keys[i].parse(&keys[i], keys[i].def, cfg, err, sizeof(err));
}

/* ---- loading ------------------------------------------------------------ */

struct load_ctx {
	FILE *f;
	int line;
	bool long_line;               /* the current line was cut */
	struct gisad_config *cfg;
	struct conf_errors *errs;
	int seen[NR_KEYS];            /* line of the key's first occurrence */
	int nerr;
};

static void add_error(struct load_ctx *lc, const char *key, const char *value,
		      const char *reason)
{
	struct conf_errors *es = lc->errs;
	struct conf_error *e, *ne;

	lc->nerr++;
	ne = realloc(es->e, (es->n + 1) * sizeof(*ne));
	if (!ne)
		return;   /* still counted */
	es->e = ne;
	e = &es->e[es->n++];
	memset(e, 0, sizeof(*e));
	e->line = lc->line;
	snprintf(e->key, sizeof(e->key), "%s", key ? key : "");
	snprintf(e->value, sizeof(e->value), "%s", value ? value : "");
	snprintf(e->reason, sizeof(e->reason), "%s", reason);
}

/*
 * fgets-like, one whole line per call; longer lines are cut and flagged.
 * A NUL byte would end the line's text for inih, the rest unseen (a value
 * cut short, silently): the line is flagged with the NUL's column and
 * handed on empty, so that no part of it is parsed as a value.
 */
static char *reader(char *str, int num, void *stream)
{
	struct load_ctx *lc = stream;
	size_t n = 0, col = 0, nul = 0;
	int c;

	if (num < 3)
		return NULL;
	lc->long_line = false;
	while ((c = getc(lc->f)) != EOF) {
		if (c == '\n')
			break;
		col++;
		if (c == '\0' && !nul)
			nul = col;
		if (n < (size_t)num - 2)
			str[n++] = (char)c;
		else
			lc->long_line = true;
	}
	if (c == EOF && col == 0)
		return NULL;
	if (nul)
		n = 0;
	str[n++] = '\n';
	str[n] = '\0';
	lc->line++;
	if (nul) {
		char reason[96];

		snprintf(reason, sizeof(reason), "NUL byte at column %zu: expected text", nul);
		add_error(lc, NULL, NULL, reason);
	} else if (lc->long_line) {
		add_error(lc, NULL, NULL, "line too long for the INI parser");
	}
	return str;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *lc = user;
	const struct conf_key *k;
	char reason[256];
	size_t idx;

	if (section[0] && strcmp(section, GISAD_CONF_SECTION) != 0) {
		snprintf(reason, sizeof(reason), "unknown section [%s]: keys belong in [%s]",
			 section, GISAD_CONF_SECTION);
		add_error(lc, name, value, reason);
		return 1;
	}
	k = key_find(name);
	if (!k) {
		add_error(lc, name, value, "unknown key (gisad --help lists the keys)");
		return 1;
	}
	idx = (size_t)(k - keys);
	/* An allow-list may take several lines; any other key one. */
	if (lc->seen[idx] && k->type != CONF_ALLOW) {
		snprintf(reason, sizeof(reason), "given twice (first at line %d)", lc->seen[idx]);
		add_error(lc, name, value, reason);
		return 1;
	}
	if (!lc->seen[idx])
		lc->seen[idx] = lc->line;
	if (k->parse(k, value, lc->cfg, reason, sizeof(reason)))
		add_error(lc, name, value, reason);
	return 1;
}

/* A listener needs every TLS key: say which are missing, at its line. */
static void check_migration(struct load_ctx *lc)
{
	const struct gisad_config *cfg = lc->cfg;
	const struct conf_key *k = key_find("migration_listen");
	char reason[256];
	int line = lc->line;

	if (!cfg->migration_listen[0] ||
	    (cfg->tls_ca[0] && cfg->tls_cert[0] && cfg->tls_key[0] && cfg->tls_allow[0]))
		return;
	snprintf(reason, sizeof(reason),
		 "a migration listener needs tls_ca, tls_cert, tls_key and tls_allow; "
		 "missing:%s%s%s%s",
		 cfg->tls_ca[0] ? "" : " tls_ca", cfg->tls_cert[0] ? "" : " tls_cert",
		 cfg->tls_key[0] ? "" : " tls_key", cfg->tls_allow[0] ? "" : " tls_allow");
	lc->line = lc->seen[k - keys];
	add_error(lc, k->name, cfg->migration_listen, reason);
	lc->line = line;
}

int conf_load(const char *path, struct gisad_config *cfg, struct conf_errors *errs)
{
	struct load_ctx lc = { .cfg = cfg, .errs = errs };
	struct stat st = { 0 };
	int r;

	errs->e = NULL;
	errs->n = 0;
	conf_defaults(cfg);
	lc.f = fopen(path, "re");
	if (!lc.f)
		return -errno;
	/* A directory opens, and would read as an empty, valid file. */
	if (fstat(fileno(lc.f), &st) || !S_ISREG(st.st_mode)) {
		fclose(lc.f);
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	r = ini_parse_stream(reader, &lc, handler, &lc);
	fclose(lc.f);
	if (r < 0) {
		lc.line = 0;
		add_error(&lc, NULL, NULL, "out of memory while parsing");
	} else if (r > 0) {
		/* inih reports the first line it could not parse (ours return 1). */
		bool ours = false;

		for (size_t i = 0; i < errs->n; i++)
			ours |= errs->e[i].line == r;
		if (!ours) {
			lc.line = r;
			add_error(&lc, NULL, NULL,
				  "syntax error: expected `key = value', `[section]' or a comment");
		}
	}
	check_migration(&lc);
	/* inih's syntax error comes last: sort by line, stably. */
	for (size_t i = 1; i < errs->n; i++) {
		struct conf_error e = errs->e[i];
		size_t j = i;

		for (; j > 0 && errs->e[j - 1].line > e.line; j--)
			errs->e[j] = errs->e[j - 1];
		errs->e[j] = e;
	}
	return lc.nerr;
}

void conf_errors_free(struct conf_errors *errs)
{
	free(errs->e);
	errs->e = NULL;
	errs->n = 0;
}

void conf_errors_format(const char *path, const struct conf_error *e, char *buf, size_t len)
{
	char where[64] = "";

	if (e->line > 0)
		snprintf(where, sizeof(where), ":%d", e->line);
	if (e->key[0])
		snprintf(buf, len, "%s%s: key `%s', value `%s': %s", path, where, e->key,
			 e->value, e->reason);
	else
		snprintf(buf, len, "%s%s: %s", path, where, e->reason);
}

/* ---- derived values, help, dump ----------------------------------------- */

uint32_t conf_caps(const struct gisad_config *cfg)
{
	return (cfg->gisa ? GISA_CAP_GISA : 0u) | (cfg->ais ? GISA_CAP_AIS : 0u);
}

void conf_profiles_str(uint32_t profiles, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", profiles & (1u << GISA_PROFILE_CLASSIC) ? "classic" : "",
		 (profiles & 3u) == 3u ? "," : "",
		 profiles & (1u << GISA_PROFILE_NEWEST) ? "newest" : "");
}

static void format_value(const struct conf_key *k, const struct gisad_config *cfg, char *buf,
			 size_t len)
{
	const char *p = (const char *)cfg + k->off;

	switch (k->type) {
	case CONF_PATH:
	case CONF_NAME:
	case CONF_ADDR:
	case CONF_ALLOW:
	case CONF_COMP:
		snprintf(buf, len, "%s", p);
		break;
	case CONF_UINT:
		snprintf(buf, len, "%u", *(const uint32_t *)(const void *)p);
		break;
	case CONF_BOOL:
		snprintf(buf, len, "%s", *(const bool *)p ? "yes" : "no");
		break;
	case CONF_LEVEL:
		snprintf(buf, len, "%s", log_level_name(*(const int *)(const void *)p));
		break;
	case CONF_PROFILES:
		conf_profiles_str(*(const uint32_t *)(const void *)p, buf, len);
		break;
	}
}

static const char *type_name(enum conf_type t)
{
	switch (t) {
	case CONF_PATH:
		return "absolute path";
	case CONF_NAME:
		return "name";
	case CONF_UINT:
		return "number";
	case CONF_BOOL:
		return "yes|no";
	case CONF_LEVEL:
		return "level";
	case CONF_PROFILES:
		return "list";
	case CONF_ADDR:
		return "host:port";
	case CONF_ALLOW:
		return "allow-list";
	case CONF_COMP:
		return "compression";
	}
	return "?";
}

void conf_help(FILE *out)
{
	fprintf(out, "gisad.conf keys (section [%s]):\n", GISAD_CONF_SECTION);
	for (size_t i = 0; i < NR_KEYS; i++) {
		const struct conf_key *k = &keys[i];

		fprintf(out, "  %-24s %s, default %s%s\n", k->name, type_name(k->type),
			k->def[0] ? k->def : "empty",
			k->reload ? "" : "; takes effect on restart");
		if (k->type == CONF_UINT)
			fprintf(out, "  %-24s %u..%u: %s\n", "", k->min, k->max, k->help);
		else
			fprintf(out, "  %-24s %s\n", "", k->help);
	}
}

/*
 * The longest line inih hands on whole: its INI_MAX_LINE, 200 in the
 * distribution's build, less the newline and the NUL (reader cuts and
 * flags a longer one).
 */
#define CONF_LINE_MAX 198u

/*
 * An allow-list as `key = a, b, ...' lines that each fit the line buffer
 * (parse_allow adds them up again).  An entry too long for a line of its
 * own goes alone on one: it did not come from a file.
 */
static void dump_allow(const struct conf_key *k, const struct gisad_config *cfg, FILE *out)
{
	static const char *entries[GISA_TLS_MAX_ALLOW];
	static char buf[GISAD_ALLOW_MAX];
	int n = conf_allow_split(FIELD(cfg, k), buf, entries, GISA_TLS_MAX_ALLOW);
	size_t head = strlen(k->name) + 3, used = 0;

	if (n <= 0) {
		fprintf(out, "%s = \n", k->name);
		return;
	}
	for (int i = 0; i < n; i++) {
		size_t len = strlen(entries[i]);

		if (used && used + 2 + len > CONF_LINE_MAX) {
			fputc('\n', out);
			used = 0;
		}
		if (!used) {
			fprintf(out, "%s = %s", k->name, entries[i]);
			used = head + len;
		} else {
			fprintf(out, ", %s", entries[i]);
			used += 2 + len;
		}
	}
	fputc('\n', out);
}

void conf_dump(const struct gisad_config *cfg, FILE *out)
{
	char v[PATH_MAX + 16];

	fprintf(out, "[%s]\n", GISAD_CONF_SECTION);
	for (size_t i = 0; i < NR_KEYS; i++) {
		size_t len;

		if (keys[i].type == CONF_ALLOW) {
			dump_allow(&keys[i], cfg, out);
			continue;
		}
		format_value(&keys[i], cfg, v, sizeof(v));
		len = strlen(keys[i].name) + strlen(v);
		/*
		 * Without the spaces when they would make the line too long: a
		 * file held key, `=' and the value on one line, so this fits.
		 */
		fprintf(out, "%s%s%s\n", keys[i].name, len + 3 > CONF_LINE_MAX ? "=" : " = ", v);
	}
}

static size_t field_size(const struct conf_key *k)
{
	switch (k->type) {
	case CONF_PATH:
	case CONF_NAME:
	case CONF_ADDR:
	case CONF_ALLOW:
	case CONF_COMP:
		return k->max;
	case CONF_BOOL:
		return sizeof(bool);
	case CONF_LEVEL:
		return sizeof(int);
	case CONF_UINT:
	case CONF_PROFILES:
		break;
	}
	return sizeof(uint32_t);
}

void conf_reload(struct gisad_config *cur, const struct gisad_config *new)
{
	char a[PATH_MAX + 16], b[PATH_MAX + 16];

	for (size_t i = 0; i < NR_KEYS; i++) {
		const struct conf_key *k = &keys[i];

		format_value(k, cur, a, sizeof(a));
		format_value(k, new, b, sizeof(b));
		if (strcmp(a, b) == 0)
			continue;
		if (!k->reload) {
			log_notice("config: %s changed from `%s' to `%s': takes effect on restart",
				   k->name, a, b);
			continue;
		}
		log_info("config: %s = %s (was %s)", k->name, b, a);
		memcpy((char *)cur + k->off, (const char *)new + k->off, field_size(k));
	}
}
