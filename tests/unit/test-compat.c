/* SPDX-License-Identifier: MIT */
/*
 * Compatibility check and conversion (compat.h): every verdict and every
 * change kind with its exact location, the stable order, and that the
 * converted image builds on the destination and behaves as the changes
 * say (deliveries, kicks, maps), cross-checked against the KVM route
 * (GET_ALL_IRQS on the source, ENQUEUE on the destination).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <gisa/compat.h>
#include <gisa/convert.h>
#include <gisa/image.h>

#include "support.h"

/* ---- helpers -------------------------------------------------------------- */

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rn(struct rng *r, uint32_t n)
{
	return (uint32_t)(rnd(r) % n);
}

static struct gisa_vm *vm_new(struct gisa_host *host, enum gisa_profile profile, uint32_t caps,
			      uint32_t nr_vcpus)
{
	struct gisa_vm_config cfg = { .profile = profile, .caps = caps, .nr_vcpus = nr_vcpus };
	struct gisa_vm *vm = NULL;

	assert_int_equal(gisa_vm_new(host, &cfg, &vm), 0);
	assert_int_equal(gisa_flic_create(vm), 0);
	assert_int_equal(gisa_mem_set_slot(vm, 0, 0, 1u << 20), 0);
	return vm;
}

static int inject(struct gisa_vm *vm, struct gisa_irq irq)
{
	return gisa_vm_inject(vm, &irq);
}

static struct gisa_image *image_of(struct gisa_vm *vm)
{
	struct gisa_image *img = NULL;

	assert_int_equal(gisa_image_from_vm(vm, &img), 0);
	return img;
}

static void io_eq(const struct gisa_io_info *a, const struct gisa_io_info *b)
{
	assert_int_equal(a->subchannel_id, b->subchannel_id);
	assert_int_equal(a->subchannel_nr, b->subchannel_nr);
	assert_int_equal(a->io_int_parm, b->io_int_parm);
	assert_int_equal(a->io_int_word, b->io_int_word);
}

static void lists_eq(const struct gisa_image *a, const struct gisa_image *b)
{
	for (unsigned l = 0; l < GISA_NR_LISTS; l++) {
		assert_int_equal(a->lists[l].n, b->lists[l].n);
		for (uint32_t i = 0; i < a->lists[l].n; i++) {
			const struct gisa_list_entry *x = &a->lists[l].e[i], *y = &b->lists[l].e[i];

			if (l <= GISA_MAX_ISC) {
				assert_int_equal(x->type, y->type);
				io_eq(&x->u.io, &y->u.io);
			} else {
				assert_int_equal(x->u.ext.ext_params, y->u.ext.ext_params);
				assert_int_equal(x->u.ext.pad, y->u.ext.pad);
				assert_int_equal(x->u.ext.ext_params2, y->u.ext.ext_params2);
			}
		}
	}
}

static void fl_eq(const struct gisa_float_image *a, const struct gisa_float_image *b)
{
	assert_int_equal(a->flic_present, b->flic_present);
	assert_int_equal(a->apf_enabled, b->apf_enabled);
	assert_int_equal(a->service_pending, b->service_pending);
	assert_int_equal(a->service_ev_pending, b->service_ev_pending);
	assert_int_equal(a->mchk_pending, b->mchk_pending);
	assert_int_equal(a->srv_ext_params, b->srv_ext_params);
	assert_int_equal(a->mchk_cr14, b->mchk_cr14);
	assert_int_equal(a->mchk_mcic, b->mchk_mcic);
	assert_int_equal(a->simm, b->simm);
	assert_int_equal(a->nimm, b->nimm);
	assert_int_equal(a->kick_cursor, b->kick_cursor);
}

static void gisa_eq(const struct gisa_state_gisa *a, const struct gisa_state_gisa *b)
{
	assert_int_equal(a->present, b->present);
	assert_int_equal(a->ipm, b->ipm);
	assert_int_equal(a->iam, b->iam);
	assert_int_equal(a->alert_mask, b->alert_mask);
	for (unsigned i = 0; i <= GISA_MAX_ISC; i++)
		assert_int_equal(a->refcount[i], b->refcount[i]);
	assert_int_equal(a->on_alert_list, b->on_alert_list);
	assert_int_equal(a->timer_armed, b->timer_armed);
	assert_int_equal(a->timer_delay_ns, b->timer_delay_ns);
}

/* Everything but config.profile and the GISA capability bit. */
static void rest_eq(const struct gisa_image *a, const struct gisa_image *b)
{
	assert_int_equal(a->config.nr_vcpus, b->config.nr_vcpus);
	assert_int_equal(a->config.mem_cap, b->config.mem_cap);
	assert_int_equal(a->config.abi_order, b->config.abi_order);
	assert_int_equal(a->config.caps & GISA_CAP_AIS, b->config.caps & GISA_CAP_AIS);
	fl_eq(&a->fl, &b->fl);
	assert_int_equal(a->nr_adapters, b->nr_adapters);
	for (uint32_t k = 0; k < a->nr_adapters; k++) {
		const struct gisa_state_adapter *x = &a->adapters[k].a, *y = &b->adapters[k].a;

		assert_int_equal(x->id, y->id);
		assert_int_equal(x->isc, y->isc);
		assert_int_equal(x->maskable, y->maskable);
		assert_int_equal(x->masked, y->masked);
		assert_int_equal(x->swap, y->swap);
		assert_int_equal(x->suppressible, y->suppressible);
	}
	assert_int_equal(a->nr_routes, b->nr_routes);
	for (uint32_t k = 0; k < a->nr_routes; k++) {
		assert_int_equal(a->routes[k].gsi, b->routes[k].gsi);
		assert_int_equal(a->routes[k].type, b->routes[k].type);
		assert_int_equal(a->routes[k].flags, b->routes[k].flags);
		assert_memory_equal(&a->routes[k].adapter, &b->routes[k].adapter,
				    sizeof(a->routes[k].adapter));
	}
	assert_int_equal(a->nr_memslots, b->nr_memslots);
	for (uint32_t k = 0; k < a->nr_memslots; k++) {
		assert_int_equal(a->memslots[k].slot, b->memslots[k].slot);
		assert_int_equal(a->memslots[k].gpa, b->memslots[k].gpa);
		assert_int_equal(a->memslots[k].size, b->memslots[k].size);
	}
	assert_int_equal(a->nr_pages, b->nr_pages);
	for (uint32_t k = 0; k < a->nr_pages; k++) {
		assert_int_equal(a->pages[k].gpa, b->pages[k].gpa);
		assert_memory_equal(a->pages[k].data, b->pages[k].data, GISA_PAGE_SIZE);
	}
	assert_int_equal(a->nr_vcpus, b->nr_vcpus);
	for (uint32_t k = 0; k < a->nr_vcpus; k++) {
		assert_int_equal(a->vcpus[k].psw_mask, b->vcpus[k].psw_mask);
		assert_int_equal(a->vcpus[k].cr0, b->vcpus[k].cr0);
		assert_int_equal(a->vcpus[k].cr6, b->vcpus[k].cr6);
		assert_int_equal(a->vcpus[k].cr14, b->vcpus[k].cr14);
		assert_int_equal(a->vcpus[k].run, b->vcpus[k].run);
		assert_int_equal(a->vcpus[k].kicked, b->vcpus[k].kicked);
	}
}

