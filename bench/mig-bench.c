/* SPDX-License-Identifier: MIT */
/*
 * gisa-mig-bench: live migration of the "typical" and the "maximum" state
 * (bench/README.md) between two real gisad over TLS 1.3 on loopback, with
 * a batched injector working the source VM during precopy, next to what
 * the transport and the snapshot path cost, measured in the same runs.
 *
 * Set-up.  A temporary directory holds the test certificates (made at run
 * time by tests/support-tls/certgen.h; both daemons present host-a, whose
 * SANs name 127.0.0.1, and admit it), a gisad.conf, a state directory and
 * a log per daemon.  The destination listens on 127.0.0.1 (port 0: the
 * kernel picks one, read from its log).  Both offer no GISA, so the
 * generated VMs (AIS only) migrate unchanged (verdict exact).  Both gisad
 * run in the foreground as children with PR_SET_PDEATHSIG; SIGINT,
 * SIGTERM and SIGHUP go to one thread, and every way out stops the
 * children and removes the directory (as in gisa-control-bench).
 *
 * The states are gisa-snapshot-bench's: snapshot-bench.c is compiled into
 * this file (its main renamed, never called), so the generators exist
 * once and both benchmarks print the same digests.
 *
 * One run of a state, for one compression (none or zstd:1; the two
 * alternate within each run so that drift hits both):
 *   1. the state is imported into the source (snapshot_import of a stored
 *      snapshot in a memfd; untimed) and its digest checked;
 *   2. a baseline TLS connection to this program's own server (a thread
 *      with its own event loop): bufferevent_openssl with the daemons'
 *      options (deferred callbacks, TCP_NODELAY, dirty shutdown allowed),
 *      contexts from lib/net (gisa_tls_ctx_new) over the same files.  The
 *      handshake is timed from the connect until both ends are done, each
 *      with its peer check (gisa_tls_verify_peer): under TLS 1.3 the
 *      server ends half a round trip after the client, once it has checked
 *      the client's certificate and Finished, as the destination does
 *      before it reads the source's hello (the client's end alone is
 *      printed beside it);
 *   3. the reference: snapshot_export of the source VM into a memfd
 *      (stored for none, zstd level 1 for zstd:1), a bulk TLS transfer of
 *      that many bytes, snapshot_import of the file into the destination
 *      under another name (then destroyed); each timed request -> reply
 *      (transfer: first byte written -> the receiver's 16-byte ack);
 *   4. maximum only: the destination gisad is restarted, so that its RSS
 *      growth is this migration's alone (freed heap stays in RSS: a
 *      destination that held the state before would seem to grow less);
 *      it was restarted before the reference's import too, so that both
 *      run in a fresh process (every page of their heap faulted in anew);
 *   5. the migration: Migrate {budget, compression}; the injector starts
 *      once the job exists; the end is awaited through job events
 *      (job_status as a fallback).  The job must be COMPLETED with
 *      matching digests, and the destination's VM must have the digest
 *      the job reports.  The destination's VmRSS before, and after its
 *      migrate-in job ended too (the staging image is freed then) and
 *      both daemons' queued durable writes have run (drain()); its
 *      VmHWM, reset through clear_refs before, gives the peak;
 *   6. on the same TLS connection, with both daemons idle: round trips
 *      of a 64-byte message each way (median of TB_ECHOES), and a bulk
 *      transfer of precopy + switchover bytes;
 *   7. both VMs destroyed (the source's is retired: that frees its name).
 *
 * The injector: a thread with its own control connection rotates records
 * at a fixed rate R.  Every INJ_TICK_US it takes the records due with
 * vcpu_tpi (vcpu 0: the head of the lowest non-empty ISC list, as a
 * guest consumes them; the requests pipelined, then the replies read)
 * and puts them back at the tails with one batch_inject.  The maximum
 * state is full (GISA_MAX_FLOAT_IRQS), so injection alone would only be
 * refused; rotating keeps each state's size and changes each list only at
 * its head and tail, as the delta encoding (gisa/delta.h) expects of a
 * running VM.  It stops at the first refusal (the VM froze: -EAGAIN),
 * when the job ends, or after GOAL_CHURN % of the maximum state's records
 * (so that no migration exceeds the goal's churn).  R is set once: --churn
 * (default CHURN_DEFAULT) % of the maximum state's records over the time
 * that state's VM runs during a migration (setup + transfer - downtime):
 * first over the longer of its two uninjected warm-up migrations, then
 * once more over the longer of two injected ones (injection lengthens a
 * migration).  Churn is reported as the records rotated over the
 * state's own records; the typical state gets the same rate R.
 *
 * In-process parts (this process, the same libraries, median of a few):
 * the steps the switchover and the destination's import repeat, and a
 * durable write into the state directory's file system (temporary file,
 * fsync, rename, fsync of the directory: what gisad's checkpoints and
 * migration records do), so that the downtime's breakdown can be read.
 * Beside it the durable write the switchover makes on each side: an
 * overwrite of a slot reserved (zero-filled and flushed) beforehand, then
 * fdatasync, of 4 KiB and of the stored snapshot; and fdatasync with
 * nothing to write, the device's flush alone: the floor of any durable
 * write on that file system.
 *
 * Goals (printed as met or MISSED with their figures, compression none
 * judged, zstd:1 beside it): downtime <= GOAL_DOWN_TYPICAL TLS round trips
 * for the typical state and <= GOAL_DOWN_MAXIMUM for the maximum state
 * with <= GOAL_CHURN % churn; total <= GOAL_TOTAL x (export + transfer +
 * import); the destination's RSS growth for the maximum state <= GOAL_RSS
 * x the bytes the engine holds for that state, counted by a counting
 * allocator (gisa_allocator) around gisa_image_build_vm of its image, as
 * a destination builds it.  Each total comes with its floor, the least a
 * migration keeping the failure rules adds to the reference
 * (goal_total_floor).
 *
 * Figures are printed, never asserted: a missed goal does not change the
 * exit status.  A request or a migration failing, a digest mismatch, or a
 * daemon not exiting cleanly is an error (exit 1).
 */

/* The generators: gisa-snapshot-bench's own code (see above). */
int gisa_snapshot_bench_main(void);
#define main gisa_snapshot_bench_main
#include "snapshot-bench.c" /* NOLINT(bugprone-suspicious-include): on purpose, see above */
#undef main

#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <gisa/compat.h>
#include <gisa/delta.h>
#include <gisa/tls.h>

/* certgen.h ignores snprintf's result: paths here are short (mkdtemp's). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include "certgen.h"
#pragma GCC diagnostic pop
#include "control.pb-c.h"
#include "table.h"

#ifndef GISAD_PATH
#define GISAD_PATH ""
#endif

#define RUNS_TYPICAL     11
#define RUNS_MAXIMUM     5
#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS  30000
#define JOB_TIMEOUT_MS   300000
#define MAX_DGRAM        (1u << 20)     /* the daemon's cap, both directions */
#define TB_ECHOES        201            /* round trips per run */
#define TB_ECHO_SIZE     64u            /* bytes each way */
#define TB_HDR           16u            /* kind (u64), length (u64), big-endian */
#define TB_ECHO          1u
#define TB_BULK          2u
#define INJ_TICK_US      500u
#define INJ_BATCH_MAX    1024u          /* records per tick at most */
#define CHURN_DEFAULT    0.5            /* % of the maximum state, over its migration */
#define PARTS_REPS       7              /* in-process parts: median of */
#define PARTS_ROTATE     100u           /* records rotated for the delta part */
#define DURABLE_SMALL    1024u          /* a migration record's size, about */
#define SLOT_SMALL       4096u          /* one block overwritten in a slot */
#define VM_REF           "reference"

#define GOAL_DOWN_TYPICAL 10.0          /* TLS round trips */
#define GOAL_DOWN_MAXIMUM 30.0
#define GOAL_CHURN        1.0           /* % of the maximum state */
#define GOAL_TOTAL        1.5           /* x (export + transfer + import) */
#define GOAL_RSS          3.0           /* x engine bytes */

static const uint32_t proto_version = GISA__V1__CONTROL_PROTOCOL__CONTROL_PROTOCOL_VERSION;

/* ---- the children, the directory, the way out ------------------------------ */

struct daemon {
	const char *role;
	char conf[PATH_MAX], sock[PATH_MAX], state[PATH_MAX], log[PATH_MAX];
	pid_t pid;
	char port[8];                   /* destination: its migration listener */
};

static struct {
	pthread_mutex_t lock;
	bool cleaned;
	char dir[256];                  /* short: socket paths live in it */
	char certs[PATH_MAX];
	const char *gisad;
	struct daemon src, dst;
} g = { .lock = PTHREAD_MUTEX_INITIALIZER };

static atomic_bool ending;

static void sleep_us(unsigned int us)
{
	struct timespec ts = { .tv_sec = us / 1000000u, .tv_nsec = (long)(us % 1000000u) * 1000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Signal *pid, wait up to STOP_TIMEOUT_MS, then SIGKILL.  Returns the status. */
static int stop_child(pid_t *pid, int sig)
{
	int status = 0;

	if (*pid <= 0)
		return 0;
	kill(*pid, sig);
	for (int i = 0; i < STOP_TIMEOUT_MS / 10; i++) {
		pid_t r = waitpid(*pid, &status, WNOHANG);

		if (r == *pid || (r < 0 && errno != EINTR)) {
			*pid = 0;
			return status;
		}
		sleep_us(10000);
	}
	fprintf(stderr, "gisa-mig-bench: pid %ld ignored signal %d: killing it\n", (long)*pid,
		sig);
	kill(*pid, SIGKILL);
	while (waitpid(*pid, &status, 0) < 0 && errno == EINTR)
		;
	*pid = 0;
	return status;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)remove(path);
	return 0;
}

static void cleanup_locked(void)
{
	if (g.cleaned)
		return;
	g.cleaned = true;
	(void)stop_child(&g.src.pid, SIGTERM);
	(void)stop_child(&g.dst.pid, SIGTERM);
	if (g.dir[0])
		(void)nftw(g.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void cleanup(void)
{
	pthread_mutex_lock(&g.lock);
	cleanup_locked();
	pthread_mutex_unlock(&g.lock);
}

static void log_tail(const struct daemon *dm)
{
	char buf[3072];
	FILE *f;
	long sz;
	size_t n;

	if (!dm->log[0] || !(f = fopen(dm->log, "r")))
		return;
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	fseek(f, sz > (long)sizeof(buf) - 1 ? sz - (long)sizeof(buf) + 1 : 0, SEEK_SET);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	if (n)
		fprintf(stderr, "--- end of the %s gisad's log\n%s---\n", dm->role, buf);
}

/* The first caller reports and cleans up; the others block until _exit. */
static void __attribute__((noreturn)) leave(int status)
{
	pthread_mutex_lock(&g.lock);
	cleanup_locked();
	_exit(status);
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void fail(const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	if (atomic_exchange(&ending, true))
		leave(1);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fflush(stdout);
	fprintf(stderr, "gisa-mig-bench: %s\n", msg);
	log_tail(&g.src);
	log_tail(&g.dst);
	leave(1);
}

static void *signal_thread(void *arg)
{
	sigset_t *set = arg;
	int sig = 0;

	while (sigwait(set, &sig))
		;
	if (!atomic_exchange(&ending, true)) {
		fflush(stdout);
		fprintf(stderr, "gisa-mig-bench: %s: stopping both gisad\n", strsignal(sig));
	}
	leave(128 + sig);
}

/* a + b into out; a path that does not fit ends the program. */
static void path_cat(char *out, size_t len, const char *a, const char *b)
{
	int n = snprintf(out, len, "%s%s", a, b);

	if (n < 0 || (size_t)n >= len)
		fail("the path `%s%s' is too long", a, b);
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		fail("out of memory");
	return p;
}

/* ---- the control client --------------------------------------------------- */

struct conn {
	int fd;
	uint64_t next_id;
	uint8_t *tx;                    /* MAX_DGRAM */
	uint8_t *rx;                    /* MAX_DGRAM */
};

static void conn_open(struct conn *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int sz = 4 * (int)MAX_DGRAM;

	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		fail("socket: %s", strerror(errno));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)))
		fail("connect to `%s': %s", path, strerror(errno));
	if (setsockopt(c->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)))
		(void)setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	c->next_id = 1;
	c->tx = xcalloc(1, MAX_DGRAM);
	c->rx = xcalloc(1, MAX_DGRAM);
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->tx);
	free(c->rx);
	c->fd = -1;
	c->tx = c->rx = NULL;
}

