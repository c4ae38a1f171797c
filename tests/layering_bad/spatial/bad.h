#pragma once
#include "core/case.h"  // spatial may not know cases
