/* SPDX-License-Identifier: MIT */
/*
 * The golden snapshot files of format v1 (tests/data/, see its README.md).
 *
 * They were written once by tests/data/make-golden.c and are never
 * regenerated: every future version must load them.  For each file this
 * test checks, in order:
 *  - the file itself is the committed one (its SHA-256);
 *  - the container and header fields (gisa_snap_info and gisa_snap_decode);
 *  - the state digest, as recorded here: the format's fixed point.  It must
 *    also be the digest this version computes for the decoded image, i.e.
 *    a v1 state re-encodes to the same canonical bytes in every version;
 *  - a VM built from it shows the state make-golden built, spot-checked
 *    through the engine's API: the state view, GET_ALL_IRQS bytes in the
 *    VM's byte order, AISM_ALL bytes, route triggers with the guest memory
 *    they write, GISA timer and TPI behaviour;
 *  - the VM exports to the same digest again.
 * v1-dictionary.gsnap, the file whose I/O lists repeat entries, is also
 * checked for the dictionary form inside its State (nr_keys and the u16 and
 * u32 index columns), for its complete GET_ALL_IRQS bytes, and for
 * re-encoding: its decoded image encodes to the identical file.
 * The expected values are derived from the spec, not read from the files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zstd.h>

#include "support.h"

#include "../support-snap/snaptest.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define CREATED_NS 1767225600000000000ull   /* 2026-01-01T00:00:00Z */
#define PRODUCER "gisad 0.1.0"
#define ALL_ON (GISA_PSW_MASK_IO | GISA_PSW_MASK_EXT | GISA_PSW_MASK_MCHECK)

struct golden {
	const char *file;
	const char *file_sha256;
	const char *digest;
	size_t size;
	uint32_t flags;
	int level;
	enum gisa_profile profile;
	uint32_t caps;
	const char *name;
	const uint8_t *uuid;
};

static const uint8_t typical_uuid[16] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
};

static const uint8_t newest_uuid[16] = {
	0x6e, 0x65, 0x77, 0x65, 0x73, 0x74, 0x2d, 0x67,
	0x69, 0x73, 0x61, 0x2d, 0x61, 0x69, 0x73, 0x01,
};

static const struct golden g_empty = {
	"v1-empty.gsnap",
	"8275ca8d20a777da3479f79de5d9621217b74723cde9b058ac1c6fa2dbb704e1",
	"776f8d684d5e80e230ae8012ac545ea2db317dd747aa26dd8ba51d8b38ba6af1",
	128, GISA_SNAP_FLAG_ZSTD, 3, GISA_PROFILE_CLASSIC, 0, "empty", NULL,
};

static const struct golden g_typical = {
	"v1-typical.gsnap",
	"d9040ced460294e2c42078813db379829c689a844d9e14ff8b2e254a859c28b3",
	"8f1d30a1e0a2e6bd6abb4942895dd4b9daf0af2fdde8e7d5f415e1ac5a640780",
	533, GISA_SNAP_FLAG_ZSTD, 3, GISA_PROFILE_CLASSIC, GISA_CAP_GISA, "typical",
	typical_uuid,
};

static const struct golden g_newest = {
	"v1-newest-gisa-ais.gsnap",
	"212bb366df9908fb5b9b1586fdabf9be925b4a37ca942c36cd5df9b9b23879c8",
	"27f5895b331ce8456e5f87c442a7191fa86248d62d18d7f106947cec84d6f051",
	396, GISA_SNAP_FLAG_ZSTD, 19, GISA_PROFILE_NEWEST, GISA_CAP_ALL, "newest-gisa-ais",
	newest_uuid,
};

static const struct golden g_stored = {
	"v1-stored.gsnap",
	"b7acdf374802d3eaeff4054873010065ccf161d7d22b33fb4a7867a8bbab2ae5",
	"44722d4d6a2c6aea5b1976988122f97ef7aa7c5a089fbb6dc51dd338a31e95e0",
	8694, 0, 0, GISA_PROFILE_CLASSIC, GISA_CAP_AIS, "stored", NULL,
};

static const struct golden g_dictionary = {
	"v1-dictionary.gsnap",
	"252477c5898af1e982d08ae04d3097022190303731ce13665c2295149abce29a",
	"f277a3656390e718a1ff6a2bfb59cd280db984f62c5681bb0a60b9ebc832b645",
	68144, GISA_SNAP_FLAG_ZSTD, 19, GISA_PROFILE_CLASSIC, 0, "dictionary", NULL,
};

/* ---- loading ------------------------------------------------------------------- */

struct loaded {
	uint8_t *buf;
	size_t len;
	struct gisa_image *img;
	struct gisa_host *host;
	struct gisa_vm *vm;
};

static void digest_is(const uint8_t d[GISA_SNAP_DIGEST_SIZE], const char *want, const char *what)
{
	char hex[65];

	gisa_snap_digest_hex(d, hex);
	if (strcmp(hex, want)) {
		print_error("%s: %s\n  is   %s\n  want %s\n", what, "digest", hex, want);
		fail();
	}
}

