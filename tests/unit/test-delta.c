/* SPDX-License-Identifier: MIT */
/*
 * Image deltas (delta.h, docs/MIGRATION-PROTOCOL.md section 4).
 *
 * 1. Round trips of seeded random pairs: base is a random VM's image, cur
 *    the image after N further random operations on it (N = 0: the empty
 *    delta), in both profiles with GISA and AIS on and off.  apply(base,
 *    make(base, cur)) must equal cur (every field, and the digest); making
 *    the delta twice gives the same bytes; the generated MigDelta decoder
 *    reads the bytes as the protocol defines them; the estimate bounds the
 *    size.  The second VM, built from base, runs the same operations and
 *    must behave identically (a check of the pair itself).
 * 2. Directed list and page shapes: heads consumed and tails appended,
 *    lists drained, refilled with other entries, an entry cleared from the
 *    middle, lists created from nothing, pages set, changed and cleared.
 * 3. Size: a state with all 266,250 I/O entries in which 1 % changed
 *    (consumed at the head, injected at the tail): the delta must be below
 *    5 % of the full state's bytes (the switchover goal).
 * 4. Hostile deltas: every truncation, 5,000 random bit flips, a wrong base,
 *    counts over their caps, inconsistent edits: clean errors, never a
 *    wrong result.  Applied to a VM (no result digest there): an error, and
 *    the VM untouched for every error found before it is touched; or a VM
 *    whose state either is the result or differs from the digest named.
 * 5. Deltas from a running VM (gisa_delta_make_vm) and applied to a built
 *    one (gisa_delta_apply_vm), on the random pairs of 1: the source VM
 *    tracks its lists from the moment base is taken (and must behave as the
 *    untracked one does); the tracked delta names the right digests, keeps
 *    only runs equal in base and result, applies to base as cur, and
 *    applied to a VM built from base gives cur (or -EOPNOTSUPP, the VM
 *    untouched, when it replaces the configuration or the memslots); that
 *    VM then behaves as the source for 200 more random operations.  At
 *    the I/O limit, an entry moved between lists applies to a VM too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <gisa/delta.h>

#include "engine-internal.h"
#include "migration.pb-c.h"
#include "randvm.h"
#include "support.h"

#include "../support-snap/snaptest.h"

static const struct randvm_opts gen_opts = {
	.flags = RANDVM_IO_PARM_REPEATS,
	.view_every = 500,
};

static void digest_ok(const struct gisa_image *img, uint8_t d[GISA_SNAP_DIGEST_SIZE])
{
	assert_int_equal(gisa_snap_digest(img, d), 0);
}

/* What the deltas of the random pairs contained (a coverage check). */
static struct {
	unsigned deltas, empty, replaced, edits, kept, dropped, whole, cleared;
} seen;

/* The generated decoder must read our bytes as migration.proto says. */
static void check_wire(const struct gisa_image *base, const struct gisa_image *cur,
		       const uint8_t *bytes, size_t len)
{
	uint8_t db[GISA_SNAP_DIGEST_SIZE], dc[GISA_SNAP_DIGEST_SIZE];
	Gisa__V1__MigDelta *m = gisa__v1__mig_delta__unpack(NULL, len, bytes);

	assert_non_null(m);
	digest_ok(base, db);
	digest_ok(cur, dc);
	assert_true(m->has_base_digest && m->base_digest.len == 32);
	assert_memory_equal(m->base_digest.data, db, 32);
	assert_true(m->has_result_digest && m->result_digest.len == 32);
	assert_memory_equal(m->result_digest.data, dc, 32);
	for (size_t i = 0; i < m->n_replaced; i++) {
		assert_true(m->replaced[i] >= 1 && m->replaced[i] <= 25);
		assert_true(m->replaced[i] != 17 && m->replaced[i] != 18 &&
			    m->replaced[i] != 19 && m->replaced[i] != 23);
		if (i)
			assert_true(m->replaced[i] > m->replaced[i - 1]);
	}
	for (size_t i = 0; i < m->n_lists; i++) {
		const Gisa__V1__MigListEdit *e = m->lists[i];

		assert_true(e->list < GISA_NR_LISTS);
		if (i)
			assert_true(e->list > m->lists[i - 1]->list);
		assert_true((uint64_t)e->drop + e->keep <= base->lists[e->list].n);
		/* The kept run is equal in base and result. */
		for (uint32_t k = 0; k < e->keep; k++)
			assert_memory_equal(&base->lists[e->list].e[e->drop + k],
					    &cur->lists[e->list].e[k], sizeof(struct gisa_list_entry));
	}
	for (size_t i = 1; i < m->n_pages_cleared; i++)
		assert_true(m->pages_cleared[i] > m->pages_cleared[i - 1]);
	seen.deltas++;
	seen.empty += !m->n_replaced && !m->n_lists && !m->has_state && !m->n_pages_cleared;
	seen.replaced += m->n_replaced != 0;
	for (size_t i = 0; i < m->n_lists; i++) {
		seen.edits++;
		seen.kept += m->lists[i]->keep != 0;
		seen.dropped += m->lists[i]->drop != 0 && m->lists[i]->keep != 0;
		seen.whole += m->lists[i]->keep == 0;
	}
	seen.cleared += m->n_pages_cleared != 0;
	gisa__v1__mig_delta__free_unpacked(m, NULL);
}

