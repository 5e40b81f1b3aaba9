/* SPDX-License-Identifier: MIT */
/*
 * Raw KVM ABI structures, in an explicit byte order.
 *
 * Layouts (offsets in bytes, spec §1.4):
 *
 *   kvm_s390_irq (72)    0 u64 type | 8 union u (64)
 *     io   (12)           8 u16 subchannel_id | 10 u16 subchannel_nr |
 *                        12 u32 io_int_parm   | 16 u32 io_int_word
 *     ext  (16)           8 u32 ext_params | 12 u32 pad | 16 u64 ext_params2
 *     pgm  (40)           8 u64 trans_exc_code | 16 u64 mon_code |
 *                        24 u64 per_address | 32 u32 data_exc_code |
 *                        36 u16 code | 38 u16 mon_class_nr | 40 u8 per_code |
 *                        41 per_atmid | 42 exc_access_id | 43 per_access_id |
 *                        44 op_access_id | 45 flags | 46 pad[2]
 *     mchk (48)           8 u64 cr14 | 16 u64 mcic | 24 u64 failing address |
 *                        32 u32 ext_damage_code | 36 u32 pad | 40 u8 logout[16]
 *     prefix, stop (4)    8 u32;  extcall, emerg (2)  8 u16
 *   kvm_s390_io_adapter (8)      0 u32 id | 4 isc | 5 maskable | 6 swap | 7 flags
 *   kvm_s390_io_adapter_req (16) 0 u32 id | 4 type | 5 mask | 6 u16 pad0 | 8 u64 addr
 *   kvm_s390_ais_req (4)         0 u8 isc | 1 pad | 2 u16 mode
 *   kvm_s390_ais_all (2)         0 simm | 1 nimm
 *   kvm_irq_routing_s390_adapter (32)  0 u64 ind_addr | 8 u64 summary_addr |
 *                        16 u64 ind_offset | 24 u32 summary_offset | 28 u32 adapter_id
 */
#include "engine-internal.h"

enum gisa_irq_payload gisa_irq_payload(uint64_t type)
{
	if (gisa_type_is_io(type))
		return GISA_PAYLOAD_IO;
	switch (type) {
	case GISA_INT_SERVICE:
	case GISA_INT_VIRTIO:
	case GISA_INT_PFAULT_INIT:
	case GISA_INT_PFAULT_DONE:
		return GISA_PAYLOAD_EXT;
	case GISA_INT_MCHK:
		return GISA_PAYLOAD_MCHK;
	case GISA_INT_PROGRAM:
		return GISA_PAYLOAD_PGM;
	case GISA_INT_SIGP_SET_PREFIX:
		return GISA_PAYLOAD_PREFIX;
	case GISA_INT_SIGP_STOP:
		return GISA_PAYLOAD_STOP;
	case GISA_INT_EXTERNAL_CALL:
		return GISA_PAYLOAD_EXTCALL;
	case GISA_INT_EMERGENCY:
		return GISA_PAYLOAD_EMERG;
	default:
		return GISA_PAYLOAD_RAW;
	}
}

