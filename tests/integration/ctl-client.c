/* SPDX-License-Identifier: MIT */
/*
 * ctl-client: a minimal control-protocol client for the integration tests
 * of gisad's core (gisactl is the real client).  One command per run; the
 * reply is printed as `error=N', `message=...' and one `path=value' line
 * per result field, found through the protobuf descriptors, so every verb's
 * result prints without per-verb code.
 *
 * Exit status: 0 the reply's error is 0, 1 it is not, 2 transport or usage.
 *
 * Besides the verbs, a few commands misbehave on purpose (garbage,
 * truncated and oversized datagrams, many connections) to test the
 * daemon's socket discipline.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.pb-c.h"

#define MAX_DGRAM (1u << 20)

static const char *sock_path = "/run/gisad/control";
static uint64_t next_id = 1;
static int extra_fd = -1;       /* -F: passed with any request */
static bool no_fd;              /* -N: export/import without their fd */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ctl-client: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

static int dial(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int sz = 4 * MAX_DGRAM;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket: %s", strerror(errno));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("connect: %s", strerror(errno));
	/* Large requests need a large send buffer (AF_UNIX datagram rule). */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)))
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	return fd;
}

/* Send raw bytes with an optional descriptor; errno on failure, 0 ok. */
static int send_raw(int fd, const void *buf, size_t len, int pass_fd)
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
	return sendmsg(fd, &mh, MSG_NOSIGNAL) < 0 ? errno : 0;
}

static void send_req(int fd, Gisa__V1__Request *req, int pass_fd)
{
	size_t len;
	uint8_t *buf;
	int e;

	req->has_version = true;
	req->version = GISA__V1__CONTROL_PROTOCOL__CONTROL_PROTOCOL_VERSION;
	req->has_id = true;
	req->id = next_id++;
	len = gisa__v1__request__get_packed_size(req);
	buf = malloc(len ? len : 1);
	if (!buf)
		die("%s", "out of memory");
	gisa__v1__request__pack(req, buf);
	e = send_raw(fd, buf, len, pass_fd);
	free(buf);
	/* A refused peer may find the socket closed; its reply is still queued. */
	if (e && e != EPIPE && e != ECONNRESET)
		die("send: %s", strerror(e));
}

/* recv_resp's answer when SO_RCVTIMEO expired. */
static Gisa__V1__Response timed_out_resp;
#define TIMED_OUT (&timed_out_resp)

/* The next datagram that is not an event, or NULL at end of stream. */
static Gisa__V1__Response *recv_resp(int fd, bool print_events)
{
	static uint8_t buf[MAX_DGRAM];

	bool reset = false;

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		Gisa__V1__Response *resp;

		/*
		 * A refusing daemon closes with our request unread, which
		 * reports ECONNRESET once before its error datagram: read on.
		 */
		if (n < 0 && errno == ECONNRESET && !reset) {
			reset = true;
			continue;
		}
		if (n < 0 && errno == ECONNRESET)
			return NULL;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return TIMED_OUT;
		if (n < 0)
			die("recv: %s", strerror(errno));
		if (n == 0)
			return NULL;
		resp = gisa__v1__response__unpack(NULL, (size_t)n, buf);
		if (!resp)
			die("%s", "malformed response");
		if (resp->result_case != GISA__V1__RESPONSE__RESULT_EVENT)
			return resp;
		if (print_events)
			printf("event kind=%d vm=%s seq=%" PRIu64 "\n", resp->event->kind,
			       resp->event->vm ? resp->event->vm : "", resp->event->seq);
		gisa__v1__response__free_unpacked(resp, NULL);
	}
}

/* ---- generic printing --------------------------------------------------- */

