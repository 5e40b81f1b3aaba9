/* SPDX-License-Identifier: MIT */
/*
 * Scenario runner (docs/SCENARIOS.md describes the format).
 *
 * One input line = one JSON object = one operation ("op") on the engine.
 * Each line is handled in three steps:
 *
 *   parse    the line, its "op" and "vm", its "repeat" and its "expect"
 *            (records in expectations are normalised here, so a bad record
 *            spec is an input error before anything runs);
 *   run      the operation's handler, which parses every argument before
 *            its first engine call, so an input error never leaves a line
 *            half executed;
 *   report   one result object: line, op, vm, rc (with its errno name),
 *            the operation's outputs; compared with "expect" if present.
 *
 * Invariants: every length taken from the input is checked against one of
 * the SCN_MAX_* caps before anything is allocated from it; 64-bit values are
 * written as "0x" strings (jansson integers are signed 64-bit) and read as
 * either form; handlers return SCN_BAD only with s->err filled in.
 */
#include "scenario.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include <gisa/gisa.h>

/* ---- caps on everything a line controls --------------------------------- */

#define SCN_MAX_LINE          SCENARIO_MAX_LINE
#define SCN_MAX_NAME          64u                 /* VM and saved-buffer names */
#define SCN_MAX_VMS           64u
#define SCN_MAX_SAVED         64u
#define SCN_MAX_RECORDS       65536u              /* records in one list member */
#define SCN_MAX_ROUTES        (2u * GISA_MAX_IRQ_ROUTES)
#define SCN_MAX_DATA          (1u << 20)          /* generic buffers, memory access */
#define SCN_MAX_GET_BUF       GISA_FLIC_MAX_BUFFER
#define SCN_MAX_REPEAT        1000000u
#define SCN_MAX_MEM_CHECKS    256u                /* addresses in expect.memory */
#define SCN_MAX_MEM_CHECK_LEN GISA_PAGE_SIZE
#define SCN_MAX_DIRTY_WORDS   16384u              /* 64 GiB of slot */
#define SCN_MAX_ROUTE_PAGES   (2u * GISA_MAX_IRQ_ROUTES)
#define SCN_MAX_PATH          160u
#define SCN_ECHO_MAX          120u                /* offending value, as echoed */

#define SCN_DEFAULT_VM        "vm0"
#define SCN_DEFAULT_GET_LEN   ((uint64_t)GISA_IRQ_SIZE * 4096)   /* spec §14.2 */
#define SCN_DEFAULT_MEMORY    (1u << 20)                         /* spec §14.1 */

#define SCN_BAD               (-1)                /* handler status: input error */

struct scn_vm {
	char name[SCN_MAX_NAME + 1];
	struct gisa_vm *vm;
};

struct scn_saved {
	char name[SCN_MAX_NAME + 1];
	uint8_t *data;
	size_t len;
};

struct scn_error {
	bool set;
	char member[SCN_MAX_PATH];
	char value[SCN_ECHO_MAX + 4];
	char msg[192];
};

struct scenario {
	struct scenario_options opt;
	char name[256];
	struct gisa_host *host;
	struct scn_vm vms[SCN_MAX_VMS];
	size_t nr_vms;
	struct scn_saved saved[SCN_MAX_SAVED];
	size_t nr_saved;
	int status;
	bool stopped;
	/* The current line. */
	unsigned long lineno;
	char vmname[SCN_MAX_NAME + 1];
	struct scn_vm *cur;
	struct scn_error err;
	bool plain_minus1;         /* rc -1 is a plain failure, not -EPERM */
};

/* A caller buffer (struct gisa_ubuf) under construction. */
struct scn_buf {
	uint8_t *data;
	size_t len;
	size_t bad_off;
	size_t bad_len;
	bool unmapped;
	void *own;                 /* freed by buf_free */
};

struct scn_name {
	const char *name;
	uint64_t value;
};

/* ---- small helpers ------------------------------------------------------- */

static void put(json_t *o, const char *key, json_t *v)
{
	json_object_set_new(o, key, v);
}

static json_t *jhex(uint64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "0x%" PRIx64, v);
	return json_string(b);
}

static json_t *jbytes(const uint8_t *p, size_t n)
{
	static const char dig[] = "0123456789abcdef";
	char *t = malloc(2 * n + 1);
	json_t *j;

	if (!t)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		t[2 * i] = dig[p[i] >> 4];
		t[2 * i + 1] = dig[p[i] & 15];
	}
	j = json_stringn_nocheck(t, 2 * n);
	free(t);
	return j;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "0x" followed by 1..16 hex digits. */
static int hexstr_u64(const char *p, size_t n, uint64_t *ret)
{
	uint64_t x = 0;

	if (n < 3 || n > 18 || p[0] != '0' || (p[1] != 'x' && p[1] != 'X'))
		return -1;
	for (size_t i = 2; i < n; i++) {
		int d = hexval((unsigned char)p[i]);

		if (d < 0)
			return -1;
		x = x << 4 | (uint64_t)d;
	}
	*ret = x;
	return 0;
}

static void put_uint(uint8_t *p, uint64_t v, size_t n, enum gisa_byteorder order)
{
	for (size_t i = 0; i < n; i++) {
		size_t sh = order == GISA_BE ? (n - 1 - i) * 8 : i * 8;

		p[i] = (uint8_t)(v >> sh);
	}
}

static const struct {
	int err;
	const char *name;
} errnames[] = {
	{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { EINTR, "EINTR" }, { EIO, "EIO" },
	{ ENXIO, "ENXIO" }, { E2BIG, "E2BIG" }, { EBADF, "EBADF" }, { EAGAIN, "EAGAIN" },
	{ ENOMEM, "ENOMEM" }, { EACCES, "EACCES" }, { EFAULT, "EFAULT" }, { EBUSY, "EBUSY" },
	{ EEXIST, "EEXIST" }, { ENODEV, "ENODEV" }, { EINVAL, "EINVAL" }, { ENOSPC, "ENOSPC" },
	{ ERANGE, "ERANGE" }, { ENOSYS, "ENOSYS" }, { EOPNOTSUPP, "EOPNOTSUPP" },
	{ ENOBUFS, "ENOBUFS" }, { EOVERFLOW, "EOVERFLOW" }, { ECANCELED, "ECANCELED" },
	{ ETIMEDOUT, "ETIMEDOUT" }, { EMSGSIZE, "EMSGSIZE" }, { ENOTSUP, "ENOTSUP" },
};

static const char *errno_name(int err)
{
	for (size_t i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (errnames[i].err == err)
			return errnames[i].name;
	return NULL;
}

/* "EINVAL" or "-EINVAL" -> -EINVAL; 0 if unknown. */
static int errno_value(const char *name)
{
	if (name[0] == '-')
		name++;
	for (size_t i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (!strcasecmp(errnames[i].name, name))
			return -errnames[i].err;
	return 0;
}

static bool word_in(const char *list, const char *w)
{
	size_t n = strlen(w);

	while (*list) {
		const char *e = strchr(list, ' ');
		size_t l = e ? (size_t)(e - list) : strlen(list);

		if (l == n && !memcmp(list, w, n))
			return true;
		list += l;
		while (*list == ' ')
			list++;
	}
	return false;
}

/*
 * Where text of UTF-8 (jansson's strings and dumps are) may be cut at or
 * before at: the start of the character at at, so that no cut splits one
 * and leaves bytes that are no UTF-8 (which json_string refuses).
 */
static size_t utf8_cut(const char *s, size_t at)
{
	while (at > 0 && ((unsigned char)s[at] & 0xc0) == 0x80)
		at--;
	return at;
}

/*
 * Member paths for messages ("routes[2].gsi"); a deep path is cut short,
 * and so is a long message.
 */
static void path_cut(char *buf, size_t cap, int r)
{
	if (r < 0)
		buf[0] = '\0';
	else if ((size_t)r >= cap && cap > 4)
		memcpy(buf + utf8_cut(buf, cap - 4), "...", 4);
}

static void path_join(char *buf, size_t cap, const char *base, const char *key)
{
	path_cut(buf, cap, snprintf(buf, cap, "%s%s%s", base, *base ? "." : "", key));
}

static void path_index(char *buf, size_t cap, const char *base, size_t i)
{
	path_cut(buf, cap, snprintf(buf, cap, "%s[%zu]", base, i));
}

/* ---- input errors -------------------------------------------------------- */

static void echo_value(const json_t *v, char *buf, size_t cap)
{
	char *d;

	if (!v) {
		snprintf(buf, cap, "(absent)");
		return;
	}
	d = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!d) {
		snprintf(buf, cap, "(unprintable)");
		return;
	}
	if (strlen(d) >= cap)
		snprintf(buf, cap, "%.*s...", (int)utf8_cut(d, cap - 4), d);
	else
		snprintf(buf, cap, "%s", d);
	free(d);
}

/*
 * The input error of this line (the first one counts): the member, its
 * value, what was expected.  bad() yields SCN_BAD, for `return bad(...)'; a
 * macro, so that each error path shows it (to a static analyzer too, which
 * does not follow calls into variadic functions).
 */
#define bad(s, member, v, ...) (bad_report((s), (member), (v), __VA_ARGS__), SCN_BAD)

__attribute__((format(printf, 4, 5)))
static void bad_report(struct scenario *s, const char *member, const json_t *v,
		       const char *fmt, ...)
{
	va_list ap;

	if (s->err.set)
		return;
	s->err.set = true;
	path_cut(s->err.member, sizeof(s->err.member),
		 snprintf(s->err.member, sizeof(s->err.member), "%s", member));
	echo_value(v, s->err.value, sizeof(s->err.value));
	va_start(ap, fmt);
	/* A key or value it quotes may make it long: cut as a path is. */
	path_cut(s->err.msg, sizeof(s->err.msg),
		 vsnprintf(s->err.msg, sizeof(s->err.msg), fmt, ap));
	va_end(ap);
}

static int oom(struct scenario *s)
{
	return bad(s, "(runner)", NULL, "out of memory");
}

/* ---- argument parsing ---------------------------------------------------- */

/* A JSON integer >= 0 or a "0x" hex string. */
static int to_u64(const json_t *v, uint64_t *ret)
{
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i < 0)
			return -1;
		*ret = (uint64_t)i;
		return 0;
	}
	if (json_is_string(v))
		return hexstr_u64(json_string_value(v), json_string_length(v), ret);
	return -1;
}

static int num_u64(struct scenario *s, const json_t *v, const char *path, uint64_t max,
		   uint64_t *ret)
{
	uint64_t x;

	if (to_u64(v, &x))
		return bad(s, path, v, "expected an integer >= 0 or a \"0x\" hex string");
	if (x > max)
		return bad(s, path, v, "out of range (at most 0x%" PRIx64 ")", max);
	*ret = x;
	return 0;
}

static int opt_u64(struct scenario *s, json_t *a, const char *key, uint64_t max, uint64_t def,
		   uint64_t *ret)
{
	json_t *v = json_object_get(a, key);

	if (!v) {
		*ret = def;
		return 0;
	}
	return num_u64(s, v, key, max, ret);
}

static int req_u64(struct scenario *s, json_t *a, const char *key, uint64_t max, uint64_t *ret)
{
	json_t *v = json_object_get(a, key);

	if (!v)
		return bad(s, key, NULL, "required member missing");
	return num_u64(s, v, key, max, ret);
}

static int opt_u32(struct scenario *s, json_t *a, const char *key, uint32_t def, uint32_t *ret)
{
	uint64_t x;

	if (opt_u64(s, a, key, UINT32_MAX, def, &x))
		return SCN_BAD;
	*ret = (uint32_t)x;
	return 0;
}

static int req_u32(struct scenario *s, json_t *a, const char *key, uint32_t *ret)
{
	uint64_t x;

	if (req_u64(s, a, key, UINT32_MAX, &x))
		return SCN_BAD;
	*ret = (uint32_t)x;
	return 0;
}

static int opt_bool(struct scenario *s, json_t *a, const char *key, bool def, bool *ret)
{
	json_t *v = json_object_get(a, key);

	if (!v) {
		*ret = def;
		return 0;
	}
	if (!json_is_boolean(v))
		return bad(s, key, v, "expected true or false");
	*ret = json_is_true(v);
	return 0;
}

/* A byte that KVM only tests for non-zero: true/false or 0..255. */
static int opt_u8_flag(struct scenario *s, json_t *a, const char *key, uint8_t *ret)
{
	json_t *v = json_object_get(a, key);
	uint64_t x;

	if (!v) {
		*ret = 0;
		return 0;
	}
	if (json_is_boolean(v)) {
		*ret = json_is_true(v) ? 1 : 0;
		return 0;
	}
	if (num_u64(s, v, key, 0xff, &x))
		return SCN_BAD;
	*ret = (uint8_t)x;
	return 0;
}

static int name_val(struct scenario *s, const json_t *v, const char *path,
		    const struct scn_name *tab, uint64_t max, uint64_t *ret)
{
	if (json_is_string(v) && json_string_value(v)[0] != '0') {
		char names[160] = "";
		size_t used = 0;

		for (const struct scn_name *t = tab; t->name; t++) {
			if (!strcasecmp(t->name, json_string_value(v))) {
				*ret = t->value;
				return 0;
			}
			used += (size_t)snprintf(names + used, used < sizeof(names) ?
						 sizeof(names) - used : 0, "%s%s",
						 used ? "|" : "", t->name);
			if (used >= sizeof(names))
				used = sizeof(names);
		}
		return bad(s, path, v, "unknown name (expected %s or a number)", names);
	}
	return num_u64(s, v, path, max, ret);
}

