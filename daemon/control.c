/* SPDX-License-Identifier: MIT */
/*
 * The control socket: AF_UNIX SOCK_SEQPACKET, one protobuf Request per
 * datagram, one Response per request, in order.
 *
 * Discipline (OpenSMTPD's control.c is the model):
 *  - the socket is bound mode 0660, group cfg.group; each accepted peer's
 *    SO_PEERCRED must be root or a member of that group (its effective gid,
 *    its process's supplementary groups from SO_PEERGROUPS, or, only when
 *    neither has it, the uid's groups from the user database), else it
 *    gets one error datagram naming uid and group, and is closed;
 *  - at most cfg.max_conn_per_uid connections per uid, and cfg.max_conns
 *    of all uids but root (refused the same way);
 *  - accept() failing for lack of descriptors (EMFILE, ENFILE) or memory
 *    pauses accepting (event_del) until a connection closes or a second
 *    passes, so the loop never spins on a listening socket it cannot serve;
 *  - every datagram is received into a GISAD_MAX_DATAGRAM buffer with
 *    MSG_TRUNC, which makes recvmsg return the datagram's real length: an
 *    oversized one is consumed, answered with -EMSGSIZE, and the connection
 *    kept (one call per datagram, where peeking first would cost two);
 *  - descriptors arrive with MSG_CMSG_CLOEXEC; any the verb does not take
 *    are closed at once;
 *  - a malformed request is answered with -EBADMSG, the connection kept;
 *  - replies are sent without blocking: if the peer's queue is full the
 *    reply waits in the connection's queue and the connection is not read
 *    until it has drained (back-pressure instead of unbounded buffering);
 *    event datagrams beyond GISAD_MAX_EVENT_BACKLOG are dropped and counted.
 *
 * Nothing a peer sends can stop the daemon: every error ends at worst the
 * peer's own connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "gisad.h"
#include "log.h"

struct outmsg {
	struct outmsg *next;
	size_t len;
	uint64_t id;                   /* the request's, for a reply */
	bool is_event;
	uint8_t data[];
};

struct conn {
	struct conn *next, *prev;
	struct gisad *d;
	int fd;
	struct ucred cred;
	struct event *rd, *wr;
	bool reading;
	bool dead;                     /* a send failed: closed from on_write */
	struct outmsg *oq_head, *oq_tail;
	uint32_t oq_events;
	size_t reply_max;              /* the largest datagram its send buffer takes */
	bool sub;
	bool sub_kicks, sub_jobs;
	char sub_vm[GISAD_NAME_MAX + 1];
	uint64_t missed;
};

static const uint32_t proto_version = GISA__V1__CONTROL_PROTOCOL__CONTROL_PROTOCOL_VERSION;

/* ---- per-uid counts ----------------------------------------------------- */

static struct uidcount *uid_slot(struct gisad *d, uid_t uid, bool create)
{
	for (size_t i = 0; i < d->nr_uids; i++)
		if (d->uids[i].uid == uid)
			return &d->uids[i];
	if (!create)
		return NULL;
	if (d->nr_uids == d->cap_uids) {
		size_t cap = d->cap_uids ? 2 * d->cap_uids : 8;
		struct uidcount *u = realloc(d->uids, cap * sizeof(*u));

		if (!u)
			return NULL;
		d->uids = u;
		d->cap_uids = cap;
	}
	d->uids[d->nr_uids] = (struct uidcount){ .uid = uid, .n = 0 };
	return &d->uids[d->nr_uids++];
}

static void uid_release(struct gisad *d, uid_t uid)
{
	struct uidcount *u = uid_slot(d, uid, false);

	if (u && --u->n == 0)
		*u = d->uids[--d->nr_uids];
}

/* ---- peer credentials --------------------------------------------------- */

