/* SPDX-License-Identifier: MIT */
/*
 * One TLS connection between two gisad (docs/MIGRATION-PROTOCOL.md,
 * sections 1 to 3): the transport both roles share.
 *
 *   dial/accept --CONNECTED, identity ok--> up: frames flow
 *     frames: MSG -> decoded with a budget, version and id checked -> ops->msg
 *             CHUNK/END -> the open stream (mlink_expect) -> ops->object
 *   handshake_timeout_ms, TLS error, EOF, a bad frame -> ops->down, freed
 *   mlink_close: no more reading, the output drains, close_notify, freed
 *   mlink_drop: freed from the loop at once
 *
 * Invariants:
 *  - no frame is read before the handshake completed and the peer's
 *    identity was checked (tls.c refuses during the handshake;
 *    gisa_tls_verify_peer repeats the check to name the peer);
 *  - callbacks are deferred (BEV_OPT_DEFER_CALLBACKS), so nothing the
 *    owner calls re-enters it; an owner never frees a link, it detaches
 *    (close, drop, error) and the link frees itself from the loop;
 *  - everything a peer sends is checked against a cap before memory is
 *    allocated for it: frame lengths (frame.c), a message's decoding heap,
 *    an object's announced size and GISA_FRAME_OBJECT_MAX;
 *  - bytes still in the input when the peer closes are processed first:
 *    a final delta whose END arrived is never lost to the close behind it.
 */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "log.h"
#include "mig.h"

void mig_hex(const uint8_t *p, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int mig_sha256(const uint8_t *p, size_t len, uint8_t out[MIG_DIGEST_SIZE])
{
	unsigned int n = 0;

	return EVP_Digest(p, len, out, &n, EVP_sha256(), NULL) && n == MIG_DIGEST_SIZE ?
	       0 : -ENOMEM;
}

const char *mig_body_name(int body)
{
	const ProtobufCFieldDescriptor *f =
		body > 0 ? protobuf_c_message_descriptor_get_field(
				   &gisa__v1__mig_message__descriptor, (unsigned)body) : NULL;
	const ProtobufCMessageDescriptor *m;

	if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE || !f->descriptor)
		return "unknown";
	m = f->descriptor;
	return m->short_name;
}

bool mig_digest_unknown(const uint8_t d[MIG_DIGEST_SIZE])
{
	static const uint8_t zeros[MIG_DIGEST_SIZE];

	return memcmp(d, zeros, MIG_DIGEST_SIZE) == 0;
}

void mig_heap_trim(void)
{
#ifdef __GLIBC__
	(void)malloc_trim(0);
#endif
}

void mig_heap_setup(void)
{
#ifdef __GLIBC__
	/* Both fixed, so glibc no longer moves them after large frees. */
	(void)mallopt(M_MMAP_THRESHOLD, MIG_HEAP_MMAP_THRESHOLD);
	(void)mallopt(M_TRIM_THRESHOLD, MIG_HEAP_TRIM_THRESHOLD);
#endif
}

/* The queued interrupts of img, the measure of what its state costs. */
static uint64_t image_entries(const struct gisa_image *img)
{
	uint64_t n = 0;

	for (unsigned l = 0; l < GISA_NR_LISTS; l++)
		n += img->lists[l].n;
	return n;
}

bool mig_par_worth(const struct gisa_image *img)
{
	return image_entries(img) >= MIG_PAR_MIN_ENTRIES;
}

bool mig_digest_early(const struct gisa_image *img)
{
	return image_entries(img) <= MIG_EARLY_DIGEST_MAX_ENTRIES;
}

void mig_clean_text(const char *s, char *out, size_t len)
{
	size_t i = 0;

	for (; s && s[i] && i + 1 < len; i++)
		out[i] = (s[i] < 0x20 || s[i] > 0x7e || s[i] == '\'' || s[i] == '`' ||
			  s[i] == '"') ? '?' : s[i];
	out[i] = '\0';
}