/* One datagram in, unpacked (NULL if the peer closed or it does not decode). */
static Gisa__V1__Response *recv_response(struct conn *c, const char *what)
{
	ssize_t m;

	do
		m = recv(c->fd, c->rx, MAX_DGRAM, 0);
	while (m < 0 && errno == EINTR);
	if (m <= 0)
		fail("%s: %s", what, m ? strerror(errno) : "gisad closed the connection");
	return gisa__v1__response__unpack(NULL, (size_t)m, c->rx);
}

/* Send one request (with pass_fd beside it when >= 0); returns its id. */
static uint64_t send_request(struct conn *c, Gisa__V1__Request *req, int pass_fd,
			     const char *what)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	size_t n;

	req->has_version = true;
	req->version = proto_version;
	req->has_id = true;
	req->id = c->next_id++;
	n = gisa__v1__request__get_packed_size(req);
	if (n > MAX_DGRAM)
		fail("%s: a request of %zu bytes", what, n);
	gisa__v1__request__pack(req, c->tx);
	iov.iov_base = c->tx;
	iov.iov_len = n;
	if (pass_fd >= 0) {
		struct cmsghdr *cm;

		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = sizeof(cbuf.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
	}
	while (sendmsg(c->fd, &mh, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			fail("%s: send of %zu bytes: %s", what, n, strerror(errno));
	return req->id;
}

/* The reply to request id, skipping event datagrams (id 0). */
static Gisa__V1__Response *recv_reply(struct conn *c, uint64_t id, const char *what)
{
	Gisa__V1__Response *resp;

	for (;;) {
		resp = recv_response(c, what);
		if (!resp)
			fail("%s: a reply that does not decode as a Response", what);
		if (resp->id != 0)
			break;
		gisa__v1__response__free_unpacked(resp, NULL);
	}
	if (resp->id != id)
		fail("%s: reply to request %llu, expected %llu", what,
		     (unsigned long long)resp->id, (unsigned long long)id);
	return resp;
}

/*
 * One request and its reply.  Transport failures end the program; the
 * reply may carry an error, which the caller judges.
 */
static Gisa__V1__Response *request(struct conn *c, Gisa__V1__Request *req, int pass_fd,
				   const char *what)
{
	return recv_reply(c, send_request(c, req, pass_fd, what), what);
}

/* request() that must succeed with result `want' (NOT_SET: any). */
static Gisa__V1__Response *call(struct conn *c, Gisa__V1__Request *req, int pass_fd,
				Gisa__V1__Response__ResultCase want, const char *what)
{
	Gisa__V1__Response *resp = request(c, req, pass_fd, what);

	if (resp->error)
		fail("%s: error %d: %s", what, resp->error, resp->message ? resp->message : "");
	if (want != GISA__V1__RESPONSE__RESULT__NOT_SET && resp->result_case != want)
		fail("%s: reply carries result %d, expected %d", what, resp->result_case, want);
	return resp;
}

/*
 * A request whose verb takes only a VM's name: *ref_slot is req's member
 * of that verb (req.verb_case set by the caller); the reply is checked and
 * dropped.
 */
static void vm_ref_call(struct conn *c, Gisa__V1__Request *req, Gisa__V1__VmRef **ref_slot,
			const char *vm, Gisa__V1__Response__ResultCase want, const char *what)
{
	Gisa__V1__VmRef ref = GISA__V1__VM_REF__INIT;

	ref.vm = (char *)vm;
	*ref_slot = &ref;
	gisa__v1__response__free_unpacked(call(c, req, -1, want, what), NULL);
}

static void vm_destroy(struct conn *c, const char *vm)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;

	req.verb_case = GISA__V1__REQUEST__VERB_VM_DESTROY;
	vm_ref_call(c, &req, &req.vm_destroy, vm, GISA__V1__RESPONSE__RESULT__NOT_SET,
		    "vm_destroy");
}

/* The VM's digest (32 bytes into out); its mem_used into *ret_mem if asked. */
static void vm_digest(struct conn *c, const char *vm, uint8_t out[32], uint64_t *ret_mem)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__VmRef ref = GISA__V1__VM_REF__INIT;
	Gisa__V1__Response *resp;

	ref.vm = (char *)vm;
	req.verb_case = GISA__V1__REQUEST__VERB_VM_INFO;
	req.vm_info = &ref;
	resp = call(c, &req, -1, GISA__V1__RESPONSE__RESULT_VM_INFO, "vm_info");
	if (!resp->vm_info->has_digest || resp->vm_info->digest.len != 32)
		fail("vm_info of `%s': no digest", vm);
	memcpy(out, resp->vm_info->digest.data, 32);
	if (ret_mem)
		*ret_mem = resp->vm_info->mem_used;
	gisa__v1__response__free_unpacked(resp, NULL);
}

/* snapshot_import of the file in fd (read from its start) as VM vm. */
static void snap_import(struct conn *c, const char *vm, int fd)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__SnapshotImport si = GISA__V1__SNAPSHOT_IMPORT__INIT;

	if (lseek(fd, 0, SEEK_SET) != 0)
		fail("lseek: %s", strerror(errno));
	si.vm = (char *)vm;
	si.has_replace = true;
	si.replace = true;
	req.verb_case = GISA__V1__REQUEST__VERB_SNAPSHOT_IMPORT;
	req.snapshot_import = &si;
	gisa__v1__response__free_unpacked(call(c, &req, fd, GISA__V1__RESPONSE__RESULT_SNAPSHOT,
					       "snapshot_import"), NULL);
}

/* snapshot_export of vm into fd (emptied first); returns the file's size. */
static uint64_t snap_export(struct conn *c, const char *vm, int fd, bool zstd)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__SnapshotExport se = GISA__V1__SNAPSHOT_EXPORT__INIT;
	Gisa__V1__Response *resp;
	uint64_t bytes;

	if (ftruncate(fd, 0) || lseek(fd, 0, SEEK_SET) != 0)
		fail("truncating the export file: %s", strerror(errno));
	se.vm = (char *)vm;
	se.has_uncompressed = true;
	se.uncompressed = !zstd;
	se.has_level = zstd;
	se.level = zstd ? 1 : 0;
	req.verb_case = GISA__V1__REQUEST__VERB_SNAPSHOT_EXPORT;
	req.snapshot_export = &se;
	resp = call(c, &req, fd, GISA__V1__RESPONSE__RESULT_SNAPSHOT, "snapshot_export");
	bytes = resp->snapshot->bytes;
	gisa__v1__response__free_unpacked(resp, NULL);
	return bytes;
}

static uint64_t migrate(struct conn *c, const char *vm, const char *uri, uint32_t budget_ms,
			bool zstd)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__Migrate mg = GISA__V1__MIGRATE__INIT;
	Gisa__V1__Response *resp;
	uint64_t id;

	mg.vm = (char *)vm;
	mg.uri = (char *)uri;
	mg.has_downtime_ms = mg.has_compression = true;
	mg.downtime_ms = budget_ms;
	mg.compression = zstd ? 2 : 1;
	mg.has_level = zstd;
	mg.level = zstd ? 1 : 0;
	req.verb_case = GISA__V1__REQUEST__VERB_MIGRATE;
	req.migrate = &mg;
	resp = call(c, &req, -1, GISA__V1__RESPONSE__RESULT_JOB, "migrate");
	id = resp->job->id;
	gisa__v1__response__free_unpacked(resp, NULL);
	return id;
}

static Gisa__V1__Response *job_status(struct conn *c, uint64_t id)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__JobRef jr = GISA__V1__JOB_REF__INIT;

	jr.has_id = true;
	jr.id = id;
	req.verb_case = GISA__V1__REQUEST__VERB_JOB_STATUS;
	req.job_status = &jr;
	return call(c, &req, -1, GISA__V1__RESPONSE__RESULT_JOB, "job_status");
}

static void subscribe_jobs(struct conn *c)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__Subscribe s = GISA__V1__SUBSCRIBE__INIT;

	s.has_kicks = s.has_jobs = true;
	s.kicks = false;
	s.jobs = true;
	req.verb_case = GISA__V1__REQUEST__VERB_SUBSCRIBE;
	req.subscribe = &s;
	gisa__v1__response__free_unpacked(call(c, &req, -1, GISA__V1__RESPONSE__RESULT__NOT_SET,
					       "subscribe"), NULL);
}

static bool job_final(Gisa__V1__JobType t)
{
	return t == GISA__V1__JOB_TYPE__JOB_TYPE_COMPLETED ||
	       t == GISA__V1__JOB_TYPE__JOB_TYPE_FAILED ||
	       t == GISA__V1__JOB_TYPE__JOB_TYPE_CANCELLED;
}

/*
 * Wait for job id to end: its final event on watch (subscribed), or, each
 * 20 ms without one, job_status on c.  Returns the final job_status reply.
 */
static Gisa__V1__Response *wait_job(struct conn *watch, struct conn *c, uint64_t id)
{
	uint64_t deadline = now_ns() + (uint64_t)JOB_TIMEOUT_MS * 1000000u;

	for (;;) {
		struct pollfd p = { .fd = watch->fd, .events = POLLIN };
		int n = poll(&p, 1, 20);
		bool done = false;

		if (n < 0 && errno != EINTR)
			fail("poll: %s", strerror(errno));
		if (n > 0) {
			Gisa__V1__Response *ev = recv_response(watch, "job events");

			done = ev && ev->result_case == GISA__V1__RESPONSE__RESULT_EVENT &&
			       ev->event->job && ev->event->job->id == id &&
			       job_final(ev->event->job->type);
			if (ev)
				gisa__v1__response__free_unpacked(ev, NULL);
		} else if (n == 0) {
			Gisa__V1__Response *st = job_status(c, id);

			done = job_final(st->job->type);
			gisa__v1__response__free_unpacked(st, NULL);
		}
		if (done)
			return job_status(c, id);
		if (now_ns() > deadline)
			fail("migration job %llu did not end within %d s", (unsigned long long)id,
			     JOB_TIMEOUT_MS / 1000);
	}
}