void gisa_irq_pack1(const struct gisa_irq *irq, enum gisa_byteorder o, uint8_t *b)
{
	uint8_t *u = b + 8;

	st64(b, irq->type, o);
	switch (gisa_irq_payload(irq->type)) {
	case GISA_PAYLOAD_RAW:
		memcpy(u, irq->u.raw, 64);
		return;
	default:
		break;
	}
	memset(u, 0, 64);
	switch (gisa_irq_payload(irq->type)) {
	case GISA_PAYLOAD_IO:
		st16(u, irq->u.io.subchannel_id, o);
		st16(u + 2, irq->u.io.subchannel_nr, o);
		st32(u + 4, irq->u.io.io_int_parm, o);
		st32(u + 8, irq->u.io.io_int_word, o);
		break;
	case GISA_PAYLOAD_EXT:
		st32(u, irq->u.ext.ext_params, o);
		st32(u + 4, irq->u.ext.pad, o);
		st64(u + 8, irq->u.ext.ext_params2, o);
		break;
	case GISA_PAYLOAD_PGM: {
		const struct gisa_pgm_info *p = &irq->u.pgm;

		st64(u, p->trans_exc_code, o);
		st64(u + 8, p->mon_code, o);
		st64(u + 16, p->per_address, o);
		st32(u + 24, p->data_exc_code, o);
		st16(u + 28, p->code, o);
		st16(u + 30, p->mon_class_nr, o);
		u[32] = p->per_code;
		u[33] = p->per_atmid;
		u[34] = p->exc_access_id;
		u[35] = p->per_access_id;
		u[36] = p->op_access_id;
		u[37] = p->flags;
		u[38] = p->pad[0];
		u[39] = p->pad[1];
		break;
	}
	case GISA_PAYLOAD_MCHK:
		st64(u, irq->u.mchk.cr14, o);
		st64(u + 8, irq->u.mchk.mcic, o);
		st64(u + 16, irq->u.mchk.failing_storage_address, o);
		st32(u + 24, irq->u.mchk.ext_damage_code, o);
		st32(u + 28, irq->u.mchk.pad, o);
		memcpy(u + 32, irq->u.mchk.fixed_logout, 16);
		break;
	case GISA_PAYLOAD_PREFIX:
		st32(u, irq->u.prefix, o);
		break;
	case GISA_PAYLOAD_STOP:
		st32(u, irq->u.stop_flags, o);
		break;
	case GISA_PAYLOAD_EXTCALL:
		st16(u, irq->u.extcall_code, o);
		break;
	case GISA_PAYLOAD_EMERG:
		st16(u, irq->u.emerg_code, o);
		break;
	case GISA_PAYLOAD_RAW:
		break;
	}
}

void gisa_irq_unpack1(const uint8_t *b, enum gisa_byteorder o, struct gisa_irq *irq)
{
	const uint8_t *u = b + 8;

	memset(irq, 0, sizeof(*irq));
	irq->type = ld64(b, o);
	switch (gisa_irq_payload(irq->type)) {
	case GISA_PAYLOAD_IO:
		irq->u.io.subchannel_id = ld16(u, o);
		irq->u.io.subchannel_nr = ld16(u + 2, o);
		irq->u.io.io_int_parm = ld32(u + 4, o);
		irq->u.io.io_int_word = ld32(u + 8, o);
		break;
	case GISA_PAYLOAD_EXT:
		irq->u.ext.ext_params = ld32(u, o);
		irq->u.ext.pad = ld32(u + 4, o);
		irq->u.ext.ext_params2 = ld64(u + 8, o);
		break;
	case GISA_PAYLOAD_PGM: {
		struct gisa_pgm_info *p = &irq->u.pgm;

		p->trans_exc_code = ld64(u, o);
		p->mon_code = ld64(u + 8, o);
		p->per_address = ld64(u + 16, o);
		p->data_exc_code = ld32(u + 24, o);
		p->code = ld16(u + 28, o);
		p->mon_class_nr = ld16(u + 30, o);
		p->per_code = u[32];
		p->per_atmid = u[33];
		p->exc_access_id = u[34];
		p->per_access_id = u[35];
		p->op_access_id = u[36];
		p->flags = u[37];
		p->pad[0] = u[38];
		p->pad[1] = u[39];
		break;
	}
	case GISA_PAYLOAD_MCHK:
		irq->u.mchk.cr14 = ld64(u, o);
		irq->u.mchk.mcic = ld64(u + 8, o);
		irq->u.mchk.failing_storage_address = ld64(u + 16, o);
		irq->u.mchk.ext_damage_code = ld32(u + 24, o);
		irq->u.mchk.pad = ld32(u + 28, o);
		memcpy(irq->u.mchk.fixed_logout, u + 32, 16);
		break;
	case GISA_PAYLOAD_PREFIX:
		irq->u.prefix = ld32(u, o);
		break;
	case GISA_PAYLOAD_STOP:
		irq->u.stop_flags = ld32(u, o);
		break;
	case GISA_PAYLOAD_EXTCALL:
		irq->u.extcall_code = ld16(u, o);
		break;
	case GISA_PAYLOAD_EMERG:
		irq->u.emerg_code = ld16(u, o);
		break;
	case GISA_PAYLOAD_RAW:
		memcpy(irq->u.raw, u, 64);
		break;
	}
}

