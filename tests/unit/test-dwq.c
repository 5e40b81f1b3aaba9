/* SPDX-License-Identifier: MIT */
/*
 * The durable-write queue (daemon/dwq.c): jobs run on the writer in post
 * order, off the loop; done and release come back on the loop; waits,
 * disowning, the stop, and the queue-less fallback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>

#include <cmocka.h>
#include <event2/event.h>

#include "dwq.h"
#include "gisad.h"

#define NJOBS 64

struct tjob {
	struct dwq_job j;
	int n;                          /* its place in the post order */
	unsigned sleep_us;
	int result;
	int *order;                     /* fn appends n here (the writer's view) */
	int *norder;
	int *done_order, *ndone;        /* done appends n here */
	int *released;
	pthread_t *ran_on;
	bool *flag;                     /* set by fn after its sleep */
};

static int t_fn(struct gisad *d, struct dwq_job *dj)
{
	struct tjob *t = (struct tjob *)dj;

	(void)d;
	if (t->sleep_us) {
		struct timespec ts = { 0, (long)t->sleep_us * 1000L };

		nanosleep(&ts, NULL);
	}
	if (t->order)
		t->order[(*t->norder)++] = t->n;
	if (t->ran_on)
		*t->ran_on = pthread_self();
	if (t->flag)
		*t->flag = true;
	if (t->result)
		snprintf(dj->msg, sizeof(dj->msg), "job %d failed", t->n);
	return t->result;
}

static void t_done(struct gisad *d, struct dwq_job *dj)
{
	struct tjob *t = (struct tjob *)dj;

	(void)d;
	if (t->done_order)
		t->done_order[(*t->ndone)++] = t->n;
	if (t->result) {
		char want[32];

		snprintf(want, sizeof(want), "job %d failed", t->n);
		assert_int_equal(dj->r, t->result);
		assert_string_equal(dj->msg, want);
	} else {
		assert_int_equal(dj->r, 0);
	}
}

static void t_release(struct dwq_job *dj)
{
	struct tjob *t = (struct tjob *)dj;

	if (t->released)
		(*t->released)++;
}

static struct tjob *tjob(int n)
{
	struct tjob *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->j.fn = t_fn;
	t->j.done = t_done;
	t->j.release = t_release;
	t->n = n;
	return t;
}

/* Point t's records at the caller's: run order, done order, releases. */
static void observe(struct tjob *t, int *order, int *norder, int *done_order, int *ndone,
		    int *released)
{
	t->order = order;
	t->norder = norder;
	t->done_order = done_order;
	t->ndone = ndone;
	t->released = released;
}

static void setup_daemon(struct gisad *d)
{
	memset(d, 0, sizeof(*d));
	d->base = event_base_new();
	assert_non_null(d->base);
	assert_int_equal(event_base_priority_init(d->base, GISAD_NR_PRIOS), 0);
	assert_int_equal(dwq_init(d), 0);
}

static void teardown_daemon(struct gisad *d)
{
	dwq_stop(d);
	assert_null(d->dwq);
	event_base_free(d->base);
}

/* Run the loop until want done callbacks have come (or a second has passed). */
static void loop_until(struct gisad *d, const int *ndone, int want)
{
	for (int i = 0; i < 1000 && *ndone < want; i++) {
		struct timeval tv = { 0, 1000 };

		event_base_loopexit(d->base, &tv);
		event_base_dispatch(d->base);
	}
}

/* Post order is run order and done order; done runs on the loop, fn on another thread. */
static void test_order(void **state)
{
	int order[NJOBS], norder = 0, done_order[NJOBS], ndone = 0, released = 0;
	pthread_t ran_on = pthread_self();
	uint64_t last = 0;
	struct gisad d;

	(void)state;
	setup_daemon(&d);
	for (int i = 0; i < NJOBS; i++) {
		struct tjob *t = tjob(i);
		uint64_t ticket;

		t->order = order;
		t->norder = &norder;
		t->done_order = done_order;
		t->ndone = &ndone;
		t->released = &released;
		t->ran_on = i == 0 ? &ran_on : NULL;
		t->sleep_us = i % 7 == 0 ? 200 : 0;
		t->result = i % 5 == 3 ? -5 - i : 0;
		ticket = dwq_post(&d, &t->j);
		assert_true(ticket > last);
		last = ticket;
	}
	/* Nothing comes back before the loop runs. */
	assert_int_equal(ndone, 0);
	dwq_wait(&d, last);
	assert_true(dwq_finished(&d, last));
	assert_int_equal(norder, NJOBS);
	assert_false(pthread_equal(ran_on, pthread_self()));
	assert_int_equal(ndone, 0);
	loop_until(&d, &ndone, NJOBS);
	assert_int_equal(ndone, NJOBS);
	assert_int_equal(released, NJOBS);
	for (int i = 0; i < NJOBS; i++) {
		assert_int_equal(order[i], i);
		assert_int_equal(done_order[i], i);
	}
	teardown_daemon(&d);
}

/* dwq_wait returns once fn has returned, not before; dwq_complete runs done now. */
static void test_wait(void **state)
{
	int ndone = 0, done_order[2], released = 0;
	bool flag = false;
	struct gisad d;
	struct tjob *t;
	uint64_t ticket;

	(void)state;
	setup_daemon(&d);
	t = tjob(0);
	t->sleep_us = 50000;
	t->flag = &flag;
	t->done_order = done_order;
	t->ndone = &ndone;
	t->released = &released;
	ticket = dwq_post(&d, &t->j);
	assert_false(dwq_finished(&d, ticket));
	dwq_wait(&d, ticket);
	assert_true(flag);
	assert_int_equal(ndone, 0);
	dwq_complete(&d);
	assert_int_equal(ndone, 1);
	assert_int_equal(released, 1);
	/* A flush with nothing queued returns at once. */
	dwq_flush(&d);
	teardown_daemon(&d);
}

