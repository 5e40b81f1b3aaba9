/* SPDX-License-Identifier: MIT */
/*
 * fake-gisad: a scripted stand-in for gisad's control socket, for the tests
 * of gisactl's migration commands (test-migrate.sh): what gisactl sends and
 * how it renders the answers, independently of the real daemon.
 *
 *   fake-gisad SOCKET MODE SNAPSHOT
 *
 * MODE says how the migrate-out job (always id 7) ends: complete, fail or
 * doubt.  One connection at a time, until killed; the job's progress lives
 * across connections.  Answers:
 *   migrate         job 7, phase connecting (a second one: -EBUSY)
 *   job_status 7    precopy round 1, precopy round 2, switchover, (doubt:
 *                   in doubt, three times), then final: completed and
 *                   committed with every statistic, failed (-ETIMEDOUT) and
 *                   resumed, or in doubt until job_resolve
 *   job_resolve 7   committed: completed/committed; resumed: cancelled/resumed
 *   job_list        job 7 as it stands
 *   remote_fetch    SNAPSHOT's bytes, written to the descriptor passed
 *   vm_list         a (migrated to tls://b.example:7600), b (none)
 *   vm_info         the VM named; a is migrated
 *   any other verb  -EAGAIN, "VERB: VM `a' is migrating", state frozen
 * Prints "ready" on standard output once it listens.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.pb-c.h"

#define MAX_DGRAM (1u << 20)
#define JOB_ID    7

typedef Gisa__V1__Response Response;
typedef Gisa__V1__JobInfo JobInfo;
typedef Gisa__V1__MigrationStats Stats;

static const char *mode, *snapshot;
static int polls = -1;          /* job_status polls of job 7; -1: no migration yet */
static int resolved = -1;       /* job_resolve: 1 committed, 0 resumed */
static uint8_t digest[32], mig_id[16];
static uint64_t round_bytes[2] = { 4096, 512 };

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static void send_reply(int fd, uint64_t id, Response *r)
{
	size_t len;
	uint8_t *buf;

	r->has_version = true;
	r->version = GISA__V1__CONTROL_PROTOCOL__CONTROL_PROTOCOL_VERSION;
	r->has_id = true;
	r->id = id;
	len = gisa__v1__response__get_packed_size(r);
	buf = malloc(len + 1);
	if (!buf)
		die("malloc");
	gisa__v1__response__pack(r, buf);
	if (send(fd, buf, len, MSG_NOSIGNAL) < 0 && errno != EPIPE)
		die("send");
	free(buf);
}

/* Everything a finished migration knows. */
static void full_stats(Stats *m)
{
	m->has_migration_id = m->has_source_digest = m->has_dest_digest = true;
	m->migration_id.data = mig_id;
	m->migration_id.len = sizeof(mig_id);
	m->source_digest.data = m->dest_digest.data = digest;
	m->source_digest.len = m->dest_digest.len = sizeof(digest);
	m->has_digests_match = m->digests_match = true;
	m->peer_identity = "b.example (allow-list: b.example)";
	m->remote_vm = "a2";
	m->compression = "zstd:3";
	m->verdict = "exact";
	m->has_precopy_bytes = m->has_switchover_bytes = m->has_downtime_budget_ms = true;
	m->precopy_bytes = 4608;
	m->switchover_bytes = 128;
	m->downtime_budget_ms = 100;
	m->has_setup_ns = m->has_transfer_ns = m->has_downtime_active_ns = true;
	m->setup_ns = 12345678;
	m->transfer_ns = 40000000;
	m->downtime_active_ns = 1234567;
	m->has_downtime_informed_ns = m->has_freeze_ns = m->has_encode_ns = true;
	m->downtime_informed_ns = 1500000;
	m->freeze_ns = 10000;
	m->encode_ns = 120000;
	m->has_send_ns = m->has_recv_ns = m->has_import_ns = m->has_verify_ns = true;
	m->send_ns = 300000;
	m->recv_ns = 100000;
	m->import_ns = 200000;
	m->verify_ns = 50000;
	m->has_commit_ns = m->has_answer_ns = m->has_rtt_ns = true;
	m->commit_ns = 20000;
	m->answer_ns = 30000;
	m->rtt_ns = 250000;
}

