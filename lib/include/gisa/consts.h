/* SPDX-License-Identifier: MIT */
/*
 * Constants of the s390 KVM floating-interrupt ABI and of the engine.
 *
 * Every KVM value here is the kernel's (spec §1); the GISA_* limits that have
 * no kernel counterpart are gisad's own caps on caller-controlled resources.
 */
#ifndef GISA_CONSTS_H
#define GISA_CONSTS_H

#include <stdint.h>

/* FLIC device type and attribute groups (spec §1.2). */
#define GISA_DEV_TYPE_FLIC            6u
#define GISA_FLIC_GET_ALL_IRQS        1u
#define GISA_FLIC_ENQUEUE             2u
#define GISA_FLIC_CLEAR_IRQS          3u
#define GISA_FLIC_APF_ENABLE          4u
#define GISA_FLIC_APF_DISABLE_WAIT    5u
#define GISA_FLIC_ADAPTER_REGISTER    6u
#define GISA_FLIC_ADAPTER_MODIFY      7u
#define GISA_FLIC_CLEAR_IO_IRQ        8u
#define GISA_FLIC_AISM                9u
#define GISA_FLIC_AIRQ_INJECT         10u
#define GISA_FLIC_AISM_ALL            11u

#define GISA_MAX_FLOAT_IRQS           266250u   /* I/O list entries, all ISCs */
#define GISA_MAX_VIRTIO_IRQS          87381u
#define GISA_MAX_PFAULT_IRQS          16320u    /* ASYNC_PF_PER_VCPU x KVM_MAX_VCPUS */
#define GISA_FLIC_MAX_BUFFER          0x2000000u
#define GISA_IRQ_SIZE                 72u       /* sizeof(struct kvm_s390_irq) */

#define GISA_ADAPTER_SUPPRESSIBLE     0x01u
#define GISA_IO_ADAPTER_MASK          1u
#define GISA_IO_ADAPTER_MAP           2u
#define GISA_IO_ADAPTER_UNMAP         3u
#define GISA_AIS_MODE_ALL             0u
#define GISA_AIS_MODE_SINGLE          1u
#define GISA_MAX_ISC                  7u
#define GISA_MAX_ADAPTERS             64u
#define GISA_MAX_ADAPTER_MAPS         256u

/* Interrupt type codes (spec §1.3). */
#define GISA_INT_SIGP_STOP            0xfffe0000u
#define GISA_INT_PROGRAM              0xfffe0001u
#define GISA_INT_SIGP_SET_PREFIX      0xfffe0002u
#define GISA_INT_RESTART              0xfffe0003u
#define GISA_INT_PFAULT_INIT          0xfffe0004u
#define GISA_INT_PFAULT_DONE          0xfffe0005u
#define GISA_INT_MCHK                 0xfffe1000u
#define GISA_INT_CLOCK_COMP           0xffff1004u
#define GISA_INT_CPU_TIMER            0xffff1005u
#define GISA_INT_VIRTIO               0xffff2603u
#define GISA_INT_SERVICE              0xffff2401u
#define GISA_INT_EMERGENCY            0xffff1201u
#define GISA_INT_EXTERNAL_CALL        0xffff1202u
#define GISA_INT_IO_MAX               0xfffdffffu
#define GISA_INT_IO_AI_MASK           0x04000000u

/* KVM_S390_INT_IO(ai, cssid, ssid, schid) */
#define GISA_INT_IO(ai, cssid, ssid, schid) \
	((uint32_t)(schid) | (uint32_t)(ssid) << 16 | (uint32_t)(cssid) << 18 | \
	 (uint32_t)(ai) << 26)

/* I/O interruption word: the I (adapter) bit and the ISC field. */
#define GISA_IO_WORD_AI               0x80000000u
#define GISA_IO_WORD_ISC_MASK         0x38000000u
#define GISA_IO_WORD_ISC(word)        (((word) & GISA_IO_WORD_ISC_MASK) >> 27)
#define GISA_ISC_BIT(isc)             ((uint8_t)(0x80u >> (isc)))   /* MSB0 */

