/* SPDX-License-Identifier: MIT */
/*
 * gisa-bench: what the engine's hot paths and its largest whole-state
 * operation cost, next to a plain memcpy of the bytes they move.
 *
 * Method: every operation runs once untimed (warm pool, warm pages, warm
 * caches), then BATCHES timed batches of BATCH_OPS operations each; the
 * figure is the median batch divided by BATCH_OPS.  Whole-state operations
 * (GET_ALL_IRQS of the maximum state) are timed one call at a time over
 * WHOLE_RUNS runs.  Buffers are allocated and touched before any timing.
 *
 * The baseline is memcpy of the same byte count called through a volatile
 * function pointer, so the compiler can neither inline it nor drop it: the
 * ratio says how far an operation is from "just copying the record".
 *
 * Figures are printed, never asserted: a missed goal does not change the
 * exit status.  An engine call returning something other than what the
 * spec says it must is an error (exit 1), because then the figure would
 * measure the wrong thing.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gisa/gisa.h>

#include "table.h"

#define BATCH_OPS     1000000u
#define BATCHES       15
#define WHOLE_RUNS    31
/*
 * Enqueues between two drains: the I/O lists hold at most
 * GISA_MAX_FLOAT_IRQS entries, and a full list would turn every further
 * enqueue into -EBUSY.
 */
#define CHUNK         250000u

/* Guest addresses of the route's indicator and summary bytes (slot 0). */
#define IND_GPA       0x10000u
#define SUM_GPA       0x20000u
#define ROUTE_GSI     1u
#define ADAPTER_ID    3u
#define ADAPTER_ISC   3u

#define MAX_STATE_BYTES ((size_t)GISA_MAX_FLOAT_IRQS * GISA_IRQ_SIZE)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, long got)
{
	fprintf(stderr, "gisa-bench: %s: unexpected result %ld\n", what, got);
	exit(1);
}

/* ---- the baseline: an out-of-line memcpy the optimizer cannot see through */

__attribute__((noinline)) static void *copy_bytes(void *dst, const void *src, size_t n)
{
	return memcpy(dst, src, n);
}

static void *(*volatile copy_fn)(void *, const void *, size_t) = copy_bytes;

/* ---- statistics ----------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	if (!n)         /* v[n / 2 - 1] below would read before the array */
		return 0.0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * One benchmark: run() performs one batch (or one whole-state run) and
 * returns the nanoseconds it wants counted; the result is per operation.
 */
struct bench {
	double (*run)(void *ctx);
	void *ctx;
	unsigned int reps;
	double ops;
};

static double measure(const struct bench *b)
{
	double v[WHOLE_RUNS > BATCHES ? WHOLE_RUNS : BATCHES];

	b->run(b->ctx);                 /* warm-up, untimed */
	for (unsigned int i = 0; i < b->reps; i++)
		v[i] = b->run(b->ctx) / b->ops;
	return median(v, b->reps);
}

/* ---- VMs ----------------------------------------------------------------- */

struct setup {
	struct gisa_host *host;
	struct gisa_vm *vm;
};

static void vcpu_all_on(struct gisa_vm *vm, uint32_t idx)
{
	struct gisa_vcpu_state st = {
		.psw_mask = GISA_PSW_MASK_IO | GISA_PSW_MASK_EXT | GISA_PSW_MASK_MCHECK,
		.cr0 = 0x6e00, .cr6 = 0xff000000, .cr14 = GISA_CR14_CHANNEL_REPORT,
		.run = GISA_VCPU_RUNNING,
	};
	int r = gisa_vcpu_set(vm, idx, &st);

	if (r)
		die("gisa_vcpu_set", r);
}

/* A VM as the spec's vectors use it: a FLIC, slot 0 = [0, 1 MiB), vcpus ALL-ON. */
static void vm_setup(struct setup *s, uint32_t caps, uint32_t nr_vcpus)
{
	struct gisa_vm_config cfg = {
		.profile = GISA_PROFILE_CLASSIC, .caps = caps, .nr_vcpus = nr_vcpus,
		.mem_cap = 0, .abi_order = GISA_BE,
	};
	int r;

	s->host = NULL;
	s->vm = NULL;
	r = gisa_host_new(NULL, &s->host);
	if (r)
		die("gisa_host_new", r);
	r = gisa_vm_new(s->host, &cfg, &s->vm);
	if (r)
		die("gisa_vm_new", r);
	r = gisa_flic_create(s->vm);
	if (r)
		die("gisa_flic_create", r);
	r = gisa_mem_set_slot(s->vm, 0, 0, 1u << 20);
	if (r)
		die("gisa_mem_set_slot", r);
	for (uint32_t i = 0; i < nr_vcpus; i++)
		vcpu_all_on(s->vm, i);
}