static void print_value(const char *path, const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		printf("%s=%" PRId32 "\n", path, *(const int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		printf("%s=%" PRIu32 "\n", path, *(const uint32_t *)p);
		break;
	case PROTOBUF_C_TYPE_ENUM:
		printf("%s=%d\n", path, *(const int *)p);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		printf("%s=%" PRId64 "\n", path, *(const int64_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		printf("%s=%" PRIu64 "\n", path, *(const uint64_t *)p);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		printf("%s=%d\n", path, *(const protobuf_c_boolean *)p ? 1 : 0);
		break;
	case PROTOBUF_C_TYPE_STRING:
		printf("%s=%s\n", path, *(char *const *)p ? *(char *const *)p : "");
		break;
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;

		printf("%s=", path);
		for (size_t i = 0; i < b->len; i++)
			printf("%02x", b->data[i]);
		printf("\n");
		break;
	}
	default:
		break;
	}
}

static void print_msg(const char *prefix, const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *desc = m->descriptor;

	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		const char *base = (const char *)m;
		const void *p = base + f->offset;
		char path[256];

		snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? "." : "", f->name);
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(const void *)(base + f->quantifier_offset);
			const char *arr = *(char *const *)p;
			size_t sz;

			printf("%s.n=%zu\n", path, n);
			switch (f->type) {
			case PROTOBUF_C_TYPE_MESSAGE:
			case PROTOBUF_C_TYPE_STRING:
				sz = sizeof(void *);
				break;
			case PROTOBUF_C_TYPE_BYTES:
				sz = sizeof(ProtobufCBinaryData);
				break;
			case PROTOBUF_C_TYPE_INT64:
			case PROTOBUF_C_TYPE_SINT64:
			case PROTOBUF_C_TYPE_SFIXED64:
			case PROTOBUF_C_TYPE_UINT64:
			case PROTOBUF_C_TYPE_FIXED64:
			case PROTOBUF_C_TYPE_DOUBLE:
				sz = 8;
				break;
			case PROTOBUF_C_TYPE_BOOL:
				sz = sizeof(protobuf_c_boolean);
				break;
			default:
				sz = 4;
				break;
			}
			for (size_t k = 0; k < n; k++) {
				char ip[300];

				snprintf(ip, sizeof(ip), "%s[%zu]", path, k);
				const void *e = arr + k * sz;

				if (f->type == PROTOBUF_C_TYPE_MESSAGE)
					print_msg(ip, *(ProtobufCMessage *const *)e);
				else
					print_value(ip, f, e);
			}
			continue;
		}
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			if (*(const uint32_t *)(const void *)(base + f->quantifier_offset) != f->id)
				continue;
		} else if (f->type == PROTOBUF_C_TYPE_MESSAGE ||
			   f->type == PROTOBUF_C_TYPE_STRING) {
			if (!*(void *const *)p)
				continue;
		} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
			   !*(const protobuf_c_boolean *)(const void *)(base +
									 f->quantifier_offset)) {
			continue;
		}
		if (f->type == PROTOBUF_C_TYPE_MESSAGE)
			print_msg(path, *(ProtobufCMessage *const *)p);
		else
			print_value(path, f, p);
	}
}

/* Print a reply; its error decides the exit status. */
static int report(Gisa__V1__Response *resp)
{
	int err;

	if (!resp) {
		printf("eof=1\n");
		return 2;
	}
	err = resp->error;
	printf("error=%d\n", err);
	if (resp->message)
		printf("message=%s\n", resp->message);
	if (resp->result_case != GISA__V1__RESPONSE__RESULT__NOT_SET) {
		const ProtobufCFieldDescriptor *f =
			protobuf_c_message_descriptor_get_field(resp->base.descriptor,
								 resp->result_case);
		char path[64];

		snprintf(path, sizeof(path), "%s", f ? f->name : "result");
		print_msg(path, (const ProtobufCMessage *)resp->pong);
	}
	gisa__v1__response__free_unpacked(resp, NULL);
	fflush(stdout);
	return err ? 1 : 0;
}

/* ---- argument helpers --------------------------------------------------- */

static uint64_t num(const char *s)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || !*s)
		die("not a number: `%s'", s);
	return v;
}

/* key=value arguments: the value of key, or NULL. */
static const char *opt(int argc, char **argv, const char *key)
{
	size_t kl = strlen(key);

	for (int i = 0; i < argc; i++)
		if (strncmp(argv[i], key, kl) == 0 && argv[i][kl] == '=')
			return argv[i] + kl + 1;
	return NULL;
}

static uint8_t *unhex(const char *s, size_t *len)
{
	size_t n = strlen(s);
	uint8_t *b = malloc(n / 2 + 1);

	if (n % 2 || !b)
		die("bad hex string `%s'", s);
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			die("bad hex string `%s'", s);
		b[i] = (uint8_t)v;
	}
	*len = n / 2;
	return b;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* ---- commands ----------------------------------------------------------- */

static int one(Gisa__V1__Request *req, int pass_fd)
{
	int fd = dial();
	int rc;

	if (no_fd)
		pass_fd = -1;
	else if (pass_fd < 0)
		pass_fd = extra_fd;
	send_req(fd, req, pass_fd);
	rc = report(recv_resp(fd, false));
	close(fd);
	return rc;
}

static int cmd_vm_create(int argc, char **argv)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__VmCreate c = GISA__V1__VM_CREATE__INIT;
	Gisa__V1__MemslotSpec slot = GISA__V1__MEMSLOT_SPEC__INIT;
	Gisa__V1__MemslotSpec *slots[1] = { &slot };
	const char *v;

	c.name = argv[0];
	if ((v = opt(argc, argv, "profile")))
		c.has_profile = true, c.profile = (uint32_t)num(v);
	if ((v = opt(argc, argv, "caps")))
		c.has_caps = true, c.caps = (uint32_t)num(v);
	c.has_vcpus = true;
	c.vcpus = (v = opt(argc, argv, "vcpus")) ? (uint32_t)num(v) : 1;
	if ((v = opt(argc, argv, "noflic")))
		c.has_no_flic = true, c.no_flic = num(v) != 0;
	if ((v = opt(argc, argv, "mem_cap")))
		c.has_mem_cap = true, c.mem_cap = num(v);
	/* A memslot [0, 1 MiB) unless memslot=none. */
	v = opt(argc, argv, "memslot");
	if (!v || strcmp(v, "none") != 0) {
		slot.has_slot = slot.has_gpa = slot.has_size = true;
		slot.size = 1u << 20;
		c.n_memslots = 1;
		c.memslots = slots;
	}
	req.verb_case = GISA__V1__REQUEST__VERB_VM_CREATE;
	req.vm_create = &c;
	return one(&req, -1);
}

