/* SPDX-License-Identifier: MIT */
/*
 * mig-client: a minimal migration source for the integration tests of
 * gisad's migration listener.  It dials, runs the TLS handshake with
 * lib/net/tls.c, sends a MigHello in a frame of lib/net/frame.c, and
 * prints what it got as `key=value' lines:
 *
 *   handshake=ok | handshake=failed
 *   result=hello | result=error | result=refused | result=closed | result=io
 *   version=, hello.min=, hello.max=, hello.role=, hello.caps=,
 *   hello.profiles=0,1, hello.max_vms=, hello.max_frame=, hello.daemon=
 *   error.code=, error.message=             (a MigError)
 *   tls.kind=, tls.alert=, tls.msg=          (a TLS failure)
 *   close=notify | close=error               (after the answer)
 *
 * Misbehaviour on purpose: --no-cert (an empty client certificate),
 * --plain TEXT (no TLS at all), --silent (send nothing, wait for the
 * close), --hello-min/--hello-max (a version range), --garbage (bytes
 * that are no frame), --delay MS (hold the connection after the
 * handshake).  --begin NAME goes one step further: after the hello it
 * sends a MigBegin for a VM NAME (a random migration id and UUID, the
 * destination's first profile, no caps), prints the answer (result=ready
 * for MigReady), and then a MigMessage of the protocol version after the
 * agreed one (the newest in the hello; --ping[=N]: a MigPing for round 0,
 * or N, in the agreed version instead) and prints that answer; --hold MS waits
 * that long before the second message, holding the staging reservation;
 * --estimate BYTES announces round 0's size in it.
 *
 * --round0 FILE: after MigReady, round 0 instead (MigBegin names the
 * file's profile, caps and UUID and announces its size): a MigRound of the
 * snapshot file FILE with its state digest and chain, the file in CHUNK
 * frames, and the answer printed (result=ack, ack.round=, ack.live=);
 * --object-bytes N announces N bytes for it instead of the file's size.
 *
 * --query HEX: a hello of purpose QUERY, then a MigQuery for the migration
 * id HEX (32 hex digits), and the answer printed (result=outcome,
 * outcome.kind= the MigOutcomeKind number).
 *
 * --stray-chunk: after the hello, the header of a 16 MiB CHUNK frame (no
 * stream announced) and 16 bytes of it, then the answer printed with the
 * milliseconds it took (answer_after_ms=).
 * Then --then ACTION, each answer printed:
 *   ping         MigPing {round 0, probe}        (result=pong, pong.round=,
 *                                                  pong.durable=0|1)
 *   ping-ping    a MigPing, and a second one before the MigPong
 *   ping-round   a MigPing, and a MigRound before the MigPong
 *   pong-ping    a MigPing, its MigPong, and a second MigPing
 *   deltas=N     N precopy rounds of the empty delta, one by one
 *                                                 (deltas.acked=)
 *
 * `mig-client --fingerprint CERT' prints sha256:HEX.
 *
 * Exit status: 0 when it ran (whatever the answer), 2 on usage or
 * set-up errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <gisa/delta.h>
#include <gisa/frame.h>
#include <gisa/snapshot.h>
#include <gisa/tls.h>

#include "migration.pb-c.h"

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mig-client: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int fingerprint(const char *path)
{
	unsigned char md[32];
	unsigned int n = 0;
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	if (!x || X509_digest(x, EVP_sha256(), md, &n) != 1 || n != 32)
		die("%s: cannot read a certificate", path);
	printf("sha256:");
	for (unsigned int i = 0; i < n; i++)
		printf("%02x", md[i]);
	printf("\n");
	X509_free(x);
	return 0;
}

static int dial(const char *host, int port, int timeout_s)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = timeout_s };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		die("socket or address `%s' unusable", host);
	/* Never hang a test: every read and write gives up after timeout_s. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("connect %s:%d: %s", host, port, strerror(errno));
	return fd;
}

/* No TLS: write text, then read until the daemon closes. */
static int run_plain(int fd, const char *text)
{
	uint64_t t0 = now_ms();
	char buf[4096];
	size_t got = 0;
	ssize_t n;

	if (text[0] && write(fd, text, strlen(text)) < 0)
		printf("write.error=%s\n", strerror(errno));
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		got += (size_t)n;
	printf("result=%s\n", n == 0 ? "closed" : "io");
	if (n < 0)
		printf("io.error=%s\n", strerror(errno));
	printf("bytes=%zu\nclosed_after_ms=%llu\n", got, (unsigned long long)(now_ms() - t0));
	return 0;
}

