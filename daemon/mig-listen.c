/* SPDX-License-Identifier: MIT */
/*
 * The migration listener (docs/MIGRATION-PROTOCOL.md, sections 1 and 3.1;
 * docs/TLS.md): TCP on cfg.migration_listen, TLS 1.3 with mutual
 * authentication through bufferevent_openssl, and the hello exchange.
 * Migrations themselves are not served yet: after the hellos the
 * connection is closed.
 *
 * A connection's life:
 *
 *   accept --total cap--> HANDSHAKE --CONNECTED, identity ok--> HELLO
 *   HANDSHAKE --error, EOF, handshake_timeout_ms--> freed (a notice: why)
 *   HELLO --MigHello ok--> our MigHello --> CLOSING
 *   HELLO --bad frame or message, over the per-peer cap--> MigError --> CLOSING
 *   HELLO --idle_timeout_ms without a byte--> MigError -ETIMEDOUT --> CLOSING
 *   HELLO --EOF, error--> freed
 *   CLOSING --output drained--> close_notify, freed
 *   CLOSING --handshake_timeout_ms (the peer does not read)--> freed
 *
 * Invariants:
 *  - nothing of any VM is read or written here: the hello reports the
 *    host's configuration and how many more VMs it may hold, no more;
 *  - no frame is read before the handshake completed, and a completed
 *    handshake means the peer was admitted (tls.c refuses during it);
 *    gisa_tls_verify_peer repeats the check to name the peer;
 *  - each connection's SSL holds a reference to the SSL_CTX it was made
 *    from: SIGHUP replaces m->ctx for new connections only;
 *  - at most GISAD_MIG_MAX_CONNS connections exist, handshakes included,
 *    and at most cfg.max_conn_per_peer admitted ones per certificate
 *    fingerprint; one more admitted one is answered MigError -EUSERS after
 *    its hello and closed, as the protocol says;
 *  - nothing a peer sends can stop the daemon: every failure ends at worst
 *    that peer's connection, with a log line naming it and the reason.
 */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include <gisa/frame.h>
#include <gisa/tls.h>

#include "gisad.h"
#include "log.h"
#include "migration.pb-c.h"

/* Connections at once, handshakes included (each costs two buffers). */
#define GISAD_MIG_MAX_CONNS 256u
/* Heap a decoded MigMessage may use, per payload byte, plus a floor. */
#define MIG_DECODE_FACTOR   32u
#define MIG_DECODE_FLOOR    (64u << 10)
/* Text a peer chose (its MigHello) that goes into the log. */
#define MIG_PEER_TEXT       64u

#define MIG_VERSION_MIN     ((uint32_t)GISA__V1__MIG_PROTOCOL__MIG_PROTOCOL_MIN_VERSION)
#define MIG_VERSION_MAX     ((uint32_t)GISA__V1__MIG_PROTOCOL__MIG_PROTOCOL_VERSION)

enum mig_conn_state {
	MC_HANDSHAKE,
	MC_HELLO,
	MC_CLOSING,
};

struct mig_conn {
	struct mig_conn *next, *prev;
	struct mig *m;
	struct bufferevent *bev;
	SSL *ssl;                       /* freed with bev (BEV_OPT_CLOSE_ON_FREE) */
	struct event *timer;            /* handshake deadline, idle, closing grace */
	struct gisa_frame_decoder *dec;
	enum mig_conn_state state;
	bool over_limit;                /* admitted beyond max_conn_per_peer */
	uint32_t handshake_ms, idle_ms; /* the configuration at accept */
	char addr[INET6_ADDRSTRLEN + 8];
	struct gisa_tls_peer peer;
};

struct mig {
	struct gisad *d;
	struct evconnlistener *lev;
	struct event *resume_ev;        /* re-enables accepting after EMFILE */
	struct gisa_tls_ctx *ctx;       /* for new connections */
	struct mig_conn *conns;
	uint32_t nr_conns;
	uint8_t instance[16];
	char hostname[256];
	char bound[INET6_ADDRSTRLEN + 8];
};

