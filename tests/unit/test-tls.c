/* SPDX-License-Identifier: MIT */
/*
 * lib/net/tls.c: contexts, handshakes over socketpairs and the identity
 * checks (docs/TLS.md).  The certificates are made at run time in a
 * temporary directory (tests/support-tls/certgen.h).
 *
 * Each refusal is checked on both sides: the refusing side names the
 * reason; the other side sees the alert (with TLS 1.3 a client whose
 * certificate the server refuses completes its own handshake and learns
 * it at its first read).  "Nothing else happens": no application byte
 * crosses, and neither side reports a verified peer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include <gisa/tls.h>

#include "../support-tls/certgen.h"

static char dir[256];

static const char *path(const char *name, const char *ext)
{
	static char buf[4][512];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s.%s", dir, name, ext);
	return p;
}

/* "sha256:" + lowercase hex of the DER of a certificate file. */
static void file_fingerprint(const char *name, char out[GISA_TLS_FINGERPRINT_LEN + 1])
{
	unsigned char md[32];
	unsigned int n = 0;
	FILE *f = fopen(path(name, "crt"), "r");
	X509 *x;

	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	assert_int_equal(X509_digest(x, EVP_sha256(), md, &n), 1);
	assert_int_equal(n, 32);
	X509_free(x);
	strcpy(out, "sha256:");
	for (unsigned int i = 0; i < n; i++)
		sprintf(out + 7 + 2 * i, "%02x", md[i]);
}

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");

	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "%s/gisa-tls-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	return tcert_make_set(dir);
}

static int teardown(void **state)
{
	static const char *const ext[] = {"crt", "key"};

	for (size_t i = 0; i < TCERT_N; i++)
		for (size_t e = 0; e < 2; e++)
			unlink(path(tcert_set[i].name, ext[e]));
	unlink(path("big", "crt"));
	unlink(path("empty", "crt"));
	return rmdir(dir);
}

/* ---- building contexts ---------------------------------------------------- */

struct side {
	const char *cert;     /* certificate set name */
	const char *ca;	      /* "ca" unless given */
	const char *allow[4]; /* NULL-terminated */
	time_t verify_time;
};

static int make_ctx(enum gisa_tls_role role, const struct side *s, struct gisa_tls_ctx **ret,
		    struct gisa_tls_error *err)
{
	struct gisa_tls_config cfg = {
		.cert_file = path(s->cert, "crt"),
		.key_file = path(s->cert, "key"),
		.ca_file = path(s->ca ? s->ca : "ca", "crt"),
		.allow = s->allow,
		.verify_time = s->verify_time,
	};

	while (cfg.n_allow < 4 && s->allow[cfg.n_allow])
		cfg.n_allow++;
	return gisa_tls_ctx_new(role, &cfg, ret, err);
}

static struct gisa_tls_ctx *ctx_ok(enum gisa_tls_role role, const struct side *s)
{
	struct gisa_tls_ctx *ctx = NULL;
	struct gisa_tls_error err;
	int r = make_ctx(role, s, &ctx, &err);

	if (r)
		print_error("context: %s\n", err.msg);
	assert_int_equal(r, 0);
	assert_int_equal(err.kind, GISA_TLS_OK);
	assert_non_null(ctx);
	assert_int_equal(gisa_tls_ctx_role(ctx), role);
	return ctx;
}

/* ---- handshakes over a socketpair ------------------------------------------ */

struct conn {
	int fd[2]; /* [0] client, [1] server */
	SSL *c, *s;
	int rc, rs; /* handshake results */
	struct gisa_tls_error ec, es;
};

static void pair_open(struct conn *p)
{
	memset(p, 0, sizeof(*p));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, p->fd),
			 0);
	p->rc = p->rs = -EAGAIN;
}

static void pair_close(struct conn *p)
{
	SSL_free(p->c);
	SSL_free(p->s);
	if (p->fd[0] >= 0)
		close(p->fd[0]);
	if (p->fd[1] >= 0)
		close(p->fd[1]);
}

/* Step both handshakes until neither can progress. */
static void drive(struct conn *p)
{
	for (int i = 0; i < 200 && (p->rc == -EAGAIN || p->rs == -EAGAIN); i++) {
		if (p->c && p->rc == -EAGAIN)
			p->rc = gisa_tls_handshake(p->c, &p->ec);
		if (p->s && p->rs == -EAGAIN)
			p->rs = gisa_tls_handshake(p->s, &p->es);
	}
}

/* Client from cctx dialling host, server from sctx; handshakes driven. */
static void connect_pair(struct conn *p, struct gisa_tls_ctx *cctx, const char *host,
			 struct gisa_tls_ctx *sctx)
{
	struct gisa_tls_error err;

	pair_open(p);
	if (cctx)
		assert_int_equal(gisa_tls_ssl_new(cctx, p->fd[0], host, &p->c, &err), 0);
	if (sctx)
		assert_int_equal(gisa_tls_ssl_new(sctx, p->fd[1], NULL, &p->s, &err), 0);
	drive(p);
}

/* Read once from ssl, expecting a failure: returns the result, err filled. */
static int first_read(SSL *ssl, struct gisa_tls_error *err)
{
	char buf[64];
	size_t n = 99;
	int r = gisa_tls_read(ssl, buf, sizeof(buf), &n, err);

	assert_int_equal(n, 0);
	return r;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle)) {
		print_error("`%s'\n  does not contain `%s'\n", hay, needle);
		fail();
	}
}

/* Neither side has a verified peer, and no application data crosses. */
static void assert_nothing_else(struct conn *p)
{
	struct gisa_tls_peer peer;
	struct gisa_tls_error err;
	char buf[16];
	size_t n = 0;

	if (p->s) {
		assert_int_not_equal(gisa_tls_verify_peer(p->s, &peer, &err), 0);
		assert_int_not_equal(gisa_tls_read(p->s, buf, sizeof(buf), &n, &err), 0);
		assert_int_equal(n, 0);
	}
	if (p->c && p->rc != 0)
		assert_int_not_equal(gisa_tls_verify_peer(p->c, &peer, &err), 0);
}