static bool uid_in_group(uid_t uid, gid_t gid)
{
	struct passwd pw, *res = NULL;
	char pwbuf[4096];
	gid_t groups[64], *gs = groups;
	int ng = 64;
	bool member = false;

	if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res) || !res)
		return false;
	if (pw.pw_gid == gid)
		return true;
	if (getgrouplist(pw.pw_name, pw.pw_gid, gs, &ng) < 0) {
		/* ng now holds the number needed. */
		gs = calloc((size_t)ng, sizeof(*gs));
		if (!gs || getgrouplist(pw.pw_name, pw.pw_gid, gs, &ng) < 0) {
			free(gs);
			return false;
		}
	}
	for (int i = 0; i < ng; i++)
		member |= gs[i] == gid;
	if (gs != groups)
		free(gs);
	return member;
}

/*
 * Whether gid was among the supplementary groups of the peer's process
 * when it connected: the kernel's copy (SO_PEERGROUPS), which is what
 * let it open the socket file, asked without a user-database lookup on
 * the loop.  False if the kernel cannot say (before Linux 4.13) or the
 * list is longer than any the kernel keeps (NGROUPS_MAX).
 */
static bool peer_in_group(int fd, gid_t gid)
{
	gid_t groups[64], *gs = groups;
	socklen_t len = sizeof(groups);
	bool member = false;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, gs, &len)) {
		/* ERANGE: len now holds the size needed. */
		if (errno != ERANGE || len > (socklen_t)(NGROUPS_MAX * sizeof(gid_t)) ||
		    !(gs = malloc(len)))
			return false;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, gs, &len))
			len = 0;
	}
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		member |= gs[i] == gid;
	if (gs != groups)
		free(gs);
	return member;
}

static bool peer_allowed(const struct gisad *d, int fd, const struct ucred *cr)
{
	return cr->uid == 0 || cr->gid == d->gid || peer_in_group(fd, d->gid) ||
	       uid_in_group(cr->uid, d->gid);
}

/* ---- sending ------------------------------------------------------------ */

static void pack_error(uint8_t *buf, size_t cap, size_t *len, uint64_t id, int err,
		       const char *msg)
{
	Gisa__V1__Response resp = GISA__V1__RESPONSE__INIT;

	resp.has_version = true;
	resp.version = proto_version;
	resp.has_id = true;
	resp.id = id;
	resp.has_error = true;
	resp.error = err;
	resp.message = (char *)msg;
	*len = gisa__v1__response__get_packed_size(&resp);
	if (*len > cap)
		*len = 0;
	else
		gisa__v1__response__pack(&resp, buf);
}

/* One error datagram to a peer that is then closed (never blocks). */
static void refuse(int fd, int err, const char *msg)
{
	uint8_t buf[1024];
	size_t len;

	pack_error(buf, sizeof(buf), &len, 0, err, msg);
	if (len)
		(void)send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	/*
	 * Closing with the peer's request unread makes its next recv fail
	 * with ECONNRESET before it sees our datagram: discard what it sent.
	 */
	for (int i = 0; i < 16 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC) >= 0; i++)
		;
	close(fd);
}

static void conn_reading(struct conn *c, bool on)
{
	if (c->reading == on)
		return;
	c->reading = on;
	if (on)
		event_add(c->rd, NULL);
	else
		event_del(c->rd);
}

static void conn_kill(struct conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	conn_reading(c, false);
	/* Freed from its own write callback, never under a caller's feet. */
	event_active(c->wr, EV_WRITE, 0);
}

/*
 * A datagram the kernel refused as larger than the send buffer (only if
 * the buffer shrank under us: send_response holds replies to reply_max).
 * A reply becomes an error naming its size; an event is counted lost.
 */
static size_t too_large(struct conn *c, size_t len, uint64_t id, uint8_t *eb, size_t cap)
{
	char msg[192];
	size_t el;

	log_warning("control: uid %u: a reply of %zu bytes exceeds the connection's send buffer",
		    (unsigned)c->cred.uid, len);
	snprintf(msg, sizeof(msg),
		 "reply of %zu bytes exceeds this connection's send buffer (net.core.wmem_max)",
		 len);
	pack_error(eb, cap, &el, id, -E2BIG, msg);
	return el;
}

/*
 * Send a datagram or queue it.  Replies are always queued if they cannot
 * go now; events only while the backlog is short.  id: the request's, for
 * a reply.
 */