static void maps_eq(const struct gisa_image *a, const struct gisa_image *b)
{
	for (uint32_t k = 0; k < a->nr_adapters; k++) {
		assert_int_equal(a->adapters[k].a.nr_maps, b->adapters[k].a.nr_maps);
		if (a->adapters[k].a.nr_maps)
			assert_memory_equal(a->adapters[k].maps, b->adapters[k].maps,
					    a->adapters[k].a.nr_maps * sizeof(uint64_t));
	}
}

/* The whole image. */
static void image_eq(const struct gisa_image *a, const struct gisa_image *b)
{
	assert_int_equal(a->config.profile, b->config.profile);
	assert_int_equal(a->config.caps, b->config.caps);
	rest_eq(a, b);
	maps_eq(a, b);
	lists_eq(a, b);
	gisa_eq(&a->gisa, &b->gisa);
}

struct want {
	enum gisa_compat_kind kind;
	const char *section;
	uint32_t key;
	uint64_t index;
	uint64_t value;
};

static enum gisa_compat_verdict severity_of(enum gisa_compat_kind k)
{
	switch (k) {
	case GISA_CHANGE_IPM_TO_LIST:
	case GISA_CHANGE_AI_TO_IPM:
	case GISA_CHANGE_MAPS_DROPPED:
	case GISA_CHANGE_KICK_CURSOR:
		return GISA_COMPAT_LOSSY;
	default:
		return GISA_COMPAT_IMPOSSIBLE;
	}
}

/* The report lists exactly these changes, in this order, with this verdict. */
static void expect(const struct gisa_compat_report *r, enum gisa_compat_verdict verdict,
		   const struct want *w, size_t n)
{
	const char *reason = NULL;

	assert_int_equal(r->verdict, verdict);
	assert_int_equal(r->nr_changes, n);
	for (size_t i = 0; i < n; i++) {
		const struct gisa_compat_change *c = &r->changes[i];

		assert_int_equal(c->kind, w[i].kind);
		assert_int_equal(c->severity, severity_of(w[i].kind));
		assert_string_equal(c->section, w[i].section);
		assert_int_equal(c->key, w[i].key);
		assert_int_equal(c->index, w[i].index);
		assert_int_equal(c->value, w[i].value);
		assert_non_null(c->what);
		assert_true(strlen(c->what) > 10);
		if (!reason && c->severity == GISA_COMPAT_IMPOSSIBLE)
			reason = c->what;
	}
	if (verdict == GISA_COMPAT_IMPOSSIBLE) {
		assert_non_null(r->reason);
		assert_ptr_equal(r->reason, reason);
	} else {
		assert_null(r->reason);
	}
}

static void check(const struct gisa_image *img, enum gisa_profile p, uint32_t caps,
		  enum gisa_compat_verdict verdict, const struct want *w, size_t n)
{
	const struct gisa_compat_dest d = { p, caps };
	struct gisa_compat_report r;

	assert_int_equal(gisa_compat_check(img, &d, &r), 0);
	expect(&r, verdict, w, n);
	gisa_compat_report_release(&r);
	assert_null(r.changes);
}

/* Convert, check the output passes the image checks and builds on dest. */
static struct gisa_image *convert(const struct gisa_image *img, enum gisa_profile p,
				  uint32_t caps)
{
	const struct gisa_compat_dest d = { p, caps };
	struct gisa_restore_error err;
	struct gisa_image *out = NULL;
	struct gisa_host *host = NULL;
	struct gisa_vm *vm = NULL;

	assert_int_equal(gisa_compat_convert(img, &d, &out, NULL), 0);
	assert_int_equal(out->config.profile, p);
	assert_int_equal(out->config.caps & GISA_CAP_GISA, caps & GISA_CAP_GISA);
	assert_int_equal(gisa_image_check(out, &err), 0);
	assert_int_equal(gisa_host_new(NULL, &host), 0);
	assert_int_equal(gisa_image_build_vm(out, host, &vm, &err), 0);
	gisa_vm_free(vm);
	gisa_host_free(host);
	return out;
}

static void convert_impossible(const struct gisa_image *img, enum gisa_profile p, uint32_t caps,
			       const struct want *w, size_t n)
{
	const struct gisa_compat_dest d = { p, caps };
	struct gisa_image *out = (struct gisa_image *)0x1;
	struct gisa_compat_report r;

	assert_int_equal(gisa_compat_convert(img, &d, &out, &r), -EOPNOTSUPP);
	assert_ptr_equal(out, (struct gisa_image *)0x1);
	expect(&r, GISA_COMPAT_IMPOSSIBLE, w, n);
	gisa_compat_report_release(&r);
	assert_int_equal(gisa_compat_convert(img, &d, &out, NULL), -EOPNOTSUPP);
}

static struct gisa_vm *build(const struct gisa_image *img, struct gisa_host *host)
{
	struct gisa_vm *vm = NULL;

	assert_int_equal(gisa_image_build_vm(img, host, &vm, NULL), 0);
	return vm;
}

static void deliver_io(struct gisa_vm *vm, uint64_t type, const struct gisa_io_info *want)
{
	struct gisa_delivery d;

	assert_int_equal(gisa_vcpu_deliver(vm, 0, &d), 1);
	assert_int_equal(d.kind, GISA_DELIVER_IO);
	assert_int_equal(d.type, type);
	io_eq(&d.u.io, want);
}

static void deliver_none(struct gisa_vm *vm)
{
	struct gisa_delivery d;

	assert_int_equal(gisa_vcpu_deliver(vm, 0, &d), 0);
}

/* The KVM route: GET_ALL_IRQS of the source, ENQUEUE on the destination. */
static struct gisa_image *via_kvm(const struct gisa_image *img, enum gisa_profile p,
				  uint32_t caps, int *ret)
{
	struct gisa_vm_config cfg = img->config;
	struct gisa_image *out = NULL;
	struct gisa_kvm_flic k;

	cfg.profile = p;
	cfg.caps = (img->config.caps & GISA_CAP_AIS) | (caps & GISA_CAP_GISA);
	assert_int_equal(gisa_kvm_from_image(img, GISA_BE, &k, NULL), 0);
	*ret = gisa_kvm_to_image(k.irqs, k.nr_irqs * GISA_IRQ_SIZE, GISA_BE,
				 k.has_ais ? &k.ais : NULL, &cfg, &out, NULL);
	gisa_kvm_flic_release(&k);
	return out;
}

static struct gisa_io_info ai_io(unsigned isc)
{
	return (struct gisa_io_info){ .io_int_word = GISA_IO_WORD_AI | (uint32_t)isc << 27 };
}

/* ---- EXACT ---------------------------------------------------------------- */

