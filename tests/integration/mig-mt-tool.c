/* SPDX-License-Identifier: MIT */
/*
 * mig-mt-tool: the helper of mig-migrate.sh (live migration between two
 * real gisad).  One subcommand per run:
 *
 *   randsnap SEED PROFILE CAPS OUT
 *       A seeded random VM (tests/support/randvm.h: seed 0 is the directed
 *       build that reaches every kind of state at once, other seeds random
 *       operations) written as a snapshot file; prints its state digest and
 *       a summary line of what it holds.
 *   iorecs N PARM0 OUT
 *       N big-endian I/O records (ISC i % 8, subchannel 0.0.(i % 4),
 *       io_int_parm PARM0 + i) for `gisactl irq inject'.
 *   json FILE PATH
 *       Prints one value of a JSON document (gisactl --json output), so
 *       that the test needs no JSON tool: PATH is dot-separated; an array
 *       takes an index (-N from the end), `?KEY=VALUE' (its elements whose
 *       string member KEY is VALUE) or `#' (its length).
 *   load SOCK VM SEED LOG STOP [WARMUP]
 *       A guest and an injector on one control connection, so that the
 *       order of the log is the order gisad saw: seeded injections of I/O
 *       interrupts with unique parameters, machine checks (one mcic bit
 *       each), service signals (unique SCCB addresses) and GISA IPM bits
 *       (ISC 7), mixed with deliveries (vcpu 0: I/O; vcpu 1, less often:
 *       the rest, so that it coalesces) and TPIs.  WARMUP injection
 *       requests come first, then LOG.ready is created; the loop ends when
 *       STOP exists or the VM is gone (-ENOENT: retired).  Every outcome is
 *       a line of LOG; a refusal other than the migrating error of a frozen
 *       VM stops the tool.
 *   check SNAPSHOT LOG
 *       Exactly once: replays LOG (nothing delivered twice or without
 *       being accepted; each coalesced delivery equal to what was accepted
 *       since the last one) and compares what must still be pending with
 *       the state in SNAPSHOT (an export of the VM, wherever it runs now).
 *       Lines starting with `G' or `#' are comments.
 *   follow SOCK_A SOCK_B SEED RATE STOP DIR VM:H...
 *       The load of mig-soak.sh: the guest and injector of `load' for
 *       every VM given (H: a or b, the host it runs at first), on one
 *       connection to each gisad, following each VM from host to host as
 *       it migrates (-ENOENT: retired here, go to the other).  Seeded
 *       batches of 1 to 16 I/O records while fewer than 256 are pending,
 *       the other classes and deliveries as in `load', RATE requests a
 *       second at most (0: as fast as gisad answers).  Logs to DIR/VM.log
 *       (DIR/VM.log.ready once the VM is set up) until STOP exists;
 *       prints a line of counts per VM.
 *   delta BASE CUR OUT
 *       The delta (gisa/delta.h) that turns snapshot file BASE's state
 *       into CUR's, written to OUT (for slots made by hand).
 *   delay PORTFILE PORT MS
 *       A relay to 127.0.0.1:PORT that holds every byte MS milliseconds in
 *       each direction (a slow link); writes the port it listens on to
 *       PORTFILE and runs until killed.
 *
 * Exit status 0 success, 1 a check failed, 2 usage or a runtime error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <gisa/delta.h>
#include <gisa/gisa.h>
#include <gisa/image.h>
#include <gisa/snapshot.h>

#include "control.pb-c.h"
#include "randvm.h"

#define MAX_DGRAM (1u << 20)

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mig-mt-tool: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

static uint64_t num(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || !*s || *end)
		die("`%s': not a number", s);
	return v;
}

static void write_file(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(buf, 1, len, f) != len || fclose(f))
		die("writing `%s': %s", path, strerror(errno));
}

/* ---- randsnap ------------------------------------------------------------ */

static int cmd_randsnap(char **argv)
{
	static const uint32_t vcpus_by_seed[] = {4, 3, 66, 1, 0, 2, 5};
	uint32_t seed = (uint32_t)num(argv[0]);
	bool newest = strcmp(argv[1], "newest") == 0;
	struct gisa_vm_config cfg = {
		.profile = newest ? GISA_PROFILE_NEWEST : GISA_PROFILE_CLASSIC,
		.caps = (uint32_t)num(argv[2]) & GISA_CAP_ALL,
		.nr_vcpus = vcpus_by_seed[seed % 7],
		.mem_cap = seed % 3 ? 16u << 20 : 0,
		.abi_order = seed & 1 ? GISA_LE : GISA_BE,
	};
	struct rng r = {.s = seed * 0x2545f491ull + cfg.profile * 0x100 + cfg.caps + 0x6d6967};
	struct randvm_opts opts = {.flags = RANDVM_IO_PARM_REPEATS, .view_every = 1};
	struct randvm_side s = {0};
	struct gisa_image *img = NULL;
	struct gisa_snap_opts so = {.compress = seed % 2 == 0, .level = 0};
	uint8_t uuid[16], d[GISA_SNAP_DIGEST_SIZE], *buf = NULL;
	char name[64], hex[65];
	struct gisa_snap_meta meta = {
		.vm_name = name,
		.vm_uuid = uuid,
		.created_unix_ns = 1767225600000000000ull + seed,
		.producer = "mig-mt-tool",
	};
	size_t len = 0, io = 0;
	int e;

	if (strcmp(argv[1], "newest") && strcmp(argv[1], "classic"))
		die("profile `%s': expected classic or newest", argv[1]);
	if (seed == 0) { /* the directed build needs 4 vcpus, big-endian */
		cfg.nr_vcpus = 4;
		cfg.abi_order = GISA_BE;
	}
	for (unsigned i = 0; i < 16; i++)
		uuid[i] = (uint8_t)(rnd(&r) >> 8);
	uuid[6] = (uint8_t)(0x40 | (uuid[6] & 0x0f));
	uuid[8] = (uint8_t)(0x80 | (uuid[8] & 0x3f));
	snprintf(name, sizeof(name), "rand-%u", seed);
	randvm_build(&s, &cfg, &r, &opts, seed == 0, 400 + rn(&r, 800));
	e = gisa_image_from_vm(s.vm, &img);
	if (!e)
		e = gisa_snap_encode(img, &meta, &so, &buf, &len);
	if (!e)
		e = gisa_snap_digest(img, d);
	if (e)
		die("seed %u: encoding the snapshot: %s", seed, strerror(-e));
	write_file(argv[3], buf, len);
	gisa_snap_digest_hex(d, hex);
	for (unsigned li = 0; li <= GISA_MAX_ISC; li++)
		io += img->lists[li].n;
	printf("%s\n", hex);
	printf("io=%zu pfault=%u virtio=%u srv=%u mchk=%u ipm=0x%02x adapters=%u routes=%u "
	       "pages=%u vcpus=%u flic=%d ais=0x%02x/0x%02x\n",
	       io, img->lists[GISA_LIST_PFAULT].n, img->lists[GISA_LIST_VIRTIO].n,
	       img->fl.service_pending, img->fl.mchk_pending, img->gisa.ipm, img->nr_adapters,
	       img->nr_routes, img->nr_pages, img->nr_vcpus, img->fl.flic_present, img->fl.simm,
	       img->fl.nimm);
	free(buf);
	gisa_image_free(img);
	randvm_side_free(&s);
	return 0;
}

