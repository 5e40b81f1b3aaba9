/* SPDX-License-Identifier: MIT */
/*
 * VM images (image.h): read through state.h, built through restore.h, and
 * nothing else of the engine.
 *
 * Invariants of an image that passed gisa_image_check:
 *  M1  list counts within the engine's limits; I/O entries carry I/O types
 *      and their list's ISC (restore.h checks the VM-dependent rest);
 *  M2  adapters ascending by id < 64; routes ascending by unique gsi < 4096;
 *      memslots ascending by gpa, page-aligned, non-overlapping, at most
 *      GISA_MAX_MEMSLOTS; pages ascending, page-aligned, unique, at most
 *      GISA_IMAGE_MAX_PAGES; nr_vcpus = config.nr_vcpus <= 255.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gisa/image.h>

static int bad(struct gisa_restore_error *err, const char *field, uint64_t index,
	       uint64_t value, const char *reason)
{
	if (err) {
		err->field = field;
		err->index = index;
		err->value = value;
		err->reason = reason;
	}
	return -EINVAL;
}

int gisa_image_new(struct gisa_image **ret)
{
	struct gisa_image *img = calloc(1, sizeof(*img));

	if (!img)
		return -ENOMEM;
	*ret = img;
	return 0;
}

struct gisa_image *gisa_image_free(struct gisa_image *img)
{
	if (!img)
		return NULL;
	for (unsigned i = 0; i < GISA_NR_LISTS; i++)
		free(img->lists[i].e);
	for (uint32_t i = 0; i < img->nr_adapters; i++)
		free(img->adapters[i].maps);
	free(img->adapters);
	free(img->routes);
	free(img->memslots);
	free(img->pages);
	free(img->vcpus);
	free(img);
	return NULL;
}

static void *array(size_t n, size_t size)
{
	return calloc(n ? n : 1, size);
}

int gisa_image_set_list(struct gisa_image *img, unsigned list, uint32_t n)
{
	struct gisa_list_entry *e;

	if (list >= GISA_NR_LISTS || n > GISA_MAX_FLOAT_IRQS)
		return -EINVAL;
	e = array(n, sizeof(*e));
	if (!e)
		return -ENOMEM;
	free(img->lists[list].e);
	img->lists[list].e = e;
	img->lists[list].n = n;
	return 0;
}

int gisa_image_set_counts(struct gisa_image *img, uint32_t nr_adapters, uint32_t nr_routes,
			  uint32_t nr_memslots, uint32_t nr_pages, uint32_t nr_vcpus)
{
	struct gisa_image_adapter *a;
	struct gisa_route_entry *r;
	struct gisa_image_memslot *m;
	struct gisa_image_page *p;
	struct gisa_vcpu_state *v;

	if (nr_adapters > GISA_MAX_ADAPTERS || nr_routes > GISA_MAX_IRQ_ROUTES ||
	    nr_memslots > GISA_MAX_MEMSLOTS || nr_pages > GISA_IMAGE_MAX_PAGES ||
	    nr_vcpus > GISA_MAX_VCPUS)
		return -EINVAL;
	a = array(nr_adapters, sizeof(*a));
	r = array(nr_routes, sizeof(*r));
	m = array(nr_memslots, sizeof(*m));
	p = array(nr_pages, sizeof(*p));
	v = array(nr_vcpus, sizeof(*v));
	if (!a || !r || !m || !p || !v) {
		free(a);
		free(r);
		free(m);
		free(p);
		free(v);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < img->nr_adapters; i++)
		free(img->adapters[i].maps);
	free(img->adapters);
	free(img->routes);
	free(img->memslots);
	free(img->pages);
	free(img->vcpus);
	img->adapters = a;
	img->nr_adapters = nr_adapters;
	img->routes = r;
	img->nr_routes = nr_routes;
	img->memslots = m;
	img->nr_memslots = nr_memslots;
	img->pages = p;
	img->nr_pages = nr_pages;
	img->vcpus = v;
	img->nr_vcpus = nr_vcpus;
	return 0;
}

int gisa_image_set_maps(struct gisa_image *img, uint32_t idx, uint32_t nr_maps)
{
	uint64_t *maps;

	if (idx >= img->nr_adapters || nr_maps > GISA_MAX_ADAPTER_MAPS)
		return -EINVAL;
	maps = array(nr_maps, sizeof(*maps));
	if (!maps)
		return -ENOMEM;
	free(img->adapters[idx].maps);
	img->adapters[idx].maps = maps;
	img->adapters[idx].a.nr_maps = nr_maps;
	return 0;
}

static bool page_nonzero(const uint8_t *p)
{
	for (size_t i = 0; i < GISA_PAGE_SIZE; i++)
		if (p[i])
			return true;
	return false;
}

static int from_vm(const struct gisa_vm *vm, bool tails, unsigned skip,
		   struct gisa_image **ret);

int gisa_image_from_vm(const struct gisa_vm *vm, struct gisa_image **ret)
{
	return from_vm(vm, false, 0, ret);
}

int gisa_image_from_vm_tails(const struct gisa_vm *vm, unsigned skip, struct gisa_image **ret)
{
	return from_vm(vm, true, skip, ret);
}

/*
 * The image of vm; with tails, each list holds its tracked tail alone, and
 * the sections in skip (GISA_TRACK_ADAPTERS, _ROUTES, _PAGES) are empty.
 */
