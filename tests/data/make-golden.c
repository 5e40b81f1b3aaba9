/* SPDX-License-Identifier: MIT */
/*
 * make-golden: writes the format-v1 golden snapshot files of tests/data/.
 *
 * It was built and run by hand once; the tests never build or run it, and
 * the files it wrote are committed and never regenerated: they are the
 * fixed point every future reader must load (README.md records how each
 * was made, its digest and the SHA-256 of the file).  It stays here as the
 * exact record of their contents.  Build (BUILD = a meson build directory;
 * add the same -fsanitize flags if BUILD was configured with sanitizers):
 *
 *   cc -std=c11 -D_GNU_SOURCE -Ilib/include tests/data/make-golden.c \
 *      BUILD/lib/libgisasnap.a BUILD/lib/libgisa.a -lzstd -lcrypto -lprotobuf-c \
 *      -o make-golden && ./make-golden OUTDIR
 *
 * Every VM is built through the public engine API only (typed injection,
 * so no byte order is involved), then exported with gisa_snap_encode.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gisa/gisa.h>
#include <gisa/image.h>
#include <gisa/snapshot.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Fixed metadata: 2026-01-01T00:00:00Z, and the producer of format v1. */
#define CREATED_NS 1767225600000000000ull
#define PRODUCER "gisad 0.1.0"

static void check(int r, int want, const char *what, int line)
{
	if (r != want) {
		fprintf(stderr, "make-golden: line %d: %s returned %d, expected %d\n", line, what,
			r, want);
		exit(1);
	}
}

#define CHECK(call, want) check((call), (want), #call, __LINE__)

static struct gisa_irq io(uint16_t id, uint16_t nr, uint32_t parm, unsigned isc)
{
	struct gisa_irq r;

	memset(&r, 0, sizeof(r));
	r.type = GISA_INT_IO(0, id >> 8, (id >> 1) & 3, nr);
	r.u.io.subchannel_id = id;
	r.u.io.subchannel_nr = nr;
	r.u.io.io_int_parm = parm;
	r.u.io.io_int_word = (uint32_t)isc << 27;
	return r;
}

static struct gisa_irq ext(uint64_t type, uint32_t p, uint64_t p2)
{
	struct gisa_irq r;

	memset(&r, 0, sizeof(r));
	r.type = type;
	r.u.ext.ext_params = p;
	r.u.ext.ext_params2 = p2;
	return r;
}

static struct gisa_irq mchk(uint64_t cr14, uint64_t mcic)
{
	struct gisa_irq r;

	memset(&r, 0, sizeof(r));
	r.type = GISA_INT_MCHK;
	r.u.mchk.cr14 = cr14;
	r.u.mchk.mcic = mcic;
	return r;
}

static void inject(struct gisa_vm *vm, const struct gisa_irq *irqs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		CHECK(gisa_vm_inject(vm, &irqs[i]), 0);
}

/* FLIC attributes with plain buffers; adapters and AIS in the VM's byte order. */
static int set_attr(struct gisa_vm *vm, uint32_t group, uint64_t attr, void *buf, size_t len)
{
	struct gisa_attr a = { .group = group, .attr = attr, .addr = { .data = buf, .len = len } };

	return gisa_flic_set_attr(vm, &a);
}

static enum gisa_byteorder order_of(const struct gisa_vm *vm)
{
	struct gisa_vm_config cfg;

	gisa_vm_config(vm, &cfg);
	return cfg.abi_order;
}

static int reg(struct gisa_vm *vm, uint32_t id, uint8_t isc, uint8_t maskable, uint8_t swap,
	       uint8_t flags)
{
	struct gisa_io_adapter a = { id, isc, maskable, swap, flags };
	uint8_t b[GISA_IO_ADAPTER_SIZE];

	gisa_io_adapter_pack(&a, order_of(vm), b);
	return set_attr(vm, GISA_FLIC_ADAPTER_REGISTER, 0, b, sizeof(b));
}

