/* SPDX-License-Identifier: MIT */
/*
 * The JSON form of a VM image (schema "gisa.v1", docs/SNAPSHOT-JSON.md).
 *
 * Lossless both ways: every field of struct gisa_image has a member, and
 * image -> JSON -> image gives an equal image.  The text gisa_json_from_image
 * writes is canonical (a fixed member order, a fixed layout per flag), so
 * JSON -> image -> JSON gives the same text for any text it wrote.
 *
 * Value rule: 64-bit fields are "0x..." strings (lowercase hex, no leading
 * zeros; JSON numbers are not safe beyond 2^53 and jansson's are signed),
 * every narrower integer is a plain non-negative JSON integer, booleans
 * are true/false, and enumerations are their names.
 *
 * The reader treats its input as hostile: the text and the number of its
 * values are capped, every array length is checked against the engine's
 * limits before anything is allocated, and unknown members, duplicate
 * keys, wrong types and values outside a field's range are refused,
 * naming the member by its path.
 */
#ifndef GISA_JSON_H
#define GISA_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "snapshot.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The value of the "schema" member; a text with any other is refused. */
#define GISA_JSON_SCHEMA          "gisa.v1"

/*
 * Page data is written as runs {"offset": "hex"}: from a non-zero byte to
 * a non-zero byte, split where GISA_JSON_RUN_GAP or more zero bytes lie
 * between (a run's framing costs less text than the gap's hex would), so
 * a page has at most GISA_JSON_PAGE_RUNS runs.
 */
#define GISA_JSON_RUN_GAP         16u
#define GISA_JSON_PAGE_RUNS \
	((GISA_PAGE_SIZE + GISA_JSON_RUN_GAP) / (GISA_JSON_RUN_GAP + 1))

/*
 * Upper bounds of one element in the indented layout, with the widest
 * values it can hold (the writer's own output; tests check the total).
 * A page takes the most text as a single run over all its bytes.
 */
#define GISA_JSON_ENTRY_MAX       160u     /* one list entry */
#define GISA_JSON_ADAPTER_MAX     (192u + GISA_MAX_ADAPTER_MAPS * 24u)
#define GISA_JSON_ROUTE_MAX       256u
#define GISA_JSON_MEMSLOT_MAX     96u
#define GISA_JSON_PAGE_MAX        (2u * GISA_PAGE_SIZE + 256u)
#define GISA_JSON_VCPU_MAX        192u
#define GISA_JSON_FIXED_MAX       (16u << 10)   /* schema, meta, config, float, gisa */

#define GISA_JSON_LIST_ENTRIES \
	((size_t)GISA_MAX_FLOAT_IRQS + GISA_MAX_VIRTIO_IRQS + GISA_MAX_PFAULT_IRQS)

/*
 * The most text gisa_json_to_image accepts: what the writer produces for
 * the largest image the engine's limits allow (every list, adapter, map,
 * route, memslot, page and vcpu at its maximum), some 124 MiB.  Longer
 * input is refused before it is parsed.
 */
#define GISA_JSON_MAX_TEXT \
	(GISA_JSON_LIST_ENTRIES * GISA_JSON_ENTRY_MAX + \
	 (size_t)GISA_MAX_ADAPTERS * GISA_JSON_ADAPTER_MAX + \
	 (size_t)GISA_MAX_IRQ_ROUTES * GISA_JSON_ROUTE_MAX + \
	 (size_t)GISA_MAX_MEMSLOTS * GISA_JSON_MEMSLOT_MAX + \
	 (size_t)GISA_IMAGE_MAX_PAGES * GISA_JSON_PAGE_MAX + \
	 (size_t)GISA_MAX_VCPUS * GISA_JSON_VCPU_MAX + GISA_JSON_FIXED_MAX)

/*
 * The parser builds a tree of the whole text, and an object costs it some
 * 200 bytes however short its text ("{}").  So the number of objects and
 * arrays, and of tokens (values and keys), is capped too, at what the
 * largest image's text holds (per element: a list entry is 2 objects and
 * 13 tokens, a page 2 objects and 5 + 2 per run tokens, ...); a text with
 * more is refused before it is parsed.  The parser then stays below about
 * 1 GB whatever the text.
 */
#define GISA_JSON_MAX_CONTAINERS \
	(GISA_JSON_LIST_ENTRIES * 2 + (size_t)GISA_MAX_ADAPTERS * 2 + \
	 (size_t)GISA_MAX_IRQ_ROUTES * 2 + GISA_MAX_MEMSLOTS + \
	 (size_t)GISA_IMAGE_MAX_PAGES * 2 + GISA_MAX_VCPUS + 32)
