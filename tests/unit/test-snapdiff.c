/* SPDX-License-Identifier: MIT */
/*
 * The semantic diff of two images (diff.h).
 *
 * 1. Per section and per kind, images read from VMs before and after one
 *    operation (or edited directly where no operation reaches a value) give
 *    exactly the expected entries: section, kind, key, positions, path and
 *    both value texts, in the documented order.  Every expectation is also
 *    checked in the other direction: diff(b, a) mirrors diff(a, b).
 * 2. Seeded random VMs: diff(a, a), diff(a, copy of a) and diff(a, image of
 *    a VM rebuilt from a) are empty; diff(a, b) and diff(b, a) hold the
 *    same entries mirrored and are in the documented order; a known single
 *    change applied to a VM (enqueue one more, deliver one, mask an adapter,
 *    set an AIS bit, clear a summary byte, change a vcpu register) yields
 *    exactly the expected entries.
 * 3. List alignment at the maximum size: lists of 266,250 entries that
 *    differ in one entry, or slid by 10,000 entries, diff in well under a
 *    second; the exact search and its fallback give the documented result.
 * 4. Truncation at GISA_DIFF_MAX_ENTRIES, invalid images, the accessors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gisa/diff.h>
#include <gisa/snapshot.h>
#include <gisa/image.h>

#include "support.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- expectations ------------------------------------------------------- */

struct want {
	enum gisa_diff_section sec;
	enum gisa_diff_kind kind;
	uint64_t key;
	int64_t pa;
	int64_t pb;
	char path[64];
	char a[256];
	char b[256];
};

struct wants {
	struct want w[64];
	size_t n;
};

static void want_add(struct wants *ws, enum gisa_diff_section sec, enum gisa_diff_kind kind,
		     uint64_t key, int64_t pa, int64_t pb, const char *path, const char *a,
		     const char *b)
{
	struct want *w;

	assert_true(ws->n < ARRAY_SIZE(ws->w));
	w = &ws->w[ws->n++];
	w->sec = sec;
	w->kind = kind;
	w->key = key;
	w->pa = pa;
	w->pb = pb;
	snprintf(w->path, sizeof(w->path), "%s", path);
	snprintf(w->a, sizeof(w->a), "%s", a ? a : "");
	snprintf(w->b, sizeof(w->b), "%s", b ? b : "");
}

/* A CHANGED entry of a non-sequence field. */
static void want_chg(struct wants *ws, enum gisa_diff_section sec, uint64_t key,
		     const char *path, const char *a, const char *b)
{
	want_add(ws, sec, GISA_DIFF_CHANGED, key, -1, -1, path, a, b);
}

static const char *nz(const char *s)
{
	return s ? s : "(null)";
}

static void print_diff(const struct gisa_diff *d)
{
	for (size_t i = 0; i < gisa_diff_count(d) && i < 40; i++) {
		const struct gisa_diff_entry *e = gisa_diff_entry(d, i);

		print_message("  [%zu] %s %s key=%" PRIu64 " pos=%" PRId64 "/%" PRId64
			      " %s: %s -> %s\n", i, gisa_diff_section_name(e->section),
			      gisa_diff_kind_name(e->kind), e->key, e->pos_a, e->pos_b, e->path,
			      nz(e->a), nz(e->b));
	}
}

static struct gisa_diff *diff_ok(const struct gisa_image *a, const struct gisa_image *b)
{
	struct gisa_diff *d = NULL;

	assert_int_equal(gisa_diff_images(a, b, &d), 0);
	assert_non_null(d);
	return d;
}

static bool side_eq(const char *got, const char *want, bool absent)
{
	if (absent)
		return got == NULL;
	return got && !strcmp(got, want);
}

static bool entry_is(const struct gisa_diff_entry *e, const struct want *w, bool mirror)
{
	enum gisa_diff_kind k = w->kind;
	bool seq = w->pa >= 0 && w->pb >= 0;

	if (mirror)
		k = k == GISA_DIFF_ADDED ? GISA_DIFF_REMOVED :
		    k == GISA_DIFF_REMOVED ? GISA_DIFF_ADDED : k;
	if (e->section != w->sec || e->kind != k || e->key != w->key)
		return false;
	if (e->pos_a != (mirror ? w->pb : w->pa) || e->pos_b != (mirror ? w->pa : w->pb))
		return false;
	/* A mirrored sequence pair is named by its other position. */
	if (!(mirror && seq)) {
		if (strcmp(e->path, w->path))
			return false;
	} else {
		const char *fw = strrchr(w->path, ']'), *fe = strrchr(e->path, ']');

		if (!fw || !fe || strcmp(fw, fe))
			return false;
	}
	if (!mirror)
		return side_eq(e->a, w->a, w->kind == GISA_DIFF_ADDED) &&
		       side_eq(e->b, w->b, w->kind == GISA_DIFF_REMOVED);
	return side_eq(e->a, w->b, w->kind == GISA_DIFF_REMOVED) &&
	       side_eq(e->b, w->a, w->kind == GISA_DIFF_ADDED);
}

/*
 * diff(a, b) holds exactly the wanted entries in this order, and diff(b, a)
 * holds each of them mirrored; counts, totals and section totals agree.
 */
static void expect_diff(const struct gisa_image *a, const struct gisa_image *b,
			const struct wants *ws)
{
	struct gisa_diff *d = diff_ok(a, b), *r = diff_ok(b, a);
	bool used[ARRAY_SIZE(ws->w)] = { false };
	uint64_t per[GISA_DIFF_NR_SECTIONS] = { 0 };

	if (gisa_diff_count(d) != ws->n)
		print_diff(d);
	assert_int_equal(gisa_diff_count(d), ws->n);
	assert_int_equal(gisa_diff_total(d), ws->n);
	for (size_t i = 0; i < ws->n; i++) {
		const struct gisa_diff_entry *e = gisa_diff_entry(d, i);

		if (!entry_is(e, &ws->w[i], false)) {
			print_diff(d);
			print_message("entry %zu: want %s %s %s: %s -> %s (pos %" PRId64 "/%" PRId64
				      ")\n", i, gisa_diff_section_name(ws->w[i].sec),
				      gisa_diff_kind_name(ws->w[i].kind), ws->w[i].path, ws->w[i].a,
				      ws->w[i].b, ws->w[i].pa, ws->w[i].pb);
			fail();
		}
		per[ws->w[i].sec]++;
	}
	assert_null(gisa_diff_entry(d, ws->n));
	for (unsigned s = 0; s < GISA_DIFF_NR_SECTIONS; s++) {
		assert_int_equal(gisa_diff_section_total(d, s), per[s]);
		assert_int_equal(gisa_diff_section_total(r, s), per[s]);
	}

	assert_int_equal(gisa_diff_count(r), ws->n);
	for (size_t i = 0; i < ws->n; i++) {
		size_t j;

		for (j = 0; j < ws->n; j++)
			if (!used[j] && entry_is(gisa_diff_entry(r, j), &ws->w[i], true))
				break;
		if (j == ws->n) {
			print_diff(r);
			print_message("mirror of %s not found\n", ws->w[i].path);
			fail();
		}
		used[j] = true;
	}
	gisa_diff_free(d);
	gisa_diff_free(r);
}

static void expect_empty(const struct gisa_image *a, const struct gisa_image *b)
{
	struct wants ws = { .n = 0 };

	expect_diff(a, b, &ws);
}

/* ---- VMs and images ----------------------------------------------------- */

static struct gisa_image *img_of(const struct gisa_vm *vm)
{
	struct gisa_image *img = NULL;

	assert_int_equal(gisa_image_from_vm(vm, &img), 0);
	return img;
}

static struct gisa_image *img_dup(const struct gisa_image *img)
{
	struct gisa_image *c = NULL;

	assert_int_equal(gisa_image_dup(img, &c), 0);
	return c;
}

/* A VM with one FLIC and slot 0 = [0, 1 MiB), on its own host. */
static struct gisa_vm *vm_new(struct gisa_host **host, const struct gisa_vm_config *cfg)
{
	struct gisa_vm *vm = NULL;

	*host = NULL;
	assert_int_equal(gisa_host_new(NULL, host), 0);
	assert_int_equal(gisa_vm_new(*host, cfg, &vm), 0);
	assert_int_equal(gisa_flic_create(vm), 0);
	assert_int_equal(gisa_mem_set_slot(vm, 0, 0, 1u << 20), 0);
	return vm;
}

static struct gisa_vm *vm_simple(struct gisa_host **host, enum gisa_profile profile,
				 uint32_t caps, uint32_t nr_vcpus)
{
	struct gisa_vm_config cfg = { .profile = profile, .caps = caps, .nr_vcpus = nr_vcpus };

	return vm_new(host, &cfg);
}

static struct gisa_list_entry io_entry(uint16_t id, uint16_t nr, uint32_t parm, unsigned isc)
{
	struct gisa_irq q = t_io(id, nr, parm, isc);
	struct gisa_list_entry e;

	memset(&e, 0, sizeof(e));
	e.type = (uint32_t)q.type;
	e.u.io = q.u.io;
	return e;
}

/* The documented whole-entry text of an I/O list entry. */
static void io_text(const struct gisa_list_entry *e, char *buf, size_t len)
{
	snprintf(buf, len, "type=0x%" PRIx32 " subchannel_id=0x%x subchannel_nr=0x%x parm=0x%" PRIx32
		 " word=0x%" PRIx32, e->type, e->u.io.subchannel_id, e->u.io.subchannel_nr,
		 e->u.io.io_int_parm, e->u.io.io_int_word);
}

static bool entry_eq(const struct gisa_list_entry *x, const struct gisa_list_entry *y)
{
	return x->type == y->type && x->u.io.subchannel_id == y->u.io.subchannel_id &&
	       x->u.io.subchannel_nr == y->u.io.subchannel_nr &&
	       x->u.io.io_int_parm == y->u.io.io_int_parm &&
	       x->u.io.io_int_word == y->u.io.io_int_word;
}

/* ---- identical images and the accessors --------------------------------- */

/* A VM with something in every section. */
static struct gisa_vm *vm_rich(struct gisa_host **host)
{
	struct gisa_vm *vm = vm_simple(host, GISA_PROFILE_NEWEST, GISA_CAP_ALL, 2);
	struct gisa_route_entry rt[2] = {
		t_route(3, 0x20000, 5, 0x21000, 0, 8),
		t_route(9, 0x22000, 70, 0x21000, 1, 12),
	};

	for (unsigned i = 0; i < 12; i++)
		assert_int_equal(t_enq1(vm, t_io(1, (uint16_t)i, 0x100 + i, i % 8)), 0);
	assert_int_equal(t_enq1(vm, t_virt(0x11, 0x2222)), 0);
	assert_int_equal(t_enq1(vm, t_pfd(0x77)), 0);
	assert_int_equal(t_enq1(vm, t_srv(0x12341)), 0);
	assert_int_equal(t_enq1(vm, t_mck(GISA_CR14_CHANNEL_REPORT, 0x40000000)), 0);
	assert_int_equal(t_register(vm, 8, 3, 1, 1, 0), 0);
	assert_int_equal(t_register(vm, 12, 6, 1, 1, GISA_ADAPTER_SUPPRESSIBLE), 0);
	assert_int_equal(t_modify(vm, 12, GISA_IO_ADAPTER_MAP, 0, 0x22000), 0);
	assert_int_equal(t_modify(vm, 8, GISA_IO_ADAPTER_MASK, 1, 0), 0);
	assert_int_equal(gisa_routes_set(vm, rt, 2, 0), 0);
	assert_int_equal(gisa_route_trigger(vm, 9, 1), 1);
	assert_int_equal(gisa_route_trigger(vm, 3, 1), 1);
	assert_int_equal(t_aism(vm, 6, GISA_AIS_MODE_SINGLE), 0);
	assert_int_equal(gisa_gisc_register(vm, 2), GISA_DEFAULT_NISC);
	assert_int_equal(gisa_mem_set_slot(vm, 4, 0x200000, 0x10000), 0);
	t_vcpu_set(vm, 1, GISA_PSW_MASK_IO, 0x200, GISA_CR6_ISC(2), 0, GISA_VCPU_IDLE);
	return vm;
}