static int modify(struct gisa_vm *vm, uint32_t id, uint8_t type, uint8_t mask, uint64_t addr)
{
	struct gisa_io_adapter_req q = { .id = id, .type = type, .mask = mask, .addr = addr };
	uint8_t b[GISA_IO_ADAPTER_REQ_SIZE];

	gisa_io_adapter_req_pack(&q, order_of(vm), b);
	return set_attr(vm, GISA_FLIC_ADAPTER_MODIFY, 0, b, sizeof(b));
}

static int aism(struct gisa_vm *vm, uint8_t isc, uint16_t mode)
{
	struct gisa_ais_req q = { .isc = isc, .mode = mode };
	uint8_t b[GISA_AIS_REQ_SIZE];

	gisa_ais_req_pack(&q, order_of(vm), b);
	return set_attr(vm, GISA_FLIC_AISM, 0, b, sizeof(b));
}

static struct gisa_route_entry route(uint32_t gsi, uint64_t ind, uint64_t ind_off, uint64_t sum,
				     uint32_t sum_off, uint32_t adapter)
{
	struct gisa_route_entry e;

	memset(&e, 0, sizeof(e));
	e.gsi = gsi;
	e.type = GISA_IRQ_ROUTING_S390_ADAPTER;
	e.adapter.ind_addr = ind;
	e.adapter.ind_offset = ind_off;
	e.adapter.summary_addr = sum;
	e.adapter.summary_offset = sum_off;
	e.adapter.adapter_id = adapter;
	return e;
}

static void vcpu(struct gisa_vm *vm, uint32_t idx, uint64_t psw, uint64_t cr0, uint64_t cr6,
		 uint64_t cr14, enum gisa_run_state run)
{
	struct gisa_vcpu_state s = { psw, cr0, cr6, cr14, run, false };

	CHECK(gisa_vcpu_set(vm, idx, &s), 0);
}

static const uint64_t all_on = GISA_PSW_MASK_IO | GISA_PSW_MASK_EXT | GISA_PSW_MASK_MCHECK;

static void clear_byte(struct gisa_vm *vm, uint64_t gpa)
{
	uint8_t z = 0;

	CHECK(gisa_mem_write(vm, gpa, &z, 1), 0);
}

static struct gisa_vm *new_vm(struct gisa_host *host, enum gisa_profile p, uint32_t caps,
			      uint32_t nr_vcpus, uint64_t mem_cap, enum gisa_byteorder order)
{
	struct gisa_vm_config cfg = { p, caps, nr_vcpus, mem_cap, order };
	struct gisa_vm *vm = NULL;

	CHECK(gisa_vm_new(host, &cfg, &vm), 0);
	return vm;
}

/* v1-empty: a CLASSIC VM as gisa_vm_new made it, not even a FLIC. */
static struct gisa_vm *build_empty(struct gisa_host *host)
{
	return new_vm(host, GISA_PROFILE_CLASSIC, 0, 0, 0, GISA_BE);
}

/*
 * v1-typical: CLASSIC with a GISA, 4 vcpus, every section: I/O lists on
 * ISCs 0, 3 and 7, PFAULT_DONE and VIRTIO lists, a service signal with an
 * event bit, a floating machine check, APF, four adapters (one masked, one
 * beyond ISC 7), five routes (one into a memslot that went away, one to an
 * adapter never registered), their pages, vcpus running, stopped, idle, a
 * GISA with refcounts, IPM bits from routes and hardware, its timer started
 * by GAL processing.
 */