/* Verbs whose request is just a VM name. */
static int cmd_vmref(Gisa__V1__Request__VerbCase vc, const char *name)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__VmRef ref = GISA__V1__VM_REF__INIT;

	ref.vm = (char *)name;
	req.verb_case = vc;
	req.vm_destroy = &ref;   /* every VmRef member shares the union slot */
	return one(&req, -1);
}

static int cmd_noargs(Gisa__V1__Request__VerbCase vc)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__NoArgs na = GISA__V1__NO_ARGS__INIT;
	Gisa__V1__Ping ping = GISA__V1__PING__INIT;

	req.verb_case = vc;
	if (vc == GISA__V1__REQUEST__VERB_PING)
		req.ping = &ping;
	else
		req.host_info = &na;    /* vm_list, job_list: as an older client's */
	return one(&req, -1);
}

/* n big-endian I/O records on isc, parm = start + i (zero outside u.io). */
static uint8_t *io_records(uint32_t n, uint32_t isc, uint32_t start)
{
	uint8_t *recs = calloc(n ? n : 1, 72);

	if (!recs)
		die("%s", "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		uint8_t *p = recs + (size_t)i * 72;

		put_be(p, 0x00010000u | ((start + i) & 0xffff), 8);   /* type: ssid 0, schid */
		put_be(p + 8, 0x0001, 2);                              /* subchannel id */
		put_be(p + 10, (start + i) & 0xffff, 2);               /* subchannel nr */
		put_be(p + 12, start + i, 4);                          /* parm */
		put_be(p + 16, isc << 27, 4);                          /* word: ISC */
	}
	return recs;
}

/* records-hex COUNT ISC [START]: the bytes batch-io sends, in hex. */
static int cmd_records_hex(int argc, char **argv)
{
	uint32_t n = (uint32_t)num(argv[0]);
	uint8_t *recs = io_records(n, (uint32_t)num(argv[1]),
				   argc > 2 ? (uint32_t)num(argv[2]) : 0);

	for (size_t i = 0; i < (size_t)n * 72; i++)
		printf("%02x", recs[i]);
	printf("\n");
	free(recs);
	return 0;
}

/* batch-io VM COUNT ISC [START]: COUNT I/O records on ISC, parm = START + i. */
static int cmd_batch_io(int argc, char **argv)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__BatchInject b = GISA__V1__BATCH_INJECT__INIT;
	uint32_t n = (uint32_t)num(argv[1]);
	uint8_t *recs = io_records(n, (uint32_t)num(argv[2]),
				   argc > 3 ? (uint32_t)num(argv[3]) : 0);
	int rc;

	b.vm = argv[0];
	b.has_records = true;
	b.records.data = recs;
	b.records.len = (size_t)n * 72;
	req.verb_case = GISA__V1__REQUEST__VERB_BATCH_INJECT;
	req.batch_inject = &b;
	rc = one(&req, -1);
	free(recs);
	return rc;
}

/* batch-hex VM HEX: raw records given in hex. */
static int cmd_batch_hex(char **argv)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__BatchInject b = GISA__V1__BATCH_INJECT__INIT;
	int rc;

	b.vm = argv[0];
	b.has_records = true;
	b.records.data = unhex(argv[1], &b.records.len);
	req.verb_case = GISA__V1__REQUEST__VERB_BATCH_INJECT;
	req.batch_inject = &b;
	rc = one(&req, -1);
	free(b.records.data);
	return rc;
}

/* flic VM has|get|set GROUP ATTR [data=HEX] [buf_len=N] */
static int cmd_flic(int argc, char **argv)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__FlicAttr a = GISA__V1__FLIC_ATTR__INIT;
	const char *v;
	int rc;

	a.vm = argv[0];
	a.has_group = a.has_attr = true;
	a.group = (uint32_t)num(argv[2]);
	a.attr = num(argv[3]);
	if ((v = opt(argc, argv, "data"))) {
		a.has_data = true;
		a.data.data = unhex(v, &a.data.len);
	}
	if ((v = opt(argc, argv, "buf_len")))
		a.has_buf_len = true, a.buf_len = (uint32_t)num(v);
	if (strcmp(argv[1], "has") == 0)
		req.verb_case = GISA__V1__REQUEST__VERB_FLIC_HAS;
	else if (strcmp(argv[1], "get") == 0)
		req.verb_case = GISA__V1__REQUEST__VERB_FLIC_GET;
	else
		req.verb_case = GISA__V1__REQUEST__VERB_FLIC_SET;
	req.flic_get = &a;
	rc = one(&req, -1);
	free(a.data.data);
	return rc;
}