static void vm_teardown(struct setup *s)
{
	s->vm = gisa_vm_free(s->vm);
	s->host = gisa_host_free(s->host);
}

static int set_attr(struct gisa_vm *vm, uint32_t group, uint64_t attr, void *buf, size_t len)
{
	struct gisa_attr a = {
		.group = group, .attr = attr, .addr = { .data = buf, .len = len },
	};

	return gisa_flic_set_attr(vm, &a);
}

static void clear_irqs(struct gisa_vm *vm)
{
	int r = set_attr(vm, GISA_FLIC_CLEAR_IRQS, 0, NULL, 0);

	if (r)
		die("CLEAR_IRQS", r);
}

/* A classic I/O record (spec §12 IO(id, nr, parm, isc)), packed big-endian. */
static void pack_io(uint8_t *buf, uint16_t id, uint16_t nr, uint32_t parm, unsigned int isc)
{
	struct gisa_irq irq;

	memset(&irq, 0, sizeof(irq));
	irq.type = GISA_INT_IO(0, id >> 8, (id >> 1) & 3, nr);
	irq.u.io.subchannel_id = id;
	irq.u.io.subchannel_nr = nr;
	irq.u.io.io_int_parm = parm;
	irq.u.io.io_int_word = (uint32_t)isc << 27;
	gisa_irq_pack1(&irq, GISA_BE, buf);
}

/* ---- classic I/O enqueue ------------------------------------------------- */

struct enq_ctx {
	struct gisa_vm *vm;
	struct gisa_attr attr;
	uint8_t rec[GISA_IRQ_SIZE];
};

static double run_enqueue(void *p)
{
	struct enq_ctx *c = p;
	uint64_t total = 0;

	for (unsigned int done = 0; done < BATCH_OPS; done += CHUNK) {
		unsigned int n = BATCH_OPS - done < CHUNK ? BATCH_OPS - done : CHUNK;
		uint64_t t0 = now_ns();

		for (unsigned int i = 0; i < n; i++) {
			int r = gisa_flic_set_attr(c->vm, &c->attr);

			if (r)
				die("ENQUEUE", r);
		}
		total += now_ns() - t0;
		clear_irqs(c->vm);              /* the drain, not timed */
	}
	return (double)total;
}

/* ---- enqueue + deliver ---------------------------------------------------- */

static double run_enq_deliver(void *p)
{
	struct enq_ctx *c = p;
	struct gisa_delivery d;
	uint64_t t0 = now_ns();

	for (unsigned int i = 0; i < BATCH_OPS; i++) {
		int r = gisa_flic_set_attr(c->vm, &c->attr);

		if (r)
			die("ENQUEUE", r);
		r = gisa_vcpu_deliver(c->vm, 0, &d);
		if (r != 1)
			die("gisa_vcpu_deliver", r);
	}
	return (double)(now_ns() - t0);
}

/* ---- route trigger ------------------------------------------------------- */

struct route_ctx {
	struct gisa_vm *vm;
	int drain;                      /* no GISA: injections fill list ISC 3 */
};

/* The guest clears the summary byte, then the device signals the GSI. */
static double run_trigger_inject(void *p)
{
	struct route_ctx *c = p;
	static const uint8_t zero;
	uint64_t total = 0;

	for (unsigned int done = 0; done < BATCH_OPS; done += CHUNK) {
		unsigned int n = BATCH_OPS - done < CHUNK ? BATCH_OPS - done : CHUNK;
		uint64_t t0 = now_ns();

		for (unsigned int i = 0; i < n; i++) {
			int r = gisa_mem_write(c->vm, SUM_GPA, &zero, 1);

			if (r)
				die("gisa_mem_write", r);
			r = gisa_route_trigger(c->vm, ROUTE_GSI, 1);
			if (r != 1)
				die("gisa_route_trigger (0->1)", r);
		}
		total += now_ns() - t0;
		if (c->drain)
			clear_irqs(c->vm);
	}
	return (double)total;
}

/* The guest's summary clear alone, to separate it from the trigger. */
static double run_summary_clear(void *p)
{
	struct route_ctx *c = p;
	static const uint8_t zero;
	uint64_t t0 = now_ns();

	for (unsigned int i = 0; i < BATCH_OPS; i++) {
		int r = gisa_mem_write(c->vm, SUM_GPA, &zero, 1);

		if (r)
			die("gisa_mem_write", r);
	}
	return (double)(now_ns() - t0);
}