/* Wait until no migrate-in job of the destination is running any more. */
static void wait_dest_idle(struct conn *c)
{
	uint64_t deadline = now_ns() + (uint64_t)JOB_TIMEOUT_MS * 1000000u;

	for (;;) {
		Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
		Gisa__V1__JobListArgs ja = GISA__V1__JOB_LIST_ARGS__INIT;
		Gisa__V1__Response *resp;
		bool busy = false, more = true;

		req.verb_case = GISA__V1__REQUEST__VERB_JOB_LIST;
		req.job_list = &ja;
		/* Page by page (CONTROL-PROTOCOL.md, "Listings"). */
		while (more) {
			resp = call(c, &req, -1, GISA__V1__RESPONSE__RESULT_JOBS, "job_list");
			for (size_t i = 0; i < resp->jobs->n_jobs; i++)
				busy |= resp->jobs->jobs[i]->operation ==
					GISA__V1__JOB_OPERATION__JOB_OPERATION_MIGRATE_IN &&
					!job_final(resp->jobs->jobs[i]->type);
			more = resp->jobs->more && resp->jobs->n_jobs;
			if (more) {
				ja.has_after = true;
				ja.after = resp->jobs->jobs[resp->jobs->n_jobs - 1]->id;
			}
			gisa__v1__response__free_unpacked(resp, NULL);
		}
		if (!busy)
			return;
		if (now_ns() > deadline)
			fail("the destination's migrate-in job did not end within %d s",
			     JOB_TIMEOUT_MS / 1000);
		sleep_us(1000);
	}
}

/*
 * Wait until a daemon's queued durable writes have run: a migration ends
 * before some of them (the destination's checkpoint of the new VM, the
 * source's slot and checkpoint removals), and a figure taken while they
 * run measures them too.  checkpoint_list waits for the queue before it
 * reads the directory (daemon/dwq.h), so its reply is the drain.
 */
static void drain(struct conn *c, const char *vm)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__CheckpointListArgs ca = GISA__V1__CHECKPOINT_LIST_ARGS__INIT;

	ca.vm = (char *)vm;
	ca.has_limit = true;
	ca.limit = 1;           /* the first page is the drain too */
	req.verb_case = GISA__V1__REQUEST__VERB_CHECKPOINT_LIST;
	req.checkpoint_list = &ca;
	gisa__v1__response__free_unpacked(call(c, &req, -1, GISA__V1__RESPONSE__RESULT_CHECKPOINTS,
					       "checkpoint_list"),
					  NULL);
}

/* ---- the daemons ------------------------------------------------------------ */

static void child_setup(pid_t parent)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
}

static void daemon_init(struct daemon *dm, const char *role, const char *sub, bool listener)
{
	struct group *gr = getgrgid(getgid());
	char dir[PATH_MAX];
	FILE *f;

	if (!gr)
		fail("no group entry for gid %u (gisad.conf needs a group name)",
		     (unsigned)getgid());
	dm->role = role;
	path_cat(dir, sizeof(dir), g.dir, sub);
	if (mkdir(dir, 0700))
		fail("mkdir `%s': %s", dir, strerror(errno));
	path_cat(dm->conf, sizeof(dm->conf), dir, "/gisad.conf");
	path_cat(dm->sock, sizeof(dm->sock), dir, "/control");
	path_cat(dm->state, sizeof(dm->state), dir, "/state");
	path_cat(dm->log, sizeof(dm->log), dir, "/gisad.log");
	if (strlen(dm->sock) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		fail("`%s': too long for a socket path (set TMPDIR shorter)", dm->sock);
	f = fopen(dm->conf, "we");
	if (!f)
		fail("%s: %s", dm->conf, strerror(errno));
	fprintf(f, "[gisad]\nsocket = %s\nstate_dir = %s\ngroup = %s\nlog_level = notice\n"
		"gisa = no\ntls_ca = %s/ca.crt\ntls_cert = %s/host-a.crt\n"
		"tls_key = %s/host-a.key\ntls_allow = host-a\n",
		dm->sock, dm->state, gr->gr_name, g.certs, g.certs, g.certs);
	if (listener)
		fprintf(f, "migration_listen = 127.0.0.1:0\n");
	if (fclose(f))
		fail("%s: %s", dm->conf, strerror(errno));
}

/* The port of the last "listening on 127.0.0.1:PORT" line after offset from. */
static bool read_port(const struct daemon *dm, long from, char *port, size_t len)
{
	static const char key[] = "migration: listening on 127.0.0.1:";
	char line[512];
	bool found = false;
	FILE *f = fopen(dm->log, "r");

	if (!f)
		return false;
	fseek(f, from, SEEK_SET);
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, key);

		if (p) {
			p += sizeof(key) - 1;
			snprintf(port, len, "%.*s", (int)strspn(p, "0123456789"), p);
			found = port[0] != '\0';
		}
	}
	fclose(f);
	return found;
}

static void daemon_start(struct daemon *dm, bool listener)
{
	pid_t parent = getpid();
	uint64_t deadline;
	struct stat st;
	long from = stat(dm->log, &st) == 0 ? (long)st.st_size : 0;
	int status;

	dm->pid = fork();
	if (dm->pid < 0)
		fail("fork: %s", strerror(errno));
	if (dm->pid == 0) {
		int logfd = open(dm->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		int nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);

		child_setup(parent);
		if (logfd < 0 || nullfd < 0)
			_exit(127);
		dup2(nullfd, STDIN_FILENO);
		dup2(nullfd, STDOUT_FILENO);
		dup2(logfd, STDERR_FILENO);
		/* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): main checked g.gisad */
		execl(g.gisad, "gisad", "--foreground", "--config", dm->conf, (char *)NULL);
		dprintf(STDERR_FILENO, "exec %s: %s\n", g.gisad, strerror(errno));
		_exit(127);
	}
	/* Ready when the control socket takes a connection and the listener is logged. */
	deadline = now_ns() + (uint64_t)START_TIMEOUT_MS * 1000000u;
	for (;;) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		bool up;

		path_cat(sa.sun_path, sizeof(sa.sun_path), dm->sock, "");
		up = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (fd >= 0)
			close(fd);
		if (up && (!listener || read_port(dm, from, dm->port, sizeof(dm->port))))
			break;
		if (waitpid(dm->pid, &status, WNOHANG) == dm->pid) {
			dm->pid = 0;
			fail("the %s gisad exited during start-up (status 0x%x)", dm->role,
			     (unsigned)status);
		}
		if (now_ns() > deadline)
			fail("the %s gisad was not ready within %d ms", dm->role, START_TIMEOUT_MS);
		sleep_us(5000);
	}
}

static void daemon_stop(struct daemon *dm)
{
	int status;

	pthread_mutex_lock(&g.lock);
	status = stop_child(&dm->pid, SIGTERM);
	pthread_mutex_unlock(&g.lock);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail("the %s gisad did not exit cleanly on SIGTERM (status 0x%x)", dm->role,
		     (unsigned)status);
}

/* VmRSS or VmHWM of pid, in bytes. */
static uint64_t proc_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	uint64_t kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	f = fopen(path, "r");
	if (!f)
		fail("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, klen) == 0 && line[klen] == ':')
			kb = strtoull(line + klen + 1, NULL, 10);
	fclose(f);
	return kb * 1024u;
}

/* Reset VmHWM to the current RSS; false if the kernel does not let us. */
static bool reset_hwm(pid_t pid)
{
	char path[64];
	int fd;
	bool ok;

	snprintf(path, sizeof(path), "/proc/%ld/clear_refs", (long)pid);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ok = write(fd, "5", 1) == 1;
	close(fd);
	return ok;
}

/* ---- the TLS baseline: a server thread and a client, both libevent ----------- */

static struct gisa_tls_ctx *tls_ctx(enum gisa_tls_role role)
{
	static const char *const allow[] = { "host-a" };
	char ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];
	struct gisa_tls_config tc = { .cert_file = cert, .key_file = key, .ca_file = ca,
				      .allow = allow, .n_allow = 1 };
	struct gisa_tls_error err;
	struct gisa_tls_ctx *ctx = NULL;

	path_cat(ca, sizeof(ca), g.certs, "/ca.crt");
	path_cat(cert, sizeof(cert), g.certs, "/host-a.crt");
	path_cat(key, sizeof(key), g.certs, "/host-a.key");
	if (gisa_tls_ctx_new(role, &tc, &ctx, &err))
		fail("TLS context: %s", err.msg);
	return ctx;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void set_nodelay(evutil_socket_t fd)
{
	int one = 1;

	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* One accepted connection: requests are {kind, length} then length bytes. */
struct tbs_conn {
	struct bufferevent *bev;
	bool have_hdr;
	uint64_t kind, len, got;
};

static struct {
	pthread_t th;
	struct event_base *base;
	struct gisa_tls_ctx *ctx;
	int lfd, stop[2];
	struct event *lev, *sev;
	uint16_t port;
} tbs;

static void tbs_read(struct bufferevent *bev, void *arg)
{
	struct tbs_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t h[TB_HDR];

	for (;;) {
		if (!c->have_hdr) {
			if (evbuffer_get_length(in) < TB_HDR)
				return;
			evbuffer_remove(in, h, TB_HDR);
			c->kind = get_be64(h);
			c->len = get_be64(h + 8);
			c->got = 0;
			c->have_hdr = true;
		}
		if (c->kind == TB_ECHO) {
			/* The whole message back, header first. */
			if (evbuffer_get_length(in) < c->len)
				return;
			put_be64(h, TB_ECHO);
			put_be64(h + 8, c->len);
			bufferevent_write(bev, h, TB_HDR);
			evbuffer_remove_buffer(in, bufferevent_get_output(bev), (size_t)c->len);
		} else {
			/* Bulk: consume, then a 16-byte acknowledgement. */
			size_t avail = evbuffer_get_length(in);
			size_t n = avail < c->len - c->got ? avail : (size_t)(c->len - c->got);

			evbuffer_drain(in, n);
			c->got += n;
			if (c->got < c->len)
				return;
			put_be64(h, TB_BULK);
			put_be64(h + 8, c->len);
			bufferevent_write(bev, h, TB_HDR);
		}
		c->have_hdr = false;
	}
}

/* When the server's end of the last handshake was done (its peer checked); 0: not yet. */
static _Atomic uint64_t tbs_up_ns;

static void tbs_event(struct bufferevent *bev, short what, void *arg)
{
	struct tbs_conn *c = arg;

	if (what & BEV_EVENT_CONNECTED) {
		struct gisa_tls_error err;

		if (gisa_tls_verify_peer(bufferevent_openssl_get_ssl(bev), NULL, &err) == 0) {
			atomic_store(&tbs_up_ns, now_ns());
			return;
		}
	}
	bufferevent_free(c->bev);
	free(c);
}

static void tbs_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct gisa_tls_error err;
	struct tbs_conn *c;
	SSL *ssl = NULL;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c || gisa_tls_ssl_new(tbs.ctx, -1, NULL, &ssl, &err)) {
		free(c);
		close(fd);
		return;
	}
	c->bev = bufferevent_openssl_socket_new(tbs.base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
						BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!c->bev) {
		SSL_free(ssl);
		close(fd);
		free(c);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	set_nodelay(fd);
	bufferevent_setcb(c->bev, tbs_read, NULL, tbs_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void tbs_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(tbs.base);
}

static void *tbs_thread(void *arg)
{
	event_base_dispatch(tbs.base);
	return NULL;
}

static void tbs_start(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);

	tbs.ctx = tls_ctx(GISA_TLS_SERVER);
	tbs.base = event_base_new();
	tbs.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (!tbs.base || tbs.lfd < 0 || bind(tbs.lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(tbs.lfd, 16) || getsockname(tbs.lfd, (struct sockaddr *)&sa, &len) ||
	    pipe2(tbs.stop, O_CLOEXEC))
		fail("the TLS baseline server: %s", strerror(errno));
	tbs.port = ntohs(sa.sin_port);
	tbs.lev = event_new(tbs.base, tbs.lfd, EV_READ | EV_PERSIST, tbs_accept, NULL);
	tbs.sev = event_new(tbs.base, tbs.stop[0], EV_READ, tbs_stop_cb, NULL);
	if (!tbs.lev || !tbs.sev || event_add(tbs.lev, NULL) || event_add(tbs.sev, NULL) ||
	    pthread_create(&tbs.th, NULL, tbs_thread, NULL))
		fail("the TLS baseline server: out of memory");
}

static void tbs_stop(void)
{
	if (write(tbs.stop[1], "x", 1) != 1)
		fail("stopping the TLS baseline server: %s", strerror(errno));
	pthread_join(tbs.th, NULL);
	event_free(tbs.lev);
	event_free(tbs.sev);
	close(tbs.lfd);
	close(tbs.stop[0]);
	close(tbs.stop[1]);
	event_base_free(tbs.base);
	gisa_tls_ctx_free(tbs.ctx);
}

/* The client side, in the main thread with its own loop. */
static struct {
	struct event_base *base;
	struct gisa_tls_ctx *ctx;
	struct bufferevent *bev;
	bool up, failed, done;
	size_t want;                    /* input bytes that end the wait */
	uint8_t *bulk;
	size_t bulk_cap;
} tbc;

static void tbc_read(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_input(bev)) >= tbc.want) {
		tbc.done = true;
		event_base_loopbreak(tbc.base);
	}
}