/* Pending-interrupt bit numbers (spec §1.5), ascending priority. */
enum gisa_irq_bit {
	GISA_IRQ_SET_PREFIX = 0,
	GISA_IRQ_RESTART = 1,
	GISA_IRQ_SIGP_STOP = 2,
	GISA_IRQ_IO_ISC_7 = 3,
	GISA_IRQ_IO_ISC_0 = 10,
	GISA_IRQ_VIRTIO = 11,
	GISA_IRQ_PFAULT_DONE = 12,
	GISA_IRQ_PFAULT_INIT = 13,
	GISA_IRQ_EXT_SERVICE = 15,
	GISA_IRQ_EXT_SERVICE_EV = 16,
	GISA_IRQ_EXT_CPU_TIMER = 18,
	GISA_IRQ_EXT_CLOCK_COMP = 19,
	GISA_IRQ_EXT_EXTERNAL = 20,
	GISA_IRQ_EXT_EMERGENCY = 21,
	GISA_IRQ_MCHK_REP = 24,
	GISA_IRQ_PROG = 25,
	GISA_IRQ_MCHK_EX = 27,
};
#define GISA_IRQ_IO_ISC(isc)          (GISA_IRQ_IO_ISC_0 - (int)(isc))
#define GISA_IRQ_PEND_EXT_MASK        0x00fff800u
#define GISA_IRQ_PEND_IO_MASK         0x000007f8u
#define GISA_IRQ_PEND_MCHK_MASK       0x09000000u

/* Floating lists (FIRQ_LIST_*). */
#define GISA_LIST_IO_ISC(isc)         (isc)
#define GISA_LIST_PFAULT              8u
#define GISA_LIST_VIRTIO              9u
#define GISA_NR_LISTS                 10u

/* Service-signal parameter split (spec §4.3). */
#define GISA_SCCB_MASK                0xfffffff8u
#define GISA_SCCB_EVENT_PENDING       0x3u

/* External interruption codes presented at delivery. */
#define GISA_EXT_CODE_SERVICE         0x2401u
#define GISA_EXT_CODE_CP_SERVICE      0x2603u
#define GISA_EXT_CPU_ADDR_VIRTIO      0x0d00u
#define GISA_EXT_CPU_ADDR_PFAULT_DONE 0x0680u

/* Guest control-register and PSW bits used by deliverability. */
#define GISA_CR0_EMERGENCY            0x4000u
#define GISA_CR0_EXTERNAL_CALL        0x2000u
#define GISA_CR0_CLOCK_COMP           0x0800u
#define GISA_CR0_CPU_TIMER            0x0400u
#define GISA_CR0_SERVICE              0x0200u
#define GISA_CR6_ISC(isc)             ((uint64_t)GISA_ISC_BIT(isc) << 24)
#define GISA_CR14_CHANNEL_REPORT      0x10000000u
#define GISA_PSW_MASK_IO              0x0200000000000000ull
#define GISA_PSW_MASK_EXT             0x0100000000000000ull
#define GISA_PSW_MASK_MCHECK          0x0004000000000000ull

/* Routing (spec §1.1, §5.1). */
#define GISA_IRQ_ROUTING_IRQCHIP      1u
#define GISA_IRQ_ROUTING_MSI          2u
#define GISA_IRQ_ROUTING_S390_ADAPTER 3u
#define GISA_MAX_IRQ_ROUTES           4096u

#define GISA_MAX_VCPUS                255u
#define GISA_PAGE_SIZE                4096u
#define GISA_PAGE_SHIFT               12u

/* GISA / GIB (spec §7). */
#define GISA_KICKER_DELAY_NS          50000u
#define GISA_DEFAULT_NISC             5u

/* gisad's own caps on caller-controlled resources. */
#define GISA_MAX_MEMSLOTS             512u
#define GISA_DEFAULT_MEM_CAP          (64u << 20)   /* backing bytes per VM */
#define GISA_EVENT_RING_SIZE          1024u

#endif
