/* SPDX-License-Identifier: MIT */
/*
 * Online commands that drive a VM's engine through gisad: the FLIC device
 * (raw attribute calls, and the common ones spelled as irq, adapter, ais,
 * airq and apf commands), routes, guest memory, memslots, vcpus, GISA and
 * GIB, and events.
 *
 * Raw buffers travel in the VM's byte order (its abi_order): a command that
 * builds one from values (adapter register, ais set, ...) asks gisad for
 * the VM's order first, and packs with the ABI functions of lib/.  The
 * engine's return codes come back unchanged; a negative one is gisad's
 * error, relayed with its message and exit status 2.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <gisa/abi.h>

#include "ctl.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The most bytes of records or memory one command reads from a file. */
#define INPUT_CAP (64u << 20)

/* ---- shared ------------------------------------------------------------- */

static const char *const group_names[] = {
	[GISA_FLIC_GET_ALL_IRQS] = "get-all-irqs",
	[GISA_FLIC_ENQUEUE] = "enqueue",
	[GISA_FLIC_CLEAR_IRQS] = "clear-irqs",
	[GISA_FLIC_APF_ENABLE] = "apf-enable",
	[GISA_FLIC_APF_DISABLE_WAIT] = "apf-disable-wait",
	[GISA_FLIC_ADAPTER_REGISTER] = "adapter-register",
	[GISA_FLIC_ADAPTER_MODIFY] = "adapter-modify",
	[GISA_FLIC_CLEAR_IO_IRQ] = "clear-io-irq",
	[GISA_FLIC_AISM] = "aism",
	[GISA_FLIC_AIRQ_INJECT] = "airq-inject",
	[GISA_FLIC_AISM_ALL] = "aism-all",
};

static int parse_group(struct gisactl *g, const char *s, uint32_t *ret)
{
	for (uint32_t i = 1; i < ARRAY_SIZE(group_names); i++) {
		if (!strcmp(s, group_names[i])) {
			*ret = i;
			return 0;
		}
	}
	if (s[0] >= '0' && s[0] <= '9')
		return arg_u32(g, "GROUP", s, ret);
	return out_usage(g, "GROUP is a number or one of get-all-irqs, enqueue, clear-irqs, "
			 "apf-enable, apf-disable-wait, adapter-register, adapter-modify, "
			 "clear-io-irq, aism, airq-inject, aism-all; not `%s'", s);
}

static json_t *json_group(uint32_t group)
{
	return group < ARRAY_SIZE(group_names) && group_names[group] ?
		       json_string(group_names[group]) : json_integer(group);
}

/* VM and VCPU operands. */
static int vcpu_arg(struct gisactl *g, const char *s, uint32_t *ret)
{
	return arg_u32(g, "VCPU", s, ret);
}

/*
 * A reply whose result is a return value (ReturnValue, FlicResult): put it
 * in the --json document; print it when print is set (commands whose
 * return value says something), else stay silent as a success.
 */
static int show_ret(struct gisactl *g, const ctl_response *resp, const char *vm, bool print)
{
	int32_t ret;

	if (resp->result_case == GISA__V1__RESPONSE__RESULT_FLIC)
		ret = resp->flic->ret;
	else if (resp->result_case == GISA__V1__RESPONSE__RESULT_RET)
		ret = resp->ret->ret;
	else
		return ctl_expect(g, resp, GISA__V1__RESPONSE__RESULT_RET);
	if (g->json) {
		json_t *o = out_result(g);

		if (vm)
			jset(o, "vm", json_text(vm));
		jset(o, "ret", json_integer(ret));
	} else if (print) {
		printf("%d\n", ret);
	}
	return 0;
}

/* A request whose whole answer is a return value. */
static int call_ret(struct gisactl *g, ctl_request *req, const char *vm, bool print)
{
	ctl_response *resp;
	int r = ctl_call(g, req, -1, &resp);

	if (!r)
		r = show_ret(g, resp, vm, print);
	ctl_free(resp);
	return r;
}

static int vmref_ret(struct gisactl *g, Gisa__V1__Request__VerbCase verb, const char *vm,
		     bool print)
{
	ctl_response *resp;
	int r = ctl_vmref(g, verb, vm, &resp);

	if (!r)
		r = show_ret(g, resp, vm, print);
	ctl_free(resp);
	return r;
}

/* ---- flic --------------------------------------------------------------- */

int cmd_flic_create(struct gisactl *g, const struct cmd_args *a)
{
	return vmref_ret(g, GISA__V1__REQUEST__VERB_FLIC_CREATE, a->argv[0], false);
}

int cmd_flic_destroy(struct gisactl *g, const struct cmd_args *a)
{
	return vmref_ret(g, GISA__V1__REQUEST__VERB_FLIC_DESTROY, a->argv[0], false);
}

/* One FLIC attribute call: fa is complete but for vm. */
static int flic_call(struct gisactl *g, Gisa__V1__Request__VerbCase verb, const char *vm,
		     Gisa__V1__FlicAttr *fa, ctl_response **ret)
{
	ctl_request req = GISA__V1__REQUEST__INIT;

	fa->vm = (char *)vm;
	req.verb_case = verb;
	req.flic_get = fa;      /* has, get and set share the oneof's slot */
	return ctl_call(g, &req, -1, ret);
}

/* A FLIC SET of a small buffer built by a command. */
static int flic_set(struct gisactl *g, const char *vm, uint32_t group, uint64_t attr,
		    const uint8_t *data, size_t len)
{
	Gisa__V1__FlicAttr fa = GISA__V1__FLIC_ATTR__INIT;
	ctl_response *resp;
	int r;

	fa.has_group = fa.has_attr = true;
	fa.group = group;
	fa.attr = attr;
	if (len) {
		fa.has_data = true;
		fa.data.data = (uint8_t *)data;
		fa.data.len = len;
	}
	r = flic_call(g, GISA__V1__REQUEST__VERB_FLIC_SET, vm, &fa, &resp);
	if (!r)
		r = show_ret(g, resp, vm, false);
	ctl_free(resp);
	return r;
}

/* OFF:LEN of --fault */
static int parse_fault(struct gisactl *g, const char *s, Gisa__V1__FlicAttr *fa)
{
	const char *colon = strchr(s, ':');
	char off[32];
	uint32_t o, l;

	if (!colon || (size_t)(colon - s) >= sizeof(off) || colon == s)
		return out_usage(g, "option `--fault' takes OFF:LEN, not `%s'", s);
	memcpy(off, s, (size_t)(colon - s));
	off[colon - s] = '\0';
	if (arg_u32(g, "option `--fault''s OFF", off, &o) ||
	    arg_u32(g, "option `--fault''s LEN", colon + 1, &l))
		return GISACTL_EXIT_ERROR;
	fa->has_bad_off = fa->has_bad_len = true;
	fa->bad_off = o;
	fa->bad_len = l;
	return 0;
}

/*
 * The attribute of flic has/get/set from the command line.  The buffer is
 * --data or --data-file, at least --len bytes for get; attr defaults to
 * the buffer's length.  *buf is the caller's to free.
 */
static int parse_flic(struct gisactl *g, const struct cmd_args *a, bool get,
		      Gisa__V1__FlicAttr *fa, uint8_t **buf)
{
	uint32_t group, len = 0;
	size_t dlen = 0;
	int r;

	*buf = NULL;
	r = parse_group(g, a->argv[1], &group);
	if (!r && get && a->opt[OPT_LEN])
		r = arg_u32(g, "option `--len'", a->opt[OPT_LEN], &len);
	if (!r)
		r = arg_data(g, a, CTL_MAX_RESULT, buf, &dlen);
	if (r)
		return r;
	fa->has_group = fa->has_attr = true;
	fa->group = group;
	fa->attr = get && len > dlen ? len : dlen;
	if (dlen) {
		fa->has_data = true;
		fa->data.data = *buf;
		fa->data.len = dlen;
	}
	if (get && len) {
		fa->has_buf_len = true;
		fa->buf_len = len;
	}
	if (a->opt[OPT_ATTR])
		r = arg_u64(g, "option `--attr'", a->opt[OPT_ATTR], UINT64_MAX, &fa->attr);
	if (!r && a->opt[OPT_FLAGS]) {
		fa->has_flags = true;
		r = arg_u32(g, "option `--flags'", a->opt[OPT_FLAGS], &fa->flags);
	}
	if (!r && a->opt[OPT_FAULT])
		r = parse_fault(g, a->opt[OPT_FAULT], fa);
	if (!r && a->opt[OPT_UNMAPPED])
		fa->has_unmapped = fa->unmapped = true;
	return r;
}

