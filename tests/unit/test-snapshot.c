/* SPDX-License-Identifier: MIT */
/*
 * Snapshots of whole VMs: round trips, behavioural equivalence through the
 * file, export without side effects, and canonical encoding.
 *
 * 1. Round trip.  A source VM in each of the 8 configurations (CLASSIC and
 *    NEWEST, GISA on and off, AIS on and off) is driven by a seeded random
 *    sequence of public-API operations of every kind (seed 0: a directed
 *    build that reaches every kind of state).  Its image is encoded into a
 *    snapshot file (compressed at various levels, or stored), decoded, and
 *    built into a VM on a second host; the image read back from that VM is
 *    encoded again.  Images, state bytes, digests and files must be equal
 *    at every stage, and the two VMs' state views must be equal.  The
 *    snapshots must have covered every kind of state, including I/O lists
 *    that repeat entries (the dictionary form), adapter and plain I/O ones.
 * 2. Behavioural equivalence through the file.  After the RAM migration
 *    that runs beside a snapshot, the same seeded sequence of 10,000 further
 *    operations runs on the original and on the restored VM; every result
 *    must be identical step by step: return codes, GET_ALL_IRQS and other
 *    caller buffers, deliveries, TPI/TSCH records, trigger results, guest
 *    memory, dirty logs, events (the kick choices), the host's alert list.
 * 3. Export never changes the VM.  Two VMs are built by the same seeded
 *    sequence; one is exported (image, state bytes, digest, stored and
 *    compressed files), then both must have equal views including which
 *    pages are allocated, equal event rings, dirty logs and host state, and
 *    behave identically afterwards (CLASSIC's GET_ALL_IRQS clears the IPM:
 *    export must not use it).
 * 4. Canonical encoding.  Equal states built by different operation orders
 *    (adapters, routes, memslots and GISA ISCs in different orders, lists
 *    filled then drained, different table replaces, random permutations)
 *    have equal state bytes and digests; stored and compressed files and
 *    files with different metadata of one state have equal digests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine-internal.h"
#include "randvm.h"
#include "support.h"

#include "../support-snap/snaptest.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Build phase length; seeds 0 .. NR_LONG_SEEDS - 1 are each followed by
 * RUN_OPS compared operations, the further seeds (varied build lengths,
 * more round trips) by SHORT_RUN_OPS.
 */
#define BUILD_OPS 400
#define RUN_OPS 10000
#define NR_LONG_SEEDS 4
#define NR_SEEDS 24
#define SHORT_RUN_OPS 1000
#define VIEW_EVERY 250
#define TWIN_SEEDS 4
#define TWIN_RUN_OPS 1000

/*
 * Half of the I/O records take one of 4 parameters, so that lists repeat
 * entries (the dictionary form of the snapshot); views are compared every
 * VIEW_EVERY steps.
 */
static const struct randvm_opts gen_opts = {
	.flags = RANDVM_IO_PARM_REPEATS,
	.view_every = VIEW_EVERY,
};

/* ---- snapshot plumbing ----------------------------------------------------------- */

static const uint8_t test_uuid[16] = {
	0x5a, 0x17, 0x00, 0xc3, 0x9e, 0x41, 0x4b, 0x2d, 0x8f, 0x60, 0x11, 0x22, 0x33, 0x44,
	0x55, 0x66,
};

/* Container options by seed: compressed at several levels, every fourth stored. */
static struct gisa_snap_opts opts_for(uint32_t seed)
{
	static const int levels[] = { 0, 1, 3, 9, 19, -5, 2 };
	struct gisa_snap_opts o = {
		.compress = seed % 4 != 3,
		.level = levels[seed % ARRAY_SIZE(levels)],
	};

	return o;
}

static uint8_t *encode_ok(const struct gisa_image *img, const struct gisa_snap_meta *meta,
			  const struct gisa_snap_opts *opts, size_t *ret_len)
{
	uint8_t *buf = NULL;
	int r = gisa_snap_encode(img, meta, opts, &buf, ret_len);

	if (r) {
		print_error("%s: gisa_snap_encode: %d\n", randvm_where, r);
		fail();
	}
	return buf;
}

static struct gisa_image *decode_ok(const uint8_t *buf, size_t len, struct gisa_snap_info *info)
{
	struct gisa_snap_error err = { .msg = "" };
	struct gisa_image *img = NULL;
	int r = gisa_snap_decode(buf, len, &img, info, &err);

	if (r) {
		print_error("%s: gisa_snap_decode: %d: %s\n", randvm_where, r, err.msg);
		fail();
	}
	return img;
}

static struct gisa_vm *build_ok(const struct gisa_image *img, struct gisa_host *host)
{
	struct gisa_restore_error err;
	struct gisa_vm *vm = NULL;
	int r;

	memset(&err, 0, sizeof(err));
	r = gisa_image_build_vm(img, host, &vm, &err);
	if (r) {
		print_error("%s: gisa_image_build_vm: %d field %s index %llu value 0x%llx (%s)\n",
			    randvm_where, r, err.field ? err.field : "-",
			    (unsigned long long)err.index, (unsigned long long)err.value,
			    err.reason ? err.reason : "-");
		fail();
	}
	return vm;
}

static void state_bytes_ok(const struct gisa_image *img, uint8_t **ret, size_t *ret_len)
{
	assert_int_equal(gisa_snap_state_bytes(img, ret, ret_len), 0);
}

static void bytes_equal(const char *what, const uint8_t *a, size_t alen, const uint8_t *b,
			size_t blen)
{
	if (alen != blen) {
		print_error("%s: %s: %zu bytes vs %zu\n", randvm_where, what, alen, blen);
		fail();
	}
	for (size_t i = 0; i < alen; i++) {
		if (a[i] != b[i]) {
			print_error("%s: %s differ at byte %zu: 0x%02x vs 0x%02x\n", randvm_where,
				    what, i, a[i], b[i]);
			fail();
		}
	}
}

/* The digest is SHA-256 of the state bytes, by the API and as computed here. */
static void digest_of(const struct gisa_image *img, const uint8_t *bytes, size_t len,
		      uint8_t out[GISA_SNAP_DIGEST_SIZE])
{
	uint8_t mine[32];

	assert_int_equal(gisa_snap_digest(img, out), 0);
	snapt_sha256(bytes, len, NULL, 0, mine);
	bytes_equal("digest vs SHA-256 of the state bytes", out, GISA_SNAP_DIGEST_SIZE, mine,
		    sizeof(mine));
}

