/* SPDX-License-Identifier: MIT */
/*
 * Live migration inside gisad (docs/MIGRATION-PROTOCOL.md), in modules:
 *
 *   mig-link.c    mlink_*   one TLS connection to a peer gisad: dial or
 *                           accept, handshake and identity, frames,
 *                           messages, object streams, timers, closing
 *   mig-listen.c  mig_*     the listener: accept, per-peer limits, the
 *                           destination's hello; hands links to mig-in.c
 *   mig-in.c      migin_*   the destination: staging, rounds, commit,
 *                           outcome queries, fetches
 *   mig-out.c     migout_*  the source: migrate-out jobs, precopy,
 *                           switchover, doubt and its resolution, fetch
 *   mig-rec.c     migrec_*  migration records in the state directory
 *
 * Everything runs on the daemon's one event loop.
 */
#ifndef GISAD_MIG_H
#define GISAD_MIG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include <gisa/frame.h>
#include <gisa/tls.h>

#include "dwq.h"
#include "gisad.h"
#include "migration.pb-c.h"

#define MIG_VERSION_MIN     ((uint32_t)GISA__V1__MIG_PROTOCOL__MIG_PROTOCOL_MIN_VERSION)
#define MIG_VERSION_MAX     ((uint32_t)GISA__V1__MIG_PROTOCOL__MIG_PROTOCOL_VERSION)
/* The newest version this gisad speaks now: MIG_VERSION_MAX, or the one configured. */
#define MIG_VERSION_NOW(d)  ((d)->cfg.mig_max_version && \
			     (d)->cfg.mig_max_version < MIG_VERSION_MAX ? \
			     (d)->cfg.mig_max_version : MIG_VERSION_MAX)
#define MIG_ID_SIZE         GISA_FRAME_MIGRATION_ID_SIZE
#define MIG_DIGEST_SIZE     GISA_FRAME_DIGEST_SIZE
/* Heap a decoded MigMessage may use, per payload byte, plus a floor. */
#define MIG_DECODE_FACTOR   32u
#define MIG_DECODE_FLOOR    (64u << 10)
/* Text a peer chose that goes into the log or a record. */
#define MIG_PEER_TEXT       64u
/* Compatibility changes carried in a MigVerdict. */
#define MIG_VERDICT_CHANGES 64u
/* A peer's host as dialled (a name or an address), and "host:port" for logs. */
#define MIG_HOST_MAX        (GISAD_LISTEN_MAX - 1)
#define MIG_ADDR_MAX        (GISAD_LISTEN_MAX + 16)
/* A tls://HOST:PORT[/NAME] URI. */
#define MIG_URI_MAX         GISAD_PEER_MAX

/* ---- links (mig-link.c) -------------------------------------------------- */

struct mlink;

/*
 * What a link's owner hears.  A callback may call mlink_close, mlink_drop
 * or mlink_error on its link (which detach the owner: no callback follows)
 * but never frees it.  After `down' the link is freed: forget it.
 */
struct mlink_ops {
	/* The handshake completed and the peer's identity was checked. */
	void (*up)(struct mlink *l);
	/* One message (valid during the call); version and id were checked. */
	void (*msg)(struct mlink *l, const Gisa__V1__MigMessage *m);
	/* A complete object of the stream announced by mlink_expect (owned). */
	void (*object)(struct mlink *l, uint8_t *buf, size_t len);
	/* mlink_wait's time ran out (the link stays up). */
	void (*timeout)(struct mlink *l);
	/* The output drained (optional). */
	void (*drained)(struct mlink *l);
	/*
	 * The link is gone: err and a sentence saying why.  Also when the
	 * link refused what the peer sent (a bad frame, a message of another
	 * version or migration, a broken object stream): it answered
	 * MigError and closes; the owner decides as for a lost connection.
	 */
	void (*down)(struct mlink *l, int err, const char *why);
};

/* The part of an address that names its host: IPv4 (4 bytes) or an IPv6 /64 (8). */
struct mig_host {
	uint8_t b[8];
	uint8_t len;                    /* 0: not set */
};

