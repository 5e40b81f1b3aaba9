/* SPDX-License-Identifier: MIT */
/*
 * Test certificates, made at test time with OpenSSL's API (never
 * committed): tcert_make_set(dir) writes the set below into dir, each as
 * NAME.crt (PEM certificate) and NAME.key (PEM private key, unencrypted).
 * All keys are EC P-256 (fast to generate); leaves carry
 * basicConstraints CA:FALSE, keyUsage digitalSignature and extendedKeyUsage
 * serverAuth + clientAuth (one gisad certificate serves both roles).
 *
 *   ca         "gisad test CA", self-signed, the CA both sides trust
 *   ca2        "gisad wrong CA", self-signed, trusted by nobody
 *   host-a     CN host-a, SAN DNS:host-a, DNS:localhost, IP:127.0.0.1 (by ca)
 *   host-b     CN cn-of-b, SAN DNS:host-b (by ca): the CN is not a SAN, so
 *              it does not count as a name
 *   host-c     CN host-c, no SAN at all (by ca): the CN is its name
 *   expired    as host-a, valid from 30 days ago to 1 day ago (by ca)
 *   future     as host-a, valid from 1 day ahead to 30 days ahead (by ca)
 *   wrongca    as host-a, signed by ca2
 *   wrongca-b  as host-b, signed by ca2
 * The CAs are valid from a year ago, every other certificate from 1 day
 * ago; all until about 10 years ahead.
 *
 * Header-only (static functions): each unit test is one source file, and
 * a small program (make-certs.c) writes the same set for scripts.
 */
#ifndef GISA_TEST_CERTGEN_H
#define GISA_TEST_CERTGEN_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define TCERT_DAY (24L * 3600L)

struct tcert {
	X509 *x;
	EVP_PKEY *k;
};

struct tcert_spec {
	const char *name; /* file base name */
	const char *cn;
	const char *san; /* "DNS:a,IP:1.2.3.4" in openssl's syntax, or NULL */
	long not_before; /* seconds from now */
	long not_after;
	bool ca;
	const char *issuer; /* name of an earlier spec; NULL = self-signed */
};

static void tcert_free(struct tcert *c)
{
	X509_free(c->x);
	EVP_PKEY_free(c->k);
	c->x = NULL;
	c->k = NULL;
}

static int tcert_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, v3, nid, value);
	int ok = ext && X509_add_ext(x, ext, -1) == 1;

	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* Make spec's certificate, signed by issuer (NULL: by itself). */
static int tcert_make(const struct tcert_spec *spec, const struct tcert *issuer, struct tcert *ret)
{
	static long serial = 1000;
	struct tcert c = {0};
	X509_NAME *subj = NULL;
	X509V3_CTX v3;
	int r = -1;

	c.k = EVP_EC_gen("P-256");
	c.x = X509_new();
	subj = X509_NAME_new();
	if (!c.k || !c.x || !subj)
		goto out;
	if (!X509_set_version(c.x, X509_VERSION_3) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(c.x), serial++) ||
	    !X509_time_adj_ex(X509_getm_notBefore(c.x), 0, spec->not_before, NULL) ||
	    !X509_time_adj_ex(X509_getm_notAfter(c.x), 0, spec->not_after, NULL) ||
	    !X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC, (const unsigned char *)spec->cn,
					-1, -1, 0) ||
	    !X509_set_subject_name(c.x, subj) ||
	    !X509_set_issuer_name(c.x, issuer ? X509_get_subject_name(issuer->x) : subj) ||
	    !X509_set_pubkey(c.x, c.k))
		goto out;

	X509V3_set_ctx(&v3, issuer ? issuer->x : c.x, c.x, NULL, NULL, 0);
	if (tcert_ext(c.x, &v3, NID_subject_key_identifier, "hash") ||
	    tcert_ext(c.x, &v3, NID_authority_key_identifier, "keyid:always"))
		goto out;
	if (spec->ca) {
		if (tcert_ext(c.x, &v3, NID_basic_constraints, "critical,CA:TRUE") ||
		    tcert_ext(c.x, &v3, NID_key_usage, "critical,keyCertSign,cRLSign"))
			goto out;
	} else {
		if (tcert_ext(c.x, &v3, NID_basic_constraints, "critical,CA:FALSE") ||
		    tcert_ext(c.x, &v3, NID_key_usage, "critical,digitalSignature") ||
		    tcert_ext(c.x, &v3, NID_ext_key_usage, "serverAuth,clientAuth"))
			goto out;
	}
	if (spec->san && tcert_ext(c.x, &v3, NID_subject_alt_name, spec->san))
		goto out;
	if (!X509_sign(c.x, issuer ? issuer->k : c.k, EVP_sha256()))
		goto out;
	*ret = c;
	c.x = NULL;
	c.k = NULL;
	r = 0;