/* What the decoder reports about a file this test wrote. */
static void info_check(const struct gisa_snap_info *in, const struct gisa_image *img,
		       const struct gisa_snap_meta *meta, const struct gisa_snap_opts *opts,
		       size_t state_len, const uint8_t digest[GISA_SNAP_DIGEST_SIZE])
{
	assert_int_equal(in->format_version, GISA_SNAP_FORMAT_VERSION);
	assert_int_equal(in->min_reader_version, 1);
	assert_int_equal(in->flags, opts->compress ? GISA_SNAP_FLAG_ZSTD : 0);
	assert_int_equal(in->state_len, state_len);
	if (!opts->compress)
		assert_int_equal(in->payload_len, state_len);
	assert_memory_equal(in->digest, digest, GISA_SNAP_DIGEST_SIZE);
	assert_int_equal(in->profile, img->config.profile);
	assert_int_equal(in->caps, img->config.caps);
	assert_string_equal(in->vm_name, meta->vm_name);
	assert_true(in->has_uuid);
	assert_memory_equal(in->vm_uuid, meta->vm_uuid, 16);
	assert_int_equal(in->created_unix_ns, meta->created_unix_ns);
	assert_string_equal(in->producer, meta->producer);
	assert_int_equal(in->compression_level,
			 !opts->compress ? 0 : opts->level ? opts->level : GISA_SNAP_DEFAULT_LEVEL);
}

/* ---- what the snapshots of all runs covered ---------------------------------------- */

static struct {
	unsigned io, ai_entry, ext, srv, srv_ev, mchk, ipm, iam, simm, nimm, masked, maps,
		 adapters, routes, pages, memslots, stopped, idle, kicked, cursor, on_list,
		 timer, timer_delay, refs, no_flic, apf, le, files_stored, files_zstd;
	unsigned dict, dict_io;     /* I/O lists with a repeated entry; one not an AI entry */
} seen;

static int entry_cmp(const void *pa, const void *pb)
{
	const struct gisa_list_entry *a = pa, *b = pb;
	const uint64_t ka[3] = { a->type, (uint64_t)a->u.io.subchannel_id << 16 |
				 a->u.io.subchannel_nr, (uint64_t)a->u.io.io_int_parm << 32 |
				 a->u.io.io_int_word };
	const uint64_t kb[3] = { b->type, (uint64_t)b->u.io.subchannel_id << 16 |
				 b->u.io.subchannel_nr, (uint64_t)b->u.io.io_int_parm << 32 |
				 b->u.io.io_int_word };

	for (unsigned i = 0; i < 3; i++)
		if (ka[i] != kb[i])
			return ka[i] < kb[i] ? -1 : 1;
	return 0;
}

/*
 * Does an I/O list repeat an entry (so that the snapshot holds it in
 * dictionary form)?  *io: a repeated entry that is not an adapter interrupt.
 */
static bool list_repeats(const struct gisa_image_list *l, bool *io)
{
	struct gisa_list_entry *e;
	bool any = false;

	*io = false;
	if (l->n < 2)
		return false;
	e = xcalloc(l->n, sizeof(*e));
	memcpy(e, l->e, l->n * sizeof(*e));
	qsort(e, l->n, sizeof(*e), entry_cmp);
	for (uint32_t i = 1; i < l->n; i++) {
		if (!entry_cmp(&e[i - 1], &e[i])) {
			any = true;
			*io |= !(e[i].type & GISA_INT_IO_AI_MASK);
		}
	}
	free(e);
	return any;
}

static void note_coverage(const struct gisa_image *img, const struct gisa_snap_opts *opts)
{
	for (unsigned l = 0; l < GISA_NR_LISTS; l++) {
		if (!img->lists[l].n)
			continue;
		(*(l <= GISA_MAX_ISC ? &seen.io : &seen.ext))++;
		for (uint32_t i = 0; l <= GISA_MAX_ISC && i < img->lists[l].n; i++)
			seen.ai_entry += (img->lists[l].e[i].type & GISA_INT_IO_AI_MASK) != 0;
		if (l <= GISA_MAX_ISC) {
			bool io;

			seen.dict += list_repeats(&img->lists[l], &io);
			seen.dict_io += io;
		}
	}
	seen.srv += img->fl.service_pending;
	seen.srv_ev += img->fl.service_ev_pending;
	seen.mchk += img->fl.mchk_pending;
	seen.ipm += img->gisa.ipm != 0;
	seen.iam += img->gisa.iam != 0;
	seen.simm += img->fl.simm != 0;
	seen.nimm += img->fl.nimm != 0;
	seen.adapters += img->nr_adapters != 0;
	for (uint32_t i = 0; i < img->nr_adapters; i++) {
		seen.masked += img->adapters[i].a.masked;
		seen.maps += img->adapters[i].a.nr_maps != 0;
	}
	seen.routes += img->nr_routes != 0;
	seen.pages += img->nr_pages != 0;
	seen.memslots += img->nr_memslots != 0;
	for (uint32_t i = 0; i < img->nr_vcpus; i++) {
		seen.stopped += img->vcpus[i].run == GISA_VCPU_STOPPED;
		seen.idle += img->vcpus[i].run == GISA_VCPU_IDLE;
		seen.kicked += img->vcpus[i].kicked;
	}
	seen.cursor += img->fl.kick_cursor != 0;
	seen.on_list += img->gisa.on_alert_list;
	seen.timer += img->gisa.timer_armed;
	seen.timer_delay += img->gisa.timer_delay_ns != 0;
	seen.refs += img->gisa.alert_mask != 0;
	seen.no_flic += !img->fl.flic_present;
	seen.apf += img->fl.apf_enabled;
	seen.le += img->config.abi_order == GISA_LE;
	(*(opts->compress ? &seen.files_zstd : &seen.files_stored))++;
}

/* ---- building a source VM ---------------------------------------------------------- */

static const uint32_t nr_vcpus_by_seed[] = { 4, 3, 66, 1, 0, 2 };

static struct gisa_vm_config config_for(enum gisa_profile profile, uint32_t caps, uint32_t seed)
{
	struct gisa_vm_config cfg = {
		.profile = profile,
		.caps = caps,
		.nr_vcpus = nr_vcpus_by_seed[seed % ARRAY_SIZE(nr_vcpus_by_seed)],
		.mem_cap = seed % 3 ? 16u << 20 : 0,
		.abi_order = seed & 1 ? GISA_LE : GISA_BE,
	};

	return cfg;
}

static struct rng rng_for(enum gisa_profile profile, uint32_t caps, uint32_t seed)
{
	struct rng r = { .s = seed * 0x2545f491ull + profile * 0x100 + caps + 0x5eed };

