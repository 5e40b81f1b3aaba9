/* SPDX-License-Identifier: MIT */
/*
 * The migration listener (docs/MIGRATION-PROTOCOL.md, sections 1 and 3.1;
 * docs/TLS.md): TCP on cfg.migration_listen, TLS 1.3 with mutual
 * authentication (mig-link.c), and the destination's side of the hello
 * exchange.  After the hellos the link goes to mig-in.c.
 *
 *   accept --total cap--> link (handshake, identity: mig-link.c)
 *   up --> over the per-peer cap --> MigError, closed
 *      --> else wait idle_timeout_ms for the source's MigHello
 *   MigHello ok --> our MigHello --> migin_attach (purpose)
 *   a bad hello --> MigError, closed
 *
 * Invariants:
 *  - nothing of any VM is read or written here: the hello reports the
 *    host's configuration and how many more VMs it may hold, no more;
 *  - each connection's SSL holds a reference to the SSL_CTX it was made
 *    from: SIGHUP replaces m->ctx for new connections only;
 *  - at most GISAD_MIG_MAX_CONNS accepted connections exist, handshakes
 *    included, of which GISAD_MIG_MAX_HANDSHAKES_PER_HOST unauthenticated
 *    ones from one host (an IPv4 address, or an IPv6 /64: host_key), and
 *    at most cfg.max_conn_per_peer admitted ones per
 *    certificate fingerprint; one more is answered MigError -EUSERS as
 *    soon as its handshake completes, without waiting for its hello, and
 *    closed (lingering at most handshake_timeout_ms, mig-link.c);
 *  - nothing a peer sends can stop the daemon: every failure ends at worst
 *    that peer's connection, with a log line naming it and the reason.
 */
#include <arpa/inet.h>
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
#include "mig.h"

/* Connections accepted at once, handshakes included (each costs two buffers). */
#define GISAD_MIG_MAX_CONNS 256u
/*
 * Of those, still in their TLS handshake (not authenticated) from one
 * host: so that one host cannot take every place from the others.
 */
#define GISAD_MIG_MAX_HANDSHAKES_PER_HOST 16u
/* At most one line a second says that connections are refused at these caps. */
#define GISAD_MIG_REFUSAL_LOG_NS 1000000000ull
/*
 * The spares an incoming migration took are made again this long after it
 * ended: not beside the writes that end it and its source's on the same
 * disk, nor, after a burst, once per migration.
 */
#define GISAD_MIG_SPARE_DELAY_MS 100u
/*
 * Nor while a migration is connected or connecting here, whose records
 * and slots share the durable-write queue with them: put off by the delay
 * again, up to this many times in a row (then made anyway).
 */
#define GISAD_MIG_SPARE_DEFERS 20u

struct mig {
	struct gisad *d;
	struct evconnlistener *lev;
	struct event *resume_ev;        /* re-enables accepting after EMFILE */
	struct event *spare_ev;         /* makes the spares again (mig_spare_later) */
	unsigned spare_deferred;        /* times put off in a row, beside migrations */
	struct gisa_tls_ctx *ctx;       /* for new connections */
	uint8_t instance[16];
	char hostname[256];
	char bound[MIG_ADDR_MAX];
	uint64_t refusal_logged_ns;     /* when a refusal at a cap was last logged */
	uint32_t refusals_quiet;        /* refused since, without a line */
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

/*
 * The part of a peer's address that names its host for the handshake
 * cap (into h): an IPv4 address, an IPv4-mapped IPv6 address's
 * IPv4 part, or an IPv6 address's /64, since a host is routinely given a
 * whole /64 and could otherwise dial from as many addresses as it likes.
 */
static void host_key(const struct sockaddr *sa, struct mig_host *h)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family == AF_INET) {
		memcpy(h->b, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		h->len = 4;
	} else if (sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		memcpy(h->b, s6->sin6_addr.s6_addr + 12, 4);
		h->len = 4;
	} else if (sa->sa_family == AF_INET6) {
		memcpy(h->b, s6->sin6_addr.s6_addr, 8);
		h->len = 8;
	} else {
		h->len = 0;     /* not a TCP/IP listener's: all such are one host */
	}
}

