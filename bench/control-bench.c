/* SPDX-License-Identifier: MIT */
/*
 * gisa-control-bench: what a control request to a real gisad costs, next to
 * a bare SEQPACKET echo server measured in the same run.
 *
 * Set-up: a temporary directory holds a generated gisad.conf (socket, state
 * directory, the caller's group, log level notice), the daemon's log and
 * the echo server's socket.  gisad runs in the foreground as a child
 * (--gisad PATH, or the path the build configured); the echo server is a
 * forked child too, one thread and one epoll loop like the daemon.  Both
 * children get PR_SET_PDEATHSIG, SIGINT/SIGTERM/SIGHUP go to one thread
 * that stops them and removes the directory, and every other way out of
 * this program (the normal end included) runs the same clean-up.
 *
 * Round trips: every client, for gisad and for the echo server alike, runs
 * the same function: pack a Request {version, id, ping}, send it, receive
 * one datagram, unpack it as a Response and check id, error and result.
 * The echo server answers each datagram with the datagram itself followed
 * by a constant trailer: a ping Request's fields (1 version, 2 id, 16 ping)
 * read as a Response's (1 version, 2 id, 16 pong), and the trailer is a
 * Response `message' field sized so the reply has the size of the daemon's
 * first pong (its uptime varint may grow by a byte later).  So messages
 * have the same sizes both ways and the client cannot tell the servers
 * apart; the difference is the daemon's work.  Each run times a
 * window of WINDOW_MS per configuration (gisad 1 client, echo 1 client,
 * gisad 16 clients, echo 16 clients, in that order, so drift hits both
 * sides alike); clients are threads, each with its own connection, started
 * together by a barrier; the rate is all round trips over the time from the
 * start to the last one's reply.  Figures are medians over the runs.
 *
 * Batched injection: one VM like gisa-bench's (CLASSIC, no GISA, 2 vcpus
 * enabled for every interruption class, a FLIC, slot 0 = [0, 1 MiB)), fed
 * classic I/O records (72 bytes, big-endian) by batch_inject in datagrams
 * of at most 256 KiB.  A cycle is 100,000 records (full datagrams and one
 * shorter last one) followed by one CLEAR_IRQS (flic_set group 3), all
 * synchronous on one connection.  Each run times CYCLES cycles; the
 * headline rate includes the CLEAR_IRQS time, and the injection-only rate
 * and the time of one CLEAR_IRQS are printed beside it.  A reference row
 * runs the same cycles in this process on the engine directly (one ENQUEUE
 * per record, as the daemon issues them): the ceiling any daemon could
 * reach on this machine.  One untimed warm-up cycle checks that vm_info's
 * floating lists hold exactly 100,000 interruptions before the clear and
 * none after it.
 *
 * Figures are printed, never asserted: a missed goal does not change the
 * exit status.  A request failing, or the daemon not exiting cleanly on
 * SIGTERM at the end, is an error (exit 1): the figures would be wrong.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gisa/gisa.h>

#include "control.pb-c.h"
#include "table.h"

#ifndef GISAD_PATH
#define GISAD_PATH ""
#endif

#define RUNS_DEFAULT     7
#define WINDOW_MS_DEFAULT 500u
#define NR_CLIENTS       16
#define MAX_DGRAM        (1u << 20)     /* the daemon's cap, both directions */
#define PING_TX_CAP      4096u
#define BATCH_DGRAM_MAX  (256u * 1024u) /* the bound on a datagram */
#define CLEAR_EVERY      100000u        /* records between two CLEAR_IRQS */
#define CYCLES           5              /* cycles per timed run */
#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS  10000
#define VM_NAME          "bench"
#define NR_VCPUS         2u

#define GOAL_PING_RATIO  0.5
#define GOAL_RECORDS     2000000.0

static const uint32_t proto_version = GISA__V1__CONTROL_PROTOCOL__CONTROL_PROTOCOL_VERSION;

/* ---- the children and the temporary directory ----------------------------- */

static struct {
	pthread_mutex_t lock;
	bool cleaned;
	char dir[256];                  /* short: socket paths live in it */
	char log[PATH_MAX];
	pid_t gisad;
	pid_t echo;
} g = { .lock = PTHREAD_MUTEX_INITIALIZER };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Signal pid, wait up to STOP_TIMEOUT_MS, then SIGKILL.  Returns the status. */
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
		sleep_ms(10);
	}
	fprintf(stderr, "gisa-control-bench: pid %ld ignored signal %d: killing it\n",
		(long)*pid, sig);
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