/* Read, check the container, header and digest, decode, and build a VM. */
static void load(const struct golden *g, struct loaded *l)
{
	struct gisa_snap_error err = { .msg = "" };
	struct gisa_restore_error rerr;
	struct gisa_snap_info a, b;
	uint8_t d[32], *bytes;
	size_t blen;
	char hex[65];

	memset(l, 0, sizeof(*l));
	snapt_read(__FILE__, g->file, &l->buf, &l->len);
	assert_int_equal(l->len, g->size);
	snapt_sha256(l->buf, l->len, NULL, 0, d);
	snapt_hex(d, 32, hex);
	if (strcmp(hex, g->file_sha256)) {
		print_error("%s is not the committed golden file (SHA-256 %s)\n", g->file, hex);
		fail();
	}

	if (gisa_snap_info(l->buf, l->len, &a, &err))
		fail_msg("%s: gisa_snap_info: %s", g->file, err.msg);
	if (gisa_snap_decode(l->buf, l->len, &l->img, &b, &err))
		fail_msg("%s: gisa_snap_decode: %s", g->file, err.msg);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(a.format_version, 1);
	assert_int_equal(a.min_reader_version, 1);
	assert_int_equal(a.flags, g->flags);
	if (!g->flags)
		assert_int_equal(a.payload_len, a.state_len);
	assert_int_equal(a.profile, g->profile);
	assert_int_equal(a.caps, g->caps);
	assert_string_equal(a.vm_name, g->name);
	assert_int_equal(a.has_uuid, g->uuid != NULL);
	if (g->uuid)
		assert_memory_equal(a.vm_uuid, g->uuid, 16);
	assert_int_equal(a.created_unix_ns, CREATED_NS);
	assert_string_equal(a.producer, PRODUCER);
	assert_int_equal(a.compression_level, g->level);
	assert_int_equal(l->len, GISA_SNAP_PREAMBLE_SIZE + a.header_len + a.payload_len +
				 GISA_SNAP_DIGEST_SIZE);

	/* The recorded digest: in the file, and recomputed from the decoded state. */
	digest_is(a.digest, g->digest, "digest in the file");
	assert_int_equal(gisa_snap_digest(l->img, d), 0);
	digest_is(d, g->digest, "digest of the decoded state");
	assert_int_equal(gisa_snap_state_bytes(l->img, &bytes, &blen), 0);
	assert_int_equal(blen, a.state_len);
	if (!g->flags)   /* stored: the payload is the canonical encoding itself */
		assert_memory_equal(l->buf + GISA_SNAP_PREAMBLE_SIZE + a.header_len, bytes, blen);
	free(bytes);

	assert_int_equal(gisa_host_new(NULL, &l->host), 0);
	memset(&rerr, 0, sizeof(rerr));
	if (gisa_image_build_vm(l->img, l->host, &l->vm, &rerr))
		fail_msg("%s: build: %s[%llu] = 0x%llx (%s)", g->file,
			 rerr.field ? rerr.field : "-", (unsigned long long)rerr.index,
			 (unsigned long long)rerr.value, rerr.reason ? rerr.reason : "-");

	/* The VM exports to the same state. */
	{
		struct gisa_image *again;

		assert_int_equal(gisa_image_from_vm(l->vm, &again), 0);
		snapt_image_equal(g->file, l->img, again);
		assert_int_equal(gisa_snap_digest(again, d), 0);
		digest_is(d, g->digest, "digest of the built VM");
		gisa_image_free(again);
	}
}

static void unload(struct loaded *l)
{
	gisa_vm_free(l->vm);
	gisa_host_free(l->host);
	gisa_image_free(l->img);
	free(l->buf);
}

/* ---- observing the built VM ------------------------------------------------------- */

/* GET_ALL_IRQS in the VM's byte order must return exactly these records' bytes. */
static void expect_get(struct gisa_vm *vm, const struct gisa_irq *want, size_t n)
{
	struct gisa_vm_config cfg;
	size_t len = (size_t)GISA_IRQ_SIZE * 64;
	uint8_t *raw = calloc(1, len), *exp = calloc(1, len);
	struct gisa_attr a = {
		.group = GISA_FLIC_GET_ALL_IRQS, .attr = len, .addr = { .data = raw, .len = len },
	};

	assert_true(n <= 64);
	gisa_vm_config(vm, &cfg);
	assert_int_equal(gisa_flic_get_attr(vm, &a), (int)n);
	assert_int_equal(gisa_irq_pack(want, n, cfg.abi_order, exp, n * GISA_IRQ_SIZE), 0);
	for (size_t i = 0; i < n; i++) {
		if (memcmp(raw + i * GISA_IRQ_SIZE, exp + i * GISA_IRQ_SIZE, GISA_IRQ_SIZE)) {
			struct gisa_irq got;

			gisa_irq_unpack1(raw + i * GISA_IRQ_SIZE, cfg.abi_order, &got);
			print_error("GET record %zu: type 0x%llx, expected 0x%llx\n", i,
				    (unsigned long long)got.type, (unsigned long long)want[i].type);
			fail();
		}
	}
	free(raw);
	free(exp);
}

static void expect_aism_all(struct gisa_vm *vm, uint8_t simm, uint8_t nimm)
{
	uint8_t b[2] = { 0xee, 0xee };

	assert_int_equal(t_get_attr(vm, GISA_FLIC_AISM_ALL, 2, b, 2), 0);
	assert_int_equal(b[0], simm);
	assert_int_equal(b[1], nimm);
}

static void expect_vcpu(struct gisa_vm *vm, uint32_t idx, uint64_t psw, uint64_t cr0,
			uint64_t cr6, uint64_t cr14, enum gisa_run_state run, bool kicked)
{
	struct gisa_vcpu_state v;

	assert_int_equal(gisa_vcpu_get(vm, idx, &v), 0);
	assert_int_equal(v.psw_mask, psw);
	assert_int_equal(v.cr0, cr0);
	assert_int_equal(v.cr6, cr6);
	assert_int_equal(v.cr14, cr14);
	assert_int_equal(v.run, run);
	assert_int_equal(v.kicked, kicked);
}

static void expect_adapter(struct gisa_vm *vm, uint32_t id, uint32_t isc, bool maskable,
			   bool masked, bool swap, bool suppressible, const uint64_t *maps,
			   uint32_t nr_maps)
{
	struct gisa_state_adapter a;
	uint64_t got[GISA_MAX_ADAPTER_MAPS];

	assert_int_equal(gisa_state_adapter(vm, id, &a), 0);
	assert_int_equal(a.isc, isc);
	assert_int_equal(a.maskable, maskable);
	assert_int_equal(a.masked, masked);
	assert_int_equal(a.swap, swap);
	assert_int_equal(a.suppressible, suppressible);
	assert_int_equal(a.nr_maps, nr_maps);
	assert_int_equal(gisa_state_adapter_maps(vm, id, got, GISA_MAX_ADAPTER_MAPS), nr_maps);
	if (nr_maps)
		assert_memory_equal(got, maps, nr_maps * sizeof(*maps));
}