/* Show what each side said: the log of a run documents the messages. */
static void show(const char *what, const struct gisa_tls_error *err)
{
	print_message("  %-8s [%s, alert %d] %s\n", what, gisa_tls_errkind_name(err->kind),
		      err->alert, err->msg);
}

/* The standard sides: host-a serves and admits host-b; host-b dials host-a. */
static const struct side server_a = {.cert = "host-a", .allow = {"host-b"}};
static const struct side client_b = {.cert = "host-b", .allow = {"host-a"}};

/* ---- tests ------------------------------------------------------------------ */

static void exchange(struct conn *p)
{
	struct gisa_tls_error err;
	char buf[32];
	size_t n;

	assert_int_equal(gisa_tls_write(p->c, "ping", 4, &n, &err), 0);
	assert_int_equal(n, 4);
	assert_int_equal(gisa_tls_read(p->s, buf, sizeof(buf), &n, &err), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "ping", 4);
	assert_int_equal(gisa_tls_write(p->s, "pong!", 5, &n, &err), 0);
	assert_int_equal(n, 5);
	assert_int_equal(gisa_tls_read(p->c, buf, sizeof(buf), &n, &err), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(buf, "pong!", 5);
	/* Nothing more is pending: a read would block. */
	assert_int_equal(gisa_tls_read(p->c, buf, sizeof(buf), &n, &err), -EAGAIN);
	/* An orderly close reads as end of file. */
	SSL_shutdown(p->s);
	assert_int_equal(gisa_tls_read(p->c, buf, sizeof(buf), &n, &err), 0);
	assert_int_equal(n, 0);
}

static void test_mutual_ok(void **state)
{
	struct gisa_tls_ctx *sctx = ctx_ok(GISA_TLS_SERVER, &server_a);
	struct gisa_tls_ctx *cctx = ctx_ok(GISA_TLS_CLIENT, &client_b);
	static const char *const hosts[] = {"host-a", "HOST-A", "localhost", "127.0.0.1"};
	char fa[GISA_TLS_FINGERPRINT_LEN + 1], fb[GISA_TLS_FINGERPRINT_LEN + 1];

	file_fingerprint("host-a", fa);
	file_fingerprint("host-b", fb);
	for (size_t i = 0; i < 4; i++) {
		struct gisa_tls_peer peer;
		struct gisa_tls_error err;
		struct conn p;

		connect_pair(&p, cctx, hosts[i], sctx);
		assert_int_equal(p.rc, 0);
		assert_int_equal(p.rs, 0);
		assert_int_equal(SSL_version(p.c), TLS1_3_VERSION);
		assert_int_equal(SSL_session_reused(p.c), 0);

		assert_int_equal(gisa_tls_verify_peer(p.s, &peer, &err), 0);
		assert_string_equal(peer.name, "host-b");
		assert_string_equal(peer.matched, "host-b");
		assert_string_equal(peer.fingerprint, fb);
		assert_int_equal(gisa_tls_verify_peer(p.c, &peer, &err), 0);
		assert_string_equal(peer.name, "host-a");
		assert_string_equal(peer.matched, "host-a");
		assert_string_equal(peer.fingerprint, fa);
		assert_int_equal(err.kind, GISA_TLS_OK);

		exchange(&p);
		pair_close(&p);
	}
	gisa_tls_ctx_free(cctx);
	gisa_tls_ctx_free(sctx);
}

/* The same functions on blocking sockets (for the data phase). */
static void test_blocking_sockets(void **state)
{
	struct gisa_tls_ctx *sctx = ctx_ok(GISA_TLS_SERVER, &server_a);
	struct gisa_tls_ctx *cctx = ctx_ok(GISA_TLS_CLIENT, &client_b);
	struct gisa_tls_error err;
	struct conn p;
	char buf[8];
	size_t n;

	connect_pair(&p, cctx, "host-a", sctx);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.rs, 0);
	/* Switch to blocking for the data phase: reads wait for the data. */
	assert_int_equal(fcntl(p.fd[0], F_SETFL, 0), 0);
	assert_int_equal(fcntl(p.fd[1], F_SETFL, 0), 0);
	assert_int_equal(gisa_tls_write(p.c, "abc", 3, &n, &err), 0);
	assert_int_equal(gisa_tls_read(p.s, buf, sizeof(buf), &n, &err), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(buf, "abc", 3);
	/* The peer's socket closing mid-stream is a close without close_notify. */
	close(p.fd[1]);
	p.fd[1] = -1;
	assert_int_equal(gisa_tls_read(p.c, buf, sizeof(buf), &n, &err), -ECONNRESET);
	assert_int_equal(err.kind, GISA_TLS_ERR_CLOSED);
	pair_close(&p);
	gisa_tls_ctx_free(cctx);
	gisa_tls_ctx_free(sctx);
}

static void test_no_client_cert(void **state)
{
	struct gisa_tls_ctx *sctx = ctx_ok(GISA_TLS_SERVER, &server_a);
	SSL_CTX *raw = SSL_CTX_new(TLS_client_method());
	struct gisa_tls_error err;
	struct conn p;

	assert_non_null(raw);
	SSL_CTX_set_min_proto_version(raw, TLS1_3_VERSION);
	pair_open(&p);
	p.c = SSL_new(raw);
	assert_non_null(p.c);
	SSL_set_fd(p.c, p.fd[0]);
	SSL_set_connect_state(p.c);
	assert_int_equal(gisa_tls_ssl_new(sctx, p.fd[1], NULL, &p.s, &err), 0);
	drive(&p);

	show("server", &p.es);
	assert_int_equal(p.rs, -EACCES);
	assert_int_equal(p.es.kind, GISA_TLS_ERR_NO_PEER_CERT);
	assert_int_equal(p.es.alert, SSL_AD_CERTIFICATE_REQUIRED);
	assert_contains(p.es.msg, "sent no certificate");
	/* TLS 1.3: the client's handshake completed; the refusal comes at its first read. */
	assert_int_equal(p.rc, 0);
	assert_int_equal(first_read(p.c, &err), -ECONNABORTED);
	show("client", &err);
	assert_int_equal(err.kind, GISA_TLS_ERR_PEER_REFUSED);
	assert_int_equal(err.alert, SSL_AD_CERTIFICATE_REQUIRED);
	assert_string_equal(err.msg, "the peer requires a client certificate "
				     "(alert `certificate required')");
	assert_nothing_else(&p);
	pair_close(&p);
	SSL_CTX_free(raw);
	gisa_tls_ctx_free(sctx);
}

/* The client's certificate is refused by the server: check both sides. */
static void client_refused(const struct side *cs, const struct side *ss, enum gisa_tls_errkind kind,
			   int alert, const char *msg, const char *msg2)
{
	struct gisa_tls_ctx *sctx = ctx_ok(GISA_TLS_SERVER, ss);
	struct gisa_tls_ctx *cctx = ctx_ok(GISA_TLS_CLIENT, cs);
	struct gisa_tls_error err;
	struct conn p;

	connect_pair(&p, cctx, "host-a", sctx);
	show("server", &p.es);
	assert_int_equal(p.rs, -EACCES);
	assert_int_equal(p.es.kind, kind);
	assert_int_equal(p.es.alert, alert);
	assert_contains(p.es.msg, msg);
	if (msg2)
		assert_contains(p.es.msg, msg2);
	assert_int_equal(p.rc, 0);
	assert_int_equal(first_read(p.c, &err), -ECONNABORTED);
	show("client", &err);
	assert_int_equal(err.kind, GISA_TLS_ERR_PEER_REFUSED);
	assert_int_equal(err.alert, alert);
	/* Whatever the client sends now goes nowhere. */
	assert_nothing_else(&p);
	pair_close(&p);
	gisa_tls_ctx_free(cctx);
	gisa_tls_ctx_free(sctx);
}

/* The server's certificate is refused by the client: check both sides. */
static void server_refused(const struct side *cs, const char *host, const struct side *ss,
			   enum gisa_tls_errkind kind, int alert, const char *msg)
{
	struct gisa_tls_ctx *sctx = ctx_ok(GISA_TLS_SERVER, ss);
	struct gisa_tls_ctx *cctx = ctx_ok(GISA_TLS_CLIENT, cs);
	struct conn p;

	connect_pair(&p, cctx, host, sctx);
	show("client", &p.ec);
	show("server", &p.es);
	assert_int_equal(p.rc, -EACCES);
	assert_int_equal(p.ec.kind, kind);
	assert_int_equal(p.ec.alert, alert);
	if (strcmp(p.ec.msg, msg) != 0) {
		print_error("got      `%s'\nexpected `%s'\n", p.ec.msg, msg);
		fail();
	}
	assert_int_equal(p.rs, -ECONNABORTED);
	assert_int_equal(p.es.kind, GISA_TLS_ERR_PEER_REFUSED);
	assert_int_equal(p.es.alert, alert);
	assert_nothing_else(&p);
	pair_close(&p);
	gisa_tls_ctx_free(cctx);
	gisa_tls_ctx_free(sctx);
}

static void test_wrong_ca(void **state)
{
	const struct side wrong_b = {.cert = "wrongca-b", .allow = {"host-a"}};
	const struct side wrong_a = {.cert = "wrongca", .allow = {"host-b"}};
	char fp[GISA_TLS_FINGERPRINT_LEN + 1], msg[GISA_TLS_MSG_MAX];

	client_refused(&wrong_b, &server_a, GISA_TLS_ERR_UNKNOWN_CA, SSL_AD_UNKNOWN_CA,
		       "certificate of `host-b' (sha256:",
		       ") is signed by an unknown CA `CN=gisad wrong CA'");

	file_fingerprint("wrongca", fp);
	snprintf(msg, sizeof(msg),
		 "certificate of `host-a' (%s) is signed by an unknown CA `CN=gisad wrong CA'", fp);
	server_refused(&client_b, "host-a", &wrong_a, GISA_TLS_ERR_UNKNOWN_CA, SSL_AD_UNKNOWN_CA,
		       msg);
}

static void test_expired(void **state)
{
	const struct side expired_c = {.cert = "expired", .allow = {"host-a"}};
	const struct side expired_s = {.cert = "expired", .allow = {"host-a"}};
	const struct side server_admits_a = {.cert = "host-a", .allow = {"host-a"}};
	char fp[GISA_TLS_FINGERPRINT_LEN + 1], msg[GISA_TLS_MSG_MAX], when[64];
	FILE *f = fopen(path("expired", "crt"), "r");
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	struct tm tm;

	fclose(f);
	assert_non_null(x);
	assert_int_equal(ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm), 1);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	X509_free(x);

	snprintf(msg, sizeof(msg), " expired at %s", when);
	client_refused(&expired_c, &server_admits_a, GISA_TLS_ERR_EXPIRED,
		       SSL_AD_CERTIFICATE_EXPIRED, "certificate of `host-a' (sha256:", msg);

	file_fingerprint("expired", fp);
	snprintf(msg, sizeof(msg), "certificate of `host-a' (%s) expired at %s", fp, when);
	server_refused(&client_b, "host-a", &expired_s, GISA_TLS_ERR_EXPIRED,
		       SSL_AD_CERTIFICATE_EXPIRED, msg);
}