int mig_uri_parse(const char *uri, char *host, size_t hostlen, char *port, size_t portlen,
		  char *name, size_t namelen, char *msg, size_t msglen)
{
	char hp[GISAD_LISTEN_MAX];
	const char *p, *slash;
	size_t n;

	if (!uri || strncmp(uri, "tls://", 6) != 0) {
		snprintf(msg, msglen, "destination `%.80s': expected tls://HOST:PORT%s",
			 uri ? uri : "", name ? "/NAME" : "");
		return -EINVAL;
	}
	p = uri + 6;
	slash = p[0] == '[' && strchr(p, ']') ? strchr(strchr(p, ']'), '/') : strchr(p, '/');
	n = slash ? (size_t)(slash - p) : strlen(p);
	if (n == 0 || n >= sizeof(hp)) {
		snprintf(msg, msglen, "destination `%.80s': HOST:PORT is %s", uri,
			 n ? "too long" : "missing");
		return -EINVAL;
	}
	memcpy(hp, p, n);
	hp[n] = '\0';
	if (conf_listen_split(hp, host, hostlen, port, portlen) || !host[0] ||
	    strcmp(port, "0") == 0) {
		snprintf(msg, msglen, "destination `%.80s': `%s' is not HOST:PORT with a port "
			 "of 1 to 65535", uri, hp);
		return -EINVAL;
	}
	if (!name) {
		if (slash) {
			snprintf(msg, msglen, "destination `%.80s': nothing may follow HOST:PORT",
				 uri);
			return -EINVAL;
		}
		return 0;
	}
	if (!slash || !name_valid(slash + 1) || strlen(slash + 1) >= namelen) {
		snprintf(msg, msglen, "`%.80s': expected tls://HOST:PORT/NAME with a VM name of "
			 "1 to %d of [A-Za-z0-9_.-]", uri, GISAD_NAME_MAX);
		return -EINVAL;
	}
	snprintf(name, namelen, "%s", slash + 1);
	return 0;
}

static void tls_reason(const struct gisa_tls_error *err, char *buf, size_t len)
{
	/* OpenSSL 3.0 has no name for TLS 1.3's certificate_required (116). */
	if (err->alert >= 0)
		snprintf(buf, len, "%s [%s; alert %d `%s']", err->msg,
			 gisa_tls_errkind_name(err->kind), err->alert,
			 err->alert == 116 ? "certificate required" :
			 SSL_alert_desc_string_long(err->alert));
	else
		snprintf(buf, len, "%s [%s]", err->msg, gisa_tls_errkind_name(err->kind));
}

static void arm(struct event *ev, uint32_t ms)
{
	struct timeval tv = { .tv_sec = ms / 1000u, .tv_usec = (ms % 1000u) * 1000 };

	evtimer_add(ev, &tv);
}

/* ---- freeing ------------------------------------------------------------ */

/*
 * A name being resolved for a dialled link.  The link may go first: it
 * then only clears l and cancels; the ticket is freed by the callback,
 * which evdns always calls (with EVUTIL_EAI_CANCEL when cancelled).
 */
struct mlink_dns {
	struct mlink *l;                /* NULL once the link went */
	struct gisad *d;
	struct evdns_getaddrinfo_request *req;
	char host[MIG_HOST_MAX + 1], port[8];
};

static void dns_forget(struct mlink *l)
{
	struct mlink_dns *t = l->dns;

	if (!t)
		return;
	l->dns = NULL;
	if (!t->req) {
		free(t);                /* not started (its first loop turn not yet come) */
		return;
	}
	t->l = NULL;
	evdns_getaddrinfo_cancel(t->req);
}

static void link_free(struct mlink *l)
{
	evutil_socket_t fd = l->bev ? bufferevent_getfd(l->bev) : -1;
	char buf[4096];

	{
		if (l->prev)
			l->prev->next = l->next;
		else
			l->d->mig_links = l->next;
		if (l->next)
			l->next->prev = l->prev;
		l->d->nr_mig_links--;
	}

	/*
	 * Closing a socket with unread bytes sends a reset, which can make the
	 * peer lose what we sent last: read what is pending first.
	 */
	for (int i = 0; fd >= 0 && i < 16 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0; i++)
		;
	if (l->timer)
		event_free(l->timer);
	if (l->reaper)
		event_free(l->reaper);
	if (l->conn_ev)
		event_free(l->conn_ev);
	dns_forget(l);
	if (l->bev) {
		bufferevent_free(l->bev);     /* SSL_free and close */
	} else {
		SSL_free(l->ssl);
		if (l->fd >= 0)
			close(l->fd);
	}
	gisa_frame_decoder_free(l->dec);
	gisa_reasm_free(l->reasm);
	if (l->tx)
		evbuffer_free(l->tx);
	free(l);
}

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct mlink *l = arg;

	if (l->ops && l->ops->down)
		l->ops->down(l, -ECONNRESET, "closed");
	link_free(l);
}

static void detach(struct mlink *l)
{
	l->ops = NULL;
	l->owner = NULL;
	l->closing = true;
	if (l->timer)
		evtimer_del(l->timer);
}

void mlink_drop(struct mlink *l)
{
	detach(l);
	if (l->bev)
		bufferevent_disable(l->bev, EV_READ | EV_WRITE);
	if (l->conn_ev)
		event_del(l->conn_ev);
	event_active(l->reaper, EV_TIMEOUT, 0);
}

/*
 * Lingering (after MigError), the link is freed when the peer closes, or
 * after the handshake timeout: until then what the peer still sends (a
 * round 0 that left with MigBegin) is read and dropped, so that the close
 * does not turn into a reset, which can make the peer lose the MigError
 * before it reads it.
 */
static void shutdown_and_reap(struct mlink *l)
{
	ERR_clear_error();
	(void)SSL_shutdown(l->ssl);
	ERR_clear_error();
	if (l->linger)
		arm(l->reaper, l->handshake_ms);
	else
		event_active(l->reaper, EV_TIMEOUT, 0);
}

