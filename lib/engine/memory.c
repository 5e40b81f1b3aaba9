/* SPDX-License-Identifier: MIT */
/*
 * Guest memory: memslots over guest-physical ranges, backed sparsely by
 * 4 KiB pages allocated on first write, under a per-VM byte cap, with the
 * dirty log of the pages route triggers write (spec §14.18).
 *
 * Invariants:
 *  M1  slots[] is sorted by gpa; slots never overlap; gpa and size are
 *      page-aligned, size > 0, gpa + size does not overflow.
 *  M2  Each slot's pages[] is sorted by rel, unique, rel < size / 4096.
 *  M3  mem.used = 4096 x (number of allocated pages) <= mem.cap.
 *  M4  A dirty page is an allocated page with its flag set (what triggers
 *      write: the hot path, no allocation) or a slot-relative page number in
 *      dirty_rel (a page released by NEWEST UNMAP that nothing allocated).
 */
#include "engine-internal.h"

#define PAGE GISA_PAGE_SIZE

/* The slot backing gpa, or NULL. */
static struct memslot *slot_find(const struct memory *m, uint64_t gpa)
{
	uint32_t lo = 0, hi = m->nslots;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		struct memslot *s = &m->slots[mid];

		if (gpa < s->gpa)
			hi = mid;
		else if (gpa - s->gpa >= s->size)
			lo = mid + 1;
		else
			return s;
	}
	return NULL;
}

