/* SPDX-License-Identifier: MIT */
/*
 * gisad: the daemon's shared types and the functions of its modules
 * (one file and one prefix each, as tmux.h gathers tmux's):
 *
 *   gisad.c    main, start-up and shut-down, signals, sd_notify, timers
 *   control.c  ctl_*    the control socket: accept, peer credentials, caps,
 *                       datagrams, fd passing, replies, the event stream
 *   verb.c     verb_*   the handler table and the request helpers
 *   verb-*.c            the handlers, by subject
 *   vmreg.c    vmreg_*  the VM registry (name -> struct gisa_vm) and events
 *   store.c    store_*  snapshots in and out, checkpoint files
 *   job.c      job_*    libvirt-shaped jobs
 *   mig-*.c             live migration (mig.h): links, the listener, the
 *                       destination (migin_*), the source (migout_*), records
 *   config.c   conf_*   gisad.conf (config.h)
 *   log.c      log_*    logging (log.h)
 *
 * Everything runs on one libevent loop; no module blocks except on the
 * regular files of checkpoints and fd-passed snapshots.
 */
#ifndef GISAD_GISAD_H
#define GISAD_GISAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <gisa/engine.h>
#include <gisa/frame.h>
#include <gisa/snapshot.h>

#include "control.pb-c.h"
#include "config.h"

/*
 * Spare STAGING record and slot pairs a listening gisad keeps (mig-rec.c):
 * a burst of incoming migrations each takes one.
 */
#define GISAD_MIG_SPARES 4u

/*
 * Largest datagram in either direction.  A request is refused (and the
 * connection kept) above it; a reply that would exceed it becomes an
 * -E2BIG error reply.  Clients sending large requests raise their
 * SO_SNDBUF accordingly (AF_UNIX refuses datagrams above the sender's
 * send buffer).
 */
#define GISAD_MAX_DATAGRAM      (1u << 20)
/* Room kept for the Response envelope around bulk result bytes. */
#define GISAD_REPLY_HEADROOM    4096u
/* Descriptors accepted in one SCM_RIGHTS message (more are refused). */
#define GISAD_MAX_FDS           4
/* Heap a decoded request may use, per byte of datagram, plus a floor. */
#define GISAD_DECODE_FACTOR     32u
#define GISAD_DECODE_FLOOR      (64u << 10)
/* VM names and checkpoint tags: [A-Za-z0-9_.-]{1,64}, no leading '.'. */
#define GISAD_NAME_MAX          64
/* Event datagrams queued for a subscriber that does not read. */
#define GISAD_MAX_EVENT_BACKLOG 256u
/* Buckets of the VM registry's name index (a power of two). */
#define GISAD_VM_HASH           4096u
/* Datagrams handled per connection per wake-up (fairness). */
#define GISAD_BURST             32
/* Largest snapshot file read or written. */
#define GISAD_MAX_SNAPSHOT_FILE \
	((size_t)GISA_SNAP_PREAMBLE_SIZE + GISA_SNAP_MAX_HEADER + GISA_SNAP_MAX_STATE + \
	 (GISA_SNAP_MAX_STATE >> 7) + (1u << 16))

#define GISAD_VERSION_STRING    "gisad " GISAD_VERSION

/*
 * Event priorities (lower runs first).  New events get the middle one,
 * GISAD_PRIO_DEFAULT; so do a TLS link's reads, writes and callbacks
 * (bufferevent_openssl assigns its events there, and has no priority of
 * its own).  Control connections come last.
 */
#define GISAD_NR_PRIOS          3
#define GISAD_PRIO_MIGRATION    0       /* a migration's own steps and timers */
#define GISAD_PRIO_DEFAULT      1       /* migration links, everything else */
#define GISAD_PRIO_REQUEST      2       /* control connections */

struct event_base;
struct dwq;
struct event;
struct conn;
struct mig;
struct mig_in;
struct mlink;
struct request;
struct mig_out;
struct migrec;
struct gisa_tls_ctx;