/* interrupt VM TYPE PARM [PARM64] */
static int cmd_interrupt(int argc, char **argv)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__Interrupt i = GISA__V1__INTERRUPT__INIT;

	i.vm = argv[0];
	i.has_type = i.has_parm = i.has_parm64 = true;
	i.type = (uint32_t)num(argv[1]);
	i.parm = (uint32_t)num(argv[2]);
	i.parm64 = argc > 3 ? num(argv[3]) : 0;
	req.verb_case = GISA__V1__REQUEST__VERB_INTERRUPT;
	req.interrupt = &i;
	return one(&req, -1);
}

/* export VM FILE [uncompressed]  /  import FILE [name=VM] [replace=1] */
static int cmd_export(int argc, char **argv)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__SnapshotExport e = GISA__V1__SNAPSHOT_EXPORT__INIT;
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc;

	if (fd < 0)
		die("open: %s", strerror(errno));
	e.vm = argv[0];
	req.verb_case = GISA__V1__REQUEST__VERB_SNAPSHOT_EXPORT;
	req.snapshot_export = &e;
	rc = one(&req, fd);
	close(fd);
	return rc;
}

static int cmd_import(int argc, char **argv)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__SnapshotImport im = GISA__V1__SNAPSHOT_IMPORT__INIT;
	int fd = open(argv[0], O_RDONLY | O_CLOEXEC);
	const char *v;
	int rc;

	if (fd < 0)
		die("open: %s", strerror(errno));
	im.vm = (char *)opt(argc, argv, "name");
	if ((v = opt(argc, argv, "replace")))
		im.has_replace = true, im.replace = num(v) != 0;
	req.verb_case = GISA__V1__REQUEST__VERB_SNAPSHOT_IMPORT;
	req.snapshot_import = &im;
	rc = one(&req, fd);
	close(fd);
	return rc;
}

/* ckpt create|restore|delete VM [TAG]  /  ckpt list VM */
static int cmd_ckpt(int argc, char **argv)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__CheckpointRef c = GISA__V1__CHECKPOINT_REF__INIT;

	if (strcmp(argv[0], "list") == 0)
		return cmd_vmref(GISA__V1__REQUEST__VERB_CHECKPOINT_LIST, argv[1]);
	c.vm = argv[1];
	c.tag = argc > 2 ? argv[2] : NULL;
	if (strcmp(argv[0], "create") == 0)
		req.verb_case = GISA__V1__REQUEST__VERB_CHECKPOINT_CREATE;
	else if (strcmp(argv[0], "restore") == 0)
		req.verb_case = GISA__V1__REQUEST__VERB_CHECKPOINT_RESTORE;
	else
		req.verb_case = GISA__V1__REQUEST__VERB_CHECKPOINT_DELETE;
	req.checkpoint_create = &c;
	return one(&req, -1);
}

/* job list | job status|abort|clear ID */
static int cmd_job(int argc, char **argv)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__JobRef j = GISA__V1__JOB_REF__INIT;

	if (strcmp(argv[0], "list") == 0)
		return cmd_noargs(GISA__V1__REQUEST__VERB_JOB_LIST);
	j.has_id = true;
	j.id = num(argv[1]);
	if (strcmp(argv[0], "status") == 0)
		req.verb_case = GISA__V1__REQUEST__VERB_JOB_STATUS;
	else if (strcmp(argv[0], "abort") == 0)
		req.verb_case = GISA__V1__REQUEST__VERB_JOB_ABORT;
	else
		req.verb_case = GISA__V1__REQUEST__VERB_JOB_CLEAR;
	req.job_status = &j;
	return one(&req, -1);
}

/* vcpu-set VM IDX PSW_MASK CR6 RUN */
static int cmd_vcpu_set(char **argv)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__VcpuSet v = GISA__V1__VCPU_SET__INIT;
	Gisa__V1__VcpuState st = GISA__V1__VCPU_STATE__INIT;

	v.vm = argv[0];
	v.has_vcpu = true;
	v.vcpu = (uint32_t)num(argv[1]);
	st.has_psw_mask = st.has_cr6 = st.has_run = true;
	st.psw_mask = num(argv[2]);
	st.cr6 = num(argv[3]);
	st.run = (uint32_t)num(argv[4]);
	v.state = &st;
	req.verb_case = GISA__V1__REQUEST__VERB_VCPU_SET;
	req.vcpu_set = &v;
	return one(&req, -1);
}

