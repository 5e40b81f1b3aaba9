/* SPDX-License-Identifier: MIT */
/*
 * mig-proxy: the TCP fault proxy of the migration tests.  It sits between
 * a source gisad and a destination gisad and forwards their TLS bytes
 * blindly, counting each byte exactly, and does one fault to one
 * connection:
 *
 *   mig-proxy [-n CONN] [-o ACTION] [-c CTLFILE] [-t] PORT [ACTION]
 *
 * It listens on 127.0.0.1 (a port the kernel picks, printed alone on the
 * first line of standard output) and forwards each connection it accepts
 * to 127.0.0.1:PORT.  ACTION applies to the CONN-th connection (default
 * 1); the others (an in-doubt source's outcome queries) pass untouched,
 * or each gets the action of -o:
 *
 *   cut:DIR:AT     once AT bytes of DIR reached the receiver, cut: both
 *                  sides get a FIN, and whatever either sends afterwards
 *                  is read and dropped
 *   pause:DIR:AT   once AT bytes of DIR reached the receiver, stop reading
 *                  DIR (the other direction goes on) until the control
 *                  file says what next
 *   go             forward untouched (ends a pause)
 *   cut            cut now
 *
 * DIR is `up' (source -> destination: the accepted side towards PORT) or
 * `down'.  AT is a byte count, or `rN[+B]': B bytes (default 0) after the
 * first byte of the N-th TLS record of DIR (r1 starts at offset 0).  TLS
 * 1.3 hides what a record holds but not where it starts, and the records
 * a gisad writes follow what it sends, so rN+B names the same point of the
 * same message in every run, even when an earlier record (a signature, a
 * timing field) is a few bytes longer this time.  The proxy never reads a
 * byte of DIR past AT: exactly AT bytes are forwarded.
 *
 * -c CTLFILE: every CTL_POLL_MS, if CTLFILE exists, its first line is a
 * new ACTION for the CONN-th connection, or `others ACTION' a new -o for
 * the others (open ones included), and the file is removed (write it
 * elsewhere and rename it into place).  -t traces the TLS record headers
 * of both directions.
 *
 * Output (standard output, a line per event):
 *   PORT
 *   conn N: open
 *   conn N: DIR record I at OFF len LEN type TYPE      (-t)
 *   conn N: paused DIR at OFF
 *   conn N: control: ACTION                             (N = CONN)
 *   others: control: ACTION
 *   conn N: cut: up BYTES down BYTES
 *   conn N: DIR: WHAT: ERROR                           (an I/O error)
 *   conn N: closed: up BYTES down BYTES, records up I down J
 *
 * It runs until SIGTERM or SIGINT; exit status 2 on a usage or set-up
 * error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE    (64 * 1024)
#define TLS_HDR     5           /* type, version (2), length (2) */
#define CTL_POLL_MS 50
#define DRAIN_MS    3000        /* a cut connection is closed at the latest after this */
#define MAX_CONNS   64
#define ACTION_MAX  64

enum dir { UP, DOWN, NDIR };   /* flow d reads fd[d] and writes fd[!d] */

static const char *const dir_name[NDIR] = { "up", "down" };

enum act_kind { ACT_NONE, ACT_CUT, ACT_PAUSE };

struct action {
	enum act_kind kind;
	enum dir dir;
	bool now;               /* cut at once */
	bool record;            /* at is a TLS record number (plus bytes into it) */
	uint64_t at, plus;
};

struct flow {
	uint8_t buf[BUF_SIZE];
	size_t len, off;        /* bytes held, and written of them */
	uint64_t rd, wr;        /* bytes read from the sender, written to the receiver */
	bool eof, shut;         /* the sender closed; the receiver was told */
	/* TLS record headers: the record begun last, its start, the next one's */
	uint64_t rec_no, cur_start, next_start;
	uint8_t hdr[TLS_HDR];
	unsigned in_hdr;
};

struct conn {
	unsigned id;
	int fd[NDIR];           /* fd[UP] the source's side, fd[DOWN] the destination's */
	struct flow f[NDIR];
	bool ruled;             /* the CONN-th: the control file speaks to it */
	struct action act;
	bool told;              /* the pause was reported */
	bool draining;          /* cut: dropping what arrives until both sides close */
	bool eof_seen[NDIR];
	uint64_t drain_until;
};

static struct {
	unsigned target_conn;
	struct action act;      /* for the CONN-th, until it opens */
	struct action others;
	const char *ctl_file;
	bool trace;
	struct sockaddr_in target;
	unsigned accepted;
	struct conn *conns[MAX_CONNS];
} px = { .target_conn = 1 };

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mig-proxy: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool parse_u64(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*ret = v;
	return true;
}

