/* SPDX-License-Identifier: MIT */
/*
 * OpenSSL failures as negative errno values, for the snapshot codec's
 * digests.
 */
#ifndef GISA_SNAPSHOT_OSSL_H
#define GISA_SNAPSHOT_OSSL_H

#include <errno.h>

#include <openssl/err.h>

/*
 * The errno of the OpenSSL call that just failed: -ENOMEM where OpenSSL
 * says it ran out of memory, else -EIO.  The thread's error queue is left
 * empty, so that no stale entry misleads a later caller (SSL_get_error
 * reads it).
 */
static inline int snap_ossl_errno(void)
{
	unsigned long e = ERR_peek_last_error();

	ERR_clear_error();
	return ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE ? -ENOMEM : -EIO;
}

#endif