static void tbc_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & BEV_EVENT_CONNECTED)
		tbc.up = true;
	else
		tbc.failed = true;
	event_base_loopbreak(tbc.base);
}

static void tbc_loop(const bool *flag, const char *what)
{
	while (!*flag && !tbc.failed)
		event_base_loop(tbc.base, EVLOOP_ONCE);
	if (tbc.failed)
		fail("TLS baseline: the connection failed during %s", what);
}

/*
 * Connect; returns the handshake time (ns): connect -> both ends done, each
 * with its peer check (a TLS 1.3 server ends its handshake after the
 * client's: it checks the client's certificate and Finished), and in
 * *client the client's end alone.
 */
static uint64_t tbc_open(uint64_t *client)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				  .sin_port = htons(tbs.port) };
	struct gisa_tls_error err;
	SSL *ssl = NULL;
	uint64_t t0, t1, ts;

	if (gisa_tls_ssl_new(tbc.ctx, -1, "127.0.0.1", &ssl, &err))
		fail("TLS baseline: %s", err.msg);
	tbc.bev = bufferevent_openssl_socket_new(tbc.base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
						 BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!tbc.bev)
		fail("TLS baseline: out of memory");
	bufferevent_openssl_set_allow_dirty_shutdown(tbc.bev, 1);
	bufferevent_setcb(tbc.bev, tbc_read, NULL, tbc_event, NULL);
	bufferevent_enable(tbc.bev, EV_READ | EV_WRITE);
	tbc.up = tbc.failed = false;
	atomic_store(&tbs_up_ns, 0);
	t0 = now_ns();
	if (bufferevent_socket_connect(tbc.bev, (struct sockaddr *)&sa, sizeof(sa)))
		fail("TLS baseline: connect: %s", strerror(errno));
	set_nodelay(bufferevent_getfd(tbc.bev));
	tbc_loop(&tbc.up, "the handshake");
	if (gisa_tls_verify_peer(ssl, NULL, &err))
		fail("TLS baseline: %s", err.msg);
	t1 = now_ns();
	*client = t1 - t0;
	for (unsigned i = 0; !(ts = atomic_load(&tbs_up_ns)); i++) {
		if (i == 100000)
			fail("TLS baseline: the server did not end its handshake within a second");
		usleep(10);
	}
	return (ts > t1 ? ts : t1) - t0;
}

static void tbc_close(void)
{
	bufferevent_free(tbc.bev);
	tbc.bev = NULL;
}

/* Send header + n bytes; wait for `reply' bytes back; returns the time (ns). */
static uint64_t tbc_exchange(uint64_t kind, size_t n, size_t reply)
{
	struct evbuffer *in = bufferevent_get_input(tbc.bev);
	uint8_t h[TB_HDR];
	uint64_t t0, t1;

	if (n > tbc.bulk_cap) {
		free(tbc.bulk);
		tbc.bulk = xcalloc(1, n);
		for (size_t i = 0; i < n; i++)
			tbc.bulk[i] = (uint8_t)(i * 131u + (i >> 12));
		tbc.bulk_cap = n;
	}
	put_be64(h, kind);
	put_be64(h + 8, n);
	tbc.want = reply;
	tbc.done = false;
	t0 = now_ns();
	if (bufferevent_write(tbc.bev, h, TB_HDR) ||
	    (n && bufferevent_write(tbc.bev, tbc.bulk, n)))
		fail("TLS baseline: out of memory");
	tbc_loop(&tbc.done, kind == TB_ECHO ? "a round trip" : "a bulk transfer");
	t1 = now_ns();
	evbuffer_drain(in, reply);
	return t1 - t0;
}

/* Median round trip (ns) of TB_ECHOES messages of TB_ECHO_SIZE bytes each way. */
static double tbc_rtt(void)
{
	double v[TB_ECHOES];

	for (int i = 0; i < TB_ECHOES; i++)
		v[i] = (double)tbc_exchange(TB_ECHO, TB_ECHO_SIZE - TB_HDR, TB_ECHO_SIZE);
	return median(v, TB_ECHOES);
}

static double tbc_bulk(size_t n)
{
	return (double)tbc_exchange(TB_BULK, n, TB_HDR);
}

/* ---- the injector ------------------------------------------------------------ */

static struct {
	pthread_t th;
	const char *vm;
	double rate;                    /* records/s */
	uint64_t cap;                   /* records per migration at most */
	atomic_bool go, stop;
	uint64_t rotated;               /* dequeued with vcpu_tpi */
	uint64_t reinjected;
	int refusal;                    /* the error that stopped it, 0 none */
} inj;

static void *inj_thread(void *arg)
{
	uint8_t *recs = xcalloc(INJ_BATCH_MAX, GISA_IRQ_SIZE);
	uint64_t *ids = xcalloc(INJ_BATCH_MAX, sizeof(*ids));
	struct conn c;
	uint64_t t0;

	conn_open(&c, g.src.sock);
	while (!atomic_load(&inj.go) && !atomic_load(&inj.stop))
		sleep_us(50);
	t0 = now_ns();
	while (!atomic_load(&inj.stop) && !inj.refusal) {
		double due = inj.rate * (double)(now_ns() - t0) / 1e9 - (double)inj.rotated;
		uint32_t k = 0, want;

		if (inj.rotated >= inj.cap)
			break;
		if (due < 1.0) {
			sleep_us(INJ_TICK_US);
			continue;
		}
		/* The TPIs due, pipelined: all sent, then all answered in order. */
		want = due < (double)INJ_BATCH_MAX ? (uint32_t)due : INJ_BATCH_MAX;
		if (inj.rotated + want > inj.cap)
			want = (uint32_t)(inj.cap - inj.rotated);
		for (uint32_t i = 0; i < want; i++) {
			Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
			Gisa__V1__VcpuRef ref = GISA__V1__VCPU_REF__INIT;

			ref.vm = (char *)inj.vm;
			ref.has_vcpu = true;
			ref.vcpu = 0;
			req.verb_case = GISA__V1__REQUEST__VERB_VCPU_TPI;
			req.vcpu_tpi = &ref;
			ids[i] = send_request(&c, &req, -1, "vcpu_tpi");
		}
		for (uint32_t i = 0; i < want; i++) {
			Gisa__V1__Response *resp = recv_reply(&c, ids[i], "vcpu_tpi");

			if (resp->error) {
				inj.refusal = inj.refusal ? inj.refusal : resp->error;
			} else if (resp->result_case != GISA__V1__RESPONSE__RESULT_IRQ ||
				   resp->irq->ret != 1 || resp->irq->record.len != GISA_IRQ_SIZE) {
				fail("injector: vcpu_tpi found nothing pending");
			} else if (!inj.refusal) {
				memcpy(recs + (size_t)k * GISA_IRQ_SIZE, resp->irq->record.data,
				       GISA_IRQ_SIZE);
				k++;
			}
			gisa__v1__response__free_unpacked(resp, NULL);
		}
		inj.rotated += k;
		if (k) {
			Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
			Gisa__V1__BatchInject bi = GISA__V1__BATCH_INJECT__INIT;
			Gisa__V1__Response *resp;

			bi.vm = (char *)inj.vm;
			bi.has_records = true;
			bi.records.data = recs;
			bi.records.len = (size_t)k * GISA_IRQ_SIZE;
			req.verb_case = GISA__V1__REQUEST__VERB_BATCH_INJECT;
			req.batch_inject = &bi;
			resp = request(&c, &req, -1, "batch_inject");
			if (resp->error)
				inj.refusal = inj.refusal ? inj.refusal : resp->error;
			else if (resp->result_case != GISA__V1__RESPONSE__RESULT_BATCH ||
				 resp->batch->injected != k)
				fail("injector: batch_inject took %u of %u records",
				     resp->batch ? resp->batch->injected : 0, k);
			else
				inj.reinjected += k;
			gisa__v1__response__free_unpacked(resp, NULL);
		}
		sleep_us(INJ_TICK_US);
	}
	conn_close(&c);
	free(recs);
	free(ids);
	return NULL;
}

static void inj_start(const char *vm, double rate, uint64_t cap)
{
	inj.vm = vm;
	inj.rate = rate;
	inj.cap = cap;
	inj.rotated = inj.reinjected = 0;
	inj.refusal = 0;
	atomic_store(&inj.go, false);
	atomic_store(&inj.stop, false);
	if (pthread_create(&inj.th, NULL, inj_thread, NULL))
		fail("pthread_create failed");
}

static void inj_finish(void)
{
	atomic_store(&inj.stop, true);
	pthread_join(inj.th, NULL);
	/* Refusals that end the injection: the VM froze, or it is gone already. */
	if (inj.refusal && inj.refusal != -EAGAIN && inj.refusal != -ENOENT)
		fail("injector: refused with %d", inj.refusal);
}

/* ---- the engine's own byte count: a counting allocator -------------------------- */

#define CNT_HDR 16u                     /* keeps malloc's alignment */

static void *cnt_alloc(void *ctx, size_t n)
{
	uint8_t *p = malloc(n + CNT_HDR);

	if (!p)
		return NULL;
	memcpy(p, &n, sizeof(n));
	*(size_t *)ctx += n;
	return p + CNT_HDR;
}

static void *cnt_realloc(void *ctx, void *ptr, size_t n)
{
	uint8_t *p, *q;
	size_t old;

	if (!ptr)
		return cnt_alloc(ctx, n);
	p = (uint8_t *)ptr - CNT_HDR;
	memcpy(&old, p, sizeof(old));
	q = realloc(p, n + CNT_HDR);
	if (!q)
		return NULL;
	memcpy(q, &n, sizeof(n));
	*(size_t *)ctx += n - old;
	return q + CNT_HDR;
}

static void cnt_free(void *ctx, void *ptr)
{
	uint8_t *p;
	size_t old;

	if (!ptr)
		return;
	p = (uint8_t *)ptr - CNT_HDR;
	memcpy(&old, p, sizeof(old));
	*(size_t *)ctx -= old;
	free(p);
}