static void final_job(JobInfo *j, Stats *m)
{
	bool doubt = !strcmp(mode, "doubt");

	if (!strcmp(mode, "complete") || (doubt && resolved == 1)) {
		j->type = GISA__V1__JOB_TYPE__JOB_TYPE_COMPLETED;
		m->phase = GISA__V1__MIGRATION_PHASE__MIGRATION_PHASE_COMMITTED;
		full_stats(m);
	} else if (doubt && resolved < 0) {
		j->type = GISA__V1__JOB_TYPE__JOB_TYPE_BOUNDED;
		m->phase = GISA__V1__MIGRATION_PHASE__MIGRATION_PHASE_IN_DOUBT;
		m->has_query_attempts = true;
		m->query_attempts = (uint32_t)polls;
	} else {
		j->type = doubt ? GISA__V1__JOB_TYPE__JOB_TYPE_CANCELLED :
				  GISA__V1__JOB_TYPE__JOB_TYPE_FAILED;
		m->phase = GISA__V1__MIGRATION_PHASE__MIGRATION_PHASE_RESUMED;
		j->has_error = true;
		j->error = doubt ? -ECANCELED : -ETIMEDOUT;
		j->error_message = doubt ? "resumed by the operator" :
					   "the destination stalled for 500 ms";
	}
}

/* Job 7 as it stands after `polls' polls. */
static void job_state(JobInfo *j, Stats *m)
{
	int doubt_polls = !strcmp(mode, "doubt") ? 3 : 0;

	j->has_id = j->has_type = j->has_operation = true;
	j->id = JOB_ID;
	j->operation = GISA__V1__JOB_OPERATION__JOB_OPERATION_MIGRATE_OUT;
	j->vm = "a";
	j->has_data_total = j->has_data_processed = j->has_data_remaining = true;
	j->data_total = 4608;
	j->migration = m;
	m->has_phase = m->has_rounds = true;
	m->peer = "tls://b.example:7600";
	j->type = GISA__V1__JOB_TYPE__JOB_TYPE_BOUNDED;
	if (polls <= 0) {
		m->phase = GISA__V1__MIGRATION_PHASE__MIGRATION_PHASE_CONNECTING;
	} else if (polls <= 2) {
		m->phase = GISA__V1__MIGRATION_PHASE__MIGRATION_PHASE_PRECOPY;
		m->rounds = (uint32_t)polls - 1;
		j->data_processed = polls == 1 ? 1843 : 4096;
	} else if (polls == 3) {
		m->phase = GISA__V1__MIGRATION_PHASE__MIGRATION_PHASE_SWITCHOVER;
		m->rounds = 2;
		j->data_processed = 4608;
	} else if (polls < 4 + doubt_polls) {
		m->phase = GISA__V1__MIGRATION_PHASE__MIGRATION_PHASE_IN_DOUBT;
		m->rounds = 2;
		j->data_processed = 4608;
	} else {
		m->rounds = 2;
		final_job(j, m);
		j->data_processed = 4608;
	}
	if (m->rounds) {
		m->n_round_bytes = m->rounds;
		m->round_bytes = round_bytes;
	}
	j->data_remaining = j->data_total - j->data_processed;
}

static void answer_job(int fd, uint64_t id, uint64_t job)
{
	Response r = GISA__V1__RESPONSE__INIT;
	JobInfo j = GISA__V1__JOB_INFO__INIT;
	Stats m = GISA__V1__MIGRATION_STATS__INIT;

	if (job != JOB_ID || polls < 0) {
		r.has_error = true;
		r.error = -ENOENT;
		r.message = "job_status: no such job";
		send_reply(fd, id, &r);
		return;
	}
	job_state(&j, &m);
	r.result_case = GISA__V1__RESPONSE__RESULT_JOB;
	r.job = &j;
	send_reply(fd, id, &r);
}

