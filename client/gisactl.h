/* SPDX-License-Identifier: MIT */
/*
 * gisactl: the command table and what every command shares.
 *
 * One table (cmd_table[] in gisactl.c) lists every command as a row: noun,
 * verb, usage, help, the options it takes, its operand counts, its handler
 * and its flags.  Option parsing, usage errors, `gisactl help`, `--help` and
 * `gisactl __complete` (read by the bash completion) are generated from the
 * table and from opt_defs[], so adding a command is adding a row and a
 * handler, and adding an option is adding an opt_defs[] entry.
 *
 * Output discipline:
 *  - a handler prints human text to stdout, or, with --json, fills the one
 *    JSON object out_result() gives it (schema "gisactl.v1",
 *    docs/GISACTL-JSON.md), which main prints when the handler returns;
 *  - errors go to stderr as "gisactl: MESSAGE" through out_fail() or
 *    out_usage(), which quote the offending value; with --json main then
 *    prints an error document instead of the result;
 *  - exit statuses are the GISACTL_EXIT_* below, whatever the command.
 */
#ifndef GISACTL_H
#define GISACTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include <gisa/compat.h>

/* Exit statuses (help and docs/GISACTL-JSON.md list them). */
#define GISACTL_EXIT_OK        0   /* success: equal, valid, exact */
#define GISACTL_EXIT_NEGATIVE  1   /* a negative answer: different, invalid, lossy */
#define GISACTL_EXIT_ERROR     2   /* usage or runtime error; check: impossible */

/* The --json schema; bump it with any incompatible change of a document. */
#define GISACTL_SCHEMA         "gisactl.v1"
#define GISACTL_DEFAULT_SOCKET "/run/gisad/control"

/*
 * Options of commands.  Each is defined once (opt_defs[]) and a row lists
 * the ones it takes as a bit mask; a given option's value lands in
 * cmd_args.opt[id] ("" for a flag).
 */
enum opt_id {
	OPT_OUTPUT,
	OPT_COMPACT,
	OPT_LEVEL,
	OPT_STORED,
	OPT_TARGET_CAPS,
	OPT_FROM,
	OPT_TO,
	OPT_ORDER,
	OPT_AIS,
	OPT_QEMU_AIS,
	OPT_VCPUS,
	OPT_CHECK,
	OPT_NO_STATE,
	OPT_MAX_RECORDS,
	/* the online commands' */
	OPT_UUID,
	OPT_PROFILE,
	OPT_CAPS,
	OPT_MEM_CAP,
	OPT_MEMSLOT,
	OPT_NO_FLIC,
	OPT_ATTR,
	OPT_LEN,
	OPT_FLAGS,
	OPT_DATA,
	OPT_DATA_FILE,
	OPT_FAULT,
	OPT_UNMAPPED,
	OPT_HEX,
	OPT_ISC,
	OPT_MASKABLE,
	OPT_SWAP,
	OPT_SUPPRESSIBLE,
	OPT_ROUTE,
	OPT_PSW_MASK,
	OPT_CR0,
	OPT_CR6,
	OPT_CR14,
	OPT_RUN,
	OPT_GPR1,
	OPT_IN_SIE,
	OPT_MAX,
	OPT_COUNT,
	OPT_ONLY,
	OPT_REPLACE,
	/* migrate's */
	OPT_DOWNTIME,
	OPT_ALLOW_LOSSY,
	OPT_NAME,
	OPT_COMPRESSION,
	OPT_MAX_ROUNDS,
	OPT_STALL_TIMEOUT,
	OPT_DETACH,
	OPT_NR
};
#define OPT_BIT(id) (UINT64_C(1) << (id))

struct opt_def {
	const char *name;      /* long name, without "--" */
	char short_name;       /* 0 = none */
	const char *arg;       /* metavariable; NULL = a flag */
	const char *complete;  /* completion of the value: "@file", "@none" or words */
	const char *help;
	bool repeat;           /* may be given more than once (cmd_args.list) */
};
extern const struct opt_def opt_defs[OPT_NR];