static void print_tls(const char *what, const struct gisa_tls_error *err)
{
	printf("result=%s\ntls.kind=%s\ntls.alert=%d\ntls.msg=%s\n", what,
	       gisa_tls_errkind_name(err->kind), err->alert, err->msg);
}

static int read_one(SSL *ssl, uint32_t *profile);
static void read_answer(SSL *ssl);

/* The body of the last message read_one printed (0: none). */
static int last_body;
/* --ping=N: the round the early MigPing names. */
static uint32_t ping_round;
/* --object-bytes N: round 0's announced size (0: the file's). */
static uint64_t object_bytes;

/* Append a message's frame to fb. */
static void put_msg(struct gisa_fbuf *fb, Gisa__V1__MigMessage *msg)
{
	uint8_t payload[1024];
	size_t len = gisa__v1__mig_message__get_packed_size(msg);

	if (len > sizeof(payload))
		die("message too large");
	gisa__v1__mig_message__pack(msg, payload);
	if (gisa_fbuf_put(fb, GISA_FRAME_MSG, payload, len))
		die("framing a message");
}

/* Write fb whole, then empty it; nonzero (printed) when the peer refused. */
static int send_fbuf(SSL *ssl, struct gisa_fbuf *fb)
{
	struct gisa_tls_error err;
	size_t off = 0, n;
	int r = 0;

	while (off < fb->len && r == 0) {
		r = gisa_tls_write(ssl, fb->data + off, fb->len - off, &n, &err);
		off += r == 0 ? n : 0;
	}
	if (r)
		print_tls("refused", &err);
	gisa_fbuf_release(fb);
	return r;
}

/*
 * A message, then (obj_len > 0) the object it announces (on the MigRound's
 * stream, else stream 1), or (then) a second message: in one write, so
 * that the daemon reads them together.
 */
static int send_msgs(SSL *ssl, Gisa__V1__MigMessage *msg, const uint8_t *obj, size_t obj_len,
		     Gisa__V1__MigMessage *then)
{
	struct gisa_fbuf fb = { 0 };
	struct gisa_chunker *c = NULL;
	int r;

	put_msg(&fb, msg);
	if (obj_len) {
		uint32_t stream = msg->body_case == GISA__V1__MIG_MESSAGE__BODY_ROUND ?
					  msg->round->stream : 1;

		if (gisa_chunker_new(stream, obj, obj_len, 0, &c))
			die("chunker");
		while ((r = gisa_fbuf_put_next(&fb, c)) == 1)
			;
		if (r < 0)
			die("framing the object");
		gisa_chunker_free(c);
	}
	if (then)
		put_msg(&fb, then);
	return send_fbuf(ssl, &fb);
}

static int send_msg(SSL *ssl, Gisa__V1__MigMessage *msg)
{
	return send_msgs(ssl, msg, NULL, 0, NULL);
}

static int send_hello(SSL *ssl, uint32_t min, uint32_t max, const char *dialled,
		      Gisa__V1__MigPurpose purpose)
{
	Gisa__V1__MigMessage msg = GISA__V1__MIG_MESSAGE__INIT;
	Gisa__V1__MigHello h = GISA__V1__MIG_HELLO__INIT;
	Gisa__V1__MigPeer p = GISA__V1__MIG_PEER__INIT;

	p.daemon = (char *)"mig-client";
	p.hostname = (char *)"test";
	p.dialled = (char *)dialled;
	h.has_min_version = h.has_max_version = true;
	h.min_version = min;
	h.max_version = max;
	h.has_role = true;
	h.role = GISA__V1__MIG_ROLE__MIG_ROLE_SOURCE;
	h.has_purpose = true;
	h.purpose = purpose;
	h.peer = &p;
	msg.has_version = true;
	msg.version = max;
	msg.body_case = GISA__V1__MIG_MESSAGE__BODY_HELLO;
	msg.hello = &h;
	return send_msg(ssl, &msg);
}

