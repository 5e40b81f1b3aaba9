/* SPDX-License-Identifier: MIT */
/*
 * JSON <-> image (json.h; the schema is drawn in docs/SNAPSHOT-JSON.md).
 *
 * One table per JSON object drives both directions: the writer emits the
 * members in table order, the reader accepts exactly the table's members
 * (in any order), so the two cannot drift apart.  The writer produces the
 * text itself (fixed layout, fast for 370,000 list entries); jansson parses
 * (duplicates refused), and the reader walks the tree against the tables.
 *
 * Invariants:
 *  J1  gisa_json_from_image writes only images that pass gisa_image_check
 *      and only values the reader accepts, so every text it writes reads
 *      back into an equal image (and meta).
 *  J2  The reader allocates an array only after its length passed the
 *      engine's limit for it (gisa_image_set_* check them again).
 *  J3  A refusal names one value by its path; its place in the text is
 *      found afterwards by re-scanning the (valid) text along that path,
 *      since jansson keeps no positions.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <gisa/json.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Runs of a page's data are split where this many zero bytes lie between
 * two non-zero bytes: a run's framing (at most 12 characters: , "4095": "")
 * costs less than the gap's 32 hex digits, so a page never takes more text
 * than one run over all its bytes (GISA_JSON_PAGE_MAX).
 */
#define RUN_GAP GISA_JSON_RUN_GAP

/* Deepest path the schema has: lists[l][i].io.parm, pages[i].data[k].hex. */
#define MAX_DEPTH 8u

_Static_assert(sizeof(enum gisa_profile) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(enum gisa_byteorder) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(enum gisa_run_state) == sizeof(int), "enum stored as int");

struct rd;
struct wr;

enum fkind { F_BOOL, F_U8, F_U16, F_U32, F_U64, F_ENUM, F_OBJ, F_CUSTOM };

struct names {
	const char *const *name;
	unsigned n;
};

struct objdesc;

/* One member of a JSON object and where its value lives in the C struct. */
struct field {
	const char *name;
	enum fkind kind;
	size_t off;
	uint64_t max;                    /* integers: largest value */
	const struct names *names;       /* F_ENUM */
	const struct objdesc *obj;       /* F_OBJ: nested object, written inline */
	bool optional;                   /* may be absent (meta) */
	int (*read)(struct rd *rd, json_t *v, void *base);           /* F_CUSTOM */
	void (*write)(struct wr *w, const void *base, int depth);    /* F_CUSTOM */
	bool (*absent)(const void *base);    /* optional: nothing to write */
};

struct objdesc {
	const char *what;                /* "config", "an adapter", ... */
	const struct field *f;
	unsigned n;
};

#define BOOLF(n, t, m) { .name = (n), .kind = F_BOOL, .off = offsetof(t, m) }
#define U8F(n, t, m) { .name = (n), .kind = F_U8, .off = offsetof(t, m), .max = UINT8_MAX }
#define U16F(n, t, m) { .name = (n), .kind = F_U16, .off = offsetof(t, m), .max = UINT16_MAX }
#define U32F(n, t, m) { .name = (n), .kind = F_U32, .off = offsetof(t, m), .max = UINT32_MAX }
#define U32MAX(n, t, m, mx) { .name = (n), .kind = F_U32, .off = offsetof(t, m), .max = (mx) }
#define U64F(n, t, m) { .name = (n), .kind = F_U64, .off = offsetof(t, m), .max = UINT64_MAX }
#define ENUMF(n, t, m, nm) { .name = (n), .kind = F_ENUM, .off = offsetof(t, m), .names = (nm) }
#define OBJF(n, t, m, d) { .name = (n), .kind = F_OBJ, .off = offsetof(t, m), .obj = (d) }
#define CUSTOM(n, r, w) { .name = (n), .kind = F_CUSTOM, .read = (r), .write = (w) }
#define OPTIONAL(n, r, w, a) { .name = (n), .kind = F_CUSTOM, .read = (r), .write = (w), \
			       .absent = (a), .optional = true }
#define DESC(w, t) { .what = (w), .f = (t), .n = ARRAY_SIZE(t) }

/* ==== the writer ========================================================= */

struct wr {
	char *buf;
	size_t len, cap;
	int err;
	bool pretty;
};

static bool w_reserve(struct wr *w, size_t n)
{
	size_t cap;
	char *p;

	if (w->err)
		return false;
	if (w->cap - w->len > n)
		return true;
	cap = w->cap;
	while (cap - w->len <= n)
		cap = cap < 4096 ? 4096 : cap * 2;
	p = realloc(w->buf, cap);
	if (!p) {
		w->err = -ENOMEM;
		return false;
	}
	w->buf = p;
	w->cap = cap;
	return true;
}

