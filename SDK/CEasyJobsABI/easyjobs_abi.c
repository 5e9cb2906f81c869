#include "easyjobs_plugin.h"
