/* SPDX-License-Identifier: MIT */
/* Fork-join for the switchover's heavy steps: the worker thread (par.h). */
#include <pthread.h>
#include <signal.h>
#include <stddef.h>

#include "par.h"

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cv;              /* a half posted, a half done, or stop */
	pthread_t thread;
	bool started;
	bool stop;
	struct par *job;                /* posted, not yet taken */
	bool running;                   /* a half taken, not yet returned */
} w = { .lock = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static void *worker(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&w.lock);
	for (;;) {
		struct par *p;

		while (!w.job && !w.stop)
			pthread_cond_wait(&w.cv, &w.lock);
		if (!w.job)
			break;
		p = w.job;
		w.job = NULL;
		w.running = true;
		pthread_mutex_unlock(&w.lock);
		p->fn(p->arg);
		pthread_mutex_lock(&w.lock);
		w.running = false;
		p->done = true;
		pthread_cond_broadcast(&w.cv);
	}
	pthread_mutex_unlock(&w.lock);
	return NULL;
}

/* Under w.lock. */
static void start_worker(void)
{
	sigset_t all, old;

	/* The worker inherits the mask: no signal handler ever runs on it. */
	sigfillset(&all);
	if (pthread_sigmask(SIG_SETMASK, &all, &old))
		return;
	w.started = !pthread_create(&w.thread, NULL, worker, NULL);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void par_start(struct par *p, bool threaded, void (*fn)(void *arg), void *arg)
{
	p->fn = fn;
	p->arg = arg;
	p->posted = p->done = false;
	if (!threaded) {
		fn(arg);
		return;
	}
	pthread_mutex_lock(&w.lock);
	if (!w.started && !w.stop)
		start_worker();
	/* Busy (one half posted or running): never queued behind it. */
	if (w.started && !w.job && !w.running) {
		w.job = p;
		p->posted = true;
		pthread_cond_broadcast(&w.cv);
	}
	pthread_mutex_unlock(&w.lock);
	if (!p->posted)
		fn(arg);
}

void par_join(struct par *p)
{
	bool mine = false;

	if (!p->posted)
		return;
	pthread_mutex_lock(&w.lock);
	/* Not taken yet (the worker waits for a CPU): the caller runs it. */
	if (w.job == p) {
		w.job = NULL;
		mine = true;
	}
	while (!mine && !p->done)
		pthread_cond_wait(&w.cv, &w.lock);
	pthread_mutex_unlock(&w.lock);
	if (mine)
		p->fn(p->arg);
	p->posted = false;
}

void par_stop(void)
{
	pthread_mutex_lock(&w.lock);
	if (!w.started) {
		pthread_mutex_unlock(&w.lock);
		return;
	}
	w.stop = true;
	pthread_cond_broadcast(&w.cv);
	pthread_mutex_unlock(&w.lock);
	(void)pthread_join(w.thread, NULL);
	pthread_mutex_lock(&w.lock);
	w.started = false;
	w.stop = false;
	pthread_mutex_unlock(&w.lock);
}
