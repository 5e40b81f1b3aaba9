/* SPDX-License-Identifier: MIT */
/* The durable-write queue: one writer thread, jobs in post order (dwq.h). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "dwq.h"
#include "gisad.h"
#include "log.h"

struct dwq {
	pthread_mutex_t lock;
	pthread_cond_t cv;              /* a job posted or finished, or stop */
	pthread_t thread;
	bool started, failed, stop;
	struct dwq_job *head, *tail;    /* posted, not yet taken */
	struct dwq_job *running;
	struct dwq_job *fin_head, *fin_tail;    /* fn returned; done/release due */
	uint64_t posted, finished;      /* tickets */
	int efd;                        /* the writer -> the loop */
	struct event *ev;
};

static _Thread_local bool on_writer;

static void run_fn(struct gisad *d, struct dwq_job *j)
{
	j->msg[0] = '\0';
	j->r = j->fn(d, j);
}

static void complete(struct gisad *d, struct dwq_job *j)
{
	if (!j->disowned && j->done)
		j->done(d, j);
	if (j->release)
		j->release(j);
	free(j);
}

static void *writer(void *arg)
{
	struct gisad *d = arg;
	struct dwq *q = d->dwq;
	const uint64_t one = 1;

	on_writer = true;
	pthread_mutex_lock(&q->lock);
	for (;;) {
		struct dwq_job *j;

		while (!q->head && !q->stop)
			pthread_cond_wait(&q->cv, &q->lock);
		if (!q->head)
			break;
		j = q->head;
		q->head = j->next;
		if (!q->head)
			q->tail = NULL;
		j->next = NULL;
		q->running = j;
		pthread_mutex_unlock(&q->lock);
		run_fn(d, j);
		pthread_mutex_lock(&q->lock);
		q->running = NULL;
		if (q->fin_tail)
			q->fin_tail->next = j;
		else
			q->fin_head = j;
		q->fin_tail = j;
		q->finished = j->ticket;
		pthread_cond_broadcast(&q->cv);
		/* Only the count matters: a full counter (never) would just lose a wake-up. */
		(void)!write(q->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

/* The finished jobs, taken from the writer, done and released on the loop. */
static void drain(struct gisad *d)
{
	struct dwq *q = d->dwq;
	struct dwq_job *j;

	pthread_mutex_lock(&q->lock);
	j = q->fin_head;
	q->fin_head = q->fin_tail = NULL;
	pthread_mutex_unlock(&q->lock);
	while (j) {
		struct dwq_job *next = j->next;

		complete(d, j);
		j = next;
	}
}

static bool fin_pending(struct dwq *q)
{
	bool r;

	pthread_mutex_lock(&q->lock);
	r = q->fin_head != NULL;
	pthread_mutex_unlock(&q->lock);
	return r;
}

static void on_finished(evutil_socket_t fd, short what, void *arg)
{
	uint64_t n;

	(void)what;
	(void)!read(fd, &n, sizeof(n));
	drain(arg);
}

static void start_writer(struct gisad *d);

int dwq_init(struct gisad *d)
{
	struct dwq *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->efd < 0) {
		int r = -errno;

		free(q);
		return r;
	}
	q->ev = event_new(d->base, q->efd, EV_READ | EV_PERSIST, on_finished, d);
	if (!q->ev || event_priority_set(q->ev, GISAD_PRIO_MIGRATION) || event_add(q->ev, NULL)) {
		if (q->ev)
			event_free(q->ev);
		close(q->efd);
		free(q);
		return -ENOMEM;
	}
	d->dwq = q;
	pthread_mutex_lock(&q->lock);
	start_writer(d);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

/* Under q->lock. */
static void start_writer(struct gisad *d)
{
	struct dwq *q = d->dwq;
	sigset_t all, old;

	/* The writer inherits the mask: no signal handler ever runs on it. */
	sigfillset(&all);
	if (pthread_sigmask(SIG_SETMASK, &all, &old)) {
		q->failed = true;
		return;
	}
	q->started = !pthread_create(&q->thread, NULL, writer, d);
	q->failed = !q->started;
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (q->failed)
		log_warning("no thread for durable writes: they run on the event loop");
}

uint64_t dwq_post(struct gisad *d, struct dwq_job *j)
{
	struct dwq *q = d->dwq;
	uint64_t t;

	j->next = NULL;
	j->disowned = false;
	if (!q) {
		/* No queue (a tool, a test): the whole job now. */
		run_fn(d, j);
		complete(d, j);
		return 0;
	}
	pthread_mutex_lock(&q->lock);
	t = j->ticket = ++q->posted;
	if (!q->started && !q->failed)
		start_writer(d);
	if (q->started) {
		if (q->tail)
			q->tail->next = j;
		else
			q->head = j;
		q->tail = j;
		pthread_cond_broadcast(&q->cv);
		pthread_mutex_unlock(&q->lock);
		return t;
	}
	pthread_mutex_unlock(&q->lock);
	/* Without the thread: fn now, done from the loop as if it had one. */
	run_fn(d, j);
	pthread_mutex_lock(&q->lock);
	if (q->fin_tail)
		q->fin_tail->next = j;
	else
		q->fin_head = j;
	q->fin_tail = j;
	q->finished = t;
	pthread_mutex_unlock(&q->lock);
	event_active(q->ev, EV_READ, 0);
	return t;
}

void dwq_complete(struct gisad *d)
{
	if (d->dwq && !on_writer)
		drain(d);
}

bool dwq_finished(struct gisad *d, uint64_t ticket)
{
	struct dwq *q = d->dwq;
	bool r;

	if (!q)
		return true;
	pthread_mutex_lock(&q->lock);
	r = q->finished >= ticket;
	pthread_mutex_unlock(&q->lock);
	return r;
}

void dwq_wait(struct gisad *d, uint64_t ticket)
{
	struct dwq *q = d->dwq;

	if (!q || on_writer)
		return;
	pthread_mutex_lock(&q->lock);
	while (q->finished < ticket && q->started)
		pthread_cond_wait(&q->cv, &q->lock);
	pthread_mutex_unlock(&q->lock);
}

bool dwq_on_writer(void)
{
	return on_writer;
}

void dwq_flush(struct gisad *d)
{
	struct dwq *q = d->dwq;
	uint64_t t;

	if (!q || on_writer)
		return;
	pthread_mutex_lock(&q->lock);
	t = q->posted;
	pthread_mutex_unlock(&q->lock);
	dwq_wait(d, t);
}

void dwq_disown(struct gisad *d, const void *owner)
{
	struct dwq *q = d->dwq;
	struct dwq_job *lists[3];

	if (!q || !owner)
		return;
	pthread_mutex_lock(&q->lock);
	lists[0] = q->head;
	lists[1] = q->running;
	lists[2] = q->fin_head;
	for (size_t i = 0; i < 3; i++)
		for (struct dwq_job *j = lists[i]; j; j = i == 1 ? NULL : j->next)
			if (j->owner == owner)
				j->disowned = true;
	pthread_mutex_unlock(&q->lock);
}

void dwq_stop(struct gisad *d)
{
	struct dwq *q = d->dwq;

	if (!q)
		return;
	dwq_flush(d);
	drain(d);
	pthread_mutex_lock(&q->lock);
	q->stop = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->lock);
	if (q->started)
		(void)pthread_join(q->thread, NULL);
	/*
	 * The writer ran what the first drain's done callbacks posted before
	 * it stopped.  What the next ones post (a chain of jobs) runs on this
	 * thread from now on (dwq_post without a thread), until none is left.
	 */
	pthread_mutex_lock(&q->lock);
	q->started = false;
	q->failed = true;
	pthread_mutex_unlock(&q->lock);
	while (fin_pending(q))
		drain(d);
	event_free(q->ev);
	close(q->efd);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cv);
	free(q);
	d->dwq = NULL;
}
