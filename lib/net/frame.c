/* SPDX-License-Identifier: MIT */
/*
 * Length-prefixed frames, object streams and the switchover digest chain
 * (frame.h; the bytes are drawn there and in docs/MIGRATION-PROTOCOL.md).
 *
 * Decoder, per frame:
 *
 *     HEADER --8 bytes, header_parse ok--> PAYLOAD --len bytes--> DELIVERED
 *        ^                                                            |
 *        +------------------ next gisa_frame_decode call -------------+
 *     any refusal --> BROKEN (every later call repeats the error)
 *
 * Reassembler, per stream:
 *
 *     IDLE --begin(stream > last)--> OPEN --CHUNK (in order)--> OPEN
 *                                     |  \--END (all agree)--> DONE --take--> IDLE
 *                                     +--any refusal, cancel--> IDLE
 *
 * Invariants:
 *  F1  No payload buffer is grown before the length it must hold has been
 *      checked against its cap: a frame's declared length against the
 *      reader's limits (header_parse), an object's bytes against its
 *      announced size and the reassembler's cap (reasm_chunk).
 *  F2  Buffers grow with the bytes that arrived (at most twice those, or
 *      GROW_MIN), never to a declared length up front.
 *  F3  A decoder never consumes bytes past the end of the frame it
 *      returns, so the caller can hand the rest of its buffer to someone
 *      else after any frame (for instance after the hello exchange).
 *  F4  A reassembled object is handed over only after its chunks arrived
 *      in order without gaps or repeats, and the END frame's count, total
 *      and SHA-256 match what arrived (and the announced size).
 *  F5  Stream ids strictly increase per reassembler, failed ones included,
 *      so no stream (or a replay of one) is accepted twice.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <gisa/frame.h>

/* Smallest allocation for a payload or an object. */
#define GROW_MIN          (64u << 10)
/* A decoder keeps a payload buffer up to this size for the next frame. */
#define DECODER_KEEP      (1u << 20)
/* Largest data part of one CHUNK frame. */
#define CHUNK_DATA_MAX    (GISA_FRAME_MAX - GISA_FRAME_CHUNK_HEADER)
#define CHAIN_LABEL       "gisa-migration-chain-v1"

/*
 * errf(err, code, fmt, ...): the message into err->msg (when err is not
 * NULL), yielding code, for `return errf(...)'.  A macro, so that each error
 * path shows its code (to a static analyzer too, which does not follow calls
 * into variadic functions).
 */
#define errf(err, code, ...) (set_msg((err), __VA_ARGS__), (code))