struct mlink {
	struct mlink *next, *prev;      /* d->mig_links */
	struct gisad *d;
	struct bufferevent *bev;
	SSL *ssl;                       /* freed with bev */
	struct event *timer;            /* handshake deadline, then mlink_wait */
	struct event *reaper;           /* frees a detached link */
	struct event *conn_ev;          /* dialled: resolution's start, then the TCP connection */
	struct mlink_dns *dns;          /* dialled by name: its resolution in progress */
	int fd;                         /* its socket until the bufferevent owns it */
	struct gisa_frame_decoder *dec;
	struct gisa_reasm *reasm;
	const struct mlink_ops *ops;    /* NULL once detached */
	void *owner;
	bool server;
	bool up;                        /* handshake done, identity checked */
	bool closing;                   /* detached: freed once drained */
	bool linger;                    /* closing after MigError: reads (and drops) until the peer closes */
	uint32_t version;               /* 0 until agreed */
	bool has_id;
	uint8_t id[MIG_ID_SIZE];
	uint32_t tx_stream;             /* last stream id sent */
	uint32_t handshake_ms, wait_ms;
	struct evbuffer *tx;            /* frames being built (mlink_send*) */
	uint64_t tx_queued;             /* bytes handed to the bufferevent */
	char addr[MIG_ADDR_MAX];
	struct mig_host host;           /* accepted: the host part of addr (mig-listen.c) */
	struct gisa_tls_peer peer;
};

/* Accept fd (a server link).  -errno with msg; fd is closed on failure. */
int mlink_accept(struct gisad *d, struct gisa_tls_ctx *ctx, int fd, const char *addr,
		 const struct mlink_ops *ops, void *owner, struct mlink **ret, char *msg,
		 size_t msglen);
/* Dial host:port (a client link, host checked against the certificate). */
int mlink_dial(struct gisad *d, struct gisa_tls_ctx *ctx, const char *host, const char *port,
	       const struct mlink_ops *ops, void *owner, struct mlink **ret, char *msg,
	       size_t msglen);
/* Hand the link to another owner (the listener to a session). */
void mlink_attach(struct mlink *l, const struct mlink_ops *ops, void *owner);
/*
 * Queue one message; the envelope's version and migration id are filled
 * in from the link.  -ENOMEM, -E2BIG (over the MSG cap), -ENOTCONN.
 */
int mlink_send(struct mlink *l, Gisa__V1__MigMessage *m);
/*
 * Once a message the peer waits on has left (the drained callback: the
 * bufferevent writes when the loop next turns), before a long step: let
 * a peer on this host, just woken, run first.
 */
void mlink_yield(void);
/* The next stream id to announce. */
uint32_t mlink_next_stream(struct mlink *l);
/*
 * Queue announce (the message naming the stream) and then an object as
 * CHUNK frames and END on stream, all or nothing, handed to the
 * connection together (small ones leave in one TLS record).  -ENOMEM,
 * -E2BIG, -ENOTCONN.
 */
int mlink_send_object(struct mlink *l, Gisa__V1__MigMessage *announce, uint32_t stream,
		      const uint8_t *buf, size_t len);
/* Expect the peer's object on stream (announced with bytes).  -errno, msg. */
int mlink_expect(struct mlink *l, uint32_t stream, uint64_t bytes, char *msg, size_t msglen);
/* Bytes queued and not yet handed to the kernel. */
size_t mlink_unsent(const struct mlink *l);
/* Call ops->timeout if nothing arrives within ms (0: stop waiting). */
void mlink_wait(struct mlink *l, uint32_t ms);
/* Send what is queued, close_notify, free.  Detaches the owner. */
void mlink_close(struct mlink *l);
/* Free now (from the loop).  Detaches the owner. */
void mlink_drop(struct mlink *l);
/* Shut-down: free every link at once (their owners are gone). */
void mlink_free_all(struct gisad *d);
/* SIGHUP: the resolver reads /etc/resolv.conf and /etc/hosts again. */
void mlink_dns_reload(struct gisad *d);
/*
 * The migration TLS context of role from cfg's files and allow-list (the
 * number of its entries in *ret_n, if not NULL).  -ENOTCONN when cfg
 * configures no TLS; -errno; msg says why.
 */
int mig_tls_ctx(const struct gisad_config *cfg, enum gisa_tls_role role,
		struct gisa_tls_ctx **ret, size_t *ret_n, char *msg, size_t msglen);