	return r;
}

/* Seed 0: the directed build; the first seeds build long, the further ones vary. */
static void build_source(struct randvm_side *s, const struct gisa_vm_config *cfg, struct rng *r,
			 uint32_t seed)
{
	unsigned build_ops = seed < NR_LONG_SEEDS ? BUILD_OPS : 50 + rn(r, 750);

	randvm_build(s, cfg, r, &gen_opts, seed == 0, build_ops);
}

/* ---- 1 and 2: round trip and behaviour through the file ------------------------------ */

static void run_one(enum gisa_profile profile, uint32_t caps, uint32_t seed, unsigned run_ops)
{
	struct gisa_vm_config cfg = config_for(profile, caps, seed);
	struct rng r = rng_for(profile, caps, seed);
	struct randvm_side src = { 0 }, dst = { 0 };
	struct gisa_snap_opts opts = opts_for(seed), other = opts;
	char name[64], label[128];
	struct gisa_snap_meta meta = {
		.vm_name = name,
		.vm_uuid = test_uuid,
		.created_unix_ns = 1767225600000000000ull + seed,
		.producer = "test-snapshot",
	};
	struct gisa_image *img1, *img2, *img3, *img4;
	struct gisa_snap_info info;
	uint8_t *bytes1, *bytes2, *bytes3, *file1, *file3, *file4;
	size_t len1, len2, len3, flen1, flen3, flen4;
	uint8_t d1[GISA_SNAP_DIGEST_SIZE], d[GISA_SNAP_DIGEST_SIZE];
	struct randvm_view vs, vd;

	snprintf(name, sizeof(name), "vm-%u-%u-%u", (unsigned int)profile, caps, seed);
	snprintf(label, sizeof(label), "profile %d caps %u seed %u", profile, caps, seed);
	snprintf(randvm_where, sizeof(randvm_where), "%s (build)", label);
	build_source(&src, &cfg, &r, seed);
	assert_int_equal(vm_check_invariants(src.vm), 0);

	/* 1. engine -> image -> snapshot bytes -> image -> engine -> image -> bytes. */
	snprintf(randvm_where, sizeof(randvm_where), "%s (round trip)", label);
	assert_int_equal(gisa_image_from_vm(src.vm, &img1), 0);
	note_coverage(img1, &opts);
	state_bytes_ok(img1, &bytes1, &len1);
	digest_of(img1, bytes1, len1, d1);
	file1 = encode_ok(img1, &meta, &opts, &flen1);

	img2 = decode_ok(file1, flen1, &info);
	info_check(&info, img1, &meta, &opts, len1, d1);
	snapt_image_equal(randvm_where, img1, img2);
	state_bytes_ok(img2, &bytes2, &len2);
	bytes_equal("state bytes after decoding", bytes1, len1, bytes2, len2);

	assert_int_equal(gisa_host_new(NULL, &dst.host), 0);
	dst.order = cfg.abi_order;
	dst.vm = build_ok(img2, dst.host);
	assert_int_equal(vm_check_invariants(dst.vm), 0);
	randvm_view_read(src.vm, &vs);
	randvm_view_read(dst.vm, &vd);
	randvm_view_compare(&vs, &vd);
	randvm_view_free(&vd);
	randvm_view_free(&vs);

	assert_int_equal(gisa_image_from_vm(dst.vm, &img3), 0);
	snapt_image_equal(randvm_where, img1, img3);
	state_bytes_ok(img3, &bytes3, &len3);
	bytes_equal("state bytes of the restored VM", bytes1, len1, bytes3, len3);
	digest_of(img3, bytes3, len3, d);
	bytes_equal("digest of the restored VM", d1, sizeof(d1), d, sizeof(d));
	file3 = encode_ok(img3, &meta, &opts, &flen3);
	bytes_equal("file of the restored VM", file1, flen1, file3, flen3);

	/* The other container form of the same state: the same digest and image. */
	other.compress = !opts.compress;
	file4 = encode_ok(img3, &meta, &other, &flen4);
	img4 = decode_ok(file4, flen4, &info);
	info_check(&info, img1, &meta, &other, len1, d1);
	snapt_image_equal(randvm_where, img1, img4);

	free(bytes1);
	free(bytes2);
	free(bytes3);
	free(file1);
	free(file3);
	free(file4);
	gisa_image_free(img1);
	gisa_image_free(img2);
	gisa_image_free(img3);
	gisa_image_free(img4);

	/* 2. The same operations on the original and on the restored VM. */
	randvm_settle(&src, &dst);
	randvm_run_compared(&src, &dst, &r, &gen_opts, cfg.nr_vcpus, run_ops, label);
	randvm_side_free(&src);
	randvm_side_free(&dst);
}

static void run_config(enum gisa_profile profile, uint32_t caps)
{
	for (uint32_t seed = 0; seed < NR_SEEDS; seed++)
		run_one(profile, caps, seed, seed < NR_LONG_SEEDS ? RUN_OPS : SHORT_RUN_OPS);
}

static void roundtrip_classic(void **state)
{
	(void)state;
	run_config(GISA_PROFILE_CLASSIC, 0);
}

static void roundtrip_classic_ais(void **state)
{
	(void)state;
	run_config(GISA_PROFILE_CLASSIC, GISA_CAP_AIS);
}

static void roundtrip_classic_gisa(void **state)
{
	(void)state;
	run_config(GISA_PROFILE_CLASSIC, GISA_CAP_GISA);
}

static void roundtrip_classic_gisa_ais(void **state)
{
	(void)state;
	run_config(GISA_PROFILE_CLASSIC, GISA_CAP_ALL);
}

static void roundtrip_newest(void **state)
{
	(void)state;
	run_config(GISA_PROFILE_NEWEST, 0);
}

static void roundtrip_newest_ais(void **state)
{
	(void)state;
	run_config(GISA_PROFILE_NEWEST, GISA_CAP_AIS);
}

static void roundtrip_newest_gisa(void **state)
{
	(void)state;
	run_config(GISA_PROFILE_NEWEST, GISA_CAP_GISA);
}

static void roundtrip_newest_gisa_ais(void **state)
{
	(void)state;
	run_config(GISA_PROFILE_NEWEST, GISA_CAP_ALL);
}