/* A destination as text: "tls://HOST:PORT" or a peer address. */
#define GISAD_PEER_MAX          (GISAD_LISTEN_MAX + GISAD_NAME_MAX + 16)

/* ---- VM registry (vmreg.c) --------------------------------------------- */

struct vmrec {
	struct vmrec *next, *prev;      /* d->vms, creation order (d->gone: next only) */
	struct vmrec *hnext;            /* d->vm_hash's chain of its name */
	char name[GISAD_NAME_MAX + 1];
	uint8_t uuid[16];
	struct gisa_vm *vm;
	uint64_t last_job;
	/*
	 * The daemon drains the engine's event ring after every request that
	 * may change the VM, into this ring of the same size, and publishes
	 * each event to subscribers; events_read reads from here.
	 */
	struct gisa_event ev[GISA_EVENT_RING_SIZE];
	uint32_t ev_head, ev_count;
	uint64_t ev_dropped;            /* overwritten here (engine drops apart) */
	/*
	 * Live migration: OUTGOING (precopy) refuses structural verbs,
	 * FROZEN and IN_DOUBT every mutating verb (the "migrating" error).
	 */
	Gisa__V1__MigrationState mig;
	char mig_peer[GISAD_PEER_MAX];
};

struct unmoved;

/* Why a name is held at start-up (mig_hold_name). */
enum mig_hold {
	MIG_HOLD_DOUBT,      /* in doubt, its checkpoint not restored */
	MIG_HOLD_MISSING,    /* in doubt, no checkpoint here at all */
	MIG_HOLD_ARRIVED,    /* committed here, its slot not put in place */
	MIG_HOLD_UNDECIDED,  /* incoming, its slot neither removed nor read as a decision */
};

/* A VM retired after migrating away: listed until destroyed here. */
struct retired {
	struct retired *next;
	char name[GISAD_NAME_MAX + 1];
	uint8_t uuid[16];
	char to[GISAD_PEER_MAX];
	uint8_t id[16];                  /* the migration */
	bool recording;                  /* its RETIRED record is not durable yet (mig-out.c) */
	enum mig_hold hold;              /* held: why (mig_hold_name) */
};

/* ---- jobs (job.c) ------------------------------------------------------- */

/* Statistics of a migration job (MigrationStats in control.proto); 0 = unknown. */
#define GISAD_MIG_ROUNDS_KEPT 64u
struct migstats {
	Gisa__V1__MigrationPhase phase;
	char peer[GISAD_PEER_MAX];
	char peer_identity[640];
	uint8_t id[16];
	char remote_vm[GISAD_NAME_MAX + 1];
	uint32_t rounds;
	uint64_t round_bytes[GISAD_MIG_ROUNDS_KEPT];   /* the first rounds */
	uint64_t precopy_bytes, switchover_bytes;
	uint32_t budget_ms;
	char compression[16];
	char verdict[16];
	uint64_t setup_ns, transfer_ns, down_active_ns, down_informed_ns;
	uint64_t freeze_ns, encode_ns, send_ns;
	uint64_t recv_ns, import_ns, verify_ns, commit_ns, answer_ns, rtt_ns;
	bool has_src_digest, has_dst_digest, has_match, digests_match;
	uint8_t src_digest[32], dst_digest[32];
	uint32_t query_attempts;
};

struct job {
	struct job *next;
	uint64_t id;
	Gisa__V1__JobType type;
	Gisa__V1__JobOperation op;
	char vm[GISAD_NAME_MAX + 1];
	char tag[GISAD_NAME_MAX + 1];
	uint64_t started_unix_ns;
	uint64_t start_ns, end_ns;       /* CLOCK_MONOTONIC */
	uint64_t total, processed;
	int error;
	char errmsg[256];
	bool has_digest;
	uint8_t digest[GISA_SNAP_DIGEST_SIZE];
	struct migstats *ms;            /* migration jobs (freed with the job) */
	struct mig_out *out;            /* the running migrate-out/fetch, else NULL */
	struct mig_in *in;              /* the running migrate-in, else NULL */
};