static int opt_name(struct scenario *s, json_t *a, const char *key, const struct scn_name *tab,
		    uint64_t max, uint64_t def, uint64_t *ret)
{
	json_t *v = json_object_get(a, key);

	if (!v) {
		*ret = def;
		return 0;
	}
	return name_val(s, v, key, tab, max, ret);
}

static int req_name(struct scenario *s, json_t *a, const char *key, const struct scn_name *tab,
		    uint64_t max, uint64_t *ret)
{
	json_t *v = json_object_get(a, key);

	if (!v)
		return bad(s, key, NULL, "required member missing");
	return name_val(s, v, key, tab, max, ret);
}

/* Hex bytes ("" allowed); *ret is malloc'ed (at least one byte). */
static int hex_val(struct scenario *s, const json_t *v, const char *path, size_t max,
		   uint8_t **ret, size_t *ret_len)
{
	const char *p;
	size_t n;
	uint8_t *b;

	if (!json_is_string(v))
		return bad(s, path, v, "expected a hex string");
	p = json_string_value(v);
	n = json_string_length(v);
	if (n % 2)
		return bad(s, path, v, "odd number of hex digits");
	if (n / 2 > max)
		return bad(s, path, v, "too long (at most %zu bytes)", max);
	b = malloc(n / 2 + 1);
	if (!b)
		return oom(s);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval((unsigned char)p[2 * i]), lo = hexval((unsigned char)p[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(b);
			return bad(s, path, v, "not a hex digit at offset %zu", 2 * i);
		}
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	*ret = b;
	*ret_len = n / 2;
	return 0;
}

static bool name_ok(const char *p, size_t n)
{
	if (n == 0 || n > SCN_MAX_NAME)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

static int name_arg(struct scenario *s, json_t *a, const char *key, const char **ret)
{
	json_t *v = json_object_get(a, key);

	if (!v) {
		*ret = NULL;
		return 0;
	}
	if (!json_is_string(v) || !name_ok(json_string_value(v), json_string_length(v)))
		return bad(s, key, v, "expected a name of 1..%u characters [A-Za-z0-9_.-]",
			   SCN_MAX_NAME);
	*ret = json_string_value(v);
	return 0;
}

/* ---- saved buffers ------------------------------------------------------- */

static struct scn_saved *saved_find(struct scenario *s, const char *name)
{
	for (size_t i = 0; i < s->nr_saved; i++)
		if (!strcmp(s->saved[i].name, name))
			return &s->saved[i];
	return NULL;
}

static int saved_store(struct scenario *s, const char *name, const uint8_t *p, size_t n)
{
	struct scn_saved *sv = saved_find(s, name);
	uint8_t *copy = malloc(n ? n : 1);

	if (!copy)
		return oom(s);
	if (n)
		memcpy(copy, p, n);
	if (!sv) {
		if (s->nr_saved == SCN_MAX_SAVED) {
			free(copy);
			return bad(s, "save", NULL, "too many saved buffers (at most %u)",
				   SCN_MAX_SAVED);
		}
		sv = &s->saved[s->nr_saved++];
		snprintf(sv->name, sizeof(sv->name), "%s", name);
		sv->data = NULL;
	}
	free(sv->data);
	sv->data = copy;
	sv->len = n;
	return 0;
}

/* "save": checked for room before the operation runs. */
static int save_arg(struct scenario *s, json_t *a, const char **ret)
{
	if (name_arg(s, a, "save", ret))
		return SCN_BAD;
	if (*ret && !saved_find(s, *ret) && s->nr_saved == SCN_MAX_SAVED)
		return bad(s, "save", json_object_get(a, "save"),
			   "too many saved buffers (at most %u)", SCN_MAX_SAVED);
	return 0;
}

/* ---- caller buffers ------------------------------------------------------ */

static void buf_free(struct scn_buf *b)
{
	free(b->own);
	b->own = NULL;
}

static struct gisa_ubuf buf_ubuf(const struct scn_buf *b)
{
	struct gisa_ubuf u = { 0 };

	if (b->unmapped)
		return u;
	u.data = b->data;
	u.len = b->len;
	u.bad_off = b->bad_off;
	u.bad_len = b->bad_len;
	return u;
}

/* "unmapped": true and "unreadable": [offset, length]. */
static int buf_opts(struct scenario *s, json_t *a, struct scn_buf *b)
{
	json_t *v = json_object_get(a, "unreadable");
	uint64_t off, len;

	if (opt_bool(s, a, "unmapped", false, &b->unmapped))
		return SCN_BAD;
	if (!v)
		return 0;
	if (!json_is_array(v) || json_array_size(v) != 2)
		return bad(s, "unreadable", v, "expected [offset, length]");
	if (num_u64(s, json_array_get(v, 0), "unreadable[0]", SIZE_MAX, &off) ||
	    num_u64(s, json_array_get(v, 1), "unreadable[1]", SIZE_MAX, &len))
		return SCN_BAD;
	b->bad_off = (size_t)off;
	b->bad_len = (size_t)len;
	return 0;
}

/* A fixed-size struct image in a heap buffer owned by b. */
static int buf_fixed(struct scenario *s, struct scn_buf *b, const uint8_t *img, size_t n)
{
	b->own = malloc(n ? n : 1);
	if (!b->own)
		return oom(s);
	if (n)
		memcpy(b->own, img, n);
	b->data = b->own;
	b->len = n;
	return 0;
}

/* ---- records ------------------------------------------------------------- */

static const struct scn_name type_names[] = {
	{ "SIGP_STOP", GISA_INT_SIGP_STOP },
	{ "PROGRAM", GISA_INT_PROGRAM },
	{ "SET_PREFIX", GISA_INT_SIGP_SET_PREFIX },
	{ "RESTART", GISA_INT_RESTART },
	{ "PFAULT_INIT", GISA_INT_PFAULT_INIT },
	{ "PFAULT_DONE", GISA_INT_PFAULT_DONE },
	{ "MCHK", GISA_INT_MCHK },
	{ "CLOCK_COMP", GISA_INT_CLOCK_COMP },
	{ "CPU_TIMER", GISA_INT_CPU_TIMER },
	{ "VIRTIO", GISA_INT_VIRTIO },
	{ "SERVICE", GISA_INT_SERVICE },
	{ "EMERGENCY", GISA_INT_EMERGENCY },
	{ "EXTERNAL_CALL", GISA_INT_EXTERNAL_CALL },
	{ "AI", GISA_INT_IO_AI_MASK },
	{ NULL, 0 },
};

static json_t *io_json(const struct gisa_io_info *io)
{
	json_t *o = json_object();

	put(o, "id", jhex(io->subchannel_id));
	put(o, "nr", jhex(io->subchannel_nr));
	put(o, "parm", jhex(io->io_int_parm));
	put(o, "word", jhex(io->io_int_word));
	return o;
}

/*
 * The canonical form of a record: its type and every field of the union
 * member the type selects, so that comparing two canonical forms compares
 * the records completely.
 */
static json_t *irq_json(const struct gisa_irq *q)
{
	json_t *o = json_object(), *p;
	uint8_t img[GISA_IRQ_SIZE];

	put(o, "type", jhex(q->type));
	switch (gisa_irq_payload(q->type)) {
	case GISA_PAYLOAD_IO:
		put(o, "io", io_json(&q->u.io));
		break;
	case GISA_PAYLOAD_EXT:
		p = json_object();
		put(p, "params", jhex(q->u.ext.ext_params));
		put(p, "pad", jhex(q->u.ext.pad));
		put(p, "params2", jhex(q->u.ext.ext_params2));
		put(o, "ext", p);
		break;
	case GISA_PAYLOAD_MCHK:
		p = json_object();
		put(p, "cr14", jhex(q->u.mchk.cr14));
		put(p, "mcic", jhex(q->u.mchk.mcic));
		put(p, "fsa", jhex(q->u.mchk.failing_storage_address));
		put(p, "edc", jhex(q->u.mchk.ext_damage_code));
		put(p, "pad", jhex(q->u.mchk.pad));
		put(p, "logout", jbytes(q->u.mchk.fixed_logout, sizeof(q->u.mchk.fixed_logout)));
		put(o, "mchk", p);
		break;
	default:
		gisa_irq_pack1(q, GISA_BE, img);
		put(o, "raw", jbytes(img + 8, GISA_IRQ_SIZE - 8));
		break;
	}
	return o;
}

static int member_check(struct scenario *s, json_t *o, const char *path, const char *allowed)
{
	const char *key;
	json_t *v;
	char p[SCN_MAX_PATH];

	json_object_foreach(o, key, v) {
		if (!word_in(allowed, key)) {
			path_join(p, sizeof(p), path, key);
			return bad(s, p, v, "unknown member (expected one of: %s)", allowed);
		}
	}
	return 0;
}

static int sub_u64(struct scenario *s, json_t *o, const char *path, const char *key,
		   uint64_t max, uint64_t *ret)
{
	json_t *v = json_object_get(o, key);
	char p[SCN_MAX_PATH];

	*ret = 0;
	if (!v)
		return 0;
	path_join(p, sizeof(p), path, key);
	return num_u64(s, v, p, max, ret);
}

static int io_parse(struct scenario *s, json_t *v, const char *path, bool have_type,
		    struct gisa_irq *q)
{
	uint64_t id, nr, parm, isc = 0, word;
	char p[SCN_MAX_PATH];

	if (json_is_array(v)) {
		uint64_t f[4];
		const uint64_t max[4] = { 0xffff, 0xffff, UINT32_MAX, GISA_MAX_ISC };

		if (json_array_size(v) != 4)
			return bad(s, path, v, "expected [id, nr, parm, isc]");
		for (size_t i = 0; i < 4; i++) {
			path_index(p, sizeof(p), path, i);
			if (num_u64(s, json_array_get(v, i), p, max[i], &f[i]))
				return SCN_BAD;
		}
		id = f[0], nr = f[1], parm = f[2], word = f[3] << 27;
	} else if (json_is_object(v)) {
		if (member_check(s, v, path, "id nr parm isc word") ||
		    sub_u64(s, v, path, "id", 0xffff, &id) ||
		    sub_u64(s, v, path, "nr", 0xffff, &nr) ||
		    sub_u64(s, v, path, "parm", UINT32_MAX, &parm) ||
		    sub_u64(s, v, path, "isc", GISA_MAX_ISC, &isc) ||
		    sub_u64(s, v, path, "word", UINT32_MAX, &word))
			return SCN_BAD;
		if (json_object_get(v, "isc") && json_object_get(v, "word"))
			return bad(s, path, v, "give isc or word, not both");
		if (!json_object_get(v, "word"))
			word = isc << 27;
	} else {
		return bad(s, path, v, "expected {id, nr, parm, isc|word} or [id, nr, parm, isc]");
	}
	if (!have_type)
		q->type = GISA_INT_IO(0, id >> 8, (id >> 1) & 3, nr);
	q->u.io.subchannel_id = (uint16_t)id;
	q->u.io.subchannel_nr = (uint16_t)nr;
	q->u.io.io_int_parm = (uint32_t)parm;
	q->u.io.io_int_word = (uint32_t)word;
	return 0;
}

static int ext_parse(struct scenario *s, json_t *v, const char *path, struct gisa_irq *q)
{
	uint64_t a, b, c;

	if (!json_is_object(v))
		return bad(s, path, v, "expected {params, pad, params2}");
	if (member_check(s, v, path, "params pad params2") ||
	    sub_u64(s, v, path, "params", UINT32_MAX, &a) ||
	    sub_u64(s, v, path, "pad", UINT32_MAX, &b) ||
	    sub_u64(s, v, path, "params2", UINT64_MAX, &c))
		return SCN_BAD;
	q->u.ext.ext_params = (uint32_t)a;
	q->u.ext.pad = (uint32_t)b;
	q->u.ext.ext_params2 = c;
	return 0;
}

static int mchk_parse(struct scenario *s, json_t *v, const char *path, struct gisa_irq *q)
{
	uint64_t cr14, mcic, fsa, edc, pad;
	json_t *lo;
	char p[SCN_MAX_PATH];

	if (!json_is_object(v))
		return bad(s, path, v, "expected {cr14, mcic, fsa, edc, pad, logout}");
	if (member_check(s, v, path, "cr14 mcic fsa edc pad logout") ||
	    sub_u64(s, v, path, "cr14", UINT64_MAX, &cr14) ||
	    sub_u64(s, v, path, "mcic", UINT64_MAX, &mcic) ||
	    sub_u64(s, v, path, "fsa", UINT64_MAX, &fsa) ||
	    sub_u64(s, v, path, "edc", UINT32_MAX, &edc) ||
	    sub_u64(s, v, path, "pad", UINT32_MAX, &pad))
		return SCN_BAD;
	q->u.mchk.cr14 = cr14;
	q->u.mchk.mcic = mcic;
	q->u.mchk.failing_storage_address = fsa;
	q->u.mchk.ext_damage_code = (uint32_t)edc;
	q->u.mchk.pad = (uint32_t)pad;
	lo = json_object_get(v, "logout");
	if (lo) {
		uint8_t *b;
		size_t n;

		path_join(p, sizeof(p), path, "logout");
		if (hex_val(s, lo, p, sizeof(q->u.mchk.fixed_logout), &b, &n))
			return SCN_BAD;
		memcpy(q->u.mchk.fixed_logout, b, n);
		free(b);
	}
	return 0;
}

/* The forms a record may take; "type" may accompany io, ext, mchk and raw. */
static const char record_forms[] = "hex ai srv virt pfd mck raw_type io ext mchk raw";

/*
 * Parse one record spec into its 72-byte image in byte order `order`.  The
 * "hex" form is taken verbatim (unused union bytes included); every other
 * form is packed, with zeros outside the union member.
 */
static int record_parse(struct scenario *s, json_t *v, const char *path,
			enum gisa_byteorder order, uint8_t img[GISA_IRQ_SIZE])
{
	struct gisa_irq q;
	const char *key, *form = NULL;
	json_t *x, *fv = NULL, *tv;
	char p[SCN_MAX_PATH], tp[SCN_MAX_PATH];
	uint64_t a, b, c;
	bool have_type;

	memset(&q, 0, sizeof(q));
	if (!json_is_object(v))
		return bad(s, path, v, "expected a record object");
	json_object_foreach(v, key, x) {
		if (!strcmp(key, "type"))
			continue;
		if (!word_in(record_forms, key)) {
			path_join(p, sizeof(p), path, key);
			return bad(s, p, x, "unknown record form (expected type or one of: %s)",
				   record_forms);
		}
		if (form)
			return bad(s, path, v, "more than one record form (%s and %s)", form, key);
		form = key;
		fv = x;
	}
	tv = json_object_get(v, "type");
	have_type = tv != NULL;
	path_join(tp, sizeof(tp), path, "type");
	if (have_type && name_val(s, tv, tp, type_names, UINT64_MAX, &q.type))
		return SCN_BAD;
	if (form && have_type && !word_in("io ext mchk raw", form))
		return bad(s, path, v, "\"type\" does not go with the %s form", form);
	if (form)
		path_join(p, sizeof(p), path, form);

	if (!form) {
		if (!have_type)
			return bad(s, path, v, "empty record (expected type or one of: %s)",
				   record_forms);
	} else if (!strcmp(form, "hex")) {
		uint8_t *raw;
		size_t n;

		if (hex_val(s, fv, p, GISA_IRQ_SIZE, &raw, &n))
			return SCN_BAD;
		if (n != GISA_IRQ_SIZE) {
			free(raw);
			return bad(s, p, fv, "a record is %u bytes, not %zu", GISA_IRQ_SIZE, n);
		}
		memcpy(img, raw, GISA_IRQ_SIZE);
		free(raw);
		return 0;
	} else if (!strcmp(form, "raw")) {
		uint8_t *raw;
		size_t n;

		if (!have_type)
			return bad(s, path, v, "the raw form needs a \"type\"");
		if (hex_val(s, fv, p, GISA_IRQ_SIZE - 8, &raw, &n))
			return SCN_BAD;
		memset(img, 0, GISA_IRQ_SIZE);
		put_uint(img, q.type, 8, order);
		memcpy(img + 8, raw, n);
		free(raw);
		return 0;
	} else if (!strcmp(form, "ai")) {
		if (num_u64(s, fv, p, GISA_MAX_ISC, &a))
			return SCN_BAD;
		q.type = GISA_INT_IO_AI_MASK;
		q.u.io.io_int_word = GISA_IO_WORD_AI | (uint32_t)a << 27;
	} else if (!strcmp(form, "srv")) {
		if (num_u64(s, fv, p, UINT32_MAX, &a))
			return SCN_BAD;
		q.type = GISA_INT_SERVICE;
		q.u.ext.ext_params = (uint32_t)a;
	} else if (!strcmp(form, "virt")) {
		char e[SCN_MAX_PATH];

		if (!json_is_array(fv) || json_array_size(fv) < 2 || json_array_size(fv) > 3)
			return bad(s, p, fv, "expected [params, params2(, pad)]");
		c = 0;
		path_index(e, sizeof(e), p, 0);
		if (num_u64(s, json_array_get(fv, 0), e, UINT32_MAX, &a))
			return SCN_BAD;
		path_index(e, sizeof(e), p, 1);
		if (num_u64(s, json_array_get(fv, 1), e, UINT64_MAX, &b))
			return SCN_BAD;
		path_index(e, sizeof(e), p, 2);
		if (json_array_size(fv) == 3 &&
		    num_u64(s, json_array_get(fv, 2), e, UINT32_MAX, &c))
			return SCN_BAD;
		q.type = GISA_INT_VIRTIO;
		q.u.ext.ext_params = (uint32_t)a;
		q.u.ext.ext_params2 = b;
		q.u.ext.pad = (uint32_t)c;
	} else if (!strcmp(form, "pfd")) {
		if (num_u64(s, fv, p, UINT64_MAX, &a))
			return SCN_BAD;
		q.type = GISA_INT_PFAULT_DONE;
		q.u.ext.ext_params2 = a;
	} else if (!strcmp(form, "mck")) {
		char e[SCN_MAX_PATH];

		if (!json_is_array(fv) || json_array_size(fv) != 2)
			return bad(s, p, fv, "expected [cr14, mcic]");
		path_index(e, sizeof(e), p, 0);
		if (num_u64(s, json_array_get(fv, 0), e, UINT64_MAX, &a))
			return SCN_BAD;
		path_index(e, sizeof(e), p, 1);
		if (num_u64(s, json_array_get(fv, 1), e, UINT64_MAX, &b))
			return SCN_BAD;
		q.type = GISA_INT_MCHK;
		q.u.mchk.cr14 = a;
		q.u.mchk.mcic = b;
	} else if (!strcmp(form, "raw_type")) {
		if (name_val(s, fv, p, type_names, UINT64_MAX, &q.type))
			return SCN_BAD;
	} else if (!strcmp(form, "io")) {
		if (have_type && gisa_irq_payload(q.type) != GISA_PAYLOAD_IO)
			return bad(s, tp, tv, "this type does not carry an io payload");
		if (io_parse(s, fv, p, have_type, &q))
			return SCN_BAD;
	} else if (!strcmp(form, "ext")) {
		if (!have_type)
			return bad(s, path, v, "the ext form needs a \"type\"");
		if (gisa_irq_payload(q.type) != GISA_PAYLOAD_EXT)
			return bad(s, tp, tv, "this type does not carry an ext payload");
		if (ext_parse(s, fv, p, &q))
			return SCN_BAD;
	} else if (!strcmp(form, "mchk")) {
		if (!have_type)
			q.type = GISA_INT_MCHK;
		else if (gisa_irq_payload(q.type) != GISA_PAYLOAD_MCHK)
			return bad(s, tp, tv, "this type does not carry a mchk payload");
		if (mchk_parse(s, fv, p, &q))
			return SCN_BAD;
	}
	gisa_irq_pack1(&q, order, img);
	return 0;
}

/* A JSON array of record specs -> concatenated images (malloc'ed). */
static int records_parse(struct scenario *s, json_t *v, const char *path,
			 enum gisa_byteorder order, uint8_t **ret, size_t *ret_len)
{
	size_t n;
	uint8_t *b;
	char p[SCN_MAX_PATH];

	if (!json_is_array(v))
		return bad(s, path, v, "expected an array of records");
	n = json_array_size(v);
	if (n > SCN_MAX_RECORDS)
		return bad(s, path, NULL, "%zu records (at most %u)", n, SCN_MAX_RECORDS);
	b = malloc(n * GISA_IRQ_SIZE + 1);
	if (!b)
		return oom(s);
	for (size_t i = 0; i < n; i++) {
		path_index(p, sizeof(p), path, i);
		if (record_parse(s, json_array_get(v, i), p, order, b + i * GISA_IRQ_SIZE)) {
			free(b);
			return SCN_BAD;
		}
	}
	*ret = b;
	*ret_len = n * GISA_IRQ_SIZE;
	return 0;
}

/* A record spec -> its canonical form (for expectations). */
static json_t *record_canon(struct scenario *s, json_t *v, const char *path)
{
	uint8_t img[GISA_IRQ_SIZE];
	struct gisa_irq q;

	if (record_parse(s, v, path, GISA_BE, img))
		return NULL;
	gisa_irq_unpack1(img, GISA_BE, &q);
	return irq_json(&q);
}

/* n records in byte order `order` -> array of canonical forms. */
static json_t *records_json(const uint8_t *buf, size_t n, enum gisa_byteorder order)
{
	json_t *arr = json_array();
	struct gisa_irq q;

	for (size_t i = 0; i < n; i++) {
		gisa_irq_unpack1(buf + i * GISA_IRQ_SIZE, order, &q);
		json_array_append_new(arr, irq_json(&q));
	}
	return arr;
}

/*
 * The bytes of a buffer argument: "records" (if allowed), "data" (hex) or
 * "from" (a saved buffer); none of them = an empty buffer.
 */
static int data_parse(struct scenario *s, json_t *a, bool records_ok, enum gisa_byteorder order,
		      struct scn_buf *b)
{
	json_t *rec = records_ok ? json_object_get(a, "records") : NULL;
	json_t *dat = json_object_get(a, "data");
	json_t *from = json_object_get(a, "from");
	uint8_t *p = NULL;
	size_t n = 0;

	if (!!rec + !!dat + !!from > 1)
		return bad(s, rec ? "records" : "data", NULL,
			   "give only one of %sdata and from", records_ok ? "records, " : "");
	if (rec) {
		if (records_parse(s, rec, "records", order, &p, &n))
			return SCN_BAD;
	} else if (dat) {
		if (hex_val(s, dat, "data", SCN_MAX_DATA, &p, &n))
			return SCN_BAD;
	} else if (from) {
		struct scn_saved *sv;

		if (!json_is_string(from) || !(sv = saved_find(s, json_string_value(from))))
			return bad(s, "from", from, "no saved buffer of that name");
		b->data = sv->data;
		b->len = sv->len;
		return 0;
	} else {
		p = malloc(1);
		n = 0;
		if (!p)
			return oom(s);
	}
	b->own = p;
	b->data = p;
	b->len = n;
	return 0;
}

/* ---- VMs ----------------------------------------------------------------- */

static struct scn_vm *vm_find(struct scenario *s, const char *name)
{
	for (size_t i = 0; i < s->nr_vms; i++)
		if (!strcmp(s->vms[i].name, name))
			return &s->vms[i];
	return NULL;
}

static enum gisa_byteorder vm_order(struct scenario *s)
{
	struct gisa_vm_config c;

	gisa_vm_config(s->cur->vm, &c);
	return c.abi_order;
}

static const struct scn_name profile_names[] = {
	{ "classic", GISA_PROFILE_CLASSIC },
	{ "newest", GISA_PROFILE_NEWEST },
	{ NULL, 0 },
};

static const struct scn_name order_names[] = {
	{ "be", GISA_BE },
	{ "le", GISA_LE },
	{ NULL, 0 },
};

static const struct scn_name run_names[] = {
	{ "running", GISA_VCPU_RUNNING },
	{ "idle", GISA_VCPU_IDLE },
	{ "stopped", GISA_VCPU_STOPPED },
	{ NULL, 0 },
};

static const char *profile_str(enum gisa_profile p)
{
	return p == GISA_PROFILE_NEWEST ? "newest" : p == GISA_PROFILE_CLASSIC ? "classic" : "?";
}

static const char *run_str(enum gisa_run_state r)
{
	switch (r) {
	case GISA_VCPU_RUNNING:
		return "running";
	case GISA_VCPU_IDLE:
		return "idle";
	case GISA_VCPU_STOPPED:
		return "stopped";
	}
	return "?";
}

static json_t *caps_json(uint32_t caps)
{
	json_t *a = json_array();

	if (caps & GISA_CAP_GISA)
		json_array_append_new(a, json_string("gisa"));
	if (caps & GISA_CAP_AIS)
		json_array_append_new(a, json_string("ais"));
	if (caps & ~(uint32_t)GISA_CAP_ALL)
		json_array_append_new(a, jhex(caps & ~(uint32_t)GISA_CAP_ALL));
	return a;
}

static int caps_parse(struct scenario *s, json_t *a, uint32_t *ret)
{
	static const struct scn_name cap_names[] = {
		{ "gisa", GISA_CAP_GISA }, { "ais", GISA_CAP_AIS }, { "all", GISA_CAP_ALL },
		{ NULL, 0 },
	};
	json_t *v = json_object_get(a, "caps");
	uint64_t x;
	char p[SCN_MAX_PATH];

	*ret = 0;
	if (!v)
		return 0;
	if (!json_is_array(v)) {
		if (name_val(s, v, "caps", cap_names, UINT32_MAX, &x))
			return SCN_BAD;
		*ret = (uint32_t)x;
		return 0;
	}
	if (json_array_size(v) > 32)
		return bad(s, "caps", NULL, "too many capabilities");
	for (size_t i = 0; i < json_array_size(v); i++) {
		path_index(p, sizeof(p), "caps", i);
		if (name_val(s, json_array_get(v, i), p, cap_names, UINT32_MAX, &x))
			return SCN_BAD;
		*ret |= (uint32_t)x;
	}
	return 0;
}

/* ---- state views ---------------------------------------------------------- */

static const char *const list_names[GISA_NR_LISTS] = {
	"isc0", "isc1", "isc2", "isc3", "isc4", "isc5", "isc6", "isc7", "pfault", "virtio",
};

static json_t *vcpu_json(const struct gisa_vcpu_state *st)
{
	json_t *o = json_object();

	put(o, "psw", jhex(st->psw_mask));
	put(o, "cr0", jhex(st->cr0));
	put(o, "cr6", jhex(st->cr6));
	put(o, "cr14", jhex(st->cr14));
	put(o, "run", json_string(run_str(st->run)));
	put(o, "kicked", json_boolean(st->kicked));
	return o;
}

static json_t *route_json(const struct gisa_route_entry *e)
{
	json_t *o = json_object();

	put(o, "gsi", json_integer(e->gsi));
	put(o, "type", json_integer(e->type));
	put(o, "flags", jhex(e->flags));
	put(o, "ind", jhex(e->adapter.ind_addr));
	put(o, "ind_off", jhex(e->adapter.ind_offset));
	put(o, "sum", jhex(e->adapter.summary_addr));
	put(o, "sum_off", jhex(e->adapter.summary_offset));
	put(o, "adapter", json_integer(e->adapter.adapter_id));
	return o;
}

static json_t *host_json(const struct gisa_host *host)
{
	struct gisa_host_info hi;
	json_t *o = json_object();

	gisa_host_info(host, &hi);
	put(o, "nisc", json_integer(hi.nisc));
	put(o, "alert_origin", json_string(hi.alert_origin == 0 ? "null" :
					   hi.alert_origin == 1 ? "none" : "gisa"));
	put(o, "alert_list_len", json_integer(hi.alert_list_len));
	put(o, "gal_interrupts", jhex(hi.gal_interrupts));
	put(o, "nr_vms", json_integer(hi.nr_vms));
	return o;
}

static json_t *lists_json(struct scenario *s, const struct gisa_vm *vm,
			  const struct gisa_state *st)
{
	json_t *lists = json_object();

	for (unsigned i = 0; i < GISA_NR_LISTS; i++) {
		size_t want = st->list_len[i] < s->opt.max_records ? st->list_len[i] :
			      s->opt.max_records;
		struct gisa_irq *q = malloc((want ? want : 1) * sizeof(*q));
		json_t *l = json_object(), *arr = json_array();
		size_t got = 0;

		if (q)
			got = gisa_state_list_copy(vm, i, q, want);
		for (size_t k = 0; k < got; k++)
			json_array_append_new(arr, irq_json(&q[k]));
		free(q);
		put(l, "len", json_integer(st->list_len[i]));
		put(l, "records", arr);
		if (got < st->list_len[i])
			put(l, "more", json_integer((json_int_t)(st->list_len[i] - got)));
		put(lists, list_names[i], l);
	}
	return lists;
}

static json_t *adapters_json(const struct gisa_vm *vm, uint64_t mask)
{
	json_t *o = json_object();

	for (uint32_t id = 0; id < GISA_MAX_ADAPTERS; id++) {
		struct gisa_state_adapter ad;
		uint64_t maps[GISA_MAX_ADAPTER_MAPS];
		json_t *a, *m;
		char key[12];
		size_t n;

		if (!(mask >> id & 1) || gisa_state_adapter(vm, id, &ad))
			continue;
		a = json_object();
		put(a, "isc", json_integer(ad.isc));
		put(a, "maskable", json_boolean(ad.maskable));
		put(a, "masked", json_boolean(ad.masked));
		put(a, "swap", json_boolean(ad.swap));
		put(a, "suppressible", json_boolean(ad.suppressible));
		put(a, "nr_maps", json_integer(ad.nr_maps));
		n = gisa_state_adapter_maps(vm, id, maps, GISA_MAX_ADAPTER_MAPS);
		m = json_array();
		for (size_t i = 0; i < n && i < GISA_MAX_ADAPTER_MAPS; i++)
			json_array_append_new(m, jhex(maps[i]));
		put(a, "maps", m);
		snprintf(key, sizeof(key), "%u", id);
		put(o, key, a);
	}
	return o;
}

static json_t *route_pages_json(const struct gisa_vm *vm)
{
	uint64_t *pages = malloc(SCN_MAX_ROUTE_PAGES * sizeof(*pages));
	uint8_t page[GISA_PAGE_SIZE];
	json_t *arr = json_array();
	size_t n;

	if (!pages)
		return arr;
	n = gisa_state_route_pages(vm, pages, SCN_MAX_ROUTE_PAGES);
	if (n > SCN_MAX_ROUTE_PAGES)
		n = SCN_MAX_ROUTE_PAGES;
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_object(), *nz = json_object();
		char key[24];

		put(o, "gpa", jhex(pages[i]));
		if (gisa_mem_read(vm, pages[i], page, sizeof(page)) == 0) {
			for (size_t k = 0; k < sizeof(page); k++) {
				if (!page[k])
					continue;
				snprintf(key, sizeof(key), "0x%" PRIx64, pages[i] + k);
				put(nz, key, jbytes(&page[k], 1));
			}
		}
		put(o, "nonzero", nz);
		json_array_append_new(arr, o);
	}
	free(pages);
	return arr;
}

static json_t *state_json(struct scenario *s, const struct gisa_vm *vm)
{
	struct gisa_state st;
	json_t *o = json_object(), *g, *rc, *arr;

	gisa_state_read(vm, &st);
	put(o, "profile", json_string(profile_str(st.profile)));
	put(o, "caps", caps_json(st.caps));
	put(o, "nr_vcpus", json_integer(st.nr_vcpus));
	put(o, "mem_cap", jhex(st.mem_cap));
	put(o, "abi_order", json_string(st.abi_order == GISA_LE ? "le" : "be"));
	put(o, "flic", json_boolean(st.flic_present));
	put(o, "apf", json_boolean(st.apf_enabled));
	put(o, "pending_irqs", jhex(st.pending_irqs));
	put(o, "lists", lists_json(s, vm, &st));
	put(o, "srv_ext_params", jhex(st.srv_ext_params));
	g = json_object();
	put(g, "cr14", jhex(st.mchk_cr14));
	put(g, "mcic", jhex(st.mchk_mcic));
	put(o, "mchk", g);
	put(o, "simm", jhex(st.simm));
	put(o, "nimm", jhex(st.nimm));

	g = json_object();
	put(g, "present", json_boolean(st.gisa.present));
	put(g, "ipm", jhex(st.gisa.ipm));
	put(g, "iam", jhex(st.gisa.iam));
	put(g, "alert_mask", jhex(st.gisa.alert_mask));
	rc = json_array();
	for (unsigned i = 0; i <= GISA_MAX_ISC; i++)
		json_array_append_new(rc, json_integer(st.gisa.refcount[i]));
	put(g, "refcount", rc);
	put(g, "on_alert_list", json_boolean(st.gisa.on_alert_list));
	put(g, "timer_armed", json_boolean(st.gisa.timer_armed));
	put(g, "timer_delay_ns", json_integer(st.gisa.timer_delay_ns));
	put(o, "gisa", g);
	put(o, "kick_cursor", json_integer(st.kick_cursor));

	put(o, "adapter_mask", jhex(st.adapter_mask));
	put(o, "adapters", adapters_json(vm, st.adapter_mask));
	arr = json_array();
	for (size_t i = 0; i < st.nr_routes; i++) {
		struct gisa_route_entry e;

		if (gisa_state_route(vm, i, &e) == 0)
			json_array_append_new(arr, route_json(&e));
	}
	put(o, "routes", arr);
	arr = json_array();
	for (size_t i = 0; i < st.nr_memslots; i++) {
		struct gisa_memslot_info mi;
		json_t *m;

		if (gisa_state_memslot(vm, i, &mi))
			continue;
		m = json_object();
		put(m, "slot", json_integer(mi.slot));
		put(m, "gpa", jhex(mi.gpa));
		put(m, "size", jhex(mi.size));
		put(m, "pages", jhex(mi.pages_allocated));
		json_array_append_new(arr, m);
	}
	put(o, "memslots", arr);
	put(o, "mem_used", jhex(st.mem_used));
	put(o, "route_pages", route_pages_json(vm));

	arr = json_array();
	for (uint32_t i = 0; i < st.nr_vcpus; i++) {
		struct gisa_vcpu_state vs;

		if (gisa_vcpu_get(vm, i, &vs) == 0)
			json_array_append_new(arr, vcpu_json(&vs));
	}
	put(o, "vcpus", arr);
	put(o, "events_dropped", jhex(gisa_vm_events_dropped(vm)));
	return o;
}

/* ---- operations ---------------------------------------------------------- */

typedef int scn_run_fn(struct scenario *s, json_t *a, json_t *out, int *rc);

static int op_host(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	struct gisa_host_config cfg = { 0 };
	struct gisa_host *h = NULL;
	uint64_t nisc;

	(void)out;
	if (req_u64(s, a, "nisc", 0xff, &nisc))
		return SCN_BAD;
	if (s->nr_vms)
		return bad(s, "op", json_object_get(a, "op"), "the host already has VMs");
	cfg.nisc = (uint8_t)nisc;
	*rc = gisa_host_new(&cfg, &h);
	if (*rc >= 0) {
		gisa_host_free(s->host);
		s->host = h;
	}
	return 0;
}

static int op_vm(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	struct gisa_vm_config cfg = { 0 };
	struct gisa_vm *vm = NULL;
	uint64_t profile, order, memory, mem_cap;
	uint32_t caps, vcpus;
	bool flic = false;
	struct scn_vm *v;

	if (opt_name(s, a, "profile", profile_names, UINT32_MAX, GISA_PROFILE_CLASSIC, &profile) ||
	    caps_parse(s, a, &caps) ||
	    opt_u32(s, a, "vcpus", 1, &vcpus) ||
	    opt_u64(s, a, "mem_cap", UINT64_MAX, 0, &mem_cap) ||
	    opt_name(s, a, "abi_order", order_names, UINT32_MAX, GISA_BE, &order) ||
	    opt_bool(s, a, "flic", true, &flic) ||
	    opt_u64(s, a, "memory", UINT64_MAX, SCN_DEFAULT_MEMORY, &memory))
		return SCN_BAD;
	if (s->nr_vms == SCN_MAX_VMS)
		return bad(s, "vm", json_object_get(a, "vm"), "too many VMs (at most %u)",
			   SCN_MAX_VMS);
	cfg.profile = (enum gisa_profile)profile;
	cfg.caps = caps;
	cfg.nr_vcpus = vcpus;
	cfg.mem_cap = mem_cap;
	cfg.abi_order = (enum gisa_byteorder)order;
	*rc = gisa_vm_new(s->host, &cfg, &vm);
	if (*rc < 0) {
		put(out, "step", json_string("vm_new"));
		return 0;
	}
	if (flic) {
		*rc = gisa_flic_create(vm);
		if (*rc < 0) {
			put(out, "step", json_string("flic_create"));
			gisa_vm_free(vm);
			return 0;
		}
	}
	if (memory) {
		*rc = gisa_mem_set_slot(vm, 0, 0, memory);
		if (*rc < 0) {
			put(out, "step", json_string("memslot"));
			gisa_vm_free(vm);
			return 0;
		}
	}
	v = &s->vms[s->nr_vms++];
	snprintf(v->name, sizeof(v->name), "%s", s->vmname);
	v->vm = vm;
	s->cur = v;
	*rc = 0;
	return 0;
}

static int op_vm_free(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	size_t i = (size_t)(s->cur - s->vms);

	(void)a;
	(void)out;
	gisa_vm_free(s->cur->vm);
	memmove(&s->vms[i], &s->vms[i + 1], (s->nr_vms - i - 1) * sizeof(s->vms[0]));
	s->nr_vms--;
	s->cur = NULL;
	*rc = 0;
	return 0;
}

static int op_flic_create(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	(void)a;
	(void)out;
	*rc = gisa_flic_create(s->cur->vm);
	return 0;
}

static int op_flic_destroy(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	(void)a;
	(void)out;
	*rc = gisa_flic_destroy(s->cur->vm);
	return 0;
}

static int flic_set(struct scenario *s, uint32_t flags, uint32_t group, uint64_t attr,
		    const struct scn_buf *b)
{
	struct gisa_attr at = {
		.flags = flags, .group = group, .attr = attr, .addr = buf_ubuf(b),
	};

	return gisa_flic_set_attr(s->cur->vm, &at);
}

static int flic_get(struct scenario *s, uint32_t flags, uint32_t group, uint64_t attr,
		    const struct scn_buf *b)
{
	struct gisa_attr at = {
		.flags = flags, .group = group, .attr = attr, .addr = buf_ubuf(b),
	};

	return gisa_flic_get_attr(s->cur->vm, &at);
}

static int op_has_attr(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	struct gisa_attr at = { 0 };
	uint64_t attr;

	(void)out;
	if (req_u32(s, a, "group", &at.group) ||
	    opt_u64(s, a, "attr", UINT64_MAX, 0, &attr) ||
	    opt_u32(s, a, "flags", 0, &at.flags))
		return SCN_BAD;
	at.attr = attr;
	*rc = gisa_flic_has_attr(s->cur->vm, &at);
	return 0;
}

/* get_attr / set_attr: "data"/"from" then grown to "buf" bytes of "fill". */
static int generic_buf(struct scenario *s, json_t *a, struct scn_buf *b)
{
	uint64_t size, fill;

	if (buf_opts(s, a, b) || data_parse(s, a, false, GISA_BE, b))
		return SCN_BAD;
	if (opt_u64(s, a, "buf", SCN_MAX_DATA, b->len, &size) ||
	    opt_u64(s, a, "fill", 0xff, 0, &fill)) {
		buf_free(b);
		return SCN_BAD;
	}
	if (size < b->len) {
		buf_free(b);
		return bad(s, "buf", json_object_get(a, "buf"), "shorter than data");
	}
	if (size > b->len || !b->own) {
		uint8_t *p = malloc(size ? size : 1);

		if (!p) {
			buf_free(b);
			return oom(s);
		}
		/* NOLINTBEGIN(clang-analyzer-core.NonNullParamChecker): data comes with len */
		if (b->len)
			memcpy(p, b->data, b->len);
		/* NOLINTEND(clang-analyzer-core.NonNullParamChecker) */
		memset(p + b->len, (int)fill, size - b->len);
		buf_free(b);
		b->own = p;
		b->data = p;
		b->len = size;
	}
	return 0;
}

static int op_get_attr(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	struct scn_buf b = { 0 };
	uint32_t group, flags;
	uint64_t attr;
	const char *save;

	if (req_u32(s, a, "group", &group) ||
	    opt_u64(s, a, "attr", UINT64_MAX, 0, &attr) ||
	    opt_u32(s, a, "flags", 0, &flags) ||
	    save_arg(s, a, &save) ||
	    generic_buf(s, a, &b))
		return SCN_BAD;
	*rc = flic_get(s, flags, group, attr, &b);
	if (!b.unmapped) {
		put(out, "data", jbytes(b.data, b.len));
		if (save && saved_store(s, save, b.data, b.len)) {
			buf_free(&b);
			return SCN_BAD;
		}
	}
	buf_free(&b);
	return 0;
}

static int op_set_attr(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	struct scn_buf b = { 0 };
	uint32_t group, flags;
	uint64_t attr;

	(void)out;
	if (req_u32(s, a, "group", &group) ||
	    opt_u64(s, a, "attr", UINT64_MAX, 0, &attr) ||
	    opt_u32(s, a, "flags", 0, &flags) ||
	    generic_buf(s, a, &b))
		return SCN_BAD;
	*rc = flic_set(s, flags, group, attr, &b);
	buf_free(&b);
	return 0;
}

static int op_enqueue(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	struct scn_buf b = { 0 };
	uint32_t flags;
	uint64_t len;
	const char *save;

	(void)out;
	if (opt_u32(s, a, "flags", 0, &flags) || save_arg(s, a, &save) ||
	    buf_opts(s, a, &b) || data_parse(s, a, true, vm_order(s), &b))
		return SCN_BAD;
	if (opt_u64(s, a, "len", UINT64_MAX, b.len, &len) ||
	    (save && saved_store(s, save, b.data, b.len))) {
		buf_free(&b);
		return SCN_BAD;
	}
	*rc = flic_set(s, flags, GISA_FLIC_ENQUEUE, len, &b);
	buf_free(&b);
	return 0;
}

static int op_get(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	struct scn_buf b = { 0 };
	uint64_t len, size, fill;
	uint32_t flags;
	const char *save;
	bool brief = false, intact = true;
	size_t n, used;

	if (opt_u64(s, a, "len", UINT64_MAX, SCN_DEFAULT_GET_LEN, &len) ||
	    opt_u64(s, a, "buf", SCN_MAX_GET_BUF, len < SCN_MAX_GET_BUF ? len : SCN_MAX_GET_BUF,
		    &size) ||
	    opt_u64(s, a, "fill", 0xff, 0xaa, &fill) ||
	    opt_u32(s, a, "flags", 0, &flags) ||
	    opt_bool(s, a, "brief", false, &brief) ||
	    save_arg(s, a, &save) ||
	    buf_opts(s, a, &b))
		return SCN_BAD;
	if (!b.unmapped) {
		b.own = malloc(size ? size : 1);
		if (!b.own)
			return oom(s);
		b.data = b.own;
		b.len = size;
		memset(b.data, (int)fill, size);
	}
	*rc = flic_get(s, flags, GISA_FLIC_GET_ALL_IRQS, len, &b);
	n = *rc > 0 ? (size_t)*rc : 0;
	used = n * GISA_IRQ_SIZE;
	if (used > b.len) {
		/* The engine claims more records than fit the buffer. */
		put(out, "overrun", json_true());
		n = b.len / GISA_IRQ_SIZE;
		used = n * GISA_IRQ_SIZE;
	}
	if (*rc >= 0) {
		put(out, "count", json_integer(*rc));
		if (!brief) {
			put(out, "records", records_json(b.data, n, vm_order(s)));
			put(out, "hex", jbytes(b.data, used));
		}
		if (save && saved_store(s, save, b.data, used)) {
			buf_free(&b);
			return SCN_BAD;
		}
	}
	for (size_t i = used; i < b.len; i++) {
		if (b.data[i] != (uint8_t)fill) {
			intact = false;
			break;
		}
	}
	if (!b.unmapped)
		put(out, "intact", json_boolean(intact));
	buf_free(&b);
	return 0;
}

static int op_group_only(struct scenario *s, json_t *a, uint32_t group, int *rc)
{
	struct scn_buf b = { .unmapped = true };
	uint32_t flags;
	uint64_t attr;

	if (opt_u32(s, a, "flags", 0, &flags) || opt_u64(s, a, "attr", UINT64_MAX, 0, &attr))
		return SCN_BAD;
	*rc = flic_set(s, flags, group, attr, &b);
	return 0;
}

static int op_clear_irqs(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	(void)out;
	return op_group_only(s, a, GISA_FLIC_CLEAR_IRQS, rc);
}

static int op_apf_enable(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	(void)out;
	return op_group_only(s, a, GISA_FLIC_APF_ENABLE, rc);
}

static int op_apf_disable_wait(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	(void)out;
	return op_group_only(s, a, GISA_FLIC_APF_DISABLE_WAIT, rc);
}

static int op_clear_io(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	struct scn_buf b = { 0 };
	uint32_t schid, flags;
	uint64_t attr;
	uint8_t img[4];

	(void)out;
	if (req_u32(s, a, "schid", &schid) || opt_u32(s, a, "flags", 0, &flags) ||
	    opt_u64(s, a, "attr", UINT64_MAX, 4, &attr) || buf_opts(s, a, &b))
		return SCN_BAD;
	put_uint(img, schid, 4, vm_order(s));
	if (buf_fixed(s, &b, img, sizeof(img)))
		return SCN_BAD;
	*rc = flic_set(s, flags, GISA_FLIC_CLEAR_IO_IRQ, attr, &b);
	buf_free(&b);
	return 0;
}

static int op_adapter_register(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	struct gisa_io_adapter ad = { 0 };
	struct scn_buf b = { 0 };
	uint8_t img[GISA_IO_ADAPTER_SIZE];
	uint64_t isc, fl;
	bool supp = false;

	(void)out;
	if (req_u32(s, a, "id", &ad.id) ||
	    opt_u64(s, a, "isc", 0xff, 0, &isc) ||
	    opt_u8_flag(s, a, "maskable", &ad.maskable) ||
	    opt_u8_flag(s, a, "swap", &ad.swap) ||
	    opt_u64(s, a, "flags", 0xff, 0, &fl) ||
	    opt_bool(s, a, "suppressible", false, &supp) ||
	    buf_opts(s, a, &b))
		return SCN_BAD;
	ad.isc = (uint8_t)isc;
	ad.flags = (uint8_t)(fl | (supp ? GISA_ADAPTER_SUPPRESSIBLE : 0));
	gisa_io_adapter_pack(&ad, vm_order(s), img);
	if (buf_fixed(s, &b, img, sizeof(img)))
		return SCN_BAD;
	*rc = flic_set(s, 0, GISA_FLIC_ADAPTER_REGISTER, 0, &b);
	buf_free(&b);
	return 0;
}

static int op_adapter_modify(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	static const struct scn_name types[] = {
		{ "mask", GISA_IO_ADAPTER_MASK },
		{ "map", GISA_IO_ADAPTER_MAP },
		{ "unmap", GISA_IO_ADAPTER_UNMAP },
		{ NULL, 0 },
	};
	struct gisa_io_adapter_req r = { 0 };
	struct scn_buf b = { 0 };
	uint8_t img[GISA_IO_ADAPTER_REQ_SIZE];
	uint64_t type;

	(void)out;
	if (req_u32(s, a, "id", &r.id) ||
	    req_name(s, a, "type", types, 0xff, &type) ||
	    opt_u8_flag(s, a, "mask", &r.mask) ||
	    opt_u64(s, a, "addr", UINT64_MAX, 0, &r.addr) ||
	    buf_opts(s, a, &b))
		return SCN_BAD;
	r.type = (uint8_t)type;
	gisa_io_adapter_req_pack(&r, vm_order(s), img);
	if (buf_fixed(s, &b, img, sizeof(img)))
		return SCN_BAD;
	*rc = flic_set(s, 0, GISA_FLIC_ADAPTER_MODIFY, 0, &b);
	buf_free(&b);
	return 0;
}

static int op_aism(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	static const struct scn_name modes[] = {
		{ "all", GISA_AIS_MODE_ALL },
		{ "single", GISA_AIS_MODE_SINGLE },
		{ NULL, 0 },
	};
	struct gisa_ais_req r = { 0 };
	struct scn_buf b = { 0 };
	uint8_t img[GISA_AIS_REQ_SIZE];
	uint64_t isc, mode;

	(void)out;
	if (req_u64(s, a, "isc", 0xff, &isc) ||
	    req_name(s, a, "mode", modes, 0xffff, &mode) ||
	    buf_opts(s, a, &b))
		return SCN_BAD;
	r.isc = (uint8_t)isc;
	r.mode = (uint16_t)mode;
	gisa_ais_req_pack(&r, vm_order(s), img);
	if (buf_fixed(s, &b, img, sizeof(img)))
		return SCN_BAD;
	*rc = flic_set(s, 0, GISA_FLIC_AISM, 0, &b);
	buf_free(&b);
	return 0;
}

static int op_aism_all_set(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	struct scn_buf b = { 0 };
	uint64_t simm, nimm, attr;
	uint8_t img[GISA_AIS_ALL_SIZE];

	(void)out;
	if (req_u64(s, a, "simm", 0xff, &simm) || req_u64(s, a, "nimm", 0xff, &nimm) ||
	    opt_u64(s, a, "attr", UINT64_MAX, GISA_AIS_ALL_SIZE, &attr) || buf_opts(s, a, &b))
		return SCN_BAD;
	img[0] = (uint8_t)simm;
	img[1] = (uint8_t)nimm;
	if (buf_fixed(s, &b, img, sizeof(img)))
		return SCN_BAD;
	*rc = flic_set(s, 0, GISA_FLIC_AISM_ALL, attr, &b);
	buf_free(&b);
	return 0;
}

static int op_aism_all_get(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	struct scn_buf b = { 0 };
	uint64_t attr, fill;
	uint8_t img[GISA_AIS_ALL_SIZE];

	if (opt_u64(s, a, "attr", UINT64_MAX, GISA_AIS_ALL_SIZE, &attr) ||
	    opt_u64(s, a, "fill", 0xff, 0xee, &fill) || buf_opts(s, a, &b))
		return SCN_BAD;
	memset(img, (int)fill, sizeof(img));
	if (buf_fixed(s, &b, img, sizeof(img)))
		return SCN_BAD;
	*rc = flic_get(s, 0, GISA_FLIC_AISM_ALL, attr, &b);
	if (*rc == 0) {
		put(out, "simm", jhex(b.data[0]));
		put(out, "nimm", jhex(b.data[1]));
	}
	buf_free(&b);
	return 0;
}

static int op_airq_inject(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	struct scn_buf b = { .unmapped = true };
	uint64_t id;
	uint32_t flags;

	(void)out;
	if (req_u64(s, a, "id", UINT64_MAX, &id) || opt_u32(s, a, "flags", 0, &flags))
		return SCN_BAD;
	*rc = flic_set(s, flags, GISA_FLIC_AIRQ_INJECT, id, &b);
	return 0;
}

static int op_inject(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	uint64_t type, parm, parm64;

	(void)out;
	if (req_name(s, a, "type", type_names, UINT32_MAX, &type) ||
	    opt_u64(s, a, "parm", UINT32_MAX, 0, &parm) ||
	    opt_u64(s, a, "parm64", UINT64_MAX, 0, &parm64))
		return SCN_BAD;
	*rc = gisa_vm_interrupt(s->cur->vm, (uint32_t)type, (uint32_t)parm, parm64);
	return 0;
}

static int op_inject_irq(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	json_t *v = json_object_get(a, "record");
	uint8_t img[GISA_IRQ_SIZE];
	struct gisa_irq q;

	(void)out;
	if (!v)
		return bad(s, "record", NULL, "required member missing");
	if (record_parse(s, v, "record", GISA_BE, img))
		return SCN_BAD;
	gisa_irq_unpack1(img, GISA_BE, &q);
	*rc = gisa_vm_inject(s->cur->vm, &q);
	return 0;
}

static int route_parse(struct scenario *s, json_t *v, const char *path,
		       struct gisa_route_entry *e)
{
	static const struct scn_name rtypes[] = {
		{ "irqchip", GISA_IRQ_ROUTING_IRQCHIP },
		{ "msi", GISA_IRQ_ROUTING_MSI },
		{ "s390_adapter", GISA_IRQ_ROUTING_S390_ADAPTER },
		{ NULL, 0 },
	};
	uint64_t gsi, type = GISA_IRQ_ROUTING_S390_ADAPTER, flags, ind, ind_off, sum, sum_off,
		 adapter;
	json_t *t;
	char p[SCN_MAX_PATH];

	if (!json_is_object(v))
		return bad(s, path, v, "expected a route object");
	if (member_check(s, v, path, "gsi type flags ind ind_off sum sum_off adapter"))
		return SCN_BAD;
	if (!json_object_get(v, "gsi")) {
		path_join(p, sizeof(p), path, "gsi");
		return bad(s, p, NULL, "required member missing");
	}
	t = json_object_get(v, "type");
	path_join(p, sizeof(p), path, "type");
	if ((t && name_val(s, t, p, rtypes, UINT32_MAX, &type)) ||
	    sub_u64(s, v, path, "gsi", UINT32_MAX, &gsi) ||
	    sub_u64(s, v, path, "flags", UINT32_MAX, &flags) ||
	    sub_u64(s, v, path, "ind", UINT64_MAX, &ind) ||
	    sub_u64(s, v, path, "ind_off", UINT64_MAX, &ind_off) ||
	    sub_u64(s, v, path, "sum", UINT64_MAX, &sum) ||
	    sub_u64(s, v, path, "sum_off", UINT32_MAX, &sum_off) ||
	    sub_u64(s, v, path, "adapter", UINT32_MAX, &adapter))
		return SCN_BAD;
	memset(e, 0, sizeof(*e));
	e->gsi = (uint32_t)gsi;
	e->type = (uint32_t)type;
	e->flags = (uint32_t)flags;
	e->adapter.ind_addr = ind;
	e->adapter.ind_offset = ind_off;
	e->adapter.summary_addr = sum;
	e->adapter.summary_offset = (uint32_t)sum_off;
	e->adapter.adapter_id = (uint32_t)adapter;
	return 0;
}

static int op_routes_set(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	json_t *v = json_object_get(a, "routes");
	struct gisa_route_entry *e;
	uint32_t flags;
	size_t n;
	char p[SCN_MAX_PATH];

	(void)out;
	if (opt_u32(s, a, "flags", 0, &flags))
		return SCN_BAD;
	if (!v)
		return bad(s, "routes", NULL, "required member missing");
	if (!json_is_array(v))
		return bad(s, "routes", v, "expected an array of routes");
	n = json_array_size(v);
	if (n > SCN_MAX_ROUTES)
		return bad(s, "routes", NULL, "%zu routes (at most %u)", n, SCN_MAX_ROUTES);
	e = malloc((n ? n : 1) * sizeof(*e));
	if (!e)
		return oom(s);
	for (size_t i = 0; i < n; i++) {
		path_index(p, sizeof(p), "routes", i);
		if (route_parse(s, json_array_get(v, i), p, &e[i])) {
			free(e);
			return SCN_BAD;
		}
	}
	*rc = gisa_routes_set(s->cur->vm, e, n, flags);
	free(e);
	return 0;
}

static int op_trigger(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	uint32_t gsi;
	json_t *lv = json_object_get(a, "level");
	int level = 1;

	(void)out;
	if (req_u32(s, a, "gsi", &gsi))
		return SCN_BAD;
	if (lv) {
		if (!json_is_integer(lv) || json_integer_value(lv) < INT32_MIN ||
		    json_integer_value(lv) > INT32_MAX)
			return bad(s, "level", lv, "expected a 32-bit integer");
		level = (int)json_integer_value(lv);
	}
	*rc = gisa_route_trigger(s->cur->vm, gsi, level);
	s->plain_minus1 = true;
	return 0;
}

static int op_mem_read(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	uint64_t addr, len;
	const char *save;
	uint8_t *p;

	if (req_u64(s, a, "addr", UINT64_MAX, &addr) ||
	    opt_u64(s, a, "len", SCN_MAX_DATA, 1, &len) ||
	    save_arg(s, a, &save))
		return SCN_BAD;
	p = malloc(len ? len : 1);
	if (!p)
		return oom(s);
	*rc = gisa_mem_read(s->cur->vm, addr, p, len);
	if (*rc == 0) {
		put(out, "mem", jbytes(p, len));
		if (save && saved_store(s, save, p, len)) {
			free(p);
			return SCN_BAD;
		}
	}
	free(p);
	return 0;
}

static int op_mem_write(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	struct scn_buf b = { 0 };
	uint64_t addr;

	(void)out;
	if (req_u64(s, a, "addr", UINT64_MAX, &addr) || data_parse(s, a, false, GISA_BE, &b))
		return SCN_BAD;
	*rc = gisa_mem_write(s->cur->vm, addr, b.data, b.len);
	buf_free(&b);
	return 0;
}

static int op_memslot(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	uint32_t slot;
	uint64_t gpa, size;

	(void)out;
	if (req_u32(s, a, "slot", &slot) || opt_u64(s, a, "gpa", UINT64_MAX, 0, &gpa) ||
	    req_u64(s, a, "size", UINT64_MAX, &size))
		return SCN_BAD;
	*rc = gisa_mem_set_slot(s->cur->vm, slot, gpa, size);
	return 0;
}

static int op_dirty_log(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	uint32_t slot;
	uint64_t words = 1, *bm;
	json_t *pages;
	struct gisa_state st;

	if (req_u32(s, a, "slot", &slot))
		return SCN_BAD;
	/* Default: just enough words for the slot, if it exists. */
	gisa_state_read(s->cur->vm, &st);
	for (size_t i = 0; i < st.nr_memslots; i++) {
		struct gisa_memslot_info mi;

		if (gisa_state_memslot(s->cur->vm, i, &mi) == 0 && mi.slot == slot) {
			uint64_t np = mi.size / GISA_PAGE_SIZE;

			words = np / 64 + (np % 64 != 0);
			if (!words)
				words = 1;
			if (words > SCN_MAX_DIRTY_WORDS)
				words = SCN_MAX_DIRTY_WORDS;
		}
	}
	if (opt_u64(s, a, "words", SCN_MAX_DIRTY_WORDS, words, &words))
		return SCN_BAD;
	bm = calloc(words ? words : 1, sizeof(*bm));
	if (!bm)
		return oom(s);
	*rc = gisa_mem_get_dirty_log(s->cur->vm, slot, bm, words);
	if (*rc >= 0) {
		pages = json_array();
		for (uint64_t i = 0; i < words * 64; i++)
			if (bm[i / 64] >> (i % 64) & 1)
				json_array_append_new(pages, json_integer((json_int_t)i));
		put(out, "pages", pages);
	}
	free(bm);
	return 0;
}

static int psw_parse(struct scenario *s, json_t *v, uint64_t *ret)
{
	static const struct scn_name bits[] = {
		{ "io", GISA_PSW_MASK_IO },
		{ "ext", GISA_PSW_MASK_EXT },
		{ "mcheck", GISA_PSW_MASK_MCHECK },
		{ NULL, 0 },
	};
	char p[SCN_MAX_PATH];
	uint64_t x;

	if (!json_is_array(v))
		return num_u64(s, v, "psw", UINT64_MAX, ret);
	if (json_array_size(v) > 3)
		return bad(s, "psw", v, "expected at most io, ext and mcheck");
	*ret = 0;
	for (size_t i = 0; i < json_array_size(v); i++) {
		path_index(p, sizeof(p), "psw", i);
		if (!json_is_string(json_array_get(v, i)))
			return bad(s, p, json_array_get(v, i), "expected io, ext or mcheck");
		if (name_val(s, json_array_get(v, i), p, bits, 0, &x))
			return SCN_BAD;
		*ret |= x;
	}
	return 0;
}

static int op_vcpu_set(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	struct gisa_vcpu_state st = { 0 }, cur;
	uint32_t idx;
	bool all_on = false;
	uint64_t run = GISA_VCPU_RUNNING;
	json_t *v;

	(void)out;
	if (opt_u32(s, a, "vcpu", 0, &idx) || opt_bool(s, a, "all_on", false, &all_on))
		return SCN_BAD;
	if (all_on) {
		st.psw_mask = GISA_PSW_MASK_IO | GISA_PSW_MASK_EXT | GISA_PSW_MASK_MCHECK;
		st.cr0 = 0x6e00;
		st.cr6 = 0xff000000;
		st.cr14 = GISA_CR14_CHANNEL_REPORT;
	}
	if (((v = json_object_get(a, "psw")) && psw_parse(s, v, &st.psw_mask)) ||
	    ((v = json_object_get(a, "cr0")) && num_u64(s, v, "cr0", UINT64_MAX, &st.cr0)) ||
	    ((v = json_object_get(a, "cr6")) && num_u64(s, v, "cr6", UINT64_MAX, &st.cr6)) ||
	    ((v = json_object_get(a, "cr14")) && num_u64(s, v, "cr14", UINT64_MAX, &st.cr14)) ||
	    opt_name(s, a, "run", run_names, UINT32_MAX, GISA_VCPU_RUNNING, &run))
		return SCN_BAD;
	/* Members not given keep their current value. */
	*rc = gisa_vcpu_get(s->cur->vm, idx, &cur);
	if (*rc < 0)
		return 0;
	if (!all_on) {
		if (!json_object_get(a, "psw"))
			st.psw_mask = cur.psw_mask;
		if (!json_object_get(a, "cr0"))
			st.cr0 = cur.cr0;
		if (!json_object_get(a, "cr6"))
			st.cr6 = cur.cr6;
		if (!json_object_get(a, "cr14"))
			st.cr14 = cur.cr14;
	}
	st.run = json_object_get(a, "run") ? (enum gisa_run_state)run : cur.run;
	*rc = gisa_vcpu_set(s->cur->vm, idx, &st);
	return 0;
}

static int op_vcpu_get(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	struct gisa_vcpu_state st;
	uint32_t idx;

	if (opt_u32(s, a, "vcpu", 0, &idx))
		return SCN_BAD;
	*rc = gisa_vcpu_get(s->cur->vm, idx, &st);
	if (*rc >= 0)
		put(out, "vcpu", vcpu_json(&st));
	return 0;
}

static int op_deliverable(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	uint32_t idx, bits;

	if (opt_u32(s, a, "vcpu", 0, &idx))
		return SCN_BAD;
	*rc = gisa_vcpu_deliverable(s->cur->vm, idx, &bits);
	if (*rc >= 0)
		put(out, "bits", jhex(bits));
	return 0;
}

static json_t *delivery_json(const struct gisa_delivery *d)
{
	json_t *o = json_object(), *p;

	switch (d->kind) {
	case GISA_DELIVER_IO:
		put(o, "kind", json_string("io"));
		break;
	case GISA_DELIVER_EXT:
		put(o, "kind", json_string("ext"));
		break;
	case GISA_DELIVER_MCHK:
		put(o, "kind", json_string("mchk"));
		break;
	default:
		put(o, "kind", json_integer(d->kind));
		break;
	}
	put(o, "bit", json_integer(d->irq_bit));
	put(o, "type", jhex(d->type));
	switch (d->kind) {
	case GISA_DELIVER_IO:
		put(o, "io", io_json(&d->u.io));
		break;
	case GISA_DELIVER_EXT:
		p = json_object();
		put(p, "code", jhex(d->u.ext.code));
		put(p, "cpu_addr", jhex(d->u.ext.cpu_addr));
		put(p, "param", jhex(d->u.ext.param));
		put(p, "param64", jhex(d->u.ext.param64));
		put(o, "ext", p);
		break;
	case GISA_DELIVER_MCHK:
		p = json_object();
		put(p, "mcic", jhex(d->u.mchk.mcic));
		put(p, "cr14", jhex(d->u.mchk.cr14));
		put(o, "mchk", p);
		break;
	}
	return o;
}

static int op_deliver(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	struct gisa_delivery d;
	uint32_t idx;

	if (opt_u32(s, a, "vcpu", 0, &idx))
		return SCN_BAD;
	memset(&d, 0, sizeof(d));
	*rc = gisa_vcpu_deliver(s->cur->vm, idx, &d);
	if (*rc >= 0)
		put(out, "delivery", *rc > 0 ? delivery_json(&d) : json_null());
	return 0;
}

static int op_tpi(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	struct gisa_irq q;
	uint32_t idx;

	if (opt_u32(s, a, "vcpu", 0, &idx))
		return SCN_BAD;
	memset(&q, 0, sizeof(q));
	*rc = gisa_vcpu_tpi(s->cur->vm, idx, &q);
	if (*rc >= 0)
		put(out, "record", *rc > 0 ? irq_json(&q) : json_null());
	return 0;
}

static int op_tsch(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	struct gisa_irq q;
	uint32_t idx;
	uint64_t gpr1;

	if (opt_u32(s, a, "vcpu", 0, &idx) || opt_u64(s, a, "gpr1", UINT64_MAX, 0, &gpr1))
		return SCN_BAD;
	memset(&q, 0, sizeof(q));
	*rc = gisa_vcpu_tsch(s->cur->vm, idx, gpr1, &q);
	if (*rc >= 0)
		put(out, "record", *rc > 0 ? irq_json(&q) : json_null());
	return 0;
}

static int op_wait(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	uint32_t idx;

	(void)out;
	if (opt_u32(s, a, "vcpu", 0, &idx))
		return SCN_BAD;
	*rc = gisa_vcpu_wait(s->cur->vm, idx);
	return 0;
}

static int op_run(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	uint32_t idx;

	(void)out;
	if (opt_u32(s, a, "vcpu", 0, &idx))
		return SCN_BAD;
	*rc = gisa_vcpu_run(s->cur->vm, idx);
	return 0;
}

static int op_gisc_register(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	uint32_t gisc;

	(void)out;
	if (req_u32(s, a, "gisc", &gisc))
		return SCN_BAD;
	*rc = gisa_gisc_register(s->cur->vm, gisc);
	return 0;
}

static int op_gisc_unregister(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	uint32_t gisc;

	(void)out;
	if (req_u32(s, a, "gisc", &gisc))
		return SCN_BAD;
	*rc = gisa_gisc_unregister(s->cur->vm, gisc);
	return 0;
}

static int op_hw_airq(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	uint32_t isc;
	bool in_sie = false;

	(void)out;
	if (req_u32(s, a, "isc", &isc) || opt_bool(s, a, "in_sie", false, &in_sie))
		return SCN_BAD;
	*rc = gisa_gisa_hw_airq(s->cur->vm, isc, in_sie);
	return 0;
}

static int op_process_alerts(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	(void)a;
	(void)out;
	*rc = gisa_host_process_alerts(s->host);
	return 0;
}

static int op_timer_fire(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	(void)a;
	(void)out;
	*rc = gisa_gisa_timer_fire(s->cur->vm);
	return 0;
}

static int op_events(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	static const char *const flags[] = { "none", "io", "ext", "stop" };
	struct gisa_event ev[GISA_EVENT_RING_SIZE];
	uint64_t max;
	size_t n;
	json_t *arr;

	if (opt_u64(s, a, "max", GISA_EVENT_RING_SIZE, GISA_EVENT_RING_SIZE, &max))
		return SCN_BAD;
	n = gisa_vm_events_read(s->cur->vm, ev, max);
	arr = json_array();
	for (size_t i = 0; i < n && i < max; i++) {
		json_t *o = json_object();

		put(o, "seq", json_integer((json_int_t)ev[i].seq));
		put(o, "kind", json_string(ev[i].kind == GISA_EV_KICK ? "kick" :
					   ev[i].kind == GISA_EV_GISA_WAKE ? "wake" : "?"));
		put(o, "vcpu", json_integer(ev[i].vcpu));
		put(o, "flag", json_string((unsigned)ev[i].flag < 4 ? flags[ev[i].flag] : "?"));
		json_array_append_new(arr, o);
	}
	put(out, "events", arr);
	put(out, "dropped", jhex(gisa_vm_events_dropped(s->cur->vm)));
	*rc = (int)n;
	return 0;
}

static int op_state(struct scenario *s, json_t *a, json_t *out, int *rc)
{
	(void)a;
	put(out, "state", state_json(s, s->cur->vm));
	put(out, "host", host_json(s->host));
	*rc = 0;
	return 0;
}

#define SCN_OP_VM     0x1u    /* acts on the VM named by "vm" */
#define SCN_OP_NEWVM  0x2u    /* "vm" names the VM to create */
#define SCN_OP_ONCE   0x4u    /* no "repeat" */
#define SCN_OP_NOVM   0x8u    /* no "vm" at all */

struct scn_op {
	const char *name;
	scn_run_fn *run;
	unsigned flags;
	const char *args;
	const char *help;
};

#define BUFOPT "unmapped unreadable"

static const struct scn_op ops[] = {
	{ "host", op_host, SCN_OP_ONCE | SCN_OP_NOVM, "nisc",
	  "recreate the host with another GIB alert ISC (before any VM)" },
	{ "vm", op_vm, SCN_OP_NEWVM | SCN_OP_ONCE,
	  "profile caps vcpus mem_cap abi_order flic memory",
	  "create a VM (default: FLIC and memslot 0 = [0, 1 MiB))" },
	{ "vm_free", op_vm_free, SCN_OP_VM | SCN_OP_ONCE, "", "destroy a VM" },
	{ "flic_create", op_flic_create, SCN_OP_VM, "", "KVM_CREATE_DEVICE(FLIC)" },
	{ "flic_destroy", op_flic_destroy, SCN_OP_VM, "", "forget the FLIC device" },
	{ "has_attr", op_has_attr, SCN_OP_VM, "group attr flags", "KVM_HAS_DEVICE_ATTR" },
	{ "get_attr", op_get_attr, SCN_OP_VM, "group attr flags data from buf fill save " BUFOPT,
	  "KVM_GET_DEVICE_ATTR with a caller buffer; prints the buffer" },
	{ "set_attr", op_set_attr, SCN_OP_VM, "group attr flags data from buf fill " BUFOPT,
	  "KVM_SET_DEVICE_ATTR with a caller buffer" },
	{ "enqueue", op_enqueue, SCN_OP_VM, "records data from len flags save " BUFOPT,
	  "ENQUEUE records (attr = byte length unless len is given)" },
	{ "get", op_get, SCN_OP_VM, "len buf fill flags brief save " BUFOPT,
	  "GET_ALL_IRQS; prints count, records, hex and intact" },
	{ "clear_irqs", op_clear_irqs, SCN_OP_VM, "flags attr", "CLEAR_IRQS" },
	{ "clear_io", op_clear_io, SCN_OP_VM, "schid flags attr " BUFOPT, "CLEAR_IO_IRQ" },
	{ "apf_enable", op_apf_enable, SCN_OP_VM, "flags attr", "APF_ENABLE" },
	{ "apf_disable_wait", op_apf_disable_wait, SCN_OP_VM, "flags attr", "APF_DISABLE_WAIT" },
	{ "adapter_register", op_adapter_register, SCN_OP_VM,
	  "id isc maskable swap flags suppressible " BUFOPT, "ADAPTER_REGISTER" },
	{ "adapter_modify", op_adapter_modify, SCN_OP_VM, "id type mask addr " BUFOPT,
	  "ADAPTER_MODIFY (type mask|map|unmap)" },
	{ "aism", op_aism, SCN_OP_VM, "isc mode " BUFOPT, "AISM (mode all|single)" },
	{ "aism_all_set", op_aism_all_set, SCN_OP_VM, "simm nimm attr " BUFOPT, "AISM_ALL set" },
	{ "aism_all_get", op_aism_all_get, SCN_OP_VM, "attr fill " BUFOPT,
	  "AISM_ALL get; prints simm and nimm" },
	{ "airq_inject", op_airq_inject, SCN_OP_VM, "id flags", "AIRQ_INJECT (attr = id)" },
	{ "inject", op_inject, SCN_OP_VM, "type parm parm64",
	  "legacy VM KVM_S390_INTERRUPT" },
	{ "inject_irq", op_inject_irq, SCN_OP_VM, "record",
	  "the floating injection path with one record" },
	{ "routes_set", op_routes_set, SCN_OP_VM, "routes flags",
	  "KVM_SET_GSI_ROUTING (replaces the table)" },
	{ "trigger", op_trigger, SCN_OP_VM, "gsi level", "signal a GSI" },
	{ "mem_read", op_mem_read, SCN_OP_VM, "addr len save", "read guest memory; prints mem" },
	{ "mem_write", op_mem_write, SCN_OP_VM, "addr data from", "write guest memory" },
	{ "memslot", op_memslot, SCN_OP_VM, "slot gpa size", "set a memslot (size 0 deletes)" },
	{ "dirty_log", op_dirty_log, SCN_OP_VM, "slot words",
	  "fetch and clear a slot's dirty log; prints pages" },
	{ "vcpu_set", op_vcpu_set, SCN_OP_VM, "vcpu psw cr0 cr6 cr14 run all_on",
	  "set PSW mask, CR0/6/14, run state" },
	{ "vcpu_get", op_vcpu_get, SCN_OP_VM, "vcpu", "prints vcpu" },
	{ "deliverable", op_deliverable, SCN_OP_VM, "vcpu", "prints the deliverable bits" },
	{ "deliver", op_deliver, SCN_OP_VM, "vcpu", "deliver one interrupt; prints delivery" },
	{ "tpi", op_tpi, SCN_OP_VM, "vcpu", "TPI; prints record" },
	{ "tsch", op_tsch, SCN_OP_VM, "vcpu gpr1", "TSCH; prints record" },
	{ "wait", op_wait, SCN_OP_VM, "vcpu", "enabled wait" },
	{ "run", op_run, SCN_OP_VM, "vcpu", "the vcpu enters SIE" },
	{ "gisc_register", op_gisc_register, SCN_OP_VM, "gisc", "kvm_s390_gisc_register" },
	{ "gisc_unregister", op_gisc_unregister, SCN_OP_VM, "gisc", "kvm_s390_gisc_unregister" },
	{ "hw_airq", op_hw_airq, SCN_OP_VM, "isc in_sie",
	  "hardware adapter interruption into the GISA" },
	{ "process_alerts", op_process_alerts, 0, "",
	  "process the GIB alert list (host; vm only for expect)" },
	{ "timer_fire", op_timer_fire, SCN_OP_VM, "", "the GISA kicker timer fires" },
	{ "events", op_events, SCN_OP_VM, "max", "take kick/wake events; prints events" },
	{ "state", op_state, SCN_OP_VM, "", "prints the VM's state and the host's" },
};

static const struct scn_op *op_find(const char *name)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(ops[i].name, name))
			return &ops[i];
	return NULL;
}