/* Stop the children, remove the directory; once.  Called with g.lock held. */
static void cleanup_locked(void)
{
	if (g.cleaned)
		return;
	g.cleaned = true;
	(void)stop_child(&g.echo, SIGTERM);
	/* SIGTERM: gisad checkpoints what is left into the directory. */
	(void)stop_child(&g.gisad, SIGTERM);
	if (g.dir[0])
		(void)nftw(g.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* atexit: the normal end, with no other thread but the signal thread. */
static void cleanup(void)
{
	pthread_mutex_lock(&g.lock);
	cleanup_locked();
	pthread_mutex_unlock(&g.lock);
}

static void log_tail(void)
{
	char buf[4096];
	FILE *f;
	long sz;
	size_t n;

	if (!g.log[0] || !(f = fopen(g.log, "r")))
		return;
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	fseek(f, sz > (long)sizeof(buf) - 1 ? sz - (long)sizeof(buf) + 1 : 0, SEEK_SET);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	if (n)
		fprintf(stderr, "--- end of the gisad log\n%s---\n", buf);
}

/*
 * Set by the first thread that ends the program (an error or a signal):
 * the others then fail only because their server went away, and stay quiet.
 */
static atomic_bool ending;

/*
 * Threads may fail at once, so the way out is not exit(): the first caller
 * reports and cleans up holding g.lock, and leaves with _exit() while still
 * holding it, so any other caller blocks in cleanup until the process ends.
 */
static void __attribute__((noreturn)) leave(int status)
{
	pthread_mutex_lock(&g.lock);
	cleanup_locked();
	_exit(status);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (atomic_exchange(&ending, true))
		leave(1);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fflush(stdout);
	fprintf(stderr, "gisa-control-bench: %s\n", msg);
	log_tail();
	leave(1);
}

/* The one thread that takes SIGINT, SIGTERM and SIGHUP (blocked elsewhere). */
static void *signal_thread(void *arg)
{
	sigset_t *set = arg;
	int sig = 0;

	while (sigwait(set, &sig))
		;
	if (!atomic_exchange(&ending, true)) {
		fflush(stdout);
		fprintf(stderr, "gisa-control-bench: %s: stopping gisad\n", strsignal(sig));
	}
	leave(128 + sig);
}

/* In a fresh child: the signal state of a new program, and die with us. */
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

/* ---- the client: one code path for both servers ---------------------------- */

struct conn {
	int fd;
	uint64_t next_id;
	uint8_t *tx;
	size_t tx_cap;
	uint8_t *rx;                    /* MAX_DGRAM */
};

static void conn_open(struct conn *c, const char *path, size_t tx_cap)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int sz = 4 * (int)MAX_DGRAM;

	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die("socket: %s", strerror(errno));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("connect to `%s': %s", path, strerror(errno));
	/* AF_UNIX refuses a datagram larger than the sender's buffer. */
	if (setsockopt(c->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)))
		(void)setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	c->next_id = 1;
	c->tx_cap = tx_cap;
	c->tx = malloc(tx_cap);
	c->rx = malloc(MAX_DGRAM);
	if (!c->tx || !c->rx)
		die("out of memory");
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	free(c->tx);
	free(c->rx);
	c->fd = -1;
	c->tx = c->rx = NULL;
}

/*
 * One round trip: the request gets the version and the next id; the reply
 * must carry that id, no error and the result `want'.  The caller frees it.
 */
static Gisa__V1__Response *call(struct conn *c, Gisa__V1__Request *req,
				Gisa__V1__Response__ResultCase want, const char *what)
{
	Gisa__V1__Response *resp;
	size_t n;
	ssize_t m;

	req->has_version = true;
	req->version = proto_version;
	req->has_id = true;
	req->id = c->next_id++;
	n = gisa__v1__request__get_packed_size(req);
	if (n > c->tx_cap)
		die("%s: request of %zu bytes, buffer of %zu", what, n, c->tx_cap);
	gisa__v1__request__pack(req, c->tx);
	if (send(c->fd, c->tx, n, MSG_NOSIGNAL) != (ssize_t)n)
		die("%s: send of %zu bytes: %s", what, n, strerror(errno));
	do
		m = recv(c->fd, c->rx, MAX_DGRAM, 0);
	while (m < 0 && errno == EINTR);
	if (m <= 0)
		die("%s: %s", what, m ? strerror(errno) : "the server closed the connection");
	resp = gisa__v1__response__unpack(NULL, (size_t)m, c->rx);
	if (!resp)
		die("%s: a reply of %zd bytes does not decode as a Response", what, m);
	if (resp->id != req->id)
		die("%s: reply to request %llu, expected %llu", what,
		    (unsigned long long)resp->id, (unsigned long long)req->id);
	if (resp->error)
		die("%s: error %d: %s", what, resp->error, resp->message ? resp->message : "");
	if (resp->result_case != want && want != GISA__V1__RESPONSE__RESULT__NOT_SET)
		die("%s: reply carries result %d, expected %d", what, resp->result_case, want);
	return resp;
}

static void ping(struct conn *c)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__Ping p = GISA__V1__PING__INIT;

	req.verb_case = GISA__V1__REQUEST__VERB_PING;
	req.ping = &p;
	gisa__v1__response__free_unpacked(call(c, &req, GISA__V1__RESPONSE__RESULT_PONG, "ping"),
					  NULL);
}

/* ---- gisad ------------------------------------------------------------------ */

static void write_config(const char *conf, const char *sock, const char *state)
{
	struct group *gr = getgrgid(getgid());
	FILE *f;

	if (!gr)
		die("no group entry for gid %u (gisad.conf needs a group name)",
		    (unsigned)getgid());
	f = fopen(conf, "we");
	if (!f)
		die("%s: %s", conf, strerror(errno));
	fprintf(f, "[gisad]\nsocket = %s\nstate_dir = %s\ngroup = %s\nlog_level = notice\n",
		sock, state, gr->gr_name);
	if (fclose(f))
		die("%s: %s", conf, strerror(errno));
}