int gisa_irq_pack(const struct gisa_irq *irqs, size_t n, enum gisa_byteorder o,
		  uint8_t *buf, size_t len)
{
	if (n > SIZE_MAX / GISA_IRQ_SIZE || len != n * GISA_IRQ_SIZE)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		gisa_irq_pack1(&irqs[i], o, buf + i * GISA_IRQ_SIZE);
	return 0;
}

int gisa_irq_unpack(const uint8_t *buf, size_t len, enum gisa_byteorder o,
		    struct gisa_irq *irqs, size_t n)
{
	if (n > SIZE_MAX / GISA_IRQ_SIZE || len != n * GISA_IRQ_SIZE)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		gisa_irq_unpack1(buf + i * GISA_IRQ_SIZE, o, &irqs[i]);
	return 0;
}

void gisa_io_adapter_pack(const struct gisa_io_adapter *a, enum gisa_byteorder o, uint8_t *b)
{
	st32(b, a->id, o);
	b[4] = a->isc;
	b[5] = a->maskable;
	b[6] = a->swap;
	b[7] = a->flags;
}

void gisa_io_adapter_unpack(const uint8_t *b, enum gisa_byteorder o, struct gisa_io_adapter *a)
{
	a->id = ld32(b, o);
	a->isc = b[4];
	a->maskable = b[5];
	a->swap = b[6];
	a->flags = b[7];
}

void gisa_io_adapter_req_pack(const struct gisa_io_adapter_req *r, enum gisa_byteorder o,
			      uint8_t *b)
{
	st32(b, r->id, o);
	b[4] = r->type;
	b[5] = r->mask;
	st16(b + 6, r->pad0, o);
	st64(b + 8, r->addr, o);
}

void gisa_io_adapter_req_unpack(const uint8_t *b, enum gisa_byteorder o,
				struct gisa_io_adapter_req *r)
{
	r->id = ld32(b, o);
	r->type = b[4];
	r->mask = b[5];
	r->pad0 = ld16(b + 6, o);
	r->addr = ld64(b + 8, o);
}

void gisa_ais_req_pack(const struct gisa_ais_req *r, enum gisa_byteorder o, uint8_t *b)
{
	b[0] = r->isc;
	b[1] = 0;
	st16(b + 2, r->mode, o);
}

void gisa_ais_req_unpack(const uint8_t *b, enum gisa_byteorder o, struct gisa_ais_req *r)
{
	r->isc = b[0];
	r->mode = ld16(b + 2, o);
}

void gisa_ais_all_pack(const struct gisa_ais_all *a, uint8_t *b)
{
	b[0] = a->simm;
	b[1] = a->nimm;
}

void gisa_ais_all_unpack(const uint8_t *b, struct gisa_ais_all *a)
{
	a->simm = b[0];
	a->nimm = b[1];
}

void gisa_adapter_route_pack(const struct gisa_adapter_route *r, enum gisa_byteorder o,
			     uint8_t *b)
{
	st64(b, r->ind_addr, o);
	st64(b + 8, r->summary_addr, o);
	st64(b + 16, r->ind_offset, o);
	st32(b + 24, r->summary_offset, o);
	st32(b + 28, r->adapter_id, o);
}

void gisa_adapter_route_unpack(const uint8_t *b, enum gisa_byteorder o,
			       struct gisa_adapter_route *r)
{
	r->ind_addr = ld64(b, o);
	r->summary_addr = ld64(b + 8, o);
	r->ind_offset = ld64(b + 16, o);
	r->summary_offset = ld32(b + 24, o);
	r->adapter_id = ld32(b + 28, o);
}
