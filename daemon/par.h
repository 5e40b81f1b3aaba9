/* SPDX-License-Identifier: MIT */
/*
 * Fork-join for a migration's heavy steps: of two independent halves of
 * a step, one runs on a worker thread while the loop's thread does the
 * other (version 1's frozen snapshot's flush beside the final delta, and
 * a final image's state beside its checks), or while the loop waits for
 * the network (round 0's encoding, from the dial to the hello: joined on
 * a later turn of the loop).
 *
 * One worker serves the daemon, started at the first threaded par_start
 * and stopped by par_stop at shut-down; handing it a half costs about
 * 10-25 microseconds on an idle core (a new thread two or three times
 * that), and more when the cores are busy: the caller asks for it only
 * when the halves are long (mig_par_worth).  It takes one half at a
 * time: a half started while another is posted or running runs on the
 * caller's thread, never queued behind it.
 *
 * The half on the worker computes from inputs nobody changes until
 * par_join and writes only its own outputs: it never touches the event
 * loop, a job, a link or the log.  All signals are blocked on it.
 */
#ifndef GISAD_PAR_H
#define GISAD_PAR_H

#include <stdbool.h>

struct par {
	void (*fn)(void *arg);
	void *arg;
	bool posted;            /* handed to the worker */
	bool done;              /* the worker returned from fn (under the worker's lock) */
};

/*
 * Hand fn(arg) to the worker if threaded, or run it at once on the
 * caller's thread (also when the worker cannot be started or is busy):
 * the outcome is the same, only later.
 */
void par_start(struct par *p, bool threaded, void (*fn)(void *arg), void *arg);

/*
 * Whether fn went to the worker: then its outputs may be read only after
 * par_join; otherwise it has returned already.
 */
static inline bool par_posted(const struct par *p)
{
	return p->posted;
}

/*
 * Wait until fn has returned (at once when it ran on the caller's thread);
 * if the worker has not taken it yet, the caller runs it now instead, so
 * that a worker waiting for a CPU never makes the caller wait longer than
 * fn itself would.
 */
void par_join(struct par *p);

/* Stop and join the worker (shut-down); a later par_start starts it again. */
void par_stop(void);

#endif