static int flic_plain(struct gisactl *g, const struct cmd_args *a,
		      Gisa__V1__Request__VerbCase verb)
{
	Gisa__V1__FlicAttr fa = GISA__V1__FLIC_ATTR__INIT;
	ctl_response *resp = NULL;
	uint8_t *buf;
	int r = parse_flic(g, a, false, &fa, &buf);

	if (!r)
		r = flic_call(g, verb, a->argv[0], &fa, &resp);
	if (!r)
		r = show_ret(g, resp, a->argv[0], true);
	if (!r && g->json)
		jset(out_result(g), "group", json_group(fa.group));
	ctl_free(resp);
	free(buf);
	return r;
}

int cmd_flic_has(struct gisactl *g, const struct cmd_args *a)
{
	return flic_plain(g, a, GISA__V1__REQUEST__VERB_FLIC_HAS);
}

int cmd_flic_set(struct gisactl *g, const struct cmd_args *a)
{
	return flic_plain(g, a, GISA__V1__REQUEST__VERB_FLIC_SET);
}

int cmd_flic_get(struct gisactl *g, const struct cmd_args *a)
{
	Gisa__V1__FlicAttr fa = GISA__V1__FLIC_ATTR__INIT;
	const char *out = a->opt[OPT_OUTPUT];
	ctl_response *resp = NULL;
	const Gisa__V1__FlicResult *f;
	uint8_t *buf;
	int r = parse_flic(g, a, true, &fa, &buf);

	if (r)
		return r;
	r = flic_call(g, GISA__V1__REQUEST__VERB_FLIC_GET, a->argv[0], &fa, &resp);
	if (!r)
		r = ctl_expect(g, resp, GISA__V1__RESPONSE__RESULT_FLIC);
	if (r)
		goto out;
	f = resp->flic;
	if (out && !is_stdio(out)) {
		r = write_output(g, out, f->data.data, f->data.len, true);
		if (r)
			goto out;
	}
	if (g->json) {
		json_t *o = out_result(g);

		jset(o, "vm", json_text(a->argv[0]));
		jset(o, "group", json_group(fa.group));
		jset(o, "ret", json_integer(f->ret));
		if (out && !is_stdio(out))
			result_output(g, out, f->data.len);
		else
			jset(o, "data", json_hexbytes(f->data.data, f->data.len));
	} else {
		printf("%d\n", f->ret);
		if (!out || is_stdio(out))
			print_hexdump(f->data.data, f->data.len, 0);
	}
out:
	ctl_free(resp);
	free(buf);
	return r;
}

/* ---- irq ---------------------------------------------------------------- */

/* Records per batch_inject request. */
#define RECORDS_PER_REQUEST (CTL_MAX_PAYLOAD / GISA_IRQ_SIZE)

int cmd_irq_inject(struct gisactl *g, const struct cmd_args *a)
{
	const char *vm = a->argv[0], *hex = a->opt[OPT_HEX];
	const char *src = a->argc > 1 ? a->argv[1] : "--hex";
	uint8_t *recs = NULL;
	size_t len = 0, n, done = 0;
	int r;

	if ((a->argc > 1) == !!hex)
		return out_usage(g, "give the records as a FILE or with --hex, one of the two");
	if (hex)
		r = arg_hex(g, "option `--hex'", hex, &recs, &len);
	else
		r = read_input(g, a->argv[1], INPUT_CAP, "record file", &recs, &len);
	if (r)
		return r;
	if (len % GISA_IRQ_SIZE) {
		r = out_fail(g, -EINVAL, "`%s' holds %zu bytes, not a whole number of %u-byte "
			     "records; nothing injected", src, len, GISA_IRQ_SIZE);
		goto out;
	}
	n = len / GISA_IRQ_SIZE;
	while (done < n || (!n && !done)) {
		ctl_request req = GISA__V1__REQUEST__INIT;
		Gisa__V1__BatchInject b = GISA__V1__BATCH_INJECT__INIT;
		size_t k = n - done < RECORDS_PER_REQUEST ? n - done : RECORDS_PER_REQUEST;
		ctl_response *resp;

		b.vm = (char *)vm;
		b.has_records = true;
		b.records.data = recs + done * GISA_IRQ_SIZE;
		b.records.len = k * GISA_IRQ_SIZE;
		req.verb_case = GISA__V1__REQUEST__VERB_BATCH_INJECT;
		req.batch_inject = &b;
		r = ctl_exchange(g, &req, -1, &resp);
		if (r)
			goto out;
		if (resp->error) {
			uint32_t in = resp->result_case == GISA__V1__RESPONSE__RESULT_BATCH ?
					      resp->batch->injected : 0;

			/* gisad numbers the records of its request; name the file's. */
			if (n > RECORDS_PER_REQUEST)
				r = out_fail(g, resp->error, "%s [the request held records %zu to "
					     "%zu of `%s'; %zu of %zu injected in all]",
					     resp->message ? resp->message : strerror(-resp->error),
					     done, done + k - 1, src, done + in, n);
			else
				r = ctl_reply_fail(g, resp);
			ctl_free(resp);
			goto out;
		}
		r = ctl_expect(g, resp, GISA__V1__RESPONSE__RESULT_BATCH);
		ctl_free(resp);
		if (r)
			goto out;
		done += k;
		if (!n)
			break;
	}
	if (g->json) {
		json_t *o = out_result(g);

		jset(o, "vm", json_text(vm));
		jset(o, "injected", json_integer((json_int_t)done));
		jset(o, "total", json_integer((json_int_t)n));
	} else {
		printf("%zu of %zu records injected\n", done, n);
	}
out:
	free(recs);
	return r;
}

int cmd_irq_get(struct gisactl *g, const struct cmd_args *a)
{
	Gisa__V1__FlicAttr fa = GISA__V1__FLIC_ATTR__INIT;
	uint32_t len = 0;
	const char *vm = a->argv[0];
	enum gisa_byteorder order;
	ctl_response *resp = NULL;
	const Gisa__V1__FlicResult *f;
	size_t n;
	int r = 0;

	if (a->opt[OPT_LEN]) {
		r = arg_u32(g, "option `--len'", a->opt[OPT_LEN], &len);
	} else {
		/* As much as a reply on this connection carries. */
		r = ctl_max_result(g, &len);
		len = len / GISA_IRQ_SIZE * GISA_IRQ_SIZE;
	}
	if (!r)
		r = ctl_vm_order(g, vm, &order);
	if (r)
		return r;
	fa.has_group = fa.has_attr = fa.has_buf_len = true;
	fa.group = GISA_FLIC_GET_ALL_IRQS;
	fa.attr = len;
	fa.buf_len = len;
	r = flic_call(g, GISA__V1__REQUEST__VERB_FLIC_GET, vm, &fa, &resp);
	if (!r)
		r = ctl_expect(g, resp, GISA__V1__RESPONSE__RESULT_FLIC);
	if (r)
		goto out;
	f = resp->flic;
	n = f->ret > 0 ? (size_t)f->ret : 0;
	if (n * GISA_IRQ_SIZE > f->data.len) {
		r = out_fail(g, -EPROTO, "gisad reports %zu records in a buffer of %zu bytes", n,
			     f->data.len);
		goto out;
	}
	if (g->json) {
		json_t *o = out_result(g), *list = json_array();

		for (size_t i = 0; i < n && list; i++)
			if (json_array_append_new(list, json_irq(f->data.data + i * GISA_IRQ_SIZE,
								 order)))
				list = NULL;
		jset(o, "vm", json_text(vm));
		jset(o, "byte_order", json_string(order_name(order)));
		jset(o, "count", json_integer((json_int_t)n));
		jset(o, "records", list);
		jset(o, "hex", json_hexbytes(f->data.data, n * GISA_IRQ_SIZE));
		goto out;
	}
	printf("%zu record%s (%s)\n", n, n == 1 ? "" : "s", order == GISA_LE ? "little-endian" :
									"big-endian");
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = f->data.data + i * GISA_IRQ_SIZE;
		struct gisa_irq irq;
		char line[160];

		gisa_irq_unpack1(p, order, &irq);
		fmt_irq(&irq, line, sizeof(line));
		printf("[%zu] %s\n    ", i, line);
		for (unsigned k = 0; k < GISA_IRQ_SIZE; k++)
			printf("%02x", p[k]);
		putchar('\n');
	}
