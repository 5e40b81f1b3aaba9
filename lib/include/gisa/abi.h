/* SPDX-License-Identifier: MIT */
/*
 * The KVM s390 interrupt ABI: host-form structures and their raw encodings.
 *
 * The host-form structs below are plain C values; they never leave the
 * process as memory images.  Raw buffers (what the kernel's FLIC reads and
 * writes, what QEMU streams) are produced and consumed only by the pack and
 * unpack functions, which take the byte order explicitly: big-endian is
 * s390x's native order, so a buffer taken from a real KVM on s390x is
 * GISA_BE.  Pack emits zero in every byte that is not part of the record's
 * union member, exactly as the kernel does; unpack ignores those bytes.
 */
#ifndef GISA_ABI_H
#define GISA_ABI_H

#include <stddef.h>
#include <stdint.h>

#include "consts.h"

#ifdef __cplusplus
extern "C" {
#endif

enum gisa_byteorder {
	GISA_BE = 0,   /* s390x native; the default everywhere */
	GISA_LE = 1,
};

struct gisa_io_info {            /* struct kvm_s390_io_info, 12 bytes */
	uint16_t subchannel_id;
	uint16_t subchannel_nr;
	uint32_t io_int_parm;
	uint32_t io_int_word;
};

struct gisa_ext_info {           /* struct kvm_s390_ext_info, 16 bytes */
	uint32_t ext_params;
	uint32_t pad;
	uint64_t ext_params2;
};

struct gisa_pgm_info {           /* struct kvm_s390_pgm_info, 40 bytes */
	uint64_t trans_exc_code;
	uint64_t mon_code;
	uint64_t per_address;
	uint32_t data_exc_code;
	uint16_t code;
	uint16_t mon_class_nr;
	uint8_t per_code;
	uint8_t per_atmid;
	uint8_t exc_access_id;
	uint8_t per_access_id;
	uint8_t op_access_id;
	uint8_t flags;
	uint8_t pad[2];
};

struct gisa_mchk_info {          /* struct kvm_s390_mchk_info, 48 bytes */
	uint64_t cr14;
	uint64_t mcic;
	uint64_t failing_storage_address;
	uint32_t ext_damage_code;
	uint32_t pad;
	uint8_t fixed_logout[16];
};

/*
 * struct kvm_s390_irq (72 bytes).  Which union member is meaningful follows
 * from the type, as in the kernel: I/O types use io; SERVICE, VIRTIO,
 * PFAULT_INIT and PFAULT_DONE use ext; MCHK uses mchk; PROGRAM uses pgm;
 * SET_PREFIX prefix; SIGP_STOP stop; EXTERNAL_CALL extcall; EMERGENCY emerg.
 * Any other type carries its 64 union bytes verbatim in raw (they are opaque
 * to the engine, which rejects such types).
 */
struct gisa_irq {
	uint64_t type;
	union {
		struct gisa_io_info io;
		struct gisa_ext_info ext;
		struct gisa_pgm_info pgm;
		struct gisa_mchk_info mchk;
		uint32_t prefix;         /* kvm_s390_prefix_info.address */
		uint32_t stop_flags;     /* kvm_s390_stop_info.flags */
		uint16_t extcall_code;   /* kvm_s390_extcall_info.code */
		uint16_t emerg_code;     /* kvm_s390_emerg_info.code */
		uint8_t raw[64];
	} u;
};

struct gisa_io_adapter {         /* struct kvm_s390_io_adapter, 8 bytes */
	uint32_t id;
	uint8_t isc;
	uint8_t maskable;
	uint8_t swap;
	uint8_t flags;
};

struct gisa_io_adapter_req {     /* struct kvm_s390_io_adapter_req, 16 bytes */
	uint32_t id;
	uint8_t type;
	uint8_t mask;
	uint16_t pad0;
	uint64_t addr;
};

struct gisa_ais_req {            /* struct kvm_s390_ais_req, 4 bytes */
	uint8_t isc;
	uint16_t mode;
};

struct gisa_ais_all {            /* struct kvm_s390_ais_all, 2 bytes */
	uint8_t simm;
	uint8_t nimm;
};

struct gisa_adapter_route {      /* struct kvm_irq_routing_s390_adapter, 32 bytes */
	uint64_t ind_addr;
	uint64_t summary_addr;
	uint64_t ind_offset;
	uint32_t summary_offset;
	uint32_t adapter_id;
};

#define GISA_IO_ADAPTER_SIZE      8u
#define GISA_IO_ADAPTER_REQ_SIZE  16u
#define GISA_AIS_REQ_SIZE         4u
#define GISA_AIS_ALL_SIZE         2u
#define GISA_ADAPTER_ROUTE_SIZE   32u

/* The union member the kernel uses for a type (spec §3.2, §1.4). */
enum gisa_irq_payload {
	GISA_PAYLOAD_RAW = 0,
	GISA_PAYLOAD_IO,
	GISA_PAYLOAD_EXT,
	GISA_PAYLOAD_PGM,
	GISA_PAYLOAD_MCHK,
	GISA_PAYLOAD_PREFIX,
	GISA_PAYLOAD_STOP,
	GISA_PAYLOAD_EXTCALL,
	GISA_PAYLOAD_EMERG,
};
enum gisa_irq_payload gisa_irq_payload(uint64_t type);

/* True for the floating I/O type range 0 .. 0xfffdffff (u64 compare). */
static inline int gisa_type_is_io(uint64_t type)
{
	return type <= GISA_INT_IO_MAX;
}

/*
 * Arrays of 72-byte records.  pack writes n * 72 bytes to buf; unpack reads
 * them.  Both return 0, or -EINVAL if len is not exactly n * 72.
 */
int gisa_irq_pack(const struct gisa_irq *irqs, size_t n, enum gisa_byteorder order,
		  uint8_t *buf, size_t len);
int gisa_irq_unpack(const uint8_t *buf, size_t len, enum gisa_byteorder order,
		    struct gisa_irq *irqs, size_t n);

/* One record each; buf holds exactly the struct's size. */
void gisa_irq_pack1(const struct gisa_irq *irq, enum gisa_byteorder order, uint8_t *buf);
void gisa_irq_unpack1(const uint8_t *buf, enum gisa_byteorder order, struct gisa_irq *irq);
void gisa_io_adapter_pack(const struct gisa_io_adapter *a, enum gisa_byteorder order, uint8_t *buf);
void gisa_io_adapter_unpack(const uint8_t *buf, enum gisa_byteorder order, struct gisa_io_adapter *a);
void gisa_io_adapter_req_pack(const struct gisa_io_adapter_req *r, enum gisa_byteorder order, uint8_t *buf);
void gisa_io_adapter_req_unpack(const uint8_t *buf, enum gisa_byteorder order, struct gisa_io_adapter_req *r);
void gisa_ais_req_pack(const struct gisa_ais_req *r, enum gisa_byteorder order, uint8_t *buf);
void gisa_ais_req_unpack(const uint8_t *buf, enum gisa_byteorder order, struct gisa_ais_req *r);
void gisa_ais_all_pack(const struct gisa_ais_all *a, uint8_t *buf);
void gisa_ais_all_unpack(const uint8_t *buf, struct gisa_ais_all *a);
void gisa_adapter_route_pack(const struct gisa_adapter_route *r, enum gisa_byteorder order, uint8_t *buf);
void gisa_adapter_route_unpack(const uint8_t *buf, enum gisa_byteorder order, struct gisa_adapter_route *r);

#ifdef __cplusplus
}
#endif

#endif