static void test_identical(void **state)
{
	struct gisa_host *host, *host2 = NULL;
	struct gisa_vm *vm = vm_rich(&host), *vm2 = NULL;
	struct gisa_image *a = img_of(vm), *c = img_dup(a), *e = NULL, *r;
	struct gisa_restore_error err;
	struct gisa_diff *d;

	(void)state;
	/* The rich VM really has something in every section. */
	assert_true(a->lists[3].n && a->lists[8].n && a->lists[9].n && a->nr_adapters == 2 &&
		    a->nr_routes == 2 && a->nr_memslots == 2 && a->nr_pages == 3 &&
		    a->fl.simm && a->gisa.ipm && a->gisa.alert_mask);

	d = diff_ok(a, a);
	assert_int_equal(gisa_diff_count(d), 0);
	assert_int_equal(gisa_diff_total(d), 0);
	assert_null(gisa_diff_entry(d, 0));
	gisa_diff_free(d);
	expect_empty(a, c);

	/* Through a VM built from the image and read back. */
	assert_int_equal(gisa_host_new(NULL, &host2), 0);
	assert_int_equal(gisa_image_build_vm(a, host2, &vm2, &err), 0);
	r = img_of(vm2);
	expect_empty(a, r);

	assert_int_equal(gisa_image_new(&e), 0);
	expect_empty(e, e);

	gisa_image_free(r);
	gisa_image_free(e);
	gisa_image_free(c);
	gisa_image_free(a);
	gisa_vm_free(vm2);
	gisa_host_free(host2);
	t_vm_free(vm, host);
}

static int count_cb(void *ctx, const struct gisa_diff_entry *e)
{
	size_t *n = ctx;

	(void)e;
	return ++*n == 2 ? 42 : 0;
}

static void test_api(void **state)
{
	static const char *const sec[] = {
		"config", "float", "ais", "lists", "gisa",
		"adapters", "routes", "memslots", "pages", "vcpus",
	};
	static const char *const kind[] = { "changed", "removed", "added", "moved" };
	uint8_t x[32], y[32];
	struct gisa_image *a = NULL, *b = NULL;
	struct gisa_diff *d = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(GISA_DIFF_NR_SECTIONS, ARRAY_SIZE(sec));
	for (unsigned i = 0; i < ARRAY_SIZE(sec); i++)
		assert_string_equal(gisa_diff_section_name(i), sec[i]);
	assert_null(gisa_diff_section_name(GISA_DIFF_NR_SECTIONS));
	assert_int_equal(GISA_DIFF_NR_KINDS, ARRAY_SIZE(kind));
	for (unsigned i = 0; i < ARRAY_SIZE(kind); i++)
		assert_string_equal(gisa_diff_kind_name(i), kind[i]);
	assert_null(gisa_diff_kind_name(GISA_DIFF_NR_KINDS));

	memset(x, 0xab, sizeof(x));
	memcpy(y, x, sizeof(y));
	assert_true(gisa_diff_equal_digest(x, y));
	y[31] ^= 1;
	assert_false(gisa_diff_equal_digest(x, y));
	y[31] ^= 1;
	y[0] ^= 0x80;
	assert_false(gisa_diff_equal_digest(x, y));

	assert_null(gisa_diff_free(NULL));

	/* Images that fail gisa_image_check, and missing arguments. */
	assert_int_equal(gisa_image_new(&a), 0);
	assert_int_equal(gisa_image_new(&b), 0);
	assert_int_equal(gisa_diff_images(NULL, b, &d), -EINVAL);
	assert_int_equal(gisa_diff_images(a, NULL, &d), -EINVAL);
	assert_int_equal(gisa_diff_images(a, b, NULL), -EINVAL);
	b->config.nr_vcpus = 1;          /* no vcpu entry for it */
	assert_int_equal(gisa_diff_images(a, b, &d), -EINVAL);
	assert_int_equal(gisa_diff_images(b, a, &d), -EINVAL);
	assert_null(d);
	b->config.nr_vcpus = 0;
	assert_int_equal(gisa_image_set_list(b, 2, 1), 0);
	b->lists[2].e[0] = io_entry(1, 1, 1, 3);   /* ISC 3 entry on list 2 */
	assert_int_equal(gisa_diff_images(a, b, &d), -EINVAL);
	assert_null(d);

	/* foreach visits in order and stops at a non-zero return. */
	b->lists[2].e[0] = io_entry(1, 1, 1, 2);
	assert_int_equal(gisa_image_set_list(b, 5, 2), 0);
	b->lists[5].e[0] = io_entry(1, 2, 2, 5);
	b->lists[5].e[1] = io_entry(1, 3, 3, 5);
	d = diff_ok(a, b);
	assert_int_equal(gisa_diff_count(d), 3);
	assert_int_equal(gisa_diff_foreach(d, count_cb, &n), 42);
	assert_int_equal(n, 2);
	gisa_diff_free(d);

	gisa_image_free(a);
	gisa_image_free(b);
}

/* ---- per section -------------------------------------------------------- */

static void test_config(void **state)
{
	struct gisa_vm_config ca = { .profile = GISA_PROFILE_CLASSIC, .nr_vcpus = 2 };
	struct gisa_vm_config cb = {
		.profile = GISA_PROFILE_NEWEST,
		.caps = GISA_CAP_GISA | GISA_CAP_AIS,
		.nr_vcpus = 3,
		.mem_cap = 16u << 20,
		.abi_order = GISA_LE,
	};
	struct gisa_host *ha, *hb;
	struct gisa_vm *va = vm_new(&ha, &ca), *vb = vm_new(&hb, &cb);
	struct gisa_image *a = img_of(va), *b = img_of(vb), *c;
	struct wants ws = { .n = 0 };

	(void)state;
	want_chg(&ws, GISA_DIFF_CONFIG, 0, "config.profile", "classic", "newest");
	want_chg(&ws, GISA_DIFF_CONFIG, 0, "config.caps.gisa", "false", "true");
	want_chg(&ws, GISA_DIFF_CONFIG, 0, "config.caps.ais", "false", "true");
	want_chg(&ws, GISA_DIFF_CONFIG, 0, "config.nr_vcpus", "2", "3");
	want_chg(&ws, GISA_DIFF_CONFIG, 0, "config.mem_cap", "0x4000000", "0x1000000");
	want_chg(&ws, GISA_DIFF_CONFIG, 0, "config.abi_order", "be", "le");
	want_chg(&ws, GISA_DIFF_GISA, 0, "gisa.present", "false", "true");
	want_add(&ws, GISA_DIFF_VCPUS, GISA_DIFF_ADDED, 2, -1, -1, "vcpus[2]", NULL,
		 "psw_mask=0x0 cr0=0x0 cr6=0x0 cr14=0x0 run=running kicked=false");
	expect_diff(a, b, &ws);

	/* Capability bits the engine does not know yet. */
	c = img_dup(a);
	c->config.caps |= 0x10;
	ws.n = 0;
	want_chg(&ws, GISA_DIFF_CONFIG, 0, "config.caps.other", "0x0", "0x10");
	expect_diff(a, c, &ws);

	gisa_image_free(c);
	gisa_image_free(a);
	gisa_image_free(b);
	t_vm_free(va, ha);
	t_vm_free(vb, hb);
}

static void test_float(void **state)
{
	struct gisa_host *host;
	struct gisa_vm *vm = vm_simple(&host, GISA_PROFILE_CLASSIC, 0, 1);
	struct gisa_image *a = img_of(vm), *b, *c;
	struct wants ws = { .n = 0 };
	uint8_t none = 0;

	(void)state;
	/* SCCB 0x12340 with event bit 0x1 (spec §4.3). */
	assert_int_equal(t_enq1(vm, t_srv(0x12341)), 0);
	assert_int_equal(t_enq1(vm, t_mck(GISA_CR14_CHANNEL_REPORT, 0x40000000)), 0);
	assert_int_equal(t_set_attr(vm, GISA_FLIC_APF_ENABLE, 0, &none, 0), 0);
	assert_int_equal(gisa_flic_destroy(vm), 0);
	b = img_of(vm);
	want_chg(&ws, GISA_DIFF_FLOAT, 0, "float.flic", "true", "false");
	want_chg(&ws, GISA_DIFF_FLOAT, 0, "float.apf", "false", "true");
	want_chg(&ws, GISA_DIFF_FLOAT, 0, "float.service.pending", "false", "true");
	want_chg(&ws, GISA_DIFF_FLOAT, 0, "float.service.ev_pending", "false", "true");
	want_chg(&ws, GISA_DIFF_FLOAT, 0, "float.service.ext_params", "0x0", "0x12341");
	want_chg(&ws, GISA_DIFF_FLOAT, 0, "float.mchk.pending", "false", "true");
	want_chg(&ws, GISA_DIFF_FLOAT, 0, "float.mchk.cr14", "0x0", "0x10000000");
	want_chg(&ws, GISA_DIFF_FLOAT, 0, "float.mchk.mcic", "0x0", "0x40000000");
	expect_diff(a, b, &ws);

	c = img_dup(a);
	c->fl.kick_cursor = 1;
	ws.n = 0;
	want_chg(&ws, GISA_DIFF_FLOAT, 0, "float.kick_cursor", "0", "1");
	expect_diff(a, c, &ws);

	gisa_image_free(c);
	gisa_image_free(a);
	gisa_image_free(b);
	t_vm_free(vm, host);
}

static void test_ais(void **state)
{
	struct gisa_host *host;
	struct gisa_vm *vm = vm_simple(&host, GISA_PROFILE_CLASSIC, GISA_CAP_AIS, 1);
	struct gisa_image *a, *b, *c, *d;
	struct wants ws = { .n = 0 };

	(void)state;
	assert_int_equal(t_register(vm, 9, 5, 0, 1, GISA_ADAPTER_SUPPRESSIBLE), 0);
	a = img_of(vm);

	/* AISM_ALL sets both masks verbatim: ISC 0 and 3 in simm, 3 and 7 in nimm. */
	assert_int_equal(t_aism_all_set(vm, 0x90, 0x11), 0);
	b = img_of(vm);
	want_chg(&ws, GISA_DIFF_AIS, 0, "ais.simm.isc0", "0", "1");
	want_chg(&ws, GISA_DIFF_AIS, 3, "ais.simm.isc3", "0", "1");
	want_chg(&ws, GISA_DIFF_AIS, 3, "ais.nimm.isc3", "0", "1");
	want_chg(&ws, GISA_DIFF_AIS, 7, "ais.nimm.isc7", "0", "1");
	expect_diff(a, b, &ws);

	/* AISM SINGLE for ISC 5 sets its simm bit ... */
	assert_int_equal(t_aism_all_set(vm, 0, 0), 0);
	assert_int_equal(t_aism(vm, 5, GISA_AIS_MODE_SINGLE), 0);
	c = img_of(vm);
	ws.n = 0;
	want_chg(&ws, GISA_DIFF_AIS, 5, "ais.simm.isc5", "0", "1");
	expect_diff(a, c, &ws);

	/* ... and the one interrupt it lets through sets nimm (spec §6.2). */
	assert_int_equal(t_airq(vm, 9), 0);
	d = img_of(vm);
	ws.n = 0;
	want_chg(&ws, GISA_DIFF_AIS, 5, "ais.nimm.isc5", "0", "1");
	want_add(&ws, GISA_DIFF_LISTS, GISA_DIFF_ADDED, 5, -1, 0, "lists[5][0]", NULL,
		 "type=0x4000000 subchannel_id=0x0 subchannel_nr=0x0 parm=0x0 word=0xa8000000");
	expect_diff(c, d, &ws);

	gisa_image_free(a);
	gisa_image_free(b);
	gisa_image_free(c);
	gisa_image_free(d);
	t_vm_free(vm, host);
}

