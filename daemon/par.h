/* SPDX-License-Identifier: MIT */
/*
 * Fork-join for the switchover's heavy steps: of two independent halves
 * of a step, one runs on a second thread while the loop's thread does the
 * other.  Only for work on large VMs (the maximum state's canonical state
 * takes 2 ms to make and hash): a thread costs tens of microseconds.
 *
 * The half on the second thread computes from inputs nobody changes until
 * par_join and writes only its own outputs: it never touches the event
 * loop, a job, a link or the log.  All signals are blocked on it.
 */
#ifndef GISAD_PAR_H
#define GISAD_PAR_H

#include <pthread.h>
#include <stdbool.h>

struct par {
	pthread_t thread;
	bool running;
	void (*fn)(void *arg);
	void *arg;
};

/*
 * Run fn(arg) on a new thread when threaded is true, else (or when no
 * thread can be made) at once on the caller's: the outcome is the same,
 * only later.
 */
void par_start(struct par *p, bool threaded, void (*fn)(void *arg), void *arg);

/* Wait until fn has returned (at once when it ran on the caller's thread). */
void par_join(struct par *p);

#endif