static void start_gisad(const char *gisad, const char *conf, const char *sock)
{
	pid_t parent = getpid();
	uint64_t deadline;
	int status;

	g.gisad = fork();
	if (g.gisad < 0)
		die("fork: %s", strerror(errno));
	if (g.gisad == 0) {
		int logfd = open(g.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		int nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);

		child_setup(parent);
		if (logfd < 0 || nullfd < 0)
			_exit(127);
		dup2(nullfd, STDIN_FILENO);
		dup2(nullfd, STDOUT_FILENO);
		dup2(logfd, STDERR_FILENO);
		execl(gisad, "gisad", "--foreground", "--config", conf, (char *)NULL);
		dprintf(STDERR_FILENO, "exec %s: %s\n", gisad, strerror(errno));
		_exit(127);
	}
	/* Ready when it answers a ping; it binds the socket just before READY. */
	deadline = now_ns() + (uint64_t)START_TIMEOUT_MS * 1000000u;
	for (;;) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		bool up;

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
		up = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (fd >= 0)
			close(fd);
		if (up)
			break;
		if (waitpid(g.gisad, &status, WNOHANG) == g.gisad) {
			g.gisad = 0;
			die("gisad exited during start-up (status 0x%x)", (unsigned)status);
		}
		if (now_ns() > deadline)
			die("gisad did not listen on `%s' within %d ms", sock, START_TIMEOUT_MS);
		sleep_ms(10);
	}
}

/* ---- the bare echo server --------------------------------------------------- */

/*
 * One thread, one epoll loop, like the daemon.  Sends block (the socket is
 * blocking, reads use MSG_DONTWAIT): a client has one request in flight,
 * so a reply always finds room.
 */
static void __attribute__((noreturn)) echo_serve(int lfd, uint8_t *buf, const uint8_t *trailer,
						 size_t tlen)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev))
		_exit(1);
	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			_exit(1);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == lfd) {
				int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

				ev.data.fd = cfd;
				if (cfd >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev))
					close(cfd);
				continue;
			}
			for (;;) {
				ssize_t m = recv(fd, buf, MAX_DGRAM, MSG_DONTWAIT);
				struct iovec iov[2] = {
					{ .iov_base = buf, .iov_len = m > 0 ? (size_t)m : 0 },
					{ .iov_base = (void *)trailer, .iov_len = tlen },
				};
				struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

				if (m < 0 && errno == EINTR)
					continue;
				if (m < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
					break;
				if (m <= 0 || sendmsg(fd, &mh, MSG_NOSIGNAL) < 0) {
					close(fd);        /* also leaves the epoll set */
					break;
				}
			}
		}
	}
}

/*
 * The trailer that gives an echoed ping Request the daemon's reply size:
 * Response.message (field 4, string) of the missing length.
 */
static size_t make_trailer(size_t req_len, size_t reply_len, uint8_t *t, size_t cap)
{
	size_t pad;

	if (reply_len < req_len + 2)
		return 0;
	pad = reply_len - req_len;
	if (pad - 2 > 127 || pad > cap)
		die("a pong of %zu bytes against a ping of %zu: no one-byte trailer length",
		    reply_len, req_len);
	t[0] = 4u << 3 | 2u;
	t[1] = (uint8_t)(pad - 2);
	memset(t + 2, 'x', pad - 2);
	return pad;
}

static void start_echo(const char *sock, const uint8_t *trailer, size_t tlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	pid_t parent = getpid();
	uint8_t *buf = malloc(MAX_DGRAM);
	int lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (!buf || lfd < 0)
		die("echo server: %s", buf ? strerror(errno) : "out of memory");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 128))
		die("echo server: bind/listen `%s': %s", sock, strerror(errno));
	g.echo = fork();
	if (g.echo < 0)
		die("fork: %s", strerror(errno));
	if (g.echo == 0) {
		child_setup(parent);
		echo_serve(lfd, buf, trailer, tlen);
	}
	close(lfd);
	free(buf);
}

/* ---- round-trip windows ------------------------------------------------------ */

struct window {
	pthread_barrier_t start;
	atomic_bool stop;
};

struct client {
	pthread_t th;
	struct window *w;
	struct conn c;
	uint64_t ops;
	uint64_t last_ns;
};

static void *client_thread(void *arg)
{
	struct client *cl = arg;

	pthread_barrier_wait(&cl->w->start);
	while (!atomic_load_explicit(&cl->w->stop, memory_order_relaxed)) {
		ping(&cl->c);
		cl->ops++;
	}
	cl->last_ns = now_ns();
	return NULL;
}