static struct gisa_vm *build_typical(struct gisa_host *host)
{
	struct gisa_vm *vm = new_vm(host, GISA_PROFILE_CLASSIC, GISA_CAP_GISA, 4, 16u << 20,
				    GISA_BE);
	const struct gisa_route_entry routes[] = {
		route(1, 0x10000, 5, 0x20000, 0, 0),
		route(2, 0x48010, 3, 0x48000, 1, 1),
		route(3, 0x11000, 70, 0x12000, 7, 7),
		route(9, 0x100100, 0, 0x100000, 0, 0),
		route(4000, 0x30000, 0, 0x30008, 0, 9),
	};
	const struct gisa_irq recs[] = {
		io(0x0001, 1, 0xa, 0), io(0x0002, 2, 0xb, 3), io(0x0101, 0, 0xc, 7),
		io(0x0001, 3, 0xd, 3), ext(GISA_INT_VIRTIO, 0x11, 0x22),
		ext(GISA_INT_PFAULT_DONE, 0, 0x33), ext(GISA_INT_SERVICE, 0x1001, 0),
		mchk(GISA_CR14_CHANNEL_REPORT, 0x8000),
	};

	CHECK(gisa_flic_create(vm), 0);
	CHECK(set_attr(vm, GISA_FLIC_APF_ENABLE, 0, NULL, 0), 0);
	CHECK(gisa_mem_set_slot(vm, 0, 0, 0x40000), 0);
	CHECK(gisa_mem_set_slot(vm, 1, 0x40000, 0x40000), 0);
	CHECK(gisa_mem_set_slot(vm, 5, 0x100000, 0x10000), 0);
	CHECK(reg(vm, 0, 3, 1, 1, 0), 0);
	CHECK(reg(vm, 1, 5, 0, 0, GISA_ADAPTER_SUPPRESSIBLE), 0);
	CHECK(reg(vm, 2, 11, 0, 1, 0), 0);
	CHECK(reg(vm, 7, 2, 1, 1, 0), 0);
	CHECK(modify(vm, 7, GISA_IO_ADAPTER_MASK, 1, 0), 0);
	CHECK(gisa_routes_set(vm, routes, ARRAY_SIZE(routes), 0), 0);
	CHECK(gisa_route_trigger(vm, 1, 1), 1);       /* IPM ISC 3 */
	CHECK(gisa_route_trigger(vm, 2, 1), 1);       /* IPM ISC 5 */
	CHECK(gisa_route_trigger(vm, 3, 1), 1);       /* masked: bits only */
	CHECK(gisa_route_trigger(vm, 4000, 1), -1);   /* adapter 9 unregistered */
	CHECK(gisa_mem_set_slot(vm, 5, 0, 0), 0);     /* route 9 now dangles */
	inject(vm, recs, ARRAY_SIZE(recs));
	CHECK(gisa_gisc_register(vm, 3), GISA_DEFAULT_NISC);
	CHECK(gisa_gisc_register(vm, 3), GISA_DEFAULT_NISC);
	CHECK(gisa_gisc_register(vm, 6), GISA_DEFAULT_NISC);
	CHECK(gisa_gisa_hw_airq(vm, 6, false), 0);    /* listed, GAL */
	CHECK(gisa_host_process_alerts(host), 1);     /* off the list, timer started */
	vcpu(vm, 0, all_on, 0x6e00, 0xff000000, GISA_CR14_CHANNEL_REPORT, GISA_VCPU_RUNNING);
	vcpu(vm, 1, GISA_PSW_MASK_IO, 0, GISA_CR6_ISC(3), 0, GISA_VCPU_STOPPED);
	vcpu(vm, 2, GISA_PSW_MASK_IO, 0, 0, 0, GISA_VCPU_RUNNING);
	CHECK(gisa_vcpu_wait(vm, 2), 1);              /* no ISC enabled: sleeps */
	vcpu(vm, 3, GISA_PSW_MASK_EXT, GISA_CR0_SERVICE, 0, 0, GISA_VCPU_RUNNING);
	return vm;
}

/*
 * v1-newest-gisa-ais: NEWEST with GISA and AIS, little-endian FLIC buffers:
 * adapter map lists, AIS SINGLE armed and fired, a suppressed trigger, a
 * vcpu kicked by the GISA timer, the kick cursor at the last sleeper, the
 * GISA on the alert list with its timer re-armed.
 */