out:
	ctl_free(resp);
	return r;
}

int cmd_irq_clear(struct gisactl *g, const struct cmd_args *a)
{
	return flic_set(g, a->argv[0], GISA_FLIC_CLEAR_IRQS, 0, NULL, 0);
}

int cmd_irq_clear_io(struct gisactl *g, const struct cmd_args *a)
{
	enum gisa_byteorder order;
	uint8_t buf[4];
	uint32_t schid;
	int r = arg_u32(g, "SCHID", a->argv[1], &schid);

	if (!r)
		r = ctl_vm_order(g, a->argv[0], &order);
	if (r)
		return r;
	for (int i = 0; i < 4; i++)
		buf[order == GISA_LE ? i : 3 - i] = (uint8_t)(schid >> (8 * i));
	return flic_set(g, a->argv[0], GISA_FLIC_CLEAR_IO_IRQ, sizeof(buf), buf, sizeof(buf));
}

int cmd_irq_interrupt(struct gisactl *g, const struct cmd_args *a)
{
	ctl_request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__Interrupt in = GISA__V1__INTERRUPT__INIT;
	int r;

	in.vm = a->argv[0];
	in.has_type = in.has_parm = in.has_parm64 = true;
	r = arg_u32(g, "TYPE", a->argv[1], &in.type);
	if (!r && a->argc > 2)
		r = arg_u32(g, "PARM", a->argv[2], &in.parm);
	if (!r && a->argc > 3)
		r = arg_u64(g, "PARM64", a->argv[3], UINT64_MAX, &in.parm64);
	if (r)
		return r;
	req.verb_case = GISA__V1__REQUEST__VERB_INTERRUPT;
	req.interrupt = &in;
	return call_ret(g, &req, a->argv[0], false);
}

/* ---- adapter, ais, airq, apf -------------------------------------------- */

int cmd_adapter_register(struct gisactl *g, const struct cmd_args *a)
{
	struct gisa_io_adapter ad = { 0 };
	uint8_t buf[GISA_IO_ADAPTER_SIZE];
	enum gisa_byteorder order;
	uint64_t isc = 0;
	int r = arg_u32(g, "ID", a->argv[1], &ad.id);

	if (!r && a->opt[OPT_ISC])
		r = arg_u64(g, "option `--isc'", a->opt[OPT_ISC], UINT8_MAX, &isc);
	if (!r)
		r = ctl_vm_order(g, a->argv[0], &order);
	if (r)
		return r;
	ad.isc = (uint8_t)isc;
	ad.maskable = a->opt[OPT_MASKABLE] ? 1 : 0;
	ad.swap = a->opt[OPT_SWAP] ? 1 : 0;
	ad.flags = a->opt[OPT_SUPPRESSIBLE] ? GISA_ADAPTER_SUPPRESSIBLE : 0;
	gisa_io_adapter_pack(&ad, order, buf);
	return flic_set(g, a->argv[0], GISA_FLIC_ADAPTER_REGISTER, sizeof(buf), buf, sizeof(buf));
}

int cmd_adapter_modify(struct gisactl *g, const struct cmd_args *a)
{
	struct gisa_io_adapter_req req = { 0 };
	uint8_t buf[GISA_IO_ADAPTER_REQ_SIZE];
	const char *op = a->argv[2];
	enum gisa_byteorder order;
	bool addr = false;
	int r = arg_u32(g, "ID", a->argv[1], &req.id);

	if (r)
		return r;
	if (!strcmp(op, "mask") || !strcmp(op, "unmask")) {
		req.type = GISA_IO_ADAPTER_MASK;
		req.mask = op[0] == 'm';
	} else if (!strcmp(op, "map") || !strcmp(op, "unmap")) {
		req.type = op[0] == 'm' ? GISA_IO_ADAPTER_MAP : GISA_IO_ADAPTER_UNMAP;
		addr = true;
	} else {
		return out_usage(g, "adapter modify takes mask, unmask, map ADDR or unmap ADDR, "
				 "not `%s'", op);
	}
	if (addr != (a->argc == 4))
		return out_usage(g, addr ? "%s needs the guest ADDR" :
				 "%s takes no ADDR", op);
	if (addr && arg_u64(g, "ADDR", a->argv[3], UINT64_MAX, &req.addr))
		return GISACTL_EXIT_ERROR;
	r = ctl_vm_order(g, a->argv[0], &order);
	if (r)
		return r;
	gisa_io_adapter_req_pack(&req, order, buf);
	return flic_set(g, a->argv[0], GISA_FLIC_ADAPTER_MODIFY, sizeof(buf), buf, sizeof(buf));
}

int cmd_ais_set(struct gisactl *g, const struct cmd_args *a)
{
	struct gisa_ais_req req = { 0 };
	uint8_t buf[GISA_AIS_REQ_SIZE];
	enum gisa_byteorder order;
	const char *mode = a->argv[2];
	uint64_t isc, m;
	int r = arg_u64(g, "ISC", a->argv[1], UINT8_MAX, &isc);

	if (r)
		return r;
	if (!strcmp(mode, "all"))
		m = GISA_AIS_MODE_ALL;
	else if (!strcmp(mode, "single"))
		m = GISA_AIS_MODE_SINGLE;
	else if (arg_u64(g, "MODE (all, single or a number)", mode, UINT16_MAX, &m))
		return GISACTL_EXIT_ERROR;
	r = ctl_vm_order(g, a->argv[0], &order);
	if (r)
		return r;
	req.isc = (uint8_t)isc;
	req.mode = (uint16_t)m;
	gisa_ais_req_pack(&req, order, buf);
	return flic_set(g, a->argv[0], GISA_FLIC_AISM, sizeof(buf), buf, sizeof(buf));
}

int cmd_ais_set_all(struct gisactl *g, const struct cmd_args *a)
{
	uint8_t buf[GISA_AIS_ALL_SIZE];
	struct gisa_ais_all all;
	uint64_t simm, nimm;

	if (arg_u64(g, "SIMM", a->argv[1], UINT8_MAX, &simm) ||
	    arg_u64(g, "NIMM", a->argv[2], UINT8_MAX, &nimm))
		return GISACTL_EXIT_ERROR;
	all.simm = (uint8_t)simm;
	all.nimm = (uint8_t)nimm;
	gisa_ais_all_pack(&all, buf);
	return flic_set(g, a->argv[0], GISA_FLIC_AISM_ALL, sizeof(buf), buf, sizeof(buf));
}

int cmd_ais_get(struct gisactl *g, const struct cmd_args *a)
{
	Gisa__V1__FlicAttr fa = GISA__V1__FLIC_ATTR__INIT;
	ctl_response *resp;
	struct gisa_ais_all all;
	int r;

	fa.has_group = fa.has_attr = fa.has_buf_len = true;
	fa.group = GISA_FLIC_AISM_ALL;
	fa.attr = GISA_AIS_ALL_SIZE;
	fa.buf_len = GISA_AIS_ALL_SIZE;
	r = flic_call(g, GISA__V1__REQUEST__VERB_FLIC_GET, a->argv[0], &fa, &resp);
	if (!r)
		r = ctl_expect(g, resp, GISA__V1__RESPONSE__RESULT_FLIC);
	if (!r && resp->flic->data.len < GISA_AIS_ALL_SIZE)
		r = out_fail(g, -EPROTO, "gisad returned %zu bytes of AISM_ALL, not %u",
			     resp->flic->data.len, GISA_AIS_ALL_SIZE);
	if (r)
		goto out;
	gisa_ais_all_unpack(resp->flic->data.data, &all);
	if (g->json) {
		json_t *o = out_result(g);

		jset(o, "vm", json_text(a->argv[0]));
		jset(o, "simm", json_hex64(all.simm));
		jset(o, "nimm", json_hex64(all.nimm));
	} else {
		out_kv("simm", "0x%02x", all.simm);
		out_kv("nimm", "0x%02x", all.nimm);
	}
out:
	ctl_free(resp);
	return r;
}

int cmd_airq_inject(struct gisactl *g, const struct cmd_args *a)
{
	uint32_t id;

	if (arg_u32(g, "ADAPTER", a->argv[1], &id))
		return GISACTL_EXIT_ERROR;
	return flic_set(g, a->argv[0], GISA_FLIC_AIRQ_INJECT, id, NULL, 0);
}