#define GISA_JSON_MAX_TOKENS \
	(GISA_JSON_LIST_ENTRIES * 13 + \
	 (size_t)GISA_MAX_ADAPTERS * (14 + GISA_MAX_ADAPTER_MAPS) + \
	 (size_t)GISA_MAX_IRQ_ROUTES * 19 + (size_t)GISA_MAX_MEMSLOTS * 7 + \
	 (size_t)GISA_IMAGE_MAX_PAGES * (5 + 2 * GISA_JSON_PAGE_RUNS) + \
	 (size_t)GISA_MAX_VCPUS * 13 + 128)

/*
 * Descriptive data of a snapshot, outside the state (not in its digest):
 * the snapshot header's fields (snapshot.h), with the same limits.
 */
#define GISA_JSON_NAME_MAX        GISA_SNAP_MAX_NAME       /* bytes, without the NUL */
#define GISA_JSON_PRODUCER_MAX    GISA_SNAP_MAX_PRODUCER

struct gisa_json_meta {
	char name[GISA_JSON_NAME_MAX + 1];         /* VM name (UTF-8); "" = none */
	bool has_uuid;
	uint8_t uuid[16];                          /* VM UUID when has_uuid */
	uint64_t created_unix_ns;                  /* 0 = none */
	char producer[GISA_JSON_PRODUCER_MAX + 1]; /* e.g. "gisad 0.1.0"; "" = none */
};

/* gisa_json_from_image flags. */
#define GISA_JSON_COMPACT         0x0u     /* no whitespace at all */
#define GISA_JSON_PRETTY          0x1u     /* indented, one element per line */

/*
 * Write img (and meta, which may be NULL) as JSON into a new NUL-terminated
 * buffer (free() it); *ret_len, if not NULL, receives its length.  The image
 * must pass gisa_image_check, so that everything written reads back.
 * -EINVAL for an image that fails the check, an enumeration value without
 * a name, an adapter ISC above 255, meta strings that are not UTF-8 or not
 * NUL-terminated in their arrays, or unknown flags; -ENOMEM.
 */
int gisa_json_from_image(const struct gisa_image *img, const struct gisa_json_meta *meta,
			 unsigned flags, char **ret_text, size_t *ret_len);

enum gisa_json_errkind {
	GISA_JSON_ERR_NONE = 0,
	GISA_JSON_ERR_SYNTAX,      /* not JSON; expected = the parser's message */
	GISA_JSON_ERR_TOO_LONG,    /* the text exceeds GISA_JSON_MAX_TEXT */
	GISA_JSON_ERR_DUPLICATE,   /* an object names a key twice */
	GISA_JSON_ERR_SCHEMA,      /* "schema" absent or not GISA_JSON_SCHEMA */
	GISA_JSON_ERR_UNKNOWN,     /* a member the schema does not define */
	GISA_JSON_ERR_MISSING,     /* a required member is absent */
	GISA_JSON_ERR_TYPE,        /* a value of the wrong JSON type */
	GISA_JSON_ERR_RANGE,       /* a value outside its field's range */
	GISA_JSON_ERR_LENGTH,      /* an array longer than its limit, or of the wrong size;
	                              more values than GISA_JSON_MAX_CONTAINERS/TOKENS */
	GISA_JSON_ERR_IMAGE,       /* gisa_image_check refused the image */
};

#define GISA_JSON_PATH_MAX        128u
#define GISA_JSON_VALUE_MAX       64u
#define GISA_JSON_EXPECTED_MAX    160u

/*
 * Where and why a text was refused.  line and column (1-based; column
 * counts characters, as jansson does) and position (a byte offset) locate
 * the offending value, or for a missing member the object that lacks it,
 * or for what the parser finds (syntax, duplicate keys, integers beyond
 * its 64 bits) the parser's own place; all are 0 for a text too long.
 * path names the value: "lists[3][17].io.parm" ("" for the whole text;
 * for the parser's errors, the value it was reading).  value is the
 * offending JSON text as written (cut to fit, ending in "..."), "" for a
 * missing member and the parser's errors.  expected says what the field
 * takes, or is the parser's message.
 */
struct gisa_json_error {
	enum gisa_json_errkind kind;
	int line;
	int column;
	size_t position;
	char path[GISA_JSON_PATH_MAX];
	char value[GISA_JSON_VALUE_MAX];
	char expected[GISA_JSON_EXPECTED_MAX];
};

/*
 * Read a JSON text of len bytes (NUL not needed) into a new image, checked
 * with gisa_image_check.  ret_meta (may be NULL) receives the "meta"
 * member's data, zero where absent.  On error nothing is allocated or
 * written but *err (which may be NULL): -E2BIG for a text longer than
 * GISA_JSON_MAX_TEXT, -EINVAL for any other refusal, -ENOMEM (the parser
 * reports some of its allocation failures as syntax errors, -EINVAL).
 */
int gisa_json_to_image(const char *text, size_t len, struct gisa_image **ret,
		       struct gisa_json_meta *ret_meta, struct gisa_json_error *err);

/* A static name of an error kind ("syntax", "too-long", ...). */
const char *gisa_json_errkind_name(enum gisa_json_errkind kind);

#ifdef __cplusplus
}
#endif

#endif