static void conn_send(struct conn *c, const uint8_t *buf, size_t len, bool is_event,
		      uint64_t id)
{
	struct outmsg *m;

	if (c->dead)
		return;
	if (!c->oq_head) {
		ssize_t n = send(c->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n >= 0)
			return;   /* SEQPACKET: all or nothing */
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) {
			if (errno == EMSGSIZE && is_event) {
				c->missed++;
				return;
			}
			if (errno == EMSGSIZE && len > 512) {
				uint8_t eb[512];

				conn_send(c, eb, too_large(c, len, id, eb, sizeof(eb)), false, id);
				return;
			}
			if (errno != EPIPE && errno != ECONNRESET)
				log_debug("control: uid %u: send: %s", (unsigned)c->cred.uid,
					  strerror(errno));
			conn_kill(c);
			return;
		}
	}
	if (is_event && c->oq_events >= GISAD_MAX_EVENT_BACKLOG) {
		c->missed++;
		return;
	}
	m = malloc(sizeof(*m) + len);
	if (!m) {
		log_err("control: out of memory queueing %zu bytes for uid %u: closing", len,
			(unsigned)c->cred.uid);
		conn_kill(c);
		return;
	}
	m->next = NULL;
	m->len = len;
	m->id = id;
	m->is_event = is_event;
	memcpy(m->data, buf, len);
	if (c->oq_tail)
		c->oq_tail->next = m;
	else
		c->oq_head = m;
	c->oq_tail = m;
	c->oq_events += is_event;
	conn_reading(c, false);
	event_add(c->wr, NULL);
}

static void send_response(struct conn *c, Gisa__V1__Response *resp)
{
	struct gisad *d = c->d;
	size_t len = gisa__v1__response__get_packed_size(resp);

	if (len > c->reply_max) {
		char msg[224];

		if (c->reply_max == GISAD_MAX_DATAGRAM)
			snprintf(msg, sizeof(msg),
				 "reply of %zu bytes exceeds the %u-byte datagram cap", len,
				 GISAD_MAX_DATAGRAM);
		else
			snprintf(msg, sizeof(msg),
				 "reply of %zu bytes exceeds the %zu bytes this connection's send "
				 "buffer takes (net.core.wmem_max)",
				 len, c->reply_max);
		pack_error(d->txbuf, GISAD_MAX_DATAGRAM, &len, resp->id, -E2BIG, msg);
	} else {
		gisa__v1__response__pack(resp, d->txbuf);
	}
	conn_send(c, d->txbuf, len, false, resp->id);
}

/* ---- connections -------------------------------------------------------- */

static void resume_accept(struct gisad *d)
{
	if (!d->accept_paused)
		return;
	d->accept_paused = false;
	event_del(d->resume_ev);
	event_add(d->listen_ev, NULL);
	log_info("control: accepting connections again");
}

