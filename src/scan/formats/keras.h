/*
 * keras.h - the Keras model-configuration checker, shared by the formats
 * that carry a configuration: the JSON scanner (config.json of a .keras
 * archive) and the HDF5 scanner (the model_config attribute of a Keras 2
 * .h5 file).
 */
#ifndef PAL_SCAN_KERAS_H
#define PAL_SCAN_KERAS_H

#include <stddef.h>
#include <stdint.h>

#include "palisade/buf.h"
#include "scan_int.h"

/*
 * Checks the Keras configuration json[0..len) found at where (for
 * locations: "attribute 'model_config'", or NULL for a config.json file).
 * Reports findings on it; returns 0, or a negative PAL_ERR_* with a
 * detail in s->err when the text is not a JSON object or is too deep.
 */
int pal_keras_check(struct pal_scan *s, const struct pal_scan_item *it,
    const char *where, const char *json, size_t len);

/*
 * The checker under the name scan_int.h declares (pal_keras_check with
 * no location); see keras.c.
 */
int pal_keras_check_config(struct pal_scan *s,
    const struct pal_scan_item *it, const char *json, size_t len);

/*
 * Describes the marshalled CPython code object in code[0..len) into out
 * (which CPython layout, the names and string constants it uses).
 * Returns 0, or a negative PAL_ERR_* when it is not a code object.
 */
int pal_keras_describe_marshal(const uint8_t *code, size_t len,
    struct pal_buf *out);

#endif
