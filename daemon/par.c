/* SPDX-License-Identifier: MIT */
/* Fork-join for the switchover's heavy steps (par.h). */
#include <signal.h>

#include "par.h"

static void *trampoline(void *arg)
{
	struct par *p = arg;

	p->fn(p->arg);
	return NULL;
}

void par_start(struct par *p, bool threaded, void (*fn)(void *arg), void *arg)
{
	sigset_t all, old;

	p->fn = fn;
	p->arg = arg;
	p->running = false;
	if (threaded) {
		/* The new thread inherits the mask: no signal handler runs on it. */
		sigfillset(&all);
		if (!pthread_sigmask(SIG_SETMASK, &all, &old)) {
			p->running = !pthread_create(&p->thread, NULL, trampoline, p);
			(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
		}
	}
	if (!p->running)
		fn(arg);
}

void par_join(struct par *p)
{
	if (p->running)
		(void)pthread_join(p->thread, NULL);
	p->running = false;
}