static void test_not_yet_valid(void **state)
{
	const struct side future_c = {.cert = "future", .allow = {"host-a"}};
	const struct side future_s = {.cert = "future", .allow = {"host-b"}};
	const struct side server_admits_a = {.cert = "host-a", .allow = {"host-a"}};
	char fp[GISA_TLS_FINGERPRINT_LEN + 1], msg[GISA_TLS_MSG_MAX], when[64];
	FILE *f = fopen(path("future", "crt"), "r");
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	struct tm tm;

	fclose(f);
	assert_non_null(x);
	assert_int_equal(ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm), 1);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	X509_free(x);

	snprintf(msg, sizeof(msg), " is not valid before %s", when);
	client_refused(&future_c, &server_admits_a, GISA_TLS_ERR_NOT_YET_VALID,
		       SSL_AD_BAD_CERTIFICATE, "certificate of `host-a' (sha256:", msg);

	file_fingerprint("future", fp);
	snprintf(msg, sizeof(msg), "certificate of `host-a' (%s) is not valid before %s", fp, when);
	server_refused(&client_b, "host-a", &future_s, GISA_TLS_ERR_NOT_YET_VALID,
		       SSL_AD_BAD_CERTIFICATE, msg);
}

/* verify_time moves the clock: valid certificates expire, expired ones were valid. */
static void test_verify_time(void **state)
{
	time_t now = time(NULL);
	struct side late_s = {.cert = "host-a", .allow = {"host-b"}};
	struct side late_c = {.cert = "host-b", .allow = {"host-a"}};
	struct side past_c = {.cert = "host-b", .allow = {"host-a"}};
	struct gisa_tls_ctx *sctx, *cctx;
	struct conn p;

	/* 20 years on, the client finds the server's certificate expired. */
	late_c.verify_time = now + 20L * 365 * TCERT_DAY;
	sctx = ctx_ok(GISA_TLS_SERVER, &late_s);
	cctx = ctx_ok(GISA_TLS_CLIENT, &late_c);
	connect_pair(&p, cctx, "host-a", sctx);
	assert_int_equal(p.rc, -EACCES);
	show("client", &p.ec);
	assert_int_equal(p.ec.kind, GISA_TLS_ERR_EXPIRED);
	/* The CA has expired too; OpenSSL checks from the top, so the CA is named. */
	assert_contains(p.ec.msg, "certificate of `host-a' (sha256:");
	assert_contains(p.ec.msg, "): its issuer `CN=gisad test CA' expired at 20");
	pair_close(&p);
	gisa_tls_ctx_free(cctx);
	gisa_tls_ctx_free(sctx);

	/* Ten days ago, the expired certificate was valid. */
	past_c.verify_time = now - 10 * TCERT_DAY;
	late_s.cert = "expired";
	sctx = ctx_ok(GISA_TLS_SERVER, &late_s);
	cctx = ctx_ok(GISA_TLS_CLIENT, &past_c);
	connect_pair(&p, cctx, "host-a", sctx);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.rs, 0);
	pair_close(&p);
	gisa_tls_ctx_free(cctx);
	gisa_tls_ctx_free(sctx);
}

