// The system's zlib (Debian: zlib1g-dev), for gzip bodies.
#include <zlib.h>