int cmd_apf_enable(struct gisactl *g, const struct cmd_args *a)
{
	return flic_set(g, a->argv[0], GISA_FLIC_APF_ENABLE, 0, NULL, 0);
}

int cmd_apf_disable_wait(struct gisactl *g, const struct cmd_args *a)
{
	return flic_set(g, a->argv[0], GISA_FLIC_APF_DISABLE_WAIT, 0, NULL, 0);
}

/* ---- routes ------------------------------------------------------------- */

/* GSI:IND:INDOFF:SUM:SUMOFF:ADAPTER */
static int parse_route_spec(struct gisactl *g, const char *s, Gisa__V1__RouteEntry *e)
{
	static const char *const what[6] = {
		"a route's GSI", "a route's IND", "a route's INDOFF", "a route's SUM",
		"a route's SUMOFF", "a route's ADAPTER",
	};
	static const uint64_t max[6] = {
		UINT32_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT32_MAX, UINT32_MAX,
	};
	uint64_t v[6];
	const char *p = s;

	for (int i = 0; i < 6; i++) {
		size_t n = strcspn(p, ":");
		char field[32];

		if ((i < 5 && p[n] != ':') || (i == 5 && p[n]) || !n || n >= sizeof(field))
			return out_usage(g, "option `--route' takes "
					 "GSI:IND:INDOFF:SUM:SUMOFF:ADAPTER, not `%s'", s);
		memcpy(field, p, n);
		field[n] = '\0';
		if (arg_u64(g, what[i], field, max[i], &v[i]))
			return GISACTL_EXIT_ERROR;
		p += n + 1;
	}
	e->has_gsi = e->has_type = e->has_ind_addr = e->has_ind_offset = true;
	e->has_summary_addr = e->has_summary_offset = e->has_adapter_id = true;
	e->gsi = (uint32_t)v[0];
	e->type = GISA_IRQ_ROUTING_S390_ADAPTER;
	e->ind_addr = v[1];
	e->ind_offset = v[2];
	e->summary_addr = v[3];
	e->summary_offset = (uint32_t)v[4];
	e->adapter_id = (uint32_t)v[5];
	return 0;
}

/* A JSON number, or a string of a number (decimal or 0x): 64-bit values do not fit numbers. */
static int json_u64(struct gisactl *g, const char *path, size_t i, const char *key,
		    json_t *v, uint64_t max, uint64_t *ret)
{
	char what[96];

	snprintf(what, sizeof(what), "`%s': routes[%zu].%s", path, i, key);
	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    (uint64_t)json_integer_value(v) <= max) {
		*ret = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		int r = arg_u64(g, what, json_string_value(v), max, ret);

		if (r)
			g->errcode = errno_code(-EINVAL);
		return r;
	}
	return out_fail(g, -EINVAL, "%s is not a number from 0 to %" PRIu64
			" (or a string of one)", what, max);
}

static int parse_route_json(struct gisactl *g, const char *path, Gisa__V1__RoutesSet *rs,
			    Gisa__V1__RouteEntry **ret_entries)
{
	static const struct {
		const char *key;
		bool required;
		uint64_t max;
	} keys[] = {
		{ "gsi", true, UINT32_MAX },
		{ "type", false, UINT32_MAX },
		{ "flags", false, UINT32_MAX },
		{ "ind_addr", true, UINT64_MAX },
		{ "ind_offset", true, UINT64_MAX },
		{ "summary_addr", true, UINT64_MAX },
		{ "summary_offset", true, UINT32_MAX },
		{ "adapter_id", true, UINT32_MAX },
	};
	Gisa__V1__RouteEntry *es = NULL;
	json_t *doc, *routes, *flags = NULL;
	json_error_t jerr;
	uint8_t *text;
	size_t len, n;
	int r;

	r = read_input(g, path, 16u << 20, "routing JSON text", &text, &len);
	if (r)
		return r;
	doc = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!doc)
		return out_fail(g, -EINVAL, "`%s' line %d column %d: %s", path, jerr.line,
				jerr.column, jerr.text);
	routes = json_is_object(doc) ? json_object_get(doc, "routes") : doc;
	if (json_is_object(doc))
		flags = json_object_get(doc, "flags");
	if (!json_is_array(routes)) {
		r = out_fail(g, -EINVAL, "`%s' holds neither an array of routes nor an object "
			     "with a \"routes\" array", path);
		goto out;
	}
	if (flags) {
		uint64_t f;
		char what[64];

		snprintf(what, sizeof(what), "`%s': flags", path);
		if (!json_is_integer(flags) || json_integer_value(flags) < 0 ||
		    json_integer_value(flags) > UINT32_MAX) {
			r = out_fail(g, -EINVAL, "%s is not a number from 0 to %u", what,
				     UINT32_MAX);
			goto out;
		}
		f = (uint64_t)json_integer_value(flags);
		rs->has_flags = true;
		rs->flags = (uint32_t)f;
	}
	n = json_array_size(routes);
	if (n > GISA_MAX_IRQ_ROUTES * 2) {
		r = out_fail(g, -E2BIG, "`%s' holds %zu routes; KVM takes at most %u", path, n,
			     GISA_MAX_IRQ_ROUTES);
		goto out;
	}
	es = calloc(n ? n : 1, sizeof(*es));
	if (!es) {
		r = out_fail(g, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n && !r; i++) {
		json_t *o = json_array_get(routes, i), *v;
		const char *key;
		uint64_t val[ARRAY_SIZE(keys)];

		gisa__v1__route_entry__init(&es[i]);
		if (!json_is_object(o)) {
			r = out_fail(g, -EINVAL, "`%s': routes[%zu] is not an object", path, i);
			break;
		}
		json_object_foreach(o, key, v) {
			size_t k;

			for (k = 0; k < ARRAY_SIZE(keys) && strcmp(keys[k].key, key); k++)
				;
			if (k == ARRAY_SIZE(keys)) {
				r = out_fail(g, -EINVAL, "`%s': routes[%zu] has an unknown member "
					     "`%s'", path, i, key);
				break;
			}
		}
		for (size_t k = 0; k < ARRAY_SIZE(keys) && !r; k++) {
			v = json_object_get(o, keys[k].key);
			val[k] = k == 1 ? GISA_IRQ_ROUTING_S390_ADAPTER : 0;
			if (!v && keys[k].required)
				r = out_fail(g, -EINVAL, "`%s': routes[%zu] lacks \"%s\"", path, i,
					     keys[k].key);
			else if (v)
				r = json_u64(g, path, i, keys[k].key, v, keys[k].max, &val[k]);
		}
		if (r)
			break;
		es[i].has_gsi = es[i].has_type = es[i].has_flags = es[i].has_ind_addr = true;
		es[i].has_ind_offset = es[i].has_summary_addr = true;
		es[i].has_summary_offset = es[i].has_adapter_id = true;
		es[i].gsi = (uint32_t)val[0];
		es[i].type = (uint32_t)val[1];
		es[i].flags = (uint32_t)val[2];
		es[i].ind_addr = val[3];
		es[i].ind_offset = val[4];
		es[i].summary_addr = val[5];
		es[i].summary_offset = (uint32_t)val[6];
		es[i].adapter_id = (uint32_t)val[7];
	}
	if (!r) {
		rs->n_entries = n;
		*ret_entries = es;
		es = NULL;
	}
out:
	free(es);
	json_decref(doc);
	return r;
}

int cmd_route_set(struct gisactl *g, const struct cmd_args *a)
{
	ctl_request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__RoutesSet rs = GISA__V1__ROUTES_SET__INIT;
	Gisa__V1__RouteEntry *es = NULL, **pv = NULL;
	int n = a->nlist[OPT_ROUTE], r = 0;

	if ((a->argc > 1) == (n > 0))
		return out_usage(g, "give the routes as a FILE.json or with --route, one of the "
				 "two (an empty JSON array clears the table)");
	if (a->argc > 1) {
		r = parse_route_json(g, a->argv[1], &rs, &es);
	} else {
		es = calloc((size_t)n, sizeof(*es));
		if (!es)
			return out_fail(g, -ENOMEM, "out of memory");
		for (int i = 0; i < n && !r; i++) {
			gisa__v1__route_entry__init(&es[i]);
			r = parse_route_spec(g, a->list[OPT_ROUTE][i], &es[i]);
		}
		rs.n_entries = (size_t)n;
	}
	if (!r && a->opt[OPT_FLAGS]) {
		rs.has_flags = true;
		r = arg_u32(g, "option `--flags'", a->opt[OPT_FLAGS], &rs.flags);
	}
	if (!r) {
		pv = calloc(rs.n_entries + 1, sizeof(Gisa__V1__RouteEntry *));
		if (!pv)
			r = out_fail(g, -ENOMEM, "out of memory");
		for (size_t i = 0; pv && i < rs.n_entries; i++)
			pv[i] = &es[i];
	}
	if (!r) {
		rs.vm = a->argv[0];
		rs.entries = pv;
		req.verb_case = GISA__V1__REQUEST__VERB_ROUTES_SET;
		req.routes_set = &rs;
		r = call_ret(g, &req, a->argv[0], false);
	}
	if (!r && g->json)
		jset(out_result(g), "routes", json_integer((json_int_t)rs.n_entries));
	free(pv);
	free(es);
	return r;
}