static void test_not_allowed_name(void **state)
{
	const struct side server_admits_c = {.cert = "host-a", .allow = {"host-c", "host-a"}};
	const struct side client_admits_c = {.cert = "host-b", .allow = {"host-c"}};
	char fp[GISA_TLS_FINGERPRINT_LEN + 1], msg[GISA_TLS_MSG_MAX];

	file_fingerprint("host-b", fp);
	snprintf(msg, sizeof(msg), "certificate of `host-b' (%s) is not on the allow-list", fp);
	client_refused(&client_b, &server_admits_c, GISA_TLS_ERR_NOT_ALLOWED,
		       SSL_AD_BAD_CERTIFICATE, msg, NULL);

	file_fingerprint("host-a", fp);
	snprintf(msg, sizeof(msg), "certificate of `host-a' (%s) is not on the allow-list", fp);
	server_refused(&client_admits_c, "host-a", &server_a, GISA_TLS_ERR_NOT_ALLOWED,
		       SSL_AD_BAD_CERTIFICATE, msg);
}

/* host-b's CN is not one of its DNS SANs: a name entry equal to the CN does not match. */
static void test_cn_ignored_with_sans(void **state)
{
	const struct side server_admits_cn = {.cert = "host-a", .allow = {"cn-of-b"}};
	char fp[GISA_TLS_FINGERPRINT_LEN + 1], msg[GISA_TLS_MSG_MAX];

	file_fingerprint("host-b", fp);
	snprintf(msg, sizeof(msg), "certificate of `host-b' (%s) is not on the allow-list", fp);
	client_refused(&client_b, &server_admits_cn, GISA_TLS_ERR_NOT_ALLOWED,
		       SSL_AD_BAD_CERTIFICATE, msg, NULL);
}

static void test_fingerprint(void **state)
{
	char fa[GISA_TLS_FINGERPRINT_LEN + 1], fb[GISA_TLS_FINGERPRINT_LEN + 1];
	char colons[8 + 3 * 32], msg[GISA_TLS_MSG_MAX];
	struct side s = {.cert = "host-a"};
	struct gisa_tls_ctx *sctx, *cctx;
	struct gisa_tls_peer peer;
	struct gisa_tls_error err;
	struct conn p;

	file_fingerprint("host-a", fa);
	file_fingerprint("host-b", fb);

	/* Admitted by fingerprint, written as openssl prints it: upper case, colons. */
	strcpy(colons, "SHA256:");
	for (size_t i = 0; i < 32; i++) {
		colons[7 + 3 * i] = (char)toupper((unsigned char)fb[7 + 2 * i]);
		colons[8 + 3 * i] = (char)toupper((unsigned char)fb[8 + 2 * i]);
		colons[9 + 3 * i] = i + 1 < 32 ? ':' : '\0';
	}
	assert_int_equal(gisa_tls_allow_check(colons, &err), 0);
	s.allow[0] = colons;
	sctx = ctx_ok(GISA_TLS_SERVER, &s);
	cctx = ctx_ok(GISA_TLS_CLIENT, &client_b);
	connect_pair(&p, cctx, "host-a", sctx);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.rs, 0);
	assert_int_equal(gisa_tls_verify_peer(p.s, &peer, &err), 0);
	assert_string_equal(peer.matched, fb);
	assert_string_equal(peer.fingerprint, fb);
	assert_string_equal(peer.name, "host-b");
	exchange(&p);
	pair_close(&p);
	gisa_tls_ctx_free(cctx);
	gisa_tls_ctx_free(sctx);

	/* A fingerprint of another certificate (host-a's) does not admit host-b. */
	s.allow[0] = fa;
	snprintf(msg, sizeof(msg), "certificate of `host-b' (%s) is not on the allow-list", fb);
	client_refused(&client_b, &s, GISA_TLS_ERR_NOT_ALLOWED, SSL_AD_BAD_CERTIFICATE, msg, NULL);
}