/* MigError (logged at notice with the peer), then mlink_close. */
void mlink_error(struct mlink *l, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * Hand the heap a migration freed back to the kernel.  Its images, states
 * and snapshot buffers are large and short-lived, and glibc keeps freed
 * heap mapped (its mmap threshold rises after large frees): without this,
 * a daemon hosting many guests carries the peak of its last migration.
 * Called when a migration's side ends; nothing elsewhere.
 */
void mig_heap_trim(void);
/*
 * At start-up, before anything is allocated: blocks up to 32 MiB come from
 * the heap rather than fresh mappings, and up to 64 MiB free at its top
 * stay mapped.  A migration's digests after the commit then reuse the
 * memory of the precopy's images, freed just before them, instead of
 * faulting in about 8 MB afresh (some 2,000 page faults, which doubled
 * their time); mig_heap_trim gives it back when the side ends.
 */
#define MIG_HEAP_MMAP_THRESHOLD (32 << 20)  /* glibc's largest on 64-bit hosts */
#define MIG_HEAP_TRIM_THRESHOLD (64 << 20)
void mig_heap_setup(void);

/*
 * Whether a switchover step on img is worth the worker thread (par.h):
 * from MIG_PAR_MIN_ENTRIES queued interrupts on, making its state takes
 * about 0.1 ms or more; below, handing a half to the worker costs about
 * what the two halves side by side save, and more on busy cores.
 */
#define MIG_PAR_MIN_ENTRIES 16384u
bool mig_par_worth(const struct gisa_image *img);
/*
 * Whether the full-state digest of a VM like img is cheap enough to be
 * made on the switchover's way (a tracked switchover's digests, section
 * 3.4 of docs/MIGRATION-PROTOCOL.md): up to MIG_EARLY_DIGEST_MAX_ENTRIES
 * queued interrupts it takes about 0.1 ms or less here, between the
 * destination's activation and its answer.
 */
#define MIG_EARLY_DIGEST_MAX_ENTRIES 4096u
bool mig_digest_early(const struct gisa_image *img);
/* A peer's text for logs and records: cut, unprintable bytes replaced. */
void mig_clean_text(const char *s, char *out, size_t len);
/* SHA-256 of len bytes.  -ENOMEM. */
int mig_sha256(const uint8_t *p, size_t len, uint8_t out[MIG_DIGEST_SIZE]);
/*
 * An all-zero digest: one not computed.  A tracked switchover's final
 * delta names no result, and its records hold no D(I_f) until the
 * activation's digests are compared.
 */
bool mig_digest_unknown(const uint8_t d[MIG_DIGEST_SIZE]);
/*
 * A MigMessage body's message type ("MigPing") from its field number
 * (body_case), through the message's descriptor: for errors and logs,
 * beside the number.  "unknown" for a field the proto does not have.
 */
const char *mig_body_name(int body);
/* Lower-case hex of n bytes into out (2n + 1). */
void mig_hex(const uint8_t *p, size_t n, char *out);
/* "tls://HOST:PORT" or "tls://HOST:PORT/NAME" (name NULL: no NAME allowed). */
int mig_uri_parse(const char *uri, char *host, size_t hostlen, char *port, size_t portlen,
		  char *name, size_t namelen, char *msg, size_t msglen);

/* ---- records (mig-rec.c) ------------------------------------------------- */

enum migrec_state {
	MIGREC_NONE = 0,
	/* source */
	MIGREC_PRECOPY,
	MIGREC_IN_DOUBT,
	MIGREC_RETIRED,
	MIGREC_RESUMED,
	/* destination */
	MIGREC_STAGING,
	MIGREC_COMMITTED,
	MIGREC_DISCARDED,
};

struct migrec {
	uint8_t id[MIG_ID_SIZE];
	enum migrec_state state;
	char vm[GISAD_NAME_MAX + 1];            /* the name on this host */
	char remote_vm[GISAD_NAME_MAX + 1];     /* the name on the other */
	uint8_t uuid[16];
	char peer[MIG_URI_MAX];                 /* source: the URI dialled; else the address */
	char peer_name[GISA_TLS_MAX_NAME + 1];
	char peer_entry[GISA_TLS_MAX_NAME + 1];  /* the allow-list entry it matched */
	char peer_fp[GISA_TLS_FINGERPRINT_LEN + 1];
	/*
	 * Source, IN_DOUBT written before the freeze (a tracked switchover):
	 * the frozen VM's state is not on disk until its slot holds the final
	 * delta, whose record says false.
	 */
	bool presumed;
	bool has_digests;
	uint8_t final_digest[MIG_DIGEST_SIZE];  /* D(I_f) */
	uint8_t chain[MIG_DIGEST_SIZE];         /* C_f */
	uint8_t target_digest[MIG_DIGEST_SIZE];
	bool has_active_digest;
	uint8_t active_digest[MIG_DIGEST_SIZE];  /* the VM activated at the destination */
	int error;
	char message[256];
	uint64_t created_unix_ns, decided_unix_ns;
};

const char *migrec_state_name(enum migrec_state s);
/* Write (or replace) r's record durably.  -errno with msg. */
int migrec_write(struct gisad *d, const struct migrec *r, char *msg, size_t msglen);
/* Remove r's record (and its staged snapshot, if any). */
int migrec_remove(struct gisad *d, const uint8_t id[MIG_ID_SIZE]);
/* Every readable record (malloc'd array); unreadable ones are logged. */
int migrec_load_all(struct gisad *d, struct migrec **ret, size_t *n);
/*
 * <state_dir>/migrations/<id>.stage: the slot of a destination's staged
 * checkpoint (a record written in it means COMMITTED) or of a source's
 * frozen VM (IN_DOUBT).  It is created durably in precopy: a source's
 * holding round 0's snapshot (from the dial when round 0 is made on the
 * loop, else once MigBegin and round 0 are sent), a destination's empty
 * at MigBegin (a spare pair's slot, .spare-<k>.stage, when round 0 fits,
 * named <id>.stage once the migration ended) and round 0 written
 * into it once decoded; zero-filled beyond to room for the state stored
 * whole and for deltas; a version 2 migration appends each precopy round's delta
 * (durably, during precopy) and then the final delta with the record: an
 * overwrite of reserved blocks and one fdatasync (the destination's
 * inside the downtime, the source's queued right after the delta).  A
 * version 2 source also appends its presumed IN_DOUBT record before the
 * freeze and its RETIRED record after the outcome.  A version 1
 * switchover (or a fallback) overwrites it from the start with the final
 * snapshot and the record instead.
 */
struct migrec_slot {
	uint8_t id[MIG_ID_SIZE];
	uint64_t end;                           /* the snapshot, deltas and records written */
	uint64_t size;                          /* the file's size: zeros after end */
};

/*
 * Create the slot of migration rec->id holding round 0's snapshot file
 * (snap), room made after it for the deltas and the records to come (a
 * source's, with its PRECOPY record); or, snap NULL, holding zeros only,
 * room made for a round 0 of announced bytes (MigBegin's estimate, capped
 * lower until round 0 arrives), to be filled by migrec_stage_fill (a
 * destination's, with its STAGING record).  The JSON record rec is written
 * beside it, both files flushed before both are renamed and the directory
 * flushed once for the two; or, a destination's when a free spare pair fits,
 * rec written over the spare record and flushed, the pair kept under its
 * hidden names (mig-rec.c, Spares).  -errno with msg.
 */
int migrec_stage_reserve(struct gisad *d, const struct migrec *rec, const uint8_t *snap,
			 size_t len, uint64_t announced, struct migrec_slot *slot, char *msg,
			 size_t msglen);
/*
 * Write round 0's snapshot file (snap) from the start of the slot of
 * migration id, reserved empty: an overwrite and one fdatasync, the file
 * grown (zeros) to the room a slot made with snap would have if it is
 * smaller.  -errno with msg.
 */
int migrec_stage_fill(struct gisad *d, const uint8_t id[MIG_ID_SIZE], const uint8_t *snap,
		      size_t len, struct migrec_slot *slot, char *msg, size_t msglen);
/* Append a precopy round's (uncompressed) delta durably.  -errno with msg. */
int migrec_stage_append(struct gisad *d, struct migrec_slot *slot, const uint8_t *delta,
			size_t len, char *msg, size_t msglen);
/*
 * Append the final delta and the record r the slot then stands for: one
 * pwrite, one fdatasync.  -errno with msg.
 */
int migrec_stage_final(struct gisad *d, const struct migrec_slot *slot, const struct migrec *r,
		       const uint8_t *delta, size_t len, char *msg, size_t msglen);
/*
 * Write the snapshot from the slot's start, followed by the record r (the
 * one the written slot stands for), durably: one pwrite, one fdatasync.
 * -errno with msg.
 */
int migrec_stage_write(struct gisad *d, const struct migrec *r, const uint8_t *snap,
		       size_t len, char *msg, size_t msglen);
/*
 * Overwrite a block of zeros after the slot's end durably: times the writes
 * above.  -ENOSPC (nothing written) when the slot has no such block.
 */
int migrec_stage_probe(struct gisad *d, const struct migrec_slot *slot, char *msg,
		       size_t msglen);
/* Whether the slot has such a block (within its size). */
bool migrec_stage_probe_fits(const struct migrec_slot *slot);
/*
 * Append the record r to a source's slot, after what is complete from
 * slot->end on (a final delta and its record queued before it may have
 * gone in since), durably: one pwrite, one fdatasync; slot->end becomes
 * its end.  A presumed IN_DOUBT record (slot->end after the precopy
 * deltas), or the RETIRED one.  -errno with msg.
 */
int migrec_stage_note(struct gisad *d, struct migrec_slot *slot, const struct migrec *r,
		      char *msg, size_t msglen);
/*
 * 1: the slot is written: a complete snapshot (decoded, digest checked),
 * every delta after it complete and applying, and a record after them
 * (its SHA-256 checked, parsed, this id): the last complete one, returned
 * in *rec (a source's slot can hold a presumed IN_DOUBT record, the final
 * delta and the frozen IN_DOUBT record, then a RETIRED one); 0: no slot,
 * or nothing complete written in it (msg says which); -errno with msg when
 * it cannot be read or holds what gisad does not write.
 */
int migrec_stage_written(struct gisad *d, const uint8_t id[MIG_ID_SIZE], struct migrec *rec,
			 char *msg, size_t msglen);
/* Remove the slot durably (absent: 0).  -errno with msg. */
int migrec_stage_remove(struct gisad *d, const uint8_t id[MIG_ID_SIZE], char *msg, size_t msglen);
/* Whether the slot exists (written or not). */
bool migrec_stage_exists(struct gisad *d, const uint8_t id[MIG_ID_SIZE]);
/*
 * Move the written slot's state to checkpoints/<vm>/current.gsnap (its
 * snapshot as it is, or with deltas the state they lead to, encoded): a
 * durable copy, then the slot removed durably.  -errno with msg.
 */
int migrec_stage_commit(struct gisad *d, const uint8_t id[MIG_ID_SIZE], const char *vm,
			char *msg, size_t msglen);

/*
 * The writes above, made by the durable-write queue (dwq.h) while the loop
 * goes on: a record (WRITE: rec), a source's slot made with round 0's
 * snapshot beside its JSON record rec and one overwrite timed after it
 * (RESERVE: rec, buf; slot and probe_ns come back), a destination's slot
 * reserved empty beside its JSON record, from the spares if they fit
 * (STAGE: rec, announced; migrec_post_stage), round 0's snapshot written into it (FILL: rec.id,
 * buf; slot comes back), a final delta and its record (FINAL: slot, rec,
 * buf), a record appended to a source's slot (NOTE: slot, rec; the slot's
 * end does not come back), a slot removed (REMOVE: rec.id), a retired VM's
 * slot and current checkpoint removed (RETIRE: rec.id, rec.vm; after its
 * JSON record, rec, is written with RETIRE_WRITE), an activated VM's checkpoint
 * (INSTALL: img and st encoded as checkpoints/<rec.vm>/current.gsnap,
 * then the slot removed; without img, or if that fails, the slot's state
 * moved there, and j.r is 1 when only the first failed), a destination's
 * spares (SPARE: migrec_post_spare), one overwrite in a slot timed (PROBE:
 * slot; probe_ns comes back).  done runs on the
 * loop with the result in j.r and j.msg; it only takes the results (no job, link or VM
 * may go in it).  Takes buf.  The ticket, for dwq_wait (0: out of memory,
 * the write was made at once and done has run).
 */
enum migrec_job_kind {
	MIGREC_JOB_WRITE,
	MIGREC_JOB_RESERVE,
	MIGREC_JOB_STAGE,
	MIGREC_JOB_FILL,
	MIGREC_JOB_FINAL,
	MIGREC_JOB_REMOVE,
	MIGREC_JOB_RETIRE,
	MIGREC_JOB_RETIRE_WRITE,
	MIGREC_JOB_NOTE,
	MIGREC_JOB_INSTALL,
	MIGREC_JOB_SPARE,
	MIGREC_JOB_PROBE,
};

struct migrec_job {
	struct dwq_job j;
	enum migrec_job_kind kind;
	struct migrec rec;
	struct migrec_slot slot;
	uint8_t *buf;
	size_t len;
	uint64_t probe_ns;
	uint64_t announced;             /* STAGE */
	struct gisa_image *img;         /* INSTALL (the job's) */
	struct gisa_snap_state st;      /* INSTALL: img's (the job's) */
};

uint64_t migrec_post(struct gisad *d, enum migrec_job_kind kind, const struct migrec *rec,
		     const struct migrec_slot *slot, uint8_t *buf, size_t len, void *owner,
		     void (*done)(struct gisad *d, struct dwq_job *j));
/*
 * A destination's spare STAGING record and slot pairs, made ahead in the
 * records' directory: STAGE takes a free one when round 0's room fits.
 * Pairs migrations hold or held get their names first (every pair);
 * then one missing pair is made.  0: every pair is there; 1: more are
 * missing; -errno with msg.
 */
int migrec_spare_make(struct gisad *d, char *msg, size_t msglen);
/* SPARE: migrec_spare_make queued (a failure is logged; more to make: again later). */
uint64_t migrec_post_spare(struct gisad *d);
/* STAGE for a round 0 of announced bytes. */
uint64_t migrec_post_stage(struct gisad *d, const struct migrec *rec, uint64_t announced,
			   void *owner, void (*done)(struct gisad *d, struct dwq_job *j));
/*
 * A precopy write queued by either side is done (a slot with its record:
 * RESERVE or STAGE; or FILL): the slot it made into *slot, and the first
 * failure into *first_r and first_msg, prefixed with what.  Returns the
 * reservation's probe_ns (0 for anything else or a failure).
 */
uint64_t migrec_precopy_done(const struct dwq_job *dj, struct migrec_slot *slot, int *first_r,
			     char *first_msg, size_t msglen, const char *what);
/* INSTALL, taking img and *st (NULL and NULL: the slot's state). */
uint64_t migrec_post_install(struct gisad *d, const struct migrec *rec, struct gisa_image *img,
			     struct gisa_snap_state *st, void (*done)(struct gisad *d,
								      struct dwq_job *j));

/*
 * A VM's checkpoint file (stored, uncompressed), named vm and uuid: from
 * st when given (img's state, made once), else from img.  -errno with msg.
 */
int mig_encode_checkpoint(const struct gisa_image *img, const struct gisa_snap_state *st,
			  const char *vm, const uint8_t uuid[16], uint8_t **buf, size_t *len,
			  char *msg, size_t msglen);

/* ---- the destination (mig-in.c) ------------------------------------------ */

/* A link whose hello was answered: serve purpose on it. */
void migin_attach(struct mlink *l, Gisa__V1__MigPurpose purpose);
/* Whether a staging migration reserves name or uuid. */
bool migin_reserved(const struct gisad *d, const char *name, const uint8_t uuid[16]);
/* Start-up: settle the records (STAGING -> DISCARDED, COMMITTED installed). */
void migin_recover(struct gisad *d, const struct migrec *r);
/* Keep an outcome for queries (decided or recovered). */
void migin_remember(struct gisad *d, const struct migrec *r);
int migin_abort(struct gisad *d, struct job *j, char *msg, size_t msglen);
void migin_free_all(struct gisad *d);
/*
 * The checkpoints of VMs committed here and not moved into place yet (a
 * tracked commit waits for MigConfirm), queued now: store.c calls it
 * before it writes, reads, lists or deletes a checkpoint, so that the
 * state taken at the answer never lands over a newer checkpoint nor
 * brings back a VM destroyed meanwhile.
 */
void migin_install_all(struct gisad *d);
/*
 * A committed slot that could not be moved into place (its VM runs from
 * memory) would be moved at the next start, over whatever came after.
 * The next durable fact about its VM supersedes it, and the slot goes:
 * store.c calls this once a newer current checkpoint of vm is written,
 * vm destroy once its checkpoint is removed, mig-out.c once its RETIRED
 * record is durable.  An install still in flight is marked, and decides
 * when its result is taken.  why, a string literal, completes "the slot
 * is removed: ...".  On the loop only.
 */
void migin_superseded(struct gisad *d, const char *vm, const char *why);
/* Shut-down, after dwq_stop (whose last installs may still fail). */
void migin_unmoved_free(struct gisad *d);

/* ---- the source (mig-out.c) ---------------------------------------------- */

int migout_abort(struct gisad *d, struct job *j, char *msg, size_t msglen);
/* Start-up: an IN_DOUBT record's VM was restored: freeze it and ask. */
void migout_recover(struct gisad *d, const struct migrec *r);
void migout_free_all(struct gisad *d);
/* Whether a migration of this gisad's own has this id (no self-migration). */
bool migout_has_id(const struct gisad *d, const uint8_t id[MIG_ID_SIZE]);

#endif