void scenario_print_ops(FILE *f)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		const struct scn_op *o = &ops[i];

		fprintf(f, "  %-17s %s%s%s%s\n  %-17s   %s\n", o->name,
			o->flags & SCN_OP_NOVM ? "" : "vm ", o->args, *o->args ? " " : "",
			o->flags & SCN_OP_ONCE ? "expect note" : "repeat expect note", "",
			o->help);
	}
}

/* ---- expectations --------------------------------------------------------- */

static int memory_check_prepare(struct scenario *s, json_t *m)
{
	const char *key;
	json_t *v;
	uint64_t addr;
	char p[SCN_MAX_PATH];

	if (!json_is_object(m))
		return bad(s, "expect.memory", m, "expected {\"0xADDR\": \"hex\", ...}");
	if (json_object_size(m) > SCN_MAX_MEM_CHECKS)
		return bad(s, "expect.memory", NULL, "more than %u addresses", SCN_MAX_MEM_CHECKS);
	json_object_foreach(m, key, v) {
		path_join(p, sizeof(p), "expect.memory", key);
		if (hexstr_u64(key, strlen(key), &addr))
			return bad(s, p, v, "the key is not a \"0x\" address");
		if (!json_is_string(v) || json_string_length(v) % 2 ||
		    json_string_length(v) == 0 ||
		    json_string_length(v) / 2 > SCN_MAX_MEM_CHECK_LEN)
			return bad(s, p, v, "expected 1..%u bytes of hex", SCN_MAX_MEM_CHECK_LEN);
	}
	return 0;
}