static void test_lists_added_removed(void **state)
{
	struct gisa_host *host;
	struct gisa_vm *vm = vm_simple(&host, GISA_PROFILE_CLASSIC, 0, 1);
	struct gisa_image *a, *b, *c, *d;
	struct gisa_delivery del;
	struct wants ws = { .n = 0 };

	(void)state;
	for (uint16_t nr = 1; nr <= 3; nr++)
		assert_int_equal(t_enq1(vm, t_io(1, nr, 0x10 + nr, 3)), 0);
	a = img_of(vm);

	/* Enqueue one more: added at the end. */
	assert_int_equal(t_enq1(vm, t_io(1, 4, 0x14, 3)), 0);
	b = img_of(vm);
	want_add(&ws, GISA_DIFF_LISTS, GISA_DIFF_ADDED, 3, -1, 3, "lists[3][3]", NULL,
		 "type=0x4 subchannel_id=0x1 subchannel_nr=0x4 parm=0x14 word=0x18000000");
	expect_diff(a, b, &ws);

	/* Deliver one: the head goes. */
	t_vcpu_set(vm, 0, GISA_PSW_MASK_IO, 0, GISA_CR6_ISC(3), 0, GISA_VCPU_RUNNING);
	c = img_of(vm);
	assert_int_equal(gisa_vcpu_deliver(vm, 0, &del), 1);
	assert_int_equal(del.u.io.io_int_parm, 0x11);
	d = img_of(vm);
	ws.n = 0;
	want_add(&ws, GISA_DIFF_LISTS, GISA_DIFF_REMOVED, 3, 0, -1, "lists[3][0]",
		 "type=0x1 subchannel_id=0x1 subchannel_nr=0x1 parm=0x11 word=0x18000000", NULL);
	expect_diff(c, d, &ws);
	gisa_image_free(c);

	/* CLEAR_IO_IRQ of one subchannel: taken from the middle. */
	assert_int_equal(t_clear_io(vm, 0x00010003), 0);
	c = img_of(vm);
	ws.n = 0;
	want_add(&ws, GISA_DIFF_LISTS, GISA_DIFF_REMOVED, 3, 1, -1, "lists[3][1]",
		 "type=0x3 subchannel_id=0x1 subchannel_nr=0x3 parm=0x13 word=0x18000000", NULL);
	expect_diff(d, c, &ws);

	gisa_image_free(a);
	gisa_image_free(b);
	gisa_image_free(c);
	gisa_image_free(d);
	t_vm_free(vm, host);
}

/* An image with one I/O list holding n entries of subchannel 0.1.nr = i, parm base + i. */
static struct gisa_image *img_list(unsigned isc, uint32_t n, uint32_t base)
{
	struct gisa_image *img = NULL;

	assert_int_equal(gisa_image_new(&img), 0);
	assert_int_equal(gisa_image_set_list(img, isc, n), 0);
	for (uint32_t i = 0; i < n; i++)
		img->lists[isc].e[i] = io_entry(1, (uint16_t)i, base + i, isc);
	return img;
}

static void test_lists_changed(void **state)
{
	struct gisa_image *a = img_list(3, 4, 0x100), *b = img_dup(a), *c;
	struct wants ws = { .n = 0 };
	char t[128];

	(void)state;
	/* Two fields of one entry, reported in field order. */
	b->lists[3].e[1].u.io.subchannel_nr = 0x77;
	b->lists[3].e[1].u.io.io_int_parm = 0xabc;
	want_add(&ws, GISA_DIFF_LISTS, GISA_DIFF_CHANGED, 3, 1, 1, "lists[3][1].subchannel_nr",
		 "0x1", "0x77");
	want_add(&ws, GISA_DIFF_LISTS, GISA_DIFF_CHANGED, 3, 1, 1, "lists[3][1].parm", "0x101",
		 "0xabc");
	expect_diff(a, b, &ws);

	/*
	 * [A B C D] -> [A X Y C D]: in the hunk B faces X and Y; B and X pair
	 * as CHANGED, Y is ADDED (b position 2).
	 */
	c = img_list(3, 5, 0x100);
	c->lists[3].e[1] = io_entry(2, 9, 0x900, 3);
	c->lists[3].e[2] = io_entry(2, 10, 0xa00, 3);
	c->lists[3].e[3] = a->lists[3].e[2];
	c->lists[3].e[4] = a->lists[3].e[3];
	ws.n = 0;
	want_add(&ws, GISA_DIFF_LISTS, GISA_DIFF_CHANGED, 3, 1, 1, "lists[3][1].type", "0x1",
		 "0x10009");
	want_add(&ws, GISA_DIFF_LISTS, GISA_DIFF_CHANGED, 3, 1, 1, "lists[3][1].subchannel_id",
		 "0x1", "0x2");
	want_add(&ws, GISA_DIFF_LISTS, GISA_DIFF_CHANGED, 3, 1, 1, "lists[3][1].subchannel_nr",
		 "0x1", "0x9");
	want_add(&ws, GISA_DIFF_LISTS, GISA_DIFF_CHANGED, 3, 1, 1, "lists[3][1].parm", "0x101",
		 "0x900");
	io_text(&c->lists[3].e[2], t, sizeof(t));
	want_add(&ws, GISA_DIFF_LISTS, GISA_DIFF_ADDED, 3, -1, 2, "lists[3][2]", NULL, t);
	expect_diff(a, c, &ws);

	gisa_image_free(a);
	gisa_image_free(b);
	gisa_image_free(c);
}

static void test_lists_moved(void **state)
{
	struct gisa_image *a = img_list(6, 4, 0x40), *b = img_dup(a), *c = img_dup(a);
	struct wants ws = { .n = 0 };

	(void)state;
	/* [A B C D] -> [B C D A]: A moved from 0 to 3. */
	for (unsigned i = 0; i < 4; i++)
		b->lists[6].e[i] = a->lists[6].e[(i + 1) % 4];
	want_add(&ws, GISA_DIFF_LISTS, GISA_DIFF_MOVED, 6, 0, 3, "lists[6][0]", "0", "3");
	expect_diff(a, b, &ws);

	/* [A B C D] -> [D A B C]: D moved from 3 to 0. */
	for (unsigned i = 0; i < 4; i++)
		c->lists[6].e[i] = a->lists[6].e[(i + 3) % 4];
	ws.n = 0;
	want_add(&ws, GISA_DIFF_LISTS, GISA_DIFF_MOVED, 6, 3, 0, "lists[6][3]", "3", "0");
	expect_diff(a, c, &ws);

	gisa_image_free(a);
	gisa_image_free(b);
	gisa_image_free(c);
}

static void test_lists_ext_and_order(void **state)
{
	struct gisa_host *host;
	struct gisa_vm *vm = vm_simple(&host, GISA_PROFILE_NEWEST, 0, 1);
	struct gisa_image *a = img_of(vm), *b, *c;
	struct wants ws = { .n = 0 };

	(void)state;
	/* Lists in order 2, 5, 8 (PFAULT_DONE), 9 (VIRTIO), whatever the injection order. */
	assert_int_equal(t_enq1(vm, t_virt(0x11, 0x2222)), 0);
	assert_int_equal(t_enq1(vm, t_io(0x101, 7, 0x5, 5)), 0);
	assert_int_equal(t_enq1(vm, t_pfd(0x77)), 0);
	assert_int_equal(t_enq1(vm, t_io(1, 2, 0x2, 2)), 0);
	b = img_of(vm);
	want_add(&ws, GISA_DIFF_LISTS, GISA_DIFF_ADDED, 2, -1, 0, "lists[2][0]", NULL,
		 "type=0x2 subchannel_id=0x1 subchannel_nr=0x2 parm=0x2 word=0x10000000");
	want_add(&ws, GISA_DIFF_LISTS, GISA_DIFF_ADDED, 5, -1, 0, "lists[5][0]", NULL,
		 "type=0x40007 subchannel_id=0x101 subchannel_nr=0x7 parm=0x5 word=0x28000000");
	want_add(&ws, GISA_DIFF_LISTS, GISA_DIFF_ADDED, 8, -1, 0, "lists[8][0]", NULL,
		 "type=0xfffe0005 ext_params=0x0 pad=0x0 ext_params2=0x77");
	want_add(&ws, GISA_DIFF_LISTS, GISA_DIFF_ADDED, 9, -1, 0, "lists[9][0]", NULL,
		 "type=0xffff2603 ext_params=0x11 pad=0x0 ext_params2=0x2222");
	expect_diff(a, b, &ws);

	/* A changed VIRTIO payload, field by field. */
	c = img_dup(b);
	c->lists[9].e[0].u.ext.ext_params2 = 0x3333;
	c->lists[9].e[0].u.ext.pad = 0x1;
	ws.n = 0;
	want_add(&ws, GISA_DIFF_LISTS, GISA_DIFF_CHANGED, 9, 0, 0, "lists[9][0].pad", "0x0",
		 "0x1");
	want_add(&ws, GISA_DIFF_LISTS, GISA_DIFF_CHANGED, 9, 0, 0, "lists[9][0].ext_params2",
		 "0x2222", "0x3333");
	expect_diff(b, c, &ws);

	gisa_image_free(a);
	gisa_image_free(b);
	gisa_image_free(c);
	t_vm_free(vm, host);
}

