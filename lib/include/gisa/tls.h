/* SPDX-License-Identifier: MIT */
/*
 * TLS for migration connections (docs/TLS.md): OpenSSL 3 contexts for TLS
 * 1.3 only with mutual authentication, and the peer identity checks.
 * No event loop here: the daemon wraps the SSL objects made by
 * gisa_tls_ssl_new (in bufferevent_openssl); tests drive them with
 * gisa_tls_handshake / gisa_tls_read / gisa_tls_write over any socket.
 *
 * Trust model.  A peer is admitted when all of these hold, checked during
 * the handshake by the side that receives the certificate:
 *  1. its certificate chains to a certificate of our CA file and every
 *     certificate of the chain is valid at the verification time (now, or
 *     gisa_tls_config.verify_time);
 *  2. it matches an entry of our allow-list (below);
 *  3. client only: the server's certificate names the host it dialled:
 *     a DNS name against the DNS SANs (the CN when there are none,
 *     wildcards per RFC 6125 in the leftmost label), an IP address
 *     against the IP SANs.
 * The server demands a client certificate.  A refusal aborts the
 * handshake with a TLS alert, so nothing but handshake bytes is ever
 * exchanged with a refused peer.  TLS 1.3 detail: the client finishes
 * its handshake before the server has looked at the client certificate,
 * so a client whose certificate is refused learns it at its first read
 * (gisa_tls_read fails with GISA_TLS_ERR_PEER_REFUSED and the alert).
 *
 * Allow-list entries (at most GISA_TLS_MAX_ALLOW; gisa_tls_allow_check
 * validates one):
 *  - "sha256:HEX": the SHA-256 of the certificate's DER encoding, 64 hex
 *    digits, either case, optionally in colon-separated pairs (as
 *    `openssl x509 -fingerprint -sha256` prints it);
 *  - an IP address (IPv4 dotted quad or IPv6): equal to an IP SAN;
 *  - a host name: equal (ASCII case-insensitive) to a DNS SAN of the
 *    certificate, or to its CN when it has no DNS SAN.  Names are compared
 *    literally: no wildcard entries, and a wildcard SAN matches only by
 *    fingerprint.
 *
 * Reload: gisa_tls_ctx_new always builds a new context from the files as
 * they are now.  The allow-list and the verification settings live inside
 * the OpenSSL SSL_CTX, which OpenSSL refcounts: every SSL made from it
 * holds a reference, so freeing (or replacing) a gisa_tls_ctx never
 * affects a running connection, which keeps the context it was made with
 * until it is freed.  A daemon reloads by building a new context and, only
 * on success, freeing the old one.
 *
 * Sessions are never resumed (no cache, no tickets): every connection
 * presents and verifies certificates against the current allow-list.
 *
 * Writing to a peer that has closed raises SIGPIPE: callers ignore it.
 */
#ifndef GISA_TLS_H
#define GISA_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/ssl.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GISA_TLS_MAX_FILE	 (1u << 20) /* bytes per PEM file */
#define GISA_TLS_MAX_ALLOW	 1024u	    /* allow-list entries */
#define GISA_TLS_MAX_CA_CERTS	 256u	    /* certificates in the CA file */
#define GISA_TLS_MAX_CHAIN	 16u	    /* own cert file: leaf + intermediates */
#define GISA_TLS_VERIFY_DEPTH	 8	    /* intermediates between peer and CA */
#define GISA_TLS_MAX_NAME	 253u	    /* a DNS name; longer entries are refused */
#define GISA_TLS_FINGERPRINT_LEN 71u	    /* "sha256:" + 64 hex digits */
#define GISA_TLS_MSG_MAX	 512u

enum gisa_tls_role {
	GISA_TLS_SERVER, /* accepts: the migration destination, the listener */
	GISA_TLS_CLIENT, /* dials: the migration source */
};