/* Summary already 1: the indicator is OR-ed in and nothing is injected. */
static double run_trigger_coalesced(void *p)
{
	struct route_ctx *c = p;
	uint64_t t0;
	int r;

	r = gisa_route_trigger(c->vm, ROUTE_GSI, 1);   /* make sure summary = 1 */
	if (r < 0)
		die("gisa_route_trigger", r);
	t0 = now_ns();
	for (unsigned int i = 0; i < BATCH_OPS; i++) {
		r = gisa_route_trigger(c->vm, ROUTE_GSI, 1);
		if (r != 0)
			die("gisa_route_trigger (coalesced)", r);
	}
	return (double)(now_ns() - t0);
}

static void route_setup(struct gisa_vm *vm)
{
	struct gisa_io_adapter a = { .id = ADAPTER_ID, .isc = ADAPTER_ISC, .swap = 1 };
	struct gisa_route_entry e;
	uint8_t buf[GISA_IO_ADAPTER_SIZE];
	int r;

	gisa_io_adapter_pack(&a, GISA_BE, buf);
	r = set_attr(vm, GISA_FLIC_ADAPTER_REGISTER, 0, buf, sizeof(buf));
	if (r)
		die("ADAPTER_REGISTER", r);
	memset(&e, 0, sizeof(e));
	e.gsi = ROUTE_GSI;
	e.type = GISA_IRQ_ROUTING_S390_ADAPTER;
	e.adapter.ind_addr = IND_GPA;
	e.adapter.ind_offset = 5;
	e.adapter.summary_addr = SUM_GPA;
	e.adapter.summary_offset = 0;
	e.adapter.adapter_id = ADAPTER_ID;
	r = gisa_routes_set(vm, &e, 1, 0);
	if (r)
		die("gisa_routes_set", r);
}

/* ---- AIRQ_INJECT with a GISA ---------------------------------------------- */

static double run_airq(void *p)
{
	struct enq_ctx *c = p;
	uint64_t t0 = now_ns();

	for (unsigned int i = 0; i < BATCH_OPS; i++) {
		int r = gisa_flic_set_attr(c->vm, &c->attr);

		if (r)
			die("AIRQ_INJECT", r);
	}
	return (double)(now_ns() - t0);
}

/* ---- GET_ALL_IRQS of the maximum state ------------------------------------ */

struct get_ctx {
	struct gisa_vm *vm;
	struct gisa_attr attr;
};

static double run_get(void *p)
{
	struct get_ctx *c = p;
	uint64_t t0 = now_ns();
	int r = gisa_flic_get_attr(c->vm, &c->attr);
	uint64_t t = now_ns() - t0;

	if (r != (int)GISA_MAX_FLOAT_IRQS)
		die("GET_ALL_IRQS", r);
	return (double)t;
}

/* ---- baselines ------------------------------------------------------------ */

struct copy_ctx {
	uint8_t *dst;
	const uint8_t *src;
	size_t len;
	unsigned int n;
};

static double run_copy(void *p)
{
	struct copy_ctx *c = p;
	uint64_t t0 = now_ns();

	for (unsigned int i = 0; i < c->n; i++)
		copy_fn(c->dst, c->src, c->len);
	return (double)(now_ns() - t0);
}

/* ---- output --------------------------------------------------------------- */

static void print_machine(void)
{
	static const char *const keys[] = { "model name", "cpu model", "Model", "machine" };
	char line[512], model[256] = "unknown";
	FILE *f = fopen("/proc/cpuinfo", "r");

	for (size_t k = 0; f && k < sizeof(keys) / sizeof(keys[0]); k++) {
		size_t kl = strlen(keys[k]);
		int found = 0;

		rewind(f);
		while (!found && fgets(line, sizeof(line), f)) {
			char *v = strchr(line, ':');

			if (strncmp(line, keys[k], kl) || !v)
				continue;
			for (v++; *v == ' ' || *v == '\t'; v++)
				;
			v[strcspn(v, "\n")] = '\0';
			snprintf(model, sizeof(model), "%s", v);
			found = 1;
		}
		if (found)
			break;
	}
	if (f)
		fclose(f);
	printf("machine: %ld online CPUs (nproc), CPU model: %s\n",
	       sysconf(_SC_NPROCESSORS_ONLN), model);
#if defined(__SANITIZE_ADDRESS__)
	printf("build: with AddressSanitizer (figures are not representative; use bench/run)\n");
#elif defined(__OPTIMIZE__)
	printf("build: optimized\n");
#else
	printf("build: NOT optimized (figures are not representative)\n");
#endif
	printf("method: median of %d batches of %u operations (whole-state: median of %d "
	       "runs), after one untimed warm-up; CLOCK_MONOTONIC\n\n",
	       BATCHES, BATCH_OPS, WHOLE_RUNS);
}