static void conn_free(struct conn *c)
{
	struct gisad *d = c->d;

	event_free(c->rd);
	event_free(c->wr);
	close(c->fd);
	while (c->oq_head) {
		struct outmsg *m = c->oq_head;

		c->oq_head = m->next;
		free(m);
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		d->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	uid_release(d, c->cred.uid);
	d->nr_conns--;
	d->nr_root_conns -= c->cred.uid == 0;
	if (c->sub)
		d->nr_subscribers--;
	log_debug("control: connection of uid %u pid %ld closed", (unsigned)c->cred.uid,
		  (long)c->cred.pid);
	free(c);
	resume_accept(d);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	while (!c->dead && c->oq_head) {
		struct outmsg *m = c->oq_head;
		ssize_t n = send(fd, m->data, m->len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
			return;   /* still full: the persistent write event retries */
		if (n < 0 && errno == EINTR)
			continue;
		/* Too large: an event is lost, a reply becomes an error in place. */
		if (n < 0 && errno == EMSGSIZE && m->is_event) {
			c->missed++;
			n = 0;
		} else if (n < 0 && errno == EMSGSIZE && m->len > 512) {
			m->len = too_large(c, m->len, m->id, m->data, m->len);
			if (m->len)
				continue;
		}
		if (n < 0) {
			c->dead = true;
			break;
		}
		c->oq_head = m->next;
		if (!c->oq_head)
			c->oq_tail = NULL;
		c->oq_events -= m->is_event;
		free(m);
	}
	if (c->dead) {
		conn_free(c);
		return;
	}
	event_del(c->wr);
	conn_reading(c, true);
}

/* Decoding budget: a message may not make the daemon allocate without bound. */
void *budget_alloc(void *ctx, size_t size)
{
	struct budget *b = ctx;
	size_t *p;

	if (size > b->left || size > SIZE_MAX - 16) {
		b->exceeded = true;
		return NULL;
	}
	p = malloc(size + 16);
	if (!p) {
		b->failed = true;
		return NULL;
	}
	b->left -= size;
	p[0] = size;
	return (char *)p + 16;
}

void budget_free(void *ctx, void *ptr)
{
	struct budget *b = ctx;
	size_t *p;

	if (!ptr)
		return;
	p = (size_t *)(void *)((char *)ptr - 16);
	b->left += p[0];
	free(p);
}

static void handle_datagram(struct conn *c, size_t n, int flags, int *fds, int nfds)
{
	struct gisad *d = c->d;
	Gisa__V1__Response resp = GISA__V1__RESPONSE__INIT;
	struct budget budget = {
		.left = GISAD_DECODE_FLOOR + (size_t)GISAD_DECODE_FACTOR * n,
	};
	ProtobufCAllocator alloc = { budget_alloc, budget_free, &budget };
	Gisa__V1__Request *req = NULL;
	struct request r = { .d = d, .conn = c, .resp = &resp, .fd = -1, .nfds = nfds };

	resp.has_version = true;
	resp.version = proto_version;
	r.ctrunc = (flags & MSG_CTRUNC) != 0;
	r.reply_max = c->reply_max;
	if ((flags & MSG_TRUNC) || n > GISAD_MAX_DATAGRAM) {
		snprintf(r.msg, sizeof(r.msg),
			 "datagram of %zu bytes exceeds the %u-byte cap: request discarded", n,
			 GISAD_MAX_DATAGRAM);
		resp.has_error = true;
		resp.error = -EMSGSIZE;
		resp.message = r.msg;
		log_info("control: uid %u: %s", (unsigned)c->cred.uid, r.msg);
		goto out;
	}
	req = gisa__v1__request__unpack(&alloc, n, d->rxbuf);
	if (!req) {
		if (budget.exceeded)
			snprintf(r.msg, sizeof(r.msg),
				 "request of %zu bytes would decode to more than %zu bytes of "
				 "memory: refused",
				 n, GISAD_DECODE_FLOOR + (size_t)GISAD_DECODE_FACTOR * n);
		else if (budget.failed)
			snprintf(r.msg, sizeof(r.msg),
				 "out of memory decoding a request of %zu bytes", n);
		else
			snprintf(r.msg, sizeof(r.msg),
				 "malformed request: %zu bytes do not decode as a gisa.v1.Request "
				 "(truncated or not protobuf)",
				 n);
		resp.has_error = true;
		resp.error = budget.exceeded || budget.failed ? -ENOMEM : -EBADMSG;
		resp.message = r.msg;
		log_info("control: uid %u: %s", (unsigned)c->cred.uid, r.msg);
		goto out;
	}
	if (nfds == 1 && !r.ctrunc) {
		r.fd = fds[0];
		fds[0] = -1;
	}
	r.req = req;
	verb_dispatch(&r);
out:
	for (int i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	send_response(c, &resp);
	if (r.fd >= 0)
		close(r.fd);
	req_free(&r);
	if (req)
		gisa__v1__request__free_unpacked(req, &alloc);
}

/* Every descriptor of every SCM_RIGHTS message, in order. */
static int collect_fds(struct msghdr *mh, int *fds, int max)
{
	int n = 0;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		size_t k;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (n < max)
				fds[n++] = fd;
			else
				close(fd);
		}
	}
	return n;
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct gisad *d = c->d;

	for (int i = 0; i < GISAD_BURST && !c->dead && !c->oq_head; i++) {
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(int) * GISAD_MAX_FDS)];
		} cbuf;
		struct iovec iov = { .iov_base = d->rxbuf, .iov_len = GISAD_MAX_DATAGRAM };
		struct msghdr mh = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = cbuf.buf,
			.msg_controllen = sizeof(cbuf.buf),
		};
		int fds[GISAD_MAX_FDS];
		ssize_t n;
		int nfds;

		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_TRUNC | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR)
				continue;
			if (errno != ECONNRESET)
				log_debug("control: uid %u: recvmsg: %s", (unsigned)c->cred.uid,
					  strerror(errno));
			conn_free(c);
			return;
		}
		nfds = collect_fds(&mh, fds, GISAD_MAX_FDS);
		/* SEQPACKET: a zero-length read is the peer's end of stream. */
		if (n == 0 && nfds == 0 && !(mh.msg_flags & MSG_CTRUNC)) {
			conn_free(c);
			return;
		}
		handle_datagram(c, (size_t)n, mh.msg_flags, fds, nfds);
	}
	/* A dead connection is freed by its write callback, already scheduled. */
}