/* Round trips per second of n clients of the server at path, over window_ms. */
static double rt_window(const char *path, int n, unsigned int window_ms)
{
	struct client cl[NR_CLIENTS];
	struct window w;
	uint64_t t0, end = 0, ops = 0;

	pthread_barrier_init(&w.start, NULL, (unsigned int)n + 1);
	atomic_init(&w.stop, false);
	for (int i = 0; i < n; i++) {
		cl[i] = (struct client){ .w = &w };
		conn_open(&cl[i].c, path, PING_TX_CAP);
		ping(&cl[i].c);         /* connected and served before the clock */
		if (pthread_create(&cl[i].th, NULL, client_thread, &cl[i]))
			die("pthread_create failed");
	}
	pthread_barrier_wait(&w.start);
	t0 = now_ns();
	sleep_ms(window_ms);
	atomic_store(&w.stop, true);
	for (int i = 0; i < n; i++) {
		pthread_join(cl[i].th, NULL);
		ops += cl[i].ops;
		if (cl[i].last_ns > end)
			end = cl[i].last_ns;
		conn_close(&cl[i].c);
	}
	pthread_barrier_destroy(&w.start);
	return (double)ops * 1e9 / (double)(end - t0);
}

/* ---- batched injection --------------------------------------------------------- */

static void vcpu_state_all_on(struct gisa_vcpu_state *st)
{
	*st = (struct gisa_vcpu_state){
		.psw_mask = GISA_PSW_MASK_IO | GISA_PSW_MASK_EXT | GISA_PSW_MASK_MCHECK,
		.cr0 = 0x6e00, .cr6 = 0xff000000, .cr14 = GISA_CR14_CHANNEL_REPORT,
		.run = GISA_VCPU_RUNNING,
	};
}

/* Classic I/O records (spec §12 IO(id, nr, parm, isc)), 4096 subchannels on 8 ISCs. */
static uint8_t *make_records(uint32_t n)
{
	uint8_t *buf = malloc((size_t)n * GISA_IRQ_SIZE);

	if (!buf)
		die("out of memory");
	for (uint32_t i = 0; i < n; i++) {
		struct gisa_irq irq;
		uint16_t nr = (uint16_t)(i % 4096u);

		memset(&irq, 0, sizeof(irq));
		irq.type = GISA_INT_IO(0, 0, 0, nr);
		irq.u.io.subchannel_id = 0x0001;
		irq.u.io.subchannel_nr = nr;
		irq.u.io.io_int_parm = i;
		irq.u.io.io_int_word = (uint32_t)(nr % 8u) << 27;
		gisa_irq_pack1(&irq, GISA_BE, buf + (size_t)i * GISA_IRQ_SIZE);
	}
	return buf;
}

static void vm_create(struct conn *c)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__VmCreate vc = GISA__V1__VM_CREATE__INIT;
	Gisa__V1__MemslotSpec slot = GISA__V1__MEMSLOT_SPEC__INIT;
	Gisa__V1__MemslotSpec *slots[] = { &slot };

	slot.has_slot = slot.has_gpa = slot.has_size = true;
	slot.size = 1u << 20;
	vc.name = (char *)VM_NAME;
	vc.has_profile = vc.has_caps = vc.has_vcpus = vc.has_abi_order = true;
	vc.profile = GISA_PROFILE_CLASSIC;
	vc.vcpus = NR_VCPUS;
	vc.abi_order = GISA_BE;
	vc.n_memslots = 1;
	vc.memslots = slots;
	req.verb_case = GISA__V1__REQUEST__VERB_VM_CREATE;
	req.vm_create = &vc;
	gisa__v1__response__free_unpacked(call(c, &req, GISA__V1__RESPONSE__RESULT_VM_INFO,
					       "vm_create"), NULL);
	for (uint32_t i = 0; i < NR_VCPUS; i++) {
		Gisa__V1__Request sr = GISA__V1__REQUEST__INIT;
		Gisa__V1__VcpuSet vs = GISA__V1__VCPU_SET__INIT;
		Gisa__V1__VcpuState st = GISA__V1__VCPU_STATE__INIT;
		struct gisa_vcpu_state on;

		vcpu_state_all_on(&on);
		st.has_psw_mask = st.has_cr0 = st.has_cr6 = st.has_cr14 = st.has_run = true;
		st.psw_mask = on.psw_mask;
		st.cr0 = on.cr0;
		st.cr6 = on.cr6;
		st.cr14 = on.cr14;
		st.run = (uint32_t)on.run;
		vs.vm = (char *)VM_NAME;
		vs.has_vcpu = true;
		vs.vcpu = i;
		vs.state = &st;
		sr.verb_case = GISA__V1__REQUEST__VERB_VCPU_SET;
		sr.vcpu_set = &vs;
		gisa__v1__response__free_unpacked(call(c, &sr, GISA__V1__RESPONSE__RESULT_RET,
						       "vcpu_set"), NULL);
	}
}

static void vm_destroy(struct conn *c)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__VmRef ref = GISA__V1__VM_REF__INIT;

	ref.vm = (char *)VM_NAME;
	req.verb_case = GISA__V1__REQUEST__VERB_VM_DESTROY;
	req.vm_destroy = &ref;
	gisa__v1__response__free_unpacked(call(c, &req, GISA__V1__RESPONSE__RESULT__NOT_SET,
					       "vm_destroy"), NULL);
}