/* Bytes the engine holds for img's VM, built as a destination builds it. */
static uint64_t engine_bytes(const struct gisa_image *img)
{
	size_t live = 0, before;
	struct gisa_allocator a = { cnt_alloc, cnt_realloc, cnt_free, &live };
	struct gisa_host_config hc = { .nisc = GISA_DEFAULT_NISC, .allocator = &a };
	struct gisa_host *host;
	struct gisa_vm *vm;
	uint64_t n;

	if (gisa_host_new(&hc, &host))
		fail("gisa_host_new with a counting allocator failed");
	before = live;
	if (gisa_image_build_vm(img, host, &vm, NULL))
		fail("gisa_image_build_vm (engine bytes) failed");
	n = live - before;
	gisa_vm_free(vm);
	gisa_host_free(host);
	return n;
}

/* ---- the figures --------------------------------------------------------------- */

enum fig {
	F_TOTAL, F_SETUP, F_TRANSFER, F_HANDSHAKE, F_HANDSHAKE_CLIENT, F_WALL,
	F_DOWN_ACT, F_DOWN_INF, F_FREEZE, F_ENCODE, F_SEND, F_RECV, F_IMPORT, F_VERIFY,
	F_COMMIT, F_ANSWER, F_RTT_JOB,
	F_ROUNDS, F_PRECOPY, F_SWITCH, F_MOVED,
	F_ROTATED, F_CHURN,
	F_EXPORT, F_XFER_REF, F_IMPORT_REF, F_REF_TOTAL, F_REF_BYTES,
	F_TLS_RTT, F_BULK, F_BULK_RATE,
	F_RSS, F_HWM,
	NF
};

enum unit { U_MS, U_US, U_BYTES, U_COUNT, U_PCT, U_MIB, U_MBS, U_X };

struct row {
	int fig;                        /* -1: a heading */
	enum unit unit;
	const char *label;
	bool fresh_only;                /* the destination's RSS: maximum only */
};

static const struct row rows[] = {
	{ F_TOTAL, U_MS, "total: setup + transfer - TLS handshake", false },
	{ F_SETUP, U_MS, "  setup (dial -> round 0 out; encodes it)", false },
	{ F_TRANSFER, U_MS, "  transfer (round 0 out -> job end)", false },
	{ F_HANDSHAKE, U_MS, "  TLS handshake (baseline, both ends; subtracted)", false },
	{ F_HANDSHAKE_CLIENT, U_MS, "    its client's end (the source's)", false },
	{ F_WALL, U_MS, "  wall: migrate request -> job ended (client)", false },
	{ F_DOWN_ACT, U_MS, "downtime: freeze -> destination active", false },
	{ F_DOWN_INF, U_MS, "downtime: freeze -> source informed", false },
	{ F_FREEZE, U_MS, "  freeze (source: final image, estimate)", false },
	{ F_ENCODE, U_MS, "  encode: delta, digests, checkpoint, record", false },
	{ F_SEND, U_MS, "  send (source, until drained)", false },
	{ F_RECV, U_MS, "  recv (destination, overlaps send)", false },
	{ F_IMPORT, U_MS, "  import (destination: apply, build)", false },
	{ F_VERIFY, U_MS, "  verify (destination)", false },
	{ F_COMMIT, U_MS, "  commit: checkpoint, record, activate", false },
	{ F_ANSWER, U_MS, "  answer (destination)", false },
	{ F_RTT_JOB, U_MS, "  rtt_ns of the job (smallest seen)", false },
	{ F_ROUNDS, U_COUNT, "precopy rounds", false },
	{ F_PRECOPY, U_BYTES, "precopy bytes", false },
	{ F_SWITCH, U_BYTES, "switchover bytes", false },
	{ F_ROTATED, U_COUNT, "records rotated by the injector", false },
	{ F_CHURN, U_PCT, "  churn: of this state's records", false },
	{ F_REF_TOTAL, U_MS, "reference: export + transfer + import", false },
	{ F_EXPORT, U_MS, "  snapshot export (source, request -> reply)", false },
	{ F_XFER_REF, U_MS, "  bulk TLS transfer of the snapshot", false },
	{ F_IMPORT_REF, U_MS, "  snapshot import (destination)", false },
	{ F_REF_BYTES, U_BYTES, "  snapshot bytes", false },
	{ F_TLS_RTT, U_US, "TLS round trip (64 B each way)", false },
	{ F_BULK, U_MS, "bulk TLS transfer of precopy + switchover", false },
	{ F_BULK_RATE, U_MBS, "  its rate", false },
	{ F_RSS, U_MIB, "destination RSS growth (VmRSS after - before)", true },
	{ F_HWM, U_MIB, "  peak growth (VmHWM - VmRSS before)", true },
};

#define NR_ROWS (sizeof(rows) / sizeof(rows[0]))
#define NR_COMP 2                       /* none, zstd:1 */

static const char *const comp_name[NR_COMP] = { "none", "zstd:1" };

/* In-process parts of a migration, each timed alone on the same image. */
enum part {
	P_FROM_VM, P_DIGEST, P_ENCODE, P_DELTA, P_APPLY, P_COMPAT, P_BUILD, P_DUR_SMALL,
	P_DUR_CKPT, P_SLOT_SMALL, P_SLOT_CKPT, P_FLUSH, P_TRACK_DELTA, P_APPLY_VM, NR_PARTS
};

struct mstate {
	const struct gen *gen;
	const char *name;               /* the VM's name */
	unsigned int runs;
	bool fresh_dest;
	double goal_rtts;
	uint32_t budget_ms;
	uint8_t digest[32];
	int file_fd;                    /* memfd: the stored snapshot, named `name' */
	size_t file_len;
	size_t state_len;               /* canonical state bytes S */
	uint64_t engine_bytes;
	uint64_t mem_used;              /* vm_info at the source */
	double (*v)[NR_COMP][NF];       /* [runs][compression][figure] */
	bool churn_goal;                /* the <= 1 % churn condition applies */
	uint64_t image_bytes;           /* heap of one gisa_image of it (glibc) */
	double part[NR_PARTS];          /* in-process, ms: median of PARTS_REPS */
	double part1[NR_PARTS];         /* the first call (cold memory) */
};

static double med_fig(const struct mstate *s, int comp, int f)
{
	double *v = xcalloc(s->runs, sizeof(double));
	double m;

	for (unsigned int r = 0; r < s->runs; r++)
		v[r] = s->v[r][comp][f];
	m = median(v, s->runs);
	free(v);
	return m;
}

/* 1234567.8 -> "1,234,568" */
static const char *grouped(double x, char *buf, size_t len)
{
	char digits[32];
	size_t n, o = 0;

	snprintf(digits, sizeof(digits), "%.0f", x);
	n = strlen(digits);
	for (size_t i = 0; i < n && o + 2 < len; i++) {
		if (i && digits[i - 1] != '-' && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

static const char *fmt_val(enum unit u, double x, char *buf, size_t len)
{
	switch (u) {
	case U_MS:
		snprintf(buf, len, "%.3f ms", x);
		break;
	case U_US:
		snprintf(buf, len, "%.1f us", x);
		break;
	case U_BYTES:
		grouped(x, buf, len - 2);
		strcat(buf, " B");
		break;
	case U_COUNT:
		if (x == (double)(uint64_t)x)
			grouped(x, buf, len);
		else
			snprintf(buf, len, "%.1f", x);
		break;
	case U_PCT:
		snprintf(buf, len, "%.3f %%", x);
		break;
	case U_MIB:
		snprintf(buf, len, "%.1f MiB", x);
		break;
	case U_MBS:
		snprintf(buf, len, "%.0f MB/s", x);
		break;
	case U_X:
		snprintf(buf, len, "%.2fx", x);
		break;
	}
	return buf;
}

/* ---- the states and their in-process parts ---------------------------------- */

static int memfd_with(const char *name, const uint8_t *buf, size_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0)
		fail("memfd_create: %s", strerror(errno));
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail("writing a memfd: %s", strerror(errno));
		off += (size_t)n;
	}
	return fd;
}

static double ms_since(uint64_t t0)
{
	return (double)(now_ns() - t0) / 1e6;
}

/* Rotate n records in-process as the injector does (vcpu 0 TPI, ENQUEUE). */
static void rotate(struct gisa_vm *vm, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct gisa_irq irq;
		uint8_t rec[GISA_IRQ_SIZE];

		if (gisa_vcpu_tpi(vm, 0, &irq) != 1)
			fail("in-process rotation: nothing pending");
		gisa_irq_pack1(&irq, GISA_BE, rec);
		if (set_attr(vm, GISA_FLIC_ENQUEUE, GISA_IRQ_SIZE, rec, GISA_IRQ_SIZE))
			fail("in-process rotation: ENQUEUE refused");
	}
}

/* Temporary file of n bytes, fsync, rename, fsync of the directory; ms. */
static double durable_write(const char *dir, const uint8_t *buf, size_t n)
{
	char tmp[PATH_MAX], dst[PATH_MAX];
	uint64_t t0;
	int fd, dfd;

	path_cat(tmp, sizeof(tmp), dir, "/.bench-durable.tmp");
	path_cat(dst, sizeof(dst), dir, "/.bench-durable");
	t0 = now_ns();
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		fail("%s: %s", tmp, strerror(errno));
	for (size_t off = 0; off < n;) {
		ssize_t w = write(fd, buf + off, n - off);

		if (w <= 0)
			fail("%s: write: %s", tmp, strerror(errno));
		off += (size_t)w;
	}
	if (fsync(fd) || close(fd) || rename(tmp, dst))
		fail("%s: %s", tmp, strerror(errno));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd))
		fail("fsync of `%s': %s", dir, strerror(errno));
	close(dfd);
	return ms_since(t0);
}

/* A slot of n bytes for the overwrites: zero-filled, flushed, its name durable. */
static int slot_open(const char *dir, size_t n)
{
	char path[PATH_MAX];
	uint8_t *zeros = calloc(1, n ? n : 1);
	int fd;

	if (!zeros)
		fail("out of memory for a %zu-byte slot", n);
	path_cat(path, sizeof(path), dir, "/.bench-slot");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || pwrite(fd, zeros, n, 0) != (ssize_t)n || fsync(fd))
		fail("%s: %s", path, strerror(errno));
	free(zeros);
	return fd;
}

/* n bytes over the start of the slot, then fdatasync (n = 0: the flush alone); ms. */
static double slot_write(int fd, const uint8_t *buf, size_t n)
{
	uint64_t t0 = now_ns();

	for (size_t off = 0; off < n;) {
		ssize_t w = pwrite(fd, buf + off, n - off, (off_t)off);

		if (w <= 0)
			fail("slot: pwrite: %s", strerror(errno));
		off += (size_t)w;
	}
	if (fdatasync(fd))
		fail("slot: fdatasync: %s", strerror(errno));
	return ms_since(t0);
}

/* Heap bytes in use (glibc), to size an image; 0 elsewhere. */
static uint64_t heap_used(void)
{
#ifdef __GLIBC__
	return (uint64_t)mallinfo2().uordblks;
#else
	return 0;
#endif
}