/*
 * Raise the connection's send buffer for replies up to the datagram cap
 * and return the largest datagram it then takes: AF_UNIX refuses one over
 * the buffer (SO_SNDBUF's value) less UNIX_DGRAM_OVERHEAD bytes.  Without
 * CAP_NET_ADMIN (gisad.service drops it) SO_SNDBUFFORCE fails and
 * net.core.wmem_max bounds the buffer; replies over what it takes are
 * refused as E2BIG, and the log says so once.
 */
#define UNIX_DGRAM_OVERHEAD 32

static size_t reply_limit(struct gisad *d, int fd)
{
	int sz = (int)(2 * GISAD_MAX_DATAGRAM), got = 0;
	socklen_t l = sizeof(got);
	size_t max;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)))
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	/* Unknown: the cap, and a refused send answers E2BIG (too_large). */
	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &got, &l) || got <= UNIX_DGRAM_OVERHEAD)
		return GISAD_MAX_DATAGRAM;
	max = (size_t)got - UNIX_DGRAM_OVERHEAD;
	if (max >= GISAD_MAX_DATAGRAM)
		return GISAD_MAX_DATAGRAM;
	if (!d->sndbuf_warned) {
		log_warning("control: a connection's send buffer is %d bytes "
			    "(net.core.wmem_max, without CAP_NET_ADMIN): replies over %zu "
			    "bytes are refused; net.core.wmem_max = %u lifts the limit",
			    got, max, GISAD_MAX_DATAGRAM);
		d->sndbuf_warned = true;
	}
	return max;
}