int cmd_route_trigger(struct gisactl *g, const struct cmd_args *a)
{
	ctl_request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__RouteTrigger t = GISA__V1__ROUTE_TRIGGER__INIT;
	int r;

	t.vm = a->argv[0];
	t.has_gsi = t.has_level = true;
	t.level = 1;
	r = arg_u32(g, "GSI", a->argv[1], &t.gsi);
	if (!r && a->opt[OPT_LEVEL])
		r = arg_i32(g, "option `--level'", a->opt[OPT_LEVEL], &t.level);
	if (r)
		return r;
	req.verb_case = GISA__V1__REQUEST__VERB_ROUTE_TRIGGER;
	req.route_trigger = &t;
	return call_ret(g, &req, a->argv[0], true);
}

/* ---- guest memory and memslots ------------------------------------------ */

int cmd_mem_read(struct gisactl *g, const struct cmd_args *a)
{
	const char *vm = a->argv[0], *out = a->opt[OPT_OUTPUT];
	uint32_t piece = CTL_MAX_PAYLOAD;
	uint64_t gpa, len;
	uint8_t *buf;
	int r = arg_u64(g, "GPA", a->argv[1], UINT64_MAX, &gpa);

	if (!r)
		r = arg_u64(g, "LEN", a->argv[2], INPUT_CAP, &len);
	if (!r && len && gpa + (len - 1) < gpa)
		r = out_usage(g, "GPA 0x%" PRIx64 " + LEN %" PRIu64 " wraps around", gpa, len);
	if (r)
		return r;
	/* Pieces a reply on this connection carries (ping's max_reply). */
	if (len > CTL_MAX_PAYLOAD / 4) {
		r = ctl_max_result(g, &piece);
		if (!r && !piece)
			r = out_fail(g, -E2BIG, "gisad's replies carry no result bytes here");
		if (r)
			return r;
	}
	if (piece > CTL_MAX_PAYLOAD)
		piece = CTL_MAX_PAYLOAD;
	buf = malloc(len ? len : 1);
	if (!buf)
		return out_fail(g, -ENOMEM, "out of memory");
	for (uint64_t done = 0; done < len && !r; ) {
		ctl_request req = GISA__V1__REQUEST__INIT;
		Gisa__V1__MemRead m = GISA__V1__MEM_READ__INIT;
		uint64_t k = len - done < piece ? len - done : piece;
		ctl_response *resp;

		m.vm = (char *)vm;
		m.has_gpa = m.has_len = true;
		m.gpa = gpa + done;
		m.len = (uint32_t)k;
		req.verb_case = GISA__V1__REQUEST__VERB_MEM_READ;
		req.mem_read = &m;
		r = ctl_call(g, &req, -1, &resp);
		if (!r)
			r = ctl_expect(g, resp, GISA__V1__RESPONSE__RESULT_MEM);
		if (!r && resp->mem->data.len != k)
			r = out_fail(g, -EPROTO, "gisad returned %zu bytes of memory, not %" PRIu64,
				     resp->mem->data.len, k);
		if (!r)
			memcpy(buf + done, resp->mem->data.data, k);
		ctl_free(resp);
		done += k;
	}
	if (!r && out && !is_stdio(out))
		r = write_output(g, out, buf, len, true);
	if (!r && g->json) {
		json_t *o = out_result(g);

		jset(o, "vm", json_text(vm));
		jset(o, "gpa", json_hex64(gpa));
		jset(o, "len", json_integer((json_int_t)len));
		if (out && !is_stdio(out))
			result_output(g, out, len);
		else
			jset(o, "data", json_hexbytes(buf, len));
	} else if (!r && (!out || is_stdio(out))) {
		print_hexdump(buf, len, gpa);
	}
	free(buf);
	return r;
}

int cmd_mem_write(struct gisactl *g, const struct cmd_args *a)
{
	const char *vm = a->argv[0];
	uint8_t *data = NULL;
	size_t len = 0;
	uint64_t gpa;
	int r = arg_u64(g, "GPA", a->argv[1], UINT64_MAX, &gpa);

	if (!r && !a->opt[OPT_DATA] && !a->opt[OPT_DATA_FILE])
		r = out_usage(g, "give the bytes with --data HEX or --data-file FILE");
	if (!r)
		r = arg_data(g, a, INPUT_CAP, &data, &len);
	if (!r && len && gpa + (len - 1) < gpa)
		r = out_usage(g, "GPA 0x%" PRIx64 " + %zu bytes wraps around", gpa, len);
	for (size_t done = 0; !r && (done < len || !len); ) {
		ctl_request req = GISA__V1__REQUEST__INIT;
		Gisa__V1__MemWrite m = GISA__V1__MEM_WRITE__INIT;
		size_t k = len - done < CTL_MAX_PAYLOAD ? len - done : CTL_MAX_PAYLOAD;
		ctl_response *resp;

		m.vm = (char *)vm;
		m.has_gpa = m.has_data = true;
		m.gpa = gpa + done;
		m.data.data = data ? data + done : NULL;
		m.data.len = k;
		req.verb_case = GISA__V1__REQUEST__VERB_MEM_WRITE;
		req.mem_write = &m;
		r = ctl_call(g, &req, -1, &resp);
		ctl_free(resp);
		done += k;
		if (!len)
			break;
	}
	if (!r && g->json) {
		json_t *o = out_result(g);

		jset(o, "vm", json_text(vm));
		jset(o, "gpa", json_hex64(gpa));
		jset(o, "len", json_integer((json_int_t)len));
	}
	free(data);
	return r;
}

int cmd_mem_dirty_log(struct gisactl *g, const struct cmd_args *a)
{
	ctl_request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__DirtyLog d = GISA__V1__DIRTY_LOG__INIT;
	const Gisa__V1__DirtyBitmap *b;
	ctl_response *resp = NULL;
	json_t *pages = NULL, *words = NULL;
	size_t n = 0;
	int r;

	d.vm = a->argv[0];
	d.has_slot = true;
	r = arg_u32(g, "SLOT", a->argv[1], &d.slot);
	if (r)
		return r;
	req.verb_case = GISA__V1__REQUEST__VERB_DIRTY_LOG;
	req.dirty_log = &d;
	r = ctl_call(g, &req, -1, &resp);
	if (!r)
		r = ctl_expect(g, resp, GISA__V1__RESPONSE__RESULT_DIRTY_LOG);
	if (r)
		goto out;
	b = resp->dirty_log;
	if (g->json) {
		pages = json_array();
		words = json_array();
	}
	for (size_t w = 0; w < b->n_words; w++) {
		if (words && json_array_append_new(words, json_hex64(b->words[w])))
			words = NULL;
		for (unsigned bit = 0; bit < 64; bit++) {
			size_t page = w * 64 + bit;

			if (!(b->words[w] >> bit & 1))
				continue;
			n++;
			if (!g->json)
				printf("page %zu\n", page);
			else if (pages &&
				 json_array_append_new(pages, json_integer((json_int_t)page)))
				pages = NULL;
		}
	}
	if (g->json) {
		json_t *o = out_result(g);

		jset(o, "vm", json_text(a->argv[0]));
		jset(o, "slot", json_integer(d.slot));
		jset(o, "words", words);
		jset(o, "pages", pages);
	} else {
		printf("%zu dirty page%s\n", n, n == 1 ? "" : "s");
	}
out:
	ctl_free(resp);
	return r;
}