/* A file's state, decoded, is the state it was written from; damaged, nothing. */
static void decoded_state_agrees(const char *where, uint8_t *file, size_t len,
				 const struct gisa_snap_state *want)
{
	struct gisa_snap_state st = { 0 }, untouched;
	struct gisa_snap_error err = { { 0 } };
	struct gisa_image *img = NULL;
	struct gisa_snap_info info;

	if (gisa_snap_decode_state(file, len, &img, &st, &info, &err))
		print_error("%s: decode_state: %s\n", where, err.msg);
	assert_non_null(img);
	assert_int_equal(st.len, want->len);
	assert_memory_equal(st.bytes, want->bytes, want->len);
	assert_memory_equal(st.digest, want->digest, GISA_SNAP_DIGEST_SIZE);
	assert_memory_equal(info.digest, want->digest, GISA_SNAP_DIGEST_SIZE);
	/* Its own copy: the file may go. */
	assert_true(st.bytes < file || st.bytes >= file + len);
	gisa_image_free(img);
	img = NULL;
	gisa_snap_state_release(&st);

	file[len - 1] ^= 0x01;
	memset(&st, 0x5a, sizeof(st));
	untouched = st;
	assert_int_equal(gisa_snap_decode_state(file, len, &img, &st, NULL, &err), -EBADMSG);
	assert_null(img);
	assert_memory_equal(&st, &untouched, sizeof(st));
	file[len - 1] ^= 0x01;
}

/*
 * The _states variants give what the plain calls give: the same delta
 * bytes with either state made beforehand, the same result and its state
 * (equal to one made from it), and the same snapshot file from
 * gisa_snap_encode_state, whose state gisa_snap_decode_state gives back
 * (stored and compressed; a damaged file leaves *ret_state alone); a base
 * state of another image is refused as stale, and leaves *ret_st alone.
 */
static void states_agree(const char *where, const struct gisa_image *base,
			 const struct gisa_image *cur, const uint8_t *bytes, size_t len)
{
	static const struct gisa_snap_meta meta = { .vm_name = "states", .created_unix_ns = 7 };
	struct gisa_snap_opts opts[2] = { { .compress = false }, { .compress = true } };
	struct gisa_snap_state bst, cst, rst = { 0 }, again, sentinel;
	struct gisa_snap_error err = { { 0 } };
	struct gisa_image *out = NULL;
	uint8_t *b2, *f1, *f2;
	size_t l2, n1, n2;

	assert_int_equal(gisa_snap_state_make(base, &bst), 0);
	assert_int_equal(gisa_snap_state_make(cur, &cst), 0);
	for (unsigned k = 0; k < 3; k++) {
		assert_int_equal(gisa_delta_make_states(base, k & 1 ? &bst : NULL, cur,
							k & 2 ? &cst : NULL, &b2, &l2), 0);
		assert_int_equal(l2, len);
		assert_memory_equal(b2, bytes, len);
		free(b2);
	}
	assert_int_equal(gisa_delta_make_states(base, &bst, cur, &cst, &b2, &l2), 0);
	assert_int_equal(l2, len);
	assert_memory_equal(b2, bytes, len);
	free(b2);

	if (gisa_delta_apply_states(base, &bst, bytes, len, &out, &rst, &err))
		print_error("%s: apply_states: %s\n", where, err.msg);
	assert_non_null(out);
	snapt_image_equal(where, cur, out);
	assert_int_equal(gisa_snap_state_make(out, &again), 0);
	assert_int_equal(rst.len, again.len);
	assert_memory_equal(rst.bytes, again.bytes, again.len);
	assert_memory_equal(rst.digest, cst.digest, GISA_SNAP_DIGEST_SIZE);
	gisa_snap_state_release(&again);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(gisa_snap_encode(out, &meta, &opts[i], &f1, &n1), 0);
		assert_int_equal(gisa_snap_encode_state(out, &rst, &meta, &opts[i], &f2, &n2), 0);
		assert_int_equal(n1, n2);
		assert_memory_equal(f1, f2, n1);
		decoded_state_agrees(where, f1, n1, &rst);
		free(f1);
		free(f2);
	}
	gisa_image_free(out);
	out = NULL;
	gisa_snap_state_release(&rst);

	/*
	 * In two steps: the same result, the digest the delta names is cur's,
	 * and the check passes for the result's state and refuses the base's
	 * (unless the two are the same state).
	 */
	{
		uint8_t named[GISA_SNAP_DIGEST_SIZE];

		if (gisa_delta_apply_image(base, &bst, bytes, len, &out, named, &err))
			print_error("%s: apply_image: %s\n", where, err.msg);
		assert_non_null(out);
		snapt_image_equal(where, cur, out);
		assert_memory_equal(named, cst.digest, GISA_SNAP_DIGEST_SIZE);
		assert_int_equal(gisa_snap_state_make(out, &again), 0);
		assert_int_equal(gisa_delta_check_result(&again, named, &err), 0);
		gisa_snap_state_release(&again);
		if (memcmp(bst.digest, cst.digest, GISA_SNAP_DIGEST_SIZE)) {
			err.msg[0] = 0;
			assert_int_equal(gisa_delta_check_result(&bst, named, &err), -EBADMSG);
			assert_non_null(strstr(err.msg, "the delta names"));
		}
		gisa_image_free(out);
		out = NULL;
	}

	/* cur's state for base: stale (unless the two are the same state). */
	if (memcmp(bst.digest, cst.digest, GISA_SNAP_DIGEST_SIZE)) {
		memset(&sentinel, 0x5a, sizeof(sentinel));
		rst = sentinel;
		assert_int_equal(gisa_delta_apply_states(base, &cst, bytes, len, &out, &rst, &err),
				 -ESTALE);
		assert_null(out);
		assert_memory_equal(&rst, &sentinel, sizeof(rst));
	}
	gisa_snap_state_release(&bst);
	gisa_snap_state_release(&cst);
	gisa_snap_state_release(NULL);
}