struct cmd_args {
	int argc;                  /* operands, in order */
	char **argv;
	const char *opt[OPT_NR];   /* value; "" for a flag given; NULL if absent */
	/* Every value of a repeatable option, in order (opt[] holds the first). */
	const char **list[OPT_NR];
	int nlist[OPT_NR];
};

struct gisactl;
typedef int cmd_fn(struct gisactl *g, const struct cmd_args *a);

#define CMD_NEEDS_DAEMON 0x1u  /* main connects to gisad (g->fd) before the handler */
#define CMD_HIDDEN       0x2u  /* not listed by help, not offered by completion */
#define CMD_STREAM       0x4u  /* --json: prints its own documents, one per line */
/* With CMD_NEEDS_DAEMON: the handler checks its operands before its first
 * request connects, so that a usage error needs no daemon. */
#define CMD_LATE_CONNECT 0x8u

struct cmd_entry {
	const char *noun;
	const char *verb;          /* NULL: the noun alone names the command */
	const char *usage;         /* what follows "gisactl NOUN VERB" */
	const char *help;          /* one line, no final period */
	const char *long_help;     /* paragraphs for `gisactl help NOUN VERB` */
	const char *exits;         /* exit statuses; NULL = "0 success, 2 error" */
	const char *complete;      /* the operands, for completion: "@file", "@help" */
	uint64_t opts;             /* OPT_BIT() of every option taken */
	int min_args, max_args;    /* operand counts; max -1 = no limit */
	unsigned flags;            /* CMD_* */
	cmd_fn *fn;
};

struct gisactl {
	const char *socket;        /* --socket, or GISACTL_DEFAULT_SOCKET */
	bool json;                 /* --json */
	const struct cmd_entry *cmd;
	const char *noun;          /* a noun without (a known) verb, for usage */
	int fd;                    /* control connection; -1 until gisactl_connect */
	json_t *result;            /* --json: the document out_result() made */
	char errmsg[1024];         /* the error out_fail() reported, for --json */
	const char *errcode;       /* its code: an errno name, or "usage" */
	const char *errmigration;  /* gisad's "migrating" refusal: the VM's state */
};

/* gisactl.c */
extern const struct cmd_entry cmd_table[];
extern const size_t cmd_table_len;
/* The command's full name: "snapshot info", "diff". */
const char *cmd_name(const struct cmd_entry *e, char *buf, size_t size);
/* Connect to gisad's control socket (g->socket); 0 or an exit status. */
int gisactl_connect(struct gisactl *g);

/* output.c: reporting, human layout, JSON values */
json_t *out_result(struct gisactl *g);
/*
 * Report an error (stderr, and the --json error document; err picks its
 * code), and for out_usage the usage line, and yield GISACTL_EXIT_ERROR:
 * `return out_fail(g, -ENOMEM, "out of memory")'.  Macros, so that the
 * status is a constant at the call, where a reader and a static analyzer
 * both see that an error path never yields 0.
 */