static void test_gisa(void **state)
{
	struct gisa_host *host;
	struct gisa_vm *vm = vm_simple(&host, GISA_PROFILE_CLASSIC, GISA_CAP_GISA, 1);
	struct gisa_image *i0 = img_of(vm), *i1, *i2, *i3, *i4, *i5;
	struct wants ws = { .n = 0 };

	(void)state;
	/* Register ISC 2: alert mask, IAM (not listed, so set) and refcount. */
	assert_int_equal(gisa_gisc_register(vm, 2), GISA_DEFAULT_NISC);
	i1 = img_of(vm);
	want_chg(&ws, GISA_DIFF_GISA, 2, "gisa.iam.isc2", "0", "1");
	want_chg(&ws, GISA_DIFF_GISA, 2, "gisa.alert_mask.isc2", "0", "1");
	want_chg(&ws, GISA_DIFF_GISA, 2, "gisa.refcount.isc2", "0", "1");
	expect_diff(i0, i1, &ws);

	/* A hardware adapter interrupt outside SIE alerts: IPM set, IAM cleared, listed. */
	assert_int_equal(gisa_gisa_hw_airq(vm, 2, false), 0);
	i2 = img_of(vm);
	ws.n = 0;
	want_chg(&ws, GISA_DIFF_GISA, 2, "gisa.ipm.isc2", "0", "1");
	want_chg(&ws, GISA_DIFF_GISA, 2, "gisa.iam.isc2", "1", "0");
	want_chg(&ws, GISA_DIFF_GISA, 0, "gisa.alert_list", "false", "true");
	expect_diff(i1, i2, &ws);

	/* GAL processing takes it off the list and starts the timer with delay 0. */
	assert_int_equal(gisa_host_process_alerts(host), 1);
	i3 = img_of(vm);
	ws.n = 0;
	want_chg(&ws, GISA_DIFF_GISA, 0, "gisa.alert_list", "true", "false");
	want_chg(&ws, GISA_DIFF_GISA, 0, "gisa.timer.armed", "false", "true");
	expect_diff(i2, i3, &ws);

	/* IPM & alert mask != 0: the timer re-arms after 50 us. */
	assert_int_equal(gisa_gisa_timer_fire(vm), 1);
	i4 = img_of(vm);
	ws.n = 0;
	want_chg(&ws, GISA_DIFF_GISA, 0, "gisa.timer.delay_ns", "0", "50000");
	expect_diff(i3, i4, &ws);

	/* An AI record with a GISA goes to the IPM, not to a list. */
	assert_int_equal(t_enq1(vm, t_ai(4)), 0);
	assert_int_equal(gisa_gisc_register(vm, 2), GISA_DEFAULT_NISC);
	i5 = img_of(vm);
	ws.n = 0;
	want_chg(&ws, GISA_DIFF_GISA, 4, "gisa.ipm.isc4", "0", "1");
	want_chg(&ws, GISA_DIFF_GISA, 2, "gisa.refcount.isc2", "1", "2");
	expect_diff(i4, i5, &ws);

	gisa_image_free(i0);
	gisa_image_free(i1);
	gisa_image_free(i2);
	gisa_image_free(i3);
	gisa_image_free(i4);
	gisa_image_free(i5);
	t_vm_free(vm, host);
}

static void test_adapters(void **state)
{
	struct gisa_host *host;
	struct gisa_vm *vm = vm_simple(&host, GISA_PROFILE_NEWEST, 0, 1);
	struct gisa_image *i0 = img_of(vm), *i1, *i2, *i3, *i4, *i5, *i6;
	struct wants ws = { .n = 0 };

	(void)state;
	assert_int_equal(t_register(vm, 8, 3, 1, 0, 0), 0);
	i1 = img_of(vm);
	want_add(&ws, GISA_DIFF_ADAPTERS, GISA_DIFF_ADDED, 8, -1, -1, "adapters[8]", NULL,
		 "isc=3 maskable=true masked=false swap=false suppressible=false maps=[]");
	expect_diff(i0, i1, &ws);

	/* Masking: the runtime flag KVM cannot report. */
	assert_int_equal(t_modify(vm, 8, GISA_IO_ADAPTER_MASK, 1, 0), 0);
	i2 = img_of(vm);
	ws.n = 0;
	want_chg(&ws, GISA_DIFF_ADAPTERS, 8, "adapters[8].masked", "false", "true");
	expect_diff(i1, i2, &ws);

	/* NEWEST maps: a sequence per adapter. */
	assert_int_equal(t_modify(vm, 8, GISA_IO_ADAPTER_MAP, 0, 0x3000), 0);
	assert_int_equal(t_modify(vm, 8, GISA_IO_ADAPTER_MAP, 0, 0x5000), 0);
	i3 = img_of(vm);
	ws.n = 0;
	want_add(&ws, GISA_DIFF_ADAPTERS, GISA_DIFF_ADDED, 8, -1, 0, "adapters[8].maps[0]", NULL,
		 "0x3000");
	want_add(&ws, GISA_DIFF_ADAPTERS, GISA_DIFF_ADDED, 8, -1, 1, "adapters[8].maps[1]", NULL,
		 "0x5000");
	expect_diff(i2, i3, &ws);

	assert_int_equal(t_modify(vm, 8, GISA_IO_ADAPTER_UNMAP, 0, 0x3000), 0);
	i4 = img_of(vm);
	ws.n = 0;
	want_add(&ws, GISA_DIFF_ADAPTERS, GISA_DIFF_REMOVED, 8, 0, -1, "adapters[8].maps[0]",
		 "0x3000", NULL);
	expect_diff(i3, i4, &ws);

	/* A whole adapter with its maps; adapters in id order. */
	assert_int_equal(t_register(vm, 2, 7, 0, 1, GISA_ADAPTER_SUPPRESSIBLE), 0);
	assert_int_equal(t_modify(vm, 2, GISA_IO_ADAPTER_MAP, 0, 0x6000), 0);
	assert_int_equal(t_modify(vm, 2, GISA_IO_ADAPTER_MAP, 0, 0x7000), 0);
	i5 = img_of(vm);
	ws.n = 0;
	want_add(&ws, GISA_DIFF_ADAPTERS, GISA_DIFF_ADDED, 2, -1, -1, "adapters[2]", NULL,
		 "isc=7 maskable=false masked=false swap=true suppressible=true "
		 "maps=[0x6000,0x7000]");
	want_chg(&ws, GISA_DIFF_ADAPTERS, 8, "adapters[8].masked", "false", "true");
	want_add(&ws, GISA_DIFF_ADAPTERS, GISA_DIFF_ADDED, 8, -1, 0, "adapters[8].maps[0]", NULL,
		 "0x5000");
	expect_diff(i1, i5, &ws);

	/* Values no operation changes: the ISC, and a map in place. */
	i6 = img_dup(i5);
	i6->adapters[1].a.isc = 4;
	i6->adapters[0].maps[1] = 0x9000;
	ws.n = 0;
	want_add(&ws, GISA_DIFF_ADAPTERS, GISA_DIFF_CHANGED, 2, 1, 1, "adapters[2].maps[1]",
		 "0x7000", "0x9000");
	want_chg(&ws, GISA_DIFF_ADAPTERS, 8, "adapters[8].isc", "3", "4");
	expect_diff(i5, i6, &ws);

	/* Map order is state too: [0x6000 0x7000 0x8000] -> [0x7000 0x8000 0x6000]. */
	gisa_image_free(i6);
	i6 = img_dup(i5);
	assert_int_equal(gisa_image_set_maps(i6, 0, 3), 0);
	i6->adapters[0].maps[0] = 0x7000;
	i6->adapters[0].maps[1] = 0x8000;
	i6->adapters[0].maps[2] = 0x6000;
	gisa_image_free(i4);
	i4 = img_dup(i5);
	assert_int_equal(gisa_image_set_maps(i4, 0, 3), 0);
	i4->adapters[0].maps[0] = 0x6000;
	i4->adapters[0].maps[1] = 0x7000;
	i4->adapters[0].maps[2] = 0x8000;
	ws.n = 0;
	want_add(&ws, GISA_DIFF_ADAPTERS, GISA_DIFF_MOVED, 2, 0, 2, "adapters[2].maps[0]", "0",
		 "2");
	expect_diff(i4, i6, &ws);

	gisa_image_free(i0);
	gisa_image_free(i1);
	gisa_image_free(i2);
	gisa_image_free(i3);
	gisa_image_free(i4);
	gisa_image_free(i5);
	gisa_image_free(i6);
	t_vm_free(vm, host);
}

static void test_routes(void **state)
{
	struct gisa_host *host;
	struct gisa_vm *vm = vm_simple(&host, GISA_PROFILE_CLASSIC, 0, 1);
	struct gisa_route_entry ra[2] = {
		t_route(5, 0x10000, 0, 0x11000, 0, 8),
		t_route(17, 0x10000, 1, 0x11000, 1, 8),
	};
	struct gisa_route_entry rb[2] = {
		t_route(40, 0x12000, 0, 0x13000, 2, 9),
		t_route(17, 0x10000, 9, 0x11000, 1, 8),
	};
	struct gisa_image *a, *b, *c;
	struct wants ws = { .n = 0 };

	(void)state;
	assert_int_equal(gisa_routes_set(vm, ra, 2, 0), 0);
	a = img_of(vm);
	assert_int_equal(gisa_routes_set(vm, rb, 2, 0), 0);
	b = img_of(vm);
	want_add(&ws, GISA_DIFF_ROUTES, GISA_DIFF_REMOVED, 5, -1, -1, "routes[5]",
		 "type=3 flags=0x0 ind_addr=0x10000 ind_offset=0x0 summary_addr=0x11000 "
		 "summary_offset=0x0 adapter_id=8", NULL);
	want_chg(&ws, GISA_DIFF_ROUTES, 17, "routes[17].ind_offset", "0x1", "0x9");
	want_add(&ws, GISA_DIFF_ROUTES, GISA_DIFF_ADDED, 40, -1, -1, "routes[40]", NULL,
		 "type=3 flags=0x0 ind_addr=0x12000 ind_offset=0x0 summary_addr=0x13000 "
		 "summary_offset=0x2 adapter_id=9");
	expect_diff(a, b, &ws);

	/* Every field of one route, in field order. */
	c = img_dup(b);
	c->routes[0].type = 2;
	c->routes[0].flags = 1;
	c->routes[0].adapter.ind_addr = 0x14000;
	c->routes[0].adapter.summary_addr = 0x15000;
	c->routes[0].adapter.summary_offset = 3;
	c->routes[0].adapter.adapter_id = 10;
	ws.n = 0;
	want_chg(&ws, GISA_DIFF_ROUTES, 17, "routes[17].type", "3", "2");
	want_chg(&ws, GISA_DIFF_ROUTES, 17, "routes[17].flags", "0x0", "0x1");
	want_chg(&ws, GISA_DIFF_ROUTES, 17, "routes[17].ind_addr", "0x10000", "0x14000");
	want_chg(&ws, GISA_DIFF_ROUTES, 17, "routes[17].summary_addr", "0x11000", "0x15000");
	want_chg(&ws, GISA_DIFF_ROUTES, 17, "routes[17].summary_offset", "0x1", "0x3");
	want_chg(&ws, GISA_DIFF_ROUTES, 17, "routes[17].adapter_id", "8", "10");
	expect_diff(b, c, &ws);

	gisa_image_free(a);
	gisa_image_free(b);
	gisa_image_free(c);
	t_vm_free(vm, host);
}

static void test_memslots(void **state)
{
	struct gisa_host *host;
	struct gisa_vm *vm = vm_simple(&host, GISA_PROFILE_CLASSIC, 0, 1);
	struct gisa_image *a = img_of(vm), *b, *c;
	struct wants ws = { .n = 0 };

	(void)state;
	/* By slot id, not by address: slot 7 lies below slot 3. */
	assert_int_equal(gisa_mem_set_slot(vm, 3, 0x200000, 0x10000), 0);
	assert_int_equal(gisa_mem_set_slot(vm, 7, 0x100000, 0x1000), 0);
	b = img_of(vm);
	assert_int_equal(b->memslots[1].slot, 7);
	want_add(&ws, GISA_DIFF_MEMSLOTS, GISA_DIFF_ADDED, 3, -1, -1, "memslots[3]", NULL,
		 "gpa=0x200000 size=0x10000");
	want_add(&ws, GISA_DIFF_MEMSLOTS, GISA_DIFF_ADDED, 7, -1, -1, "memslots[7]", NULL,
		 "gpa=0x100000 size=0x1000");
	expect_diff(a, b, &ws);

	/* Move slot 3 and grow slot 7; delete slot 0. */
	assert_int_equal(gisa_mem_set_slot(vm, 3, 0x300000, 0x10000), 0);
	assert_int_equal(gisa_mem_set_slot(vm, 7, 0x100000, 0x3000), 0);
	assert_int_equal(gisa_mem_set_slot(vm, 0, 0, 0), 0);
	c = img_of(vm);
	ws.n = 0;
	want_add(&ws, GISA_DIFF_MEMSLOTS, GISA_DIFF_REMOVED, 0, -1, -1, "memslots[0]",
		 "gpa=0x0 size=0x100000", NULL);
	want_chg(&ws, GISA_DIFF_MEMSLOTS, 3, "memslots[3].gpa", "0x200000", "0x300000");
	want_chg(&ws, GISA_DIFF_MEMSLOTS, 7, "memslots[7].size", "0x1000", "0x3000");
	expect_diff(b, c, &ws);

	gisa_image_free(a);
	gisa_image_free(b);
	gisa_image_free(c);
	t_vm_free(vm, host);
}