/* ---- helpers ------------------------------------------------------------ */

static void format_addr(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?", port[8] = "?";

	(void)getnameinfo(sa, sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
			  sizeof(struct sockaddr_in), host, sizeof(host), port, sizeof(port),
			  NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(buf, len, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

/* A peer's text for the log: cut, unprintable bytes and quotes replaced. */
static void clean_text(const char *s, char *out, size_t len)
{
	size_t i = 0;

	for (; s && s[i] && i + 1 < len && i < MIG_PEER_TEXT; i++)
		out[i] = (s[i] < 0x20 || s[i] > 0x7e || s[i] == '\'' || s[i] == '`' ||
			  s[i] == '"') ? '?' : s[i];
	out[i] = '\0';
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

static void arm(struct mig_conn *c, uint32_t ms)
{
	struct timeval tv = { .tv_sec = ms / 1000u, .tv_usec = (ms % 1000u) * 1000 };

	evtimer_add(c->timer, &tv);
}

/* Build a server context from the configuration. */
static int ctx_build(const struct gisad_config *cfg, struct gisa_tls_ctx **ret, size_t *ret_n,
		     struct gisa_tls_error *err)
{
	static const char *entries[GISA_TLS_MAX_ALLOW];
	static char buf[GISAD_ALLOW_MAX];
	struct gisa_tls_config tc = {
		.cert_file = cfg->tls_cert,
		.key_file = cfg->tls_key,
		.ca_file = cfg->tls_ca,
		.allow = entries,
	};
	int n = conf_allow_split(cfg->tls_allow, buf, entries, GISA_TLS_MAX_ALLOW);

	if (n < 0) {
		snprintf(err->msg, sizeof(err->msg), "tls_allow has more than %u entries",
			 GISA_TLS_MAX_ALLOW);
		return n;
	}
	tc.n_allow = (size_t)n;
	*ret_n = (size_t)n;
	return gisa_tls_ctx_new(GISA_TLS_SERVER, &tc, ret, err);
}

/* ---- connections -------------------------------------------------------- */

static void conn_free(struct mig_conn *c)
{
	struct mig *m = c->m;

	if (c->prev)
		c->prev->next = c->next;
	else
		m->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	m->nr_conns--;
	if (c->timer)
		event_free(c->timer);
	if (c->bev)
		bufferevent_free(c->bev);   /* SSL_free and close */
	gisa_frame_decoder_free(c->dec);
	free(c);
}

/*
 * Free a connection the peer may still be writing to.  Closing a socket
 * with unread bytes sends a reset, which can make the peer lose what we
 * sent last (a TLS alert): read what is pending first.
 */
static void conn_drop(struct mig_conn *c)
{
	evutil_socket_t fd = c->bev ? bufferevent_getfd(c->bev) : -1;
	char buf[4096];

	for (int i = 0; fd >= 0 && i < 16 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0; i++)
		;
	conn_free(c);
}

/* Orderly end: close_notify (best effort, the output has drained), free. */
static void conn_finish(struct mig_conn *c)
{
	ERR_clear_error();
	(void)SSL_shutdown(c->ssl);
	ERR_clear_error();
	conn_drop(c);
}

/*
 * Queue one MSG frame; the connection then closes once it has drained.
 * Never frees c (callers are inside c's callbacks): if the frame cannot be
 * queued, the closing timer fires at once.
 */
static int send_message(struct mig_conn *c, Gisa__V1__MigMessage *msg)
{
	size_t len = gisa__v1__mig_message__get_packed_size(msg);
	uint8_t *buf = malloc(GISA_FRAME_HEADER_SIZE + len);
	int r = -ENOMEM;

	if (buf) {
		gisa_frame_header_write(buf, GISA_FRAME_MSG, (uint32_t)len);
		gisa__v1__mig_message__pack(msg, buf + GISA_FRAME_HEADER_SIZE);
		r = bufferevent_write(c->bev, buf, GISA_FRAME_HEADER_SIZE + len) ? -ENOMEM : 0;
		free(buf);
	}
	c->state = MC_CLOSING;
	bufferevent_disable(c->bev, EV_READ);
	arm(c, r ? 0 : c->handshake_ms);
	return r;
}

/* Answer MigError (err, printf message), logged at notice, then close. */
static void send_error(struct mig_conn *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void send_error(struct mig_conn *c, int err, const char *fmt, ...)
{
	Gisa__V1__MigMessage msg = GISA__V1__MIG_MESSAGE__INIT;
	Gisa__V1__MigError e = GISA__V1__MIG_ERROR__INIT;
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_notice("migration: %s (`%s' %s): %s: answered MigError %d and closing", c->addr,
		   c->peer.name, c->peer.fingerprint, text, err);
	/* Before a version is agreed, and for the hello, messages are version 1. */
	msg.has_version = true;
	msg.version = MIG_VERSION_MIN;
	msg.body_case = GISA__V1__MIG_MESSAGE__BODY_ERROR;
	msg.error = &e;
	e.has_error = true;
	e.error = err;
	e.message = text;
	if (send_message(c, &msg))
		log_err("migration: %s: out of memory sending MigError: closing", c->addr);
}

static uint32_t peer_count(const struct mig *m, const struct mig_conn *self)
{
	uint32_t n = 0;

	for (const struct mig_conn *c = m->conns; c; c = c->next)
		n += c != self && c->state != MC_HANDSHAKE && !c->over_limit &&
		     strcmp(c->peer.fingerprint, self->peer.fingerprint) == 0;
	return n;
}

/* The handshake completed: name the peer, count it, wait for its hello. */
static void admitted(struct mig_conn *c)
{
	struct mig *m = c->m;
	struct gisa_tls_error err;
	char why[GISA_TLS_MSG_MAX + 96];
	uint32_t n, max = m->d->cfg.max_conn_per_peer;
	int r;

	r = gisa_tls_verify_peer(c->ssl, &c->peer, &err);
	if (r) {
		tls_reason(&err, why, sizeof(why));
		log_notice("migration: %s refused after the TLS handshake: %s", c->addr, why);
		conn_drop(c);
		return;
	}
	r = gisa_frame_decoder_new(NULL, &c->dec);
	if (r) {
		log_err("migration: %s: frame decoder: %s: closing", c->addr, strerror(-r));
		conn_drop(c);
		return;
	}
	n = peer_count(m, c);
	c->state = MC_HELLO;
	if (n >= max) {
		c->over_limit = true;
		log_notice("migration: %s: `%s' (%s) admitted by allow-list entry `%s', but it "
			   "already holds %u connection%s (max_connections_per_peer = %u): "
			   "refused after its hello",
			   c->addr, c->peer.name, c->peer.fingerprint, c->peer.matched, n,
			   n == 1 ? "" : "s", max);
	} else {
		log_notice("migration: %s: `%s' (%s) admitted by allow-list entry `%s'", c->addr,
			   c->peer.name, c->peer.fingerprint, c->peer.matched);
	}
	arm(c, c->idle_ms);
}

static const char *purpose_name(int p)
{
	switch (p) {
	case GISA__V1__MIG_PURPOSE__MIG_PURPOSE_MIGRATE:
		return "MIGRATE";
	case GISA__V1__MIG_PURPOSE__MIG_PURPOSE_QUERY:
		return "QUERY";
	case GISA__V1__MIG_PURPOSE__MIG_PURPOSE_FETCH:
		return "FETCH";
	}
	return NULL;
}

static void send_hello(struct mig_conn *c, uint32_t version)
{
	struct mig *m = c->m;
	const struct gisad *d = m->d;
	Gisa__V1__MigMessage msg = GISA__V1__MIG_MESSAGE__INIT;
	Gisa__V1__MigHello h = GISA__V1__MIG_HELLO__INIT;
	Gisa__V1__MigPeer p = GISA__V1__MIG_PEER__INIT;
	Gisa__V1__MigHostCaps hc = GISA__V1__MIG_HOST_CAPS__INIT;
	Gisa__V1__MigLimits lim = GISA__V1__MIG_LIMITS__INIT;
	uint32_t profiles[32];
	size_t np = 0;

	for (uint32_t i = 0; i < 32; i++)
		if (d->cfg.profiles & (1u << i))
			profiles[np++] = i;
	hc.n_profiles = np;
	hc.profiles = profiles;
	hc.has_caps = true;
	hc.caps = conf_caps(&d->cfg);

	p.daemon = (char *)GISAD_VERSION_STRING;
	p.hostname = m->hostname;
	p.has_instance = true;
	p.instance.data = m->instance;
	p.instance.len = sizeof(m->instance);
	p.has_started_unix_ns = true;
	p.started_unix_ns = gisad_unix_ns() - (gisad_now_ns() - d->start_ns);

	lim.has_max_frame = true;
	lim.max_frame = GISA_FRAME_MAX;
	lim.has_max_msg = true;
	lim.max_msg = GISA_FRAME_MSG_MAX;
	lim.has_max_object = true;
	lim.max_object = GISA_FRAME_OBJECT_MAX;

	h.has_min_version = true;
	h.min_version = MIG_VERSION_MIN;
	h.has_max_version = true;
	h.max_version = MIG_VERSION_MAX;
	h.has_role = true;
	h.role = GISA__V1__MIG_ROLE__MIG_ROLE_DESTINATION;
	h.peer = &p;
	h.host_caps = &hc;
	h.limits = &lim;
	h.has_max_vms = true;
	h.max_vms = d->cfg.max_vms > d->nr_vms ? d->cfg.max_vms - d->nr_vms : 0;
	/* max_concurrent stays absent until incoming migrations exist. */

	msg.has_version = true;
	msg.version = version;
	msg.body_case = GISA__V1__MIG_MESSAGE__BODY_HELLO;
	msg.hello = &h;
	if (send_message(c, &msg))
		log_err("migration: %s: out of memory sending the hello: closing", c->addr);
}

/* Decoding budget: a message may not make the daemon allocate without bound. */
struct budget {
	size_t left;
};

static void *budget_alloc(void *ctx, size_t size)
{
	struct budget *b = ctx;
	size_t *p;

	if (size > b->left || size > SIZE_MAX - 16)
		return NULL;
	p = malloc(size + 16);
	if (!p)
		return NULL;
	b->left -= size;
	p[0] = size;
	return (char *)p + 16;
}

static void budget_free(void *ctx, void *ptr)
{
	struct budget *b = ctx;
	size_t *p;

	if (!ptr)
		return;
	p = (size_t *)(void *)((char *)ptr - 16);
	b->left += p[0];
	free(p);
}

/* The first frame: a MigHello from a source, answered with ours. */
static void handle_first(struct mig_conn *c, const struct gisa_frame *f)
{
	struct budget budget = { .left = MIG_DECODE_FLOOR + (size_t)MIG_DECODE_FACTOR * f->len };
	ProtobufCAllocator alloc = { budget_alloc, budget_free, &budget };
	Gisa__V1__MigMessage *msg;
	const Gisa__V1__MigHello *h;
	uint32_t lo, hi;
	const char *purpose;
	char daemon[MIG_PEER_TEXT + 1], host[MIG_PEER_TEXT + 1];

	if (f->type != GISA_FRAME_MSG) {
		send_error(c, -EPROTO,
			   "expected a MSG frame holding MigHello first, got a %s frame",
			   gisa_frame_type_name(f->type));
		return;
	}
	msg = gisa__v1__mig_message__unpack(&alloc, f->len, f->payload);
	if (!msg) {
		send_error(c, -EBADMSG, "the first MSG frame (%u bytes) does not decode as a "
			   "gisa.v1.MigMessage", f->len);
		return;
	}
	if (msg->body_case != GISA__V1__MIG_MESSAGE__BODY_HELLO) {
		send_error(c, -EPROTO, "expected MigHello (field 16) as the first message, got "
			   "field %d in state HELLO", (int)msg->body_case);
		goto out;
	}
	h = msg->hello;
	if (!h->has_role || h->role != GISA__V1__MIG_ROLE__MIG_ROLE_SOURCE) {
		send_error(c, -EPROTO, "MigHello with role %d: this listener expects SOURCE (1)",
			   h->has_role ? (int)h->role : 0);
		goto out;
	}
	if (!h->has_min_version || !h->has_max_version || h->min_version == 0 ||
	    h->min_version > h->max_version) {
		send_error(c, -EPROTO, "MigHello with the version range %u..%u: expected "
			   "1 <= min_version <= max_version", h->min_version, h->max_version);
		goto out;
	}
	lo = h->min_version > MIG_VERSION_MIN ? h->min_version : MIG_VERSION_MIN;
	hi = h->max_version < MIG_VERSION_MAX ? h->max_version : MIG_VERSION_MAX;
	if (hi < lo) {
		send_error(c, -EPROTONOSUPPORT, "source speaks %u..%u, this gisad speaks %u..%u",
			   h->min_version, h->max_version, MIG_VERSION_MIN, MIG_VERSION_MAX);
		goto out;
	}
	purpose = h->has_purpose ? purpose_name(h->purpose) : NULL;
	if (!purpose) {
		send_error(c, -EPROTO, "MigHello with purpose %d: expected MIGRATE (1), QUERY (2) "
			   "or FETCH (3)", h->has_purpose ? (int)h->purpose : 0);
		goto out;
	}
	if (c->over_limit) {
		send_error(c, -EUSERS, "peer `%s' (%s) already holds %u migration connections "
			   "(max_connections_per_peer = %u)", c->peer.name, c->peer.fingerprint,
			   peer_count(c->m, c), c->m->d->cfg.max_conn_per_peer);
		goto out;
	}
	clean_text(h->peer ? h->peer->daemon : NULL, daemon, sizeof(daemon));
	clean_text(h->peer ? h->peer->hostname : NULL, host, sizeof(host));
	log_info("migration: %s: hello from `%s' (%s, host `%s'): speaks %u..%u, purpose %s; "
		 "version %u; migrations are not served yet: closing after our hello",
		 c->addr, c->peer.name, daemon, host, h->min_version, h->max_version, purpose, hi);
	send_hello(c, hi);
out:
	gisa__v1__mig_message__free_unpacked(msg, &alloc);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct mig_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (c->state != MC_HELLO) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	arm(c, c->idle_ms);
	while (c->state == MC_HELLO && evbuffer_get_length(in) > 0) {
		struct gisa_frame_error ferr;
		struct evbuffer_iovec v;
		struct gisa_frame f;
		size_t used = 0;
		int r;

		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		r = gisa_frame_decode(c->dec, v.iov_base, v.iov_len, &used, &f, &ferr);
		if (r < 0) {
			send_error(c, r, "%s", ferr.msg);
			return;
		}
		/* f.payload lives in the decoder, or in v until the drain. */
		if (r == 1)
			handle_first(c, &f);
		evbuffer_drain(in, used);
	}
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct mig_conn *c = arg;

	if (c->state == MC_CLOSING && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_finish(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct mig_conn *c = arg;
	struct gisa_tls_error err;
	char why[GISA_TLS_MSG_MAX + 96];
	unsigned long code = 0, e;

	if (what & BEV_EVENT_CONNECTED) {
		if (c->state == MC_HANDSHAKE)
			admitted(c);
		return;
	}
	/* The first OpenSSL error is the cause; the others follow from it. */
	while ((e = bufferevent_get_openssl_error(bev)))
		if (!code)
			code = e;
	if (c->state == MC_HANDSHAKE) {
		/*
		 * tls.c's own refusal record comes first; code 0 (libevent
		 * reports a close without close_notify as an error) is a close.
		 */
		(void)gisa_tls_explain(c->ssl, code, &err);
		tls_reason(&err, why, sizeof(why));
		log_notice("migration: %s refused during the TLS handshake: %s", c->addr, why);
	} else if (code || !(what & BEV_EVENT_EOF)) {
		(void)gisa_tls_explain(c->ssl, code, &err);
		tls_reason(&err, why, sizeof(why));
		log_info("migration: %s (`%s'): connection ended: %s", c->addr, c->peer.name,
			 why);
	} else {
		log_info("migration: %s (`%s'): the peer closed the connection", c->addr,
			 c->peer.name);
	}
	conn_drop(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct mig_conn *c = arg;

	switch (c->state) {
	case MC_HANDSHAKE:
		log_notice("migration: %s refused: the TLS handshake did not complete within "
			   "%u ms (handshake_timeout_ms)", c->addr, c->handshake_ms);
		conn_drop(c);
		break;
	case MC_HELLO:
		send_error(c, -ETIMEDOUT, "nothing received for %u ms (idle_timeout_ms)",
			   c->idle_ms);
		break;
	case MC_CLOSING:
		log_info("migration: %s (`%s'): the peer does not read: closing", c->addr,
			 c->peer.name);
		conn_drop(c);
		break;
	}
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct mig *m = arg;
	struct gisad *d = m->d;
	struct gisa_tls_error err;
	struct mig_conn *c;
	char addr[INET6_ADDRSTRLEN + 8];
	SSL *ssl = NULL;
	int r;

	format_addr(sa, addr, sizeof(addr));
	if (m->nr_conns >= GISAD_MIG_MAX_CONNS) {
		log_notice("migration: %s refused: %u connections are open, the most this gisad "
			   "holds", addr, m->nr_conns);
		evutil_closesocket(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		log_err("migration: %s: out of memory: refused", addr);
		evutil_closesocket(fd);
		return;
	}
	c->m = m;
	c->handshake_ms = d->cfg.handshake_timeout_ms;
	c->idle_ms = d->cfg.idle_timeout_ms;
	memcpy(c->addr, addr, sizeof(addr));
	r = gisa_tls_ssl_new(m->ctx, -1, NULL, &ssl, &err);
	if (r) {
		log_err("migration: %s: %s: refused", addr, err.msg);
		evutil_closesocket(fd);
		free(c);
		return;
	}
	c->ssl = ssl;
	c->timer = evtimer_new(d->base, on_timer, c);
	/*
	 * On failure libevent 2.1 may or may not have freed ssl depending on
	 * where it failed; leaking one SSL when out of memory beats a double
	 * free.
	 */
	c->bev = bufferevent_openssl_socket_new(d->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
						BEV_OPT_CLOSE_ON_FREE);
	c->next = m->conns;
	if (m->conns)
		m->conns->prev = c;
	m->conns = c;
	m->nr_conns++;
	if (!c->bev || !c->timer) {
		log_err("migration: %s: out of memory: refused", addr);
		if (!c->bev)
			evutil_closesocket(fd);
		conn_free(c);
		return;
	}
	/* A close without close_notify is then EOF, not an error (also handled). */
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	arm(c, c->handshake_ms);
	log_debug("migration: %s connected: TLS handshake", addr);
}

/* ---- the listener ------------------------------------------------------- */

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct mig *m = arg;

	evconnlistener_enable(m->lev);
	log_info("migration: accepting connections again");
}

/* accept() failed (EMFILE, ENFILE, ENOBUFS): pause instead of spinning. */
static void on_accept_error(struct evconnlistener *l, void *arg)
{
	struct mig *m = arg;
	struct timeval tv = { .tv_sec = 1 };
	int e = EVUTIL_SOCKET_ERROR();

	log_warning("migration: accept: %s: pausing for 1 s", strerror(e));
	evconnlistener_disable(l);
	evtimer_add(m->resume_ev, &tv);
}

static void mig_free(struct mig *m)
{
	while (m->conns)
		conn_free(m->conns);
	if (m->lev)
		evconnlistener_free(m->lev);
	if (m->resume_ev)
		event_free(m->resume_ev);
	gisa_tls_ctx_free(m->ctx);
	free(m);
}

int mig_listen(struct gisad *d)
{
	const char *spec = d->cfg.migration_listen;
	struct addrinfo hints = {
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
		.ai_socktype = SOCK_STREAM,
	};
	struct addrinfo *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct gisa_tls_error err;
	char host[GISAD_LISTEN_MAX], port[8];
	struct mig *m;
	size_t n_allow = 0;
	int r;

	if (!spec[0])
		return 0;
	if (conf_listen_split(spec, host, sizeof(host), port, sizeof(port))) {
		log_err("migration_listen `%s': not HOST:PORT", spec);
		return -EINVAL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->d = d;
	if (gethostname(m->hostname, sizeof(m->hostname) - 1))
		snprintf(m->hostname, sizeof(m->hostname), "?");
	if (RAND_bytes(m->instance, sizeof(m->instance)) != 1) {
		log_err("migration: no random bytes for the instance id");
		r = -EIO;
		goto fail;
	}
	r = ctx_build(&d->cfg, &m->ctx, &n_allow, &err);
	if (r) {
		log_err("migration TLS: %s", err.msg);
		goto fail;
	}
	r = getaddrinfo(host, port, &hints, &ai);
	if (r) {
		log_err("migration_listen `%s': %s", spec, gai_strerror(r));
		r = -EINVAL;
		goto fail;
	}
	m->resume_ev = evtimer_new(d->base, on_resume, m);
	m->lev = evconnlistener_new_bind(d->base, on_accept, m,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
					 LEV_OPT_REUSEABLE, 64, ai->ai_addr, (int)ai->ai_addrlen);
	if (!m->lev || !m->resume_ev) {
		r = -errno;
		log_err("migration_listen `%s': cannot listen: %s", spec,
			strerror(errno ? errno : ENOMEM));
		freeaddrinfo(ai);
		goto fail;
	}
	freeaddrinfo(ai);
	evconnlistener_set_error_cb(m->lev, on_accept_error);
	if (getsockname(evconnlistener_get_fd(m->lev), (struct sockaddr *)&ss, &sl) == 0)
		format_addr((struct sockaddr *)&ss, m->bound, sizeof(m->bound));
	log_notice("migration: listening on %s (TLS 1.3, %zu allow-list entr%s)", m->bound,
		   n_allow, n_allow == 1 ? "y" : "ies");
	d->mig = m;
	return 0;
fail:
	mig_free(m);
	return r < 0 ? r : -EINVAL;
}

void mig_reload(struct gisad *d, const struct gisad_config *old)
{
	struct mig *m = d->mig;
	struct gisa_tls_error err;
	struct gisa_tls_ctx *ctx = NULL;
	size_t n_allow = 0;

	if (!m)
		return;
	/* Always rebuilt: the files may have changed under the same names. */
	if (ctx_build(&d->cfg, &ctx, &n_allow, &err)) {
		log_err("SIGHUP: migration TLS: %s: keeping the previous certificates and "
			"allow-list", err.msg);
		memcpy(d->cfg.tls_ca, old->tls_ca, sizeof(d->cfg.tls_ca));
		memcpy(d->cfg.tls_cert, old->tls_cert, sizeof(d->cfg.tls_cert));
		memcpy(d->cfg.tls_key, old->tls_key, sizeof(d->cfg.tls_key));
		memcpy(d->cfg.tls_allow, old->tls_allow, sizeof(d->cfg.tls_allow));
		return;
	}
	gisa_tls_ctx_free(m->ctx);
	m->ctx = ctx;
	log_notice("SIGHUP: migration TLS reloaded: %zu allow-list entr%s for new connections; "
		   "open connections (%u) keep the previous ones", n_allow,
		   n_allow == 1 ? "y" : "ies", m->nr_conns);
}

void mig_close_all(struct gisad *d)
{
	if (d->mig)
		mig_free(d->mig);
	d->mig = NULL;
}