static struct gisa_vm *build_newest(struct gisa_host *host)
{
	struct gisa_vm *vm = new_vm(host, GISA_PROFILE_NEWEST, GISA_CAP_ALL, 2, 0, GISA_LE);
	const struct gisa_route_entry routes[] = {
		route(10, 0x10000, 0, 0x10800, 1, 9),
		route(11, 0x10000, 1, 0x10800, 1, 9),
		route(20, 0x20000, 12, 0x20100, 3, 0),
	};
	const struct gisa_irq recs[] = {
		io(0x0003, 0x10, 0x77, 2), ext(GISA_INT_VIRTIO, 0xaa, 0xbb),
		ext(GISA_INT_SERVICE, 0x3, 0),
	};

	CHECK(gisa_flic_create(vm), 0);
	CHECK(gisa_mem_set_slot(vm, 0, 0, 0x100000), 0);
	CHECK(reg(vm, 9, 1, 0, 1, GISA_ADAPTER_SUPPRESSIBLE), 0);
	CHECK(reg(vm, 0, 3, 1, 1, 0), 0);
	CHECK(modify(vm, 9, GISA_IO_ADAPTER_MAP, 0, 0x10000), 0);
	CHECK(modify(vm, 9, GISA_IO_ADAPTER_MAP, 0, 0x11000), 0);
	CHECK(modify(vm, 9, GISA_IO_ADAPTER_MAP, 0, 0x10000), 0);
	CHECK(modify(vm, 9, GISA_IO_ADAPTER_UNMAP, 0, 0x11000), 0);
	CHECK(modify(vm, 0, GISA_IO_ADAPTER_MAP, 0, 0x20000), 0);
	CHECK(aism(vm, 1, GISA_AIS_MODE_SINGLE), 0);
	CHECK(aism(vm, 4, GISA_AIS_MODE_SINGLE), 0);
	CHECK(gisa_routes_set(vm, routes, ARRAY_SIZE(routes), 0), 0);
	CHECK(gisa_route_trigger(vm, 10, 1), 1);      /* IPM ISC 1; SINGLE fires: nimm */
	clear_byte(vm, 0x10800);                      /* the guest clears the summary */
	CHECK(gisa_route_trigger(vm, 11, 1), 1);      /* suppressed */
	CHECK(gisa_route_trigger(vm, 20, 1), 1);      /* IPM ISC 3 */
	inject(vm, recs, ARRAY_SIZE(recs));
	vcpu(vm, 1, GISA_PSW_MASK_MCHECK, 0, 0, 0, GISA_VCPU_RUNNING);
	CHECK(gisa_vcpu_wait(vm, 1), 1);              /* last sleeper: vcpu 1 */
	vcpu(vm, 0, GISA_PSW_MASK_IO, 0, GISA_CR6_ISC(1), 0, GISA_VCPU_IDLE);
	CHECK(gisa_gisc_register(vm, 1), GISA_DEFAULT_NISC);
	CHECK(gisa_gisa_hw_airq(vm, 1, false), 0);    /* listed */
	CHECK(gisa_host_process_alerts(host), 1);     /* timer started */
	CHECK(gisa_gisa_timer_fire(vm), 1);           /* kicks vcpu 0, re-arms */
	CHECK(gisa_gisc_register(vm, 4), GISA_DEFAULT_NISC);
	CHECK(gisa_gisa_hw_airq(vm, 4, false), 0);    /* listed again */
	return vm;
}

/*
 * v1-stored: CLASSIC with AIS but no GISA, stored (uncompressed): adapter
 * interrupts as list entries, AIS modes set through AISM_ALL and AISM, a
 * suppressible adapter whose SINGLE mode fired, routes with both bit
 * numberings.
 */