/* A certificate without SANs: its CN is its name, for the allow-list and the host check. */
static void test_cn_only(void **state)
{
	const struct side server_c = {.cert = "host-c", .allow = {"host-c"}};
	const struct side client_c = {.cert = "host-c", .allow = {"host-c"}};
	struct gisa_tls_ctx *sctx = ctx_ok(GISA_TLS_SERVER, &server_c);
	struct gisa_tls_ctx *cctx = ctx_ok(GISA_TLS_CLIENT, &client_c);
	char fp[GISA_TLS_FINGERPRINT_LEN + 1], msg[GISA_TLS_MSG_MAX];
	struct gisa_tls_peer peer;
	struct gisa_tls_error err;
	struct conn p;

	connect_pair(&p, cctx, "host-c", sctx);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.rs, 0);
	assert_int_equal(gisa_tls_verify_peer(p.s, &peer, &err), 0);
	assert_string_equal(peer.name, "host-c");
	assert_string_equal(peer.matched, "host-c");
	assert_int_equal(gisa_tls_verify_peer(p.c, &peer, &err), 0);
	assert_string_equal(peer.name, "host-c");
	pair_close(&p);
	gisa_tls_ctx_free(cctx);
	gisa_tls_ctx_free(sctx);

	file_fingerprint("host-c", fp);
	snprintf(msg, sizeof(msg),
		 "server certificate names `CN host-c', not the dialled `host-a' "
		 "(certificate of `host-c' (%s))",
		 fp);
	server_refused(&client_c, "host-a", &server_c, GISA_TLS_ERR_HOST_MISMATCH,
		       SSL_AD_BAD_CERTIFICATE, msg);
}

static void test_allowed_by_ip(void **state)
{
	const struct side client_ip = {.cert = "host-b", .allow = {"127.0.0.1"}};
	struct gisa_tls_ctx *sctx = ctx_ok(GISA_TLS_SERVER, &server_a);
	struct gisa_tls_ctx *cctx = ctx_ok(GISA_TLS_CLIENT, &client_ip);
	struct gisa_tls_peer peer;
	struct gisa_tls_error err;
	struct conn p;

	connect_pair(&p, cctx, "127.0.0.1", sctx);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.rs, 0);
	assert_int_equal(gisa_tls_verify_peer(p.c, &peer, &err), 0);
	assert_string_equal(peer.matched, "127.0.0.1");
	pair_close(&p);
	gisa_tls_ctx_free(cctx);
	gisa_tls_ctx_free(sctx);
}

static void test_host_mismatch(void **state)
{
	const struct side client_any = {.cert = "host-b", .allow = {"host-a", "host-b"}};
	char fp[GISA_TLS_FINGERPRINT_LEN + 1], msg[GISA_TLS_MSG_MAX];

	file_fingerprint("host-a", fp);
	snprintf(msg, sizeof(msg),
		 "server certificate names `host-a, localhost, 127.0.0.1', not the dialled "
		 "`host-b' (certificate of `host-a' (%s))",
		 fp);
	server_refused(&client_any, "host-b", &server_a, GISA_TLS_ERR_HOST_MISMATCH,
		       SSL_AD_BAD_CERTIFICATE, msg);

	snprintf(msg, sizeof(msg),
		 "server certificate names `host-a, localhost, 127.0.0.1', not the dialled "
		 "`127.0.0.2' (certificate of `host-a' (%s))",
		 fp);
	server_refused(&client_any, "127.0.0.2", &server_a, GISA_TLS_ERR_HOST_MISMATCH,
		       SSL_AD_BAD_CERTIFICATE, msg);

	/* No partial wildcards, no suffix matches. */
	snprintf(msg, sizeof(msg),
		 "server certificate names `host-a, localhost, 127.0.0.1', not the dialled "
		 "`a' (certificate of `host-a' (%s))",
		 fp);
	server_refused(&client_any, "a", &server_a, GISA_TLS_ERR_HOST_MISMATCH,
		       SSL_AD_BAD_CERTIFICATE, msg);
}

/* Bytes a refusing server wrote: none, or one TLS alert record. */
static void assert_at_most_an_alert(int fd)
{
	unsigned char buf[64];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0) {
		assert_int_equal(errno, EAGAIN);
		return;
	}
	if (n == 0)
		return;
	assert_int_equal(n, 7);
	assert_int_equal(buf[0], 21); /* content type alert */
	assert_int_equal(buf[1], 3);  /* legacy version 3.x */
	assert_int_equal(buf[3], 0);
	assert_int_equal(buf[4], 2); /* length 2 */
	assert_int_equal(buf[5], 2); /* fatal */
}