out:
	X509_NAME_free(subj);
	tcert_free(&c);
	return r;
}

/* dir/NAME.crt and dir/NAME.key. */
static int tcert_write(const struct tcert *c, const char *dir, const char *name)
{
	char path[4096];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s.crt", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	ok = PEM_write_X509(f, c->x) == 1;
	ok = fclose(f) == 0 && ok;
	if (!ok)
		return -1;
	snprintf(path, sizeof(path), "%s/%s.key", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	ok = PEM_write_PrivateKey(f, c->k, NULL, NULL, 0, NULL, NULL) == 1;
	ok = fclose(f) == 0 && ok;
	return ok ? 0 : -1;
}

static const struct tcert_spec tcert_set[] = {
	{"ca", "gisad test CA", NULL, -365 * TCERT_DAY, 3650 * TCERT_DAY, true, NULL},
	{"ca2", "gisad wrong CA", NULL, -365 * TCERT_DAY, 3650 * TCERT_DAY, true, NULL},
	{"host-a", "host-a", "DNS:host-a,DNS:localhost,IP:127.0.0.1", -TCERT_DAY, 3650 * TCERT_DAY,
	 false, "ca"},
	{"host-b", "cn-of-b", "DNS:host-b", -TCERT_DAY, 3650 * TCERT_DAY, false, "ca"},
	{"host-c", "host-c", NULL, -TCERT_DAY, 3650 * TCERT_DAY, false, "ca"},
	{"expired", "host-a", "DNS:host-a,DNS:localhost,IP:127.0.0.1", -30 * TCERT_DAY, -TCERT_DAY,
	 false, "ca"},
	{"future", "host-a", "DNS:host-a,DNS:localhost,IP:127.0.0.1", TCERT_DAY, 30 * TCERT_DAY,
	 false, "ca"},
	{"wrongca", "host-a", "DNS:host-a,DNS:localhost,IP:127.0.0.1", -TCERT_DAY, 3650 * TCERT_DAY,
	 false, "ca2"},
	{"wrongca-b", "cn-of-b", "DNS:host-b", -TCERT_DAY, 3650 * TCERT_DAY, false, "ca2"},
};

#define TCERT_N (sizeof(tcert_set) / sizeof(tcert_set[0]))

/* Write the whole set into dir (which exists): 0, or -1 with nothing promised. */
static int tcert_make_set(const char *dir)
{
	struct tcert made[TCERT_N];
	int r = 0;
	size_t i, j;

	memset(made, 0, sizeof(made));
	for (i = 0; i < TCERT_N && r == 0; i++) {
		const struct tcert *issuer = NULL;

		for (j = 0; j < i && tcert_set[i].issuer; j++)
			if (strcmp(tcert_set[j].name, tcert_set[i].issuer) == 0)
				issuer = &made[j];
		if ((tcert_set[i].issuer && !issuer) ||
		    tcert_make(&tcert_set[i], issuer, &made[i]) ||
		    tcert_write(&made[i], dir, tcert_set[i].name))
			r = -1;
	}
	for (i = 0; i < TCERT_N; i++)
		tcert_free(&made[i]);
	return r;
}

#endif