static void test_pages(void **state)
{
	struct gisa_host *host;
	struct gisa_vm *vm = vm_simple(&host, GISA_PROFILE_CLASSIC, 0, 1);
	/* swap = 1: indicator bit 5 = byte 0x20000 mask 0x04; summary bit 0 = 0x21000 0x80. */
	struct gisa_route_entry rt = t_route(1, 0x20000, 5, 0x21000, 0, 8);
	struct gisa_image *a, *b, *c, *d;
	struct wants ws = { .n = 0 };

	(void)state;
	assert_int_equal(t_register(vm, 8, 3, 0, 1, 0), 0);
	assert_int_equal(gisa_routes_set(vm, &rt, 1, 0), 0);
	a = img_of(vm);
	assert_int_equal(a->nr_pages, 0);

	assert_int_equal(gisa_route_trigger(vm, 1, 1), 1);
	b = img_of(vm);
	want_add(&ws, GISA_DIFF_LISTS, GISA_DIFF_ADDED, 3, -1, 0, "lists[3][0]", NULL,
		 "type=0x4000000 subchannel_id=0x0 subchannel_nr=0x0 parm=0x0 word=0x98000000");
	want_chg(&ws, GISA_DIFF_PAGES, 0x20000, "pages[0x20000]", "0x00", "0x04");
	want_chg(&ws, GISA_DIFF_PAGES, 0x21000, "pages[0x21000]", "0x00", "0x80");
	expect_diff(a, b, &ws);

	/* The guest clears the summary byte: its page is then all zero and not carried. */
	t_mem_set_byte(vm, 0x21000, 0);
	c = img_of(vm);
	assert_int_equal(c->nr_pages, 1);
	ws.n = 0;
	want_chg(&ws, GISA_DIFF_PAGES, 0x21000, "pages[0x21000]", "0x80", "0x00");
	expect_diff(b, c, &ws);

	/* Several bytes of one page, in address order. */
	d = img_dup(c);
	d->pages[0].data[0xfff] = 0x5a;
	d->pages[0].data[0x10] = 0x01;
	ws.n = 0;
	want_chg(&ws, GISA_DIFF_PAGES, 0x20010, "pages[0x20010]", "0x00", "0x01");
	want_chg(&ws, GISA_DIFF_PAGES, 0x20fff, "pages[0x20fff]", "0x00", "0x5a");
	expect_diff(c, d, &ws);

	gisa_image_free(a);
	gisa_image_free(b);
	gisa_image_free(c);
	gisa_image_free(d);
	t_vm_free(vm, host);
}

static void test_vcpus(void **state)
{
	struct gisa_host *host;
	struct gisa_vm *vm = vm_simple(&host, GISA_PROFILE_CLASSIC, 0, 2);
	struct gisa_image *a = img_of(vm), *b, *c;
	struct wants ws = { .n = 0 };

	(void)state;
	t_vcpu_set(vm, 1, GISA_PSW_MASK_IO | GISA_PSW_MASK_EXT, GISA_CR0_SERVICE,
		   GISA_CR6_ISC(0) | GISA_CR6_ISC(7), GISA_CR14_CHANNEL_REPORT, GISA_VCPU_IDLE);
	b = img_of(vm);
	want_chg(&ws, GISA_DIFF_VCPUS, 1, "vcpus[1].psw_mask", "0x0", "0x300000000000000");
	want_chg(&ws, GISA_DIFF_VCPUS, 1, "vcpus[1].cr0", "0x0", "0x200");
	want_chg(&ws, GISA_DIFF_VCPUS, 1, "vcpus[1].cr6", "0x0", "0x81000000");
	want_chg(&ws, GISA_DIFF_VCPUS, 1, "vcpus[1].cr14", "0x0", "0x10000000");
	want_chg(&ws, GISA_DIFF_VCPUS, 1, "vcpus[1].run", "running", "idle");
	expect_diff(a, b, &ws);

	/* The kicked bit (set by the GISA kicker; edited here), and a stopped vcpu. */
	c = img_dup(b);
	c->vcpus[0].kicked = true;
	c->vcpus[1].run = GISA_VCPU_STOPPED;
	ws.n = 0;
	want_chg(&ws, GISA_DIFF_VCPUS, 0, "vcpus[0].kicked", "false", "true");
	want_chg(&ws, GISA_DIFF_VCPUS, 1, "vcpus[1].run", "idle", "stopped");
	expect_diff(b, c, &ws);

	gisa_image_free(a);
	gisa_image_free(b);
	gisa_image_free(c);
	t_vm_free(vm, host);
}

/* ---- seeded random VMs -------------------------------------------------- */

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return r->s;
}

static uint32_t rn(struct rng *r, uint32_t n)
{
	return (uint32_t)(rnd(r) % n);
}

#define RANDOM_OPS   400u
#define NR_SEEDS     24u

/*
 * A seeded sequence of operations from every area; errors of individual
 * operations are part of the model and ignored.  I/O parameters are unique
 * per driver; AI records (route triggers without a GISA) are alike, so
 * lists also hold runs of equal entries.
 */
struct driver {
	struct rng r;
	struct gisa_route_entry rt[8];
	uint32_t nrt;
	uint32_t parm;
};

static void random_ops(struct gisa_vm *vm, struct gisa_host *host, struct driver *dr,
		       unsigned nops)
{
	struct rng *r = &dr->r;
	struct gisa_vm_config cfg;

	gisa_vm_config(vm, &cfg);
	for (unsigned op = 0; op < nops; op++) {
		uint32_t v = rn(r, cfg.nr_vcpus);
		struct gisa_delivery del;
		struct gisa_irq q;

		switch (rn(r, 16)) {
		case 0:
		case 1:
		case 2:
		case 3:
			(void)t_enq1(vm, t_io((uint16_t)(1 + rn(r, 3)), (uint16_t)rn(r, 8),
					      ++dr->parm, rn(r, 8)));
			break;
		case 4:
			(void)t_enq1(vm, t_virt(++dr->parm, rnd(r)));
			break;
		case 5:
			(void)t_enq1(vm, rn(r, 2) ? t_pfd(++dr->parm) :
				     rn(r, 2) ? t_srv(rn(r, 1u << 20)) :
						t_mck(GISA_CR14_CHANNEL_REPORT, 1ull << rn(r, 64)));
			break;
		case 6:
			(void)t_register(vm, rn(r, 64), (uint8_t)rn(r, 8), (uint8_t)rn(r, 2),
					 (uint8_t)rn(r, 2), (uint8_t)rn(r, 2));
			break;
		case 7:
			if (rn(r, 2))
				(void)t_modify(vm, rn(r, 64), GISA_IO_ADAPTER_MASK,
					       (uint8_t)rn(r, 2), 0);
			else
				(void)t_modify(vm, rn(r, 64), GISA_IO_ADAPTER_MAP, 0,
					       0x1000ull * (1 + rn(r, 255)));
			break;
		case 8:
			(void)t_aism(vm, (uint8_t)rn(r, 8), (uint16_t)rn(r, 2));
			break;
		case 9:
			dr->nrt = 1 + rn(r, 8);
			for (uint32_t i = 0; i < dr->nrt; i++)
				dr->rt[i] = t_route(i * 97 + rn(r, 90),
						    0x10000 + 0x1000ull * rn(r, 4), rn(r, 128),
						    0x18000 + 0x1000ull * rn(r, 2), rn(r, 16),
						    rn(r, 64));
			if (gisa_routes_set(vm, dr->rt, dr->nrt, 0))
				dr->nrt = 0;
			break;
		case 10:
		case 11:
			if (dr->nrt)
				(void)gisa_route_trigger(vm, dr->rt[rn(r, dr->nrt)].gsi, 1);
			break;
		case 12:
			t_vcpu_set(vm, v, rn(r, 2) ? GISA_PSW_MASK_IO | GISA_PSW_MASK_EXT : 0,
				   rn(r, 2) ? GISA_CR0_SERVICE : 0, (uint64_t)rn(r, 256) << 24,
				   rn(r, 2) ? GISA_CR14_CHANNEL_REPORT : 0,
				   (enum gisa_run_state)rn(r, 3));
			break;
		case 13:
			if (rn(r, 2))
				(void)gisa_vcpu_deliver(vm, v, &del);
			else
				(void)gisa_vcpu_tpi(vm, v, &q);
			break;
		case 14:
			switch (rn(r, 4)) {
			case 0:
				(void)gisa_gisc_register(vm, rn(r, 8));
				break;
			case 1:
				(void)gisa_gisa_hw_airq(vm, rn(r, 8), rn(r, 2));
				break;
			case 2:
				(void)gisa_host_process_alerts(host);
				break;
			default:
				(void)gisa_gisa_timer_fire(vm);
				break;
			}
			break;
		default:
			if (dr->nrt)
				t_mem_set_byte(vm, dr->rt[rn(r, dr->nrt)].adapter.summary_addr,
					       (uint8_t)rnd(r));
			break;
		}
	}
}

static struct gisa_vm *random_vm(struct gisa_host **host, uint32_t seed, struct driver *dr)
{
	struct gisa_vm_config cfg = {
		.profile = seed & 1 ? GISA_PROFILE_NEWEST : GISA_PROFILE_CLASSIC,
		.caps = (seed >> 1) & 3,
		.nr_vcpus = 1 + seed % 4,
	};
	struct gisa_vm *vm = vm_new(host, &cfg);

	*dr = (struct driver){ .r.s = 0x9e3779b97f4a7c15ull * (seed + 1), .parm = seed << 20 };
	random_ops(vm, *host, dr, RANDOM_OPS);
	return vm;
}

static char *entry_key(const struct gisa_diff_entry *e, bool mirror)
{
	enum gisa_diff_kind k = e->kind;
	bool seq = e->pos_a >= 0 && e->pos_b >= 0;
	const char *field = seq ? strrchr(e->path, ']') : e->path;
	size_t len = strlen(e->path) + (e->a ? strlen(e->a) : 0) + (e->b ? strlen(e->b) : 0) + 128;
	char *s = malloc(len);

	assert_non_null(s);
	if (mirror)
		k = k == GISA_DIFF_ADDED ? GISA_DIFF_REMOVED :
		    k == GISA_DIFF_REMOVED ? GISA_DIFF_ADDED : k;
	snprintf(s, len, "%u|%" PRIu64 "|%u|%" PRId64 "|%" PRId64 "|%s|%s|%s", e->section, e->key,
		 k, mirror ? e->pos_b : e->pos_a, mirror ? e->pos_a : e->pos_b, field,
		 nz(mirror ? e->b : e->a), nz(mirror ? e->a : e->b));
	return s;
}

