/* invdiff.h - what invdiff.c and patch.c share. */
#ifndef INVDIFF_H
#define INVDIFF_H

#include <stddef.h>

/* invdiff --patch RECORDS CORRECTIONS (patch.c); returns the exit status. */
int patch_main(const char *records, const char *corrections, const char *const *key,
    size_t nkey, int fmt, int quiet, const char *reject);

#endif