void mlink_free_all(struct gisad *d)
{
	while (d->mig_links)
		link_free(d->mig_links);
}

void mlink_settle(struct gisad *d)
{
	/*
	 * A freed link's bufferevent goes only once its deferred callbacks
	 * have run: one still queued (bytes or an EOF that arrived in the turn
	 * that stopped the loop) holds a reference, and event_base_free drops
	 * such callbacks without running them, leaking the bufferevent, its
	 * SSL and so the TLS context.  Cancelled resolutions answer in deferred
	 * callbacks too, which free their tickets (and evdns its requests; a
	 * request's second half may answer a turn after the first).  Called
	 * last, when nothing but these is left on the loop: a turn runs the
	 * callbacks, the next their finalizers.
	 */
	for (int i = 0; i < 16 && (d->nr_resolving || i < 2); i++)
		event_base_loop(d->base, EVLOOP_NONBLOCK);
	if (d->dns)
		evdns_base_free(d->dns, 0);
	d->dns = NULL;
}

void mlink_close(struct mlink *l)
{
	if (!l->bev) {
		mlink_drop(l);
		return;
	}
	detach(l);
	if (!l->linger)
		bufferevent_disable(l->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(l->bev)) == 0)
		shutdown_and_reap(l);
	else
		arm(l->reaper, l->handshake_ms);   /* a peer that does not read */
}

/*
 * Tell the owner the link detached from (ops, owner) is down: attached for
 * the call only, so that what the owner does to it finds it detached.
 */
static void tell_down(struct mlink *l, const struct mlink_ops *ops, void *owner, int err,
		      const char *why)
{
	if (!ops || !ops->down)
		return;
	l->ops = ops;
	l->owner = owner;
	ops->down(l, err, why);
	l->ops = NULL;
	l->owner = NULL;
}

/* The link failed: tell the owner, free from the loop. */
static void link_down(struct mlink *l, int err, const char *why)
{
	const struct mlink_ops *ops = l->ops;
	void *owner = l->owner;

	detach(l);
	if (l->bev)
		bufferevent_disable(l->bev, EV_READ | EV_WRITE);
	tell_down(l, ops, owner, err, why);
	event_active(l->reaper, EV_TIMEOUT, 0);
}

/* ---- sending ------------------------------------------------------------- */

/*
 * Frames are built in l->tx and handed to the bufferevent in one piece:
 * bufferevent_openssl writes (when the loop next turns) each piece of
 * its output buffer as a TLS record of its own, so a header and its body,
 * or an announcement and its object, given one by one, would leave as
 * several records and wake the peer for each.  Built together, small
 * frames share one record.
 */
static int tx_msg(struct mlink *l, Gisa__V1__MigMessage *m)
{
	struct evbuffer_iovec v;
	size_t len;

	m->has_version = true;
	m->version = l->version ? l->version : MIG_VERSION_NOW(l->d);
	if (l->has_id) {
		m->has_migration_id = true;
		m->migration_id.data = l->id;
		m->migration_id.len = MIG_ID_SIZE;
	}
	len = gisa__v1__mig_message__get_packed_size(m);
	if (len == 0 || len > GISA_FRAME_MSG_MAX)
		return -E2BIG;
	if (evbuffer_reserve_space(l->tx, (ev_ssize_t)(GISA_FRAME_HEADER_SIZE + len), &v, 1) != 1)
		return -ENOMEM;
	gisa_frame_header_write(v.iov_base, GISA_FRAME_MSG, (uint32_t)len);
	gisa__v1__mig_message__pack(m, (uint8_t *)v.iov_base + GISA_FRAME_HEADER_SIZE);
	v.iov_len = GISA_FRAME_HEADER_SIZE + len;
	return evbuffer_commit_space(l->tx, &v, 1) ? -ENOMEM : 0;
}

static int tx_object(struct mlink *l, uint32_t stream, const uint8_t *buf, size_t len)
{
	struct gisa_chunker *ch = NULL;
	struct gisa_frame_out out;
	int r, more;

	r = gisa_chunker_new(stream, buf, len, 0, &ch);
	if (r)
		return r;
	do {
		more = gisa_chunker_next(ch, &out);
		if (more < 0) {
			r = more;
			break;
		}
		if (evbuffer_add(l->tx, out.head, out.head_len) ||
		    (out.data_len && evbuffer_add(l->tx, out.data, out.data_len))) {
			r = -ENOMEM;
			break;
		}
	} while (more);
	gisa_chunker_free(ch);
	return r;
}

/* What l->tx holds goes to the connection, or nothing of it (r: the build's result). */
static int tx_flush(struct mlink *l, int r)
{
	size_t n = evbuffer_get_length(l->tx);

	if (!r && bufferevent_write_buffer(l->bev, l->tx))
		r = -ENOMEM;
	if (r)
		evbuffer_drain(l->tx, evbuffer_get_length(l->tx));
	else
		l->tx_queued += n;
	return r;
}

