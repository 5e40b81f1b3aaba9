/* SPDX-License-Identifier: MIT */
/*
 * Reference model for the differential test (see ref.h).
 *
 * Every function follows one section of spec/KVM-FLIC-SEMANTICS.md in the
 * order the section states its checks; where the kernel leaves a choice,
 * spec §14 and the engine.h header comments decide.  Nothing here is tuned:
 * lists are arrays shifted with memmove, scans are linear.
 */
#include "ref.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Constants, spelled out again from the spec (§1). */
#define T_SIGP_STOP      0xfffe0000u
#define T_PFAULT_INIT    0xfffe0004u
#define T_PFAULT_DONE    0xfffe0005u
#define T_MCHK           0xfffe1000u
#define T_VIRTIO         0xffff2603u
#define T_SERVICE        0xffff2401u
#define T_IO_MAX         0xfffdffffu
#define T_AI             0x04000000u

#define P_IO_ISC0        10
#define P_VIRTIO         11
#define P_PFAULT_DONE    12
#define P_SERVICE        15
#define P_SERVICE_EV     16
#define P_MCHK_REP       24
#define PEND_EXT_MASK    0x00fff800u
#define PEND_IO_MASK     0x000007f8u
#define PEND_MCHK_MASK   0x09000000u

#define LIST_PFAULT      8
#define LIST_VIRTIO      9

#define MAX_IO           266250u
#define MAX_VIRTIO       87381u
#define MAX_PFAULT       16320u
#define MAX_BUFFER       0x2000000u

#define PSW_IO           0x0200000000000000ull
#define PSW_EXT          0x0100000000000000ull
#define PSW_MCHECK       0x0004000000000000ull
#define CR0_SERVICE      0x200u
#define CR0_CPU_TIMER    0x400u
#define CR0_CLOCK_COMP   0x800u
#define CR0_EXTCALL      0x2000u
#define CR0_EMERGENCY    0x4000u
#define CR14_CHANNEL_REP 0x10000000ull

#define SCCB_MASK        0xfffffff8u
#define SCCB_EVENTS      0x3u

#define NISC             5
#define KICKER_DELAY_NS  50000u
#define PAGE             4096u

/* ---- byte order ---------------------------------------------------------- */

uint16_t ref_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

uint32_t ref_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint64_t ref_be64(const uint8_t *p)
{
	return (uint64_t)ref_be32(p) << 32 | ref_be32(p + 4);
}

void ref_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void ref_put32(uint8_t *p, uint32_t v)
{
	ref_put16(p, (uint16_t)(v >> 16));
	ref_put16(p + 2, (uint16_t)v);
}

void ref_put64(uint8_t *p, uint64_t v)
{
	ref_put32(p, (uint32_t)(v >> 32));
	ref_put32(p + 4, (uint32_t)v);
}

/* Record field offsets: type @0, union @8; io {id, nr, parm, word} @8..19. */
static uint64_t rec_type(const struct ref_rec *r) { return ref_be64(r->b); }
static uint16_t rec_io_id(const struct ref_rec *r) { return ref_be16(r->b + 8); }
static uint16_t rec_io_nr(const struct ref_rec *r) { return ref_be16(r->b + 10); }
static uint32_t rec_io_parm(const struct ref_rec *r) { return ref_be32(r->b + 12); }
static uint32_t rec_io_word(const struct ref_rec *r) { return ref_be32(r->b + 16); }
static uint32_t rec_ext_params(const struct ref_rec *r) { return ref_be32(r->b + 8); }
static uint64_t rec_ext_params2(const struct ref_rec *r) { return ref_be64(r->b + 16); }

static bool is_io_type(uint64_t type)
{
	return type <= T_IO_MAX;
}

static unsigned word_isc(uint32_t word)
{
	return (word >> 27) & 7;
}

static uint8_t isc_bit(unsigned isc)
{
	return (uint8_t)(0x80u >> isc);
}

static struct ref_rec ai_record(unsigned isc)
{
	struct ref_rec r;

	memset(&r, 0, sizeof(r));
	ref_put64(r.b, T_AI);
	ref_put32(r.b + 16, 0x80000000u | (uint32_t)isc << 27);
	return r;
}

/* ---- caller buffers ------------------------------------------------------ */

static bool ub_ok(const struct ref_ubuf *ub, size_t off, size_t n)
{
	if (n == 0)
		return true;
	if (!ub->data || off > ub->len || n > ub->len - off)
		return false;
	if (ub->bad_len && off < ub->bad_off + ub->bad_len && ub->bad_off < off + n)
		return false;
	return true;
}

static int ub_read(const struct ref_ubuf *ub, size_t off, void *dst, size_t n)
{
	if (!ub_ok(ub, off, n))
		return -EFAULT;
	memcpy(dst, ub->data + off, n);
	return 0;
}

static int ub_write(const struct ref_ubuf *ub, size_t off, const void *src, size_t n)
{
	if (!ub_ok(ub, off, n))
		return -EFAULT;
	memcpy(ub->data + off, src, n);
	return 0;
}

/* ---- lists --------------------------------------------------------------- */

static void list_append(struct ref_list *l, const struct ref_rec *r)
{
	if (l->len == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v)
			abort();
	}
	l->v[l->len++] = *r;
}