/*
 * Normalise an expectation in place: record specs under "records"/"record"
 * become canonical records, "rc" names become numbers, "@name" hex refers to
 * a saved buffer.
 */
static int expect_prepare(struct scenario *s, json_t *e, const char *path)
{
	char p[SCN_MAX_PATH];

	if (json_is_array(e)) {
		for (size_t i = 0; i < json_array_size(e); i++) {
			path_index(p, sizeof(p), path, i);
			if (expect_prepare(s, json_array_get(e, i), p))
				return SCN_BAD;
		}
		return 0;
	}
	if (!json_is_object(e))
		return 0;
	for (void *it = json_object_iter(e); it; it = json_object_iter_next(e, it)) {
		const char *key = json_object_iter_key(it);
		json_t *v = json_object_iter_value(it);

		path_join(p, sizeof(p), path, key);
		if (!strcmp(key, "records") && !json_is_null(v)) {
			char q[SCN_MAX_PATH];

			if (!json_is_array(v))
				return bad(s, p, v, "expected an array of records");
			if (json_array_size(v) > SCN_MAX_RECORDS)
				return bad(s, p, NULL, "too many records");
			for (size_t i = 0; i < json_array_size(v); i++) {
				json_t *c;

				path_index(q, sizeof(q), p, i);
				c = record_canon(s, json_array_get(v, i), q);
				if (!c)
					return SCN_BAD;
				json_array_set_new(v, i, c);
			}
		} else if (!strcmp(key, "record") && !json_is_null(v)) {
			json_t *c = record_canon(s, v, p);

			if (!c)
				return SCN_BAD;
			json_object_iter_set_new(e, it, c);
		} else if (!strcmp(key, "rc") && json_is_string(v)) {
			int r = errno_value(json_string_value(v));

			if (!r)
				return bad(s, p, v, "unknown errno name");
			json_object_iter_set_new(e, it, json_integer(r));
		} else if ((!strcmp(key, "hex") || !strcmp(key, "mem") || !strcmp(key, "data")) &&
			   json_is_string(v) && json_string_value(v)[0] == '@') {
			struct scn_saved *sv = saved_find(s, json_string_value(v) + 1);

			if (!sv)
				return bad(s, p, v, "no saved buffer of that name");
			json_object_iter_set_new(e, it, jbytes(sv->data, sv->len));
		} else if (!strcmp(key, "memory") && !*path) {
			if (memory_check_prepare(s, v))
				return SCN_BAD;
		} else if (expect_prepare(s, v, p)) {
			return SCN_BAD;
		}
	}
	return 0;
}