/* ---- the daemon --------------------------------------------------------- */

struct uidcount {
	uid_t uid;
	uint32_t n;
};

struct gisad {
	struct event_base *base;
	struct dwq *dwq;                /* durable writes off the loop (dwq.h) */
	struct gisad_config cfg;
	const char *config_path;        /* NULL: defaults only */
	gid_t gid;                      /* of cfg.group */
	struct gisa_host *host;
	uint64_t start_ns;

	struct vmrec *vms, *vms_tail;
	uint32_t nr_vms;
	struct vmrec *vm_hash[GISAD_VM_HASH];  /* by name (vmreg.c) */
	/* Unregistered, freed on a later loop turn (vmreg_remove_later). */
	struct vmrec *gone;
	struct event *gone_ev;
	uint32_t nr_staging;            /* incoming migrations holding a VM's place (mig-in.c) */

	struct job *jobs;               /* newest first */
	uint64_t next_job_id;
	uint32_t nr_finished_jobs;

	/* control socket */
	int listen_fd;
	bool socket_activated;          /* fd from systemd: never unlinked */
	bool socket_bound;              /* we created socket_path */
	char bound_path[GISAD_SOCKET_PATH_MAX];
	struct event *listen_ev;
	struct event *resume_ev;        /* retries accept after EMFILE */
	bool accept_paused;
	bool sndbuf_warned;             /* net.core.wmem_max bounds replies: logged */
	struct conn *conns;
	uint32_t nr_conns;
	uint32_t nr_root_conns;         /* of nr_conns: not under max_connections */
	uint32_t nr_subscribers;
	struct uidcount *uids;
	size_t nr_uids, cap_uids;
	uint8_t *rxbuf;                 /* GISAD_MAX_DATAGRAM */
	uint8_t *txbuf;

	struct mig *mig;                /* migration listener; NULL: none */
	struct mlink *mig_links;        /* every migration connection */
	uint32_t nr_mig_links;
	struct gisa_tls_ctx *client_ctx; /* dialling peers; built on first use */
	struct evdns_base *dns;         /* resolving peers' names; made on first use */
	uint32_t nr_resolving;          /* names being resolved */
	struct mig_in *ins;             /* incoming migrations, queries, fetches */
	uint32_t nr_ins;
	struct mig_out *outs;           /* outgoing migrations and fetches */
	struct migrec *outcomes;        /* decided incoming migrations, oldest first */
	size_t nr_outcomes;
	size_t outcomes_alloc;          /* entries allocated (outcome_records, or more for undecided ones) */
	struct retired *retired;
	struct retired *held;           /* names of migrations not settled (mig_hold_name) */
	struct unmoved *unmoved;        /* committed slots not moved into place (mig-in.c) */
	/*
	 * Per spare pair, the incoming migration whose STAGING record and slot
	 * it still is, under its hidden names (mig-rec.c); set and cleared on
	 * the durable-write queue's thread, read there or on the loop after
	 * dwq_flush.
	 */
	bool spare_held[GISAD_MIG_SPARES];
	bool spare_slot[GISAD_MIG_SPARES];      /* its slot still under the spare's name */
	uint8_t spare_id[GISAD_MIG_SPARES][GISA_FRAME_MIGRATION_ID_SIZE];

	struct event *sig_term, *sig_int, *sig_hup;
	struct event *watchdog_ev;
	struct event *kicker_ev;
	bool stopping;
	int exit_status;
};

uint64_t gisad_now_ns(void);          /* CLOCK_MONOTONIC */
uint64_t gisad_unix_ns(void);         /* CLOCK_REALTIME */
/* Re-arm (or stop) the kicker timer after cfg.kicker_interval_us changed. */
void gisad_kicker_update(struct gisad *d);

/* ---- control socket (control.c) ---------------------------------------- */

/*
 * A protobuf-c allocator with a budget, for decoding what peers send
 * (requests, migration messages): { budget_alloc, budget_free, &budget }.
 */