static void prepare_state(struct mstate *s)
{
	static const struct gisa_compat_dest dest = { GISA_PROFILE_CLASSIC, GISA_CAP_AIS };
	struct gisa_snap_meta meta = { .vm_name = s->name, .created_unix_ns = 1 };
	struct gisa_snap_opts stored = { .compress = false };
	double t[NR_PARTS][PARTS_REPS];
	struct gisa_host *host;
	struct gisa_vm *vm;
	struct gisa_image *img, *img2;
	struct gisa_snap_state bst;
	uint8_t *file, *state, d2[32];
	size_t flen, slen;
	uint64_t h0;
	int slot;

	if (gisa_host_new(NULL, &host))
		fail("gisa_host_new failed");
	vm = gen_vm(s->gen, host);
	h0 = heap_used();
	if (gisa_image_from_vm(vm, &img))
		fail("gisa_image_from_vm failed");
	s->image_bytes = heap_used() - h0;
	if (gisa_snap_digest(img, s->digest) || gisa_snap_state_bytes(img, &state, &slen) ||
	    gisa_snap_encode(img, &meta, &stored, &file, &flen))
		fail("encoding the %s state failed", s->name);
	s->state_len = slen;
	s->file_len = flen;
	s->file_fd = memfd_with(s->name, file, flen);
	s->engine_bytes = engine_bytes(img);
	slot = slot_open(g.dst.state, flen + flen / 8 + (64u << 10));

	/* The image after PARTS_ROTATE records rotated: a switchover's delta. */
	gisa_track_start(vm);
	rotate(vm, PARTS_ROTATE);
	if (gisa_image_from_vm(vm, &img2))
		fail("gisa_image_from_vm failed");
	if (gisa_snap_state_make(img, &bst) || gisa_snap_digest(img2, d2))
		fail("the states of the %s images failed", s->name);
	for (int i = 0; i < PARTS_REPS; i++) {
		struct gisa_compat_report rep = { 0 };
		struct gisa_image *x, *y, *conv;
		struct gisa_vm *built;
		uint8_t dg[32], *buf, *delta;
		size_t len, dlen;
		uint64_t t0;

		t0 = now_ns();
		if (gisa_image_from_vm(vm, &x))
			fail("gisa_image_from_vm failed");
		t[P_FROM_VM][i] = ms_since(t0);
		t0 = now_ns();
		if (gisa_snap_digest(x, dg))
			fail("gisa_snap_digest failed");
		t[P_DIGEST][i] = ms_since(t0);
		t0 = now_ns();
		if (gisa_snap_encode(x, &meta, &stored, &buf, &len))
			fail("gisa_snap_encode failed");
		t[P_ENCODE][i] = ms_since(t0);
		free(buf);
		gisa_image_free(x);
		t0 = now_ns();
		if (gisa_delta_make(img, img2, &delta, &dlen))
			fail("gisa_delta_make failed");
		t[P_DELTA][i] = ms_since(t0);
		t0 = now_ns();
		if (gisa_delta_apply(img, delta, dlen, &y, NULL))
			fail("gisa_delta_apply failed");
		t[P_APPLY][i] = ms_since(t0);
		free(delta);
		t0 = now_ns();
		if (gisa_compat_check(y, &dest, &rep) || gisa_compat_convert(y, &dest, &conv, NULL))
			fail("gisa_compat_check or _convert failed");
		t[P_COMPAT][i] = ms_since(t0);
		gisa_compat_report_release(&rep);
		t0 = now_ns();
		if (gisa_image_build_vm(conv, host, &built, NULL))
			fail("gisa_image_build_vm failed");
		t[P_BUILD][i] = ms_since(t0);
		gisa_vm_free(built);
		gisa_image_free(conv);
		gisa_image_free(y);
		/* The same delta from the VM's change tracking, applied to a built VM. */
		t0 = now_ns();
		if (gisa_delta_make_vm(img, &bst, vm, d2, &delta, &dlen))
			fail("gisa_delta_make_vm failed");
		t[P_TRACK_DELTA][i] = ms_since(t0);
		if (gisa_image_build_vm(img, host, &built, NULL))
			fail("gisa_image_build_vm failed");
		t0 = now_ns();
		if (gisa_delta_apply_vm(built, bst.digest, delta, dlen, dg, NULL))
			fail("gisa_delta_apply_vm failed");
		t[P_APPLY_VM][i] = ms_since(t0);
		if (memcmp(dg, d2, sizeof(dg)))
			fail("gisa_delta_apply_vm: the delta names another result");
		gisa_vm_free(built);
		free(delta);
		t[P_DUR_CKPT][i] = durable_write(g.dst.state, file, flen);
		t[P_DUR_SMALL][i] = durable_write(g.dst.state, file,
						  DURABLE_SMALL < flen ? DURABLE_SMALL : flen);
		t[P_SLOT_CKPT][i] = slot_write(slot, file, flen);
		t[P_SLOT_SMALL][i] = slot_write(slot, file, SLOT_SMALL < flen ? SLOT_SMALL : flen);
		t[P_FLUSH][i] = slot_write(slot, file, 0);
	}
	close(slot);
	{
		char path[PATH_MAX];

		path_cat(path, sizeof(path), g.dst.state, "/.bench-slot");
		(void)unlink(path);
	}
	for (int k = 0; k < NR_PARTS; k++) {
		s->part[k] = median(t[k], PARTS_REPS);
		s->part1[k] = t[k][0];
	}
	free(file);
	free(state);
	gisa_snap_state_release(&bst);
	gisa_image_free(img);
	gisa_image_free(img2);
	gisa_vm_free(vm);
	gisa_host_free(host);
}

/* ---- one migration run -------------------------------------------------------- */

struct ctl {
	struct conn src, dst, watch;    /* watch: the source's job events */
};

static void ctl_open(struct ctl *c)
{
	conn_open(&c->src, g.src.sock);
	conn_open(&c->dst, g.dst.sock);
	conn_open(&c->watch, g.src.sock);
	subscribe_jobs(&c->watch);
}

static void restart_dest(struct ctl *c)
{
	conn_close(&c->dst);
	daemon_stop(&g.dst);
	daemon_start(&g.dst, true);
	conn_open(&c->dst, g.dst.sock);
}

static double ns_ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/*
 * One migration of s with compression comp (1 = zstd:1) and injection at
 * rate (0: none); figures into v (NULL: untimed).  Returns setup + transfer
 * in ms (the calibration's figure).
 */
static double one_run(struct ctl *c, struct mstate *s, int comp, double rate, double *v)
{
	double f[NF] = { 0 };
	uint8_t dg[32];
	char uri[64];
	Gisa__V1__Response *resp;
	const Gisa__V1__JobInfo *job;
	const Gisa__V1__MigrationStats *ms;
	uint64_t id, rss0, rss1, hwm1, t0, ref_len, client_ns;
	bool hwm_ok;
	int exp_fd;

	/* 1. The VM at the source. */
	snap_import(&c->src, s->name, s->file_fd);
	vm_digest(&c->src, s->name, dg, &s->mem_used);
	if (memcmp(dg, s->digest, 32))
		fail("the %s state imported into the source has another digest", s->name);

	/* 2. The baseline connection. */
	f[F_HANDSHAKE] = ns_ms(tbc_open(&client_ns));
	f[F_HANDSHAKE_CLIENT] = ns_ms(client_ns);

	/* 3. The reference: export, transfer, import. */
	exp_fd = memfd_create("export", MFD_CLOEXEC);
	if (exp_fd < 0)
		fail("memfd_create: %s", strerror(errno));
	t0 = now_ns();
	ref_len = snap_export(&c->src, s->name, exp_fd, comp == 1);
	f[F_EXPORT] = ms_since(t0);
	f[F_XFER_REF] = tbc_bulk((size_t)ref_len) / 1e6;
	if (s->fresh_dest)
		restart_dest(c);
	t0 = now_ns();
	snap_import(&c->dst, VM_REF, exp_fd);
	f[F_IMPORT_REF] = ms_since(t0);
	vm_destroy(&c->dst, VM_REF);
	close(exp_fd);
	f[F_REF_TOTAL] = f[F_EXPORT] + f[F_XFER_REF] + f[F_IMPORT_REF];
	f[F_REF_BYTES] = (double)ref_len;

	/* 4. A destination that never held this state. */
	if (s->fresh_dest)
		restart_dest(c);
	rss0 = proc_kb(g.dst.pid, "VmRSS");
	hwm_ok = reset_hwm(g.dst.pid);

	/* 5. The migration. */
	if (rate > 0)
		inj_start(s->name, rate, (uint64_t)(GOAL_CHURN / 100.0 * GISA_MAX_FLOAT_IRQS));
	snprintf(uri, sizeof(uri), "tls://127.0.0.1:%s", g.dst.port);
	t0 = now_ns();
	id = migrate(&c->src, s->name, uri, s->budget_ms, comp == 1);
	if (rate > 0)
		atomic_store(&inj.go, true);
	resp = wait_job(&c->watch, &c->src, id);
	f[F_WALL] = ms_since(t0);
	if (rate > 0)
		inj_finish();
	job = resp->job;
	ms = job->migration;
	if (job->type != GISA__V1__JOB_TYPE__JOB_TYPE_COMPLETED)
		fail("migration of `%s' (job %llu, %s) ended with error %d: %s", s->name,
		     (unsigned long long)id, comp_name[comp], job->error,
		     job->error_message ? job->error_message : "");
	if (!ms || !ms->has_digests_match || !ms->digests_match || !ms->has_dest_digest ||
	    ms->dest_digest.len != 32)
		fail("migration of `%s' (job %llu): the digests do not match", s->name,
		     (unsigned long long)id);
	wait_dest_idle(&c->dst);
	drain(&c->dst, s->name);
	drain(&c->src, s->name);
	rss1 = proc_kb(g.dst.pid, "VmRSS");
	hwm1 = proc_kb(g.dst.pid, "VmHWM");
	vm_digest(&c->dst, s->name, dg, NULL);
	if (memcmp(dg, ms->dest_digest.data, 32))
		fail("the migrated `%s' at the destination has another digest than its job says",
		     s->name);

	f[F_SETUP] = ns_ms(ms->setup_ns);
	f[F_TRANSFER] = ns_ms(ms->transfer_ns);
	f[F_TOTAL] = f[F_SETUP] + f[F_TRANSFER] - f[F_HANDSHAKE];
	f[F_DOWN_ACT] = ns_ms(ms->downtime_active_ns);
	f[F_DOWN_INF] = ns_ms(ms->downtime_informed_ns);
	f[F_FREEZE] = ns_ms(ms->freeze_ns);
	f[F_ENCODE] = ns_ms(ms->encode_ns);
	f[F_SEND] = ns_ms(ms->send_ns);
	f[F_RECV] = ns_ms(ms->recv_ns);
	f[F_IMPORT] = ns_ms(ms->import_ns);
	f[F_VERIFY] = ns_ms(ms->verify_ns);
	f[F_COMMIT] = ns_ms(ms->commit_ns);
	f[F_ANSWER] = ns_ms(ms->answer_ns);
	f[F_RTT_JOB] = ns_ms(ms->rtt_ns);
	f[F_ROUNDS] = ms->rounds;
	f[F_PRECOPY] = (double)ms->precopy_bytes;
	f[F_SWITCH] = (double)ms->switchover_bytes;
	f[F_MOVED] = f[F_PRECOPY] + f[F_SWITCH];
	f[F_ROTATED] = rate > 0 ? (double)inj.rotated : 0;
	f[F_CHURN] = 100.0 * f[F_ROTATED] / s->gen->nr_irqs;
	f[F_RSS] = ((double)rss1 - (double)rss0) / 1048576.0;
	f[F_HWM] = hwm_ok ? ((double)hwm1 - (double)rss0) / 1048576.0 : NAN;
	gisa__v1__response__free_unpacked(resp, NULL);

	/* 6. The transport, in the same run. */
	f[F_TLS_RTT] = tbc_rtt() / 1e3;
	f[F_BULK] = tbc_bulk((size_t)f[F_MOVED]) / 1e6;
	f[F_BULK_RATE] = f[F_MOVED] / (f[F_BULK] * 1e3);
	tbc_close();

	/* 7. Both VMs go. */
	vm_destroy(&c->src, s->name);
	vm_destroy(&c->dst, s->name);
	if (v)
		memcpy(v, f, sizeof(f));
	return f[F_SETUP] + f[F_TRANSFER] - f[F_DOWN_INF];
}