enum gisa_tls_errkind {
	GISA_TLS_OK = 0,
	/* Building a context (gisa_tls_ctx_new, gisa_tls_allow_check). */
	GISA_TLS_ERR_FILE,  /* a file cannot be read, or is too large */
	GISA_TLS_ERR_PEM,   /* no (valid) certificate / key in a file */
	GISA_TLS_ERR_KEY,   /* the key does not match the certificate */
	GISA_TLS_ERR_ALLOW, /* a malformed allow-list entry, or too many */
	/* Connections: this side refused the peer. */
	GISA_TLS_ERR_NO_PEER_CERT,  /* the peer sent no certificate */
	GISA_TLS_ERR_UNKNOWN_CA,    /* not signed by (a chain to) our CA */
	GISA_TLS_ERR_EXPIRED,	    /* a certificate of the chain has expired */
	GISA_TLS_ERR_NOT_YET_VALID, /* ... or is not valid yet */
	GISA_TLS_ERR_VERIFY,	    /* any other chain verification failure */
	GISA_TLS_ERR_NOT_ALLOWED,   /* the peer's identity is not on the allow-list */
	GISA_TLS_ERR_HOST_MISMATCH, /* the server's certificate does not name the dialled host */
	/* Connections: the peer or the transport. */
	GISA_TLS_ERR_PEER_REFUSED, /* the peer aborted with an alert (e.g. it refused us) */
	GISA_TLS_ERR_VERSION,	   /* no common protocol version (not TLS 1.3) */
	GISA_TLS_ERR_NOT_TLS,	   /* the peer does not speak TLS (plaintext, HTTP, ...) */
	GISA_TLS_ERR_PROTOCOL,	   /* any other TLS failure */
	GISA_TLS_ERR_CLOSED,	   /* the peer closed without finishing */
	GISA_TLS_ERR_IO,	   /* a socket error (err->sys_errno) */
	GISA_TLS_ERR_NOMEM,
};

/*
 * Why something failed.  msg is one line for a log (no trailing newline;
 * names taken from certificates are cut and their unprintable bytes
 * replaced, so a peer cannot forge log lines).  alert is the TLS alert
 * sent (this side refused) or received (GISA_TLS_ERR_PEER_REFUSED,
 * GISA_TLS_ERR_VERSION), -1 if none.
 */
struct gisa_tls_error {
	enum gisa_tls_errkind kind;
	int alert;
	int sys_errno;
	char msg[GISA_TLS_MSG_MAX];
};

struct gisa_tls_config {
	const char *cert_file;	  /* PEM: own certificate, then its intermediates */
	const char *key_file;	  /* PEM: its private key, unencrypted */
	const char *ca_file;	  /* PEM: the CA certificate(s) peers must chain to */
	const char *const *allow; /* allow-list entries (at least one) */
	size_t n_allow;
	time_t verify_time; /* verify certificates at this time; 0 = now */
};

/* Who the peer is, once admitted. */
struct gisa_tls_peer {
	char name[GISA_TLS_MAX_NAME + 1];		/* first DNS SAN, else CN, else "" */
	char fingerprint[GISA_TLS_FINGERPRINT_LEN + 1]; /* "sha256:" + lowercase hex */
	char matched[GISA_TLS_MAX_NAME + 1];		/* the allow-list entry that admitted it */
};

struct gisa_tls_ctx;

/*
 * Build a context for role from the files and allow-list of cfg.  Files
 * are read with a cap of GISA_TLS_MAX_FILE bytes before parsing.  On
 * error nothing is allocated and err says which file or entry and why:
 * -ENOENT/-EACCES/-EISDIR... (a file cannot be opened: the open error),
 * -EFBIG (a file over the cap), -EINVAL (nothing usable in a file, a key
 * that does not match, a bad allow-list entry, an empty allow-list),
 * -E2BIG (too many entries or certificates), -ENOMEM.
 */
int gisa_tls_ctx_new(enum gisa_tls_role role, const struct gisa_tls_config *cfg,
		     struct gisa_tls_ctx **ret, struct gisa_tls_error *err);