struct scn_num {
	bool neg;
	uint64_t mag;
};

static bool num_of(const json_t *v, struct scn_num *n)
{
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		n->neg = i < 0;
		n->mag = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
		return true;
	}
	if (json_is_string(v) &&
	    hexstr_u64(json_string_value(v), json_string_length(v), &n->mag) == 0) {
		n->neg = false;
		return true;
	}
	return false;
}

/*
 * Does result value a satisfy expectation e?  Objects: every member of e must
 * be in a and match (a may have more); arrays: same length, element by
 * element; numbers: by value, integer or "0x" string alike; strings: ignoring
 * case.  On a mismatch, path names the place and *we / *wa the two values.
 */
static bool match(json_t *e, json_t *a, char *path, size_t cap, json_t **we, json_t **wa)
{
	struct scn_num x, y;
	size_t l = strlen(path);

	if (num_of(e, &x)) {
		if (a && num_of(a, &y) && x.neg == y.neg && x.mag == y.mag)
			return true;
		goto miss;
	}
	if (!a)
		goto miss;
	switch (json_typeof(e)) {
	case JSON_OBJECT: {
		const char *key;
		json_t *ev;

		if (!json_is_object(a))
			goto miss;
		json_object_foreach(e, key, ev) {
			snprintf(path + l, cap - l, "%s%s", l ? "." : "", key);
			if (!match(ev, json_object_get(a, key), path, cap, we, wa))
				return false;
			path[l] = '\0';
		}
		return true;
	}
	case JSON_ARRAY:
		if (!json_is_array(a) || json_array_size(a) != json_array_size(e))
			goto miss;
		for (size_t i = 0; i < json_array_size(e); i++) {
			snprintf(path + l, cap - l, "[%zu]", i);
			if (!match(json_array_get(e, i), json_array_get(a, i), path, cap, we, wa))
				return false;
			path[l] = '\0';
		}
		return true;
	case JSON_STRING:
		if (json_is_string(a) && json_string_length(a) == json_string_length(e) &&
		    !strcasecmp(json_string_value(a), json_string_value(e)))
			return true;
		goto miss;
	case JSON_TRUE:
	case JSON_FALSE:
	case JSON_NULL:
		if (json_typeof(a) == json_typeof(e))
			return true;
		goto miss;
	default:
		if (json_equal(e, a))
			return true;
		goto miss;
	}
miss:
	*we = e;
	*wa = a;
	return false;
}