static int from_vm(const struct gisa_vm *vm, bool tails, unsigned skip,
		   struct gisa_image **ret)
{
	uint64_t *route_pages = malloc(GISA_IMAGE_MAX_PAGES * sizeof(*route_pages));
	struct gisa_image *img;
	struct gisa_state st;
	uint32_t nad = 0, npages = 0, k = 0;
	size_t nrp = 0;
	int r;

	if (!route_pages)
		return -ENOMEM;
	gisa_state_read(vm, &st);
	if (skip & GISA_TRACK_ADAPTERS)
		st.adapter_mask = 0;
	if (skip & GISA_TRACK_ROUTES)
		st.nr_routes = 0;
	r = gisa_image_new(&img);
	if (r) {
		free(route_pages);
		return r;
	}
	gisa_vm_config(vm, &img->config);
	img->fl = (struct gisa_float_image){
		.flic_present = st.flic_present,
		.apf_enabled = st.apf_enabled,
		.service_pending = st.pending_irqs & 1u << GISA_IRQ_EXT_SERVICE,
		.service_ev_pending = st.pending_irqs & 1u << GISA_IRQ_EXT_SERVICE_EV,
		.mchk_pending = st.pending_irqs & 1u << GISA_IRQ_MCHK_REP,
		.srv_ext_params = st.srv_ext_params,
		.mchk_cr14 = st.mchk_cr14,
		.mchk_mcic = st.mchk_mcic,
		.simm = st.simm,
		.nimm = st.nimm,
		.kick_cursor = st.kick_cursor,
	};
	img->gisa = st.gisa;

	for (unsigned l = 0; tails && l < GISA_NR_LISTS; l++) {
		uint32_t n = (uint32_t)gisa_track_tail(vm, l, NULL, 0);

		r = gisa_image_set_list(img, l, n);
		if (r)
			goto fail;
		gisa_track_tail(vm, l, img->lists[l].e, n);
	}
	for (unsigned l = 0; !tails && l < GISA_NR_LISTS; l++) {
		r = gisa_image_set_list(img, l, st.list_len[l]);
		if (r)
			goto fail;
		if (l > GISA_MAX_ISC)
			gisa_state_list_entries(vm, l, img->lists[l].e, st.list_len[l]);
	}
	if (!tails) {
		struct gisa_list_entry *out[GISA_MAX_ISC + 1];
		size_t max[GISA_MAX_ISC + 1];

		for (unsigned l = 0; l <= GISA_MAX_ISC; l++) {
			out[l] = img->lists[l].e;
			max[l] = st.list_len[l];
		}
		gisa_state_io_entries(vm, out, max);
	}

	for (unsigned id = 0; id < GISA_MAX_ADAPTERS; id++)
		nad += (st.adapter_mask >> id) & 1;
	/* Route pages with a non-zero byte; all-zero pages read the same unwritten. */
	if (!(skip & GISA_TRACK_PAGES))
		nrp = gisa_state_route_pages(vm, route_pages, GISA_IMAGE_MAX_PAGES);
	for (size_t i = 0; i < nrp; i++) {
		uint8_t page[GISA_PAGE_SIZE];

		if (gisa_mem_read(vm, route_pages[i], page, sizeof(page)) == 0 && page_nonzero(page))
			route_pages[npages++] = route_pages[i];
	}
	r = gisa_image_set_counts(img, nad, st.nr_routes, st.nr_memslots, npages, st.nr_vcpus);
	if (r)
		goto fail;
	for (unsigned id = 0; id < GISA_MAX_ADAPTERS; id++) {
		if (!((st.adapter_mask >> id) & 1))
			continue;
		gisa_state_adapter(vm, id, &img->adapters[k].a);
		r = gisa_image_set_maps(img, k, img->adapters[k].a.nr_maps);
		if (r)
			goto fail;
		gisa_state_adapter_maps(vm, id, img->adapters[k].maps, img->adapters[k].a.nr_maps);
		k++;
	}
	for (uint32_t i = 0; i < st.nr_routes; i++)
		gisa_state_route(vm, i, &img->routes[i]);
	for (uint32_t i = 0; i < st.nr_memslots; i++) {
		struct gisa_memslot_info mi;

		gisa_state_memslot(vm, i, &mi);
		img->memslots[i] = (struct gisa_image_memslot){ mi.slot, mi.gpa, mi.size };
	}
	for (uint32_t i = 0; i < npages; i++) {
		img->pages[i].gpa = route_pages[i];
		gisa_mem_read(vm, route_pages[i], img->pages[i].data, GISA_PAGE_SIZE);
	}
	for (uint32_t i = 0; i < st.nr_vcpus; i++)
		gisa_vcpu_get(vm, i, &img->vcpus[i]);
	free(route_pages);
	*ret = img;
	return 0;
fail:
	free(route_pages);
	gisa_image_free(img);
	return r;
}

