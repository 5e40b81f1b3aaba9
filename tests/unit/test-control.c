/* SPDX-License-Identifier: MIT */
/*
 * The control socket's event stream (daemon/control.c, ctl_publish): a
 * real listening socket and subscribers connected to it, with a verb
 * table of this test's own.  An event larger than a small buffer reaches every subscriber
 * whole, also as a lagging subscriber's own copy; one that cannot be sent
 * (over the event cap) is counted as missed, and the next event delivered
 * says so.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "gisad.h"

/* An event carrying an error message of this many bytes. */
#define BIG  3000u
/* Over control.c's event cap (64 KiB). */
#define HUGE (70u << 10)

/* ---- what control.c needs from the rest of the daemon ----------------------- */

uint64_t gisad_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void req_free(struct request *r)
{
	(void)r;
}

/* Only subscribe is served; every request is answered (empty). */
void verb_dispatch(struct request *r)
{
	const Gisa__V1__Request *q = r->req;

	r->resp->has_id = true;
	r->resp->id = q->id;
	if (q->verb_case == GISA__V1__REQUEST__VERB_SUBSCRIBE)
		ctl_subscribe(r->conn, q->subscribe->kicks, q->subscribe->jobs, q->subscribe->vm);
}

/* ---- fixture ---------------------------------------------------------------- */

struct fx {
	struct gisad d;
	char dir[64];
	int cl[2];                      /* two subscribers */
};

static void turn(struct fx *f)
{
	for (int i = 0; i < 8; i++)
		event_base_loop(f->d.base, EVLOOP_NONBLOCK);
}

/* The next datagram on fd as a Response (NULL: none within a second). */
static Gisa__V1__Response *next_msg(struct fx *f, int fd)
{
	static uint8_t buf[GISAD_MAX_DATAGRAM];

	for (int i = 0; i < 1000; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0)
			return gisa__v1__response__unpack(NULL, (size_t)n, buf);
		if (n < 0 && errno != EAGAIN)
			fail_msg("recv: %s", strerror(errno));
		turn(f);
		usleep(1000);
	}
	return NULL;
}

static int subscriber(struct fx *f)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__Subscribe sub = GISA__V1__SUBSCRIBE__INIT;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	Gisa__V1__Response *resp;
	uint8_t buf[256];
	size_t len;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->d.cfg.socket_path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	req.has_version = true;
	req.version = GISA__V1__CONTROL_PROTOCOL__CONTROL_PROTOCOL_VERSION;
	req.verb_case = GISA__V1__REQUEST__VERB_SUBSCRIBE;
	sub.has_kicks = sub.has_jobs = true;
	sub.kicks = false;
	sub.jobs = true;
	req.subscribe = &sub;
	len = gisa__v1__request__get_packed_size(&req);
	assert_true(len <= sizeof(buf));
	gisa__v1__request__pack(&req, buf);
	assert_int_equal(send(fd, buf, len, 0), (ssize_t)len);
	resp = next_msg(f, fd);
	assert_non_null(resp);
	assert_false(resp->has_error && resp->error);
	gisa__v1__response__free_unpacked(resp, NULL);
	return fd;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/gisad-ctl.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->d.base = event_base_new();
	assert_non_null(f->d.base);
	assert_int_equal(event_base_priority_init(f->d.base, GISAD_NR_PRIOS), 0);
	f->d.listen_fd = -1;
	f->d.gid = getgid();
	f->d.cfg.max_conn_per_uid = 8;
	snprintf(f->d.cfg.group, sizeof(f->d.cfg.group), "test");
	snprintf(f->d.cfg.socket_path, sizeof(f->d.cfg.socket_path), "%s/control", f->dir);
	assert_int_equal(ctl_listen(&f->d), 0);
	f->cl[0] = subscriber(f);
	f->cl[1] = subscriber(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	close(f->cl[0]);
	close(f->cl[1]);
	turn(f);
	ctl_close_all(&f->d);
	event_base_free(f->d.base);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A job event whose error message is n bytes of 'x'. */
static void publish(struct fx *f, size_t n)
{
	Gisa__V1__ControlEvent ev = GISA__V1__CONTROL_EVENT__INIT;
	Gisa__V1__JobInfo job = GISA__V1__JOB_INFO__INIT;
	char *msg = malloc(n + 1);

	assert_non_null(msg);
	memset(msg, 'x', n);
	msg[n] = '\0';
	job.has_id = true;
	job.id = 7;
	job.error_message = msg;
	ev.has_kind = true;
	ev.kind = GISA__V1__EVENT_KIND__EVENT_KIND_JOB;
	ev.vm = (char *)"vm";
	ev.job = &job;
	ctl_publish(&f->d, "vm", true, &ev);
	assert_false(ev.has_missed);   /* the caller's event is left as it was */
	free(msg);
}

/* The next event on subscriber i: its message's length and missed count. */
static void expect_event(struct fx *f, int i, size_t n, uint64_t missed)
{
	Gisa__V1__Response *resp = next_msg(f, f->cl[i]);

	assert_non_null(resp);
	assert_int_equal(resp->result_case, GISA__V1__RESPONSE__RESULT_EVENT);
	assert_non_null(resp->event->job);
	assert_non_null(resp->event->job->error_message);
	assert_int_equal(strlen(resp->event->job->error_message), n);
	assert_int_equal(resp->event->has_missed, missed != 0);
	assert_int_equal(resp->event->missed, missed);
	gisa__v1__response__free_unpacked(resp, NULL);
}

static void nothing_queued(struct fx *f, int i)
{
	uint8_t b[16];

	turn(f);
	assert_int_equal(recv(f->cl[i], b, sizeof(b), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
}

/* An event of a few KiB (a migration job's) reaches every subscriber whole. */
static void large_event_delivered(void **state)
{
	struct fx *f = *state;

	publish(f, 10);
	publish(f, BIG);
	for (int i = 0; i < 2; i++) {
		expect_event(f, i, 10, 0);
		expect_event(f, i, BIG, 0);
		nothing_queued(f, i);
	}
}

/*
 * An event over the cap goes to no one, but counts as missed for each
 * subscriber, which the next event it receives says (as its own copy,
 * large too).
 */
static void event_over_cap_counted(void **state)
{
	struct fx *f = *state;

	publish(f, HUGE);
	for (int i = 0; i < 2; i++)
		nothing_queued(f, i);
	publish(f, HUGE);
	publish(f, BIG);
	publish(f, 20);
	for (int i = 0; i < 2; i++) {
		expect_event(f, i, BIG, 2);
		expect_event(f, i, 20, 0);
		nothing_queued(f, i);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(large_event_delivered, setup, teardown),
		cmocka_unit_test_setup_teardown(event_over_cap_counted, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