/* Interruptions on the VM's floating lists (vm_info list_len, summed). */
static uint32_t pending_irqs(struct conn *c)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__VmRef ref = GISA__V1__VM_REF__INIT;
	Gisa__V1__Response *resp;
	uint32_t n;

	ref.vm = (char *)VM_NAME;
	req.verb_case = GISA__V1__REQUEST__VERB_VM_INFO;
	req.vm_info = &ref;
	resp = call(c, &req, GISA__V1__RESPONSE__RESULT_VM_INFO, "vm_info");
	n = 0;
	for (size_t i = 0; i < resp->vm_info->n_list_len; i++)
		n += resp->vm_info->list_len[i];
	gisa__v1__response__free_unpacked(resp, NULL);
	return n;
}

static void batch_inject(struct conn *c, const uint8_t *records, uint32_t n)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__BatchInject bi = GISA__V1__BATCH_INJECT__INIT;
	Gisa__V1__Response *resp;

	bi.vm = (char *)VM_NAME;
	bi.has_records = true;
	bi.records.data = (uint8_t *)records;
	bi.records.len = (size_t)n * GISA_IRQ_SIZE;
	req.verb_case = GISA__V1__REQUEST__VERB_BATCH_INJECT;
	req.batch_inject = &bi;
	resp = call(c, &req, GISA__V1__RESPONSE__RESULT_BATCH, "batch_inject");
	if (resp->batch->injected != n || resp->batch->total != n)
		die("batch_inject: %u of %u records injected, %u sent", resp->batch->injected,
		    resp->batch->total, n);
	gisa__v1__response__free_unpacked(resp, NULL);
}

static void clear_irqs(struct conn *c)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__FlicAttr fa = GISA__V1__FLIC_ATTR__INIT;
	Gisa__V1__Response *resp;

	fa.vm = (char *)VM_NAME;
	fa.has_group = true;
	fa.group = GISA_FLIC_CLEAR_IRQS;
	req.verb_case = GISA__V1__REQUEST__VERB_FLIC_SET;
	req.flic_set = &fa;
	resp = call(c, &req, GISA__V1__RESPONSE__RESULT_FLIC, "flic_set CLEAR_IRQS");
	if (resp->flic->ret != 0)
		die("CLEAR_IRQS returned %d", resp->flic->ret);
	gisa__v1__response__free_unpacked(resp, NULL);
}

/* The most records a batch_inject datagram of at most BATCH_DGRAM_MAX bytes holds. */
static uint32_t records_per_dgram(const uint8_t *records)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__BatchInject bi = GISA__V1__BATCH_INJECT__INIT;
	uint32_t n = BATCH_DGRAM_MAX / GISA_IRQ_SIZE;

	bi.vm = (char *)VM_NAME;
	bi.has_records = true;
	bi.records.data = (uint8_t *)records;
	req.has_version = req.has_id = true;
	req.version = proto_version;
	req.id = UINT64_MAX;            /* the longest id a run can use */
	req.verb_case = GISA__V1__REQUEST__VERB_BATCH_INJECT;
	req.batch_inject = &bi;
	for (;; n--) {
		bi.records.len = (size_t)n * GISA_IRQ_SIZE;
		if (gisa__v1__request__get_packed_size(&req) <= BATCH_DGRAM_MAX)
			return n;
	}
}

struct cycle_time {
	uint64_t inject_ns;
	uint64_t clear_ns;
};

/* CLEAR_EVERY records in datagrams of per records, then one CLEAR_IRQS. */
static void cycle_daemon(struct conn *c, const uint8_t *records, uint32_t per,
			 struct cycle_time *t, bool check)
{
	uint64_t t0 = now_ns(), t1;

	for (uint32_t off = 0; off < CLEAR_EVERY; off += per) {
		uint32_t k = CLEAR_EVERY - off < per ? CLEAR_EVERY - off : per;

		batch_inject(c, records + (size_t)off * GISA_IRQ_SIZE, k);
	}
	t1 = now_ns();
	if (check && pending_irqs(c) != CLEAR_EVERY)
		die("vm_info: %u interruptions pending after %u injected", pending_irqs(c),
		    CLEAR_EVERY);
	t1 = check ? now_ns() : t1;
	clear_irqs(c);
	t->inject_ns += t1 - t0;
	t->clear_ns += now_ns() - t1;
	if (check && pending_irqs(c) != 0)
		die("vm_info: %u interruptions pending after CLEAR_IRQS", pending_irqs(c));
}

/* The same cycle on the engine in this process: the reference ceiling. */
struct engine_ref {
	struct gisa_host *host;
	struct gisa_vm *vm;
};

static void engine_ref_setup(struct engine_ref *e)
{
	struct gisa_vm_config cfg = {
		.profile = GISA_PROFILE_CLASSIC, .caps = 0, .nr_vcpus = NR_VCPUS,
		.mem_cap = 0, .abi_order = GISA_BE,
	};
	int r = gisa_host_new(NULL, &e->host);

	if (!r)
		r = gisa_vm_new(e->host, &cfg, &e->vm);
	if (!r)
		r = gisa_flic_create(e->vm);
	if (!r)
		r = gisa_mem_set_slot(e->vm, 0, 0, 1u << 20);
	for (uint32_t i = 0; !r && i < NR_VCPUS; i++) {
		struct gisa_vcpu_state st;

		vcpu_state_all_on(&st);
		r = gisa_vcpu_set(e->vm, i, &st);
	}
	if (r)
		die("engine reference VM: %s", strerror(-r));
}