/* A full NEWEST state (GISA, AIS, maps, routes, pages, vcpus) to itself. */
static void test_exact_same(void **state)
{
	struct gisa_host *host = NULL;
	struct gisa_vm *vm;
	struct gisa_image *img, *out;
	struct gisa_route_entry routes[2];

	(void)state;
	assert_int_equal(gisa_host_new(NULL, &host), 0);
	vm = vm_new(host, GISA_PROFILE_NEWEST, GISA_CAP_ALL, 3);
	assert_int_equal(t_register(vm, 3, 2, 1, 1, GISA_ADAPTER_SUPPRESSIBLE), 0);
	assert_int_equal(t_modify(vm, 3, GISA_IO_ADAPTER_MAP, 0, 0x10000), 0);
	assert_int_equal(t_modify(vm, 3, GISA_IO_ADAPTER_MASK, 1, 0), 0);
	routes[0] = t_route(1, 0x10000, 5, 0x20000, 0, 3);
	routes[1] = t_route(4, 0x10000, 6, 0x20000, 0, 3);
	assert_int_equal(gisa_routes_set(vm, routes, 2, 0), 0);
	assert_int_equal(gisa_route_trigger(vm, 1, 1), 1);
	assert_int_equal(t_aism(vm, 2, GISA_AIS_MODE_SINGLE), 0);
	assert_int_equal(gisa_gisc_register(vm, 4) >= 0, 1);
	assert_int_equal(inject(vm, t_ai(1)), 0);
	assert_int_equal(inject(vm, t_io(1, 2, 3, 1)), 0);
	assert_int_equal(inject(vm, t_srv(0x1001)), 0);
	t_vcpu_all_on(vm, 1);
	img = image_of(vm);
	assert_int_equal(img->nr_pages, 2);

	check(img, GISA_PROFILE_NEWEST, GISA_CAP_ALL, GISA_COMPAT_EXACT, NULL, 0);
	out = convert(img, GISA_PROFILE_NEWEST, GISA_CAP_ALL);
	image_eq(img, out);
	gisa_image_free(out);
	gisa_image_free(img);
	gisa_vm_free(vm);
	gisa_host_free(host);
}

/* AIS offered but not used: exact, and the image stays without AIS. */
static void test_exact_ais_offered(void **state)
{
	struct gisa_host *host = NULL;
	struct gisa_vm *vm;
	struct gisa_image *img, *out;

	(void)state;
	assert_int_equal(gisa_host_new(NULL, &host), 0);
	vm = vm_new(host, GISA_PROFILE_CLASSIC, 0, 2);
	assert_int_equal(inject(vm, t_ai(3)), 0);   /* a list entry: no GISA */
	assert_int_equal(inject(vm, t_virt(1, 2)), 0);
	img = image_of(vm);
	check(img, GISA_PROFILE_CLASSIC, GISA_CAP_AIS, GISA_COMPAT_EXACT, NULL, 0);
	out = convert(img, GISA_PROFILE_CLASSIC, GISA_CAP_AIS);
	assert_int_equal(out->config.caps, 0);
	image_eq(img, out);
	gisa_image_free(out);
	gisa_image_free(img);
	gisa_vm_free(vm);
	gisa_host_free(host);
}

/* A profile change with one vcpu and no maps or routes: nothing changes. */
static void test_exact_profile_one_vcpu(void **state)
{
	struct gisa_host *host = NULL;
	struct gisa_vm *vm;
	struct gisa_image *img, *out;

	(void)state;
	assert_int_equal(gisa_host_new(NULL, &host), 0);
	for (unsigned p = 0; p < 2; p++) {
		vm = vm_new(host, p, GISA_CAP_GISA, 1);
		assert_int_equal(inject(vm, t_io(1, 1, 1, 0)), 0);
		assert_int_equal(inject(vm, t_ai(0)), 0);
		img = image_of(vm);
		check(img, !p, GISA_CAP_GISA, GISA_COMPAT_EXACT, NULL, 0);
		out = convert(img, !p, GISA_CAP_GISA);
		rest_eq(img, out);
		lists_eq(img, out);
		gisa_eq(&img->gisa, &out->gisa);
		gisa_image_free(out);
		gisa_image_free(img);
		gisa_vm_free(vm);
	}
	gisa_host_free(host);
}

/* ---- LOSSY ---------------------------------------------------------------- */

/* GISA -> no GISA: IPM bits become AI entries at the front of their ISC. */
static void test_ipm_to_list(void **state)
{
	const struct gisa_irq c1 = t_io(0x0001, 1, 0xc1, 1), c2 = t_io(0x0001, 2, 0xc2, 1);
	const struct want w[] = {
		{ GISA_CHANGE_IPM_TO_LIST, "gisa.ipm", 1, 0, 2 },
		{ GISA_CHANGE_IPM_TO_LIST, "gisa.ipm", 5, 0, 0 },
	};
	const struct gisa_io_info ai1 = ai_io(1), ai5 = ai_io(5);
	struct gisa_host *host = NULL;
	struct gisa_vm *src, *dst;
	struct gisa_image *img, *out, *kvm;
	int r;

	(void)state;
	assert_int_equal(gisa_host_new(NULL, &host), 0);
	src = vm_new(host, GISA_PROFILE_CLASSIC, GISA_CAP_GISA, 1);
	assert_int_equal(inject(src, c1), 0);
	assert_int_equal(inject(src, t_ai(5)), 0);
	assert_int_equal(inject(src, t_ai(1)), 0);
	assert_int_equal(inject(src, c2), 0);
	img = image_of(src);
	assert_int_equal(img->gisa.ipm, 0x44);

	check(img, GISA_PROFILE_CLASSIC, 0, GISA_COMPAT_LOSSY, w, 2);
	out = convert(img, GISA_PROFILE_CLASSIC, 0);
	assert_int_equal(out->config.caps, 0);
	assert_false(out->gisa.present);
	assert_int_equal(out->gisa.ipm, 0);
	assert_int_equal(out->lists[1].n, 3);
	assert_int_equal(out->lists[1].e[0].type, GISA_INT_IO_AI_MASK);
	io_eq(&out->lists[1].e[0].u.io, &ai1);
	io_eq(&out->lists[1].e[1].u.io, &c1.u.io);
	io_eq(&out->lists[1].e[2].u.io, &c2.u.io);
	assert_int_equal(out->lists[5].n, 1);
	io_eq(&out->lists[5].e[0].u.io, &ai5);
	rest_eq(img, out);

	/* The same lists as GET on the source and ENQUEUE on the destination. */
	kvm = via_kvm(img, GISA_PROFILE_CLASSIC, 0, &r);
	assert_int_equal(r, 0);
	lists_eq(out, kvm);

	/* Deliveries: the AI now comes first; on the source it came after C1, C2. */
	dst = build(out, host);
	t_vcpu_all_on(dst, 0);
	deliver_io(dst, GISA_INT_IO_AI_MASK, &ai1);
	deliver_io(dst, c1.type, &c1.u.io);
	deliver_io(dst, c2.type, &c2.u.io);
	deliver_io(dst, GISA_INT_IO_AI_MASK, &ai5);
	deliver_none(dst);
	t_vcpu_all_on(src, 0);
	deliver_io(src, c1.type, &c1.u.io);
	deliver_io(src, c2.type, &c2.u.io);
	deliver_io(src, GISA_INT_IO_AI_MASK, &ai1);
	deliver_io(src, GISA_INT_IO_AI_MASK, &ai5);
	deliver_none(src);

	gisa_image_free(kvm);
	gisa_image_free(out);
	gisa_image_free(img);
	gisa_vm_free(dst);
	gisa_vm_free(src);
	gisa_host_free(host);
}