/* A whole file (malloc'd), 1 byte to 64 MiB. */
static uint8_t *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f)
		die("%s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) <= 0 || n > (64L << 20) ||
	    fseek(f, 0, SEEK_SET))
		die("%s: not a file of 1 byte to 64 MiB", path);
	buf = malloc((size_t)n);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
		die("%s: cannot read it", path);
	fclose(f);
	*ret_len = (size_t)n;
	return buf;
}

/*
 * --then deltas=N: after round 0, N precopy rounds of the empty delta
 * (the state does not change), each acknowledged before the next; then
 * deltas.acked= the rounds acknowledged.
 */
static void run_deltas(SSL *ssl, Gisa__V1__MigMessage *msg, Gisa__V1__MigRound *rd,
		       uint8_t chain[32], const uint8_t *snap, size_t len, const uint8_t digest[32],
		       unsigned long n)
{
	struct gisa_snap_error serr;
	struct gisa_image *img;
	uint8_t *delta;
	size_t dlen;
	unsigned long k;

	if (gisa_snap_decode(snap, len, &img, NULL, &serr))
		die("decoding round 0: %s", serr.msg);
	if (gisa_delta_make(img, img, &delta, &dlen))
		die("the empty delta");
	gisa_image_free(img);
	rd->kind = GISA__V1__MIG_OBJECT_KIND__MIG_OBJECT_DELTA;
	rd->has_raw_bytes = true;
	rd->object_bytes = rd->raw_bytes = dlen;
	for (k = 1; k <= n; k++) {
		rd->round = (uint32_t)k;
		rd->stream = (uint32_t)k + 1;
		if (gisa_frame_chain_next(chain, rd->round, digest, chain))
			die("the digest chain");
		if (send_msgs(ssl, msg, delta, dlen, NULL) || read_one(ssl, NULL) ||
		    last_body != GISA__V1__MIG_MESSAGE__BODY_ROUND_ACK)
			break;
	}
	printf("deltas.acked=%lu\n", k - 1);
	free(delta);
}

/*
 * --round0: round 0 (the snapshot file snap, its state digest), its
 * acknowledgement, then the --then action (see the top of this file).
 */
