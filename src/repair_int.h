/*
 * repair_int.h - internal helpers of the repair stage (not public API).
 */
#ifndef DEDUP_REPAIR_INT_H
#define DEDUP_REPAIR_INT_H

#include <stddef.h>
#include <stdint.h>

/*
 * The code point of the HTML named character reference `name` (`len` bytes,
 * without '&' and ';'), or 0 when it is not one we resolve.
 */
uint32_t repair_entity_lookup(const char *name, size_t len);

#endif