/* No GISA -> GISA: AI entries coalesce into IPM bits, payloads lost. */
static void test_ai_to_ipm(void **state)
{
	const struct gisa_irq d0 = t_io(0x0001, 7, 0xd, 0), c = t_io(0x0001, 8, 0xc, 2);
	struct gisa_irq ai2p = t_ai(2);
	const struct want w[] = {
		{ GISA_CHANGE_AI_TO_IPM, "lists", 2, 0, GISA_INT_IO_AI_MASK },
		{ GISA_CHANGE_AI_TO_IPM, "lists", 2, 2, GISA_INT_IO_AI_MASK },
		{ GISA_CHANGE_AI_TO_IPM, "lists", 6, 0, GISA_INT_IO_AI_MASK | 0x1234 },
	};
	const struct gisa_io_info ai2 = ai_io(2), ai6 = ai_io(6);
	struct gisa_irq ai6t = t_ai(6);
	struct gisa_host *host = NULL;
	struct gisa_vm *src, *dst;
	struct gisa_image *img, *out, *kvm;
	int r;

	(void)state;
	ai2p.u.io.io_int_parm = 0x55;
	ai2p.u.io.subchannel_nr = 9;
	ai6t.type |= 0x1234;   /* any I/O type with bit 26 is an AI record */
	assert_int_equal(gisa_host_new(NULL, &host), 0);
	src = vm_new(host, GISA_PROFILE_NEWEST, 0, 1);
	assert_int_equal(inject(src, t_ai(2)), 0);
	assert_int_equal(inject(src, c), 0);
	assert_int_equal(inject(src, ai2p), 0);
	assert_int_equal(inject(src, ai6t), 0);
	assert_int_equal(inject(src, d0), 0);
	img = image_of(src);

	check(img, GISA_PROFILE_NEWEST, GISA_CAP_GISA, GISA_COMPAT_LOSSY, w, 3);
	out = convert(img, GISA_PROFILE_NEWEST, GISA_CAP_GISA);
	assert_int_equal(out->config.caps, GISA_CAP_GISA);
	assert_true(out->gisa.present);
	assert_int_equal(out->gisa.ipm, 0x22);
	assert_int_equal(out->lists[0].n, 1);
	assert_int_equal(out->lists[2].n, 1);
	io_eq(&out->lists[2].e[0].u.io, &c.u.io);
	assert_int_equal(out->lists[6].n, 0);
	rest_eq(img, out);

	kvm = via_kvm(img, GISA_PROFILE_NEWEST, GISA_CAP_GISA, &r);
	assert_int_equal(r, 0);
	lists_eq(out, kvm);
	gisa_eq(&out->gisa, &kvm->gisa);

	/* Deliveries: the classic entry first, then one synthetic AI per ISC. */
	dst = build(out, host);
	t_vcpu_all_on(dst, 0);
	deliver_io(dst, d0.type, &d0.u.io);
	deliver_io(dst, c.type, &c.u.io);
	deliver_io(dst, GISA_INT_IO_AI_MASK, &ai2);
	deliver_io(dst, GISA_INT_IO_AI_MASK, &ai6);
	deliver_none(dst);

	gisa_image_free(kvm);
	gisa_image_free(out);
	gisa_image_free(img);
	gisa_vm_free(dst);
	gisa_vm_free(src);
	gisa_host_free(host);
}

/* NEWEST -> CLASSIC: MAP lists are dropped. */
static void test_maps_dropped(void **state)
{
	const struct want w[] = {
		{ GISA_CHANGE_MAPS_DROPPED, "adapters", 3, 0, 2 },
		{ GISA_CHANGE_MAPS_DROPPED, "adapters", 9, 2, 1 },
	};
	struct gisa_host *host = NULL;
	struct gisa_vm *src, *dst;
	struct gisa_image *img, *out;
	struct gisa_state_adapter a;

	(void)state;
	assert_int_equal(gisa_host_new(NULL, &host), 0);
	src = vm_new(host, GISA_PROFILE_NEWEST, 0, 1);
	assert_int_equal(t_register(src, 3, 1, 0, 1, 0), 0);
	assert_int_equal(t_register(src, 5, 1, 0, 1, 0), 0);
	assert_int_equal(t_register(src, 9, 1, 0, 1, 0), 0);
	assert_int_equal(t_modify(src, 3, GISA_IO_ADAPTER_MAP, 0, 0x10000), 0);
	assert_int_equal(t_modify(src, 3, GISA_IO_ADAPTER_MAP, 0, 0x11000), 0);
	assert_int_equal(t_modify(src, 9, GISA_IO_ADAPTER_MAP, 0, 0x12000), 0);
	img = image_of(src);

	check(img, GISA_PROFILE_CLASSIC, 0, GISA_COMPAT_LOSSY, w, 2);
	out = convert(img, GISA_PROFILE_CLASSIC, 0);
	for (uint32_t k = 0; k < out->nr_adapters; k++)
		assert_int_equal(out->adapters[k].a.nr_maps, 0);
	rest_eq(img, out);
	lists_eq(img, out);

	dst = build(out, host);
	assert_int_equal(gisa_state_adapter(dst, 3, &a), 0);
	assert_int_equal(a.nr_maps, 0);
	/* CLASSIC's UNMAP is a no-op; NEWEST's finds the mapped page. */
	assert_int_equal(t_modify(dst, 3, GISA_IO_ADAPTER_UNMAP, 0, 0x10000), 0);
	assert_int_equal(t_modify(src, 3, GISA_IO_ADAPTER_UNMAP, 0, 0x10000), 0);
	assert_int_equal(t_modify(src, 3, GISA_IO_ADAPTER_UNMAP, 0, 0x10000), -ENOENT);

	/* And the other way nothing is lost. */
	check(out, GISA_PROFILE_NEWEST, 0, GISA_COMPAT_EXACT, NULL, 0);
	gisa_image_free(out);
	gisa_image_free(img);
	gisa_vm_free(dst);
	gisa_vm_free(src);
	gisa_host_free(host);
}

static void expect_kick(struct gisa_vm *vm, uint32_t vcpu)
{
	struct gisa_event ev[4];

	assert_int_equal(gisa_vm_events_read(vm, ev, 4), 1);
	assert_int_equal(ev[0].kind, GISA_EV_KICK);
	assert_int_equal(ev[0].vcpu, vcpu);
}