static void run_round0(SSL *ssl, const uint8_t id[16], uint32_t version, const uint8_t *snap,
		       size_t len, const uint8_t digest[32], const char *then)
{
	Gisa__V1__MigMessage msg = GISA__V1__MIG_MESSAGE__INIT;
	Gisa__V1__MigRound rd = GISA__V1__MIG_ROUND__INIT;
	Gisa__V1__MigPing p = GISA__V1__MIG_PING__INIT;
	Gisa__V1__MigAbort a = GISA__V1__MIG_ABORT__INIT;
	uint8_t chain[32];

	if (gisa_frame_chain_init(id, chain) || gisa_frame_chain_next(chain, 0, digest, chain))
		die("the digest chain");
	rd.has_round = rd.has_kind = rd.has_stream = rd.has_object_bytes = true;
	rd.round = 0;
	rd.kind = GISA__V1__MIG_OBJECT_KIND__MIG_OBJECT_FULL;
	rd.stream = 1;
	rd.object_bytes = object_bytes ? object_bytes : len;
	rd.has_state_digest = rd.has_chain = true;
	rd.state_digest.data = (uint8_t *)digest;
	rd.state_digest.len = 32;
	rd.chain.data = chain;
	rd.chain.len = sizeof(chain);
	msg.has_version = true;
	msg.version = version;
	msg.has_migration_id = true;
	msg.migration_id.data = (uint8_t *)id;
	msg.migration_id.len = 16;
	msg.body_case = GISA__V1__MIG_MESSAGE__BODY_ROUND;
	msg.round = &rd;
	if (send_msgs(ssl, &msg, snap, len, NULL) || read_one(ssl, NULL) ||
	    last_body != GISA__V1__MIG_MESSAGE__BODY_ROUND_ACK || !then)
		return;
	fflush(stdout);
	if (!strncmp(then, "deltas=", 7)) {
		run_deltas(ssl, &msg, &rd, chain, snap, len, digest, strtoul(then + 7, NULL, 10));
		return;
	}
	p.has_round = p.has_probe = true;
	p.round = 0;
	p.probe = true;
	msg.body_case = GISA__V1__MIG_MESSAGE__BODY_PING;
	msg.ping = &p;
	if (!strcmp(then, "ping-ping") || !strcmp(then, "ping-round")) {
		/* Before the MigPong: written with the ping, read with it. */
		Gisa__V1__MigMessage second = msg;

		if (!strcmp(then, "ping-round")) {
			rd.round = 1;
			rd.kind = GISA__V1__MIG_OBJECT_KIND__MIG_OBJECT_DELTA;
			rd.stream = 2;
			rd.object_bytes = 1;
			second.body_case = GISA__V1__MIG_MESSAGE__BODY_ROUND;
			second.round = &rd;
		}
		if (send_msgs(ssl, &msg, NULL, 0, &second) == 0)
			read_answer(ssl);
		return;
	}
	if (send_msg(ssl, &msg))
		return;
	if (read_one(ssl, NULL) || last_body != GISA__V1__MIG_MESSAGE__BODY_PONG)
		return;
	fflush(stdout);
	if (!strcmp(then, "pong-ping")) {
		if (send_msg(ssl, &msg) == 0)
			read_answer(ssl);
		return;
	}
	/* ping: done; the destination discards on the abort. */
	a.has_error = true;
	a.error = -ECANCELED;
	a.message = (char *)"mig-client is done";
	msg.body_case = GISA__V1__MIG_MESSAGE__BODY_ABORT;
	msg.abort = &a;
	(void)send_msg(ssl, &msg);
}

/*
 * --begin: MigBegin in version (the agreed one), its answer, then a
 * message of another version, or (ping) a MigPing before any round, or
 * (round0) round 0 of that snapshot file.
 */
