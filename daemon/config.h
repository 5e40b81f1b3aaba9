/* SPDX-License-Identifier: MIT */
/*
 * gisad.conf: an INI file (parsed with inih) whose keys are all described
 * by one table in config.c (name, type, default, parse function, whether
 * SIGHUP applies it, help).  Help, --check-config and --dump-config are
 * generated from that table.
 */
#ifndef GISAD_CONFIG_H
#define GISAD_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define GISAD_DEFAULT_CONFIG  "/etc/gisad/gisad.conf"
#define GISAD_CONF_SECTION    "gisad"

/* sizeof(struct sockaddr_un.sun_path) */
#define GISAD_SOCKET_PATH_MAX 108
/* migration_listen: a host name of 253 bytes, brackets, ':', a port. */
#define GISAD_LISTEN_MAX      264
/* tls_allow: far more than one INI line holds. */
#define GISAD_ALLOW_MAX       4096

struct gisad_config {
	char socket_path[GISAD_SOCKET_PATH_MAX];
	char state_dir[PATH_MAX];
	char group[64];
	uint32_t max_conn_per_uid;
	uint32_t max_conns;
	uint32_t max_vms;
	uint32_t max_mem_cap;          /* guest memory bytes one VM may back */
	int log_level;                 /* LOG_ERR .. LOG_DEBUG */
	uint32_t profiles;             /* bit (1 << profile) per offered profile */
	bool gisa;                     /* host offers GISA */
	bool ais;                      /* host offers the AIS facility */
	uint32_t kicker_interval_us;   /* 0: no wall-clock kicker timer */
	uint32_t nisc;                 /* host ISC of GIB alerts */
	/* Migration listener (mig-listen.c); migration_listen "" = none. */
	char migration_listen[GISAD_LISTEN_MAX];   /* "HOST:PORT" or "[IPv6]:PORT" */
	char tls_ca[PATH_MAX];
	char tls_cert[PATH_MAX];
	char tls_key[PATH_MAX];
	char tls_allow[GISAD_ALLOW_MAX];           /* entries, comma-separated */
	uint32_t handshake_timeout_ms;
	uint32_t idle_timeout_ms;
	uint32_t max_conn_per_peer;
	uint32_t max_incoming;         /* incoming migration sessions at once */
	uint32_t mig_downtime_ms;      /* migrate defaults (mig-out.c) */
	uint32_t mig_max_rounds;
	uint32_t mig_max_version;
	uint32_t mig_stall_ms;
	char mig_compression[16];      /* none, zstd, zstd:LEVEL */
	uint32_t outcome_records;      /* decided incoming migrations kept */
	uint32_t finished_jobs;        /* finished jobs kept for job status/list */
	uint32_t max_checkpoints_per_vm;   /* tagged checkpoints a VM may hold */
};

#define GISAD_ZSTD_DEFAULT_LEVEL 1
#define GISAD_ZSTD_MAX_LEVEL     19

/*
 * Precopy rounds a migration may take (round 0 included): a job's
 * max_rounds and migration_max_rounds at most, and a destination refuses
 * a MigRound numbered this or higher (its slot keeps every round's delta).
 */
#define GISAD_MIG_MAX_ROUNDS 1000u

/*
 * max_mem_cap: the guest memory one VM may back, in bytes, so that gisad
 * backs at most max_vms x max_mem_cap.  Its least value is the engine's
 * default cap, so that a VM asking for the default (mem_cap 0) always
 * passes; GISAD_MEM_CAP_MAX is its greatest.
 */
#define GISAD_MEM_CAP_MAX (2u << 30)

/*
 * Whether a VM's mem_cap (0: the engine's default) is within max_mem_cap:
 * 0, or -EINVAL with msg naming the value and the limit.  Every way a VM
 * comes to this gisad checks it: vm_create, an import or restore, an
 * incoming migration.
 */
int conf_mem_cap_check(const struct gisad_config *cfg, uint64_t mem_cap, char *msg,
		       size_t msglen);

/* Parse none / zstd / zstd:LEVEL.  0 or -EINVAL. */
int conf_compression(const char *v, bool *zstd, int *level);

struct conf_error {
	int line;                      /* 0: not tied to a line */
	char key[64];
	char value[128];
	char reason[256];
};

struct conf_errors {
	struct conf_error *e;
	size_t n;
};

/* Every key at its default. */
void conf_defaults(struct gisad_config *cfg);

/*
 * Parse path over the defaults into *cfg.  Returns 0 if the file is
 * valid, the number of errors (> 0, each in *errs) otherwise, or a
 * negative errno if it cannot be read.  *cfg is only meaningful on 0.
 */
int conf_load(const char *path, struct gisad_config *cfg, struct conf_errors *errs);
void conf_errors_free(struct conf_errors *errs);
/* "FILE:LINE: key `k', value `v': reason", one line per error. */
void conf_errors_format(const char *path, const struct conf_error *e, char *buf, size_t len);

/* The host capabilities the configuration offers (GISA_CAP_* bits). */
uint32_t conf_caps(const struct gisad_config *cfg);
/* "classic,newest" into buf. */
void conf_profiles_str(uint32_t profiles, char *buf, size_t len);

/*
 * Split a migration_listen value into host (brackets of an IPv6 address
 * removed) and port.  0, or -EINVAL if it is not HOST:PORT / [IPv6]:PORT
 * with a port of 0 to 65535.
 */
int conf_listen_split(const char *v, char *host, size_t hostlen, char *port, size_t portlen);

/*
 * Split a tls_allow value (entries separated by commas or blanks) into
 * buf (at least strlen(v) + 1 bytes), pointers in entries[max].  Returns
 * the number of entries, or -E2BIG if there are more than max.
 */
int conf_allow_split(const char *v, char *buf, const char **entries, size_t max);

/* The key table as help text, and a configuration as a gisad.conf. */
void conf_help(FILE *out);
void conf_dump(const struct gisad_config *cfg, FILE *out);

/*
 * SIGHUP: copy the keys that can change at run time from new into cur
 * (each change logged), and log (notice) every other key whose value
 * differs, so an operator knows a restart is needed for it.
 */
void conf_reload(struct gisad_config *cur, const struct gisad_config *new);

#endif