/*
 * watch COUNT TIMEOUT_MS [vm=VM] [kicks=0] [jobs=0]: subscribe, print
 * `ready' once subscribed, then each event until COUNT arrived (exit 0)
 * or TIMEOUT_MS passed without one (exit 1).
 */
static int cmd_watch(int argc, char **argv)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__Subscribe sub = GISA__V1__SUBSCRIBE__INIT;
	int want = (int)num(argv[0]), ms = (int)num(argv[1]);
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	static uint8_t buf[MAX_DGRAM];
	int fd = dial(), got = 0;
	const char *v;

	sub.vm = (char *)opt(argc, argv, "vm");
	if ((v = opt(argc, argv, "kicks")))
		sub.has_kicks = true, sub.kicks = num(v) != 0;
	if ((v = opt(argc, argv, "jobs")))
		sub.has_jobs = true, sub.jobs = num(v) != 0;
	req.verb_case = GISA__V1__REQUEST__VERB_SUBSCRIBE;
	req.subscribe = &sub;
	send_req(fd, &req, -1);
	if (report(recv_resp(fd, false)))
		return 1;
	printf("ready\n");
	fflush(stdout);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (got < want) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		Gisa__V1__Response *resp;
		char path[32];

		if (n <= 0)
			break;
		resp = gisa__v1__response__unpack(NULL, (size_t)n, buf);
		if (!resp)
			die("%s", "malformed event");
		if (resp->result_case == GISA__V1__RESPONSE__RESULT_EVENT) {
			snprintf(path, sizeof(path), "event[%d]", got++);
			print_msg(path, (const ProtobufCMessage *)resp->event);
			fflush(stdout);
		}
		gisa__v1__response__free_unpacked(resp, NULL);
	}
	close(fd);
	printf("events=%d\n", got);
	return got == want ? 0 : 1;
}

/* ---- generic requests: `req VERB path=value ...' ------------------------- */

static size_t elem_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_MESSAGE:
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	default:
		return 4;
	}
}

/*
 * Set the field at path ("a.b[2].c") of m from value, creating messages
 * and growing repeated fields on the way.  value NULL only creates.
 */
static void set_path(ProtobufCMessage *m, const char *path, const char *value)
{
	const ProtobufCFieldDescriptor *f;
	const char *rest = strchr(path, '.');
	size_t len = rest ? (size_t)(rest - path) : strlen(path);
	char name[64], *br;
	long idx = -1;
	char *base = (char *)m;
	void *elem;

	if (len >= sizeof(name))
		die("field name too long in `%s'", path);
	memcpy(name, path, len);
	name[len] = '\0';
	br = strchr(name, '[');
	if (br) {
		idx = strtol(br + 1, NULL, 10);
		*br = '\0';
	}
	f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
	if (!f)
		die("%s has no field `%s'", m->descriptor->name, name);
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t *n = (size_t *)(void *)(base + f->quantifier_offset);
		char **arr = (char **)(void *)(base + f->offset);
		size_t sz = elem_size(f);

		if (idx < 0)
			die("repeated field `%s' needs an index", name);
		if ((size_t)idx >= *n) {
			char *grown = realloc(*arr, ((size_t)idx + 1) * sz);

			if (!grown)
				die("%s", "out of memory");
			memset(grown + *n * sz, 0, ((size_t)idx + 1 - *n) * sz);
			*arr = grown;
			*n = (size_t)idx + 1;
		}
		elem = *arr + (size_t)idx * sz;
	} else {
		elem = base + f->offset;
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
			*(uint32_t *)(void *)(base + f->quantifier_offset) = f->id;
		else if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
			 f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING)
			*(protobuf_c_boolean *)(void *)(base + f->quantifier_offset) = 1;
	}
	if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
		const ProtobufCMessageDescriptor *d = f->descriptor;
		ProtobufCMessage **sub = elem;

		if (!*sub) {
			*sub = calloc(1, d->sizeof_message);
			if (!*sub)
				die("%s", "out of memory");
			protobuf_c_message_init(d, *sub);
		}
		if (rest)
			set_path(*sub, rest + 1, value);
		return;
	}
	if (!value)
		die("field `%s' needs a value", name);
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		*(char **)elem = strdup(value);
		break;
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *b = elem;

		b->data = unhex(value, &b->len);
		break;
	}
	case PROTOBUF_C_TYPE_BOOL:
		*(protobuf_c_boolean *)elem = num(value) != 0;
		break;
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		*(int32_t *)elem = (int32_t)strtol(value, NULL, 0);
		break;
	default:
		if (elem_size(f) == 8)
			*(uint64_t *)elem = num(value);
		else
			*(uint32_t *)elem = (uint32_t)num(value);
		break;
	}
}

/*
 * value with its first run of '#' replaced by idx, zero-padded to the
 * run's length (malloc'd); idx < 0: value as it is.
 */