static void expect_route(struct gisa_vm *vm, size_t idx, struct gisa_route_entry want)
{
	struct gisa_route_entry r;

	assert_int_equal(gisa_state_route(vm, idx, &r), 0);
	assert_int_equal(r.gsi, want.gsi);
	assert_int_equal(r.type, want.type);
	assert_int_equal(r.flags, want.flags);
	assert_int_equal(r.adapter.ind_addr, want.adapter.ind_addr);
	assert_int_equal(r.adapter.summary_addr, want.adapter.summary_addr);
	assert_int_equal(r.adapter.ind_offset, want.adapter.ind_offset);
	assert_int_equal(r.adapter.summary_offset, want.adapter.summary_offset);
	assert_int_equal(r.adapter.adapter_id, want.adapter.adapter_id);
}

static void expect_memslot(struct gisa_vm *vm, size_t idx, uint32_t slot, uint64_t gpa,
			   uint64_t size)
{
	struct gisa_memslot_info m;

	assert_int_equal(gisa_state_memslot(vm, idx, &m), 0);
	assert_int_equal(m.slot, slot);
	assert_int_equal(m.gpa, gpa);
	assert_int_equal(m.size, size);
}

/* ---- the files -------------------------------------------------------------------- */

/* A CLASSIC VM as created: no FLIC, no vcpus, nothing pending. */
static void golden_empty(void **state)
{
	struct gisa_state st;
	struct loaded l;
	uint8_t b[GISA_IRQ_SIZE];

	(void)state;
	load(&g_empty, &l);
	gisa_state_read(l.vm, &st);
	assert_int_equal(st.profile, GISA_PROFILE_CLASSIC);
	assert_int_equal(st.caps, 0);
	assert_int_equal(st.nr_vcpus, 0);
	assert_int_equal(st.mem_cap, GISA_DEFAULT_MEM_CAP);
	assert_int_equal(st.abi_order, GISA_BE);
	assert_false(st.flic_present);
	assert_false(st.apf_enabled);
	assert_int_equal(st.pending_irqs, 0);
	for (unsigned i = 0; i < GISA_NR_LISTS; i++)
		assert_int_equal(st.list_len[i], 0);
	assert_false(st.gisa.present);
	assert_int_equal(st.adapter_mask, 0);
	assert_int_equal(st.nr_routes, 0);
	assert_int_equal(st.nr_memslots, 0);
	assert_int_equal(st.kick_cursor, 0);
	assert_int_equal(l.img->nr_pages, 0);

	/* No FLIC: its groups are -EBADF; no routes: triggers are -1. */
	assert_int_equal(t_get_attr(l.vm, GISA_FLIC_GET_ALL_IRQS, sizeof(b), b, sizeof(b)),
			 -EBADF);
	assert_int_equal(t_get_attr(l.vm, GISA_FLIC_AISM_ALL, 2, b, 2), -EBADF);
	assert_int_equal(gisa_route_trigger(l.vm, 0, 1), -1);
	assert_int_equal(gisa_flic_create(l.vm), 0);
	expect_get(l.vm, NULL, 0);
	unload(&l);
}

/*
 * CLASSIC with a GISA: IPM bits from two route triggers (ISC 3 and 5) and a
 * hardware interrupt (ISC 6), lists on ISCs 0, 3, 7, PFAULT_DONE, VIRTIO,
 * service 0x1001, machine check; 10 kicks round robin over 4 running vcpus.
 */