static void accept_one(struct gisad *d, int fd)
{
	struct ucred cr;
	socklen_t l = sizeof(cr);
	struct uidcount *uc;
	struct conn *c;
	char msg[256];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) || l != sizeof(cr)) {
		log_warning("control: SO_PEERCRED: %s: connection closed", strerror(errno));
		close(fd);
		return;
	}
	if (!peer_allowed(d, fd, &cr)) {
		snprintf(msg, sizeof(msg),
			 "uid %u is neither root nor a member of group `%s' (gid %u): "
			 "connection refused",
			 (unsigned)cr.uid, d->cfg.group, (unsigned)d->gid);
		log_notice("control: pid %ld: %s", (long)cr.pid, msg);
		refuse(fd, -EACCES, msg);
		return;
	}
	/* Root is not counted: an operator can always get in. */
	if (cr.uid != 0 && d->nr_conns - d->nr_root_conns >= d->cfg.max_conns) {
		snprintf(msg, sizeof(msg),
			 "gisad already holds %u control connections of uids other than root "
			 "(max_connections = %u): connection of uid %u refused",
			 d->nr_conns - d->nr_root_conns, d->cfg.max_conns, (unsigned)cr.uid);
		log_notice("control: pid %ld: %s", (long)cr.pid, msg);
		refuse(fd, -EUSERS, msg);
		return;
	}
	uc = uid_slot(d, cr.uid, true);
	if (!uc) {
		refuse(fd, -ENOMEM, "out of memory");
		return;
	}
	if (uc->n >= d->cfg.max_conn_per_uid) {
		snprintf(msg, sizeof(msg),
			 "uid %u already holds %u control connections "
			 "(max_connections_per_uid = %u): connection refused",
			 (unsigned)cr.uid, uc->n, d->cfg.max_conn_per_uid);
		log_notice("control: pid %ld: %s", (long)cr.pid, msg);
		if (uc->n == 0)
			uid_release(d, cr.uid);
		refuse(fd, -EUSERS, msg);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		if (uc->n == 0)
			*uc = d->uids[--d->nr_uids];
		refuse(fd, -ENOMEM, "out of memory");
		return;
	}
	c->d = d;
	c->fd = fd;
	c->cred = cr;
	c->rd = event_new(d->base, fd, EV_READ | EV_PERSIST, on_read, c);
	c->wr = event_new(d->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
	if (c->rd && c->wr) {
		event_priority_set(c->rd, GISAD_PRIO_REQUEST);
		event_priority_set(c->wr, GISAD_PRIO_REQUEST);
	}
	if (!c->rd || !c->wr) {
		if (c->rd)
			event_free(c->rd);
		if (c->wr)
			event_free(c->wr);
		free(c);
		if (uc->n == 0)
			*uc = d->uids[--d->nr_uids];
		refuse(fd, -ENOMEM, "out of memory");
		return;
	}
	c->reply_max = reply_limit(d, fd);
	uc->n++;
	d->nr_conns++;
	d->nr_root_conns += cr.uid == 0;
	c->next = d->conns;
	if (d->conns)
		d->conns->prev = c;
	d->conns = c;
	conn_reading(c, true);
	log_debug("control: connection of uid %u pid %ld", (unsigned)cr.uid, (long)cr.pid);
}

static void pause_accept(struct gisad *d, int err)
{
	struct timeval tv = { .tv_sec = 1 };

	if (d->accept_paused)
		return;
	static uint64_t last_warning;
	uint64_t now = gisad_now_ns();

	d->accept_paused = true;
	event_del(d->listen_ev);
	event_add(d->resume_ev, &tv);
	/* Once a minute at most: the retry repeats every second. */
	log_msg(!last_warning || now - last_warning > 60000000000ull ? LOG_WARNING : LOG_DEBUG,
		"control: accept: %s: paused until a connection closes (retry in 1 s)",
		strerror(err));
	if (!last_warning || now - last_warning > 60000000000ull)
		last_warning = now;
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct gisad *d = arg;

	for (int i = 0; i < GISAD_BURST; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			accept_one(d, fd);
			continue;
		}
		switch (errno) {
		case EINTR:
		case ECONNABORTED:
			continue;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			pause_accept(d, errno);
			return;
		case EAGAIN:
#if EWOULDBLOCK != EAGAIN
		case EWOULDBLOCK:
#endif
			return;
		default:
			log_warning("control: accept: %s", strerror(errno));
			return;
		}
	}
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct gisad *d = arg;

	d->accept_paused = false;
	event_add(d->listen_ev, NULL);
}

/* ---- the listening socket ----------------------------------------------- */

int ctl_apply_group(struct gisad *d, const char *group, char *msg, size_t msglen)
{
	struct group gr, *res = NULL;
	char buf[8192];
	int r = getgrnam_r(group, &gr, buf, sizeof(buf), &res);

	if (r || !res) {
		snprintf(msg, msglen, "group `%s' does not exist%s%s: create it or set `group' in "
			 "gisad.conf", group, r ? ": " : "", r ? strerror(r) : "");
		return r ? -r : -ENOENT;
	}
	if (d->socket_bound && chown(d->bound_path, (uid_t)-1, gr.gr_gid)) {
		r = -errno;
		snprintf(msg, msglen, "chown of `%s' to group `%s': %s", d->bound_path, group,
			 strerror(-r));
		return r;
	}
	d->gid = gr.gr_gid;
	return 0;
}