static struct ref_rec list_remove(struct ref_list *l, size_t i)
{
	struct ref_rec r = l->v[i];

	memmove(&l->v[i], &l->v[i + 1], (l->len - i - 1) * sizeof(*l->v));
	l->len--;
	return r;
}

static size_t io_count(const struct ref_vm *vm)
{
	size_t n = 0;

	for (unsigned i = 0; i < 8; i++)
		n += vm->lists[i].len;
	return n;
}

/* ---- events -------------------------------------------------------------- */

static void event(struct ref_vm *vm, int kind, uint32_t vcpu, int flag)
{
	if (vm->nr_events == vm->events_cap) {
		vm->events_cap = vm->events_cap ? vm->events_cap * 2 : 64;
		vm->events = realloc(vm->events, vm->events_cap * sizeof(*vm->events));
		if (!vm->events)
			abort();
	}
	vm->events[vm->nr_events].kind = kind;
	vm->events[vm->nr_events].vcpu = vcpu;
	vm->events[vm->nr_events].flag = flag;
	vm->nr_events++;
}

/* ---- lifecycle ----------------------------------------------------------- */

struct ref_vm *ref_vm_new(int profile, bool has_gisa, bool has_ais, uint32_t nr_vcpus)
{
	struct ref_vm *vm = calloc(1, sizeof(*vm));

	if (!vm || nr_vcpus > REF_MAX_VCPUS)
		abort();
	vm->mem = calloc(1, REF_MEM_SIZE);
	if (!vm->mem)
		abort();
	vm->profile = profile;
	vm->has_gisa = has_gisa;
	vm->has_ais = has_ais;
	vm->nr_vcpus = nr_vcpus;
	return vm;
}

void ref_vm_free(struct ref_vm *vm)
{
	if (!vm)
		return;
	for (unsigned i = 0; i < REF_NR_LISTS; i++)
		free(vm->lists[i].v);
	free(vm->routes);
	free(vm->events);
	free(vm->mem);
	free(vm);
}

/* ---- kick (§4.7, §14.8) -------------------------------------------------- */

static bool vcpu_stopped(const struct ref_vm *vm, uint32_t i)
{
	return vm->vcpus[i].run == REF_STOPPED;
}

static void kick(struct ref_vm *vm, uint64_t type)
{
	uint32_t n = vm->nr_vcpus;
	int target = -1;
	int flag;

	if (n == 0)
		return;
	if (vm->profile == REF_CLASSIC) {
		for (uint32_t i = 0; i < n; i++) {
			if (vm->vcpus[i].run == REF_IDLE) {
				target = (int)i;
				break;
			}
		}
		if (target < 0) {
			/* The kernel's loop, advances and all: n + 1 when all are stopped. */
			uint32_t tries = 0;

			do {
				target = (int)vm->kick_cursor;
				vm->kick_cursor = (vm->kick_cursor + 1) % n;
				if (tries++ >= n)
					return;
			} while (vcpu_stopped(vm, (uint32_t)target));
		}
	} else {
		for (uint32_t k = 0; k < n; k++) {
			uint32_t i = (vm->kick_cursor + k) % n;

			if (!vcpu_stopped(vm, i)) {
				target = (int)i;
				break;
			}
		}
		if (target < 0)
			return;
	}
	if (type == T_MCHK)
		flag = REF_FLAG_STOP;
	else if (is_io_type(type))
		flag = (type & T_AI) && vm->has_gisa ? REF_FLAG_NONE : REF_FLAG_IO;
	else
		flag = REF_FLAG_EXT;
	event(vm, REF_EV_KICK, (uint32_t)target, flag);
}

/* ---- common injection path (§4.1-4.3) ------------------------------------ */

static int inject(struct ref_vm *vm, const struct ref_rec *r)
{
	uint64_t type = rec_type(r);

	if (type == T_MCHK) {
		vm->mchk_cr14 |= ref_be64(r->b + 8) & CR14_CHANNEL_REP;
		vm->mchk_mcic |= ref_be64(r->b + 16);
		vm->pending |= 1u << P_MCHK_REP;
	} else if (type == T_VIRTIO) {
		if (vm->lists[LIST_VIRTIO].len >= MAX_VIRTIO)
			return -EBUSY;
		list_append(&vm->lists[LIST_VIRTIO], r);
		vm->pending |= 1u << P_VIRTIO;
	} else if (type == T_SERVICE) {
		uint32_t p = rec_ext_params(r);

		vm->srv |= p & SCCB_EVENTS;
		if (vm->srv & SCCB_EVENTS)
			vm->pending |= 1u << P_SERVICE_EV;
		if (!(vm->srv & SCCB_MASK)) {
			vm->srv |= p & SCCB_MASK;
			vm->pending |= 1u << P_SERVICE;
		}
	} else if (type == T_PFAULT_DONE) {
		if (vm->lists[LIST_PFAULT].len >= MAX_PFAULT)
			return -EBUSY;
		list_append(&vm->lists[LIST_PFAULT], r);
		vm->pending |= 1u << P_PFAULT_DONE;
	} else if (is_io_type(type)) {
		unsigned isc = word_isc(rec_io_word(r));

		if (vm->has_gisa && (type & T_AI)) {
			vm->ipm |= isc_bit(isc);
		} else {
			if (io_count(vm) >= MAX_IO)
				return -EBUSY;
			list_append(&vm->lists[isc], r);
			vm->pending |= 1u << (P_IO_ISC0 - isc);
		}
	} else {
		return -EINVAL;
	}
	kick(vm, type);
	return 0;
}

