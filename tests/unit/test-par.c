/* SPDX-License-Identifier: MIT */
/*
 * The migration's fork-join (daemon/par.c): par_start runs a half on the
 * worker or inline, the worker one half at a time, par_join waits for it
 * (or runs it itself if the worker has not taken it yet),
 * and par_stop ends the worker until the next threaded start.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <time.h>

#include <cmocka.h>

#include "par.h"

struct half {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	bool hold;                      /* fn waits while set */
	bool entered;                   /* fn has started */
	int runs;
	pthread_t ran_on;
};

static void half_init(struct half *h, bool hold)
{
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cv, NULL);
	h->hold = hold;
	h->entered = false;
	h->runs = 0;
}

static void half_fn(void *arg)
{
	struct half *h = arg;

	pthread_mutex_lock(&h->lock);
	h->entered = true;
	h->ran_on = pthread_self();
	pthread_cond_broadcast(&h->cv);
	while (h->hold)
		pthread_cond_wait(&h->cv, &h->lock);
	h->runs++;
	pthread_mutex_unlock(&h->lock);
}

static void half_wait_entered(struct half *h)
{
	pthread_mutex_lock(&h->lock);
	while (!h->entered)
		pthread_cond_wait(&h->cv, &h->lock);
	pthread_mutex_unlock(&h->lock);
}

static void half_release(struct half *h)
{
	pthread_mutex_lock(&h->lock);
	h->hold = false;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->lock);
}

static int half_runs(struct half *h)
{
	int n;

	pthread_mutex_lock(&h->lock);
	n = h->runs;
	pthread_mutex_unlock(&h->lock);
	return n;
}

/*
 * A threaded start on an idle worker: fn runs there, once, joined (once
 * it has started there: a join before would run it on the caller).
 */
static void run_on_worker(struct half *h)
{
	struct par p;

	par_start(&p, true, half_fn, h);
	assert_true(par_posted(&p));
	half_wait_entered(h);
	par_join(&p);
	assert_false(par_posted(&p));
	assert_int_equal(h->runs, 1);
	assert_false(pthread_equal(h->ran_on, pthread_self()));
}

/* Unthreaded: fn has run before par_start returns, and par_join is a no-op. */
static void start_inline(void **state)
{
	struct half h;
	struct par p;

	(void)state;
	half_init(&h, false);
	par_start(&p, false, half_fn, &h);
	assert_false(par_posted(&p));
	assert_int_equal(h.runs, 1);
	assert_true(pthread_equal(h.ran_on, pthread_self()));
	par_join(&p);
	assert_int_equal(h.runs, 1);
	par_stop();
}

/*
 * Threaded, with the worker idle: par_start returns at once, fn runs on
 * another thread, and par_join returns only once it has returned.
 */
static void start_on_worker(void **state)
{
	struct half h;
	struct par p;

	(void)state;
	half_init(&h, true);
	par_start(&p, true, half_fn, &h);
	assert_true(par_posted(&p));
	half_wait_entered(&h);
	assert_false(pthread_equal(h.ran_on, pthread_self()));
	assert_int_equal(half_runs(&h), 0);
	half_release(&h);
	par_join(&p);
	assert_false(par_posted(&p));
	assert_int_equal(h.runs, 1);
	par_stop();
}

/*
 * One half at a time: while one runs, par_start runs the next on the
 * caller's thread, never queued behind it.  Once joined, the worker takes
 * the next.
 */
static void busy_worker(void **state)
{
	struct half a, c, d;
	struct par pa, pc;

	(void)state;
	half_init(&a, true);
	half_init(&c, false);
	half_init(&d, false);
	par_start(&pa, true, half_fn, &a);
	assert_true(par_posted(&pa));
	half_wait_entered(&a);

	par_start(&pc, true, half_fn, &c);
	assert_false(par_posted(&pc));
	assert_int_equal(c.runs, 1);
	assert_true(pthread_equal(c.ran_on, pthread_self()));

	half_release(&a);
	par_join(&pa);
	assert_int_equal(a.runs, 1);

	run_on_worker(&d);
	par_stop();
}

/*
 * A join right after the start, on a worker just made (it may not have
 * run yet): fn runs exactly once, on the worker or, not taken yet, on the
 * caller; the worker never runs a half the caller took back, even later.
 */
static void join_takes_back(void **state)
{
	int on_caller = 0;

	(void)state;
	for (int i = 0; i < 200; i++) {
		struct half h;
		struct par p;

		half_init(&h, false);
		par_stop();
		par_start(&p, true, half_fn, &h);
		assert_true(par_posted(&p));
		par_join(&p);
		assert_false(par_posted(&p));
		assert_int_equal(half_runs(&h), 1);
		on_caller += pthread_equal(h.ran_on, pthread_self()) != 0;
		par_stop();
		assert_int_equal(h.runs, 1);
	}
	print_message("join_takes_back: %d of 200 halves taken back by the caller\n", on_caller);
}

/* par_stop joins the worker (twice is harmless); the next start makes it again. */
static void stop_and_restart(void **state)
{
	struct half h;

	(void)state;
	half_init(&h, false);
	par_stop();
	par_stop();
	run_on_worker(&h);
	par_stop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(start_inline),
		cmocka_unit_test(start_on_worker),
		cmocka_unit_test(busy_worker),
		cmocka_unit_test(stop_and_restart),
		cmocka_unit_test(join_takes_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