/* Disowned: fn and release still run, done does not. */
static void test_disown(void **state)
{
	int owner_a, owner_b, ndone = 0, done_order[4], released = 0, order[4], norder = 0;
	struct gisad d;

	(void)state;
	setup_daemon(&d);
	for (int i = 0; i < 4; i++) {
		struct tjob *t = tjob(i);

		t->j.owner = i % 2 ? (void *)&owner_b : (void *)&owner_a;
		t->sleep_us = i == 0 ? 20000 : 0;
		t->done_order = done_order;
		t->ndone = &ndone;
		t->released = &released;
		t->order = order;
		t->norder = &norder;
		dwq_post(&d, &t->j);
	}
	/* Job 0 is running or queued, the rest queued: all of a's go unheard. */
	dwq_disown(&d, &owner_a);
	dwq_flush(&d);
	dwq_disown(&d, NULL);
	loop_until(&d, &released, 4);
	assert_int_equal(norder, 4);
	assert_int_equal(released, 4);
	assert_int_equal(ndone, 2);
	assert_int_equal(done_order[0], 1);
	assert_int_equal(done_order[1], 3);
	teardown_daemon(&d);
}

/* A flush or wait on the writer itself returns at once (no deadlock). */
static int flush_on_writer(struct gisad *d, struct dwq_job *dj)
{
	dwq_flush(d);
	dwq_wait(d, dj->ticket + 5);
	dwq_complete(d);
	return 0;
}

static void test_writer_flush(void **state)
{
	int ndone = 0, done_order[1];
	struct gisad d;
	struct tjob *t;

	(void)state;
	setup_daemon(&d);
	t = tjob(0);
	t->j.fn = flush_on_writer;
	t->done_order = done_order;
	t->ndone = &ndone;
	dwq_wait(&d, dwq_post(&d, &t->j));
	loop_until(&d, &ndone, 1);
	assert_int_equal(ndone, 1);
	teardown_daemon(&d);
}

/* The stop runs what is queued, and its done callbacks, before it returns. */
static void test_stop(void **state)
{
	int order[8], norder = 0, done_order[8], ndone = 0, released = 0;
	struct gisad d;

	(void)state;
	setup_daemon(&d);
	for (int i = 0; i < 8; i++) {
		struct tjob *t = tjob(i);

		t->sleep_us = 2000;
		observe(t, order, &norder, done_order, &ndone, &released);
		dwq_post(&d, &t->j);
	}
	teardown_daemon(&d);
	assert_int_equal(norder, 8);
	assert_int_equal(ndone, 8);
	assert_int_equal(released, 8);
}

/* A done callback that posts the next job of a chain, up to CHAIN jobs. */
#define CHAIN 4

static void chain_done(struct gisad *d, struct dwq_job *dj)
{
	struct tjob *t = (struct tjob *)dj, *next;

	t_done(d, dj);
	if (t->n + 1 == CHAIN)
		return;
	next = tjob(t->n + 1);
	next->j.done = chain_done;
	observe(next, t->order, t->norder, t->done_order, t->ndone, t->released);
	dwq_post(d, &next->j);
}

/*
 * A chain of jobs, each posted by the previous one's done callback during
 * the stop: every one runs, is done and released, in order, before it
 * returns (the later ones after the writer stopped).
 */
static void test_stop_chain(void **state)
{
	int order[CHAIN], norder = 0, done_order[CHAIN], ndone = 0, released = 0;
	struct gisad d;
	struct tjob *t = tjob(0);

	(void)state;
	setup_daemon(&d);
	t->j.done = chain_done;
	t->sleep_us = 2000;
	observe(t, order, &norder, done_order, &ndone, &released);
	dwq_post(&d, &t->j);
	teardown_daemon(&d);
	assert_int_equal(norder, CHAIN);
	assert_int_equal(ndone, CHAIN);
	assert_int_equal(released, CHAIN);
	for (int i = 0; i < CHAIN; i++) {
		assert_int_equal(order[i], i);
		assert_int_equal(done_order[i], i);
	}
}

/* Without a queue (a tool, a test): the whole job at once, ticket 0. */
static void test_no_queue(void **state)
{
	int order[1], norder = 0, done_order[1], ndone = 0, released = 0;
	struct gisad d;
	struct tjob *t = tjob(0);

	(void)state;
	memset(&d, 0, sizeof(d));
	t->order = order;
	t->norder = &norder;
	t->done_order = done_order;
	t->ndone = &ndone;
	t->released = &released;
	t->result = -7;
	assert_int_equal(dwq_post(&d, &t->j), 0);
	assert_int_equal(norder, 1);
	assert_int_equal(ndone, 1);
	assert_int_equal(released, 1);
	assert_true(dwq_finished(&d, 12345));
	dwq_wait(&d, 12345);
	dwq_flush(&d);
	dwq_complete(&d);
	dwq_stop(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_wait),
		cmocka_unit_test(test_disown),
		cmocka_unit_test(test_writer_flush),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_stop_chain),
		cmocka_unit_test(test_no_queue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