/* ---- iorecs -------------------------------------------------------------- */

static struct gisa_irq io_irq(uint32_t parm, unsigned isc, uint16_t schnr)
{
	struct gisa_irq q;

	memset(&q, 0, sizeof(q));
	q.type = GISA_INT_IO(0, 0, 0, schnr);
	q.u.io.subchannel_id = 0x0001;
	q.u.io.subchannel_nr = schnr;
	q.u.io.io_int_parm = parm;
	q.u.io.io_int_word = (uint32_t)isc << 27;
	return q;
}

static int cmd_iorecs(char **argv)
{
	size_t n = (size_t)num(argv[0]);
	uint32_t parm0 = (uint32_t)num(argv[1]);
	uint8_t *buf = calloc(n ? n : 1, GISA_IRQ_SIZE);

	if (!buf)
		die("out of memory");
	for (size_t i = 0; i < n; i++) {
		struct gisa_irq q =
			io_irq(parm0 + (uint32_t)i, (unsigned)(i % 8), (uint16_t)(i % 4));

		gisa_irq_pack1(&q, GISA_BE, buf + i * GISA_IRQ_SIZE);
	}
	write_file(argv[2], buf, n * GISA_IRQ_SIZE);
	free(buf);
	return 0;
}

/* ---- json ---------------------------------------------------------------- */

/* The elements of array a whose member KEY is the string VALUE (spec "KEY=VALUE"). */
static json_t *json_filter(json_t *a, const char *spec, json_t *keep)
{
	const char *eq = strchr(spec, '=');
	json_t *out = json_array(), *e;
	size_t i;

	if (!eq || !out)
		die("filter `?%s': expected ?KEY=VALUE", spec);
	json_array_foreach(a, i, e)
	{
		json_t *m =
			json_is_object(e) ? json_object_getn(e, spec, (size_t)(eq - spec)) : NULL;

		if (json_is_string(m) && strcmp(json_string_value(m), eq + 1) == 0)
			json_array_append(out, e);
	}
	json_array_append_new(keep, out); /* freed with keep */
	return out;
}

static int cmd_json(char **argv)
{
	json_error_t jerr;
	json_t *root = json_load_file(argv[0], JSON_DECODE_ANY, &jerr);
	json_t *keep = json_array(), *v;
	char *path = strdup(argv[1]), *save = NULL, *tok;
	int rc = 0;

	if (!root)
		die("`%s' line %d: %s", argv[0], jerr.line, jerr.text);
	if (!path || !keep)
		die("out of memory");
	v = root;
	for (tok = strtok_r(path, ".", &save); tok && v; tok = strtok_r(NULL, ".", &save)) {
		if (strcmp(tok, "#") == 0) {
			printf("%zu\n",
			       json_is_array(v) ? json_array_size(v) : json_object_size(v));
			goto out;
		}
		if (tok[0] == '?' && json_is_array(v))
			v = json_filter(v, tok + 1, keep);
		else if (json_is_array(v) && tok[0] == '-')
			v = json_array_get(v, json_array_size(v) - (size_t)num(tok + 1));
		else if (json_is_array(v))
			v = json_array_get(v, (size_t)num(tok));
		else
			v = json_object_get(v, tok);
	}
	if (!v) {
		fprintf(stderr, "mig-mt-tool: `%s' has no `%s'\n", argv[0], argv[1]);
		rc = 1;
	} else if (json_is_string(v)) {
		printf("%s\n", json_string_value(v));
	} else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

		printf("%s\n", s ? s : "?");
		free(s);
	}
out:
	free(path);
	json_decref(keep);
	json_decref(root);
	return rc;
}

/* ---- a control connection -------------------------------------------------- */

struct ctl {
	int fd;
	uint64_t next_id;
	uint8_t *buf;
};

static void ctl_open(struct ctl *c, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int sz = 4 * MAX_DGRAM;

	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die("socket: %s", strerror(errno));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("connect `%s': %s", path, strerror(errno));
	(void)setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	c->next_id = 1;
	c->buf = malloc(MAX_DGRAM);
	if (!c->buf)
		die("out of memory");
}

static void ctl_close(struct ctl *c)
{
	close(c->fd);
	free(c->buf);
}