static void test_plaintext_client(void **state)
{
	static const char *const texts[] = {
		"hello, this is not TLS\r\n",
		"GET / HTTP/1.0\r\n\r\n",
		"\x16\x03\x01\xff\xff garbage claiming to be a huge handshake record",
	};
	struct gisa_tls_ctx *sctx = ctx_ok(GISA_TLS_SERVER, &server_a);

	for (size_t i = 0; i < 3; i++) {
		struct conn p;

		connect_pair(&p, NULL, NULL, sctx);
		assert_int_equal(p.rs, -EAGAIN); /* nothing received yet */
		assert_int_equal(write(p.fd[0], texts[i], strlen(texts[i])),
				 (ssize_t)strlen(texts[i]));
		drive(&p);
		show("server", &p.es);
		assert_int_equal(p.rs, -EPROTO);
		assert_int_equal(p.es.kind, GISA_TLS_ERR_NOT_TLS);
		assert_contains(p.es.msg, "the peer does not speak TLS");
		assert_at_most_an_alert(p.fd[0]);
		assert_nothing_else(&p);
		pair_close(&p);
	}
	gisa_tls_ctx_free(sctx);
}

static void test_tls12_refused(void **state)
{
	struct gisa_tls_ctx *sctx = ctx_ok(GISA_TLS_SERVER, &server_a);
	struct gisa_tls_ctx *cctx = ctx_ok(GISA_TLS_CLIENT, &client_b);
	SSL_CTX *raw = gisa_tls_ctx_ssl_ctx(cctx);
	struct conn p;

	/* A client forced to TLS 1.2 (the test bends the library's own context). */
	assert_int_equal(SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION), 1);
	assert_int_equal(SSL_CTX_set_max_proto_version(raw, TLS1_2_VERSION), 1);
	connect_pair(&p, cctx, "host-a", sctx);
	show("server", &p.es);
	show("client", &p.ec);
	assert_int_equal(p.rs, -EPROTO);
	assert_int_equal(p.es.kind, GISA_TLS_ERR_VERSION);
	assert_int_equal(p.es.alert, SSL_AD_PROTOCOL_VERSION);
	assert_contains(p.es.msg, "the peer offers no TLS 1.3");
	assert_int_equal(p.rc, -EPROTO);
	assert_int_equal(p.ec.kind, GISA_TLS_ERR_VERSION);
	assert_int_equal(p.ec.alert, SSL_AD_PROTOCOL_VERSION);
	assert_contains(p.ec.msg, "TLS 1.3 is required");
	assert_nothing_else(&p);
	pair_close(&p);
	gisa_tls_ctx_free(cctx);
	gisa_tls_ctx_free(sctx);
}

/* Reload: a new context; connections made from the old one keep its allow-list. */
static void test_reload(void **state)
{
	const struct side server_admits_c = {.cert = "host-a", .allow = {"host-c"}};
	struct gisa_tls_ctx *old = ctx_ok(GISA_TLS_SERVER, &server_a);
	struct gisa_tls_ctx *cctx = ctx_ok(GISA_TLS_CLIENT, &client_b);
	struct gisa_tls_ctx *cur;
	struct gisa_tls_error err;
	struct conn p, q;

	pair_open(&p);
	assert_int_equal(gisa_tls_ssl_new(old, p.fd[1], NULL, &p.s, &err), 0);
	assert_int_equal(gisa_tls_ssl_new(cctx, p.fd[0], "host-a", &p.c, &err), 0);
	/* Start the handshake, then reload mid-way: the old context goes away. */
	p.rc = gisa_tls_handshake(p.c, &p.ec);
	assert_int_equal(p.rc, -EAGAIN);
	cur = ctx_ok(GISA_TLS_SERVER, &server_admits_c);
	old = gisa_tls_ctx_free(old);
	assert_null(old);
	drive(&p);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.rs, 0);
	assert_int_equal(gisa_tls_verify_peer(p.s, NULL, &err), 0);
	exchange(&p);

	/* A new connection gets the new allow-list. */
	connect_pair(&q, cctx, "host-a", cur);
	assert_int_equal(q.rs, -EACCES);
	assert_int_equal(q.es.kind, GISA_TLS_ERR_NOT_ALLOWED);
	pair_close(&q);
	pair_close(&p);
	gisa_tls_ctx_free(cur);
	gisa_tls_ctx_free(cctx);
}

/* A client SSL not made by gisa_tls_ssl_new has no dialled host: refused (T2). */
static void test_client_without_host(void **state)
{
	struct gisa_tls_ctx *sctx = ctx_ok(GISA_TLS_SERVER, &server_a);
	struct gisa_tls_ctx *cctx = ctx_ok(GISA_TLS_CLIENT, &client_b);
	struct gisa_tls_error err;
	struct conn p;

	pair_open(&p);
	p.c = SSL_new(gisa_tls_ctx_ssl_ctx(cctx));
	assert_non_null(p.c);
	SSL_set_fd(p.c, p.fd[0]);
	SSL_set_connect_state(p.c);
	assert_int_equal(gisa_tls_ssl_new(sctx, p.fd[1], NULL, &p.s, &err), 0);
	drive(&p);
	assert_int_equal(p.rc, -EACCES);
	assert_int_equal(p.rs, -ECONNABORTED);
	assert_int_equal(p.es.kind, GISA_TLS_ERR_PEER_REFUSED);
	pair_close(&p);

	/* gisa_tls_ssl_new insists on a usable host for a client. */
	assert_int_equal(gisa_tls_ssl_new(cctx, -1, NULL, &p.c, &err), -EINVAL);
	assert_int_equal(gisa_tls_ssl_new(cctx, -1, "", &p.c, &err), -EINVAL);
	assert_int_equal(gisa_tls_ssl_new(cctx, -1, "two words", &p.c, &err), -EINVAL);
	assert_string_equal(err.msg,
			    "dialled host `two words' is neither a host name nor an IP address");
	gisa_tls_ctx_free(cctx);
	gisa_tls_ctx_free(sctx);
}