static void answer_jobs(int fd, uint64_t id)
{
	Response r = GISA__V1__RESPONSE__INIT;
	Gisa__V1__JobList l = GISA__V1__JOB_LIST__INIT;
	JobInfo j = GISA__V1__JOB_INFO__INIT, *jp = &j;
	Stats m = GISA__V1__MIGRATION_STATS__INIT;

	job_state(&j, &m);
	l.n_jobs = polls < 0 ? 0 : 1;
	l.jobs = &jp;
	r.result_case = GISA__V1__RESPONSE__RESULT_JOBS;
	r.jobs = &l;
	send_reply(fd, id, &r);
}

static void answer_vms(int fd, uint64_t id)
{
	Response r = GISA__V1__RESPONSE__INIT;
	Gisa__V1__VmList l = GISA__V1__VM_LIST__INIT;
	Gisa__V1__VmSummary a = GISA__V1__VM_SUMMARY__INIT, b = GISA__V1__VM_SUMMARY__INIT;
	Gisa__V1__VmSummary *vms[2] = { &a, &b };

	a.name = "a";
	a.has_migration = true;
	a.migration = GISA__V1__MIGRATION_STATE__MIGRATION_STATE_MIGRATED;
	a.migrated_to = "tls://b.example:7600";
	b.name = "b";
	/* A VM that migrated away (a) has no configuration here; b has one. */
	b.has_profile = b.has_caps = b.has_vcpus = true;
	l.n_vms = 2;
	l.vms = vms;
	r.result_case = GISA__V1__RESPONSE__RESULT_VM_LIST;
	r.vm_list = &l;
	send_reply(fd, id, &r);
}

static void answer_vm_info(int fd, uint64_t id, const char *name)
{
	Response r = GISA__V1__RESPONSE__INIT;
	Gisa__V1__VmInfo v = GISA__V1__VM_INFO__INIT;

	v.name = (char *)name;
	v.has_migration = !strcmp(name, "a");
	v.migration = v.has_migration ? GISA__V1__MIGRATION_STATE__MIGRATION_STATE_MIGRATED :
					 GISA__V1__MIGRATION_STATE__MIGRATION_STATE_NONE;
	v.has_digest = true;
	v.digest.data = digest;
	v.digest.len = sizeof(digest);
	r.result_case = GISA__V1__RESPONSE__RESULT_VM_INFO;
	r.vm_info = &v;
	send_reply(fd, id, &r);
}

/* SNAPSHOT's bytes into fd. */
static int copy_snapshot(int fd)
{
	char buf[65536];
	ssize_t n;
	int in = open(snapshot, O_RDONLY);

	if (in < 0)
		return -errno;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			break;
	close(in);
	return n == 0 ? 0 : -EIO;
}

static void answer_fetch(int fd, uint64_t id, int passed)
{
	Response r = GISA__V1__RESPONSE__INIT;
	Gisa__V1__SnapshotResult s = GISA__V1__SNAPSHOT_RESULT__INIT;
	int e = passed < 0 ? -EBADF : copy_snapshot(passed);

	if (e) {
		r.has_error = true;
		r.error = e;
		r.message = "remote_fetch: cannot write the snapshot";
	} else {
		r.result_case = GISA__V1__RESPONSE__RESULT_SNAPSHOT;
		r.snapshot = &s;
	}
	send_reply(fd, id, &r);
}

static void answer_simple(int fd, uint64_t id, int err, const char *msg, bool migrating)
{
	Response r = GISA__V1__RESPONSE__INIT;
	Gisa__V1__ReturnValue rv = GISA__V1__RETURN_VALUE__INIT;

	r.has_error = err != 0;
	r.error = err;
	r.message = (char *)msg;
	r.has_migration = migrating;
	r.migration = GISA__V1__MIGRATION_STATE__MIGRATION_STATE_FROZEN;
	if (!err) {
		r.result_case = GISA__V1__RESPONSE__RESULT_RET;
		r.ret = &rv;
	}
	send_reply(fd, id, &r);
}

