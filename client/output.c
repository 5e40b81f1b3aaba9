/* SPDX-License-Identifier: MIT */
/*
 * Reporting and rendering shared by every command: error and usage
 * messages (stderr, plus the --json error document), the aligned
 * "key  value" layout of human output, and the value rules of --json
 * (docs/GISACTL-JSON.md): 64-bit quantities as "0x" strings, names for
 * enumerations, null for "none".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <gisa/engine.h>
#include <gisa/snapshot.h>

#include "gisactl.h"

/* A member jset() could not make: the document is incomplete. */
static bool json_broken;
/* A progress line is on standard error (a terminal): clear it before a message. */
static bool progress_shown;

json_t *out_result(struct gisactl *g)
{
	char name[64];

	if (g->result)
		return g->result;
	g->result = json_object();
	jset(g->result, "schema", json_string(GISACTL_SCHEMA));
	jset(g->result, "command", json_string(cmd_name(g->cmd, name, sizeof(name))));
	return g->result;
}

/*
 * s was cut to len bytes: if the cut split a character (its lead byte is
 * at most 3 bytes from the end), what is left of it goes, so that the
 * message ends on a whole character and --json shows no U+FFFD for it.
 */
static void trim_cut(char *s, size_t len)
{
	size_t i = len;

	while (i > 0 && len - i < 3 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i > 0 && (unsigned char)s[i - 1] >= 0xc0 && !gisa_utf8_len((unsigned char *)s + i - 1))
		s[i - 1] = '\0';
}

static void vreport(struct gisactl *g, const char *code, const char *fmt, va_list ap)
{
	int n = vsnprintf(g->errmsg, sizeof(g->errmsg), fmt, ap);

	if (n >= (int)sizeof(g->errmsg))
		trim_cut(g->errmsg, sizeof(g->errmsg) - 1);
	g->errcode = code;
	out_progress_clear();
	fputs("gisactl: ", stderr);
	out_text(stderr, g->errmsg);
	fputc('\n', stderr);
}

void out_fail_report(struct gisactl *g, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(g, errno_code(err), fmt, ap);
	va_end(ap);
}

void out_usage_line(const struct cmd_entry *e, FILE *f)
{
	fprintf(f, "usage: gisactl %s%s%s%s%s%s\n",
		e->flags & CMD_NEEDS_DAEMON ? "[--socket PATH] [--json] " : "[--json] ", e->noun,
		e->verb ? " " : "", e->verb ? e->verb : "", *e->usage ? " " : "", e->usage);
}

void out_usage_report(struct gisactl *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(g, "usage", fmt, ap);
	va_end(ap);
	if (g->cmd && strcmp(g->cmd->noun, "help")) {
		out_usage_line(g->cmd, stderr);
	} else if (g->noun) {
		for (size_t i = 0; i < cmd_table_len; i++) {
			const struct cmd_entry *e = &cmd_table[i];

			if (!(e->flags & CMD_HIDDEN) && !strcmp(e->noun, g->noun))
				out_usage_line(e, stderr);
		}
	} else {
		fprintf(stderr, "usage: gisactl [--socket PATH] [--json] NOUN VERB [ARGS]\n"
				"`gisactl help' lists the commands.\n");
	}
}

void out_progress(const char *fmt, ...)
{
	struct winsize ws;
	int width = 80;
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* A line longer than the terminal wraps, and \r no longer reaches its start. */
	if (!ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) && ws.ws_col > 1)
		width = ws.ws_col;
	fprintf(stderr, "\r%.*s\033[K", width - 1, line);
	fflush(stderr);
	progress_shown = true;
}

void out_progress_clear(void)
{
	if (!progress_shown)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	progress_shown = false;
}