static struct gisa_vm *build_stored(struct gisa_host *host)
{
	struct gisa_vm *vm = new_vm(host, GISA_PROFILE_CLASSIC, GISA_CAP_AIS, 3, 0, GISA_BE);
	const struct gisa_route_entry routes[] = {
		route(0, 0x200010, 2, 0x200000, 0, 2),
		route(5, 0x8000, 64, 0x8008, 9, 5),
	};
	const struct gisa_irq recs[] = {
		io(0x0004, 8, 0x1234, 6), ext(GISA_INT_PFAULT_DONE, 0, 0x4242),
		mchk(GISA_CR14_CHANNEL_REPORT, 0x2), ext(GISA_INT_SERVICE, 0x7ff8, 0),
		ext(GISA_INT_VIRTIO, 0x5, 0x6),
	};
	uint8_t all[2] = { 0x02, 0x00 };

	CHECK(gisa_flic_create(vm), 0);
	CHECK(gisa_mem_set_slot(vm, 0, 0, 0x100000), 0);
	CHECK(gisa_mem_set_slot(vm, 3, 0x200000, 0x4000), 0);
	vcpu(vm, 1, 0, 0, 0, 0, GISA_VCPU_STOPPED);
	CHECK(reg(vm, 2, 6, 1, 1, GISA_ADAPTER_SUPPRESSIBLE), 0);
	CHECK(reg(vm, 5, 0, 0, 0, 0), 0);
	CHECK(set_attr(vm, GISA_FLIC_AISM_ALL, 2, all, sizeof(all)), 0);
	CHECK(aism(vm, 0, GISA_AIS_MODE_SINGLE), 0);
	CHECK(gisa_routes_set(vm, routes, ARRAY_SIZE(routes), 0), 0);
	CHECK(gisa_route_trigger(vm, 0, 1), 1);       /* list ISC 6; SINGLE fires */
	CHECK(gisa_route_trigger(vm, 5, 1), 1);       /* list ISC 0 */
	inject(vm, recs, ARRAY_SIZE(recs));
	vcpu(vm, 0, GISA_PSW_MASK_IO | GISA_PSW_MASK_EXT, 0, GISA_CR6_ISC(6) | GISA_CR6_ISC(0),
	     0, GISA_VCPU_RUNNING);
	vcpu(vm, 2, GISA_PSW_MASK_IO, 0, GISA_CR6_ISC(2), 0, GISA_VCPU_IDLE);
	return vm;
}

/*
 * v1-dictionary: I/O lists with repeated entries, so that the State carries
 * them in dictionary form (docs/SNAPSHOT-FORMAT.md, IoList): each distinct
 * entry (key) once, in order of first use, and an index per entry.
 *  - ISC 2: 10 entries over 4 keys (one an adapter interrupt, two differing
 *    only in their parameter): nr_keys 4, u16 index 0 1 0 2 1 1 3 0 2 0.
 *  - ISC 5: 3 distinct entries: plain columns, no index.
 *  - ISC 6: 65,537 keys, one more than a u16 index addresses, laid down by
 *    big_list with the repeats 65,536, 0, 65,536 at the end: 65,556
 *    entries, u32 index.
 * CLASSIC, 2 running vcpus, no GISA, no adapters: injected records only.
 */
#define BIG_EVERY 4096u

/* Key k of a big list: each column periodic or in runs, so the file stays small. */
static struct gisa_irq big_key(unsigned isc, uint32_t k)
{
	return io(0x0001, (uint16_t)(k % 256), (uint32_t)isc << 28 | k / 256, isc);
}

/* Keys 0..nr_keys-1, each BIG_EVERY-th followed by a repeat of key k / 2; then tail. */
static void big_list(struct gisa_vm *vm, unsigned isc, uint32_t nr_keys, const uint32_t *tail,
		     size_t n)
{
	struct gisa_irq q;

	for (uint32_t k = 0; k < nr_keys; k++) {
		q = big_key(isc, k);
		CHECK(gisa_vm_inject(vm, &q), 0);
		if (k % BIG_EVERY == BIG_EVERY - 1) {
			q = big_key(isc, k / 2);
			CHECK(gisa_vm_inject(vm, &q), 0);
		}
	}
	for (size_t i = 0; i < n; i++) {
		q = big_key(isc, tail[i]);
		CHECK(gisa_vm_inject(vm, &q), 0);
	}
}