static void run_begin(SSL *ssl, const char *name, uint32_t profile, int hold_ms,
		      const char *estimate, uint32_t version, bool ping, const char *round0,
		      const char *then)
{
	Gisa__V1__MigMessage msg = GISA__V1__MIG_MESSAGE__INIT;
	Gisa__V1__MigBegin b = GISA__V1__MIG_BEGIN__INIT;
	Gisa__V1__MigAbort a = GISA__V1__MIG_ABORT__INIT;
	Gisa__V1__MigPing p = GISA__V1__MIG_PING__INIT;
	struct gisa_snap_info info = { 0 };
	struct gisa_snap_error serr;
	uint8_t id[16], uuid[16], *snap = NULL;
	size_t snap_len = 0;

	if (RAND_bytes(id, sizeof(id)) != 1 || RAND_bytes(uuid, sizeof(uuid)) != 1)
		die("RAND_bytes");
	b.vm_name = (char *)name;
	b.has_vm_uuid = true;
	b.vm_uuid.data = uuid;
	b.vm_uuid.len = sizeof(uuid);
	b.has_target_profile = b.has_target_caps = true;
	b.target_profile = profile;
	b.target_caps = 0;
	if (estimate) {
		b.has_estimated_bytes = true;
		b.estimated_bytes = strtoull(estimate, NULL, 10);
	}
	if (round0) {
		snap = slurp(round0, &snap_len);
		if (gisa_snap_info(snap, snap_len, &info, &serr))
			die("%s: %s", round0, serr.msg);
		b.target_profile = (uint32_t)info.profile;
		b.target_caps = info.caps;
		if (info.has_uuid)
			memcpy(uuid, info.vm_uuid, sizeof(uuid));
		b.has_estimated_bytes = true;
		b.estimated_bytes = snap_len;
	}
	msg.has_version = true;
	msg.version = version;
	msg.has_migration_id = true;
	msg.migration_id.data = id;
	msg.migration_id.len = sizeof(id);
	msg.body_case = GISA__V1__MIG_MESSAGE__BODY_BEGIN;
	msg.begin = &b;
	if (send_msg(ssl, &msg) || read_one(ssl, NULL)) {
		free(snap);
		return;
	}
	fflush(stdout);
	if (hold_ms > 0)
		usleep((useconds_t)hold_ms * 1000u);
	if (snap) {
		if (last_body == GISA__V1__MIG_MESSAGE__BODY_READY)
			run_round0(ssl, id, version, snap, snap_len, info.digest, then);
		free(snap);
		return;
	}
	if (ping) {
		p.has_round = p.has_probe = true;
		p.round = ping_round;
		p.probe = true;
		msg.body_case = GISA__V1__MIG_MESSAGE__BODY_PING;
		msg.ping = &p;
	} else {
		/* Any body will do: the version is refused before it is looked at. */
		msg.version = version + 1;
		msg.body_case = GISA__V1__MIG_MESSAGE__BODY_ABORT;
		msg.abort = &a;
	}
	if (send_msg(ssl, &msg) == 0)
		read_answer(ssl);
}

static int send_raw(SSL *ssl, const void *data, size_t len)
{
	struct gisa_tls_error err;
	size_t n;
	int r = gisa_tls_write(ssl, data, len, &n, &err);

	if (r)
		print_tls("refused", &err);
	return r;
}

/* A CHUNK frame's header announcing 16 MiB, and 16 bytes of it: no more. */
static void send_stray(SSL *ssl)
{
	uint8_t b[GISA_FRAME_HEADER_SIZE + 16] = { 0 };
	uint64_t t0 = now_ms();

	gisa_frame_header_write(b, GISA_FRAME_CHUNK, 16u << 20);
	if (send_raw(ssl, b, sizeof(b)))
		return;
	read_answer(ssl);
	printf("answer_after_ms=%llu\n", (unsigned long long)(now_ms() - t0));
}

static void print_message(const Gisa__V1__MigMessage *m)
{
	printf("version=%u\n", m->version);
	if (m->body_case == GISA__V1__MIG_MESSAGE__BODY_HELLO) {
		const Gisa__V1__MigHello *h = m->hello;

		printf("result=hello\nhello.min=%u\nhello.max=%u\nhello.role=%d\n", h->min_version,
		       h->max_version, (int)h->role);
		if (h->host_caps) {
			printf("hello.caps=%u\nhello.profiles=", h->host_caps->caps);
			for (size_t i = 0; i < h->host_caps->n_profiles; i++)
				printf("%s%u", i ? "," : "", h->host_caps->profiles[i]);
			printf("\n");
		}
		printf("hello.max_vms=%u\n", h->max_vms);
		if (h->limits)
			printf("hello.max_frame=%u\nhello.max_msg=%u\nhello.max_object=%llu\n",
			       h->limits->max_frame, h->limits->max_msg,
			       (unsigned long long)h->limits->max_object);
		if (h->peer)
			printf("hello.daemon=%s\nhello.instance_len=%zu\n",
			       h->peer->daemon ? h->peer->daemon : "",
			       h->peer->has_instance ? h->peer->instance.len : 0);
	} else if (m->body_case == GISA__V1__MIG_MESSAGE__BODY_ERROR) {
		printf("result=error\nerror.code=%d\nerror.message=%s\n", m->error->error,
		       m->error->message ? m->error->message : "");
	} else if (m->body_case == GISA__V1__MIG_MESSAGE__BODY_READY) {
		printf("result=ready\nready.vm_name=%s\n", m->ready->vm_name ? m->ready->vm_name : "");
	} else if (m->body_case == GISA__V1__MIG_MESSAGE__BODY_ROUND_ACK) {
		printf("result=ack\nack.round=%u\nack.live=%d\n", m->round_ack->round,
		       m->round_ack->has_live && m->round_ack->live);
	} else if (m->body_case == GISA__V1__MIG_MESSAGE__BODY_OUTCOME) {
		printf("result=outcome\noutcome.kind=%d\n", (int)m->outcome->outcome);
	} else if (m->body_case == GISA__V1__MIG_MESSAGE__BODY_PONG) {
		printf("result=pong\npong.round=%u\npong.durable=%d\n", m->pong->round,
		       m->pong->has_durable_ns && m->pong->durable_ns > 0);
	} else {
		printf("result=other\nbody=%d\n", (int)m->body_case);
	}
}