/* Runs after the round trips: their snapshots covered every kind of state. */
static void roundtrip_coverage(void **state)
{
	(void)state;
	print_message("covered: io %u ai_entry %u ext %u srv %u srv_ev %u mchk %u ipm %u "
		      "iam %u simm %u nimm %u masked %u maps %u adapters %u routes %u pages %u "
		      "memslots %u stopped %u idle %u kicked %u cursor %u on_list %u timer %u "
		      "delay %u refs %u no_flic %u apf %u le %u stored %u zstd %u "
		      "dictionary %u (I/O repeats %u)\n",
		      seen.io, seen.ai_entry, seen.ext, seen.srv, seen.srv_ev, seen.mchk,
		      seen.ipm, seen.iam, seen.simm, seen.nimm, seen.masked, seen.maps,
		      seen.adapters, seen.routes, seen.pages, seen.memslots, seen.stopped,
		      seen.idle, seen.kicked, seen.cursor, seen.on_list, seen.timer,
		      seen.timer_delay, seen.refs, seen.no_flic, seen.apf, seen.le,
		      seen.files_stored, seen.files_zstd, seen.dict, seen.dict_io);
	assert_true(seen.io && seen.ai_entry && seen.ext && seen.srv && seen.srv_ev);
	assert_true(seen.mchk && seen.ipm && seen.iam && seen.simm && seen.nimm);
	assert_true(seen.masked && seen.maps && seen.adapters && seen.routes && seen.pages);
	assert_true(seen.memslots && seen.stopped && seen.idle && seen.kicked && seen.cursor);
	assert_true(seen.on_list && seen.timer && seen.timer_delay && seen.refs);
	assert_true(seen.no_flic && seen.apf && seen.le && seen.files_stored && seen.files_zstd);
	/* Lists in dictionary form: repeated adapter interrupts and repeated I/O entries. */
	assert_true(seen.dict && seen.dict_io);
}

/* ---- 3: export never changes the VM ------------------------------------------------- */

/* Everything observable about a VM that a view leaves out. */
static void twins_compare_bookkeeping(struct randvm_side *a, struct randvm_side *b)
{
	struct gisa_event ea[GISA_EVENT_RING_SIZE], eb[GISA_EVENT_RING_SIZE];
	struct gisa_host_info ha, hb;
	size_t na = gisa_vm_events_read(a->vm, ea, ARRAY_SIZE(ea));
	size_t nb = gisa_vm_events_read(b->vm, eb, ARRAY_SIZE(eb));

	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++) {
		assert_int_equal(ea[i].seq, eb[i].seq);
		assert_int_equal(ea[i].kind, eb[i].kind);
		assert_int_equal(ea[i].vcpu, eb[i].vcpu);
		assert_int_equal(ea[i].flag, eb[i].flag);
	}
	a->last_seq = b->last_seq = na ? ea[na - 1].seq : 0;
	assert_int_equal(gisa_vm_events_dropped(a->vm), gisa_vm_events_dropped(b->vm));
	a->dropped = b->dropped = gisa_vm_events_dropped(a->vm);
	for (uint32_t slot = 0; slot < 5; slot++) {
		uint64_t ba[8], bb[8];

		memset(ba, 0, sizeof(ba));
		memset(bb, 0, sizeof(bb));
		assert_int_equal(gisa_mem_get_dirty_log(a->vm, slot, ba, 8),
				 gisa_mem_get_dirty_log(b->vm, slot, bb, 8));
		assert_memory_equal(ba, bb, sizeof(ba));
	}
	gisa_host_info(a->host, &ha);
	gisa_host_info(b->host, &hb);
	assert_int_equal(ha.alert_origin, hb.alert_origin);
	assert_int_equal(ha.alert_list_len, hb.alert_list_len);
	assert_int_equal(ha.gal_interrupts, hb.gal_interrupts);
	assert_int_equal(ha.nr_vms, hb.nr_vms);
	a->gal = b->gal = ha.gal_interrupts;
}

/* The allocation bookkeeping a round trip may change, but an export must not. */
static void view_compare_allocation(const struct randvm_view *a, const struct randvm_view *b)
{
	RANDVM_EQ("mem_used", 0, a->st.mem_used, b->st.mem_used);
	for (uint32_t i = 0; i < a->st.nr_memslots; i++)
		RANDVM_EQ("memslot.pages_allocated", i, a->slots[i].pages_allocated,
			  b->slots[i].pages_allocated);
}

static void export_twin(enum gisa_profile profile, uint32_t caps, uint32_t seed)
{
	struct gisa_vm_config cfg = config_for(profile, caps, seed);
	struct rng ra = rng_for(profile, caps, seed), rb = ra;
	struct gisa_snap_opts zstd = { .compress = true }, stored = { .compress = false };
	struct gisa_snap_meta meta = { .vm_name = "twin" };
	struct randvm_side a = { 0 }, b = { 0 };
	struct gisa_image *img, *again;
	struct randvm_view v0, v1, vb;
	uint8_t *buf, d[GISA_SNAP_DIGEST_SIZE];
	size_t len;
	char label[128];

	snprintf(label, sizeof(label), "twin profile %d caps %u seed %u", profile, caps, seed);
	snprintf(randvm_where, sizeof(randvm_where), "%s (build)", label);
	build_source(&a, &cfg, &ra, seed);
	build_source(&b, &cfg, &rb, seed);
	randvm_view_read(a.vm, &v0);
	if (seed == 0 && (caps & GISA_CAP_GISA))
		assert_int_not_equal(v0.st.gisa.ipm, 0);   /* CLASSIC's GET would clear it */

	/* Every export path, on a only. */
	snprintf(randvm_where, sizeof(randvm_where), "%s (export)", label);
	assert_int_equal(gisa_image_from_vm(a.vm, &img), 0);
	state_bytes_ok(img, &buf, &len);
	free(buf);
	assert_int_equal(gisa_snap_digest(img, d), 0);
	buf = encode_ok(img, &meta, &zstd, &len);
	free(buf);
	buf = encode_ok(img, &meta, &stored, &len);
	free(buf);

	randvm_view_read(a.vm, &v1);
	randvm_view_compare(&v0, &v1);
	view_compare_allocation(&v0, &v1);
	randvm_view_read(b.vm, &vb);
	randvm_view_compare(&v1, &vb);
	view_compare_allocation(&v1, &vb);
	assert_int_equal(gisa_image_from_vm(a.vm, &again), 0);
	snapt_image_equal(randvm_where, img, again);
	twins_compare_bookkeeping(&a, &b);
	randvm_view_free(&v0);
	randvm_view_free(&v1);
	randvm_view_free(&vb);
	gisa_image_free(img);
	gisa_image_free(again);

	/* Nothing hidden changed either: both behave alike from here on. */
	randvm_run_compared(&a, &b, &ra, &gen_opts, cfg.nr_vcpus, TWIN_RUN_OPS, label);
	randvm_side_free(&a);
	randvm_side_free(&b);
}