static void golden_typical(void **state)
{
	const struct gisa_irq lists[] = {
		t_io(0x0001, 1, 0xa, 0), t_io(0x0002, 2, 0xb, 3), t_io(0x0001, 3, 0xd, 3),
		t_io(0x0101, 0, 0xc, 7), t_pfd(0x33), t_virt(0x11, 0x22), t_srv(0x1001),
		t_mck(GISA_CR14_CHANNEL_REPORT, 0x8000),
	};
	struct gisa_irq all[3 + ARRAY_SIZE(lists)] = { t_ai(3), t_ai(5), t_ai(6) };
	struct gisa_state st;
	struct gisa_event ev[4];
	struct loaded l;

	(void)state;
	memcpy(all + 3, lists, sizeof(lists));
	load(&g_typical, &l);
	gisa_state_read(l.vm, &st);
	assert_int_equal(st.profile, GISA_PROFILE_CLASSIC);
	assert_int_equal(st.caps, GISA_CAP_GISA);
	assert_int_equal(st.nr_vcpus, 4);
	assert_int_equal(st.mem_cap, 16u << 20);
	assert_true(st.flic_present);
	assert_true(st.apf_enabled);
	assert_int_equal(st.list_len[0], 1);
	assert_int_equal(st.list_len[3], 2);
	assert_int_equal(st.list_len[7], 1);
	assert_int_equal(st.list_len[GISA_LIST_PFAULT], 1);
	assert_int_equal(st.list_len[GISA_LIST_VIRTIO], 1);
	assert_int_equal(st.srv_ext_params, 0x1001);
	assert_int_equal(st.mchk_cr14, GISA_CR14_CHANNEL_REPORT);
	assert_int_equal(st.mchk_mcic, 0x8000);
	assert_true(st.gisa.present);
	assert_int_equal(st.gisa.ipm, 0x16);
	assert_int_equal(st.gisa.iam, 0);
	assert_int_equal(st.gisa.alert_mask, 0x12);
	assert_int_equal(st.gisa.refcount[3], 2);
	assert_int_equal(st.gisa.refcount[6], 1);
	assert_false(st.gisa.on_alert_list);
	assert_true(st.gisa.timer_armed);
	assert_int_equal(st.gisa.timer_delay_ns, 0);
	assert_int_equal(st.kick_cursor, 2);
	assert_int_equal(st.adapter_mask, 0x87);
	assert_int_equal(st.nr_routes, 5);
	assert_int_equal(st.nr_memslots, 2);
	expect_memslot(l.vm, 0, 0, 0, 0x40000);
	expect_memslot(l.vm, 1, 1, 0x40000, 0x40000);
	expect_adapter(l.vm, 0, 3, true, false, true, false, NULL, 0);
	expect_adapter(l.vm, 1, 5, false, false, false, true, NULL, 0);
	expect_adapter(l.vm, 2, 11, false, false, true, false, NULL, 0);
	expect_adapter(l.vm, 7, 2, true, true, true, false, NULL, 0);
	expect_route(l.vm, 0, t_route(1, 0x10000, 5, 0x20000, 0, 0));
	expect_route(l.vm, 1, t_route(2, 0x48010, 3, 0x48000, 1, 1));
	expect_route(l.vm, 2, t_route(3, 0x11000, 70, 0x12000, 7, 7));
	expect_route(l.vm, 3, t_route(9, 0x100100, 0, 0x100000, 0, 0));
	expect_route(l.vm, 4, t_route(4000, 0x30000, 0, 0x30008, 0, 9));
	expect_vcpu(l.vm, 0, ALL_ON, 0x6e00, 0xff000000, GISA_CR14_CHANNEL_REPORT,
		    GISA_VCPU_RUNNING, false);
	expect_vcpu(l.vm, 1, GISA_PSW_MASK_IO, 0, GISA_CR6_ISC(3), 0, GISA_VCPU_STOPPED, false);
	expect_vcpu(l.vm, 2, GISA_PSW_MASK_IO, 0, 0, 0, GISA_VCPU_IDLE, false);
	expect_vcpu(l.vm, 3, GISA_PSW_MASK_EXT, GISA_CR0_SERVICE, 0, 0, GISA_VCPU_RUNNING, false);

	/* The route bits: swap=1 MSB0 bytes, swap=0 doubleword-LSB0 bytes (§5.3). */
	assert_int_equal(t_mem_byte(l.vm, 0x10000), 0x04);
	assert_int_equal(t_mem_byte(l.vm, 0x20000), 0x80);
	assert_int_equal(t_mem_byte(l.vm, 0x48017), 0x08);
	assert_int_equal(t_mem_byte(l.vm, 0x48007), 0x02);
	assert_int_equal(t_mem_byte(l.vm, 0x11008), 0x02);
	assert_int_equal(t_mem_byte(l.vm, 0x12000), 0x01);

	/* The kicker: p = IPM & alert mask = 0x12, no idle vcpu takes it, re-armed. */
	assert_int_equal(gisa_gisa_timer_fire(l.vm), 1);
	assert_int_equal(gisa_vm_events_read(l.vm, ev, ARRAY_SIZE(ev)), 0);
	gisa_state_read(l.vm, &st);
	assert_int_equal(st.gisa.timer_delay_ns, GISA_KICKER_DELAY_NS);

	/* GET: GISA AI records first, then the lists, service, machine check. */
	expect_get(l.vm, all, ARRAY_SIZE(all));
	/* CLASSIC's GET cleared the IPM (§3.1). */
	expect_get(l.vm, lists, ARRAY_SIZE(lists));

	/* Triggers: coalesced on the set summary; after the guest clears it, IPM 3. */
	assert_int_equal(gisa_route_trigger(l.vm, 1, 1), 0);
	assert_int_equal(gisa_route_trigger(l.vm, 3, 1), 0);     /* masked adapter */
	assert_int_equal(gisa_route_trigger(l.vm, 9, 1), -1);    /* its memslot is gone */
	assert_int_equal(gisa_route_trigger(l.vm, 4000, 1), -1); /* adapter 9 unregistered */
	t_mem_set_byte(l.vm, 0x20000, 0);
	assert_int_equal(gisa_route_trigger(l.vm, 1, 1), 1);
	assert_int_equal(t_mem_byte(l.vm, 0x20000), 0x80);
	all[2] = t_ai(3);
	expect_get(l.vm, all + 2, ARRAY_SIZE(all) - 2);
	unload(&l);
}

/*
 * NEWEST with GISA and AIS, little-endian buffers: IPM 0x58 (ISC 1 from a
 * route, 3 from a route, 4 from hardware), AIS SINGLE on ISCs 1 and 4 with
 * ISC 1 fired, the GISA listed with its timer re-armed, vcpu 0 kicked.
 */
