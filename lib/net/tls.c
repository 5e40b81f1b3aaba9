/* SPDX-License-Identifier: MIT */
/*
 * TLS contexts and peer identity checks (tls.h, docs/TLS.md).
 *
 * Where things live, and why:
 *  - struct ctx_data (role, allow-list) hangs on the SSL_CTX as ex_data and
 *    is freed with it.  OpenSSL refcounts the SSL_CTX (each SSL holds a
 *    reference), so a connection keeps the allow-list it was made with
 *    across a reload; struct gisa_tls_ctx is only the caller's reference.
 *  - struct conn_data (dialled host, the refusal record, the last alerts)
 *    hangs on each SSL made by gisa_tls_ssl_new and is freed with it.
 *
 * Invariants:
 *  T1  Every certificate a peer presents passes verify_cert (the context's
 *      certificate verification callback): OpenSSL's chain verification,
 *      then the allow-list, then (client) the dialled host.  Any refusal
 *      fails the handshake with an alert and leaves its reason in the
 *      connection's record, so the handshake never completes with a peer
 *      this side has not admitted.
 *  T2  A client connection without a dialled host (an SSL not made by
 *      gisa_tls_ssl_new) is refused: the host check cannot be skipped.
 *  T3  Only TLS 1.3 is negotiated (min = max) and sessions are never
 *      resumed, so every connection verifies a certificate afresh.
 *  T4  Files are read with a cap before any parsing; key bytes are wiped.
 *  T5  Text taken from a certificate reaches a message only through
 *      put_text, which cuts it and replaces unprintable bytes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <gisa/tls.h>

#define SHA256_LEN	  32u
#define SHA256_PREFIX	  "sha256:"
#define SHA256_PREFIX_LEN 7u
/* Names listed in a host-mismatch message before "...". */
#define MISMATCH_NAMES	  6
/* Longest piece of certificate text quoted in a message. */
#define QUOTE_MAX	  96u

enum allow_kind { ALLOW_NAME, ALLOW_IP, ALLOW_SHA256 };

struct allow_entry {
	enum allow_kind kind;
	char text[GISA_TLS_MAX_NAME + 1]; /* the name or address; "sha256:hex" normalized */
	unsigned char md[SHA256_LEN];
};

struct ctx_data {
	enum gisa_tls_role role;
	size_t n;
	struct allow_entry *v;
};

struct gisa_tls_ctx {
	SSL_CTX *ssl_ctx;
	enum gisa_tls_role role;
};

struct conn_data {
	char host[GISA_TLS_MAX_NAME + 1]; /* client: the dialled host; "" on a server */
	bool refused;			  /* verify_cert refused the peer: why says so */
	struct gisa_tls_error why;
	int alert_sent; /* the last alert, -1 if none */
	int alert_received;
};

/* ---- errors ------------------------------------------------------------- */

static void set_err(struct gisa_tls_error *err, enum gisa_tls_errkind kind, int alert,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void set_err(struct gisa_tls_error *err, enum gisa_tls_errkind kind, int alert,
		    const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	err->kind = kind;
	err->alert = alert;
	err->sys_errno = 0;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

static void clear_err(struct gisa_tls_error *err)
{
	if (err)
		set_err(err, GISA_TLS_OK, -1, "%s", "");
}

static const char *const kind_names[] = {
	[GISA_TLS_OK] = "ok",
	[GISA_TLS_ERR_FILE] = "file",
	[GISA_TLS_ERR_PEM] = "pem",
	[GISA_TLS_ERR_KEY] = "key",
	[GISA_TLS_ERR_ALLOW] = "allow-list",
	[GISA_TLS_ERR_NO_PEER_CERT] = "no-peer-certificate",
	[GISA_TLS_ERR_UNKNOWN_CA] = "unknown-ca",
	[GISA_TLS_ERR_EXPIRED] = "expired",
	[GISA_TLS_ERR_NOT_YET_VALID] = "not-yet-valid",
	[GISA_TLS_ERR_VERIFY] = "verify",
	[GISA_TLS_ERR_NOT_ALLOWED] = "not-allowed",
	[GISA_TLS_ERR_HOST_MISMATCH] = "host-mismatch",
	[GISA_TLS_ERR_PEER_REFUSED] = "peer-refused",
	[GISA_TLS_ERR_VERSION] = "version",
	[GISA_TLS_ERR_NOT_TLS] = "not-tls",
	[GISA_TLS_ERR_PROTOCOL] = "protocol",
	[GISA_TLS_ERR_CLOSED] = "closed",
	[GISA_TLS_ERR_IO] = "io",
	[GISA_TLS_ERR_NOMEM] = "nomem",
};

const char *gisa_tls_errkind_name(enum gisa_tls_errkind kind)
{
	if ((size_t)kind < sizeof(kind_names) / sizeof(kind_names[0]) && kind_names[kind])
		return kind_names[kind];
	return "unknown";
}

/* The text of OpenSSL's last queued error, for messages about our own files. */
static const char *ossl_reason(void)
{
	const char *r = ERR_reason_error_string(ERR_peek_last_error());

	return r ? r : "no details";
}

static int nomem(struct gisa_tls_error *err)
{
	set_err(err, GISA_TLS_ERR_NOMEM, -1, "out of memory");
	return -ENOMEM;
}

/*
 * Append at most max bytes of untrusted text s (len bytes, not necessarily
 * NUL-terminated) to out, unprintable bytes as '?', "..." when cut (T5).
 */
static void put_text(char *out, size_t outsz, const void *s, size_t len, size_t max)
{
	const unsigned char *p = s;
	size_t o = strlen(out);

	for (size_t i = 0; i < len && o + 1 < outsz; i++) {
		if (i == max) {
			for (int k = 0; k < 3 && o + 1 < outsz; k++)
				out[o++] = '.';
			break;
		}
		/* Quote characters too: messages quote names as `name'. */
		bool keep = p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\'' && p[i] != '`';

		out[o++] = keep ? (char)p[i] : '?';
	}
	out[o] = '\0';
}

static void put_str(char *out, size_t outsz, const char *s)
{
	size_t o = strlen(out);

	snprintf(out + o, outsz - o, "%s", s);
}

/* ---- certificate facts -------------------------------------------------- */

static int fingerprint(X509 *cert, unsigned char md[SHA256_LEN])
{
	unsigned int n = 0;

	if (!X509_digest(cert, EVP_sha256(), md, &n) || n != SHA256_LEN)
		return -ENOMEM;
	return 0;
}

static void fingerprint_text(const unsigned char md[SHA256_LEN], char *out)
{
	static const char hex[] = "0123456789abcdef";

	memcpy(out, SHA256_PREFIX, SHA256_PREFIX_LEN);
	for (size_t i = 0; i < SHA256_LEN; i++) {
		out[SHA256_PREFIX_LEN + 2 * i] = hex[md[i] >> 4];
		out[SHA256_PREFIX_LEN + 2 * i + 1] = hex[md[i] & 15];
	}
	out[GISA_TLS_FINGERPRINT_LEN] = '\0';
}

/* The SANs of cert, or NULL; free with GENERAL_NAMES_free. */
static GENERAL_NAMES *sans(X509 *cert)
{
	return X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
}

static bool has_dns_san(const GENERAL_NAMES *gens)
{
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++)
		if (sk_GENERAL_NAME_value(gens, i)->type == GEN_DNS)
			return true;
	return false;
}

/* The next CN of cert's subject after position *pos (-1: the first), or NULL. */
static const ASN1_STRING *next_cn(X509 *cert, int *pos)
{
	const X509_NAME *subj = X509_get_subject_name(cert);
	X509_NAME_ENTRY *e;

	*pos = X509_NAME_get_index_by_NID(subj, NID_commonName, *pos);
	if (*pos < 0)
		return NULL;
	e = X509_NAME_get_entry(subj, *pos);
	return e ? X509_NAME_ENTRY_get_data(e) : NULL;
}

/* A display name (at most max bytes): the first DNS SAN, else the first CN, else "". */
static void display_name(X509 *cert, char *out, size_t outsz, size_t max)
{
	GENERAL_NAMES *gens = sans(cert);
	const ASN1_STRING *s = NULL;
	int pos = -1;

	out[0] = '\0';
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type == GEN_DNS) {
			s = g->d.dNSName;
			break;
		}
	}
	if (!s)
		s = next_cn(cert, &pos);
	if (s)
		put_text(out, outsz, ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s), max);
	GENERAL_NAMES_free(gens);
}