int ref_vm_interrupt(struct ref_vm *vm, uint32_t type, uint32_t parm, uint64_t parm64)
{
	struct ref_rec r;

	memset(&r, 0, sizeof(r));
	ref_put64(r.b, type);
	if (type == T_VIRTIO) {
		ref_put32(r.b + 8, parm);
		ref_put64(r.b + 16, parm64);
	} else if (type == T_SERVICE) {
		ref_put32(r.b + 8, parm);
	} else if (type == T_PFAULT_DONE) {
		ref_put64(r.b + 16, parm64);
	} else if (type == T_MCHK) {
		ref_put64(r.b + 8, parm);
		ref_put64(r.b + 16, parm64);
	} else if (is_io_type(type)) {
		ref_put16(r.b + 8, (uint16_t)(parm >> 16));
		ref_put16(r.b + 10, (uint16_t)parm);
		ref_put32(r.b + 12, (uint32_t)(parm64 >> 32));
		ref_put32(r.b + 16, (uint32_t)parm64);
	} else {
		return -EINVAL;
	}
	return inject(vm, &r);
}

/* ---- adapter interrupt with AIS (§5.5, §6.2) ----------------------------- */

static uint8_t ais_mask(uint32_t isc)
{
	/* spec §3.5 recommendation: no suppression for isc >= 8 */
	return isc < 8 ? isc_bit(isc) : 0;
}

static int inject_airq(struct ref_vm *vm, const struct ref_adapter *a)
{
	struct ref_rec r;
	uint8_t m;
	int ret;

	memset(&r, 0, sizeof(r));
	ref_put64(r.b, T_AI);
	ref_put32(r.b + 16, 0x80000000u | a->isc << 27);
	if (!vm->has_ais || !a->suppressible)
		return inject(vm, &r);
	m = ais_mask(a->isc);
	if (vm->nimm & m)
		return 0;
	ret = inject(vm, &r);
	if (!ret && (vm->simm & m))
		vm->nimm |= m;
	return ret;
}

/* ---- GET_ALL_IRQS (§3.1) ------------------------------------------------- */

size_t ref_nr_records(const struct ref_vm *vm)
{
	size_t n = 0;

	if (vm->has_gisa)
		for (unsigned i = 0; i < 8; i++)
			n += !!(vm->ipm & isc_bit(i));
	for (unsigned i = 0; i < REF_NR_LISTS; i++)
		n += vm->lists[i].len;
	if (vm->pending & (1u << P_SERVICE | 1u << P_SERVICE_EV))
		n++;
	if (vm->pending & (1u << P_MCHK_REP))
		n++;
	return n;
}

static int get_all(struct ref_vm *vm, uint64_t len, const struct ref_ubuf *ub)
{
	size_t max, n = 0;
	struct ref_rec *out;
	int ret = 0;

	if (len == 0 || len > MAX_BUFFER)
		return -EINVAL;
	max = (size_t)(len / REF_REC);
	out = calloc(ref_nr_records(vm) + 1, sizeof(*out));
	if (!out)
		abort();

	if (vm->has_gisa && vm->ipm) {
		for (unsigned i = 0; i < 8; i++) {
			/* capacity is checked on every ISC, even past the last bit */
			if (n == max) {
				ret = -ENOMEM;
				goto done;
			}
			if (vm->ipm & isc_bit(i)) {
				if (vm->profile == REF_CLASSIC)
					vm->ipm &= (uint8_t)~isc_bit(i);
				out[n++] = ai_record(i);
			}
		}
	}
	for (unsigned l = 0; l < REF_NR_LISTS; l++) {
		for (size_t k = 0; k < vm->lists[l].len; k++) {
			if (n == max) {
				ret = -ENOMEM;
				goto done;
			}
			out[n++] = vm->lists[l].v[k];
		}
	}
	if (vm->pending & (1u << P_SERVICE | 1u << P_SERVICE_EV)) {
		if (n == max) {
			ret = -ENOMEM;
			goto done;
		}
		memset(&out[n], 0, sizeof(out[n]));
		ref_put64(out[n].b, T_SERVICE);
		ref_put32(out[n].b + 8, vm->srv);
		n++;
	}
	if (vm->pending & (1u << P_MCHK_REP)) {
		if (n == max) {
			ret = -ENOMEM;
			goto done;
		}
		memset(&out[n], 0, sizeof(out[n]));
		ref_put64(out[n].b, T_MCHK);
		ref_put64(out[n].b + 8, vm->mchk_cr14);
		ref_put64(out[n].b + 16, vm->mchk_mcic);
		n++;
	}
	if (n > 0)
		ret = ub_write(ub, 0, out, n * REF_REC);
done:
	free(out);
	return ret < 0 ? ret : (int)n;
}

/* ---- ENQUEUE (§3.2) ------------------------------------------------------ */

