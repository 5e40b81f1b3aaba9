/* SPDX-License-Identifier: MIT */
/*
 * Requests to gisad over the control socket, and the helpers the online
 * commands share (argument values, rendering of records, jobs and raw
 * bytes).
 *
 * Transport rules (docs/CONTROL-PROTOCOL.md): one Request per datagram,
 * one Response per request, in order; event datagrams (id 0, result
 * `event') may arrive between replies once a connection subscribed; a
 * refused connection gets one error datagram with id 0 and is closed, which
 * the kernel reports as ECONNRESET once before that datagram can be read.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gisa/snapshot.h>

#include "ctl.h"

/* Replies are at most 1 MiB; one byte more tells a longer one apart. */
#define CTL_MAX_DATAGRAM (1u << 20)
/* Asked for so that requests of CTL_MAX_REQUEST pass (the kernel caps it). */
#define CTL_SNDBUF       (4 * CTL_MAX_DATAGRAM)

static uint64_t next_id = 1;
static uint8_t *rxbuf;

static int send_dgram(int fd, const void *buf, size_t len, int pass_fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} cbuf;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

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
	for (;;) {
		if (sendmsg(fd, &mh, MSG_NOSIGNAL) >= 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

void ctl_free(ctl_response *resp)
{
	if (resp)
		gisa__v1__response__free_unpacked(resp, NULL);
}

int ctl_recv(struct gisactl *g, ctl_response **ret)
{
	bool reset = false;

	if (!rxbuf) {
		rxbuf = malloc(CTL_MAX_DATAGRAM + 1);
		if (!rxbuf)
			return out_fail(g, -ENOMEM, "out of memory");
	}
	for (;;) {
		ssize_t n = recv(g->fd, rxbuf, CTL_MAX_DATAGRAM + 1, MSG_TRUNC);
		ctl_response *resp;

		if (n < 0 && errno == EINTR)
			return -EINTR;
		/* A refusal: the error datagram is still queued behind the reset. */
		if (n < 0 && errno == ECONNRESET && !reset) {
			reset = true;
			continue;
		}
		if (n < 0)
			return out_fail(g, -errno, "cannot read from gisad at `%s': %s", g->socket,
					strerror(errno));
		if (n == 0)
			return out_fail(g, -ECONNRESET,
					"gisad at `%s' closed the connection without a reply",
					g->socket);
		if ((size_t)n > CTL_MAX_DATAGRAM)
			return out_fail(g, -EMSGSIZE,
					"gisad sent a datagram of %zd bytes, more than the "
					"protocol's %u", n, CTL_MAX_DATAGRAM);
		resp = gisa__v1__response__unpack(NULL, (size_t)n, rxbuf);
		if (!resp)
			return out_fail(g, -EBADMSG,
					"gisad sent a datagram of %zd bytes that is not a "
					"gisa.v1.Response", n);
		if (resp->version != GISA__V1__CONTROL_PROTOCOL__CONTROL_PROTOCOL_VERSION) {
			unsigned v = resp->version;

			ctl_free(resp);
			return out_fail(g, -EPROTONOSUPPORT,
					"gisad answered in control protocol version %u; this "
					"gisactl speaks %u", v,
					GISA__V1__CONTROL_PROTOCOL__CONTROL_PROTOCOL_VERSION);
		}
		*ret = resp;
		return 0;
	}
}

/*
 * The reply's error, reported with gisad's own sentence.  The "migrating"
 * refusal (-EAGAIN of a mutating verb on a VM being migrated) carries the
 * VM's migration state, which goes in front of it (and into the --json
 * error document).
 */
int ctl_reply_fail(struct gisactl *g, const ctl_response *resp)
{
	const char *msg = resp->message && resp->message[0] ? resp->message : NULL;
	int err = resp->error;
	char dflt[96];

	if (!msg) {
		snprintf(dflt, sizeof(dflt), "gisad: %s (%d)", strerror(err < 0 ? -err : err),
			 err);
		msg = dflt;
	}
	if (resp->has_migration) {
		g->errmigration = migration_state_name(resp->migration);
		return out_fail(g, err, "VM is migrating (state %s): %s", g->errmigration, msg);
	}
	return out_fail(g, err, "%s", msg);
}

int ctl_exchange(struct gisactl *g, ctl_request *req, int pass_fd, ctl_response **ret)
{
	static bool sndbuf_raised;
	ctl_response *resp = NULL;
	uint8_t *buf;
	size_t len;
	int r;

	*ret = NULL;
	r = gisactl_connect(g);
	if (r)
		return r;
	if (!sndbuf_raised) {
		int sz = (int)CTL_SNDBUF;

		/* FORCE works for root only; the kernel caps the other at wmem_max. */
		if (setsockopt(g->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)))
			(void)setsockopt(g->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		sndbuf_raised = true;
	}
	req->has_version = true;
	req->version = GISA__V1__CONTROL_PROTOCOL__CONTROL_PROTOCOL_VERSION;
	req->has_id = true;
	req->id = next_id++;
	len = gisa__v1__request__get_packed_size(req);
	buf = malloc(len ? len : 1);
	if (!buf)
		return out_fail(g, -ENOMEM, "out of memory");
	gisa__v1__request__pack(req, buf);
	r = send_dgram(g->fd, buf, len, pass_fd);
	free(buf);
	if (r == -EMSGSIZE)
		return out_fail(g, r, "a request of %zu bytes does not fit this socket's send "
				"buffer", len);
	/* A refused client finds the socket closed; the reason is queued. */
	if (r && r != -EPIPE && r != -ECONNRESET)
		return out_fail(g, r, "cannot send to gisad at `%s': %s", g->socket,
				strerror(-r));

	for (;;) {
		r = ctl_recv(g, &resp);
		if (r == -EINTR)
			continue;
		if (r)
			return r;
		if (resp->result_case == GISA__V1__RESPONSE__RESULT_EVENT) {
			ctl_free(resp);
			continue;
		}
		/* id 0 without an event: the daemon refused the connection. */
		if (resp->id == req->id || resp->id == 0)
			break;
		r = out_fail(g, -EPROTO, "gisad answered request %" PRIu64 " while gisactl "
			     "waited for %" PRIu64, resp->id, req->id);
		ctl_free(resp);
		return r;
	}
	*ret = resp;
	return 0;
}

int ctl_call(struct gisactl *g, ctl_request *req, int pass_fd, ctl_response **ret)
{
	int r = ctl_exchange(g, req, pass_fd, ret);

	if (!r && (*ret)->error)
		return ctl_reply_fail(g, *ret);
	return r;
}

int ctl_expect(struct gisactl *g, const ctl_response *resp, Gisa__V1__Response__ResultCase want)
{
	if (resp->result_case == want)
		return 0;
	return out_fail(g, -EPROTO, "gisad's reply carries result %d, not the expected %d "
			"(is gisad older than gisactl?)", (int)resp->result_case, (int)want);
}

/* ---- argument values ---------------------------------------------------- */

int arg_u64(struct gisactl *g, const char *what, const char *s, uint64_t max, uint64_t *ret)
{
	uint64_t v;

	if (parse_number(s, &v) || v > max)
		return out_usage(g, "%s takes a number from 0 to %" PRIu64 " (decimal, or hex "
				 "with 0x), not `%s'", what, max, s);
	*ret = v;
	return 0;
}

int arg_u32(struct gisactl *g, const char *what, const char *s, uint32_t *ret)
{
	uint64_t v = 0;
	int r = arg_u64(g, what, s, UINT32_MAX, &v);

	if (!r)
		*ret = (uint32_t)v;
	return r;
}

int arg_i32(struct gisactl *g, const char *what, const char *s, int32_t *ret)
{
	bool neg = s[0] == '-';
	uint64_t v;

	/* The magnitude may reach 2^31 only below zero. */
	if (parse_number(s + neg, &v) || v > (uint64_t)INT32_MAX + neg)
		return out_usage(g, "%s takes a number from %d to %d, not `%s'", what, INT32_MIN,
				 INT32_MAX, s);
	*ret = neg ? (int32_t)(-(int64_t)v) : (int32_t)v;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int arg_hex(struct gisactl *g, const char *what, const char *s, uint8_t **ret, size_t *ret_len)
{
	size_t n = strlen(s);
	uint8_t *b;

	if (n % 2)
		return out_usage(g, "%s takes hex bytes (an even number of hex digits), not "
				 "`%.64s%s' (%zu digits)", what, s, n > 64 ? "..." : "", n);
	b = malloc(n / 2 + 1);
	if (!b)
		return out_fail(g, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(b);
			return out_usage(g, "%s takes hex bytes: `%c%c' at offset %zu of `%.64s%s' "
					 "is not one", what, s[2 * i], s[2 * i + 1], 2 * i, s,
					 n > 64 ? "..." : "");
		}
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	*ret = b;
	*ret_len = n / 2;
	return 0;
}

int arg_data(struct gisactl *g, const struct cmd_args *a, size_t cap, uint8_t **ret,
	     size_t *ret_len)
{
	const char *hex = a->opt[OPT_DATA], *file = a->opt[OPT_DATA_FILE];
	int r;

	if (hex && file)
		return out_usage(g, "options `--data' and `--data-file' exclude each other");
	if (file)
		return read_input(g, file, cap, "data file", ret, ret_len);
	if (!hex) {
		*ret = NULL;
		*ret_len = 0;
		return 0;
	}
	r = arg_hex(g, "option `--data'", hex, ret, ret_len);
	if (!r && *ret_len > cap) {
		free(*ret);
		return out_usage(g, "option `--data' gives %zu bytes, at most %zu fit", *ret_len,
				 cap);
	}
	return r;
}

int ctl_vmref(struct gisactl *g, Gisa__V1__Request__VerbCase verb, const char *vm,
	      ctl_response **ret)
{
	ctl_request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__VmRef ref = GISA__V1__VM_REF__INIT;

	ref.vm = (char *)vm;
	req.verb_case = verb;
	req.vm_info = &ref;     /* every VmRef verb shares the oneof's slot */
	return ctl_call(g, &req, -1, ret);
}

int ctl_noargs(struct gisactl *g, Gisa__V1__Request__VerbCase verb, ctl_response **ret)
{
	ctl_request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__NoArgs na = GISA__V1__NO_ARGS__INIT;

	req.verb_case = verb;
	req.host_info = &na;    /* every NoArgs verb shares the oneof's slot */
	return ctl_call(g, &req, -1, ret);
}

/* The page's entries: their number, whether more follow, the last's key. */
static void page_of(const ctl_response *resp, size_t *n, bool *more, const char **key,
		    uint64_t *id)
{
	*key = NULL;
	*id = 0;
	switch (resp->result_case) {
	case GISA__V1__RESPONSE__RESULT_VM_LIST:
		*n = resp->vm_list->n_vms;
		*more = resp->vm_list->more;
		if (*n)
			*key = resp->vm_list->vms[*n - 1]->name;
		break;
	case GISA__V1__RESPONSE__RESULT_JOBS:
		*n = resp->jobs->n_jobs;
		*more = resp->jobs->more;
		if (*n)
			*id = resp->jobs->jobs[*n - 1]->id;
		break;
	default:
		*n = resp->checkpoints->n_entries;
		*more = resp->checkpoints->more;
		if (*n)
			*key = resp->checkpoints->entries[*n - 1]->tag;
		break;
	}
}

int ctl_pager_next(struct gisactl *g, struct ctl_pager *p, ctl_response **ret)
{
	ctl_request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__VmListArgs va = GISA__V1__VM_LIST_ARGS__INIT;
	Gisa__V1__JobListArgs ja = GISA__V1__JOB_LIST_ARGS__INIT;
	Gisa__V1__CheckpointListArgs ca = GISA__V1__CHECKPOINT_LIST_ARGS__INIT;
	const char *after = p->started ? p->after : NULL, *key;
	Gisa__V1__Response__ResultCase want;
	ctl_response *resp = NULL;
	uint64_t id;
	size_t n;
	bool more;
	int r;

	*ret = NULL;
	if (p->done)
		return 0;
	req.verb_case = p->verb;
	/* A limit, even none (0), asks for pages: without, gisad answers whole or E2BIG. */
	va.has_limit = ja.has_limit = ca.has_limit = true;
	if (p->verb == GISA__V1__REQUEST__VERB_VM_LIST) {
		va.after = (char *)after;
		req.vm_list = &va;
		want = GISA__V1__RESPONSE__RESULT_VM_LIST;
	} else if (p->verb == GISA__V1__REQUEST__VERB_JOB_LIST) {
		ja.has_after = p->started;
		ja.after = p->after_id;
		req.job_list = &ja;
		want = GISA__V1__RESPONSE__RESULT_JOBS;
	} else {
		ca.vm = (char *)p->vm;
		ca.after = (char *)after;
		req.checkpoint_list = &ca;
		want = GISA__V1__RESPONSE__RESULT_CHECKPOINTS;
	}
	r = ctl_call(g, &req, -1, &resp);
	if (!r)
		r = ctl_expect(g, resp, want);
	if (r) {
		ctl_free(resp);
		return r;
	}
	page_of(resp, &n, &more, &key, &id);
	p->done = !more;
	/* A page naming a cursor that does not move on would repeat forever. */
	if (more && (!n || (want == GISA__V1__RESPONSE__RESULT_JOBS ?
			    p->started && id <= p->after_id :
			    !key || strlen(key) >= sizeof(p->after) ||
			    (p->started && strcmp(key, p->after) <= 0)))) {
		ctl_free(resp);
		return out_fail(g, -EPROTO, "gisad's listing page of %zu entries says more follow, "
				"but its last entry does not move past the previous page's", n);
	}
	if (more && key)
		snprintf(p->after, sizeof(p->after), "%s", key);
	p->after_id = id;
	p->started = true;
	*ret = resp;
	return 0;
}

int ctl_vm_order(struct gisactl *g, const char *vm, enum gisa_byteorder *ret)
{
	ctl_response *resp;
	int r;

	r = ctl_vmref(g, GISA__V1__REQUEST__VERB_VM_INFO, vm, &resp);
	if (!r)
		r = ctl_expect(g, resp, GISA__V1__RESPONSE__RESULT_VM_INFO);
	if (!r)
		*ret = resp->vm_info->abi_order == GISA_LE ? GISA_LE : GISA_BE;
	ctl_free(resp);
	return r;
}

int ctl_ping(struct gisactl *g, ctl_response **ret)
{
	ctl_request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__Ping ping = GISA__V1__PING__INIT;
	int r;

	req.verb_case = GISA__V1__REQUEST__VERB_PING;
	req.ping = &ping;
	r = ctl_call(g, &req, -1, ret);
	if (!r)
		r = ctl_expect(g, *ret, GISA__V1__RESPONSE__RESULT_PONG);
	return r;
}

int ctl_max_result(struct gisactl *g, uint32_t *ret)
{
	ctl_response *resp = NULL;
	int r = ctl_ping(g, &resp);

	if (!r) {
		const Gisa__V1__Pong *p = resp->pong;

		*ret = CTL_MAX_RESULT;
		/* A gisad that does not say: its datagram cap (CTL_MAX_RESULT). */
		if (p->has_max_reply && p->max_reply < CTL_MAX_RESULT + CTL_REPLY_HEADROOM)
			*ret = p->max_reply > CTL_REPLY_HEADROOM ? p->max_reply - CTL_REPLY_HEADROOM : 0;
	}
	ctl_free(resp);
	return r;
}

/* ---- rendering ---------------------------------------------------------- */

json_t *json_hexbytes(const uint8_t *p, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *s = malloc(2 * len + 1);
	json_t *v;

	if (!s)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 15];
	}
	s[2 * len] = '\0';
	v = json_stringn(s, 2 * len);
	free(s);
	return v;
}

/* 16 bytes a line, each line headed by its address. */
void print_hexdump(const uint8_t *p, size_t len, uint64_t base)
{
	for (size_t off = 0; off < len; off += 16) {
		printf("%016" PRIx64 " ", base + off);
		for (size_t i = off; i < off + 16 && i < len; i++)
			printf("%s%02x", i - off == 8 ? "  " : " ", p[i]);
		putchar('\n');
	}
}

const char *order_name(unsigned order)
{
	return order == GISA_LE ? "le" : "be";
}

const char *run_state_name(unsigned run)
{
	static const char *const names[] = { "running", "idle", "stopped" };

	return run < 3 ? names[run] : "unknown";
}

const char *job_type_name(int type)
{
	static const char *const names[] = { "none", "bounded", "unbounded", "completed",
					     "failed", "cancelled" };

	return type >= 0 && type < 6 ? names[type] : "unknown";
}

const char *job_op_name(int op)
{
	static const char *const names[] = { "none", "checkpoint", "restore", "export",
					     "import", "migrate-out", "migrate-in", "fetch" };

	return op >= 0 && op < 8 ? names[op] : "unknown";
}

const char *migration_state_name(int state)
{
	static const char *const names[] = { "none", "outgoing", "frozen", "in-doubt",
					     "migrated" };

	return state >= 0 && state < 5 ? names[state] : "unknown";
}

const char *migration_phase_name(int phase)
{
	static const char *const names[] = { "none", "connecting", "setup", "precopy",
					     "switchover", "in-doubt", "committed", "resumed",
					     "discarded", "undecided" };

	return phase >= 0 && (size_t)phase < sizeof(names) / sizeof(names[0]) ? names[phase]
									       : "unknown";
}

static const struct {
	uint32_t type;
	const char *name;
} irq_names[] = {
	{ GISA_INT_SIGP_STOP, "sigp-stop" },
	{ GISA_INT_PROGRAM, "program" },
	{ GISA_INT_SIGP_SET_PREFIX, "set-prefix" },
	{ GISA_INT_RESTART, "restart" },
	{ GISA_INT_PFAULT_INIT, "pfault-init" },
	{ GISA_INT_PFAULT_DONE, "pfault-done" },
	{ GISA_INT_MCHK, "mchk" },
	{ GISA_INT_CLOCK_COMP, "clock-comp" },
	{ GISA_INT_CPU_TIMER, "cpu-timer" },
	{ GISA_INT_VIRTIO, "virtio" },
	{ GISA_INT_SERVICE, "service" },
	{ GISA_INT_EMERGENCY, "emergency" },
	{ GISA_INT_EXTERNAL_CALL, "external-call" },
};

static const char *irq_name(uint64_t type)
{
	if (gisa_type_is_io(type))
		return type & GISA_INT_IO_AI_MASK ? "io-adapter" : "io";
	for (size_t i = 0; i < sizeof(irq_names) / sizeof(irq_names[0]); i++)
		if (irq_names[i].type == type)
			return irq_names[i].name;
	return "unknown";
}

void fmt_irq(const struct gisa_irq *irq, char *buf, size_t size)
{
	const char *name = irq_name(irq->type);

	switch (gisa_irq_payload(irq->type)) {
	case GISA_PAYLOAD_IO:
		snprintf(buf, size, "%-13s type 0x%08" PRIx64 " schid 0x%04x nr 0x%04x "
			 "parm 0x%08x word 0x%08x (isc %u)", name, irq->type,
			 irq->u.io.subchannel_id, irq->u.io.subchannel_nr, irq->u.io.io_int_parm,
			 irq->u.io.io_int_word, GISA_IO_WORD_ISC(irq->u.io.io_int_word));
		break;
	case GISA_PAYLOAD_EXT:
		snprintf(buf, size, "%-13s type 0x%08" PRIx64 " params 0x%08x params2 0x%" PRIx64,
			 name, irq->type, irq->u.ext.ext_params, irq->u.ext.ext_params2);
		break;
	case GISA_PAYLOAD_MCHK:
		snprintf(buf, size, "%-13s type 0x%08" PRIx64 " cr14 0x%" PRIx64 " mcic 0x%" PRIx64,
			 name, irq->type, irq->u.mchk.cr14, irq->u.mchk.mcic);
		break;
	default:
		snprintf(buf, size, "%-13s type 0x%08" PRIx64, name, irq->type);
		break;
	}
}

json_t *json_irq(const uint8_t *rec, enum gisa_byteorder order)
{
	json_t *o = json_object();
	struct gisa_irq irq;

	gisa_irq_unpack1(rec, order, &irq);
	jset(o, "type", json_hex64(irq.type));
	jset(o, "name", json_string(irq_name(irq.type)));
	switch (gisa_irq_payload(irq.type)) {
	case GISA_PAYLOAD_IO:
		jset(o, "subchannel_id", json_integer(irq.u.io.subchannel_id));
		jset(o, "subchannel_nr", json_integer(irq.u.io.subchannel_nr));
		jset(o, "io_int_parm", json_hex64(irq.u.io.io_int_parm));
		jset(o, "io_int_word", json_hex64(irq.u.io.io_int_word));
		jset(o, "isc", json_integer(GISA_IO_WORD_ISC(irq.u.io.io_int_word)));
		break;
	case GISA_PAYLOAD_EXT:
		jset(o, "ext_params", json_hex64(irq.u.ext.ext_params));
		jset(o, "ext_params2", json_hex64(irq.u.ext.ext_params2));
		break;
	case GISA_PAYLOAD_MCHK:
		jset(o, "cr14", json_hex64(irq.u.mchk.cr14));
		jset(o, "mcic", json_hex64(irq.u.mchk.mcic));
		break;
	default:
		break;
	}
	jset(o, "hex", json_hexbytes(rec, GISA_IRQ_SIZE));
	return o;
}

json_t *json_job(const Gisa__V1__JobInfo *j)
{
	json_t *o = json_object();

	jset(o, "id", json_integer((json_int_t)j->id));
	jset(o, "type", json_string(job_type_name(j->type)));
	jset(o, "operation", json_string(job_op_name(j->operation)));
	jset(o, "vm", json_str_or_null(j->vm));
	jset(o, "tag", json_str_or_null(j->tag));
	if (j->has_started_unix_ns) {
		char when[48];

		fmt_time(j->started_unix_ns, when, sizeof(when));
		jset(o, "started", json_string(when));
	} else {
		jset(o, "started", json_null());
	}
	jset(o, "elapsed_ns", json_integer((json_int_t)j->elapsed_ns));
	jset(o, "data_total", json_integer((json_int_t)j->data_total));
	jset(o, "data_processed", json_integer((json_int_t)j->data_processed));
	jset(o, "data_remaining", json_integer((json_int_t)j->data_remaining));
	jset(o, "error", j->error ? json_string(errno_code(j->error)) : json_null());
	jset(o, "error_message", json_str_or_null(j->error_message));
	if (j->has_digest && j->digest.len == GISA_SNAP_DIGEST_SIZE) {
		char hex[65];

		gisa_snap_digest_hex(j->digest.data, hex);
		jset(o, "digest", json_string(hex));
	} else {
		jset(o, "digest", json_null());
	}
	jset(o, "migration", j->migration ? json_migration(j->migration) : json_null());
	return o;
}

void print_job(const Gisa__V1__JobInfo *j)
{
	char when[48] = "(unknown)";

	if (j->has_started_unix_ns)
		fmt_time(j->started_unix_ns, when, sizeof(when));
	out_kv("job", "%" PRIu64, j->id);
	out_kv("type", "%s", job_type_name(j->type));
	out_kv("operation", "%s", job_op_name(j->operation));
	out_kv("vm", "%s", j->vm && j->vm[0] ? j->vm : "(none)");
	if (j->tag && j->tag[0])
		out_kv("tag", "%s", j->tag);
	out_kv("started", "%s", when);
	out_kv("elapsed", "%" PRIu64 " ns", j->elapsed_ns);
	out_kv("data", "%" PRIu64 " of %" PRIu64 " bytes processed, %" PRIu64 " remaining",
	       j->data_processed, j->data_total, j->data_remaining);
	if (j->error)
		out_kv("error", "%s (%d): %s", errno_code(j->error), j->error,
		       j->error_message ? j->error_message : "");
	if (j->has_digest && j->digest.len == GISA_SNAP_DIGEST_SIZE) {
		char hex[65];

		gisa_snap_digest_hex(j->digest.data, hex);
		out_kv("digest", "%s", hex);
	}
	if (j->migration)
		print_migration(j->migration);
}
