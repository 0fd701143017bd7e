#pragma once
#include "index.h"
#include "vrfabric/policy/tags.h"

namespace vrfabric::policy::detail {
TagSet effective_tags(const Index& ix, const Interface& itf);
}
