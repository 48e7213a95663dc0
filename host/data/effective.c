/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Placeholder: the owner of this area replaces it. */
#include "host-private.h"