static void golden_newest(void **state)
{
	const struct gisa_irq tail[] = {
		t_io(0x0003, 0x10, 0x77, 2), t_virt(0xaa, 0xbb), t_srv(0x3),
	};
	struct gisa_irq all[3 + ARRAY_SIZE(tail)] = { t_ai(1), t_ai(3), t_ai(4) };
	const uint64_t maps9[] = { 0x10000, 0x10000 }, maps0[] = { 0x20000 };
	struct gisa_host_info hi;
	struct gisa_state st;
	struct gisa_irq irq;
	struct loaded l;

	(void)state;
	memcpy(all + 3, tail, sizeof(tail));
	load(&g_newest, &l);
	gisa_state_read(l.vm, &st);
	assert_int_equal(st.profile, GISA_PROFILE_NEWEST);
	assert_int_equal(st.caps, GISA_CAP_ALL);
	assert_int_equal(st.nr_vcpus, 2);
	assert_int_equal(st.abi_order, GISA_LE);
	assert_int_equal(st.simm, 0x48);
	assert_int_equal(st.nimm, 0x40);
	assert_int_equal(st.srv_ext_params, 0x3);
	assert_int_equal(st.pending_irqs >> GISA_IRQ_EXT_SERVICE_EV & 1, 1);
	assert_int_equal(st.pending_irqs >> GISA_IRQ_EXT_SERVICE & 1, 1);
	assert_int_equal(st.gisa.ipm, 0x58);
	assert_int_equal(st.gisa.iam, 0);
	assert_int_equal(st.gisa.alert_mask, 0x48);
	assert_int_equal(st.gisa.refcount[1], 1);
	assert_int_equal(st.gisa.refcount[4], 1);
	assert_true(st.gisa.on_alert_list);
	assert_true(st.gisa.timer_armed);
	assert_int_equal(st.gisa.timer_delay_ns, GISA_KICKER_DELAY_NS);
	assert_int_equal(st.kick_cursor, 1);                  /* the last sleeper */
	expect_adapter(l.vm, 9, 1, false, false, true, true, maps9, 2);
	expect_adapter(l.vm, 0, 3, true, false, true, false, maps0, 1);
	expect_vcpu(l.vm, 0, GISA_PSW_MASK_IO, 0, GISA_CR6_ISC(1), 0, GISA_VCPU_IDLE, true);
	expect_vcpu(l.vm, 1, GISA_PSW_MASK_MCHECK, 0, 0, 0, GISA_VCPU_IDLE, false);
	/* The restored GISA is on the new host's alert list, without a GAL. */
	gisa_host_info(l.host, &hi);
	assert_int_equal(hi.alert_list_len, 1);
	assert_int_equal(hi.gal_interrupts, 0);

	expect_aism_all(l.vm, 0x48, 0x40);
	expect_get(l.vm, all, ARRAY_SIZE(all));
	expect_get(l.vm, all, ARRAY_SIZE(all));               /* NEWEST: not destructive */
	assert_int_equal(t_mem_byte(l.vm, 0x10000), 0xc0);
	assert_int_equal(t_mem_byte(l.vm, 0x10800), 0x40);
	assert_int_equal(t_mem_byte(l.vm, 0x20001), 0x08);
	assert_int_equal(t_mem_byte(l.vm, 0x20100), 0x10);

	/* ISC 1 is in NO mode: the trigger is suppressed (and reported as 1). */
	assert_int_equal(gisa_route_trigger(l.vm, 10, 1), 0);  /* summary set: coalesced */
	assert_int_equal(gisa_route_trigger(l.vm, 20, 1), 0);
	assert_int_equal(gisa_vcpu_run(l.vm, 0), 0);
	assert_int_equal(gisa_vcpu_tpi(l.vm, 0, &irq), 1);     /* takes IPM ISC 1 */
	t_assert_irq_eq(&irq, &all[0]);
	t_mem_set_byte(l.vm, 0x10800, 0);
	assert_int_equal(gisa_route_trigger(l.vm, 10, 1), 1);
	expect_get(l.vm, all + 1, ARRAY_SIZE(all) - 1);        /* nothing injected */
	expect_aism_all(l.vm, 0x48, 0x40);
	/* Re-armed SINGLE: the next trigger injects and fires the mode again. */
	assert_int_equal(t_aism(l.vm, 1, GISA_AIS_MODE_SINGLE), -EINVAL);  /* LE buffer */
	{
		uint8_t b[GISA_AIS_REQ_SIZE];
		struct gisa_ais_req q = { .isc = 1, .mode = GISA_AIS_MODE_SINGLE };

		gisa_ais_req_pack(&q, GISA_LE, b);
		assert_int_equal(t_set_attr(l.vm, GISA_FLIC_AISM, 0, b, sizeof(b)), 0);
	}
	expect_aism_all(l.vm, 0x48, 0x00);
	t_mem_set_byte(l.vm, 0x10800, 0);
	assert_int_equal(gisa_route_trigger(l.vm, 10, 1), 1);
	expect_aism_all(l.vm, 0x48, 0x40);
	expect_get(l.vm, all, ARRAY_SIZE(all));
	unload(&l);
}

/*
 * CLASSIC with AIS, no GISA, stored: adapter interrupts as list entries on
 * ISCs 0 and 6, ISC 6 in NO mode after its SINGLE fired, routes with both
 * bit numberings, 7 kicks round robin skipping the stopped vcpu 1.
 */