static struct gisa_vm *build_dictionary(struct gisa_host *host)
{
	struct gisa_vm *vm = new_vm(host, GISA_PROFILE_CLASSIC, 0, 2, 0, GISA_BE);
	const struct gisa_irq a = io(0x0001, 1, 0x100, 2), c = io(0x0002, 7, 0x200, 2);
	const struct gisa_irq d = io(0x0001, 1, 0x101, 2);
	const struct gisa_irq isc5[] = {
		io(0x0004, 9, 0x5001, 5), io(0x0004, 10, 0x5002, 5), io(0x0005, 9, 0x5001, 5),
	};
	const uint32_t tail6[] = { 65536, 0, 65536 };
	struct gisa_irq b;

	memset(&b, 0, sizeof(b));
	b.type = GISA_INT_IO_AI_MASK;
	b.u.io.io_int_word = GISA_IO_WORD_AI | 2u << 27;
	{
		const struct gisa_irq isc2[] = { a, b, a, c, b, b, d, a, c, a };

		CHECK(gisa_flic_create(vm), 0);
		inject(vm, isc2, ARRAY_SIZE(isc2));
	}
	inject(vm, isc5, ARRAY_SIZE(isc5));
	big_list(vm, 6, 65537, tail6, ARRAY_SIZE(tail6));
	return vm;
}

static const uint8_t typical_uuid[16] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
};

static const uint8_t newest_uuid[16] = {
	0x6e, 0x65, 0x77, 0x65, 0x73, 0x74, 0x2d, 0x67,
	0x69, 0x73, 0x61, 0x2d, 0x61, 0x69, 0x73, 0x01,
};

static const struct {
	const char *file;
	struct gisa_vm *(*build)(struct gisa_host *host);
	struct gisa_snap_meta meta;
	struct gisa_snap_opts opts;
} golden[] = {
	{ "v1-empty.gsnap", build_empty,
	  { "empty", NULL, CREATED_NS, PRODUCER }, { true, 3 } },
	{ "v1-typical.gsnap", build_typical,
	  { "typical", typical_uuid, CREATED_NS, PRODUCER }, { true, 3 } },
	{ "v1-newest-gisa-ais.gsnap", build_newest,
	  { "newest-gisa-ais", newest_uuid, CREATED_NS, PRODUCER }, { true, 19 } },
	{ "v1-stored.gsnap", build_stored,
	  { "stored", NULL, CREATED_NS, PRODUCER }, { false, 0 } },
	{ "v1-dictionary.gsnap", build_dictionary,
	  { "dictionary", NULL, CREATED_NS, PRODUCER }, { true, 19 } },
};

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: make-golden OUTDIR\n");
		return 2;
	}
	for (size_t i = 0; i < ARRAY_SIZE(golden); i++) {
		struct gisa_host *host = NULL;
		struct gisa_image *img = NULL;
		uint8_t *buf = NULL, digest[GISA_SNAP_DIGEST_SIZE];
		char path[4096], hex[65];
		struct gisa_vm *vm;
		size_t len;
		FILE *f;

		CHECK(gisa_host_new(NULL, &host), 0);
		vm = golden[i].build(host);
		CHECK(gisa_image_from_vm(vm, &img), 0);
		CHECK(gisa_snap_encode(img, &golden[i].meta, &golden[i].opts, &buf, &len), 0);
		CHECK(gisa_snap_digest(img, digest), 0);
		gisa_snap_digest_hex(digest, hex);
		snprintf(path, sizeof(path), "%s/%s", argv[1], golden[i].file);
		f = fopen(path, "wb");
		if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
			fprintf(stderr, "make-golden: cannot write %s\n", path);
			return 1;
		}
		printf("%s %zu bytes, state digest %s\n", golden[i].file, len, hex);
		free(buf);
		gisa_image_free(img);
		gisa_vm_free(vm);
		gisa_host_free(host);
	}
	return 0;
}
