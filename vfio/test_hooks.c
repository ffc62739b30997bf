// SPDX-License-Identifier: MIT
/* vfio.h's seam: built for the unit tests and fuzzers only (test-y in
 * vfio/Kbuild). */
#include "vfio/vfio.h"

const struct vfio_test_backend *vfio_test_backend;