int mlink_send(struct mlink *l, Gisa__V1__MigMessage *m)
{
	if (!l->bev)
		return -ENOTCONN;
	return tx_flush(l, tx_msg(l, m));
}

/*
 * A wake-up over a local socket puts the woken task on the waker's CPU,
 * behind it, on the guess that the waker sleeps next; a peer on this host
 * then waits for whatever the sender does after the send, up to a
 * scheduler slice (milliseconds) when that is a digest.
 */
void mlink_yield(void)
{
	(void)sched_yield();
}

uint32_t mlink_next_stream(struct mlink *l)
{
	return ++l->tx_stream;
}

int mlink_send_object(struct mlink *l, Gisa__V1__MigMessage *announce, uint32_t stream,
		      const uint8_t *buf, size_t len)
{
	int r;

	if (!l->bev)
		return -ENOTCONN;
	r = tx_msg(l, announce);
	if (!r)
		r = tx_object(l, stream, buf, len);
	return tx_flush(l, r);
}

int mlink_expect(struct mlink *l, uint32_t stream, uint64_t bytes, char *msg, size_t msglen)
{
	struct gisa_frame_error ferr;
	int r;

	if (!l->reasm) {
		r = gisa_reasm_new(0, &l->reasm);
		if (r) {
			snprintf(msg, msglen, "out of memory for an object stream");
			return r;
		}
	}
	/* The peer's size, never the reassembler's `any' (UINT64_MAX): capped here. */
	if (bytes > GISA_FRAME_OBJECT_MAX) {
		snprintf(msg, msglen, "stream %u announces %llu bytes, over the object cap of %llu "
			 "bytes", stream, (unsigned long long)bytes,
			 (unsigned long long)GISA_FRAME_OBJECT_MAX);
		return -E2BIG;
	}
	r = gisa_reasm_begin(l->reasm, stream, bytes, &ferr);
	if (r)
		snprintf(msg, msglen, "%s", ferr.msg);
	return r;
}

size_t mlink_unsent(const struct mlink *l)
{
	return l->bev ? evbuffer_get_length(bufferevent_get_output(l->bev)) : 0;
}

void mlink_wait(struct mlink *l, uint32_t ms)
{
	l->wait_ms = ms;
	if (ms)
		arm(l->timer, ms);
	else
		evtimer_del(l->timer);
}

void mlink_attach(struct mlink *l, const struct mlink_ops *ops, void *owner)
{
	l->ops = ops;
	l->owner = owner;
}

/* Answer MigError err with text, and close. */
static void error_close(struct mlink *l, int err, char *text)
{
	Gisa__V1__MigMessage msg = GISA__V1__MIG_MESSAGE__INIT;
	Gisa__V1__MigError e = GISA__V1__MIG_ERROR__INIT;

	log_notice("migration: %s (`%s' %s): %s: answered MigError %d and closing", l->addr,
		   l->peer.name, l->peer.fingerprint, text, err);
	msg.body_case = GISA__V1__MIG_MESSAGE__BODY_ERROR;
	msg.error = &e;
	e.has_error = true;
	e.error = err;
	e.message = text;
	if (mlink_send(l, &msg))
		log_err("migration: %s: cannot queue MigError: closing", l->addr);
	l->linger = true;
	mlink_close(l);
}

/* MigError with the formatted text into text, then the close. */
__attribute__((format(printf, 5, 0)))
static void error_closev(struct mlink *l, int err, char *text, size_t len, const char *fmt,
			 va_list ap)
{
	vsnprintf(text, len, fmt, ap);
	error_close(l, err, text);
}

void mlink_error(struct mlink *l, int err, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	error_closev(l, err, text, sizeof(text), fmt, ap);
	va_end(ap);
}

/*
 * The link itself refuses what the peer sent (a frame, a message's
 * envelope, an object stream): answer MigError and close like
 * mlink_error, and then tell the owner that the link is down, as for a
 * lost connection: the owner decides, and forgets the link (which is
 * freed from the loop once its output drained).
 */
__attribute__((format(printf, 3, 4)))
static void link_refuse(struct mlink *l, int err, const char *fmt, ...)
{
	const struct mlink_ops *ops = l->ops;
	void *owner = l->owner;
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	error_closev(l, err, text, sizeof(text), fmt, ap);
	va_end(ap);
	tell_down(l, ops, owner, err, text);
}

/* ---- receiving ----------------------------------------------------------- */