static int memslot_call(struct gisactl *g, const char *vm, uint32_t slot, uint64_t gpa,
			uint64_t size)
{
	ctl_request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__MemslotSet m = GISA__V1__MEMSLOT_SET__INIT;
	Gisa__V1__MemslotSpec s = GISA__V1__MEMSLOT_SPEC__INIT;

	s.has_slot = s.has_gpa = s.has_size = true;
	s.slot = slot;
	s.gpa = gpa;
	s.size = size;
	m.vm = (char *)vm;
	m.slot = &s;
	req.verb_case = GISA__V1__REQUEST__VERB_MEMSLOT_SET;
	req.memslot_set = &m;
	return call_ret(g, &req, vm, false);
}

int cmd_memslot_set(struct gisactl *g, const struct cmd_args *a)
{
	uint64_t gpa, size;
	uint32_t slot;

	if (arg_u32(g, "SLOT", a->argv[1], &slot) ||
	    arg_u64(g, "GPA", a->argv[2], UINT64_MAX, &gpa) ||
	    arg_u64(g, "SIZE", a->argv[3], UINT64_MAX, &size))
		return GISACTL_EXIT_ERROR;
	return memslot_call(g, a->argv[0], slot, gpa, size);
}

int cmd_memslot_delete(struct gisactl *g, const struct cmd_args *a)
{
	uint32_t slot;

	if (arg_u32(g, "SLOT", a->argv[1], &slot))
		return GISACTL_EXIT_ERROR;
	return memslot_call(g, a->argv[0], slot, 0, 0);
}

int cmd_memslot_list(struct gisactl *g, const struct cmd_args *a)
{
	const Gisa__V1__VmInfo *v;
	ctl_response *resp;
	json_t *list = NULL;
	int r = ctl_vmref(g, GISA__V1__REQUEST__VERB_VM_INFO, a->argv[0], &resp);

	if (!r)
		r = ctl_expect(g, resp, GISA__V1__RESPONSE__RESULT_VM_INFO);
	if (r)
		goto out;
	v = resp->vm_info;
	if (g->json)
		list = json_array();
	else if (v->n_memslots)
		printf("%-6s %-18s %s\n", "SLOT", "GPA", "SIZE");
	for (size_t i = 0; i < v->n_memslots; i++) {
		const Gisa__V1__MemslotSpec *m = v->memslots[i];
		json_t *o;

		if (!g->json) {
			printf("%-6u 0x%-16" PRIx64 " 0x%" PRIx64 "\n", m->slot, m->gpa, m->size);
			continue;
		}
		o = json_object();
		jset(o, "slot", json_integer(m->slot));
		jset(o, "gpa", json_hex64(m->gpa));
		jset(o, "size", json_hex64(m->size));
		if (!list || !o || json_array_append_new(list, o))
			list = NULL;
	}
	if (g->json) {
		jset(out_result(g), "vm", json_text(a->argv[0]));
		jset(out_result(g), "memslots", list);
	}
out:
	ctl_free(resp);
	return r;
}

/* ---- vcpus -------------------------------------------------------------- */

static int vcpu_call(struct gisactl *g, Gisa__V1__Request__VerbCase verb, const char *vm,
		     const char *idx, ctl_response **ret)
{
	ctl_request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__VcpuRef ref = GISA__V1__VCPU_REF__INIT;
	int r = vcpu_arg(g, idx, &ref.vcpu);

	*ret = NULL;
	if (r)
		return r;
	ref.vm = (char *)vm;
	ref.has_vcpu = true;
	req.verb_case = verb;
	req.vcpu_get = &ref;    /* every VcpuRef verb shares the oneof's slot */
	return ctl_call(g, &req, -1, ret);
}

/* The vcpu's state, copied into a fresh message (*st is initialised here). */
static int vcpu_fetch(struct gisactl *g, const struct cmd_args *a, Gisa__V1__VcpuState *st)
{
	ctl_response *resp;
	int r = vcpu_call(g, GISA__V1__REQUEST__VERB_VCPU_GET, a->argv[0], a->argv[1], &resp);

	if (!r)
		r = ctl_expect(g, resp, GISA__V1__RESPONSE__RESULT_VCPU);
	if (!r) {
		const Gisa__V1__VcpuState *v = resp->vcpu;

		gisa__v1__vcpu_state__init(st);
		st->psw_mask = v->psw_mask;
		st->cr0 = v->cr0;
		st->cr6 = v->cr6;
		st->cr14 = v->cr14;
		st->run = v->run;
		st->kicked = v->kicked;
	}
	ctl_free(resp);
	return r;
}

int cmd_vcpu_get(struct gisactl *g, const struct cmd_args *a)
{
	Gisa__V1__VcpuState st;
	int r = vcpu_fetch(g, a, &st);
	uint64_t vcpu = 0;

	if (r)
		return r;
	if (g->json) {
		json_t *o = out_result(g);

		jset(o, "vm", json_text(a->argv[0]));
		/* vcpu_fetch took the index: it reads the same here. */
		jset(o, "vcpu",
		     parse_number(a->argv[1], &vcpu) ? NULL : json_integer((json_int_t)vcpu));
		jset(o, "psw_mask", json_hex64(st.psw_mask));
		jset(o, "cr0", json_hex64(st.cr0));
		jset(o, "cr6", json_hex64(st.cr6));
		jset(o, "cr14", json_hex64(st.cr14));
		jset(o, "run", json_string(run_state_name(st.run)));
		jset(o, "kicked", json_boolean(st.kicked));
		return 0;
	}
	out_kv("psw mask", "0x%016" PRIx64, st.psw_mask);
	out_kv("cr0", "0x%016" PRIx64, st.cr0);
	out_kv("cr6", "0x%016" PRIx64, st.cr6);
	out_kv("cr14", "0x%016" PRIx64, st.cr14);
	out_kv("run state", "%s", run_state_name(st.run));
	out_kv("kicked", "%s", st.kicked ? "yes" : "no");
	return 0;
}

int cmd_vcpu_set(struct gisactl *g, const struct cmd_args *a)
{
	static const struct {
		enum opt_id opt;
		size_t off;
	} regs[] = {
		{ OPT_PSW_MASK, offsetof(Gisa__V1__VcpuState, psw_mask) },
		{ OPT_CR0, offsetof(Gisa__V1__VcpuState, cr0) },
		{ OPT_CR6, offsetof(Gisa__V1__VcpuState, cr6) },
		{ OPT_CR14, offsetof(Gisa__V1__VcpuState, cr14) },
	};
	ctl_request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__VcpuSet vs = GISA__V1__VCPU_SET__INIT;
	Gisa__V1__VcpuState st;
	uint64_t v[ARRAY_SIZE(regs)];
	uint32_t run = 0;
	int r = vcpu_arg(g, a->argv[1], &vs.vcpu);

	/* Every value is checked before anything is asked of gisad. */
	for (size_t i = 0; i < ARRAY_SIZE(regs) && !r; i++) {
		char what[32];

		snprintf(what, sizeof(what), "option `--%s'", opt_defs[regs[i].opt].name);
		if (a->opt[regs[i].opt])
			r = arg_u64(g, what, a->opt[regs[i].opt], UINT64_MAX, &v[i]);
	}
	if (!r && a->opt[OPT_RUN]) {
		const char *s = a->opt[OPT_RUN];

		if (!strcmp(s, "running"))
			run = 0;
		else if (!strcmp(s, "idle"))
			run = 1;
		else if (!strcmp(s, "stopped"))
			run = 2;
		else
			r = out_usage(g, "option `--run' takes running, idle or stopped, not `%s'",
				      s);
	}
	if (!r)
		r = vcpu_fetch(g, a, &st);
	if (r)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(regs); i++)
		if (a->opt[regs[i].opt])
			*(uint64_t *)(void *)((char *)&st + regs[i].off) = v[i];
	if (a->opt[OPT_RUN])
		st.run = run;
	st.has_psw_mask = st.has_cr0 = st.has_cr6 = st.has_cr14 = st.has_run = true;
	st.has_kicked = false;
	vs.vm = a->argv[0];
	vs.has_vcpu = true;
	vs.state = &st;
	req.verb_case = GISA__V1__REQUEST__VERB_VCPU_SET;
	req.vcpu_set = &vs;
	return call_ret(g, &req, a->argv[0], false);
}

static int vcpu_ret(struct gisactl *g, const struct cmd_args *a,
		    Gisa__V1__Request__VerbCase verb, bool print)
{
	ctl_response *resp;
	int r = vcpu_call(g, verb, a->argv[0], a->argv[1], &resp);

	if (!r)
		r = show_ret(g, resp, a->argv[0], print);
	ctl_free(resp);
	return r;
}