/* Index of the first page with rel >= r. */
static uint32_t page_lower_bound(const struct memslot *s, uint64_t r)
{
	uint32_t lo = 0, hi = s->npages;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (s->pages[mid].rel < r)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct mpage *page_find(const struct memslot *s, uint64_t r)
{
	uint32_t i = page_lower_bound(s, r);

	return i < s->npages && s->pages[i].rel == r ? &s->pages[i] : NULL;
}

/* Make room for one more page entry in s (no page allocated yet). */
static int page_room(struct gisa_vm *vm, struct memslot *s)
{
	struct mpage *p;
	uint32_t cap;

	if (s->npages < s->pages_cap)
		return 0;
	if (s->pages_cap > UINT32_MAX / 2)
		return -ENOMEM;
	cap = s->pages_cap ? s->pages_cap * 2 : 8;
	p = mem_reallocarray(vm->alloc, s->pages, cap, sizeof(*p));
	if (!p)
		return -ENOMEM;
	s->pages = p;
	s->pages_cap = cap;
	return 0;
}

/* The page of s at rel r, allocated (zeroed) if needed and allowed. */
static int page_get(struct gisa_vm *vm, struct memslot *s, uint64_t r, struct mpage **ret)
{
	uint32_t i = page_lower_bound(s, r);
	uint8_t *data;

	if (i < s->npages && s->pages[i].rel == r) {
		*ret = &s->pages[i];
		return 0;
	}
	if (vm->mem.used + PAGE > vm->mem.cap || page_room(vm, s))
		return -ENOMEM;
	data = mem_zalloc(vm->alloc, PAGE);
	if (!data)
		return -ENOMEM;
	memmove(&s->pages[i + 1], &s->pages[i], (s->npages - i) * sizeof(*s->pages));
	s->pages[i] = (struct mpage){ .rel = r, .data = data };
	s->npages++;
	vm->mem.used += PAGE;
	*ret = &s->pages[i];
	return 0;
}

static void slot_drop_pages_from(struct gisa_vm *vm, struct memslot *s, uint64_t r)
{
	uint32_t i = page_lower_bound(s, r);

	vm_changed(vm, GISA_TRACK_PAGES);
	for (uint32_t j = i; j < s->npages; j++) {
		mem_free(vm->alloc, s->pages[j].data);
		vm->mem.used -= PAGE;
	}
	s->npages = i;
}

bool mem_backed(const struct gisa_vm *vm, uint64_t gpa)
{
	return slot_find(&vm->mem, gpa) != NULL;
}

bool mem_allocated(const struct gisa_vm *vm, uint64_t gpa)
{
	const struct memslot *s = slot_find(&vm->mem, gpa);

	return s && page_find(s, (gpa - s->gpa) / PAGE);
}

static void page_drop(struct gisa_vm *vm, struct memslot *s, uint64_t r)
{
	uint32_t i = page_lower_bound(s, r);

	if (i == s->npages || s->pages[i].rel != r)
		return;
	vm_changed(vm, GISA_TRACK_PAGES);
	mem_free(vm->alloc, s->pages[i].data);
	memmove(&s->pages[i], &s->pages[i + 1], (s->npages - i - 1) * sizeof(*s->pages));
	s->npages--;
	vm->mem.used -= PAGE;
}

void mem_page_drop(struct gisa_vm *vm, uint64_t gpa)
{
	struct memslot *s = slot_find(&vm->mem, gpa);

	if (s)
		page_drop(vm, s, (gpa - s->gpa) / PAGE);
}

int mem_byte(struct gisa_vm *vm, uint64_t gpa, bool alloc, uint8_t **ret_byte,
	     bool *ret_created)
{
	struct memslot *s = slot_find(&vm->mem, gpa);
	uint64_t off;
	struct mpage *p;
	int r;

	if (!s)
		return -EFAULT;
	off = gpa - s->gpa;
	p = page_find(s, off / PAGE);
	*ret_created = false;
	if (p || alloc)
		vm_changed(vm, GISA_TRACK_PAGES);  /* the caller writes the byte */
	if (!p) {
		if (!alloc) {
			*ret_byte = NULL;
			return 0;
		}
		r = page_get(vm, s, off / PAGE, &p);
		if (r)
			return r;
		*ret_created = true;
	}
	*ret_byte = p->data + off % PAGE;
	return 0;
}

int mem_mark_dirty(struct gisa_vm *vm, uint64_t gpa)
{
	struct memslot *s = slot_find(&vm->mem, gpa);
	struct mpage *p;
	uint64_t r;
	uint32_t i;

	if (!s)
		return 0;   /* not guest memory: nothing to log */
	r = (gpa - s->gpa) / PAGE;
	p = page_find(s, r);
	if (p) {
		p->dirty = true;
		return 0;
	}
	for (i = 0; i < s->ndirty && s->dirty_rel[i] < r; i++)
		;
	if (i < s->ndirty && s->dirty_rel[i] == r)
		return 0;
	if (s->ndirty == s->dirty_cap) {
		uint32_t cap = s->dirty_cap ? s->dirty_cap * 2 : 4;
		uint64_t *d;

		if (s->dirty_cap > UINT32_MAX / 2)
			return -ENOMEM;
		d = mem_reallocarray(vm->alloc, s->dirty_rel, cap, sizeof(*d));
		if (!d)
			return -ENOMEM;
		s->dirty_rel = d;
		s->dirty_cap = cap;
	}
	memmove(&s->dirty_rel[i + 1], &s->dirty_rel[i], (s->ndirty - i) * sizeof(*s->dirty_rel));
	s->dirty_rel[i] = r;
	s->ndirty++;
	return 0;
}

uint64_t mem_pages_allocated(const struct memslot *s)
{
	return s->npages;
}

static int slot_index_by_id(const struct memory *m, uint32_t id)
{
	for (uint32_t i = 0; i < m->nslots; i++)
		if (m->slots[i].id == id)
			return (int)i;
	return -1;
}

/* True if [gpa, gpa + size) overlaps a slot other than `skip`. */
static bool overlaps(const struct memory *m, uint64_t gpa, uint64_t size, int skip)
{
	for (uint32_t i = 0; i < m->nslots; i++) {
		const struct memslot *s = &m->slots[i];

		if ((int)i == skip)
			continue;
		if (gpa < s->gpa + s->size && s->gpa < gpa + size)
			return true;
	}
	return false;
}

static void slots_sort(struct memory *m)
{
	/* Insertion sort: at most one element is out of place. */
	for (uint32_t i = 1; i < m->nslots; i++) {
		struct memslot t = m->slots[i];
		uint32_t j = i;

		while (j && m->slots[j - 1].gpa > t.gpa) {
			m->slots[j] = m->slots[j - 1];
			j--;
		}
		m->slots[j] = t;
	}
}

int gisa_mem_set_slot(struct gisa_vm *vm, uint32_t id, uint64_t gpa, uint64_t size)
{
	struct memory *m = &vm->mem;
	int idx = slot_index_by_id(m, id);
	struct memslot *s;

	vm_changed(vm, GISA_TRACK_MEMSLOTS | GISA_TRACK_PAGES);
	if (size == 0) {
		if (idx < 0)
			return -ENOENT;
		s = &m->slots[idx];
		slot_drop_pages_from(vm, s, 0);
		mem_free(vm->alloc, s->pages);
		mem_free(vm->alloc, s->dirty_rel);
		memmove(s, s + 1, (m->nslots - (uint32_t)idx - 1) * sizeof(*s));
		m->nslots--;
		return 0;
	}
	if (gpa % PAGE || size % PAGE || gpa > UINT64_MAX - size)
		return -EINVAL;
	if (overlaps(m, gpa, size, idx))
		return -EEXIST;
	if (idx < 0) {
		if (m->nslots >= GISA_MAX_MEMSLOTS)
			return -ENOSPC;
		if (m->nslots == m->slots_cap) {
			uint32_t cap = m->slots_cap ? m->slots_cap * 2 : 4;
			struct memslot *ns = mem_reallocarray(vm->alloc, m->slots, cap, sizeof(*ns));

			if (!ns)
				return -ENOMEM;
			m->slots = ns;
			m->slots_cap = cap;
		}
		m->slots[m->nslots++] = (struct memslot){ .id = id, .gpa = gpa, .size = size };
	} else {
		s = &m->slots[idx];
		if (size < s->size) {
			slot_drop_pages_from(vm, s, size / PAGE);
			while (s->ndirty && s->dirty_rel[s->ndirty - 1] >= size / PAGE)
				s->ndirty--;
		}
		s->gpa = gpa;
		s->size = size;
	}
	slots_sort(m);
	return 0;
}

/* True if every byte of [gpa, gpa + len) is backed; len > 0, no overflow. */
static bool range_backed(const struct memory *m, uint64_t gpa, size_t len)
{
	uint64_t a = gpa, last = gpa + (len - 1);

	for (;;) {
		const struct memslot *s = slot_find(m, a);
		uint64_t s_last;

		if (!s)
			return false;
		s_last = s->gpa + (s->size - 1);
		if (last <= s_last)
			return true;
		a = s_last + 1;
	}
}

int gisa_mem_read(const struct gisa_vm *vm, uint64_t gpa, void *buf, size_t len)
{
	uint8_t *out = buf;

	if (!len)
		return 0;
	if (gpa > UINT64_MAX - (len - 1) || !range_backed(&vm->mem, gpa, len))
		return -EFAULT;
	while (len) {
		const struct memslot *s = slot_find(&vm->mem, gpa);
		uint64_t off = gpa - s->gpa;
		size_t chunk = PAGE - off % PAGE;
		const struct mpage *p = page_find(s, off / PAGE);

		if (chunk > len)
			chunk = len;
		if (p)
			memcpy(out, p->data + off % PAGE, chunk);
		else
			memset(out, 0, chunk);
		out += chunk;
		gpa += chunk;
		len -= chunk;
	}
	return 0;
}

/* Calls fn for the slot and slot-relative page of every page of the range. */
static int range_pages(struct gisa_vm *vm, uint64_t gpa, size_t len,
		       int (*fn)(struct gisa_vm *vm, struct memslot *s, uint64_t rel, void *ctx),
		       void *ctx)
{
	uint64_t last = gpa + (len - 1);

	for (uint64_t a = gpa;;) {
		struct memslot *s = slot_find(&vm->mem, a);
		uint64_t rel = (a - s->gpa) / PAGE;
		uint64_t next = s->gpa + (rel + 1) * PAGE;
		int r = fn(vm, s, rel, ctx);

		if (r)
			return r;
		if (next - 1 >= last)
			return 0;
		a = next;
	}
}

static int count_missing(struct gisa_vm *vm, struct memslot *s, uint64_t rel, void *ctx)
{
	if (!page_find(s, rel))
		*(uint64_t *)ctx += PAGE;
	return 0;
}

static int ensure_page(struct gisa_vm *vm, struct memslot *s, uint64_t rel, void *ctx)
{
	struct mpage *p;
	int r;

	(void)ctx;
	if (page_find(s, rel))
		return 0;
	r = page_get(vm, s, rel, &p);
	if (!r)
		p->fresh = true;
	return r;
}

/* Undo (drop) or keep (clear the mark) the pages this operation allocated. */
static int settle_page(struct gisa_vm *vm, struct memslot *s, uint64_t rel, void *ctx)
{
	struct mpage *p = page_find(s, rel);

	if (p && p->fresh) {
		if (*(bool *)ctx)
			page_drop(vm, s, rel);
		else
			p->fresh = false;
	}
	return 0;
}

int gisa_mem_write(struct gisa_vm *vm, uint64_t gpa, const void *buf, size_t len)
{
	const uint8_t *in = buf;
	uint64_t need = 0;
	bool rollback;
	int r;

	if (!len)
		return 0;
	if (gpa > UINT64_MAX - (len - 1) || !range_backed(&vm->mem, gpa, len))
		return -EFAULT;
	/*
	 * All or nothing: check the cap, then allocate every missing page
	 * before the first byte is copied; if the allocator fails part way,
	 * the pages allocated so far are dropped again.
	 */
	range_pages(vm, gpa, len, count_missing, &need);
	if (need > vm->mem.cap - vm->mem.used)
		return -ENOMEM;
	vm_changed(vm, GISA_TRACK_PAGES);
	r = range_pages(vm, gpa, len, ensure_page, NULL);
	rollback = r != 0;
	range_pages(vm, gpa, len, settle_page, &rollback);
	if (r)
		return r;
	while (len) {
		struct memslot *s = slot_find(&vm->mem, gpa);
		uint64_t off = gpa - s->gpa;
		size_t chunk = PAGE - off % PAGE;
		struct mpage *p = page_find(s, off / PAGE);

		if (chunk > len)
			chunk = len;
		memcpy(p->data + off % PAGE, in, chunk);
		in += chunk;
		gpa += chunk;
		len -= chunk;
	}
	return 0;
}

int gisa_mem_get_dirty_log(struct gisa_vm *vm, uint32_t id, uint64_t *bitmap, size_t nwords)
{
	int idx = slot_index_by_id(&vm->mem, id);
	struct memslot *s;
	uint64_t npages;

	if (idx < 0)
		return -ENOENT;
	s = &vm->mem.slots[idx];
	npages = s->size / PAGE;
	if (nwords < (npages + 63) / 64)
		return -EINVAL;
	memset(bitmap, 0, nwords * sizeof(*bitmap));
	for (uint32_t i = 0; i < s->npages; i++) {
		if (s->pages[i].dirty) {
			bitmap[s->pages[i].rel / 64] |= 1ull << (s->pages[i].rel % 64);
			s->pages[i].dirty = false;
		}
	}
	for (uint32_t i = 0; i < s->ndirty; i++)
		bitmap[s->dirty_rel[i] / 64] |= 1ull << (s->dirty_rel[i] % 64);
	s->ndirty = 0;
	return 0;
}

void mem_release(struct gisa_vm *vm)
{
	for (uint32_t i = 0; i < vm->mem.nslots; i++) {
		slot_drop_pages_from(vm, &vm->mem.slots[i], 0);
		mem_free(vm->alloc, vm->mem.slots[i].pages);
		mem_free(vm->alloc, vm->mem.slots[i].dirty_rel);
	}
	mem_free(vm->alloc, vm->mem.slots);
	vm->mem.slots = NULL;
	vm->mem.nslots = 0;
}