static char *expand(const char *value, long long idx)
{
	size_t n = strlen(value), at = strcspn(value, "#"), run = strspn(value + at, "#");
	char *out = malloc(n + 24);

	if (!out)
		die("%s", "out of memory");
	if (idx < 0 || !run)
		memcpy(out, value, n + 1);
	else
		snprintf(out, n + 24, "%.*s%0*lld%s", (int)at, value, (int)run, idx,
			 value + at + run);
	return out;
}

/* The request `VERB path=value ...' builds (values expanded with idx). */
static Gisa__V1__Request *build_req(int argc, char **argv, long long idx)
{
	Gisa__V1__Request *req = calloc(1, sizeof(*req));
	char path[256];

	if (!req)
		die("%s", "out of memory");
	gisa__v1__request__init(req);
	set_path(&req->base, argv[0], NULL);
	for (int i = 1; i < argc; i++) {
		char *eq = strchr(argv[i], '='), *value;

		if (!eq)
			die("expected path=value, got `%s'", argv[i]);
		snprintf(path, sizeof(path), "%s.%.*s", argv[0], (int)(eq - argv[i]), argv[i]);
		value = expand(eq + 1, idx);
		set_path(&req->base, path, value);
		free(value);
	}
	return req;
}

/* req VERB [path=value ...]: any request, built through the descriptors. */
static int cmd_req(int argc, char **argv)
{
	Gisa__V1__Request *req = build_req(argc, argv, -1);
	int rc = one(req, -1);

	/* Built from malloc'd parts only, as protobuf-c's default allocator frees. */
	protobuf_c_message_free_unpacked(&req->base, NULL);
	return rc;
}

/*
 * bulk COUNT VERB [path=value ...]: COUNT such requests on one connection,
 * pipelined, the first run of '#' in each value replaced by the request's
 * index (0, 1, ...; zero-padded to the run's length).  Prints ok=N,
 * failed=N and the first failure's message; exit status 0 unless the
 * connection fails.
 */
#define BULK_WINDOW 64u

static int cmd_bulk(int argc, char **argv)
{
	uint64_t count = num(argv[0]), sent = 0, got = 0, failed = 0;
	char *first = NULL;
	int fd = dial();

	while (got < count) {
		Gisa__V1__Response *resp;

		for (; sent < count && sent - got < BULK_WINDOW; sent++) {
			Gisa__V1__Request *req = build_req(argc - 1, argv + 1, (long long)sent);

			send_req(fd, req, -1);
			protobuf_c_message_free_unpacked(&req->base, NULL);
		}
		resp = recv_resp(fd, false);
		if (!resp || resp == TIMED_OUT)
			die("bulk: the connection ended after %" PRIu64 " of %" PRIu64 " replies",
			    got, count);
		if (resp->error && failed++ == 0)
			first = strdup(resp->message ? resp->message : "");
		gisa__v1__response__free_unpacked(resp, NULL);
		got++;
	}
	close(fd);
	printf("ok=%" PRIu64 "\nfailed=%" PRIu64 "\n", count - failed, failed);
	if (first)
		printf("first_error=%s\n", first);
	free(first);
	return 0;
}

/* A ping on an open connection: 0 if answered without error. */
static int ping_on(int fd, const char *who)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__Ping ping = GISA__V1__PING__INIT;
	Gisa__V1__Response *resp;
	int ok;

	req.verb_case = GISA__V1__REQUEST__VERB_PING;
	req.ping = &ping;
	send_req(fd, &req, -1);
	resp = recv_resp(fd, false);
	ok = resp && resp->error == 0 && resp->result_case == GISA__V1__RESPONSE__RESULT_PONG;
	printf("%s ping=%s\n", who, ok ? "ok" : "failed");
	if (resp)
		gisa__v1__response__free_unpacked(resp, NULL);
	return ok ? 0 : 1;
}

/* Send raw bytes on fd and print the reply as `label.error=' etc. */
static int abuse_one(int fd, const char *label, const void *buf, size_t len)
{
	Gisa__V1__Response *resp;
	int e = send_raw(fd, buf, len, -1);

	if (e)
		die("send: %s", strerror(e));
	resp = recv_resp(fd, false);
	if (!resp) {
		printf("%s eof=1\n", label);
		return 1;
	}
	printf("%s error=%d\n%s message=%s\n", label, resp->error, label,
	       resp->message ? resp->message : "");
	gisa__v1__response__free_unpacked(resp, NULL);
	return 0;
}

/*
 * abuse: on connection A send garbage, a truncated request, an oversized
 * datagram, a request without version and one from a future version; ping
 * on connection B between each; then ping on A.
 */