static void w_mem(struct wr *w, const char *s, size_t n)
{
	if (!w_reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static void w_str(struct wr *w, const char *s)
{
	w_mem(w, s, strlen(s));
}

static void w_ch(struct wr *w, char c)
{
	if (w_reserve(w, 1))
		w->buf[w->len++] = c;
}

static void w_u64dec(struct wr *w, uint64_t v)
{
	char b[20];
	unsigned n = 0;

	do {
		b[sizeof(b) - ++n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	w_mem(w, b + sizeof(b) - n, n);
}

static void w_u64hex(struct wr *w, uint64_t v)
{
	static const char hex[] = "0123456789abcdef";
	char b[20];                      /* quote, "0x", 16 digits, quote */
	size_t p = sizeof(b);

	b[--p] = '"';
	do {
		b[--p] = hex[v & 0xf];
		v >>= 4;
	} while (v);
	b[--p] = 'x';
	b[--p] = '0';
	b[--p] = '"';
	w_mem(w, b + p, sizeof(b) - p);
}

/* A line break and indentation (pretty) before a block element; nothing (compact). */
static void w_nl(struct wr *w, int depth)
{
	if (!w->pretty)
		return;
	if (!w_reserve(w, 1 + 2 * (size_t)depth))
		return;
	w->buf[w->len++] = '\n';
	memset(w->buf + w->len, ' ', 2 * (size_t)depth);
	w->len += 2 * (size_t)depth;
}

/* Separator between inline elements. */
static void w_sep(struct wr *w)
{
	w_str(w, w->pretty ? ", " : ",");
}

static void w_key(struct wr *w, const char *name)
{
	w_ch(w, '"');
	w_str(w, name);
	w_str(w, w->pretty ? "\": " : "\":");
}

/* A JSON string of UTF-8 text (meta); -EINVAL for anything else. */
static void w_json_string(struct wr *w, const char *str)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;

	w_ch(w, '"');
	while (*s) {
		size_t n = gisa_utf8_len(s);

		if (!n) {
			if (!w->err)
				w->err = -EINVAL;
			return;
		}
		if (*s == '"' || *s == '\\') {
			w_ch(w, '\\');
			w_ch(w, (char)*s);
		} else if (*s < 0x20) {
			/* Each control character follows its short escape's letter. */
			const char *short_esc = strchr("b\bf\fn\nr\rt\t", *s);
			char u[7] = { '\\', 'u', '0', '0', hex[*s >> 4], hex[*s & 0xf], 0 };

			if (short_esc) {
				w_ch(w, '\\');
				w_ch(w, short_esc[-1]);
			} else {
				w_str(w, u);
			}
		} else {
			w_mem(w, (const char *)s, n);
		}
		s += n;
	}
	w_ch(w, '"');
}

/* An array of n elements, each written inline by fn; one per line when pretty. */
static void w_array(struct wr *w, int depth, size_t n, const void *ctx,
		    void (*fn)(struct wr *w, const void *ctx, size_t i, int depth))
{
	w_ch(w, '[');
	if (!n) {
		w_ch(w, ']');
		return;
	}
	for (size_t i = 0; i < n && !w->err; i++) {
		if (i)
			w_ch(w, ',');
		w_nl(w, depth + 1);
		fn(w, ctx, i, depth + 1);
	}
	w_nl(w, depth);
	w_ch(w, ']');
}

static void w_value(struct wr *w, const struct field *f, const void *base, int depth);

/*
 * An object by its table.  depth >= 0: one member per line at depth + 1
 * (pretty); depth < 0: inline.
 */
static void w_object(struct wr *w, const struct objdesc *d, const void *base, int depth)
{
	bool first = true;

	w_ch(w, '{');
	for (unsigned i = 0; i < d->n; i++) {
		const struct field *f = &d->f[i];

		if (f->absent && f->absent(base))
			continue;
		if (!first) {
			if (depth >= 0)
				w_ch(w, ',');
			else
				w_sep(w);
		}
		first = false;
		if (depth >= 0)
			w_nl(w, depth + 1);
		w_key(w, f->name);
		w_value(w, f, base, depth >= 0 ? depth + 1 : -1);
	}
	if (depth >= 0 && !first)
		w_nl(w, depth);
	w_ch(w, '}');
}

static void w_value(struct wr *w, const struct field *f, const void *base, int depth)
{
	const char *p = (const char *)base + f->off;
	uint64_t v = 0;

	switch (f->kind) {
	case F_BOOL: {
		bool b;

		memcpy(&b, p, sizeof(b));
		w_str(w, b ? "true" : "false");
		return;
	}
	case F_U8:
		v = *(const uint8_t *)p;
		break;
	case F_U16: {
		uint16_t x;

		memcpy(&x, p, sizeof(x));
		v = x;
		break;
	}
	case F_U32: {
		uint32_t x;

		memcpy(&x, p, sizeof(x));
		v = x;
		break;
	}
	case F_U64:
		memcpy(&v, p, sizeof(v));
		w_u64hex(w, v);
		return;
	case F_ENUM: {
		int e;

		memcpy(&e, p, sizeof(e));
		/* A value without a name cannot be written (nor read back). */
		if (e < 0 || (unsigned)e >= f->names->n) {
			if (!w->err)
				w->err = -EINVAL;
			return;
		}
		w_ch(w, '"');
		w_str(w, f->names->name[e]);
		w_ch(w, '"');
		return;
	}
	case F_OBJ:
		w_object(w, f->obj, p, -1);
		return;
	case F_CUSTOM:
		f->write(w, base, depth);
		return;
	}
	/* Narrower than its C type (an adapter's ISC): the reader would refuse it. */
	if (v > f->max && !w->err)
		w->err = -EINVAL;
	w_u64dec(w, v);
}

/* ==== the reader ========================================================= */

struct comp {
	const char *key;                 /* NULL: an array index */
	size_t idx;
};

struct rd {
	const char *text;
	size_t len;
	struct gisa_json_error *err;
	struct comp path[MAX_DEPTH];
	unsigned depth;
	struct gisa_image *img;
	struct gisa_json_meta *meta;
};

static void push_key(struct rd *rd, const char *key)
{
	if (rd->depth < MAX_DEPTH)
		rd->path[rd->depth] = (struct comp){ .key = key };
	rd->depth++;
}

static void push_idx(struct rd *rd, size_t idx)
{
	if (rd->depth < MAX_DEPTH)
		rd->path[rd->depth] = (struct comp){ .idx = idx };
	rd->depth++;
}

static void pop(struct rd *rd)
{
	rd->depth--;
}

/* ---- locating a path in the text (J3); the text is valid JSON ---------- */

static size_t skip_ws(const char *t, size_t n, size_t p)
{
	while (p < n && (t[p] == ' ' || t[p] == '\t' || t[p] == '\n' || t[p] == '\r'))
		p++;
	return p;
}

/* p at the opening quote; returns the index after the closing one. */
static size_t skip_string(const char *t, size_t n, size_t p)
{
	for (p++; p < n && t[p] != '"'; p++)
		if (t[p] == '\\')
			p++;
	return p < n ? p + 1 : n;
}

static size_t skip_value(const char *t, size_t n, size_t p)
{
	unsigned nest = 0;

	if (p >= n)
		return n;
	if (t[p] == '"')
		return skip_string(t, n, p);
	if (t[p] != '{' && t[p] != '[') {
		while (p < n && !strchr(",]} \t\r\n", t[p]))
			p++;
		return p;
	}
	while (p < n) {
		char c = t[p];

		if (c == '"') {
			p = skip_string(t, n, p);
			continue;
		}
		if (c == '{' || c == '[')
			nest++;
		else if ((c == '}' || c == ']') && --nest == 0)
			return p + 1;
		p++;
	}
	return n;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Encode a code point as UTF-8 into b; returns the length. */
static unsigned utf8_put(uint32_t cp, unsigned char *b)
{
	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | cp >> 6);
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	b[0] = (unsigned char)(0xf0 | cp >> 18);
	b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	b[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

static uint32_t hex4(const char *t)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v = v << 4 | (uint32_t)hexval(t[i]);
	return v;
}

/* The character a one-letter JSON escape stands for. */
static unsigned char unescape(char c)
{
	switch (c) {
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	default:
		return (unsigned char)c;      /* '"', '\\', '/' */
	}
}

/* Does the JSON string at p (its quote) decode to key? */
static bool key_equal(const char *t, size_t n, size_t p, const char *key)
{
	const unsigned char *k = (const unsigned char *)key;

	for (p++; p < n && t[p] != '"';) {
		unsigned char b[4];
		unsigned len = 1;

		if (t[p] != '\\') {
			b[0] = (unsigned char)t[p++];
		} else if (p + 1 < n && t[p + 1] == 'u' && p + 6 <= n) {
			uint32_t cp = hex4(t + p + 2);

			p += 6;
			if (cp >= 0xd800 && cp < 0xdc00 && p + 6 <= n && t[p] == '\\') {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (hex4(t + p + 2) - 0xdc00);
				p += 6;
			}
			len = utf8_put(cp, b);
		} else if (p + 1 < n) {
			b[0] = unescape(t[p + 1]);
			p += 2;
		} else {
			return false;
		}
		for (unsigned i = 0; i < len; i++)
			if (*k++ != b[i])
				return false;
	}
	return *k == 0;
}

/*
 * Follow rd's path through the text: *pos and *end delimit the value it
 * names, or the deepest container found.  Returns the number of path
 * components found.
 */
static unsigned locate(const struct rd *rd, size_t *pos, size_t *end)
{
	const char *t = rd->text;
	size_t n = rd->len, p = skip_ws(t, n, 0);
	unsigned depth = rd->depth < MAX_DEPTH ? rd->depth : MAX_DEPTH, found = 0;

	*pos = p;
	*end = skip_value(t, n, p);
	for (; found < depth; found++) {
		const struct comp *c = &rd->path[found];
		size_t q = skip_ws(t, n, p + 1), i = 0;
		bool hit = false;

		if (p >= n || t[p] != (c->key ? '{' : '['))
			break;
		while (q < n && t[q] != '}' && t[q] != ']') {
			size_t v = q;

			if (c->key) {
				hit = key_equal(t, n, q, c->key);
				v = skip_ws(t, n, skip_string(t, n, q));
				v = skip_ws(t, n, v + 1);          /* past ':' */
			} else {
				hit = i++ == c->idx;
			}
			if (hit) {
				p = v;
				break;
			}
			q = skip_ws(t, n, skip_value(t, n, v));
			if (q < n && t[q] == ',')
				q = skip_ws(t, n, q + 1);
		}
		if (!hit)
			break;
		*pos = p;
		*end = skip_value(t, n, p);
	}
	return found;
}

static void path_format(const struct rd *rd, char *out, size_t size)
{
	size_t len = 0;

	out[0] = 0;
	for (unsigned i = 0; i < rd->depth && i < MAX_DEPTH && len < size; i++) {
		const struct comp *c = &rd->path[i];
		int r;

		if (c->key)
			r = snprintf(out + len, size - len, "%s%s", i ? "." : "", c->key);
		else
			r = snprintf(out + len, size - len, "[%zu]", c->idx);
		if (r < 0)
			break;
		len += (size_t)r;
	}
}

/* 1-based line and character column of byte offset pos. */
static void line_column(const char *t, size_t pos, int *line, int *column)
{
	int l = 1, c = 1;

	for (size_t i = 0; i < pos; i++) {
		if (t[i] == '\n') {
			l++;
			c = 1;
		} else if (((unsigned char)t[i] & 0xc0) != 0x80) {
			c++;
		}
	}
	*line = l;
	*column = c;
}

/* value = text[pos, end), cut at a character boundary to fit, with "...". */
static void value_copy(char *out, const char *t, size_t pos, size_t end)
{
	size_t n = end - pos;

	if (n < GISA_JSON_VALUE_MAX) {
		memcpy(out, t + pos, n);
		out[n] = 0;
		return;
	}
	n = GISA_JSON_VALUE_MAX - 4;
	while (n && ((unsigned char)t[pos + n] & 0xc0) == 0x80)
		n--;
	memcpy(out, t + pos, n);
	memcpy(out + n, "...", 4);
}

/*
 * Refuse the value at rd's current path: fail() yields -EINVAL.  A macro,
 * so that the code is visible at each `return fail(...)' (to a static
 * analyzer too, which does not follow calls into variadic functions).
 */
#define fail(rd, kind, ...) (fail_report((rd), (kind), __VA_ARGS__), -EINVAL)

__attribute__((format(printf, 3, 4)))
static void fail_report(struct rd *rd, enum gisa_json_errkind kind, const char *fmt, ...)
{
	struct gisa_json_error *e = rd->err;
	size_t pos, end;
	unsigned found;
	va_list ap;

	if (!e)
		return;
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	va_start(ap, fmt);
	vsnprintf(e->expected, sizeof(e->expected), fmt, ap);
	va_end(ap);
	path_format(rd, e->path, sizeof(e->path));
	found = locate(rd, &pos, &end);
	e->position = pos;
	line_column(rd->text, pos, &e->line, &e->column);
	/* A missing member has no value; the position is its object's. */
	if (found == rd->depth && kind != GISA_JSON_ERR_MISSING)
		value_copy(e->value, rd->text, pos, end);
}

static int fail_at_key(struct rd *rd, const char *key, enum gisa_json_errkind kind,
		       const char *expected)
{
	int r;

	push_key(rd, key);
	r = fail(rd, kind, "%s", expected);
	pop(rd);
	return r;
}

/* ---- values ---------------------------------------------------------------- */

static int read_uint(struct rd *rd, json_t *v, uint64_t max, uint64_t *ret)
{
	json_int_t x;

	if (!json_is_integer(v))
		return fail(rd, GISA_JSON_ERR_TYPE, "an integer 0..%llu", (unsigned long long)max);
	x = json_integer_value(v);
	if (x < 0 || (uint64_t)x > max)
		return fail(rd, GISA_JSON_ERR_RANGE, "an integer 0..%llu", (unsigned long long)max);
	*ret = (uint64_t)x;
	return 0;
}

static int read_u64(struct rd *rd, json_t *v, uint64_t *ret)
{
	const char *s;
	size_t n;
	uint64_t x = 0;

	if (!json_is_string(v))
		return fail(rd, GISA_JSON_ERR_TYPE,
			    "a 64-bit value as a string \"0x\" + 1 to 16 hex digits");
	s = json_string_value(v);
	n = json_string_length(v);
	if (n < 3 || n > 18 || s[0] != '0' || s[1] != 'x')
		goto bad;
	for (size_t i = 2; i < n; i++) {
		int d = hexval(s[i]);

		if (d < 0)
			goto bad;
		x = x << 4 | (uint64_t)d;
	}
	*ret = x;
	return 0;
bad:
	return fail(rd, GISA_JSON_ERR_RANGE, "\"0x\" + 1 to 16 hex digits");
}

static int read_object(struct rd *rd, json_t *o, const struct objdesc *d, void *base);

static int read_value(struct rd *rd, const struct field *f, json_t *v, void *base)
{
	char *p = (char *)base + f->off;
	uint64_t x = 0;
	int r;

	switch (f->kind) {
	case F_BOOL: {
		bool b;

		if (!json_is_boolean(v))
			return fail(rd, GISA_JSON_ERR_TYPE, "true or false");
		b = json_is_true(v);
		memcpy(p, &b, sizeof(b));
		return 0;
	}
	case F_U8:
	case F_U16:
	case F_U32:
		r = read_uint(rd, v, f->max, &x);
		if (r)
			return r;
		if (f->kind == F_U8) {
			*(uint8_t *)p = (uint8_t)x;
		} else if (f->kind == F_U16) {
			uint16_t y = (uint16_t)x;

			memcpy(p, &y, sizeof(y));
		} else {
			uint32_t y = (uint32_t)x;

			memcpy(p, &y, sizeof(y));
		}
		return 0;
	case F_U64:
		r = read_u64(rd, v, &x);
		if (!r)
			memcpy(p, &x, sizeof(x));
		return r;
	case F_ENUM: {
		char expected[GISA_JSON_EXPECTED_MAX] = "one of";
		size_t len = strlen(expected);

		if (json_is_string(v))
			for (unsigned i = 0; i < f->names->n; i++)
				if (!strcmp(json_string_value(v), f->names->name[i])) {
					int e = (int)i;

					memcpy(p, &e, sizeof(e));
					return 0;
				}
		for (unsigned i = 0; i < f->names->n && len < sizeof(expected); i++)
			len += (size_t)snprintf(expected + len, sizeof(expected) - len, "%s \"%s\"",
						i ? "," : "", f->names->name[i]);
		return fail(rd, json_is_string(v) ? GISA_JSON_ERR_RANGE : GISA_JSON_ERR_TYPE,
			    "%s", expected);
	}
	case F_OBJ:
		return read_object(rd, v, f->obj, p);
	case F_CUSTOM:
		return f->read(rd, v, base);
	}
	return -EINVAL;
}

static int fail_unknown(struct rd *rd, const struct objdesc *d)
{
	char expected[GISA_JSON_EXPECTED_MAX];
	size_t len;

	len = (size_t)snprintf(expected, sizeof(expected), "a member of %s:", d->what);
	for (unsigned i = 0; i < d->n && len < sizeof(expected); i++)
		len += (size_t)snprintf(expected + len, sizeof(expected) - len, "%s %s",
					i ? "," : "", d->f[i].name);
	return fail(rd, GISA_JSON_ERR_UNKNOWN, "%s", expected);
}

/* Every member known, every required member present (J1: the table is the schema). */
static int read_object(struct rd *rd, json_t *o, const struct objdesc *d, void *base)
{
	uint32_t seen = 0;
	const char *key;
	json_t *v;

	if (!json_is_object(o))
		return fail(rd, GISA_JSON_ERR_TYPE, "an object (%s)", d->what);
	json_object_foreach(o, key, v) {
		unsigned i;
		int r;

		for (i = 0; i < d->n && strcmp(d->f[i].name, key); i++)
			;
		push_key(rd, key);
		r = i < d->n ? read_value(rd, &d->f[i], v, base) : fail_unknown(rd, d);
		pop(rd);
		if (r)
			return r;
		seen |= 1u << i;
	}
	for (unsigned i = 0; i < d->n; i++)
		if (!(seen >> i & 1) && !d->f[i].optional) {
			char expected[GISA_JSON_EXPECTED_MAX];

			snprintf(expected, sizeof(expected), "member \"%s\" of %s", d->f[i].name,
				 d->what);
			return fail_at_key(rd, d->f[i].name, GISA_JSON_ERR_MISSING, expected);
		}
	return 0;
}

/* An array value of at most max elements (checked before anything is allocated). */
static int read_array(struct rd *rd, json_t *v, size_t max, const char *what, size_t *ret_n)
{
	if (!json_is_array(v))
		return fail(rd, GISA_JSON_ERR_TYPE, "an array of %s", what);
	if (json_array_size(v) > max)
		return fail(rd, GISA_JSON_ERR_LENGTH, "at most %zu %s", max, what);
	*ret_n = json_array_size(v);
	return 0;
}

/* ==== the schema ========================================================= */

static const char *const profile_names[] = { "classic", "newest" };
static const struct names profiles = { profile_names, ARRAY_SIZE(profile_names) };
static const char *const order_names[] = { "be", "le" };
static const struct names orders = { order_names, ARRAY_SIZE(order_names) };
static const char *const run_names[] = { "running", "idle", "stopped" };
static const struct names runs = { run_names, ARRAY_SIZE(run_names) };

static const struct field config_fields[] = {
	ENUMF("profile", struct gisa_vm_config, profile, &profiles),
	U32F("caps", struct gisa_vm_config, caps),
	U32F("nr_vcpus", struct gisa_vm_config, nr_vcpus),
	U64F("mem_cap", struct gisa_vm_config, mem_cap),
	ENUMF("abi_order", struct gisa_vm_config, abi_order, &orders),
};
static const struct objdesc config_desc = DESC("config", config_fields);

static const struct field float_fields[] = {
	BOOLF("flic_present", struct gisa_float_image, flic_present),
	BOOLF("apf_enabled", struct gisa_float_image, apf_enabled),
	BOOLF("service_pending", struct gisa_float_image, service_pending),
	BOOLF("service_ev_pending", struct gisa_float_image, service_ev_pending),
	BOOLF("mchk_pending", struct gisa_float_image, mchk_pending),
	U32F("srv_ext_params", struct gisa_float_image, srv_ext_params),
	U64F("mchk_cr14", struct gisa_float_image, mchk_cr14),
	U64F("mchk_mcic", struct gisa_float_image, mchk_mcic),
	U8F("simm", struct gisa_float_image, simm),
	U8F("nimm", struct gisa_float_image, nimm),
	U32F("kick_cursor", struct gisa_float_image, kick_cursor),
};
static const struct objdesc float_desc = DESC("float", float_fields);

static const struct field io_fields[] = {
	U16F("id", struct gisa_io_info, subchannel_id),
	U16F("nr", struct gisa_io_info, subchannel_nr),
	U32F("parm", struct gisa_io_info, io_int_parm),
	U32F("word", struct gisa_io_info, io_int_word),
};
static const struct objdesc io_desc = DESC("io", io_fields);

static const struct field ext_fields[] = {
	U32F("params", struct gisa_ext_info, ext_params),
	U32F("pad", struct gisa_ext_info, pad),
	U64F("params2", struct gisa_ext_info, ext_params2),
};
static const struct objdesc ext_desc = DESC("ext", ext_fields);

/* I/O list entries: an I/O type, and the word's ISC is the list's (checked apart). */
static const struct field io_entry_fields[] = {
	U32MAX("type", struct gisa_list_entry, type, GISA_INT_IO_MAX),
	OBJF("io", struct gisa_list_entry, u.io, &io_desc),
};
static const struct objdesc io_entry_desc = DESC("an I/O list entry", io_entry_fields);

static const struct field ext_entry_fields[] = {
	U32F("type", struct gisa_list_entry, type),
	OBJF("ext", struct gisa_list_entry, u.ext, &ext_desc),
};
static const struct objdesc ext_entry_desc = DESC("a PFAULT_DONE or VIRTIO list entry",
						  ext_entry_fields);

static int maps_read(struct rd *rd, json_t *v, void *base);
static void maps_write(struct wr *w, const void *base, int depth);

static const struct field adapter_fields[] = {
	U32F("id", struct gisa_image_adapter, a.id),
	U32MAX("isc", struct gisa_image_adapter, a.isc, UINT8_MAX),
	BOOLF("maskable", struct gisa_image_adapter, a.maskable),
	BOOLF("masked", struct gisa_image_adapter, a.masked),
	BOOLF("swap", struct gisa_image_adapter, a.swap),
	BOOLF("suppressible", struct gisa_image_adapter, a.suppressible),
	CUSTOM("maps", maps_read, maps_write),
};
static const struct objdesc adapter_desc = DESC("an adapter", adapter_fields);

static const struct field route_adapter_fields[] = {
	U64F("ind_addr", struct gisa_adapter_route, ind_addr),
	U64F("summary_addr", struct gisa_adapter_route, summary_addr),
	U64F("ind_offset", struct gisa_adapter_route, ind_offset),
	U32F("summary_offset", struct gisa_adapter_route, summary_offset),
	U32F("adapter_id", struct gisa_adapter_route, adapter_id),
};
static const struct objdesc route_adapter_desc = DESC("adapter", route_adapter_fields);

static const struct field route_fields[] = {
	U32F("gsi", struct gisa_route_entry, gsi),
	U32F("type", struct gisa_route_entry, type),
	U32F("flags", struct gisa_route_entry, flags),
	OBJF("adapter", struct gisa_route_entry, adapter, &route_adapter_desc),
};
static const struct objdesc route_desc = DESC("a route", route_fields);

static const struct field memslot_fields[] = {
	U32F("slot", struct gisa_image_memslot, slot),
	U64F("gpa", struct gisa_image_memslot, gpa),
	U64F("size", struct gisa_image_memslot, size),
};
static const struct objdesc memslot_desc = DESC("a memslot", memslot_fields);

static int data_read(struct rd *rd, json_t *v, void *base);
static void data_write(struct wr *w, const void *base, int depth);

static const struct field page_fields[] = {
	U64F("gpa", struct gisa_image_page, gpa),
	CUSTOM("data", data_read, data_write),
};
static const struct objdesc page_desc = DESC("a page", page_fields);

static const struct field vcpu_fields[] = {
	U64F("psw_mask", struct gisa_vcpu_state, psw_mask),
	U64F("cr0", struct gisa_vcpu_state, cr0),
	U64F("cr6", struct gisa_vcpu_state, cr6),
	U64F("cr14", struct gisa_vcpu_state, cr14),
	ENUMF("run", struct gisa_vcpu_state, run, &runs),
	BOOLF("kicked", struct gisa_vcpu_state, kicked),
};
static const struct objdesc vcpu_desc = DESC("a vcpu", vcpu_fields);

static int refcount_read(struct rd *rd, json_t *v, void *base);
static void refcount_write(struct wr *w, const void *base, int depth);

static const struct field gisa_fields[] = {
	BOOLF("present", struct gisa_state_gisa, present),
	U8F("ipm", struct gisa_state_gisa, ipm),
	U8F("iam", struct gisa_state_gisa, iam),
	U8F("alert_mask", struct gisa_state_gisa, alert_mask),
	CUSTOM("refcount", refcount_read, refcount_write),
	BOOLF("on_alert_list", struct gisa_state_gisa, on_alert_list),
	BOOLF("timer_armed", struct gisa_state_gisa, timer_armed),
	U32F("timer_delay_ns", struct gisa_state_gisa, timer_delay_ns),
};
static const struct objdesc gisa_desc = DESC("gisa", gisa_fields);

/* ---- adapters' maps, the GISA's refcounts ---------------------------------- */

static int maps_read(struct rd *rd, json_t *v, void *base)
{
	struct gisa_image_adapter *a = base;
	uint32_t idx = (uint32_t)(a - rd->img->adapters);
	size_t n = 0;
	int r;

	r = read_array(rd, v, GISA_MAX_ADAPTER_MAPS, "map addresses", &n);
	if (r)
		return r;
	r = gisa_image_set_maps(rd->img, idx, (uint32_t)n);
	if (r)
		return r;
	for (size_t i = 0; i < n && !r; i++) {
		push_idx(rd, i);
		r = read_u64(rd, json_array_get(v, i), &a->maps[i]);
		pop(rd);
	}
	return r;
}

static void maps_write(struct wr *w, const void *base, int depth)
{
	const struct gisa_image_adapter *a = base;

	w_ch(w, '[');
	for (uint32_t i = 0; i < a->a.nr_maps; i++) {
		if (i)
			w_sep(w);
		w_u64hex(w, a->maps[i]);
	}
	w_ch(w, ']');
}

static int refcount_read(struct rd *rd, json_t *v, void *base)
{
	struct gisa_state_gisa *g = base;
	int r = 0;

	if (!json_is_array(v))
		return fail(rd, GISA_JSON_ERR_TYPE, "an array of 8 counts");
	if (json_array_size(v) != GISA_MAX_ISC + 1)
		return fail(rd, GISA_JSON_ERR_LENGTH, "exactly 8 counts, one per ISC");
	for (unsigned i = 0; i <= GISA_MAX_ISC && !r; i++) {
		uint64_t x = 0;

		push_idx(rd, i);
		r = read_uint(rd, json_array_get(v, i), UINT32_MAX, &x);
		pop(rd);
		g->refcount[i] = (uint32_t)x;
	}
	return r;
}

static void refcount_write(struct wr *w, const void *base, int depth)
{
	const struct gisa_state_gisa *g = base;

	w_ch(w, '[');
	for (unsigned i = 0; i <= GISA_MAX_ISC; i++) {
		if (i)
			w_sep(w);
		w_u64dec(w, g->refcount[i]);
	}
	w_ch(w, ']');
}

/* ---- page data: {"offset": "hex", ...}, runs of bytes ---------------------------- */

/* A run's key: a byte offset in the page, decimal without leading zeros. */
static bool run_offset(const char *key, uint32_t *ret)
{
	uint32_t v = 0;
	size_t n = strlen(key);

	if (n == 0 || n > 4 || (n > 1 && key[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (key[i] < '0' || key[i] > '9')
			return false;
		v = v * 10 + (uint32_t)(key[i] - '0');
	}
	*ret = v;
	return v < GISA_PAGE_SIZE;
}

/* One run: its bytes inside the page, on no byte another run wrote. */
static int run_read(struct rd *rd, const char *key, json_t *v, uint8_t *page,
		    uint8_t covered[GISA_PAGE_SIZE / 8])
{
	uint32_t off;
	const char *s;
	size_t n;

	if (!run_offset(key, &off))
		return fail(rd, GISA_JSON_ERR_RANGE,
			    "a byte offset 0..4095 as the key, in decimal without leading zeros");
	if (!json_is_string(v))
		return fail(rd, GISA_JSON_ERR_TYPE, "a string of hex digit pairs");
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 || n % 2)
		return fail(rd, GISA_JSON_ERR_RANGE, "a non-empty string of hex digit pairs");
	if (n / 2 > GISA_PAGE_SIZE - off)
		return fail(rd, GISA_JSON_ERR_RANGE,
			    "at most %u bytes (the run starts at offset %u of a 4096-byte page)",
			    GISA_PAGE_SIZE - off, off);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		uint32_t at = off + (uint32_t)i;

		if (hi < 0 || lo < 0)
			return fail(rd, GISA_JSON_ERR_RANGE, "a string of hex digit pairs");
		if (covered[at / 8] >> at % 8 & 1)
			return fail(rd, GISA_JSON_ERR_RANGE,
				    "a run that overlaps no other (byte %u is in two)", at);
		covered[at / 8] |= (uint8_t)(1u << at % 8);
		page[at] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int data_read(struct rd *rd, json_t *v, void *base)
{
	struct gisa_image_page *pg = base;
	uint8_t covered[GISA_PAGE_SIZE / 8];
	const char *key;
	json_t *hex;

	if (!json_is_object(v))
		return fail(rd, GISA_JSON_ERR_TYPE, "an object of runs {\"offset\": \"hex\", ...}");
	if (json_object_size(v) > GISA_PAGE_SIZE)
		return fail(rd, GISA_JSON_ERR_LENGTH, "at most 4096 runs");
	memset(pg->data, 0, sizeof(pg->data));
	memset(covered, 0, sizeof(covered));
	json_object_foreach(v, key, hex) {
		int r;

		push_key(rd, key);
		r = run_read(rd, key, hex, pg->data, covered);
		pop(rd);
		if (r)
			return r;
	}
	return 0;
}

static void hex_bytes(struct wr *w, const uint8_t *b, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	if (!w_reserve(w, 2 * n))
		return;
	for (size_t i = 0; i < n; i++) {
		w->buf[w->len++] = hex[b[i] >> 4];
		w->buf[w->len++] = hex[b[i] & 0xf];
	}
}

/*
 * Runs from a non-zero byte to a non-zero byte, split at RUN_GAP zero
 * bytes, keyed by their offsets in ascending order.
 */
static void data_write(struct wr *w, const void *base, int depth)
{
	const uint8_t *d = ((const struct gisa_image_page *)base)->data;
	bool first = true;
	size_t i = 0;

	w_ch(w, '{');
	for (;;) {
		size_t start, end, zeros = 0;

		while (i < GISA_PAGE_SIZE && !d[i])
			i++;
		if (i == GISA_PAGE_SIZE)
			break;
		start = end = i;
		for (; i < GISA_PAGE_SIZE && zeros < RUN_GAP; i++) {
			if (d[i]) {
				end = i + 1;
				zeros = 0;
			} else {
				zeros++;
			}
		}
		if (!first)
			w_sep(w);
		first = false;
		w_ch(w, '"');
		w_u64dec(w, start);
		w_str(w, w->pretty ? "\": \"" : "\":\"");
		hex_bytes(w, d + start, end - start);
		w_ch(w, '"');
		i = end;
	}
	w_ch(w, '}');
}

/* ---- meta ---------------------------------------------------------------------- */

static int meta_string(struct rd *rd, json_t *v, char *out, size_t max)
{
	size_t n;

	if (!json_is_string(v))
		return fail(rd, GISA_JSON_ERR_TYPE, "a string");
	n = json_string_length(v);
	if (n == 0 || n > max)
		return fail(rd, GISA_JSON_ERR_RANGE,
			    "a string of 1 to %zu bytes (omit the member when there is none)", max);
	memcpy(out, json_string_value(v), n);
	out[n] = 0;
	return 0;
}

static int name_read(struct rd *rd, json_t *v, void *base)
{
	return meta_string(rd, v, ((struct gisa_json_meta *)base)->name, GISA_JSON_NAME_MAX);
}

static int producer_read(struct rd *rd, json_t *v, void *base)
{
	return meta_string(rd, v, ((struct gisa_json_meta *)base)->producer,
			   GISA_JSON_PRODUCER_MAX);
}

/* A meta string: NUL-terminated inside its array, UTF-8 (else -EINVAL). */
static void meta_string_write(struct wr *w, const char *s, size_t size)
{
	if (strnlen(s, size) == size) {
		if (!w->err)
			w->err = -EINVAL;
		return;
	}
	w_json_string(w, s);
}

static void name_write(struct wr *w, const void *base, int depth)
{
	const struct gisa_json_meta *m = base;

	meta_string_write(w, m->name, sizeof(m->name));
}

static void producer_write(struct wr *w, const void *base, int depth)
{
	const struct gisa_json_meta *m = base;

	meta_string_write(w, m->producer, sizeof(m->producer));
}

static bool name_absent(const void *base)
{
	return !((const struct gisa_json_meta *)base)->name[0];
}

static bool producer_absent(const void *base)
{
	return !((const struct gisa_json_meta *)base)->producer[0];
}

/* The 8-4-4-4-12 hex digit groups of a UUID's text form. */
static const unsigned uuid_groups[] = { 4, 2, 2, 2, 6 };

static int uuid_read(struct rd *rd, json_t *v, void *base)
{
	struct gisa_json_meta *m = base;
	const char *s;
	unsigned k = 0;

	if (!json_is_string(v))
		return fail(rd, GISA_JSON_ERR_TYPE, "a UUID string");
	s = json_string_value(v);
	if (json_string_length(v) != 36)
		goto bad;
	for (unsigned g = 0; g < ARRAY_SIZE(uuid_groups); g++) {
		if (g && *s++ != '-')
			goto bad;
		for (unsigned i = 0; i < uuid_groups[g]; i++, s += 2) {
			int hi = hexval(s[0]), lo = hexval(s[1]);

			if (hi < 0 || lo < 0)
				goto bad;
			m->uuid[k++] = (uint8_t)(hi << 4 | lo);
		}
	}
	m->has_uuid = true;
	return 0;
bad:
	return fail(rd, GISA_JSON_ERR_RANGE, "a UUID xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
}

static void uuid_write(struct wr *w, const void *base, int depth)
{
	static const char hex[] = "0123456789abcdef";
	const struct gisa_json_meta *m = base;
	char s[36 + 2 + 1];
	unsigned k = 0, p = 0;

	s[p++] = '"';
	for (unsigned g = 0; g < ARRAY_SIZE(uuid_groups); g++) {
		if (g)
			s[p++] = '-';
		for (unsigned i = 0; i < uuid_groups[g]; i++, k++) {
			s[p++] = hex[m->uuid[k] >> 4];
			s[p++] = hex[m->uuid[k] & 0xf];
		}
	}
	s[p++] = '"';
	s[p] = 0;
	w_str(w, s);
}

static bool uuid_absent(const void *base)
{
	return !((const struct gisa_json_meta *)base)->has_uuid;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (March-based years). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static bool digits(const char *s, unsigned n, unsigned *ret)
{
	unsigned v = 0;

	for (unsigned i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*ret = v;
	return true;
}

#define NS_PER_SEC 1000000000ull

/*
 * "YYYY-MM-DDTHH:MM:SS[.fraction]Z" (UTC, 1 to 9 fraction digits) to
 * nanoseconds since 1970; any instant a u64 of nanoseconds holds but 0.
 */
static int created_read(struct rd *rd, json_t *v, void *base)
{
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	struct gisa_json_meta *m = base;
	unsigned y, mo, d, h, mi, s, frac = 0, nfrac = 0;
	const char *t;
	size_t n;
	int64_t secs;

	if (!json_is_string(v))
		return fail(rd, GISA_JSON_ERR_TYPE,
			    "a UTC time string YYYY-MM-DDTHH:MM:SS.fffffffffZ");
	t = json_string_value(v);
	n = json_string_length(v);
	if (n < 20 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' ||
	    t[16] != ':' || t[n - 1] != 'Z' || !digits(t, 4, &y) || !digits(t + 5, 2, &mo) ||
	    !digits(t + 8, 2, &d) || !digits(t + 11, 2, &h) || !digits(t + 14, 2, &mi) ||
	    !digits(t + 17, 2, &s))
		goto bad;
	if (n > 20) {
		nfrac = (unsigned)(n - 21);
		if (t[19] != '.' || nfrac < 1 || nfrac > 9 || !digits(t + 20, nfrac, &frac))
			goto bad;
		for (unsigned i = nfrac; i < 9; i++)
			frac *= 10;
	}
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && (y % 4 || (y % 100 == 0 && y % 400))) || h > 23 ||
	    mi > 59 || s > 59)
		goto bad;
	secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
	if ((uint64_t)secs > (UINT64_MAX - frac) / NS_PER_SEC || (secs == 0 && frac == 0))
		goto bad;
	m->created_unix_ns = (uint64_t)secs * NS_PER_SEC + frac;
	return 0;
bad:
	return fail(rd, GISA_JSON_ERR_RANGE, "a UTC time YYYY-MM-DDTHH:MM:SS[.fffffffff]Z after "
		    "1970-01-01T00:00:00Z and at most 2554-07-21T23:34:33.709551615Z");
}

static void created_write(struct wr *w, const void *base, int depth)
{
	const struct gisa_json_meta *m = base;
	uint64_t secs = m->created_unix_ns / NS_PER_SEC, s = secs % 86400;
	int64_t y;
	unsigned mo, d;
	char b[80];

	civil_from_days((int64_t)(secs / 86400), &y, &mo, &d);
	snprintf(b, sizeof(b), "\"%04u-%02u-%02uT%02u:%02u:%02u.%09uZ\"", (unsigned)y, mo, d,
		 (unsigned)(s / 3600), (unsigned)(s / 60 % 60), (unsigned)(s % 60),
		 (unsigned)(m->created_unix_ns % NS_PER_SEC));
	w_str(w, b);
}

static bool created_absent(const void *base)
{
	return !((const struct gisa_json_meta *)base)->created_unix_ns;
}

static const struct field meta_fields[] = {
	OPTIONAL("name", name_read, name_write, name_absent),
	OPTIONAL("uuid", uuid_read, uuid_write, uuid_absent),
	OPTIONAL("created", created_read, created_write, created_absent),
	OPTIONAL("producer", producer_read, producer_write, producer_absent),
};
static const struct objdesc meta_desc = DESC("meta", meta_fields);

/* ---- the document ------------------------------------------------------------------ */

/* What the top-level members read into and write from. */
struct doc {
	const struct gisa_image *wimg;
	const struct gisa_json_meta *wmeta;
	struct gisa_image *img;
	struct gisa_json_meta *meta;
	/* Sections whose counts gisa_image_set_counts takes together (J2). */
	json_t *adapters, *routes, *memslots, *pages, *vcpus;
};

static int schema_read(struct rd *rd, json_t *v, void *base)
{
	return 0;       /* checked before anything else */
}

static void schema_write(struct wr *w, const void *base, int depth)
{
	w_str(w, "\"" GISA_JSON_SCHEMA "\"");
}

static bool meta_absent(const void *base)
{
	const struct doc *d = base;

	return !d->wmeta || (name_absent(d->wmeta) && uuid_absent(d->wmeta) &&
			     created_absent(d->wmeta) && producer_absent(d->wmeta));
}

static int meta_read(struct rd *rd, json_t *v, void *base)
{
	return read_object(rd, v, &meta_desc, ((struct doc *)base)->meta);
}

static void meta_write(struct wr *w, const void *base, int depth)
{
	w_object(w, &meta_desc, ((const struct doc *)base)->wmeta, depth);
}

static int config_read(struct rd *rd, json_t *v, void *base)
{
	return read_object(rd, v, &config_desc, &((struct doc *)base)->img->config);
}

static void config_write(struct wr *w, const void *base, int depth)
{
	w_object(w, &config_desc, &((const struct doc *)base)->wimg->config, depth);
}

static int float_read(struct rd *rd, json_t *v, void *base)
{
	return read_object(rd, v, &float_desc, &((struct doc *)base)->img->fl);
}

static void float_write(struct wr *w, const void *base, int depth)
{
	w_object(w, &float_desc, &((const struct doc *)base)->wimg->fl, depth);
}

static int gisa_read(struct rd *rd, json_t *v, void *base)
{
	return read_object(rd, v, &gisa_desc, &((struct doc *)base)->img->gisa);
}

static void gisa_write(struct wr *w, const void *base, int depth)
{
	w_object(w, &gisa_desc, &((const struct doc *)base)->wimg->gisa, depth);
}

static size_t list_limit(unsigned l)
{
	return l == GISA_LIST_PFAULT ? GISA_MAX_PFAULT_IRQS :
	       l == GISA_LIST_VIRTIO ? GISA_MAX_VIRTIO_IRQS : GISA_MAX_FLOAT_IRQS;
}

static int list_read(struct rd *rd, json_t *v, unsigned l, size_t *io_total)
{
	const struct objdesc *d = l <= GISA_MAX_ISC ? &io_entry_desc : &ext_entry_desc;
	size_t n = 0, max = list_limit(l);
	int r;

	if (l <= GISA_MAX_ISC)
		max -= *io_total;       /* the limit holds for all I/O lists together */
	r = read_array(rd, v, max, l <= GISA_MAX_ISC ? "entries (266250 I/O entries in all)" :
				   "entries", &n);
	if (r)
		return r;
	if (l <= GISA_MAX_ISC)
		*io_total += n;
	r = gisa_image_set_list(rd->img, l, (uint32_t)n);
	for (size_t i = 0; i < n && !r; i++) {
		struct gisa_list_entry *e = &rd->img->lists[l].e[i];

		push_idx(rd, i);
		r = read_object(rd, json_array_get(v, i), d, e);
		if (!r && l <= GISA_MAX_ISC && GISA_IO_WORD_ISC(e->u.io.io_int_word) != l) {
			push_key(rd, "io");
			push_key(rd, "word");
			r = fail(rd, GISA_JSON_ERR_RANGE,
				 "an interruption word with ISC %u (bits 0x38000000 = 0x%08x)", l,
				 l << 27);
			pop(rd);
			pop(rd);
		}
		pop(rd);
	}
	return r;
}

static int lists_read(struct rd *rd, json_t *v, void *base)
{
	size_t io_total = 0;
	int r = 0;

	if (!json_is_array(v))
		return fail(rd, GISA_JSON_ERR_TYPE, "an array of 10 lists");
	if (json_array_size(v) != GISA_NR_LISTS)
		return fail(rd, GISA_JSON_ERR_LENGTH,
			    "exactly 10 lists (ISC 0..7, PFAULT_DONE, VIRTIO)");
	for (unsigned l = 0; l < GISA_NR_LISTS && !r; l++) {
		push_idx(rd, l);
		r = list_read(rd, json_array_get(v, l), l, &io_total);
		pop(rd);
	}
	return r;
}

struct list_ctx {
	const struct gisa_image_list *li;
	const struct objdesc *d;
};

static void list_entry_write(struct wr *w, const void *ctx, size_t i, int depth)
{
	const struct list_ctx *c = ctx;

	w_object(w, c->d, &c->li->e[i], -1);
}

static void list_write(struct wr *w, const void *ctx, size_t l, int depth)
{
	const struct gisa_image *img = ctx;
	struct list_ctx c = {
		.li = &img->lists[l],
		.d = l <= GISA_MAX_ISC ? &io_entry_desc : &ext_entry_desc,
	};

	w_array(w, depth, c.li->n, &c, list_entry_write);
}

static void lists_write(struct wr *w, const void *base, int depth)
{
	w_array(w, depth, GISA_NR_LISTS, ((const struct doc *)base)->wimg, list_write);
}

/* The five sections allocated together: take their arrays, check lengths (J2). */
#define SECTION(name, member, max, what)                                            \
static int name##_read(struct rd *rd, json_t *v, void *base)                       \
{                                                                                   \
	size_t n = 0;                                                               \
	int r = read_array(rd, v, (max), what, &n);                                 \
                                                                                    \
	if (!r)                                                                     \
		((struct doc *)base)->member = v;                                   \
	return r;                                                                   \
}

SECTION(adapters, adapters, GISA_MAX_ADAPTERS, "adapters")
SECTION(routes, routes, GISA_MAX_IRQ_ROUTES, "routes")
SECTION(memslots, memslots, GISA_MAX_MEMSLOTS, "memslots")
SECTION(pages, pages, GISA_IMAGE_MAX_PAGES, "pages")
SECTION(vcpus, vcpus, GISA_MAX_VCPUS, "vcpus")

static void adapter_write(struct wr *w, const void *ctx, size_t i, int depth)
{
	w_object(w, &adapter_desc, &((const struct gisa_image *)ctx)->adapters[i], -1);
}

static void route_write(struct wr *w, const void *ctx, size_t i, int depth)
{
	w_object(w, &route_desc, &((const struct gisa_image *)ctx)->routes[i], -1);
}

static void memslot_write(struct wr *w, const void *ctx, size_t i, int depth)
{
	w_object(w, &memslot_desc, &((const struct gisa_image *)ctx)->memslots[i], -1);
}

static void page_write(struct wr *w, const void *ctx, size_t i, int depth)
{
	w_object(w, &page_desc, &((const struct gisa_image *)ctx)->pages[i], -1);
}

static void vcpu_write(struct wr *w, const void *ctx, size_t i, int depth)
{
	w_object(w, &vcpu_desc, &((const struct gisa_image *)ctx)->vcpus[i], -1);
}

static void adapters_write(struct wr *w, const void *base, int depth)
{
	const struct gisa_image *img = ((const struct doc *)base)->wimg;

	w_array(w, depth, img->nr_adapters, img, adapter_write);
}

static void routes_write(struct wr *w, const void *base, int depth)
{
	const struct gisa_image *img = ((const struct doc *)base)->wimg;

	w_array(w, depth, img->nr_routes, img, route_write);
}

static void memslots_write(struct wr *w, const void *base, int depth)
{
	const struct gisa_image *img = ((const struct doc *)base)->wimg;

	w_array(w, depth, img->nr_memslots, img, memslot_write);
}

static void pages_write(struct wr *w, const void *base, int depth)
{
	const struct gisa_image *img = ((const struct doc *)base)->wimg;

	w_array(w, depth, img->nr_pages, img, page_write);
}

static void vcpus_write(struct wr *w, const void *base, int depth)
{
	const struct gisa_image *img = ((const struct doc *)base)->wimg;

	w_array(w, depth, img->nr_vcpus, img, vcpu_write);
}

static const struct field doc_fields[] = {
	CUSTOM("schema", schema_read, schema_write),
	OPTIONAL("meta", meta_read, meta_write, meta_absent),
	CUSTOM("config", config_read, config_write),
	CUSTOM("float", float_read, float_write),
	CUSTOM("lists", lists_read, lists_write),
	CUSTOM("adapters", adapters_read, adapters_write),
	CUSTOM("routes", routes_read, routes_write),
	CUSTOM("memslots", memslots_read, memslots_write),
	CUSTOM("pages", pages_read, pages_write),
	CUSTOM("vcpus", vcpus_read, vcpus_write),
	CUSTOM("gisa", gisa_read, gisa_write),
};
static const struct objdesc doc_desc = DESC("the document", doc_fields);

/* Elements of one of the sections, each an object by its table. */
static int section_read(struct rd *rd, const char *key, json_t *v, const struct objdesc *d,
			void *first, size_t size)
{
	int r = 0;

	push_key(rd, key);
	for (size_t i = 0; i < json_array_size(v) && !r; i++) {
		push_idx(rd, i);
		r = read_object(rd, json_array_get(v, i), d, (char *)first + i * size);
		pop(rd);
	}
	pop(rd);
	return r;
}

static int sections_read(struct rd *rd, struct doc *doc)
{
	struct gisa_image *img = doc->img;
	int r;

	r = gisa_image_set_counts(img, (uint32_t)json_array_size(doc->adapters),
				  (uint32_t)json_array_size(doc->routes),
				  (uint32_t)json_array_size(doc->memslots),
				  (uint32_t)json_array_size(doc->pages),
				  (uint32_t)json_array_size(doc->vcpus));
	if (!r)
		r = section_read(rd, "adapters", doc->adapters, &adapter_desc, img->adapters,
				 sizeof(*img->adapters));
	if (!r)
		r = section_read(rd, "routes", doc->routes, &route_desc, img->routes,
				 sizeof(*img->routes));
	if (!r)
		r = section_read(rd, "memslots", doc->memslots, &memslot_desc, img->memslots,
				 sizeof(*img->memslots));
	if (!r)
		r = section_read(rd, "pages", doc->pages, &page_desc, img->pages,
				 sizeof(*img->pages));
	if (!r)
		r = section_read(rd, "vcpus", doc->vcpus, &vcpu_desc, img->vcpus,
				 sizeof(*img->vcpus));
	return r;
}

/*
 * A gisa_image_check refusal, named by its JSON path: "adapters.id" at
 * index 3 is adapters[3].id.  The list checks that name no list were made
 * by the reader already with their exact paths, so only counts remain.
 */
static int fail_image(struct rd *rd, const struct gisa_restore_error *re)
{
	const char *field = re->field ? re->field : "";
	const char *dot = strchr(field, '.');
	unsigned depth = rd->depth;
	char head[32];
	int r;

	snprintf(head, sizeof(head), "%.*s", dot ? (int)(dot - field) : (int)strlen(field),
		 field);
	push_key(rd, head);
	if (!strcmp(field, "lists.pfault")) {
		push_idx(rd, GISA_LIST_PFAULT);
	} else if (!strcmp(field, "lists.virtio")) {
		push_idx(rd, GISA_LIST_VIRTIO);
	} else if (dot && strcmp(head, "lists")) {
		push_idx(rd, re->index);
		push_key(rd, dot + 1);
	}
	r = fail(rd, GISA_JSON_ERR_IMAGE, "%s", re->reason ? re->reason : "a valid image");
	rd->depth = depth;
	return r;
}

/*
 * The path of the value being read at byte pos, for errors jansson finds
 * (it keeps no paths): everything before pos is valid JSON, so a scan of
 * brackets, commas, colons and keys up to there tracks where it is.
 */
struct scan_level {
	bool array, want_key, has_key;
	size_t idx;
	char key[GISA_JSON_PATH_MAX];    /* as written (escapes not decoded) */
};

static void path_at(const char *t, size_t n, size_t pos, char *out, size_t size)
{
	struct scan_level st[MAX_DEPTH];
	unsigned depth = 0;
	size_t p = 0, len = 0;

	while (p < pos && p < n) {
		char c = t[p];
		bool top = depth && depth <= MAX_DEPTH;

		if (c == '"') {
			size_t end = skip_string(t, n, p);

			if (top && !st[depth - 1].array && st[depth - 1].want_key) {
				snprintf(st[depth - 1].key, sizeof(st[depth - 1].key), "%.*s",
					 (int)(end - p - 2), t + p + 1);
				st[depth - 1].has_key = true;
				st[depth - 1].want_key = false;
			}
			p = end;
			continue;
		}
		if (c == '{' || c == '[') {
			if (depth < MAX_DEPTH)
				st[depth] = (struct scan_level){ .array = c == '[',
								 .want_key = c == '{' };
			depth++;
		} else if ((c == '}' || c == ']') && depth) {
			depth--;
		} else if (c == ',' && top) {
			st[depth - 1].idx++;
			st[depth - 1].want_key = !st[depth - 1].array;
			st[depth - 1].has_key = false;
		}
		p++;
	}
	out[0] = 0;
	for (unsigned i = 0; i < depth && i < MAX_DEPTH && len < size; i++) {
		int r = 0;

		if (st[i].array)
			r = snprintf(out + len, size - len, "[%zu]", st[i].idx);
		else if (st[i].has_key)
			r = snprintf(out + len, size - len, "%s%s", len ? "." : "", st[i].key);
		else
			break;
		if (r < 0)
			break;
		len += (size_t)r;
	}
}

/*
 * Count objects and arrays, and tokens (values and keys), before the parser
 * sees the text (GISA_JSON_MAX_CONTAINERS, _TOKENS).  Returns the offset at
 * which a cap was passed, or len; the text need not be valid.
 */
static size_t too_many(const char *t, size_t len, bool *ret_containers)
{
	size_t containers = 0, tokens = 0, p = 0;

	while (p < len) {
		char c = t[p];

		if (c == '"') {
			tokens++;
			p = skip_string(t, len, p);
		} else if (c == '{' || c == '[') {
			containers++;
			tokens++;
			p++;
		} else if (c && strchr("-0123456789tfn", c)) {
			tokens++;
			while (p < len && t[p] && !strchr(",:]}[{\" \t\r\n", t[p]))
				p++;
		} else {
			p++;
		}
		if (containers > GISA_JSON_MAX_CONTAINERS || tokens > GISA_JSON_MAX_TOKENS) {
			*ret_containers = containers > GISA_JSON_MAX_CONTAINERS;
			return p;
		}
	}
	return len;
}

static void syntax_error(struct gisa_json_error *e, const json_error_t *je,
			 const char *text, size_t len)
{
	enum json_error_code code = json_error_code(je);

	if (!e)
		return;
	memset(e, 0, sizeof(*e));
	path_at(text, len, (size_t)je->position, e->path, sizeof(e->path));
	e->kind = code == json_error_duplicate_key ? GISA_JSON_ERR_DUPLICATE :
		  code == json_error_numeric_overflow ? GISA_JSON_ERR_RANGE :
		  GISA_JSON_ERR_SYNTAX;
	e->line = je->line > 0 ? je->line : 0;
	e->column = je->column > 0 ? je->column : 0;
	e->position = je->position;
	snprintf(e->expected, sizeof(e->expected), "%s", je->text);
}

int gisa_json_to_image(const char *text, size_t len, struct gisa_image **ret,
		       struct gisa_json_meta *ret_meta, struct gisa_json_error *err)
{
	struct gisa_json_meta meta;
	struct gisa_restore_error re;
	struct rd rd = { .text = text, .len = len, .err = err, .meta = &meta };
	struct doc doc = { .meta = &meta };
	bool containers = false;
	json_error_t je;
	json_t *root, *schema;
	size_t pos;
	int r;

	if (err)
		memset(err, 0, sizeof(*err));
	if (len > GISA_JSON_MAX_TEXT) {
		if (err) {
			err->kind = GISA_JSON_ERR_TOO_LONG;
			snprintf(err->value, sizeof(err->value), "%zu bytes", len);
			snprintf(err->expected, sizeof(err->expected), "at most %zu bytes",
				 (size_t)GISA_JSON_MAX_TEXT);
		}
		return -E2BIG;
	}
	pos = too_many(text, len, &containers);
	if (pos < len) {
		if (err) {
			err->kind = GISA_JSON_ERR_LENGTH;
			err->position = pos;
			line_column(text, pos, &err->line, &err->column);
			path_at(text, len, pos, err->path, sizeof(err->path));
			if (containers)
				snprintf(err->expected, sizeof(err->expected),
					 "at most %zu objects and arrays in all",
					 (size_t)GISA_JSON_MAX_CONTAINERS);
			else
				snprintf(err->expected, sizeof(err->expected),
					 "at most %zu values and keys in all",
					 (size_t)GISA_JSON_MAX_TOKENS);
		}
		return -EINVAL;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		/*
		 * jansson says so when it runs out of memory, or leaves the
		 * message empty (no syntax error does); some failures it
		 * reports as syntax errors, which is all it tells.
		 */
		if (json_error_code(&je) == json_error_out_of_memory || !je.text[0])
			return -ENOMEM;
		syntax_error(err, &je, text, len);
		return -EINVAL;
	}
	memset(&meta, 0, sizeof(meta));
	if (!json_is_object(root)) {
		r = fail(&rd, GISA_JSON_ERR_TYPE, "an object (the document)");
		goto out;
	}
	/* A text of another schema is told so, not taken apart member by member. */
	schema = json_object_get(root, "schema");
	if (!schema) {
		r = fail_at_key(&rd, "schema", GISA_JSON_ERR_SCHEMA,
				"member \"schema\": \"" GISA_JSON_SCHEMA "\"");
		goto out;
	}
	if (!json_is_string(schema) || strcmp(json_string_value(schema), GISA_JSON_SCHEMA) ||
	    json_string_length(schema) != strlen(GISA_JSON_SCHEMA)) {
		r = fail_at_key(&rd, "schema", GISA_JSON_ERR_SCHEMA, "\"" GISA_JSON_SCHEMA "\"");
		goto out;
	}
	r = gisa_image_new(&doc.img);
	if (r)
		goto out;
	rd.img = doc.img;
	r = read_object(&rd, root, &doc_desc, &doc);
	if (!r)
		r = sections_read(&rd, &doc);
	if (!r) {
		memset(&re, 0, sizeof(re));
		if (gisa_image_check(doc.img, &re))
			r = fail_image(&rd, &re);
	}
	if (r) {
		gisa_image_free(doc.img);
		goto out;
	}
	*ret = doc.img;
	if (ret_meta)
		*ret_meta = meta;
	if (err)
		memset(err, 0, sizeof(*err));
out:
	json_decref(root);
	return r;
}

/* Text per element, for the first allocation (the buffer grows as needed). */
static size_t estimate(const struct gisa_image *img)
{
	size_t n = GISA_JSON_FIXED_MAX;

	for (unsigned l = 0; l < GISA_NR_LISTS; l++)
		n += (size_t)img->lists[l].n * 96;
	n += (size_t)img->nr_adapters * 256 + (size_t)img->nr_routes * 192;
	n += (size_t)img->nr_memslots * 80 + (size_t)img->nr_pages * 256;
	n += (size_t)img->nr_vcpus * 160;
	return n;
}

int gisa_json_from_image(const struct gisa_image *img, const struct gisa_json_meta *meta,
			 unsigned flags, char **ret_text, size_t *ret_len)
{
	struct doc doc = { .wimg = img, .wmeta = meta };
	struct wr w = { .pretty = flags & GISA_JSON_PRETTY };

	if (flags & ~GISA_JSON_PRETTY)
		return -EINVAL;
	/* J1: what the reader would refuse is not written. */
	if (gisa_image_check(img, NULL))
		return -EINVAL;
	if (!w_reserve(&w, estimate(img)))
		return w.err;
	w_object(&w, &doc_desc, &doc, 0);
	if (w.pretty)
		w_ch(&w, '\n');
	w_ch(&w, '\0');
	if (w.err) {
		free(w.buf);
		return w.err;
	}
	*ret_text = w.buf;
	if (ret_len)
		*ret_len = w.len - 1;
	return 0;
}

const char *gisa_json_errkind_name(enum gisa_json_errkind kind)
{
	static const char *const names[] = {
		[GISA_JSON_ERR_NONE] = "none",
		[GISA_JSON_ERR_SYNTAX] = "syntax",
		[GISA_JSON_ERR_TOO_LONG] = "too-long",
		[GISA_JSON_ERR_DUPLICATE] = "duplicate",
		[GISA_JSON_ERR_SCHEMA] = "schema",
		[GISA_JSON_ERR_UNKNOWN] = "unknown",
		[GISA_JSON_ERR_MISSING] = "missing",
		[GISA_JSON_ERR_TYPE] = "type",
		[GISA_JSON_ERR_RANGE] = "range",
		[GISA_JSON_ERR_LENGTH] = "length",
		[GISA_JSON_ERR_IMAGE] = "image",
	};

	if ((unsigned)kind >= ARRAY_SIZE(names))
		return "?";
	return names[kind];
}