/* One request, its reply (events skipped); the caller frees the reply. */
static Gisa__V1__Response *ctl_call(struct ctl *c, Gisa__V1__Request *req)
{
	size_t len;
	uint8_t *out;
	ssize_t n;

	req->has_version = req->has_id = true;
	req->version = GISA__V1__CONTROL_PROTOCOL__CONTROL_PROTOCOL_VERSION;
	req->id = c->next_id++;
	len = gisa__v1__request__get_packed_size(req);
	out = malloc(len ? len : 1);
	if (!out)
		die("out of memory");
	gisa__v1__request__pack(req, out);
	n = send(c->fd, out, len, MSG_NOSIGNAL);
	free(out);
	if (n < 0 || (size_t)n != len)
		die("send: %s", strerror(errno));
	for (;;) {
		Gisa__V1__Response *resp;

		n = recv(c->fd, c->buf, MAX_DGRAM, 0);
		if (n <= 0)
			die("recv: %s", n ? strerror(errno) : "gisad closed the connection");
		resp = gisa__v1__response__unpack(NULL, (size_t)n, c->buf);
		if (!resp)
			die("a reply that does not decode");
		if (resp->result_case == GISA__V1__RESPONSE__RESULT_EVENT) {
			gisa__v1__response__free_unpacked(resp, NULL);
			continue;
		}
		if (resp->id != req->id)
			die("reply %" PRIu64 " to request %" PRIu64, resp->id, req->id);
		return resp;
	}
}

static void resp_free(Gisa__V1__Response *r)
{
	gisa__v1__response__free_unpacked(r, NULL);
}

static Gisa__V1__Response *vm_info(struct ctl *c, const char *vm)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__VmRef ref = GISA__V1__VM_REF__INIT;
	Gisa__V1__Response *r;

	ref.vm = (char *)vm;
	req.verb_case = GISA__V1__REQUEST__VERB_VM_INFO;
	req.vm_info = &ref;
	r = ctl_call(c, &req);
	if (r->error || r->result_case != GISA__V1__RESPONSE__RESULT_VM_INFO)
		die("vm_info %s: %d %s", vm, r->error, r->message ? r->message : "");
	return r;
}

/* ---- load ---------------------------------------------------------------- */

/* Records per injection request at most (the warm-up draws 1 to this many). */
#define LOAD_BATCH_MAX 64

struct load {
	struct ctl *c; /* to the gisad the VM runs at */
	const char *vm;
	enum gisa_byteorder order;
	bool gisa;
	FILE *log;
	uint32_t next_parm; /* I/O parameters 1, 2, ... */
	uint32_t next_mck;  /* mcic bit, cycling */
	uint32_t next_srv;  /* SCCB addresses 8, 16, ... */
	bool gone;
	unsigned long ops, refused;
	unsigned long io_acc, io_del; /* I/O records accepted, delivered */
	char first_refusal[256];      /* gisad's message, for the record */
};

/* An op's error: 0 ok; -EAGAIN (migrating) refused; -ENOENT gone; else fatal. */
static int load_err(struct load *l, Gisa__V1__Response *r, const char *what)
{
	int e = r->error;

	if (e == 0)
		return e;
	/*
	 * Injections and deliveries are refused only while the VM is frozen
	 * (CONTROL-PROTOCOL.md: the "migrating" error carries the state).
	 */
	if (e == -EAGAIN) {
		if (!r->has_migration ||
		    (r->migration != GISA__V1__MIGRATION_STATE__MIGRATION_STATE_FROZEN &&
		     r->migration != GISA__V1__MIGRATION_STATE__MIGRATION_STATE_IN_DOUBT))
			die("%s on `%s' refused with -EAGAIN, migration state %d (has %d): %s",
			    what, l->vm, r->migration, r->has_migration,
			    r->message ? r->message : "");
		if (!l->first_refusal[0])
			snprintf(l->first_refusal, sizeof(l->first_refusal), "%s",
				 r->message ? r->message : "(no message)");
		return e;
	}
	if (e == -ENOENT) {
		l->gone = true;
		return e;
	}
	die("%s on `%s': %d %s", what, l->vm, e, r->message ? r->message : "");
}

static void load_batch(struct load *l, const struct gisa_irq *q, size_t n, const char *kind,
		       const uint64_t *keys)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__BatchInject bi = GISA__V1__BATCH_INJECT__INIT;
	uint8_t buf[LOAD_BATCH_MAX * GISA_IRQ_SIZE];
	Gisa__V1__Response *r;
	uint32_t injected = 0;
	int e;

	if (gisa_irq_pack(q, n, l->order, buf, n * GISA_IRQ_SIZE))
		die("packing records");
	bi.vm = (char *)l->vm;
	bi.has_records = true;
	bi.records.data = buf;
	bi.records.len = n * GISA_IRQ_SIZE;
	req.verb_case = GISA__V1__REQUEST__VERB_BATCH_INJECT;
	req.batch_inject = &bi;
	r = ctl_call(l->c, &req);
	e = load_err(l, r, "batch_inject");
	if (r->result_case == GISA__V1__RESPONSE__RESULT_BATCH && r->batch->has_injected)
		injected = r->batch->injected;
	if (!e && injected != n)
		die("batch_inject: %u of %zu injected without an error", injected, n);
	if (strcmp(kind, "io") == 0)
		l->io_acc += injected;
	for (size_t i = 0; i < n; i++) {
		if (i < injected)
			fprintf(l->log, "A %s 0x%" PRIx64 "\n", kind, keys[i]);
		else
			fprintf(l->log, "R %s 0x%" PRIx64 " %d\n", kind, keys[i], e);
	}
	l->refused += e ? 1 : 0;
	resp_free(r);
}

static void load_inject_io(struct load *l, size_t n, unsigned isc)
{
	struct gisa_irq q[LOAD_BATCH_MAX];
	uint64_t keys[LOAD_BATCH_MAX];

	for (size_t i = 0; i < n; i++) {
		keys[i] = l->next_parm++;
		q[i] = io_irq((uint32_t)keys[i], isc, (uint16_t)(keys[i] % 4));
	}
	load_batch(l, q, n, "io", keys);
}