/* ---- printing -------------------------------------------------------------------- */

static const char *fs_name(const char *path)
{
	struct statfs sf;

	if (statfs(path, &sf))
		return "unknown";
	switch ((unsigned long)sf.f_type) {
	case 0xef53ul:
		return "ext2/3/4";
	case 0x58465342ul:
		return "xfs";
	case 0x9123683eul:
		return "btrfs";
	case 0x01021994ul:
		return "tmpfs (fsync costs nothing: durability is not measured)";
	case 0x794c7630ul:
		return "overlayfs";
	default:
		return "other";
	}
}

static void mig_print_machine(void)
{
	char line[512], model[256] = "unknown";
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof(line), f)) {
		char *v = strchr(line, ':');

		if (strncmp(line, "model name", 10) || !v)
			continue;
		for (v++; *v == ' ' || *v == '\t'; v++)
			;
		v[strcspn(v, "\n")] = '\0';
		snprintf(model, sizeof(model), "%s", v);
		break;
	}
	if (f)
		fclose(f);
	printf("gisa-mig-bench: gisad at %s\n", g.gisad);
	printf("machine: %ld online CPUs (nproc), CPU model: %s; %s, libevent %s\n",
	       sysconf(_SC_NPROCESSORS_ONLN), model, OpenSSL_version(OPENSSL_VERSION),
	       event_get_version());
	printf("state directories: %s\n", fs_name(g.dir));
}

static void print_method(double rate, double churn, double cal_ms)
{
	printf("build: %s\n",
#if defined(__SANITIZE_ADDRESS__)
	       "with AddressSanitizer (figures are not representative; use bench/run)"
#elif defined(__OPTIMIZE__)
	       "optimized"
#else
	       "NOT optimized (figures are not representative)"
#endif
	);
	printf("method: two gisad on 127.0.0.1, TLS 1.3 (certificates made at run time); "
	       "medians of the runs,\n"
	       "        compressions none and zstd:1 alternating within each run; the "
	       "baselines (TLS handshake,\n"
	       "        round trip, bulk transfer: bufferevent_openssl, same certificates) "
	       "and the reference\n"
	       "        (snapshot export + bulk transfer + import) are measured in the same "
	       "run as each migration\n");
	if (rate <= 0) {
		printf("injection: none (--churn 0)\n\n");
		return;
	}
	printf("injection: %.0f records/s rotated at the source while the VM runs (vcpu_tpi, "
	       "pipelined, + one\n"
	       "        batch_inject every %u us; at most %.0f %% of the maximum state per "
	       "migration): %.2f %% of the\n"
	       "        maximum state over the precopy of the longer of two injected calibration "
	       "migrations (%.1f ms)\n\n",
	       rate, INJ_TICK_US, GOAL_CHURN, churn, cal_ms);
}

static void print_state(const struct mstate *s)
{
	char a[40], b[40], c[40], d[40], hex[65];

	printf("%s: %s I/O interrupts, state bytes S %s, stored snapshot %s B, engine bytes %s\n",
	       s->name, grouped(s->gen->nr_irqs, a, sizeof(a)),
	       grouped((double)s->state_len, b, sizeof(b)),
	       grouped((double)s->file_len, c, sizeof(c)),
	       grouped((double)s->engine_bytes, d, sizeof(d)));
	gisa_snap_digest_hex(s->digest, hex);
	printf("  vm_info mem_used (backed guest pages) %s B; digest %s\n",
	       grouped((double)s->mem_used, a, sizeof(a)), hex);
	printf("  %u runs per compression; downtime budget %u ms%s\n", s->runs, s->budget_ms,
	       s->fresh_dest ? "; destination restarted before each migration" : "");
	printf("  %-48s %16s %16s\n", "figure (median)", comp_name[0], comp_name[1]);
	for (size_t i = 0; i < NR_ROWS; i++) {
		if (rows[i].fresh_only && !s->fresh_dest)
			continue;
		printf("  %-48s %16s %16s\n", rows[i].label,
		       fmt_val(rows[i].unit, med_fig(s, 0, rows[i].fig), a, sizeof(a)),
		       fmt_val(rows[i].unit, med_fig(s, 1, rows[i].fig), b, sizeof(b)));
	}
	printf("  in-process parts, ms, first call (cold memory) / median of %d; an image is %s B "
	       "of heap:\n", PARTS_REPS, grouped((double)s->image_bytes, c, sizeof(c)));
	printf("    image_from_vm %.3f/%.3f, digest %.3f/%.3f, stored encode %.3f/%.3f, "
	       "build_vm %.3f/%.3f,\n",
	       s->part1[P_FROM_VM], s->part[P_FROM_VM], s->part1[P_DIGEST], s->part[P_DIGEST],
	       s->part1[P_ENCODE], s->part[P_ENCODE], s->part1[P_BUILD], s->part[P_BUILD]);
	printf("    delta of %u rotated records: make %.3f/%.3f, apply %.3f/%.3f; compat check + "
	       "convert %.3f/%.3f\n",
	       PARTS_ROTATE, s->part1[P_DELTA], s->part[P_DELTA], s->part1[P_APPLY],
	       s->part[P_APPLY], s->part1[P_COMPAT], s->part[P_COMPAT]);
	printf("    the same delta from the VM's change tracking %.3f/%.3f, applied to a built VM "
	       "%.3f/%.3f\n",
	       s->part1[P_TRACK_DELTA], s->part[P_TRACK_DELTA], s->part1[P_APPLY_VM],
	       s->part[P_APPLY_VM]);
	printf("    durable write into the state directory (tmp, fsync, rename, fsync dir): "
	       "%s B %.3f/%.3f, %s B %.3f/%.3f\n",
	       grouped(DURABLE_SMALL, a, sizeof(a)), s->part1[P_DUR_SMALL], s->part[P_DUR_SMALL],
	       grouped((double)s->file_len, b, sizeof(b)), s->part1[P_DUR_CKPT],
	       s->part[P_DUR_CKPT]);
	printf("    durable overwrite of a reserved slot (pwrite, fdatasync): %s B %.3f/%.3f, "
	       "%s B %.3f/%.3f; the flush alone (fdatasync) %.3f/%.3f\n\n",
	       grouped(SLOT_SMALL, a, sizeof(a)), s->part1[P_SLOT_SMALL], s->part[P_SLOT_SMALL],
	       grouped((double)s->file_len, b, sizeof(b)), s->part1[P_SLOT_CKPT],
	       s->part[P_SLOT_CKPT], s->part1[P_FLUSH], s->part[P_FLUSH]);
}

static const char *verdict(bool met)
{
	return met ? "met" : "MISSED";
}

/*
 * A goal's row in the performance table, for one compression: none is
 * judged, zstd:1 is beside it, so its goal is in parentheses (reference).
 */
static void table_goal(const struct mstate *s, int comp, const char *figure, double value,
		       const char *unit, const char *base, double base_value, double ratio,
		       const char *goal, bool met)
{
	char fig[96], gs[48];

	snprintf(fig, sizeof(fig), "%s, %s: %s", s->name, comp_name[comp], figure);
	if (!goal)
		gs[0] = '\0';
	else
		snprintf(gs, sizeof(gs), comp ? "(%s)" : "%s", goal);
	bench_table_row("gisa-mig-bench", fig, value, unit, base, base_value, ratio, gs,
			goal ? (met ? "met" : "missed") : NULL);
}

static void goal_downtime(const struct mstate *s)
{
	double act[NR_COMP], inf[NR_COMP], rtt[NR_COMP];
	char goal[32];

	snprintf(goal, sizeof(goal), "<= %d RTT", (int)s->goal_rtts);
	for (int k = 0; k < NR_COMP; k++) {
		act[k] = med_fig(s, k, F_DOWN_ACT) * 1e3 / med_fig(s, k, F_TLS_RTT);
		inf[k] = med_fig(s, k, F_DOWN_INF) * 1e3 / med_fig(s, k, F_TLS_RTT);
		rtt[k] = med_fig(s, k, F_TLS_RTT);
		/* The round trip in ms, as the downtime: value / baseline is the ratio. */
		table_goal(s, k, "downtime (freeze -> active)", med_fig(s, k, F_DOWN_ACT), "ms",
			   "TLS round trip", rtt[k] / 1e3, act[k], goal, act[k] <= s->goal_rtts);
		table_goal(s, k, "downtime (freeze -> informed)", med_fig(s, k, F_DOWN_INF), "ms",
			   "TLS round trip", rtt[k] / 1e3, inf[k], goal, inf[k] <= s->goal_rtts);
	}
	printf("%s downtime <= %.0f TLS round trips%s: %s: active %.3f ms = %.1f x %.1f us "
	       "(informed %.1f, %s) [zstd:1: active %.1f %s, informed %.1f %s]\n",
	       s->name, s->goal_rtts, s->churn_goal ? " with <= 1% churn" : "",
	       verdict(act[0] <= s->goal_rtts), med_fig(s, 0, F_DOWN_ACT), act[0], rtt[0],
	       inf[0], verdict(inf[0] <= s->goal_rtts), act[1], verdict(act[1] <= s->goal_rtts),
	       inf[1], verdict(inf[1] <= s->goal_rtts));
}

static void goal_churn(const struct mstate *s)
{
	double c0 = med_fig(s, 0, F_CHURN), c1 = med_fig(s, 1, F_CHURN);
	char goal[32];

	snprintf(goal, sizeof(goal), "<= %.0f %%", GOAL_CHURN);
	table_goal(s, 0, "churn", c0, "%", NULL, NAN, NAN, goal, c0 <= GOAL_CHURN);
	table_goal(s, 1, "churn", c1, "%", NULL, NAN, NAN, goal, c1 <= GOAL_CHURN);

	printf("%s churn <= %.0f %% (the condition of its downtime goal): %s: %.3f %% "
	       "[zstd:1: %.3f %% %s]\n", s->name, GOAL_CHURN, verdict(c0 <= GOAL_CHURN), c0, c1,
	       verdict(c1 <= GOAL_CHURN));
}

/*
 * The least any migration under the rules adds to the reference
 * (bench/README.md, "The floor of the total"): after round 0, which is
 * the reference itself, the final delta's round trip with one durable
 * overwrite before the answer, then the destination's digest of the
 * activated VM (image_from_vm + digest) and half a round trip to bring it
 * to the source.  Everything else a migration does could overlap these.
 */
static void goal_total_floor(const struct mstate *s)
{
	double digest = s->part[P_FROM_VM] + s->part[P_DIGEST];
	double fl[NR_COMP], q[NR_COMP];

	for (int k = 0; k < NR_COMP; k++) {
		double ref = med_fig(s, k, F_REF_TOTAL);

		fl[k] = ref + 1.5 * med_fig(s, k, F_TLS_RTT) / 1e3 + s->part[P_SLOT_SMALL] + digest;
		q[k] = fl[k] / ref;
		table_goal(s, k, "total floor (reference + rules)", fl[k], "ms",
			   "export + transfer + import", ref, q[k], NULL, false);
	}
	printf("  its floor: the reference + 1.5 TLS round trips + a slot overwrite (%.3f ms) + "
	       "the destination's digest (%.3f ms) = %.3f ms = %.2fx [zstd:1: %.3f ms = "
	       "%.2fx]\n", s->part[P_SLOT_SMALL], digest, fl[0], q[0], fl[1], q[1]);
}