#define out_fail(g, err, ...) (out_fail_report((g), (err), __VA_ARGS__), GISACTL_EXIT_ERROR)
#define out_usage(g, ...)     (out_usage_report((g), __VA_ARGS__), GISACTL_EXIT_ERROR)
void out_fail_report(struct gisactl *g, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void out_usage_report(struct gisactl *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void out_usage_line(const struct cmd_entry *e, FILE *f);
void out_kv(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Text from outside (a path, a name read from a file, gisad's words) for
 * people: a control character (C0, DEL, C1) could move the cursor or
 * forge a line, and a byte that is no UTF-8 is not text, so each such
 * byte is written as \xNN, and a backslash as \\ so that the escapes
 * stay unambiguous.  out_kv_text is out_kv with such a value.
 */
void out_text(FILE *f, const char *s);
void out_kv_text(const char *key, const char *s);
/*
 * One line of progress on standard error, redrawn in place (the caller
 * checks that it is a terminal); out_fail and out_usage clear it first.
 */
void out_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void out_progress_clear(void);
int out_print_json(json_t *doc, FILE *f);
const char *errno_code(int err);
json_t *json_hex64(uint64_t v);
/*
 * A JSON string of text from outside, which need not be UTF-8 (a path, a
 * name read from a file, gisad's words, an error message): each byte that
 * is not part of a well-formed UTF-8 sequence becomes U+FFFD.  NULL if s
 * is NULL or memory is short, as json_string.
 */
json_t *json_text(const char *s);
/* json_text(s), or null for NULL and "". */
json_t *json_str_or_null(const char *s);
/* Adds to an object, and does not fail silently: a member that cannot be
 * made aborts the document (out_json_ok reports it). */
void jset(json_t *obj, const char *key, json_t *v);
bool out_json_ok(struct gisactl *g);
const char *profile_name(unsigned profile);
void fmt_caps(uint32_t caps, char *buf, size_t size);
json_t *json_caps(uint32_t caps);
void fmt_uuid(const uint8_t uuid[16], char out[37]);
void fmt_time(uint64_t unix_ns, char *out, size_t size);
/* A byte count for people: "512 B", "1.5 KiB", "3.2 MiB". */
void fmt_bytes(uint64_t n, char *out, size_t size);
/* Nanoseconds as milliseconds with 3 decimals ("1.234 ms"), "-" if absent. */
void fmt_ms(bool has, uint64_t ns, char *out, size_t size);

/* files.c: bounded input, safe output, option values */
/*
 * The largest snapshot file a reader can accept: preamble, the header cap,
 * the state cap plus zstd's worst-case expansion (well under 1/128 of it
 * and 128 KiB), digest.  The codec checks the exact lengths; this only
 * bounds what is read before it looks.
 */
#define GISACTL_MAX_SNAPSHOT_FILE \
	(44u + (64u << 10) + (64u << 20) + ((64u << 20) >> 7) + (128u << 10) + 32u)
int read_input(struct gisactl *g, const char *path, size_t cap, const char *what,
	       uint8_t **ret, size_t *ret_len);
int read_snapshot(struct gisactl *g, const char *path, uint8_t **ret, size_t *ret_len);
int write_output(struct gisactl *g, const char *path, const void *buf, size_t len, bool binary);
bool is_stdio(const char *path);
/*
 * A number as gisactl(1) spells them: decimal digits (a leading 0 stays
 * decimal, 010 is ten) or 0x (0X) and hex digits, nothing else (no sign, no
 * blank).  0, -EINVAL (not such a number) or -ERANGE (over 64 bits).
 */
int parse_number(const char *s, uint64_t *ret);
int parse_uint(struct gisactl *g, const char *opt, const char *s, unsigned long min,
	       unsigned long max, unsigned long *ret);
int parse_target(struct gisactl *g, const char *opt, const char *s,
		 struct gisa_compat_dest *ret);
void fmt_target(const struct gisa_compat_dest *d, char *buf, size_t size);

/* cmd-snapshot.c: what the commands on snapshots share */
struct gisa_image;
struct gisa_snap_info;
struct gisa_snap_error;
struct gisa_snap_meta;
struct gisa_snap_opts;
struct gisa_json_meta;
struct gisa_json_error;
struct gisa_restore_error;
/* Report a library error about path (its sentence, or strerror). */
int snap_fail(struct gisactl *g, const char *path, int r, const struct gisa_snap_error *err);
int json_fail(struct gisactl *g, const char *path, int r, const struct gisa_json_error *e);
void fmt_restore_error(const struct gisa_restore_error *re, int r, char *buf, size_t size);
/* Read and decode a snapshot file; 0 or an exit status (reported). */
int load_image(struct gisactl *g, const char *path, struct gisa_image **ret,
	       struct gisa_snap_info *ret_info);
void meta_from_info(const struct gisa_snap_info *in, struct gisa_json_meta *m);
void snap_meta_from_json(const struct gisa_json_meta *m, struct gisa_snap_meta *s);
/* --level / --stored; 0 or an exit status. */
int parse_snap_opts(struct gisactl *g, const struct cmd_args *a, struct gisa_snap_opts *ret);
/* A binary result cannot share standard output with the --json document. */
int binary_output_ok(struct gisactl *g, const char *out);
/* A JSON text: to out, or with --json to standard output inside the result. */
int emit_json_text(struct gisactl *g, const char *out, const char *text, size_t len);
/* --json: the "output" and "bytes" members. */
void result_output(struct gisactl *g, const char *out, size_t len);

/* Handlers: cmd-snapshot.c, cmd-convert.c, cmd-diff.c, cmd-scenario.c, gisactl.c */
cmd_fn cmd_snapshot_info, cmd_snapshot_verify, cmd_snapshot_decode, cmd_snapshot_encode,
	cmd_snapshot_digest, cmd_snapshot_check, cmd_snapshot_convert, cmd_diff,
	cmd_scenario_run, cmd_help, cmd_version, cmd_complete;
/* Online handlers: cmd-vm.c */
cmd_fn cmd_ping, cmd_host_info, cmd_vm_create, cmd_vm_destroy, cmd_vm_list, cmd_vm_info,
	cmd_vm_digest;
/* cmd-engine.c */
cmd_fn cmd_flic_create, cmd_flic_destroy, cmd_flic_has, cmd_flic_get, cmd_flic_set,
	cmd_irq_inject, cmd_irq_get, cmd_irq_clear, cmd_irq_clear_io, cmd_irq_interrupt,
	cmd_adapter_register, cmd_adapter_modify, cmd_ais_set, cmd_ais_get, cmd_ais_set_all,
	cmd_airq_inject, cmd_apf_enable, cmd_apf_disable_wait, cmd_route_set,
	cmd_route_trigger, cmd_mem_read, cmd_mem_write, cmd_mem_dirty_log, cmd_memslot_set,
	cmd_memslot_delete, cmd_memslot_list, cmd_vcpu_get, cmd_vcpu_set, cmd_vcpu_run,
	cmd_vcpu_wait, cmd_vcpu_deliver, cmd_vcpu_deliverable, cmd_vcpu_tpi, cmd_vcpu_tsch,
	cmd_gisa_gisc_register, cmd_gisa_gisc_unregister, cmd_gisa_hw_airq,
	cmd_gisa_process_alerts, cmd_gisa_timer_fire, cmd_events_read, cmd_events_follow;
/* cmd-store.c */
cmd_fn cmd_snapshot_export, cmd_snapshot_import, cmd_checkpoint_create,
	cmd_checkpoint_restore, cmd_checkpoint_list, cmd_checkpoint_delete, cmd_job_list,
	cmd_job_status, cmd_job_abort, cmd_job_clear, cmd_job_resolve;
/* cmd-migrate.c */
cmd_fn cmd_migrate;

/*
 * cmd-store.c: a VM's state as snapshot bytes, through gisad's snapshot
 * export (a temporary file, unlinked at once); 0 or an exit status.
 */
int vm_snapshot(struct gisactl *g, const char *vm, uint8_t **ret, size_t *ret_len);
/*
 * The same for a VM of another gisad, tls://HOST:PORT/NAME: the local gisad
 * fetches it over its own TLS identity (remote_fetch).
 */
int remote_snapshot(struct gisactl *g, const char *uri, uint8_t **ret, size_t *ret_len);

/*
 * cmd-migrate.c: a VM name as gisad takes it ([A-Za-z0-9_.-]{1,64}, not
 * starting with `.'), and a migration URI: tls://HOST:PORT, HOST a name, an
 * IPv4 address or an IPv6 address in brackets, PORT 1 to 65535; with_vm:
 * followed by /NAME.  Each reports a usage error naming what and s.
 */
int check_vm_name(struct gisactl *g, const char *what, const char *s);
int check_tls_uri(struct gisactl *g, const char *what, const char *s, bool with_vm);

#endif
