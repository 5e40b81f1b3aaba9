/* SPDX-License-Identifier: MIT */
/*
 * The durable-write queue: migration records and slots written on a
 * thread of their own, so that a flush (0.1 to 10 ms on a real disk)
 * overlaps the wire and the other side's work instead of stopping the
 * event loop.
 *
 * One writer thread serves the daemon and runs the jobs one at a time, in
 * the order they were posted; every job gets a ticket, increasing.  A job
 * is a struct of its poster's that starts with a struct dwq_job: fn runs
 * on the writer and touches only the job (its inputs were copied or handed
 * over at the post) and the file system; then, on the loop, done (unless
 * its owner disowned it) and release, after which the job is freed.
 *
 * Ordering with the writes the loop still makes itself: every public
 * writer of mig-rec.c calls dwq_flush first (not on the writer), so a
 * synchronous write never overtakes a queued one of the same migration.
 * A sync point (an answer that promises durability) waits for its ticket
 * with dwq_wait.  If the thread cannot be started, a job runs at once on
 * the poster's thread; the rest is the same.
 */
#ifndef GISAD_DWQ_H
#define GISAD_DWQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gisad;

#define DWQ_MSG_MAX 512

struct dwq_job {
	/* On the writer: the write; 0 or -errno with msg.  The result goes to r. */
	int (*fn)(struct gisad *d, struct dwq_job *j);
	/* On the loop after fn, unless disowned (may be NULL). */
	void (*done)(struct gisad *d, struct dwq_job *j);
	/* On the loop last, disowned or not (may be NULL): frees what the job holds. */
	void (*release)(struct dwq_job *j);
	void *owner;                    /* for dwq_disown; NULL: nobody's */
	/* The queue's: */
	uint64_t ticket;
	int r;
	bool disowned;
	char msg[DWQ_MSG_MAX];
	struct dwq_job *next;
};

/*
 * The completion event on d's loop, and the writer thread, started now: a
 * thread created at the first post would wait for a CPU behind the busy
 * ones (a new thread starts behind them; a woken one does not).  -errno.
 */
int dwq_init(struct gisad *d);

/*
 * Queue j (malloc'd by the poster; the queue frees it after release) and
 * return its ticket.
 */
uint64_t dwq_post(struct gisad *d, struct dwq_job *j);

/* Whether fn of every job up to ticket has returned. */
bool dwq_finished(struct gisad *d, uint64_t ticket);

/*
 * Block until fn of every job up to ticket has returned (its result is in
 * the job; done runs later, from the loop).
 */
void dwq_wait(struct gisad *d, uint64_t ticket);

/* dwq_wait for everything posted so far; at once on the writer itself. */
void dwq_flush(struct gisad *d);

/* Whether the caller is the writer thread (running a job's fn). */
bool dwq_on_writer(void);

/*
 * Run done and release of the jobs whose fn has returned, now, on the
 * loop (after dwq_wait, so that their results are taken before going on).
 */
void dwq_complete(struct gisad *d);

/* done is not called for owner's jobs from now on (release still is). */
void dwq_disown(struct gisad *d, const void *owner);

/*
 * Flush, run what is finished, stop the thread, free the queue (shut-down).
 * Jobs that done callbacks post meanwhile run too, with their done
 * callbacks; once the thread has stopped, on the caller's thread.
 */
void dwq_stop(struct gisad *d);

#endif
