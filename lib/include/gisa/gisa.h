/* SPDX-License-Identifier: MIT */
/* libgisa: everything in one include. */
#ifndef GISA_GISA_H
#define GISA_GISA_H

#include "consts.h"
#include "abi.h"
#include "engine.h"
#include "state.h"
#include "restore.h"

#endif