static void load_inject_mck(struct load *l)
{
	struct gisa_irq q;
	uint64_t key = 1ull << (l->next_mck++ % 64);

	memset(&q, 0, sizeof(q));
	q.type = GISA_INT_MCHK;
	q.u.mchk.cr14 = GISA_CR14_CHANNEL_REPORT;
	q.u.mchk.mcic = key;
	load_batch(l, &q, 1, "mck", &key);
}

static void load_inject_srv(struct load *l)
{
	struct gisa_irq q;
	uint64_t key = (uint64_t)++l->next_srv << 3;

	memset(&q, 0, sizeof(q));
	q.type = GISA_INT_SERVICE;
	q.u.ext.ext_params = (uint32_t)key;
	load_batch(l, &q, 1, "srv", &key);
}

static void load_ipm(struct load *l)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__HwAirq h = GISA__V1__HW_AIRQ__INIT;
	Gisa__V1__Response *r;
	int e;

	h.vm = (char *)l->vm;
	h.has_isc = h.has_vcpu_in_sie = true;
	h.isc = 7;
	h.vcpu_in_sie = true;
	req.verb_case = GISA__V1__REQUEST__VERB_HW_AIRQ;
	req.hw_airq = &h;
	r = ctl_call(l->c, &req);
	e = load_err(l, r, "hw_airq");
	if (e)
		fprintf(l->log, "R ipm 0x7 %d\n", e);
	else
		fprintf(l->log, "A ipm 0x7\n");
	l->refused += e ? 1 : 0;
	resp_free(r);
}

static void log_io(struct load *l, uint64_t type, uint32_t parm, uint32_t word)
{
	if ((type & GISA_INT_IO_AI_MASK) || (word & GISA_IO_WORD_AI)) {
		fprintf(l->log, "D ipm 0x%x\n", GISA_IO_WORD_ISC(word));
	} else {
		fprintf(l->log, "D io 0x%x\n", parm);
		l->io_del++;
	}
}

static void load_deliver(struct load *l, uint32_t vcpu)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__VcpuRef ref = GISA__V1__VCPU_REF__INIT;
	Gisa__V1__Response *r;
	const Gisa__V1__Delivery *d;

	ref.vm = (char *)l->vm;
	ref.has_vcpu = true;
	ref.vcpu = vcpu;
	req.verb_case = GISA__V1__REQUEST__VERB_VCPU_DELIVER;
	req.vcpu_deliver = &ref;
	r = ctl_call(l->c, &req);
	if (load_err(l, r, "vcpu_deliver")) {
		l->refused++;
		resp_free(r);
		return;
	}
	d = r->delivery;
	if (r->result_case != GISA__V1__RESPONSE__RESULT_DELIVERY)
		die("vcpu_deliver: no delivery in the reply");
	if (d->ret == 1) {
		switch (d->kind) {
		case 1:
			log_io(l, d->type, d->io_int_parm, d->io_int_word);
			break;
		case 2:
			if (d->ext_code != GISA_EXT_CODE_SERVICE)
				die("delivered an external interruption 0x%x never injected",
				    d->ext_code);
			fprintf(l->log, "D srv 0x%x\n", d->ext_param);
			break;
		case 3:
			fprintf(l->log, "D mck 0x%" PRIx64 "\n", d->mcic);
			break;
		default:
			die("delivery of kind %u", d->kind);
		}
	}
	resp_free(r);
}

static void load_tpi(struct load *l)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__VcpuRef ref = GISA__V1__VCPU_REF__INIT;
	Gisa__V1__Response *r;
	struct gisa_irq q;

	ref.vm = (char *)l->vm;
	ref.has_vcpu = true;
	req.verb_case = GISA__V1__REQUEST__VERB_VCPU_TPI;
	req.vcpu_tpi = &ref;
	r = ctl_call(l->c, &req);
	if (load_err(l, r, "vcpu_tpi")) {
		l->refused++;
		resp_free(r);
		return;
	}
	if (r->result_case != GISA__V1__RESPONSE__RESULT_IRQ)
		die("vcpu_tpi: no record in the reply");
	if (r->irq->ret == 1) {
		if (r->irq->record.len != GISA_IRQ_SIZE)
			die("vcpu_tpi: a record of %zu bytes", r->irq->record.len);
		gisa_irq_unpack1(r->irq->record.data, l->order, &q);
		log_io(l, q.type, q.u.io.io_int_parm, q.u.io.io_int_word);
	}
	resp_free(r);
}

static void load_vcpu_set(struct load *l, uint32_t vcpu, uint64_t psw, uint64_t cr0, uint64_t cr6,
			  uint64_t cr14)
{
	Gisa__V1__Request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__VcpuSet vs = GISA__V1__VCPU_SET__INIT;
	Gisa__V1__VcpuState st = GISA__V1__VCPU_STATE__INIT;
	Gisa__V1__Response *r;

	st.has_psw_mask = st.has_cr0 = st.has_cr6 = st.has_cr14 = st.has_run = true;
	st.psw_mask = psw;
	st.cr0 = cr0;
	st.cr6 = cr6;
	st.cr14 = cr14;
	st.run = 0;
	vs.vm = (char *)l->vm;
	vs.has_vcpu = true;
	vs.vcpu = vcpu;
	vs.state = &st;
	req.verb_case = GISA__V1__REQUEST__VERB_VCPU_SET;
	req.vcpu_set = &vs;
	r = ctl_call(l->c, &req);
	if (r->error)
		die("vcpu_set: %d %s", r->error, r->message ? r->message : "");
	resp_free(r);
}

/*
 * vcpu 0 takes I/O of every ISC (and TPIs), vcpu 1 service signals and
 * channel reports; the load delivers on vcpu 1 less often than it injects
 * those, so that they coalesce.
 */