/* ACTION as in the header comment; false when it is none of them. */
static bool parse_action(const char *s, struct action *ret)
{
	struct action a = { .kind = ACT_NONE };
	char buf[ACTION_MAX], *dir, *at, *plus;

	if (!strcmp(s, "go")) {
		*ret = a;
		return true;
	}
	if (!strcmp(s, "cut")) {
		a.kind = ACT_CUT;
		a.now = true;
		*ret = a;
		return true;
	}
	if (strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	dir = strchr(buf, ':');
	at = dir ? strchr(dir + 1, ':') : NULL;
	if (!at)
		return false;
	*dir++ = '\0';
	*at++ = '\0';
	if (!strcmp(buf, "cut"))
		a.kind = ACT_CUT;
	else if (!strcmp(buf, "pause"))
		a.kind = ACT_PAUSE;
	else
		return false;
	if (!strcmp(dir, "up"))
		a.dir = UP;
	else if (!strcmp(dir, "down"))
		a.dir = DOWN;
	else
		return false;
	a.record = *at == 'r';
	if (a.record && (plus = strchr(at, '+'))) {
		*plus++ = '\0';
		if (!parse_u64(plus, &a.plus))
			return false;
	}
	if (!parse_u64(at + a.record, &a.at) || (a.record && !a.at))
		return false;
	*ret = a;
	return true;
}

/* ---- counting ------------------------------------------------------------ */

/*
 * Bytes of d the action lets c read now (BUF_SIZE: no limit).  A record
 * position becomes a byte offset once the record's start is known: the
 * reads stop at each header until then.
 */
static size_t allowed(struct conn *c, enum dir d)
{
	struct action *a = &c->act;
	const struct flow *f = &c->f[d];
	uint64_t n;

	if (a->kind == ACT_NONE || a->now || a->dir != d)
		return BUF_SIZE;
	if (a->record && f->rec_no >= a->at) {
		/* begun already (a late control file: long past means now) */
		a->at = (f->rec_no == a->at ? f->cur_start : f->rd) + a->plus;
		a->record = false;
	} else if (a->record && !f->in_hdr && f->rec_no + 1 == a->at) {
		a->at = f->next_start + a->plus;
		a->record = false;
	}
	if (!a->record)
		n = a->at > f->rd ? a->at - f->rd : 0;
	else if (f->in_hdr)
		n = TLS_HDR - f->in_hdr;        /* the header says where the next one is */
	else
		n = f->rd < f->next_start ? f->next_start - f->rd : TLS_HDR;
	return n < BUF_SIZE ? (size_t)n : BUF_SIZE;
}

/* Follow the TLS record headers through n new bytes of d at offset f->rd. */
static void scan(struct conn *c, enum dir d, const uint8_t *p, size_t n)
{
	struct flow *f = &c->f[d];
	size_t i = 0;

	while (i < n) {
		uint64_t pos = f->rd + i;

		if (!f->in_hdr && pos < f->next_start) {
			uint64_t skip = f->next_start - pos;

			i += skip < n - i ? (size_t)skip : n - i;
			continue;
		}
		if (!f->in_hdr) {
			f->rec_no++;
			f->cur_start = pos;
		}
		f->hdr[f->in_hdr++] = p[i++];
		if (f->in_hdr == TLS_HDR) {
			unsigned len = (unsigned)f->hdr[3] << 8 | f->hdr[4];

			if (px.trace)
				printf("conn %u: %s record %" PRIu64 " at %" PRIu64 " len %u type %u\n",
				       c->id, dir_name[d], f->rec_no, f->next_start, len, f->hdr[0]);
			f->next_start += TLS_HDR + len;
			f->in_hdr = 0;
		}
	}
}

/* ---- connections --------------------------------------------------------- */

static void conn_close(struct conn *c)
{
	printf("conn %u: closed: up %" PRIu64 " down %" PRIu64 ", records up %" PRIu64
	       " down %" PRIu64 "\n", c->id, c->f[UP].wr, c->f[DOWN].wr, c->f[UP].rec_no,
	       c->f[DOWN].rec_no);
	for (int i = 0; i < NDIR; i++)
		close(c->fd[i]);
	for (int i = 0; i < MAX_CONNS; i++)
		if (px.conns[i] == c)
			px.conns[i] = NULL;
	free(c);
}

/* Both sides get a FIN after the bytes they were given; the rest is dropped. */
static void cut(struct conn *c)
{
	printf("conn %u: cut: up %" PRIu64 " down %" PRIu64 "\n", c->id, c->f[UP].wr,
	       c->f[DOWN].wr);
	for (int i = 0; i < NDIR; i++) {
		shutdown(c->fd[i], SHUT_WR);
		c->f[i].len = c->f[i].off = 0;
	}
	c->draining = true;
	c->drain_until = now_ns() + (uint64_t)DRAIN_MS * 1000000u;
	c->act.kind = ACT_NONE;
}

static void io_error(struct conn *c, enum dir d, const char *what)
{
	printf("conn %u: %s: %s: %s\n", c->id, dir_name[d], what, strerror(errno));
	conn_close(c);
}

static void accept_one(int lfd)
{
	int fd = accept(lfd, NULL, NULL), tfd, slot = -1;
	struct conn *c;

	if (fd < 0)
		return;
	px.accepted++;
	for (int i = 0; i < MAX_CONNS && slot < 0; i++)
		if (!px.conns[i])
			slot = i;
	tfd = socket(AF_INET, SOCK_STREAM, 0);
	c = slot >= 0 && tfd >= 0 ? calloc(1, sizeof(*c)) : NULL;
	if (!c) {
		printf("conn %u: refused: no room\n", px.accepted);
		close(fd);
		if (tfd >= 0)
			close(tfd);
		return;
	}
	c->id = px.accepted;
	c->fd[UP] = fd;
	c->fd[DOWN] = tfd;
	c->ruled = c->id == px.target_conn;
	c->act = c->ruled ? px.act : px.others;
	/* Loopback: the connect is done (or refused) at once. */
	if (connect(tfd, (struct sockaddr *)&px.target, sizeof(px.target))) {
		printf("conn %u: target: %s\n", c->id, strerror(errno));
		close(fd);
		close(tfd);
		free(c);
		return;
	}
	/* No Nagle: each chunk leaves as soon as it was read, as without the proxy. */
	for (int i = 0; i < NDIR; i++) {
		int one = 1;

		fcntl(c->fd[i], F_SETFL, fcntl(c->fd[i], F_GETFL) | O_NONBLOCK);
		setsockopt(c->fd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	px.conns[slot] = c;
	printf("conn %u: open\n", c->id);
}

/* The action's point is reached on a flushed flow: cut, or report the pause. */
static bool act_reached(struct conn *c)
{
	const struct action *a = &c->act;
	const struct flow *f;

	if (c->draining || a->kind == ACT_NONE)
		return false;
	if (a->now) {
		cut(c);
		return true;
	}
	f = &c->f[a->dir];
	if (allowed(c, a->dir) || f->off < f->len)
		return false;
	if (a->kind == ACT_CUT) {
		cut(c);
		return true;
	}
	if (!c->told) {
		printf("conn %u: paused %s at %" PRIu64 "\n", c->id, dir_name[a->dir], f->wr);
		c->told = true;
	}
	return false;
}

static short want(struct conn *c, int fd_idx)
{
	const struct flow *in = &c->f[fd_idx], *out = &c->f[!fd_idx];
	short ev = 0;

	if (c->draining)
		return c->eof_seen[fd_idx] ? 0 : POLLIN;
	if (!in->eof && in->len == 0 && allowed(c, (enum dir)fd_idx))
		ev |= POLLIN;
	if (out->off < out->len)
		ev |= POLLOUT;
	return ev;
}

/* Drop what a cut connection still receives; false when it went. */
static bool drain(struct conn *c, const short rev[NDIR])
{
	uint8_t junk[4096];

	for (int i = 0; i < NDIR; i++) {
		ssize_t n;

		if (!rev[i] || c->eof_seen[i])
			continue;
		n = read(c->fd[i], junk, sizeof(junk));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			c->eof_seen[i] = true;
	}
	if ((c->eof_seen[UP] && c->eof_seen[DOWN]) || now_ns() >= c->drain_until) {
		conn_close(c);
		return false;
	}
	return true;
}

/* Move the bytes poll allowed; false when the connection went. */
static bool service(struct conn *c, const short rev[NDIR])
{
	if (c->draining)
		return drain(c, rev);
	for (int d = 0; d < NDIR; d++) {
		struct flow *f = &c->f[d];
		int rfd = c->fd[d], wfd = c->fd[!d];

		if (rev[d] & (POLLIN | POLLHUP | POLLERR)) {
			size_t room = allowed(c, (enum dir)d);
			ssize_t n;

			if (f->len == 0 && !f->eof && room) {
				n = read(rfd, f->buf, room);
				if (n < 0 && errno != EAGAIN && errno != EINTR) {
					io_error(c, (enum dir)d, "read");
					return false;
				}
				if (n == 0)
					f->eof = true;
				if (n > 0) {
					scan(c, (enum dir)d, f->buf, (size_t)n);
					f->rd += (uint64_t)n;
					f->len = (size_t)n;
					f->off = 0;
				}
			}
		}
		if (f->off < f->len) {
			ssize_t n = send(wfd, f->buf + f->off, f->len - f->off, MSG_NOSIGNAL);

			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				io_error(c, (enum dir)d, "write");
				return false;
			}
			if (n > 0) {
				f->off += (size_t)n;
				f->wr += (uint64_t)n;
			}
			if (f->off == f->len)
				f->len = f->off = 0;
		}
		if (f->eof && !f->len && !f->shut) {
			shutdown(wfd, SHUT_WR);
			f->shut = true;
		}
	}
	if (act_reached(c))
		return true;
	if (c->f[UP].shut && c->f[DOWN].shut) {
		conn_close(c);
		return false;
	}
	return true;
}

/* ---- control ------------------------------------------------------------- */

/* A new action for c (the CONN-th, or one of the others). */
static void set_action(struct conn *c, const struct action *a)
{
	c->act = *a;
	c->told = false;
	if (!c->draining)
		(void)act_reached(c);
}

static void control(void)
{
	char line[ACTION_MAX + 16], *text;
	struct action a;
	bool others;
	FILE *fp;

	if (!px.ctl_file || !(fp = fopen(px.ctl_file, "r")))
		return;
	if (!fgets(line, sizeof(line), fp))
		line[0] = '\0';
	fclose(fp);
	unlink(px.ctl_file);
	line[strcspn(line, "\r\n")] = '\0';
	others = !strncmp(line, "others ", 7);
	text = others ? line + 7 : line;
	if (others)
		printf("others: control: %s\n", text);
	else
		printf("conn %u: control: %s\n", px.target_conn, text);
	if (!parse_action(text, &a)) {
		printf("control: `%s' is no action (ignored)\n", text);
		return;
	}
	if (others)
		px.others = a;
	else
		px.act = a;
	for (int i = 0; i < MAX_CONNS; i++) {
		struct conn *c = px.conns[i];

		if (c && c->ruled != others)
			set_action(c, &a);
	}
}

/* ---- main ---------------------------------------------------------------- */

static void usage(void)
{
	die("usage: mig-proxy [-n CONN] [-o ACTION] [-c CTLFILE] [-t] PORT "
	    "[cut:up|down:AT | pause:up|down:AT | go | cut] (AT: BYTES or rN[+B])");
}

static int listen_any(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 64) ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl))
		die("listening on 127.0.0.1: %s", strerror(errno));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	printf("%u\n", (unsigned)ntohs(sa.sin_port));
	return fd;
}