static int str_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static bool keyed(enum gisa_diff_section s)
{
	return s == GISA_DIFF_LISTS || s == GISA_DIFF_ADAPTERS || s == GISA_DIFF_ROUTES ||
	       s == GISA_DIFF_MEMSLOTS || s == GISA_DIFF_PAGES || s == GISA_DIFF_VCPUS;
}

/* Documented order, and diff(b, a) = diff(a, b) mirrored as multisets. */
static void check_pair(const struct gisa_image *a, const struct gisa_image *b)
{
	struct gisa_diff *d = diff_ok(a, b), *r = diff_ok(b, a);
	size_t n = gisa_diff_count(d);
	char **kd, **kr;

	assert_int_equal(gisa_diff_count(r), n);
	assert_int_equal(gisa_diff_total(d), n);
	assert_int_equal(gisa_diff_total(r), n);
	for (unsigned s = 0; s < GISA_DIFF_NR_SECTIONS; s++)
		assert_int_equal(gisa_diff_section_total(d, s), gisa_diff_section_total(r, s));
	for (size_t i = 1; i < n; i++) {
		const struct gisa_diff_entry *p = gisa_diff_entry(d, i - 1), *e = gisa_diff_entry(d, i);

		assert_true(p->section <= e->section);
		if (p->section == e->section && keyed(e->section))
			assert_true(p->key <= e->key);
	}
	kd = calloc(n ? n : 1, sizeof(*kd));
	kr = calloc(n ? n : 1, sizeof(*kr));
	assert_non_null(kd);
	assert_non_null(kr);
	for (size_t i = 0; i < n; i++) {
		kd[i] = entry_key(gisa_diff_entry(d, i), true);
		kr[i] = entry_key(gisa_diff_entry(r, i), false);
	}
	qsort(kd, n, sizeof(*kd), str_cmp);
	qsort(kr, n, sizeof(*kr), str_cmp);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(kd[i], kr[i]))
			print_message("mirror mismatch: %s <> %s\n", kd[i], kr[i]);
		assert_string_equal(kd[i], kr[i]);
	}
	for (size_t i = 0; i < n; i++) {
		free(kd[i]);
		free(kr[i]);
	}
	free(kd);
	free(kr);
	gisa_diff_free(d);
	gisa_diff_free(r);
}

static void test_random_pairs(void **state)
{
	struct gisa_image *img[NR_SEEDS];
	struct gisa_host *host[NR_SEEDS];
	struct gisa_vm *vm[NR_SEEDS];
	uint64_t nonempty = 0, moved = 0;

	(void)state;
	for (uint32_t s = 0; s < NR_SEEDS; s++) {
		struct gisa_host *h2 = NULL;
		struct gisa_vm *v2 = NULL;
		struct gisa_restore_error err;
		struct gisa_image *c, *rb;
		struct driver dr;
		unsigned longest = 0;

		vm[s] = random_vm(&host[s], s, &dr);
		img[s] = img_of(vm[s]);
		expect_empty(img[s], img[s]);
		c = img_dup(img[s]);
		expect_empty(img[s], c);
		gisa_image_free(c);
		assert_int_equal(gisa_host_new(NULL, &h2), 0);
		assert_int_equal(gisa_image_build_vm(img[s], h2, &v2, &err), 0);
		rb = img_of(v2);
		expect_empty(img[s], rb);
		gisa_image_free(rb);

		/* One entry of the longest list moved elsewhere. */
		c = img_dup(img[s]);
		for (unsigned l = 0; l < GISA_NR_LISTS; l++)
			if (c->lists[l].n > c->lists[longest].n)
				longest = l;
		if (c->lists[longest].n >= 3) {
			struct gisa_image_list *li = &c->lists[longest];
			struct gisa_list_entry e = li->e[s % li->n];
			uint32_t to = (s * 7 + 1) % li->n;

			memmove(&li->e[s % li->n], &li->e[s % li->n + 1],
				(li->n - s % li->n - 1) * sizeof(e));
			memmove(&li->e[to + 1], &li->e[to], (li->n - to - 1) * sizeof(e));
			li->e[to] = e;
			check_pair(img[s], c);
			moved++;
		}
		gisa_image_free(c);

		/* Diverge from the same state by a few more operations. */
		dr.r.s ^= 0x5bd1e995u;
		random_ops(v2, h2, &dr, 1 + s * 3);
		rb = img_of(v2);
		check_pair(img[s], rb);
		gisa_image_free(rb);
		gisa_vm_free(v2);
		gisa_host_free(h2);
	}
	for (uint32_t s = 0; s < NR_SEEDS; s++)
		for (uint32_t t = s + 1; t < NR_SEEDS; t += 1 + t % 5) {
			struct gisa_diff *d = diff_ok(img[s], img[t]);

			nonempty += gisa_diff_count(d) > 0;
			gisa_diff_free(d);
			check_pair(img[s], img[t]);
		}
	assert_true(nonempty > 0);
	assert_true(moved >= NR_SEEDS / 2);
	for (uint32_t s = 0; s < NR_SEEDS; s++) {
		gisa_image_free(img[s]);
		t_vm_free(vm[s], host[s]);
	}
}

/* The entries any change may bring along: the kick cursor and vcpu fields. */
static void want_incidental_float(struct wants *ws, const struct gisa_image *a,
				  const struct gisa_image *b)
{
	char x[32], y[32];

	if (a->fl.kick_cursor == b->fl.kick_cursor)
		return;
	snprintf(x, sizeof(x), "%" PRIu32, a->fl.kick_cursor);
	snprintf(y, sizeof(y), "%" PRIu32, b->fl.kick_cursor);
	want_chg(ws, GISA_DIFF_FLOAT, 0, "float.kick_cursor", x, y);
}

static void want_incidental_vcpus(struct wants *ws, const struct gisa_image *a,
				  const struct gisa_image *b)
{
	static const char *const run[] = { "running", "idle", "stopped" };
	char p[64], x[32], y[32];

	for (uint32_t i = 0; i < a->nr_vcpus; i++) {
		const struct gisa_vcpu_state *va = &a->vcpus[i], *vb = &b->vcpus[i];
		const struct {
			const char *name;
			uint64_t x, y;
		} f[] = {
			{ "psw_mask", va->psw_mask, vb->psw_mask },
			{ "cr0", va->cr0, vb->cr0 },
			{ "cr6", va->cr6, vb->cr6 },
			{ "cr14", va->cr14, vb->cr14 },
		};

		for (unsigned k = 0; k < ARRAY_SIZE(f); k++) {
			if (f[k].x == f[k].y)
				continue;
			snprintf(p, sizeof(p), "vcpus[%" PRIu32 "].%s", i, f[k].name);
			snprintf(x, sizeof(x), "0x%" PRIx64, f[k].x);
			snprintf(y, sizeof(y), "0x%" PRIx64, f[k].y);
			want_chg(ws, GISA_DIFF_VCPUS, i, p, x, y);
		}
		if (va->run != vb->run) {
			snprintf(p, sizeof(p), "vcpus[%" PRIu32 "].run", i);
			want_chg(ws, GISA_DIFF_VCPUS, i, p, run[va->run], run[vb->run]);
		}
		if (va->kicked != vb->kicked) {
			snprintf(p, sizeof(p), "vcpus[%" PRIu32 "].kicked", i);
			want_chg(ws, GISA_DIFF_VCPUS, i, p, va->kicked ? "true" : "false",
				 vb->kicked ? "true" : "false");
		}
	}
}

/* A fresh VM in the state of img (so each change starts from the same state). */
static struct gisa_vm *vm_from(const struct gisa_image *img, struct gisa_host **host)
{
	struct gisa_restore_error err;
	struct gisa_vm *vm = NULL;

	*host = NULL;
	assert_int_equal(gisa_host_new(NULL, host), 0);
	assert_int_equal(gisa_image_build_vm(img, *host, &vm, &err), 0);
	return vm;
}

enum change { CH_ENQUEUE, CH_DELIVER, CH_MASK, CH_AIS, CH_SUMMARY, CH_VCPU, NR_CHANGES };

/*
 * Apply one known change to a VM in the state of img; fill the expected
 * entries.  Returns false when the state offers no place for it.
 */
static bool apply_change(enum change ch, uint32_t seed, const struct gisa_image *base,
			 struct gisa_image **ret_a, struct gisa_image **ret_b, struct wants *ws)
{
	struct gisa_host *host;
	struct gisa_vm *vm = vm_from(base, &host);
	struct gisa_image *a = NULL, *b;
	unsigned isc = seed % 8;
	char path[64], t[160];
	bool ok = true;

	/* The rebuilt VM starts in the state of the original. */
	b = img_of(vm);
	expect_empty(base, b);
	gisa_image_free(b);
	ws->n = 0;
	switch (ch) {
	case CH_ENQUEUE: {
		struct gisa_list_entry e = io_entry(2, 5, 0xfeed0000 + seed, isc);

		a = img_of(vm);
		assert_int_equal(t_enq1(vm, t_io(2, 5, 0xfeed0000 + seed, isc)), 0);
		b = img_of(vm);
		want_incidental_float(ws, a, b);
		snprintf(path, sizeof(path), "lists[%u][%" PRIu32 "]", isc, a->lists[isc].n);
		io_text(&e, t, sizeof(t));
		want_add(ws, GISA_DIFF_LISTS, GISA_DIFF_ADDED, isc, -1, a->lists[isc].n, path,
			 NULL, t);
		want_incidental_vcpus(ws, a, b);
		break;
	}
	case CH_DELIVER: {
		const struct gisa_image_list *l;
		struct gisa_delivery del;
		uint32_t run = 1;

		/* The first ISC with a list entry; only it enabled on vcpu 0. */
		while (isc < 16 && !base->lists[isc % 8].n)
			isc++;
		if (isc == 16) {
			ok = false;
			break;
		}
		isc %= 8;
		t_vcpu_set(vm, 0, GISA_PSW_MASK_IO, 0, GISA_CR6_ISC(isc), 0, GISA_VCPU_RUNNING);
		a = img_of(vm);
		assert_int_equal(gisa_vcpu_deliver(vm, 0, &del), 1);
		assert_int_equal(del.kind, GISA_DELIVER_IO);
		b = img_of(vm);
		l = &a->lists[isc];
		assert_true(entry_eq(&b->lists[isc].e[0], l->n > 1 ? &l->e[1] : &b->lists[isc].e[0]));
		/* Equal entries at the head are matched first: the last of them goes. */
		while (run < l->n && entry_eq(&l->e[run], &l->e[0]))
			run++;
		snprintf(path, sizeof(path), "lists[%u][%" PRIu32 "]", isc, run - 1);
		io_text(&l->e[0], t, sizeof(t));
		want_add(ws, GISA_DIFF_LISTS, GISA_DIFF_REMOVED, isc, run - 1, -1, path, t, NULL);
		want_incidental_vcpus(ws, a, b);
		break;
	}
	case CH_MASK: {
		uint32_t i;

		a = img_of(vm);
		for (i = 0; i < a->nr_adapters; i++)
			if (a->adapters[i].a.maskable && !a->adapters[i].a.masked)
				break;
		if (i == a->nr_adapters) {
			ok = false;
			b = img_dup(a);
			break;
		}
		assert_int_equal(t_modify(vm, a->adapters[i].a.id, GISA_IO_ADAPTER_MASK, 1, 0), 0);
		b = img_of(vm);
		snprintf(path, sizeof(path), "adapters[%" PRIu32 "].masked", a->adapters[i].a.id);
		want_chg(ws, GISA_DIFF_ADAPTERS, a->adapters[i].a.id, path, "false", "true");
		break;
	}
	case CH_AIS: {
		a = img_of(vm);
		while (isc < 16 && (a->fl.simm | a->fl.nimm) & GISA_ISC_BIT(isc % 8))
			isc++;
		if (!(a->config.caps & GISA_CAP_AIS) || isc == 16) {
			ok = false;
			b = img_dup(a);
			break;
		}
		isc %= 8;
		assert_int_equal(t_aism(vm, (uint8_t)isc, GISA_AIS_MODE_SINGLE), 0);
		b = img_of(vm);
		snprintf(path, sizeof(path), "ais.simm.isc%u", isc);
		want_chg(ws, GISA_DIFF_AIS, isc, path, "0", "1");
		break;
	}
	case CH_SUMMARY: {
		uint64_t gpa = 0;
		uint8_t v = 0;

		a = img_of(vm);
		for (uint32_t p = 0; !v && p < a->nr_pages; p++)
			for (uint32_t o = 0; !v && o < GISA_PAGE_SIZE; o++)
				if (a->pages[p].data[o]) {
					gpa = a->pages[p].gpa + o;
					v = a->pages[p].data[o];
				}
		if (!v) {
			ok = false;
			b = img_dup(a);
			break;
		}
		t_mem_set_byte(vm, gpa, 0);
		b = img_of(vm);
		snprintf(path, sizeof(path), "pages[0x%" PRIx64 "]", gpa);
		snprintf(t, sizeof(t), "0x%02x", v);
		want_chg(ws, GISA_DIFF_PAGES, gpa, path, t, "0x00");
		break;
	}
	default: {
		struct gisa_vcpu_state st;
		uint32_t idx = seed % base->nr_vcpus;

		assert_int_equal(gisa_vcpu_get(vm, idx, &st), 0);
		a = img_of(vm);
		st.cr0 ^= GISA_CR0_EMERGENCY;
		assert_int_equal(gisa_vcpu_set(vm, idx, &st), 0);
		b = img_of(vm);
		want_incidental_vcpus(ws, a, b);
		assert_true(ws->n >= 1);
		break;
	}
	}
	if (!a) {
		a = img_dup(base);
		b = img_dup(base);
	}
	gisa_vm_free(vm);
	gisa_host_free(host);
	*ret_a = a;
	*ret_b = b;
	return ok;
}