/* Results that exist only because the expectation asks for them. */
static void expect_extras(struct scenario *s, json_t *e, json_t *res)
{
	json_t *m = json_object_get(e, "memory");
	struct gisa_vm *vm = s->cur ? s->cur->vm : NULL;

	if (json_object_get(e, "state") && !json_object_get(res, "state") && vm)
		put(res, "state", state_json(s, vm));
	if (json_object_get(e, "host") && !json_object_get(res, "host"))
		put(res, "host", host_json(s->host));
	if (m && vm) {
		json_t *got = json_object();
		const char *key;
		json_t *v;

		json_object_foreach(m, key, v) {
			uint8_t buf[SCN_MAX_MEM_CHECK_LEN];
			uint64_t addr = 0;
			size_t n = json_string_length(v) / 2;
			int r;

			hexstr_u64(key, strlen(key), &addr);
			r = gisa_mem_read(vm, addr, buf, n);
			if (r < 0) {
				const char *nm = errno_name(-r);

				put(got, key, json_string(nm ? nm : "error"));
			} else {
				put(got, key, jbytes(buf, n));
			}
		}
		put(res, "memory", got);
	}
}

/* ---- the line loop -------------------------------------------------------- */

static void emit(struct scenario *s, json_t *res)
{
	json_dumpf(res, s->opt.out, JSON_COMPACT);
	fputc('\n', s->opt.out);
	fflush(s->opt.out);
}