/* The peer closes during the handshake; and verify_peer before it completes. */
static void test_closed_and_unfinished(void **state)
{
	struct gisa_tls_ctx *sctx = ctx_ok(GISA_TLS_SERVER, &server_a);
	struct gisa_tls_ctx *cctx = ctx_ok(GISA_TLS_CLIENT, &client_b);
	struct gisa_tls_error err;
	struct conn p;

	pair_open(&p);
	assert_int_equal(gisa_tls_ssl_new(sctx, p.fd[1], NULL, &p.s, &err), 0);
	assert_int_equal(gisa_tls_handshake(p.s, &err), -EAGAIN);
	assert_int_equal(gisa_tls_verify_peer(p.s, NULL, &err), -ENOTCONN);
	close(p.fd[0]);
	p.fd[0] = -1;
	assert_int_equal(gisa_tls_handshake(p.s, &err), -ECONNRESET);
	assert_int_equal(err.kind, GISA_TLS_ERR_CLOSED);
	pair_close(&p);

	/* The server side goes away after the ClientHello. */
	pair_open(&p);
	assert_int_equal(gisa_tls_ssl_new(cctx, p.fd[0], "host-a", &p.c, &err), 0);
	assert_int_equal(gisa_tls_handshake(p.c, &err), -EAGAIN);
	close(p.fd[1]);
	p.fd[1] = -1;
	assert_int_equal(gisa_tls_handshake(p.c, &err), -ECONNRESET);
	assert_int_equal(err.kind, GISA_TLS_ERR_CLOSED);
	assert_int_equal(gisa_tls_verify_peer(p.c, NULL, &err), -ENOTCONN);
	pair_close(&p);
	gisa_tls_ctx_free(cctx);
	gisa_tls_ctx_free(sctx);
}

/* gisa_tls_explain on its own, as the daemon calls it with libevent's error code. */
static void test_explain_codes(void **state)
{
	struct gisa_tls_error err;

	assert_int_equal(gisa_tls_explain(NULL, 0, &err), -ECONNRESET);
	assert_int_equal(err.kind, GISA_TLS_ERR_CLOSED);
	assert_int_equal(
		gisa_tls_explain(NULL,
				 ERR_PACK(ERR_LIB_SSL, 0, SSL_AD_REASON_OFFSET + SSL_AD_UNKNOWN_CA),
				 &err),
		-ECONNABORTED);
	assert_int_equal(err.kind, GISA_TLS_ERR_PEER_REFUSED);
	assert_int_equal(err.alert, SSL_AD_UNKNOWN_CA);
	assert_string_equal(err.msg, "the peer refused our certificate (alert `unknown CA')");
	assert_int_equal(
		gisa_tls_explain(NULL, ERR_PACK(ERR_LIB_SSL, 0, SSL_R_WRONG_VERSION_NUMBER), &err),
		-EPROTO);
	assert_int_equal(err.kind, GISA_TLS_ERR_NOT_TLS);
	assert_int_equal(
		gisa_tls_explain(NULL, ERR_PACK(ERR_LIB_SSL, 0, SSL_R_UNEXPECTED_EOF_WHILE_READING),
				 &err),
		-ECONNRESET);
	assert_int_equal(err.kind, GISA_TLS_ERR_CLOSED);
	assert_string_equal(gisa_tls_errkind_name(GISA_TLS_ERR_NOT_ALLOWED), "not-allowed");
	assert_string_equal(gisa_tls_errkind_name(GISA_TLS_ERR_HOST_MISMATCH), "host-mismatch");
	assert_string_equal(gisa_tls_errkind_name((enum gisa_tls_errkind)999), "unknown");
}

/* ---- context errors ------------------------------------------------------ */

static void ctx_fails(const struct gisa_tls_config *cfg, int expect, enum gisa_tls_errkind kind,
		      const char *msg)
{
	struct gisa_tls_ctx *ctx = (struct gisa_tls_ctx *)&ctx; /* must stay untouched */
	struct gisa_tls_ctx *const before = ctx;
	struct gisa_tls_error err;

	assert_int_equal(gisa_tls_ctx_new(GISA_TLS_SERVER, cfg, &ctx, &err), expect);
	assert_ptr_equal(ctx, before);
	assert_int_equal(err.kind, kind);
	if (strcmp(err.msg, msg) != 0 && !strstr(err.msg, msg)) {
		print_error("got      `%s'\nexpected `%s'\n", err.msg, msg);
		fail();
	}
}