/* "certificate of `NAME' (sha256:HEX)", the way every refusal names a peer. */
static void describe_cert(X509 *cert, char *out, size_t outsz)
{
	char name[QUOTE_MAX + 8];
	char fp[GISA_TLS_FINGERPRINT_LEN + 1] = "sha256:?";
	unsigned char md[SHA256_LEN];

	display_name(cert, name, sizeof(name), QUOTE_MAX);
	if (fingerprint(cert, md) == 0)
		fingerprint_text(md, fp);
	snprintf(out, outsz, "certificate of `%s' (%s)", name[0] ? name : "(no name)", fp);
}

static void dn_text(const X509_NAME *dn, char *out, size_t outsz)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n;

	out[0] = '\0';
	if (!b)
		return;
	if (X509_NAME_print_ex(b, dn, 0, XN_FLAG_RFC2253) >= 0) {
		n = BIO_get_mem_data(b, &p);
		if (n > 0 && p)
			put_text(out, outsz, p, (size_t)n, QUOTE_MAX);
	}
	BIO_free(b);
}

static void time_text(const ASN1_TIME *t, char *out, size_t outsz)
{
	struct tm tm;

	if (!t || !ASN1_TIME_to_tm(t, &tm) || !strftime(out, outsz, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(out, outsz, "(unreadable time)");
}

/* The names a server certificate offers for the host check, for a message. */
static void names_text(X509 *cert, char *out, size_t outsz)
{
	GENERAL_NAMES *gens = sans(cert);
	int shown = 0, pos = -1;
	const ASN1_STRING *cn;

	out[0] = '\0';
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		char ip[INET6_ADDRSTRLEN];
		const ASN1_OCTET_STRING *a;

		if (g->type != GEN_DNS && g->type != GEN_IPADD)
			continue;
		if (shown == MISMATCH_NAMES) {
			put_str(out, outsz, ", ...");
			break;
		}
		if (shown++)
			put_str(out, outsz, ", ");
		if (g->type == GEN_DNS) {
			put_text(out, outsz, ASN1_STRING_get0_data(g->d.dNSName),
				 (size_t)ASN1_STRING_length(g->d.dNSName), QUOTE_MAX);
			continue;
		}
		a = g->d.iPAddress;
		if ((ASN1_STRING_length(a) == 4 &&
		     inet_ntop(AF_INET, ASN1_STRING_get0_data(a), ip, sizeof(ip))) ||
		    (ASN1_STRING_length(a) == 16 &&
		     inet_ntop(AF_INET6, ASN1_STRING_get0_data(a), ip, sizeof(ip))))
			put_str(out, outsz, ip);
		else
			put_str(out, outsz, "(bad address)");
	}
	if (!has_dns_san(gens)) {
		cn = next_cn(cert, &pos);
		if (cn) {
			if (shown++)
				put_str(out, outsz, ", ");
			put_str(out, outsz, "CN ");
			put_text(out, outsz, ASN1_STRING_get0_data(cn),
				 (size_t)ASN1_STRING_length(cn), QUOTE_MAX);
		}
	}
	if (!shown)
		put_str(out, outsz, "no name");
	GENERAL_NAMES_free(gens);
}

/* ---- the allow-list ----------------------------------------------------- */

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

/* "sha256:" is stripped; hex pairs, optionally all separated by ':'. */
static bool parse_sha256(const char *s, unsigned char md[SHA256_LEN])
{
	size_t len = strlen(s);
	bool colons = len == 3 * SHA256_LEN - 1;

	if (len != 2 * SHA256_LEN && !colons)
		return false;
	for (size_t i = 0; i < SHA256_LEN; i++) {
		const char *p = s + (colons ? 3 * i : 2 * i);
		int hi = hexval(p[0]), lo = hexval(p[1]);

		if (hi < 0 || lo < 0 || (colons && i + 1 < SHA256_LEN && p[2] != ':'))
			return false;
		md[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

static bool is_ip(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* A host name: labels of letters, digits, '-' and '_', separated by dots. */
static bool is_name(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len == 0 || len > GISA_TLS_MAX_NAME || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_') ||
		    ++label > 63)
			return false;
	}
	return true;
}

static int parse_allow(const char *entry, struct allow_entry *ret, struct gisa_tls_error *err)
{
	struct allow_entry e = {0};
	char quoted[QUOTE_MAX + 8] = "";

	if (!entry) {
		set_err(err, GISA_TLS_ERR_ALLOW, -1, "allow-list entry is missing");
		return -EINVAL;
	}
	put_text(quoted, sizeof(quoted), entry, strlen(entry), QUOTE_MAX);
	if (strncasecmp(entry, SHA256_PREFIX, SHA256_PREFIX_LEN) == 0) {
		if (!parse_sha256(entry + SHA256_PREFIX_LEN, e.md)) {
			set_err(err, GISA_TLS_ERR_ALLOW, -1,
				"allow-list entry `%s' is not sha256: followed by 64 hex digits "
				"(optionally in colon-separated pairs)",
				quoted);
			return -EINVAL;
		}
		e.kind = ALLOW_SHA256;
		fingerprint_text(e.md, e.text);
	} else if (is_ip(entry)) {
		e.kind = ALLOW_IP;
		snprintf(e.text, sizeof(e.text), "%s", entry);
	} else if (is_name(entry)) {
		e.kind = ALLOW_NAME;
		snprintf(e.text, sizeof(e.text), "%s", entry);
	} else {
		set_err(err, GISA_TLS_ERR_ALLOW, -1,
			"allow-list entry `%s' is neither a host name (letters, digits, '-', '_', "
			"dots; no wildcards; at most %u bytes), an IP address, nor sha256:HEX",
			quoted, GISA_TLS_MAX_NAME);
		return -EINVAL;
	}
	if (ret)
		*ret = e;
	return 0;
}

int gisa_tls_allow_check(const char *entry, struct gisa_tls_error *err)
{
	clear_err(err);
	return parse_allow(entry, NULL, err);
}

static bool asn1_name_eq(const ASN1_STRING *s, const char *name)
{
	size_t len = strlen(name);

	return s && (size_t)ASN1_STRING_length(s) == len &&
	       memchr(ASN1_STRING_get0_data(s), '\0', len) == NULL &&
	       strncasecmp((const char *)ASN1_STRING_get0_data(s), name, len) == 0;
}

/* Does a name entry equal a DNS SAN, or a CN when there is no DNS SAN? */
static bool name_matches(X509 *cert, const GENERAL_NAMES *gens, const char *name)
{
	const ASN1_STRING *cn;
	int pos = -1;

	if (has_dns_san(gens)) {
		for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
			const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

			if (g->type == GEN_DNS && asn1_name_eq(g->d.dNSName, name))
				return true;
		}
		return false;
	}
	while ((cn = next_cn(cert, &pos)))
		if (asn1_name_eq(cn, name))
			return true;
	return false;
}

/*
 * The identity checks on a certificate whose chain has verified: the
 * allow-list, then the dialled host (NULL on a server).  0 with *peer
 * filled, or -EACCES with *why and *ret_x509err (the verification error
 * that makes OpenSSL pick the alert).
 */
static int check_identity(const struct ctx_data *d, const char *host, X509 *cert,
			  struct gisa_tls_peer *peer, struct gisa_tls_error *why, int *ret_x509err)
{
	unsigned char md[SHA256_LEN];
	char desc[GISA_TLS_MSG_MAX / 2];
	GENERAL_NAMES *gens;
	const struct allow_entry *hit = NULL;
	int r;

	memset(peer, 0, sizeof(*peer));
	if (fingerprint(cert, md))
		return nomem(why);
	fingerprint_text(md, peer->fingerprint);
	display_name(cert, peer->name, sizeof(peer->name), sizeof(peer->name) - 4);
	describe_cert(cert, desc, sizeof(desc));

	gens = sans(cert);
	for (size_t i = 0; i < d->n && !hit; i++) {
		const struct allow_entry *e = &d->v[i];

		switch (e->kind) {
		case ALLOW_SHA256:
			if (memcmp(e->md, md, SHA256_LEN) == 0)
				hit = e;
			break;
		case ALLOW_IP:
			if (X509_check_ip_asc(cert, e->text, 0) == 1)
				hit = e;
			break;
		case ALLOW_NAME:
			if (name_matches(cert, gens, e->text))
				hit = e;
			break;
		}
	}
	GENERAL_NAMES_free(gens);
	if (!hit) {
		*ret_x509err = X509_V_ERR_CERT_REJECTED;
		set_err(why, GISA_TLS_ERR_NOT_ALLOWED, -1, "%s is not on the allow-list", desc);
		return -EACCES;
	}
	snprintf(peer->matched, sizeof(peer->matched), "%s", hit->text);

	if (d->role == GISA_TLS_CLIENT) {
		char names[GISA_TLS_MSG_MAX / 2];

		if (!host || !host[0]) {
			*ret_x509err = X509_V_ERR_HOSTNAME_MISMATCH;
			set_err(why, GISA_TLS_ERR_HOST_MISMATCH, -1,
				"no dialled host is known for this connection, so the server "
				"certificate cannot be checked");
			return -EACCES;
		}
		if (is_ip(host)) {
			r = X509_check_ip_asc(cert, host, 0);
			*ret_x509err = X509_V_ERR_IP_ADDRESS_MISMATCH;
		} else {
			r = X509_check_host(cert, host, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
					    NULL);
			*ret_x509err = X509_V_ERR_HOSTNAME_MISMATCH;
		}
		if (r < 0)
			return nomem(why);
		if (r == 0) {
			names_text(cert, names, sizeof(names));
			set_err(why, GISA_TLS_ERR_HOST_MISMATCH, -1,
				"server certificate names `%s', not the dialled `%s' (%s)", names,
				host, desc);
			return -EACCES;
		}
	}
	*ret_x509err = X509_V_OK;
	return 0;
}

/* ---- per-context and per-connection data -------------------------------- */

static CRYPTO_ONCE index_once = CRYPTO_ONCE_STATIC_INIT;
static int ctx_index = -1;
static int conn_index = -1;

static void ctx_data_free(struct ctx_data *d)
{
	if (!d)
		return;
	free(d->v);
	free(d);
}

static void ctx_data_free_cb(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
			     void *argp)
{
	ctx_data_free(ptr);
}

static void conn_data_free_cb(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
			      void *argp)
{
	free(ptr);
}

static void init_indexes(void)
{
	ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, ctx_data_free_cb);
	conn_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_data_free_cb);
}