static void goal_total(const struct mstate *s)
{
	double q[NR_COMP];
	char goal[32];

	snprintf(goal, sizeof(goal), "<= %.1fx", GOAL_TOTAL);
	for (int k = 0; k < NR_COMP; k++) {
		q[k] = med_fig(s, k, F_TOTAL) / med_fig(s, k, F_REF_TOTAL);
		table_goal(s, k, "total", med_fig(s, k, F_TOTAL), "ms",
			   "export + transfer + import", med_fig(s, k, F_REF_TOTAL), q[k], goal,
			   q[k] <= GOAL_TOTAL);
	}
	printf("%s total <= %.1fx (export + transfer + import): %s: %.3f ms / %.3f ms = %.2fx "
	       "[zstd:1: %.3f / %.3f = %.2fx %s]\n",
	       s->name, GOAL_TOTAL, verdict(q[0] <= GOAL_TOTAL), med_fig(s, 0, F_TOTAL),
	       med_fig(s, 0, F_REF_TOTAL), q[0], med_fig(s, 1, F_TOTAL),
	       med_fig(s, 1, F_REF_TOTAL), q[1], verdict(q[1] <= GOAL_TOTAL));
	goal_total_floor(s);
}

static void goal_rss(const struct mstate *s)
{
	double eb = (double)s->engine_bytes / 1048576.0;
	double q0 = med_fig(s, 0, F_RSS) / eb, q1 = med_fig(s, 1, F_RSS) / eb;
	char goal[32];

	snprintf(goal, sizeof(goal), "<= %.0fx", GOAL_RSS);
	for (int k = 0; k < NR_COMP; k++) {
		double rss = med_fig(s, k, F_RSS), hwm = med_fig(s, k, F_HWM);

		table_goal(s, k, "destination RSS growth", rss, "MiB", "engine bytes", eb, rss / eb,
			   goal, rss / eb <= GOAL_RSS);
		table_goal(s, k, "destination peak RSS growth", hwm, "MiB", "engine bytes", eb,
			   hwm / eb, NULL, false);
	}

	printf("%s destination RSS growth <= %.0fx engine bytes: %s: %.1f MiB / %.1f MiB = "
	       "%.2fx (peak %.2fx) [zstd:1: %.2fx %s, peak %.2fx]\n",
	       s->name, GOAL_RSS, verdict(q0 <= GOAL_RSS), med_fig(s, 0, F_RSS), eb, q0,
	       med_fig(s, 0, F_HWM) / eb, q1, verdict(q1 <= GOAL_RSS), med_fig(s, 1, F_HWM) / eb);
}

/* ---- main ------------------------------------------------------------------------ */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: gisa-mig-bench [--gisad PATH] [--runs-typical N] [--runs-maximum N]\n"
		"                      [--downtime-ms MS] [--churn PCT] [--verbose]\n"
		"  --gisad PATH          the gisad binary (default: the one this build made%s%s)\n"
		"  --runs-typical N      runs per compression, typical state, 1..99 (default %d)\n"
		"  --runs-maximum N      runs per compression, maximum state, 1..99 (default %d)\n"
		"  --downtime-ms MS      the migrations' downtime budget (default: each state's\n"
		"                        goal, in TLS round trips of the warm-up, rounded up to ms)\n"
		"  --churn PCT           injection target, %% of the maximum state's records per\n"
		"                        migration, 0..%.0f; 0 = no injection (default %.1f)\n"
		"  --verbose             also print every run's main figures\n",
		GISAD_PATH[0] ? ", " : "", GISAD_PATH, RUNS_TYPICAL, RUNS_MAXIMUM, GOAL_CHURN,
		CHURN_DEFAULT);
}

static long number_arg(const char *opt, const char *v, long lo, long hi)
{
	char *end;
	long x;

	errno = 0;
	x = strtol(v, &end, 10);
	if (errno || end == v || *end || x < lo || x > hi) {
		fprintf(stderr, "gisa-mig-bench: %s `%s': expected %ld to %ld\n", opt, v, lo, hi);
		exit(2);
	}
	return x;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "gisad", required_argument, NULL, 'g' },
		{ "runs-typical", required_argument, NULL, 't' },
		{ "runs-maximum", required_argument, NULL, 'm' },
		{ "downtime-ms", required_argument, NULL, 'd' },
		{ "churn", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mstate st[2] = {
		{ .gen = &gens[0], .name = "typical", .runs = RUNS_TYPICAL, .fresh_dest = false,
		  .goal_rtts = GOAL_DOWN_TYPICAL },
		{ .gen = &gens[1], .name = "maximum", .runs = RUNS_MAXIMUM, .fresh_dest = true,
		  .goal_rtts = GOAL_DOWN_MAXIMUM, .churn_goal = true },
	};
	const char *tmp = getenv("TMPDIR");
	long budget = 0;
	bool verbose = false;
	double churn = CHURN_DEFAULT;
	double rate, cal_ms = 0;
	struct ctl c;
	sigset_t sigs;
	pthread_t sth;
	int opt;

	g.gisad = GISAD_PATH;
	while ((opt = getopt_long(argc, argv, "g:t:m:d:c:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'g':
			g.gisad = optarg;
			break;
		case 't':
			st[0].runs = (unsigned int)number_arg("--runs-typical", optarg, 1, 99);
			break;
		case 'm':
			st[1].runs = (unsigned int)number_arg("--runs-maximum", optarg, 1, 99);
			break;
		case 'd':
			budget = number_arg("--downtime-ms", optarg, 1, 600000);
			break;
		case 'c': {
			char *end;

			churn = strtod(optarg, &end);
			if (end == optarg || *end || !(churn >= 0 && churn <= GOAL_CHURN)) {
				fprintf(stderr, "gisa-mig-bench: --churn `%s': expected 0 to %.0f "
					"(%% of the maximum state)\n", optarg, GOAL_CHURN);
				return 2;
			}
			break;
		}
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || !g.gisad[0] || access(g.gisad, X_OK)) {
		if (optind < argc)
			fprintf(stderr, "gisa-mig-bench: unexpected argument `%s'\n", argv[optind]);
		else
			fprintf(stderr, "gisa-mig-bench: gisad `%s' is not executable\n", g.gisad);
		usage(stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	atexit(cleanup);
	if (pthread_create(&sth, NULL, signal_thread, &sigs))
		fail("pthread_create failed");
	pthread_detach(sth);

	if ((size_t)snprintf(g.dir, sizeof(g.dir), "%s/gisa-mbench.XXXXXX",
			     tmp && tmp[0] ? tmp : "/tmp") >= sizeof(g.dir)) {
		g.dir[0] = '\0';
		fail("TMPDIR `%s' is too long for socket paths", tmp);
	}
	if (!mkdtemp(g.dir)) {
		g.dir[0] = '\0';
		fail("mkdtemp: %s", strerror(errno));
	}
	path_cat(g.certs, sizeof(g.certs), g.dir, "/certs");
	if (mkdir(g.certs, 0700) || tcert_make_set(g.certs))
		fail("cannot make the test certificates in `%s'", g.certs);
	daemon_init(&g.src, "source", "/src", false);
	daemon_init(&g.dst, "destination", "/dst", true);
	mig_print_machine();
	daemon_start(&g.src, false);
	daemon_start(&g.dst, true);
	ctl_open(&c);

	tbs_start();
	tbc.ctx = tls_ctx(GISA_TLS_CLIENT);
	tbc.base = event_base_new();
	if (!tbc.base)
		fail("event_base_new failed");

	for (int i = 0; i < 2; i++) {
		prepare_state(&st[i]);
		st[i].v = xcalloc(st[i].runs, sizeof(*st[i].v));
		st[i].budget_ms = (uint32_t)budget;
	}

	/*
	 * Warm-up, untimed: one migration of each state with each compression,
	 * without injection (TLS contexts, allocators, caches); each state's
	 * TLS round trip gives its default budget.  Then the injection rate:
	 * CHURN_TARGET of the maximum state over the longer of its uninjected
	 * migrations, refined once over the longer of two injected ones
	 * (injection lengthens a migration: more rounds, a busier source).
	 */
	for (int i = 0; i < 2; i++) {
		uint32_t b = st[i].budget_ms;
		double w[NF], cal = 0;

		st[i].budget_ms = b ? b : 300;
		for (int k = 0; k < NR_COMP; k++) {
			double ms = one_run(&c, &st[i], k, 0, w);

			cal = ms > cal ? ms : cal;
		}
		if (i == 1)
			cal_ms = cal;
		if (!b) {
			double goal_ms = st[i].goal_rtts * w[F_TLS_RTT] / 1e3;

			b = (uint32_t)goal_ms;
			b += (double)b < goal_ms;
		}
		st[i].budget_ms = b ? b : 1;
	}
	rate = churn / 100.0 * st[1].gen->nr_irqs / (cal_ms / 1e3);
	if (rate > 0) {
		double cal = 0;

		for (int k = 0; k < NR_COMP; k++) {
			double ms = one_run(&c, &st[1], k, rate, NULL);

			cal = ms > cal ? ms : cal;
		}
		cal_ms = cal;
		rate = churn / 100.0 * st[1].gen->nr_irqs / (cal_ms / 1e3);
	}
	print_method(rate, churn, cal_ms);

	for (int i = 0; i < 2; i++) {
		for (unsigned int r = 0; r < st[i].runs; r++)
			for (int k = 0; k < NR_COMP; k++) {
				int comp = (int)(r % 2 ? 1 - k : k);
				double *f = st[i].v[r][comp];

				(void)one_run(&c, &st[i], comp, rate, f);
				if (verbose)
					printf("run %s %u %-6s: total %.3f ms, down %.3f/%.3f ms "
					       "(encode %.3f, import %.3f, verify %.3f, commit "
					       "%.3f), rounds %.0f, churn %.3f %%, reference %.3f "
					       "ms, rtt %.1f us\n",
					       st[i].name, r, comp_name[comp], f[F_TOTAL],
					       f[F_DOWN_ACT], f[F_DOWN_INF], f[F_ENCODE], f[F_IMPORT],
					       f[F_VERIFY], f[F_COMMIT], f[F_ROUNDS], f[F_CHURN],
					       f[F_REF_TOTAL], f[F_TLS_RTT]);
			}
		print_state(&st[i]);
	}

	printf("goals (compression none, the default; zstd:1 in brackets):\n");
	goal_downtime(&st[0]);
	goal_downtime(&st[1]);
	goal_churn(&st[1]);
	goal_total(&st[0]);
	goal_total(&st[1]);
	goal_rss(&st[1]);

	/* A clean stop. */
	conn_close(&c.src);
	conn_close(&c.dst);
	conn_close(&c.watch);
	tbs_stop();
	gisa_tls_ctx_free(tbc.ctx);
	event_base_free(tbc.base);
	free(tbc.bulk);
	for (int i = 0; i < 2; i++) {
		close(st[i].file_fd);
		free(st[i].v);
	}
	daemon_stop(&g.src);
	daemon_stop(&g.dst);
	return 0;
}