static void options(int argc, char **argv)
{
	uint64_t v;
	int opt;

	while ((opt = getopt(argc, argv, "n:o:c:t")) != -1) {
		switch (opt) {
		case 'n':
			if (!parse_u64(optarg, &v) || !v || v > UINT32_MAX)
				die("-n `%s': expected a connection number from 1", optarg);
			px.target_conn = (unsigned)v;
			break;
		case 'o':
			if (!parse_action(optarg, &px.others))
				die("-o `%s': expected cut:DIR:AT, pause:DIR:AT, go or cut", optarg);
			break;
		case 'c':
			px.ctl_file = optarg;
			break;
		case 't':
			px.trace = true;
			break;
		default:
			usage();
		}
	}
	if (optind >= argc || optind + 2 < argc)
		usage();
	if (!parse_u64(argv[optind], &v) || !v || v > 65535)
		die("PORT `%s': expected 1 to 65535", argv[optind]);
	px.target.sin_family = AF_INET;
	px.target.sin_port = htons((uint16_t)v);
	px.target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (optind + 1 < argc && !parse_action(argv[optind + 1], &px.act))
		die("ACTION `%s': expected cut:DIR:AT, pause:DIR:AT, go or cut", argv[optind + 1]);
}

int main(int argc, char **argv)
{
	struct pollfd pfd[1 + 2 * MAX_CONNS];
	struct conn *polled[MAX_CONNS];
	uint64_t last_ctl = 0;
	int lfd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	options(argc, argv);
	lfd = listen_any();
	for (;;) {
		int n = 1;

		pfd[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (int i = 0; i < MAX_CONNS; i++) {
			struct conn *c = px.conns[i];

			polled[i] = c;
			if (!c)
				continue;
			for (int k = 0; k < NDIR; k++) {
				short ev = want(c, k);

				/* Nothing wanted: not polled (a dead peer would spin). */
				pfd[n + k] = (struct pollfd){ .fd = ev ? c->fd[k] : -1,
							      .events = ev };
			}
			n += NDIR;
		}
		if (poll(pfd, (nfds_t)n, CTL_POLL_MS) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		n = 1;
		for (int i = 0; i < MAX_CONNS; i++) {
			short rev[NDIR];

			if (!polled[i])
				continue;
			rev[UP] = pfd[n].revents;
			rev[DOWN] = pfd[n + 1].revents;
			n += NDIR;
			(void)service(polled[i], rev);
		}
		if (pfd[0].revents & POLLIN)
			accept_one(lfd);
		if (now_ns() - last_ctl >= (uint64_t)CTL_POLL_MS * 1000000u) {
			last_ctl = now_ns();
			control();
		}
	}
}