static bool indexes_ready(void)
{
	return CRYPTO_THREAD_run_once(&index_once, init_indexes) && ctx_index >= 0 &&
	       conn_index >= 0;
}

static struct conn_data *conn_get(const SSL *ssl)
{
	if (!ssl || !indexes_ready())
		return NULL;
	return SSL_get_ex_data(ssl, conn_index);
}

static const struct ctx_data *ctx_data_of(const SSL *ssl)
{
	if (!ssl || !indexes_ready())
		return NULL;
	return SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_index);
}

/* ---- certificate verification (T1) ------------------------------------- */

static void describe_verify_failure(X509_STORE_CTX *xs, X509 *leaf, struct gisa_tls_error *why)
{
	int e = X509_STORE_CTX_get_error(xs);
	X509 *cur = X509_STORE_CTX_get_current_cert(xs);
	char desc[GISA_TLS_MSG_MAX / 2], which[GISA_TLS_MSG_MAX / 4] = "", t[64], dn[QUOTE_MAX + 8];

	describe_cert(leaf, desc, sizeof(desc));
	/* A failure higher in the chain names the certificate it is about. */
	if (cur && cur != leaf && X509_STORE_CTX_get_error_depth(xs) > 0) {
		dn_text(X509_get_subject_name(cur), dn, sizeof(dn));
		snprintf(which, sizeof(which), ": its issuer `%s'", dn);
	}
	if (!cur)
		cur = leaf;

	switch (e) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		time_text(X509_get0_notAfter(cur), t, sizeof(t));
		set_err(why, GISA_TLS_ERR_EXPIRED, -1, "%s%s expired at %s", desc, which, t);
		break;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		time_text(X509_get0_notBefore(cur), t, sizeof(t));
		set_err(why, GISA_TLS_ERR_NOT_YET_VALID, -1, "%s%s is not valid before %s", desc,
			which, t);
		break;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		dn_text(X509_get_issuer_name(cur), dn, sizeof(dn));
		set_err(why, GISA_TLS_ERR_UNKNOWN_CA, -1, "%s is signed by an unknown CA `%s'",
			desc, dn);
		break;
	default:
		set_err(why, GISA_TLS_ERR_VERIFY, -1, "%s%s failed verification: %s", desc, which,
			X509_verify_cert_error_string(e));
		break;
	}
}