struct budget {
	size_t left;
	bool exceeded;                  /* an allocation passed the budget */
	bool failed;                    /* malloc itself failed */
};
void *budget_alloc(void *ctx, size_t size);
void budget_free(void *ctx, void *ptr);

/* Bind cfg.socket_path, or take the socket systemd passed.  0 or -errno. */
int ctl_listen(struct gisad *d);
/*
 * Resolve group into d->gid and chown a socket we bound to it; -errno with
 * msg, and d->gid unchanged.
 */
int ctl_apply_group(struct gisad *d, const char *group, char *msg, size_t msglen);
void ctl_close_all(struct gisad *d);
/*
 * Publish an event to every subscriber that wants it (vm NULL for events
 * of no VM).  Never blocks: a subscriber that does not read loses events
 * and is told how many with the next one delivered.
 */
void ctl_publish(struct gisad *d, const char *vm, bool is_job, Gisa__V1__ControlEvent *ev);
/* Subscribe a connection (called by the subscribe verb). */
void ctl_subscribe(struct conn *c, bool kicks, bool jobs, const char *vm);

/* ---- migration listener (mig-listen.c) --------------------------------- */

/*
 * Listen on cfg.migration_listen (nothing to do when it is empty): TLS
 * context, socket.  0, or -errno after logging why.
 */
int mig_listen(struct gisad *d);
/* What a SIGHUP builds before it applies anything (mig_reload_prepare). */
struct mig_reload {
	struct gisa_tls_ctx *server;    /* the listener's, for new connections */
	struct gisa_tls_ctx *client;    /* the dialling side's */
	bool client_gone;               /* no TLS configured any more: none */
	size_t n_allow;
};
/*
 * SIGHUP, before anything is applied: the TLS contexts in use built
 * again from next (the files may have changed under the same names).
 * 0, or -errno with msg and nothing built: the reload is refused whole.
 */
int mig_reload_prepare(struct gisad *d, const struct gisad_config *next, struct mig_reload *p,
		       char *msg, size_t msglen);
/* After conf_reload: p's contexts replace the old ones (open links keep theirs). */
void mig_reload_commit(struct gisad *d, struct mig_reload *p);
void mig_reload_abort(struct mig_reload *p);
/*
 * An incoming migration ended: the spare STAGING record and slot it may
 * have taken are made again a little later (mig-rec.c).
 */
void mig_spare_later(struct gisad *d);
void mig_close_all(struct gisad *d);
/*
 * Shut-down, last before the event base goes: runs the loop without
 * blocking until the freed links' deferred callbacks and the cancelled
 * resolutions have answered (else their bufferevents and TLS state leak),
 * then frees the resolver.
 */
void mlink_settle(struct gisad *d);
/*
 * Start-up, before store_restore_all: read the migration records, settle
 * the destination's, list retired VMs.  After it: mig_recover_after.
 * -errno when the records cannot all be read or settled (the directory,
 * out of memory): gisad must not start then, or a VM that migrated away
 * could be restored active here too.
 */
int mig_recover(struct gisad *d);
void mig_recover_after(struct gisad *d);
/* Whether restore must skip VM name (retired here, or never activated). */
bool mig_skip_restore(const struct gisad *d, const char *name);
const struct retired *mig_retired_find(const struct gisad *d, const char *name);
/* Forget a retired VM (vm destroy): its record goes.  0 or -ENOENT. */
int mig_retired_clear(struct gisad *d, const char *name);
/*
 * A migration whose VM is not restored at start-up: its name stays taken.
 * In doubt (mig_recover_after), so that no other VM created under it, nor
 * one migrating in, is frozen for that migration at a later start: with
 * MIG_HOLD_MISSING (the VM has no checkpoint here at all) until
 * mig_held_forget, with MIG_HOLD_DOUBT (a checkpoint that could not be
 * restored) until a start restores it.  Committed here, its slot not read,
 * or not moved into place and removed (MIG_HOLD_ARRIVED): so that no older
 * checkpoint of the VM runs instead, nor another VM under its name that
 * the move would overwrite at a later start.  An incoming migration whose
 * commit failed and whose slot could not be removed, or whose slot a
 * start cannot read or finds holding a record no destination writes
 * (MIG_HOLD_UNDECIDED: a start that reads a decision there decides, and
 * may commit it), until gisad restarts.  -ENOMEM (logged).
 */