static void cycle_engine(struct engine_ref *e, const uint8_t *records, struct cycle_time *t)
{
	struct gisa_attr a = { .group = GISA_FLIC_ENQUEUE, .attr = GISA_IRQ_SIZE };
	struct gisa_attr clr = { .group = GISA_FLIC_CLEAR_IRQS };
	uint64_t t0 = now_ns(), t1;
	int r;

	for (uint32_t i = 0; i < CLEAR_EVERY; i++) {
		a.addr.data = (uint8_t *)records + (size_t)i * GISA_IRQ_SIZE;
		a.addr.len = GISA_IRQ_SIZE;
		r = gisa_flic_set_attr(e->vm, &a);
		if (r)
			die("engine reference: ENQUEUE of record %u: %d", i, r);
	}
	t1 = now_ns();
	r = gisa_flic_set_attr(e->vm, &clr);
	if (r)
		die("engine reference: CLEAR_IRQS: %d", r);
	t->inject_ns += t1 - t0;
	t->clear_ns += now_ns() - t1;
}

/* ---- statistics and printing -------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct stat_v {
	double med, min, max;
};

static struct stat_v stats(double *v, int n)
{
	struct stat_v s;

	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	s.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	s.min = v[0];
	s.max = v[n - 1];
	return s;
}

/* 1234567.8 -> "1,234,568" */
static const char *grouped(double x, char *buf, size_t len)
{
	char digits[32];
	size_t n, o = 0;

	snprintf(digits, sizeof(digits), "%.0f", x);
	n = strlen(digits);
	for (size_t i = 0; i < n && o + 2 < len; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

static void print_machine(const char *gisad, int runs, unsigned int window_ms)
{
	char line[256], model[160] = "unknown";
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
	printf("gisa-control-bench: gisad at %s\n", gisad);
	printf("machine: %ld online CPUs (nproc), CPU model: %s\n",
	       sysconf(_SC_NPROCESSORS_ONLN), model);
#if defined(__SANITIZE_ADDRESS__)
	printf("build: with AddressSanitizer (figures are not representative; use bench/run)\n");
#elif defined(__OPTIMIZE__)
	printf("build: optimized\n");
#else
	printf("build: NOT optimized (figures are not representative)\n");
#endif
	printf("method: median of %d runs; round trips: one %u ms window per configuration and "
	       "run;\n        injection: %d cycles of %u records + CLEAR_IRQS per run, after an "
	       "untimed checked cycle\n",
	       runs, window_ms, CYCLES, CLEAR_EVERY);
}

static const char *verdict(bool met)
{
	return met ? "met" : "MISSED";
}

static void inj_row(const char *name, struct stat_v s, bool goal)
{
	char a[32], b[32], c[32], range[64], want[40] = "";

	snprintf(range, sizeof(range), "%s .. %s", grouped(s.min, a, sizeof(a)),
		 grouped(s.max, b, sizeof(b)));
	if (goal)
		snprintf(want, sizeof(want), ">= %s", grouped(GOAL_RECORDS, a, sizeof(a)));
	printf("%-42s %13s %25s %14s %7s\n", name, grouped(s.med, c, sizeof(c)), range, want,
	       goal ? verdict(s.med >= GOAL_RECORDS) : "");
}

/* ---- main ------------------------------------------------------------------------ */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: gisa-control-bench [--gisad PATH] [--runs N] [--window-ms MS]\n"
		"  --gisad PATH     the gisad binary (default: the one this build made%s%s)\n"
		"  --runs N         runs per figure, 1..99 (default %d)\n"
		"  --window-ms MS   length of one round-trip window, 50..10000 (default %u)\n",
		GISAD_PATH[0] ? ", " : "", GISAD_PATH, RUNS_DEFAULT, WINDOW_MS_DEFAULT);
}