static void record_refusal(struct conn_data *c, const struct gisa_tls_error *why)
{
	if (c && !c->refused) {
		c->refused = true;
		c->why = *why;
	}
}

static int verify_cert(X509_STORE_CTX *xs, void *arg)
{
	const struct ctx_data *d = arg;
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct conn_data *c = conn_get(ssl);
	X509 *leaf = X509_STORE_CTX_get0_cert(xs);
	struct gisa_tls_error why;
	struct gisa_tls_peer peer;
	int x509err = X509_V_OK;

	if (!leaf) {
		X509_STORE_CTX_set_error(xs, X509_V_ERR_UNSPECIFIED);
		return 0;
	}
	if (X509_verify_cert(xs) <= 0) {
		describe_verify_failure(xs, leaf, &why);
		record_refusal(c, &why);
		return 0;
	}
	if (check_identity(d, c ? c->host : NULL, leaf, &peer, &why, &x509err)) {
		X509_STORE_CTX_set_error(xs,
					 x509err != X509_V_OK ? x509err : X509_V_ERR_OUT_OF_MEM);
		record_refusal(c, &why);
		return 0;
	}
	return 1;
}

/* Remember the alerts, so a refusal can say which one went out. */
static void info_cb(const SSL *ssl, int where, int ret)
{
	struct conn_data *c;

	if (!(where & SSL_CB_ALERT))
		return;
	c = conn_get(ssl);
	if (!c)
		return;
	if (where & SSL_CB_WRITE)
		c->alert_sent = ret & 0xff;
	else
		c->alert_received = ret & 0xff;
}

/* ---- files --------------------------------------------------------------- */