static void input_error(struct scenario *s, const char *op)
{
	json_t *res = json_object(), *e = json_object();

	put(res, "line", json_integer((json_int_t)s->lineno));
	if (op)
		put(res, "op", json_string(op));
	put(e, "member", json_string(s->err.member));
	put(e, "value", json_string(s->err.value));
	put(e, "message", json_string(s->err.msg));
	put(res, "input_error", e);
	emit(s, res);
	json_decref(res);
	fprintf(s->opt.err, "%s:%lu: %s%s%s: %s (value %s)\n", s->name, s->lineno,
		op ? op : "", op ? ": " : "", s->err.member, s->err.msg, s->err.value);
	s->status = SCENARIO_EXIT_INPUT;
	if (s->opt.check)
		s->stopped = true;
}

static void mismatch(struct scenario *s, const char *op, json_t *res, json_t *e,
		     const char *at, json_t *we, json_t *wa)
{
	json_t *m = json_object();
	char *de, *da, *dx, *dr;

	put(m, "at", json_string(at));
	put(m, "expected", json_incref(we));
	put(m, "actual", wa ? json_incref(wa) : json_string("(absent)"));
	dr = s->opt.check ? json_dumps(res, JSON_COMPACT) : NULL;
	put(res, "mismatch", m);
	if (!s->opt.check)
		return;
	de = json_dumps(we, JSON_COMPACT | JSON_ENCODE_ANY);
	da = wa ? json_dumps(wa, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	dx = json_dumps(e, JSON_COMPACT);
	fprintf(s->opt.err,
		"%s:%lu: %s: result differs from expect at %s\n"
		"  expected: %s\n  actual:   %s\n  expect: %s\n  result: %s\n",
		s->name, s->lineno, op, *at ? at : "(top)", de ? de : "?",
		da ? da : "(absent)", dx ? dx : "?", dr ? dr : "?");
	free(de);
	free(da);
	free(dx);
	free(dr);
	s->status = SCENARIO_EXIT_MISMATCH;
	s->stopped = true;
}

static void line_run(struct scenario *s, json_t *line)
{
	static const char common[] = "op vm expect repeat note";
	const struct scn_op *op;
	json_t *v, *expect = NULL, *out = NULL, *res;
	const char *key, *opname = NULL, *vmname = NULL;
	uint64_t repeat = 1;
	unsigned long runs = 0;
	int rc = 0, st = 0;

	if (!json_is_object(line)) {
		bad_report(s, "(line)", line, "expected a JSON object");
		goto input;
	}
	v = json_object_get(line, "op");
	if (!v || !json_is_string(v)) {
		bad_report(s, "op", v, "required string member");
		goto input;
	}
	opname = json_string_value(v);
	op = op_find(opname);
	if (!op) {
		bad_report(s, "op", v, "unknown operation");
		opname = NULL;
		goto input;
	}
	json_object_foreach(line, key, v) {
		if (!word_in(common, key) && !word_in(op->args, key)) {
			bad_report(s, key, v, "unknown member for %s (expected: %s)", op->name,
				   *op->args ? op->args : "none");
			goto input;
		}
	}

	/* The VM. */
	s->cur = NULL;
	if (name_arg(s, line, "vm", &vmname))
		goto input;
	snprintf(s->vmname, sizeof(s->vmname), "%s", vmname ? vmname : SCN_DEFAULT_VM);
	if (op->flags & SCN_OP_NEWVM) {
		if (vm_find(s, s->vmname)) {
			bad_report(s, "vm", json_object_get(line, "vm"), "a VM named %s exists",
				   s->vmname);
			goto input;
		}
	} else if (vmname && (op->flags & SCN_OP_NOVM)) {
		bad_report(s, "vm", json_object_get(line, "vm"), "%s takes no vm", op->name);
		goto input;
	} else if ((op->flags & SCN_OP_VM) || vmname) {
		/* For a host operation, "vm" only says whose state "expect" reads. */
		s->cur = vm_find(s, s->vmname);
		if (!s->cur) {
			bad_report(s, "vm", json_object_get(line, "vm"), "no VM named %s",
				   s->vmname);
			goto input;
		}
	}

	if (opt_u64(s, line, "repeat", SCN_MAX_REPEAT, 1, &repeat))
		goto input;
	if (repeat == 0 || (repeat > 1 && (op->flags & SCN_OP_ONCE))) {
		bad_report(s, "repeat", json_object_get(line, "repeat"),
			   repeat ? "this operation cannot repeat" : "at least 1");
		goto input;
	}
	v = json_object_get(line, "note");
	if (v && !json_is_string(v)) {
		bad_report(s, "note", v, "expected a string");
		goto input;
	}
	v = json_object_get(line, "expect");
	if (v) {
		if (!json_is_object(v)) {
			bad_report(s, "expect", v, "expected an object");
			goto input;
		}
		expect = json_deep_copy(v);
		if (!expect) {
			oom(s);
			goto input;
		}
		if (expect_prepare(s, expect, ""))
			goto input;
	}

	s->plain_minus1 = false;
	for (uint64_t i = 0; i < repeat; i++) {
		json_decref(out);
		out = json_object();
		if (!out) {
			oom(s);
			goto input;
		}
		st = op->run(s, line, out, &rc);
		if (st)
			goto input;
		runs++;
		if (rc < 0)
			break;
	}

	res = json_object();
	put(res, "line", json_integer((json_int_t)s->lineno));
	put(res, "op", json_string(op->name));
	if ((op->flags & (SCN_OP_VM | SCN_OP_NEWVM)) || vmname)
		put(res, "vm", json_string(s->vmname));
	put(res, "rc", json_integer(rc));
	if (rc < 0 && !(rc == -1 && s->plain_minus1)) {
		const char *nm = errno_name(-rc);

		put(res, "errno", nm ? json_string(nm) : json_null());
	}
	if (json_object_get(line, "repeat"))
		put(res, "runs", json_integer((json_int_t)runs));
	json_object_update(res, out);
	json_decref(out);
	out = NULL;

	if (expect) {
		char at[512] = "";
		json_t *we = NULL, *wa = NULL;

		expect_extras(s, expect, res);
		if (!match(expect, res, at, sizeof(at), &we, &wa))
			mismatch(s, op->name, res, expect, at, we, wa);
	}
	emit(s, res);
	json_decref(res);
	json_decref(expect);
	return;

input:
	json_decref(out);
	json_decref(expect);
	input_error(s, opname);
}

bool scenario_feed(struct scenario *s, unsigned long lineno, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *j;
	size_t i = 0;

	if (s->stopped)
		return false;
	s->lineno = lineno;
	memset(&s->err, 0, sizeof(s->err));
	while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
		i++;
	if (i == len || line[i] == '#')
		return true;
	if (len > SCN_MAX_LINE) {
		bad_report(s, "(line)", NULL, "longer than %u bytes", SCN_MAX_LINE);
		input_error(s, NULL);
		return !s->stopped;
	}
	if (memchr(line, '\0', len)) {
		bad_report(s, "(line)", NULL, "contains a NUL byte");
		input_error(s, NULL);
		return !s->stopped;
	}
	j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		json_t *t = json_string(jerr.text);

		bad_report(s, "(line)", t, "not valid JSON at column %d", jerr.column);
		json_decref(t);
		input_error(s, NULL);
		return !s->stopped;
	}
	line_run(s, j);
	json_decref(j);
	return !s->stopped;
}