/* A profile change with several vcpus: the kick cursor's meaning changes. */
static void test_kick_cursor(void **state)
{
	const struct want w[] = { { GISA_CHANGE_KICK_CURSOR, "kick_cursor", 0, 0, 2 } };
	struct gisa_event ev[8];
	struct gisa_host *host = NULL;
	struct gisa_vm *src, *dst;
	struct gisa_image *img, *out, *back;

	(void)state;
	assert_int_equal(gisa_host_new(NULL, &host), 0);
	src = vm_new(host, GISA_PROFILE_CLASSIC, 0, 3);
	assert_int_equal(inject(src, t_io(1, 1, 0, 0)), 0);
	assert_int_equal(inject(src, t_io(1, 2, 0, 0)), 0);
	(void)gisa_vm_events_read(src, ev, 8);
	t_vcpu_set(src, 0, 0, 0, 0, 0, GISA_VCPU_IDLE);
	img = image_of(src);
	assert_int_equal(img->fl.kick_cursor, 2);

	check(img, GISA_PROFILE_NEWEST, 0, GISA_COMPAT_LOSSY, w, 1);
	out = convert(img, GISA_PROFILE_NEWEST, 0);
	assert_int_equal(out->fl.kick_cursor, 2);
	rest_eq(img, out);
	lists_eq(img, out);

	/* CLASSIC kicks the idle vcpu 0 first; NEWEST starts at the cursor, vcpu 2. */
	dst = build(out, host);
	assert_int_equal(inject(src, t_io(1, 3, 0, 0)), 0);
	expect_kick(src, 0);
	assert_int_equal(inject(dst, t_io(1, 3, 0, 0)), 0);
	expect_kick(dst, 2);

	/* And back: NEWEST -> CLASSIC lists the cursor too. */
	check(out, GISA_PROFILE_CLASSIC, 0, GISA_COMPAT_LOSSY, w, 1);
	back = convert(out, GISA_PROFILE_CLASSIC, 0);
	image_eq(img, back);
	gisa_image_free(back);
	gisa_image_free(out);
	gisa_image_free(img);
	gisa_vm_free(dst);
	gisa_vm_free(src);
	gisa_host_free(host);
}

/* ---- IMPOSSIBLE ----------------------------------------------------------- */

static void test_ais_impossible(void **state)
{
	const struct want w1[] = {
		{ GISA_CHANGE_AIS_FACILITY, "config.caps", 0, 0, GISA_CAP_AIS },
	};
	const struct want w2[] = {
		{ GISA_CHANGE_AIS_FACILITY, "config.caps", 0, 0, GISA_CAP_ALL },
		{ GISA_CHANGE_AIS_MODE, "ais", 3, 0, 0x1014 },
		{ GISA_CHANGE_AIS_MODE, "ais", 5, 0, 0x1014 },
	};
	struct gisa_host *host = NULL;
	struct gisa_vm *vm;
	struct gisa_image *img;

	(void)state;
	assert_int_equal(gisa_host_new(NULL, &host), 0);
	vm = vm_new(host, GISA_PROFILE_CLASSIC, GISA_CAP_AIS, 1);
	img = image_of(vm);
	check(img, GISA_PROFILE_CLASSIC, GISA_CAP_GISA, GISA_COMPAT_IMPOSSIBLE, w1, 1);
	convert_impossible(img, GISA_PROFILE_CLASSIC, 0, w1, 1);
	check(img, GISA_PROFILE_CLASSIC, GISA_CAP_AIS, GISA_COMPAT_EXACT, NULL, 0);
	gisa_image_free(img);
	gisa_vm_free(vm);

	vm = vm_new(host, GISA_PROFILE_CLASSIC, GISA_CAP_ALL, 1);
	assert_int_equal(t_aism_all_set(vm, 0x10, 0x14), 0);
	img = image_of(vm);
	check(img, GISA_PROFILE_CLASSIC, GISA_CAP_GISA, GISA_COMPAT_IMPOSSIBLE, w2, 3);
	convert_impossible(img, GISA_PROFILE_CLASSIC, GISA_CAP_GISA, w2, 3);
	/* Why it is impossible: the engine refuses AIS state without the facility. */
	{
		struct gisa_image *naive;
		struct gisa_vm *nvm = NULL;
		struct gisa_restore_error err;

		assert_int_equal(gisa_image_dup(img, &naive), 0);
		naive->config.caps = GISA_CAP_GISA;
		assert_int_equal(gisa_image_build_vm(naive, host, &nvm, &err), -EINVAL);
		assert_string_equal(err.field, "simm");
		gisa_image_free(naive);
	}
	gisa_image_free(img);
	gisa_vm_free(vm);
	gisa_host_free(host);
}

static void test_gisa_registration(void **state)
{
	const struct want w[] = {
		{ GISA_CHANGE_GISA_REGISTRATION, "gisa.refcount", 3, 0, 2 },
		{ GISA_CHANGE_GISA_REGISTRATION, "gisa.refcount", 6, 0, 1 },
		{ GISA_CHANGE_GISA_IAM, "gisa.iam", 0, 0, 0x12 },
	};
	struct gisa_host *host = NULL;
	struct gisa_vm *vm;
	struct gisa_image *img;

	(void)state;
	assert_int_equal(gisa_host_new(NULL, &host), 0);
	vm = vm_new(host, GISA_PROFILE_NEWEST, GISA_CAP_GISA, 1);
	assert_true(gisa_gisc_register(vm, 3) >= 0);
	assert_true(gisa_gisc_register(vm, 3) >= 0);
	assert_true(gisa_gisc_register(vm, 6) >= 0);
	img = image_of(vm);
	assert_int_equal(img->gisa.iam, 0x12);
	check(img, GISA_PROFILE_NEWEST, 0, GISA_COMPAT_IMPOSSIBLE, w, 3);
	convert_impossible(img, GISA_PROFILE_NEWEST, GISA_CAP_AIS, w, 3);
	check(img, GISA_PROFILE_NEWEST, GISA_CAP_GISA, GISA_COMPAT_EXACT, NULL, 0);
	gisa_image_free(img);
	gisa_vm_free(vm);
	gisa_host_free(host);
}

/* The alert list, then the timer GAL processing starts, then the timer alone. */
static void test_gisa_alert_and_timer(void **state)
{
	const struct want w1[] = {
		{ GISA_CHANGE_IPM_TO_LIST, "gisa.ipm", 2, 0, 0 },
		{ GISA_CHANGE_GISA_REGISTRATION, "gisa.refcount", 2, 0, 1 },
		{ GISA_CHANGE_GISA_ALERT_LIST, "gisa.on_alert_list", 0, 0, 1 },
	};
	const struct want w2[] = {
		{ GISA_CHANGE_IPM_TO_LIST, "gisa.ipm", 2, 0, 0 },
		{ GISA_CHANGE_GISA_REGISTRATION, "gisa.refcount", 2, 0, 1 },
		{ GISA_CHANGE_GISA_TIMER, "gisa.timer", 0, 0, 0 },
	};
	const struct want w3[] = {
		{ GISA_CHANGE_IPM_TO_LIST, "gisa.ipm", 2, 0, 0 },
		{ GISA_CHANGE_GISA_TIMER, "gisa.timer", 0, 0, GISA_KICKER_DELAY_NS },
	};
	struct gisa_host *host = NULL;
	struct gisa_vm *vm;
	struct gisa_image *img;

	(void)state;
	assert_int_equal(gisa_host_new(NULL, &host), 0);
	vm = vm_new(host, GISA_PROFILE_CLASSIC, GISA_CAP_GISA, 1);
	assert_true(gisa_gisc_register(vm, 2) >= 0);
	assert_int_equal(gisa_gisa_hw_airq(vm, 2, false), 0);
	img = image_of(vm);
	assert_true(img->gisa.on_alert_list);
	assert_int_equal(img->gisa.iam, 0);
	check(img, GISA_PROFILE_CLASSIC, 0, GISA_COMPAT_IMPOSSIBLE, w1, 3);
	convert_impossible(img, GISA_PROFILE_CLASSIC, 0, w1, 3);
	gisa_image_free(img);

	assert_int_equal(gisa_host_process_alerts(host), 1);
	img = image_of(vm);
	assert_true(img->gisa.timer_armed);
	check(img, GISA_PROFILE_CLASSIC, 0, GISA_COMPAT_IMPOSSIBLE, w2, 3);
	gisa_image_free(img);

	/* The timer fires with the IPM pending (re-arms), then the ISC unregisters. */
	assert_int_equal(gisa_gisa_timer_fire(vm), 1);
	assert_int_equal(gisa_gisc_unregister(vm, 2), 0);
	img = image_of(vm);
	assert_int_equal(img->gisa.alert_mask, 0);
	assert_int_equal(img->gisa.iam, 0);
	check(img, GISA_PROFILE_CLASSIC, 0, GISA_COMPAT_IMPOSSIBLE, w3, 2);
	convert_impossible(img, GISA_PROFILE_CLASSIC, 0, w3, 2);
	gisa_image_free(img);
	gisa_vm_free(vm);
	gisa_host_free(host);
}