static void handle_msg(struct mlink *l, const struct gisa_frame *f)
{
	struct budget budget = { .left = MIG_DECODE_FLOOR + (size_t)MIG_DECODE_FACTOR * f->len };
	ProtobufCAllocator alloc = { budget_alloc, budget_free, &budget };
	Gisa__V1__MigMessage *m;

	m = gisa__v1__mig_message__unpack(&alloc, f->len, f->payload);
	if (!m && budget.exceeded) {
		link_refuse(l, -ENOMEM, "a MSG frame of %u bytes would decode to more than "
			    "%zu bytes of memory", f->len,
			    MIG_DECODE_FLOOR + (size_t)MIG_DECODE_FACTOR * f->len);
		return;
	}
	if (!m && budget.failed) {
		link_refuse(l, -ENOMEM, "out of memory decoding a MSG frame of %u bytes",
			    f->len);
		return;
	}
	if (!m) {
		link_refuse(l, -EBADMSG, "a MSG frame of %u bytes does not decode as a "
			    "gisa.v1.MigMessage", f->len);
		return;
	}
	if (m->body_case == GISA__V1__MIG_MESSAGE__BODY__NOT_SET) {
		link_refuse(l, -EPROTO, "a MigMessage without a body");
	} else if (l->version && m->body_case != GISA__V1__MIG_MESSAGE__BODY_ERROR &&
		   (!m->has_version || m->version != l->version)) {
		link_refuse(l, -EPROTO, "%s (field %d) of protocol version %u: version %u "
			    "was agreed", mig_body_name(m->body_case), (int)m->body_case,
			    m->version, l->version);
	} else if (l->has_id && m->body_case != GISA__V1__MIG_MESSAGE__BODY_ERROR &&
		   (!m->has_migration_id || m->migration_id.len != MIG_ID_SIZE ||
		    memcmp(m->migration_id.data, l->id, MIG_ID_SIZE))) {
		link_refuse(l, -EPROTO, "%s (field %d) for another migration than this "
			    "connection's", mig_body_name(m->body_case), (int)m->body_case);
	} else if (l->ops && l->ops->msg) {
		l->ops->msg(l, m);
	}
	gisa__v1__mig_message__free_unpacked(m, &alloc);
}

static void handle_stream(struct mlink *l, const struct gisa_frame *f)
{
	struct gisa_frame_error ferr;
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	if (!l->reasm || (!gisa_reasm_open(l->reasm))) {
		link_refuse(l, -EPROTO, "a %s frame outside an announced object stream",
			    gisa_frame_type_name(f->type));
		return;
	}
	r = gisa_reasm_feed(l->reasm, f, &ferr);
	if (r < 0) {
		link_refuse(l, r, "object stream: %s", ferr.msg);
		return;
	}
	if (r == 0)
		return;
	r = gisa_reasm_take(l->reasm, &buf, &len, NULL);
	if (r) {
		link_refuse(l, r, "object stream: nothing to take");
		return;
	}
	if (l->ops && l->ops->object)
		l->ops->object(l, buf, len);
	else
		free(buf);
}

/*
 * CHUNK and END frames belong to a stream the peer announced: outside one
 * they are refused at their header, before the decoder buffers a payload
 * of up to GISA_FRAME_MAX.  Unasked, only MSG frames (GISA_FRAME_MSG_MAX)
 * are read whole.  At a frame's start with no stream open: 1 (wait for
 * the whole header), -1 (refused, the link closing), else 0.
 */
static int stray_frame(struct mlink *l, struct evbuffer *in)
{
	uint8_t hdr[GISA_FRAME_HEADER_SIZE];
	struct gisa_frame_header h;
	struct gisa_frame_error ferr;

	if (gisa_frame_decoder_pending(l->dec) || gisa_reasm_open(l->reasm))
		return 0;
	if (evbuffer_copyout(in, hdr, sizeof(hdr)) != (ev_ssize_t)sizeof(hdr))
		return 1;
	/* A header the decoder refuses, or a MSG frame: the decoder's. */
	if (gisa_frame_header_parse(hdr, NULL, &h, &ferr) < 0 || h.type == GISA_FRAME_MSG)
		return 0;
	link_refuse(l, -EPROTO, "a %s frame of %u bytes outside an announced object stream",
		    gisa_frame_type_name(h.type), h.len);
	return -1;
}

static void process_input(struct mlink *l)
{
	struct evbuffer *in = bufferevent_get_input(l->bev);

	while (!l->closing && evbuffer_get_length(in) > 0) {
		struct gisa_frame_error ferr;
		struct evbuffer_iovec v;
		struct gisa_frame f;
		size_t used = 0;
		int r;

		if (stray_frame(l, in))
			return;
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		r = gisa_frame_decode(l->dec, v.iov_base, v.iov_len, &used, &f, &ferr);
		if (r < 0) {
			link_refuse(l, r, "%s", ferr.msg);
			return;
		}
		/* f.payload lives in the decoder, or in v until the drain. */
		if (r == 1) {
			if (f.type == GISA_FRAME_MSG)
				handle_msg(l, &f);
			else
				handle_stream(l, &f);
		}
		evbuffer_drain(in, used);
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct mlink *l = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (l->closing || !l->up) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	if (l->wait_ms)
		arm(l->timer, l->wait_ms);
	process_input(l);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct mlink *l = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) != 0)
		return;
	if (l->closing) {
		shutdown_and_reap(l);
		return;
	}
	if (l->ops && l->ops->drained)
		l->ops->drained(l);
}