/* The union bytes ENQUEUE copies for a type (§3.2 b), 0 for a rejected type. */
static size_t payload_size(uint64_t type)
{
	if (type == T_PFAULT_INIT || type == T_PFAULT_DONE || type == T_VIRTIO ||
	    type == T_SERVICE)
		return 16;
	if (is_io_type(type))
		return 12;
	if (type == T_MCHK)
		return 48;
	return 0;
}

static int enqueue_one(struct ref_vm *vm, const struct ref_ubuf *ub, size_t off)
{
	uint8_t t[8];
	struct ref_rec r;
	size_t size;
	int ret;

	ret = ub_read(ub, off, t, sizeof(t));
	if (ret)
		return ret;
	size = payload_size(ref_be64(t));
	if (!size)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	memcpy(r.b, t, sizeof(t));
	ret = ub_read(ub, off + 8, r.b + 8, size);
	if (ret)
		return ret;
	return inject(vm, &r);
}

int ref_vm_inject(struct ref_vm *vm, const uint8_t *rec)
{
	struct ref_rec r;
	size_t size = payload_size(ref_be64(rec));

	memset(&r, 0, sizeof(r));
	memcpy(r.b, rec, 8 + size);
	return inject(vm, &r);
}

static int enqueue(struct ref_vm *vm, uint64_t attr, const struct ref_ubuf *ub)
{
	/* the kernel's `int len = attr->attr` and its mixed-signedness compares */
	int32_t len = (int32_t)(uint32_t)attr;
	size_t off = 0;
	int ret = 0;

	if ((uint64_t)(int64_t)len % REF_REC != 0)
		return -EINVAL;
	if (len > (int32_t)MAX_BUFFER)
		return -EINVAL;
	while ((uint64_t)(int64_t)len >= REF_REC) {
		ret = enqueue_one(vm, ub, off);
		if (ret)
			break;
		off += REF_REC;
		len = (int32_t)((uint32_t)len - REF_REC);
	}
	return ret;
}

/* ---- the other groups ---------------------------------------------------- */

static void clear_irqs(struct ref_vm *vm)
{
	vm->pending = 0;
	vm->srv = 0;
	vm->mchk_cr14 = 0;
	vm->mchk_mcic = 0;
	for (unsigned i = 0; i < REF_NR_LISTS; i++)
		vm->lists[i].len = 0;
	vm->ipm = 0;
}

static int adapter_register(struct ref_vm *vm, const struct ref_ubuf *ub)
{
	uint8_t b[8];
	uint32_t id;
	struct ref_adapter *a;

	if (ub_read(ub, 0, b, sizeof(b)))
		return -EFAULT;
	id = ref_be32(b);
	if (id >= REF_NR_ADAPTERS)
		return -EINVAL;
	a = &vm->adapters[id];
	if (a->registered)
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	a->registered = true;
	a->isc = b[4];
	a->maskable = b[5] != 0;
	a->swap = b[6] != 0;
	a->suppressible = b[7] & 0x01;
	return 0;
}

static struct ref_adapter *get_adapter(struct ref_vm *vm, uint32_t id)
{
	if (id >= REF_NR_ADAPTERS || !vm->adapters[id].registered)
		return NULL;
	return &vm->adapters[id];
}

static bool backed(uint64_t gpa)
{
	return gpa < REF_MEM_SIZE;
}

static int adapter_modify(struct ref_vm *vm, const struct ref_ubuf *ub)
{
	uint8_t b[16];
	struct ref_adapter *a;
	uint64_t addr;

	if (ub_read(ub, 0, b, sizeof(b)))
		return -EFAULT;
	a = get_adapter(vm, ref_be32(b));
	if (!a)
		return -EINVAL;
	addr = ref_be64(b + 8);
	switch (b[4]) {
	case 1:
		if (!a->maskable)
			return -EINVAL;
		a->masked = b[5] != 0;
		return 0;
	case 2:
		if (vm->profile == REF_CLASSIC)
			return 0;
		if (addr == 0)
			return -EINVAL;
		if (!backed(addr))
			return -EFAULT;
		if (a->nr_maps >= REF_MAX_MAPS)
			return -EINVAL;
		a->maps[a->nr_maps++] = addr;
		return 0;
	case 3:
		if (vm->profile == REF_CLASSIC)
			return 0;
		if (addr == 0)
			return -EINVAL;
		for (uint32_t i = 0; i < a->nr_maps; i++) {
			if (a->maps[i] == addr) {
				memmove(&a->maps[i], &a->maps[i + 1],
					(a->nr_maps - i - 1) * sizeof(a->maps[0]));
				a->nr_maps--;
				return 0;
			}
		}
		return -ENOENT;
	default:
		return -EINVAL;
	}
}

static int get_io_int(struct ref_vm *vm, uint64_t isc_mask, uint32_t schid,
		      struct ref_rec *ret);

static int clear_io_irq(struct ref_vm *vm, uint32_t flags, uint64_t attr,
			const struct ref_ubuf *ub)
{
	uint8_t b[4];
	uint32_t schid;
	struct ref_rec dummy;

	if (flags)
		return -EINVAL;
	if (attr != 4)
		return -EINVAL;
	if (ub_read(ub, 0, b, sizeof(b)))
		return -EFAULT;
	schid = ref_be32(b);
	if (!schid)
		return -EINVAL;
	get_io_int(vm, 0xffull << 24, schid, &dummy);
	return 0;
}

