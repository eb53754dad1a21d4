/* qemu-plugin.h includes <glib.h> for two pointer types, GArray and GByteArray.
 * probe.c needs no more of glib than their public fields and three functions of
 * the glib that QEMU itself has loaded, so this stands in for glib's headers
 * (no libglib2.0-dev needed to build the plugin). Layouts as in glib's garray.h. */
#ifndef PROBE_GLIB_H
#define PROBE_GLIB_H
#include <stdint.h>
typedef struct { char *data; unsigned len; } GArray;
typedef struct { uint8_t *data; unsigned len; } GByteArray;
GByteArray *g_byte_array_new(void);
GByteArray *g_byte_array_set_size(GByteArray *array, unsigned length);
char *g_array_free(GArray *array, int free_segment);
#endif