static int cmd_abuse(void)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__VmCreate c = GISA__V1__VM_CREATE__INIT;
	int a = dial(), b = dial();
	uint8_t packed[256], *big;
	size_t plen;
	int fail = 0;
	static const uint8_t garbage[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x7a, 0x03 };

	fail |= ping_on(b, "b");
	fail |= abuse_one(a, "garbage", garbage, sizeof(garbage));
	fail |= ping_on(b, "b");

	c.name = (char *)"truncated-vm-name";
	req.has_version = true;
	req.version = GISA__V1__CONTROL_PROTOCOL__CONTROL_PROTOCOL_VERSION;
	req.verb_case = GISA__V1__REQUEST__VERB_VM_CREATE;
	req.vm_create = &c;
	plen = gisa__v1__request__pack(&req, packed);
	fail |= abuse_one(a, "truncated", packed, plen - 5);
	fail |= ping_on(b, "b");

	big = calloc(1, MAX_DGRAM + 4096);
	if (!big)
		die("%s", "out of memory");
	fail |= abuse_one(a, "oversized", big, MAX_DGRAM + 4096);
	free(big);
	fail |= ping_on(b, "b");

	req.has_version = false;
	plen = gisa__v1__request__pack(&req, packed);
	fail |= abuse_one(a, "noversion", packed, plen);
	req.has_version = true;
	req.version = 99;
	plen = gisa__v1__request__pack(&req, packed);
	fail |= abuse_one(a, "future", packed, plen);
	/* An unknown verb: field 1000, varint 1. */
	{
		uint8_t unk[] = { 0x08, 0x01, 0xc0, 0x3e, 0x01 };

		fail |= abuse_one(a, "unknownverb", unk, sizeof(unk));
	}
	fail |= ping_on(b, "b");
	fail |= ping_on(a, "a");
	close(a);
	close(b);
	return fail ? 1 : 0;
}

/*
 * conns N [TIMEOUT_MS]: open N connections, ping on each, keep all open;
 * print how many were served, refused, or not answered in time.
 */
static int cmd_conns(int n, int timeout_ms)
{
	int *fds = calloc((size_t)n, sizeof(int));
	int ok = 0, refused = 0, timedout = 0;

	if (!fds)
		die("%s", "out of memory");
	for (int i = 0; i < n; i++) {
		Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
		Gisa__V1__Ping ping = GISA__V1__PING__INIT;
		Gisa__V1__Response *resp;

		fds[i] = dial();
		if (timeout_ms) {
			struct timeval tv = { .tv_sec = timeout_ms / 1000,
					      .tv_usec = (timeout_ms % 1000) * 1000 };

			setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		}
		req.verb_case = GISA__V1__REQUEST__VERB_PING;
		req.ping = &ping;
		send_req(fds[i], &req, -1);
		resp = recv_resp(fds[i], false);
		if (resp == TIMED_OUT) {
			timedout++;
			continue;
		}
		if (resp && resp->error == 0) {
			ok++;
		} else {
			refused++;
			if (resp)
				printf("refused error=%d\nrefused message=%s\n", resp->error,
				       resp->message ? resp->message : "");
		}
		if (resp)
			gisa__v1__response__free_unpacked(resp, NULL);
	}
	printf("ok=%d\nrefused=%d\ntimedout=%d\n", ok, refused, timedout);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	return 0;
}

/* Drop to uid and gid, with no supplementary group but sgid (if >= 0). */
static void become(uid_t uid, gid_t gid, long sgid)
{
	gid_t sg = (gid_t)sgid;

	if (setgroups(sgid >= 0 ? 1 : 0, sgid >= 0 ? &sg : NULL) || setgid(gid) || setuid(uid))
		die("dropping to the uid: %s", strerror(errno));
}