/*
 * Read one message and print it; 0, or -1 when the connection ended or
 * sent something else (printed).  *profile: the first profile of a hello.
 * One frame per TLS read is assumed: the daemon answers one at a time.
 */
static int read_one(SSL *ssl, uint32_t *profile)
{
	struct gisa_frame_decoder *dec = NULL;
	struct gisa_tls_error err;
	struct gisa_frame f;
	uint8_t buf[16384];
	size_t n = 0, used;
	int r, got = 0, ret = -1;

	if (gisa_frame_decoder_new(NULL, &dec))
		die("decoder");
	while (!got) {
		struct gisa_frame_error ferr;
		size_t off = 0;

		r = gisa_tls_read(ssl, buf, sizeof(buf), &n, &err);
		if (r) {
			print_tls("refused", &err);
			goto out;
		}
		if (n == 0) {
			printf("result=closed\n");
			goto out;
		}
		while (off < n && !got) {
			r = gisa_frame_decode(dec, buf + off, n - off, &used, &f, &ferr);
			if (r < 0) {
				printf("result=badframe\nframe.error=%s\n", ferr.msg);
				goto out;
			}
			off += used;
			if (r == 1) {
				Gisa__V1__MigMessage *m;

				got = 1;
				m = NULL;
				if (f.type == GISA_FRAME_MSG)
					m = gisa__v1__mig_message__unpack(NULL, f.len, f.payload);
				if (!m) {
					printf("result=badmessage\n");
					goto out;
				}
				print_message(m);
				last_body = (int)m->body_case;
				if (profile && m->body_case == GISA__V1__MIG_MESSAGE__BODY_HELLO &&
				    m->hello->host_caps && m->hello->host_caps->n_profiles)
					*profile = m->hello->host_caps->profiles[0];
				ret = 0;
				gisa__v1__mig_message__free_unpacked(m, NULL);
			}
		}
	}
out:
	gisa_frame_decoder_free(dec);
	return ret;
}

/* --query: the hello's answer, then a MigQuery for id and its answer. */
static void run_query(SSL *ssl, const char *hex, uint32_t version)
{
	Gisa__V1__MigMessage msg = GISA__V1__MIG_MESSAGE__INIT;
	Gisa__V1__MigQuery q = GISA__V1__MIG_QUERY__INIT;
	uint8_t id[16];

	for (unsigned i = 0; i < 16; i++)
		if (sscanf(hex + 2 * i, "%2hhx", &id[i]) != 1)
			die("--query %s: not 32 hex digits", hex);
	if (read_one(ssl, NULL))
		return;
	msg.has_version = msg.has_migration_id = true;
	msg.version = version;
	msg.migration_id.data = id;
	msg.migration_id.len = sizeof(id);
	msg.body_case = GISA__V1__MIG_MESSAGE__BODY_QUERY;
	msg.query = &q;
	if (send_msg(ssl, &msg) == 0)
		read_answer(ssl);
}