/* A socket file left by a crashed gisad is removed; a live one is not. */
static int clear_stale(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0;
		log_err("`%s': %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_err("`%s' exists and is not a socket: not touching it", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (r == 0) {
		log_err("another daemon is listening on `%s'", path);
		return -EADDRINUSE;
	}
	if (unlink(path) && errno != ENOENT) {
		log_err("removing stale socket `%s': %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

static int bind_socket(struct gisad *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = d->cfg.socket_path;
	char dir[GISAD_SOCKET_PATH_MAX];
	mode_t old;
	int fd, r;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	snprintf(dir, sizeof(dir), "%s", path);
	/* The runtime directory: systemd makes it; otherwise one level here. */
	if (mkdir(dirname(dir), 0755) && errno != EEXIST) {
		log_err("creating `%s' for the control socket: %s", dir, strerror(errno));
		return -errno;
	}
	r = clear_stale(path, &sa);
	if (r)
		return r;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		log_err("socket: %s", strerror(errno));
		return -errno;
	}
	/* Never a moment with wider permissions than 0660. */
	old = umask(0117);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r) {
		r = -errno;
		log_err("bind `%s': %s", path, strerror(-r));
		close(fd);
		return r;
	}
	snprintf(d->bound_path, sizeof(d->bound_path), "%s", path);
	d->socket_bound = true;
	if (chmod(path, 0660) || chown(path, (uid_t)-1, d->gid)) {
		r = -errno;
		log_err("setting mode 0660 and group `%s' on `%s': %s", d->cfg.group, path,
			strerror(-r));
		close(fd);
		return r;
	}
	if (listen(fd, SOMAXCONN)) {
		r = -errno;
		log_err("listen `%s': %s", path, strerror(-r));
		close(fd);
		return r;
	}
	return fd;
}

int ctl_listen(struct gisad *d)
{
	int n = sd_listen_fds(1);
	int fd;

	if (n < 0) {
		log_err("sd_listen_fds: %s", strerror(-n));
		return n;
	}
	if (n > 1) {
		log_err("systemd passed %d sockets; gisad takes exactly one", n);
		return -EINVAL;
	}
	if (n == 1) {
		fd = SD_LISTEN_FDS_START;
		if (sd_is_socket_unix(fd, SOCK_SEQPACKET, 1, NULL, 0) <= 0) {
			log_err("the socket systemd passed is not a listening AF_UNIX "
				"SOCK_SEQPACKET socket");
			return -EINVAL;
		}
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC)) {
			log_err("fcntl on the passed socket: %s", strerror(errno));
			return -errno;
		}
		d->socket_activated = true;
		log_info("control: using the socket passed by systemd");
	} else {
		fd = bind_socket(d);
		if (fd < 0)
			return fd;
		log_info("control: listening on %s", d->cfg.socket_path);
	}
	d->listen_fd = fd;
	d->rxbuf = malloc(GISAD_MAX_DATAGRAM);
	d->txbuf = malloc(GISAD_MAX_DATAGRAM);
	d->listen_ev = event_new(d->base, fd, EV_READ | EV_PERSIST, on_accept, d);
	d->resume_ev = evtimer_new(d->base, on_resume, d);
	if (!d->rxbuf || !d->txbuf || !d->listen_ev || !d->resume_ev) {
		log_err("out of memory setting up the control socket");
		return -ENOMEM;
	}
	event_priority_set(d->listen_ev, GISAD_PRIO_REQUEST);
	event_priority_set(d->resume_ev, GISAD_PRIO_REQUEST);
	event_add(d->listen_ev, NULL);
	return 0;
}