static void usage(void)
{
	fprintf(stderr,
		"usage: ctl-client [-s SOCKET] [-u UID [-g GID] [-G GID]] [-F|-W FILE | -N] COMMAND ...\n"
		"  -u runs as UID, its gid GID (default UID) and, with -G, that one\n"
		"  supplementary group (else none)\n"
		"  -F FILE (read) or -W FILE (write) passes FILE's descriptor with the\n"
		"  request; -N passes none\n"
		"  ping | vm-list | host-info | job list\n"
		"  vm-create VM [profile=N caps=N vcpus=N noflic=1 memslot=none mem_cap=N]\n"
		"  vm-destroy|vm-info|vm-digest|events VM\n"
		"  batch-io VM COUNT ISC [START] | records-hex COUNT ISC [START]\n"
		"  batch-hex VM HEX\n"
		"  flic VM has|get|set GROUP ATTR [data=HEX] [buf_len=N]\n"
		"  interrupt VM TYPE PARM [PARM64]\n"
		"  export VM FILE | import FILE [name=VM] [replace=1]\n"
		"  ckpt create|restore|delete VM [TAG] | ckpt list VM\n"
		"  job status|abort|clear ID\n"
		"  vcpu-set VM IDX PSW_MASK CR6 RUN\n"
		"  watch COUNT TIMEOUT_MS [vm=VM] [kicks=0|1] [jobs=0|1]\n"
		"  req VERB [path=value ...]   (any verb: fields by name, e.g. slot.gpa=4096,\n"
		"                              entries[0].gsi=5; bytes in hex)\n"
		"  bulk COUNT VERB [path=value ...]   (COUNT requests on one connection;\n"
		"                              `#...' in a value = the index, zero-padded)\n"
		"  abuse | conns N [TIMEOUT_MS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *cmd;
	long uid = -1, gid = -1, sgid = -1;
	int c;

	while ((c = getopt(argc, argv, "+s:u:g:G:F:W:N")) != -1) {
		switch (c) {
		case 'W':
			extra_fd = open(optarg, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			if (extra_fd < 0)
				die("open %s: %s", optarg, strerror(errno));
			break;
		case 'F':
			extra_fd = open(optarg, O_RDONLY | O_CLOEXEC);
			if (extra_fd < 0)
				die("open %s: %s", optarg, strerror(errno));
			break;
		case 'N':
			no_fd = true;
			break;
		case 's':
			sock_path = optarg;
			break;
		case 'u':
			uid = (long)num(optarg);
			break;
		case 'g':
			gid = (long)num(optarg);
			break;
		case 'G':
			sgid = (long)num(optarg);
			break;
		default:
			usage();
		}
	}
	if (uid >= 0)
		become((uid_t)uid, (gid_t)(gid >= 0 ? gid : uid), sgid);
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	cmd = argv[0];
	argc--;
	argv++;
#define NEED(n)                 \
	do {                    \
		if (argc < (n)) \
			usage(); \
	} while (0)
	if (strcmp(cmd, "ping") == 0)
		return cmd_noargs(GISA__V1__REQUEST__VERB_PING);
	if (strcmp(cmd, "vm-list") == 0)
		return cmd_noargs(GISA__V1__REQUEST__VERB_VM_LIST);
	if (strcmp(cmd, "host-info") == 0)
		return cmd_noargs(GISA__V1__REQUEST__VERB_HOST_INFO);
	if (strcmp(cmd, "vm-create") == 0 && argc >= 1)
		return cmd_vm_create(argc, argv);
	if (strcmp(cmd, "vm-destroy") == 0 && argc >= 1)
		return cmd_vmref(GISA__V1__REQUEST__VERB_VM_DESTROY, argv[0]);
	if (strcmp(cmd, "vm-info") == 0 && argc >= 1)
		return cmd_vmref(GISA__V1__REQUEST__VERB_VM_INFO, argv[0]);
	if (strcmp(cmd, "vm-digest") == 0 && argc >= 1)
		return cmd_vmref(GISA__V1__REQUEST__VERB_VM_DIGEST, argv[0]);
	if (strcmp(cmd, "events") == 0 && argc >= 1)
		return cmd_vmref(GISA__V1__REQUEST__VERB_EVENTS_READ, argv[0]);
	if (strcmp(cmd, "records-hex") == 0) {
		NEED(2);
		return cmd_records_hex(argc, argv);
	}
	if (strcmp(cmd, "batch-io") == 0) {
		NEED(3);
		return cmd_batch_io(argc, argv);
	}
	if (strcmp(cmd, "batch-hex") == 0) {
		NEED(2);
		return cmd_batch_hex(argv);
	}
	if (strcmp(cmd, "flic") == 0) {
		NEED(4);
		return cmd_flic(argc, argv);
	}
	if (strcmp(cmd, "interrupt") == 0) {
		NEED(3);
		return cmd_interrupt(argc, argv);
	}
	if (strcmp(cmd, "export") == 0) {
		NEED(2);
		return cmd_export(argc, argv);
	}
	if (strcmp(cmd, "import") == 0) {
		NEED(1);
		return cmd_import(argc, argv);
	}
	if (strcmp(cmd, "ckpt") == 0) {
		NEED(2);
		return cmd_ckpt(argc, argv);
	}
	if (strcmp(cmd, "job") == 0) {
		NEED(1);
		if (strcmp(argv[0], "list") != 0)
			NEED(2);
		return cmd_job(argc, argv);
	}
	if (strcmp(cmd, "vcpu-set") == 0) {
		NEED(5);
		return cmd_vcpu_set(argv);
	}
	if (strcmp(cmd, "watch") == 0) {
		NEED(2);
		return cmd_watch(argc, argv);
	}
	if (strcmp(cmd, "req") == 0) {
		NEED(1);
		return cmd_req(argc, argv);
	}
	if (strcmp(cmd, "bulk") == 0) {
		NEED(2);
		return cmd_bulk(argc, argv);
	}
	if (strcmp(cmd, "abuse") == 0)
		return cmd_abuse();
	if (strcmp(cmd, "conns") == 0) {
		NEED(1);
		return cmd_conns((int)num(argv[0]), argc > 1 ? (int)num(argv[1]) : 0);
	}
	usage();
	return 2;
}