static int read_capped(const char *what, const char *path, char **ret, size_t *ret_len,
		       struct gisa_tls_error *err)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, r = 0;

	if (!path || !path[0]) {
		set_err(err, GISA_TLS_ERR_FILE, -1, "no %s file given", what);
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		set_err(err, GISA_TLS_ERR_FILE, -1, "%s `%s': %s", what, path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st)) {
		r = -errno;
		set_err(err, GISA_TLS_ERR_FILE, -1, "%s `%s': %s", what, path, strerror(-r));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		set_err(err, GISA_TLS_ERR_FILE, -1, "%s `%s' is not a regular file", what, path);
		goto out;
	}
	if (st.st_size > (off_t)GISA_TLS_MAX_FILE)
		goto too_big;
	/* One byte more than the cap tells a file that grew since fstat. */
	buf = malloc(GISA_TLS_MAX_FILE + 1);
	if (!buf) {
		r = nomem(err);
		goto out;
	}
	while (len <= GISA_TLS_MAX_FILE) {
		ssize_t n = read(fd, buf + len, GISA_TLS_MAX_FILE + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			set_err(err, GISA_TLS_ERR_FILE, -1, "%s `%s': %s", what, path,
				strerror(-r));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > GISA_TLS_MAX_FILE)
		goto too_big;
	*ret = buf;
	*ret_len = len;
	buf = NULL;
	goto out;
too_big:
	r = -EFBIG;
	set_err(err, GISA_TLS_ERR_FILE, -1, "%s `%s' is larger than %u bytes", what, path,
		GISA_TLS_MAX_FILE);
out:
	if (buf) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	close(fd);
	return r;
}

/* Never prompt: an encrypted key is an error, not a question. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

/* Every certificate of a PEM file (other blocks are skipped), at least one. */
static int load_certs(const char *what, const char *path, size_t max, STACK_OF(X509) * *ret,
		      struct gisa_tls_error *err)
{
	STACK_OF(X509) *sk = NULL;
	BIO *b = NULL;
	char *buf = NULL;
	size_t len = 0;
	int r;

	r = read_capped(what, path, &buf, &len, err);
	if (r)
		return r;
	b = BIO_new_mem_buf(buf, (int)len);
	sk = sk_X509_new_null();
	if (!b || !sk) {
		r = nomem(err);
		goto fail;
	}
	ERR_clear_error();
	for (;;) {
		X509 *x = PEM_read_bio_X509(b, NULL, no_password, NULL);
		unsigned long e;

		if (!x) {
			e = ERR_peek_last_error();
			if (ERR_GET_LIB(e) == ERR_LIB_PEM &&
			    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
				break;
			set_err(err, GISA_TLS_ERR_PEM, -1,
				"%s `%s': certificate %d cannot be parsed: %s", what, path,
				sk_X509_num(sk) + 1, ossl_reason());
			r = -EINVAL;
			goto fail;
		}
		if ((size_t)sk_X509_num(sk) == max) {
			X509_free(x);
			set_err(err, GISA_TLS_ERR_PEM, -1,
				"%s `%s' holds more than %zu certificates", what, path, max);
			r = -E2BIG;
			goto fail;
		}
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			r = nomem(err);
			goto fail;
		}
	}
	ERR_clear_error();
	if (sk_X509_num(sk) == 0) {
		set_err(err, GISA_TLS_ERR_PEM, -1,
			"%s `%s' holds no certificate (expected PEM \"BEGIN CERTIFICATE\")", what,
			path);
		r = -EINVAL;
		goto fail;
	}
	*ret = sk;
	sk = NULL;
fail:
	sk_X509_pop_free(sk, X509_free);
	BIO_free(b);
	free(buf);
	return r;
}

static int load_key(const char *path, EVP_PKEY **ret, struct gisa_tls_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	BIO *b;
	EVP_PKEY *k;
	int r;

	r = read_capped("key", path, &buf, &len, err);
	if (r)
		return r;
	b = BIO_new_mem_buf(buf, (int)len);
	if (!b) {
		r = nomem(err);
		goto out;
	}
	ERR_clear_error();
	k = PEM_read_bio_PrivateKey(b, NULL, no_password, NULL);
	if (!k) {
		set_err(err, GISA_TLS_ERR_PEM, -1,
			"key `%s' holds no usable private key (an unencrypted PEM key is "
			"expected): %s",
			path, ossl_reason());
		r = -EINVAL;
	} else {
		*ret = k;
	}
	ERR_clear_error();
	BIO_free(b);
out:
	OPENSSL_cleanse(buf, len);
	free(buf);
	return r;
}

/* ---- contexts ------------------------------------------------------------ */

static int build_allow(const struct gisa_tls_config *cfg, struct ctx_data *d,
		       struct gisa_tls_error *err)
{
	if (cfg->n_allow == 0 || !cfg->allow) {
		set_err(err, GISA_TLS_ERR_ALLOW, -1,
			"the allow-list is empty: no peer could ever be admitted");
		return -EINVAL;
	}
	if (cfg->n_allow > GISA_TLS_MAX_ALLOW) {
		set_err(err, GISA_TLS_ERR_ALLOW, -1,
			"the allow-list has %zu entries, more than the %u allowed", cfg->n_allow,
			GISA_TLS_MAX_ALLOW);
		return -E2BIG;
	}
	d->v = calloc(cfg->n_allow, sizeof(*d->v));
	if (!d->v)
		return nomem(err);
	for (size_t i = 0; i < cfg->n_allow; i++) {
		int r = parse_allow(cfg->allow[i], &d->v[i], err);

		if (r)
			return r;
	}
	d->n = cfg->n_allow;
	return 0;
}