/* Read one message and print it, then wait for the close and say how. */
static void read_answer(SSL *ssl)
{
	struct gisa_tls_error err;
	uint8_t buf[16384];
	size_t n = 0;
	int r;

	if (read_one(ssl, NULL))
		return;
	/* Then the daemon ends the connection: with close_notify, we hope. */
	do
		r = gisa_tls_read(ssl, buf, sizeof(buf), &n, &err);
	while (r == 0 && n > 0);
	printf("close=%s\n", r == 0 ? "notify" : "error");
	if (r)
		printf("close.kind=%s\n", gisa_tls_errkind_name(err.kind));
}

int main(int argc, char **argv)
{
	enum { O_CA = 256, O_CERT, O_KEY, O_ALLOW, O_NOCERT, O_PLAIN, O_SILENT, O_MIN, O_MAX,
	       O_GARBAGE, O_DELAY, O_FP, O_DIALLED, O_TIMEOUT, O_BEGIN, O_HOLD,
	       O_ESTIMATE, O_PING, O_OBJECT_BYTES, O_STRAY, O_ROUND0, O_THEN, O_QUERY };
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "host", required_argument, NULL, 'H' },
		{ "dialled", required_argument, NULL, O_DIALLED },
		{ "ca", required_argument, NULL, O_CA },
		{ "cert", required_argument, NULL, O_CERT },
		{ "key", required_argument, NULL, O_KEY },
		{ "allow", required_argument, NULL, O_ALLOW },
		{ "no-cert", no_argument, NULL, O_NOCERT },
		{ "plain", required_argument, NULL, O_PLAIN },
		{ "silent", no_argument, NULL, O_SILENT },
		{ "hello-min", required_argument, NULL, O_MIN },
		{ "hello-max", required_argument, NULL, O_MAX },
		{ "garbage", no_argument, NULL, O_GARBAGE },
		{ "begin", required_argument, NULL, O_BEGIN },
		{ "hold", required_argument, NULL, O_HOLD },
		{ "estimate", required_argument, NULL, O_ESTIMATE },
		{ "ping", optional_argument, NULL, O_PING },
		{ "object-bytes", required_argument, NULL, O_OBJECT_BYTES },
		{ "stray-chunk", no_argument, NULL, O_STRAY },
		{ "query", required_argument, NULL, O_QUERY },
		{ "round0", required_argument, NULL, O_ROUND0 },
		{ "then", required_argument, NULL, O_THEN },
		{ "delay", required_argument, NULL, O_DELAY },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "fingerprint", required_argument, NULL, O_FP },
		{ NULL, 0, NULL, 0 },
	};
	const char *host = "127.0.0.1", *dialled = NULL, *ca = NULL, *cert = NULL, *key = NULL;
	const char *allow = "host-a", *plain = NULL, *begin = NULL, *estimate = NULL;
	const char *round0 = NULL, *then = NULL, *query = NULL;
	bool no_cert = false, silent = false, garbage = false, ping = false, stray = false;
	uint32_t vmin = 1, vmax = 1;
	int port = -1, delay_ms = 0, hold_ms = 0, timeout_s = 20, opt, fd, r;
	struct gisa_tls_ctx *ctx = NULL;
	struct gisa_tls_error err;
	SSL *ssl = NULL;

	while ((opt = getopt_long(argc, argv, "p:H:", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			port = atoi(optarg);
			break;
		case 'H':
			host = optarg;
			break;
		case O_DIALLED:
			dialled = optarg;
			break;
		case O_CA:
			ca = optarg;
			break;
		case O_CERT:
			cert = optarg;
			break;
		case O_KEY:
			key = optarg;
			break;
		case O_ALLOW:
			allow = optarg;
			break;
		case O_NOCERT:
			no_cert = true;
			break;
		case O_PLAIN:
			plain = optarg;
			break;
		case O_SILENT:
			silent = true;
			break;
		case O_MIN:
			vmin = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case O_MAX:
			vmax = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case O_GARBAGE:
			garbage = true;
			break;
		case O_BEGIN:
			begin = optarg;
			break;
		case O_HOLD:
			hold_ms = atoi(optarg);
			break;
		case O_ESTIMATE:
			estimate = optarg;
			break;
		case O_PING:
			ping = true;
			ping_round = optarg ? (uint32_t)strtoul(optarg, NULL, 10) : 0;
			break;
		case O_OBJECT_BYTES:
			object_bytes = strtoull(optarg, NULL, 10);
			break;
		case O_STRAY:
			stray = true;
			break;
		case O_QUERY:
			query = optarg;
			if (strlen(query) != 32 || strspn(query, "0123456789abcdefABCDEF") != 32)
				die("--query %s: not 32 hex digits", query);
			break;
		case O_ROUND0:
			round0 = optarg;
			break;
		case O_THEN:
			then = optarg;
			if (strcmp(then, "ping") && strcmp(then, "ping-ping") &&
			    strcmp(then, "ping-round") && strcmp(then, "pong-ping") &&
			    (strncmp(then, "deltas=", 7) || strspn(then + 7, "0123456789") !=
			     strlen(then + 7) || !then[7] || strlen(then + 7) > 6))
				die("--then %s: ping, ping-ping, ping-round, pong-ping or deltas=N",
				    then);
			break;
		case O_DELAY:
			delay_ms = atoi(optarg);
			break;
		case O_TIMEOUT:
			timeout_s = atoi(optarg);
			break;
		case O_FP:
			return fingerprint(optarg);
		default:
			die("unknown option");
		}
	}
	if (port < 0)
		die("usage: mig-client -p PORT [--ca F --cert F --key F] [options]");
	signal(SIGPIPE, SIG_IGN);
	fd = dial(host, port, timeout_s);
	if (plain)
		return run_plain(fd, plain);
	if (!ca || !cert || !key)
		die("--ca, --cert and --key are required for TLS");

	{
		const char *entries[] = { allow };
		struct gisa_tls_config tc = {
			.cert_file = cert, .key_file = key, .ca_file = ca,
			.allow = entries, .n_allow = 1,
		};

		if (gisa_tls_ctx_new(GISA_TLS_CLIENT, &tc, &ctx, &err))
			die("client context: %s", err.msg);
	}
	if (gisa_tls_ssl_new(ctx, fd, dialled ? dialled : host, &ssl, &err))
		die("SSL: %s", err.msg);
	/* An empty Certificate message: the server must refuse it. */
	if (no_cert)
		SSL_certs_clear(ssl);
	r = gisa_tls_handshake(ssl, &err);
	if (r) {
		printf("handshake=failed\n");
		print_tls("refused", &err);
		goto out;
	}
	printf("handshake=ok\n");
	fflush(stdout);
	if (delay_ms > 0)
		usleep((useconds_t)delay_ms * 1000u);
	if (silent) {
		uint64_t t0 = now_ms();

		read_answer(ssl);
		printf("closed_after_ms=%llu\n", (unsigned long long)(now_ms() - t0));
		goto out;
	}
	if (garbage)
		r = send_raw(ssl, "GET / HTTP/1.0\r\n\r\n", 18);
	else
		r = send_hello(ssl, vmin, vmax, dialled ? dialled : host,
			       query ? GISA__V1__MIG_PURPOSE__MIG_PURPOSE_QUERY
				     : GISA__V1__MIG_PURPOSE__MIG_PURPOSE_MIGRATE);
	if (r == 0 && query) {
		run_query(ssl, query, vmax);
	} else if (r == 0 && begin) {
		uint32_t profile = 0;

		if (read_one(ssl, &profile) == 0)
			run_begin(ssl, begin, profile, hold_ms, estimate, vmax, ping, round0,
				  then);
	} else if (r == 0 && stray) {
		if (read_one(ssl, NULL) == 0)
			send_stray(ssl);
	} else if (r == 0) {
		read_answer(ssl);
	}
out:
	fflush(stdout);
	SSL_free(ssl);
	gisa_tls_ctx_free(ctx);
	close(fd);
	return 0;
}