int gisa_image_check(const struct gisa_image *img, struct gisa_restore_error *err)
{
	uint64_t io = 0;

	if (img->nr_vcpus != img->config.nr_vcpus || img->nr_vcpus > GISA_MAX_VCPUS)
		return bad(err, "vcpus", 0, img->nr_vcpus, "one entry per configured vcpu (<= 255)");
	for (unsigned l = 0; l < GISA_NR_LISTS; l++) {
		const struct gisa_image_list *li = &img->lists[l];

		if (l <= GISA_MAX_ISC) {
			io += li->n;
			for (uint32_t i = 0; i < li->n; i++) {
				if (li->e[i].type > GISA_INT_IO_MAX)
					return bad(err, "lists.type", i, li->e[i].type,
						   "an I/O type (0 .. 0xfffdffff)");
				if (GISA_IO_WORD_ISC(li->e[i].u.io.io_int_word) != l)
					return bad(err, "lists.io_int_word", i,
						   li->e[i].u.io.io_int_word,
						   "the ISC of the list it is in");
			}
		}
	}
	if (io > GISA_MAX_FLOAT_IRQS)
		return bad(err, "lists", 0, io, "at most 266250 I/O entries");
	if (img->lists[GISA_LIST_VIRTIO].n > GISA_MAX_VIRTIO_IRQS)
		return bad(err, "lists.virtio", 0, img->lists[GISA_LIST_VIRTIO].n,
			   "at most 87381 entries");
	if (img->lists[GISA_LIST_PFAULT].n > GISA_MAX_PFAULT_IRQS)
		return bad(err, "lists.pfault", 0, img->lists[GISA_LIST_PFAULT].n,
			   "at most 16320 entries");
	for (uint32_t i = 0; i < img->nr_adapters; i++) {
		if (img->adapters[i].a.id >= GISA_MAX_ADAPTERS ||
		    (i && img->adapters[i - 1].a.id >= img->adapters[i].a.id))
			return bad(err, "adapters.id", i, img->adapters[i].a.id,
				   "unique ids below 64, ascending");
		if (img->adapters[i].a.nr_maps > GISA_MAX_ADAPTER_MAPS)
			return bad(err, "adapters.maps", i, img->adapters[i].a.nr_maps,
				   "at most 256");
	}
	for (uint32_t i = 0; i < img->nr_routes; i++)
		if (img->routes[i].gsi >= GISA_MAX_IRQ_ROUTES ||
		    (i && img->routes[i - 1].gsi >= img->routes[i].gsi))
			return bad(err, "routes.gsi", i, img->routes[i].gsi,
				   "unique gsis below 4096, ascending");
	/* Adapters and routes are bounded by their ids; these by count. */
	_Static_assert(GISA_MAX_MEMSLOTS == 512 && GISA_IMAGE_MAX_PAGES == 8192,
		       "the counts the messages below name");
	if (img->nr_memslots > GISA_MAX_MEMSLOTS)
		return bad(err, "memslots", 0, img->nr_memslots, "at most 512 memslots");
	if (img->nr_pages > GISA_IMAGE_MAX_PAGES)
		return bad(err, "pages", 0, img->nr_pages, "at most 8192 pages");
	for (uint32_t i = 0; i < img->nr_memslots; i++) {
		const struct gisa_image_memslot *m = &img->memslots[i];

		if (!m->size || m->gpa % GISA_PAGE_SIZE || m->size % GISA_PAGE_SIZE ||
		    m->gpa > UINT64_MAX - m->size)
			return bad(err, "memslots.size", i, m->size,
				   "a non-empty page-aligned range");
		if (i && img->memslots[i - 1].gpa + img->memslots[i - 1].size > m->gpa)
			return bad(err, "memslots.gpa", i, m->gpa, "ascending, not overlapping");
		for (uint32_t j = 0; j < i; j++)
			if (img->memslots[j].slot == m->slot)
				return bad(err, "memslots.slot", i, m->slot, "unique slot ids");
	}
	for (uint32_t i = 0; i < img->nr_pages; i++)
		if (img->pages[i].gpa % GISA_PAGE_SIZE ||
		    (i && img->pages[i - 1].gpa >= img->pages[i].gpa))
			return bad(err, "pages.gpa", i, img->pages[i].gpa,
				   "page-aligned, unique, ascending");
	return 0;
}

