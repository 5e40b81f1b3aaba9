/* SPDX-License-Identifier: MIT */
/*
 * gisactl's side of the control protocol (docs/CONTROL-PROTOCOL.md), and
 * what the online commands share.
 *
 * One request is in flight at a time on g->fd: ctl_call() stamps it with
 * the protocol version and a fresh id, sends it (with at most one file
 * descriptor as SCM_RIGHTS), and reads datagrams until the reply with that
 * id arrives, skipping event datagrams (id 0, result `event').  A reply
 * that carries an error is reported like every other failure of gisactl:
 * "gisactl: " + gisad's own message on stderr, the errno's name as the
 * --json error code, exit status 2.
 */
#ifndef GISACTL_CTL_H
#define GISACTL_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include <gisa/abi.h>

#include "control.pb-c.h"
#include "gisactl.h"

typedef Gisa__V1__Request ctl_request;
typedef Gisa__V1__Response ctl_response;

/*
 * The largest request gisactl sends, 256 KiB: batches of records and
 * guest memory are split into pieces of at most CTL_MAX_PAYLOAD bytes, so
 * that the request around them stays within what every kernel's default
 * socket send buffer admits (the daemon's datagram cap is 1 MiB, but
 * AF_UNIX refuses a datagram larger than the sender's buffer).  256 bytes
 * leave room for the rest of the message: version, id, VM name, tags.
 */
#define CTL_MAX_REQUEST        (256u << 10)
#define CTL_MAX_PAYLOAD        (CTL_MAX_REQUEST - 256u)
/* Result bytes one reply can carry (the daemon's cap minus its headroom). */
#define CTL_REPLY_HEADROOM     4096u
#define CTL_MAX_RESULT         ((1u << 20) - CTL_REPLY_HEADROOM)

/*
 * Send req (and pass_fd, unless -1) and wait for its reply.  Returns 0 with
 * the reply in *ret (free it with ctl_free), or an exit status with the
 * failure reported; on a reply carrying an error, *ret still holds it.
 */
int ctl_call(struct gisactl *g, ctl_request *req, int pass_fd, ctl_response **ret);
void ctl_free(ctl_response *resp);
/* As ctl_call, but a reply carrying an error is 0 too: the caller looks. */
int ctl_exchange(struct gisactl *g, ctl_request *req, int pass_fd, ctl_response **ret);
/* Report the error a reply carries; returns the exit status. */
int ctl_reply_fail(struct gisactl *g, const ctl_response *resp);
/*
 * The next datagram on the connection, events included: 0 with *ret, or an
 * exit status (reported).  -EINTR (not reported) when a signal interrupted
 * the wait.
 */
int ctl_recv(struct gisactl *g, ctl_response **ret);
/* A reply to a request that expects result `want': the failure if not. */
int ctl_expect(struct gisactl *g, const ctl_response *resp, Gisa__V1__Response__ResultCase want);

/* Values from the command line; each reports a usage error quoting s. */
int arg_u64(struct gisactl *g, const char *what, const char *s, uint64_t max, uint64_t *ret);
int arg_u32(struct gisactl *g, const char *what, const char *s, uint32_t *ret);
int arg_i32(struct gisactl *g, const char *what, const char *s, int32_t *ret);
/* Hex bytes ("0a1b..."; an even number of digits, none at all = empty). */
int arg_hex(struct gisactl *g, const char *what, const char *s, uint8_t **ret, size_t *ret_len);
/* --data HEX or --data-file FILE (at most cap bytes); neither = empty. */
int arg_data(struct gisactl *g, const struct cmd_args *a, size_t cap, uint8_t **ret,
	     size_t *ret_len);

/* Requests naming just a VM (VmRef), or nothing (NoArgs). */
int ctl_vmref(struct gisactl *g, Gisa__V1__Request__VerbCase verb, const char *vm,
	      ctl_response **ret);
int ctl_noargs(struct gisactl *g, Gisa__V1__Request__VerbCase verb, ctl_response **ret);

/*
 * A listing (vm_list, job_list, checkpoint_list of vm) page by page
 * (docs/CONTROL-PROTOCOL.md, "Listings"): each page is asked after the
 * previous one's last entry, until a page says no more follow.  A page
 * that says more follow must hold entries past the cursor, else the
 * listing fails (-EPROTO) instead of looping.
 *
 *	struct ctl_pager pg = { .verb = GISA__V1__REQUEST__VERB_VM_LIST };
 *	while (!(r = ctl_pager_next(g, &pg, &resp)) && resp) {
 *		... resp->vm_list ...
 *		ctl_free(resp);
 *	}
 */
struct ctl_pager {
	Gisa__V1__Request__VerbCase verb;
	const char *vm;                 /* checkpoint_list */
	bool started, done;
	char after[128];                /* name or tag of the last entry so far */
	uint64_t after_id;              /* job id of the last entry so far */
};
/* The next page: 0 with *ret (NULL after the last), or an exit status (reported). */
int ctl_pager_next(struct gisactl *g, struct ctl_pager *p, ctl_response **ret);

/* A VM's abi_order, asked of gisad (raw buffers travel in it). */
int ctl_vm_order(struct gisactl *g, const char *vm, enum gisa_byteorder *ret);

/* ping: 0 with the Pong in *ret (ctl_free it), or an exit status. */
int ctl_ping(struct gisactl *g, ctl_response **ret);

/*
 * Result bytes one reply on this connection carries, asked of gisad (ping's
 * max_reply): CTL_MAX_RESULT, or less where net.core.wmem_max bounds
 * gisad's send buffer.
 */
int ctl_max_result(struct gisactl *g, uint32_t *ret);

/* Rendering shared by the online commands. */
json_t *json_hexbytes(const uint8_t *p, size_t len);
void print_hexdump(const uint8_t *p, size_t len, uint64_t base);
const char *order_name(unsigned order);
const char *run_state_name(unsigned run);
const char *job_type_name(int type);
const char *job_op_name(int op);
/* One 72-byte kvm_s390_irq record: its type's name and payload. */
void fmt_irq(const struct gisa_irq *irq, char *buf, size_t size);
json_t *json_irq(const uint8_t *rec, enum gisa_byteorder order);
const char *migration_state_name(int state);
const char *migration_phase_name(int phase);
/* A job; with its migration statistics (cmd-migrate.c) when it has them. */
json_t *json_job(const Gisa__V1__JobInfo *j);
void print_job(const Gisa__V1__JobInfo *j);
json_t *json_migration(const Gisa__V1__MigrationStats *m);
void print_migration(const Gisa__V1__MigrationStats *m);
/* One line: phase, peer, rounds, downtime (job list). */
void fmt_migration_brief(const Gisa__V1__MigrationStats *m, char *out, size_t size);

/* cmd-migrate.c: poll job id until it is final (0 with its last reply), or fail. */
int job_follow(struct gisactl *g, uint64_t id, ctl_response **ret);
/* cmd-store.c: job_status of job id (a reply carrying an error is reported). */
int job_get(struct gisactl *g, uint64_t id, ctl_response **ret);
/* A job as `job status' shows it: the result's members, or the human table. */
void show_job(struct gisactl *g, const Gisa__V1__JobInfo *j);

#endif