void ctl_close_all(struct gisad *d)
{
	/* conn_free(c) unlinks c from c->d->conns; the analyzer cannot see that c->d is d. */
	while (d->conns)
		conn_free(d->conns); /* NOLINT(clang-analyzer-unix.Malloc): see above */
	if (d->listen_ev)
		event_free(d->listen_ev);
	if (d->resume_ev)
		event_free(d->resume_ev);
	d->listen_ev = d->resume_ev = NULL;
	if (d->listen_fd >= 0)
		close(d->listen_fd);
	d->listen_fd = -1;
	if (d->socket_bound && unlink(d->bound_path) && errno != ENOENT)
		log_warning("removing `%s': %s", d->bound_path, strerror(errno));
	d->socket_bound = false;
	free(d->rxbuf);
	free(d->txbuf);
	d->rxbuf = d->txbuf = NULL;
	free(d->uids);
	d->uids = NULL;
	d->nr_uids = d->cap_uids = 0;
}

/* ---- events ------------------------------------------------------------- */

void ctl_subscribe(struct conn *c, bool kicks, bool jobs, const char *vm)
{
	bool on = kicks || jobs;

	if (on != c->sub)
		c->d->nr_subscribers += on ? 1u : (uint32_t)-1;
	c->sub = on;
	c->sub_kicks = kicks;
	c->sub_jobs = jobs;
	snprintf(c->sub_vm, sizeof(c->sub_vm), "%s", vm ? vm : "");
}

/*
 * An event datagram: a migration job's carries its statistics (peer,
 * identity, error, a size per round: a few KiB at most), far below this.
 */
#define EVENT_MAX   (64u << 10)
/* Events up to this size are packed on the stack, larger ones on the heap. */
#define EVENT_STACK 2048u

/*
 * resp packed into stack (EVENT_STACK bytes) or, larger, a malloc'd
 * buffer; NULL when it is over EVENT_MAX or memory is out.
 */
static uint8_t *event_pack(const Gisa__V1__Response *resp, uint8_t *stack, size_t *ret_len)
{
	size_t len = gisa__v1__response__get_packed_size(resp);
	uint8_t *buf = stack;

	if (len > EVENT_MAX) {
		log_warning("control: an event of %zu bytes is over the %u-byte cap: dropped", len,
			    EVENT_MAX);
		return NULL;
	}
	if (len > EVENT_STACK)
		buf = malloc(len);
	if (!buf)
		return NULL;
	gisa__v1__response__pack(resp, buf);
	*ret_len = len;
	return buf;
}

void ctl_publish(struct gisad *d, const char *vm, bool is_job, Gisa__V1__ControlEvent *ev)
{
	Gisa__V1__Response resp = GISA__V1__RESPONSE__INIT;
	uint8_t stack[EVENT_STACK], *buf = NULL;
	bool packed = false;
	size_t len = 0;

	resp.has_version = true;
	resp.version = proto_version;
	resp.has_id = true;
	resp.id = 0;
	resp.result_case = GISA__V1__RESPONSE__RESULT_EVENT;
	resp.event = ev;
	for (struct conn *c = d->conns; c; c = c->next) {
		if (!c->sub || c->dead || !(is_job ? c->sub_jobs : c->sub_kicks))
			continue;
		if (c->sub_vm[0] && (!vm || strcmp(vm, c->sub_vm) != 0))
			continue;
		if (c->missed) {
			/* This one lost events: tell it with a copy of its own. */
			uint8_t ostack[EVENT_STACK], *own;
			size_t olen = 0;
			uint64_t was;
			bool cleared;

			ev->has_missed = true;
			ev->missed = c->missed;
			own = event_pack(&resp, ostack, &olen);
			ev->has_missed = false;
			ev->missed = 0;
			/* A drop is counted like any other: told with the next one. */
			if (!own) {
				c->missed++;
				continue;
			}
			/* Cleared only if this one is not dropped too (backlog, size). */
			was = c->missed;
			cleared = c->oq_events < GISAD_MAX_EVENT_BACKLOG;
			if (cleared)
				c->missed = 0;
			conn_send(c, own, olen, true, 0);
			if (cleared && c->missed)
				c->missed += was;
			if (own != ostack)
				free(own);
			continue;
		}
		if (!packed) {
			buf = event_pack(&resp, stack, &len);
			packed = true;
		}
		if (!buf) {
			c->missed++;
			continue;
		}
		conn_send(c, buf, len, true, 0);
	}
	if (buf != stack)
		free(buf);
}