static void golden_stored(void **state)
{
	const struct gisa_irq all[] = {
		t_ai(0), t_ai(6), t_io(0x0004, 8, 0x1234, 6), t_pfd(0x4242), t_virt(0x5, 0x6),
		t_srv(0x7ff8), t_mck(GISA_CR14_CHANNEL_REPORT, 0x2),
	};
	struct gisa_state st;
	struct loaded l;

	(void)state;
	load(&g_stored, &l);
	gisa_state_read(l.vm, &st);
	assert_int_equal(st.profile, GISA_PROFILE_CLASSIC);
	assert_int_equal(st.caps, GISA_CAP_AIS);
	assert_int_equal(st.nr_vcpus, 3);
	assert_false(st.gisa.present);
	assert_int_equal(st.simm, 0x82);
	assert_int_equal(st.nimm, 0x02);
	assert_int_equal(st.list_len[0], 1);
	assert_int_equal(st.list_len[6], 2);
	assert_int_equal(st.srv_ext_params, 0x7ff8);
	assert_int_equal(st.pending_irqs >> GISA_IRQ_EXT_SERVICE_EV & 1, 0);
	assert_int_equal(st.kick_cursor, 1);
	assert_int_equal(st.adapter_mask, 0x24);
	assert_int_equal(st.nr_memslots, 2);
	expect_memslot(l.vm, 0, 0, 0, 0x100000);
	expect_memslot(l.vm, 1, 3, 0x200000, 0x4000);
	expect_adapter(l.vm, 2, 6, true, false, true, true, NULL, 0);
	expect_adapter(l.vm, 5, 0, false, false, false, false, NULL, 0);
	expect_route(l.vm, 0, t_route(0, 0x200010, 2, 0x200000, 0, 2));
	expect_route(l.vm, 1, t_route(5, 0x8000, 64, 0x8008, 9, 5));
	expect_vcpu(l.vm, 0, GISA_PSW_MASK_IO | GISA_PSW_MASK_EXT, 0,
		    GISA_CR6_ISC(6) | GISA_CR6_ISC(0), 0, GISA_VCPU_RUNNING, false);
	expect_vcpu(l.vm, 1, 0, 0, 0, 0, GISA_VCPU_STOPPED, false);
	expect_vcpu(l.vm, 2, GISA_PSW_MASK_IO, 0, GISA_CR6_ISC(2), 0, GISA_VCPU_IDLE, false);

	expect_aism_all(l.vm, 0x82, 0x02);
	expect_get(l.vm, all, ARRAY_SIZE(all));
	assert_int_equal(t_mem_byte(l.vm, 0x200010), 0x20);
	assert_int_equal(t_mem_byte(l.vm, 0x200000), 0x80);
	assert_int_equal(t_mem_byte(l.vm, 0x800f), 0x01);
	assert_int_equal(t_mem_byte(l.vm, 0x800e), 0x02);

	assert_int_equal(gisa_route_trigger(l.vm, 0, 1), 0);
	assert_int_equal(gisa_route_trigger(l.vm, 5, 1), 0);
	t_mem_set_byte(l.vm, 0x200000, 0);
	assert_int_equal(gisa_route_trigger(l.vm, 0, 1), 1);   /* suppressed: ISC 6 is NO */
	expect_get(l.vm, all, ARRAY_SIZE(all));
	t_mem_set_byte(l.vm, 0x800e, 0);
	assert_int_equal(gisa_route_trigger(l.vm, 5, 1), 1);   /* not suppressible */
	gisa_state_read(l.vm, &st);
	assert_int_equal(st.list_len[0], 2);
	unload(&l);
}

/* ---- v1-dictionary ------------------------------------------------------------------ */

/* The State's I/O lists as the file holds them (protobuf read by hand). */
struct pb_io {
	bool present;
	uint64_t count, nr_keys;
	bool has_nr_keys, has_index;
	size_t type_len;                    /* bytes of the key column `type` */
	const uint8_t *index;
	size_t index_len;
};

static uint64_t pb_varint(const uint8_t *b, size_t n, size_t *i)
{
	uint64_t v = 0;

	for (unsigned shift = 0;; shift += 7) {
		assert_true(*i < n && shift < 64);
		v |= (uint64_t)(b[*i] & 0x7f) << shift;
		if (!(b[(*i)++] & 0x80))
			return v;
	}
}

/* The next field (wire types 0 and 2 only, all gisa.v1 uses); false at the end. */
static bool pb_next(const uint8_t *b, size_t n, size_t *i, uint32_t *field, uint64_t *val,
		    const uint8_t **data)
{
	uint64_t key;

	if (*i == n)
		return false;
	key = pb_varint(b, n, i);
	*field = (uint32_t)(key >> 3);
	*val = pb_varint(b, n, i);
	*data = NULL;
	if ((key & 7) == 2) {
		assert_true(*val <= n - *i);
		*data = b + *i;
		*i += (size_t)*val;
	} else {
		assert_int_equal(key & 7, 0);
	}
	return true;
}

static void pb_io_lists(const uint8_t *st, size_t len, struct pb_io io[GISA_MAX_ISC + 1])
{
	const uint8_t *d, *m;
	uint64_t v, w;
	uint32_t f, g;
	size_t i = 0;

	memset(io, 0, sizeof(*io) * (GISA_MAX_ISC + 1));
	while (pb_next(st, len, &i, &f, &v, &m)) {
		struct pb_io x = { .present = true };
		uint64_t isc = 0;
		size_t k = 0;

		if (f != 17)
			continue;
		while (pb_next(m, (size_t)v, &k, &g, &w, &d)) {
			switch (g) {
			case 1: isc = w; break;
			case 2: x.count = w; break;
			case 3: x.type_len = (size_t)w; break;
			case 8: x.nr_keys = w; x.has_nr_keys = true; break;
			case 9: x.index = d; x.index_len = (size_t)w; x.has_index = true; break;
			default: break;
			}
		}
		assert_true(isc <= GISA_MAX_ISC);
		io[isc] = x;
	}
}

/* Key k of make-golden's big_list, and the list it laid down. */
#define BIG_EVERY 4096u

static struct gisa_irq big_key(unsigned isc, uint32_t k)
{
	return t_io(0x0001, (uint16_t)(k % 256), (uint32_t)isc << 28 | k / 256, isc);
}

static size_t big_list(struct gisa_irq *out, unsigned isc, uint32_t nr_keys, const uint32_t *tail,
		       size_t n)
{
	size_t m = 0;

	for (uint32_t k = 0; k < nr_keys; k++) {
		out[m++] = big_key(isc, k);
		if (k % BIG_EVERY == BIG_EVERY - 1)
			out[m++] = big_key(isc, k / 2);
	}
	for (size_t i = 0; i < n; i++)
		out[m++] = big_key(isc, tail[i]);
	return m;
}

/* The complete GET_ALL_IRQS answer: exactly these n records, byte for byte. */
static void expect_get_all(struct gisa_vm *vm, const struct gisa_irq *want, size_t n)
{
	size_t len = (size_t)GISA_IRQ_SIZE * (n + 1);
	uint8_t *raw = calloc(1, len), *exp = calloc(1, len);
	struct gisa_attr a = {
		.group = GISA_FLIC_GET_ALL_IRQS, .attr = len, .addr = { .data = raw, .len = len },
	};
	struct gisa_vm_config cfg;

	assert_non_null(raw);
	assert_non_null(exp);
	gisa_vm_config(vm, &cfg);
	assert_int_equal(gisa_flic_get_attr(vm, &a), (int)n);
	assert_int_equal(gisa_irq_pack(want, n, cfg.abi_order, exp, n * GISA_IRQ_SIZE), 0);
	for (size_t i = 0; i < n; i++) {
		if (memcmp(raw + i * GISA_IRQ_SIZE, exp + i * GISA_IRQ_SIZE, GISA_IRQ_SIZE)) {
			struct gisa_irq got;

			gisa_irq_unpack1(raw + i * GISA_IRQ_SIZE, cfg.abi_order, &got);
			print_error("GET record %zu: type 0x%llx parm 0x%x, expected 0x%llx 0x%x\n",
				    i, (unsigned long long)got.type, got.u.io.io_int_parm,
				    (unsigned long long)want[i].type, want[i].u.io.io_int_parm);
			fail();
		}
	}
	free(raw);
	free(exp);
}