static void load_prepare(struct load *l)
{
	Gisa__V1__Response *r = vm_info(l->c, l->vm);

	l->order = r->vm_info->abi_order ? GISA_LE : GISA_BE;
	l->gisa = r->vm_info->gisa && r->vm_info->gisa->present;
	if (r->vm_info->vcpus < 2)
		die("VM `%s' has fewer than 2 vcpus", l->vm);
	resp_free(r);
	load_vcpu_set(l, 0, GISA_PSW_MASK_IO, 0, 0xff000000u, 0);
	load_vcpu_set(l, 1, GISA_PSW_MASK_EXT | GISA_PSW_MASK_MCHECK, GISA_CR0_SERVICE, 0,
		      GISA_CR14_CHANNEL_REPORT);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmd_load(int argc, char **argv)
{
	struct ctl c;
	struct load l = {.c = &c, .vm = argv[1], .next_parm = 1};
	struct rng r = {.s = num(argv[2]) * 0x9e3779b97f4a7c15ull + 0x6c6f6164};
	const char *stop = argv[4];
	unsigned long warmup = argc > 5 ? (unsigned long)num(argv[5]) : 0;
	char ready[4096];
	double t0 = now_s();

	ctl_open(&c, argv[0]);
	l.log = fopen(argv[3], "w");
	if (!l.log)
		die("`%s': %s", argv[3], strerror(errno));
	load_prepare(&l);
	/* Pending before the migration: every class. */
	for (unsigned long i = 0; i < warmup && !l.gone; i++) {
		unsigned k = rn(&r, 20);

		if (k == 0)
			load_inject_mck(&l);
		else if (k == 1)
			load_inject_srv(&l);
		else if (k == 2 && l.gisa)
			load_ipm(&l);
		else
			load_inject_io(&l, 1 + rn(&r, LOAD_BATCH_MAX), rn(&r, 6));
	}
	fflush(l.log);
	snprintf(ready, sizeof(ready), "%s.ready", argv[3]);
	write_file(ready, "", 0);
	while (!l.gone && access(stop, F_OK) != 0 && now_s() - t0 < 120) {
		unsigned k = rn(&r, 100);

		if (k < 30)
			load_inject_io(&l, 1 + rn(&r, 2), rn(&r, 6));
		else if (k < 34)
			load_inject_mck(&l);
		else if (k < 38)
			load_inject_srv(&l);
		else if (k < 42 && l.gisa)
			load_ipm(&l);
		else if (k < 80)
			load_deliver(&l, 0);
		else if (k < 85)
			load_deliver(&l, 1);
		else
			load_tpi(&l);
		l.ops++;
	}
	if (l.gone)
		fprintf(l.log, "G\n");
	if (fclose(l.log))
		die("`%s': %s", argv[3], strerror(errno));
	printf("ops=%lu refused=%lu gone=%d\n", l.ops, l.refused, l.gone);
	if (l.first_refusal[0])
		printf("first refusal: %s\n", l.first_refusal);
	ctl_close(&c);
	return 0;
}

/* ---- follow -------------------------------------------------------------- */

/*
 * The soak's load (mig-soak.sh): many VMs, each followed from host to
 * host.  One connection to each gisad, shared by the VMs of this process,
 * and every request waits for its reply, so each VM's log is in the order
 * its VM saw the requests, whichever host answered: a VM is active at one
 * host at a time -- the old host freezes it before the final image and
 * answers -ENOENT only once it retired it, after the new host activated
 * it.  On -ENOENT the VM's requests go to the other host (a `# H' line in
 * its log; a VM found at neither host for FOLLOW_LOST_S fails the tool).
 * A refused injection is logged as refused and not retried, so `check'
 * holds each log against an export from the VM's final host.
 *
 * I/O goes in batches of 1 to FOLLOW_BATCH_MAX records while fewer than
 * FOLLOW_PENDING_MAX of the VM's records are pending (else it delivers),
 * so that the VMs' state stays bounded and the daemons' memory can be
 * compared from round to round.  A rate keeps the load from taking every
 * CPU of the machine (other tests run beside it).
 */
#define FOLLOW_BATCH_MAX   16
#define FOLLOW_PENDING_MAX 256
#define FOLLOW_MAX_VMS	   64
#define FOLLOW_LOST_S	   60.0
#define FOLLOW_MAX_S	   3600.0 /* a forgotten STOP file */

struct follow_vm {
	struct load l;
	char log_path[4096];
	unsigned at;		/* 0: the first socket's gisad, 1: the second */
	unsigned long switches; /* -ENOENT answers, each a switch of host */
	unsigned misses;	/* switches in a row without an answer */
	double lost_since;	/* when `misses' reached 2 */
};

static void follow_op(struct rng *r, struct load *l)
{
	unsigned k = rn(r, 100);

	if (k < 40 && l->io_acc - l->io_del < FOLLOW_PENDING_MAX)
		load_inject_io(l, 1 + rn(r, FOLLOW_BATCH_MAX), rn(r, 6));
	else if (k < 40)
		load_deliver(l, 0); /* NOLINT(bugprone-branch-clone): too much pending: deliver */
	else if (k < 43)
		load_inject_mck(l);
	else if (k < 46)
		load_inject_srv(l);
	else if (k < 49 && l->gisa)
		load_ipm(l);
	else if (k < 85)
		load_deliver(l, 0);
	else if (k < 90)
		load_deliver(l, 1);
	else
		load_tpi(l);
	l->ops++;
}

static int cmd_follow(int argc, char **argv)
{
	static struct follow_vm vms[FOLLOW_MAX_VMS];
	struct ctl c[2];
	struct rng r = {.s = num(argv[2]) * 0x9e3779b97f4a7c15ull + 0x666f6c6c};
	double rate = (double)num(argv[3]);
	const char *stop = argv[4], *dir = argv[5];
	size_t n = (size_t)argc - 6;
	unsigned long ops = 0;
	double t0 = now_s(), tr;

	if (n > FOLLOW_MAX_VMS)
		die("at most %d VMs, not %zu", FOLLOW_MAX_VMS, n);
	ctl_open(&c[0], argv[0]);
	ctl_open(&c[1], argv[1]);
	for (size_t i = 0; i < n; i++) {
		struct follow_vm *v = &vms[i];
		char *spec = argv[6 + i], *colon = strrchr(spec, ':'), ready[4200];

		if (!colon || (strcmp(colon, ":a") && strcmp(colon, ":b")))
			die("`%s': expected VM:a or VM:b", spec);
		*colon = '\0';
		v->at = colon[1] == 'b';
		v->l = (struct load){.c = &c[v->at], .vm = spec, .next_parm = 1};
		snprintf(v->log_path, sizeof(v->log_path), "%s/%s.log", dir, spec);
		v->l.log = fopen(v->log_path, "w");
		if (!v->l.log)
			die("`%s': %s", v->log_path, strerror(errno));
		load_prepare(&v->l);
		snprintf(ready, sizeof(ready), "%s.ready", v->log_path);
		write_file(ready, "", 0);
	}
	tr = now_s();
	while (access(stop, F_OK) != 0) {
		struct follow_vm *v = &vms[rn(&r, (uint32_t)n)];
		double now = now_s();

		/* At most RATE a second on average since the start. */
		if (rate > 0 && (double)ops > (now - tr) * rate) {
			double wait = (double)ops / rate - (now - tr);
			struct timespec ts;

			ts.tv_sec = (time_t)wait;
			ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
			nanosleep(&ts, NULL);
			now = now_s();
		}
		ops++;
		if (now - t0 > FOLLOW_MAX_S)
			die("still running after %.0f s: no STOP file `%s'", FOLLOW_MAX_S, stop);
		follow_op(&r, &v->l);
		if (!v->l.gone) {
			v->misses = 0;
			continue;
		}
		v->l.gone = false;
		v->switches++;
		v->at ^= 1;
		v->l.c = &c[v->at];
		fprintf(v->l.log, "# %c\n", "ab"[v->at]);
		if (++v->misses < 2)
			continue;
		/* At neither host just now: a migration between the two answers. */
		if (v->misses == 2)
			v->lost_since = now;
		else if (now - v->lost_since > FOLLOW_LOST_S)
			die("`%s' answered -ENOENT at both hosts for %.0f s", v->l.vm,
			    FOLLOW_LOST_S);
		usleep(1000);
	}
	for (size_t i = 0; i < n; i++) {
		const struct follow_vm *v = &vms[i];
		const struct load *l = &v->l;

		if (fclose(l->log))
			die("`%s': %s", v->log_path, strerror(errno));
		printf("%s at=%c ops=%lu io_accepted=%lu io_delivered=%lu refused=%lu "
		       "switches=%lu\n",
		       l->vm, v->at ? 'b' : 'a', l->ops, l->io_acc, l->io_del, l->refused,
		       v->switches);
		if (l->first_refusal[0])
			printf("%s first refusal: %s\n", l->vm, l->first_refusal);
	}
	ctl_close(&c[0]);
	ctl_close(&c[1]);
	return 0;
}

/* ---- delay --------------------------------------------------------------- */

/*
 * A TCP relay that holds every byte DELAY ms in each direction: a link
 * with a round trip of at least 2 x DELAY, so that a migration's
 * predicted downtime never fits a budget below it and its precopy runs
 * to the round limit.
 */
struct chunk {
	struct chunk *next;
	double due;
	size_t len, off;
	uint8_t data[];
};

struct dir {
	int from, to;
	struct chunk *head, *tail;
	bool eof; /* from closed: shut `to' down once drained */
	bool done;
};

struct pair {
	struct dir d[2];
	bool dead;
};

#define MAX_PAIRS 64

static void dir_push(struct dir *d, const uint8_t *buf, size_t len, double due)
{
	struct chunk *c = malloc(sizeof(*c) + len);

	if (!c)
		die("out of memory");
	c->next = NULL;
	c->due = due;
	c->len = len;
	c->off = 0;
	memcpy(c->data, buf, len);
	if (d->tail)
		d->tail->next = c;
	else
		d->head = c;
	d->tail = c;
}

/* Write what is due; false when the connection broke. */
static bool dir_flush(struct dir *d, double now)
{
	while (d->head && d->head->due <= now) {
		struct chunk *c = d->head;
		ssize_t n =
			send(d->to, c->data + c->off, c->len - c->off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK;
		c->off += (size_t)n;
		if (c->off < c->len)
			return true;
		d->head = c->next;
		if (!d->head)
			d->tail = NULL;
		free(c);
	}
	if (!d->head && d->eof && !d->done) {
		shutdown(d->to, SHUT_WR);
		d->done = true;
	}
	return true;
}

static void pair_free(struct pair *p)
{
	for (int i = 0; i < 2; i++) {
		while (p->d[i].head) {
			struct chunk *c = p->d[i].head;

			p->d[i].head = c->next;
			free(c);
		}
	}
	close(p->d[0].from);
	close(p->d[0].to);
	p->dead = true;
}

static int cmd_delay(char **argv)
{
	double delay = (double)num(argv[2]) / 1000.0;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t salen = sizeof(sa);
	struct pair pairs[MAX_PAIRS];
	size_t npairs = 0;
	char tmp[4096], port[16];
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	uint8_t *buf = malloc(1u << 16);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || !buf || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 16) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &salen))
		die("listening: %s", strerror(errno));
	snprintf(port, sizeof(port), "%u\n", ntohs(sa.sin_port));
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[0]);
	write_file(tmp, port, strlen(port));
	if (rename(tmp, argv[0]))
		die("`%s': %s", argv[0], strerror(errno));
	for (;;) {
		struct pollfd pfd[1 + 2 * MAX_PAIRS];
		size_t nfd = 1;
		double now = now_s(), next = now + 1.0;
		int timeout;

		pfd[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
		for (size_t i = 0; i < npairs; i++) {
			struct pair *p = &pairs[i];

			for (int k = 0; k < 2 && !p->dead; k++) {
				struct dir *d = &p->d[k];

				if (!dir_flush(d, now))
					pair_free(p);
				else if (d->head && d->head->due < next)
					next = d->head->due;
			}
			for (int k = 0; k < 2; k++) {
				struct dir *d = &p->d[k];

				pfd[nfd++] = (struct pollfd){
					.fd = p->dead || d->eof ? -1 : d->from,
					.events = (short)(POLLIN |
							  (d->head && d->head->due <= now ? POLLOUT
											  : 0)),
				};
			}
			if (!p->dead && p->d[0].done && p->d[1].done)
				pair_free(p);
		}
		timeout = (int)((next - now) * 1000.0) + 1;
		if (poll(pfd, nfd, timeout < 0 ? 0 : timeout) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		now = now_s();
		if (pfd[0].revents & POLLIN) {
			size_t slot = 0;
			int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			int sfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			struct sockaddr_in ta = {.sin_family = AF_INET};

			ta.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			ta.sin_port = htons((uint16_t)num(argv[1]));
			if (cfd < 0 || sfd < 0)
				die("accept: %s", strerror(errno));
			if (connect(sfd, (struct sockaddr *)&ta, sizeof(ta))) {
				close(cfd);
				close(sfd);
				continue;
			}
			setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			while (slot < npairs && !pairs[slot].dead)
				slot++;
			if (slot == MAX_PAIRS)
				die("more than %d connections at once", MAX_PAIRS);
			if (slot == npairs)
				npairs++;
			pairs[slot] = (struct pair){
				.d = {{.from = cfd, .to = sfd}, {.from = sfd, .to = cfd}},
			};
			continue; /* the pollfd indexes changed */
		}
		for (size_t i = 0, f = 1; i < npairs; i++) {
			struct pair *p = &pairs[i];

			for (int k = 0; k < 2; k++, f++) {
				struct dir *d = &p->d[k];
				ssize_t n;

				if (p->dead || !(pfd[f].revents & (POLLIN | POLLHUP | POLLERR)))
					continue;
				n = recv(d->from, buf, 1u << 16, MSG_DONTWAIT);
				if (n > 0)
					dir_push(d, buf, (size_t)n, now + delay);
				else if (n == 0)
					d->eof = true;
				else if (errno != EAGAIN && errno != EWOULDBLOCK)
					pair_free(p);
			}
		}
	}
}

/* ---- check --------------------------------------------------------------- */

static int bad;

static void problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void problem(const char *fmt, ...)
{
	va_list ap;

	if (bad++ >= 20)
		return;
	fprintf(stderr, "exactly-once: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

enum { IO_NONE, IO_PENDING, IO_DELIVERED, IO_REFUSED, IO_SEEN };

/* What the log says must be pending now, besides the I/O parameters. */
struct expect {
	uint8_t *io; /* IO_* by parameter */
	size_t cap;
	unsigned long acc, ref, del;
	uint64_t mck; /* mcic accepted since the last delivery */
	uint64_t srv; /* the first SCCB address since the last delivery */
	bool ipm;     /* ISC 7 accepted since the last adapter delivery */
};

static void replay_io(struct expect *x, char op, uint64_t key, unsigned long lineno)
{
	if (key >= x->cap) {
		size_t ncap = x->cap;
		uint8_t *p;

		while (key >= ncap)
			ncap *= 2;
		p = realloc(x->io, ncap);
		if (!p)
			die("out of memory");
		memset(p + x->cap, 0, ncap - x->cap);
		x->io = p;
		x->cap = ncap;
	}
	if (op == 'A') {
		if (x->io[key] != IO_NONE)
			problem("line %lu: I/O parameter 0x%" PRIx64 " injected twice", lineno,
				key);
		x->io[key] = IO_PENDING;
		x->acc++;
	} else if (op == 'R') {
		x->io[key] = IO_REFUSED;
		x->ref++;
	} else if (x->io[key] != IO_PENDING) {
		problem("line %lu: I/O 0x%" PRIx64 " delivered but %s", lineno, key,
			x->io[key] == IO_DELIVERED ? "already delivered"
			: x->io[key] == IO_REFUSED ? "its injection was refused"
						   : "never injected");
	} else {
		x->io[key] = IO_DELIVERED;
		x->del++;
	}
}

static void replay(const char *path, struct expect *x)
{
	FILE *f = fopen(path, "r");
	char line[256], kind[16], op;
	unsigned long lineno = 0;

	if (!f)
		die("`%s': %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		uint64_t key = 0;

		lineno++;
		if (line[0] == 'G' || line[0] == '#')
			continue;
		if (sscanf(line, "%c %15s %" SCNx64, &op, kind, &key) != 3 ||
		    (op != 'A' && op != 'R' && op != 'D'))
			die("`%s' line %lu: `%s'", path, lineno, line);
		if (strcmp(kind, "io") == 0) {
			replay_io(x, op, key, lineno);
		} else if (strcmp(kind, "mck") == 0) {
			if (op == 'A')
				x->mck |= key;
			else if (op == 'D' && key != x->mck)
				problem("line %lu: machine check delivered with mcic 0x%" PRIx64
					", accepted since the last one: 0x%" PRIx64,
					lineno, key, x->mck);
			if (op == 'D')
				x->mck = 0;
		} else if (strcmp(kind, "srv") == 0) {
			if (op == 'A' && !x->srv)
				x->srv = key;
			else if (op == 'D' && key != x->srv)
				problem("line %lu: service signal delivered with 0x%" PRIx64
					", the first accepted since the last one: 0x%" PRIx64,
					lineno, key, x->srv);
			if (op == 'D')
				x->srv = 0;
		} else if (strcmp(kind, "ipm") == 0) {
			if (op == 'A')
				x->ipm = true;
			else if (op == 'D' && !x->ipm)
				problem("line %lu: an adapter interruption of ISC %" PRIu64
					" delivered, none accepted since the last one",
					lineno, key);
			if (op == 'D')
				x->ipm = false;
		} else {
			die("`%s' line %lu: kind `%s'", path, lineno, kind);
		}
	}
	fclose(f);
}

static uint8_t *read_file(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 1u << 20, len = 0, n;
	uint8_t *buf = malloc(cap);

	if (!f || !buf)
		die("`%s': %s", path, strerror(errno));
	while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			uint8_t *p = realloc(buf, cap *= 2);

			if (!p)
				die("out of memory");
			buf = p;
		}
	}
	if (ferror(f))
		die("`%s': %s", path, strerror(errno));
	fclose(f);
	*ret_len = len;
	return buf;
}

static int cmd_check(char **argv)
{
	struct expect x = {.cap = 1u << 16};
	struct gisa_image *img = NULL;
	struct gisa_snap_error err = {{0}};
	unsigned long pend = 0;
	size_t len;
	uint8_t *file = read_file(argv[0], &len);
	int e;

	x.io = calloc(x.cap, 1);
	if (!x.io)
		die("out of memory");
	replay(argv[1], &x);
	e = gisa_snap_decode(file, len, &img, NULL, &err);
	if (e)
		die("`%s': %s (%d)", argv[0], err.msg, e);
	/* Every I/O list in FIFO order: parameters grow within each ISC. */
	for (unsigned isc = 0; isc <= GISA_MAX_ISC; isc++) {
		uint32_t last = 0;

		for (uint32_t i = 0; i < img->lists[isc].n; i++) {
			const struct gisa_list_entry *le = &img->lists[isc].e[i];
			uint32_t p = le->u.io.io_int_parm;

			if (p >= x.cap || x.io[p] != IO_PENDING) {
				problem("pending I/O 0x%x (ISC %u): %s", p, isc,
					p >= x.cap || x.io[p] == IO_NONE ? "never injected"
					: x.io[p] == IO_DELIVERED	 ? "also delivered"
					: x.io[p] == IO_REFUSED ? "its injection was refused"
								: "pending twice");
				continue;
			}
			if (p <= last)
				problem("ISC %u: I/O 0x%x after 0x%x (FIFO order)", isc, p, last);
			last = p;
			x.io[p] = IO_SEEN;
			pend++;
		}
	}
	for (size_t p = 0; p < x.cap; p++)
		if (x.io[p] == IO_PENDING)
			problem("I/O 0x%zx accepted, never delivered, not pending: lost", p);
	if (img->lists[GISA_LIST_PFAULT].n || img->lists[GISA_LIST_VIRTIO].n)
		problem("pfault or virtio interrupts pending, none was injected");
	if (img->fl.mchk_pending != (x.mck != 0) || img->fl.mchk_mcic != x.mck)
		problem("machine check pending %d mcic 0x%" PRIx64 ", expected %d 0x%" PRIx64,
			img->fl.mchk_pending, img->fl.mchk_mcic, x.mck != 0, x.mck);
	if (img->fl.service_pending != (x.srv != 0) || img->fl.srv_ext_params != x.srv)
		problem("service signal pending %d 0x%x, expected %d 0x%" PRIx64,
			img->fl.service_pending, img->fl.srv_ext_params, x.srv != 0, x.srv);
	if (!!(img->gisa.ipm & GISA_ISC_BIT(7)) != x.ipm || (img->gisa.ipm & ~GISA_ISC_BIT(7)))
		problem("GISA IPM 0x%02x, expected 0x%02x", img->gisa.ipm,
			x.ipm ? GISA_ISC_BIT(7) : 0);
	printf("accepted=%lu refused=%lu delivered=%lu pending=%lu mck=0x%" PRIx64 " srv=0x%" PRIx64
	       " ipm=%d\n",
	       x.acc, x.ref, x.del, pend, x.mck, x.srv, x.ipm);
	gisa_image_free(img);
	free(file);
	free(x.io);
	return bad ? 1 : 0;
}

/* ---- delta ----------------------------------------------------------------- */

static struct gisa_image *decode_file(const char *path)
{
	struct gisa_snap_error err = {{0}};
	struct gisa_image *img = NULL;
	size_t len;
	uint8_t *file = read_file(path, &len);
	int e = gisa_snap_decode(file, len, &img, NULL, &err);

	free(file);
	if (e)
		die("`%s': %s (%d)", path, err.msg, e);
	return img;
}

static int cmd_delta(char **argv)
{
	struct gisa_image *base = decode_file(argv[0]), *cur = decode_file(argv[1]);
	uint8_t *buf = NULL;
	size_t len = 0;
	int e = gisa_delta_make_states(base, NULL, cur, NULL, &buf, &len);

	if (e)
		die("the delta from `%s' to `%s': %s", argv[0], argv[1], strerror(-e));
	write_file(argv[2], buf, len);
	free(buf);
	gisa_image_free(base);
	gisa_image_free(cur);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int min, max;
	} cmds[] = {
		{"randsnap", 4, 4},
		{"iorecs", 3, 3},
		{"json", 2, 2},
		{"load", 5, 6},
		{"check", 2, 2},
		{"delay", 3, 3},
		{"follow", 7, 6 + FOLLOW_MAX_VMS},
		{"delta", 3, 3},
	};
	unsigned i;

	for (i = 0; argc > 1 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			break;
	if (argc < 2 || i == sizeof(cmds) / sizeof(cmds[0]) || argc - 2 < cmds[i].min ||
	    argc - 2 > cmds[i].max)
		die("usage: randsnap SEED PROFILE CAPS OUT | iorecs N PARM0 OUT | json FILE PATH "
		    "| load SOCK VM SEED LOG STOP [WARMUP] | check SNAPSHOT LOG | delay PORTFILE "
		    "PORT MS | follow SOCK_A SOCK_B SEED RATE STOP DIR VM:H... | delta BASE CUR OUT");
	switch (i) {
	case 0:
		return cmd_randsnap(argv + 2);
	case 1:
		return cmd_iorecs(argv + 2);
	case 2:
		return cmd_json(argv + 2);
	case 3:
		return cmd_load(argc - 2, argv + 2);
	case 4:
		return cmd_check(argv + 2);
	case 5:
		return cmd_delay(argv + 2);
	case 6:
		return cmd_follow(argc - 2, argv + 2);
	default:
		return cmd_delta(argv + 2);
	}
}