static void set_msg(struct gisa_frame_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_msg(struct gisa_frame_error *err, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* The first 8 bytes of a digest in hex, for messages. */
static void hex8(const uint8_t *d, char out[17])
{
	static const char hex[] = "0123456789abcdef";

	for (unsigned i = 0; i < 8; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[16] = 0;
}

/*
 * Grow *buf to hold need bytes (need <= limit, checked by the caller):
 * double, at least GROW_MIN, never past limit (F2).
 */
static int grow(uint8_t **buf, size_t *cap, size_t need, size_t limit)
{
	size_t n;
	uint8_t *p;

	if (need <= *cap)
		return 0;
	n = *cap > limit / 2 ? limit : *cap * 2;
	if (n < GROW_MIN)
		n = GROW_MIN;
	if (n < need)
		n = need;
	if (n > limit)
		n = limit;
	p = realloc(*buf, n);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = n;
	return 0;
}

/* ---- limits and headers ---------------------------------------------------- */

int gisa_frame_limits_check(const struct gisa_frame_limits *lim, struct gisa_frame_limits *ret)
{
	struct gisa_frame_limits l = { GISA_FRAME_MAX, GISA_FRAME_MSG_MAX };

	if (lim) {
		if (lim->max_frame)
			l.max_frame = lim->max_frame;
		if (lim->max_msg)
			l.max_msg = lim->max_msg;
		else if (l.max_msg > l.max_frame)
			l.max_msg = l.max_frame;
	}
	if (l.max_frame < GISA_FRAME_LIMIT_MIN || l.max_frame > GISA_FRAME_MAX ||
	    l.max_msg < GISA_FRAME_LIMIT_MIN || l.max_msg > l.max_frame)
		return -EINVAL;
	*ret = l;
	return 0;
}

const char *gisa_frame_type_name(unsigned type)
{
	switch (type) {
	case GISA_FRAME_MSG:
		return "MSG";
	case GISA_FRAME_CHUNK:
		return "CHUNK";
	case GISA_FRAME_END:
		return "END";
	default:
		return "unknown";
	}
}

static int header_check(const uint8_t *hdr, const struct gisa_frame_limits *l,
			struct gisa_frame_header *h, struct gisa_frame_error *err)
{
	h->version = hdr[1];
	h->type = hdr[2];
	h->flags = hdr[3];
	h->len = get_be32(hdr + 4);

	if (hdr[0] != GISA_FRAME_MAGIC)
		return errf(err, -EBADMSG,
			    "frame magic is 0x%02x, expected 0x%02x: not a gisa migration stream",
			    hdr[0], GISA_FRAME_MAGIC);
	if (h->version != GISA_FRAME_VERSION)
		return errf(err, -EPROTONOSUPPORT,
			    "frame version %u is not supported (this reader speaks %u)",
			    h->version, GISA_FRAME_VERSION);
	if (h->type < GISA_FRAME_MSG || h->type > GISA_FRAME_END)
		return errf(err, -EBADMSG, "frame type %u is unknown (MSG 1, CHUNK 2, END 3)",
			    h->type);
	if (h->flags)
		return errf(err, -EBADMSG, "%s frame has flags 0x%02x; version %u defines none",
			    gisa_frame_type_name(h->type), h->flags, GISA_FRAME_VERSION);
	switch (h->type) {
	case GISA_FRAME_MSG:
		if (h->len > l->max_msg)
			return errf(err, -E2BIG,
				    "MSG frame of %u bytes exceeds the message cap of %u bytes",
				    h->len, l->max_msg);
		if (!h->len)
			return errf(err, -EBADMSG, "MSG frame is empty");
		break;
	case GISA_FRAME_CHUNK:
		if (h->len > l->max_frame)
			return errf(err, -E2BIG,
				    "CHUNK frame of %u bytes exceeds the frame cap of %u bytes",
				    h->len, l->max_frame);
		if (h->len <= GISA_FRAME_CHUNK_HEADER)
			return errf(err, -EBADMSG,
				    "CHUNK frame of %u bytes carries no data (header is %u bytes)",
				    h->len, GISA_FRAME_CHUNK_HEADER);
		break;
	default:
		if (h->len != GISA_FRAME_END_SIZE)
			return errf(err, -EBADMSG, "END frame of %u bytes, expected %u",
				    h->len, GISA_FRAME_END_SIZE);
		break;
	}
	return 0;
}

int gisa_frame_header_parse(const uint8_t hdr[GISA_FRAME_HEADER_SIZE],
			    const struct gisa_frame_limits *lim, struct gisa_frame_header *ret,
			    struct gisa_frame_error *err)
{
	struct gisa_frame_limits l;
	struct gisa_frame_header h;
	int r;

	if (!hdr || !ret || gisa_frame_limits_check(lim, &l) < 0)
		return errf(err, -EINVAL, "invalid header arguments or limits");
	r = header_check(hdr, &l, &h, err);
	if (r < 0)
		return r;
	*ret = h;
	return 0;
}

void gisa_frame_header_write(uint8_t hdr[GISA_FRAME_HEADER_SIZE], enum gisa_frame_type type,
			     uint32_t len)
{
	hdr[0] = GISA_FRAME_MAGIC;
	hdr[1] = GISA_FRAME_VERSION;
	hdr[2] = (uint8_t)type;
	hdr[3] = 0;
	put_be32(hdr + 4, len);
}

/* ---- the decoder ------------------------------------------------------------ */

struct gisa_frame_decoder {
	struct gisa_frame_limits lim;
	uint8_t hdr[GISA_FRAME_HEADER_SIZE];
	size_t hdr_have;
	struct gisa_frame_header h;    /* valid once hdr_have is complete */
	uint8_t *buf;                  /* payload */
	size_t cap;
	size_t have;
	bool delivered;                /* the last call returned this frame */
	int error;                     /* BROKEN: the error to repeat */
	char msg[sizeof(((struct gisa_frame_error *)0)->msg)];
};

int gisa_frame_decoder_new(const struct gisa_frame_limits *lim,
			   struct gisa_frame_decoder **ret)
{
	struct gisa_frame_limits l;
	struct gisa_frame_decoder *d;

	if (!ret || gisa_frame_limits_check(lim, &l) < 0)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->lim = l;
	*ret = d;
	return 0;
}

struct gisa_frame_decoder *gisa_frame_decoder_free(struct gisa_frame_decoder *d)
{
	if (d) {
		free(d->buf);
		free(d);
	}
	return NULL;
}

static int decoder_break(struct gisa_frame_decoder *d, int code, struct gisa_frame_error *err)
{
	d->error = code;
	if (err)
		snprintf(d->msg, sizeof(d->msg), "%s", err->msg);
	else
		d->msg[0] = 0;
	free(d->buf);
	d->buf = NULL;
	d->cap = 0;
	return code;
}

int gisa_frame_decode(struct gisa_frame_decoder *d, const uint8_t *buf, size_t len,
		      size_t *ret_used, struct gisa_frame *ret, struct gisa_frame_error *err)
{
	struct gisa_frame_error e;
	size_t used = 0, n;
	int r;

	if (!d || !ret_used || !ret || (!buf && len))
		return errf(err, -EINVAL, "invalid decoder arguments");
	*ret_used = 0;
	if (d->error) {
		if (err)
			snprintf(err->msg, sizeof(err->msg), "%s", d->msg);
		return d->error;
	}
	if (d->delivered) {
		d->delivered = false;
		d->hdr_have = 0;
		d->have = 0;
		if (d->cap > DECODER_KEEP) {
			free(d->buf);
			d->buf = NULL;
			d->cap = 0;
		}
	}
	for (;;) {
		if (d->hdr_have < GISA_FRAME_HEADER_SIZE) {
			if (used == len)
				break;
			n = GISA_FRAME_HEADER_SIZE - d->hdr_have;
			if (n > len - used)
				n = len - used;
			memcpy(d->hdr + d->hdr_have, buf + used, n);
			d->hdr_have += n;
			used += n;
			if (d->hdr_have < GISA_FRAME_HEADER_SIZE)
				break;
			r = header_check(d->hdr, &d->lim, &d->h, &e);
			if (r < 0) {
				*ret_used = used;
				if (err)
					*err = e;
				return decoder_break(d, r, &e);
			}
		}
		if (d->have < d->h.len) {
			if (used == len)
				break;
			n = d->h.len - d->have;
			if (n > len - used)
				n = len - used;
			/* F1: h.len passed header_check against the limits. */
			r = grow(&d->buf, &d->cap, d->have + n, d->h.len);
			if (r < 0) {
				*ret_used = used;
				set_msg(&e, "no memory for %zu bytes of a %u-byte %s frame",
					d->have + n, d->h.len, gisa_frame_type_name(d->h.type));
				if (err)
					*err = e;
				return decoder_break(d, r, &e);
			}
			memcpy(d->buf + d->have, buf + used, n);
			d->have += n;
			used += n;
		}
		if (d->have == d->h.len) {
			ret->type = d->h.type;
			ret->flags = d->h.flags;
			ret->len = d->h.len;
			ret->payload = d->buf;
			d->delivered = true;
			*ret_used = used;
			return 1;
		}
	}
	*ret_used = used;
	return 0;
}

size_t gisa_frame_decoder_pending(const struct gisa_frame_decoder *d)
{
	if (!d || d->delivered || d->error)
		return 0;
	return d->hdr_have + d->have;
}

size_t gisa_frame_decoder_capacity(const struct gisa_frame_decoder *d)
{
	return d ? d->cap : 0;
}

/* ---- encoding ------------------------------------------------------------- */

static int payload_check(enum gisa_frame_type type, size_t len)
{
	if (type < GISA_FRAME_MSG || type > GISA_FRAME_END)
		return -EINVAL;
	if (len > GISA_FRAME_MAX)
		return -E2BIG;
	if ((type == GISA_FRAME_MSG && !len) ||
	    (type == GISA_FRAME_CHUNK && len <= GISA_FRAME_CHUNK_HEADER) ||
	    (type == GISA_FRAME_END && len != GISA_FRAME_END_SIZE))
		return -EINVAL;
	return 0;
}

int gisa_frame_encode(uint8_t *buf, size_t cap, enum gisa_frame_type type, const void *payload,
		      size_t len, size_t *ret_len)
{
	int r;

	if (!ret_len || (!payload && len))
		return -EINVAL;
	r = payload_check(type, len);
	if (r < 0)
		return r;
	*ret_len = GISA_FRAME_HEADER_SIZE + len;
	if (!buf || cap < GISA_FRAME_HEADER_SIZE + len)
		return -ENOBUFS;
	gisa_frame_header_write(buf, type, (uint32_t)len);
	if (len)
		memcpy(buf + GISA_FRAME_HEADER_SIZE, payload, len);
	return 0;
}

/* Room for extra more bytes in b. */
static int fbuf_room(struct gisa_fbuf *b, size_t extra)
{
	size_t need, n;
	uint8_t *p;

	if (extra > SIZE_MAX - b->len)
		return -ENOMEM;
	need = b->len + extra;
	if (need <= b->cap)
		return 0;
	n = b->cap > SIZE_MAX / 2 ? SIZE_MAX : b->cap * 2;
	if (n < 4096)
		n = 4096;
	if (n < need)
		n = need;
	p = realloc(b->data, n);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = n;
	return 0;
}

int gisa_fbuf_put(struct gisa_fbuf *b, enum gisa_frame_type type, const void *payload,
		  size_t len)
{
	size_t n;
	int r;

	if (!b || (!payload && len))
		return -EINVAL;
	r = payload_check(type, len);
	if (r < 0)
		return r;
	r = fbuf_room(b, GISA_FRAME_HEADER_SIZE + len);
	if (r < 0)
		return r;
	r = gisa_frame_encode(b->data + b->len, b->cap - b->len, type, payload, len, &n);
	if (r < 0)
		return r;
	b->len += n;
	return 0;
}

void gisa_fbuf_clear(struct gisa_fbuf *b)
{
	if (b)
		b->len = 0;
}

void gisa_fbuf_release(struct gisa_fbuf *b)
{
	if (b) {
		free(b->data);
		b->data = NULL;
		b->len = 0;
		b->cap = 0;
	}
}

/* ---- chunk and end payloads ---------------------------------------------------- */

static void chunk_prefix(uint8_t *p, uint32_t stream, uint32_t seq, uint64_t offset, size_t n)
{
	gisa_frame_header_write(p, GISA_FRAME_CHUNK, (uint32_t)(GISA_FRAME_CHUNK_HEADER + n));
	put_be32(p + GISA_FRAME_HEADER_SIZE, stream);
	put_be32(p + GISA_FRAME_HEADER_SIZE + 4, seq);
	put_be64(p + GISA_FRAME_HEADER_SIZE + 8, offset);
}

static void end_frame(uint8_t *p, const struct gisa_frame_end *e)
{
	uint8_t *q = p + GISA_FRAME_HEADER_SIZE;

	gisa_frame_header_write(p, GISA_FRAME_END, GISA_FRAME_END_SIZE);
	put_be32(q, e->stream);
	put_be32(q + 4, e->chunks);
	put_be64(q + 8, e->total);
	memcpy(q + 16, e->sha256, GISA_FRAME_DIGEST_SIZE);
}

int gisa_frame_chunk_parse(const struct gisa_frame *f, struct gisa_frame_chunk *ret,
			   struct gisa_frame_error *err)
{
	struct gisa_frame_chunk c;

	if (!f || !ret || (!f->payload && f->len))
		return errf(err, -EINVAL, "invalid chunk arguments");
	if (f->type != GISA_FRAME_CHUNK)
		return errf(err, -EBADMSG, "%s frame where a CHUNK was expected",
			    gisa_frame_type_name(f->type));
	if (f->len <= GISA_FRAME_CHUNK_HEADER)
		return errf(err, -EBADMSG, "CHUNK frame of %u bytes carries no data", f->len);
	c.stream = get_be32(f->payload);
	c.seq = get_be32(f->payload + 4);
	c.offset = get_be64(f->payload + 8);
	c.data = f->payload + GISA_FRAME_CHUNK_HEADER;
	c.len = f->len - GISA_FRAME_CHUNK_HEADER;
	if (!c.stream)
		return errf(err, -EBADMSG, "CHUNK frame names stream 0");
	*ret = c;
	return 0;
}

int gisa_frame_end_parse(const struct gisa_frame *f, struct gisa_frame_end *ret,
			 struct gisa_frame_error *err)
{
	struct gisa_frame_end e;

	if (!f || !ret || (!f->payload && f->len))
		return errf(err, -EINVAL, "invalid end arguments");
	if (f->type != GISA_FRAME_END)
		return errf(err, -EBADMSG, "%s frame where an END was expected",
			    gisa_frame_type_name(f->type));
	if (f->len != GISA_FRAME_END_SIZE)
		return errf(err, -EBADMSG, "END frame of %u bytes, expected %u", f->len,
			    GISA_FRAME_END_SIZE);
	e.stream = get_be32(f->payload);
	e.chunks = get_be32(f->payload + 4);
	e.total = get_be64(f->payload + 8);
	memcpy(e.sha256, f->payload + 16, GISA_FRAME_DIGEST_SIZE);
	if (!e.stream)
		return errf(err, -EBADMSG, "END frame names stream 0");
	*ret = e;
	return 0;
}

int gisa_fbuf_put_chunk(struct gisa_fbuf *b, uint32_t stream, uint32_t seq, uint64_t offset,
			const void *data, size_t len)
{
	int r;

	if (!b || !stream || !len || !data)
		return -EINVAL;
	if (len > CHUNK_DATA_MAX)
		return -E2BIG;
	r = fbuf_room(b, GISA_FRAME_HEADER_SIZE + GISA_FRAME_CHUNK_HEADER + len);
	if (r < 0)
		return r;
	chunk_prefix(b->data + b->len, stream, seq, offset, len);
	b->len += GISA_FRAME_HEADER_SIZE + GISA_FRAME_CHUNK_HEADER;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

int gisa_fbuf_put_end(struct gisa_fbuf *b, const struct gisa_frame_end *end)
{
	int r;

	if (!b || !end || !end->stream)
		return -EINVAL;
	r = fbuf_room(b, GISA_FRAME_PREFIX_MAX);
	if (r < 0)
		return r;
	end_frame(b->data + b->len, end);
	b->len += GISA_FRAME_PREFIX_MAX;
	return 0;
}

/* ---- SHA-256 -------------------------------------------------------------- */

static EVP_MD_CTX *sha_new(void)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (ctx && !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

static int sha_final(EVP_MD_CTX *ctx, uint8_t out[GISA_FRAME_DIGEST_SIZE])
{
	unsigned int n = 0;

	if (!EVP_DigestFinal_ex(ctx, out, &n) || n != GISA_FRAME_DIGEST_SIZE)
		return -EIO;
	return 0;
}

/* ---- the chunker ------------------------------------------------------------ */

struct gisa_chunker {
	uint32_t stream;
	uint32_t seq;
	size_t chunk;
	const uint8_t *data;
	size_t len;
	size_t off;
	bool done;
	EVP_MD_CTX *sha;
	uint8_t digest[GISA_FRAME_DIGEST_SIZE];
};

int gisa_chunker_new(uint32_t stream, const void *data, size_t len, size_t chunk,
		     struct gisa_chunker **ret)
{
	struct gisa_chunker *c;

	if (!ret || !stream || (!data && len) || chunk > CHUNK_DATA_MAX)
		return -EINVAL;
	if ((uint64_t)len > GISA_FRAME_OBJECT_MAX)
		return -E2BIG;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->sha = sha_new();
	if (!c->sha) {
		free(c);
		return -ENOMEM;
	}
	c->stream = stream;
	c->chunk = chunk ? chunk : GISA_FRAME_CHUNK_DEFAULT;
	c->data = data;
	c->len = len;
	*ret = c;
	return 0;
}

struct gisa_chunker *gisa_chunker_free(struct gisa_chunker *c)
{
	if (c) {
		EVP_MD_CTX_free(c->sha);
		free(c);
	}
	return NULL;
}

/* Data bytes of the next CHUNK frame, 0 when END is next. */
static size_t chunker_step(const struct gisa_chunker *c)
{
	size_t n = c->len - c->off;

	return n < c->chunk ? n : c->chunk;
}

int gisa_chunker_next(struct gisa_chunker *c, struct gisa_frame_out *out)
{
	struct gisa_frame_end e;
	size_t n;

	if (!c || !out || c->done)
		return -EINVAL;
	n = chunker_step(c);
	if (n) {
		if (!EVP_DigestUpdate(c->sha, c->data + c->off, n))
			return -EIO;
		chunk_prefix(out->head, c->stream, c->seq, c->off, n);
		out->head_len = GISA_FRAME_HEADER_SIZE + GISA_FRAME_CHUNK_HEADER;
		out->data = c->data + c->off;
		out->data_len = n;
		c->off += n;
		c->seq++;
		return 1;
	}
	if (sha_final(c->sha, c->digest) < 0)
		return -EIO;
	e.stream = c->stream;
	e.chunks = c->seq;
	e.total = c->len;
	memcpy(e.sha256, c->digest, sizeof(e.sha256));
	end_frame(out->head, &e);
	out->head_len = GISA_FRAME_PREFIX_MAX;
	out->data = NULL;
	out->data_len = 0;
	c->done = true;
	return 0;
}

int gisa_fbuf_put_next(struct gisa_fbuf *b, struct gisa_chunker *c)
{
	struct gisa_frame_out out;
	int r, more;

	if (!b || !c || c->done)
		return -EINVAL;
	/* Room first, so that the chunker never advances past a frame we drop. */
	r = fbuf_room(b, GISA_FRAME_PREFIX_MAX + chunker_step(c));
	if (r < 0)
		return r;
	more = gisa_chunker_next(c, &out);
	if (more < 0)
		return more;
	memcpy(b->data + b->len, out.head, out.head_len);
	b->len += out.head_len;
	if (out.data_len) {
		memcpy(b->data + b->len, out.data, out.data_len);
		b->len += out.data_len;
	}
	return more;
}

uint64_t gisa_chunker_sent(const struct gisa_chunker *c)
{
	return c ? c->off : 0;
}

int gisa_chunker_digest(const struct gisa_chunker *c, uint8_t out[GISA_FRAME_DIGEST_SIZE])
{
	if (!c || !out || !c->done)
		return -EINVAL;
	memcpy(out, c->digest, GISA_FRAME_DIGEST_SIZE);
	return 0;
}

/* ---- the reassembler --------------------------------------------------------- */

enum reasm_state { REASM_IDLE, REASM_OPEN, REASM_DONE };

struct gisa_reasm {
	uint64_t max_object;
	enum reasm_state state;
	uint32_t stream;               /* OPEN, DONE: the stream */
	uint32_t last_stream;          /* F5: the highest ever begun */
	uint32_t next_seq;
	uint64_t expected;             /* announced size or GISA_REASM_ANY */
	uint64_t received;
	uint8_t *buf;
	size_t cap;
	EVP_MD_CTX *sha;
	uint8_t digest[GISA_FRAME_DIGEST_SIZE];
};

int gisa_reasm_new(uint64_t max_object, struct gisa_reasm **ret)
{
	struct gisa_reasm *r;

	if (!ret || max_object > GISA_FRAME_OBJECT_MAX)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->sha = EVP_MD_CTX_new();
	if (!r->sha) {
		free(r);
		return -ENOMEM;
	}
	r->max_object = max_object ? max_object : GISA_FRAME_OBJECT_MAX;
	*ret = r;
	return 0;
}

struct gisa_reasm *gisa_reasm_free(struct gisa_reasm *r)
{
	if (r) {
		free(r->buf);
		EVP_MD_CTX_free(r->sha);
		free(r);
	}
	return NULL;
}

void gisa_reasm_cancel(struct gisa_reasm *r)
{
	if (!r)
		return;
	free(r->buf);
	r->buf = NULL;
	r->cap = 0;
	r->received = 0;
	r->state = REASM_IDLE;
}

/* Refuse: discard the open stream, keep last_stream (F5). */
static int reasm_fail(struct gisa_reasm *r, int code)
{
	gisa_reasm_cancel(r);
	return code;
}

int gisa_reasm_begin(struct gisa_reasm *r, uint32_t stream, uint64_t expected,
		     struct gisa_frame_error *err)
{
	if (!r)
		return errf(err, -EINVAL, "invalid reassembler");
	if (r->state == REASM_OPEN)
		return errf(err, -EBUSY, "stream %u begins while stream %u is open", stream,
			    r->stream);
	if (r->state == REASM_DONE)
		return errf(err, -EBUSY, "stream %u begins while stream %u was not taken",
			    stream, r->stream);
	if (!stream || stream <= r->last_stream)
		return errf(err, -EBADMSG, "stream id %u does not follow %u (ids increase from 1)",
			    stream, r->last_stream);
	if (expected != GISA_REASM_ANY && expected > r->max_object)
		return errf(err, -E2BIG,
			    "stream %u announces %llu bytes, over the object cap of %llu bytes",
			    stream, (unsigned long long)expected,
			    (unsigned long long)r->max_object);
	if (!EVP_DigestInit_ex(r->sha, EVP_sha256(), NULL))
		return errf(err, -EIO, "SHA-256 unavailable");
	r->last_stream = stream;
	r->stream = stream;
	r->next_seq = 0;
	r->expected = expected;
	r->received = 0;
	r->state = REASM_OPEN;
	return 0;
}

static int reasm_chunk(struct gisa_reasm *r, const struct gisa_frame *f,
		       struct gisa_frame_error *err)
{
	struct gisa_frame_chunk c;
	uint64_t limit;
	int ret;

	ret = gisa_frame_chunk_parse(f, &c, err);
	if (ret < 0)
		return r->state == REASM_OPEN ? reasm_fail(r, ret) : ret;
	if (r->state != REASM_OPEN)
		return errf(err, -EBADMSG, "chunk %u of stream %u but no stream is open", c.seq,
			    c.stream);
	if (c.stream != r->stream)
		return reasm_fail(r, errf(err, -EBADMSG,
					  "chunk %u of stream %u while stream %u is open",
					  c.seq, c.stream, r->stream));
	if (c.seq < r->next_seq)
		return reasm_fail(r, errf(err, -EBADMSG,
					  "duplicate chunk %u of stream %u (next is %u)",
					  c.seq, c.stream, r->next_seq));
	if (c.seq > r->next_seq)
		return reasm_fail(r, errf(err, -EBADMSG,
					  "chunk %u of stream %u arrived before chunk %u (missing)",
					  c.seq, c.stream, r->next_seq));
	if (c.offset != r->received)
		return reasm_fail(r, errf(err, -EBADMSG,
					  "chunk %u of stream %u starts at offset %llu, "
					  "expected %llu",
					  c.seq, c.stream, (unsigned long long)c.offset,
					  (unsigned long long)r->received));
	/* F1: the cap before growing. */
	limit = r->expected == GISA_REASM_ANY ? r->max_object : r->expected;
	if (c.len > limit - r->received)
		return reasm_fail(r, errf(err, -E2BIG,
					  "chunk %u of stream %u: %u bytes at offset %llu "
					  "exceed %s of %llu bytes",
					  c.seq, c.stream, c.len, (unsigned long long)c.offset,
					  r->expected == GISA_REASM_ANY ? "the object cap" :
					  "the announced size", (unsigned long long)limit));
	ret = grow(&r->buf, &r->cap, (size_t)(r->received + c.len), (size_t)limit);
	if (ret < 0)
		return reasm_fail(r, errf(err, ret, "no memory for %llu bytes of stream %u",
					  (unsigned long long)r->received + c.len, c.stream));
	if (!EVP_DigestUpdate(r->sha, c.data, c.len))
		return reasm_fail(r, errf(err, -EIO, "SHA-256 failed"));
	memcpy(r->buf + r->received, c.data, c.len);
	r->received += c.len;
	r->next_seq++;
	return 0;
}

static int reasm_end(struct gisa_reasm *r, const struct gisa_frame *f,
		     struct gisa_frame_error *err)
{
	struct gisa_frame_end e;
	char got[17], want[17];
	int ret;

	ret = gisa_frame_end_parse(f, &e, err);
	if (ret < 0)
		return r->state == REASM_OPEN ? reasm_fail(r, ret) : ret;
	if (r->state != REASM_OPEN)
		return errf(err, -EBADMSG, "END of stream %u but no stream is open", e.stream);
	if (e.stream != r->stream)
		return reasm_fail(r, errf(err, -EBADMSG, "END of stream %u while stream %u is open",
					  e.stream, r->stream));
	if (e.chunks != r->next_seq)
		return reasm_fail(r, errf(err, -EBADMSG,
					  "END of stream %u counts %u chunks, %u arrived",
					  e.stream, e.chunks, r->next_seq));
	if (e.total != r->received)
		return reasm_fail(r, errf(err, -EBADMSG,
					  "END of stream %u declares %llu bytes, %llu arrived",
					  e.stream, (unsigned long long)e.total,
					  (unsigned long long)r->received));
	if (r->expected != GISA_REASM_ANY && e.total != r->expected)
		return reasm_fail(r, errf(err, -EBADMSG,
					  "stream %u ended after %llu bytes, %llu were announced",
					  e.stream, (unsigned long long)e.total,
					  (unsigned long long)r->expected));
	if (sha_final(r->sha, r->digest) < 0)
		return reasm_fail(r, errf(err, -EIO, "SHA-256 failed"));
	if (memcmp(r->digest, e.sha256, GISA_FRAME_DIGEST_SIZE)) {
		hex8(r->digest, got);
		hex8(e.sha256, want);
		return reasm_fail(r, errf(err, -EBADMSG,
					  "stream %u: SHA-256 of the %llu bytes received is "
					  "%s..., END declares %s...",
					  e.stream, (unsigned long long)r->received, got, want));
	}
	r->state = REASM_DONE;
	return 1;
}

int gisa_reasm_feed(struct gisa_reasm *r, const struct gisa_frame *f,
		    struct gisa_frame_error *err)
{
	if (!r || !f)
		return errf(err, -EINVAL, "invalid reassembler arguments");
	switch (f->type) {
	case GISA_FRAME_CHUNK:
		return reasm_chunk(r, f, err);
	case GISA_FRAME_END:
		return reasm_end(r, f, err);
	default:
		return errf(err, -EINVAL, "%s frame is not part of an object stream",
			    gisa_frame_type_name(f->type));
	}
}

int gisa_reasm_take(struct gisa_reasm *r, uint8_t **ret_buf, size_t *ret_len,
		    uint8_t ret_sha256[GISA_FRAME_DIGEST_SIZE])
{
	if (!r || !ret_buf || !ret_len)
		return -EINVAL;
	if (r->state != REASM_DONE)
		return -ENODATA;
	if (!r->received) {
		free(r->buf);
		r->buf = NULL;
	}
	*ret_buf = r->buf;
	*ret_len = (size_t)r->received;
	if (ret_sha256)
		memcpy(ret_sha256, r->digest, GISA_FRAME_DIGEST_SIZE);
	r->buf = NULL;
	r->cap = 0;
	r->received = 0;
	r->state = REASM_IDLE;
	return 0;
}

bool gisa_reasm_open(const struct gisa_reasm *r)
{
	return r && r->state == REASM_OPEN;
}

uint64_t gisa_reasm_received(const struct gisa_reasm *r)
{
	return r && r->state != REASM_IDLE ? r->received : 0;
}

size_t gisa_reasm_capacity(const struct gisa_reasm *r)
{
	return r ? r->cap : 0;
}

/* ---- the digest chain ---------------------------------------------------------- */

int gisa_frame_chain_init(const uint8_t id[GISA_FRAME_MIGRATION_ID_SIZE],
			  uint8_t out[GISA_FRAME_DIGEST_SIZE])
{
	EVP_MD_CTX *ctx;
	int r = -EIO;

	if (!id || !out)
		return -EINVAL;
	ctx = sha_new();
	if (!ctx)
		return -ENOMEM;
	if (EVP_DigestUpdate(ctx, CHAIN_LABEL, strlen(CHAIN_LABEL)) &&
	    EVP_DigestUpdate(ctx, id, GISA_FRAME_MIGRATION_ID_SIZE))
		r = sha_final(ctx, out);
	EVP_MD_CTX_free(ctx);
	return r;
}

int gisa_frame_chain_next(const uint8_t prev[GISA_FRAME_DIGEST_SIZE], uint32_t round,
			  const uint8_t state_digest[GISA_FRAME_DIGEST_SIZE],
			  uint8_t out[GISA_FRAME_DIGEST_SIZE])
{
	uint8_t msg[GISA_FRAME_DIGEST_SIZE + 4 + GISA_FRAME_DIGEST_SIZE];
	EVP_MD_CTX *ctx;
	int r = -EIO;

	if (!prev || !state_digest || !out)
		return -EINVAL;
	/* Copy first: out may alias prev. */
	memcpy(msg, prev, GISA_FRAME_DIGEST_SIZE);
	put_be32(msg + GISA_FRAME_DIGEST_SIZE, round);
	memcpy(msg + GISA_FRAME_DIGEST_SIZE + 4, state_digest, GISA_FRAME_DIGEST_SIZE);
	ctx = sha_new();
	if (!ctx)
		return -ENOMEM;
	if (EVP_DigestUpdate(ctx, msg, sizeof(msg)))
		r = sha_final(ctx, out);
	EVP_MD_CTX_free(ctx);
	return r;
}