static void expect_index(const struct pb_io *x, unsigned width, const uint32_t *want, size_t n)
{
	assert_true(x->has_index);
	assert_int_equal(x->count, n);
	assert_int_equal(x->index_len, width * n);
	for (size_t i = 0; i < n; i++) {
		uint32_t v = 0;

		for (unsigned b = 0; b < width; b++)
			v |= (uint32_t)x->index[width * i + b] << (8 * b);
		if (v != want[i]) {
			print_error("index[%zu] = %u, expected %u\n", i, v, want[i]);
			fail();
		}
	}
}

/* zstd of the version that wrote the file (README.md): its exact compressed bytes. */
#define DICT_ZSTD_VERSION 10504u

/*
 * CLASSIC, 2 running vcpus, no GISA: ISC 2 holds 10 entries over 4 keys
 * (u16 index), ISC 5 three distinct entries (no index), ISC 6 65,537 keys
 * and 19 repeats (u32 index); 65,569 injections kicked round robin.
 */
static void golden_dictionary(void **state)
{
	const struct gisa_irq a = t_io(0x0001, 1, 0x100, 2), b = t_ai(2);
	const struct gisa_irq c = t_io(0x0002, 7, 0x200, 2), d = t_io(0x0001, 1, 0x101, 2);
	const struct gisa_irq isc2[] = { a, b, a, c, b, b, d, a, c, a };
	const struct gisa_irq isc5[] = {
		t_io(0x0004, 9, 0x5001, 5), t_io(0x0004, 10, 0x5002, 5), t_io(0x0005, 9, 0x5001, 5),
	};
	const uint32_t tail6[] = { 65536, 0, 65536 }, index2[] = { 0, 1, 0, 2, 1, 1, 3, 0, 2, 0 };
	const size_t n6 = 65537 + 65537 / BIG_EVERY + ARRAY_SIZE(tail6);
	const size_t total = ARRAY_SIZE(isc2) + ARRAY_SIZE(isc5) + n6;
	struct gisa_irq *all = calloc(total, sizeof(*all)), irq;
	uint32_t *index6 = calloc(n6, sizeof(*index6));
	struct pb_io io[GISA_MAX_ISC + 1];
	struct gisa_snap_info info;
	struct gisa_state st;
	struct loaded l;
	uint8_t *bytes, *stb;
	size_t blen, m = 0, stlen;

	(void)state;
	assert_non_null(all);
	assert_non_null(index6);
	load(&g_dictionary, &l);
	assert_int_equal(gisa_snap_info(l.buf, l.len, &info, NULL), 0);

	/* The State inside the file is in dictionary form. */
	stb = malloc(info.state_len);
	assert_non_null(stb);
	stlen = ZSTD_decompress(stb, info.state_len,
				l.buf + GISA_SNAP_PREAMBLE_SIZE + info.header_len,
				info.payload_len);
	assert_false(ZSTD_isError(stlen));
	assert_int_equal(stlen, info.state_len);
	pb_io_lists(stb, stlen, io);
	for (unsigned isc = 0; isc <= GISA_MAX_ISC; isc++)
		assert_int_equal(io[isc].present, isc == 2 || isc == 5 || isc == 6);
	assert_true(io[2].has_nr_keys);
	assert_int_equal(io[2].nr_keys, 4);
	assert_int_equal(io[2].type_len, 4 * 4);
	expect_index(&io[2], 2, index2, ARRAY_SIZE(index2));
	assert_false(io[5].has_nr_keys || io[5].has_index);
	assert_int_equal(io[5].count, 3);
	assert_int_equal(io[5].type_len, 3 * 4);
	assert_true(io[6].has_nr_keys);
	assert_int_equal(io[6].nr_keys, 65537);
	assert_int_equal(io[6].type_len, 65537 * 4);
	/* Keys in order of first use; repeats point back, the tail at 65,536 and 0. */
	for (uint32_t k = 0; k < 65537; k++) {
		index6[m++] = k;
		if (k % BIG_EVERY == BIG_EVERY - 1)
			index6[m++] = k / 2;
	}
	index6[m++] = 65536;
	index6[m++] = 0;
	index6[m++] = 65536;
	assert_int_equal(m, n6);
	expect_index(&io[6], 4, index6, n6);

	gisa_state_read(l.vm, &st);
	assert_int_equal(st.profile, GISA_PROFILE_CLASSIC);
	assert_int_equal(st.caps, 0);
	assert_int_equal(st.nr_vcpus, 2);
	assert_int_equal(st.mem_cap, GISA_DEFAULT_MEM_CAP);
	assert_int_equal(st.abi_order, GISA_BE);
	assert_true(st.flic_present);
	for (unsigned i = 0; i < GISA_NR_LISTS; i++)
		assert_int_equal(st.list_len[i], i == 2 ? 10 : i == 5 ? 3 : i == 6 ? n6 : 0);
	assert_int_equal(st.pending_irqs, 1u << GISA_IRQ_IO_ISC(2) | 1u << GISA_IRQ_IO_ISC(5) |
					  1u << GISA_IRQ_IO_ISC(6));
	assert_false(st.gisa.present);
	assert_int_equal(st.adapter_mask, 0);
	assert_int_equal(st.nr_routes, 0);
	assert_int_equal(st.nr_memslots, 0);
	assert_int_equal(st.kick_cursor, 1);          /* 65,569 kicks over 2 vcpus */
	expect_vcpu(l.vm, 0, 0, 0, 0, 0, GISA_VCPU_RUNNING, false);
	expect_vcpu(l.vm, 1, 0, 0, 0, 0, GISA_VCPU_RUNNING, false);

	/* Every record, in list order: ISC 2, ISC 5, ISC 6. */
	memcpy(all, isc2, sizeof(isc2));
	memcpy(all + ARRAY_SIZE(isc2), isc5, sizeof(isc5));
	m = big_list(all + ARRAY_SIZE(isc2) + ARRAY_SIZE(isc5), 6, 65537, tail6,
		     ARRAY_SIZE(tail6));
	assert_int_equal(m, n6);
	expect_get_all(l.vm, all, total);
	expect_get_all(l.vm, all, total);             /* lists survive CLASSIC's GET */

	/* Re-encoding the decoded image gives the file. */
	{
		const struct gisa_snap_meta meta = { "dictionary", NULL, CREATED_NS, PRODUCER };
		const struct gisa_snap_opts opts = { true, 19 };
		size_t flen;
		uint8_t *file;

		assert_int_equal(gisa_snap_encode(l.img, &meta, &opts, &file, &flen), 0);
		/* The preamble up to the state length, the header and the digest always. */
		assert_true(flen > GISA_SNAP_PREAMBLE_SIZE + info.header_len + 32);
		assert_memory_equal(file, l.buf, 28);
		assert_memory_equal(file + GISA_SNAP_PREAMBLE_SIZE, l.buf + GISA_SNAP_PREAMBLE_SIZE,
				    info.header_len);
		assert_memory_equal(file + flen - 32, l.buf + l.len - 32, 32);
		/*
		 * The compressed bytes are zstd's, which may change between its
		 * versions; with the version that wrote the file, the whole file.
		 */
		if (ZSTD_versionNumber() == DICT_ZSTD_VERSION) {
			assert_int_equal(flen, l.len);
			assert_memory_equal(file, l.buf, flen);
		} else {
			print_message("zstd %s, not the file's 1.5.4: "
				      "compressed bytes not compared\n", ZSTD_versionString());
		}
		free(file);
		/* And stored, its payload is the file's state bytes. */
		assert_int_equal(gisa_snap_state_bytes(l.img, &bytes, &blen), 0);
		assert_int_equal(blen, stlen);
		assert_memory_equal(bytes, stb, blen);
		free(bytes);
	}

	/*
	 * TPI takes ISC 2's first two entries (a, then the adapter interrupt),
	 * TSCH for c's subchannel its first c, TSCH for subchannel 0x0001 nr
	 * 255 the only such entry: ISC 6's key 255.  The export has ISC 2's keys
	 * in their new order of first use, and ISC 6 exactly 65,536 keys: the
	 * most a u16 index addresses.
	 */
	t_vcpu_set(l.vm, 0, GISA_PSW_MASK_IO, 0, GISA_CR6_ISC(2), 0, GISA_VCPU_RUNNING);
	assert_int_equal(gisa_vcpu_tpi(l.vm, 0, &irq), 1);
	t_assert_irq_eq(&irq, &a);
	assert_int_equal(gisa_vcpu_tpi(l.vm, 0, &irq), 1);
	t_assert_irq_eq(&irq, &b);
	assert_int_equal(gisa_vcpu_tsch(l.vm, 0, 0x00020007, &irq), 1);
	t_assert_irq_eq(&irq, &c);
	assert_int_equal(gisa_vcpu_tsch(l.vm, 0, 0x000100ff, &irq), 1);
	{
		const struct gisa_irq k255 = big_key(6, 255);

		t_assert_irq_eq(&irq, &k255);
	}
	{
		const struct gisa_irq left[] = { a, b, b, d, a, c, a };
		const uint32_t index[] = { 0, 1, 1, 2, 0, 3, 0 };
		struct gisa_image *img, *back;
		size_t nleft = ARRAY_SIZE(left) + ARRAY_SIZE(isc5), flen;
		uint8_t *file;

		memcpy(all, left, sizeof(left));
		memcpy(all + ARRAY_SIZE(left), isc5, sizeof(isc5));
		m = big_list(all + nleft, 6, 65537, tail6, ARRAY_SIZE(tail6));
		memmove(all + nleft + 255, all + nleft + 256, (m - 256) * sizeof(*all));
		expect_get_all(l.vm, all, nleft + m - 1);

		assert_int_equal(gisa_image_from_vm(l.vm, &img), 0);
		assert_int_equal(gisa_snap_state_bytes(img, &bytes, &blen), 0);
		pb_io_lists(bytes, blen, io);
		assert_int_equal(io[2].nr_keys, 4);
		expect_index(&io[2], 2, index, ARRAY_SIZE(index));
		assert_int_equal(io[6].nr_keys, 65536);
		for (size_t i = 0, j = 0; i < n6; i++)
			if (i != 255)
				index6[j++] = index6[i] - (index6[i] > 255);
		expect_index(&io[6], 2, index6, n6 - 1);
		/* That state decodes to itself. */
		assert_int_equal(gisa_snap_encode(img, NULL, NULL, &file, &flen), 0);
		assert_int_equal(gisa_snap_decode(file, flen, &back, NULL, NULL), 0);
		snapt_image_equal("dictionary after TPI/TSCH", img, back);
		gisa_image_free(back);
		free(file);
		free(bytes);
		gisa_image_free(img);
	}
	free(stb);
	free(index6);
	free(all);
	unload(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(golden_empty),
		cmocka_unit_test(golden_typical),
		cmocka_unit_test(golden_newest),
		cmocka_unit_test(golden_stored),
		cmocka_unit_test(golden_dictionary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