/* An IAM with no registration behind it (a valid GISA state) is still GISA-only. */
static void test_gisa_iam(void **state)
{
	const struct want w[] = { { GISA_CHANGE_GISA_IAM, "gisa.iam", 0, 0, 0x40 } };
	struct gisa_host *host = NULL;
	struct gisa_vm *vm, *vm2;
	struct gisa_image *img;

	(void)state;
	assert_int_equal(gisa_host_new(NULL, &host), 0);
	vm = vm_new(host, GISA_PROFILE_CLASSIC, GISA_CAP_GISA, 1);
	img = image_of(vm);
	img->gisa.iam = 0x40;
	vm2 = build(img, host);
	check(img, GISA_PROFILE_CLASSIC, 0, GISA_COMPAT_IMPOSSIBLE, w, 1);
	convert_impossible(img, GISA_PROFILE_CLASSIC, 0, w, 1);
	gisa_image_free(img);
	gisa_vm_free(vm2);
	gisa_vm_free(vm);
	gisa_host_free(host);
}

/* The IPM's AI entries must fit beside the I/O lists (266250 in all). */
static void test_io_limit(void **state)
{
	const struct want w[] = {
		{ GISA_CHANGE_IPM_TO_LIST, "gisa.ipm", 0, 0, GISA_MAX_FLOAT_IRQS - 1 },
		{ GISA_CHANGE_IPM_TO_LIST, "gisa.ipm", 7, 0, 0 },
		{ GISA_CHANGE_IO_LIMIT, "lists", 0, GISA_MAX_FLOAT_IRQS, GISA_MAX_FLOAT_IRQS + 1 },
	};
	const struct want w_fit[] = { { GISA_CHANGE_IPM_TO_LIST, "gisa.ipm", 0, 0,
					GISA_MAX_FLOAT_IRQS - 1 } };
	struct gisa_image *img, *out, *kvm;
	int r;

	(void)state;
	assert_int_equal(gisa_image_new(&img), 0);
	img->config.profile = GISA_PROFILE_CLASSIC;
	img->config.caps = GISA_CAP_GISA;
	img->gisa.present = true;
	img->gisa.ipm = 0x80;
	assert_int_equal(gisa_image_set_list(img, 0, GISA_MAX_FLOAT_IRQS - 1), 0);
	for (uint32_t i = 0; i < GISA_MAX_FLOAT_IRQS - 1; i++) {
		img->lists[0].e[i].type = GISA_INT_IO(0, 0, 0, i & 0xffff);
		img->lists[0].e[i].u.io.subchannel_nr = (uint16_t)i;
	}
	/* Exactly full after the conversion: lossy, and it builds. */
	check(img, GISA_PROFILE_CLASSIC, 0, GISA_COMPAT_LOSSY, w_fit, 1);
	out = convert(img, GISA_PROFILE_CLASSIC, 0);
	assert_int_equal(out->lists[0].n, GISA_MAX_FLOAT_IRQS);
	assert_int_equal(out->lists[0].e[0].type, GISA_INT_IO_AI_MASK);
	assert_int_equal(out->lists[0].e[1].u.io.subchannel_nr, 0);
	gisa_image_free(out);

	/* One more bit does not fit; the KVM route fails the same way. */
	img->gisa.ipm = 0x81;
	check(img, GISA_PROFILE_CLASSIC, 0, GISA_COMPAT_IMPOSSIBLE, w, 3);
	convert_impossible(img, GISA_PROFILE_CLASSIC, 0, w, 3);
	kvm = via_kvm(img, GISA_PROFILE_CLASSIC, 0, &r);
	assert_int_equal(r, -EBUSY);
	assert_null(kvm);
	gisa_image_free(img);
}

/* CLASSIC -> NEWEST: routes whose bits leave their page. */
static void test_route_out_of_page(void **state)
{
	const struct want w[] = {
		{ GISA_CHANGE_ROUTE_OUT_OF_PAGE, "routes", 5, 0, 0x20fff },
		{ GISA_CHANGE_ROUTE_OUT_OF_PAGE, "routes", 7, 1, 0x10ff8 },
		{ GISA_CHANGE_ROUTE_OUT_OF_PAGE, "routes", 9, 2, 0x40fff },
		{ GISA_CHANGE_ROUTE_OUT_OF_PAGE, "routes", 9, 2, 0x30fff },
	};
	struct gisa_route_entry routes[4];
	struct gisa_host *host = NULL;
	struct gisa_vm *vm;
	struct gisa_image *img, *naive;
	struct gisa_restore_error err;

	(void)state;
	routes[0] = t_route(5, 0x10000, 0, 0x20fff, 8, 0);     /* summary: next page */
	routes[1] = t_route(7, 0x10ff8, 64, 0x20000, 0, 0);    /* indicator: 0x11000 */
	routes[2] = t_route(9, 0x30fff, 8, 0x40fff, 15, 0);    /* both */
	routes[3] = t_route(10, 0x10fff, 7, 0x20000, 32767, 0); /* last bytes of the pages */
	assert_int_equal(gisa_host_new(NULL, &host), 0);
	vm = vm_new(host, GISA_PROFILE_CLASSIC, 0, 1);
	assert_int_equal(t_register(vm, 0, 1, 0, 1, 0), 0);
	assert_int_equal(gisa_routes_set(vm, routes, 4, 0), 0);
	img = image_of(vm);

	check(img, GISA_PROFILE_NEWEST, 0, GISA_COMPAT_IMPOSSIBLE, w, 4);
	convert_impossible(img, GISA_PROFILE_NEWEST, 0, w, 4);
	check(img, GISA_PROFILE_CLASSIC, GISA_CAP_GISA, GISA_COMPAT_EXACT, NULL, 0);
	/* Why: NEWEST refuses the first such route. */
	assert_int_equal(gisa_image_dup(img, &naive), 0);
	naive->config.profile = GISA_PROFILE_NEWEST;
	{
		struct gisa_vm *nvm = NULL;

		assert_int_equal(gisa_image_build_vm(naive, host, &nvm, &err), -EINVAL);
		assert_string_equal(err.field, "routes");
		assert_int_equal(err.index, 0);
	}
	/* Without the three, route 10 alone converts. */
	naive->config.profile = GISA_PROFILE_CLASSIC;
	naive->routes[0] = naive->routes[3];
	naive->nr_routes = 1;
	check(naive, GISA_PROFILE_NEWEST, 0, GISA_COMPAT_EXACT, NULL, 0);
	gisa_image_free(convert(naive, GISA_PROFILE_NEWEST, 0));
	gisa_image_free(naive);
	gisa_image_free(img);
	gisa_vm_free(vm);
	gisa_host_free(host);
}