static int use_identity(SSL_CTX *sc, const struct gisa_tls_config *cfg, struct gisa_tls_error *err)
{
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *key = NULL;
	int r;

	r = load_certs("certificate", cfg->cert_file, GISA_TLS_MAX_CHAIN, &chain, err);
	if (r)
		return r;
	r = load_key(cfg->key_file, &key, err);
	if (r)
		goto out;
	if (SSL_CTX_use_certificate(sc, sk_X509_value(chain, 0)) != 1) {
		set_err(err, GISA_TLS_ERR_PEM, -1, "certificate `%s' cannot be used: %s",
			cfg->cert_file, ossl_reason());
		r = -EINVAL;
		goto out;
	}
	for (int i = 1; i < sk_X509_num(chain); i++) {
		if (SSL_CTX_add1_chain_cert(sc, sk_X509_value(chain, i)) != 1) {
			r = nomem(err);
			goto out;
		}
	}
	if (SSL_CTX_use_PrivateKey(sc, key) != 1 || SSL_CTX_check_private_key(sc) != 1) {
		set_err(err, GISA_TLS_ERR_KEY, -1, "key `%s' does not match certificate `%s'",
			cfg->key_file, cfg->cert_file);
		r = -EINVAL;
		goto out;
	}
out:
	ERR_clear_error();
	EVP_PKEY_free(key);
	sk_X509_pop_free(chain, X509_free);
	return r;
}

static int use_ca(SSL_CTX *sc, const char *path, struct gisa_tls_error *err)
{
	STACK_OF(X509) *cas = NULL;
	X509_STORE *store = SSL_CTX_get_cert_store(sc);
	int r;

	r = load_certs("CA file", path, GISA_TLS_MAX_CA_CERTS, &cas, err);
	if (r)
		return r;
	for (int i = 0; i < sk_X509_num(cas); i++) {
		if (X509_STORE_add_cert(store, sk_X509_value(cas, i)) != 1) {
			r = nomem(err);
			break;
		}
	}
	ERR_clear_error();
	sk_X509_pop_free(cas, X509_free);
	return r;
}

int gisa_tls_ctx_new(enum gisa_tls_role role, const struct gisa_tls_config *cfg,
		     struct gisa_tls_ctx **ret, struct gisa_tls_error *err)
{
	struct gisa_tls_ctx *ctx = NULL;
	struct ctx_data *d = NULL;
	SSL_CTX *sc = NULL;
	int r;

	clear_err(err);
	if (!cfg || !ret || (role != GISA_TLS_SERVER && role != GISA_TLS_CLIENT)) {
		set_err(err, GISA_TLS_ERR_FILE, -1, "invalid arguments");
		return -EINVAL;
	}
	if (!indexes_ready())
		return nomem(err);
	d = calloc(1, sizeof(*d));
	ctx = calloc(1, sizeof(*ctx));
	if (!d || !ctx) {
		r = nomem(err);
		goto fail;
	}
	d->role = role;
	r = build_allow(cfg, d, err);
	if (r)
		goto fail;

	sc = SSL_CTX_new(role == GISA_TLS_SERVER ? TLS_server_method() : TLS_client_method());
	if (!sc || SSL_CTX_set_ex_data(sc, ctx_index, d) != 1) {
		r = nomem(err);
		goto fail;
	}
	d = NULL; /* owned by sc now: freed with it */