static void test_ctx_errors(void **state)
{
	const char *allow[] = {"host-b"};
	char cert[512], key[512], ca[512], bigfile[512], empty[512];
	struct gisa_tls_config cfg = {
		.cert_file = cert,
		.key_file = key,
		.ca_file = ca,
		.allow = allow,
		.n_allow = 1,
	};
	struct gisa_tls_config c;
	char msg[1024], big[600];
	const char *many[GISA_TLS_MAX_ALLOW + 1];
	FILE *f;

	/* path() reuses its buffers: keep copies. */
	strcpy(cert, path("host-a", "crt"));
	strcpy(key, path("host-a", "key"));
	strcpy(ca, path("ca", "crt"));
	strcpy(bigfile, path("big", "crt"));
	strcpy(empty, path("empty", "crt"));

	c = cfg;
	c.cert_file = path("missing", "crt");
	snprintf(msg, sizeof(msg), "certificate `%s': No such file or directory", c.cert_file);
	ctx_fails(&c, -ENOENT, GISA_TLS_ERR_FILE, msg);

	c = cfg;
	c.ca_file = dir;
	snprintf(msg, sizeof(msg), "CA file `%s' is not a regular file", dir);
	ctx_fails(&c, -EISDIR, GISA_TLS_ERR_FILE, msg);

	/* One byte over the cap: refused before parsing. */
	f = fopen(bigfile, "w");
	assert_non_null(f);
	for (size_t i = 0; i <= GISA_TLS_MAX_FILE; i++)
		fputc('x', f);
	fclose(f);
	c = cfg;
	c.ca_file = bigfile;
	snprintf(msg, sizeof(msg), "CA file `%s' is larger than 1048576 bytes", c.ca_file);
	ctx_fails(&c, -EFBIG, GISA_TLS_ERR_FILE, msg);

	f = fopen(empty, "w");
	assert_non_null(f);
	fputs("no certificate here\n", f);
	fclose(f);
	c = cfg;
	c.cert_file = empty;
	snprintf(msg, sizeof(msg),
		 "certificate `%s' holds no certificate (expected PEM \"BEGIN CERTIFICATE\")",
		 c.cert_file);
	ctx_fails(&c, -EINVAL, GISA_TLS_ERR_PEM, msg);

	/* A key file that holds a certificate only. */
	c = cfg;
	c.key_file = cert;
	snprintf(msg, sizeof(msg), "key `%s' holds no usable private key", c.key_file);
	ctx_fails(&c, -EINVAL, GISA_TLS_ERR_PEM, msg);

	c = cfg;
	c.key_file = path("host-b", "key");
	snprintf(msg, sizeof(msg), "key `%s' does not match certificate `%s'", c.key_file,
		 c.cert_file);
	ctx_fails(&c, -EINVAL, GISA_TLS_ERR_KEY, msg);

	c = cfg;
	c.n_allow = 0;
	ctx_fails(&c, -EINVAL, GISA_TLS_ERR_ALLOW,
		  "the allow-list is empty: no peer could ever be admitted");

	for (size_t i = 0; i <= GISA_TLS_MAX_ALLOW; i++)
		many[i] = "host-b";
	c = cfg;
	c.allow = many;
	c.n_allow = GISA_TLS_MAX_ALLOW + 1;
	ctx_fails(&c, -E2BIG, GISA_TLS_ERR_ALLOW,
		  "the allow-list has 1025 entries, more than the 1024 allowed");
	c.n_allow = GISA_TLS_MAX_ALLOW;
	{
		struct gisa_tls_ctx *ctx = NULL;
		struct gisa_tls_error err;

		assert_int_equal(gisa_tls_ctx_new(GISA_TLS_SERVER, &c, &ctx, &err), 0);
		gisa_tls_ctx_free(ctx);
	}

	c = cfg;
	allow[0] = "*.example.com";
	ctx_fails(&c, -EINVAL, GISA_TLS_ERR_ALLOW,
		  "allow-list entry `*.example.com' is neither a host name");

	/* Entries quoted in messages are cut and cleaned. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[3] = '\n';
	allow[0] = big;
	ctx_fails(&c, -EINVAL, GISA_TLS_ERR_ALLOW, "allow-list entry `aaa?aaaa");
	{
		struct gisa_tls_error err;

		assert_int_equal(gisa_tls_allow_check(big, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "aaa..."));
		assert_null(strchr(err.msg, '\n'));
	}
	gisa_tls_ctx_free(NULL);
}

static void test_allow_syntax(void **state)
{
	/* A parenthesized pair of literals is one long entry. */
	static const char *const good[] = {
		"host-a",
		"HOST-A.example.com",
		"node_7",
		"127.0.0.1",
		"::1",
		"fe80::1",
		"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"SHA256:0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
		("sha256:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:"
		 "01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef"),
	};
	static const char *const bad[] = {
		"",
		"*",
		"*.example.com",
		"host a",
		"host-a.",
		".host-a",
		"a..b",
		"host/a",
		"sha256:",
		"sha256:0123",
		("sha256:0123456789abcdef0123456789abcdef0123456789abcdef"
		 "0123456789abcdeg"),
		"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef00",
		("sha256:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:"
		 "01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd-ef"),
		"sha1:0123456789abcdef0123456789abcdef01234567",
		"0123456789012345678901234567890123456789012345678901234567890123456789.x",
	};
	struct gisa_tls_error err;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (gisa_tls_allow_check(good[i], &err))
			print_error("`%s': %s\n", good[i], err.msg);
		assert_int_equal(gisa_tls_allow_check(good[i], &err), 0);
		assert_int_equal(err.kind, GISA_TLS_OK);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (gisa_tls_allow_check(bad[i], &err) != -EINVAL)
			print_error("`%s' accepted\n", bad[i]);
		assert_int_equal(gisa_tls_allow_check(bad[i], &err), -EINVAL);
		assert_int_equal(err.kind, GISA_TLS_ERR_ALLOW);
		assert_non_null(strstr(err.msg, "allow-list entry `"));
	}
	assert_int_equal(gisa_tls_allow_check(NULL, &err), -EINVAL);
	assert_string_equal(err.msg, "allow-list entry is missing");
	assert_int_equal(gisa_tls_allow_check("sha256:xyz", &err), -EINVAL);
	assert_string_equal(err.msg, "allow-list entry `sha256:xyz' is not sha256: followed by 64 "
				     "hex digits (optionally in colon-separated pairs)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mutual_ok),
		cmocka_unit_test(test_blocking_sockets),
		cmocka_unit_test(test_no_client_cert),
		cmocka_unit_test(test_wrong_ca),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_not_yet_valid),
		cmocka_unit_test(test_verify_time),
		cmocka_unit_test(test_not_allowed_name),
		cmocka_unit_test(test_cn_ignored_with_sans),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_cn_only),
		cmocka_unit_test(test_allowed_by_ip),
		cmocka_unit_test(test_host_mismatch),
		cmocka_unit_test(test_plaintext_client),
		cmocka_unit_test(test_tls12_refused),
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_client_without_host),
		cmocka_unit_test(test_closed_and_unfinished),
		cmocka_unit_test(test_explain_codes),
		cmocka_unit_test(test_ctx_errors),
		cmocka_unit_test(test_allow_syntax),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