/* Drop this reference; connections made from ctx keep theirs.  NULL is fine. */
struct gisa_tls_ctx *gisa_tls_ctx_free(struct gisa_tls_ctx *ctx);

/* The OpenSSL context (borrowed; SSL_CTX_up_ref to keep it longer). */
SSL_CTX *gisa_tls_ctx_ssl_ctx(const struct gisa_tls_ctx *ctx);

enum gisa_tls_role gisa_tls_ctx_role(const struct gisa_tls_ctx *ctx);

/*
 * Validate one allow-list entry as gisa_tls_ctx_new would: 0 or -EINVAL
 * with err quoting the entry and what was expected.
 */
int gisa_tls_allow_check(const char *entry, struct gisa_tls_error *err);

/*
 * A new connection object for ctx, in the state of its role.  fd >= 0 is
 * attached as the connection's socket (not owned: SSL_free does not close
 * it); fd < 0 leaves the transport to the caller (bufferevent_openssl
 * attaches its own).  A client names the host it dialled (required: a DNS
 * name, or an IP address without brackets); a server passes NULL.
 * Returns 0, -EINVAL, -ENOMEM.  Free with SSL_free.
 */
int gisa_tls_ssl_new(struct gisa_tls_ctx *ctx, int fd, const char *dialled_host, SSL **ret,
		     struct gisa_tls_error *err);

/*
 * One step of the handshake: 0 once complete (the peer is verified and
 * admitted, except that a client's own certificate may still be refused
 * by the server: see the TLS 1.3 note above), -EAGAIN when the socket
 * would block (SSL_want_read / SSL_want_write say on what), or a failure
 * described in err: -EACCES (this side refused the peer),
 * -ECONNABORTED (the peer sent an alert), -EPROTO (version, not TLS,
 * protocol), -ECONNRESET (closed), -EIO or the socket's errno, -ENOMEM.
 * Works on blocking sockets too (then -EAGAIN does not occur).
 */
int gisa_tls_handshake(SSL *ssl, struct gisa_tls_error *err);

/*
 * Read up to len bytes: 0 with *ret_n > 0 bytes read, or *ret_n == 0 on an
 * orderly close (close_notify); -EAGAIN; or a failure as for
 * gisa_tls_handshake (a client refused by the server fails here, at its
 * first read, with -ECONNABORTED and GISA_TLS_ERR_PEER_REFUSED).
 */
int gisa_tls_read(SSL *ssl, void *buf, size_t len, size_t *ret_n, struct gisa_tls_error *err);

/* Write up to len bytes: 0 with *ret_n written, -EAGAIN, or a failure. */
int gisa_tls_write(SSL *ssl, const void *buf, size_t len, size_t *ret_n,
		   struct gisa_tls_error *err);

/*
 * Describe a failure reported elsewhere: ssl's own refusal record first
 * (a certificate this side refused), else the OpenSSL error code errcode
 * (as ERR_get_error or libevent's bufferevent_get_openssl_error return
 * it; 0 = none), else a close.  Returns the negative errno the handshake
 * would have returned.
 */
int gisa_tls_explain(SSL *ssl, unsigned long errcode, struct gisa_tls_error *err);

/*
 * The identity check as a pure function of a completed handshake: the
 * peer presented a certificate, it verified, it matches the allow-list of
 * ssl's context and (client) names the dialled host.  0 with *ret (may be
 * NULL) filled, -ENOTCONN before a completed handshake, -EACCES with err
 * set if any check fails.
 */
int gisa_tls_verify_peer(SSL *ssl, struct gisa_tls_peer *ret, struct gisa_tls_error *err);

/* A static name of an error kind ("not-allowed", "expired", ...). */
const char *gisa_tls_errkind_name(enum gisa_tls_errkind kind);

#ifdef __cplusplus
}
#endif

#endif
