/* SPDX-License-Identifier: MIT */
/*
 * make-certs DIR: write the test certificate set of certgen.h into DIR
 * (created if missing), for scripts that start real daemons.  Test
 * certificates are made at test time and never committed.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "certgen.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: make-certs DIR\n");
		return 2;
	}
	if (mkdir(argv[1], 0700) && errno != EEXIST) {
		perror(argv[1]);
		return 1;
	}
	if (tcert_make_set(argv[1])) {
		fprintf(stderr, "make-certs: cannot write the certificates into `%s'\n", argv[1]);
		return 1;
	}
	return 0;
}