	/* T3: TLS 1.3 only, no resumption (no cache, no tickets). */
	if (SSL_CTX_set_min_proto_version(sc, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(sc, TLS1_3_VERSION) != 1) {
		set_err(err, GISA_TLS_ERR_PROTOCOL, -1, "this OpenSSL cannot do TLS 1.3");
		r = -EPROTONOSUPPORT;
		goto fail;
	}
	SSL_CTX_set_options(sc, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(sc, SSL_SESS_CACHE_OFF);
	if (role == GISA_TLS_SERVER)
		SSL_CTX_set_num_tickets(sc, 0);

	r = use_identity(sc, cfg, err);
	if (r)
		goto fail;
	r = use_ca(sc, cfg->ca_file, err);
	if (r)
		goto fail;

	SSL_CTX_set_verify(sc,
			   role == GISA_TLS_SERVER
				   ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
				   : SSL_VERIFY_PEER,
			   NULL);
	SSL_CTX_set_verify_depth(sc, GISA_TLS_VERIFY_DEPTH);
	SSL_CTX_set_cert_verify_callback(sc, verify_cert, SSL_CTX_get_ex_data(sc, ctx_index));
	SSL_CTX_set_info_callback(sc, info_cb);
	if (cfg->verify_time)
		X509_VERIFY_PARAM_set_time(SSL_CTX_get0_param(sc), cfg->verify_time);

	ctx->ssl_ctx = sc;
	ctx->role = role;
	*ret = ctx;
	ERR_clear_error();
	return 0;
fail:
	ERR_clear_error();
	SSL_CTX_free(sc);
	ctx_data_free(d);
	free(ctx);
	return r;
}

struct gisa_tls_ctx *gisa_tls_ctx_free(struct gisa_tls_ctx *ctx)
{
	if (ctx) {
		SSL_CTX_free(ctx->ssl_ctx);
		free(ctx);
	}
	return NULL;
}

SSL_CTX *gisa_tls_ctx_ssl_ctx(const struct gisa_tls_ctx *ctx)
{
	return ctx->ssl_ctx;
}

enum gisa_tls_role gisa_tls_ctx_role(const struct gisa_tls_ctx *ctx)
{
	return ctx->role;
}

/* ---- connections --------------------------------------------------------- */

int gisa_tls_ssl_new(struct gisa_tls_ctx *ctx, int fd, const char *dialled_host, SSL **ret,
		     struct gisa_tls_error *err)
{
	struct conn_data *c;
	SSL *ssl;

	clear_err(err);
	if (!ctx || !ret) {
		set_err(err, GISA_TLS_ERR_PROTOCOL, -1, "invalid arguments");
		return -EINVAL;
	}
	if (ctx->role == GISA_TLS_CLIENT &&
	    (!dialled_host || !(is_ip(dialled_host) || is_name(dialled_host)))) {
		char quoted[QUOTE_MAX + 8] = "";

		if (dialled_host)
			put_text(quoted, sizeof(quoted), dialled_host, strlen(dialled_host),
				 QUOTE_MAX);
		set_err(err, GISA_TLS_ERR_HOST_MISMATCH, -1,
			"dialled host `%s' is neither a host name nor an IP address", quoted);
		return -EINVAL;
	}
	if (!indexes_ready())
		return nomem(err);
	c = calloc(1, sizeof(*c));
	ssl = SSL_new(ctx->ssl_ctx);
	if (!c || !ssl || SSL_set_ex_data(ssl, conn_index, c) != 1) {
		free(c);
		SSL_free(ssl);
		ERR_clear_error();
		return nomem(err);
	}
	c->alert_sent = -1;
	c->alert_received = -1;
	if (ctx->role == GISA_TLS_CLIENT) {
		snprintf(c->host, sizeof(c->host), "%s", dialled_host);
		/* SNI carries names only (RFC 6066): no addresses. */
		if (!is_ip(dialled_host) && SSL_set_tlsext_host_name(ssl, dialled_host) != 1)
			goto nomem;
		SSL_set_connect_state(ssl);
	} else {
		SSL_set_accept_state(ssl);
	}
	if (fd >= 0 && SSL_set_fd(ssl, fd) != 1)
		goto nomem;
	*ret = ssl;
	return 0;
nomem:
	SSL_free(ssl);
	ERR_clear_error();
	return nomem(err);
}

/* The alert OpenSSL reports in an error reason (received alerts only). */
static int reason_alert(int reason)
{
	return reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256
		       ? reason - SSL_AD_REASON_OFFSET
		       : -1;
}

/* OpenSSL 3.0 names no TLS 1.3 alert: name those a peer may send us. */
static const char *alert_name(int alert)
{
	switch (alert) {
	case SSL_AD_MISSING_EXTENSION:
		return "missing extension";
	case SSL_AD_CERTIFICATE_REQUIRED:
		return "certificate required";
	case SSL_AD_NO_APPLICATION_PROTOCOL:
		return "no application protocol";
	default:
		return SSL_alert_desc_string_long(alert);
	}
}

static bool is_cert_alert(int alert)
{
	switch (alert) {
	case SSL_AD_BAD_CERTIFICATE:
	case SSL_AD_UNSUPPORTED_CERTIFICATE:
	case SSL_AD_CERTIFICATE_REVOKED:
	case SSL_AD_CERTIFICATE_EXPIRED:
	case SSL_AD_CERTIFICATE_UNKNOWN:
	case SSL_AD_UNKNOWN_CA:
	case SSL_AD_ACCESS_DENIED:
	case SSL_AD_CERTIFICATE_REQUIRED:
	case SSL_AD_HANDSHAKE_FAILURE:
		return true;
	default:
		return false;
	}
}

/* Classify an OpenSSL error code (0 = none), with c's alerts to hand. */
static int explain_code(const struct conn_data *c, unsigned long code, struct gisa_tls_error *err)
{
	int reason = ERR_GET_REASON(code), alert = reason_alert(reason);
	int sent = c ? c->alert_sent : -1;
	const char *text = ERR_reason_error_string(code);

	if (!text)
		text = "no details";
	if (code == 0) {
		set_err(err, GISA_TLS_ERR_CLOSED, -1, "the peer closed the connection");
		return -ECONNRESET;
	}
	if (ERR_GET_LIB(code) != ERR_LIB_SSL) {
		if (ERR_GET_LIB(code) == ERR_LIB_SYS) {
			set_err(err, GISA_TLS_ERR_IO, -1, "socket error: %s", strerror(reason));
			if (err)
				err->sys_errno = reason;
			return reason > 0 ? -reason : -EIO;
		}
		set_err(err, GISA_TLS_ERR_PROTOCOL, sent, "TLS failure: %s", text);
		return -EPROTO;
	}
	if (alert == SSL_AD_PROTOCOL_VERSION) {
		set_err(err, GISA_TLS_ERR_VERSION, alert,
			"the peer refused the protocol version (alert `%s'): TLS 1.3 is required",
			alert_name(alert));
		return -EPROTO;
	}
	if (alert == SSL_AD_CERTIFICATE_REQUIRED) {
		set_err(err, GISA_TLS_ERR_PEER_REFUSED, alert,
			"the peer requires a client certificate (alert `%s')", alert_name(alert));
		return -ECONNABORTED;
	}
	if (alert >= 0) {
		set_err(err, GISA_TLS_ERR_PEER_REFUSED, alert,
			is_cert_alert(alert) ? "the peer refused our certificate (alert `%s')"
					     : "the peer aborted the connection (alert `%s')",
			alert_name(alert));
		return -ECONNABORTED;
	}
	switch (reason) {
	case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
		set_err(err, GISA_TLS_ERR_NO_PEER_CERT, sent,
			"the peer sent no certificate (a client certificate is required)");
		return -EACCES;
	case SSL_R_WRONG_VERSION_NUMBER:
	case SSL_R_HTTP_REQUEST:
	case SSL_R_HTTPS_PROXY_REQUEST:
	case SSL_R_PACKET_LENGTH_TOO_LONG:
	case SSL_R_UNKNOWN_PROTOCOL:
	case SSL_R_WRONG_SSL_VERSION:
		set_err(err, GISA_TLS_ERR_NOT_TLS, sent,
			"the peer does not speak TLS (plaintext or another protocol: %s)", text);
		return -EPROTO;
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_NO_PROTOCOLS_AVAILABLE:
	case SSL_R_VERSION_TOO_LOW:
	case SSL_R_VERSION_TOO_HIGH:
		set_err(err, GISA_TLS_ERR_VERSION, sent,
			"the peer offers no TLS 1.3 (%s), and no other version is accepted", text);
		return -EPROTO;
	case SSL_R_UNEXPECTED_EOF_WHILE_READING:
		set_err(err, GISA_TLS_ERR_CLOSED, sent,
			"the peer closed the connection without a TLS close_notify");
		return -ECONNRESET;
	case SSL_R_CERTIFICATE_VERIFY_FAILED:
		set_err(err, GISA_TLS_ERR_VERIFY, sent,
			"the peer's certificate failed verification");
		return -EACCES;
	default:
		set_err(err, GISA_TLS_ERR_PROTOCOL, sent, "TLS failure: %s", text);
		return -EPROTO;
	}
}

/*
 * The most telling code of the queue: the first SSL-library reason,
 * else the first code.  The queue is emptied.
 */
static unsigned long take_error(void)
{
	unsigned long e, first = 0, ssl = 0;

	while ((e = ERR_get_error())) {
		if (!first)
			first = e;
		if (!ssl && ERR_GET_LIB(e) == ERR_LIB_SSL)
			ssl = e;
	}
	return ssl ? ssl : first;
}

int gisa_tls_explain(SSL *ssl, unsigned long errcode, struct gisa_tls_error *err)
{
	const struct conn_data *c = conn_get(ssl);

	clear_err(err);
	if (c && c->refused) {
		if (err) {
			*err = c->why;
			err->alert = c->alert_sent;
		}
		return c->why.kind == GISA_TLS_ERR_NOMEM ? -ENOMEM : -EACCES;
	}
	return explain_code(c, errcode, err);
}

/* After SSL_* returned r <= 0: -EAGAIN, 1 for an orderly close, or a failure. */
static int io_result(SSL *ssl, int r, struct gisa_tls_error *err)
{
	int e = SSL_get_error(ssl, r), sys = errno;
	const struct conn_data *c;
	unsigned long code;

	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		/*
		 * OpenSSL also reports a fatal alert received (or a handshake
		 * that never finished) as "zero return" on later reads: only a
		 * close_notify after a completed handshake is an orderly close.
		 */
		c = conn_get(ssl);
		if (c && c->alert_received > 0)
			return explain_code(
				c,
				ERR_PACK(ERR_LIB_SSL, 0, SSL_AD_REASON_OFFSET + c->alert_received),
				err);
		if (!SSL_is_init_finished(ssl)) {
			set_err(err, GISA_TLS_ERR_CLOSED, -1,
				"the connection ended before its handshake completed");
			return -ECONNRESET;
		}
		return 1;
	case SSL_ERROR_SYSCALL:
		code = take_error();
		if (code)
			return gisa_tls_explain(ssl, code, err);
		if (sys == 0 || sys == EPIPE || sys == ECONNRESET) {
			set_err(err, GISA_TLS_ERR_CLOSED, -1, "the peer closed the connection%s",
				sys ? "" : " (end of file)");
			return -ECONNRESET;
		}
		set_err(err, GISA_TLS_ERR_IO, -1, "socket error: %s", strerror(sys));
		if (err)
			err->sys_errno = sys;
		return -sys;
	default:
		return gisa_tls_explain(ssl, take_error(), err);
	}
}

int gisa_tls_handshake(SSL *ssl, struct gisa_tls_error *err)
{
	int r;

	clear_err(err);
	ERR_clear_error();
	errno = 0;
	r = SSL_do_handshake(ssl);
	if (r == 1)
		return 0;
	r = io_result(ssl, r, err);
	if (r == 1) {
		set_err(err, GISA_TLS_ERR_CLOSED, -1, "the peer closed during the handshake");
		return -ECONNRESET;
	}
	return r;
}

int gisa_tls_read(SSL *ssl, void *buf, size_t len, size_t *ret_n, struct gisa_tls_error *err)
{
	size_t n = 0;
	int r;

	clear_err(err);
	ERR_clear_error();
	errno = 0;
	*ret_n = 0;
	if (SSL_read_ex(ssl, buf, len, &n) == 1) {
		*ret_n = n;
		return 0;
	}
	r = io_result(ssl, 0, err);
	return r == 1 ? 0 : r;
}

int gisa_tls_write(SSL *ssl, const void *buf, size_t len, size_t *ret_n, struct gisa_tls_error *err)
{
	size_t n = 0;
	int r;

	clear_err(err);
	ERR_clear_error();
	errno = 0;
	*ret_n = 0;
	if (SSL_write_ex(ssl, buf, len, &n) == 1) {
		*ret_n = n;
		return 0;
	}
	r = io_result(ssl, 0, err);
	if (r == 1) {
		set_err(err, GISA_TLS_ERR_CLOSED, -1, "the peer closed the connection");
		return -ECONNRESET;
	}
	return r;
}

int gisa_tls_verify_peer(SSL *ssl, struct gisa_tls_peer *ret, struct gisa_tls_error *err)
{
	const struct ctx_data *d = ctx_data_of(ssl);
	const struct conn_data *c = conn_get(ssl);
	struct gisa_tls_peer peer;
	struct gisa_tls_error why;
	X509 *cert;
	int x509err = X509_V_OK, r;
	long vr;

	clear_err(err);
	if (!ssl || !SSL_is_init_finished(ssl) || !d) {
		set_err(err, GISA_TLS_ERR_PROTOCOL, -1, "the handshake has not completed");
		return -ENOTCONN;
	}
	cert = SSL_get0_peer_certificate(ssl);
	if (!cert) {
		set_err(err, GISA_TLS_ERR_NO_PEER_CERT, -1, "the peer presented no certificate");
		return -EACCES;
	}
	vr = SSL_get_verify_result(ssl);
	if (vr != X509_V_OK) {
		char desc[GISA_TLS_MSG_MAX / 2];

		describe_cert(cert, desc, sizeof(desc));
		set_err(err, GISA_TLS_ERR_VERIFY, -1, "%s failed verification: %s", desc,
			X509_verify_cert_error_string(vr));
		return -EACCES;
	}
	r = check_identity(d, c ? c->host : NULL, cert, &peer, &why, &x509err);
	if (r) {
		if (err)
			*err = why;
		return r;
	}
	if (ret)
		*ret = peer;
	return 0;
}