struct row {
	const char *name;
	double ns;
	double base;                    /* < 0: no baseline */
	double goal;                    /* ratio limit; < 0: no goal */
	const char *base_name;          /* the baseline in the performance table */
};

static void print_row(const struct row *r)
{
	char base[32] = "-", ratio[32] = "-", goal[32] = "-";
	const char *met = "-";

	if (r->base > 0) {
		snprintf(base, sizeof(base), "%.1f", r->base);
		snprintf(ratio, sizeof(ratio), "%.1fx", r->ns / r->base);
	}
	if (r->goal > 0 && r->base > 0) {
		snprintf(goal, sizeof(goal), "<= %.0fx", r->goal);
		met = r->ns / r->base <= r->goal ? "met" : "missed";
	}
	printf("%-52s %14.1f %14s %9s %8s %7s\n", r->name, r->ns, base, ratio, goal, met);
	bench_table_row("gisa-bench", r->name, r->ns, "ns", r->base > 0 ? r->base_name : NULL,
			r->base, r->base > 0 ? r->ns / r->base : NAN, goal, met);
}

/* ---- main ----------------------------------------------------------------- */

int main(void)
{
	struct setup io_vm, g_vm, nog_vm, get_vm;
	struct enq_ctx enq, airq;
	struct route_ctx rt_gisa, rt_list;
	struct get_ctx get;
	struct copy_ctx cp;
	struct row rows[12];
	size_t nrows = 0;
	uint8_t *src, *dst, *out;
	double b72, b144, bget, t_inject, t_clear;
	int r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	print_machine();

	/* Baselines, with their buffers allocated and touched up front. */
	src = malloc(MAX_STATE_BYTES);
	dst = malloc(MAX_STATE_BYTES);
	out = malloc(MAX_STATE_BYTES);
	if (!src || !dst || !out)
		die("malloc", -ENOMEM);
	memset(dst, 0x5a, MAX_STATE_BYTES);
	memset(out, 0xa5, MAX_STATE_BYTES);

	/* The maximum state: 266,250 classic I/O records, ISC-sorted as GET emits them. */
	for (uint32_t i = 0; i < GISA_MAX_FLOAT_IRQS; i++) {
		unsigned int isc = (unsigned int)((uint64_t)i * 8 / GISA_MAX_FLOAT_IRQS);

		pack_io(src + (size_t)i * GISA_IRQ_SIZE, 0x0001, (uint16_t)i, i * 2654435761u,
			isc);
	}

	cp = (struct copy_ctx){ .dst = dst, .src = src, .len = GISA_IRQ_SIZE, .n = BATCH_OPS };
	b72 = measure(&(struct bench){ run_copy, &cp, BATCHES, BATCH_OPS });
	cp.len = 2 * GISA_IRQ_SIZE;
	b144 = measure(&(struct bench){ run_copy, &cp, BATCHES, BATCH_OPS });
	cp.len = MAX_STATE_BYTES;
	cp.n = 1;
	bget = measure(&(struct bench){ run_copy, &cp, WHOLE_RUNS, 1 });

	/* Classic I/O enqueue and enqueue + deliver: no GISA, two vcpus ALL-ON. */
	vm_setup(&io_vm, 0, 2);
	enq.vm = io_vm.vm;
	pack_io(enq.rec, 0x0001, 0x0042, 0x12345678, 3);
	enq.attr = (struct gisa_attr){
		.group = GISA_FLIC_ENQUEUE, .attr = GISA_IRQ_SIZE,
		.addr = { .data = enq.rec, .len = sizeof(enq.rec) },
	};
	rows[nrows++] = (struct row){
		"classic I/O enqueue (FLIC ENQUEUE, 1 record)",
		measure(&(struct bench){ run_enqueue, &enq, BATCHES, BATCH_OPS }), b72, -1,
		"memcpy 72 B",
	};
	rows[nrows++] = (struct row){
		"enqueue + deliver (ENQUEUE 1 + vcpu_deliver)",
		measure(&(struct bench){ run_enq_deliver, &enq, BATCHES, BATCH_OPS }), b144, 10,
		"memcpy 144 B",
	};
	vm_teardown(&io_vm);

	/* Route triggers with a GISA: the injection sets the IPM bit (coalesces there). */
	vm_setup(&g_vm, GISA_CAP_GISA, 2);
	route_setup(g_vm.vm);
	rt_gisa = (struct route_ctx){ .vm = g_vm.vm, .drain = 0 };
	t_inject = measure(&(struct bench){ run_trigger_inject, &rt_gisa, BATCHES, BATCH_OPS });
	t_clear = measure(&(struct bench){ run_summary_clear, &rt_gisa, BATCHES, BATCH_OPS });
	rows[nrows++] = (struct row){
		"route trigger 0->1 + inject, GISA (incl. clear)", t_inject, -1, -1, NULL,
	};
	rows[nrows++] = (struct row){ "  guest summary clear alone (gisa_mem_write)", t_clear,
		-1, -1, NULL };
	rows[nrows++] = (struct row){ "  route trigger 0->1 + inject, GISA (derived)",
		t_inject - t_clear, -1, -1, NULL };
	rows[nrows++] = (struct row){
		"route trigger coalesced (summary already 1)",
		measure(&(struct bench){ run_trigger_coalesced, &rt_gisa, BATCHES, BATCH_OPS }),
		-1, -1, NULL,
	};

	/* AIRQ_INJECT on the same GISA VM: the IPM bit coalesces every injection. */
	airq.vm = g_vm.vm;
	airq.attr = (struct gisa_attr){ .group = GISA_FLIC_AIRQ_INJECT, .attr = ADAPTER_ID };
	rows[nrows++] = (struct row){
		"AIRQ inject, GISA (AIRQ_INJECT, IPM coalesces)",
		measure(&(struct bench){ run_airq, &airq, BATCHES, BATCH_OPS }), b72, -1,
		"memcpy 72 B",
	};
	vm_teardown(&g_vm);

	/* Route triggers without a GISA: every injection appends an AI record. */
	vm_setup(&nog_vm, 0, 2);
	route_setup(nog_vm.vm);
	rt_list = (struct route_ctx){ .vm = nog_vm.vm, .drain = 1 };
	t_inject = measure(&(struct bench){ run_trigger_inject, &rt_list, BATCHES, BATCH_OPS });
	t_clear = measure(&(struct bench){ run_summary_clear, &rt_list, BATCHES, BATCH_OPS });
	rows[nrows++] = (struct row){
		"route trigger 0->1 + inject, no GISA (incl. clear)", t_inject, -1, -1, NULL,
	};
	rows[nrows++] = (struct row){ "  route trigger 0->1 + inject, no GISA (derived)",
		t_inject - t_clear, -1, -1, NULL };
	vm_teardown(&nog_vm);

	/* GET_ALL_IRQS of the maximum state. */
	vm_setup(&get_vm, 0, 2);
	r = set_attr(get_vm.vm, GISA_FLIC_ENQUEUE, MAX_STATE_BYTES, src, MAX_STATE_BYTES);
	if (r)
		die("ENQUEUE of the maximum state", r);
	get = (struct get_ctx){ .vm = get_vm.vm, .attr = {
		.group = GISA_FLIC_GET_ALL_IRQS, .attr = MAX_STATE_BYTES,
		.addr = { .data = out, .len = MAX_STATE_BYTES },
	} };
	run_get(&get);
	/* GET must give back exactly what was enqueued, or the figure is meaningless. */
	if (memcmp(out, src, MAX_STATE_BYTES))
		die("GET_ALL_IRQS bytes differ from the enqueued state", -1);
	rows[nrows++] = (struct row){
		"GET_ALL_IRQS, max state (266,250 I/O, 19,170,000 B)",
		measure(&(struct bench){ run_get, &get, WHOLE_RUNS, 1 }), bget, 3,
		"memcpy 19,170,000 B",
	};
	vm_teardown(&get_vm);

	printf("%-52s %14s %14s %9s %8s %7s\n", "operation", "ns/op", "baseline ns",
	       "ratio", "goal", "result");
	for (size_t i = 0; i < nrows; i++)
		print_row(&rows[i]);
	printf("\nbaselines: memcpy through a volatile function pointer of 72 B (enqueue, "
	       "AIRQ inject), 144 B (enqueue + deliver), 19,170,000 B (GET).\n"
	       "\"incl. clear\" rows time the guest's summary-byte clear (gisa_mem_write) "
	       "plus the trigger;\n\"derived\" rows subtract the median of the clear alone "
	       "(an estimate from two medians).\n"
	       "No-GISA injections are drained with CLEAR_IRQS every %u operations, "
	       "outside the timed intervals.\n", CHUNK);

	free(src);
	free(dst);
	free(out);
	return 0;
}