static long number_arg(const char *opt, const char *v, long lo, long hi)
{
	char *end;
	long x;

	errno = 0;
	x = strtol(v, &end, 10);
	if (errno || end == v || *end || x < lo || x > hi) {
		fprintf(stderr, "gisa-control-bench: %s `%s': expected %ld to %ld\n", opt, v, lo,
			hi);
		exit(2);
	}
	return x;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "gisad", required_argument, NULL, 'g' },
		{ "runs", required_argument, NULL, 'r' },
		{ "window-ms", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *gisad = GISAD_PATH;
	int runs = RUNS_DEFAULT;
	unsigned int window_ms = WINDOW_MS_DEFAULT;
	char conf[PATH_MAX], sock[PATH_MAX], state[PATH_MAX], echo[PATH_MAX];
	const char *tmp = getenv("TMPDIR");
	sigset_t sigs;
	pthread_t sth;
	int opt, status;

	while ((opt = getopt_long(argc, argv, "g:r:w:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'g':
			gisad = optarg;
			break;
		case 'r':
			runs = (int)number_arg("--runs", optarg, 1, 99);
			break;
		case 'w':
			window_ms = (unsigned int)number_arg("--window-ms", optarg, 50, 10000);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || !gisad[0] || access(gisad, X_OK)) {
		if (optind < argc)
			fprintf(stderr, "gisa-control-bench: unexpected argument `%s'\n",
				argv[optind]);
		else
			fprintf(stderr, "gisa-control-bench: gisad `%s' is not executable\n",
				gisad);
		usage(stderr);
		return 2;
	}

	/* From here on every thread and child inherits the blocked set. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	atexit(cleanup);

	if ((size_t)snprintf(g.dir, sizeof(g.dir), "%s/gisa-cbench.XXXXXX",
			     tmp && tmp[0] ? tmp : "/tmp") >= sizeof(g.dir)) {
		g.dir[0] = '\0';
		die("TMPDIR `%s' is too long for socket paths", tmp);
	}
	if (!mkdtemp(g.dir)) {
		g.dir[0] = '\0';
		die("mkdtemp: %s", strerror(errno));
	}
	snprintf(conf, sizeof(conf), "%s/gisad.conf", g.dir);
	snprintf(sock, sizeof(sock), "%s/control", g.dir);
	snprintf(state, sizeof(state), "%s/state", g.dir);
	snprintf(echo, sizeof(echo), "%s/echo", g.dir);
	snprintf(g.log, sizeof(g.log), "%s/gisad.log", g.dir);
	if (strlen(sock) >= sizeof(((struct sockaddr_un *)0)->sun_path) ||
	    strlen(echo) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		die("`%s': too long for a socket path (set TMPDIR shorter)", sock);
	write_config(conf, sock, state);
	print_machine(gisad, runs, window_ms);
	fflush(stdout);
	start_gisad(gisad, conf, sock);

	/* Size the echo trailer after the daemon's real pong to ping id 1. */
	{
		Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
		Gisa__V1__Ping p = GISA__V1__PING__INIT;
		Gisa__V1__Response *resp;
		static uint8_t trailer[160];
		uint8_t probe[PING_TX_CAP];
		struct conn c;
		size_t qlen, rlen, tlen;
		ssize_t m;

		conn_open(&c, sock, PING_TX_CAP);
		req.verb_case = GISA__V1__REQUEST__VERB_PING;
		req.ping = &p;
		resp = call(&c, &req, GISA__V1__RESPONSE__RESULT_PONG, "ping");
		printf("daemon: %s; ", resp->pong->daemon ? resp->pong->daemon : "?");
		gisa__v1__response__free_unpacked(resp, NULL);
		qlen = gisa__v1__request__get_packed_size(&req);
		/* The reply length as received, before call() decoded it. */
		m = send(c.fd, c.tx, qlen, MSG_NOSIGNAL);
		if (m != (ssize_t)qlen || (m = recv(c.fd, c.rx, MAX_DGRAM, 0)) <= 0)
			die("ping: %s", strerror(errno));
		rlen = (size_t)m;
		conn_close(&c);
		tlen = make_trailer(qlen, rlen, trailer, sizeof(trailer));
		/* The echoed probe must decode as a pong to the same id. */
		gisa__v1__request__pack(&req, probe);
		memcpy(probe + qlen, trailer, tlen);
		resp = gisa__v1__response__unpack(NULL, qlen + tlen, probe);
		if (!resp || resp->id != req.id ||
		    resp->result_case != GISA__V1__RESPONSE__RESULT_PONG)
			die("an echoed ping does not decode as a pong");
		gisa__v1__response__free_unpacked(resp, NULL);
		printf("ping request %zu bytes, pong %zu bytes (echo: request + %zu-byte "
		       "trailer)\n\n", qlen, rlen, tlen);
		start_echo(echo, trailer, tlen);
	}
	if (pthread_create(&sth, NULL, signal_thread, &sigs))
		die("pthread_create failed");
	pthread_detach(sth);

	/* ---- round trips ---- */
	{
		double *v[4];
		struct stat_v s[4];
		static const char *const label[4] = { "gisad ping", "bare echo", "gisad ping",
						       "bare echo" };
		char a[32], b[32], c[32];

		for (int k = 0; k < 4; k++) {
			v[k] = calloc((size_t)runs, sizeof(double));
			if (!v[k])
				die("out of memory");
		}
		/* Untimed: connections, threads, both servers' paths warm. */
		(void)rt_window(sock, NR_CLIENTS, 50);
		(void)rt_window(echo, NR_CLIENTS, 50);
		for (int r = 0; r < runs; r++) {
			v[0][r] = rt_window(sock, 1, window_ms);
			v[1][r] = rt_window(echo, 1, window_ms);
			v[2][r] = rt_window(sock, NR_CLIENTS, window_ms);
			v[3][r] = rt_window(echo, NR_CLIENTS, window_ms);
		}
		for (int k = 0; k < 4; k++) {
			s[k] = stats(v[k], runs);
			free(v[k]);
		}
		printf("control round trips (one ping in flight per client)\n");
		printf("%-12s %7s %15s %25s %8s %9s %7s\n", "server", "clients", "round trips/s",
		       "min .. max", "vs echo", "goal", "");
		for (int k = 0; k < 4; k++) {
			char range[64], ratio[16] = "", goal[16] = "", met[16] = "";

			snprintf(range, sizeof(range), "%s .. %s", grouped(s[k].min, a, sizeof(a)),
				 grouped(s[k].max, b, sizeof(b)));
			if (k % 2 == 0) {
				double q = s[k].med / s[k + 1].med;
				char fig[48], base[48];

				snprintf(ratio, sizeof(ratio), "%.2fx", q);
				snprintf(goal, sizeof(goal), ">= %.2fx", GOAL_PING_RATIO);
				snprintf(met, sizeof(met), "%s", verdict(q >= GOAL_PING_RATIO));
				snprintf(fig, sizeof(fig), "gisad ping, %d client%s",
					 k < 2 ? 1 : NR_CLIENTS, k < 2 ? "" : "s");
				snprintf(base, sizeof(base), "bare echo, %d client%s",
					 k < 2 ? 1 : NR_CLIENTS, k < 2 ? "" : "s");
				bench_table_row("gisa-control-bench", fig, s[k].med,
						"round trips/s", base, s[k + 1].med, q, goal,
						q >= GOAL_PING_RATIO ? "met" : "missed");
			}
			printf("%-12s %7d %15s %25s %8s %9s %7s\n", label[k],
			       k < 2 ? 1 : NR_CLIENTS, grouped(s[k].med, c, sizeof(c)), range,
			       ratio, goal, met);
		}
		printf("\n");
		fflush(stdout);
	}

	/* ---- batched injection ---- */
	{
		uint8_t *records = make_records(CLEAR_EVERY);
		uint32_t per = records_per_dgram(records);
		double *incl = calloc((size_t)runs, sizeof(double));
		double *excl = calloc((size_t)runs, sizeof(double));
		double *clr = calloc((size_t)runs, sizeof(double));
		double *eng = calloc((size_t)runs, sizeof(double));
		double *eng_x = calloc((size_t)runs, sizeof(double));
		double total = (double)CYCLES * CLEAR_EVERY;
		struct engine_ref e;
		struct stat_v si, sx, sc, se, sex;
		struct cycle_time w = { 0 };
		char a[32];
		struct conn cn;

		if (!incl || !excl || !clr || !eng || !eng_x)
			die("out of memory");
		conn_open(&cn, sock, MAX_DGRAM);
		vm_create(&cn);
		cycle_daemon(&cn, records, per, &w, true);
		engine_ref_setup(&e);
		cycle_engine(&e, records, &w);
		for (int r = 0; r < runs; r++) {
			struct cycle_time t = { 0 }, te = { 0 };

			for (int k = 0; k < CYCLES; k++)
				cycle_daemon(&cn, records, per, &t, false);
			for (int k = 0; k < CYCLES; k++)
				cycle_engine(&e, records, &te);
			incl[r] = total * 1e9 / (double)(t.inject_ns + t.clear_ns);
			excl[r] = total * 1e9 / (double)t.inject_ns;
			clr[r] = (double)t.clear_ns / CYCLES / 1e6;
			eng[r] = total * 1e9 / (double)(te.inject_ns + te.clear_ns);
			eng_x[r] = total * 1e9 / (double)te.inject_ns;
		}
		si = stats(incl, runs);
		sx = stats(excl, runs);
		sc = stats(clr, runs);
		se = stats(eng, runs);
		sex = stats(eng_x, runs);
		printf("batched injection: batch_inject of %u records (%u B of records) per "
		       "datagram of <= %u B,\n  CLEAR_IRQS (flic_set) every %u records, "
		       "one connection, synchronous\n",
		       per, per * GISA_IRQ_SIZE, BATCH_DGRAM_MAX, CLEAR_EVERY);
		printf("%-42s %13s %25s %14s %7s\n", "figure", "records/s", "min .. max", "goal",
		       "");
		inj_row("gisad, CLEAR_IRQS time included", si, true);
		inj_row("gisad, injection only", sx, false);
		inj_row("engine in this process, CLEAR_IRQS incl.", se, false);
		inj_row("engine in this process, injection only", sex, false);
		printf("one CLEAR_IRQS of %s records through gisad: %.2f ms (min %.2f, max %.2f); "
		       "gisad reaches %.0f%% of the in-process engine rate\n",
		       grouped(CLEAR_EVERY, a, sizeof(a)), sc.med, sc.min, sc.max,
		       100.0 * si.med / se.med);
		/* Judged against its absolute goal; the engine's rate is its baseline. */
		{
			char goal[40];

			snprintf(goal, sizeof(goal), ">= %s records/s",
				 grouped(GOAL_RECORDS, a, sizeof(a)));
			bench_table_row("gisa-control-bench",
					"batch_inject via gisad, CLEAR_IRQS incl.", si.med,
					"records/s", "in-process engine, CLEAR_IRQS incl.", se.med,
					si.med / se.med, goal,
					si.med >= GOAL_RECORDS ? "met" : "missed");
		}
		vm_destroy(&cn);
		conn_close(&cn);
		gisa_vm_free(e.vm);
		gisa_host_free(e.host);
		free(records);
		free(incl);
		free(excl);
		free(clr);
		free(eng);
		free(eng_x);
	}

	/* A clean stop: nothing left to checkpoint, exit status 0. */
	pthread_mutex_lock(&g.lock);
	(void)stop_child(&g.echo, SIGTERM);
	status = stop_child(&g.gisad, SIGTERM);
	pthread_mutex_unlock(&g.lock);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("gisad did not exit cleanly on SIGTERM (status 0x%x)", (unsigned)status);
	return 0;
}