static void export_leaves_vm_unchanged(void **state)
{
	(void)state;
	for (int p = GISA_PROFILE_CLASSIC; p <= GISA_PROFILE_NEWEST; p++)
		for (uint32_t caps = 0; caps <= GISA_CAP_ALL; caps++)
			for (uint32_t seed = 0; seed < TWIN_SEEDS; seed++)
				export_twin((enum gisa_profile)p, caps, seed);
}

/* ---- 4: canonical encoding --------------------------------------------------------- */

static struct gisa_vm *canon_vm(struct gisa_host **host, enum gisa_profile p, uint32_t caps,
				uint32_t nr_vcpus)
{
	struct gisa_vm_config cfg = {
		.profile = p, .caps = caps, .nr_vcpus = nr_vcpus, .abi_order = GISA_BE,
	};
	struct gisa_vm *vm = NULL;

	if (!*host)
		assert_int_equal(gisa_host_new(NULL, host), 0);
	assert_int_equal(gisa_vm_new(*host, &cfg, &vm), 0);
	assert_int_equal(gisa_flic_create(vm), 0);
	return vm;
}

/*
 * The VMs must be in equal states (their views, read without the codec,
 * are equal); then their state bytes and digests must be equal too.
 */
static void expect_same_encoding(struct gisa_vm *const *vms, size_t n, const char *what)
{
	uint8_t *b0, *b;
	size_t l0, l;
	struct randvm_view v0, v;
	uint8_t d0[GISA_SNAP_DIGEST_SIZE], d[GISA_SNAP_DIGEST_SIZE];
	struct gisa_image *img;

	snprintf(randvm_where, sizeof(randvm_where), "%s", what);
	randvm_view_read(vms[0], &v0);
	snapt_vm_state_bytes(vms[0], &b0, &l0);
	assert_int_equal(gisa_image_from_vm(vms[0], &img), 0);
	assert_int_equal(gisa_snap_digest(img, d0), 0);
	gisa_image_free(img);
	for (size_t i = 1; i < n; i++) {
		snprintf(randvm_where, sizeof(randvm_where), "%s: VM %zu vs VM 0", what, i);
		randvm_view_read(vms[i], &v);
		randvm_view_compare(&v0, &v);
		randvm_view_free(&v);
		snapt_vm_state_bytes(vms[i], &b, &l);
		bytes_equal("state bytes", b0, l0, b, l);
		free(b);
		assert_int_equal(gisa_image_from_vm(vms[i], &img), 0);
		assert_int_equal(gisa_snap_digest(img, d), 0);
		gisa_image_free(img);
		assert_memory_equal(d0, d, sizeof(d));
	}
	randvm_view_free(&v0);
	free(b0);
}

static void free_vms(struct gisa_vm **vms, size_t n, struct gisa_host *host)
{
	for (size_t i = 0; i < n; i++)
		gisa_vm_free(vms[i]);
	gisa_host_free(host);
}

struct adapter_def {
	uint32_t id;
	uint8_t isc, maskable, swap, flags;
};

/* Adapter 1's NEWEST map list [0x10000, 0x20000], built directly or the long way. */
static void adapter_maps(struct gisa_vm *vm, bool direct)
{
	static const struct { uint32_t id; uint8_t type; uint64_t addr; } longway[] = {
		{ 1, GISA_IO_ADAPTER_MAP, 0x30000 }, { 1, GISA_IO_ADAPTER_MAP, 0x10000 },
		{ 3, GISA_IO_ADAPTER_MAP, 0x10000 }, { 1, GISA_IO_ADAPTER_UNMAP, 0x30000 },
		{ 1, GISA_IO_ADAPTER_MAP, 0x20000 }, { 3, GISA_IO_ADAPTER_UNMAP, 0x10000 },
	};

	if (direct) {
		assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_MAP, 0, 0x10000), 0);
		assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_MAP, 0, 0x20000), 0);
		return;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(longway); i++)
		assert_int_equal(t_modify(vm, longway[i].id, longway[i].type, 0, longway[i].addr),
				 0);
}

static void canon_adapter_orders(void **state)
{
	static const struct adapter_def defs[] = {
		{ 0, 3, 1, 0, GISA_ADAPTER_SUPPRESSIBLE }, { 3, 11, 1, 1, 0 },
		{ 1, 7, 0, 1, GISA_ADAPTER_SUPPRESSIBLE }, { 63, 0, 1, 0, 0xfe },
		{ 5, 200, 0, 0, 0 },
	};
	static const unsigned orders[3][ARRAY_SIZE(defs)] = {
		{ 0, 1, 2, 3, 4 }, { 4, 3, 2, 1, 0 }, { 2, 4, 0, 3, 1 },
	};

	(void)state;
	for (unsigned cfg = 0; cfg < 8; cfg++) {
		enum gisa_profile p = (enum gisa_profile)(cfg >> 2);
		uint32_t caps = cfg & GISA_CAP_ALL;
		struct gisa_host *host = NULL;
		struct gisa_vm *vms[3];

		for (unsigned k = 0; k < 3; k++) {
			struct gisa_vm *vm = canon_vm(&host, p, caps, 2);

			vms[k] = vm;
			assert_int_equal(gisa_mem_set_slot(vm, 0, 0, 0x100000), 0);
			for (unsigned i = 0; i < ARRAY_SIZE(defs); i++) {
				const struct adapter_def *a = &defs[orders[k][i]];

				assert_int_equal(t_register(vm, a->id, a->isc, a->maskable, a->swap,
							    a->flags), 0);
			}
			/* Adapter 0 masked directly, or after toggling masks. */
			if (k == 1)
				assert_int_equal(t_modify(vm, 0, GISA_IO_ADAPTER_MASK, 0, 0), 0);
			if (k == 2) {
				assert_int_equal(t_modify(vm, 63, GISA_IO_ADAPTER_MASK, 1, 0), 0);
				assert_int_equal(t_modify(vm, 63, GISA_IO_ADAPTER_MASK, 0, 0), 0);
			}
			assert_int_equal(t_modify(vm, 0, GISA_IO_ADAPTER_MASK, 1, 0), 0);
			if (p == GISA_PROFILE_NEWEST)
				adapter_maps(vm, k == 0);
			/* AIS modes set and reset to ALL. */
			if ((caps & GISA_CAP_AIS) && k > 0) {
				assert_int_equal(t_aism(vm, 3, GISA_AIS_MODE_SINGLE), 0);
				assert_int_equal(t_aism(vm, 7, GISA_AIS_MODE_SINGLE), 0);
				assert_int_equal(t_aism(vm, 3, GISA_AIS_MODE_ALL), 0);
				assert_int_equal(t_aism_all_set(vm, 0, 0), 0);
			}
		}
		expect_same_encoding(vms, 3, "adapters registered in different orders");
		free_vms(vms, 3, host);
	}
}