static void test_random_known_changes(void **state)
{
	unsigned applied[NR_CHANGES] = { 0 };

	(void)state;
	for (uint32_t s = 0; s < NR_SEEDS; s++) {
		struct gisa_host *host;
		struct driver dr;
		struct gisa_vm *vm = random_vm(&host, s, &dr);
		struct gisa_image *base = img_of(vm);

		for (unsigned ch = 0; ch < NR_CHANGES; ch++) {
			struct gisa_image *a, *b;
			struct wants ws;

			if (apply_change(ch, s, base, &a, &b, &ws)) {
				applied[ch]++;
				expect_diff(a, b, &ws);
			}
			gisa_image_free(a);
			gisa_image_free(b);
		}
		gisa_image_free(base);
		t_vm_free(vm, host);
	}
	for (unsigned ch = 0; ch < NR_CHANGES; ch++) {
		if (applied[ch] < NR_SEEDS / 4)
			print_message("change %u applied %u times\n", ch, applied[ch]);
		assert_true(applied[ch] >= NR_SEEDS / 4);
	}
}

/* ---- list alignment ----------------------------------------------------- */

static double now(void)
{
	struct timespec ts;

	timespec_get(&ts, TIME_UTC);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * diff_ok, timed: the time is printed beside the expectation, never
 * asserted (figures belong to benchmarks; a loaded machine is no failure).
 */
static struct gisa_diff *diff_timed(const struct gisa_image *a, const struct gisa_image *b,
				    const char *what, double limit)
{
	double t0 = now(), dt;
	struct gisa_diff *d = diff_ok(a, b);

	dt = now() - t0;
	print_message("  %s: %zu entries in %.3f s (expected well under %.1f s)\n", what,
		      gisa_diff_count(d), dt, limit);
	return d;
}

static void assert_entry(const struct gisa_diff *d, size_t i, enum gisa_diff_kind kind,
			 int64_t pa, int64_t pb, const char *path)
{
	const struct gisa_diff_entry *e = gisa_diff_entry(d, i);

	assert_non_null(e);
	assert_int_equal(e->section, GISA_DIFF_LISTS);
	assert_int_equal(e->kind, kind);
	assert_int_equal(e->pos_a, pa);
	assert_int_equal(e->pos_b, pb);
	assert_string_equal(e->path, path);
}

static void test_max_lists(void **state)
{
	const uint32_t n = GISA_MAX_FLOAT_IRQS, mid = n / 2, slide = 10000;
	struct gisa_image *a = img_list(3, n, 0), *b = img_dup(a), *c;
	struct gisa_diff *d;
	char path[64];

	(void)state;
	/* One entry's parameter. */
	b->lists[3].e[mid].u.io.io_int_parm = 0xdead;
	d = diff_timed(a, b, "266250 entries, one changed", 0.5);
	assert_int_equal(gisa_diff_count(d), 1);
	snprintf(path, sizeof(path), "lists[3][%" PRIu32 "].parm", mid);
	assert_entry(d, 0, GISA_DIFF_CHANGED, mid, mid, path);
	gisa_diff_free(d);
	gisa_image_free(b);

	/* One removed from the middle. */
	c = img_list(3, n - 1, 0);
	memmove(&c->lists[3].e[mid], &a->lists[3].e[mid + 1],
		(n - mid - 1) * sizeof(*c->lists[3].e));
	d = diff_timed(a, c, "266250 entries, one removed", 0.5);
	assert_int_equal(gisa_diff_count(d), 1);
	snprintf(path, sizeof(path), "lists[3][%" PRIu32 "]", mid);
	assert_entry(d, 0, GISA_DIFF_REMOVED, mid, -1, path);
	gisa_diff_free(d);

	/* Deliver one, enqueue one. */
	assert_int_equal(gisa_image_set_list(c, 3, n), 0);
	memcpy(c->lists[3].e, &a->lists[3].e[1], (n - 1) * sizeof(*c->lists[3].e));
	c->lists[3].e[n - 1] = io_entry(2, 1, 0xfffff, 3);
	d = diff_timed(a, c, "266250 entries, deliver one and enqueue one", 0.5);
	assert_int_equal(gisa_diff_count(d), 2);
	assert_entry(d, 0, GISA_DIFF_REMOVED, 0, -1, "lists[3][0]");
	snprintf(path, sizeof(path), "lists[3][%" PRIu32 "]", n - 1);
	assert_entry(d, 1, GISA_DIFF_ADDED, -1, n - 1, path);
	gisa_diff_free(d);

	/*
	 * Slid by 10,000: beyond the exact search, the fallback finds the
	 * overlap; 10,000 removed at the front, 10,000 added at the back.
	 */
	memcpy(c->lists[3].e, &a->lists[3].e[slide], (n - slide) * sizeof(*c->lists[3].e));
	for (uint32_t i = n - slide; i < n; i++)
		c->lists[3].e[i] = io_entry(2, (uint16_t)i, 0x1000000 + i, 3);
	d = diff_timed(a, c, "266250 entries, slid by 10000", 1.0);
	assert_int_equal(gisa_diff_count(d), 2 * slide);
	for (uint32_t i = 0; i < slide; i++) {
		snprintf(path, sizeof(path), "lists[3][%" PRIu32 "]", i);
		assert_entry(d, i, GISA_DIFF_REMOVED, i, -1, path);
		snprintf(path, sizeof(path), "lists[3][%" PRIu32 "]", n - slide + i);
		assert_entry(d, slide + i, GISA_DIFF_ADDED, -1, n - slide + i, path);
	}
	gisa_diff_free(d);
	d = diff_timed(c, a, "266250 entries, slid back", 1.0);
	assert_int_equal(gisa_diff_count(d), 2 * slide);
	gisa_diff_free(d);

	gisa_image_free(a);
	gisa_image_free(c);
}

/*
 * Beyond the exact search, with unique entries: 1,775 entries removed all
 * over a maximum list and 3 inserted; the anchored fallback finds exactly
 * those.  With a fixed parameter per subchannel (no unique entries) a
 * slide is found by the overlap.
 */
static void test_max_fallbacks(void **state)
{
	const uint32_t n = GISA_MAX_FLOAT_IRQS, slide = 10000;
	struct gisa_image *a = img_list(3, n, 0), *b = NULL;
	struct gisa_diff *d;
	uint32_t o = 0, nd = 0;
	size_t k = 0;
	char path[64];

	(void)state;
	for (uint32_t i = 0; i < n; i++)
		nd += i % 150 == 75;
	assert_int_equal(gisa_image_new(&b), 0);
	assert_int_equal(gisa_image_set_list(b, 3, n - nd + 3), 0);
	for (uint32_t i = 0; i < n; i++) {
		if (i % 150 == 75)
			continue;
		if (i == 1000 || i == 100000 || i == 200000)
			b->lists[3].e[o++] = io_entry(3, 1, 0x900000 + i, 3);
		b->lists[3].e[o++] = a->lists[3].e[i];
	}
	assert_int_equal(o, n - nd + 3);
	assert_true(nd > GISA_DIFF_EXACT_EDITS);
	d = diff_timed(a, b, "266250 entries, 1775 removed and 3 added all over", 1.0);
	assert_int_equal(gisa_diff_count(d), nd + 3);
	o = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (i == 1000 || i == 100000 || i == 200000) {
			snprintf(path, sizeof(path), "lists[3][%" PRIu32 "]", o);
			assert_entry(d, k++, GISA_DIFF_ADDED, -1, o, path);
			o++;
		}
		if (i % 150 == 75) {
			snprintf(path, sizeof(path), "lists[3][%" PRIu32 "]", i);
			assert_entry(d, k++, GISA_DIFF_REMOVED, i, -1, path);
			continue;
		}
		o++;
	}
	assert_int_equal(k, nd + 3);
	gisa_diff_free(d);
	gisa_image_free(a);
	gisa_image_free(b);

	/* 4,096 subchannels, each with its own fixed parameter, slid by 10,000. */
	a = img_list(3, n, 0);
	b = img_list(3, n, 0);
	for (uint32_t i = 0; i < n; i++) {
		a->lists[3].e[i] = io_entry(1, (uint16_t)(i % 4096), 0x7000 + i % 4096, 3);
		b->lists[3].e[i] = io_entry(1, (uint16_t)((i + slide) % 4096),
					    0x7000 + (i + slide) % 4096, 3);
	}
	for (uint32_t i = n - slide; i < n; i++)
		b->lists[3].e[i] = io_entry(2, 1, 0xbeef, 3);
	d = diff_timed(a, b, "266250 entries of 4096 subchannels, slid by 10000", 1.0);
	assert_int_equal(gisa_diff_count(d), 2 * slide);
	assert_entry(d, 0, GISA_DIFF_REMOVED, 0, -1, "lists[3][0]");
	assert_entry(d, slide - 1, GISA_DIFF_REMOVED, slide - 1, -1, "lists[3][9999]");
	snprintf(path, sizeof(path), "lists[3][%" PRIu32 "]", n - slide);
	assert_entry(d, slide, GISA_DIFF_ADDED, -1, n - slide, path);
	gisa_diff_free(d);
	check_pair(a, b);
	gisa_image_free(a);
	gisa_image_free(b);
}