void out_kv(const char *key, const char *fmt, ...)
{
	va_list ap;

	printf("%-20s ", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void out_kv_text(const char *key, const char *s)
{
	printf("%-20s ", key);
	out_text(stdout, s);
	putchar('\n');
}

void out_text(FILE *f, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0, n; u[i]; i += n) {
		/* C0 and DEL are 1 byte; C1 (U+0080 to U+009F) is C2 80 to C2 9F. */
		bool ctl;

		n = gisa_utf8_len(u + i);
		ctl = n == 1 ? u[i] < 0x20 || u[i] == 0x7f
			     : n == 2 && u[i] == 0xc2 && u[i + 1] < 0xa0;
		if (u[i] == '\\') {
			fputs("\\\\", f);
		} else if (n && !ctl) {
			fwrite(u + i, 1, n, f);
		} else {
			n = n ? n : 1;
			for (size_t k = 0; k < n; k++)
				fprintf(f, "\\x%02x", u[i + k]);
		}
	}
}

int out_print_json(json_t *doc, FILE *f)
{
	if (json_dumpf(doc, f, JSON_INDENT(2)) || fputc('\n', f) == EOF)
		return -EIO;
	return 0;
}

const char *errno_code(int err)
{
	const char *name = err ? strerrorname_np(err < 0 ? -err : err) : NULL;

	return name ? name : "EIO";
}

json_t *json_hex64(uint64_t v)
{
	return json_sprintf("0x%" PRIx64, v);
}

json_t *json_str_or_null(const char *s)
{
	return s && *s ? json_text(s) : json_null();
}

json_t *json_text(const char *s)
{
	static const char fffd[] = "\xef\xbf\xbd"; /* U+FFFD in UTF-8 */
	const unsigned char *u = (const unsigned char *)s;
	size_t bad = 0, n;
	char *buf, *p;
	json_t *j;

	if (!s)
		return NULL;
	for (size_t i = 0; u[i]; i += n ? n : 1)
		if (!(n = gisa_utf8_len(u + i)))
			bad++;
	if (!bad)
		return json_stringn_nocheck(s, strlen(s));
	/* Each invalid byte grows to the 3 of U+FFFD. */
	p = buf = malloc(strlen(s) + 2 * bad);
	if (!buf)
		return NULL;
	for (size_t i = 0; u[i]; i += n ? n : 1) {
		n = gisa_utf8_len(u + i);
		memcpy(p, n ? s + i : fffd, n ? n : 3);
		p += n ? n : 3;
	}
	j = json_stringn_nocheck(buf, (size_t)(p - buf));
	free(buf);
	return j;
}

void jset(json_t *obj, const char *key, json_t *v)
{
	if (!obj || !v || json_object_set_new(obj, key, v))
		json_broken = true;
}

bool out_json_ok(struct gisactl *g)
{
	return !json_broken && (!g->json || g->result || g->errcode ||
				(g->cmd && !strcmp(g->cmd->noun, "__complete")));
}

const char *profile_name(unsigned profile)
{
	switch (profile) {
	case GISA_PROFILE_CLASSIC:
		return "classic";
	case GISA_PROFILE_NEWEST:
		return "newest";
	}
	return "unknown";
}

void fmt_caps(uint32_t caps, char *buf, size_t size)
{
	snprintf(buf, size, "0x%x (%s%s%s)", caps, caps & GISA_CAP_GISA ? "gisa" : "",
		 (caps & GISA_CAP_ALL) == GISA_CAP_ALL ? "," : "",
		 caps & GISA_CAP_AIS ? "ais" : caps & GISA_CAP_GISA ? "" : "none");
}

json_t *json_caps(uint32_t caps)
{
	json_t *a = json_array();

	if (a && (caps & GISA_CAP_GISA) && json_array_append_new(a, json_string("gisa")))
		a = NULL;
	if (a && (caps & GISA_CAP_AIS) && json_array_append_new(a, json_string("ais")))
		a = NULL;
	return a;
}

void fmt_uuid(const uint8_t u[16], char out[37])
{
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
		 u[12], u[13], u[14], u[15]);
}

/* RFC 3339 in UTC with nanoseconds, as docs/SNAPSHOT-JSON.md spells "created". */
void fmt_time(uint64_t ns, char *out, size_t size)
{
	time_t secs = (time_t)(ns / 1000000000u);
	struct tm tm;

	if (!gmtime_r(&secs, &tm)) {
		snprintf(out, size, "@%" PRIu64 "ns", ns);
		return;
	}
	snprintf(out, size, "%04lld-%02d-%02dT%02d:%02d:%02d.%09uZ", (long long)tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(ns % 1000000000u));
}

void fmt_bytes(uint64_t n, char *out, size_t size)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n / 1024;
	unsigned u = 0;

	if (n < 1024) {
		snprintf(out, size, "%" PRIu64 " B", n);
		return;
	}
	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	snprintf(out, size, "%.1f %s", v, units[u]);
}

void fmt_ms(bool has, uint64_t ns, char *out, size_t size)
{
	if (!has)
		snprintf(out, size, "-");
	else
		snprintf(out, size, "%" PRIu64 ".%03" PRIu64 " ms", ns / 1000000u,
			 ns / 1000u % 1000u);
}