/* Messages are small and answered: never wait for a delayed ACK (Nagle). */
static void no_delay(struct mlink *l)
{
	int one = 1;
	evutil_socket_t fd = bufferevent_getfd(l->bev);

	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void connected(struct mlink *l)
{
	struct gisa_tls_error err;
	char why[GISA_TLS_MSG_MAX + 96];
	int r;

	r = gisa_tls_verify_peer(l->ssl, &l->peer, &err);
	if (r) {
		tls_reason(&err, why, sizeof(why));
		log_notice("migration: %s refused after the TLS handshake: %s", l->addr, why);
		link_down(l, -EACCES, why);
		return;
	}
	r = gisa_frame_decoder_new(NULL, &l->dec);
	if (r) {
		link_down(l, r, "out of memory for the frame decoder");
		return;
	}
	l->up = true;
	evtimer_del(l->timer);
	if (l->ops && l->ops->up)
		l->ops->up(l);
}

static bool refused_here(enum gisa_tls_errkind k)
{
	return k >= GISA_TLS_ERR_NO_PEER_CERT && k <= GISA_TLS_ERR_HOST_MISMATCH;
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct mlink *l = arg;
	int sockerr = EVUTIL_SOCKET_ERROR();   /* before anything can change it */
	struct gisa_tls_error err;
	char why[GISA_TLS_MSG_MAX + 128];
	unsigned long code = 0, e;
	int r;

	if (what & BEV_EVENT_CONNECTED) {
		if (!l->up && !l->closing)
			connected(l);
		return;
	}
	/* The first OpenSSL error is the cause; the others follow from it. */
	while ((e = bufferevent_get_openssl_error(bev)))
		if (!code)
			code = e;
	if (l->closing) {
		event_active(l->reaper, EV_TIMEOUT, 0);
		return;
	}
	if (l->up)
		process_input(l);   /* what arrived before the close counts */
	if (l->closing)
		return;
	if (!l->up || code || !(what & BEV_EVENT_EOF)) {
		r = gisa_tls_explain(l->ssl, code, &err);
		/* No TLS error and no refusal by us: the socket failed (refused, reset). */
		if (!code && (what & BEV_EVENT_ERROR) && sockerr && !refused_here(err.kind)) {
			snprintf(err.msg, sizeof(err.msg), "%s", evutil_socket_error_to_string(sockerr));
			err.kind = GISA_TLS_ERR_IO;
			err.alert = -1;
			r = -sockerr;
		}
		tls_reason(&err, why, sizeof(why));
		if (!l->up && l->server)
			log_notice("migration: %s refused during the TLS handshake: %s", l->addr,
				   why);
		else if (!l->up)
			log_info("migration: %s: no TLS connection: %s", l->addr, why);
		else
			log_info("migration: %s (`%s'): connection ended: %s", l->addr,
				 l->peer.name, why);
		link_down(l, r ? r : -ECONNRESET, why);
		return;
	}
	log_info("migration: %s (`%s'): the peer closed the connection", l->addr, l->peer.name);
	link_down(l, -ECONNRESET, "the peer closed the connection");
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct mlink *l = arg;
	char why[128];

	if (l->dns) {
		snprintf(why, sizeof(why), "`%.64s' was not resolved within %u ms "
			 "(handshake_timeout_ms)", l->dns->host, l->handshake_ms);
		log_notice("migration: %s: %s", l->addr, why);
		link_down(l, -ETIMEDOUT, why);
		return;
	}
	if (!l->up) {
		snprintf(why, sizeof(why), "the TLS handshake did not complete within %u ms "
			 "(handshake_timeout_ms)", l->handshake_ms);
		log_notice("migration: %s refused: %s", l->addr, why);
		link_down(l, -ETIMEDOUT, why);
		return;
	}
	if (l->ops && l->ops->timeout)
		l->ops->timeout(l);
}

/* ---- making links --------------------------------------------------------- */

/* A link without its transport yet: on the list, SSL and timers made. */
static int link_new(struct gisad *d, struct gisa_tls_ctx *ctx, const char *dialled,
		    const char *addr, const struct mlink_ops *ops, void *owner,
		    struct mlink **ret, char *msg, size_t msglen)
{
	struct gisa_tls_error err;
	struct mlink *l = calloc(1, sizeof(*l));
	int r;

	if (!l) {
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	l->d = d;
	l->ops = ops;
	l->owner = owner;
	l->server = !dialled;
	l->fd = -1;
	l->next = d->mig_links;
	if (l->next)
		l->next->prev = l;
	d->mig_links = l;
	d->nr_mig_links++;
	l->handshake_ms = d->cfg.handshake_timeout_ms;
	snprintf(l->addr, sizeof(l->addr), "%s", addr);
	l->timer = evtimer_new(d->base, on_timer, l);
	l->reaper = evtimer_new(d->base, on_reap, l);
	l->tx = evbuffer_new();
	if (l->timer)
		event_priority_set(l->timer, GISAD_PRIO_MIGRATION);
	if (!l->timer || !l->reaper || !l->tx) {
		snprintf(msg, msglen, "out of memory");
		link_free(l);
		return -ENOMEM;
	}
	r = gisa_tls_ssl_new(ctx, -1, dialled, &l->ssl, &err);
	if (r) {
		snprintf(msg, msglen, "%s", err.msg);
		link_free(l);
		return r;
	}
	*ret = l;
	return 0;
}

/* The TLS transport on a connected socket; the handshake deadline runs. */
static int link_start_tls(struct mlink *l, int fd)
{
	/*
	 * On failure libevent 2.1 may or may not have freed ssl depending on
	 * where it failed; leaking one SSL when out of memory beats a double
	 * free.
	 */
	l->bev = bufferevent_openssl_socket_new(l->d->base, fd, l->ssl,
						l->server ? BUFFEREVENT_SSL_ACCEPTING :
						BUFFEREVENT_SSL_CONNECTING,
						BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!l->bev) {
		l->ssl = NULL;
		return -ENOMEM;
	}
	l->fd = -1;   /* the bufferevent owns it; its events: GISAD_PRIO_DEFAULT (gisad.h) */
	/* A close without close_notify is then EOF, not an error (also handled). */
	bufferevent_openssl_set_allow_dirty_shutdown(l->bev, 1);
	no_delay(l);
	bufferevent_setcb(l->bev, on_read, on_write, on_event, l);
	bufferevent_enable(l->bev, EV_READ | EV_WRITE);
	arm(l->timer, l->handshake_ms);
	return 0;
}

int mlink_accept(struct gisad *d, struct gisa_tls_ctx *ctx, int fd, const char *addr,
		 const struct mlink_ops *ops, void *owner, struct mlink **ret, char *msg,
		 size_t msglen)
{
	struct mlink *l;
	int r = link_new(d, ctx, NULL, addr, ops, owner, &l, msg, msglen);

	if (r) {
		evutil_closesocket(fd);
		return r;
	}
	l->fd = fd;
	r = link_start_tls(l, fd);
	if (r) {
		snprintf(msg, msglen, "out of memory");
		link_free(l);
		return r;
	}
	*ret = l;
	return 0;
}

/* The TCP connection of a dialled link completed, failed or timed out. */
static void on_tcp(evutil_socket_t fd, short what, void *arg)
{
	struct mlink *l = arg;
	char why[MIG_ADDR_MAX + 96];
	int err = 0;
	socklen_t len = sizeof(err);

	event_free(l->conn_ev);
	l->conn_ev = NULL;
	if (what & EV_TIMEOUT)
		err = ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = errno;
	if (err) {
		snprintf(why, sizeof(why), "cannot connect to %s: %s", l->addr,
			 err == ETIMEDOUT ? "no answer within handshake_timeout_ms" : strerror(err));
		log_info("migration: %s", why);
		link_down(l, -err, why);
		return;
	}
	if (link_start_tls(l, fd)) {
		link_down(l, -ENOMEM, "out of memory for the TLS connection");
		return;
	}
}

/* The TCP connection to ai (non-blocking); its end arrives in on_tcp.  -errno with msg. */
static int link_connect(struct mlink *l, const struct evutil_addrinfo *ai, char *msg,
			size_t msglen)
{
	struct timeval tv;
	int r, fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		r = -errno;
		snprintf(msg, msglen, "cannot connect to %s: %s", l->addr, strerror(-r));
		return r;
	}
	/* The TCP connection first: its failure is named as such (refused, unreachable). */
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS) {
		r = -errno;
		snprintf(msg, msglen, "cannot connect to %s: %s", l->addr, strerror(-r));
		close(fd);
		return r;
	}
	l->fd = fd;
	l->conn_ev = event_new(l->d->base, fd, EV_WRITE, on_tcp, l);
	if (!l->conn_ev) {
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	event_priority_set(l->conn_ev, GISAD_PRIO_MIGRATION);
	tv.tv_sec = l->handshake_ms / 1000u;
	tv.tv_usec = (l->handshake_ms % 1000u) * 1000;
	event_add(l->conn_ev, &tv);
	return 0;
}

/* evdns answered (or the request was cancelled, or the resolver freed). */
static void on_resolved(int err, struct evutil_addrinfo *ai, void *arg)
{
	struct mlink_dns *t = arg;
	struct mlink *l = t->l;
	char why[MIG_HOST_MAX + 192];
	int r;

	t->d->nr_resolving--;
	if (l) {
		l->dns = NULL;
		evtimer_del(l->timer);
		if (err) {
			snprintf(why, sizeof(why), "cannot resolve `%s': %s", t->host,
				 evutil_gai_strerror(err));
			log_info("migration: %s", why);
			link_down(l, -EHOSTUNREACH, why);
		} else if ((r = link_connect(l, ai, why, sizeof(why)))) {
			log_info("migration: %s", why);
			link_down(l, r, why);
		}
	}
	if (ai)
		evutil_freeaddrinfo(ai);
	free(t);
}

/*
 * The resolver, made on first use from /etc/resolv.conf and /etc/hosts
 * (again after SIGHUP, see mlink_dns_reload).  NULL when out of memory.
 */
static struct evdns_base *dns_base(struct gisad *d)
{
	if (!d->dns)
		d->dns = evdns_base_new(d->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
					EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	return d->dns;
}

/* A loop turn after mlink_dial (so that no answer reaches the owner inside it). */
static void on_resolve_start(evutil_socket_t fd, short what, void *arg)
{
	struct evutil_addrinfo hints = { .ai_socktype = SOCK_STREAM,
					 .ai_flags = EVUTIL_AI_NUMERICSERV };
	struct mlink *l = arg;
	struct mlink_dns *t = l->dns;
	struct evdns_base *dns = dns_base(l->d);
	struct evdns_getaddrinfo_request *req;

	(void)fd;
	(void)what;
	event_free(l->conn_ev);
	l->conn_ev = NULL;
	if (!dns) {
		l->dns = NULL;
		free(t);
		link_down(l, -ENOMEM, "out of memory for the resolver");
		return;
	}
	l->d->nr_resolving++;
	arm(l->timer, l->handshake_ms);
	/* May answer at once (a name in /etc/hosts): on_resolved then ran, t is gone. */
	req = evdns_getaddrinfo(dns, t->host, t->port, &hints, on_resolved, t);
	if (req)
		t->req = req;
}

int mlink_dial(struct gisad *d, struct gisa_tls_ctx *ctx, const char *host, const char *port,
	       const struct mlink_ops *ops, void *owner, struct mlink **ret, char *msg,
	       size_t msglen)
{
	struct evutil_addrinfo hints = { .ai_socktype = SOCK_STREAM,
					 .ai_flags = EVUTIL_AI_NUMERICSERV | EVUTIL_AI_NUMERICHOST };
	struct evutil_addrinfo *ai = NULL;
	static const struct timeval now = { 0, 0 };
	struct mlink_dns *t;
	struct mlink *l;
	char addr[MIG_ADDR_MAX];
	int r;

	if (strlen(host) > MIG_HOST_MAX) {
		snprintf(msg, msglen, "host name of %zu bytes (at most %u)", strlen(host),
			 MIG_HOST_MAX);
		return -ENAMETOOLONG;
	}
	snprintf(addr, sizeof(addr), strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
	r = link_new(d, ctx, host, addr, ops, owner, &l, msg, msglen);
	if (r)
		return r;
	/* An address: connect now (never blocks). */
	if (evutil_getaddrinfo(host, port, &hints, &ai) == 0) {
		r = link_connect(l, ai, msg, msglen);
		evutil_freeaddrinfo(ai);
		if (r) {
			link_free(l);
			return r;
		}
		*ret = l;
		return 0;
	}
	/* A name: resolved by evdns, without blocking the loop. */
	t = calloc(1, sizeof(*t));
	l->conn_ev = t ? evtimer_new(d->base, on_resolve_start, l) : NULL;
	if (!l->conn_ev) {
		free(t);
		snprintf(msg, msglen, "out of memory");
		link_free(l);
		return -ENOMEM;
	}
	t->l = l;
	t->d = d;
	snprintf(t->host, sizeof(t->host), "%s", host);
	snprintf(t->port, sizeof(t->port), "%s", port);
	l->dns = t;
	event_priority_set(l->conn_ev, GISAD_PRIO_MIGRATION);
	evtimer_add(l->conn_ev, &now);
	*ret = l;
	return 0;
}

void mlink_dns_reload(struct gisad *d)
{
	/*
	 * Read again in place (freeing it could pull it from under a request's
	 * late callback): pending requests wait for the new nameservers.
	 */
	if (!d->dns)
		return;
	if (evdns_base_clear_nameservers_and_suspend(d->dns) ||
	    evdns_base_resolv_conf_parse(d->dns, DNS_OPTIONS_ALL & ~DNS_OPTION_HOSTSFILE,
					 "/etc/resolv.conf"))
		log_warning("SIGHUP: /etc/resolv.conf could not be read again for the resolver");
	evdns_base_clear_host_addresses(d->dns);
	if (evdns_base_load_hosts(d->dns, "/etc/hosts"))
		log_warning("SIGHUP: /etc/hosts could not be read again for the resolver");
	(void)evdns_base_resume(d->dns);
}