/* The maximum over all eight ISCs, fixed parameter per subchannel, one entry changed. */
static void test_max_all_iscs(void **state)
{
	struct gisa_image *a = NULL, *b;
	struct gisa_diff *d;
	uint32_t per = GISA_MAX_FLOAT_IRQS / 8, k = 0;

	(void)state;
	assert_int_equal(gisa_image_new(&a), 0);
	for (unsigned isc = 0; isc < 8; isc++) {
		uint32_t n = isc < 7 ? per : GISA_MAX_FLOAT_IRQS - 7 * per;

		assert_int_equal(gisa_image_set_list(a, isc, n), 0);
		for (uint32_t i = 0; i < n; i++, k++)
			a->lists[isc].e[i] = io_entry((uint16_t)(k % 4096 >> 3), (uint16_t)(k % 4096),
						      0x5000 + k % 4096, isc);
	}
	b = img_dup(a);
	b->lists[6].e[1234].u.io.io_int_word |= GISA_IO_WORD_AI;
	d = diff_timed(a, b, "266250 entries on 8 ISCs, one changed", 0.5);
	assert_int_equal(gisa_diff_count(d), 1);
	assert_entry(d, 0, GISA_DIFF_CHANGED, 1234, 1234, "lists[6][1234].word");
	assert_string_equal(gisa_diff_entry(d, 0)->a, "0x30000000");
	assert_string_equal(gisa_diff_entry(d, 0)->b, "0xb0000000");
	gisa_diff_free(d);
	gisa_image_free(a);
	gisa_image_free(b);
}

static void test_alignment(void **state)
{
	const uint32_t n = 5000, rev = 2000;
	struct gisa_image *a = img_list(1, n, 0), *b = img_list(1, n - 1, 0), *c;
	struct gisa_diff *d;
	uint32_t o = 0;
	char path[64];

	(void)state;
	/*
	 * Scattered edits within the exact search: remove 10, insert before
	 * 100, remove 2000, insert before 3000, remove 4000, change 4500.
	 */
	for (uint32_t i = 0; i < n; i++) {
		if (i == 10 || i == 2000 || i == 4000)
			continue;
		if (i == 100 || i == 3000)
			b->lists[1].e[o++] = io_entry(3, (uint16_t)i, 0x800000 + i, 1);
		b->lists[1].e[o] = a->lists[1].e[i];
		if (i == 4500)
			b->lists[1].e[o].u.io.io_int_parm = 0x777777;
		o++;
	}
	assert_int_equal(o, n - 1);
	d = diff_ok(a, b);
	assert_int_equal(gisa_diff_count(d), 6);
	assert_entry(d, 0, GISA_DIFF_REMOVED, 10, -1, "lists[1][10]");
	assert_entry(d, 1, GISA_DIFF_ADDED, -1, 99, "lists[1][99]");
	assert_entry(d, 2, GISA_DIFF_REMOVED, 2000, -1, "lists[1][2000]");
	assert_entry(d, 3, GISA_DIFF_ADDED, -1, 2999, "lists[1][2999]");
	assert_entry(d, 4, GISA_DIFF_REMOVED, 4000, -1, "lists[1][4000]");
	assert_entry(d, 5, GISA_DIFF_CHANGED, 4500, 4499, "lists[1][4500].parm");
	assert_string_equal(gisa_diff_entry(d, 5)->a, "0x1194");
	assert_string_equal(gisa_diff_entry(d, 5)->b, "0x777777");
	gisa_diff_free(d);
	check_pair(a, b);
	gisa_image_free(b);

	/*
	 * Reversed (beyond the exact search): the fallback matches the one
	 * overlapping entry and pairs every other as MOVED.
	 */
	b = img_list(1, rev, 0);
	c = img_list(1, rev, 0);
	for (uint32_t i = 0; i < rev; i++)
		c->lists[1].e[i] = b->lists[1].e[rev - 1 - i];
	d = diff_timed(b, c, "2000 entries reversed", 1.0);
	assert_int_equal(gisa_diff_count(d), rev - 1);
	for (uint32_t i = 0; i < rev - 1; i++) {
		snprintf(path, sizeof(path), "lists[1][%" PRIu32 "]", i);
		assert_entry(d, i, GISA_DIFF_MOVED, i, rev - 1 - i, path);
	}
	gisa_diff_free(d);
	check_pair(b, c);

	/* Completely different lists of different lengths: changed pairs, then added. */
	gisa_image_free(c);
	c = img_list(1, rev + 3, 0x100000);
	d = diff_ok(b, c);
	assert_int_equal(gisa_diff_count(d), rev + 3);
	assert_entry(d, 0, GISA_DIFF_CHANGED, 0, 0, "lists[1][0].parm");
	assert_entry(d, rev, GISA_DIFF_ADDED, -1, rev, "lists[1][2000]");
	gisa_diff_free(d);
	check_pair(b, c);

	gisa_image_free(a);
	gisa_image_free(b);
	gisa_image_free(c);
}

/* ---- size cap ----------------------------------------------------------- */

static void test_truncated(void **state)
{
	const uint32_t np = 300;
	const uint64_t total = (uint64_t)np * GISA_PAGE_SIZE;
	struct gisa_image *a = NULL, *b = NULL;
	const struct gisa_diff_entry *e;
	struct gisa_diff *d;
	char path[64];

	(void)state;
	assert_int_equal(gisa_image_new(&a), 0);
	assert_int_equal(gisa_image_new(&b), 0);
	assert_int_equal(gisa_image_set_counts(a, 0, 0, 0, np, 0), 0);
	for (uint32_t p = 0; p < np; p++) {
		a->pages[p].gpa = 0x100000 + (uint64_t)p * GISA_PAGE_SIZE;
		memset(a->pages[p].data, 0xff, GISA_PAGE_SIZE);
	}
	assert_int_equal(gisa_image_set_list(b, 0, 1), 0);
	b->lists[0].e[0] = io_entry(1, 1, 1, 0);
	d = diff_ok(a, b);
	assert_true(total > GISA_DIFF_MAX_ENTRIES);
	assert_int_equal(gisa_diff_count(d), GISA_DIFF_MAX_ENTRIES);
	assert_int_equal(gisa_diff_total(d), total + 1);
	assert_int_equal(gisa_diff_section_total(d, GISA_DIFF_LISTS), 1);
	assert_int_equal(gisa_diff_section_total(d, GISA_DIFF_PAGES), total);
	/* The first entries in order are kept. */
	e = gisa_diff_entry(d, 0);
	assert_int_equal(e->section, GISA_DIFF_LISTS);
	e = gisa_diff_entry(d, 1);
	assert_string_equal(e->path, "pages[0x100000]");
	assert_string_equal(e->a, "0xff");
	assert_string_equal(e->b, "0x00");
	e = gisa_diff_entry(d, GISA_DIFF_MAX_ENTRIES - 1);
	snprintf(path, sizeof(path), "pages[0x%" PRIx64 "]",
		 0x100000 + (uint64_t)GISA_DIFF_MAX_ENTRIES - 2);
	assert_string_equal(e->path, path);
	assert_int_equal(e->key, 0x100000 + (uint64_t)GISA_DIFF_MAX_ENTRIES - 2);
	assert_null(gisa_diff_entry(d, GISA_DIFF_MAX_ENTRIES));
	gisa_diff_free(d);
	gisa_image_free(a);
	gisa_image_free(b);
}

/*
 * gisa_snap_diff on files: equal states diff empty whatever their
 * headers and compression; a file whose payload is damaged but whose
 * stored digest is the other's is an error, not equal; different states
 * give exactly the image diff; a broken container is an error.
 */
static void test_snap_files(void **state)
{
	struct gisa_host *host = NULL;
	struct gisa_vm *vm = vm_rich(&host);
	struct gisa_image *a = img_of(vm), *b;
	struct gisa_snap_opts stored = { .compress = false };
	struct gisa_snap_meta meta = { .vm_name = "other", .created_unix_ns = 42 };
	struct gisa_snap_error err;
	struct gisa_diff *d, *want;
	uint8_t *fa, *fb;
	size_t la, lb;

	(void)state;
	assert_int_equal(gisa_snap_encode(a, NULL, NULL, &fa, &la), 0);
	assert_int_equal(gisa_snap_encode(a, &meta, &stored, &fb, &lb), 0);
	/* Equal state, different header and compression: empty. */
	assert_int_equal(gisa_snap_diff(fa, la, fb, lb, &d, &err), 0);
	assert_int_equal(gisa_diff_count(d), 0);
	gisa_diff_free(d);
	/* Garbage in b's stored payload, digest untouched: refused, by its digest. */
	memset(fb + GISA_SNAP_PREAMBLE_SIZE + (lb - GISA_SNAP_PREAMBLE_SIZE) / 2, 0xee, 16);
	d = NULL;
	assert_int_equal(gisa_snap_diff(fa, la, fb, lb, &d, &err), -EBADMSG);
	assert_null(d);
	assert_non_null(strstr(err.msg, "digest"));
	assert_int_equal(gisa_snap_diff(fb, lb, fa, la, &d, &err), -EBADMSG);
	assert_null(d);
	free(fb);

	/* A different state: the same entries as the image diff. */
	assert_int_equal(t_enq1(vm, t_io(2, 99, 0x99, 5)), 0);
	b = img_of(vm);
	assert_int_equal(gisa_snap_encode(b, NULL, NULL, &fb, &lb), 0);
	assert_int_equal(gisa_snap_diff(fa, la, fb, lb, &d, &err), 0);
	assert_int_equal(gisa_diff_images(a, b, &want), 0);
	assert_true(gisa_diff_count(want) > 0);
	assert_int_equal(gisa_diff_count(d), gisa_diff_count(want));
	for (size_t i = 0; i < gisa_diff_count(d); i++)
		assert_string_equal(gisa_diff_entry(d, i)->path, gisa_diff_entry(want, i)->path);
	gisa_diff_free(d);
	gisa_diff_free(want);

	/* A broken container is an error naming it. */
	fb[0] ^= 0xff;
	assert_int_equal(gisa_snap_diff(fa, la, fb, lb, &d, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "magic"));

	free(fa);
	free(fb);
	gisa_image_free(a);
	gisa_image_free(b);
	t_vm_free(vm, host);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identical),
		cmocka_unit_test(test_snap_files),
		cmocka_unit_test(test_api),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_float),
		cmocka_unit_test(test_ais),
		cmocka_unit_test(test_lists_added_removed),
		cmocka_unit_test(test_lists_changed),
		cmocka_unit_test(test_lists_moved),
		cmocka_unit_test(test_lists_ext_and_order),
		cmocka_unit_test(test_gisa),
		cmocka_unit_test(test_adapters),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_memslots),
		cmocka_unit_test(test_pages),
		cmocka_unit_test(test_vcpus),
		cmocka_unit_test(test_random_pairs),
		cmocka_unit_test(test_random_known_changes),
		cmocka_unit_test(test_max_lists),
		cmocka_unit_test(test_max_fallbacks),
		cmocka_unit_test(test_max_all_iscs),
		cmocka_unit_test(test_alignment),
		cmocka_unit_test(test_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