int cmd_vcpu_run(struct gisactl *g, const struct cmd_args *a)
{
	return vcpu_ret(g, a, GISA__V1__REQUEST__VERB_VCPU_RUN, false);
}

int cmd_vcpu_wait(struct gisactl *g, const struct cmd_args *a)
{
	return vcpu_ret(g, a, GISA__V1__REQUEST__VERB_VCPU_WAIT, true);
}

static const char *delivery_kind(unsigned k)
{
	static const char *const names[] = { "none", "io", "ext", "mchk" };

	return k < 4 ? names[k] : "unknown";
}

int cmd_vcpu_deliver(struct gisactl *g, const struct cmd_args *a)
{
	const Gisa__V1__Delivery *d;
	ctl_response *resp;
	int r = vcpu_call(g, GISA__V1__REQUEST__VERB_VCPU_DELIVER, a->argv[0], a->argv[1], &resp);

	if (!r)
		r = ctl_expect(g, resp, GISA__V1__RESPONSE__RESULT_DELIVERY);
	if (r)
		goto out;
	d = resp->delivery;
	if (g->json) {
		json_t *o = out_result(g);

		jset(o, "vm", json_text(a->argv[0]));
		jset(o, "delivered", json_boolean(d->ret == 1));
		jset(o, "kind", d->ret == 1 ? json_string(delivery_kind(d->kind)) : json_null());
		if (d->ret == 1) {
			jset(o, "irq_bit", json_integer(d->irq_bit));
			jset(o, "type", json_hex64(d->type));
		}
		if (d->ret == 1 && d->kind == 1) {
			jset(o, "subchannel_id", json_integer(d->subchannel_id));
			jset(o, "subchannel_nr", json_integer(d->subchannel_nr));
			jset(o, "io_int_parm", json_hex64(d->io_int_parm));
			jset(o, "io_int_word", json_hex64(d->io_int_word));
		} else if (d->ret == 1 && d->kind == 2) {
			jset(o, "ext_code", json_hex64(d->ext_code));
			jset(o, "ext_cpu_addr", json_hex64(d->ext_cpu_addr));
			jset(o, "ext_param", json_hex64(d->ext_param));
			jset(o, "ext_param64", json_hex64(d->ext_param64));
		} else if (d->ret == 1 && d->kind == 3) {
			jset(o, "mcic", json_hex64(d->mcic));
			jset(o, "mchk_cr14", json_hex64(d->mchk_cr14));
		}
		goto out;
	}
	if (d->ret != 1) {
		printf("nothing delivered\n");
		goto out;
	}
	out_kv("delivered", "%s (irq bit %d, type 0x%" PRIx64 ")", delivery_kind(d->kind),
	       d->irq_bit, d->type);
	if (d->kind == 1)
		out_kv("io", "schid 0x%04x nr 0x%04x parm 0x%08x word 0x%08x", d->subchannel_id,
		       d->subchannel_nr, d->io_int_parm, d->io_int_word);
	else if (d->kind == 2)
		out_kv("ext", "code 0x%04x cpu addr 0x%04x param 0x%08x param64 0x%" PRIx64,
		       d->ext_code, d->ext_cpu_addr, d->ext_param, d->ext_param64);
	else if (d->kind == 3)
		out_kv("mchk", "mcic 0x%" PRIx64 " cr14 0x%" PRIx64, d->mcic, d->mchk_cr14);
out:
	ctl_free(resp);
	return r;
}

int cmd_vcpu_deliverable(struct gisactl *g, const struct cmd_args *a)
{
	ctl_response *resp;
	int r = vcpu_call(g, GISA__V1__REQUEST__VERB_VCPU_DELIVERABLE, a->argv[0], a->argv[1],
			  &resp);

	if (!r)
		r = ctl_expect(g, resp, GISA__V1__RESPONSE__RESULT_DELIVERABLE);
	if (!r && g->json) {
		json_t *o = out_result(g);

		jset(o, "vm", json_text(a->argv[0]));
		jset(o, "bits", json_hex64(resp->deliverable->bits));
	} else if (!r) {
		printf("0x%08x\n", resp->deliverable->bits);
	}
	ctl_free(resp);
	return r;
}

/* TPI and TSCH: ret 1 and a record, or 0. */
static int show_irq_record(struct gisactl *g, const char *vm, const ctl_response *resp)
{
	const Gisa__V1__IrqRecord *ir;
	enum gisa_byteorder order = GISA_BE;
	int r = ctl_expect(g, resp, GISA__V1__RESPONSE__RESULT_IRQ);

	if (r)
		return r;
	ir = resp->irq;
	if (ir->ret == 1 && ir->record.len != GISA_IRQ_SIZE)
		return out_fail(g, -EPROTO, "gisad sent a record of %zu bytes, not %u",
				ir->record.len, GISA_IRQ_SIZE);
	if (ir->ret == 1) {
		r = ctl_vm_order(g, vm, &order);
		if (r)
			return r;
	}
	if (g->json) {
		json_t *o = out_result(g);

		jset(o, "vm", json_text(vm));
		jset(o, "ret", json_integer(ir->ret));
		jset(o, "record", ir->ret == 1 ? json_irq(ir->record.data, order) : json_null());
	} else if (ir->ret == 1) {
		struct gisa_irq irq;
		char line[160];

		gisa_irq_unpack1(ir->record.data, order, &irq);
		fmt_irq(&irq, line, sizeof(line));
		printf("%s\n", line);
		for (unsigned k = 0; k < GISA_IRQ_SIZE; k++)
			printf("%02x", ir->record.data[k]);
		putchar('\n');
	} else {
		printf("no interrupt\n");
	}
	return 0;
}

int cmd_vcpu_tpi(struct gisactl *g, const struct cmd_args *a)
{
	ctl_response *resp;
	int r = vcpu_call(g, GISA__V1__REQUEST__VERB_VCPU_TPI, a->argv[0], a->argv[1], &resp);

	if (!r)
		r = show_irq_record(g, a->argv[0], resp);
	ctl_free(resp);
	return r;
}

int cmd_vcpu_tsch(struct gisactl *g, const struct cmd_args *a)
{
	ctl_request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__VcpuTsch t = GISA__V1__VCPU_TSCH__INIT;
	ctl_response *resp = NULL;
	int r = vcpu_arg(g, a->argv[1], &t.vcpu);

	if (!r && a->opt[OPT_GPR1])
		r = arg_u64(g, "option `--gpr1'", a->opt[OPT_GPR1], UINT64_MAX, &t.gpr1);
	if (r)
		return r;
	t.vm = a->argv[0];
	t.has_vcpu = t.has_gpr1 = true;
	req.verb_case = GISA__V1__REQUEST__VERB_VCPU_TSCH;
	req.vcpu_tsch = &t;
	r = ctl_call(g, &req, -1, &resp);
	if (!r)
		r = show_irq_record(g, a->argv[0], resp);
	ctl_free(resp);
	return r;
}

/* ---- GISA and GIB ------------------------------------------------------- */

static int gisc_call(struct gisactl *g, const struct cmd_args *a,
		     Gisa__V1__Request__VerbCase verb)
{
	ctl_request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__Gisc gc = GISA__V1__GISC__INIT;

	if (arg_u32(g, "GISC", a->argv[1], &gc.gisc))
		return GISACTL_EXIT_ERROR;
	gc.vm = a->argv[0];
	gc.has_gisc = true;
	req.verb_case = verb;
	req.gisc_register = &gc;  /* register and unregister share the oneof's slot */
	return call_ret(g, &req, a->argv[0], true);
}

int cmd_gisa_gisc_register(struct gisactl *g, const struct cmd_args *a)
{
	return gisc_call(g, a, GISA__V1__REQUEST__VERB_GISC_REGISTER);
}

int cmd_gisa_gisc_unregister(struct gisactl *g, const struct cmd_args *a)
{
	return gisc_call(g, a, GISA__V1__REQUEST__VERB_GISC_UNREGISTER);
}

int cmd_gisa_hw_airq(struct gisactl *g, const struct cmd_args *a)
{
	ctl_request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__HwAirq h = GISA__V1__HW_AIRQ__INIT;

	if (arg_u32(g, "ISC", a->argv[1], &h.isc))
		return GISACTL_EXIT_ERROR;
	h.vm = a->argv[0];
	h.has_isc = h.has_vcpu_in_sie = true;
	h.vcpu_in_sie = a->opt[OPT_IN_SIE] != NULL;
	req.verb_case = GISA__V1__REQUEST__VERB_HW_AIRQ;
	req.hw_airq = &h;
	return call_ret(g, &req, a->argv[0], false);
}