/* A host as the log names it: the IPv4 address, or the IPv6 /64. */
static void format_host(const struct mig_host *h, char *buf, size_t len)
{
	uint8_t a6[16] = { 0 };

	if (h->len != 8) {
		if (h->len != 4 || !inet_ntop(AF_INET, h->b, buf, (socklen_t)len))
			snprintf(buf, len, "?");
		return;
	}
	memcpy(a6, h->b, 8);
	if (!inet_ntop(AF_INET6, a6, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	else
		snprintf(buf + strlen(buf), len - strlen(buf), "/64");
}

/*
 * A refusal at a cap, logged at most once a second (a flood of dials
 * would otherwise be a flood of lines); the next line counts the quiet ones.
 */
__attribute__((format(printf, 2, 3)))
static void log_refusal(struct mig *m, const char *fmt, ...)
{
	uint64_t now = gisad_now_ns();
	char line[256];
	va_list ap;

	if (m->refusal_logged_ns && now - m->refusal_logged_ns < GISAD_MIG_REFUSAL_LOG_NS) {
		m->refusals_quiet++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (m->refusals_quiet)
		log_notice("%s (and %u more refused at the caps since the last such line)", line,
			   m->refusals_quiet);
	else
		log_notice("%s", line);
	m->refusal_logged_ns = now;
	m->refusals_quiet = 0;
}

int mig_tls_ctx(const struct gisad_config *cfg, enum gisa_tls_role role,
		struct gisa_tls_ctx **ret, size_t *ret_n, char *msg, size_t msglen)
{
	static const char *entries[GISA_TLS_MAX_ALLOW];
	static char buf[GISAD_ALLOW_MAX];
	struct gisa_tls_config tc = {
		.cert_file = cfg->tls_cert,
		.key_file = cfg->tls_key,
		.ca_file = cfg->tls_ca,
		.allow = entries,
	};
	struct gisa_tls_error err;
	int n, r;

	if (!cfg->tls_ca[0] || !cfg->tls_cert[0] || !cfg->tls_key[0] || !cfg->tls_allow[0]) {
		snprintf(msg, msglen, "migration needs tls_ca, tls_cert, tls_key and tls_allow in "
			 "gisad.conf");
		return -ENOTCONN;
	}
	n = conf_allow_split(cfg->tls_allow, buf, entries, GISA_TLS_MAX_ALLOW);
	if (n < 0) {
		snprintf(msg, msglen, "tls_allow has more than %u entries", GISA_TLS_MAX_ALLOW);
		return n;
	}
	tc.n_allow = (size_t)n;
	if (ret_n)
		*ret_n = (size_t)n;
	r = gisa_tls_ctx_new(role, &tc, ret, &err);
	if (r)
		snprintf(msg, msglen, "migration TLS: %.400s", err.msg);
	return r;
}

/* ---- the destination's hello --------------------------------------------- */

static uint32_t peer_count(const struct gisad *d, const struct mlink *self)
{
	uint32_t n = 0;

	for (const struct mlink *l = d->mig_links; l; l = l->next)
		n += l != self && l->server && l->up && !l->closing &&
		     strcmp(l->peer.fingerprint, self->peer.fingerprint) == 0;
	return n;
}

/*
 * The handshake completed: count the peer, and wait for its hello.  One
 * over its cap is refused at once: a connection that waited for a hello
 * its peer need not send would hold a slot of the listener's total.
 */
static void on_up(struct mlink *l)
{
	struct gisad *d = l->d;
	uint32_t n = peer_count(d, l), max = d->cfg.max_conn_per_peer;

	if (n >= max) {
		mlink_error(l, -EUSERS, "peer `%s' (%s) already holds %u migration connection%s "
			    "(max_connections_per_peer = %u)", l->peer.name, l->peer.fingerprint,
			    n, n == 1 ? "" : "s", max);
		return;
	}
	log_notice("migration: %s: `%s' (%s) admitted by allow-list entry `%s'", l->addr,
		   l->peer.name, l->peer.fingerprint, l->peer.matched);
	mlink_wait(l, d->cfg.idle_timeout_ms);
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

static int send_hello(struct mlink *l, struct mig *m)
{
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
	h.max_version = MIG_VERSION_NOW(l->d);
	h.has_role = true;
	h.role = GISA__V1__MIG_ROLE__MIG_ROLE_DESTINATION;
	h.peer = &p;
	h.host_caps = &hc;
	h.limits = &lim;
	h.has_max_vms = true;
	h.max_vms = d->cfg.max_vms > d->nr_vms + d->nr_staging ?
		    d->cfg.max_vms - d->nr_vms - d->nr_staging : 0;
	h.has_max_concurrent = true;
	h.max_concurrent = d->cfg.max_incoming > d->nr_ins ? d->cfg.max_incoming - d->nr_ins : 0;

	msg.body_case = GISA__V1__MIG_MESSAGE__BODY_HELLO;
	msg.hello = &h;
	return mlink_send(l, &msg);
}

/* The first message: a MigHello from a source, answered with ours. */
static void on_msg(struct mlink *l, const Gisa__V1__MigMessage *msg)
{
	struct mig *m = l->owner;
	const Gisa__V1__MigHello *h;
	uint32_t lo, hi;
	const char *purpose;
	char daemon[MIG_PEER_TEXT + 1], host[MIG_PEER_TEXT + 1];

	if (msg->body_case != GISA__V1__MIG_MESSAGE__BODY_HELLO) {
		mlink_error(l, -EPROTO, "expected MigHello (field 16) as the first message, got "
			    "%s (field %d)", mig_body_name(msg->body_case), (int)msg->body_case);
		return;
	}
	h = msg->hello;
	if (!h->has_role || h->role != GISA__V1__MIG_ROLE__MIG_ROLE_SOURCE) {
		mlink_error(l, -EPROTO, "MigHello with role %d: this listener expects SOURCE (1)",
			    h->has_role ? (int)h->role : 0);
		return;
	}
	if (!h->has_min_version || !h->has_max_version || h->min_version == 0 ||
	    h->min_version > h->max_version) {
		mlink_error(l, -EPROTO, "MigHello with the version range %u..%u: expected "
			    "1 <= min_version <= max_version", h->min_version, h->max_version);
		return;
	}
	lo = h->min_version > MIG_VERSION_MIN ? h->min_version : MIG_VERSION_MIN;
	hi = h->max_version < MIG_VERSION_NOW(l->d) ? h->max_version : MIG_VERSION_NOW(l->d);
	if (hi < lo) {
		mlink_error(l, -EPROTONOSUPPORT, "source speaks %u..%u, this gisad speaks %u..%u",
			    h->min_version, h->max_version, MIG_VERSION_MIN, MIG_VERSION_NOW(l->d));
		return;
	}
	purpose = h->has_purpose ? purpose_name(h->purpose) : NULL;
	if (!purpose) {
		mlink_error(l, -EPROTO, "MigHello with purpose %d: expected MIGRATE (1), QUERY (2) "
			    "or FETCH (3)", h->has_purpose ? (int)h->purpose : 0);
		return;
	}
	mig_clean_text(h->peer ? h->peer->daemon : NULL, daemon, sizeof(daemon));
	mig_clean_text(h->peer ? h->peer->hostname : NULL, host, sizeof(host));
	log_info("migration: %s: hello from `%s' (%s, host `%s'): speaks %u..%u, purpose %s; "
		 "version %u", l->addr, l->peer.name, daemon, host, h->min_version,
		 h->max_version, purpose, hi);
	l->version = hi;
	if (send_hello(l, m)) {
		log_err("migration: %s: out of memory sending the hello: closing", l->addr);
		mlink_drop(l);
		return;
	}
	migin_attach(l, h->purpose);
}

static void on_timeout(struct mlink *l)
{
	mlink_error(l, -ETIMEDOUT, "nothing received for %u ms (idle_timeout_ms)", l->wait_ms);
}

static void on_down(struct mlink *l, int err, const char *why)
{
	(void)l;
	(void)err;
	(void)why;
}

static const struct mlink_ops hello_ops = {
	.up = on_up,
	.msg = on_msg,
	.timeout = on_timeout,
	.down = on_down,
};

static void on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct mig *m = arg;
	struct gisad *d = m->d;
	struct mlink *l;
	char addr[MIG_ADDR_MAX], msg[GISA_TLS_MSG_MAX], host[INET6_ADDRSTRLEN + 4];
	uint32_t accepted = 0, handshakes = 0;
	struct mig_host key = { .len = 0 };

	format_addr(sa, addr, sizeof(addr));
	host_key(sa, &key);
	for (const struct mlink *x = d->mig_links; x; x = x->next) {
		accepted += x->server;
		handshakes += x->server && !x->up && x->host.len == key.len &&
			      !memcmp(x->host.b, key.b, key.len);
	}
	if (accepted >= GISAD_MIG_MAX_CONNS) {
		log_refusal(m, "migration: %s refused: %u connections are open, the most this "
			    "gisad holds", addr, accepted);
		evutil_closesocket(fd);
		return;
	}
	if (handshakes >= GISAD_MIG_MAX_HANDSHAKES_PER_HOST) {
		format_host(&key, host, sizeof(host));
		log_refusal(m, "migration: %s refused: %u TLS handshakes from its host (%s) are in "
			    "progress, the most one host may have", addr, handshakes, host);
		evutil_closesocket(fd);
		return;
	}
	if (mlink_accept(d, m->ctx, fd, addr, &hello_ops, m, &l, msg, sizeof(msg))) {
		log_err("migration: %s: %s: refused", addr, msg);
		return;
	}
	l->host = key;
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

static void on_spare(evutil_socket_t fd, short what, void *arg)
{
	struct mig *m = arg;

	(void)fd;
	(void)what;
	if (m->d->nr_mig_links && m->spare_deferred < GISAD_MIG_SPARE_DEFERS) {
		m->spare_deferred++;
		mig_spare_later(m->d);
		return;
	}
	m->spare_deferred = 0;
	(void)migrec_post_spare(m->d);
}

static void mig_free(struct mig *m)
{
	if (m->lev)
		evconnlistener_free(m->lev);
	if (m->resume_ev)
		event_free(m->resume_ev);
	if (m->spare_ev)
		event_free(m->spare_ev);
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
	struct sockaddr_storage ss = { 0 };
	socklen_t sl = sizeof(ss);
	char host[GISAD_LISTEN_MAX], port[8], why[512];
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
	r = mig_tls_ctx(&d->cfg, GISA_TLS_SERVER, &m->ctx, &n_allow, why, sizeof(why));
	if (r) {
		log_err("%s", why);
		goto fail;
	}
	r = getaddrinfo(host, port, &hints, &ai);
	if (r) {
		log_err("migration_listen `%s': %s", spec, gai_strerror(r));
		r = -EINVAL;
		goto fail;
	}
	m->resume_ev = evtimer_new(d->base, on_resume, m);
	m->spare_ev = evtimer_new(d->base, on_spare, m);
	if (m->spare_ev)
		(void)event_priority_set(m->spare_ev, GISAD_PRIO_REQUEST);
	m->lev = evconnlistener_new_bind(d->base, on_accept, m,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
					 LEV_OPT_REUSEABLE, 64, ai->ai_addr, (int)ai->ai_addrlen);
	if (!m->lev || !m->resume_ev || !m->spare_ev) {
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
	/* An incoming migration's first record and slot, made ahead (mig-rec.c). */
	(void)migrec_post_spare(d);
	return 0;
fail:
	mig_free(m);
	return r < 0 ? r : -EINVAL;
}

void mig_spare_later(struct gisad *d)
{
	struct timeval tv = { 0, GISAD_MIG_SPARE_DELAY_MS * 1000 };

	if (d->mig && !evtimer_pending(d->mig->spare_ev, NULL))
		evtimer_add(d->mig->spare_ev, &tv);
}

int mig_reload_prepare(struct gisad *d, const struct gisad_config *next, struct mig_reload *p,
		       char *msg, size_t msglen)
{
	int r = 0;

	memset(p, 0, sizeof(*p));
	/* Always built again: the files may have changed under the same names. */
	if (d->mig)
		r = mig_tls_ctx(next, GISA_TLS_SERVER, &p->server, &p->n_allow, msg, msglen);
	if (!r && d->client_ctx) {
		r = mig_tls_ctx(next, GISA_TLS_CLIENT, &p->client, NULL, msg, msglen);
		/* No TLS configured any more: no migration out either. */
		p->client_gone = r == -ENOTCONN;
		if (p->client_gone)
			r = 0;
	}
	if (r)
		mig_reload_abort(p);
	return r;
}

void mig_reload_abort(struct mig_reload *p)
{
	p->server = gisa_tls_ctx_free(p->server);
	p->client = gisa_tls_ctx_free(p->client);
}

void mig_reload_commit(struct gisad *d, struct mig_reload *p)
{
	mlink_dns_reload(d);
	if (p->client || p->client_gone) {
		gisa_tls_ctx_free(d->client_ctx);
		d->client_ctx = p->client;
		p->client = NULL;
	}
	if (!p->server)
		return;
	gisa_tls_ctx_free(d->mig->ctx);
	d->mig->ctx = p->server;
	p->server = NULL;
	log_notice("SIGHUP: migration TLS reloaded: %zu allow-list entr%s for new connections; "
		   "open connections (%u) keep the previous ones", p->n_allow,
		   p->n_allow == 1 ? "y" : "ies", d->nr_mig_links);
}

void mig_close_all(struct gisad *d)
{
	migout_free_all(d);
	migin_free_all(d);
	mlink_free_all(d);
	if (d->mig)
		mig_free(d->mig);
	d->mig = NULL;
	d->client_ctx = gisa_tls_ctx_free(d->client_ctx);
	while (d->retired) {
		struct retired *t = d->retired;

		d->retired = t->next;
		free(t);
	}
	while (d->held) {
		struct retired *t = d->held;

		d->held = t->next;
		free(t);
	}
}