static void migrate(int fd, const Gisa__V1__Migrate *m, uint64_t id)
{
	if (polls >= 0) {
		answer_simple(fd, id, -EBUSY, "migrate: VM `a' is migrating", false);
		return;
	}
	fprintf(stderr, "fake-gisad: migrate %s %s downtime %u lossy %d name %s "
		"compression %u level %d rounds %u stall %u\n", m->vm, m->uri, m->downtime_ms,
		m->allow_lossy, m->new_name ? m->new_name : "-", m->compression, m->level,
		m->max_rounds, m->stall_timeout_ms);
	polls = 0;
	answer_job(fd, id, JOB_ID);
}

static void handle(int fd, const Gisa__V1__Request *q, int passed)
{
	switch (q->verb_case) {
	case GISA__V1__REQUEST__VERB_MIGRATE:
		migrate(fd, q->migrate, q->id);
		break;
	case GISA__V1__REQUEST__VERB_JOB_STATUS:
		if (q->job_status->id == JOB_ID && polls >= 0)
			polls++;
		answer_job(fd, q->id, q->job_status->id);
		break;
	case GISA__V1__REQUEST__VERB_JOB_RESOLVE:
		resolved = q->job_resolve->committed;
		if (polls >= 0)
			polls = 100;    /* decided: past every phase */
		answer_job(fd, q->id, q->job_resolve->id);
		break;
	case GISA__V1__REQUEST__VERB_JOB_LIST:
		answer_jobs(fd, q->id);
		break;
	case GISA__V1__REQUEST__VERB_REMOTE_FETCH:
		fprintf(stderr, "fake-gisad: remote_fetch %s\n", q->remote_fetch->uri);
		answer_fetch(fd, q->id, passed);
		break;
	case GISA__V1__REQUEST__VERB_VM_LIST:
		answer_vms(fd, q->id);
		break;
	case GISA__V1__REQUEST__VERB_VM_INFO:
		answer_vm_info(fd, q->id, q->vm_info->vm ? q->vm_info->vm : "");
		break;
	default:
		answer_simple(fd, q->id, -EAGAIN, "irq_clear: VM `a' is migrating", true);
		break;
	}
}

/* One datagram and the descriptor it may carry (-1: none). */
/* NOLINTNEXTLINE(readability-non-const-parameter): recvmsg fills buf through iov */
static ssize_t recv_request(int fd, uint8_t *buf, int *ret_fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} cbuf;
	struct iovec iov = { .iov_base = buf, .iov_len = MAX_DGRAM };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf,
			     .msg_controllen = sizeof(cbuf.buf) };
	struct cmsghdr *cm;
	ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);

	*ret_fd = -1;
	cm = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
		memcpy(ret_fd, CMSG_DATA(cm), sizeof(int));
	return n;
}

static void serve(int fd)
{
	static uint8_t buf[MAX_DGRAM];

	for (;;) {
		Gisa__V1__Request *q;
		int passed;
		ssize_t n = recv_request(fd, buf, &passed);

		if (n <= 0)
			return;
		q = gisa__v1__request__unpack(NULL, (size_t)n, buf);
		if (q)
			handle(fd, q, passed);
		gisa__v1__request__free_unpacked(q, NULL);
		if (passed >= 0)
			close(passed);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd;

	if (argc != 4) {
		fprintf(stderr, "usage: fake-gisad SOCKET complete|fail|doubt SNAPSHOT\n");
		return 2;
	}
	mode = argv[2];
	snapshot = argv[3];
	memset(digest, 0xab, sizeof(digest));
	memset(mig_id, 0x5c, sizeof(mig_id));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
	lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 8))
		die(argv[1]);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0 && errno == EINTR)
			continue;
		if (fd < 0)
			die("accept");
		serve(fd);
		close(fd);
	}
}