int gisa_image_build_vm(const struct gisa_image *img, struct gisa_host *host,
			struct gisa_vm **ret, struct gisa_restore_error *err)
{
	struct gisa_restore_error scratch;
	struct gisa_vm *vm = NULL;
	int r;

	if (!err)
		err = &scratch;
	memset(err, 0, sizeof(*err));
	r = gisa_image_check(img, err);
	if (r)
		return r;
	r = gisa_vm_new(host, &img->config, &vm);
	if (r) {
		err->field = "config";
		err->reason = "a valid profile, capability set, vcpu count and byte order";
		return r;
	}
	r = gisa_restore_float(vm, &img->fl, err);
	for (unsigned l = 0; !r && l < GISA_NR_LISTS; l++)
		r = gisa_restore_list(vm, l, img->lists[l].e, img->lists[l].n, err);
	for (uint32_t i = 0; !r && i < img->nr_adapters; i++)
		r = gisa_restore_adapter(vm, &img->adapters[i].a, img->adapters[i].maps, err);
	for (uint32_t i = 0; !r && i < img->nr_memslots; i++) {
		r = gisa_mem_set_slot(vm, img->memslots[i].slot, img->memslots[i].gpa,
				      img->memslots[i].size);
		if (r) {
			err->field = "memslots";
			err->index = i;
			err->value = img->memslots[i].gpa;
			err->reason = "a memslot the engine accepts";
		}
	}
	for (uint32_t i = 0; !r && i < img->nr_pages; i++) {
		r = gisa_mem_write(vm, img->pages[i].gpa, img->pages[i].data, GISA_PAGE_SIZE);
		if (r) {
			err->field = "pages";
			err->index = i;
			err->value = img->pages[i].gpa;
			err->reason = r == -EFAULT ? "a page inside a memslot" :
						     "pages within the VM's memory cap";
		}
	}
	if (!r)
		r = gisa_restore_routes(vm, img->routes, img->nr_routes, err);
	for (uint32_t i = 0; !r && i < img->nr_vcpus; i++)
		r = gisa_restore_vcpu(vm, i, &img->vcpus[i], err);
	if (!r)
		r = gisa_restore_gisa(vm, &img->gisa, err);
	if (r) {
		gisa_vm_free(vm);
		return r;
	}
	*ret = vm;
	return 0;
}

int gisa_image_dup(const struct gisa_image *img, struct gisa_image **ret)
{
	struct gisa_image *c;
	int r = gisa_image_new(&c);

	if (r)
		return r;
	c->config = img->config;
	c->fl = img->fl;
	c->gisa = img->gisa;
	for (unsigned l = 0; !r && l < GISA_NR_LISTS; l++) {
		r = gisa_image_set_list(c, l, img->lists[l].n);
		if (!r && img->lists[l].n)
			memcpy(c->lists[l].e, img->lists[l].e, img->lists[l].n * sizeof(*c->lists[l].e));
	}
	if (!r)
		r = gisa_image_set_counts(c, img->nr_adapters, img->nr_routes, img->nr_memslots,
					  img->nr_pages, img->nr_vcpus);
	for (uint32_t i = 0; !r && i < img->nr_adapters; i++) {
		c->adapters[i].a = img->adapters[i].a;
		r = gisa_image_set_maps(c, i, img->adapters[i].a.nr_maps);
		if (!r && img->adapters[i].a.nr_maps)
			memcpy(c->adapters[i].maps, img->adapters[i].maps,
			       img->adapters[i].a.nr_maps * sizeof(uint64_t));
	}
	if (r) {
		gisa_image_free(c);
		return r;
	}
	if (img->nr_routes)
		memcpy(c->routes, img->routes, img->nr_routes * sizeof(*c->routes));
	if (img->nr_memslots)
		memcpy(c->memslots, img->memslots, img->nr_memslots * sizeof(*c->memslots));
	if (img->nr_pages)
		memcpy(c->pages, img->pages, img->nr_pages * sizeof(*c->pages));
	if (img->nr_vcpus)
		memcpy(c->vcpus, img->vcpus, img->nr_vcpus * sizeof(*c->vcpus));
	*ret = c;
	return 0;
}