int cmd_gisa_process_alerts(struct gisactl *g, const struct cmd_args *a)
{
	ctl_response *resp;
	int r = ctl_noargs(g, GISA__V1__REQUEST__VERB_PROCESS_ALERTS, &resp);

	if (!r)
		r = show_ret(g, resp, NULL, true);
	ctl_free(resp);
	(void)a;
	return r;
}

int cmd_gisa_timer_fire(struct gisactl *g, const struct cmd_args *a)
{
	return vmref_ret(g, GISA__V1__REQUEST__VERB_TIMER_FIRE, a->argv[0], true);
}

/* ---- events ------------------------------------------------------------- */

static const char *event_kind_name(int k)
{
	static const char *const names[] = { "none", "kick", "gisa-wake", "job" };

	return k >= 0 && k < 4 ? names[k] : "unknown";
}

static const char *kick_flag_name(unsigned f)
{
	static const char *const names[] = { "none", "io", "ext", "stop" };

	return f < 4 ? names[f] : "unknown";
}

static json_t *json_event(const Gisa__V1__ControlEvent *e)
{
	json_t *o = json_object();
	bool job = e->kind == GISA__V1__EVENT_KIND__EVENT_KIND_JOB;

	jset(o, "kind", json_string(event_kind_name(e->kind)));
	jset(o, "vm", json_str_or_null(e->vm));
	jset(o, "seq", job ? json_null() : json_integer((json_int_t)e->seq));
	jset(o, "vcpu", job ? json_null() : json_integer(e->vcpu));
	jset(o, "flag", job ? json_null() : json_string(kick_flag_name(e->flag)));
	jset(o, "job", job && e->job ? json_job(e->job) : json_null());
	jset(o, "missed", json_integer((json_int_t)e->missed));
	return o;
}

static void print_event(const Gisa__V1__ControlEvent *e, const char *vm)
{
	const char *name = e->vm && e->vm[0] ? e->vm : vm ? vm : "";

	if (e->kind == GISA__V1__EVENT_KIND__EVENT_KIND_JOB && e->job)
		printf("job       vm %-16s job %" PRIu64 " %s %s", name, e->job->id,
		       job_op_name(e->job->operation), job_type_name(e->job->type));
	else
		printf("%-9s vm %-16s seq %-6" PRIu64 " vcpu %-3u flag %s",
		       event_kind_name(e->kind), name, e->seq, e->vcpu, kick_flag_name(e->flag));
	if (e->missed)
		printf(" (%" PRIu64 " missed before)", e->missed);
	putchar('\n');
}

int cmd_events_read(struct gisactl *g, const struct cmd_args *a)
{
	ctl_request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__EventsRead er = GISA__V1__EVENTS_READ__INIT;
	const Gisa__V1__EventList *l;
	ctl_response *resp = NULL;
	uint64_t max = 0;
	int r = 0;

	if (a->opt[OPT_MAX])
		r = arg_u64(g, "option `--max'", a->opt[OPT_MAX], 1024, &max);
	if (!r && a->opt[OPT_MAX] && !max)
		r = out_usage(g, "option `--max' takes a number from 1 to 1024, not `0'");
	if (r)
		return r;
	er.vm = a->argv[0];
	er.has_max = true;
	er.max = (uint32_t)max;
	req.verb_case = GISA__V1__REQUEST__VERB_EVENTS_READ;
	req.events_read = &er;
	r = ctl_call(g, &req, -1, &resp);
	if (!r)
		r = ctl_expect(g, resp, GISA__V1__RESPONSE__RESULT_EVENTS);
	if (r)
		goto out;
	l = resp->events;
	if (g->json) {
		json_t *o = out_result(g), *list = json_array();

		for (size_t i = 0; i < l->n_events && list; i++)
			if (json_array_append_new(list, json_event(l->events[i])))
				list = NULL;
		jset(o, "vm", json_text(a->argv[0]));
		jset(o, "events", list);
		jset(o, "dropped", json_integer((json_int_t)l->dropped));
		goto out;
	}
	for (size_t i = 0; i < l->n_events; i++)
		print_event(l->events[i], a->argv[0]);
	printf("%zu event%s, %" PRIu64 " dropped so far\n", l->n_events,
	       l->n_events == 1 ? "" : "s", l->dropped);
out:
	ctl_free(resp);
	return r;
}

static volatile sig_atomic_t follow_stop;

static void on_stop(int sig)
{
	(void)sig;
	follow_stop = 1;
}

/*
 * Print the events as they come, until count (0: no limit) or a signal.
 * SIGINT and SIGTERM are blocked outside ppoll (orig is the mask inside
 * it): one that comes between the check of follow_stop and the wait ends
 * the wait at once instead of being lost before it.
 */
static int follow(struct gisactl *g, const char *vm, uint64_t count, const sigset_t *orig)
{
	ctl_response *resp = NULL;
	uint64_t got = 0;
	int r;

	while (!follow_stop && (!count || got < count)) {
		struct pollfd p = { .fd = g->fd, .events = POLLIN };

		if (ppoll(&p, 1, NULL, orig) < 0) {
			if (errno == EINTR)
				continue;
			return out_fail(g, -errno, "cannot wait for gisad at `%s': %s", g->socket,
					strerror(errno));
		}
		/* A datagram is there (or the connection's end): recv does not block. */
		r = ctl_recv(g, &resp);
		if (r == -EINTR)
			continue;
		if (r)
			return r;
		if (resp->result_case != GISA__V1__RESPONSE__RESULT_EVENT) {
			ctl_free(resp);
			continue;
		}
		got++;
		if (g->json) {
			char name[64];
			json_t *doc = json_object();

			jset(doc, "schema", json_string(GISACTL_SCHEMA));
			jset(doc, "command", json_string(cmd_name(g->cmd, name, sizeof(name))));
			jset(doc, "event", json_event(resp->event));
			if (doc && !json_dumpf(doc, stdout, JSON_COMPACT))
				putchar('\n');
			json_decref(doc);
		} else {
			print_event(resp->event, vm);
		}
		fflush(stdout);
		ctl_free(resp);
	}
	return 0;
}

int cmd_events_follow(struct gisactl *g, const struct cmd_args *a)
{
	ctl_request req = GISA__V1__REQUEST__INIT;
	Gisa__V1__Subscribe sub = GISA__V1__SUBSCRIBE__INIT;
	const char *vm = a->argc ? a->argv[0] : NULL;
	struct sigaction sa = { .sa_handler = on_stop };
	ctl_response *resp = NULL;
	sigset_t stop, orig;
	uint64_t count = 0;
	int r = 0;

	if (a->opt[OPT_COUNT])
		r = arg_u64(g, "option `--count'", a->opt[OPT_COUNT], UINT64_MAX, &count);
	if (!r && a->opt[OPT_COUNT] && !count)
		r = out_usage(g, "option `--count' takes a number from 1, not `%s'",
			      a->opt[OPT_COUNT]);
	if (!r && a->opt[OPT_ONLY]) {
		if (!strcmp(a->opt[OPT_ONLY], "kicks"))
			sub.has_jobs = true, sub.jobs = false;
		else if (!strcmp(a->opt[OPT_ONLY], "jobs"))
			sub.has_kicks = true, sub.kicks = false;
		else
			r = out_usage(g, "option `--only' takes kicks or jobs, not `%s'",
				      a->opt[OPT_ONLY]);
	}
	if (r)
		return r;
	/* The handler only sets the flag; the signals wait for ppoll (follow). */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sub.vm = (char *)vm;
	req.verb_case = GISA__V1__REQUEST__VERB_SUBSCRIBE;
	req.subscribe = &sub;
	r = ctl_call(g, &req, -1, &resp);
	ctl_free(resp);
	if (r)
		return r;
	/* From here a signal sets follow_stop, or is held until ppoll lets it in. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, &orig);
	/*
	 * Also with --json (stdout carries only the documents): the line says
	 * the subscription is in place, which a script starting the command in
	 * the background waits for before it makes the events.
	 */
	fprintf(stderr, "gisactl: following the events of %s%s%s; interrupt to stop\n",
		vm ? "VM `" : "every VM", vm ? vm : "", vm ? "'" : "");
	fflush(stdout);
	r = follow(g, vm, count, &orig);
	sigprocmask(SIG_SETMASK, &orig, NULL);
	return r;
}