static int aism(struct ref_vm *vm, const struct ref_ubuf *ub)
{
	uint8_t b[4];
	uint8_t m;

	if (!vm->has_ais)
		return -EOPNOTSUPP;
	if (ub_read(ub, 0, b, sizeof(b)))
		return -EFAULT;
	if (b[0] > 7)
		return -EINVAL;
	m = isc_bit(b[0]);
	switch (ref_be16(b + 2)) {
	case 0:
		vm->simm &= (uint8_t)~m;
		vm->nimm &= (uint8_t)~m;
		return 0;
	case 1:
		vm->simm |= m;
		vm->nimm &= (uint8_t)~m;
		return 0;
	default:
		return -EINVAL;
	}
}

static int airq_inject(struct ref_vm *vm, uint64_t attr)
{
	struct ref_adapter *a = get_adapter(vm, (uint32_t)attr);

	if (!a)
		return -EINVAL;
	return inject_airq(vm, a);
}

static int aism_all_get(struct ref_vm *vm, uint64_t attr, const struct ref_ubuf *ub)
{
	uint8_t b[2] = { vm->simm, vm->nimm };

	if (attr < 2)
		return -EINVAL;
	if (!vm->has_ais)
		return -EOPNOTSUPP;
	return ub_write(ub, 0, b, sizeof(b));
}

static int aism_all_set(struct ref_vm *vm, const struct ref_ubuf *ub)
{
	uint8_t b[2];

	if (!vm->has_ais)
		return -EOPNOTSUPP;
	if (ub_read(ub, 0, b, sizeof(b)))
		return -EFAULT;
	vm->simm = b[0];
	vm->nimm = b[1];
	return 0;
}

int ref_has_attr(struct ref_vm *vm, uint32_t group)
{
	(void)vm;
	return group >= 1 && group <= 11 ? 0 : -ENXIO;
}

int ref_get_attr(struct ref_vm *vm, uint32_t flags, uint32_t group, uint64_t attr,
		 const struct ref_ubuf *ub)
{
	(void)flags;
	switch (group) {
	case 1:
		return get_all(vm, attr, ub);
	case 11:
		return aism_all_get(vm, attr, ub);
	default:
		return -EINVAL;
	}
}

int ref_set_attr(struct ref_vm *vm, uint32_t flags, uint32_t group, uint64_t attr,
		 const struct ref_ubuf *ub)
{
	switch (group) {
	case 2:
		return enqueue(vm, attr, ub);
	case 3:
		clear_irqs(vm);
		return 0;
	case 4:
		vm->apf = true;
		return 0;
	case 5:
		vm->apf = false;
		return 0;
	case 6:
		return adapter_register(vm, ub);
	case 7:
		return adapter_modify(vm, ub);
	case 8:
		return clear_io_irq(vm, flags, attr, ub);
	case 9:
		return aism(vm, ub);
	case 10:
		return airq_inject(vm, attr);
	case 11:
		return aism_all_set(vm, ub);
	default:
		return -EINVAL;
	}
}

/* ---- routes (§5.1-5.3, §14.3-14.6) --------------------------------------- */

uint64_t ref_bit_byte(uint64_t area, uint64_t bit, bool swap, uint8_t *ret_mask)
{
	uint64_t base, b;

	if (swap) {
		*ret_mask = (uint8_t)(0x80u >> (bit % 8));
		return area + bit / 8;
	}
	base = area & ~(uint64_t)(PAGE - 1);
	b = bit + 8 * (area % PAGE);
	*ret_mask = (uint8_t)(1u << (b % 8));
	return base + 8 * (b / 64) + 7 - (b % 64) / 8;
}

static bool crosses_page(uint64_t area, uint64_t bit)
{
	return area % PAGE + bit / 8 >= PAGE;
}

int ref_routes_set(struct ref_vm *vm, const struct ref_route *e, size_t n, uint32_t flags)
{
	struct ref_route *t;

	if (flags || n > 4096)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (e[i].gsi >= 4096)
			return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (e[i].flags)
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (e[j].gsi == e[i].gsi)
				return -EINVAL;
		if (e[i].type != 3)
			return -EINVAL;
		if (vm->profile == REF_NEWEST &&
		    (crosses_page(e[i].summary_addr, e[i].summary_offset) ||
		     crosses_page(e[i].ind_addr, e[i].ind_offset)))
			return -EINVAL;
		if (!backed(e[i].summary_addr) || !backed(e[i].ind_addr))
			return -EFAULT;
	}
	t = calloc(n ? n : 1, sizeof(*t));
	if (!t)
		abort();
	/* insertion sort by gsi: the table is small */
	for (size_t i = 0; i < n; i++) {
		size_t k = i;

		while (k > 0 && t[k - 1].gsi > e[i].gsi) {
			t[k] = t[k - 1];
			k--;
		}
		t[k] = e[i];
	}
	free(vm->routes);
	vm->routes = t;
	vm->nr_routes = n;
	return 0;
}