/* Applied to base, the delta gives want. */
static void applies_as(const char *where, const struct gisa_image *base, const uint8_t *bytes,
		       size_t len, const struct gisa_image *want)
{
	struct gisa_snap_error err = { { 0 } };
	struct gisa_image *out = NULL;
	int r = gisa_delta_apply(base, bytes, len, &out, &err);

	if (r)
		print_error("%s: apply: %d %s\n", where, r, err.msg);
	assert_int_equal(r, 0);
	snapt_image_equal(where, want, out);
	gisa_image_free(out);
}

/* make, apply, compare; returns the delta's length. */
static size_t round_trip(const char *where, const struct gisa_image *base,
			 const struct gisa_image *cur)
{
	uint8_t *bytes, *again;
	size_t len, len2;
	uint64_t est;

	assert_int_equal(gisa_delta_make(base, cur, &bytes, &len), 0);
	assert_int_equal(gisa_delta_make(base, cur, &again, &len2), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(bytes, again, len);
	free(again);
	check_wire(base, cur, bytes, len);
	/* The result's digest was checked by the apply itself. */
	applies_as(where, base, bytes, len, cur);

	states_agree(where, base, cur, bytes, len);

	assert_int_equal(gisa_delta_estimate(base, cur, &est), 0);
	if (est < len)
		print_error("%s: estimate %llu below the delta's %zu bytes\n", where,
			    (unsigned long long)est, len);
	assert_true(est >= len);
	free(bytes);
	return len;
}

/* ---- 5. deltas from a running VM, applied to a built one ---------------------------- */

static struct {
	unsigned deltas, live, fallback, shorter, tails, same_routes, same_pages;
} tseen;

/* The image of vm equals want (field by field). */
static void vm_is(const char *where, const struct gisa_vm *vm, const struct gisa_image *want)
{
	struct gisa_image *img;

	assert_int_equal(vm_check_invariants(vm), 0);
	assert_int_equal(gisa_image_from_vm(vm, &img), 0);
	snapt_image_equal(where, want, img);
	gisa_image_free(img);
}

/* Lists where the tracked delta keeps a shorter run than the longest. */
static unsigned shorter_runs(const uint8_t *tracked, size_t tl, const uint8_t *best, size_t bl)
{
	Gisa__V1__MigDelta *t = gisa__v1__mig_delta__unpack(NULL, tl, tracked);
	Gisa__V1__MigDelta *b = gisa__v1__mig_delta__unpack(NULL, bl, best);
	unsigned n = 0;

	assert_non_null(t);
	assert_non_null(b);
	for (size_t i = 0; i < t->n_lists; i++)
		for (size_t j = 0; j < b->n_lists; j++)
			if (t->lists[i]->list == b->lists[j]->list &&
			    t->lists[i]->keep < b->lists[j]->keep)
				n++;
	gisa__v1__mig_delta__free_unpacked(t, NULL);
	gisa__v1__mig_delta__free_unpacked(b, NULL);
	return n;
}

static void tracked_trip(const char *where, const struct gisa_image *base,
			 const struct gisa_image *cur, struct randvm_side *a,
			 const struct gisa_vm_config *cfg, struct rng *r)
{
	uint8_t *bytes, *b2, db[GISA_SNAP_DIGEST_SIZE], dc[GISA_SNAP_DIGEST_SIZE];
	uint8_t named[GISA_SNAP_DIGEST_SIZE];
	struct gisa_snap_error err = { { 0 } };
	struct gisa_restore_error rerr = { 0 };
	struct randvm_side c = { 0 };
	size_t len, l2;
	int rc;

	digest_ok(base, db);
	digest_ok(cur, dc);
	assert_int_equal(gisa_delta_make_vm(base, NULL, a->vm, NULL, &bytes, &len), 0);
	assert_int_equal(gisa_delta_make_vm(base, NULL, a->vm, dc, &b2, &l2), 0);
	assert_int_equal(l2, len);
	assert_memory_equal(b2, bytes, len);
	free(b2);
	check_wire(base, cur, bytes, len);
	applies_as(where, base, bytes, len, cur);
	assert_int_equal(gisa_delta_make(base, cur, &b2, &l2), 0);
	tseen.shorter += shorter_runs(bytes, len, b2, l2);
	free(b2);
	for (unsigned l = 0; l < GISA_NR_LISTS; l++)
		tseen.tails += gisa_track_tail(a->vm, l, NULL, 0) != 0;
	/* Sections left unread because they did not change (and a state has them). */
	tseen.same_routes += !(gisa_track_changed(a->vm) & GISA_TRACK_ROUTES) && base->nr_routes;
	tseen.same_pages += !(gisa_track_changed(a->vm) & GISA_TRACK_PAGES) && base->nr_pages;
	tseen.deltas++;

	assert_int_equal(gisa_host_new(NULL, &c.host), 0);
	c.order = cfg->abi_order;
	assert_int_equal(gisa_image_build_vm(base, c.host, &c.vm, &rerr), 0);
	if (memcmp(db, dc, sizeof(db)))
		assert_int_equal(gisa_delta_apply_vm(c.vm, dc, bytes, len, named, &err), -ESTALE);
	rc = gisa_delta_apply_vm(c.vm, db, bytes, len, named, &err);
	if (rc == -EOPNOTSUPP) {
		tseen.fallback++;
		vm_is(where, c.vm, base);
	} else {
		if (rc)
			print_error("%s: tracked delta: apply_vm: %d %s\n", where, rc, err.msg);
		assert_int_equal(rc, 0);
		assert_memory_equal(named, dc, sizeof(dc));
		vm_is(where, c.vm, cur);
		tseen.live++;
		randvm_settle(a, &c);
		randvm_run_compared(a, &c, r, &gen_opts, cfg->nr_vcpus, 200, where);
	}
	randvm_side_free(&c);
	free(bytes);
}

/* ---- 1. seeded random pairs ------------------------------------------------------ */

static void random_pair(enum gisa_profile profile, uint32_t caps, uint32_t seed, unsigned ops)
{
	static const uint32_t nr_vcpus[] = { 4, 3, 1, 2 };
	struct gisa_vm_config cfg = {
		.profile = profile,
		.caps = caps,
		.nr_vcpus = nr_vcpus[seed % 4],
		.mem_cap = seed % 3 ? 16u << 20 : 0,
		.abi_order = seed & 1 ? GISA_LE : GISA_BE,
	};
	struct rng r = { .s = seed * 0x9e3779b1ull + profile * 0x100 + caps + 0xde17a };
	struct randvm_side a = { 0 }, b = { 0 };
	struct gisa_restore_error rerr = { 0 };
	struct gisa_image *base, *cur;
	char label[128];

	snprintf(label, sizeof(label), "delta profile %d caps %u seed %u ops %u", profile, caps,
		 seed, ops);
	snprintf(randvm_where, sizeof(randvm_where), "%s (build)", label);
	randvm_build(&a, &cfg, &r, &gen_opts, seed == 0 && cfg.nr_vcpus == 4 &&
		     cfg.abi_order == GISA_BE, 100 + rn(&r, 600));
	assert_int_equal(gisa_image_from_vm(a.vm, &base), 0);
	gisa_track_start(a.vm);

	assert_int_equal(gisa_host_new(NULL, &b.host), 0);
	b.order = cfg.abi_order;
	assert_int_equal(gisa_image_build_vm(base, b.host, &b.vm, &rerr), 0);
	randvm_settle(&a, &b);
	if (ops)
		randvm_run_compared(&a, &b, &r, &gen_opts, cfg.nr_vcpus, ops, label);
	assert_int_equal(gisa_image_from_vm(a.vm, &cur), 0);

	round_trip(label, base, cur);
	/* And backwards: a delta is any pair, not only forward in time. */
	round_trip(label, cur, base);
	tracked_trip(label, base, cur, &a, &cfg, &r);

	gisa_image_free(base);
	gisa_image_free(cur);
	randvm_side_free(&a);
	randvm_side_free(&b);
}

static void test_random_pairs(void **state)
{
	static const unsigned ops[] = { 0, 1, 20, 300, 3000 };
	(void)state;

	for (unsigned p = 0; p < 2; p++)
		for (uint32_t caps = 0; caps <= GISA_CAP_ALL; caps++)
			for (uint32_t seed = 0; seed < 10; seed++)
				random_pair((enum gisa_profile)p, caps, seed,
					    ops[seed % (sizeof(ops) / sizeof(ops[0]))]);
	print_message("delta: %u random deltas: %u empty, %u replacing sections, %u list edits "
		      "(%u keeping a run, %u of them after a consumed head, %u whole), "
		      "%u clearing pages\n", seen.deltas, seen.empty, seen.replaced, seen.edits,
		      seen.kept, seen.dropped, seen.whole, seen.cleared);
	assert_true(seen.empty >= 8);
	assert_true(seen.replaced > 0 && seen.kept > 0 && seen.dropped > 0 && seen.whole > 0);
	assert_true(seen.cleared > 0);
	print_message("delta: %u deltas from a tracking VM: %u applied to a built VM, %u "
		      "replacing its configuration or memslots; %u lists with tails, %u runs "
		      "shorter than the longest; routes unread in %u, pages in %u\n",
		      tseen.deltas, tseen.live, tseen.fallback, tseen.tails, tseen.shorter,
		      tseen.same_routes, tseen.same_pages);
	assert_true(tseen.live > tseen.deltas / 2 && tseen.fallback > 0);
	assert_true(tseen.tails > 0 && tseen.shorter > 0);
	assert_true(tseen.same_routes > 0 && tseen.same_pages > 0);
}

/* ---- 2. directed shapes ------------------------------------------------------------ */

static struct gisa_image *base_image(uint32_t caps, uint32_t seed)
{
	struct gisa_vm_config cfg = {
		.profile = GISA_PROFILE_NEWEST, .caps = caps, .nr_vcpus = 4,
		.abi_order = GISA_BE,
	};
	struct rng r = { .s = seed };
	struct randvm_side a = { 0 };
	struct gisa_image *img;

	randvm_build(&a, &cfg, &r, &gen_opts, true, 0);
	assert_int_equal(gisa_image_from_vm(a.vm, &img), 0);
	randvm_side_free(&a);
	return img;
}

static struct gisa_list_entry io_entry(unsigned isc, uint32_t k)
{
	struct gisa_list_entry e = { 0 };

	e.type = k & 0xffff;
	e.u.io.subchannel_id = (uint16_t)(0x1 + (k >> 16));
	e.u.io.subchannel_nr = (uint16_t)k;
	e.u.io.io_int_parm = k * 2654435761u;
	e.u.io.io_int_word = (uint32_t)isc << 27 | (k & 0xff);
	return e;
}

static struct gisa_list_entry ext_entry(unsigned list, uint32_t k)
{
	struct gisa_list_entry e = { 0 };

	e.type = list == GISA_LIST_PFAULT ? GISA_INT_PFAULT_DONE : GISA_INT_VIRTIO;
	e.u.ext.ext_params = k;
	e.u.ext.ext_params2 = (uint64_t)k << 20 | 7;
	return e;
}

static struct gisa_list_entry entry(unsigned list, uint32_t k)
{
	return list <= GISA_MAX_ISC ? io_entry(list, k) : ext_entry(list, k);
}

/* List l becomes n entries keyed first, first + 1, ... */
static void fill(struct gisa_image *img, unsigned l, uint32_t first, uint32_t n)
{
	assert_int_equal(gisa_image_set_list(img, l, n), 0);
	for (uint32_t i = 0; i < n; i++)
		img->lists[l].e[i] = entry(l, first + i);
}

static struct gisa_image *img_dup(const struct gisa_image *img)
{
	struct gisa_image *d;

	assert_int_equal(gisa_image_dup(img, &d), 0);
	return d;
}

static void test_directed_shapes(void **state)
{
	(void)state;

	for (uint32_t caps = 0; caps <= GISA_CAP_ALL; caps++) {
		struct gisa_image *base = base_image(caps, 7 + caps), *cur;

		for (unsigned l = 0; l < GISA_NR_LISTS; l++)
			fill(base, l, 1000 * l, 50 + l);

		/* Nothing changed: no edits, nothing replaced. */
		cur = img_dup(base);
		round_trip("unchanged", base, cur);
		gisa_image_free(cur);

		/* FIFO: heads consumed, tails appended. */
		cur = img_dup(base);
		for (unsigned l = 0; l < GISA_NR_LISTS; l++)
			fill(cur, l, 1000 * l + 3 + l, 50 + l + 2);
		round_trip("head consumed, tail appended", base, cur);
		gisa_image_free(cur);

		/* Drained, and drained then refilled with other entries. */
		cur = img_dup(base);
		for (unsigned l = 0; l < GISA_NR_LISTS; l++)
			fill(cur, l, 0, 0);
		round_trip("drained", base, cur);
		round_trip("filled from nothing", cur, base);
		for (unsigned l = 0; l < GISA_NR_LISTS; l++)
			fill(cur, l, 500000 + 1000 * l, 40);
		round_trip("refilled", base, cur);
		gisa_image_free(cur);

		/* An entry cleared from the middle (TSCH): the run ends early. */
		cur = img_dup(base);
		for (unsigned l = 0; l < GISA_NR_LISTS; l++) {
			struct gisa_image_list *li = &cur->lists[l];

			memmove(&li->e[10], &li->e[11], (li->n - 11) * sizeof(li->e[0]));
			li->n--;
		}
		round_trip("middle cleared", base, cur);
		gisa_image_free(cur);

		/* Pages: one cleared, one changed, one added; scalars and vcpus. */
		cur = img_dup(base);
		if (cur->nr_pages >= 2) {
			cur->pages[1].data[17] ^= 0x5a;
			memmove(&cur->pages[0], &cur->pages[1],
				(cur->nr_pages - 1) * sizeof(cur->pages[0]));
			cur->nr_pages--;
		}
		cur->fl.kick_cursor += 3;
		cur->fl.service_pending = !cur->fl.service_pending;
		cur->vcpus[1].cr6 ^= 0xff000000u;
		round_trip("pages and sections", base, cur);
		round_trip("pages and sections back", cur, base);
		gisa_image_free(cur);

		gisa_image_free(base);
	}
}

/* ---- 3. size at the largest state ----------------------------------------------------- */

/*
 * A source VM a and a destination VM c, both built from one image on hosts
 * of their own; a tracks its changes from the start.
 */
struct vm_pair {
	struct gisa_host *ha, *hc;
	struct gisa_vm *a, *c;
};

static void pair_build(const struct gisa_image *base, struct vm_pair *p)
{
	struct gisa_restore_error rerr = { 0 };

	assert_int_equal(gisa_host_new(NULL, &p->ha), 0);
	assert_int_equal(gisa_host_new(NULL, &p->hc), 0);
	assert_int_equal(gisa_image_build_vm(base, p->ha, &p->a, &rerr), 0);
	assert_int_equal(gisa_image_build_vm(base, p->hc, &p->c, &rerr), 0);
	gisa_track_start(p->a);
}

/*
 * The delta of a's changes turns base into a's state, and applied to c
 * makes c that state too; returns its length.
 */
static size_t pair_check(const char *where, const struct gisa_image *base, struct vm_pair *p)
{
	uint8_t *bytes, db[GISA_SNAP_DIGEST_SIZE], dn[GISA_SNAP_DIGEST_SIZE];
	uint8_t named[GISA_SNAP_DIGEST_SIZE];
	struct gisa_snap_error err = { { 0 } };
	struct gisa_image *now;
	size_t len;
	int r;

	assert_int_equal(gisa_image_from_vm(p->a, &now), 0);
	digest_ok(base, db);
	digest_ok(now, dn);
	assert_int_equal(gisa_delta_make_vm(base, NULL, p->a, dn, &bytes, &len), 0);
	applies_as(where, base, bytes, len, now);
	r = gisa_delta_apply_vm(p->c, db, bytes, len, named, &err);
	if (r)
		print_error("%s: apply_vm: %s\n", where, err.msg);
	assert_int_equal(r, 0);
	assert_memory_equal(named, dn, sizeof(dn));
	vm_is(where, p->c, now);
	free(bytes);
	gisa_image_free(now);
	return len;
}

static void pair_free(struct vm_pair *p)
{
	gisa_vm_free(p->a);
	gisa_vm_free(p->c);
	gisa_host_free(p->ha);
	gisa_host_free(p->hc);
}

static void test_switchover_size(void **state)
{
	struct gisa_image *base = base_image(GISA_CAP_AIS, 3), *cur;
	uint32_t per = GISA_MAX_FLOAT_IRQS / 8, rest = GISA_MAX_FLOAT_IRQS % 8, changed = 0;
	uint8_t *full;
	size_t full_len, len;
	(void)state;

	for (unsigned l = 0; l <= GISA_MAX_ISC; l++)
		fill(base, l, 0x100000 * l, per + (l < rest));
	fill(base, GISA_LIST_PFAULT, 0, 0);
	fill(base, GISA_LIST_VIRTIO, 0, 0);
	cur = img_dup(base);
	/* 1 %: half delivered from the heads, as many injected at the tails. */
	for (unsigned l = 0; l <= GISA_MAX_ISC; l++) {
		uint32_t n = base->lists[l].n, moved = n / 200;

		fill(cur, l, 0x100000 * l + moved, n);
		changed += 2 * moved;
	}
	assert_true(changed <= GISA_MAX_FLOAT_IRQS / 100);
	assert_int_equal(gisa_snap_state_bytes(cur, &full, &full_len), 0);
	len = round_trip("266,250 entries, 1 % changed", base, cur);
	print_message("delta: %u of %u entries changed: delta %zu bytes, full state %zu bytes "
		      "(%.2f %%)\n", changed, GISA_MAX_FLOAT_IRQS, len, full_len,
		      100.0 * (double)len / (double)full_len);
	assert_true(len * 20 < full_len);

	/*
	 * The same churn on a VM built from base, tracked: vcpu 0 takes the
	 * heads of one ISC at a time by TPI, and as many are injected.  The
	 * tracked delta keeps the longest runs (only heads and tails moved), is
	 * as small, and applied to a VM built from base gives the source's state.
	 */
	{
		struct vm_pair p;
		struct gisa_image *now;
		struct gisa_vcpu_state v;
		size_t tlen;

		pair_build(base, &p);
		assert_int_equal(gisa_vcpu_get(p.a, 0, &v), 0);
		for (unsigned l = 0; l <= GISA_MAX_ISC; l++) {
			uint32_t n = base->lists[l].n, moved = n / 200;

			v.cr6 = GISA_CR6_ISC(l);
			assert_int_equal(gisa_vcpu_set(p.a, 0, &v), 0);
			for (uint32_t i = 0; i < moved; i++) {
				struct gisa_irq irq;

				assert_int_equal(gisa_vcpu_tpi(p.a, 0, &irq), 1);
				assert_int_equal(irq.u.io.io_int_word,
						 io_entry(l, 0x100000 * l + i).u.io.io_int_word);
			}
			for (uint32_t i = 0; i < moved; i++) {
				struct gisa_list_entry e = io_entry(l, 0x100000 * l + n + i);
				struct gisa_irq irq = { .type = e.type, .u.io = e.u.io };

				assert_int_equal(gisa_vm_inject(p.a, &irq), 0);
			}
		}
		assert_int_equal(gisa_image_from_vm(p.a, &now), 0);
		for (unsigned l = 0; l <= GISA_MAX_ISC; l++)
			assert_memory_equal(now->lists[l].e, cur->lists[l].e,
					    cur->lists[l].n * sizeof(cur->lists[l].e[0]));
		gisa_image_free(now);
		for (unsigned l = 0; l <= GISA_MAX_ISC; l++) {
			struct gisa_track_list t;

			assert_int_equal(gisa_track_read(p.a, l, &t), 0);
			assert_int_equal(t.drop, base->lists[l].n / 200);
			assert_int_equal(t.keep, base->lists[l].n - t.drop);
		}
		tlen = pair_check("tracked, 1 % changed", base, &p);
		print_message("delta: the same from the VM's tracking: %zu bytes (%.2f %%)\n", tlen,
			      100.0 * (double)tlen / (double)full_len);
		assert_true(tlen * 20 < full_len);
		pair_free(&p);
	}
	free(full);
	gisa_image_free(base);
	gisa_image_free(cur);
}

/*
 * At the I/O limit, an entry moved from ISC 7 to ISC 0: applied to a VM,
 * list 0's append must not be checked before list 7's drop (the limit
 * counts all eight lists).
 */
static void test_vm_at_limit(void **state)
{
	struct gisa_image *base = base_image(GISA_CAP_AIS, 5);
	struct gisa_list_entry e = io_entry(0, 0x777);
	struct gisa_irq irq = { .type = e.type, .u.io = e.u.io };
	struct gisa_vcpu_state v;
	struct vm_pair p;
	(void)state;

	for (unsigned l = 0; l < GISA_NR_LISTS; l++)
		fill(base, l, 0x10000 * l, l == 7 ? GISA_MAX_FLOAT_IRQS : 0);
	pair_build(base, &p);
	assert_int_equal(gisa_vcpu_get(p.a, 0, &v), 0);
	v.cr6 = GISA_CR6_ISC(7);
	assert_int_equal(gisa_vcpu_set(p.a, 0, &v), 0);
	assert_int_equal(gisa_vcpu_tpi(p.a, 0, (struct gisa_irq[1]){ { 0 } }), 1);
	assert_int_equal(gisa_vm_inject(p.a, &irq), 0);
	pair_check("an entry moved at the I/O limit", base, &p);
	gisa_image_free(base);
	pair_free(&p);
}

/* ---- 4. hostile deltas ------------------------------------------------------------------ */

/* How the hostile deltas that a VM took (it checks no result digest) ended. */
static struct {
	unsigned right, caught, refused;
} vseen;

/*
 * The same bytes applied to a VM built from base: an error found before
 * the VM is touched leaves it as base; another error leaves it consistent;
 * success leaves a VM whose digest is the one named (then it is want, the
 * image path's result, when that path accepted) or differs from it, which
 * the caller's later check catches.  What the image path accepts the VM
 * takes, unless it replaces the configuration or memslots.
 */
static int apply_vm_err(const struct gisa_image *base, const uint8_t *p, size_t len,
			const struct gisa_image *want)
{
	uint8_t db[GISA_SNAP_DIGEST_SIZE], named[GISA_SNAP_DIGEST_SIZE], dv[GISA_SNAP_DIGEST_SIZE];
	struct gisa_snap_error err = { { 0 } };
	struct gisa_restore_error rerr = { 0 };
	struct gisa_host *host;
	struct gisa_vm *vm;
	struct gisa_image *img;
	int r;

	digest_ok(base, db);
	assert_int_equal(gisa_host_new(NULL, &host), 0);
	if (gisa_image_build_vm(base, host, &vm, &rerr)) {
		/* A base made to be wrong (test_hostile's cur): no VM holds it. */
		gisa_host_free(host);
		return 0;
	}
	r = gisa_delta_apply_vm(vm, db, p, len, named, &err);
	if (want)
		assert_true(r == 0 || r == -EOPNOTSUPP);
	if (!r) {
		assert_int_equal(vm_check_invariants(vm), 0);
		assert_int_equal(gisa_image_from_vm(vm, &img), 0);
		digest_ok(img, dv);
		if (!memcmp(dv, named, sizeof(dv))) {
			vseen.right++;
			if (want)
				snapt_image_equal("delta applied to a VM", want, img);
		} else {
			assert_null(want);
			vseen.caught++;
		}
		gisa_image_free(img);
	} else if (r == -ESTALE || r == -EBADMSG || r == -E2BIG || r == -EPROTONOSUPPORT ||
		   r == -EOPNOTSUPP) {
		assert_true(err.msg[0] != 0);
		vm_is("refused delta", vm, base);
		vseen.refused++;
	} else {
		assert_true(err.msg[0] != 0 || r == -ENOMEM);
		assert_int_equal(vm_check_invariants(vm), 0);
	}
	gisa_vm_free(vm);
	gisa_host_free(host);
	return r;
}

static int apply_err(const struct gisa_image *base, const uint8_t *p, size_t len)
{
	struct gisa_snap_error err = { { 0 } };
	struct gisa_image *out = NULL;
	int r = gisa_delta_apply(base, p, len, &out, &err);

	assert_true(r <= 0);
	if (r) {
		assert_null(out);
		assert_true(err.msg[0] != 0 || r == -ENOMEM);
	}
	if (len <= GISA_DELTA_MAX_BYTES)
		apply_vm_err(base, p, len, out);
	gisa_image_free(out);
	return r;
}

/* Only the digests, then `extra` raw bytes. */
static size_t hand_delta(uint8_t *out, const uint8_t base[32], const uint8_t *extra,
			 size_t nextra)
{
	size_t n = 0;

	out[n++] = 0x0a;
	out[n++] = 32;
	memcpy(out + n, base, 32);
	n += 32;
	out[n++] = 0x12;
	out[n++] = 32;
	memcpy(out + n, base, 32);
	n += 32;
	if (nextra)
		memcpy(out + n, extra, nextra);
	return n + nextra;
}

/*
 * A base whose state is the bytes another writer's file holds (decoded
 * with gisa_snap_decode_state, as a destination keeps round 0's), with a
 * field this reader does not know (26: a newer minor version may add it):
 * the delta cannot carry it into the result, and is refused with
 * -EBADMSG naming the field, not a bare -EIO.
 */
static void test_base_state_of_another_writer(void **state)
{
	static const uint8_t f26[] = { 0xd0, 0x01, 0x01 }; /* field 26, varint 1 */
	struct gisa_image *base = base_image(GISA_CAP_GISA, 3), *cur, *out = NULL;
	struct gisa_snap_state st = { 0 };
	struct gisa_snap_error err = { .msg = "" };
	uint8_t *sb, *delta;
	size_t sl, dl;
	char want[160];

	(void)state;
	cur = img_dup(base);
	cur->fl.kick_cursor++;
	assert_int_equal(gisa_snap_state_bytes(base, &sb, &sl), 0);
	st.len = sl + sizeof(f26);
	st.bytes = malloc(st.len);
	assert_non_null(st.bytes);
	memcpy(st.bytes, sb, sl);
	memcpy(st.bytes + sl, f26, sizeof(f26));
	snapt_sha256(st.bytes, st.len, NULL, 0, st.digest);
	assert_int_equal(gisa_delta_make(base, cur, &delta, &dl), 0);
	/* Its base digest (field 1, 32 bytes, first): the state the destination holds. */
	assert_int_equal(delta[0], 0x0a);
	assert_int_equal(delta[1], 0x20);
	memcpy(delta + 2, st.digest, 32);
	assert_int_equal(gisa_delta_apply_states(base, &st, delta, dl, &out, NULL, &err), -EBADMSG);
	assert_null(out);
	snprintf(want, sizeof(want), "the base state (as its file holds it): field 26 at byte %zu: "
		 "fields 1..25 in ascending order", sl);
	assert_string_equal(err.msg, want);
	free(delta);
	free(sb);
	gisa_snap_state_release(&st);
	gisa_image_free(cur);
	gisa_image_free(base);
}

static void test_hostile(void **state)
{
	struct gisa_image *base = base_image(GISA_CAP_GISA | GISA_CAP_AIS, 11), *cur, *other, *out;
	uint8_t *bytes, *buf, db[32];
	size_t len;
	struct rng r = { .s = 0xbadde17a };
	unsigned ok = 0;
	(void)state;

	for (unsigned l = 0; l < GISA_NR_LISTS; l++)
		fill(base, l, 77 * l, 30);
	cur = img_dup(base);
	for (unsigned l = 0; l < GISA_NR_LISTS; l++)
		fill(cur, l, 77 * l + 5, 31);
	cur->fl.kick_cursor++;
	if (cur->nr_pages)
		cur->pages[0].data[5] ^= 1;
	assert_int_equal(gisa_delta_make(base, cur, &bytes, &len), 0);
	buf = malloc(len);
	assert_non_null(buf);

	/* Every truncation. */
	for (size_t n = 0; n < len; n++) {
		memcpy(buf, bytes, n);
		assert_true(apply_err(base, buf, n) < 0);
	}

	/* 5,000 random bit flips (1 to 3 each): an error, or exactly cur. */
	for (unsigned i = 0; i < 5000; i++) {
		unsigned flips = 1 + rn(&r, 3);

		memcpy(buf, bytes, len);
		for (unsigned f = 0; f < flips; f++)
			buf[rn(&r, (uint32_t)len)] ^= (uint8_t)(1u << rn(&r, 8));
		out = NULL;
		if (!gisa_delta_apply(base, buf, len, &out, NULL)) {
			snapt_image_equal("bit flips", cur, out);
			ok++;
		}
		apply_vm_err(base, buf, len, out);
		gisa_image_free(out);
	}
	print_message("delta: %u of 5000 bit-flipped deltas still applied (to the right image)\n",
		      ok);
	print_message("delta: applied to a VM, the truncated and bit-flipped deltas: %u refused "
		      "untouched, %u taken as the state they name, %u taken and caught by the "
		      "digest\n", vseen.refused, vseen.right, vseen.caught);
	assert_true(vseen.refused > 0 && vseen.caught > 0);

	/* The wrong base: -ESTALE. */
	other = img_dup(base);
	other->fl.simm ^= 1;
	assert_int_equal(apply_err(other, bytes, len), -ESTALE);
	assert_int_equal(apply_err(cur, bytes, len), -ESTALE);
	gisa_image_free(other);

	/* Over the caps, and inconsistent. */
	digest_ok(base, db);
	{
		uint8_t msg[20000], extra[18000];
		size_t n;

		/* Length over the delta cap: refused before reading. */
		assert_int_equal(apply_err(base, bytes, (size_t)GISA_DELTA_MAX_BYTES + 1), -E2BIG);
		/* No digests. */
		assert_int_equal(apply_err(base, extra, 0), -EBADMSG);
		/* The empty delta on its own base is valid. */
		n = hand_delta(msg, db, NULL, 0);
		out = NULL;
		assert_int_equal(gisa_delta_apply(base, msg, n, &out, NULL), 0);
		snapt_image_equal("hand-made empty delta", base, out);
		gisa_image_free(out);
		/* 33 replaced fields. */
		extra[0] = 0x1a;
		extra[1] = 33;
		for (unsigned i = 0; i < 33; i++)
			extra[2 + i] = 1;
		n = hand_delta(msg, db, extra, 35);
		assert_int_equal(apply_err(base, msg, n), -E2BIG);
		/* Unknown field number, a list field, not ascending. */
		extra[1] = 1;
		extra[2] = 26;
		assert_int_equal(apply_err(base, msg, hand_delta(msg, db, extra, 3)), -EPROTONOSUPPORT);
		extra[2] = 17;
		assert_int_equal(apply_err(base, msg, hand_delta(msg, db, extra, 3)), -EBADMSG);
		extra[1] = 2;
		extra[2] = 5;
		extra[3] = 5;
		assert_int_equal(apply_err(base, msg, hand_delta(msg, db, extra, 4)), -EBADMSG);
		/* 8193 cleared pages: over the cap. */
		extra[0] = 0x32;
		extra[1] = 0x88;         /* varint 8 * 8193 = 65544 = 0x10008 */
		extra[2] = 0x80;
		extra[3] = 0x04;
		assert_true(GISA_IMAGE_MAX_PAGES == 8192);
		{
			uint8_t *big = calloc(1, 80 + 4 + 65544);

			assert_non_null(big);
			n = hand_delta(big, db, extra, 4);
			assert_int_equal(apply_err(base, big, n + 65544), -E2BIG);
			free(big);
		}
		/* A cleared page that is not in the base. */
		extra[1] = 8;
		memset(extra + 2, 0, 8);
		extra[2 + 1] = 0x10;  /* 0x1000 */
		extra[2 + 7] = 0x7f;
		assert_int_equal(apply_err(base, msg, hand_delta(msg, db, extra, 10)), -EBADMSG);
		/* drop + keep beyond the base list. */
		extra[0] = 0x2a;
		extra[1] = 6;
		extra[2] = 0x08; extra[3] = 2;
		extra[4] = 0x10; extra[5] = 20;
		extra[6] = 0x18; extra[7] = 11;
		assert_int_equal(apply_err(base, msg, hand_delta(msg, db, extra, 8)), -EBADMSG);
		/* Edits not ascending, a list number out of range. */
		extra[1] = 2;
		extra[2] = 0x08; extra[3] = 10;
		assert_int_equal(apply_err(base, msg, hand_delta(msg, db, extra, 4)), -EBADMSG);
		/* The state carries a field that is not replaced: kick_cursor (16) = 5. */
		extra[0] = 0x22;
		extra[1] = 3;
		extra[2] = 0x80;  /* tag of field 16, varint: 0x80 0x01 */
		extra[3] = 0x01;
		extra[4] = 0x05;
		assert_int_equal(apply_err(base, msg, hand_delta(msg, db, extra, 5)), -EBADMSG);
		/* A wrong result digest: the one changed byte is caught. */
		n = hand_delta(msg, db, NULL, 0);
		msg[40] ^= 1;
		assert_int_equal(apply_err(base, msg, n), -EBADMSG);
	}

	free(buf);
	free(bytes);
	gisa_image_free(base);
	gisa_image_free(cur);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_pairs),
		cmocka_unit_test(test_vm_at_limit),
		cmocka_unit_test(test_directed_shapes),
		cmocka_unit_test(test_switchover_size),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_base_state_of_another_writer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