/* Everything at once: the stable order of compat.h. */
static void test_stable_order(void **state)
{
	const struct want w[] = {
		{ GISA_CHANGE_AIS_FACILITY, "config.caps", 0, 0, GISA_CAP_ALL },
		{ GISA_CHANGE_AIS_MODE, "ais", 0, 0, 0x8001 },
		{ GISA_CHANGE_AIS_MODE, "ais", 7, 0, 0x8001 },
		{ GISA_CHANGE_IPM_TO_LIST, "gisa.ipm", 4, 0, 1 },
		{ GISA_CHANGE_GISA_REGISTRATION, "gisa.refcount", 1, 0, 1 },
		{ GISA_CHANGE_GISA_IAM, "gisa.iam", 0, 0, 0x40 },
		{ GISA_CHANGE_MAPS_DROPPED, "adapters", 2, 0, 1 },
		{ GISA_CHANGE_KICK_CURSOR, "kick_cursor", 0, 0, 0 },
	};
	struct gisa_host *host = NULL;
	struct gisa_vm *vm;
	struct gisa_image *img;

	(void)state;
	assert_int_equal(gisa_host_new(NULL, &host), 0);
	vm = vm_new(host, GISA_PROFILE_NEWEST, GISA_CAP_ALL, 2);
	assert_int_equal(t_aism_all_set(vm, 0x80, 0x01), 0);
	assert_int_equal(t_register(vm, 2, 4, 0, 1, 0), 0);
	assert_int_equal(t_modify(vm, 2, GISA_IO_ADAPTER_MAP, 0, 0x10000), 0);
	assert_true(gisa_gisc_register(vm, 1) >= 0);
	assert_int_equal(inject(vm, t_io(1, 1, 1, 4)), 0);
	assert_int_equal(t_airq(vm, 2), 0);
	img = image_of(vm);
	check(img, GISA_PROFILE_CLASSIC, 0, GISA_COMPAT_IMPOSSIBLE, w, 8);
	/* Without the impossible parts, the lossy ones remain in the same order. */
	img->config.caps = GISA_CAP_GISA;
	img->fl.simm = img->fl.nimm = 0;
	img->gisa.refcount[1] = 0;
	img->gisa.alert_mask = 0;
	img->gisa.iam = 0;
	{
		const struct want wl[] = { w[3], w[6], w[7] };
		struct gisa_image *out;

		check(img, GISA_PROFILE_CLASSIC, 0, GISA_COMPAT_LOSSY, wl, 3);
		out = convert(img, GISA_PROFILE_CLASSIC, 0);
		assert_int_equal(out->lists[4].n, 2);
		assert_int_equal(out->lists[4].e[0].type, GISA_INT_IO_AI_MASK);
		assert_int_equal(out->adapters[0].a.nr_maps, 0);
		gisa_image_free(out);
	}
	gisa_image_free(img);
	gisa_vm_free(vm);
	gisa_host_free(host);
}

static void test_invalid(void **state)
{
	struct gisa_compat_dest d = { GISA_PROFILE_CLASSIC, 0 };
	struct gisa_compat_report r = { .nr_changes = 77 };
	struct gisa_image *img, *out = NULL;

	(void)state;
	assert_int_equal(gisa_image_new(&img), 0);
	d.profile = (enum gisa_profile)2;
	assert_int_equal(gisa_compat_check(img, &d, &r), -EINVAL);
	assert_int_equal(gisa_compat_convert(img, &d, &out, &r), -EINVAL);
	d.profile = GISA_PROFILE_CLASSIC;
	d.caps = 0x4;
	assert_int_equal(gisa_compat_check(img, &d, &r), -EINVAL);
	d.caps = 0;
	/* An image that fails gisa_image_check. */
	assert_int_equal(gisa_image_set_list(img, 2, 1), 0);
	img->lists[2].e[0].u.io.io_int_word = 3u << 27;   /* ISC 3 in list 2 */
	assert_int_equal(gisa_compat_check(img, &d, &r), -EINVAL);
	assert_int_equal(gisa_compat_convert(img, &d, &out, &r), -EINVAL);
	assert_null(out);
	assert_int_equal(r.nr_changes, 77);   /* untouched */
	gisa_image_free(img);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(gisa_compat_verdict_name(GISA_COMPAT_EXACT), "exact");
	assert_string_equal(gisa_compat_verdict_name(GISA_COMPAT_LOSSY), "lossy");
	assert_string_equal(gisa_compat_verdict_name(GISA_COMPAT_IMPOSSIBLE), "impossible");
	assert_string_equal(gisa_compat_verdict_name((enum gisa_compat_verdict)9), "unknown");
	assert_string_equal(gisa_compat_kind_name(GISA_CHANGE_IPM_TO_LIST), "ipm-to-list");
	assert_string_equal(gisa_compat_kind_name(GISA_CHANGE_AI_TO_IPM), "ai-to-ipm");
	assert_string_equal(gisa_compat_kind_name(GISA_CHANGE_MAPS_DROPPED), "maps-dropped");
	assert_string_equal(gisa_compat_kind_name(GISA_CHANGE_KICK_CURSOR), "kick-cursor");
	assert_string_equal(gisa_compat_kind_name(GISA_CHANGE_AIS_FACILITY), "ais-facility");
	assert_string_equal(gisa_compat_kind_name(GISA_CHANGE_AIS_MODE), "ais-mode");
	assert_string_equal(gisa_compat_kind_name(GISA_CHANGE_GISA_REGISTRATION),
			    "gisa-registration");
	assert_string_equal(gisa_compat_kind_name(GISA_CHANGE_GISA_IAM), "gisa-iam");
	assert_string_equal(gisa_compat_kind_name(GISA_CHANGE_GISA_ALERT_LIST), "gisa-alert-list");
	assert_string_equal(gisa_compat_kind_name(GISA_CHANGE_GISA_TIMER), "gisa-timer");
	assert_string_equal(gisa_compat_kind_name(GISA_CHANGE_IO_LIMIT), "io-limit");
	assert_string_equal(gisa_compat_kind_name(GISA_CHANGE_ROUTE_OUT_OF_PAGE),
			    "route-out-of-page");
	assert_string_equal(gisa_compat_kind_name((enum gisa_compat_kind)0), "unknown");
	assert_string_equal(gisa_compat_kind_name((enum gisa_compat_kind)99), "unknown");
}