int mig_hold_name(struct gisad *d, const struct migrec *rec, enum mig_hold why);
/* Whether name is held so (or by a recovery that failed: not restored). */
bool mig_held(const struct gisad *d, const char *name);
/*
 * vm destroy of a name held with missing: the migration's record goes, and
 * the name is free.  -ENOENT (no such name held), else -errno with msg and
 * nothing forgotten.
 */
int mig_held_forget(struct gisad *d, const char *name, char *msg, size_t msglen);
/* Whether vm has a current checkpoint file (or it cannot be told). */
bool store_checkpoint_exists(struct gisad *d, const char *vm);
/* The "migrating" error for a VM in a migration state: -EAGAIN, msg. */
int mig_refuse(struct request *r, const struct vmrec *rec, const char *verb);
/*
 * The same error when processing the host's alert list would change a
 * frozen VM (vmreg_alerts_frozen: target NULL, the processing itself;
 * else freeing target's VM).  0: nothing frozen is in the way.
 */
int mig_refuse_alerts(struct request *r, const struct vmrec *target, const char *verb);

/* ---- requests and the handler table (verb.c) --------------------------- */

struct arena_block;

struct request {
	struct gisad *d;
	struct conn *conn;
	const Gisa__V1__Request *req;
	Gisa__V1__Response *resp;
	int fd;                          /* the passed descriptor, or -1 */
	int nfds;                        /* descriptors received (others closed) */
	bool ctrunc;                     /* the kernel cut the control data */
	size_t reply_max;                /* the largest reply this connection takes */
	struct vmrec *vm;                /* resolved VM: events drained after */
	const struct verb *verb;         /* the handler's table entry */
	struct arena_block *arena;
	char msg[512];
};

/* Verb flags. */
#define VERB_MUTATES 0x1u    /* may change a VM or the daemon */
#define VERB_FD      0x2u    /* needs exactly one SCM_RIGHTS descriptor */
#define VERB_STRUCT  0x4u    /* replaces or removes a VM: refused while it migrates */

typedef int (*verb_fn)(struct request *r);

struct verb {
	const char *name;
	Gisa__V1__Request__VerbCase verb;
	verb_fn fn;
	unsigned flags;
	const char *help;
};

/* Attach a result: REPLY(r, pong, PONG, p) sets resp->pong = p and its case. */
#define REPLY(r, member, CASE, value)                                          \
	do {                                                                   \
		(r)->resp->result_case = GISA__V1__RESPONSE__RESULT_##CASE;     \
		(r)->resp->member = (value);                                   \
	} while (0)

const struct verb *verb_find(Gisa__V1__Request__VerbCase c);
const struct verb *verb_table(size_t *n);

/* Zeroed request-lifetime memory (freed after the reply); NULL if out. */
void *req_alloc(struct request *r, size_t size);
char *req_strdup(struct request *r, const char *s);
void req_free(struct request *r);
/*
 * Set the message (printf) and yield err, for `return req_fail(...)'.  A
 * macro, so that the error is visible at the call (to a static analyzer
 * too); err is read after the message is made: pass a value, not -errno.
 */