static void canon_route_orders(void **state)
{
	const struct gisa_route_entry r1 = t_route(1, 0x10000, 5, 0x20000, 0, 0);
	const struct gisa_route_entry r2 = t_route(7, 0x10008, 70, 0x20000, 1, 1);
	const struct gisa_route_entry r3 = t_route(4095, 0x30ffc, 3, 0x30000, 7, 63);
	const struct gisa_route_entry r9 = t_route(9, 0x50000, 0, 0x50100, 0, 2);
	const struct gisa_route_entry t_a[] = { r1, r2, r3 }, t_b1[] = { r3, r1 };
	const struct gisa_route_entry t_b2[] = { r2, r3, r1 }, t_c1[] = { r9 };
	const struct gisa_route_entry t_c2[] = { r3, r2, r1 };
	const uint8_t junk[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, zero[8] = { 0 };

	(void)state;
	for (int p = 0; p <= 1; p++) {
		struct gisa_host *host = NULL;
		struct gisa_vm *vms[3];

		for (unsigned k = 0; k < 3; k++) {
			vms[k] = canon_vm(&host, (enum gisa_profile)p, GISA_CAP_AIS, 1);
			assert_int_equal(gisa_mem_set_slot(vms[k], 0, 0, 0x100000), 0);
			assert_int_equal(t_register(vms[k], 0, 2, 0, 0, 0), 0);
		}
		/* a: one table.  b: two replaces.  c: another table, emptied, then the routes. */
		assert_int_equal(gisa_routes_set(vms[0], t_a, ARRAY_SIZE(t_a), 0), 0);
		assert_int_equal(gisa_routes_set(vms[1], t_b1, ARRAY_SIZE(t_b1), 0), 0);
		assert_int_equal(gisa_routes_set(vms[1], t_b2, ARRAY_SIZE(t_b2), 0), 0);
		assert_int_equal(gisa_routes_set(vms[2], t_c1, ARRAY_SIZE(t_c1), 0), 0);
		assert_int_equal(gisa_routes_set(vms[2], NULL, 0, 0), 0);
		/* c: a route page written and cleared again before the routes exist. */
		assert_int_equal(gisa_mem_write(vms[2], 0x10000, junk, sizeof(junk)), 0);
		assert_int_equal(gisa_mem_write(vms[2], 0x10000, zero, sizeof(zero)), 0);
		assert_int_equal(gisa_routes_set(vms[2], t_c2, ARRAY_SIZE(t_c2), 0), 0);
		/* The same trigger on each: indicator and summary bits, one interrupt. */
		for (unsigned k = 0; k < 3; k++)
			assert_int_equal(gisa_route_trigger(vms[k], 1, 1), 1);
		expect_same_encoding(vms, 3, "routes set in different orders");
		free_vms(vms, 3, host);
	}
}

/* One running vcpu: the kick cursor cannot move (CLASSIC wraps to 0, NEWEST waits). */
static void canon_lists_filled_then_drained(void **state)
{
	const struct gisa_irq final[] = {
		t_io(0x0001, 1, 0xa, 2), t_io(0x0002, 7, 0xb, 2), t_io(0x0101, 0, 0xc, 5),
		t_ai(4), t_virt(0x11, 0x22), t_pfd(0x33), t_srv(0x2009),
		t_mck(GISA_CR14_CHANNEL_REPORT, 0x40),
	};
	const struct gisa_irq junk[] = {
		t_io(0x0003, 3, 0x1, 2), t_io(0x0003, 4, 0x2, 0), t_io(0x0003, 5, 0x3, 7),
		t_ai(4), t_ai(1), t_virt(0x99, 0x98), t_pfd(0x97), t_srv(0x1001),
		t_mck(GISA_CR14_CHANNEL_REPORT, 0x8000),
	};
	const struct gisa_irq io_junk[] = {
		t_io(0x0003, 3, 0x1, 2), t_io(0x0003, 4, 0x2, 5), t_io(0x0003, 5, 0x3, 7),
	};

	(void)state;
	for (int p = 0; p <= 1; p++) {
		for (uint32_t caps = 0; caps <= GISA_CAP_ALL; caps++) {
			struct gisa_host *host = NULL;
			struct gisa_vm *vms[4];
			struct gisa_delivery dl;
			struct gisa_irq irq;

			for (unsigned k = 0; k < 4; k++) {
				vms[k] = canon_vm(&host, (enum gisa_profile)p, caps, 1);
				t_vcpu_all_on(vms[k], 0);
			}
			/* a: the final contents only. */
			assert_int_equal(t_enq(vms[0], final, ARRAY_SIZE(final)), 0);
			/* b: everything delivered away first. */
			assert_int_equal(t_enq(vms[1], junk, ARRAY_SIZE(junk)), 0);
			while (gisa_vcpu_deliver(vms[1], 0, &dl) == 1)
				;
			assert_int_equal(t_enq(vms[1], final, ARRAY_SIZE(final)), 0);
			/* c: CLEAR_IRQS, then I/O junk interleaved and removed again. */
			assert_int_equal(t_enq(vms[2], junk, ARRAY_SIZE(junk)), 0);
			assert_int_equal(t_clear_irqs(vms[2]), 0);
			for (unsigned i = 0; i < ARRAY_SIZE(final); i++) {
				if (i < ARRAY_SIZE(io_junk))
					assert_int_equal(t_enq1(vms[2], io_junk[i]), 0);
				assert_int_equal(t_enq1(vms[2], final[i]), 0);
			}
			assert_int_equal(t_clear_io(vms[2], 0x00030003), 0);
			assert_int_equal(t_clear_io(vms[2], 0x00030004), 0);
			assert_int_equal(t_clear_io(vms[2], 0x00030005), 0);
			/* d: I/O drained by TSCH of each junk subchannel. */
			assert_int_equal(t_enq(vms[3], io_junk, ARRAY_SIZE(io_junk)), 0);
			assert_int_equal(t_enq(vms[3], final, ARRAY_SIZE(final)), 0);
			for (uint32_t nr = 3; nr <= 5; nr++) {
				uint64_t gpr1 = 0x00030000u | nr;

				assert_int_equal(gisa_vcpu_tsch(vms[3], 0, gpr1, &irq), 1);
				assert_int_equal(irq.u.io.subchannel_nr, nr);
			}
			for (unsigned k = 0; k < 4; k++)
				t_vcpu_all_on(vms[k], 0);
			expect_same_encoding(vms, 4, "lists filled then drained");
			free_vms(vms, 4, host);
		}
	}
}

static void canon_memslot_orders(void **state)
{
	const struct gisa_route_entry rt[] = {
		t_route(1, 0x41000, 9, 0xf0000, 3, 0), t_route(2, 0x2000, 0, 0x2000, 64, 0),
	};
	const uint8_t data[4] = { 0xde, 0xad, 0xbe, 0xef };

	(void)state;
	for (int p = 0; p <= 1; p++) {
		struct gisa_host *host = NULL;
		struct gisa_vm *vms[3];

		for (unsigned k = 0; k < 3; k++)
			vms[k] = canon_vm(&host, (enum gisa_profile)p, 0, 1);
		/* a: slots 0, 1, 2 in order. */
		assert_int_equal(gisa_mem_set_slot(vms[0], 0, 0, 0x40000), 0);
		assert_int_equal(gisa_mem_set_slot(vms[0], 1, 0x40000, 0x40000), 0);
		assert_int_equal(gisa_mem_set_slot(vms[0], 2, 0xf0000, 0x10000), 0);
		/* b: reversed, with a slot 3 created and deleted in between. */
		assert_int_equal(gisa_mem_set_slot(vms[1], 2, 0xf0000, 0x10000), 0);
		assert_int_equal(gisa_mem_set_slot(vms[1], 3, 0x200000, 0x4000), 0);
		assert_int_equal(gisa_mem_set_slot(vms[1], 1, 0x40000, 0x40000), 0);
		assert_int_equal(gisa_mem_set_slot(vms[1], 3, 0, 0), 0);
		assert_int_equal(gisa_mem_set_slot(vms[1], 0, 0, 0x40000), 0);
		/* c: slot 1 created elsewhere and moved, slot 0 grown and shrunk. */
		assert_int_equal(gisa_mem_set_slot(vms[2], 1, 0x400000, 0x40000), 0);
		assert_int_equal(gisa_mem_set_slot(vms[2], 0, 0, 0x20000), 0);
		assert_int_equal(gisa_mem_set_slot(vms[2], 0, 0, 0x80000), 0);
		assert_int_equal(gisa_mem_set_slot(vms[2], 2, 0xf0000, 0x10000), 0);
		assert_int_equal(gisa_mem_set_slot(vms[2], 0, 0, 0x40000), 0);
		assert_int_equal(gisa_mem_set_slot(vms[2], 1, 0x40000, 0x40000), 0);
		for (unsigned k = 0; k < 3; k++) {
			assert_int_equal(t_register(vms[k], 0, 3, 0, 0, 0), 0);
			assert_int_equal(gisa_routes_set(vms[k], rt, ARRAY_SIZE(rt), 0), 0);
			assert_int_equal(gisa_mem_write(vms[k], 0x41ff0, data, sizeof(data)), 0);
			assert_int_equal(gisa_route_trigger(vms[k], 1, 1), 1);
		}
		expect_same_encoding(vms, 3, "memslots created in different orders");
		free_vms(vms, 3, host);
	}
}

static void canon_gisc_orders(void **state)
{
	(void)state;
	for (int p = 0; p <= 1; p++) {
		struct gisa_host *host = NULL;
		struct gisa_vm *vms[3];

		for (unsigned k = 0; k < 3; k++)
			vms[k] = canon_vm(&host, (enum gisa_profile)p, GISA_CAP_GISA, 2);
		assert_int_equal(gisa_gisc_register(vms[0], 3), GISA_DEFAULT_NISC);
		assert_int_equal(gisa_gisc_register(vms[0], 6), GISA_DEFAULT_NISC);
		assert_int_equal(gisa_gisc_register(vms[0], 6), GISA_DEFAULT_NISC);

		assert_int_equal(gisa_gisc_register(vms[1], 6), GISA_DEFAULT_NISC);
		assert_int_equal(gisa_gisc_register(vms[1], 1), GISA_DEFAULT_NISC);
		assert_int_equal(gisa_gisc_register(vms[1], 3), GISA_DEFAULT_NISC);
		assert_int_equal(gisa_gisc_register(vms[1], 6), GISA_DEFAULT_NISC);
		assert_int_equal(gisa_gisc_unregister(vms[1], 1), 0);

		assert_int_equal(gisa_gisc_register(vms[2], 6), GISA_DEFAULT_NISC);
		assert_int_equal(gisa_gisc_register(vms[2], 5), GISA_DEFAULT_NISC);
		assert_int_equal(gisa_gisc_register(vms[2], 6), GISA_DEFAULT_NISC);
		assert_int_equal(gisa_gisc_register(vms[2], 3), GISA_DEFAULT_NISC);
		assert_int_equal(gisa_gisc_unregister(vms[2], 5), 0);
		expect_same_encoding(vms, 3, "giscs registered in different orders");
		free_vms(vms, 3, host);
	}
}

/*
 * Random sets of adapters, memslots, routes and GISA ISC registrations,
 * applied in two random orders (memslots before the routes that need them).
 */
static void shuffle(struct rng *r, unsigned *a, unsigned n)
{
	for (unsigned i = n; i > 1; i--) {
		unsigned j = rn(r, i), t = a[i - 1];

		a[i - 1] = a[j];
		a[j] = t;
	}
}

#define PERM_ADAPTERS 12
#define PERM_SLOTS 6
#define PERM_ROUTES 24
#define PERM_GISCS 10

static void canon_random_permutations(void **state)
{
	(void)state;
	for (uint32_t trial = 0; trial < 64; trial++) {
		struct rng r = { .s = 0xc0ffee + trial };
		enum gisa_profile p = (enum gisa_profile)(trial & 1);
		uint32_t caps = trial >> 1 & 3;
		struct adapter_def ad[PERM_ADAPTERS];
		struct gisa_route_entry routes[PERM_ROUTES], table[PERM_ROUTES];
		uint32_t giscs[PERM_GISCS];
		unsigned ord[PERM_ROUTES];
		uint64_t used = 0;
		struct gisa_host *host = NULL;
		struct gisa_vm *vms[2];
		char what[64];

		for (unsigned i = 0; i < PERM_ADAPTERS; i++) {
			uint32_t id;

			do
				id = rn(&r, GISA_MAX_ADAPTERS);
			while (used >> id & 1);
			used |= 1ull << id;
			ad[i] = (struct adapter_def){ id, (uint8_t)rn(&r, 16), (uint8_t)rn(&r, 2),
						      (uint8_t)rn(&r, 2), (uint8_t)rn(&r, 2) };
		}
		for (unsigned i = 0; i < PERM_ROUTES; i++) {
			routes[i] = t_route(i * 3 + rn(&r, 3), (uint64_t)rn(&r, PERM_SLOTS) << 20 |
					    rn(&r, 0x800), rn(&r, 64),
					    (uint64_t)rn(&r, PERM_SLOTS) << 20 | rn(&r, 0x800),
					    rn(&r, 8), ad[rn(&r, PERM_ADAPTERS)].id);
		}
		for (unsigned i = 0; i < PERM_GISCS; i++)
			giscs[i] = rn(&r, 8);
		for (unsigned k = 0; k < 2; k++) {
			struct gisa_vm *vm = canon_vm(&host, p, caps, 3);

			vms[k] = vm;
			for (unsigned i = 0; i < PERM_ADAPTERS; i++)
				ord[i] = i;
			shuffle(&r, ord, PERM_ADAPTERS);
			for (unsigned i = 0; i < PERM_ADAPTERS; i++) {
				const struct adapter_def *a = &ad[ord[i]];

				assert_int_equal(t_register(vm, a->id, a->isc, a->maskable, a->swap,
							    a->flags), 0);
			}
			for (unsigned i = 0; i < PERM_SLOTS; i++)
				ord[i] = i;
			shuffle(&r, ord, PERM_SLOTS);
			for (unsigned i = 0; i < PERM_SLOTS; i++) {
				uint64_t gpa = (uint64_t)ord[i] << 20;

				assert_int_equal(gisa_mem_set_slot(vm, ord[i], gpa, 0x10000), 0);
			}
			for (unsigned i = 0; i < PERM_ROUTES; i++)
				ord[i] = i;
			shuffle(&r, ord, PERM_ROUTES);
			for (unsigned i = 0; i < PERM_ROUTES; i++)
				table[i] = routes[ord[i]];
			/* The second VM first installs a random part, then the whole table. */
			if (k == 1) {
				size_t part = rn(&r, PERM_ROUTES);

				assert_int_equal(gisa_routes_set(vm, table, part, 0), 0);
			}
			assert_int_equal(gisa_routes_set(vm, table, PERM_ROUTES, 0), 0);
			for (unsigned i = 0; caps & GISA_CAP_GISA && i < PERM_GISCS; i++)
				ord[i] = i;
			shuffle(&r, ord, caps & GISA_CAP_GISA ? PERM_GISCS : 0);
			for (unsigned i = 0; caps & GISA_CAP_GISA && i < PERM_GISCS; i++)
				assert_int_equal(gisa_gisc_register(vm, giscs[ord[i]]),
						 GISA_DEFAULT_NISC);
		}
		/* The same triggers afterwards, in the same order: the same route pages. */
		for (unsigned i = 0; i < 8; i++) {
			uint32_t gsi = routes[rn(&r, PERM_ROUTES)].gsi;

			assert_int_equal(gisa_route_trigger(vms[0], gsi, 1),
					 gisa_route_trigger(vms[1], gsi, 1));
		}
		snprintf(what, sizeof(what), "random permutation trial %u", trial);
		expect_same_encoding(vms, 2, what);
		free_vms(vms, 2, host);
	}
}

/*
 * The digest covers the state only: stored and compressed files at any
 * level, with any metadata, of one state carry the same digest, and decode
 * to the same image.
 */
static void canon_container_forms(void **state)
{
	static const struct gisa_snap_opts forms[] = {
		{ .compress = false }, { .compress = true }, { .compress = true, .level = 1 },
		{ .compress = true, .level = 19 }, { .compress = true, .level = -3 },
	};
	const struct gisa_snap_meta metas[] = {
		{ 0 },
		{ .vm_name = "a", .vm_uuid = test_uuid, .created_unix_ns = 1, .producer = "x" },
		{ .vm_name = "another name", .created_unix_ns = 0xffffffffffffffffull },
	};

	(void)state;
	for (uint32_t seed = 0; seed < 6; seed++) {
		enum gisa_profile p = (enum gisa_profile)(seed & 1);
		uint32_t caps = seed % 4;
		struct gisa_vm_config cfg = config_for(p, caps, seed);
		struct rng r = rng_for(p, caps, seed + 100);
		struct randvm_side s = { 0 };
		struct gisa_image *img, *back;
		uint8_t d0[GISA_SNAP_DIGEST_SIZE];

		snprintf(randvm_where, sizeof(randvm_where), "container forms seed %u", seed);
		build_source(&s, &cfg, &r, seed);
		assert_int_equal(gisa_image_from_vm(s.vm, &img), 0);
		assert_int_equal(gisa_snap_digest(img, d0), 0);
		for (unsigned f = 0; f < ARRAY_SIZE(forms); f++) {
			for (unsigned m = 0; m < ARRAY_SIZE(metas); m++) {
				struct gisa_snap_info info;
				size_t len;
				uint8_t *buf = encode_ok(img, &metas[m], &forms[f], &len);

				back = decode_ok(buf, len, &info);
				assert_memory_equal(info.digest, d0, sizeof(d0));
				assert_int_equal(info.flags,
						 forms[f].compress ? GISA_SNAP_FLAG_ZSTD : 0);
				if (!forms[f].compress)
					assert_int_equal(info.payload_len, info.state_len);
				snapt_image_equal(randvm_where, img, back);
				gisa_image_free(back);
				free(buf);
			}
		}
		gisa_image_free(img);
		randvm_side_free(&s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(roundtrip_classic),
		cmocka_unit_test(roundtrip_classic_ais),
		cmocka_unit_test(roundtrip_classic_gisa),
		cmocka_unit_test(roundtrip_classic_gisa_ais),
		cmocka_unit_test(roundtrip_newest),
		cmocka_unit_test(roundtrip_newest_ais),
		cmocka_unit_test(roundtrip_newest_gisa),
		cmocka_unit_test(roundtrip_newest_gisa_ais),
		cmocka_unit_test(roundtrip_coverage),
		cmocka_unit_test(export_leaves_vm_unchanged),
		cmocka_unit_test(canon_adapter_orders),
		cmocka_unit_test(canon_route_orders),
		cmocka_unit_test(canon_lists_filled_then_drained),
		cmocka_unit_test(canon_memslot_orders),
		cmocka_unit_test(canon_gisc_orders),
		cmocka_unit_test(canon_random_permutations),
		cmocka_unit_test(canon_container_forms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
