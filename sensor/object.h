/* object.h - objects dissectors reassemble for YARA (PLC blocks, files, bodies).
 *
 * A dissector embeds a struct ots_object in its flow state and calls
 * object_begin() when a transfer starts, object_append() with each piece (read
 * through the cursor), and object_end() when the transfer is complete: the
 * object is then scanned once, with its type, name and attributes in any
 * yara.match event. An object that reaches its cap is scanned at once (marked
 * truncated) and the rest is counted but not kept. Without YARA rules loaded
 * (sink->yara NULL or inactive) nothing is kept: the calls cost a test. */
#ifndef OTS_OBJECT_H
#define OTS_OBJECT_H

#include <stddef.h>
#include <stdint.h>

#include "cursor.h"
#include "event.h"

struct yara_limits;

#define OBJECT_NAME_MAX  64
#define OBJECT_ATTRS     4
#define OBJECT_ATTR_SIZE 32

struct ots_object {
    uint8_t *data;
    uint32_t len, cap, max;
    uint64_t total; /* bytes offered, kept or not */
    uint8_t active, scanned, truncated, nattrs;
    uint8_t partial;   /* scanned unfinished: the flow ended or the transfer restarted */
    const char *proto; /* static: ot_proto */
    const char *type;  /* static: ot_object_type, e.g. "s7comm.block" */
    char name[OBJECT_NAME_MAX];
    const char *attr_key[OBJECT_ATTRS]; /* static keys */
    char attr_val[OBJECT_ATTRS][OBJECT_ATTR_SIZE];
};

/* Starts an object (an unfinished previous one is dropped unscanned). name may be
 * NULL; it is copied. cap: the dissector's own limit in bytes (0: none); the
 * configured yara.object_max applies too. */
void object_begin(struct ots_object *o, struct event_sink *s, const char *proto, const char *type,
                  const char *name, size_t name_len, uint32_t cap);
/* Names the object after all (it is not scanned yet; a name found later). */
void object_name(struct ots_object *o, const char *name, size_t name_len);
/* A string attribute for the event (e.g. "block_type" "OB"); key is static. */
void object_attr(struct ots_object *o, const char *key, const char *value);
/* Appends the next n bytes of c (advancing it); short input appends what is there. */
void object_append(struct ots_object *o, struct event_sink *s, struct cursor *c, size_t n);
/* The transfer is complete: scans (unless done at the cap) and resets. to_server
 * is the direction the object travelled. */
void object_end(struct ots_object *o, struct event_sink *s, int to_server);
/* The transfer stops before its end marker (the flow ends, or a new transfer
 * takes the object's place): what was received is scanned once, marked partial,
 * and the object reset. An attacker who never finishes a transfer is seen all
 * the same. Nothing happens when no object is active or it was scanned already. */
void object_partial(struct ots_object *o, struct event_sink *s, int to_server);
/* Drops the object unscanned (the transfer failed or was cut by a gap). */
void object_abort(struct ots_object *o);
/* Frees the buffer (in the dissector's state_free). */
void object_free(struct ots_object *o);
static inline int object_active(const struct ots_object *o)
{
    return o->active;
}
/* True when objects are kept at all (YARA rules loaded, yara.object_max > 0): a
 * dissector that exists only to gather objects (HTTP, FTP data) skips its parsing
 * otherwise. */
int object_enabled(const struct event_sink *s);
/* The YARA limits in force (yara_scan.h), or NULL when objects are not kept. */
const struct yara_limits *object_limits(const struct event_sink *s);
/* A dissector whose objects hold every payload byte of direction to_server of the
 * current flow (HTTP bodies, FTP data) says so (covered 1): that direction's
 * stream window is then dropped unscanned, so a signature matches once, in its
 * object. covered 0 (the parser gave up) makes the window scanned again, for good. */
void object_stream_cover(struct event_sink *s, int to_server, int covered);

#endif