int ref_route_trigger(struct ref_vm *vm, uint32_t gsi, int level)
{
	const struct ref_route *r = NULL;
	struct ref_adapter *a;
	uint64_t ib, sb;
	uint8_t im, sm, old;

	for (size_t i = 0; i < vm->nr_routes; i++)
		if (vm->routes[i].gsi == gsi)
			r = &vm->routes[i];
	if (!r)
		return -1;
	if (!level)
		return 0;
	a = get_adapter(vm, r->adapter_id);
	if (!a)
		return -1;
	ib = ref_bit_byte(r->ind_addr, r->ind_offset, a->swap, &im);
	sb = ref_bit_byte(r->summary_addr, r->summary_offset, a->swap, &sm);
	if (vm->profile == REF_CLASSIC) {
		/* both pages first; nothing written unless both are there */
		if (!backed(ib) || !backed(sb))
			return -1;
	} else if (!backed(ib)) {
		return -1;
	}
	vm->mem[ib] |= im;
	if (!backed(sb))
		return -1;
	old = vm->mem[sb] & sm;
	vm->mem[sb] |= sm;
	if (old)
		return 0;
	if (a->masked)
		return 1;
	{
		int ret = inject_airq(vm, a);

		return ret ? ret : 1;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

size_t ref_route_pages(const struct ref_vm *vm, uint64_t *out, size_t max)
{
	uint64_t *all = calloc(2 * vm->nr_routes + 1, sizeof(*all));
	size_t n = 0, u = 0;

	if (!all)
		abort();
	for (size_t i = 0; i < vm->nr_routes; i++) {
		const struct ref_route *r = &vm->routes[i];
		uint8_t m;
		uint64_t ib, sb;

		/* the page does not depend on swap (§5.3: same doubleword) */
		ib = ref_bit_byte(r->ind_addr, r->ind_offset, true, &m);
		sb = ref_bit_byte(r->summary_addr, r->summary_offset, true, &m);
		if (backed(ib))
			all[n++] = ib & ~(uint64_t)(PAGE - 1);
		if (backed(sb))
			all[n++] = sb & ~(uint64_t)(PAGE - 1);
	}
	qsort(all, n, sizeof(*all), cmp_u64);
	for (size_t i = 0; i < n; i++) {
		if (i && all[i] == all[i - 1])
			continue;
		if (u < max)
			out[u] = all[i];
		u++;
	}
	free(all);
	return u;
}

int ref_mem_write(struct ref_vm *vm, uint64_t gpa, const void *buf, size_t len)
{
	if (gpa > REF_MEM_SIZE || len > REF_MEM_SIZE - gpa)
		return -EFAULT;
	memcpy(vm->mem + gpa, buf, len);
	return 0;
}

/* ---- vcpus (§4.5-4.6, §7.5-7.6) ------------------------------------------ */

static uint32_t deliverable(const struct ref_vm *vm, const struct ref_vcpu *v)
{
	uint32_t p = vm->pending;

	if (vm->has_gisa)
		p |= (uint32_t)vm->ipm << 3;
	if (!(v->psw & PSW_EXT))
		p &= ~PEND_EXT_MASK;
	if (!(v->psw & PSW_IO)) {
		p &= ~PEND_IO_MASK;
	} else {
		for (unsigned i = 0; i < 8; i++)
			if (!(v->cr6 & (uint64_t)isc_bit(i) << 24))
				p &= ~(1u << (P_IO_ISC0 - i));
	}
	if (!(v->cr0 & CR0_EXTCALL))
		p &= ~(1u << 20);
	if (!(v->cr0 & CR0_EMERGENCY))
		p &= ~(1u << 21);
	if (!(v->cr0 & CR0_CLOCK_COMP))
		p &= ~(1u << 19);
	if (!(v->cr0 & CR0_CPU_TIMER))
		p &= ~(1u << 18);
	if (!(v->cr0 & CR0_SERVICE))
		p &= ~(1u << P_SERVICE | 1u << P_SERVICE_EV);
	if (!(v->psw & PSW_MCHECK))
		p &= ~PEND_MCHK_MASK;
	if (!(v->cr14 & vm->mchk_cr14))
		p &= ~(1u << P_MCHK_REP);
	p &= ~(1u << 2);
	return p;
}

static struct ref_vcpu *vcpu(struct ref_vm *vm, uint32_t idx)
{
	return idx < vm->nr_vcpus ? &vm->vcpus[idx] : NULL;
}

int ref_vcpu_set(struct ref_vm *vm, uint32_t idx, uint64_t psw, uint64_t cr0, uint64_t cr6,
		 uint64_t cr14, int run)
{
	struct ref_vcpu *v = vcpu(vm, idx);

	if (!v)
		return -ENOENT;
	if (run != REF_RUNNING && run != REF_IDLE && run != REF_STOPPED)
		return -EINVAL;
	if (v->run != run && (v->run == REF_IDLE || v->run == REF_STOPPED))
		v->kicked = false;
	v->psw = psw;
	v->cr0 = cr0;
	v->cr6 = cr6;
	v->cr14 = cr14;
	v->run = run;
	return 0;
}

int ref_vcpu_run(struct ref_vm *vm, uint32_t idx)
{
	struct ref_vcpu *v = vcpu(vm, idx);

	if (!v)
		return -ENOENT;
	if (v->run == REF_STOPPED)
		return -EBUSY;
	v->run = REF_RUNNING;
	v->kicked = false;
	return 0;
}

/* gisa_get_ipm_or_restore_iam (§7.3) */
static uint8_t ipm_or_restore_iam(struct ref_vm *vm)
{
	uint8_t p = vm->ipm & vm->alert_mask;

	if (!p)
		vm->iam = vm->alert_mask;
	return p;
}

int ref_vcpu_wait(struct ref_vm *vm, uint32_t idx)
{
	struct ref_vcpu *v = vcpu(vm, idx);

	if (!v)
		return -ENOENT;
	if (v->run == REF_STOPPED)
		return -EBUSY;
	/* the runnability check clears the kicked bit (§7.5, §14.11) */
	v->kicked = false;
	/* a vcpu that executes a wait runs; not going to sleep, it keeps running */
	if (deliverable(vm, v)) {
		v->run = REF_RUNNING;
		return 0;
	}
	if (!(v->psw & (PSW_IO | PSW_EXT | PSW_MCHECK)))
		return -EOPNOTSUPP;
	if (vm->has_gisa && (ipm_or_restore_iam(vm) & (uint8_t)(v->cr6 >> 24))) {
		v->run = REF_RUNNING;
		return 0;
	}
	v->run = REF_IDLE;
	if (vm->profile == REF_NEWEST)
		vm->kick_cursor = idx;
	return 1;
}

int ref_vcpu_deliverable(const struct ref_vm *vm, uint32_t idx, uint32_t *ret_bits)
{
	if (idx >= vm->nr_vcpus)
		return -ENOENT;
	*ret_bits = deliverable(vm, &vm->vcpus[idx]);
	return 0;
}

static int top_bit(uint32_t v)
{
	int b = 31;

	while (!(v & (1u << b)))
		b--;
	return b;
}

int ref_vcpu_deliver(struct ref_vm *vm, uint32_t idx, struct ref_delivery *d)
{
	struct ref_vcpu *v = vcpu(vm, idx);
	uint32_t bits;
	int bit;

	if (!v)
		return -ENOENT;
	if (v->run == REF_STOPPED)
		return -EBUSY;
	v->run = REF_RUNNING;
	v->kicked = false;
	memset(d, 0, sizeof(*d));
again:
	bits = deliverable(vm, v);
	if (!bits)
		return 0;
	bit = top_bit(bits);
	d->irq_bit = bit;
	if (bit == P_MCHK_REP) {
		d->kind = REF_DELIVER_MCHK;
		d->type = T_MCHK;
		d->mcic = vm->mchk_mcic;
		d->cr14 = vm->mchk_cr14;
		vm->mchk_mcic = 0;
		vm->mchk_cr14 = 0;
		vm->pending &= ~(1u << P_MCHK_REP);
		return 1;
	}
	if (bit == P_SERVICE_EV) {
		d->kind = REF_DELIVER_EXT;
		d->type = T_SERVICE;
		d->code = 0x2401;
		d->param = vm->profile == REF_CLASSIC ? SCCB_EVENTS : vm->srv & SCCB_EVENTS;
		vm->srv &= ~SCCB_EVENTS;
		vm->pending &= ~(1u << P_SERVICE_EV);
		return 1;
	}
	if (bit == P_SERVICE) {
		uint32_t param = vm->srv;

		vm->srv = 0;
		vm->pending &= ~(1u << P_SERVICE | 1u << P_SERVICE_EV);
		/* NEWEST consumes a zero parameter and goes on (§14.7) */
		if (vm->profile == REF_NEWEST && param == 0)
			goto again;
		d->kind = REF_DELIVER_EXT;
		d->type = T_SERVICE;
		d->code = 0x2401;
		d->param = param;
		return 1;
	}
	if (bit == P_PFAULT_DONE || bit == P_VIRTIO) {
		unsigned l = bit == P_VIRTIO ? LIST_VIRTIO : LIST_PFAULT;
		struct ref_rec r = list_remove(&vm->lists[l], 0);

		if (!vm->lists[l].len)
			vm->pending &= ~(1u << bit);
		d->kind = REF_DELIVER_EXT;
		d->type = rec_type(&r);
		d->code = 0x2603;
		if (bit == P_VIRTIO) {
			d->cpu_addr = 0x0d00;
			d->param = rec_ext_params(&r);
		} else {
			d->cpu_addr = 0x0680;
		}
		d->param64 = rec_ext_params2(&r);
		return 1;
	}
	if (bit >= 3 && bit <= P_IO_ISC0) {
		unsigned isc = (unsigned)(P_IO_ISC0 - bit);
		struct ref_list *l = &vm->lists[isc];
		struct ref_rec r;

		if (l->len) {
			r = list_remove(l, 0);
		} else {
			/* only the IPM can have made it deliverable */
			vm->ipm &= (uint8_t)~isc_bit(isc);
			r = ai_record(isc);
		}
		if (!l->len)
			vm->pending &= ~(1u << bit);
		d->kind = REF_DELIVER_IO;
		d->type = rec_type(&r);
		d->id = rec_io_id(&r);
		d->nr = rec_io_nr(&r);
		d->parm = rec_io_parm(&r);
		d->word = rec_io_word(&r);
		return 1;
	}
	/* no other class can be pending: there are no local interrupts */
	abort();
}

/* kvm_s390_get_io_int (§4.6) */
static int get_io_int(struct ref_vm *vm, uint64_t isc_mask, uint32_t schid,
		      struct ref_rec *ret)
{
	bool have = false;
	struct ref_rec classic = { { 0 } };
	int gisc = -1;

	for (unsigned isc = 0; isc < 8 && !have; isc++) {
		struct ref_list *l = &vm->lists[isc];

		if (!(isc_mask & (uint64_t)isc_bit(isc) << 24))
			continue;
		for (size_t k = 0; k < l->len; k++) {
			if (schid && (rec_io_id(&l->v[k]) != schid >> 16 ||
				      rec_io_nr(&l->v[k]) != (schid & 0xffff)))
				continue;
			classic = list_remove(l, k);
			if (!l->len)
				vm->pending &= ~(1u << (P_IO_ISC0 - isc));
			have = true;
			break;
		}
	}
	if (!schid && vm->has_gisa) {
		uint8_t active = (uint8_t)(isc_mask >> 24) & vm->ipm;

		for (unsigned isc = 0; isc < 8; isc++) {
			if (active & isc_bit(isc)) {
				vm->ipm &= (uint8_t)~isc_bit(isc);
				gisc = (int)isc;
				break;
			}
		}
	}
	if (gisc < 0) {
		if (have)
			*ret = classic;
		return have;
	}
	if (have && word_isc(rec_io_word(&classic)) <= (unsigned)gisc) {
		vm->ipm |= isc_bit((unsigned)gisc);
		*ret = classic;
		return 1;
	}
	*ret = ai_record((unsigned)gisc);
	if (have)
		inject(vm, &classic);      /* re-injected at the tail, with a kick */
	return 1;
}

int ref_vcpu_tpi(struct ref_vm *vm, uint32_t idx, struct ref_rec *ret)
{
	struct ref_vcpu *v = vcpu(vm, idx);

	if (!v)
		return -ENOENT;
	return get_io_int(vm, v->cr6, 0, ret);
}

int ref_vcpu_tsch(struct ref_vm *vm, uint32_t idx, uint64_t gpr1, struct ref_rec *ret)
{
	if (!vcpu(vm, idx))
		return -ENOENT;
	if (!gpr1)
		return 0;
	return get_io_int(vm, 0xffull << 24, (uint32_t)gpr1, ret);
}

/* ---- GISA and GIB (§7.3-7.5) --------------------------------------------- */

static void set_iam(struct ref_vm *vm, uint8_t iam)
{
	/* gisa_set_iam: refused (-EBUSY, ignored) while on the alert list */
	if (!vm->on_alert_list)
		vm->iam = iam;
}

int ref_gisc_register(struct ref_vm *vm, uint32_t gisc)
{
	if (!vm->has_gisa)
		return -ENODEV;
	if (gisc > 7)
		return -ERANGE;
	if (vm->refcount[gisc]++ == 0) {
		vm->alert_mask |= isc_bit(gisc);
		set_iam(vm, vm->alert_mask);
	}
	return NISC;
}

int ref_gisc_unregister(struct ref_vm *vm, uint32_t gisc)
{
	if (!vm->has_gisa)
		return -ENODEV;
	if (gisc > 7)
		return -ERANGE;
	if (vm->refcount[gisc] == 0)
		return -EINVAL;
	if (--vm->refcount[gisc] == 0) {
		vm->alert_mask &= (uint8_t)~isc_bit(gisc);
		set_iam(vm, vm->alert_mask);
	}
	return 0;
}

int ref_hw_airq(struct ref_vm *vm, uint32_t isc, bool vcpu_in_sie)
{
	uint8_t m;

	if (!vm->has_gisa)
		return -ENODEV;
	if (isc > 7)
		return -ERANGE;
	m = isc_bit(isc);
	vm->ipm |= m;
	if ((vm->iam & m) && !vcpu_in_sie && !vm->on_alert_list) {
		vm->on_alert_list = true;
		vm->iam = 0;
		if (vm->gib_origin == 0)
			vm->gal_interrupts++;
		vm->gib_origin = 2;
	}
	return 0;
}

int ref_process_alerts(struct ref_vm *vm)
{
	int n = 0;

	if (vm->on_alert_list) {
		vm->on_alert_list = false;
		vm->timer_armed = true;
		vm->timer_delay_ns = 0;
		n = 1;
	}
	vm->gib_origin = 0;
	return n;
}

int ref_timer_fire(struct ref_vm *vm)
{
	uint8_t p;

	if (!vm->has_gisa)
		return -ENODEV;
	if (!vm->timer_armed)
		return -ENOENT;
	p = ipm_or_restore_iam(vm);
	if (!p) {
		vm->timer_armed = false;
		return 0;
	}
	/* __airqs_kick_single_vcpu: at most one idle vcpu, ascending */
	for (uint32_t i = 0; i < vm->nr_vcpus; i++) {
		struct ref_vcpu *v = &vm->vcpus[i];

		if (v->run != REF_IDLE || !(v->psw & PSW_IO))
			continue;
		if (!((uint8_t)(v->cr6 >> 24) & p))
			continue;
		if (!v->kicked) {
			v->kicked = true;
			event(vm, REF_EV_GISA_WAKE, i, REF_FLAG_NONE);
		}
		break;
	}
	vm->timer_armed = true;
	vm->timer_delay_ns = KICKER_DELAY_NS;
	return 1;
}