void scenario_options_init(struct scenario_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->final_state = true;
	opt->max_records = 256;
	opt->out = stdout;
	opt->err = stderr;
}

int scenario_new(const struct scenario_options *opt, const char *name, struct scenario **ret)
{
	struct scenario *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->opt = *opt;
	snprintf(s->name, sizeof(s->name), "%s", name ? name : "-");
	r = gisa_host_new(NULL, &s->host);
	if (r < 0) {
		free(s);
		return r;
	}
	*ret = s;
	return 0;
}

int scenario_finish(struct scenario *s)
{
	json_t *res, *vms;

	if (!s->opt.final_state)
		return s->status;
	res = json_object();
	vms = json_object();
	put(res, "final", json_true());
	put(res, "host", host_json(s->host));
	for (size_t i = 0; i < s->nr_vms; i++)
		put(vms, s->vms[i].name, state_json(s, s->vms[i].vm));
	put(res, "vms", vms);
	emit(s, res);
	json_decref(res);
	return s->status;
}

struct scenario *scenario_free(struct scenario *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < s->nr_vms; i++)
		gisa_vm_free(s->vms[i].vm);
	for (size_t i = 0; i < s->nr_saved; i++)
		free(s->saved[i].data);
	gisa_host_free(s->host);
	free(s);
	return NULL;
}

/*
 * Read one line of at most SCN_MAX_LINE bytes into buf.  Returns 1 for a
 * line, 0 at end of input, -EFBIG as soon as a line passes the cap, -errno
 * on a read error.  An over-long line is not read to its end: input that
 * never ends a line (/dev/zero) would keep the runner reading forever.
 */
static int read_line(FILE *in, char *buf, size_t *ret_len)
{
	size_t n = 0;
	bool any = false;
	int c;

	errno = 0;
	while ((c = getc(in)) != EOF) {
		any = true;
		if (c == '\n')
			break;
		if (n == SCN_MAX_LINE)
			return -EFBIG;
		buf[n++] = (char)c;
	}
	if (ferror(in)) {
		int e = errno;

		return e > 0 ? -e : -EIO;
	}
	if (!any)
		return 0;
	*ret_len = n;
	return 1;
}

int scenario_run(FILE *in, const char *name, const struct scenario_options *opt)
{
	struct scenario *s = NULL;
	char *buf = malloc(SCN_MAX_LINE + 1);
	unsigned long lineno = 0;
	size_t len = 0;
	int r, status;

	/*
	 * Errors about the input as a whole read like the program's own
	 * ("gisactl: cannot read ...", or gisa-scenario's): this module serves
	 * both, so it takes the name the program was run as.
	 */
	if (!buf || scenario_new(opt, name, &s) < 0) {
		fprintf(opt->err, "%s: `%s': cannot start the runner: out of memory\n",
			program_invocation_short_name, name);
		free(buf);
		return SCENARIO_EXIT_INPUT;
	}
	while ((r = read_line(in, buf, &len)) > 0) {
		if (!scenario_feed(s, ++lineno, buf, len))
			break;
	}
	if (r == -EFBIG) {
		/* The line's input error, as the cap demands; nothing after it is read. */
		s->lineno = ++lineno;
		memset(&s->err, 0, sizeof(s->err));
		bad_report(s, "(line)", NULL,
			   "longer than %u bytes, the cap; the rest of the input is not read",
			   SCN_MAX_LINE);
		input_error(s, NULL);
	} else if (r < 0) {
		fprintf(opt->err, "%s: cannot read `%s': %s\n", program_invocation_short_name, name,
			strerror(-r));
		s->status = SCENARIO_EXIT_INPUT;
	}
	status = scenario_finish(s);
	scenario_free(s);
	free(buf);
	return status;
}