/*
 * Seeded random states to every destination: the verdict follows the
 * rules, the conversion builds, and its floating state is what the KVM
 * route (GET on the source, ENQUEUE on the destination) produces.
 */
static struct gisa_vm *random_vm(struct gisa_host *host, uint64_t seed, enum gisa_profile p,
				 uint32_t caps)
{
	struct gisa_vm *vm = vm_new(host, p, caps, 1 + (uint32_t)(seed % 3));
	struct rng r = { seed };

	for (uint32_t id = 0; id < 3; id++)
		assert_int_equal(t_register(vm, id, (uint8_t)rn(&r, 8), 0, 1,
					    GISA_ADAPTER_SUPPRESSIBLE), 0);
	if (p == GISA_PROFILE_NEWEST && rn(&r, 2))
		assert_int_equal(t_modify(vm, 1, GISA_IO_ADAPTER_MAP, 0, 0x10000), 0);
	t_vcpu_all_on(vm, 0);
	for (unsigned k = 0; k < 200; k++) {
		unsigned isc = rn(&r, 8);
		struct gisa_irq q;
		struct gisa_delivery d;

		switch (rn(&r, 9)) {
		case 0: case 1: case 2:
			q = t_io((uint16_t)rnd(&r), (uint16_t)rnd(&r), (uint32_t)rnd(&r), isc);
			assert_int_equal(inject(vm, q), 0);
			break;
		case 3:
			assert_int_equal(inject(vm, t_ai(isc)), 0);
			break;
		case 4:
			assert_int_equal(t_airq(vm, rn(&r, 3)), 0);
			break;
		case 5:
			assert_int_equal(inject(vm, t_virt((uint32_t)rnd(&r), rnd(&r))), 0);
			break;
		case 6:
			if (rn(&r, 3) == 0)
				assert_int_equal(inject(vm, t_srv((uint32_t)rnd(&r))), 0);
			else
				assert_int_equal(inject(vm, t_pfd(rnd(&r))), 0);
			break;
		case 7:
			if (caps & GISA_CAP_AIS)
				assert_int_equal(t_aism(vm, (uint8_t)isc, (uint16_t)rn(&r, 2)), 0);
			break;
		default:
			assert_true(gisa_vcpu_deliver(vm, 0, &d) >= 0);
			break;
		}
	}
	return vm;
}

static size_t count_kind(const struct gisa_compat_report *rep, enum gisa_compat_kind kind)
{
	size_t n = 0;

	for (size_t i = 0; i < rep->nr_changes; i++)
		n += rep->changes[i].kind == kind;
	return n;
}

static size_t count_ai_entries(const struct gisa_image *img)
{
	size_t n = 0;

	for (unsigned i = 0; i <= GISA_MAX_ISC; i++)
		for (uint32_t j = 0; j < img->lists[i].n; j++)
			n += !!(img->lists[i].e[j].type & GISA_INT_IO_AI_MASK);
	return n;
}

/* One random image to one destination; returns the verdict. */
static enum gisa_compat_verdict random_dest(const struct gisa_image *img, enum gisa_profile p,
					    uint32_t caps)
{
	const struct gisa_compat_dest d = { p, caps };
	const uint32_t src = img->config.caps;
	const bool gisa_to_none = (src & GISA_CAP_GISA) && !(caps & GISA_CAP_GISA);
	const bool none_to_gisa = !(src & GISA_CAP_GISA) && (caps & GISA_CAP_GISA);
	struct gisa_compat_report rep;
	enum gisa_compat_verdict verdict;
	struct gisa_image *out, *kvm;
	int r;

	assert_int_equal(gisa_compat_check(img, &d, &rep), 0);
	verdict = rep.verdict;
	/* AIS to no AIS is the only impossible rule these states reach. */
	assert_int_equal(verdict == GISA_COMPAT_IMPOSSIBLE,
			 (src & GISA_CAP_AIS) && !(caps & GISA_CAP_AIS));
	assert_int_equal(count_kind(&rep, GISA_CHANGE_IPM_TO_LIST),
			 gisa_to_none ? (size_t)__builtin_popcount(img->gisa.ipm) : 0);
	assert_int_equal(count_kind(&rep, GISA_CHANGE_AI_TO_IPM),
			 none_to_gisa ? count_ai_entries(img) : 0);
	gisa_compat_report_release(&rep);
	if (verdict == GISA_COMPAT_IMPOSSIBLE)
		return verdict;

	out = convert(img, p, caps);
	kvm = via_kvm(img, p, caps, &r);
	assert_int_equal(r, 0);
	lists_eq(out, kvm);
	gisa_eq(&out->gisa, &kvm->gisa);
	assert_int_equal(out->fl.srv_ext_params, kvm->fl.srv_ext_params);
	assert_int_equal(out->fl.service_pending, kvm->fl.service_pending);
	assert_int_equal(out->fl.service_ev_pending, kvm->fl.service_ev_pending);
	assert_int_equal(out->fl.simm, kvm->fl.simm);
	assert_int_equal(out->fl.nimm, kvm->fl.nimm);
	rest_eq(img, out);
	if (verdict == GISA_COMPAT_EXACT)
		lists_eq(img, out);
	gisa_image_free(kvm);
	gisa_image_free(out);
	return verdict;
}

static void test_random_vs_kvm(void **state)
{
	static const uint32_t caps[] = { 0, GISA_CAP_GISA, GISA_CAP_AIS, GISA_CAP_ALL };
	unsigned verdicts[3] = { 0 };

	(void)state;
	for (unsigned sp = 0; sp < 2; sp++)
		for (unsigned sc = 0; sc < 4; sc++)
			for (uint64_t seed = 1; seed <= 3; seed++) {
				struct gisa_host *host = NULL;
				struct gisa_vm *vm;
				struct gisa_image *img;

				assert_int_equal(gisa_host_new(NULL, &host), 0);
				vm = random_vm(host, seed * 1009 + sc * 17 + sp, sp, caps[sc]);
				img = image_of(vm);
				for (unsigned dp = 0; dp < 2; dp++)
					for (unsigned dc = 0; dc < 4; dc++)
						verdicts[random_dest(img, dp, caps[dc])]++;
				gisa_image_free(img);
				gisa_vm_free(vm);
				gisa_host_free(host);
			}
	/* All three verdicts occurred. */
	for (unsigned v = 0; v < 3; v++)
		assert_true(verdicts[v] > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_same),
		cmocka_unit_test(test_exact_ais_offered),
		cmocka_unit_test(test_exact_profile_one_vcpu),
		cmocka_unit_test(test_ipm_to_list),
		cmocka_unit_test(test_ai_to_ipm),
		cmocka_unit_test(test_maps_dropped),
		cmocka_unit_test(test_kick_cursor),
		cmocka_unit_test(test_ais_impossible),
		cmocka_unit_test(test_gisa_registration),
		cmocka_unit_test(test_gisa_alert_and_timer),
		cmocka_unit_test(test_gisa_iam),
		cmocka_unit_test(test_io_limit),
		cmocka_unit_test(test_route_out_of_page),
		cmocka_unit_test(test_stable_order),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_random_vs_kvm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