#define req_fail(r, err, ...) (req_msgf((r), __VA_ARGS__), (err))
void req_msgf(struct request *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An engine error: "<verb> on VM `x': <what>: <strerror> (<err>)". */
int req_engine(struct request *r, int err, const char *what);
/*
 * Look up the VM named by a request (-EINVAL for a missing or invalid
 * name, -ENOENT for an unknown one, message set) and remember it in r->vm.
 */
int req_vm(struct request *r, const char *name, struct vmrec **ret);
bool name_valid(const char *s);
/*
 * A page of a listing (vm_list, job_list, checkpoint_list): the entries
 * that fit in one reply on r's connection, less GISAD_REPLY_HEADROOM for
 * the envelope and the list's other fields, and within the client's limit
 * (0: none).  A handler offers page_take each entry in the listing's
 * order with its packed size; the first refused ends the page and sets
 * more.  The first entry is always taken, so that a client paging on
 * always moves on (one entry over the cap fails as any reply too large).
 * Paging is the client's choice: a request with a cursor or a limit
 * (paged) gets a page; one with neither, an older client's, gets the
 * whole listing or -E2BIG (page_end), never a part it would take for the
 * whole.
 */
struct page {
	size_t room;                     /* bytes left for entries */
	uint32_t limit;
	uint32_t n;                      /* entries taken */
	bool paged;                      /* the request asked for pages */
	bool more;                       /* an entry was refused */
};
void page_init(struct page *p, const struct request *r, bool paged, uint32_t limit);
bool page_take(struct page *p, size_t packed);
/* 0, or -E2BIG naming what of total entries did not fit, if not paged. */
int page_end(struct request *r, const struct page *p, const char *what, size_t total);
/* The checks shared by create and import: 0, or -EOPNOTSUPP with message. */
int req_host_offers(struct request *r, const char *what, enum gisa_profile profile,
		    uint32_t caps);
const char *caps_str(uint32_t caps, char *buf, size_t len);
/* Whether the host offers profile and caps; -EOPNOTSUPP with msg if not. */
int host_offers(const struct gisad *d, const char *what, enum gisa_profile profile,
		uint32_t caps, char *msg, size_t msglen);

/* Handlers (verb-vm.c, verb-engine.c, verb-store.c). */
int verb_ping(struct request *r);
int verb_vm_create(struct request *r);
int verb_vm_destroy(struct request *r);
int verb_vm_list(struct request *r);
int verb_vm_info(struct request *r);
int verb_vm_digest(struct request *r);
int verb_host_info(struct request *r);
int verb_flic_create(struct request *r);
int verb_flic_destroy(struct request *r);
int verb_flic_has(struct request *r);
int verb_flic_get(struct request *r);
int verb_flic_set(struct request *r);
int verb_batch_inject(struct request *r);
int verb_interrupt(struct request *r);
int verb_routes_set(struct request *r);
int verb_route_trigger(struct request *r);
int verb_mem_read(struct request *r);
int verb_mem_write(struct request *r);
int verb_memslot_set(struct request *r);
int verb_dirty_log(struct request *r);
int verb_vcpu_get(struct request *r);
int verb_vcpu_set(struct request *r);
int verb_vcpu_run(struct request *r);
int verb_vcpu_wait(struct request *r);
int verb_vcpu_deliver(struct request *r);
int verb_vcpu_deliverable(struct request *r);
int verb_vcpu_tpi(struct request *r);
int verb_vcpu_tsch(struct request *r);
int verb_gisc_register(struct request *r);
int verb_gisc_unregister(struct request *r);
int verb_hw_airq(struct request *r);
int verb_process_alerts(struct request *r);
int verb_timer_fire(struct request *r);
int verb_events_read(struct request *r);
int verb_snapshot_export(struct request *r);
int verb_snapshot_import(struct request *r);
int verb_checkpoint_create(struct request *r);
int verb_checkpoint_restore(struct request *r);
int verb_checkpoint_list(struct request *r);
int verb_checkpoint_delete(struct request *r);
int verb_job_list(struct request *r);
int verb_job_status(struct request *r);
int verb_job_abort(struct request *r);
int verb_job_clear(struct request *r);
int verb_subscribe(struct request *r);
int verb_migrate(struct request *r);
int verb_job_resolve(struct request *r);
int verb_remote_fetch(struct request *r);

/*
 * Handle one decoded request into r->resp (which the caller sends): the
 * version and fd checks, the handler, then the events of the VM it touched.
 */
void verb_dispatch(struct request *r);

/* ---- VM registry (vmreg.c) --------------------------------------------- */

struct vmrec *vmreg_find(struct gisad *d, const char *name);
/*
 * Whether name may not be given to a new VM: an active VM, a VM retired
 * after migrating away, or an incoming migration's reservation.  -EEXIST
 * with msg, or 0.
 */
int vmreg_name_taken(struct gisad *d, const char *name, char *msg, size_t msglen);
/* Register vm under name (the caller checked name and cap).  -ENOMEM. */
int vmreg_add(struct gisad *d, const char *name, const uint8_t uuid[16], struct gisa_vm *vm,
	      struct vmrec **ret);
/* Unregister and free the VM. */
void vmreg_remove(struct gisad *d, struct vmrec *rec);
/*
 * Unregister the VM now and free it on a later loop turn, after what this
 * one queued (a job's answer): freeing a large VM takes milliseconds.  A
 * VM whose GISA is on the alert list waits while a frozen VM is listed
 * there too (freeing it processes the list: vmreg_alerts_frozen), until
 * vmreg_gone_retry after that VM's state changed.
 */
void vmreg_remove_later(struct gisad *d, struct vmrec *rec);
void vmreg_gone_retry(struct gisad *d);
/* Put vm in rec's place; the old VM is freed (already NULL is fine). */
void vmreg_replace(struct vmrec *rec, struct gisa_vm *vm);
void vmreg_free_all(struct gisad *d);
/* Move the engine's pending events into rec's ring and publish them. */
void vmreg_drain(struct gisad *d, struct vmrec *rec);
/* Whether rec's VM is frozen by its migration (FROZEN or IN_DOUBT): nothing may change it. */
bool vmreg_frozen(const struct vmrec *rec);
/*
 * A frozen VM whose GISA is on the host's alert list, if processing that
 * list would change it: the processing itself (freed NULL), or freeing
 * freed's VM, which processes the list only when freed's GISA is on it
 * (spec §7).  NULL: none.
 */
struct vmrec *vmreg_alerts_frozen(struct gisad *d, const struct vmrec *freed);
/* Take up to max events from rec's ring, oldest first. */
size_t vmreg_events_take(struct vmrec *rec, struct gisa_event *out, size_t max);
void uuid_random(uint8_t uuid[16]);

/* ---- snapshots and checkpoints (store.c) -------------------------------- */

/*
 * The snapshot file of a VM (malloc'd) and its state digest.  err/msg
 * carry a sentence on failure.
 */
int store_encode(struct vmrec *rec, bool compress, int level, uint8_t **ret_buf,
		 size_t *ret_len, uint8_t digest[GISA_SNAP_DIGEST_SIZE], char *msg, size_t msglen);

/* The state digest of a VM (SHA-256 of its canonical state).  -ENOMEM. */
int store_digest(struct vmrec *rec, uint8_t digest[GISA_SNAP_DIGEST_SIZE]);

/*
 * Install a snapshot file as VM `name' (NULL: the name in the file), all
 * or nothing: a new VM, or in place of an existing one only if replace.
 * Checks the host's offered capabilities and max_vms first.  On success
 * *ret is the record and digest the state digest.
 */
int store_install(struct gisad *d, const char *name, bool replace, const uint8_t *buf,
		  size_t len, struct vmrec **ret, uint8_t digest[GISA_SNAP_DIGEST_SIZE],
		  char *msg, size_t msglen);

/* Whole regular file from fd (current offset to EOF) / to fd.  -errno, msg. */
int store_read_fd(int fd, uint8_t **ret_buf, size_t *ret_len, char *msg, size_t msglen);
int store_write_fd(int fd, const uint8_t *buf, size_t len, char *msg, size_t msglen);
/* Write dir/name atomically and durably (temporary, fsync, rename, fsync dir). */
int store_file_write(const char *dir, const char *name, const uint8_t *buf, size_t len,
		     char *msg, size_t msglen);
/* A file of store_files_write: buf (len bytes), then zeros up to size (written, not a hole). */
struct store_file {
	const char *name;
	const uint8_t *buf;
	size_t len;
	uint64_t size;
};

#define STORE_FILES_MAX 2u
/*
 * Write n (at most STORE_FILES_MAX) files into dir atomically and durably,
 * with one flush of the directory for all: each written to a temporary,
 * then each flushed, then each renamed in order, then the directory
 * flushed.  A failure leaves the files renamed before it in place.
 * -errno, msg.
 */
int store_files_write(const char *dir, const struct store_file *f, size_t n, char *msg,
		      size_t msglen);
/* <state_dir>/checkpoints/<vm>, created if missing.  -errno with msg. */
int store_checkpoint_dir(struct gisad *d, const char *vm, char *dir, size_t len, char *msg,
			 size_t msglen);

/*
 * Checkpoints: <state_dir>/checkpoints/<vm>/{current,<tag>}.gsnap.  A write
 * does not count the VM's tags: its caller asks store_checkpoint_quota
 * first, before encoding (on the same turn of the loop, so nothing comes
 * between them).
 */
int store_checkpoint_write(struct gisad *d, const char *vm, const char *tag,
			   const uint8_t *buf, size_t len, char *msg, size_t msglen);
int store_checkpoint_read(struct gisad *d, const char *vm, const char *tag, uint8_t **ret_buf,
			  size_t *ret_len, char *msg, size_t msglen);
int store_checkpoint_delete(struct gisad *d, const char *vm, const char *tag, char *msg,
			    size_t msglen);

struct ckpt_entry {
	char tag[GISAD_NAME_MAX + 1];    /* "" = current */
	uint64_t size;
	uint64_t mtime_ns;
	bool has_info;
	struct gisa_snap_info info;
};
/*
 * The checkpoints of vm whose tags sort after after (NULL: all; "" is the
 * current one's), a malloc'd array, current first, then tags sorted: tag,
 * size and mtime, without info (store_checkpoint_info).
 */
int store_checkpoint_list(struct gisad *d, const char *vm, const char *after,
			  struct ckpt_entry **ret, size_t *n, char *msg, size_t msglen);
/*
 * max_checkpoints_per_vm: 0 if vm may write tag (an existing one always),
 * -EDQUOT naming the count and the limit, or the directory's -errno.
 */
int store_checkpoint_quota(struct gisad *d, const char *vm, const char *tag, char *msg,
			   size_t msglen);
/* An entry's info (has_info), read from its file's head and tail. */
void store_checkpoint_info(struct gisad *d, const char *vm, struct ckpt_entry *e);

/* Make sure the state directory exists.  -errno with msg. */
int store_init(struct gisad *d, char *msg, size_t msglen);
/* Start-up: restore every VM that has a current checkpoint. */
void store_restore_all(struct gisad *d);
/* SIGTERM: write every VM's current checkpoint; number of failures. */
int store_checkpoint_all(struct gisad *d);

/* ---- jobs (job.c) ------------------------------------------------------- */

struct job *job_start(struct gisad *d, Gisa__V1__JobOperation op, const char *vm,
		      const char *tag);
void job_progress(struct job *j, uint64_t processed, uint64_t total);
/* err 0: COMPLETED; -ECANCELED: CANCELLED; else FAILED with msg.  Publishes. */
void job_finish(struct gisad *d, struct job *j, int err, const char *msg);
/* Publish a change of a running job (phase, progress). */
void job_changed(struct gisad *d, const struct job *j);
struct job *job_find(struct gisad *d, uint64_t id);
/*
 * Fill a JobInfo (strings point into j); a migration job's statistics go
 * into *ms, which must outlive info.
 */
void job_to_info(const struct job *j, Gisa__V1__JobInfo *info, Gisa__V1__MigrationStats *ms);
/* Remove finished job id (0: all finished).  Returns how many went. */
size_t job_clear(struct gisad *d, uint64_t id);
void job_free_all(struct gisad *d);
const char *job_op_name(Gisa__V1__JobOperation op);

#endif
